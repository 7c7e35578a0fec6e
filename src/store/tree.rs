//! A build's file tree: every path with its kind, mode and content (an object id) or link
//! target, sorted; storing its files' contents; sealing it read-only; and making it again
//! from the objects (a copy per file: trees never share an inode with `objects/`).

use std::fs;
use std::io::BufRead as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::objects::{ObjectError, ObjectId, Objects};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative, `/`-separated.
    #[serde(rename = "p")]
    pub path: String,
    #[serde(flatten)]
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Kind {
    #[serde(rename = "d")]
    Dir,
    #[serde(rename = "f")]
    File {
        #[serde(rename = "o")]
        object: String,
        #[serde(rename = "s")]
        size: u64,
    },
    #[serde(rename = "l")]
    Symlink {
        #[serde(rename = "t")]
        target: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub entries: Vec<Entry>,
}

/// A problem with a tree file or a directory being scanned, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Damaged {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{0}: file names must be UTF-8 to be stored")]
    NotUtf8(String),
    /// A file of the tree could not be made from its stored object.
    #[error("`{path}`: {source}")]
    Object { path: String, source: ObjectError },
    /// A build whose tree cannot be made from the store, because a stored file it lists is
    /// damaged or gone: nothing of it was installed, and it is no longer stored.
    #[error(
        "build {build} cannot be made from the store: its file `{path}`: {source}; nothing of the build was installed or run, and it is no longer stored"
    )]
    Lost {
        /// The build's short id.
        build: String,
        path: String,
        source: ObjectError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Tree {
    /// Scans a directory (a finished build's tree), storing a copy of every new file content in
    /// `objects`. The directory is left as it is.
    pub fn ingest(dir: &Path, objects: &Objects) -> Result<Self, TreeError> {
        let mut entries = Vec::new();
        let mut pending = vec![(dir.to_path_buf(), String::new())];
        while let Some((absolute, relative)) = pending.pop() {
            for item in fs::read_dir(&absolute).map_err(io(&absolute))? {
                let item = item.map_err(io(&absolute))?;
                let name = item.file_name().into_string().map_err(|n| {
                    TreeError::NotUtf8(format!("{relative}{}", n.to_string_lossy()))
                })?;
                let path = format!("{relative}{name}");
                let full = item.path();
                let file_type = item.file_type().map_err(io(&full))?;
                if file_type.is_symlink() {
                    let target = fs::read_link(&full).map_err(io(&full))?;
                    let target = target
                        .into_os_string()
                        .into_string()
                        .map_err(|_| TreeError::NotUtf8(path.clone()))?;
                    entries.push(Entry {
                        path,
                        kind: Kind::Symlink { target },
                    });
                } else if file_type.is_dir() {
                    pending.push((full, format!("{path}/")));
                    entries.push(Entry {
                        path,
                        kind: Kind::Dir,
                    });
                } else if file_type.is_file() {
                    let size = item.metadata().map_err(io(&full))?.len();
                    let object = objects.ingest(&full).map_err(io(&full))?;
                    entries.push(Entry {
                        path,
                        kind: Kind::File {
                            object: object.as_str().to_owned(),
                            size,
                        },
                    });
                }
                // Sockets, fifos and devices are not part of a build.
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self { entries })
    }

    pub fn size(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| {
                if let Kind::File { size, .. } = e.kind {
                    size
                } else {
                    0
                }
            })
            .sum()
    }

    pub fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, Kind::File { .. }))
            .count()
    }

    /// One JSON object per line.
    pub fn write(&self, path: &Path) -> Result<(), TreeError> {
        let mut out = Vec::new();
        for entry in &self.entries {
            serde_json::to_writer(&mut out, entry).map_err(|e| TreeError::Io {
                path: path.display().to_string(),
                source: e.into(),
            })?;
            out.push(b'\n');
        }
        crate::fsutil::write_atomic(path, &out, 0o600).map_err(io(path))
    }

    /// Reads a tree file; any damage is named with its line.
    pub fn read(path: &Path) -> Result<Self, TreeError> {
        let file = fs::File::open(path).map_err(io(path))?;
        let mut entries: Vec<Entry> = Vec::new();
        for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io(path))?;
            let damaged = |message: String| TreeError::Damaged {
                path: path.display().to_string(),
                line: number + 1,
                message,
            };
            let entry: Entry = serde_json::from_str(&line).map_err(|e| damaged(e.to_string()))?;
            if let Kind::File { object, .. } = &entry.kind {
                ObjectId::parse(object)
                    .ok_or_else(|| damaged(format!("`{object}` is not an object id")))?;
            }
            if entry.path.is_empty()
                || entry.path.starts_with('/')
                || entry.path.split('/').any(|c| c == ".." || c.is_empty())
            {
                return Err(damaged(format!(
                    "`{}` is not a path inside the build",
                    entry.path
                )));
            }
            if entries.last().is_some_and(|last| last.path >= entry.path) {
                return Err(damaged("entries are not sorted by path".into()));
            }
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// Recreates the tree under `dest` (which must not exist): directories, symlinks, and a
    /// copy of each stored object, checked against its digest (a damaged one is an error, and
    /// is not installed). Directories stay writable: [`seal`] them once they are
    /// where they will live (moving a read-only directory to another parent is refused to
    /// anyone but root).
    pub fn materialize(&self, objects: &Objects, dest: &Path) -> Result<(), TreeError> {
        fs::create_dir(dest).map_err(io(dest))?;
        for entry in &self.entries {
            restore(objects, dest, entry)?;
        }
        Ok(())
    }
}

/// Creates one entry under `root` from the store (nothing may be at its path).
fn restore(objects: &Objects, root: &Path, entry: &Entry) -> Result<(), TreeError> {
    let target = root.join(&entry.path);
    match &entry.kind {
        Kind::Dir => fs::create_dir(&target).map_err(io(&target)),
        Kind::Symlink { target: link } => {
            std::os::unix::fs::symlink(link, &target).map_err(io(&target))
        }
        Kind::File { object, .. } => {
            let id = ObjectId::parse(object).ok_or_else(|| TreeError::Damaged {
                path: entry.path.clone(),
                line: 0,
                message: "bad object id".into(),
            })?;
            objects
                .copy_out(&id, &target)
                .map_err(|source| TreeError::Object {
                    path: entry.path.clone(),
                    source,
                })
        }
    }
}

impl Tree {
    /// Puts `root` back as the tree says, from the objects: removes what the tree does not
    /// list or lists as another kind, and every file in `suspect` (its seal says it changed),
    /// then creates what is missing. Returns the build's paths it put back, and the paths it
    /// removed that are not part of the build. [`seal`] after.
    pub fn repair(
        &self,
        objects: &Objects,
        root: &Path,
        suspect: &std::collections::HashSet<String>,
    ) -> Result<(Vec<String>, Vec<String>), TreeError> {
        let mut repaired = Vec::new();
        let mut extra = Vec::new();
        unseal(root).map_err(io(root))?;
        let expected: std::collections::HashMap<&str, &Entry> =
            self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        // What is there that the tree does not list (or lists as another kind): removed.
        let mut pending = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            for item in fs::read_dir(&dir).map_err(io(&dir))? {
                let item = item.map_err(io(&dir))?;
                let name = format!("{prefix}{}", item.file_name().to_string_lossy());
                let kind = item.file_type().map_err(io(&item.path()))?;
                let listed = expected.get(name.as_str());
                let keep = match listed.map(|e| &e.kind) {
                    Some(Kind::Dir) => kind.is_dir(),
                    Some(Kind::File { .. }) => kind.is_file() && !suspect.contains(&name),
                    Some(Kind::Symlink { target }) => {
                        kind.is_symlink()
                            && fs::read_link(item.path()).ok().as_deref() == Some(Path::new(target))
                    }
                    None => false,
                };
                if keep && kind.is_dir() {
                    pending.push((item.path(), format!("{name}/")));
                } else if !keep {
                    if kind.is_dir() {
                        remove_materialized(&item.path()).map_err(io(&item.path()))?;
                    } else {
                        fs::remove_file(item.path()).map_err(io(&item.path()))?;
                    }
                    if listed.is_some() {
                        repaired.push(name);
                    } else {
                        extra.push(name);
                    }
                }
            }
        }
        // What is missing (or was just removed): made again. Parents come before children.
        for entry in &self.entries {
            let target = root.join(&entry.path);
            if fs::symlink_metadata(&target).is_err() {
                restore(objects, root, entry)?;
                repaired.push(entry.path.clone());
            }
        }
        repaired.sort();
        repaired.dedup();
        extra.sort();
        Ok((repaired, extra))
    }
}

/// Seals a tree's files: `0444` (`0555` executable), so a write to the build's code fails
/// unless a process first makes it writable. Directories stay `0755`: a process may create
/// files beside its code (removed at the next start, as on Heroku's ephemeral filesystem), and
/// the user's own `rm -rf` of the app works, which read-only directories would prevent.
pub fn seal(root: &Path) -> std::io::Result<()> {
    let mut dirs = vec![root.to_path_buf()];
    let mut index = 0;
    while index < dirs.len() {
        let dir = dirs[index].clone();
        index += 1;
        for item in fs::read_dir(&dir)? {
            let item = item?;
            let kind = item.file_type()?;
            if kind.is_dir() {
                dirs.push(item.path());
            } else if kind.is_file() {
                let mode = item.metadata()?.permissions().mode();
                let sealed = if mode & 0o111 != 0 { 0o555 } else { 0o444 };
                if mode & 0o7777 != sealed {
                    fs::set_permissions(item.path(), fs::Permissions::from_mode(sealed))?;
                }
            }
        }
    }
    for dir in dirs.iter().rev() {
        if fs::symlink_metadata(dir)?.permissions().mode() & 0o7777 != DIR_MODE {
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
        }
    }
    Ok(())
}

/// The mode of a sealed tree's directories (the store around them is `0700`).
pub const DIR_MODE: u32 = 0o755;

/// Makes every directory of a tree writable by its owner again (to repair or remove it).
fn unseal(root: &Path) -> std::io::Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(current) = stack.pop() {
        fs::set_permissions(&current, fs::Permissions::from_mode(0o700))?;
        for item in fs::read_dir(&current)? {
            let item = item?;
            if item.file_type()?.is_dir() {
                stack.push(item.path());
            }
        }
    }
    Ok(())
}

/// Removes a tree, sealed or not (gc, failed builds, debris, tests).
pub fn remove_materialized(dir: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(dir)?.is_dir() {
        unseal(dir)?;
        fs::remove_dir_all(dir)
    } else {
        fs::remove_file(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    fn staging(dir: &Path) {
        fs::create_dir_all(dir.join("src/lib")).unwrap();
        fs::write(dir.join("README"), b"hello").unwrap();
        fs::write(dir.join("src/lib/a.py"), b"print(1)").unwrap();
        fs::write(dir.join("src/copy.py"), b"print(1)").unwrap();
        fs::write(dir.join("run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("src/lib/a.py", dir.join("link.py")).unwrap();
    }

    #[test]
    fn ingest_write_read_and_materialize() {
        let store = tempfile::tempdir().unwrap();
        let objects = Objects::open(store.path()).unwrap();
        let stage = store.path().join("tmp/stage");
        staging(&stage);
        let tree = Tree::ingest(&stage, &objects).unwrap();
        let paths: Vec<&str> = tree.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "README",
                "link.py",
                "run.sh",
                "src",
                "src/copy.py",
                "src/lib",
                "src/lib/a.py"
            ]
        );
        assert_eq!(tree.file_count(), 4);
        assert_eq!(tree.size(), 5 + 8 + 8 + 18);
        let file = store.path().join("builds/x.tree");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        tree.write(&file).unwrap();
        let read = Tree::read(&file).unwrap();
        assert_eq!(read, tree);
        let dest = store.path().join("trees/x");
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        read.materialize(&objects, &dest).unwrap();
        seal(&dest).unwrap();
        assert_eq!(fs::read(dest.join("src/lib/a.py")).unwrap(), b"print(1)");
        // A copy of its own: no inode shared with the objects.
        assert_eq!(fs::metadata(dest.join("src/lib/a.py")).unwrap().nlink(), 1);
        assert_eq!(
            fs::read_link(dest.join("link.py")).unwrap(),
            Path::new("src/lib/a.py")
        );
        assert_eq!(
            fs::metadata(dest.join("run.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o111,
            0o111
        );
        // Files read-only for everyone but root (which ignores permission bits); directories
        // writable by their owner, so `rm -rf` works.
        assert_eq!(
            fs::metadata(dest.join("src")).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            fs::metadata(dest.join("README"))
                .unwrap()
                .permissions()
                .mode()
                & 0o222,
            0
        );
        remove_materialized(&dest).unwrap();
        assert!(!dest.exists());
    }

    #[test]
    fn repair_puts_back_what_a_process_changed_and_objects_stay_intact() {
        use std::collections::HashSet;
        let store = tempfile::tempdir().unwrap();
        let objects = Objects::open(store.path()).unwrap();
        let stage = store.path().join("tmp/stage");
        staging(&stage);
        let tree = Tree::ingest(&stage, &objects).unwrap();
        let dest = store.path().join("tree");
        tree.materialize(&objects, &dest).unwrap();
        seal(&dest).unwrap();
        // What a running process (root, or the owner after chmod) may do to its tree.
        fs::set_permissions(dest.join("src/lib"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dest.join("src/lib/a.py"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(dest.join("src/lib/a.py"), b"corrupted").unwrap();
        fs::create_dir(dest.join("src/lib/__pycache__")).unwrap();
        fs::write(dest.join("src/lib/__pycache__/a.pyc"), b"x").unwrap();
        fs::remove_file(dest.join("link.py")).unwrap();
        fs::write(dest.join("link.py"), b"not a link").unwrap();
        let suspect: HashSet<String> = ["src/lib/a.py".to_owned()].into();
        let (repaired, extra) = tree.repair(&objects, &dest, &suspect).unwrap();
        seal(&dest).unwrap();
        assert_eq!(repaired, ["link.py", "src/lib/a.py"]);
        assert_eq!(extra, ["src/lib/__pycache__"]);
        assert_eq!(fs::read(dest.join("src/lib/a.py")).unwrap(), b"print(1)");
        assert_eq!(
            fs::read_link(dest.join("link.py")).unwrap(),
            Path::new("src/lib/a.py")
        );
        assert!(!dest.join("src/lib/__pycache__").exists());
        for entry in &tree.entries {
            if let Kind::File { object, .. } = &entry.kind {
                let id = ObjectId::parse(object).unwrap();
                assert_eq!(
                    super::super::objects::id_of(&objects.path(&id)).unwrap(),
                    id
                );
            }
        }
        remove_materialized(&dest).unwrap();
    }

    #[test]
    fn identical_files_share_one_object() {
        let store = tempfile::tempdir().unwrap();
        let objects = Objects::open(store.path()).unwrap();
        let stage = store.path().join("tmp/stage");
        staging(&stage);
        let tree = Tree::ingest(&stage, &objects).unwrap();
        let object = |p: &str| match &tree.entries.iter().find(|e| e.path == p).unwrap().kind {
            Kind::File { object, .. } => object.clone(),
            _ => panic!(),
        };
        assert_eq!(object("src/copy.py"), object("src/lib/a.py"));
    }

    #[test]
    fn damage_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.tree");
        let good = format!(
            "{{\"p\":\"a\",\"k\":\"f\",\"o\":\"{}\",\"s\":1}}\n",
            "0".repeat(64)
        );
        fs::write(&file, format!("{good}not json\n")).unwrap();
        assert!(
            Tree::read(&file)
                .unwrap_err()
                .to_string()
                .contains("b.tree:2:")
        );
        fs::write(&file, "{\"p\":\"../escape\",\"k\":\"d\"}\n").unwrap();
        assert!(
            Tree::read(&file)
                .unwrap_err()
                .to_string()
                .contains("is not a path inside the build")
        );
        fs::write(&file, "{\"p\":\"a\",\"k\":\"f\",\"o\":\"zz\",\"s\":1}\n").unwrap();
        assert!(
            Tree::read(&file)
                .unwrap_err()
                .to_string()
                .contains("is not an object id")
        );
    }
}
