//! Content rules as patterns, scanned with one `RegexSet` pass per file: only the rules the set
//! says can match are run again to locate their matches (docs/audit.md, "Engine").

use regex::bytes::{Regex, RegexSet};

/// A content rule's pattern. Group 1, when present, is the secret; else the whole match.
pub struct Pattern {
    pub rule: &'static str,
    pub regex: &'static str,
    pub message: &'static str,
}

/// A located match: byte range of the evidence within the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

pub struct Scanner {
    set: RegexSet,
    regexes: Vec<Regex>,
}

impl Scanner {
    /// Compiles the patterns; they are constants, so a bad one is a bug caught by the tests.
    pub fn new(patterns: &[Pattern]) -> Result<Self, regex::Error> {
        let sources: Vec<&str> = patterns.iter().map(|p| p.regex).collect();
        Ok(Self {
            set: RegexSet::new(&sources)?,
            regexes: sources
                .iter()
                .map(|s| Regex::new(s))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Every match in `content`, in order.
    pub fn scan(&self, content: &[u8]) -> Vec<Match> {
        let mut found = Vec::new();
        for pattern in &self.set.matches(content) {
            for captures in self.regexes[pattern].captures_iter(content) {
                let evidence = captures
                    .get(1)
                    .or_else(|| captures.get(0))
                    .expect("a match has group 0");
                found.push(Match {
                    pattern,
                    start: evidence.start(),
                    end: evidence.end(),
                });
            }
        }
        found.sort_by_key(|m| (m.start, m.pattern));
        found
    }
}
