//! Stored builds on disk: where their files are, the per-build lock, and keeping a build's tree
//! as it was made — checked against its seal before anything runs from it, and put back from
//! the objects (each checked against its digest) when a process changed it or it was removed
//! (docs/store.md, "Immutable in fact").

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::objects::Objects;
use super::seal::Seal;
use super::tree::{self, Kind, Tree, TreeError};

pub fn record_path(store: &Path, id: &str) -> PathBuf {
    store.join("builds").join(format!("{id}.json"))
}

pub fn tree_file(store: &Path, id: &str) -> PathBuf {
    store.join("builds").join(format!("{id}.tree"))
}

pub fn seal_file(store: &Path, id: &str) -> PathBuf {
    store.join("builds").join(format!("{id}.seal"))
}

/// Present while the tree is known to be as sealed: checked since the last process that ran
/// from it ended, and nothing has run from it since.
fn clean_file(store: &Path, id: &str) -> PathBuf {
    store.join("builds").join(format!("{id}.clean"))
}

/// Takes the clean mark (one `unlink`): whether there was one.
fn take_clean_mark(store: &Path, id: &str) -> bool {
    fs::remove_file(clean_file(store, id)).is_ok()
}

/// Whether the tree a clean mark vouches for is still there: the mark is a file beside the
/// tree, so a tree removed since (by hand, by a disk clean-up) or replaced by another
/// directory leaves it behind; such a tree is checked, and remade, like an unmarked one.
fn mark_holds(store: &Path, id: &str) -> bool {
    Seal::root_holds(&seal_file(store, id), &tree_dir(store, id))
}

fn use_lock_file(store: &Path, id: &str) -> std::io::Result<fs::File> {
    super::locks::open_lock(store, &format!("build-{id}.use"))
}

fn locked(store: &Path) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io {
        path: store.join("locks").display().to_string(),
        source,
    }
}

/// Processes running from a build's tree: a shared `flock` on `locks/build-<id>.use`, held
/// while they run. When the last one ends, the tree is checked (and put back) then, and
/// marked clean, so the next start costs no check at all (docs/store.md).
pub struct Use {
    file: fs::File,
    store: PathBuf,
    id: String,
    /// Told what the last user out had to put back (the command whose processes changed it).
    report: fn(String),
}

/// Starts using build `id`'s tree: if it is marked clean, the mark is taken (one `unlink`) and
/// trusted while the tree's root is the directory sealed (one `lstat`); otherwise, when no other command uses it (the last user died without checking it), it is
/// checked against its seal now. While another command's processes run from the tree it is
/// left as it is — whatever they made there is theirs until the last user out checks it —
/// so an `exec`, an `export` or a second `run` never changes a running formation's files.
pub fn begin_use(store: &Path, id: &str, report: fn(String)) -> Result<(Use, Repair), TreeError> {
    let file = use_lock_file(store, id).map_err(locked(store))?;
    // Waits while a last user checks the tree as it ends.
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)
        .map_err(|e| locked(store)(e.into()))?;
    // Alone when the shared lock converts to an exclusive one (a failed conversion drops the
    // lock: it is taken again, shared, below).
    let alone =
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok();
    let repair = if !alone || (take_clean_mark(store, id) && mark_holds(store, id)) {
        Repair::default()
    } else {
        ensure_intact(store, id)?
    };
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)
        .map_err(|e| locked(store)(e.into()))?;
    Ok((
        Use {
            file,
            store: store.to_path_buf(),
            id: id.to_owned(),
            report,
        },
        repair,
    ))
}

impl Drop for Use {
    fn drop(&mut self) {
        // The last user out checks the tree and marks it clean; any other leaves that to the
        // last one. A user killed before this point leaves no mark: the next start checks.
        if rustix::fs::flock(
            &self.file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .is_err()
        {
            return;
        }
        match ensure_intact(&self.store, &self.id) {
            Ok(repair) => {
                if !repair.is_empty() {
                    (self.report)(repair.describe(&self.id));
                }
                let _ = fs::write(clean_file(&self.store, &self.id), b"");
            }
            // What it ran changed a file whose stored object is damaged: said now, not only
            // by the next start, which finds the build no longer stored.
            Err(lost @ TreeError::Lost { .. }) => (self.report)(lost.to_string()),
            Err(_) => {}
        }
    }
}

/// Build `id`'s tree as sealed, checked unless it is marked clean, for a command that runs
/// nothing from it (a no-op build, choosing a build for a release): when no process runs from
/// it, checked (and put back) and marked clean; while processes run from it, left as it is.
pub fn verified(store: &Path, id: &str) -> Result<Repair, TreeError> {
    if clean_file(store, id).is_file() && mark_holds(store, id) {
        return Ok(Repair::default());
    }
    let file = use_lock_file(store, id).map_err(locked(store))?;
    let alone =
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok();
    // Processes run from it: their files are theirs until the last user out checks it.
    if !alone {
        return Ok(Repair::default());
    }
    let repair = ensure_intact(store, id)?;
    fs::write(clean_file(store, id), b"").map_err(|source| TreeError::Io {
        path: clean_file(store, id).display().to_string(),
        source,
    })?;
    Ok(repair)
}

/// The build's own directory: where its steps ran, and what releases of it run from.
pub fn tree_dir(store: &Path, id: &str) -> PathBuf {
    store.join("trees").join(id)
}

/// Whether build `id` is stored whole: its record (written last) and its tree.
pub fn exists(store: &Path, id: &str) -> bool {
    record_path(store, id).is_file() && tree_file(store, id).is_file()
}

/// `locks/build-<id>.lock`, held exclusively while the build is made or repaired.
pub struct BuildLock {
    _file: fs::File,
}

fn lock_file(store: &Path, id: &str) -> std::io::Result<fs::File> {
    super::locks::open_lock(store, &format!("build-{id}.lock"))
}

/// Waits for the build's lock.
pub fn lock(store: &Path, id: &str) -> std::io::Result<BuildLock> {
    let file = lock_file(store, id)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(BuildLock { _file: file })
}

/// The build's lock if no one holds it (debris clean-up: a held lock is a live build).
pub fn try_lock(store: &Path, id: &str) -> std::io::Result<Option<BuildLock>> {
    let file = lock_file(store, id)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(BuildLock { _file: file })),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Seals a finished build's tree (read-only) and records the seal. The tree is then clean.
pub fn seal(store: &Path, id: &str, tree: &Tree) -> Result<(), TreeError> {
    let root = tree_dir(store, id);
    tree::seal(&root).map_err(|source| TreeError::Io {
        path: root.display().to_string(),
        source,
    })?;
    Seal::take(&root, tree)?.write(&seal_file(store, id))
}

/// Marks a just-made build clean (nothing has run from it).
pub fn mark_clean(store: &Path, id: &str) -> std::io::Result<()> {
    fs::write(clean_file(store, id), b"")
}

/// What [`ensure_intact`] had to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repair {
    /// Paths of the build changed since it was sealed, put back.
    pub paths: Vec<String>,
    /// Files a process created beside the build's own, removed (the tree is ephemeral, as a
    /// Heroku dyno's filesystem is: only what the build made survives a start).
    pub extra: Vec<String>,
    /// The tree was missing, unsealed (made by an older dozen, as hard links into the
    /// objects), or beyond a path-by-path repair: it was made again from the objects.
    pub remade: bool,
}

/// Whether an app-relative path is in (or is) a Python bytecode cache: the interpreter
/// writes one beside the code it imports; it is neither the app's state nor its build.
pub fn is_python_cache(path: &str) -> bool {
    path.split('/').any(|component| component == "__pycache__")
}

impl Repair {
    /// Whether there is anything to tell the user: the build's own files had changed, or a
    /// process had left files beside them (state that belongs in a backing service: a
    /// `db.sqlite3` is worth a warning). Python's `__pycache__` directories are routine.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.remade && self.noted_extra().next().is_none()
    }

    fn noted_extra(&self) -> impl Iterator<Item = &str> {
        self.extra
            .iter()
            .map(String::as_str)
            .filter(|p| !is_python_cache(p))
    }

    /// One line for the user, naming at most a few paths.
    pub fn describe(&self, id: &str) -> String {
        let short = &id[..id.len().min(12)];
        if self.remade {
            return format!("build {short} was remade from the store");
        }
        let list = |paths: Vec<&str>| {
            let more = paths.len().saturating_sub(5);
            let text = paths.into_iter().take(5).collect::<Vec<_>>().join(", ");
            if more > 0 {
                format!("{text} and {more} more")
            } else {
                text
            }
        };
        let mut parts = Vec::new();
        if !self.paths.is_empty() {
            parts.push(format!(
                "build {short} had been changed since it was made (a process writing into its own code?); put back: {}",
                list(self.paths.iter().map(String::as_str).collect())
            ));
        }
        let extra: Vec<&str> = self.noted_extra().collect();
        if !extra.is_empty() {
            parts.push(format!(
                "removed what a process had created in build {short}'s directory, which starts afresh like a Heroku dyno's (keep state in a backing service): {}",
                list(extra)
            ));
        }
        parts.join("; ")
    }
}

/// Makes sure build `id`'s tree is exactly the build: one `lstat` per entry against its seal
/// and, when anything differs, a repair from the objects under the build's lock, each object
/// checked against its digest. One damaged or gone makes the build lost
/// ([`TreeError::Lost`]): nothing of it is installed, and it is no longer stored.
pub fn ensure_intact(store: &Path, id: &str) -> Result<Repair, TreeError> {
    let tree = Tree::read(&tree_file(store, id))?;
    let root = tree_dir(store, id);
    if changed(store, id, &root, &tree)?.is_empty() {
        return Ok(Repair::default());
    }
    let _lock = lock(store, id).map_err(|source| TreeError::Io {
        path: store.join("locks").display().to_string(),
        source,
    })?;
    // Another command may have repaired it while this one waited.
    let changed = changed(store, id, &root, &tree)?;
    if changed.is_empty() {
        return Ok(Repair::default());
    }
    let objects = Objects::open(store).map_err(|source| TreeError::Io {
        path: store.display().to_string(),
        source,
    })?;
    let sealed = seal_file(store, id).is_file() && root.is_dir();
    let made = if sealed {
        put_back(store, id, &tree, &objects, changed)
    } else {
        remake(store, id, &tree, &objects).map(|()| Repair {
            remade: true,
            ..Repair::default()
        })
    };
    made.map_err(|error| lose(store, id, error))
}

/// Puts back, from the objects, the entries of a sealed tree that differ from its seal.
fn put_back(
    store: &Path,
    id: &str,
    tree: &Tree,
    objects: &Objects,
    changed: Vec<String>,
) -> Result<Repair, TreeError> {
    let suspect: HashSet<String> = changed
        .into_iter()
        .filter(|path| {
            tree.entries
                .iter()
                .any(|e| e.path == *path && matches!(e.kind, Kind::File { .. }))
        })
        .collect();
    let (paths, extra) = tree.repair(objects, &tree_dir(store, id), &suspect)?;
    seal(store, id, tree)?;
    Ok(Repair {
        paths,
        extra,
        remade: false,
    })
}

/// A tree that could not be made because a stored file it lists is damaged or gone: the build
/// is lost, and is no longer stored — its record first (so no command trusts or runs it, and
/// `dozen build` makes it again from the source), then its tree, changed or half put back,
/// and its files. Any other error is returned as it is. The caller holds the build's lock.
fn lose(store: &Path, id: &str, error: TreeError) -> TreeError {
    match error {
        TreeError::Object { path, source } if source.is_lost() => {
            let _ = fs::remove_file(record_path(store, id));
            let root = tree_dir(store, id);
            if fs::symlink_metadata(&root).is_ok() {
                let _ = tree::remove_materialized(&root);
            }
            for extension in ["tree", "seal", "clean", "log"] {
                let _ = fs::remove_file(store.join("builds").join(format!("{id}.{extension}")));
            }
            TreeError::Lost {
                build: id[..id.len().min(12)].to_owned(),
                path,
                source,
            }
        }
        other => other,
    }
}

/// The entries that differ from the seal (`[""]` when there is no seal or no tree).
fn changed(store: &Path, id: &str, root: &Path, tree: &Tree) -> Result<Vec<String>, TreeError> {
    if !root.is_dir() {
        return Ok(vec![String::new()]);
    }
    match Seal::read(&seal_file(store, id)) {
        Ok(seal) => Ok(seal.changed(root, tree)),
        Err(TreeError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(vec![String::new()])
        }
        Err(error) => Err(error),
    }
}

/// Makes the tree again from the objects, beside the old one, then swaps it in.
fn remake(store: &Path, id: &str, tree: &Tree, objects: &Objects) -> Result<(), TreeError> {
    let root = tree_dir(store, id);
    let fresh = store
        .join("tmp")
        .join(format!("tree-{id}-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TreeError::Io { path, source }
    };
    if fresh.exists() {
        tree::remove_materialized(&fresh).map_err(io(&fresh))?;
    }
    // Nothing half-made is left behind (nor anything made from a damaged object).
    if let Err(error) = tree.materialize(objects, &fresh) {
        let _ = tree::remove_materialized(&fresh);
        return Err(error);
    }
    if fs::symlink_metadata(&root).is_ok() {
        tree::remove_materialized(&root).map_err(io(&root))?;
    }
    super::locks::create_dir(&store.join("trees")).map_err(io(&root))?;
    fs::rename(&fresh, &root).map_err(io(&root))?;
    seal(store, id, tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    /// A store holding build [`ID`] of `files`, sealed and marked clean as a build leaves it.
    fn stored_build(files: &[(&str, &str)]) -> tempfile::TempDir {
        let store = tempfile::tempdir().unwrap();
        let root = tree_dir(store.path(), ID);
        for (path, text) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let objects = Objects::open(store.path()).unwrap();
        let tree = Tree::ingest(&root, &objects).unwrap();
        fs::create_dir_all(store.path().join("builds")).unwrap();
        tree.write(&tree_file(store.path(), ID)).unwrap();
        seal(store.path(), ID, &tree).unwrap();
        mark_clean(store.path(), ID).unwrap();
        fs::write(record_path(store.path(), ID), b"{}").unwrap();
        store
    }

    #[test]
    fn a_tree_removed_after_its_clean_mark_is_remade_for_the_command_that_uses_it() {
        let store = stored_build(&[("Procfile", "web: true\n"), ("lib/a.sh", "echo a\n")]);
        let root = tree_dir(store.path(), ID);
        tree::remove_materialized(&root).unwrap();
        let (in_use, repair) = begin_use(store.path(), ID, |_| {}).unwrap();
        assert!(repair.remade, "{repair:?}");
        assert_eq!(fs::read(root.join("Procfile")).unwrap(), b"web: true\n");
        assert_eq!(fs::read(root.join("lib/a.sh")).unwrap(), b"echo a\n");
        drop(in_use);
        // A command that runs nothing from it does not trust the mark either.
        tree::remove_materialized(&root).unwrap();
        assert!(clean_file(store.path(), ID).is_file());
        assert!(verified(store.path(), ID).unwrap().remade);
        assert!(root.join("Procfile").is_file());
        // A mark of the tree that is there is trusted: nothing is checked.
        let (_in_use, repair) = begin_use(store.path(), ID, |_| {}).unwrap();
        assert_eq!(repair, Repair::default());
    }

    /// Changes an object's content in place, as damage or another hand would.
    fn damage(store: &Path, file: &str) -> PathBuf {
        let tree = Tree::read(&tree_file(store, ID)).unwrap();
        let Some(Kind::File { object, .. }) = tree
            .entries
            .iter()
            .find(|e| e.path == file)
            .map(|e| e.kind.clone())
        else {
            panic!("{file} is not a file of the build");
        };
        let path = Objects::open(store)
            .unwrap()
            .path(&super::super::objects::ObjectId::parse(&object).unwrap());
        let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
        fs::set_permissions(&path, mode(0o644)).unwrap();
        fs::write(&path, b"echo damaged\n").unwrap();
        fs::set_permissions(&path, mode(0o444)).unwrap();
        path
    }

    #[test]
    fn a_damaged_object_is_never_installed_and_loses_its_build_whole() {
        let store = stored_build(&[("Procfile", "web: true\n"), ("lib/a.sh", "echo a\n")]);
        let object = damage(store.path(), "lib/a.sh");
        let root = tree_dir(store.path(), ID);
        tree::remove_materialized(&root).unwrap();
        let error = ensure_intact(store.path(), ID).unwrap_err();
        assert!(matches!(error, TreeError::Lost { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "build 0123456789ab cannot be made from the store: its file `lib/a.sh`: {} does not match its digest (changed or damaged in the store, so removed from it); nothing of the build was installed or run, and it is no longer stored",
                object.display()
            )
        );
        assert!(!object.exists());
        assert!(!root.exists(), "nothing half-made");
        assert_eq!(fs::read_dir(store.path().join("tmp")).unwrap().count(), 0);
        assert!(!exists(store.path(), ID), "no longer stored");
        assert!(!record_path(store.path(), ID).exists());
        assert!(!seal_file(store.path(), ID).exists());
    }

    #[test]
    fn a_damaged_object_is_never_put_back_into_a_changed_tree() {
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let store = stored_build(&[("Procfile", "web: true\n"), ("lib/a.sh", "echo a\n")]);
        damage(store.path(), "lib/a.sh");
        let (in_use, _) =
            begin_use(store.path(), ID, |text| SAID.lock().unwrap().push(text)).unwrap();
        // A process of this command changes its file.
        let changed = tree_dir(store.path(), ID).join("lib/a.sh");
        let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
        fs::set_permissions(&changed, mode(0o644)).unwrap();
        fs::write(&changed, b"echo changed\n").unwrap();
        // The last user out finds the change, and cannot put it back.
        drop(in_use);
        let said = SAID.lock().unwrap().join("\n");
        assert!(
            said.contains("build 0123456789ab cannot be made from the store: its file `lib/a.sh`"),
            "{said}"
        );
        assert!(!tree_dir(store.path(), ID).exists());
        assert!(!exists(store.path(), ID));
    }

    #[test]
    fn what_is_said_after_a_repair() {
        let id = "0123456789abcdef0123456789abcdef";
        let pycache = Repair {
            extra: vec!["app/__pycache__".into()],
            ..Repair::default()
        };
        assert!(pycache.is_empty(), "a Python cache is routine");
        let state = Repair {
            paths: vec!["lib.sh".into()],
            extra: vec!["app/__pycache__".into(), "db.sqlite3".into()],
            remade: false,
        };
        assert!(!state.is_empty());
        let said = state.describe(id);
        assert!(
            said.contains("build 0123456789ab had been changed"),
            "{said}"
        );
        assert!(said.contains("put back: lib.sh"), "{said}");
        assert!(said.contains("backing service): db.sqlite3"), "{said}");
        assert!(!said.contains("__pycache__"), "{said}");
    }
}
