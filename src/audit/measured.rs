//! Severity earned, not declared: each rule's default severity follows its precision measured
//! on apps seen for the first time (bench/audit-firstsight/judged.tsv, compiled in). A rule
//! whose findings were judged true at least [`ERROR_PRECISION`] of the time over at least
//! [`ERROR_SAMPLE`] causes may be an error; [`WARNING_PRECISION`] over [`WARNING_SAMPLE`] a
//! warning; any other rule is a note until the rounds say otherwise. The provider-format
//! secret rules share one mechanism (a prefix, a charset, a length, the stand-in checks) and
//! are measured as one family.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::finding::Severity;
use super::rule::Rule;

pub const ERROR_PRECISION: f64 = 0.95;
pub const ERROR_SAMPLE: u32 = 10;
pub const WARNING_PRECISION: f64 = 0.80;
pub const WARNING_SAMPLE: u32 = 5;
/// A rule judged wrong this often over this many causes is off unless `--strict`: its
/// findings cost more attention than they repay.
pub const OFF_PRECISION: f64 = 0.25;
pub const OFF_SAMPLE: u32 = 10;

/// The judged findings of the first-sight rounds.
const JUDGED: &str = include_str!("../../bench/audit-firstsight/judged.tsv");

/// The family the provider-format rules are measured as.
pub const PROVIDER_FAMILY: &str = "config/provider-token";

/// How a rule's findings were judged on first sight, counted by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measured {
    pub true_positives: u32,
    pub false_positives: u32,
}

impl Measured {
    pub fn sample(self) -> u32 {
        self.true_positives + self.false_positives
    }

    /// `None` before any finding was judged.
    pub fn precision(self) -> Option<f64> {
        (self.sample() > 0).then(|| f64::from(self.true_positives) / f64::from(self.sample()))
    }

    /// Whether this record turns the rule off by default.
    pub fn off(self) -> bool {
        self.precision()
            .is_some_and(|p| p < OFF_PRECISION && self.sample() >= OFF_SAMPLE)
    }

    /// The severity this record earns.
    pub fn earned(self) -> Severity {
        match self.precision() {
            Some(p) if p >= ERROR_PRECISION && self.sample() >= ERROR_SAMPLE => Severity::Error,
            Some(p) if p >= WARNING_PRECISION && self.sample() >= WARNING_SAMPLE => {
                Severity::Warning
            }
            _ => Severity::Note,
        }
    }
}

/// The key a rule is measured under: its own id, or its family's.
pub fn key(rule: &Rule) -> &'static str {
    if super::rules::config::is_provider(rule) {
        PROVIDER_FAMILY
    } else {
        rule.id
    }
}

/// Parses judged rows (`round, app, rule, severity, location, verdict, reason`) into counts
/// per measured key; rows of rules this dozen does not have count under their own id.
fn tally(text: &str) -> HashMap<String, Measured> {
    let mut out: HashMap<String, Measured> = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(rule), Some(verdict)) = (fields.get(2), fields.get(5)) else {
            continue;
        };
        let key = super::rules::get(rule).map_or((*rule).to_owned(), |r| key(r).to_owned());
        let entry = out.entry(key).or_default();
        match *verdict {
            "true" => entry.true_positives += 1,
            "false" => entry.false_positives += 1,
            _ => {}
        }
    }
    out
}

static TABLE: LazyLock<HashMap<String, Measured>> = LazyLock::new(|| tally(JUDGED));

/// A rule's first-sight record (its family's, for provider formats).
pub fn of(rule: &Rule) -> Measured {
    TABLE.get(key(rule)).copied().unwrap_or_default()
}

/// Whether a rule is off by default (reported only with `--strict`).
pub fn off(rule: &Rule) -> bool {
    of(rule).off()
}

/// The severity a rule's record earns.
pub fn earned(rule: &Rule) -> Severity {
    of(rule).earned()
}

/// The severity a rule's findings have unless something says otherwise: its ceiling, lowered
/// to what its measured first-sight precision earns.
pub fn default_severity(rule: &Rule) -> Severity {
    rule.severity.min(earned(rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_measured_precision_and_sample() {
        let m = |t, f| Measured {
            true_positives: t,
            false_positives: f,
        };
        assert_eq!(m(0, 0).earned(), Severity::Note);
        assert_eq!(m(10, 0).earned(), Severity::Error);
        assert_eq!(m(19, 1).earned(), Severity::Error);
        assert_eq!(m(9, 1).earned(), Severity::Warning);
        assert_eq!(m(9, 0).earned(), Severity::Warning);
        assert_eq!(m(4, 1).earned(), Severity::Warning);
        assert_eq!(m(4, 0).earned(), Severity::Note);
        assert_eq!(m(3, 2).earned(), Severity::Note);
        assert!(m(1, 61).off() && m(2, 9).off());
        assert!(!m(1, 5).off() && !m(3, 7).off() && !m(0, 0).off());
        let table = tally(
            "# header\n1\ta\tconfig/aws-access-key\terror\tx:1\ttrue\tr\n1\ta\tconfig/github-token\terror\tx:2\tfalse\tr\n1\tb\tlogs/file-sink\twarning\ty:3\ttrue\tr\n",
        );
        assert_eq!(table[PROVIDER_FAMILY], m(1, 1));
        assert_eq!(table["logs/file-sink"], m(1, 0));
    }

    #[test]
    fn every_judged_row_is_well_formed() {
        for (index, line) in JUDGED.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 7, "judged.tsv:{}: seven fields", index + 1);
            assert!(
                ["true", "false"].contains(&fields[5]),
                "judged.tsv:{}: verdict {}",
                index + 1,
                fields[5]
            );
            assert!(
                !fields[6].trim().is_empty(),
                "judged.tsv:{}: a reason",
                index + 1
            );
        }
    }
}
