//! The run's side of the control socket: binds it (mode 0600), lets only the same user or
//! root talk to it, reads one request line per connection within a deadline and a size, and
//! hands it to the runner — or, for `dozen logs`, streams the formation's lines.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::control::{Op, Request, Response, VERSION, run_dir, socket_path};

/// How long a connection may take to send its request line: an idle or slow client is cut
/// off at this point, and never delays another (each connection has a thread of its own).
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// Connections served at once; more are refused with an error line at once.
const MAX_CONNECTIONS: usize = 256;
/// A request line is small; a client sending more is refused.
const MAX_REQUEST: usize = 64 * 1024;

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

    /// Serves connections: an accept loop on a thread of its own, and a short-lived thread
    /// per connection (at most [`MAX_CONNECTIONS`] at once; more are refused with an error
    /// line), so an idle or slow client never delays another. Each request is handed to
    /// `handle` (the runner, through its event channel) and its reply written back.
    pub fn serve(
        self,
        logs: std::sync::Arc<crate::logs::hub::Hub>,
        handle: impl Fn(Request) -> Response + Send + Sync + 'static,
    ) -> std::io::Result<ServerGuard> {
        let listener = self.listener.try_clone()?;
        let handle = std::sync::Arc::new(handle);
        let active = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("dozen-control".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    accept(stream, &handle, &logs, &active);
                }
            })?;
        Ok(ServerGuard {
            path: self.path,
            stop,
            thread: Some(thread),
        })
    }
}

fn accept<H: Fn(Request) -> Response + Send + Sync + 'static>(
    stream: UnixStream,
    handle: &std::sync::Arc<H>,
    logs: &std::sync::Arc<crate::logs::hub::Hub>,
    active: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::Ordering;
    if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        active.fetch_sub(1, Ordering::SeqCst);
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = reply(
            &stream,
            &Response::error(format!(
                "too many connections to the control socket ({MAX_CONNECTIONS} at once); try again"
            )),
        );
        return;
    }
    let (handle, logs, done) = (handle.clone(), logs.clone(), active.clone());
    let spawned = std::thread::Builder::new()
        .name("dozen-control-conn".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let _ = answer(&stream, &*handle, &logs);
            done.fetch_sub(1, Ordering::SeqCst);
        });
    if spawned.is_err() {
        active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server while it runs. Dropping it ends the accept loop (connections being answered
/// finish on their own threads) and removes the socket file.
pub struct ServerGuard {
    path: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // A connection of its own wakes the loop blocked in accept, which then sees the flag.
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

/// Reads one request line within [`READ_DEADLINE`] (the whole line, not each read) and at
/// most [`MAX_REQUEST`] bytes.
fn read_request(stream: &UnixStream) -> Result<Vec<u8>, String> {
    let deadline = std::time::Instant::now() + READ_DEADLINE;
    let mut line = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no request line within {}s",
                READ_DEADLINE.as_secs()
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let n = match std::io::Read::read(&mut &*stream, &mut buffer) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        if n == 0 {
            return Ok(line);
        }
        line.extend_from_slice(&buffer[..n]);
        if let Some(end) = line.iter().position(|b| *b == b'\n') {
            line.truncate(end);
            return Ok(line);
        }
        if line.len() > MAX_REQUEST {
            return Err(format!("a request line is at most {MAX_REQUEST} bytes"));
        }
    }
}

/// Answers one connection: every request gets exactly one reply line, a malformed one too.
/// A logs request is answered as a stream instead (`logs::follow`).
fn answer(
    stream: &UnixStream,
    handle: &impl Fn(Request) -> Response,
    logs: &crate::logs::hub::Hub,
) -> std::io::Result<()> {
    let own = rustix::process::getuid().as_raw();
    let peer = rustix::net::sockopt::socket_peercred(stream)?;
    stream.set_write_timeout(Some(READ_DEADLINE))?;
    let response = if peer_allowed(peer.uid.as_raw(), own) {
        match read_request(stream).map(|line| parse_request(&line)) {
            Ok(Ok(Request {
                op:
                    Op::Logs {
                        n,
                        follow,
                        ps,
                        source,
                    },
                ..
            })) => {
                let filter = crate::logs::Filter { ps, source };
                crate::logs::follow::serve(stream, logs, n, &filter, follow);
                return Ok(());
            }
            Ok(request) => request.map_or_else(Response::error, handle),
            Err(problem) => Response::error(format!("bad request: {problem}")),
        }
    } else {
        Response::error(format!(
            "uid {} may not control this run (it belongs to uid {own})",
            peer.uid.as_raw()
        ))
    };
    reply(stream, &response)
}

/// A request line as a request, or what is wrong with it.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let text = std::str::from_utf8(line).map_err(|e| format!("bad request: not UTF-8 ({e})"))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("bad request: {e}"))?;
    if value.get("v").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        return Err(format!(
            "unsupported protocol version {}",
            value
                .get("v")
                .map_or_else(|| "(none)".to_owned(), ToString::to_string)
        ));
    }
    serde_json::from_value::<Request>(value).map_err(|e| format!("bad request: {e}"))
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

    #[test]
    fn serves_and_cleans_up_and_long_paths_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
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
        let hub = std::sync::Arc::new(crate::logs::hub::Hub::new(
            crate::logs::hub::Limits::default(),
        ));
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
            .serve(hub, |_| {
                let mut reply = Response::error("");
                reply.ok = true;
                reply
            })
            .unwrap();
        assert!(request(&long, &Request { v: 1, op: Op::Ps }).unwrap().ok);
        drop(guard);
        assert!(matches!(
            request(&long, &Request { v: 1, op: Op::Ps }),
            Err(ClientError::NotRunning)
        ));
    }
}
