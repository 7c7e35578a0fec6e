//! The few questions dozen asks git, through the git command (see README, "Choices").

use std::path::Path;
use std::process::{Command, Stdio};

/// The output of `git ARGS` run in `dir`; `None` when git fails, is missing, or `dir` is not
/// in a repository.
pub fn output(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

/// Whether git, in a repository holding `dir`, would track `path` (a path of `dir`): `None`
/// outside a repository (or when git cannot answer), else whether no ignore rule covers it.
pub fn would_track(dir: &Path, path: &str) -> Option<bool> {
    output(dir, &["rev-parse", "--is-inside-work-tree"])?;
    // `check-ignore` exits 0 when ignored, 1 when not, 128 on an error.
    let status = Command::new("git")
        .args(["check-ignore", "-q", "--no-index", "--", path])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// Why git will not answer in `dir` when it is in a repository it refuses to read (another
/// user's, "dubious ownership"): git's own first line. `None` when it answers, when `dir` is
/// simply not in a repository, or when git is missing.
pub fn refusal(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if output.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next()?.trim();
    let first = first.strip_prefix("fatal: ").unwrap_or(first);
    (!first.starts_with("not a git repository")).then(|| {
        // Bounded: another program's output.
        first.chars().take(200).collect()
    })
}

/// The repository's view of `dir`: the files it tracks below `dir` (relative to it) and
/// `dir`'s path within the repository (`""` at its root, else ending in `/`).
pub struct Tracked {
    pub files: std::collections::HashSet<String>,
    pub prefix: String,
}

pub fn tracked(dir: &Path) -> Option<Tracked> {
    let prefix = String::from_utf8(output(dir, &["rev-parse", "--show-prefix"])?).ok()?;
    let listed = output(dir, &["ls-files", "-z"])?;
    let files = listed
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    Some(Tracked {
        files,
        prefix: prefix.trim_end_matches('\n').to_owned(),
    })
}
