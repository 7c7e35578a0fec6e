//! The control socket of a running `dozen run`: where it lives, who may talk to it, and the
//! JSON-lines protocol `dozen scale` and `dozen ps` speak. See docs/control.md.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::formation::ScaleChange;

/// The protocol version this dozen speaks.
pub const VERSION: u32 = 1;
/// The longest socket path Linux takes (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long a client waits for a reply: longer than the server takes to answer or refuse
/// (`REQUEST_DEADLINE` + `APPLY_MARGIN`), so the client always hears whether its request was
/// applied.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a connection may take to send its request line: an idle or slow client is cut
/// off at this point, and never delays another (each connection has a thread of its own).
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// A request the run has not begun to apply by this long after it arrived is not applied.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long the server waits past that deadline for the run's answer to a request it began.
pub const APPLY_MARGIN: Duration = Duration::from_secs(5);
/// Connections served at once; more are refused with an error line at once.
const MAX_CONNECTIONS: usize = 256;
/// A request line is small; a client sending more is refused.
const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    #[serde(flatten)]
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    Ps,
    /// `dozen logs`: the last `n` lines, then (with `follow`) every new one; answered as a
    /// stream (`logs::follow`), not one reply.
    Logs {
        #[serde(default)]
        n: usize,
        #[serde(default)]
        follow: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ps: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<crate::logs::Source>,
    },
    /// `dozen drains add|remove` changed the stored drains: the run starts and stops drains to
    /// match.
    Drains,
    Scale {
        changes: Vec<ScaleChange>,
    },
    /// A type (`web`), an instance (`web.2`), or everything (`null`).
    Restart {
        target: Option<String>,
    },
    Stop {
        target: Option<String>,
    },
    /// Release N became current: a run following the current release moves to it.
    Move {
        release: u32,
        /// How (docs/deploy.md); a client that does not say gets a rolling move.
        #[serde(default)]
        strategy: Strategy,
        /// Blue-green: how long the old side stays, idle, after the switch (milliseconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_old_ms: Option<u64>,
        /// Canary: its steps and thresholds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        canary: Option<CanaryPlan>,
        /// Blue-green: a command run against the new side before the switch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        smoke: Option<Smoke>,
    },
    /// `dozen canary status|promote|abort`.
    Canary {
        action: CanaryAction,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CanaryAction {
    Status,
    Promote,
    Abort,
}

/// Blue-green's smoke test (`[deploy] smoke`): run with `sh -c` in the new release's
/// environment and `ROUTER` (the router's address) before the switch; exit 0 passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smoke {
    pub command: String,
    pub timeout_ms: u64,
}

/// A canary's steps and what its analysis allows (`[deploy]`, docs/deploy.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryPlan {
    /// The canary's share at each step, in percent.
    pub steps: Vec<u32>,
    pub interval_ms: u64,
    /// Canary instances before promotion.
    pub instances: u32,
    /// Percent of requests.
    pub max_error_rate: f64,
    /// Percentage points above the stable side's rate.
    pub max_error_rate_increase: f64,
    pub max_p99_ms: Option<u64>,
    /// Times the stable side's p99.
    pub max_p99_ratio: f64,
    /// Requests the canary must serve in a step for it to be judged.
    pub min_requests: u64,
}

impl Default for CanaryPlan {
    fn default() -> Self {
        Self {
            steps: vec![10, 25, 50],
            interval_ms: 30_000,
            instances: 1,
            max_error_rate: 1.0,
            max_error_rate_increase: 0.5,
            max_p99_ms: None,
            max_p99_ratio: 1.5,
            min_requests: 20,
        }
    }
}

/// A canary's live comparison (`dozen canary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryStatus {
    pub release: String,
    /// `starting`, `analysing`, `promoting`.
    pub state: String,
    /// 1-based; 0 while starting.
    pub step: usize,
    pub steps: Vec<u32>,
    pub weight_percent: f64,
    /// Time left in the step.
    pub step_left_ms: u64,
    pub stable: SideReport,
    pub canary: SideReport,
    pub plan: CanaryPlan,
}

/// What the router measured of one side in the current step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideReport {
    pub requests: u64,
    pub errors: u64,
    /// Percent.
    pub error_rate: f64,
    pub p99_ms: Option<f64>,
}

/// How a running formation moves to a new release (docs/deploy.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Instance by instance, each old one drained before it stops.
    #[default]
    Rolling,
    /// A whole second side of the routed type, switched to at once when all of it is ready.
    BlueGreen,
    /// A few instances of the new release get a growing share, compared with the stable
    /// side at each step; promoted when every step passes, aborted at a breach.
    Canary,
}

/// One instance as `dozen ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub index: u32,
    /// `waiting`, `starting`, `ready`, `backing off`, `stopping`, `crashed`.
    pub state: String,
    pub pid: Option<u32>,
    pub port: u16,
    pub uptime_ms: Option<u64>,
    pub restarts: u32,
    /// `none`, `pending`, `passing`, `failing`.
    pub health: String,
    /// `vN`, or `dev` for `dozen run --dev`.
    pub release: String,
    /// During a blue-green deploy: `stable` (the side that served) or `candidate` (the new
    /// release's side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
}

/// The latest restart or release move of the run, for clients that wait for it to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollStatus {
    /// Counts up with every restart or move the run begins.
    pub seq: u64,
    /// `restart` or `move`.
    pub kind: String,
    /// The release a move goes to (`vN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// `running`, `rolling back` (a move whose replacement failed, its moved instances going
    /// back), `done`, or `failed`.
    pub state: String,
    /// The instance that did not come back, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Why it failed, when that was not an instance (a canary's analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RollStatus {
    /// Whether it has ended, one way or the other.
    pub fn ended(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error is about the request itself (an unknown type, a count out of range), not
    /// about the run: the client exits 2 for it, as for any usage error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage: bool,
    /// What the run did, for the client to print (`restarting web.1, web.2, one at a time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The formation after the request, in Procfile order.
    #[serde(default)]
    pub formation: indexmap::IndexMap<String, u32>,
    #[serde(default)]
    pub instances: Vec<InstanceStatus>,
    /// The latest restart or move (none yet: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll: Option<RollStatus>,
    /// The router, when the run has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<crate::router::Status>,
    /// Each autoscaled type's policy and what it last measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autoscale: Vec<AutoscaleStatus>,
    /// A canary release under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStatus>,
    /// Where the stream goes besides the terminal: the ring buffer and each drain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsStatus>,
}

/// The stream's readers in `dozen ps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsStatus {
    /// Lines and bytes in the ring buffer.
    pub buffered_lines: usize,
    pub buffered_bytes: usize,
    /// `dozen logs -f` readers.
    pub followers: usize,
    pub drains: Vec<crate::logs::drain::Status>,
}

/// An autoscaled type in `dozen ps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleStatus {
    #[serde(rename = "type")]
    pub type_name: String,
    pub min: u32,
    pub max: u32,
    /// `in-flight` or `rps`.
    pub metric: String,
    pub target: f64,
    /// The metric's last value per instance (none before the first second).
    pub measured: Option<f64>,
    /// How long a scale-down waits for the load to stay low, in seconds.
    pub scale_down_window_s: u64,
    /// The last change it made and the measurement behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<String>,
}

impl Response {
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            v: VERSION,
            ok: false,
            error: Some(message.into()),
            usage: false,
            message: None,
            formation: indexmap::IndexMap::new(),
            instances: Vec::new(),
            roll: None,
            router: None,
            autoscale: Vec::new(),
            canary: None,
            logs: None,
        }
    }
}

/// The directory of the run's files in the store.
fn run_dir(store: &Path) -> PathBuf {
    store.join("run")
}

/// Where the socket of the run using `store` is: in the store, or (when that path is too long
/// for a socket) in a private runtime directory, named by a hash of the store's path.
pub fn socket_path(store: &Path) -> std::io::Result<PathBuf> {
    let preferred = run_dir(store).join("control.sock");
    if preferred.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok(preferred);
    }
    let runtime = private_runtime_dir()?;
    let absolute = std::path::absolute(store)?;
    let hash = blake3::hash(absolute.as_os_str().as_encoded_bytes()).to_hex();
    Ok(runtime.join(format!("{}.sock", &hash[..16])))
}

/// `$XDG_RUNTIME_DIR/dozen`, else `/tmp/dozen-<uid>`: created `0700`, and refused when it
/// belongs to someone else or others may write to it.
fn private_runtime_dir() -> std::io::Result<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || std::env::temp_dir().join(format!("dozen-{uid}")),
            |d| PathBuf::from(d).join("dozen"),
        );
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is not a private directory of this user",
            dir.display()
        )));
    }
    Ok(dir)
}

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
        std::thread::Builder::new()
            .name("dozen-control".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    accept(stream, &handle, &logs, &active);
                }
            })?;
        Ok(ServerGuard { path: self.path })
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

/// Removes the socket file when the run ends.
pub struct ServerGuard {
    path: PathBuf,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
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
fn parse_request(line: &[u8]) -> Result<Request, String> {
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

/// Why a client could not get an answer.
#[derive(Debug)]
pub enum ClientError {
    /// No `dozen run` is listening for this app.
    NotRunning,
    Io(std::io::Error),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRunning => write!(f, "no `dozen run` is running this app"),
            Self::Io(e) => write!(f, "cannot talk to the running `dozen run`: {e}"),
        }
    }
}

/// Connects to the run using `store`.
pub fn connect(store: &Path) -> Result<UnixStream, ClientError> {
    let recorded = std::fs::read(run_dir(store).join("control.path"))
        .ok()
        .map(|bytes| PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()));
    let path = match recorded {
        Some(path) => path,
        None => socket_path(store).map_err(ClientError::Io)?,
    };
    match UnixStream::connect(&path) {
        Ok(stream) => Ok(stream),
        // No file: never started here; refused: a killed run's leftover.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Err(ClientError::NotRunning)
        }
        Err(e) => Err(ClientError::Io(e)),
    }
}

/// Sends one request to the run using `store` and reads its reply.
pub fn request(store: &Path, request: &Request) -> Result<Response, ClientError> {
    let stream = connect(store)?;
    let io = ClientError::Io;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).map_err(io)?;
    let mut text = serde_json::to_string(request).expect("serializable");
    text.push('\n');
    (&stream).write_all(text.as_bytes()).map_err(io)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(io)?;
    serde_json::from_str(&line).map_err(|e| {
        ClientError::Io(std::io::Error::other(format!(
            "bad reply `{}`: {e}",
            line.trim()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::formation::ScaleOp;

    #[test]
    fn protocol_lines() {
        let request = Request {
            v: 1,
            op: Op::Scale {
                changes: vec![ScaleChange {
                    type_name: "web".into(),
                    op: ScaleOp::Add,
                    count: 2,
                }],
            },
        };
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(
            text,
            r#"{"v":1,"op":"scale","changes":[{"type":"web","op":"+","count":2}]}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"v":1,"op":"ps"}"#)
                .unwrap()
                .op,
            Op::Ps
        );
        let error = serde_json::to_string(&Response::error("nope")).unwrap();
        assert_eq!(
            error,
            r#"{"v":1,"ok":false,"error":"nope","formation":{},"instances":[]}"#
        );
    }

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
        drop(guard);
        assert!(!path.exists());

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
