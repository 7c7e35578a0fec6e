//! The stat cache: each source file's content hash under its `(size, mtime, ctime, inode)`,
//! as git's index keeps it, so a build of unchanged sources reads no file content.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::source::{SourceFile, SourceKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
    hash: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Index {
    /// When the index was saved: files modified in the same instant may have changed after
    /// they were hashed ("racily clean", in git's words), so they are hashed again.
    saved_ns: i128,
    entries: HashMap<String, Cached>,
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0))
}

impl Index {
    /// Loads the index; a missing or damaged one is empty (it is only a cache).
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.saved_ns = now_ns();
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::from)?;
        crate::fsutil::write_atomic(path, &bytes, 0o600)
    }

    fn cached(&self, file: &SourceFile) -> Option<&str> {
        let cached = self.entries.get(&file.path)?;
        let same = cached.size == file.size
            && cached.mtime_ns == file.mtime_ns
            && cached.ctime_ns == file.ctime_ns
            && cached.inode == file.inode;
        // One second of margin covers filesystems with coarse timestamps.
        let racy = file.mtime_ns >= self.saved_ns - 1_000_000_000;
        (same && !racy).then_some(cached.hash.as_str())
    }

    /// The content hash of every regular file in `files` (symlinks get `None`), reading only
    /// the files whose stat changed, on all cores.
    pub fn hashes(
        &mut self,
        root: &Path,
        files: &[SourceFile],
    ) -> std::io::Result<Vec<Option<String>>> {
        let mut hashes: Vec<Option<String>> = files
            .iter()
            .map(|f| self.cached(f).map(str::to_owned))
            .collect();
        let stale: Vec<usize> = (0..files.len())
            .filter(|&i| hashes[i].is_none() && files[i].kind == SourceKind::File)
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(2, std::num::NonZero::get)
            .min(8);
        let chunk = stale.len().div_ceil(threads).max(1);
        let results: Vec<std::io::Result<Vec<(usize, String)>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = stale
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&i| {
                                crate::store::objects::hash_file(&root.join(&files[i].path))
                                    .map(|h| (i, h.to_hex().to_string()))
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("hashing thread panicked")))
                })
                .collect()
        });
        for result in results {
            for (i, hash) in result? {
                let file = &files[i];
                self.entries.insert(
                    file.path.clone(),
                    Cached {
                        size: file.size,
                        mtime_ns: file.mtime_ns,
                        ctime_ns: file.ctime_ns,
                        inode: file.inode,
                        hash: hash.clone(),
                    },
                );
                hashes[i] = Some(hash);
            }
        }
        let live: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        self.entries.retain(|path, _| live.contains(path.as_str()));
        Ok(hashes)
    }
}

/// The hash of a source tree: every path with its kind, executable bit and content hash or
/// link target, in path order.
pub fn tree_hash(files: &[SourceFile], hashes: &[Option<String>]) -> String {
    let mut tree = blake3::Hasher::new();
    for (file, hash) in files.iter().zip(hashes) {
        let line = match &file.kind {
            SourceKind::File => format!(
                "f {} {} {}\n",
                u8::from(file.executable),
                hash.as_deref().unwrap_or(""),
                file.path
            ),
            SourceKind::Symlink(target) => format!("l {target:?} {}\n", file.path),
        };
        tree.update(line.as_bytes());
    }
    tree.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::source::walk;
    use std::fs;

    #[test]
    fn unchanged_files_are_not_read_again_and_changes_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"one").unwrap();
        fs::write(dir.path().join("b"), b"two").unwrap();
        let index_path = dir.path().join("index.json");
        fs::write(dir.path().join(".dozenignore"), "index.json\n").unwrap();
        let mut index = Index::default();
        let files = walk(dir.path(), &[]).unwrap();
        let first = index.hashes(dir.path(), &files).unwrap();
        let before = tree_hash(&files, &first);
        // Pretend the index was saved long after the files were written: they are not racy.
        index.save(&index_path).unwrap();
        let mut index = Index::load(&index_path);
        index.saved_ns += 10_000_000_000;
        let again = index.hashes(dir.path(), &files).unwrap();
        assert_eq!(again, first);
        // A cached hash is trusted when the stat matches: prove it by poisoning the cache.
        index.entries.get_mut(".dozenignore").unwrap().hash = "cached".into();
        let trusted = index.hashes(dir.path(), &files).unwrap();
        assert!(trusted.contains(&Some("cached".into())));
        // A changed file (new size) is read again, and the tree hash moves.
        fs::write(dir.path().join("b"), b"three").unwrap();
        let files = walk(dir.path(), &[]).unwrap();
        let changed = index.hashes(dir.path(), &files).unwrap();
        assert_ne!(tree_hash(&files, &changed), before);
    }

    #[test]
    fn racily_clean_files_are_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"one").unwrap();
        let files = walk(dir.path(), &[]).unwrap();
        let mut index = Index::default();
        index.hashes(dir.path(), &files).unwrap();
        index.saved_ns = now_ns();
        index.entries.get_mut("a").unwrap().hash = "stale".into();
        let hashes = index.hashes(dir.path(), &files).unwrap();
        assert_ne!(hashes[0].as_deref(), Some("stale"));
    }
}
