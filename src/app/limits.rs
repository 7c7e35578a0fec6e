//! Resource limits of a process type (`[processes.T] memory`, `cpu`, `open_files`), as people
//! write them for systemd, Compose and Heroku: `memory = "512M"`, `cpu = 0.5`,
//! `open_files = 4096`.
//!
//! Units are binary, as systemd (`MemoryMax=512M`) and Compose (`memory: 512M`) read them:
//! `K` is 1024 bytes, `M` 1024², `G` 1024³, `T` 1024⁴ (`Ki`/`Mi`/`Gi`/`Ti`, Kubernetes'
//! spelling, mean the same). A bare number is bytes, as in both.

use serde::{Deserialize, Deserializer};

/// An amount of memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Memory(pub u64);

/// The least memory a type may be given: below it, `memory = "512"` (bytes, no unit) is a
/// typo for `"512M"` more likely than a wish.
pub const MIN_MEMORY: u64 = 1024 * 1024;

/// The most CPUs a type may be given (a typo guard, not a machine's size).
pub const MAX_CPU: f64 = 1024.0;

/// The most open files a type may be given: Linux's default `fs.nr_open`.
pub const MAX_OPEN_FILES: u64 = 1 << 20;

/// The fewest open files: a process needs its standard streams and a few more to start.
pub const MIN_OPEN_FILES: u64 = 16;

/// Why a limit is not one dozen takes; each holds the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "invalid memory `{0}`: write a number and a unit, like \"512M\" or \"2G\" (K, M, G and T are 1024-based)"
    )]
    Memory(String),
    #[error("memory `{0}` is below 1M: write a unit, like \"512M\"")]
    MemoryTooSmall(String),
    #[error("cpu must be a number of CPUs above 0, at most {max} (0.5 is half of one)", max = MAX_CPU)]
    Cpu,
    #[error("open_files must be between {MIN_OPEN_FILES} and {MAX_OPEN_FILES}")]
    OpenFiles,
}

impl Memory {
    pub fn parse(text: &str) -> Result<Self, LimitError> {
        let invalid = || LimitError::Memory(text.to_owned());
        let trimmed = text.trim();
        let digits = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = trimmed[..digits].parse().map_err(|_| invalid())?;
        let shift = match trimmed[digits..].trim_start() {
            "" | "B" | "b" => 0,
            "K" | "k" | "Ki" | "KiB" | "KB" => 10,
            "M" | "m" | "Mi" | "MiB" | "MB" => 20,
            "G" | "g" | "Gi" | "GiB" | "GB" => 30,
            "T" | "t" | "Ti" | "TiB" | "TB" => 40,
            _ => return Err(invalid()),
        };
        let bytes = number.checked_mul(1 << shift).ok_or_else(invalid)?;
        if bytes < MIN_MEMORY {
            return Err(LimitError::MemoryTooSmall(text.to_owned()));
        }
        Ok(Self(bytes))
    }

    /// In the largest unit that divides it (`512M`, `1536M`, `2G`): what systemd and Compose
    /// read back as the same number of bytes.
    pub fn exact(self) -> String {
        for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
            if self.0.is_multiple_of(1 << shift) {
                return format!("{}{unit}", self.0 >> shift);
            }
        }
        self.0.to_string()
    }
}

/// Bytes as a person reads them, to a tenth: `512M`, `1.5G`, `730.2M`.
pub fn human(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] {
        let size = f64::from(1u32 << shift);
        if value >= size {
            let scaled = value / size;
            return if (scaled - scaled.round()).abs() < 0.05 {
                format!("{scaled:.0}{unit}")
            } else {
                format!("{scaled:.1}{unit}")
            };
        }
    }
    format!("{bytes}B")
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.exact())
    }
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Memory;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an amount of memory, like \"512M\" or \"2G\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Memory, E> {
                Memory::parse(text).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, bytes: i64) -> Result<Memory, E> {
                Memory::parse(&bytes.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `cpu`: a number of CPUs above 0.
pub fn check_cpu(cpu: f64) -> Result<(), LimitError> {
    if cpu.is_finite() && cpu > 0.0 && cpu <= MAX_CPU {
        Ok(())
    } else {
        Err(LimitError::Cpu)
    }
}

/// `open_files`: within what Linux takes.
pub fn check_open_files(count: i64) -> Result<(), LimitError> {
    match u64::try_from(count) {
        Ok(n) if (MIN_OPEN_FILES..=MAX_OPEN_FILES).contains(&n) => Ok(()),
        _ => Err(LimitError::OpenFiles),
    }
}

/// A type's limits, validated (the manifest's checks passed).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub memory: Option<u64>,
    /// CPUs (0.5 is half of one).
    pub cpu: Option<f64>,
    pub open_files: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpu.is_none() && self.open_files.is_none()
    }

    /// `cpu` as systemd's `CPUQuota=` (0.5 → `50%`).
    pub fn cpu_percent(cpu: f64) -> String {
        format!("{}%", format_decimal(cpu * 100.0))
    }
}

/// A number without a trailing `.0`, at most two decimals.
pub fn format_decimal(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_are_binary_as_systemd_and_compose_read_them() {
        assert_eq!(Memory::parse("512M"), Ok(Memory(512 << 20)));
        assert_eq!(Memory::parse("512Mi"), Ok(Memory(512 << 20)));
        assert_eq!(Memory::parse("2G"), Ok(Memory(2 << 30)));
        assert_eq!(Memory::parse("1536k"), Ok(Memory(1536 << 10)));
        assert_eq!(Memory::parse("1T"), Ok(Memory(1 << 40)));
        assert_eq!(Memory::parse("2097152"), Ok(Memory(2 << 20)));
        assert_eq!(
            Memory::parse("512"),
            Err(LimitError::MemoryTooSmall("512".into()))
        );
        for bad in [
            "",
            "M",
            "512X",
            "-1M",
            "1.5G",
            "99999999999999999999T",
            "512 M M",
        ] {
            assert!(Memory::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_is_shown_in_the_unit_that_divides_it() {
        assert_eq!(Memory(512 << 20).exact(), "512M");
        assert_eq!(Memory(1536 << 20).exact(), "1536M");
        assert_eq!(Memory(2 << 30).exact(), "2G");
        assert_eq!(Memory((1 << 20) + 1).exact(), "1048577");
        assert_eq!(human(512 << 20), "512M");
        assert_eq!(human(1536 << 20), "1.5G");
        assert_eq!(human(500), "500B");
    }

    #[test]
    fn cpu_and_open_files_within_range() {
        assert!(check_cpu(0.5).is_ok());
        assert!(check_cpu(0.0).is_err());
        assert!(check_cpu(-1.0).is_err());
        assert!(check_cpu(f64::NAN).is_err());
        assert!(check_cpu(2000.0).is_err());
        assert!(check_open_files(4096).is_ok());
        assert!(check_open_files(0).is_err());
        assert!(check_open_files(1 << 21).is_err());
        assert_eq!(Limits::cpu_percent(0.5), "50%");
        assert_eq!(Limits::cpu_percent(1.25), "125%");
    }
}
