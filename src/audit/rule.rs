//! A rule of the audit as data: its stable id, factor, default severity, and the words
//! `dozen audit explain` and SARIF's rule metadata show.

use serde::Serialize;

use super::finding::{Factor, Severity};

/// How often a rule's findings are real problems (SARIF's `precision` property).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    VeryHigh,
    High,
    Medium,
    Low,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VeryHigh => "very-high",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Rule {
    /// `<factor-slug>/<name>`, never renamed once released.
    pub id: &'static str,
    pub factor: Factor,
    pub severity: Severity,
    pub precision: Precision,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters, in the factor's terms.
    pub explanation: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

/// Rules are one each: the same id is the same rule.
impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}
