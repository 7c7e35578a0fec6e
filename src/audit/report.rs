//! The audit's result: the scorecard (a status per factor) and the findings, in DESIGN §8's
//! JSON shape (a versioned contract: these fields must stay; extra ones are allowed).

use serde::Serialize;
use serde_json::{Value, json};

use super::finding::{Factor, Finding, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FactorStatus {
    Pass,
    Warn,
    Fail,
    Skip,
}

pub struct Report {
    /// The app path as the user gave it.
    pub app: String,
    /// Sorted (path, line, column, rule).
    pub findings: Vec<Finding>,
    /// Factors at least one rule was applied to.
    pub checked: Vec<Factor>,
    /// What each process type did under `--probe` (empty without it).
    pub probes: Vec<super::probe::TypeProbe>,
}

impl Report {
    /// fail: an error; warn: a warning; pass: checked and clean (notes allowed); skip: no rule
    /// applied.
    pub fn status(&self, factor: Factor) -> FactorStatus {
        let worst = self
            .findings
            .iter()
            .filter(|f| f.factor == factor)
            .map(|f| f.severity)
            .max();
        match worst {
            Some(Severity::Error) => FactorStatus::Fail,
            Some(Severity::Warning) => FactorStatus::Warn,
            Some(Severity::Note) => FactorStatus::Pass,
            None if self.checked.contains(&factor) => FactorStatus::Pass,
            None => FactorStatus::Skip,
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether anything is at or above `threshold` (`None`: `--fail-on never`).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| self.findings.iter().any(|f| f.severity >= t))
    }

    pub fn to_json(&self) -> Value {
        let mut value = self.base_json();
        if !self.probes.is_empty() {
            value["probe"] = json!(self.probes);
        }
        value
    }

    fn base_json(&self) -> Value {
        json!({
            "schema": 1,
            "app": self.app,
            "factors": Factor::ALL.iter().map(|f| json!({ "id": f.roman(), "name": f.name(), "status": self.status(*f) })).collect::<Vec<_>>(),
            "findings": self.findings.iter().map(|f| json!({
                "rule": f.rule, "factor": f.factor.roman(), "severity": f.severity,
                "path": f.path, "line": f.line, "column": f.column,
                "message": f.message, "evidence": f.evidence, "fingerprint": f.fingerprint,
                // Every place of the cause, this one first (one finding per cause).
                "locations": f.locations().collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "summary": { "error": self.count(Severity::Error), "warning": self.count(Severity::Warning), "note": self.count(Severity::Note) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &'static str) -> Finding {
        let rule = crate::audit::rules::get(rule).expect("a rule");
        let mut finding = Finding::new(rule, "a.py", (1, 1), "m".into(), "evidence-value", false);
        // The rule's ceiling, whatever its measured precision earns today.
        finding.severity = rule.severity;
        finding
    }

    #[test]
    fn scorecard_and_json_shape() {
        let report = Report {
            app: "fixtures/app".into(),
            findings: vec![
                finding("config/aws-access-key"),
                finding("logs/file-sink"),
                finding("codebase/not-a-repository"),
            ],
            checked: vec![Factor::I, Factor::II, Factor::III, Factor::XI],
            probes: Vec::new(),
        };
        assert_eq!(report.status(Factor::III), FactorStatus::Fail);
        assert_eq!(report.status(Factor::XI), FactorStatus::Warn);
        assert_eq!(report.status(Factor::I), FactorStatus::Pass);
        assert_eq!(report.status(Factor::II), FactorStatus::Pass);
        assert_eq!(report.status(Factor::VII), FactorStatus::Skip);
        assert!(
            report.fails(Some(Severity::Error))
                && report.fails(Some(Severity::Note))
                && !report.fails(None)
        );
        let json = report.to_json();
        assert_eq!(json["schema"], 1);
        let ids: Vec<&str> = json["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"
            ]
        );
        assert_eq!(
            json["factors"][2],
            json!({"id": "III", "name": "Config", "status": "fail"})
        );
        assert_eq!(
            json["summary"],
            json!({"error": 1, "warning": 1, "note": 1})
        );
        let first = &json["findings"][0];
        for field in [
            "rule", "factor", "severity", "path", "line", "column", "message", "evidence",
        ] {
            assert!(!first[field].is_null(), "{field}");
        }
        assert_eq!(first["severity"], "error");
    }
}
