//! Content-addressed file storage: each distinct (content, executable bit) is stored once,
//! read-only, under `objects/ab/cdef…`, and builds are hard links to it (docs/store.md).

use std::fs::{self, File};
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
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
            fs::set_permissions(
                &staged,
                fs::Permissions::from_mode(if id.executable() { 0o555 } else { 0o444 }),
            )?;
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

    /// Copies an object to `dest` (which must not exist), with the object's mode.
    pub fn copy_out(&self, id: &ObjectId, dest: &Path) -> std::io::Result<()> {
        fs::copy(self.path(id), dest).map(drop)
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
}
