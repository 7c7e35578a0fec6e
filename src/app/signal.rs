//! Stop signals by name, as `dozen.toml` and systemd's `KillSignal=` write them.

use serde::{Deserialize, Deserializer};

/// Signals a process may be asked to stop with.
const NAMES: [&str; 10] = [
    "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGWINCH",
    "SIGABRT", "SIGALRM",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(&'static str);

impl Signal {
    pub const TERM: Self = Self("SIGTERM");

    /// Accepts `SIGTERM`, `TERM` and `term`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let upper = text.to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        NAMES
            .iter()
            .find(|name| **name == full)
            .map(|name| Self(name))
            .ok_or_else(|| {
                format!(
                    "unknown signal `{text}`; expected one of {}",
                    NAMES.join(", ")
                )
            })
    }

    pub fn name(self) -> &'static str {
        self.0
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Signal::parse("TERM").unwrap().name(), "SIGTERM");
        assert_eq!(Signal::parse("sigint").unwrap().name(), "SIGINT");
        assert!(Signal::parse("SIGFOO").is_err());
    }
}
