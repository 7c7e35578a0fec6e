//! The pump: one thread that polls every instance's pipes, cuts what they print into lines,
//! formats them and hands whole batches to the writer's queue.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use super::format::{Formatter, Label, Stream};
use super::lines::{Line, LineBuffer};
use super::queue::Queue;
use crate::logs::Chunk;
use crate::logs::hub::Hub;

/// A partial line is shown once its stream has been quiet this long.
pub const PARTIAL_LINE_IDLE: Duration = Duration::from_millis(50);

const READ_SIZE: usize = 64 * 1024;
/// Reads of one stream per poll round, so one loud process cannot starve the others.
const READS_PER_ROUND: usize = 16;
/// A batch is handed to the writer once it is this big, even mid-round.
const BATCH_SIZE: usize = 1024 * 1024;
/// Lines are published to the hub (followers, drains) at least this often, even mid-round:
/// a drain's queue takes a loud round in several steps, its thread sending meanwhile.
const PUBLISH_EVERY: usize = 4096;

pub enum Command {
    /// Start reading an instance's output; a `held` one is not read until [`Command::Release`].
    Add {
        id: u64,
        label: Label,
        stdout: OwnedFd,
        stderr: Option<OwnedFd>,
        strip_cr: bool,
        held: bool,
    },
    /// Show one of dozen's lines, then start reading a held instance: its "started (pid N)"
    /// line comes before anything it prints.
    Release { id: u64, text: String },
    /// One of dozen's own lines, after everything instance `after` has printed so far.
    System { text: String, after: Option<u64> },
    /// One of the router's lines.
    Router { text: String },
    /// Read what is left, flush partial lines, close the queue and end the thread.
    Finish,
}

/// How the supervisor talks to the pump.
/// The pump has ended: the line it was given, back to be said another way.
#[derive(Debug, thiserror::Error)]
#[error("the output has ended")]
pub struct Ended(pub String);

pub struct Handle {
    tx: mpsc::Sender<Command>,
    wake: OwnedFd,
}

impl Handle {
    /// Another handle to the same pump (for the router's threads).
    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self {
            tx: self.tx.clone(),
            wake: self.wake.try_clone()?,
        })
    }

    pub fn send(&self, command: Command) {
        if self.tx.send(command).is_ok() {
            // A full wake pipe already means "wake up".
            let _ = rustix::io::write(&self.wake, &[1]);
        }
    }

    /// One of dozen's lines; the text back when the pump has ended.
    pub fn try_system(&self, text: String) -> Result<(), Ended> {
        match self.tx.send(Command::System { text, after: None }) {
            Ok(()) => {
                let _ = rustix::io::write(&self.wake, &[1]);
                Ok(())
            }
            Err(mpsc::SendError(Command::System { text, .. })) => Err(Ended(text)),
            Err(_) => Err(Ended(String::new())),
        }
    }

    pub fn system(&self, text: impl Into<String>, after: Option<u64>) {
        self.send(Command::System {
            text: text.into(),
            after,
        });
    }
}

struct Pipe {
    fd: OwnedFd,
    stream: Stream,
    buffer: LineBuffer,
    open: bool,
}

struct Source {
    id: u64,
    held: bool,
    label: Label,
    pipes: Vec<Pipe>,
    strip_cr: bool,
}

pub fn start(
    formatter: Formatter,
    queue: Queue,
    hub: Arc<Hub>,
) -> std::io::Result<(Handle, JoinHandle<()>)> {
    let (wake_read, wake_write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("dozen-pump".into())
        .spawn(move || {
            Pump {
                formatter,
                queue,
                hub,
                rx,
                wake: wake_read,
                sources: Vec::new(),
                batch: Batch::default(),
                buf: vec![0; READ_SIZE],
            }
            .run();
        })?;
    Ok((
        Handle {
            tx,
            wake: wake_write,
        },
        thread,
    ))
}

struct Pump {
    formatter: Formatter,
    queue: Queue,
    /// Where every line also goes as an event: `dozen logs` and the drains.
    hub: Arc<Hub>,
    rx: mpsc::Receiver<Command>,
    wake: OwnedFd,
    sources: Vec<Source>,
    batch: Batch,
    buf: Vec<u8>,
}

/// Lines cut since the last hand-over: formatted for stdout, and as a chunk for the hub.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    lines: Chunk,
}

impl Pump {
    fn run(mut self) {
        loop {
            let (ready, woken) = self.wait();
            self.formatter.tick();
            for (source, pipe) in ready {
                self.read(source, pipe, READS_PER_ROUND);
            }
            self.flush_idle();
            if woken && self.commands() {
                return;
            }
            self.sources.retain(|s| s.pipes.iter().any(|p| p.open));
            self.hand_over();
        }
    }

    /// Polls the wake pipe and every open pipe; returns the ready pipes and whether commands
    /// may be waiting.
    fn wait(&mut self) -> (Vec<(usize, usize)>, bool) {
        let now = Instant::now();
        let timeout = self
            .sources
            .iter()
            .flat_map(|s| &s.pipes)
            .filter_map(|p| p.buffer.last_data)
            .map(|t| (t + PARTIAL_LINE_IDLE).saturating_duration_since(now))
            .min()
            .map(|d| Timespec {
                tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: d.subsec_nanos().into(),
            });
        let mut index = Vec::new();
        let mut fds = vec![PollFd::new(&self.wake, PollFlags::IN)];
        for (s, source) in self.sources.iter().enumerate().filter(|(_, s)| !s.held) {
            for (p, pipe) in source.pipes.iter().enumerate().filter(|(_, p)| p.open) {
                fds.push(PollFd::new(&pipe.fd, PollFlags::IN));
                index.push((s, p));
            }
        }
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(_) => return (Vec::new(), false),
        }
        let woken = !fds[0].revents().is_empty();
        let ready = fds[1..]
            .iter()
            .zip(index)
            .filter(|(fd, _)| !fd.revents().is_empty())
            .map(|(_, i)| i)
            .collect();
        (ready, woken)
    }

    /// Reads one pipe until it would block (at most `rounds` reads), emitting whole lines.
    fn read(&mut self, source: usize, pipe: usize, rounds: usize) {
        let Self {
            formatter,
            sources,
            batch,
            buf,
            ..
        } = self;
        let source = &mut sources[source];
        let strip_cr = source.strip_cr;
        let label = &source.label;
        let pipe = &mut source.pipes[pipe];
        let stream = pipe.stream;
        for _ in 0..rounds {
            match rustix::io::read(&pipe.fd, &mut buf[..]) {
                Ok(0) | Err(Errno::IO) => {
                    // EOF (EIO is how a pseudo-terminal says it).
                    pipe.buffer
                        .flush(&mut |line| emit(formatter, batch, label, stream, line, strip_cr));
                    pipe.open = false;
                    return;
                }
                Ok(n) => {
                    pipe.buffer.push(&buf[..n], Instant::now(), &mut |line| {
                        emit(formatter, batch, label, stream, line, strip_cr);
                    });
                    if n < buf.len() {
                        return;
                    }
                }
                Err(Errno::AGAIN | Errno::INTR) => return,
                Err(_) => {
                    pipe.open = false;
                    return;
                }
            }
            if batch.text.len() >= BATCH_SIZE {
                self.queue.push(std::mem::take(&mut batch.text));
            }
            if batch.lines.len() >= PUBLISH_EVERY || batch.lines.bytes() >= BATCH_SIZE {
                self.hub.publish(batch.lines.take());
            }
        }
    }

    fn flush_idle(&mut self) {
        let now = Instant::now();
        let Self {
            formatter,
            sources,
            batch,
            ..
        } = self;
        for source in sources {
            for pipe in &mut source.pipes {
                if pipe
                    .buffer
                    .last_data
                    .is_some_and(|t| now.duration_since(t) >= PARTIAL_LINE_IDLE)
                {
                    let (label, stream, strip_cr) = (&source.label, pipe.stream, source.strip_cr);
                    pipe.buffer
                        .flush(&mut |line| emit(formatter, batch, label, stream, line, strip_cr));
                }
            }
        }
    }

    /// Handles queued commands; returns true when the pump must end.
    fn commands(&mut self) -> bool {
        let mut sink = [0u8; 256];
        while matches!(rustix::io::read(&self.wake, &mut sink), Ok(n) if n > 0) {}
        while let Ok(command) = self.rx.try_recv() {
            match command {
                Command::Add {
                    id,
                    label,
                    stdout,
                    stderr,
                    strip_cr,
                    held,
                } => {
                    let mut pipes = vec![pipe(stdout, Stream::Stdout)];
                    pipes.extend(stderr.map(|fd| pipe(fd, Stream::Stderr)));
                    self.sources.push(Source {
                        id,
                        held,
                        label,
                        pipes,
                        strip_cr,
                    });
                }
                Command::Release { id, text } => {
                    self.system_line(&text);
                    if let Some(source) = self.sources.iter_mut().find(|s| s.id == id) {
                        source.held = false;
                    }
                }
                Command::Router { text } => self.router_line(&text),
                Command::System { text, after } => {
                    if let Some(s) =
                        after.and_then(|id| self.sources.iter().position(|s| s.id == id))
                    {
                        self.drain(s);
                    }
                    self.system_line(&text);
                }
                Command::Finish => {
                    for s in 0..self.sources.len() {
                        self.drain(s);
                    }
                    self.hand_over();
                    self.queue.close();
                    return true;
                }
            }
        }
        false
    }

    /// One of the router's lines.
    fn router_line(&mut self, text: &str) {
        let label = self.formatter.router_label();
        self.own_line(&label, Stream::Router, text);
    }

    /// One of dozen's own lines.
    fn system_line(&mut self, text: &str) {
        let label = self.formatter.system_label();
        self.own_line(&label, Stream::System, text);
    }

    /// A whole line of dozen's (not of a process).
    fn own_line(&mut self, label: &Label, stream: Stream, text: &str) {
        let line = Line {
            bytes: text.as_bytes(),
            continued: false,
        };
        emit(
            &mut self.formatter,
            &mut self.batch,
            label,
            stream,
            line,
            false,
        );
    }

    /// Everything a finished process wrote is in its pipes already: read it all and show its
    /// last partial line.
    fn drain(&mut self, source: usize) {
        for pipe in 0..self.sources[source].pipes.len() {
            if self.sources[source].pipes[pipe].open {
                self.read(source, pipe, 1024);
            }
            let Self {
                formatter,
                sources,
                batch,
                ..
            } = self;
            let source = &mut sources[source];
            let (label, strip_cr) = (&source.label, source.strip_cr);
            let pipe = &mut source.pipes[pipe];
            let stream = pipe.stream;
            pipe.buffer
                .flush(&mut |line| emit(formatter, batch, label, stream, line, strip_cr));
        }
    }

    fn hand_over(&mut self) {
        if !self.batch.text.is_empty() {
            self.queue.push(std::mem::take(&mut self.batch.text));
        }
        if !self.batch.lines.is_empty() {
            self.hub.publish(self.batch.lines.take());
        }
    }
}

fn pipe(fd: OwnedFd, stream: Stream) -> Pipe {
    // Non-blocking, so a drain never waits on a pipe a grandchild keeps open.
    if let Ok(flags) = rustix::fs::fcntl_getfl(fd.as_fd()) {
        let _ = rustix::fs::fcntl_setfl(fd.as_fd(), flags | rustix::fs::OFlags::NONBLOCK);
    }
    Pipe {
        fd,
        stream,
        buffer: LineBuffer::default(),
        open: true,
    }
}

fn emit(
    formatter: &mut Formatter,
    batch: &mut Batch,
    label: &Label,
    stream: Stream,
    line: Line<'_>,
    strip_cr: bool,
) {
    let line = if strip_cr {
        Line {
            bytes: line.bytes.strip_suffix(b"\r").unwrap_or(line.bytes),
            ..line
        }
    } else {
        line
    };
    formatter.line(&mut batch.text, label, stream, line);
    batch.lines.push(
        formatter.now(),
        &label.name,
        stream,
        line.bytes,
        line.continued,
    );
}

#[cfg(test)]
mod tests {
    use super::super::format::LogFormat;
    use super::*;
    use std::io::Write as _;

    fn pump() -> (Handle, JoinHandle<()>, std::thread::JoinHandle<Vec<u8>>) {
        let formatter = Formatter::new(LogFormat::Text, false, false, 5);
        let queue = Queue::new(1 << 20);
        let writer = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                queue.write_all_to(&mut out, |_| {});
                out
            })
        };
        let (handle, thread) = start(
            formatter,
            queue,
            Arc::new(Hub::new(crate::logs::hub::Limits::default())),
        )
        .unwrap();
        (handle, thread, writer)
    }

    #[test]
    fn interleaved_writers_keep_their_lines_whole_and_the_exit_line_comes_last() {
        let (handle, thread, writer) = pump();
        let formatter = Formatter::new(LogFormat::Text, false, false, 5);
        let (a_read, mut a_write) = std::io::pipe().unwrap();
        let (b_read, mut b_write) = std::io::pipe().unwrap();
        handle.send(Command::Add {
            id: 1,
            label: formatter.label("a.1", 0),
            stdout: a_read.into(),
            stderr: None,
            strip_cr: false,
            held: false,
        });
        handle.send(Command::Add {
            id: 2,
            label: formatter.label("b.1", 1),
            stdout: b_read.into(),
            stderr: None,
            strip_cr: false,
            held: false,
        });
        let a = std::thread::spawn(move || {
            for i in 0..2000 {
                write!(a_write, "a{i:04}-").unwrap();
                writeln!(a_write, "{}", "x".repeat(100)).unwrap();
            }
            a_write.write_all(b"no newline").unwrap();
        });
        let b = std::thread::spawn(move || {
            for i in 0..2000 {
                writeln!(b_write, "b{i:04}").unwrap();
            }
        });
        a.join().unwrap();
        b.join().unwrap();
        handle.system("a.1 exited with code 0", Some(1));
        handle.send(Command::Finish);
        thread.join().unwrap();
        let out = String::from_utf8(writer.join().unwrap()).unwrap();
        let a_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("a.1")).collect();
        let b_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("b.1")).collect();
        assert_eq!(a_lines.len(), 2001);
        assert_eq!(b_lines.len(), 2000);
        for (i, line) in a_lines.iter().take(2000).enumerate() {
            assert_eq!(*line, format!("a.1   | a{i:04}-{}", "x".repeat(100)));
        }
        assert_eq!(a_lines[2000], "a.1   | no newline");
        let exit = out
            .lines()
            .position(|l| l == "dozen | a.1 exited with code 0")
            .unwrap();
        let last_a = out.lines().position(|l| l == "a.1   | no newline").unwrap();
        assert!(exit > last_a);
    }

    #[test]
    fn a_partial_line_is_shown_after_a_short_idle() {
        let (handle, thread, writer) = pump();
        let formatter = Formatter::new(LogFormat::Text, false, false, 5);
        let (read, mut write) = std::io::pipe().unwrap();
        handle.send(Command::Add {
            id: 1,
            label: formatter.label("a.1", 0),
            stdout: read.into(),
            stderr: None,
            strip_cr: false,
            held: false,
        });
        write.write_all(b"Password: ").unwrap();
        std::thread::sleep(PARTIAL_LINE_IDLE * 4);
        write.write_all(b"typed\n").unwrap();
        drop(write);
        std::thread::sleep(Duration::from_millis(20));
        handle.send(Command::Finish);
        thread.join().unwrap();
        assert_eq!(
            String::from_utf8(writer.join().unwrap()).unwrap(),
            "a.1   | Password: \na.1   | typed\n"
        );
    }
}
