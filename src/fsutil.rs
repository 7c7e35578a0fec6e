//! Writing files so that a crash never leaves a half-written one.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Replaces `path` with `contents` atomically (temporary file, fsync, rename). An existing
/// file keeps its permissions; a new one gets `new_mode`.
pub fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> std::io::Result<()> {
    let mode = match fs::metadata(path) {
        Ok(metadata) => metadata.permissions().mode() & 0o7777,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => new_mode,
        Err(error) => return Err(error),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.dozen-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(contents)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `path` with `contents` only if it does not exist; `Ok(false)` if it does.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<bool> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(contents)?;
            file.sync_all()?;
            Ok(true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

/// Every path under `dir`, itself included, links not followed: for tests that look at what
/// a command left.
#[cfg(test)]
pub(crate) fn every_path(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_owned()];
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(every_path(&entry.unwrap().path()));
        }
    }
    out
}

/// Why a small file someone else may have written was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directory, a FIFO (which would block the reader), a device.
    #[error("{} is not a file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is not a file of yours", path.display())]
    NotYours { path: PathBuf },
    #[error("{} is longer than {} KiB", path.display(), max / 1024)]
    TooLong { path: PathBuf, max: u64 },
    #[error("{} is not text (UTF-8)", path.display())]
    NotText { path: PathBuf },
}

/// A regular file read whole as text, at most `max` bytes of it — and, with `owner`, only
/// if that user owns it.
pub fn read_bounded(path: &Path, max: u64, owner: Option<u32>) -> Result<String, ReadError> {
    use std::io::Read as _;
    use std::os::unix::fs::MetadataExt as _;
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile {
            path: path.to_owned(),
        });
    }
    if owner.is_some_and(|uid| metadata.uid() != uid) {
        return Err(ReadError::NotYours {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLong {
            path: path.to_owned(),
            max,
        });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText {
        path: path.to_owned(),
    })
}
