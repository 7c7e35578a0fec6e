//! A one-off command that is not the user's foreground job — a build step, a release phase —
//! run the one way dozen runs processes: under a nursery (docs/supervisor.md), in a process
//! group of its own, its output read line by line. dozen waits for the command itself, not
//! for what it left running: a background job (`sleep 300 & echo migrated`) is ended once the
//! command ends, and said so; and whatever happens to dozen, `kill -9` included, the nursery
//! ends every process of the command.

use std::os::fd::AsFd as _;
use std::sync::mpsc;
use std::time::Duration;

use super::nursery::{self, Nursery, Request};

/// How long what a one-off left running gets between SIGTERM and SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// The longest line a one-off's output is given as: a longer one comes in pieces of this
/// size (the rest of it as the next lines), so no output, newline or not, is held whole.
pub const MAX_LINE: usize = 64 * 1024;

/// Lines read ahead of the caller: past this the reader waits, and so does the command on
/// its full pipe (backpressure, not memory).
const READ_AHEAD: usize = 256;

/// How a one-off ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Its exit code, if it exited.
    pub exit: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Processes the command left running when it ended (ended by dozen since).
    pub left: usize,
    /// It ran past its time limit and was killed ([`run_for`]).
    pub timed_out: bool,
}

impl Finished {
    /// `$?`: the exit code, or 128 + N for signal N.
    pub fn code(&self) -> i32 {
        super::exit::code_of(self.exit, self.signal)
    }

    /// "exited with code 3" / "killed by SIGKILL".
    pub fn describe(&self) -> String {
        super::exit::describe_of(self.exit, self.signal)
    }

    /// What `what` left running, when it left anything: "the release phase left 1 process
    /// running when it ended; dozen ended it".
    pub fn leftovers(&self, what: &str) -> Option<String> {
        let one = self.left == 1;
        (self.left > 0).then(|| {
            format!(
                "{what} left {} process{} running when it ended; dozen ended {}",
                self.left,
                if one { "" } else { "es" },
                if one { "it" } else { "them" }
            )
        })
    }
}

enum Message {
    Line(String),
    Event(nursery::Event),
    NurseryGone,
}

/// Runs `argv` in `cwd` with exactly `env`, stdin from `/dev/null`, stdout and stderr as one
/// stream of lines given to `on_line` as they come (invalid UTF-8 replaced, `\r` ends
/// trimmed). Returns once the command has ended and everything it left is gone.
pub fn run(
    argv: &[String],
    env: &[(String, String)],
    cwd: &std::path::Path,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<Finished> {
    run_for(argv, env, cwd, None, on_line)
}

/// [`run`], and past `limit` the command's process group is killed (`timed_out` says so).
pub fn run_for(
    argv: &[String],
    env: &[(String, String)],
    cwd: &std::path::Path,
    limit: Option<Duration>,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<Finished> {
    let nursery = Nursery::start()?;
    let (reader, writer) = std::io::pipe()?;
    nursery.send(
        &Request::Spawn {
            id: 1,
            argv: argv.to_vec(),
            env: env.to_vec(),
            cwd: Some(cwd.display().to_string()),
            stop_signal: rustix::process::Signal::TERM.as_raw(),
            kill_timeout_ms: u64::try_from(LEFTOVER_GRACE.as_millis()).unwrap_or(u64::MAX),
        },
        &[writer.as_fd()],
    )?;
    drop(writer);
    let (tx, rx) = mpsc::sync_channel(READ_AHEAD);
    let lines = {
        let tx = tx.clone();
        std::thread::spawn(move || {
            read_lines(std::io::BufReader::new(reader), &mut |text| {
                tx.send(Message::Line(text)).is_ok()
            });
        })
    };
    let mut events = nursery.events()?;
    std::thread::spawn(move || {
        while let Some(event) = events.next_event() {
            if tx.send(Message::Event(event)).is_err() {
                return;
            }
        }
        let _ = tx.send(Message::NurseryGone);
    });
    let deadline = limit.and_then(|limit| std::time::Instant::now().checked_add(limit));
    let mut timed_out = false;
    let finished = loop {
        let message = match deadline.filter(|_| !timed_out) {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        timed_out = true;
                        let kill = Request::Signal {
                            id: 1,
                            signal: rustix::process::Signal::KILL.as_raw(),
                        };
                        let _ = nursery.send(&kill, &[]);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => Err(mpsc::RecvError),
                    Ok(message) => Ok(message),
                }
            }
            None => rx.recv(),
        };
        match message {
            Ok(Message::Line(line)) => on_line(&line),
            Ok(Message::Event(nursery::Event::SpawnFailed { error, .. })) => {
                nursery.finish();
                return Err(std::io::Error::other(error));
            }
            Ok(Message::Event(nursery::Event::Exited {
                code,
                signal,
                others,
                ..
            })) => {
                break Finished {
                    exit: code,
                    signal,
                    left: others,
                    timed_out,
                };
            }
            Ok(Message::Event(nursery::Event::Spawned { .. })) => {}
            Ok(Message::NurseryGone) | Err(_) => {
                return Err(std::io::Error::other("the nursery ended unexpectedly"));
            }
        }
    };
    // The command has ended: the nursery ends what it left (its group got SIGTERM when it
    // ended; daemons that left the group get it now, then SIGKILL after the grace), then the
    // pipe closes and the last lines arrive.
    nursery.finish();
    // The reader may be waiting for room in the channel: keep taking lines until it is done.
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Message::Line(line)) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Timeout) if lines.is_finished() => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let _ = lines.join();
    while let Ok(message) = rx.try_recv() {
        if let Message::Line(line) = message {
            on_line(&line);
        }
    }
    Ok(finished)
}

/// Reads `input` as lines (`\n`-separated, a `\r` before it dropped, invalid UTF-8
/// replaced), each given to `emit` as it ends — or in [`MAX_LINE`] pieces when it goes on
/// longer — until the input ends or `emit` says stop.
fn read_lines(mut input: impl std::io::BufRead, emit: &mut dyn FnMut(String) -> bool) {
    let mut line: Vec<u8> = Vec::new();
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .trim_end_matches('\r')
            .to_owned()
    };
    while let Ok(buffer) = input.fill_buf() {
        if buffer.is_empty() {
            if !line.is_empty() {
                emit(text(&line));
            }
            return;
        }
        let room = MAX_LINE - line.len();
        let (taken, ended) = if let Some(at) = buffer.iter().take(room).position(|b| *b == b'\n') {
            line.extend_from_slice(&buffer[..at]);
            (at + 1, true)
        } else {
            let taken = buffer.len().min(room);
            line.extend_from_slice(&buffer[..taken]);
            (taken, line.len() == MAX_LINE)
        };
        input.consume(taken);
        if ended && !emit(text(&std::mem::take(&mut line))) {
            return;
        }
    }
}

// The nursery is `dozen __nursery`, so one-offs are tested through the binary:
// tests/oneoff.rs.

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        read_lines(std::io::BufReader::with_capacity(7, input), &mut |line| {
            lines.push(line);
            true
        });
        lines
    }

    #[test]
    fn lines_end_at_newlines_and_a_long_one_comes_in_pieces() {
        assert_eq!(lines_of(b"a\r\nbc\n\nlast"), ["a", "bc", "", "last"]);
        assert_eq!(lines_of(b""), Vec::<String>::new());
        let long = vec![b'x'; MAX_LINE * 2 + 5];
        let mut input = long.clone();
        input.extend_from_slice(b"\nnext\n");
        let pieces = lines_of(&input);
        assert_eq!(
            pieces.iter().map(String::len).collect::<Vec<_>>(),
            [MAX_LINE, MAX_LINE, 5, 4]
        );
        assert_eq!(lines_of(&[0xff, b'\n']), ["\u{fffd}"]);
    }

    #[test]
    fn reading_stops_when_told() {
        let mut seen = 0;
        read_lines(std::io::BufReader::new(&b"1\n2\n3\n"[..]), &mut |_| {
            seen += 1;
            seen < 2
        });
        assert_eq!(seen, 2);
    }
}
