//! The output of a build's steps or a release phase, kept in the store as it comes
//! (`builds/<id>.log`, `releases/vN.log`): written to disk line by line, never held whole.
//! The file keeps the first [`MAX_KEPT`] bytes and says what it left out after them; memory
//! keeps only the last lines, for an error to show (docs/store.md).

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// How much of an output a kept log holds: the first 16 MiB (what follows is counted and
/// said, not kept; the terminal saw all of it).
pub const MAX_KEPT: u64 = 16 * 1024 * 1024;

/// How much of the end of an output is kept in memory, for an error to show.
const TAIL_BYTES: usize = 64 * 1024;

pub struct KeptLog {
    file: BufWriter<File>,
    partial: PathBuf,
    path: PathBuf,
    written: u64,
    cap: u64,
    dropped_lines: u64,
    dropped_bytes: u64,
    tail: VecDeque<String>,
    tail_bytes: usize,
}

impl KeptLog {
    /// A log to be kept at `path` once finished (written beside it until then, mode 0600).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Self::with_cap(path, MAX_KEPT)
    }

    fn with_cap(path: &Path, cap: u64) -> std::io::Result<Self> {
        let partial = path.with_extension("log.partial");
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        Ok(Self {
            file: BufWriter::new(file),
            partial,
            path: path.to_path_buf(),
            written: 0,
            cap,
            dropped_lines: 0,
            dropped_bytes: 0,
            tail: VecDeque::new(),
            tail_bytes: 0,
        })
    }

    /// One line of the output. A write that fails loses the rest of the log, not the
    /// command: the output was shown as it came.
    pub fn line(&mut self, text: &str) {
        let size = text.len() as u64 + 1;
        if self.written + size <= self.cap && self.dropped_lines == 0 {
            if writeln!(self.file, "{text}").is_ok() {
                self.written += size;
            }
        } else {
            self.dropped_lines += 1;
            self.dropped_bytes += size;
        }
        let kept: String = if text.len() > TAIL_BYTES {
            let mut end = TAIL_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        } else {
            text.to_owned()
        };
        self.tail_bytes += kept.len();
        self.tail.push_back(kept);
        while self.tail_bytes > TAIL_BYTES && self.tail.len() > 1 {
            if let Some(first) = self.tail.pop_front() {
                self.tail_bytes -= first.len();
            }
        }
    }

    /// The last lines (at most `n`, and no more than 64 KiB of them).
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.tail.len().saturating_sub(n);
        self.tail.iter().skip(skip).cloned().collect()
    }

    /// Ends the log: what was left out is said at its end, and it takes its place.
    pub fn finish(mut self) -> std::io::Result<()> {
        if self.dropped_lines > 0 {
            writeln!(
                self.file,
                "dozen: {} more lines ({} bytes) are not kept: a log keeps the first {} MiB",
                self.dropped_lines,
                self.dropped_bytes,
                self.cap / (1024 * 1024)
            )?;
        }
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        fs::rename(&self.partial, &self.path)
    }

    /// Gives up the log: nothing of it is kept.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_first_bytes_are_kept_and_what_follows_is_counted_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.log");
        let mut log = KeptLog::with_cap(&path, 20).unwrap();
        for line in ["one", "two", "three", "four", "five", "six"] {
            log.line(line);
        }
        assert_eq!(log.tail(2), ["five", "six"]);
        log.finish().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "one\ntwo\nthree\nfour\ndozen: 2 more lines (9 bytes) are not kept: a log keeps the first 0 MiB\n"
        );
        assert!(!dir.path().join("v1.log.partial").exists());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn the_tail_in_memory_is_bounded_whatever_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = KeptLog::create(&dir.path().join("b.log")).unwrap();
        let wide = "é".repeat(TAIL_BYTES);
        for _ in 0..10 {
            log.line(&wide);
        }
        log.line("last");
        assert!(log.tail_bytes <= TAIL_BYTES + 4);
        assert_eq!(log.tail(1), ["last"]);
        log.discard();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
