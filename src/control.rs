//! The control socket of a running `dozen run`: where it lives, the JSON-lines protocol
//! `dozen scale`, `dozen ps` and the deploy commands speak, and the client. The server, in
//! the run, is `supervisor::server`. See docs/control.md.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::formation::ScaleChange;

/// The protocol version this dozen speaks.
pub const VERSION: u32 = 1;
/// The longest socket path Linux takes (`sun_path` is 108 bytes with its NUL).
pub(crate) const MAX_SOCKET_PATH: usize = 107;
/// How long a client waits for a reply: longer than the server takes to answer or refuse
/// (`REQUEST_DEADLINE` + `APPLY_MARGIN`), so the client always hears whether its request was
/// applied.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// A request the run has not begun to apply by this long after it arrived is not applied.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long the server waits past that deadline for the run's answer to a request it began.
pub const APPLY_MARGIN: Duration = Duration::from_secs(5);

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
    /// `dozen flags` changed the definitions file: the run reads it again and answers what
    /// changed (or why the file was not applied).
    Flags,
    /// `dozen top`: what `ps` answers, every `interval_ms`, as a stream of reply lines until
    /// the client goes or the run ends (docs/control.md).
    Top {
        #[serde(default = "default_top_interval")]
        interval_ms: u64,
    },
}

fn default_top_interval() -> u64 {
    1000
}

/// The shortest and longest interval between two `top` frames.
pub const TOP_INTERVALS: std::ops::RangeInclusive<u64> = 100..=60_000;

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
    pub state: CanaryState,
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

pub use crate::app::strategy::Strategy;

/// The words of the protocol's states, as enums on both sides of the socket: the JSON is the
/// words (`"backing off"`), and the text output prints them as they are.
macro_rules! wire_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

wire_words! {
    /// What an instance is doing.
    InstanceState {
        Waiting = "waiting",
        /// Started, not yet ready (its health check has not passed).
        Starting = "starting",
        /// Running and passing its health check.
        Ready = "ready",
        /// Running, with no health check.
        Running = "running",
        BackingOff = "backing off",
        /// Out of rotation, finishing its requests before it stops.
        Draining = "draining",
        Stopping = "stopping",
        /// Stopped by hand (`dozen stop`).
        Stopped = "stopped",
        /// Exited 0 and not restarted.
        Exited = "exited",
        Crashed = "crashed",
    }
}

wire_words! {
    /// An instance's health check.
    Health {
        None = "none",
        Pending = "pending",
        Passing = "passing",
        Failing = "failing",
        /// The instance never listened on its port.
        NotListening = "not listening",
    }
}

wire_words! {
    /// A blue-green or canary deploy's side an instance is on.
    Side {
        /// The side that served before the deploy.
        Stable = "stable",
        /// The new release's side.
        Candidate = "candidate",
    }
}

wire_words! {
    /// What a roll is.
    RollKind {
        Restart = "restart",
        /// A move to another release.
        Move = "move",
    }
}

wire_words! {
    /// Where a roll is.
    RollState {
        Running = "running",
        /// A move whose replacement failed: its moved instances go back.
        RollingBack = "rolling back",
        Done = "done",
        Failed = "failed",
    }
}

wire_words! {
    /// Where a canary is.
    CanaryState {
        Starting = "starting",
        Analysing = "analysing",
        Promoting = "promoting",
    }
}

/// One instance as `dozen ps` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub index: u32,
    pub state: InstanceState,
    pub pid: Option<u32>,
    pub port: u16,
    pub uptime_ms: Option<u64>,
    pub restarts: u32,
    pub health: Health,
    /// `vN`, or `dev` for `dozen run --dev`.
    pub release: String,
    /// During a blue-green deploy: `stable` (the side that served) or `candidate` (the new
    /// release's side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// CPU used over the last sample interval, in percent of one core (as `top`: 200 is two
    /// cores busy), summed over the instance's process group; null until two samples.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Resident memory of the instance's process group, in bytes; null when unknown.
    #[serde(default)]
    pub rss_bytes: Option<u64>,
}

/// How a run holds a type to one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    /// `RLIMIT_NOFILE`, set in the process before the command runs.
    Rlimit,
    /// Resident memory read from `/proc` each second: a warning at the quota (R14), a
    /// restart at twice it (R15).
    Watch,
    /// Not enforced: CPU cannot be capped without a cgroup.
    None,
}

/// A type's limits in `dozen ps`, each with how it is held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeLimits {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Limit<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Limit<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<Limit<u64>>,
}

/// One limit: its value (bytes, CPUs, files) and how it is held.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limit<T> {
    pub value: T,
    pub mechanism: Mechanism,
}

/// The latest restart or release move of the run, for clients that wait for it to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollStatus {
    /// Counts up with every restart or move the run begins.
    pub seq: u64,
    pub kind: RollKind,
    /// The release a move goes to (`vN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    pub state: RollState,
    /// The instance that did not come back, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Why it failed, when that was not an instance (a canary's analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A move's deploy record in the store (`deploys/dN.json`), which outlives the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<u64>,
}

impl RollStatus {
    /// Whether it has ended, one way or the other.
    pub fn ended(&self) -> bool {
        matches!(self.state, RollState::Done | RollState::Failed)
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
    /// A scale was applied, but the formation could not be stored (why): the next run starts
    /// with the counts stored before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_stored: Option<String>,
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
    /// A `top` frame's time: milliseconds since its stream began, by the run's clock (rates
    /// are over the run's time between two frames, however late they arrive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Each type with limits: the limits and how each is held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<TypeLimits>,
    /// `[schedule.NAME]` jobs: when each fires next and how its last run went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleStatus>,
    /// Where the run serves the app's flags over OFREP (`http://127.0.0.1:PORT`), if it does:
    /// what `dozen exec` gives its command as `OFREP_ENDPOINT` while the run serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ofrep: Option<String>,
}

/// A scheduled job in `dozen ps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    pub name: String,
    pub cron: String,
    /// The zone's IANA name (none for a machine zone without one).
    #[serde(default)]
    pub timezone: Option<String>,
    pub concurrency: String,
    /// The next fire, RFC 3339 in the schedule's zone (none: it never fires again).
    #[serde(default)]
    pub next: Option<String>,
    /// Runs going now.
    pub running: usize,
    #[serde(default)]
    pub last: Option<ScheduleRun>,
}

/// How a fire of a schedule ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleOutcome {
    /// Exited 0.
    Succeeded,
    /// Exited non-zero or was killed by a signal dozen did not send.
    Failed,
    /// Stopped by dozen at its `timeout`.
    TimedOut,
    /// Stopped by dozen for a newer fire (`concurrency = "replace"`).
    Replaced,
    /// Stopped by dozen because the run ended.
    Stopped,
    /// Not started: the previous run was still going (`concurrency = "forbid"`).
    Skipped,
    /// Not started: later than `starting_deadline` (after a pause).
    Missed,
    /// Could not be started.
    NotStarted,
}

impl ScheduleOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
            Self::Replaced => "replaced",
            Self::Stopped => "stopped",
            Self::Skipped => "skipped",
            Self::Missed => "missed",
            Self::NotStarted => "not-started",
        }
    }
}

/// A schedule's latest fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRun {
    /// When it was due, RFC 3339.
    pub due: String,
    pub outcome: ScheduleOutcome,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// The signal that ended it (`SIGTERM`), if one did.
    #[serde(default)]
    pub signal: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
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
    /// Done, with nothing else to say.
    pub fn ok() -> Self {
        Self {
            ok: true,
            error: None,
            ..Self::error("")
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            v: VERSION,
            ok: false,
            error: Some(message.into()),
            usage: false,
            message: None,
            not_stored: None,
            formation: indexmap::IndexMap::new(),
            instances: Vec::new(),
            roll: None,
            router: None,
            autoscale: Vec::new(),
            canary: None,
            logs: None,
            at_ms: None,
            limits: Vec::new(),
            schedules: Vec::new(),
            ofrep: None,
        }
    }
}

/// The directory of the run's files in the store.
pub(crate) fn run_dir(store: &Path) -> PathBuf {
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
    // A server that refuses at once (`too many connections`) answers and closes without
    // reading: the refusal is still there to read, and it is the answer.
    match (&stream).write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(io(e)),
        _ => {}
    }
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REPLY))
        .read_line(&mut line)
        .map_err(io)?;
    serde_json::from_str(&line).map_err(|e| {
        let shown: String = line.trim().chars().take(200).collect();
        ClientError::Io(std::io::Error::other(format!("bad reply `{shown}`: {e}")))
    })
}

/// The longest reply line a client reads (a run's `ps` of 100 types × 100 instances is a
/// few MiB); a longer one is cut, and so not a reply.
const MAX_REPLY: u64 = 16 * 1024 * 1024;

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
    fn a_refusal_sent_before_the_request_was_read_is_the_answer() {
        // A server that answers at once and closes without reading (`too many connections`):
        // a request larger than the socket's buffer cannot be written whole, and the client
        // still reads the refusal instead of failing on the broken pipe.
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        std::fs::create_dir(store.join("run")).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(socket_path(store).unwrap()).unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut line = serde_json::to_string(&Response::error("too many connections")).unwrap();
            line.push('\n');
            (&stream).write_all(line.as_bytes()).unwrap();
        });
        let changes = (0..20_000)
            .map(|i| ScaleChange {
                type_name: format!("type{i}"),
                op: ScaleOp::Set,
                count: 1,
            })
            .collect();
        let reply = request(
            store,
            &Request {
                v: VERSION,
                op: Op::Scale { changes },
            },
        )
        .unwrap();
        assert_eq!(reply.error.as_deref(), Some("too many connections"));
        server.join().unwrap();
    }
}
