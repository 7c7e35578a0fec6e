//! A rule of the audit as data: its stable id, factor, the most severe it can be, the roles of
//! files it applies to, and the words `dozen audit explain` and SARIF's rule metadata show.
//! Its default severity is earned: it follows the rule's measured first-sight precision
//! ([`super::measured`]).

use serde::Serialize;

use super::finding::{Factor, Severity};
pub use super::model::roles::{Role, Roles};

#[derive(Debug)]
pub struct Rule {
    /// `<factor-slug>/<name>`, never renamed once released.
    pub id: &'static str,
    pub factor: Factor,
    /// The most severe its findings can be; the measured precision decides how much of it
    /// they get ([`Rule::default_severity`]).
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

impl Rule {
    /// The severity its findings have unless something says otherwise: its ceiling, lowered
    /// to what its measured first-sight precision earns.
    pub fn default_severity(&self) -> Severity {
        self.severity.min(super::measured::earned(self))
    }
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
