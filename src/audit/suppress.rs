//! Suppressions, applied in order: inline `dozen: ignore[RULE] reason` comments, the
//! manifest's `[audit] ignore`, and a baseline file of fingerprints (docs/audit.md).

use std::collections::BTreeSet;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use super::finding::Finding;
use super::rules;

/// What an inline suppression starts with.
pub const MARKER: &[u8] = b"dozen: ignore[";

/// Other tools' inline allowlists dozen honours for its secret findings (factor III), so a
/// team can switch without rewriting its code: detect-secrets' `pragma: allowlist secret`
/// (this line) and `pragma: allowlist nextline secret`, and gitleaks' `gitleaks:allow`.
pub const FOREIGN_MARKERS: [&str; 3] = [
    "pragma: allowlist secret",
    "pragma: allowlist nextline secret",
    "gitleaks:allow",
];

/// Whether a file holds any inline suppression, dozen's or another tool's.
pub fn has_marker(content: &[u8]) -> bool {
    memchr::memmem::find(content, MARKER).is_some()
        || FOREIGN_MARKERS
            .iter()
            .any(|m| memchr::memmem::find(content, m.as_bytes()).is_some())
}

/// One inline `dozen: ignore[RULE, RULE] reason` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub rules: Vec<String>,
    pub has_reason: bool,
    /// Another tool's allowlist (no rules named): it covers factor III findings on its own
    /// line, or on the next one (`nextline`).
    pub foreign: Option<Reach>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    ThisLine,
    NextLine,
}

/// The inline suppressions in a file's text.
pub fn read_inline(path: &str, text: &str) -> Vec<Inline> {
    let marker = std::str::from_utf8(MARKER).expect("ASCII");
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for (marker, reach) in [
            (FOREIGN_MARKERS[1], Reach::NextLine),
            (FOREIGN_MARKERS[0], Reach::ThisLine),
            (FOREIGN_MARKERS[2], Reach::ThisLine),
        ] {
            if let Some(at) = line.find(marker) {
                found.push(Inline {
                    path: path.to_owned(),
                    line: index + 1,
                    column: line[..at].chars().count() + 1,
                    rules: Vec::new(),
                    has_reason: true,
                    foreign: Some(reach),
                });
                break;
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find(marker) {
            let after = &rest[at + marker.len()..];
            let Some(close) = after.find(']') else {
                break;
            };
            let reason = after[close + 1..]
                .trim()
                .trim_end_matches("*/")
                .trim_end_matches("-->")
                .trim_end_matches("%>")
                .trim();
            found.push(Inline {
                path: path.to_owned(),
                line: index + 1,
                column: line[..line.len() - rest.len() + at].chars().count() + 1,
                rules: after[..close]
                    .split(',')
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect(),
                has_reason: !reason.is_empty(),
                foreign: None,
            });
            rest = &after[close..];
        }
    }
    found
}

/// An `[audit] ignore` rule or path that does not compile as a glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pattern}`: {source}")]
pub struct IgnoreGlobError {
    /// The rule or the path of the entry, as written.
    pub pattern: String,
    pub source: globset::Error,
}

/// Why a baseline file cannot be used; each names the file as `shown`.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("{shown}: {source}")]
    Read {
        shown: String,
        source: std::io::Error,
    },
    /// Not a baseline's JSON; located at its line and column.
    #[error("{shown}:{line}:{column}: {source}", line = .source.line(), column = .source.column())]
    Parse {
        shown: String,
        source: serde_json::Error,
    },
    /// A schema this dozen does not read.
    #[error("{shown}: baseline schema {schema} is not supported (this dozen writes schema 1)")]
    Schema { shown: String, schema: u32 },
}

/// `[audit] ignore` entries: `rule` or `rule:path/glob`, globs allowed in both parts.
pub struct ManifestIgnore {
    entries: Vec<(GlobMatcher, Option<GlobMatcher>)>,
}

impl ManifestIgnore {
    /// Compiles the entries (the manifest's validation has checked their shape); an entry
    /// whose glob does not compile is returned as the error.
    pub fn new(entries: &[String]) -> Result<Self, IgnoreGlobError> {
        let compile = |pattern: &str| {
            Glob::new(pattern)
                .map(|g| g.compile_matcher())
                .map_err(|source| IgnoreGlobError {
                    pattern: pattern.to_owned(),
                    source,
                })
        };
        let mut compiled = Vec::new();
        for entry in entries {
            let (rule, path) = match entry.split_once(':') {
                Some((rule, path)) => (rule, Some(path)),
                None => (entry.as_str(), None),
            };
            compiled.push((compile(rule)?, path.map(compile).transpose()?));
        }
        Ok(Self { entries: compiled })
    }

    pub fn matches(&self, finding: &Finding) -> bool {
        self.entries.iter().any(|(rule, path)| {
            rule.is_match(finding.rule)
                && path.as_ref().is_none_or(|p| {
                    p.is_match(&finding.path) || p.is_match(super::files::name(&finding.path))
                })
        })
    }
}

/// The baseline file: findings accepted as they are, by fingerprint — no line numbers, no
/// timestamps, sorted, so it changes only when findings do.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub schema: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub path: String,
    pub rule: String,
    pub fingerprint: String,
}

impl Baseline {
    pub fn of(findings: &[Finding]) -> Self {
        let entries: BTreeSet<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                path: f.path.clone(),
                rule: f.rule.to_owned(),
                fingerprint: f.fingerprint.clone(),
            })
            .collect();
        Self {
            schema: 1,
            findings: entries.into_iter().collect(),
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("serializable");
        text.push('\n');
        text
    }

    /// Reads a baseline; a problem names the file, line and column.
    pub fn read(path: &Path, shown: &str) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            shown: shown.to_owned(),
            source,
        })?;
        let baseline: Self =
            serde_json::from_str(&text).map_err(|source| BaselineError::Parse {
                shown: shown.to_owned(),
                source,
            })?;
        if baseline.schema != 1 {
            return Err(BaselineError::Schema {
                shown: shown.to_owned(),
                schema: baseline.schema,
            });
        }
        Ok(baseline)
    }

    pub fn contains(&self, finding: &Finding) -> bool {
        self.findings
            .iter()
            .any(|e| e.fingerprint == finding.fingerprint)
    }
}

/// How many findings each kind of suppression removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub inline: usize,
    pub manifest: usize,
    pub baseline: usize,
}

/// Applies the inline and manifest suppressions, and reports inline ones that matched nothing
/// or have no reason (as notes, which are findings themselves and can be ignored in the
/// manifest). The baseline is applied after, to what this returns.
pub fn apply(
    findings: Vec<Finding>,
    inline: &[Inline],
    manifest: &ManifestIgnore,
) -> (Vec<Finding>, Suppressed) {
    let mut used = vec![false; inline.len()];
    let mut kept = Vec::new();
    let mut suppressed = Suppressed::default();
    for finding in findings {
        let by_inline = inline.iter().position(|s| {
            s.path == finding.path
                && match s.foreign {
                    None => {
                        (s.line == finding.line || s.line + 1 == finding.line)
                            && s.rules.iter().any(|r| r == finding.rule)
                    }
                    Some(reach) => {
                        let line = match reach {
                            Reach::ThisLine => s.line,
                            Reach::NextLine => s.line + 1,
                        };
                        line == finding.line && finding.factor == super::finding::Factor::III
                    }
                }
        });
        if let Some(index) = by_inline {
            used[index] = true;
            suppressed.inline += 1;
        } else if manifest.matches(&finding) {
            suppressed.manifest += 1;
        } else {
            kept.push(finding);
        }
    }
    // Another tool's allowlists are not reported as unused: most were written for that tool.
    for (suppression, used) in inline.iter().zip(used).filter(|(s, _)| s.foreign.is_none()) {
        let position = (suppression.line, suppression.column);
        let named = suppression.rules.join(", ");
        let note = if !used {
            let unknown: Vec<&str> = suppression
                .rules
                .iter()
                .filter(|r| rules::get(r).is_none())
                .map(String::as_str)
                .collect();
            let message = if unknown.is_empty() {
                format!("`dozen: ignore[{named}]` suppresses nothing here")
            } else {
                format!(
                    "`dozen: ignore[{named}]` suppresses nothing: no rule {} (see `dozen audit rules`)",
                    unknown.join(", ")
                )
            };
            Some((&crate::audit::rules::codebase::UNUSED_SUPPRESSION, message))
        } else if !suppression.has_reason {
            Some((
                &crate::audit::rules::codebase::SUPPRESSION_WITHOUT_REASON,
                format!("`dozen: ignore[{named}]` gives no reason"),
            ))
        } else {
            None
        };
        if let Some((rule, message)) = note {
            let finding = Finding::new(rule, &suppression.path, position, message, &named, false);
            if !manifest.matches(&finding) {
                kept.push(finding);
            }
        }
    }
    kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (kept, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_comments_are_read_in_every_comment_syntax() {
        let found = read_inline(
            "a.py",
            "x = 1  # dozen: ignore[config/jwt] test fixture, expired\n/* dozen: ignore[a/b, c/d] */\n<!-- dozen: ignore[e/f] why -->\n",
        );
        let got: Vec<(usize, usize, Vec<String>, bool)> = found
            .into_iter()
            .map(|s| (s.line, s.column, s.rules, s.has_reason))
            .collect();
        assert_eq!(
            got,
            [
                (1, 10, vec!["config/jwt".to_owned()], true),
                (2, 4, vec!["a/b".to_owned(), "c/d".to_owned()], false),
                (3, 6, vec!["e/f".to_owned()], true),
            ]
        );
    }

    #[test]
    fn manifest_ignores_by_rule_and_path_glob() {
        let rule = &crate::audit::rules::config::JWT;
        let at = |path: &str| Finding::new(rule, path, (1, 1), String::new(), "x", true);
        let ignore =
            ManifestIgnore::new(&["config/jwt:tests/**".to_owned(), "logs/*".to_owned()]).unwrap();
        assert!(ignore.matches(&at("tests/unit/a.py")));
        assert!(!ignore.matches(&at("src/a.py")));
        let everywhere = ManifestIgnore::new(&["config/*".to_owned()]).unwrap();
        assert!(everywhere.matches(&at("src/a.py")));
        let error = ManifestIgnore::new(&["config/[".to_owned()]).err().unwrap();
        assert_eq!(error.pattern, "config/[");
        assert_eq!(
            error.to_string(),
            format!("`config/[`: {}", Glob::new("config/[").unwrap_err())
        );
    }

    #[test]
    fn baselines_are_sorted_and_positionless() {
        let rule = &crate::audit::rules::config::JWT;
        let a = Finding::new(rule, "b.py", (9, 1), String::new(), "secret-one", true);
        let b = Finding::new(rule, "a.py", (3, 1), String::new(), "secret-two", true);
        let baseline = Baseline::of(&[a.clone(), b.clone(), a.clone()]);
        let json = baseline.to_json();
        assert!(!json.contains("\"line\"") && !json.contains("secret-"));
        assert_eq!(baseline.findings.len(), 2);
        assert_eq!(baseline.findings[0].path, "a.py");
        let moved = Finding::new(rule, "b.py", (40, 7), String::new(), "secret-one", true);
        assert!(baseline.contains(&moved));
        let (kept, suppressed) = apply(vec![moved], &[], &ManifestIgnore::new(&[]).unwrap());
        assert_eq!(kept.len(), 1);
        assert_eq!(suppressed, Suppressed::default());
    }

    #[test]
    fn a_baseline_that_cannot_be_used_is_named_and_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.json");
        let error = |text: Option<&str>| {
            if let Some(text) = text {
                std::fs::write(&path, text).unwrap();
            }
            Baseline::read(&path, "b.json").unwrap_err().to_string()
        };
        assert!(error(None).starts_with("b.json: No such file or directory"));
        assert_eq!(
            error(Some("{\n  \"schema\": 1,\n  \"findings\": x")),
            "b.json:3:15: expected value at line 3 column 15"
        );
        assert_eq!(
            error(Some(r#"{"schema": 2, "findings": []}"#)),
            "b.json: baseline schema 2 is not supported (this dozen writes schema 1)"
        );
        std::fs::write(&path, Baseline::of(&[]).to_json()).unwrap();
        assert!(Baseline::read(&path, "b.json").is_ok());
    }
}
