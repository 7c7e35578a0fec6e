//! `dozen audit --probe`: runs each process type of a copy of the app, one instance at a time,
//! and reports what it did — bound `$PORT` or not, stopped on SIGTERM in time or not,
//! daemonized, wrote files into its own directory. See docs/probe.md.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use serde::Serialize;

use super::finding::Finding;
use super::rule::Rule;
use super::rules;
use crate::app::procfile::ProcessType;
use crate::supervisor::reaper;

/// Types without a port are "up" once they have run this long without exiting.
const SETTLE: Duration = Duration::from_secs(1);
/// Ready, but only after this long: worth a note.
const SLOW_START: Duration = Duration::from_secs(10);
/// How long a type started without a config key has to exit (or the boot timeout, when
/// shorter).
const FAIL_FAST: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

pub struct Options {
    pub boot_timeout: Duration,
    pub grace: Duration,
    /// Start each type once per config key, with the key removed.
    pub strip_config: bool,
    /// The root is a release's build tree: copy all of it (its build outputs are the app,
    /// whatever its `.gitignore` says).
    pub whole_tree: bool,
}

/// Dependency directories an app runs with that git ignores: linked into the probe's copy
/// (not copied; the copy's snapshot does not follow links) so the app starts as `dozen run
/// --dev` would start it.
const DEPENDENCY_DIRS: [&str; 6] = [
    "node_modules",
    ".venv",
    "venv",
    "vendor/bundle",
    ".bundle",
    "vendor",
];

/// What one type did under the probe (the JSON report's `probe` objects).
#[derive(Debug, Clone, Serialize)]
pub struct TypeProbe {
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its Procfile line.
    pub line: usize,
    pub port: u16,
    pub started: bool,
    pub ready_ms: Option<u64>,
    pub stop_ms: Option<u64>,
    /// `exit 3`, `signal 15`, or none while it ran.
    pub exit: Option<String>,
    /// Ports its processes listened on.
    pub bound: Vec<u16>,
    pub output_bytes: u64,
    /// Files it created or changed in the app's copy.
    pub files: Vec<String>,
}

/// Probes every type of `procfile` (the `release` entry excluded) in a copy of `root`, with
/// `env` as the environment (config over the inherited one) and `keys` the config's keys.
pub fn probe(
    root: &Path,
    procfile_path: &str,
    types: &[ProcessType],
    health: &dyn Fn(&str) -> bool,
    env: &[(String, String)],
    keys: &[String],
    options: &Options,
) -> std::io::Result<(Vec<TypeProbe>, Vec<Finding>)> {
    reaper::become_subreaper()?;
    let copy = TempDir::new()?;
    copy_app(root, copy.path(), options.whole_tree)?;
    let mut probes = Vec::new();
    let mut findings = Vec::new();
    for process in types {
        let at = Anchor {
            procfile: procfile_path,
            line: process.line,
        };
        let needs_port = process.name == "web" || health(&process.name);
        let (probe, found) = probe_type(copy.path(), process, needs_port, env, options, &at)?;
        probes.push(probe);
        findings.extend(found);
        if options.strip_config {
            for key in keys {
                let without: Vec<(String, String)> =
                    env.iter().filter(|(k, _)| k != key).cloned().collect();
                let limit = FAIL_FAST.min(options.boot_timeout);
                if let Some(finding) = fail_fast(copy.path(), process, &without, key, limit, &at)? {
                    findings.push(finding);
                }
            }
        }
    }
    Ok((probes, findings))
}

/// The probe's copy of the app: a private directory under the temporary one, removed after.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        remove_stale_copies();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("dozen-probe-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

/// Copies left by probes that were killed (`dozen-probe-PID-…` whose PID is gone).
fn remove_stale_copies() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("dozen-probe-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt as _;
            m.uid() == rustix::process::getuid().as_raw()
        });
        if ours && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a type's findings point: its Procfile line.
struct Anchor<'a> {
    procfile: &'a str,
    line: usize,
}

impl Anchor<'_> {
    fn finding(&self, rule: &'static Rule, message: String, evidence: &str) -> Finding {
        Finding::new(
            rule,
            self.procfile,
            (self.line, 1),
            message,
            evidence,
            false,
        )
    }
}

/// The app's files (what `dozen build` would take, or a release's whole tree) copied into
/// `to`, its ignored dependency directories linked.
fn copy_app(root: &Path, to: &Path, whole_tree: bool) -> std::io::Result<()> {
    let files = if whole_tree {
        crate::build::source::walk_everything(root)
    } else {
        crate::build::source::walk_with_env_files(root)
    }
    .map_err(std::io::Error::other)?;
    crate::build::source::copy_files(&files, root, to)
        .map_err(|(path, e)| std::io::Error::new(e.kind(), format!("cannot copy {path}: {e}")))?;
    for dir in DEPENDENCY_DIRS {
        let (from, into) = (root.join(dir), to.join(dir));
        if from.is_dir() && std::fs::symlink_metadata(&into).is_err() {
            // Absolute: a relative root (`.`) would make the link point at itself.
            let from = std::fs::canonicalize(&from)?;
            if let Some(parent) = into.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink(&from, &into)?;
        }
    }
    Ok(())
}

/// Every regular file under `dir`: relative path → (size, mtime in ns).
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, i128)> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                let relative = entry
                    .path()
                    .strip_prefix(dir)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                found.insert(
                    relative,
                    (meta.len(), crate::build::source::mtime_ns(&meta)),
                );
            }
        }
    }
    found
}

/// A port nothing listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// Output read on a thread: bytes seen, the last few KiB, and how many of the streams ended.
#[derive(Default)]
struct Output {
    bytes: u64,
    tail: Vec<u8>,
    ended: u8,
}

/// The tail once both streams are drained (at most `wait`: a process left behind may hold a
/// pipe open). Read before that, an exited command's last words may still be in the pipe.
fn drained_tail(output: &Mutex<Output>, wait: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let done = output.lock().map_or(true, |o| o.ended >= 2);
        if done || std::time::Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    output
        .lock()
        .map(|o| String::from_utf8_lossy(&o.tail).trim().to_owned())
        .unwrap_or_default()
}

fn read_output(mut stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Output>>) {
    std::thread::spawn(move || {
        let mut buffer = [0; 8192];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if let Ok(mut output) = into.lock() {
                output.bytes += n as u64;
                output.tail.extend_from_slice(&buffer[..n]);
                let excess = output.tail.len().saturating_sub(4096);
                output.tail.drain(..excess);
            }
        }
        if let Ok(mut output) = into.lock() {
            output.ended += 1;
        }
    });
}

fn spawn(
    dir: &Path,
    process: &ProcessType,
    env: &[(String, String)],
    port: u16,
) -> std::io::Result<(Child, Arc<Mutex<Output>>)> {
    let name = format!("{}.1", process.name);
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(crate::app::profile_d::start_script(
            &process.command,
            crate::app::profile_d::has_scripts(dir),
        ))
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PORT", port.to_string())
        .env("PS", &name)
        .env("DOZEN_PROCESS", &name)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let output = Arc::new(Mutex::new(Output::default()));
    if let Some(stdout) = child.stdout.take() {
        read_output(stdout, output.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        read_output(stderr, output.clone());
    }
    Ok((child, output))
}

/// `exit 3` / `signal 15`.
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "ended".to_owned(),
    }
}

/// Live processes that are ours, other than threads: the child's tree, and orphans it left
/// (which come to us, the subreaper).
fn ours() -> Vec<Pid> {
    reaper::descendants(rustix::process::getpid())
}

/// Ports processes listen on (TCP, IPv4 and IPv6), from their socket inodes.
pub fn listening_ports(pids: &[Pid]) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    for pid in pids {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{}/fd", pid.as_raw_nonzero())) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let target = target.to_string_lossy();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, …, st (0A is LISTEN), …, inode (the tenth field).
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                if let Some(port) = fields[1]
                    .rsplit(':')
                    .next()
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                {
                    ports.push(port);
                }
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

fn accepts(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(100),
    )
    .is_ok()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Ends everything the probe of one type left: its group, then any descendant.
fn end_all(pgid: i32) {
    if let Some(group) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(group, Signal::KILL);
    }
    reaper::end_descendants(Duration::from_millis(500));
}

/// Boot: until the type accepts connections on `port` (or has run `SETTLE` without a port),
/// exits, or the boot timeout passes.
enum Boot {
    Up(Duration),
    Exited(std::process::ExitStatus),
    TimedOut,
}

/// How long the set of processes must stay the same before a booted app counts as settled.
const QUIET: Duration = Duration::from_millis(500);
/// The longest the probe waits for that.
const SETTLE_AT_MOST: Duration = Duration::from_secs(10);

/// Waits, once the app is up, until it stops starting processes: a preforking server
/// (gunicorn, puma, unicorn) binds in its master and then boots its workers, and a SIGTERM
/// in the middle of that measures a slow stop `dozen run` never sees.
fn settle(left: Duration) {
    let limit = Instant::now() + left.min(SETTLE_AT_MOST);
    let mut last = ours().len();
    let mut quiet_since = Instant::now();
    while Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(50));
        let now = ours().len();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= QUIET {
            return;
        }
    }
}

fn boot(
    child: &mut Child,
    port: u16,
    needs_port: bool,
    timeout: Duration,
) -> std::io::Result<Boot> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Boot::Exited(status));
        }
        let elapsed = start.elapsed();
        if needs_port && accepts(port) || !needs_port && elapsed >= SETTLE {
            let up = start.elapsed();
            settle(timeout.saturating_sub(up));
            return Ok(Boot::Up(up));
        }
        if elapsed >= timeout {
            return Ok(Boot::TimedOut);
        }
        std::thread::sleep(POLL);
    }
}

/// The command ended before it was up: daemonized (it succeeded and left processes behind)
/// or could not start (the last line of its output says why).
fn exited_during_boot(
    probe: &mut TypeProbe,
    status: std::process::ExitStatus,
    output: &Mutex<Output>,
    at: &Anchor<'_>,
) -> Finding {
    let name = &probe.type_name;
    reaper::reap_exited();
    let left = ours();
    if status.success() && !left.is_empty() {
        probe.started = true;
        probe.bound = listening_ports(&left);
        return at.finding(
            &rules::concurrency::PROBE_DAEMONIZED,
            format!(
                "`{name}` exited at once and left {} process{} running: it daemonized",
                left.len(),
                if left.len() == 1 { "" } else { "es" }
            ),
            "exit 0",
        );
    }
    let tail = drained_tail(output, std::time::Duration::from_secs(1));
    let last = tail.lines().last().unwrap_or("(no output)").to_owned();
    // 127 and 126: the shell found no such command, or could not run it. That is not a
    // service missing where the probe runs but the app's own command: a warning, naming it
    // (the shell's line does: `sh: 1: gunicorn: not found`).
    if matches!(status.code(), Some(126 | 127)) {
        let mut finding = at.finding(
            &rules::disposability::PROBE_COULD_NOT_START,
            format!(
                "`{name}` cannot start: its command is missing or not executable ({}): {last}",
                describe(status)
            ),
            &last,
        );
        finding.severity = crate::audit::finding::Severity::Warning;
        return finding;
    }
    at.finding(
        &rules::disposability::PROBE_COULD_NOT_START,
        format!("`{name}` ended during boot ({}): {last}", describe(status)),
        &last,
    )
}

/// SIGTERM to the group, then how long until the command and every process it started were
/// gone, with its exit status; `None` when they were not gone within `grace`.
fn stop(
    child: &mut Child,
    pgid: i32,
    grace: Duration,
) -> std::io::Result<Option<(Duration, std::process::ExitStatus)>> {
    if let Some(group) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(group, Signal::TERM);
    }
    let start = Instant::now();
    loop {
        let exited = child.try_wait()?;
        reaper::reap_exited();
        if let Some(status) = exited {
            if ours().is_empty() {
                return Ok(Some((start.elapsed(), status)));
            }
        }
        if start.elapsed() >= grace {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

/// Whether any of our processes left the child's process group (`setsid`).
fn escaped(pgid: i32) -> Option<Pid> {
    ours()
        .into_iter()
        .find(|pid| reaper::process_group_of(*pid).is_some_and(|g| g != pgid))
}

fn probe_type(
    dir: &Path,
    process: &ProcessType,
    needs_port: bool,
    env: &[(String, String)],
    options: &Options,
    at: &Anchor<'_>,
) -> std::io::Result<(TypeProbe, Vec<Finding>)> {
    let before = snapshot(dir);
    let port = free_port()?;
    let (mut child, output) = spawn(dir, process, env, port)?;
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    let mut findings = Vec::new();
    let mut probe = TypeProbe {
        type_name: process.name.clone(),
        line: process.line,
        port,
        started: false,
        ready_ms: None,
        stop_ms: None,
        exit: None,
        bound: Vec::new(),
        output_bytes: 0,
        files: Vec::new(),
    };
    let name = &process.name;
    match boot(&mut child, port, needs_port, options.boot_timeout)? {
        Boot::Up(after) => {
            probe.started = true;
            probe.ready_ms = Some(millis(after));
            probe.bound = listening_ports(&ours());
            if let Some(pid) = escaped(pgid) {
                findings.push(at.finding(
                    &rules::concurrency::PROBE_DAEMONIZED,
                    format!(
                        "`{name}` left its process group: pid {} runs in a session of its own (setsid)",
                        pid.as_raw_nonzero()
                    ),
                    "setsid",
                ));
            }
            if after >= SLOW_START {
                findings.push(at.finding(
                    &rules::disposability::PROBE_SLOW_START,
                    format!("`{name}` took {:.1}s to be ready", after.as_secs_f64()),
                    "",
                ));
            }
            // Stop: SIGTERM to its group, as a platform does.
            match stop(&mut child, pgid, options.grace)? {
                Some((after, status)) => {
                    probe.stop_ms = Some(millis(after));
                    probe.exit = Some(describe(status));
                }
                None => findings.push(at.finding(
                    &rules::disposability::PROBE_SLOW_STOP,
                    format!(
                        "`{name}` was still running {}s after SIGTERM",
                        options.grace.as_secs_f64()
                    ),
                    "SIGTERM",
                )),
            }
        }
        Boot::Exited(status) => {
            probe.exit = Some(describe(status));
            findings.push(exited_during_boot(&mut probe, status, &output, at));
        }
        Boot::TimedOut => {
            probe.started = true;
            probe.bound = listening_ports(&ours());
            let message = if probe.bound.is_empty() {
                format!(
                    "`{name}` did not accept connections on $PORT ({port}) within {}s",
                    options.boot_timeout.as_secs_f64()
                )
            } else {
                let bound: Vec<String> = probe.bound.iter().map(ToString::to_string).collect();
                format!(
                    "`{name}` did not bind $PORT ({port}) within {}s; it listens on {}",
                    options.boot_timeout.as_secs_f64(),
                    bound.join(", ")
                )
            };
            findings.push(at.finding(
                &rules::port_binding::PROBE_NO_BIND,
                message,
                &port.to_string(),
            ));
        }
    }
    end_all(pgid);
    let _ = child.wait();
    // Give the output threads the last bytes.
    std::thread::sleep(Duration::from_millis(20));
    probe.output_bytes = output.lock().map_or(0, |o| o.bytes);
    let after = snapshot(dir);
    for (path, stamp) in &after {
        if before.get(path) != Some(stamp) && !crate::store::builds::is_python_cache(path) {
            probe.files.push(path.clone());
        }
    }
    findings.extend(file_findings(&probe, at));
    Ok((probe, findings))
}

/// What the files a type wrote say: log files (XI), anything else is local state (VI).
fn file_findings(probe: &TypeProbe, at: &Anchor<'_>) -> Vec<Finding> {
    let name = &probe.type_name;
    let mut findings = Vec::new();
    let (logs, state): (Vec<&String>, Vec<&String>) = probe.files.iter().partition(|f| {
        super::files::has_suffix(f, ".log") || f.starts_with("log/") || f.starts_with("logs/")
    });
    for file in logs {
        findings.push(at.finding(
            &rules::logs::PROBE_LOG_FILE,
            format!(
                "`{name}` wrote its log to {file}{}",
                if probe.output_bytes == 0 {
                    " and nothing to stdout or stderr"
                } else {
                    ""
                }
            ),
            file,
        ));
    }
    for file in state {
        findings.push(at.finding(
            &rules::processes::PROBE_WRITES_APP_DIR,
            format!("`{name}` wrote {file} into its own directory"),
            file,
        ));
    }
    findings
}

/// Starts a type without `key`: it should exit non-zero within `FAIL_FAST`, not run on.
fn fail_fast(
    dir: &Path,
    process: &ProcessType,
    env: &[(String, String)],
    key: &str,
    limit: Duration,
    at: &Anchor<'_>,
) -> std::io::Result<Option<Finding>> {
    let port = free_port()?;
    let (mut child, output) = spawn(dir, process, env, port)?;
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    let start = Instant::now();
    let finding = loop {
        if let Some(status) = child.try_wait()? {
            if status.success() && ours().is_empty() {
                break Some(at.finding(
                    &rules::config::PROBE_NO_FAIL_FAST,
                    format!(
                        "`{}` exited 0 without {key}, as if nothing were missing",
                        process.name
                    ),
                    key,
                ));
            }
            // It failed; a clear failure says what is missing.
            let named = drained_tail(&output, std::time::Duration::from_secs(1)).contains(key);
            break (!named).then(|| {
                at.finding(
                    &rules::config::PROBE_UNNAMED_KEY,
                    format!(
                        "`{}` failed without {key} ({}) but its output does not name it",
                        process.name,
                        describe(status)
                    ),
                    key,
                )
            });
        }
        if start.elapsed() >= limit {
            break Some(at.finding(
                &rules::config::PROBE_NO_FAIL_FAST,
                format!(
                    "`{}` kept running {}s without {key} instead of failing fast",
                    process.name,
                    limit.as_secs_f64()
                ),
                key,
            ));
        }
        std::thread::sleep(POLL);
    };
    end_all(pgid);
    let _ = child.wait();
    Ok(finding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_port_a_process_listens_on() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = rustix::process::getpid();
        assert!(listening_ports(&[me]).contains(&port));
    }

    #[test]
    fn snapshots_see_new_and_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "1").unwrap();
        let before = snapshot(dir.path());
        std::fs::create_dir(dir.path().join("log")).unwrap();
        std::fs::write(dir.path().join("log/app.log"), "x").unwrap();
        std::fs::write(dir.path().join("a"), "22").unwrap();
        let after = snapshot(dir.path());
        let changed: Vec<&String> = after
            .iter()
            .filter(|(p, s)| before.get(*p) != Some(s))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(changed, ["a", "log/app.log"]);
    }
}
