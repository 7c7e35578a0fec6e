//! The embedded store: `.dozen/` in the app (or `$DOZEN_HOME/<app>`), created on demand and
//! kept out of git. Issue 4 fills it with builds and releases; today it holds the run lock.

use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use crate::app::App;

pub mod history;
pub mod objects;
pub mod releases;
pub mod tree;

/// The store directory of an app, created (mode 0700) if missing.
pub fn open(app: &App) -> std::io::Result<PathBuf> {
    let dir = if let Some(home) = std::env::var_os("DOZEN_HOME").filter(|v| !v.is_empty()) {
        PathBuf::from(home).join(&app.name)
    } else {
        exclude_from_git(&app.dir.join("."));
        app.dir.join(".dozen")
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    Ok(dir)
}

/// A held `flock` on `locks/store.lock`; released when dropped (or when the process dies).
pub struct StoreLock {
    _file: std::fs::File,
}

/// Shared by commands that add to the store (build, release, rollback); exclusive for `gc`,
/// which removes from it.
pub fn lock(store: &Path, exclusive: bool) -> std::io::Result<StoreLock> {
    create_dir(&store.join("locks"))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join("locks").join("store.lock"))?;
    let operation = if exclusive {
        rustix::fs::FlockOperation::LockExclusive
    } else {
        rustix::fs::FlockOperation::LockShared
    };
    rustix::fs::flock(&file, operation)?;
    Ok(StoreLock { _file: file })
}

/// Creates a directory of the store (and its parents) with mode 0700.
pub fn create_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Adds `/.dozen/` to the repository's `.git/info/exclude` when the app is a git work tree's
/// root and it is not there yet. Best effort: a read-only `.git` only costs the exclusion.
fn exclude_from_git(app_dir: &Path) {
    let info = app_dir.join(".git").join("info");
    if !app_dir.join(".git").is_dir() {
        return;
    }
    let exclude = info.join("exclude");
    let current = std::fs::read_to_string(&exclude).unwrap_or_default();
    if current
        .lines()
        .any(|line| matches!(line.trim(), ".dozen" | ".dozen/" | "/.dozen" | "/.dozen/"))
    {
        return;
    }
    let _ = std::fs::create_dir_all(&info);
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&exclude)
    {
        let separator = if current.is_empty() || current.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let _ = write!(
            file,
            "{separator}# dozen's store (builds, releases, run state)\n/.dozen/\n"
        );
    }
}
