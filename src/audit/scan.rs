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
    /// The code stores files through the framework's storage: Django's `FileField` and
    /// `ImageField`, Wagtail's images, Laravel's `Storage` facade and uploaded files' `store`.
    StoresFiles,
    /// The code names a file it loads whose name says it is a default or a template of
    /// another (`'/config.default.php'`, `"settings.dist.py"`): the file is not an example.
    NamesDefaultsFile,
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
    /// A cheap regex (literals, usually) that every match also matches: it takes the
    /// pattern's place in the file's one `RegexSet` pass, and the pattern itself runs only on
    /// files where it matched — gitleaks' keywords, inside the set. Each full pattern in the
    /// set costs every byte of every file; a literal alternation costs next to nothing.
    pub gate: Option<&'static str>,
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
            gate: None,
        }
    }

    /// Runs the pattern only on files where `gate` (a regex every match also matches) finds
    /// something.
    #[must_use]
    pub const fn gate(mut self, gate: &'static str) -> Self {
        self.gate = Some(gate);
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
}

impl Scanner {
    /// Compiles the patterns that apply to `kind` (all of them for `None`); they are constants,
    /// so a bad one is a bug the tests catch.
    pub fn new(patterns: &[&Pattern], kind: Option<Kind>) -> Result<Self, regex::Error> {
        let indices: Vec<usize> = (0..patterns.len())
            .filter(|&i| kind.is_none_or(|k| patterns[i].kinds.contains(k)))
            .collect();
        // In the set, a gated pattern is its gate; the full pattern runs where the gate hit.
        // Without a gate of its own, a pattern whose every match starts with one of a few
        // literals (`npm_`, `AKIA`, `-----BEGIN`) is gated on them, as ripgrep prefilters.
        let sources: Vec<String> = indices
            .iter()
            .map(|&i| {
                patterns[i].gate.map_or_else(
                    || {
                        derived_gate(patterns[i].regex)
                            .unwrap_or_else(|| patterns[i].regex.to_owned())
                    },
                    str::to_owned,
                )
            })
            .collect();
        // ASCII classes and word boundaries: the patterns look for ASCII tokens, and a Unicode
        // `\b` makes the lazy DFA give up on the first non-ASCII byte, falling back to the
        // PikeVM (measured: 17 s instead of under 1 s on 170 MB of crates with UTF-8 docs).
        Ok(Self {
            set: RegexSetBuilder::new(&sources)
                .unicode(false)
                .dfa_size_limit(DFA_SIZE)
                .build()?,
            regexes: indices
                .iter()
                .map(|&i| RegexBuilder::new(patterns[i].regex).unicode(false).build())
                .collect::<Result<_, _>>()?,
            indices,
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

/// The literals every match of `regex` starts with, as an alternation, when there are few and
/// none is short (a short one would make the gate fire everywhere).
fn derived_gate(regex: &str) -> Option<String> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(regex)
        .ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix);
    let sequence = extractor.extract(&hir);
    let literals = sequence.literals()?;
    if literals.is_empty() || literals.len() > 16 || literals.iter().any(|l| l.as_bytes().len() < 3)
    {
        return None;
    }
    let escaped: Option<Vec<String>> = literals
        .iter()
        .map(|l| std::str::from_utf8(l.as_bytes()).ok().map(regex::escape))
        .collect();
    Some(escaped?.join("|"))
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

/// A test's scan of `text` as a file at `path` of `kind`: the indices (into `patterns`) of
/// the patterns that apply to the kind and find something their check (placeholders, token
/// bodies) accepts.
#[cfg(test)]
pub fn verified(
    scanner: &Scanner,
    patterns: &[&Pattern],
    text: &str,
    path: &str,
    kind: Kind,
) -> Vec<usize> {
    let regions = std::cell::OnceCell::new();
    scanner
        .scan(text.as_bytes())
        .iter()
        .filter(|m| {
            let hit = Hit {
                evidence: &text[m.start..m.end],
                matched: &text[m.whole.clone()],
                line: text,
                path,
                kind,
                tools: &[],
                content: text.as_bytes(),
                at: m.whole.start,
                evidence_at: m.start,
                regions: &regions,
            };
            let pattern = patterns[m.pattern];
            pattern.kinds.contains(kind) && pattern.verify.is_none_or(|verify| verify(&hit))
        })
        .map(|m| m.pattern)
        .collect()
}

/// A test of `patterns`: whether pattern `index` finds a text (a line of `app.py`), its check
/// (placeholders, token bodies) included. The scanner is built once.
#[cfg(test)]
pub fn finder(patterns: &'static [Pattern]) -> impl Fn(usize, &str) -> bool {
    let all: Vec<&'static Pattern> = patterns.iter().collect();
    let scanner = Scanner::new(&all, None).expect("the patterns compile");
    move |index, text| verified(&scanner, &all, text, "app.py", Kind::Code).contains(&index)
}
