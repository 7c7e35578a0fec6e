//! The store's locks (`locks/NAME`, held with `flock`) and its directories (mode 0700).

use std::os::unix::fs::DirBuilderExt as _;
use std::path::Path;

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
    open_lock(store, "store.lock")
}

/// `locks/NAME` of the store, created if missing, opened for `flock`.
pub fn open_lock(store: &Path, name: &str) -> std::io::Result<std::fs::File> {
    create_dir(&store.join("locks"))?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join("locks").join(name))
}

/// Creates a directory of the store (and its parents) with mode 0700.
pub fn create_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}
