//! A rule of the audit as data: its stable id, factor, the most severe it can be, the roles of
//! files it applies to, and the words `dozen audit explain` and SARIF's rule metadata show.
//! Its default severity is earned: it follows the rule's measured first-sight precision
//! ([`super::measured`]).

use serde::Serialize;

pub use super::model::roles::{Role, Roles};

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

#[derive(Debug)]
pub struct Rule {
    /// `<factor-slug>/<name>`, never renamed once released.
    pub id: &'static str,
    pub factor: Factor,
    /// The most severe its findings can be; the measured precision decides how much of it
    /// they get ([`super::measured::default_severity`]).
    pub severity: Severity,
    /// The roles of the files whose findings count (a secret in a test fixture is not the
    /// deployment's).
    pub roles: Roles,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters, in the factor's terms.
    pub explanation: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

/// Rules are one each: the same id is the same rule.
impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}
