//! Reading the app: a parallel `.gitignore`-aware walk that sees dotfiles, skips what is not the
//! app's own text, and runs the content patterns and file rules on each file it reads
//! (docs/audit.md, "Engine").

use std::path::Path;
use std::sync::Mutex;

use super::files;
use super::finding::Finding;
use super::project::File;
use super::rules::{self, config};
use super::scan::{Hit, Match, Pattern, Reports, Scanners};
use super::suppress::Inline;

/// Directories that hold other people's code or build output (`.git` and `.dozen` are never
/// walked at all).
const SKIPPED_DIRS: [&str; 9] = [
    "node_modules",
    "vendor",
    "target",
    "dist",
    ".venv",
    "venv",
    "__pycache__",
    "bower_components",
    ".terraform",
];
/// Lockfiles: their presence matters (factor II), their bodies are hashes and versions.
const LOCKFILES: [&str; 13] = [
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "Pipfile.lock",
    "Gemfile.lock",
    "go.sum",
    "composer.lock",
];

pub struct Options {
    pub max_file_size: u64,
    /// `[requires] tools`.
    pub tools: Vec<String>,
    /// The app's directory, for file rules that read a file's neighbours.
    pub root: std::path::PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_file_size: files::MAX_READ,
            tools: Vec::new(),
            root: std::path::PathBuf::new(),
        }
    }
}

pub use super::project::Fact;

/// What the walk found.
#[derive(Default)]
pub struct Walked {
    pub findings: Vec<Finding>,
    /// Every file seen (read or not), sorted.
    pub files: Vec<String>,
    pub suppressions: Vec<Inline>,
    /// What `fact/…` patterns established (once per fact and value in a file).
    pub facts: Vec<Fact>,
    /// What could not be read (a directory or file the user may not open), each as
    /// `path: error`: the audit did not check them, and says so.
    pub unreadable: Vec<String>,
    /// The text of the files that declare processes (Dockerfiles, Compose files, manifests),
    /// for the deployment model: read once, here.
    pub declarations: Vec<(String, String)>,
}

impl Walked {
    fn merge(&mut self, mut other: Self) {
        self.findings.append(&mut other.findings);
        self.files.append(&mut other.files);
        self.suppressions.append(&mut other.suppressions);
        self.facts.append(&mut other.facts);
        self.declarations.append(&mut other.declarations);
        self.unreadable.append(&mut other.unreadable);
    }
}

/// Whether a file is read for content rules.
fn readable(name: &str, size: u64, options: &Options) -> bool {
    let lower = name.to_ascii_lowercase();
    !(LOCKFILES.contains(&name)
        || [".min.js", ".min.css", ".map"]
            .iter()
            .any(|end| lower.ends_with(end))
        || size > options.max_file_size)
}

/// Walks the app under `root`, reading every text file once.
/// Every file of the app the audit reads: what the walk finds (git's ignore rules applied),
/// and every file git tracks even though an ignore rule names it (a force-added `.env`).
pub fn walk<S: std::hash::BuildHasher>(
    root: &Path,
    options: &Options,
    tracked: Option<&std::collections::HashSet<String, S>>,
) -> Walked {
    let scanners = Scanners::new(&rules::PATTERNS);
    let shared = Mutex::new(Walked::default());
    let walker = crate::build::source::app_walker(root, &SKIPPED_DIRS);
    walker.build_parallel().run(|| {
        // Each thread keeps what it found and hands it over once, when it is done.
        let mut local = Local {
            walked: Walked::default(),
            shared: &shared,
        };
        let scanners = &scanners;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    local.walked.unreadable.push(error.to_string());
                    return ignore::WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let relative = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .into_owned();
            let name = files::name(&relative);
            let size = entry.metadata().map_or(0, |m| m.len());
            if readable(name, size, options) {
                match read_text(entry.path()) {
                    Ok(Some(content)) => {
                        scan_file(&relative, &content, scanners, options, &mut local.walked);
                    }
                    Ok(None) => {}
                    Err(error) => local.walked.unreadable.push(format!("{relative}: {error}")),
                }
            }
            local.walked.files.push(relative);
            ignore::WalkState::Continue
        })
    });
    let mut result = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    result.files.sort();
    if let Some(tracked) = tracked {
        let mut missed: Vec<&String> = tracked
            .iter()
            .filter(|path| result.files.binary_search(path).is_err())
            .filter(|path| {
                !path
                    .split('/')
                    .any(|part| SKIPPED_DIRS.contains(&part) || part == ".git")
            })
            .collect();
        missed.sort();
        for path in missed {
            let full = root.join(path);
            let size = std::fs::symlink_metadata(&full)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len());
            let Some(size) = size else { continue };
            if readable(files::name(path), size, options) {
                match read_text(&full) {
                    Ok(Some(content)) => {
                        scan_file(path, &content, &scanners, options, &mut result);
                    }
                    Ok(None) => {}
                    Err(error) => result.unreadable.push(format!("{path}: {error}")),
                }
            }
            result.files.push(path.clone());
        }
        result.files.sort();
    }
    result
        .facts
        .sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    result
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    result
}

/// A file's bytes, unless it is binary (a NUL in its first 8 KiB), which is found before the
/// rest is read, as ripgrep does. An error is a file the audit could not check.
fn read_text(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut content = vec![0; 8192];
    let mut filled = 0;
    while filled < content.len() {
        match file.read(&mut content[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    content.truncate(filled);
    if memchr::memchr(0, &content).is_some() {
        return Ok(None);
    }
    file.read_to_end(&mut content)?;
    Ok(Some(content))
}

struct Local<'a> {
    walked: Walked,
    shared: &'a Mutex<Walked>,
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.merge(std::mem::take(&mut self.walked));
        }
    }
}

/// Byte offsets where each line starts.
fn line_starts(content: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', content).map(|i| i + 1))
        .collect()
}

/// Runs the content patterns, the file rules and the suppression reader on one file.
/// Where provider-format secrets are: a provider's token is reported by its own rule (or,
/// a stand-in, not at all), never again as a generic secret.
fn provider_spans(matches: &[Match], patterns: &[&Pattern]) -> Vec<(usize, usize)> {
    matches
        .iter()
        .filter(|m| {
            let pattern = patterns[m.pattern];
            pattern.secret
                && pattern.rule().is_some_and(|rule| {
                    *rule != config::GENERIC_SECRET && *rule != config::CREDENTIALED_URL
                })
        })
        .map(|m| (m.start, m.end))
        .collect()
}

pub fn scan_file(
    path: &str,
    content: &[u8],
    scanners: &Scanners<'_>,
    options: &Options,
    out: &mut Walked,
) {
    let kind = files::kind(path);
    keep_declaration(path, content, out);
    let matches = scanners.for_kind(kind).scan(content);
    let has_suppression = super::suppress::has_marker(content);
    let wants_text = rules::reads_whole_file(path, kind, content);
    if matches.is_empty() && !has_suppression && !wants_text {
        return;
    }
    let starts = line_starts(content);
    let patterns = scanners.patterns();
    let provider_spans = provider_spans(&matches, patterns);
    let facts_before = out.facts.len();
    let regions = std::cell::OnceCell::new();
    for m in matches {
        let pattern = patterns[m.pattern];
        if pattern.rule() == Some(&config::GENERIC_SECRET)
            && provider_spans
                .iter()
                .any(|&(s, e)| s < m.end && m.start < e)
        {
            continue;
        }
        let line = starts.partition_point(|&s| s <= m.start);
        let line_start = starts[line - 1];
        let line_end = starts.get(line).map_or(content.len(), |&s| s - 1);
        let line_text = String::from_utf8_lossy(&content[line_start..line_end.max(line_start)]);
        let evidence = String::from_utf8_lossy(&content[m.start..m.end]);
        let whole = String::from_utf8_lossy(&content[m.whole.clone()]);
        // (Facts are not checked in comments: they are cheap signals, and an import is on
        // every line of some files, which would lex each of them.)
        let in_comment = || {
            regions
                .get_or_init(|| super::lex::Regions::of(path, content))
                .class_at(m.whole.start)
                == super::lex::Class::Comment
        };
        if skipped_in_comment(pattern, &line_text, m.start - line_start, in_comment) {
            continue;
        }
        if let Some(verify) = pattern.verify {
            let hit = Hit {
                evidence: &evidence,
                matched: &whole,
                line: &line_text,
                path,
                kind,
                tools: &options.tools,
                content,
                at: m.whole.start,
                evidence_at: m.start,
                regions: &regions,
            };
            if !verify(&hit) {
                continue;
            }
        }
        let column = String::from_utf8_lossy(&content[line_start..m.start])
            .chars()
            .count()
            + 1;
        let rule = match pattern.reports {
            Reports::Rule(rule) => rule,
            Reports::Fact(fact) => {
                let seen = out.facts[facts_before..]
                    .iter()
                    .any(|f| f.name == fact && f.value == evidence);
                if !seen {
                    out.facts.push(Fact {
                        name: fact,
                        value: evidence.into_owned(),
                        path: path.to_owned(),
                        line,
                        column,
                    });
                }
                continue;
            }
        };
        out.findings.push(Finding::new(
            rule,
            path,
            (line, column),
            pattern.message.to_owned(),
            &evidence,
            pattern.secret,
        ));
    }
    if has_suppression || wants_text {
        whole_file(
            path,
            content,
            kind,
            (has_suppression, wants_text),
            options,
            out,
        );
    }
}

/// Keeps the text of a file that declares processes, for the deployment model.
fn keep_declaration(path: &str, content: &[u8], out: &mut Walked) {
    if super::model::declarations::may_declare(path)
        && super::model::declarations::wanted(path, content)
    {
        out.declarations.push((
            path.to_owned(),
            String::from_utf8_lossy(content).into_owned(),
        ));
    }
}

/// The readers of a whole file's text: inline suppressions and the file rules.
fn whole_file(
    path: &str,
    content: &[u8],
    kind: files::Kind,
    (suppressions, rules): (bool, bool),
    options: &Options,
    out: &mut Walked,
) {
    let text = String::from_utf8_lossy(content);
    if suppressions {
        out.suppressions
            .extend(super::suppress::read_inline(path, &text));
    }
    if rules {
        let file = File {
            path,
            name: files::name(path),
            kind,
            text: &text,
            root: &options.root,
        };
        rules::check_file(&file, &mut out.findings);
    }
}

/// Whether a match in a comment is passed over. What a commented-out line would do is not
/// what the app does; a secret in a comment is still in the repository, so secret rules read
/// comments too, but a comment's example URL carries the tokens the URL is public with (a
/// signed URL's JWT, an API key in a request's query), and a JWT in a comment is an example's.
fn skipped_in_comment(
    pattern: &Pattern,
    line: &str,
    at: usize,
    in_comment: impl Fn() -> bool,
) -> bool {
    if pattern.rule().is_none() {
        return false;
    }
    if !pattern.secret {
        return in_comment();
    }
    (in_url(line, at) || pattern.rule().is_some_and(|r| r.id == "config/jwt")) && in_comment()
}

/// Whether the text at byte `at` of `line` is inside a URL (`https://…` up to it, no blank).
fn in_url(line: &str, at: usize) -> bool {
    let before = line.get(..at.min(line.len())).unwrap_or("");
    let word_start = before
        .rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '<' | '`'))
        .map_or(0, |i| i + 1);
    before[word_start..].contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_located_masked_secrets_and_skips_what_is_not_the_apps_text() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["src", "node_modules/pkg", ".github"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        fs::write(
            d.join("src/settings.py"),
            "DEBUG = True\nAWS_KEY = \"AKIAQ3EGV7XJ2MBZR4TN\"\n",
        )
        .unwrap();
        fs::write(
            d.join(".github/deploy.yml"),
            "token: ghp_Zq8Xw2Vb7Nm4Lk1Jh6Gf3Ds9Ap0Oi5Uy2Tr8\n",
        )
        .unwrap();
        fs::write(
            d.join("node_modules/pkg/index.js"),
            "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n",
        )
        .unwrap();
        fs::write(d.join("ignored.txt"), "AKIAQ3EGV7XJ2MBZR4TN\n").unwrap();
        fs::write(d.join(".gitignore"), "ignored.txt\n").unwrap();
        fs::write(d.join("Cargo.lock"), "AKIAQ3EGV7XJ2MBZR4TN\n").unwrap();
        fs::write(d.join("image.bin"), b"\0\0AKIAQ3EGV7XJ2MBZR4TN").unwrap();
        let walked = walk::<std::hash::RandomState>(d, &Options::default(), None);
        let summary: Vec<(&str, usize, usize, &str, &str)> = walked
            .findings
            .iter()
            .filter(|f| f.factor == crate::audit::finding::Factor::III)
            .map(|f| {
                (
                    f.path.as_str(),
                    f.line,
                    f.column,
                    f.rule,
                    f.evidence.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    ".github/deploy.yml",
                    1,
                    8,
                    "config/github-token",
                    "ghp_…(40)"
                ),
                (
                    "src/settings.py",
                    2,
                    12,
                    "config/aws-access-key",
                    "AKIA…(20)"
                ),
            ]
        );
        assert_eq!(
            walked.files,
            [
                ".github/deploy.yml",
                ".gitignore",
                "Cargo.lock",
                "image.bin",
                "src/settings.py"
            ]
        );
    }
}
