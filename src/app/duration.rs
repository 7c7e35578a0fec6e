//! Durations as people write them in `dozen.toml`: `500ms`, `10s`, `2m`, `1h`, `1m30s`.

use serde::{Deserialize, Deserializer};
use std::time::Duration as StdDuration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub StdDuration);

/// Why a text is not a duration dozen takes; each holds the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not numbers with units, or a number no duration can hold.
    #[error("invalid duration `{0}`: write a number and a unit, like `500ms`, `10s`, `2m` or `1h`")]
    Invalid(String),
    /// Longer than [`Duration::MAX`].
    #[error("`{0}` is longer than a day, the longest duration dozen takes")]
    TooLong(String),
}

impl Duration {
    /// The longest duration dozen takes (a day): a kill timeout, a health interval or a restart
    /// delay beyond it is a typo, and deadlines computed from it must not overflow.
    pub const MAX: StdDuration = StdDuration::from_secs(86_400);

    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(text.to_owned());
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total = StdDuration::ZERO;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(invalid)?;
            let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
            rest = &rest[number_len..];
            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let seconds = match &rest[..unit_len] {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(invalid()),
            };
            rest = &rest[unit_len..];
            let part = StdDuration::try_from_secs_f64(number * seconds).map_err(|_| invalid())?;
            total = total.checked_add(part).ok_or_else(invalid)?;
        }
        if total > Self::MAX {
            return Err(DurationError::TooLong(text.to_owned()));
        }
        Ok(Self(total))
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let millis = self.0.as_millis();
        if millis.is_multiple_of(1000) {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{millis}ms")
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected a duration string, like \"10s\" or \"500ms\"")
        })?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let ms = |text| Duration::parse(text).map(|d| d.0.as_millis());
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("10s"), Ok(10_000));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("1m30s"), Ok(90_000));
        assert_eq!(ms("1.5s"), Ok(1500));
        for bad in ["", "10", "s", "10x", "-1s", "1..2s", "1e999h"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Duration::parse("2m").unwrap().to_string(), "120s");
        assert_eq!(
            Duration::parse("10x").unwrap_err().to_string(),
            "invalid duration `10x`: write a number and a unit, like `500ms`, `10s`, `2m` or `1h`"
        );
        assert_eq!(
            Duration::parse("25h"),
            Err(DurationError::TooLong("25h".into()))
        );
        assert_eq!(
            DurationError::TooLong("25h".into()).to_string(),
            "`25h` is longer than a day, the longest duration dozen takes"
        );
    }
}
