//! Content rules as patterns, scanned with one `RegexSet` pass per file: only the rules the set
//! says can match are run again to locate their matches (docs/audit.md, "Engine"). There is one
//! set per kind of file, built on first use, holding only the patterns that apply to it.

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// The lazy DFA's cache per set (the default, 2 MiB, thrashes with this many patterns).
const DFA_SIZE: usize = 32 << 20;

use super::files::{Kind, Kinds};
use super::rule::Rule;

/// What a pattern's verifier sees of a match.
pub struct Hit<'a> {
    /// The first capture group that matched, else the whole match.
    pub evidence: &'a str,
    /// The whole match.
    pub matched: &'a str,
    /// The whole line the evidence is on.
    pub line: &'a str,
    pub path: &'a str,
    pub kind: Kind,
    /// The tools `[requires] tools` declares.
    pub tools: &'a [String],
    /// The whole file, for rules that need to see what it imports.
    pub content: &'a [u8],
    /// Where the whole match and the evidence start in `content`.
    pub at: usize,
    pub evidence_at: usize,
    /// The file's code, comment and literal regions, lexed on first use.
    pub regions: &'a std::cell::OnceCell<super::lex::Regions>,
}

impl Hit<'_> {
    /// What the byte at `offset` of the file is (code, comment, string…).
    pub fn class_at(&self, offset: usize) -> super::lex::Class {
        self.regions
            .get_or_init(|| super::lex::Regions::of(self.path, self.content))
            .class_at(offset)
    }
}

/// What a pattern's matches are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reports {
    /// Findings of this rule.
    Rule(&'static Rule),
    /// A fact the project rules read, never a finding by itself.
    Fact(Fact),
}

/// A fact the content scan establishes for the project rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fact {
    /// A third-party import, by language.
    ImportPython,
    ImportNode,
    ImportGo,
    ImportJava,
    /// The code reads `PORT` from the environment.
    ReadsPort,
}

/// A content rule's pattern.
pub struct Pattern {
    pub reports: Reports,
    pub regex: &'static str,
    pub message: &'static str,
    pub kinds: Kinds,
    /// The evidence is a secret: masked in every output.
    pub secret: bool,
    /// Whether a match is a finding (placeholders, env lookups and the like are not).
    pub verify: Option<fn(&Hit<'_>) -> bool>,
    /// Literals one of which every match contains: the pattern then runs outside the set,
    /// only on files where a keyword occurs (one pass of a literal searcher finds them all),
    /// as gitleaks' keywords do. Each pattern in the set costs every byte of every file.
    pub keywords: &'static [&'static str],
}

impl Pattern {
    /// A pattern reporting `rule` in `kinds`, evidence shown as is, every match a finding.
    pub const fn new(
        rule: &'static Rule,
        regex: &'static str,
        message: &'static str,
        kinds: Kinds,
    ) -> Self {
        Self::reporting(Reports::Rule(rule), regex, message, kinds)
    }

    /// A pattern establishing `fact` in `kinds`.
    pub const fn fact(fact: Fact, regex: &'static str, kinds: Kinds) -> Self {
        Self::reporting(Reports::Fact(fact), regex, "", kinds)
    }

    const fn reporting(
        reports: Reports,
        regex: &'static str,
        message: &'static str,
        kinds: Kinds,
    ) -> Self {
        Self {
            reports,
            regex,
            message,
            kinds,
            secret: false,
            verify: None,
            keywords: &[],
        }
    }

    /// Runs the pattern only on files that contain one of `keywords` (case-sensitive), each of
    /// which every match must contain.
    #[must_use]
    pub const fn keywords(mut self, keywords: &'static [&'static str]) -> Self {
        self.keywords = keywords;
        self
    }

    /// The rule it reports, if it is not a fact.
    pub fn rule(&self) -> Option<&'static Rule> {
        match self.reports {
            Reports::Rule(rule) => Some(rule),
            Reports::Fact(_) => None,
        }
    }

    #[must_use]
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    #[must_use]
    pub const fn verify(mut self, verify: fn(&Hit<'_>) -> bool) -> Self {
        self.verify = Some(verify);
        self
    }
}

/// A located match: the pattern (an index into the full list) and the evidence's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
    /// The whole match (the evidence is within it).
    pub whole: std::ops::Range<usize>,
}

/// The patterns that apply to one kind of file, compiled.
pub struct Scanner {
    set: RegexSet,
    regexes: Vec<Regex>,
    /// Index in the full pattern list of each pattern here.
    indices: Vec<usize>,
    /// The keyword-gated patterns: the literal searcher over every keyword, each keyword's
    /// pattern (local index), and the patterns' regexes.
    gate: Option<Regex>,
    gate_keywords: Vec<&'static str>,
    gate_owner: Vec<usize>,
    gated: Vec<(usize, Regex)>,
}

impl Scanner {
    /// Compiles the patterns that apply to `kind` (all of them for `None`); they are constants,
    /// so a bad one is a bug the tests catch.
    pub fn new(patterns: &[&Pattern], kind: Option<Kind>) -> Result<Self, regex::Error> {
        let applies = |i: &usize| kind.is_none_or(|k| patterns[*i].kinds.contains(k));
        let indices: Vec<usize> = (0..patterns.len())
            .filter(applies)
            .filter(|&i| patterns[i].keywords.is_empty())
            .collect();
        let gated_indices: Vec<usize> = (0..patterns.len())
            .filter(applies)
            .filter(|&i| !patterns[i].keywords.is_empty())
            .collect();
        let mut gate_keywords = Vec::new();
        let mut gate_owner = Vec::new();
        let mut gated = Vec::new();
        for (local, &i) in gated_indices.iter().enumerate() {
            for keyword in patterns[i].keywords {
                gate_keywords.push(*keyword);
                gate_owner.push(local);
            }
            gated.push((
                i,
                RegexBuilder::new(patterns[i].regex)
                    .unicode(false)
                    .build()?,
            ));
        }
        let gate = if gate_keywords.is_empty() {
            None
        } else {
            let alternation: Vec<String> = gate_keywords.iter().map(|k| regex::escape(k)).collect();
            Some(
                RegexBuilder::new(&alternation.join("|"))
                    .unicode(false)
                    .build()?,
            )
        };
        let sources: Vec<&str> = indices.iter().map(|&i| patterns[i].regex).collect();
        // ASCII classes and word boundaries: the patterns look for ASCII tokens, and a Unicode
        // `\b` makes the lazy DFA give up on the first non-ASCII byte, falling back to the
        // PikeVM (measured: 17 s instead of under 1 s on 170 MB of crates with UTF-8 docs).
        Ok(Self {
            set: RegexSetBuilder::new(&sources)
                .unicode(false)
                .dfa_size_limit(DFA_SIZE)
                .build()?,
            regexes: sources
                .iter()
                .map(|s| RegexBuilder::new(s).unicode(false).build())
                .collect::<Result<_, _>>()?,
            indices,
            gate,
            gate_keywords,
            gate_owner,
            gated,
        })
    }

    /// Every match in `content`, in order.
    pub fn scan(&self, content: &[u8]) -> Vec<Match> {
        let mut found = Vec::new();
        let mut run: Vec<(usize, &Regex)> = Vec::new();
        if !self.indices.is_empty() {
            for local in &self.set.matches(content) {
                run.push((self.indices[local], &self.regexes[local]));
            }
        }
        if let Some(gate) = &self.gate {
            let mut seen = vec![false; self.gated.len()];
            for m in gate.find_iter(content) {
                // Every keyword found here (one may be a prefix of another).
                let rest = &content[m.start()..];
                for (keyword, &owner) in self.gate_keywords.iter().zip(&self.gate_owner) {
                    if rest.starts_with(keyword.as_bytes()) {
                        seen[owner] = true;
                    }
                }
            }
            for (local, (i, regex)) in self.gated.iter().enumerate() {
                if seen[local] {
                    run.push((*i, regex));
                }
            }
        }
        for (pattern, regex) in run {
            for captures in regex.captures_iter(content) {
                // The first group that took part in the match, else the whole match.
                let evidence = captures
                    .iter()
                    .skip(1)
                    .flatten()
                    .next()
                    .or_else(|| captures.get(0))
                    .expect("a match has group 0");
                let whole = captures.get(0).expect("a match has group 0");
                found.push(Match {
                    pattern,
                    start: evidence.start(),
                    end: evidence.end(),
                    whole: whole.range(),
                });
            }
        }
        found.sort_by_key(|m| (m.start, m.pattern));
        found
    }
}

/// One scanner per kind of file, each compiled the first time a file of that kind is read.
pub struct Scanners<'p> {
    patterns: &'p [&'p Pattern],
    by_kind: [OnceLock<Scanner>; Kind::COUNT],
}

impl<'p> Scanners<'p> {
    pub fn new(patterns: &'p [&'p Pattern]) -> Self {
        Self {
            patterns,
            by_kind: Default::default(),
        }
    }

    pub fn patterns(&self) -> &'p [&'p Pattern] {
        self.patterns
    }

    pub fn for_kind(&self, kind: Kind) -> &Scanner {
        self.by_kind[kind.index()].get_or_init(|| {
            Scanner::new(self.patterns, Some(kind)).expect("the built-in patterns compile")
        })
    }
}

/// A test of `patterns`: whether pattern `index` finds a text (a line of `app.py`), its check
/// (placeholders, token bodies) included. The scanner is built once.
#[cfg(test)]
pub fn finder(patterns: &'static [Pattern]) -> impl Fn(usize, &str) -> bool {
    let all: Vec<&'static Pattern> = patterns.iter().collect();
    let scanner = Scanner::new(&all, None).expect("the patterns compile");
    move |index, text| {
        let regions = std::cell::OnceCell::new();
        scanner.scan(text.as_bytes()).iter().any(|m| {
            let hit = Hit {
                evidence: &text[m.start..m.end],
                matched: &text[m.whole.clone()],
                line: text,
                path: "app.py",
                kind: Kind::Code,
                tools: &[],
                content: text.as_bytes(),
                at: m.whole.start,
                evidence_at: m.start,
                regions: &regions,
            };
            m.pattern == index && patterns[index].verify.is_none_or(|verify| verify(&hit))
        })
    }
}
