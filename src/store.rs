//! The embedded store: `.dozen/` in the app (or `$DOZEN_HOME/<app>`), created on demand and
//! kept out of git. Issue 4 fills it with builds and releases; today it holds the run lock.

use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use crate::app::App;

pub mod formation;
pub mod history;
pub mod objects;
pub mod releases;
pub mod tree;

/// Where the store of an app is (`.dozen/`, or `$DOZEN_HOME/<app>`), whether it exists or not.
pub fn path_of(app: &App) -> PathBuf {
    match std::env::var_os("DOZEN_HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(&app.name),
        None => app.dir.join(".dozen"),
    }
}

/// The store directory of an app, created (mode 0700) if missing.
pub fn open(app: &App) -> std::io::Result<PathBuf> {
    let dir = path_of(app);
    if std::env::var_os("DOZEN_HOME").is_none_or(|v| v.is_empty()) {
        exclude_from_git(&app.dir.join("."));
    }
    create_dir(&dir)?;
    check_format(&dir)?;
    clear_debris(&dir);
    Ok(dir)
}

/// What `FORMAT` says in a store this dozen can use.
pub const FORMAT: &str = "dozen-store 1";

/// Writes `FORMAT` in a new store; refuses a store written in another format.
fn check_format(dir: &Path) -> std::io::Result<()> {
    let path = dir.join("FORMAT");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim() == FORMAT => Ok(()),
        Ok(text) => Err(std::io::Error::other(format!(
            "{} says `{}`; this dozen reads `{FORMAT}` stores only",
            path.display(),
            text.trim()
        ))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            crate::fsutil::write_atomic(&path, format!("{FORMAT}\n").as_bytes(), 0o600)
        }
        Err(error) => Err(error),
    }
}

/// What a killed command left in `tmp/`: staging directories of builds whose process is
/// gone. (Names end in the pid of the process that made them.)
fn clear_debris(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("tmp")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .rsplit(['-', '.'])
            .find_map(|part| part.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let path = entry.path();
            if path.is_dir() {
                let _ = tree::remove_materialized(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// A held `flock` on `locks/store.lock`; released when dropped (or when the process dies).
pub struct StoreLock {
    _file: std::fs::File,
}

/// Shared by commands that add to the store or run from it (build, release, rollback, and
/// run or exec of a release, for as long as they run).
pub fn lock_shared(store: &Path) -> std::io::Result<StoreLock> {
    let file = lock_file(store)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)?;
    Ok(StoreLock { _file: file })
}

/// Exclusive, for `gc`, which removes from the store; `None` while another command holds it
/// (waiting could mean waiting for a formation to stop).
pub fn try_lock_exclusive(store: &Path) -> std::io::Result<Option<StoreLock>> {
    let file = lock_file(store)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(StoreLock { _file: file })),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn lock_file(store: &Path) -> std::io::Result<std::fs::File> {
    create_dir(&store.join("locks"))?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join("locks").join("store.lock"))
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
