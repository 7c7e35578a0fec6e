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

    /// The signal's number on this platform.
    pub fn number(self) -> i32 {
        use signal_hook::consts::signal as sig;
        match self.0 {
            "SIGINT" => sig::SIGINT,
            "SIGQUIT" => sig::SIGQUIT,
            "SIGHUP" => sig::SIGHUP,
            "SIGKILL" => sig::SIGKILL,
            "SIGUSR1" => sig::SIGUSR1,
            "SIGUSR2" => sig::SIGUSR2,
            "SIGWINCH" => sig::SIGWINCH,
            "SIGABRT" => sig::SIGABRT,
            "SIGALRM" => sig::SIGALRM,
            _ => sig::SIGTERM,
        }
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
        for name in NAMES.into_iter().filter(|n| *n != "SIGWINCH") {
            let number = Signal::parse(name).unwrap().number();
            assert_eq!(
                crate::supervisor::exit::signal_name(number),
                name,
                "number of {name}"
            );
        }
        assert_eq!(
            Signal::parse("WINCH").unwrap().number(),
            signal_hook::consts::SIGWINCH
        );
    }
}
