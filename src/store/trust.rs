//! Whose the store is: dozen reads and writes only a store this account owns and nobody
//! else can write (docs/store.md, "Whose store"). Another user who made `.dozen/` first
//! (with open modes) could otherwise replace a release's config or an object the owner
//! runs; an account that wrote into someone else's store (a careless `sudo dozen release`)
//! leaves files the owner can no longer read. Both are refused up front, with the fix.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// Why this account may not use the store.
#[derive(Debug, thiserror::Error)]
pub enum Untrusted {
    /// The store (or something in it) belongs to another account.
    #[error(
        "{path} belongs to {owner}, not to {you}: {}",
        if *.top { "run dozen as the store's owner; dozen never writes into another account's store" }
        else { "another account wrote into this store; give it back with `chown -R` to its owner" }
    )]
    Owner {
        path: PathBuf,
        owner: String,
        you: String,
        /// Whether it is the store itself (else something in it).
        top: bool,
    },
    /// A directory of the store that every account can write to.
    #[error(
        "{path} can be written by other accounts (mode {mode:o}): anyone could change what dozen runs; `chmod o-w` it"
    )]
    Writable { path: PathBuf, mode: u32 },
}

/// Directories whose contents are not looked at one by one: trees of the app's own files
/// (their modes are the app's), content-addressed objects and blobs (checked by digest), and
/// caches.
const NOT_WALKED: &[&str] = &["trees", "objects", "cache", "images"];

/// Checks the store at `dir` and what is in it, two levels deep, but for [`NOT_WALKED`].
pub fn check(dir: &Path) -> Result<(), Untrusted> {
    let me = rustix::process::geteuid().as_raw();
    if !dir.exists() {
        return Ok(());
    }
    check_entry(dir, me, true)?;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        check_entry(&path, me, false)?;
        let name = entry.file_name();
        let walked = !NOT_WALKED.iter().any(|n| name == *n);
        if walked && entry.file_type().is_ok_and(|t| t.is_dir()) {
            for inner in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                check_entry(&inner.path(), me, false)?;
            }
        }
    }
    Ok(())
}

fn check_entry(path: &Path, me: u32, top: bool) -> Result<(), Untrusted> {
    // Gone since it was listed (a command's temporary file): nothing to trust.
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.uid() != me {
        return Err(Untrusted::Owner {
            path: path.to_owned(),
            owner: account_name(meta.uid()),
            you: account_name(me),
            top,
        });
    }
    // Group-writable is left alone: with a umask of 002 every directory is, for the user's
    // own group.
    if meta.is_dir() && meta.mode() & 0o002 != 0 {
        return Err(Untrusted::Writable {
            path: path.to_owned(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// `alice (uid 1000)`, or `uid 1000` when `/etc/passwd` does not name it.
pub(super) fn account_name(uid: u32) -> String {
    // The system's own file, but read as any other: bounded.
    let passwd =
        crate::fsutil::read_bounded(Path::new("/etc/passwd"), 16 << 20, None).unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| format!("{name} (uid {uid})"))
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_store_others_can_write_is_refused_and_a_private_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join(".dozen");
        std::fs::create_dir_all(store.join("releases")).unwrap();
        std::fs::create_dir_all(store.join("trees/b1/open")).unwrap();
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            store.join("releases"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::fs::set_permissions(store.join("trees"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        // The app's own modes inside a build tree are the app's.
        std::fs::set_permissions(
            store.join("trees/b1/open"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        check(&store).unwrap();
        std::fs::set_permissions(
            store.join("releases"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        assert_eq!(
            check(&store).unwrap_err().to_string(),
            format!(
                "{} can be written by other accounts (mode 777): anyone could change what dozen runs; `chmod o-w` it",
                store.join("releases").display()
            )
        );
    }

    #[test]
    fn accounts_are_named() {
        assert_eq!(account_name(0), "root (uid 0)");
        assert_eq!(account_name(4_000_000_000), "uid 4000000000");
    }
}
