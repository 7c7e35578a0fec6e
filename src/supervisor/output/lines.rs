//! Cutting a byte stream into lines without losing, splitting or merging any.

use std::time::Instant;

/// The longest line emitted whole. Longer ones are emitted in pieces of this size, each
/// marked as continued, so memory stays bounded whatever a process prints.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// A line handed to the formatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    /// The line goes on in the next piece (it was longer than [`MAX_LINE`]).
    pub continued: bool,
}

/// The unfinished tail of one stream.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
    /// When the pending bytes last grew (for the idle flush of a partial line).
    pub last_data: Option<Instant>,
}

impl LineBuffer {
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Feeds bytes; calls `emit` for every complete line, in order. Bytes after the last
    /// newline are kept for the next call.
    pub fn push(&mut self, mut data: &[u8], now: Instant, emit: &mut dyn FnMut(Line<'_>)) {
        if data.is_empty() {
            return;
        }
        if !self.pending.is_empty() {
            // Finish the pending line first.
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.pending.extend_from_slice(data);
                self.cut_oversized(emit);
                self.last_data = Some(now);
                return;
            };
            self.pending.extend_from_slice(&data[..end]);
            self.emit_pending(emit);
            data = &data[end + 1..];
        }
        // Complete lines straight from the input, no copy.
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data) {
            emit_whole(&data[start..end], emit);
            start = end + 1;
        }
        if start < data.len() {
            self.pending.extend_from_slice(&data[start..]);
            self.cut_oversized(emit);
            self.last_data = Some(now);
        }
    }

    /// Emits a partial line as it stands (idle timeout, or end of the stream).
    pub fn flush(&mut self, emit: &mut dyn FnMut(Line<'_>)) {
        if !self.pending.is_empty() {
            self.emit_pending(emit);
        }
    }

    fn emit_pending(&mut self, emit: &mut dyn FnMut(Line<'_>)) {
        emit_whole(&self.pending, emit);
        self.pending.clear();
        self.last_data = None;
        // Give back the memory of a huge line once it is out.
        if self.pending.capacity() > 1024 * 1024 {
            self.pending = Vec::new();
        }
    }

    fn cut_oversized(&mut self, emit: &mut dyn FnMut(Line<'_>)) {
        while self.pending.len() > MAX_LINE {
            emit(Line {
                bytes: &self.pending[..MAX_LINE],
                continued: true,
            });
            self.pending.drain(..MAX_LINE);
        }
    }
}

fn emit_whole(line: &[u8], emit: &mut dyn FnMut(Line<'_>)) {
    let mut rest = line;
    while rest.len() > MAX_LINE {
        emit(Line {
            bytes: &rest[..MAX_LINE],
            continued: true,
        });
        rest = &rest[MAX_LINE..];
    }
    emit(Line {
        bytes: rest,
        continued: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, bool) {
        let mut buffer = LineBuffer::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            buffer.push(chunk, Instant::now(), &mut |line| {
                lines.push(line.bytes.to_vec());
            });
        }
        let partial = buffer.has_partial();
        buffer.flush(&mut |line| lines.push(line.bytes.to_vec()));
        (lines, partial)
    }

    #[test]
    fn lines_across_chunk_boundaries() {
        let (lines, partial) = feed(&[b"one\ntw", b"o\n\nthr", b"ee", b"\nfour"]);
        assert_eq!(
            lines,
            [
                b"one".to_vec(),
                b"two".to_vec(),
                b"".to_vec(),
                b"three".to_vec(),
                b"four".to_vec()
            ]
        );
        assert!(partial);
    }

    #[test]
    fn bytes_pass_through_untouched() {
        let (lines, _) = feed(&[b"\xff\xfe bin\r\n", b"caf\xc3", b"\xa9\n"]);
        assert_eq!(lines, [b"\xff\xfe bin\r".to_vec(), b"caf\xc3\xa9".to_vec()]);
    }

    #[test]
    fn a_long_line_arrives_whole() {
        let long = vec![b'x'; 1024 * 1024];
        let mut chunks: Vec<&[u8]> = long.chunks(65536).collect();
        chunks.push(b"\n");
        let (lines, _) = feed(&chunks);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 1024 * 1024);
    }

    #[test]
    fn oversized_lines_are_cut_and_marked() {
        let mut buffer = LineBuffer::default();
        let data = vec![b'y'; MAX_LINE + 10];
        let mut seen = Vec::new();
        buffer.push(&data, Instant::now(), &mut |line| {
            seen.push((line.bytes.len(), line.continued));
        });
        buffer.push(b"\n", Instant::now(), &mut |line| {
            seen.push((line.bytes.len(), line.continued));
        });
        assert_eq!(seen, [(MAX_LINE, true), (10, false)]);
    }
}
