//! What the audit reports: a located, masked finding about one of the twelve factors.

use serde::Serialize;

/// The twelve factors, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Factor {
    I,
    II,
    III,
    IV,
    V,
    VI,
    VII,
    VIII,
    IX,
    X,
    XI,
    XII,
}

impl Factor {
    pub const ALL: [Self; 12] = [
        Self::I,
        Self::II,
        Self::III,
        Self::IV,
        Self::V,
        Self::VI,
        Self::VII,
        Self::VIII,
        Self::IX,
        Self::X,
        Self::XI,
        Self::XII,
    ];

    /// The factor's name, as 12factor.net titles it.
    pub fn name(self) -> &'static str {
        match self {
            Self::I => "Codebase",
            Self::II => "Dependencies",
            Self::III => "Config",
            Self::IV => "Backing services",
            Self::V => "Build, release, run",
            Self::VI => "Processes",
            Self::VII => "Port binding",
            Self::VIII => "Concurrency",
            Self::IX => "Disposability",
            Self::X => "Dev/prod parity",
            Self::XI => "Logs",
            Self::XII => "Admin processes",
        }
    }

    /// The prefix of its rules' ids.
    pub fn slug(self) -> &'static str {
        match self {
            Self::I => "codebase",
            Self::II => "dependencies",
            Self::III => "config",
            Self::IV => "backing-services",
            Self::V => "build-release-run",
            Self::VI => "processes",
            Self::VII => "port-binding",
            Self::VIII => "concurrency",
            Self::IX => "disposability",
            Self::X => "dev-prod-parity",
            Self::XI => "logs",
            Self::XII => "admin-processes",
        }
    }

    pub fn roman(self) -> &'static str {
        match self {
            Self::I => "I",
            Self::II => "II",
            Self::III => "III",
            Self::IV => "IV",
            Self::V => "V",
            Self::VI => "VI",
            Self::VII => "VII",
            Self::VIII => "VIII",
            Self::IX => "IX",
            Self::X => "X",
            Self::XI => "XI",
            Self::XII => "XII",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub factor: Factor,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Masked: never the whole secret.
    pub evidence: String,
    /// What baselines match on: rule, path and the unmasked evidence, hashed — no position.
    #[serde(skip)]
    pub fingerprint: String,
}

impl Finding {
    /// A finding of `rule` (its factor and default severity) with its evidence masked when it
    /// is a secret, and the fingerprint computed from the raw evidence.
    pub fn new(
        rule: &'static super::rule::Rule,
        path: &str,
        (line, column): (usize, usize),
        message: String,
        raw_evidence: &str,
        secret: bool,
    ) -> Self {
        let mut hash = blake3::Hasher::new();
        for part in [rule.id, path, raw_evidence] {
            hash.update(part.as_bytes());
            hash.update(b"\0");
        }
        Self {
            rule: rule.id,
            factor: rule.factor,
            severity: rule.severity,
            path: path.to_owned(),
            line,
            column,
            message,
            evidence: if secret {
                super::mask::mask(raw_evidence)
            } else {
                raw_evidence.to_owned()
            },
            fingerprint: hash.finalize().to_hex()[..32].to_owned(),
        }
    }

    /// The order findings are reported in, whatever order the walk found them.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.line, self.column, self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_position_and_secrets_are_masked() {
        let rule = &crate::audit::rules::config::AWS_ACCESS_KEY;
        let at = |path: &str, position| {
            Finding::new(
                rule,
                path,
                position,
                "m".into(),
                "AKIAIOSFODNN7EXAMPLE",
                true,
            )
        };
        let a = at("a.py", (3, 7));
        assert_eq!(a.fingerprint, at("a.py", (90, 1)).fingerprint);
        assert_ne!(a.fingerprint, at("b.py", (3, 7)).fingerprint);
        assert!(!a.evidence.contains("IOSFODNN7EXAMPLE"));
        assert_eq!((a.factor, a.severity), (Factor::III, Severity::Error));
        assert_eq!(Factor::ALL.len(), 12);
        assert_eq!(Factor::IX.slug(), "disposability");
    }
}
