//! The run's side of the control socket: binds it (mode 0600), lets only the same user or
//! root talk to it, reads one request line per connection within a deadline and a size, and
//! hands it to the runner — or, for `dozen logs`, streams the formation's lines.
//!
//! Bounded at every step, and nothing can block it: one thread accepts connections and reads
//! their request lines together (`poll`), each within its deadline; a fixed set of workers
//! answers requests; `dozen logs` readers, which stay as long as they like, have threads of
//! their own up to a limit, apart from the workers, so no number of readers keeps a request
//! from being answered.

use std::io::{Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::probes::Lane;
use crate::control::{Op, Request, Response, VERSION, run_dir, socket_path};

/// How long a connection may take to send its request line: an idle or slow client is cut
/// off at this point, and never delays another (all are read at once).
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// Connections reading their request line at once; one more is refused with an error line.
const MAX_CONNECTIONS: usize = 256;
/// A request line is small; a client sending more is refused.
const MAX_REQUEST: usize = 64 * 1024;
/// Threads that answer requests (each waits for the run's answer, at most its deadline).
const WORKERS: usize = 4;
/// Requests read and waiting for a worker, at most; one more is refused with an error line.
const WAITING: usize = 64;
/// `dozen logs` readers at once; one more is refused with an error line.
const MAX_READERS: usize = 256;

/// The socket a running `dozen run` listens on. Dropping it removes the socket file.
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Binds the socket. Call only while holding the run lock: any socket file already there
    /// is then a killed run's, and is replaced.
    pub fn bind(store: &Path) -> std::io::Result<Self> {
        let dir = run_dir(store);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let path = socket_path(store)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // The socket is created with the umask's mode: 0600 from the first moment.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let bound = UnixListener::bind(&path);
        rustix::process::umask(old);
        let listener = bound?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let record = dir.join("control.path");
        if path.parent() == Some(dir.as_path()) {
            let _ = std::fs::remove_file(&record);
        } else {
            crate::fsutil::write_atomic(&record, path.as_os_str().as_encoded_bytes(), 0o600)?;
        }
        Ok(Self { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections until the returned guard is dropped: each request is handed to
    /// `handle` (the runner, through its event channel) by one of the workers and its reply
    /// written back; a logs request is streamed from `logs`.
    pub fn serve(
        self,
        logs: Arc<crate::logs::hub::Hub>,
        handle: impl Fn(Request) -> Response + Send + Sync + 'static,
    ) -> std::io::Result<ServerGuard> {
        let listener = self.listener.try_clone()?;
        listener.set_nonblocking(true)?;
        let handle: Handle = Arc::new(handle);
        let answer = Arc::clone(&handle);
        let workers = Lane::new(
            "dozen-ctl-work",
            WORKERS,
            WAITING,
            move |(stream, request): (UnixStream, Request)| {
                let _ = reply(&stream, &answer(request));
            },
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let readers = Arc::new(AtomicUsize::new(0));
        let thread = std::thread::Builder::new()
            .name("dozen-control".into())
            .spawn(move || {
                let mut accept = Accept {
                    listener,
                    reading: Vec::new(),
                    workers,
                    logs,
                    readers,
                    handle,
                };
                while !stopping.load(Ordering::SeqCst) {
                    if accept.turn().is_err() {
                        // poll itself failed (out of memory): not a reason to spin.
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })?;
        Ok(ServerGuard {
            path: self.path,
            stop,
            thread: Some(thread),
        })
    }
}

/// What answers a request: the runner, through its event channel.
type Handle = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// A connection reading its request line.
struct Reading {
    stream: UnixStream,
    line: Vec<u8>,
    deadline: Instant,
}

/// How far reading a connection's request line has come.
enum Progress {
    More,
    Line,
    Failed(BadRequest),
    Gone,
}

impl Reading {
    fn read(&mut self) -> Progress {
        let mut buffer = [0u8; 4096];
        loop {
            match (&self.stream).read(&mut buffer) {
                // The end: what came is the request (a cut-short one is answered as bad).
                Ok(0) => return Progress::Line,
                Ok(n) => {
                    self.line.extend_from_slice(&buffer[..n]);
                    if let Some(end) = self.line.iter().position(|b| *b == b'\n') {
                        self.line.truncate(end);
                        return Progress::Line;
                    }
                    if self.line.len() > MAX_REQUEST {
                        return Progress::Failed(BadRequest::TooLong);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Progress::More,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Progress::Gone,
            }
        }
    }
}

/// The accepting thread's state: the listener, the connections reading their request, and
/// where complete requests go.
struct Accept {
    listener: UnixListener,
    reading: Vec<Reading>,
    workers: Lane<(UnixStream, Request)>,
    logs: Arc<crate::logs::hub::Hub>,
    readers: Arc<AtomicUsize>,
    handle: Handle,
}

impl Accept {
    /// Waits for a new connection, a request's bytes or a deadline, and deals with them.
    fn turn(&mut self) -> std::io::Result<()> {
        let now = Instant::now();
        let timeout = self
            .reading
            .iter()
            .map(|r| r.deadline.saturating_duration_since(now))
            .min()
            .map(|left| rustix::event::Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            });
        let ready: Vec<bool> = {
            let mut fds: Vec<rustix::event::PollFd<'_>> = std::iter::once(self.listener.as_fd())
                .chain(self.reading.iter().map(|r| r.stream.as_fd()))
                .map(|fd| rustix::event::PollFd::from_borrowed_fd(fd, rustix::event::PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            fds.iter().map(|fd| !fd.revents().is_empty()).collect()
        };
        // Connections first in, first read; the finished ones leave the list.
        let now = Instant::now();
        let mut kept = Vec::with_capacity(self.reading.len());
        for (mut reading, ready) in std::mem::take(&mut self.reading)
            .into_iter()
            .zip(&ready[1..])
        {
            let read = if *ready {
                reading.read()
            } else {
                Progress::More
            };
            match read {
                Progress::More if now >= reading.deadline => {
                    refuse(&reading.stream, &BadRequest::TooSlow.to_string());
                }
                Progress::More => kept.push(reading),
                Progress::Line => self.dispatch(reading),
                Progress::Failed(problem) => refuse(&reading.stream, &problem.to_string()),
                Progress::Gone => {}
            }
        }
        self.reading = kept;
        if ready[0] {
            self.accept_all();
        }
        Ok(())
    }

    /// Takes every connection waiting on the listener.
    fn accept_all(&mut self) {
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: none left; anything else (out of descriptors): the next turn.
                Err(_) => return,
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let own = rustix::process::getuid().as_raw();
            let Ok(peer) = rustix::net::sockopt::socket_peercred(&stream) else {
                continue;
            };
            if !peer_allowed(peer.uid.as_raw(), own) {
                refuse(
                    &stream,
                    &format!(
                        "uid {} may not control this run (it belongs to uid {own})",
                        peer.uid.as_raw()
                    ),
                );
            } else if self.reading.len() >= MAX_CONNECTIONS {
                refuse(
                    &stream,
                    &format!(
                        "too many connections to the control socket ({MAX_CONNECTIONS} at once); try again"
                    ),
                );
            } else {
                self.reading.push(Reading {
                    stream,
                    line: Vec::new(),
                    deadline: Instant::now() + READ_DEADLINE,
                });
            }
        }
    }

    /// A complete request line: to a worker, to a reader of its own, or answered at once.
    fn dispatch(&self, reading: Reading) {
        let Reading { stream, line, .. } = reading;
        let request = match parse_request(&line) {
            Ok(request) => request,
            Err(problem) => return refuse(&stream, &problem.to_string()),
        };
        if stream.set_nonblocking(false).is_err()
            || stream.set_write_timeout(Some(READ_DEADLINE)).is_err()
        {
            return;
        }
        match request.op {
            Op::Logs {
                n,
                follow,
                ps,
                source,
            } => {
                let logs = self.logs.clone();
                let filter = crate::logs::Filter { ps, source };
                self.stream_to(stream, "dozen-logs-conn", move |stream| {
                    crate::logs::follow::serve(stream, &logs, n, &filter, follow);
                });
                return;
            }
            Op::Top { interval_ms } => {
                let handle = self.handle.clone();
                self.stream_to(stream, "dozen-top-conn", move |stream| {
                    top_frames(stream, handle.as_ref(), interval_ms);
                });
                return;
            }
            _ => {}
        }
        if let Err((stream, _)) = self.workers.offer((stream, request)) {
            refuse(
                &stream,
                &format!("too many requests waiting ({WAITING}); try again"),
            );
        }
    }
}

impl Accept {
    /// A reader that stays (`dozen logs -f`, `dozen top`): served by `serve` on a thread of
    /// its own, up to [`MAX_READERS`] of them at once.
    fn stream_to(
        &self,
        stream: UnixStream,
        name: &str,
        serve: impl FnOnce(&UnixStream) + Send + 'static,
    ) {
        if self.readers.fetch_add(1, Ordering::SeqCst) >= MAX_READERS {
            self.readers.fetch_sub(1, Ordering::SeqCst);
            return refuse(
                &stream,
                &format!(
                    "too many `dozen logs` and `dozen top` readers ({MAX_READERS} at once); try again"
                ),
            );
        }
        let readers = self.readers.clone();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .stack_size(128 * 1024)
            .spawn(move || {
                serve(&stream);
                readers.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.readers.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// `dozen top`: what `ps` answers, a line every `interval_ms` (within [`TOP_INTERVALS`]),
/// until the client goes (a write fails or takes longer than its timeout) or the run ends
/// (its answer is an error, the last line sent).
fn top_frames(
    stream: &UnixStream,
    handle: &(dyn Fn(Request) -> Response + Send + Sync),
    interval_ms: u64,
) {
    let interval = Duration::from_millis(interval_ms.clamp(
        *crate::control::TOP_INTERVALS.start(),
        *crate::control::TOP_INTERVALS.end(),
    ));
    let start = Instant::now();
    loop {
        let began = Instant::now();
        let mut status = handle(Request {
            v: VERSION,
            op: Op::Ps,
        });
        status.at_ms = Some(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
        if reply(stream, &status).is_err() || !status.ok {
            return;
        }
        std::thread::sleep(interval.saturating_sub(began.elapsed()));
    }
}

/// Answers a connection with an error line at once, without waiting for a slow reader: the
/// line fits the socket's buffer of a fresh connection.
fn refuse(stream: &UnixStream, error: &str) {
    let _ = stream.set_nonblocking(true);
    let _ = reply(stream, &Response::error(error));
}

/// The server while it runs. Dropping it ends the accepting thread (requests being answered
/// finish on the workers, which then end) and removes the socket file.
pub struct ServerGuard {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // A connection of its own wakes the thread waiting in poll, which then sees the flag.
        let woke = UnixStream::connect(&self.path).is_ok();
        if let Some(thread) = self.thread.take()
            && woke
        {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a connection's peer may control this run: the same user, or root.
pub fn peer_allowed(peer_uid: u32, own_uid: u32) -> bool {
    peer_uid == own_uid || peer_uid == 0
}

fn reply(stream: &UnixStream, response: &Response) -> std::io::Result<()> {
    let mut text = serde_json::to_string(response).expect("serializable");
    text.push('\n');
    let mut writer = stream;
    writer.write_all(text.as_bytes())
}

/// A request line as a request, or what is wrong with it.
pub fn parse_request(line: &[u8]) -> Result<Request, BadRequest> {
    let text = std::str::from_utf8(line).map_err(BadRequest::NotUtf8)?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(BadRequest::NotJson)?;
    if value.get("v").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        return Err(BadRequest::Version(
            value
                .get("v")
                .map_or_else(|| "(none)".to_owned(), ToString::to_string),
        ));
    }
    serde_json::from_value::<Request>(value).map_err(BadRequest::Shape)
}

/// Why a connection's request is not answered as asked: said in its error reply.
#[derive(Debug, thiserror::Error)]
pub enum BadRequest {
    #[error("bad request: not UTF-8 ({0})")]
    NotUtf8(std::str::Utf8Error),
    #[error("bad request: {0}")]
    NotJson(serde_json::Error),
    /// Another protocol version (`(none)` when the line has no `v`).
    #[error("unsupported protocol version {0}")]
    Version(String),
    /// JSON of the right version, but not a request dozen knows.
    #[error("bad request: {0}")]
    Shape(serde_json::Error),
    #[error("bad request: a request line is at most {MAX_REQUEST} bytes")]
    TooLong,
    #[error("bad request: no request line within {}s", READ_DEADLINE.as_secs())]
    TooSlow,
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::os::unix::fs::MetadataExt as _;

    use super::*;
    use crate::control::{ClientError, MAX_SOCKET_PATH, Op, Request, request, socket_path};

    #[test]
    fn only_the_same_user_or_root() {
        assert!(peer_allowed(1000, 1000));
        assert!(peer_allowed(0, 1000));
        assert!(!peer_allowed(1001, 1000));
    }

    /// The tests count the server's threads by name: one server at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// What a test serves from: its turn, a store of its own and the log hub.
    struct Setup {
        _turn: std::sync::MutexGuard<'static, ()>,
        dir: tempfile::TempDir,
        store: std::path::PathBuf,
        hub: Arc<crate::logs::hub::Hub>,
    }

    fn setup() -> Setup {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let hub = Arc::new(crate::logs::hub::Hub::new(
            crate::logs::hub::Limits::default(),
        ));
        Setup {
            _turn: turn,
            dir,
            store,
            hub,
        }
    }

    #[test]
    fn serves_and_cleans_up_and_long_paths_fall_back() {
        // Every field bound: what a pattern leaves out is dropped at once (the turn, the
        // directory).
        let Setup {
            _turn,
            dir,
            store,
            hub,
        } = setup();
        // A stale socket file, as a SIGKILLed run leaves it.
        std::fs::create_dir(store.join("run")).unwrap();
        drop(UnixListener::bind(store.join("run/control.sock")).unwrap());
        assert!(matches!(
            request(&store, &Request { v: 1, op: Op::Ps }),
            Err(ClientError::NotRunning)
        ));
        let server = Server::bind(&store).unwrap();
        let path = server.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(store.join("run")).unwrap().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let guard = server
            .serve(hub.clone(), |request| {
                let mut reply = Response::error(format!("{:?}", request.op));
                reply.ok = true;
                reply
            })
            .unwrap();
        let reply = request(&store, &Request { v: 1, op: Op::Ps }).unwrap();
        assert!(reply.ok);
        assert_eq!(reply.error.as_deref(), Some("Ps"));
        // Another protocol version, or a line that is not a request, gets an error reply.
        for (line, error) in [
            (
                "{\"v\":2,\"op\":\"ps\"}\n",
                "unsupported protocol version 2",
            ),
            ("{\"v\":1,\"op\":\"fly\"}\n", "bad request"),
            ("not json\n", "bad request"),
        ] {
            let mut stream = UnixStream::connect(&path).unwrap();
            stream.write_all(line.as_bytes()).unwrap();
            let mut reply = String::new();
            BufReader::new(&stream).read_line(&mut reply).unwrap();
            let reply: Response = serde_json::from_str(&reply).unwrap();
            assert!(!reply.ok && reply.error.unwrap().contains(error), "{line}");
        }
        let accepting = || crate::supervisor::threads_named("dozen-control");
        let before = accepting();
        assert!(before >= 1);
        drop(guard);
        assert!(!path.exists());
        // The accept loop has ended with it (no other test here runs a server at once).
        assert_eq!(
            accepting(),
            before - 1,
            "the accept loop outlived its server"
        );

        let long = dir.path().join("x".repeat(120));
        std::fs::create_dir(&long).unwrap();
        let fallback = socket_path(&long).unwrap();
        assert!(fallback.as_os_str().len() <= MAX_SOCKET_PATH);
        assert!(!fallback.starts_with(&long));
        let guard = Server::bind(&long)
            .unwrap()
            .serve(hub, |_| Response::ok())
            .unwrap();
        assert!(request(&long, &Request { v: 1, op: Op::Ps }).unwrap().ok);
        drop(guard);
        assert!(matches!(
            request(&long, &Request { v: 1, op: Op::Ps }),
            Err(ClientError::NotRunning)
        ));
    }

    #[test]
    fn log_readers_never_hold_back_a_request_and_their_number_is_bounded() {
        let Setup {
            _turn,
            dir: _dir,
            store,
            hub,
        } = setup();
        let guard = Server::bind(&store)
            .unwrap()
            .serve(hub.clone(), |_| Response::ok())
            .unwrap();
        let path = socket_path(&store).unwrap();
        let follow = |stream: &mut UnixStream| {
            let line = serde_json::to_string(&Request {
                v: 1,
                op: Op::Logs {
                    n: 0,
                    follow: true,
                    ps: None,
                    source: None,
                },
            })
            .unwrap();
            stream.write_all(format!("{line}\n").as_bytes()).unwrap();
            let mut hello = String::new();
            BufReader::new(&*stream).read_line(&mut hello).unwrap();
            hello
        };
        // As many readers as allowed, each following the stream…
        let readers: Vec<UnixStream> = (0..MAX_READERS)
            .map(|_| {
                let mut stream = UnixStream::connect(&path).unwrap();
                let hello = follow(&mut stream);
                assert!(hello.contains("\"ok\":true"), "{hello}");
                stream
            })
            .collect();
        // …one more is told why it is refused…
        let mut more = UnixStream::connect(&path).unwrap();
        let refused = follow(&mut more);
        assert!(
            refused.contains("too many `dozen logs` and `dozen top` readers"),
            "{refused}"
        );
        // …and a request is answered at once all the same.
        let started = std::time::Instant::now();
        assert!(request(&store, &Request { v: 1, op: Op::Ps }).unwrap().ok);
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(readers);
        hub.close_followers();
        let workers = || crate::supervisor::threads_named("dozen-ctl-work");
        // Counted from /proc, where a thread's name is read as the kernel has it: looked at
        // again for a moment before it is said missing (CI once counted none here).
        let counted = std::time::Instant::now() + Duration::from_secs(1);
        while workers() == 0 && std::time::Instant::now() < counted {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(workers() >= 1, "a request was answered by a worker");
        drop(guard);
        // The workers end with the server (their queue is closed once the accepting thread
        // has ended).
        let ended = std::time::Instant::now() + Duration::from_secs(5);
        while workers() > 0 && std::time::Instant::now() < ended {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(workers(), 0, "the workers outlived their server");
    }

    #[test]
    fn top_streams_a_frame_an_interval_until_its_client_goes_or_the_run_ends() {
        let Setup {
            _turn,
            dir: _dir,
            store,
            hub,
        } = setup();
        let asked = Arc::new(AtomicUsize::new(0));
        let ending = Arc::new(AtomicBool::new(false));
        let (counted, ended) = (asked.clone(), ending.clone());
        let guard = Server::bind(&store)
            .unwrap()
            .serve(hub, move |request| {
                assert_eq!(request.op, Op::Ps, "a frame is what ps answers");
                counted.fetch_add(1, Ordering::SeqCst);
                if ended.load(Ordering::SeqCst) {
                    return Response::error("the run is ending");
                }
                Response::ok()
            })
            .unwrap();
        let subscribe = |interval_ms| {
            let mut stream = UnixStream::connect(socket_path(&store).unwrap()).unwrap();
            let line = serde_json::to_string(&Request {
                v: 1,
                op: Op::Top { interval_ms },
            })
            .unwrap();
            stream.write_all(format!("{line}\n").as_bytes()).unwrap();
            BufReader::new(stream)
        };
        // An interval shorter than the shortest is the shortest: 100 ms, not a busy loop.
        let started = Instant::now();
        let mut frames = subscribe(1);
        for _ in 0..4 {
            let mut line = String::new();
            frames.read_line(&mut line).unwrap();
            assert!(line.contains("\"ok\":true"), "{line}");
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        // The client goes: its thread ends at its next frame, and asks nothing more.
        drop(frames);
        let streams = || crate::supervisor::threads_named("dozen-top-conn");
        let gone = Instant::now() + Duration::from_secs(5);
        while streams() > 0 && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(streams(), 0, "a stream outlived its client");
        let after = asked.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(asked.load(Ordering::SeqCst), after);
        // The run ends: its error is the last line.
        let mut frames = subscribe(100);
        ending.store(true, Ordering::SeqCst);
        let mut lines = String::new();
        frames.read_to_string(&mut lines).unwrap();
        assert_eq!(lines.lines().count(), 1, "{lines}");
        assert!(lines.contains("the run is ending"), "{lines}");
        drop(guard);
    }
}
