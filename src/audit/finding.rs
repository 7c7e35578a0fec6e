//! What the audit reports: a located, masked finding about one of the twelve factors.

use serde::Serialize;

pub use super::rule::{Factor, Severity};

/// Another place where a finding's cause shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// What is wrong here, when it differs from the finding's message (the images of one
    /// cause: one untagged, one tagged `latest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
    /// What makes two findings one cause: the rule and the unmasked evidence, hashed — no
    /// path (the same secret, the same parent POM in N modules is one thing to fix).
    #[serde(skip)]
    pub cause: String,
    /// The other places the same cause shows, after this one (empty until findings are
    /// grouped by cause).
    pub also: Vec<Location>,
    /// This place's own message when the group's says what its places share.
    #[serde(skip)]
    pub own_message: Option<String>,
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
        let mut cause = blake3::Hasher::new();
        for part in [rule.id, raw_evidence] {
            cause.update(part.as_bytes());
            cause.update(b"\0");
        }
        Self {
            rule: rule.id,
            factor: rule.factor,
            // The rule's ceiling; the audit lowers it to what the rule's measured precision
            // earns unless `--strict` ([`super::measured`]).
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
            cause: cause.finalize().to_hex()[..32].to_owned(),
            also: Vec::new(),
            own_message: None,
        }
    }

    /// Sets what makes this finding one cause with others (by default its rule and evidence):
    /// a rule whose evidence differs by place names the cause itself (the pair of env files
    /// whose keys differ).
    #[must_use]
    pub fn with_cause(mut self, cause: &str) -> Self {
        let mut hash = blake3::Hasher::new();
        hash.update(self.rule.as_bytes());
        hash.update(b"\0");
        hash.update(cause.as_bytes());
        hash.finalize().to_hex()[..32].clone_into(&mut self.cause);
        self
    }

    /// The same match reported by another rule (a provider token where stand-ins live is
    /// `config/committed-token`): its factor and ceiling, `why` after the message, and a
    /// fingerprint and cause of its own.
    #[must_use]
    pub fn reported_as(mut self, rule: &'static super::rule::Rule, why: &str) -> Self {
        let mut hash = blake3::Hasher::new();
        for part in [self.fingerprint.as_str(), rule.id] {
            hash.update(part.as_bytes());
            hash.update(b"\0");
        }
        hash.finalize().to_hex()[..32].clone_into(&mut self.fingerprint);
        let cause = self.cause.clone();
        self.rule = rule.id;
        self.factor = rule.factor;
        self.severity = rule.severity;
        self.message = format!("{} ({why})", self.message);
        self.with_cause(&cause)
    }

    /// Every place of this finding: its own, then the others of its cause.
    pub fn locations(&self) -> impl Iterator<Item = Location> + '_ {
        std::iter::once(Location {
            path: self.path.clone(),
            line: self.line,
            column: self.column,
            message: self.own_message.clone(),
        })
        .chain(self.also.iter().cloned())
    }

    /// The order findings are reported in, whatever order the walk found them.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.line, self.column, self.rule)
    }
}

/// One finding per cause: findings of one rule with the same cause become the first of them
/// (in report order) with the others as its `also` locations; the most severe of them sets
/// the group's severity. `findings` must be sorted.
/// `summary` gives a rule's one-line summary by its id.
pub fn group_by_cause(
    findings: Vec<Finding>,
    summary: impl Fn(&'static str) -> Option<&'static str>,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut index: std::collections::HashMap<(&'static str, String), usize> =
        std::collections::HashMap::new();
    for finding in findings {
        if let Some(&at) = index.get(&(finding.rule, finding.cause.clone())) {
            let first = &mut out[at];
            first.severity = first.severity.max(finding.severity);
            let own = first.own_message.as_ref().unwrap_or(&first.message);
            let differs = *own != finding.message;
            if differs && first.own_message.is_none() {
                // The places differ in what is wrong: the group says what they share (the
                // rule), and every place says its own.
                let summary =
                    summary(first.rule).map_or_else(|| first.message.clone(), str::to_owned);
                first.own_message = Some(std::mem::replace(&mut first.message, summary));
                for place in &mut first.also {
                    place.message.clone_from(&first.own_message);
                }
            }
            let message = first.own_message.is_some().then_some(finding.message);
            first.also.push(Location {
                path: finding.path,
                line: finding.line,
                column: finding.column,
                message,
            });
        } else {
            index.insert((finding.rule, finding.cause.clone()), out.len());
            out.push(finding);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_of_places_that_differ_says_what_they_share() {
        let rule = &crate::audit::rules::dependencies::UNPINNED_DEPLOYED_IMAGE;
        let image = |path: &str, message: &str| {
            Finding::new(rule, path, (1, 1), message.into(), "img", false).with_cause("the images")
        };
        let grouped = group_by_cause(
            vec![
                image("a.yml", "image without a tag"),
                image("b.yml", "image without a tag"),
                image("c.yml", "image tagged latest"),
            ],
            |_| Some(rule.summary),
        );
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].message, rule.summary);
        let messages: Vec<Option<String>> = grouped[0].locations().map(|l| l.message).collect();
        assert_eq!(
            messages,
            [
                Some("image without a tag".to_owned()),
                Some("image without a tag".to_owned()),
                Some("image tagged latest".to_owned())
            ]
        );
        let same = group_by_cause(vec![image("a.yml", "m"), image("b.yml", "m")], |_| {
            Some(rule.summary)
        });
        assert_eq!(same[0].message, "m");
        assert!(same[0].locations().all(|l| l.message.is_none()));
    }

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
        assert_eq!(a.factor, Factor::III);
        assert!(a.severity <= Severity::Error);
        assert_eq!(a.cause, at("b.py", (3, 7)).cause);
        assert_eq!(Factor::ALL.len(), 12);
        assert_eq!(Factor::IX.slug(), "disposability");
    }
}
