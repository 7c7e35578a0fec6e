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
