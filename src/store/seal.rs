//! A stored build's seal: the stat of every entry of its tree as it was sealed, so that a tree
//! changed by a running process (a write, a new file, a `chmod`) is noticed with one `lstat`
//! per entry and put back from the objects before anything runs from it (docs/store.md).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use super::tree::{Tree, TreeError};

/// What is compared: a process can change content (size, mtime), mode or the entry itself
/// (inode), but never set ctime back, so a change that restores the mtime is still seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub inode: u64,
    pub size: u64,
    pub mode: u32,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Self {
        Self {
            inode: metadata.ino(),
            size: metadata.size(),
            mode: metadata.mode(),
            mtime_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
            ctime_ns: i128::from(metadata.ctime()) * 1_000_000_000
                + i128::from(metadata.ctime_nsec()),
        }
    }
}

/// One stamp per entry of the tree, in the tree's order, plus the root directory's first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub stamps: Vec<Stamp>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Seal {
    /// Stamps every entry of `tree` as it is under `root` now.
    pub fn take(root: &Path, tree: &Tree) -> Result<Self, TreeError> {
        let mut stamps = Vec::with_capacity(tree.entries.len() + 1);
        stamps.push(Stamp::of(&fs::symlink_metadata(root).map_err(io(root))?));
        for entry in &tree.entries {
            let path = root.join(&entry.path);
            stamps.push(Stamp::of(&fs::symlink_metadata(&path).map_err(io(&path))?));
        }
        Ok(Self { stamps })
    }

    /// The paths (`""` for the root) whose entry differs from its stamp or is gone. A
    /// directory is listed when its own stat changed: an entry was added, removed or renamed
    /// in it, or its mode changed.
    pub fn changed(&self, root: &Path, tree: &Tree) -> Vec<String> {
        let paths = std::iter::once("").chain(tree.entries.iter().map(|e| e.path.as_str()));
        if self.stamps.len() != tree.entries.len() + 1 {
            return vec![String::new()];
        }
        // Two threads: the stats are independent, and a large tree has tens of thousands.
        let all: Vec<(&str, &Stamp)> = paths.zip(&self.stamps).collect();
        let half = all.len() / 2;
        let check = |part: &[(&str, &Stamp)]| -> Vec<String> {
            part.iter()
                .filter(|(path, stamp)| {
                    fs::symlink_metadata(root.join(path)).map_or(true, |m| Stamp::of(&m) != **stamp)
                })
                .map(|(path, _)| (*path).to_owned())
                .collect()
        };
        let (first, second) = all.split_at(half);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| check(second));
            let mut changed = check(first);
            changed.extend(other.join().unwrap_or_else(|_| vec![String::new()]));
            changed
        })
    }

    /// One line per stamp: `inode size mode mtime_ns ctime_ns`.
    pub fn write(&self, path: &Path) -> Result<(), TreeError> {
        let mut out = Vec::with_capacity(self.stamps.len() * 48);
        for s in &self.stamps {
            let _ = writeln!(
                out,
                "{} {} {:o} {} {}",
                s.inode, s.size, s.mode, s.mtime_ns, s.ctime_ns
            );
        }
        crate::fsutil::write_atomic(path, &out, 0o600).map_err(io(path))
    }

    /// Reads a seal; damage is named with its line.
    pub fn read(path: &Path) -> Result<Self, TreeError> {
        let text = fs::read_to_string(path).map_err(io(path))?;
        let stamps = text
            .lines()
            .enumerate()
            .map(|(number, line)| parse_stamp(path, number + 1, line))
            .collect::<Result<_, _>>()?;
        Ok(Self { stamps })
    }

    /// Whether the tree at `root` is still the directory sealed in `path` (its first stamp):
    /// what a clean mark vouches for. A tree removed, or replaced by another directory, since
    /// the mark was written is not (reads the seal's first line, and one `lstat`).
    pub fn root_holds(path: &Path, root: &Path) -> bool {
        let Ok(file) = fs::File::open(path) else {
            return false;
        };
        let mut first = String::new();
        if std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut first).is_err() {
            return false;
        }
        let Ok(sealed) = parse_stamp(path, 1, first.trim_end_matches('\n')) else {
            return false;
        };
        fs::symlink_metadata(root).is_ok_and(|now| Stamp::of(&now) == sealed)
    }
}

/// One line of a seal: `inode size mode mtime_ns ctime_ns`.
fn parse_stamp(path: &Path, line: usize, text: &str) -> Result<Stamp, TreeError> {
    let damaged = || TreeError::Damaged {
        path: path.display().to_string(),
        line,
        message: "expected `inode size mode mtime_ns ctime_ns`".into(),
    };
    let mut fields = text.split(' ');
    let mut next = || fields.next().ok_or_else(damaged);
    let stamp = Stamp {
        inode: next()?.parse().map_err(|_| damaged())?,
        size: next()?.parse().map_err(|_| damaged())?,
        mode: u32::from_str_radix(next()?, 8).map_err(|_| damaged())?,
        mtime_ns: next()?.parse().map_err(|_| damaged())?,
        ctime_ns: next()?.parse().map_err(|_| damaged())?,
    };
    if fields.next().is_some() {
        return Err(damaged());
    }
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tree::Kind;

    fn tree_of(entries: &[(&str, Kind)]) -> Tree {
        Tree {
            entries: entries
                .iter()
                .map(|(p, k)| super::super::tree::Entry {
                    path: (*p).to_owned(),
                    kind: k.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn notices_writes_new_files_and_mode_changes_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("lib")).unwrap();
        fs::write(root.join("lib/a.sh"), b"echo a\n").unwrap();
        fs::write(root.join("b"), b"b").unwrap();
        let file = Kind::File {
            object: "0".repeat(64),
            size: 0,
        };
        let tree = tree_of(&[("b", file.clone()), ("lib", Kind::Dir), ("lib/a.sh", file)]);
        let seal = Seal::take(root, &tree).unwrap();
        assert!(seal.changed(root, &tree).is_empty());
        let elsewhere = tempfile::tempdir().unwrap();
        let stored = elsewhere.path().join("seal");
        seal.write(&stored).unwrap();
        assert_eq!(Seal::read(&stored).unwrap(), seal);

        // An append, even with the mtime put back, is seen (ctime).
        let before = fs::metadata(root.join("lib/a.sh"))
            .unwrap()
            .modified()
            .unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(root.join("lib/a.sh"))
            .unwrap()
            .write_all(b"echo x\n")
            .unwrap();
        fs::File::options()
            .write(true)
            .open(root.join("lib/a.sh"))
            .unwrap()
            .set_modified(before)
            .unwrap();
        assert_eq!(seal.changed(root, &tree), ["lib/a.sh"]);
        // A new file changes its directory.
        fs::write(root.join("lib/new.py"), b"").unwrap();
        assert_eq!(seal.changed(root, &tree), ["lib", "lib/a.sh"]);
        // A removed file is missing.
        fs::remove_file(root.join("b")).unwrap();
        assert!(seal.changed(root, &tree).contains(&"b".to_owned()));

        fs::write(&stored, "1 2 644 3\n").unwrap();
        assert!(
            Seal::read(&stored)
                .unwrap_err()
                .to_string()
                .contains("seal:1:")
        );
    }

    #[test]
    fn the_root_holds_only_while_it_is_the_sealed_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("Procfile"), b"web: true\n").unwrap();
        let tree = tree_of(&[(
            "Procfile",
            Kind::File {
                object: "0".repeat(64),
                size: 10,
            },
        )]);
        let stored = dir.path().join("seal");
        assert!(!Seal::root_holds(&stored, &root), "no seal, nothing holds");
        Seal::take(&root, &tree).unwrap().write(&stored).unwrap();
        assert!(Seal::root_holds(&stored, &root));
        // Made while the sealed one exists, so it cannot reuse its inode.
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert!(!Seal::root_holds(&stored, &root), "removed");
        fs::rename(&other, &root).unwrap();
        assert!(!Seal::root_holds(&stored, &root), "another directory");
    }
}
