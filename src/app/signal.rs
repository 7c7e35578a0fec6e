//! Stop signals by name, as `dozen.toml` and systemd's `KillSignal=` write them.

use serde::{Deserialize, Deserializer};

use signal_hook::consts::signal as sig;

/// Signals by name and this platform's number; `true` for those a process may be asked to
/// stop with (the others only name how a process ended).
const TABLE: [(&str, i32, bool); 14] = [
    ("SIGTERM", sig::SIGTERM, true),
    ("SIGINT", sig::SIGINT, true),
    ("SIGQUIT", sig::SIGQUIT, true),
    ("SIGHUP", sig::SIGHUP, true),
    ("SIGKILL", sig::SIGKILL, true),
    ("SIGUSR1", sig::SIGUSR1, true),
    ("SIGUSR2", sig::SIGUSR2, true),
    ("SIGWINCH", sig::SIGWINCH, true),
    ("SIGABRT", sig::SIGABRT, true),
    ("SIGALRM", sig::SIGALRM, true),
    ("SIGILL", sig::SIGILL, false),
    ("SIGFPE", sig::SIGFPE, false),
    ("SIGSEGV", sig::SIGSEGV, false),
    ("SIGPIPE", sig::SIGPIPE, false),
];

/// The name of signal `number` on this platform, if it has a common one.
pub fn name_of(number: i32) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(_, n, _)| *n == number)
        .map(|(name, _, _)| *name)
}

/// A name that is not one of the signals a process may be asked to stop with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal `{0}`; expected one of {names}", names = stoppable_names())]
pub struct UnknownSignal(pub String);

fn stoppable() -> impl Iterator<Item = &'static (&'static str, i32, bool)> {
    TABLE.iter().filter(|(_, _, stop)| *stop)
}

/// `SIGTERM, SIGINT, …`: the signals [`Signal::parse`] takes.
fn stoppable_names() -> String {
    stoppable()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    name: &'static str,
    number: i32,
}

impl Signal {
    pub const TERM: Self = Self {
        name: "SIGTERM",
        number: sig::SIGTERM,
    };

    /// Accepts `SIGTERM`, `TERM` and `term`.
    pub fn parse(text: &str) -> Result<Self, UnknownSignal> {
        let upper = text.to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        stoppable()
            .find(|(name, _, _)| *name == full)
            .map(|(name, number, _)| Self {
                name,
                number: *number,
            })
            .ok_or_else(|| UnknownSignal(text.to_owned()))
    }

    pub fn name(self) -> &'static str {
        self.name
    }

    /// The signal's number on this platform.
    pub fn number(self) -> i32 {
        self.number
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
        assert_eq!(
            Signal::parse("SIGFOO").unwrap_err().to_string(),
            "unknown signal `SIGFOO`; expected one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2, SIGWINCH, SIGABRT, SIGALRM"
        );
        for (name, number, stop) in TABLE {
            assert_eq!(name_of(number), Some(name));
            assert_eq!(Signal::parse(name).is_ok(), stop, "{name}");
        }
        assert_eq!(name_of(sig::SIGSEGV), Some("SIGSEGV"));
        assert_eq!(name_of(64), None);
        assert_eq!(
            Signal::parse("WINCH").unwrap().number(),
            signal_hook::consts::SIGWINCH
        );
    }
}
