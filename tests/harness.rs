//! A `Test` builder: a temporary app directory, files in it, arguments, and assertions on
//! what the binary printed and how it exited.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_dozen");

#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Soft and hard limits on open files to run dozen with (`ulimit -n`).
    open_files: Option<(u64, u64)>,
    /// Started as a service manager starts it: in a session of its own, with no controlling
    /// terminal (`setsid`), whatever terminal the tests run in.
    detached: bool,
}

impl Test {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
            open_files: None,
            detached: false,
        }
    }

    /// A test in an existing directory (a second `dozen run` where the first one was).
    pub fn in_dir(dir: tempfile::TempDir) -> Self {
        Self {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            open_files: None,
            detached: false,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file of the app (parent directories created).
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn procfile(self, contents: &str) -> Self {
        self.file("Procfile", contents)
    }

    pub fn env_file(self, name: &str, contents: &str) -> Self {
        self.file(name, contents)
    }

    pub fn manifest(self, contents: &str) -> Self {
        self.file("dozen.toml", contents)
    }

    /// Copies a directory of `fixtures/` into the app directory.
    pub fn fixture(self, name: &str) -> Self {
        copy_dir(&repo().join("fixtures").join(name), self.dir.path());
        self
    }

    /// Makes the app directory a git repository with every file not ignored staged (tracked).
    pub fn git_add_all(self) -> Self {
        for args in [&["init", "-q"][..], &["add", "-A"]] {
            let status = Command::new("git")
                .args(args)
                .current_dir(self.dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", self.dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        }
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// An inherited environment variable (the environment is otherwise only `PATH`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs dozen in a session of its own, with no controlling terminal (`setsid`).
    pub fn detached(mut self) -> Self {
        self.detached = true;
        self
    }

    /// Runs dozen with these soft and hard limits on open files, set by `sh`'s `ulimit`.
    pub fn open_files(mut self, soft: u64, hard: u64) -> Self {
        self.open_files = Some((soft, hard));
        self
    }

    /// dozen with the test's arguments, directory and environment.
    fn command(&self) -> Command {
        let mut command = match self.open_files {
            Some((soft, hard)) => {
                let mut command = Command::new("/bin/sh");
                command
                    .arg("-c")
                    .arg(format!(
                        "ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" \"$@\""
                    ))
                    .arg(BIN);
                command
            }
            None if self.detached => {
                // Not a process group leader, so `setsid` runs dozen in its own process (the
                // pid the test signals).
                let mut command = Command::new("setsid");
                command.arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        command
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(self) -> Output {
        let output = self.command().output().unwrap();
        Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            args: self.args,
            dir: self.dir,
        }
    }
}

pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    args: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Output {
    fn context(&self) -> String {
        format!(
            "dozen {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, Some(expected), "exit code\n{}", self.context());
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout(self, expected: &str) -> Self {
        assert_eq!(self.stdout, expected, "stdout\n{}", self.context());
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr(self, expected: &str) -> Self {
        assert_eq!(self.stderr, expected, "stderr\n{}", self.context());
        self
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.context()))
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

/// The repository's root, for fixtures and committed files.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A block of 200 ports no other test has: the formation's base port (instances of the
/// first type above it, the second type's 100 up; no test runs a third). One allocator for every module,
/// between the secrets tests' small blocks (8400 up, of 7) and the ephemeral range (32768
/// up, where outgoing connections take theirs): modules counting on their own once
/// overlapped, and two runs on one port failed at random.
///
/// 110 blocks fit below the ephemeral range and 22 above it (Linux's default
/// `ip_local_port_range` ends at 60999). They are handed out in turn and then again from the
/// first: a test holds its block only while it runs and the suite runs a few at a time, and
/// the suite has more tests than blocks.
pub fn port_block() -> u16 {
    const BELOW: u32 = (32_000 - 10_000) / 200;
    const ABOVE: u32 = (65_400 - 61_000) / 200;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % (BELOW + ABOVE);
    let base = if n < BELOW {
        10_000 + n * 200
    } else {
        61_000 + (n - BELOW) * 200
    };
    u16::try_from(base).expect("a port")
}

/// Runs dozen in `dir`: exit code, stdout, stderr.
pub fn dozen_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `dozen` that keeps running (`dozen run`): its output is collected line by line.
pub struct Running {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Vec<u8>>,
    pub seen: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Test {
    /// Starts dozen with stdout piped and read on a thread.
    pub fn spawn(self) -> Running {
        let mut child = self
            .command()
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if tx.send(std::mem::take(&mut line)).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            dir: self.dir,
        }
    }
}

/// A line of `dozen run` output with the name padding collapsed: `web.1    | x` → `web.1 | x`
/// (padding is the formatter's business, tested there).
pub fn unpad(line: &str) -> String {
    match line.split_once(" | ") {
        Some((name, rest)) => format!("{} | {rest}", name.trim_end()),
        None => line.to_owned(),
    }
}

/// A run a failing test leaves behind is killed, so that it never outlives the tests (and
/// its processes, under its nursery, go with it).
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// The app's directory, for another run (this one must be over).
    pub fn into_dir(mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Waits until a line containing `needle` has appeared (or finds it among those already
    /// seen); panics with the output after `secs`.
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str, secs: u64) -> String {
        self.wait_for_nth(needle, 1, secs)
    }

    /// Takes the next line if one comes within `wait` (kept in `seen`).
    pub fn poll_line(&mut self, wait: std::time::Duration) -> Option<String> {
        let bytes = self.lines.recv_timeout(wait).ok()?;
        let line = unpad(String::from_utf8_lossy(&bytes).trim_end_matches('\n'));
        self.seen.push(line.clone());
        Some(line)
    }

    /// Waits until the `n`th line containing `needle` has appeared; returns it.
    #[track_caller]
    pub fn wait_for_nth(&mut self, needle: &str, n: usize, secs: u64) -> String {
        if let Some(line) = self.seen.iter().filter(|l| l.contains(needle)).nth(n - 1) {
            return line.clone();
        }
        let mut count = self.seen.iter().filter(|l| l.contains(needle)).count();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(bytes) => {
                    let line = unpad(String::from_utf8_lossy(&bytes).trim_end_matches('\n'));
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        count += 1;
                        if count == n {
                            return line;
                        }
                    }
                }
                Err(
                    std::sync::mpsc::RecvTimeoutError::Timeout
                    | std::sync::mpsc::RecvTimeoutError::Disconnected,
                ) => panic!(
                    "no line with {needle:?} within {secs}s; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Runs another dozen command in the same app directory (as `dozen scale` beside a running
    /// `dozen run`): exit code, stdout, stderr.
    pub fn dozen(&self, args: &[&str]) -> (Option<i32>, String, String) {
        dozen_in(self.dir.path(), args)
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        let _ =
            rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal);
    }

    /// Waits for dozen to exit (at most `secs`); returns its exit code and every line.
    #[track_caller]
    pub fn finish(mut self, secs: u64) -> (Option<i32>, Vec<String>) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(bytes) = self
                    .lines
                    .recv_timeout(std::time::Duration::from_millis(200))
                {
                    self.seen.push(unpad(
                        String::from_utf8_lossy(&bytes).trim_end_matches('\n'),
                    ));
                }
                return (status.code(), std::mem::take(&mut self.seen));
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "dozen did not exit within {secs}s; output:\n{}",
                    self.seen.join("\n")
                );
            }
            if let Ok(bytes) = self
                .lines
                .recv_timeout(std::time::Duration::from_millis(20))
            {
                self.seen.push(unpad(
                    String::from_utf8_lossy(&bytes).trim_end_matches('\n'),
                ));
            }
        }
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

/// The uid and gid the store, process and socket tests run dozen as when the tests run as root
/// (as CI does): root ignores permission bits, which hides every permission bug (`nobody`).
pub const APP_USER: u32 = 65534;

/// Whether commands from [`as_app_user`] really run as another account: when the tests run
/// as root. The checkout must then be reachable by that account (`.ci/run` makes it so).
pub fn drops_privileges() -> bool {
    static REACHABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !rustix::process::geteuid().is_root() {
        return false;
    }
    let reachable = *REACHABLE.get_or_init(|| {
        Command::new("setpriv")
            .args([
                format!("--reuid={APP_USER}"),
                format!("--regid={APP_USER}"),
                "--clear-groups".to_owned(),
                BIN.to_owned(),
                "--version".to_owned(),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        reachable,
        "the tests run as root, so the store tests run dozen as uid {APP_USER}, who cannot run {BIN}: let it reach the checkout (`chmod o+x` on its parent directories, as .ci/run does)"
    );
    true
}

/// Gives `path` (and everything under it) to the app user, when the tests run as root.
pub fn give_to_app_user(path: &Path) {
    if !drops_privileges() {
        return;
    }
    let owner = Some(APP_USER);
    std::os::unix::fs::lchown(path, owner, owner).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to_app_user(&entry.unwrap().path());
        }
    }
}

/// `dozen` as an ordinary user would run it: `nobody` through `setpriv` when the tests run as
/// root (the directories it works in must be that user's: [`give_to_app_user`]), else as is.
/// The environment is only `PATH`, plus what the caller adds.
pub fn as_app_user(dir: &Path) -> Command {
    let mut command = if drops_privileges() {
        let mut setpriv = Command::new("setpriv");
        setpriv.args([
            format!("--reuid={APP_USER}"),
            format!("--regid={APP_USER}"),
            "--clear-groups".to_owned(),
            "--".to_owned(),
            BIN.to_owned(),
        ]);
        setpriv
    } else {
        Command::new(BIN)
    };
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// Runs [`as_app_user`] with `args` to completion: exit code, stdout, stderr.
pub fn dozen_as_user(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = as_app_user(dir).args(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[path = "missing.rs"]
mod missing_tool;
pub use missing_tool::missing;

/// Waits until something listens on `port` of loopback (a collector, a registry); panics
/// naming `what` after 10 s.
#[track_caller]
pub fn wait_for_port(port: u16, what: &str) {
    eventually(
        &format!("{what} to listen on {port}"),
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

/// How soon the waits below look again at what they wait for, at the least.
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Polls `probe` until it gives `Ok`, for at most `timeout`; else the last `Err`. The one
/// place a test sleeps while it waits for something: tests wait on the event they need (with
/// the helpers below), never a fixed time hoping it has happened.
///
/// It looks again after [`POLL`], or after as long as the last look took when that was
/// longer: a costly probe (a `dozen ps`, a collector's whole file) takes at most half the
/// time of a core, not all of it from the run it watches.
fn poll<T>(
    timeout: std::time::Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let looked = std::time::Instant::now();
        let seen = match probe() {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        let took = looked.elapsed();
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(seen);
        }
        std::thread::sleep(POLL.max(took).min(left));
    }
}

/// Waits for an event: polls `probe` until it gives `Ok` (that value is returned), for at
/// most `timeout`. Then panics saying `what` did not happen (phrased to follow "waiting for":
/// "web.1 to be ready"), with the last `Err` the probe gave: what it saw instead.
#[track_caller]
pub fn eventually_ok<T>(
    what: &str,
    timeout: std::time::Duration,
    probe: impl FnMut() -> Result<T, String>,
) -> T {
    match poll(timeout, probe) {
        Ok(value) => value,
        Err(seen) => panic!("timed out after {timeout:?} waiting for {what}; last seen: {seen}"),
    }
}

/// [`eventually_ok`] for a condition with nothing to show but whether it holds.
#[track_caller]
pub fn eventually(what: &str, timeout: std::time::Duration, mut condition: impl FnMut() -> bool) {
    assert!(
        within(timeout, &mut condition),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Whether `condition` comes to hold within `timeout` (polled as [`eventually_ok`] does), for
/// a caller that says itself what did not happen, or that asserts something else then.
pub fn within(timeout: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    poll(timeout, || {
        if condition() {
            Ok(())
        } else {
            Err(String::new())
        }
    })
    .is_ok()
}

/// Every path under `dir`, itself included, links not followed.
pub fn every_path(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(every_path(&entry.unwrap().path()));
        }
    }
    out
}

/// Polls `dozen ps --json` until `done` holds (at most 10 s; the caller's line says what it
/// waited for); a run still starting (no socket yet) is polled again.
#[track_caller]
pub fn wait_ps(running: &Running, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    eventually_ok(
        "`dozen ps --json` to show it",
        std::time::Duration::from_secs(10),
        || {
            let (code, stdout, _) = running.dozen(&["ps", "--json"]);
            let status: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
            if code == Some(0) && done(&status) {
                Ok(status)
            } else {
                Err(format!("{status:#}"))
            }
        },
    )
}
