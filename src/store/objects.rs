//! Content-addressed file storage: each distinct (content, executable bit) is stored once,
//! read-only, under `objects/ab/cdef…`; builds' trees hold copies of it, checked against its
//! digest as they are made (docs/store.md).

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// An object's name: the BLAKE3 hash of its content, `x`-suffixed when executable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(String);

impl ObjectId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks the shape of an id read back from a store file.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_suffix('x').unwrap_or(text);
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self(text.to_owned()))
    }

    pub fn executable(&self) -> bool {
        self.0.ends_with('x')
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct Objects {
    dir: PathBuf,
    tmp: PathBuf,
}

/// An object that cannot be copied out as its id says.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// Its content is not the content its name is the digest of: changed or damaged after it
    /// was stored. It is removed, so the next build of that content stores it again.
    #[error(
        "{} does not match its digest (changed or damaged in the store, so removed from it)",
        path.display()
    )]
    Damaged { path: PathBuf },
    #[error("{} is missing from the store", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ObjectError {
    /// Whether the object is lost for good (damaged or gone), not merely unreadable now.
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Damaged { .. } | Self::Missing { .. })
    }
}

/// The mode an object is stored, and copied out, with: read-only, executable as its id says.
fn mode_of(id: &ObjectId) -> u32 {
    if id.executable() { 0o555 } else { 0o444 }
}

/// Copies the object at `path` to `dest`, returning the BLAKE3 hash of what it copied; an
/// error names the file it concerns.
fn copy_hashing(
    (from, path): (&mut File, &Path),
    (to, dest): (&mut File, &Path),
) -> Result<blake3::Hash, ObjectError> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ObjectError::Io { path, source }
    };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = from.read(&mut buf).map_err(at(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n]).map_err(at(dest))?;
    }
    Ok(hasher.finalize())
}

/// Hashes a file's content with BLAKE3, streaming.
pub fn hash_file(path: &Path) -> std::io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize())
}

fn id_for(hash: &blake3::Hash, executable: bool) -> ObjectId {
    let mut id = hash.to_hex().to_string();
    if executable {
        id.push('x');
    }
    ObjectId(id)
}

/// The id a file would be stored under: its content and its executable bit.
pub fn id_of(file: &Path) -> std::io::Result<ObjectId> {
    let executable = fs::symlink_metadata(file)?.permissions().mode() & 0o111 != 0;
    Ok(id_for(&hash_file(file)?, executable))
}

impl Objects {
    /// The object store under `store/objects`, staging under `store/tmp`.
    pub fn open(store: &Path) -> std::io::Result<Self> {
        let objects = Self {
            dir: store.join("objects"),
            tmp: store.join("tmp"),
        };
        super::locks::create_dir(&objects.dir)?;
        super::locks::create_dir(&objects.tmp)?;
        Ok(objects)
    }

    pub fn path(&self, id: &ObjectId) -> PathBuf {
        self.dir.join(&id.0[..2]).join(&id.0[2..])
    }

    pub fn contains(&self, id: &ObjectId) -> bool {
        self.path(id).is_file()
    }

    /// Stores a copy of a file when its content is new, returning its id. The file itself is
    /// left where it is: objects never share an inode with a build's tree, so nothing done to
    /// a tree can change a stored object.
    pub fn ingest(&self, file: &Path) -> std::io::Result<ObjectId> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = id_of(file)?;
        let target = self.path(&id);
        if target.is_file() {
            return Ok(id);
        }
        super::locks::create_dir(target.parent().expect("objects have a parent directory"))?;
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let staged = self.tmp.join(format!("object-{n}-{}", std::process::id()));
        let result = (|| {
            fs::copy(file, &staged)?;
            fs::set_permissions(&staged, fs::Permissions::from_mode(mode_of(&id)))?;
            File::open(&staged)?.sync_all()?;
            // rename is atomic: the object is whole or absent, and a concurrent ingest of the
            // same content replaces it with identical bytes.
            fs::rename(&staged, &target)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&staged);
        }
        result.map(|()| id)
    }

    /// Copies an object to `dest` (which must not exist), with the mode its id says, hashing
    /// what it copies: an object whose content does not match its id is never installed —
    /// `dest` is removed — and is removed from the store (nothing can use it: the next build
    /// of the content it should have stores that again).
    pub fn copy_out(&self, id: &ObjectId, dest: &Path) -> Result<(), ObjectError> {
        let path = self.path(id);
        let mut from = File::open(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ObjectError::Missing { path: path.clone() }
            } else {
                ObjectError::Io {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let at_dest = |source| ObjectError::Io {
            path: dest.to_path_buf(),
            source,
        };
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
            .map_err(at_dest)?;
        let error = match copy_hashing((&mut from, &path), (&mut to, dest)) {
            Ok(hash) if id_for(&hash, id.executable()) == *id => {
                return fs::set_permissions(dest, fs::Permissions::from_mode(mode_of(id)))
                    .map_err(at_dest);
            }
            Ok(_) => {
                let _ = fs::remove_file(&path);
                ObjectError::Damaged { path }
            }
            Err(error) => error,
        };
        drop(to);
        let _ = fs::remove_file(dest);
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores bytes through a staged file, as a build's ingest does.
    fn ingest_bytes(
        objects: &Objects,
        bytes: &[u8],
        executable: bool,
    ) -> std::io::Result<ObjectId> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let staged = objects
            .tmp
            .join(format!("input-{n}-{}", std::process::id()));
        fs::write(&staged, bytes)?;
        if executable {
            fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))?;
        }
        let id = objects.ingest(&staged)?;
        fs::remove_file(&staged)?;
        Ok(id)
    }

    #[test]
    fn identical_content_is_stored_once_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let a = ingest_bytes(&objects, b"same", false).unwrap();
        let b = ingest_bytes(&objects, b"same", false).unwrap();
        let x = ingest_bytes(&objects, b"same", true).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, x);
        assert!(x.executable() && !a.executable());
        assert_eq!(fs::read(objects.path(&a)).unwrap(), b"same");
        let mode = fs::metadata(objects.path(&a)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444);
        assert_eq!(
            fs::metadata(objects.path(&x)).unwrap().permissions().mode() & 0o777,
            0o555
        );
        let stored: usize = fs::read_dir(dir.path().join("objects"))
            .unwrap()
            .map(|d| fs::read_dir(d.unwrap().path()).unwrap().count())
            .sum();
        assert_eq!(stored, 2);
        assert_eq!(
            fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0,
            "nothing left in staging"
        );
    }

    #[test]
    fn ids_round_trip_and_damage_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let id = ingest_bytes(&objects, b"content", false).unwrap();
        assert_eq!(ObjectId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(ObjectId::parse("not-an-id"), None);
        assert_eq!(id_of(&objects.path(&id)).unwrap(), id);
        let path = objects.path(&id);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&path, b"tampered").unwrap();
        assert_ne!(id_of(&objects.path(&id)).unwrap(), id);
    }

    #[test]
    fn only_what_matches_its_digest_is_copied_out() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let script = b"#!/bin/sh\necho good\n";
        let id = ingest_bytes(&objects, script, true).unwrap();
        let good = dir.path().join("good");
        objects.copy_out(&id, &good).unwrap();
        assert_eq!(fs::read(&good).unwrap(), script);
        assert_eq!(mode(&good), 0o555);
        // The mode is the id's, whatever was done to the stored file's.
        let plain = ingest_bytes(&objects, b"text", false).unwrap();
        fs::set_permissions(objects.path(&plain), fs::Permissions::from_mode(0o755)).unwrap();
        objects.copy_out(&plain, &dir.path().join("plain")).unwrap();
        assert_eq!(mode(&dir.path().join("plain")), 0o444);

        let path = objects.path(&id);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&path, b"#!/bin/sh\necho evil\n").unwrap();
        let dest = dir.path().join("dest");
        let error = objects.copy_out(&id, &dest).unwrap_err();
        assert!(matches!(error, ObjectError::Damaged { .. }), "{error}");
        assert!(error.is_lost());
        assert!(
            error
                .to_string()
                .starts_with(&format!("{} does not match its digest", path.display())),
            "{error}"
        );
        assert!(!dest.exists(), "never installed");
        assert!(!path.exists(), "removed from the store");
        let error = objects.copy_out(&id, &dest).unwrap_err();
        assert!(matches!(error, ObjectError::Missing { .. }), "{error}");
        assert!(!dest.exists());
        // A file already at `dest` is neither replaced nor removed.
        let error = objects.copy_out(&plain, &good).unwrap_err();
        assert!(!error.is_lost(), "{error}");
        assert_eq!(fs::read(&good).unwrap(), script);
    }
}
