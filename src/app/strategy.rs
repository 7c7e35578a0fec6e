//! How a running formation moves to a new release (docs/deploy.md): one enum for
//! `[deploy] strategy`, `dozen release --strategy` and the control protocol, the same words
//! in all three.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Instance by instance, each old one drained before it stops.
    #[default]
    Rolling,
    /// A whole second side of the routed type, switched to at once when all of it is ready.
    BlueGreen,
    /// A few instances of the new release get a growing share, compared with the stable
    /// side at each step; promoted when every step passes, aborted at a breach.
    Canary,
}

impl Strategy {
    /// Its word: `rolling`, `blue-green`, `canary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rolling => "rolling",
            Self::BlueGreen => "blue-green",
            Self::Canary => "canary",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_words_in_toml_json_and_on_the_command_line() {
        for strategy in [Strategy::Rolling, Strategy::BlueGreen, Strategy::Canary] {
            let word = strategy.as_str();
            assert_eq!(
                serde_json::to_string(&strategy).unwrap(),
                format!("\"{word}\"")
            );
            assert_eq!(
                <Strategy as clap::ValueEnum>::from_str(word, false).unwrap(),
                strategy
            );
        }
    }
}
