//! The embedded store: `.dozen/` in the app (or `$DOZEN_HOME/<app>`), created on demand and
//! kept out of git. Issue 4 fills it with builds and releases; today it holds the run lock.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::app::App;

pub mod alive;
pub mod builds;
pub mod deploys;
pub mod drains;
mod error;
pub mod formation;
pub mod history;
pub mod kept;
pub mod locks;
pub mod objects;
pub mod releases;
pub mod seal;
pub mod tree;
pub mod trust;

pub use error::{FormationDamage, StoreError};
pub use locks::{StoreLock, create_dir, lock_shared, open_lock, try_lock_exclusive};

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
    let shared_home = std::env::var_os("DOZEN_HOME").is_some_and(|v| !v.is_empty());
    // Before anything is written: never into another account's store.
    trust::check(&dir).map_err(std::io::Error::other)?;
    if !shared_home {
        exclude_from_git(&app.dir.join("."));
    }
    let named = |error: std::io::Error| {
        std::io::Error::new(error.kind(), format!("{}: {error}", dir.display()))
    };
    create_dir(&dir).map_err(named)?;
    check_format(&dir)?;
    check_owner(&dir, &app.dir.working_dir(), shared_home)?;
    clear_debris(&dir);
    Ok(dir)
}

/// Records which app directory the store belongs to, and refuses a store of another directory
/// under `DOZEN_HOME`, where two apps of the same name would otherwise share one store (and
/// run each other's releases). An in-app `.dozen/` moves with its app: its record is updated.
fn check_owner(dir: &Path, app_dir: &Path, shared_home: bool) -> std::io::Result<()> {
    let path = dir.join("APP");
    let this = std::fs::canonicalize(app_dir)?;
    let this_text = this.to_string_lossy();
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim_end_matches('\n') == this_text => Ok(()),
        Ok(text) if shared_home => Err(std::io::Error::other(format!(
            "the store {} belongs to the app in {}, not to the app in {this_text}: both are named `{}`; give one of them another name with `[app] name` in its dozen.toml",
            dir.display(),
            text.trim_end_matches('\n'),
            dir.file_name().unwrap_or_default().to_string_lossy()
        ))),
        Ok(_) => crate::fsutil::write_atomic(&path, format!("{this_text}\n").as_bytes(), 0o600),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            crate::fsutil::write_atomic(&path, format!("{this_text}\n").as_bytes(), 0o600)
        }
        Err(error) => Err(error),
    }
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

/// What killed commands left (docs/store.md, "Debris"): `tmp/` entries and temporary files of
/// atomic writes whose pid is gone, and trees and tree files of builds that have no record
/// and no live builder.
pub fn clear_debris(dir: &Path) {
    let pid_is_gone = |name: &str, from_end: bool| {
        let mut parts = name.split(['-', '.']);
        let pid = if from_end {
            parts.rev().find_map(|part| part.parse::<u32>().ok())
        } else {
            parts.find_map(|part| part.parse::<u32>().ok())
        };
        !pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    };
    if let Ok(entries) = std::fs::read_dir(dir.join("tmp")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if pid_is_gone(&name, true) {
                let _ = tree::remove_materialized(&entry.path());
            }
        }
    }
    // `.NAME.dozen-PID.tmp`, from `fsutil::write_atomic`.
    for sub in ["", "releases", "builds"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(rest) = name
                .strip_suffix(".tmp")
                .and_then(|n| n.rsplit_once(".dozen-"))
                && name.starts_with('.')
                && pid_is_gone(rest.1, false)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    // Builds without a record: a tree or tree file whose builder is gone.
    let mut partial: std::collections::BTreeSet<String> = std::fs::read_dir(dir.join("trees"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    partial.extend(
        std::fs::read_dir(dir.join("builds"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|name| {
                let (id, extension) = name.rsplit_once('.')?;
                matches!(extension, "tree" | "seal" | "clean" | "log").then(|| id.to_owned())
            }),
    );
    for id in partial {
        if builds::record_path(dir, &id).exists() || !is_build_id(&id) {
            continue;
        }
        let Ok(Some(_lock)) = builds::try_lock(dir, &id) else {
            continue;
        };
        if builds::record_path(dir, &id).exists() {
            continue;
        }
        let root = builds::tree_dir(dir, &id);
        if std::fs::symlink_metadata(&root).is_ok() {
            let _ = tree::remove_materialized(&root);
        }
        for extension in ["tree", "seal", "clean", "log"] {
            let _ = std::fs::remove_file(dir.join("builds").join(format!("{id}.{extension}")));
        }
        // The lock file stays: removing it while others may open it would let two builders
        // lock two different files. `gc`, which excludes every builder, removes it.
    }
}

/// A build id as dozen makes them: 32 lower-case hex digits.
fn is_build_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
