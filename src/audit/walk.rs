//! Reading the app for content rules: a parallel `.gitignore`-aware walk that sees dotfiles and
//! skips what is not the app's own text (docs/audit.md, "Engine").

use std::path::Path;
use std::sync::Mutex;

use super::finding::{Factor, Finding, Severity};
use super::scan::{Pattern, Scanner};

/// Directories that hold other people's code or build output (`.git` and `.dozen` are never
/// walked at all).
const SKIPPED_DIRS: [&str; 7] = [
    "node_modules",
    "vendor",
    "target",
    "dist",
    ".venv",
    "venv",
    "__pycache__",
];
/// Lockfiles: their presence matters (factor II), their bodies are hashes and versions.
const LOCKFILES: [&str; 9] = [
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "Gemfile.lock",
    "go.sum",
    "composer.lock",
];

pub struct Limits {
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: 1024 * 1024,
        }
    }
}

/// Why a file is not read for content rules, if it is not.
fn skip_reason(name: &str, size: u64, limits: &Limits) -> Option<&'static str> {
    if LOCKFILES.contains(&name) {
        Some("lockfile")
    } else if [".min.js", ".min.css", ".map"]
        .iter()
        .any(|end| name.to_ascii_lowercase().ends_with(end))
    {
        Some("minified")
    } else if size > limits.max_file_size {
        Some("too large")
    } else {
        None
    }
}

/// Scans every readable text file under `root` with `patterns` (all factor III secrets).
pub fn scan_tree(root: &Path, patterns: &[Pattern], limits: &Limits) -> Vec<Finding> {
    let scanner = Scanner::new(patterns).expect("the built-in patterns compile");
    let found = Mutex::new(Vec::new());
    let walker = crate::build::source::app_walker(root, &SKIPPED_DIRS);
    walker.build_parallel().run(|| {
        // Each thread keeps its findings and hands them over once, when it is done.
        let mut local = Local {
            findings: Vec::new(),
            shared: &found,
        };
        let scanner = &scanner;
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                return ignore::WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let name = entry.file_name().to_string_lossy();
            let size = entry.metadata().map_or(0, |m| m.len());
            if skip_reason(&name, size, limits).is_some() {
                return ignore::WalkState::Continue;
            }
            let Some(content) = read_text(entry.path()) else {
                return ignore::WalkState::Continue;
            };
            let relative = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            local
                .findings
                .extend(findings_in(&relative, &content, scanner, patterns));
            ignore::WalkState::Continue
        })
    });
    let mut findings = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

/// A file's bytes, unless it is binary (a NUL in its first 8 KiB), which is found before the
/// rest is read, as ripgrep does.
fn read_text(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).ok()?;
    let mut content = vec![0; 8192];
    let mut filled = 0;
    while filled < content.len() {
        match file.read(&mut content[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return None,
        }
    }
    content.truncate(filled);
    if content.contains(&0) {
        return None;
    }
    file.read_to_end(&mut content).ok()?;
    Some(content)
}

struct Local<'a> {
    findings: Vec<Finding>,
    shared: &'a Mutex<Vec<Finding>>,
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.append(&mut self.findings);
        }
    }
}

/// The findings of one file: each match located to line and column (in characters).
pub fn findings_in(
    path: &str,
    content: &[u8],
    scanner: &Scanner,
    patterns: &[Pattern],
) -> Vec<Finding> {
    let matches = scanner.scan(content);
    if matches.is_empty() {
        return Vec::new();
    }
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', content).map(|i| i + 1))
        .collect();
    matches
        .into_iter()
        .map(|m| {
            let line = line_starts.partition_point(|&s| s <= m.start);
            let column = String::from_utf8_lossy(&content[line_starts[line - 1]..m.start])
                .chars()
                .count()
                + 1;
            let evidence = String::from_utf8_lossy(&content[m.start..m.end]);
            let pattern = &patterns[m.pattern];
            Finding::new(
                pattern.rule,
                Factor::III,
                Severity::Error,
                path,
                line,
                column,
                pattern.message.to_owned(),
                &evidence,
                true,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::config::SECRETS;
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
            "DEBUG = True\nAWS_KEY = \"AKIAIOSFODNN7EXAMPLE\"\n",
        )
        .unwrap();
        fs::write(
            d.join(".github/deploy.yml"),
            "token: ghp_0123456789abcdefghijABCDEFGHIJ012345\n",
        )
        .unwrap();
        fs::write(
            d.join("node_modules/pkg/index.js"),
            "const k = 'AKIAIOSFODNN7EXAMPLE';\n",
        )
        .unwrap();
        fs::write(d.join("ignored.txt"), "AKIAIOSFODNN7EXAMPLE\n").unwrap();
        fs::write(d.join(".gitignore"), "ignored.txt\n").unwrap();
        fs::write(d.join("Cargo.lock"), "AKIAIOSFODNN7EXAMPLE\n").unwrap();
        fs::write(d.join("image.bin"), b"\0\0AKIAIOSFODNN7EXAMPLE").unwrap();
        let findings = scan_tree(d, &SECRETS, &Limits::default());
        let summary: Vec<(String, usize, usize, &str, String)> = findings
            .iter()
            .map(|f| (f.path.clone(), f.line, f.column, f.rule, f.evidence.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    ".github/deploy.yml".to_owned(),
                    1,
                    8,
                    "config/github-token",
                    "ghp_…(40)".to_owned()
                ),
                (
                    "src/settings.py".to_owned(),
                    2,
                    12,
                    "config/aws-access-key",
                    "AKIA…(20)".to_owned()
                ),
            ]
        );
    }
}
