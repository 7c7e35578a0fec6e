//! `dozen logs` and drains (docs/logs.md): the running formation's stream read back from any
//! terminal, and shipped to real collectors — rsyslog from Debian over TCP (octet counting),
//! UDP and TLS with a test CA, and an HTTP receiver for Logplex and NDJSON batches — with
//! what they received compared line for line with what the apps wrote.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Running, Test};

/// An app that writes `LINES` numbered lines (`$PS n payload`), with spaces, tabs and UTF-8
/// in them, then `done`, then waits. `STDERR=1` writes them to stderr (order holds within a
/// stream, not across two).
const WRITER: &str = r#"
import os, sys
n = int(os.environ.get("LINES", "100"))
out = sys.stderr if os.environ.get("STDERR") else sys.stdout
ps = os.environ["PS"]
for i in range(n):
    out.write("%s %d  two spaces\there café ☃ %s\n" % (ps, i, "x" * (i % 50)))
out.write("done\n")
out.flush()
import time
time.sleep(600)
"#;

fn app() -> Test {
    Test::new().file("writer.py", WRITER).procfile(
        "web: cd . && python3 -u writer.py\nworker: exec env STDERR=1 python3 -u writer.py\n",
    )
}

/// What the app wrote as line `i` of instance `ps`.
fn written(ps: &str, i: usize) -> String {
    format!("{ps} {i}  two spaces\there café ☃ {}", "x".repeat(i % 50))
}

/// Compares line lists, saying where they first differ (not printing thousands of lines).
#[track_caller]
fn assert_lines(got: &[String], expected: &[String], what: &str) {
    if got == expected {
        return;
    }
    let at = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    panic!(
        "{what}: {} lines, {} expected; first difference at {at}: {:?} vs {:?}",
        got.len(),
        expected.len(),
        got.get(at),
        expected.get(at)
    );
}

/// Instance `ps`'s lines `0..n` as written.
fn all_written(ps: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| written(ps, i)).collect()
}

/// `dozen run --dev` of a formation, ports from `base`.
trait RunAt {
    fn run_at(self, base: u16, formation: &str) -> Running;
}

impl RunAt for Test {
    fn run_at(self, base: u16, formation: &str) -> Running {
        let port = base.to_string();
        self.args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "-p",
            &port,
            "-m",
            formation,
        ])
        .spawn()
    }
}

fn start(test: Test, formation: &str) -> Running {
    test.run_at(crate::harness::port_block(), formation)
}

fn stop(running: Running) -> Vec<String> {
    running.signal(rustix::process::Signal::INT);
    let (code, lines) = running.finish(20);
    assert_eq!(code, Some(130), "{lines:#?}");
    lines
}

/// `dozen logs ARGS` in the run's directory: exit code, stdout, stderr.
fn logs(running: &Running, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    running.dozen(&all)
}

/// The text of `dozen logs` lines without their `HH:MM:SS ` and padding: `web.1 | text`.
fn texts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| crate::harness::unpad(l.get(9..).unwrap_or(l)))
        .collect()
}

#[test]
fn logs_reads_the_last_lines_with_filters_text_and_json() {
    let mut running = start(app().env("LINES", "300"), "web=2,worker=1");
    for _ in 0..3 {
        running.wait_for_nth("| done", 3, 20);
    }
    let (code, stdout, stderr) = logs(&running, &["-n", "5", "--ps", "web.2"]);
    assert_eq!(code, Some(0), "{stderr}");
    let expected: Vec<String> = (295..300)
        .map(|i| format!("web.2 | {}", written("web.2", i)))
        .collect::<Vec<_>>();
    // `done` is web.2's last line.
    let got = texts(&stdout);
    assert_eq!(
        got.last().map(String::as_str),
        Some("web.2 | done"),
        "{stdout}"
    );
    assert_eq!(&got[..4], &expected[1..], "{stdout}");
    assert!(
        stdout.lines().all(|l| l.as_bytes()[2] == b':'),
        "timestamps: {stdout}"
    );

    // A type: both instances, in the order they were written; the default is 100 lines.
    let (_, stdout, _) = logs(&running, &["--ps", "web"]);
    let got = texts(&stdout);
    assert_eq!(got.len(), 100, "{stdout}");
    assert!(
        got.iter()
            .all(|l| l.starts_with("web.1 | ") || l.starts_with("web.2 | "))
    );
    for ps in ["web.1", "web.2"] {
        let numbers: Vec<usize> = got
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{ps} | {ps} ")))
            .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[1] == w[0] + 1),
            "{ps}: {numbers:?}"
        );
    }

    // dozen's own lines, and JSON in the shape of --log-format json.
    let (_, stdout, _) = logs(&running, &["--source", "dozen", "-n", "1000"]);
    let got = texts(&stdout);
    assert!(got.iter().all(|l| l.starts_with("dozen | ")), "{stdout}");
    for ps in ["web.1", "web.2", "worker.1"] {
        assert!(
            got.iter()
                .any(|l| l.starts_with(&format!("dozen | {ps} started (pid "))),
            "{stdout}"
        );
    }
    let (_, stdout, _) = logs(&running, &["--json", "-n", "2", "--ps", "worker"]);
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["process"], "worker.1");
    assert_eq!(events[0]["stream"], "stderr");
    assert_eq!(events[0]["line"], written("worker.1", 299));
    assert_eq!(events[1]["stream"], "stderr");
    assert_eq!(events[1]["line"], "done");
    let keys: Vec<&str> = events[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["ts", "process", "stream", "line"]);
    assert!(events[0]["ts"].as_str().unwrap().ends_with('Z'));

    // A type the run does not run: refused (issue 31, finding 28); a name that cannot be a
    // process: a usage error.
    let (code, stdout, stderr) = logs(&running, &["--ps", "clock"]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    let (code, _, stderr) = logs(&running, &["--ps", "web.x"]);
    assert_eq!(code, Some(2), "{stderr}");
    stop(running);
}

#[test]
fn logs_without_a_run_says_so_and_fails() {
    Test::new()
        .procfile("web: sleep 1\n")
        .args(&["logs"])
        .run()
        .code(1)
        .stderr_has("no `dozen run` is running this app");
}

#[test]
fn the_ring_buffer_keeps_what_dozen_toml_says() {
    let test = app()
        .env("LINES", "500")
        .manifest("[logs]\nbuffer_lines = 50\n");
    let mut running = start(test, "web=1");
    running.wait_for("web.1 | done", 20);
    let (_, stdout, _) = logs(&running, &["-n", "1000"]);
    let got = texts(&stdout);
    assert_eq!(got.len(), 50, "{stdout}");
    assert_eq!(got[0], format!("web.1 | {}", written("web.1", 451)));
    stop(running);

    // buffer_lines = 0: nothing is kept (a follower still gets every new line).
    let test = app()
        .env("LINES", "5")
        .manifest("[logs]\nbuffer_lines = 0\n");
    let mut running = start(test, "web=1");
    running.wait_for("web.1 | done", 20);
    let (code, stdout, _) = logs(&running, &["-n", "1000"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    stop(running);
}

/// A `dozen logs -t` in the background: its stdout collected.
struct Follower {
    child: Child,
    out: std::sync::mpsc::Receiver<String>,
}

impl Follower {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dozen"))
            .arg("logs")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, out }
    }

    /// Lines until one contains `needle`.
    fn until(&self, needle: &str, secs: u64) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(line) => {
                    let done = line.contains(needle);
                    lines.push(line);
                    if done {
                        return lines;
                    }
                }
                Err(e) => panic!(
                    "no {needle:?} within {secs}s ({e}); got:\n{}",
                    lines.join("\n")
                ),
            }
        }
    }
}

#[test]
fn several_followers_with_filters_each_get_every_new_line() {
    // The app waits for `go` before writing, so the followers are there first.
    let script = "import os, sys, time\nwhile not os.path.exists('go'): time.sleep(0.02)\nexec(open('writer.py').read())\n";
    let test = app()
        .file("wait.py", script)
        .procfile("web: cd . && python3 -u wait.py\nworker: exec env STDERR=1 python3 -u wait.py\n")
        .env("LINES", "2000");
    let mut running = start(test, "web=2,worker=1");
    running.wait_for_nth("started (pid", 3, 20);
    let dir = running.dir.path().to_owned();
    let all = Follower::start(&dir, &["-f", "-n", "0", "--json"]);
    let web2 = Follower::start(&dir, &["--tail", "-n", "0", "--ps", "web.2"]);
    let workers = Follower::start(&dir, &["--follow", "-n", "0", "--ps", "worker", "--json"]);
    crate::harness::eventually(
        "the three followers to connect",
        Duration::from_secs(10),
        || ps_followers(&running) >= 3,
    );
    std::fs::write(dir.join("go"), "").unwrap();

    let web2_lines = web2.until("| done", 30);
    let numbered: Vec<String> = texts(&web2_lines.join("\n"))
        .into_iter()
        .filter(|l| l != "web.2 | done")
        .collect();
    let expected: Vec<String> = (0..2000)
        .map(|i| format!("web.2 | {}", written("web.2", i)))
        .collect();
    assert_lines(&numbered, &expected, "web.2's follower");

    let worker_lines = workers.until("\"done\"", 30);
    let events: Vec<Value> = worker_lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().all(|e| e["process"] == "worker.1"));
    let got: Vec<&str> = events
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .filter(|l| *l != "done")
        .collect();
    let got: Vec<String> = got.into_iter().map(str::to_owned).collect();
    assert_lines(
        &got,
        &all_written("worker.1", 2000),
        "the workers' follower",
    );

    // The unfiltered one: every instance's lines, each instance's in order, nothing else lost.
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dones = 0;
    while dones < 3 {
        for line in all.until("\"done\"", 30) {
            let event: Value = serde_json::from_str(&line).unwrap();
            let line = event["line"].as_str().unwrap().to_owned();
            if line == "done" {
                dones += 1;
            } else {
                per.entry(event["process"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(line);
            }
        }
    }
    for ps in ["web.1", "web.2", "worker.1"] {
        assert_lines(&per[ps], &all_written(ps, 2000), ps);
    }

    // When the run ends, every follower ends with it.
    stop(running);
    for mut follower in [all, web2, workers] {
        let status = crate::harness::eventually_ok(
            "the follower to end with the run",
            Duration::from_secs(5),
            || {
                let status = follower.child.try_wait().unwrap();
                status.ok_or_else(|| "still running".to_owned())
            },
        );
        assert!(status.success());
    }
}

fn ps_json(running: &Running) -> Value {
    let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn ps_followers(running: &Running) -> u64 {
    ps_json(running)["logs"]["followers"].as_u64().unwrap()
}

/// The control socket of a run, for a client that misbehaves on purpose.
fn control_socket(dir: &Path) -> PathBuf {
    dir.join(".dozen/run/control.sock")
}

#[test]
fn a_reader_that_does_not_read_never_slows_the_apps_and_is_told_what_it_missed() {
    let script = "import os, time\nwhile not os.path.exists('go'): time.sleep(0.02)\nexec(open('writer.py').read())\n";
    let test = app()
        .file("wait.py", script)
        .procfile("web: cd . && python3 -u wait.py\n")
        .env("LINES", "200000");
    let mut running = start(test, "web=1");
    running.wait_for("web.1 started", 20);
    let dir = running.dir.path().to_owned();
    // A follower that sends its request and then reads nothing.
    let mut stuck = UnixStream::connect(control_socket(&dir)).unwrap();
    stuck
        .write_all(b"{\"v\":1,\"op\":\"logs\",\"n\":0,\"follow\":true}\n")
        .unwrap();
    crate::harness::eventually("the follower to connect", Duration::from_secs(10), || {
        ps_followers(&running) >= 1
    });
    std::fs::write(dir.join("go"), "").unwrap();
    // Every line reaches the run's stdout while the reader reads nothing.
    running.wait_for("web.1 | done", 60);
    assert_eq!(
        running
            .seen
            .iter()
            .filter(|l| l.starts_with("web.1 | web.1 "))
            .count(),
        200_000
    );
    // Now it reads: what fitted in its queue, then how many it missed (again, each time it
    // falls behind while catching up), then nothing more.
    stuck
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut reader = BufReader::new(stuck);
    let (mut received, mut missed, mut line) = (0usize, None::<usize>, String::new());
    // Until every line is accounted for, or a quiet spell once the deadline has passed (on a
    // loaded machine the run's thread may not be scheduled for seconds).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A read that timed out keeps what it had read of a line: the next read completes it.
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                let complete = missed.is_some_and(|m| received + m >= 200_001);
                if complete || Instant::now() > deadline {
                    break;
                }
                continue;
            }
            Err(e) => panic!("{e}"),
        }
        let event = serde_json::from_str::<Value>(&line).unwrap_or(Value::Null);
        line.clear();
        let Some(said) = event["line"].as_str() else {
            continue;
        };
        if let Some(n) = said.strip_suffix(" lines missed (this reader was too slow)") {
            // Told each time it fell behind (it may fall behind again while catching up).
            missed = Some(missed.unwrap_or(0) + n.parse::<usize>().unwrap());
        } else if event["process"] == "web.1" {
            received += 1;
        }
    }
    let missed = missed.expect("told how many lines it missed");
    assert!(missed > 0);
    // Every line of the app's after the reader came (its 200,000 and `done`) was received or
    // counted as missed.
    assert_eq!(
        received + missed,
        200_001,
        "received {received}, missed {missed}"
    );
    stop(running);
}

mod http_drains;
/// A CA and a server certificate for `localhost`, made with openssl for the test.
struct TestCa {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TestCa {
    fn make() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=dozen test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "req.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(p("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        // rsyslogd (the test's user) reads them.
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::set_permissions(p(name), std::os::unix::fs::PermissionsExt::from_mode(0o644))
                .unwrap();
        }
        Self {
            ca: p("ca.pem"),
            cert: p("cert.pem"),
            key: p("key.pem"),
            _dir: dir,
        }
    }
}

mod syslog_drains;

/// A `-p` of a type the run does not run is refused at once, with what it runs, instead of
/// following nothing forever (issue 31, finding 28).
#[test]
fn logs_of_a_type_the_run_lacks_are_refused_at_once() {
    let mut running = start(app().env("LINES", "3"), "web=1,worker=1");
    running.wait_for_nth("| done", 2, 20);
    let started = std::time::Instant::now();
    let (code, _, stderr) = logs(&running, &["-f", "-p", "nosuchtype"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("this run has no process type `nosuchtype`: it runs web, worker"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (code, _, stderr) = logs(&running, &["-p", "wbe.1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("(did you mean `web`?)"), "{stderr}");
    // A type it runs, an instance it may have after a scale, and the router's and dozen's
    // own lines are followed as before.
    for ps in ["worker", "web.7", "dozen", "router"] {
        let (code, _, stderr) = logs(&running, &["-n", "1", "-p", ps]);
        assert_eq!(code, Some(0), "{ps}: {stderr}");
    }
    stop(running);
}

/// A type a deploy adds can be followed: the run's types follow its moves.
#[test]
fn a_type_a_release_adds_can_be_followed() {
    let test = Test::new().procfile("clock: echo clock up; exec sleep 60\n");
    let dir = test.path().to_path_buf();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let port = crate::harness::port_block().to_string();
    let mut running = test.args(&["run", "--no-timestamps", "-p", &port]).spawn();
    running.wait_for("clock.1 | clock up", 10);
    std::fs::write(
        dir.join("Procfile"),
        "clock: echo clock up; exec sleep 60\nextra: echo extra up; exec sleep 60\n",
    )
    .unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release", "--wait"]);
    assert_eq!(code, Some(0), "{stderr}");
    running.wait_for("extra.1 | extra up", 20);
    let (code, stdout, stderr) = logs(&running, &["-n", "5", "-p", "extra"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("extra up"), "{stdout}");
    stop(running);
}

/// A drain's id is keyed by the store's digest key: it cannot be checked against a guess of
/// its URL, or of a token in it (a new user found the plain SHA-256 of the URL there).
#[test]
fn a_drains_id_gives_nothing_of_its_url_away() {
    use sha2::Digest as _;
    let test = Test::new().procfile("web: sleep 1\n");
    let url = "https://user:tok123@logs.invalid/in";
    let (code, stdout, stderr) = crate::harness::dozen_in(test.path(), &["drains", "add", url]);
    assert_eq!(code, Some(0), "{stderr}");
    let id = stdout.split_whitespace().nth(2).unwrap().to_owned();
    let plain: String =
        sha2::Sha256::digest(url.as_bytes())
            .iter()
            .take(6)
            .fold(String::new(), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            });
    assert_eq!(id.len(), 12, "{stdout}");
    assert_ne!(id, plain);
    assert!(!stdout.contains("tok123"), "{stdout}");
    // The same id again, and it removes the drain.
    let (_, listed, _) = crate::harness::dozen_in(test.path(), &["drains"]);
    assert!(listed.contains(&id), "{listed}");
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["drains", "remove", &id]);
    assert_eq!(code, Some(0), "{stderr}");
}
