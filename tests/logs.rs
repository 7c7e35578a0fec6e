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

    // What nobody wrote: nothing, exit 0; a name that cannot be a process: a usage error.
    let (code, stdout, _) = logs(&running, &["--ps", "clock"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while ps_followers(&running) < 3 {
        assert!(Instant::now() < deadline, "the followers never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
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
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = follower.child.try_wait().unwrap() {
                assert!(status.success());
                break;
            }
            assert!(Instant::now() < deadline, "a follower outlived the run");
            std::thread::sleep(Duration::from_millis(20));
        }
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while ps_followers(&running) < 1 {
        assert!(Instant::now() < deadline, "the follower never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    // Now it reads: what fitted in its queue, then how many it missed, then nothing more.
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
            missed = Some(n.parse::<usize>().unwrap());
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

// ---------------------------------------------------------------------------------------
// Drains, with rsyslog from Debian as the collector.

fn rsyslogd() -> Option<PathBuf> {
    let found = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        crate::harness::missing("rsyslogd", "apt-get install rsyslog rsyslog-gnutls");
    }
    found
}

/// An rsyslogd of the test's own, writing each message it receives as
/// `HOSTNAME\tAPP-NAME\tPROCID\tMSG` to `received.log`.
struct Rsyslog {
    child: Child,
    dir: tempfile::TempDir,
}

impl Rsyslog {
    /// Listens on `tcp` (TCP, or TLS with `tls`) and `tcp + 1` (UDP).
    fn start(tcp: u16, tls: Option<&TestCa>) -> Option<Self> {
        let binary = rsyslogd()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let (global_tls, module) = match tls {
            Some(ca) => (
                format!(
                    " DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\"",
                    ca.ca.display(),
                    ca.cert.display(),
                    ca.key.display()
                ),
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")",
            ),
            None => (String::new(), "module(load=\"imtcp\")"),
        };
        let config = format!(
            "global(workDirectory=\"{d}\" maxMessageSize=\"64k\" parser.escapeControlCharactersOnReceive=\"off\"{global_tls})\n\
             {module}\nmodule(load=\"imudp\")\n\
             input(type=\"imtcp\" port=\"{tcp}\" ruleset=\"r\")\n\
             input(type=\"imudp\" port=\"{udp}\" address=\"127.0.0.1\" ruleset=\"r\")\n\
             template(name=\"t\" type=\"string\" string=\"%hostname%\\t%app-name%\\t%procid%\\t%msg%\\n\")\n\
             ruleset(name=\"r\") {{ action(type=\"omfile\" file=\"{d}/received.log\" template=\"t\") }}\n",
            udp = tcp + 1
        );
        std::fs::write(dir.path().join("rsyslog.conf"), config).unwrap();
        let child = Command::new(binary)
            .args(["-n", "-f"])
            .arg(dir.path().join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.path().join("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        crate::harness::wait_for_port(tcp, "rsyslogd");
        Some(Self { child, dir })
    }

    /// The messages received so far: (hostname, app-name, procid, msg).
    fn received(&self) -> Vec<(String, String, String, String)> {
        let text = std::fs::read(self.dir.path().join("received.log")).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .map(|l| {
                let mut parts = l.splitn(4, '\t');
                let mut next = || parts.next().unwrap_or("").to_owned();
                (next(), next(), next(), next())
            })
            .collect()
    }

    /// Waits until `count` messages of the app (APP-NAME `app`) have arrived.
    fn wait_for_app_lines(&self, count: usize, secs: u64) -> Vec<(String, String, String, String)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let received = self.received();
            let app = received.iter().filter(|r| r.1 == "app").count();
            if app >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{app} of {count} lines arrived within {secs}s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).unwrap();
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each instance's lines as the collector got them, in the order it got them.
fn by_instance(received: &[(String, String, String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, app, procid, msg) in received {
        if app == "app" && msg != "done" {
            per.entry(procid.clone()).or_default().push(msg.clone());
        }
    }
    per
}

#[test]
fn syslog_drains_over_tcp_and_udp_deliver_every_line_as_written() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    let Some(rsyslog) = Rsyslog::start(collector_port, None) else {
        return;
    };
    let manifest = format!(
        "[app]\nname = \"shop\"\n\n[logs]\ndrains = [\"syslog+tcp://127.0.0.1:{collector_port}\"]\n"
    );
    let test = app().env("LINES", "2000").manifest(&manifest);
    let mut running = test.run_at(base, "web=2,worker=1");
    running.wait_for_nth("| done", 3, 30);
    let received = rsyslog.wait_for_app_lines(6003, 30);
    let per = by_instance(&received);
    for ps in ["web.1", "web.2", "worker.1"] {
        assert_lines(&per[ps], &all_written(ps, 2000), ps);
    }
    // HOSTNAME the app's name; dozen's own lines under APP-NAME dozen.
    assert!(
        received.iter().all(|r| r.0 == "shop"),
        "{:?}",
        &received[..3]
    );
    assert!(
        received
            .iter()
            .any(|r| r.1 == "dozen" && r.2 == "dozen" && r.3.starts_with("web.1 started (pid "))
    );
    let status = ps_json(&running);
    let drain = &status["logs"]["drains"][0];
    assert_eq!(drain["state"], "connected", "{drain}");
    assert_eq!(drain["dropped"], 0);
    assert_eq!(
        drain["url"],
        format!("syslog+tcp://127.0.0.1:{collector_port}")
    );
    stop(running);

    // UDP: one datagram per line (a burst no bigger than the collector's socket buffer holds:
    // beyond it, the kernel drops datagrams, as UDP may).
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+udp://127.0.0.1:{}\"]\n",
        collector_port + 1
    );
    let before = rsyslog.received().len();
    let test = app().env("LINES", "100").manifest(&manifest);
    let mut running = test.run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let deadline = Instant::now() + Duration::from_secs(20);
    let udp = loop {
        let received = rsyslog.received().split_off(before);
        if received.iter().filter(|r| r.1 == "app").count() >= 101 || Instant::now() > deadline {
            break received;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_lines(
        &by_instance(&udp)["web.1"],
        &all_written("web.1", 100),
        "udp",
    );
    stop(running);
}

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

#[test]
fn a_tls_drain_checks_the_collector_s_certificate_and_delivers_every_line() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    if rsyslogd().is_none() {
        return;
    }
    let ca = TestCa::make();
    let Some(rsyslog) = Rsyslog::start(collector_port, Some(&ca)) else {
        return;
    };
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+tls://localhost:{collector_port}\"]\nflush_timeout = \"500ms\"\n"
    );

    // The test CA is not among the platform's roots: nothing is sent, and ps says why.
    let mut running = app()
        .env("LINES", "10")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let deadline = Instant::now() + Duration::from_secs(10);
    let drain = loop {
        let drain = ps_json(&running)["logs"]["drains"][0].clone();
        if drain["last_error"].is_string() || Instant::now() > deadline {
            break drain;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        drain["last_error"]
            .as_str()
            .unwrap()
            .contains("UnknownIssuer"),
        "{drain}"
    );
    assert_eq!(drain["sent"], 0);
    stop(running);
    assert!(rsyslog.received().is_empty());

    // Trusted through SSL_CERT_FILE, as any rustls or OpenSSL client does.
    let mut running = app()
        .env("LINES", "1000")
        .env("SSL_CERT_FILE", ca.ca.to_str().unwrap())
        .manifest(&manifest)
        .run_at(base, "web=2");
    running.wait_for_nth("| done", 2, 30);
    let received = rsyslog.wait_for_app_lines(2002, 30);
    let per = by_instance(&received);
    for ps in ["web.1", "web.2"] {
        assert_lines(&per[ps], &all_written(ps, 1000), ps);
    }
    stop(running);
}

#[test]
fn a_stopped_collector_costs_lines_counted_exactly_and_never_blocks_the_app() {
    let base = crate::harness::port_block();
    let collector_port = base + 150;
    let Some(rsyslog) = Rsyslog::start(collector_port, None) else {
        return;
    };
    let script = "import os, time\nwhile not os.path.exists('go'): time.sleep(0.02)\nexec(open('writer.py').read())\n";
    let manifest = format!(
        "[logs]\ndrains = [\"syslog+tcp://127.0.0.1:{collector_port}\"]\ndrain_queue = 1000\nflush_timeout = \"20s\"\n"
    );
    let lines = 200_000;
    let test = app()
        .file("wait.py", script)
        .procfile("web: cd . && python3 -u wait.py\n")
        .env("LINES", &lines.to_string())
        .manifest(&manifest);
    let mut running = test.run_at(base, "web=1");
    running.wait_for("web.1 started", 30);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ps_json(&running)["logs"]["drains"][0]["state"] != "connected" {
        assert!(Instant::now() < deadline, "the drain never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The collector stops (a hung rsyslogd: connected, reading nothing) for 10 s.
    rsyslog.signal(rustix::process::Signal::STOP);
    let stopped = Instant::now();
    std::fs::write(running.dir.path().join("go"), "").unwrap();
    running.wait_for("web.1 | done", 60);
    let wrote_in = stopped.elapsed();
    assert!(
        wrote_in < Duration::from_secs(10),
        "the app took {wrote_in:?} to write while the collector was stopped"
    );
    std::thread::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed()));
    rsyslog.signal(rustix::process::Signal::CONT);

    // Every line of the stream is either received or counted as dropped: the app's, and
    // dozen's own (each is a line of the run's stdout; L10 lines are made for the drain).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (received, dropped) = loop {
        let drain = ps_json(&running)["logs"]["drains"][0].clone();
        let received = rsyslog.received();
        let app_lines = received
            .iter()
            .filter(|r| r.1 == "app" && r.3 != "done")
            .count();
        let dropped = usize::try_from(drain["dropped"].as_u64().unwrap()).unwrap();
        if drain["queued"] == 0 && app_lines + dropped >= lines {
            break (received, dropped);
        }
        assert!(
            Instant::now() < deadline,
            "{app_lines} received + {dropped} dropped < {lines}: {drain}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    while running.poll_line(Duration::from_millis(300)).is_some() {}
    let streamed = running.seen.len();
    let delivered = received
        .iter()
        .filter(|r| !r.3.starts_with("Error L10 "))
        .count();
    assert!(
        dropped > 0,
        "nothing was dropped: the test did not fill the queue"
    );
    assert_eq!(
        delivered + dropped,
        streamed,
        "received {delivered} + dropped {dropped}"
    );
    let app_lines: Vec<String> = by_instance(&received).remove("web.1").unwrap_or_default();
    // What arrived is in order, with a gap where the drops were.
    let numbers: Vec<usize> = app_lines
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] > w[0]));
    assert!(numbers.len() < lines);
    // The collector is told, as Logplex's L10, and so is the stream.
    assert!(
        received
            .iter()
            .any(|r| r.1 == "dozen" && r.3.starts_with("Error L10 (output buffer overflow): "))
    );
    running.wait_for("is behind: Error L10 (output buffer overflow)", 10);
    stop(running);
}

// ---------------------------------------------------------------------------------------
// HTTP drains, against a small receiver that records every request.

const RECEIVER: &str = r#"
import http.server, json, os, ssl, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = int(open(out + ".status").read()) if os.path.exists(out + ".status") else 200
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode("utf-8"), "status": status}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
if len(sys.argv) > 3:
    # HTTPS with the test's certificate: argv[3] and argv[4] are its chain and key.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn start(port: u16) -> Self {
        Self::start_with(port, None)
    }

    /// Over TLS with `ca`'s server certificate when given.
    fn start_with(port: u16, ca: Option<&TestCa>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("receiver.py"), RECEIVER).unwrap();
        let mut command = Command::new("python3");
        command
            .arg(dir.path().join("receiver.py"))
            .arg(port.to_string())
            .arg(dir.path().join("requests.jsonl"));
        if let Some(ca) = ca {
            command.arg(&ca.cert).arg(&ca.key);
        }
        let child = command.spawn().unwrap();
        crate::harness::wait_for_port(port, "the receiver");
        Self { child, dir }
    }

    fn answer(&self, status: u16) {
        std::fs::write(
            self.dir.path().join("requests.jsonl.status"),
            status.to_string(),
        )
        .unwrap();
    }

    fn requests(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        // Only whole lines: the receiver may be writing the next one as this reads (a large
        // batch's line is written in several chunks).
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until the requests hold `needle` in their bodies.
    fn wait_for(&self, needle: &str, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let requests = self.requests();
            if requests
                .iter()
                .any(|r| r["body"].as_str().unwrap().contains(needle))
            {
                return requests;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {secs}s: {requests:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The RFC 5424 messages of an octet-counted body.
fn frames(body: &[u8]) -> Vec<String> {
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ').expect("a length");
        let length: usize = std::str::from_utf8(&rest[..space])
            .unwrap()
            .parse()
            .unwrap();
        out.push(String::from_utf8(rest[space + 1..space + 1 + length].to_vec()).unwrap());
        rest = &rest[space + 1 + length..];
    }
    out
}

/// Each instance's app lines as a receiver got them: from Logplex frames (checking their
/// header fields) and from NDJSON events.
fn http_lines(
    requests: &[Value],
) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let (mut plex, mut json) = (
        BTreeMap::<String, Vec<String>>::new(),
        BTreeMap::<String, Vec<String>>::new(),
    );
    for request in requests {
        let body = request["body"].as_str().unwrap();
        if request["path"] == "/ndjson" {
            for line in body.lines() {
                let event: Value = serde_json::from_str(line).unwrap();
                json.entry(event["process"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(event["line"].as_str().unwrap().to_owned());
            }
        } else {
            for frame in frames(body.as_bytes()) {
                // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
                let fields: Vec<&str> = frame.splitn(8, ' ').collect();
                assert!(fields[0].ends_with(">1"), "{frame}");
                assert_eq!(fields[2], "shop", "{frame}");
                assert_eq!((fields[5], fields[6]), ("-", "-"), "{frame}");
                if fields[3] == "app" {
                    plex.entry(fields[4].to_owned())
                        .or_default()
                        .push(fields[7].to_owned());
                }
            }
        }
    }
    (plex, json)
}

#[test]
fn https_style_drains_post_logplex_and_ndjson_batches() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let secret = "s3cr3t-t0ken";
    let logplex = format!(
        "http://user:{secret}@127.0.0.1:{}/ingest?key={secret}",
        base + 150
    );
    let ndjson = format!("http://127.0.0.1:{}/ndjson#format=ndjson", base + 150);
    let manifest =
        format!("[app]\nname = \"shop\"\n\n[logs]\ndrains = [\"{logplex}\", \"{ndjson}\"]\n");
    let mut running = app()
        .env("LINES", "1200")
        .manifest(&manifest)
        .run_at(base, "web=2");
    running.wait_for_nth("| done", 2, 30);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut requests;
    let (plex, json) = loop {
        requests = receiver.requests();
        let (plex, json) = http_lines(&requests);
        let complete = |m: &BTreeMap<String, Vec<String>>| {
            ["web.1", "web.2"].iter().all(|ps| {
                m.get(*ps)
                    .is_some_and(|l| l.last().map(String::as_str) == Some("done"))
            })
        };
        if complete(&plex) && complete(&json) {
            break (plex, json);
        }
        assert!(
            Instant::now() < deadline,
            "not every line arrived: {} requests",
            requests.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for ps in ["web.1", "web.2"] {
        let mut expected = all_written(ps, 1200);
        expected.push("done".into());
        assert_lines(&plex[ps], &expected, "logplex");
        assert_lines(&json[ps], &expected, "ndjson");
    }
    for request in &requests {
        let headers = &request["headers"];
        let body = request["body"].as_str().unwrap();
        if request["path"] == "/ndjson" {
            assert_eq!(headers["content-type"], "application/x-ndjson");
            assert!(body.lines().count() <= 500);
        } else {
            assert_eq!(request["path"], format!("/ingest?key={secret}"));
            assert_eq!(headers["content-type"], "application/logplex-1");
            let count: usize = headers["logplex-msg-count"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(count, frames(body.as_bytes()).len());
            assert!(count <= 500, "a batch of {count}");
            // Basic credentials from the URL: base64("user:s3cr3t-t0ken").
            assert_eq!(headers["authorization"], "Basic dXNlcjpzM2NyM3QtdDBrZW4=");
            assert!(
                headers["logplex-drain-token"]
                    .as_str()
                    .unwrap()
                    .starts_with("d.")
            );
            assert!(headers["logplex-frame-id"].is_string());
        }
    }
    // The URL's secrets appear nowhere dozen prints.
    let status = ps_json(&running);
    let shown = status["logs"]["drains"].to_string();
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("http://***@127.0.0.1:"), "{shown}");
    let (_, text, _) = running.dozen(&["ps"]);
    assert!(!text.contains(secret) && text.contains("drain "), "{text}");

    let lines = stop(running);
    assert!(!lines.iter().any(|l| l.contains(secret)));
}

#[test]
fn a_collector_that_refuses_a_batch_costs_it_counted_and_said() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let manifest = format!(
        "[logs]\ndrains = [\"http://127.0.0.1:{}/in\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "10")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    receiver.wait_for("done", 10);
    // A collector that refuses (4xx): the batch is dropped, counted, and said.
    receiver.answer(403);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let drains = ps_json(&running)["logs"]["drains"].clone();
        if drains
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["dropped"].as_u64().unwrap() > 0)
        {
            assert!(
                drains[0]["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("HTTP 403"),
                "{drains}"
            );
            break;
        }
        // Lines for the drains to send: dozen's own.
        running.dozen(&["restart", "web.1"]);
        assert!(Instant::now() < deadline, "{drains}");
        std::thread::sleep(Duration::from_millis(300));
    }
    stop(running);
}

#[test]
fn an_https_drain_delivers_to_a_collector_whose_certificate_it_trusts() {
    let base = crate::harness::port_block();
    let ca = TestCa::make();
    let receiver = Receiver::start_with(base + 150, Some(&ca));
    let manifest = format!(
        "[logs]\ndrains = [\"https://localhost:{}/ndjson#format=ndjson\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "700")
        .env("SSL_CERT_FILE", ca.ca.to_str().unwrap())
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let requests = receiver.wait_for("\"done\"", 20);
    let (_, json) = http_lines(&requests);
    let mut expected = all_written("web.1", 700);
    expected.push("done".into());
    assert_lines(&json["web.1"], &expected, "https");
    // 700 lines at once: two batches at least (500 at most each).
    assert!(requests.len() >= 2, "{} requests", requests.len());
    assert_eq!(ps_json(&running)["logs"]["drains"][0]["state"], "connected");
    stop(running);
}

#[test]
fn drains_added_and_removed_apply_to_the_running_formation_and_stay_secret() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let secret = "t0k3n-value";
    let url = format!(
        "http://u:{secret}@127.0.0.1:{}/in#format=ndjson",
        base + 150
    );
    let script = "import os, sys, time\ni = 0\nwhile True:\n    print('tick %d' % i, flush=True)\n    i += 1\n    time.sleep(0.05)\n";
    let test = Test::new()
        .file("tick.py", script)
        .procfile("web: python3 -u tick.py\n");
    let port = base.to_string();
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    running.wait_for("web.1 | tick 3", 20);

    let (code, stdout, stderr) = running.dozen(&["drains", "add", &url]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let id = stdout.split_whitespace().nth(2).unwrap().to_owned();
    assert_eq!(id.len(), 12, "{stdout}");
    assert!(stdout.contains("http://***@127.0.0.1:"), "{stdout}");
    assert!(
        stderr.contains("the running `dozen run` has applied it"),
        "{stderr}"
    );
    let stored = running.dir.path().join(".dozen/drains.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&stored).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // The run ships to it at once.
    running.wait_for("drains changed: 1 now", 10);
    let requests = receiver.wait_for("tick", 10);
    assert!(
        requests
            .iter()
            .all(|r| r["headers"]["authorization"].is_string())
    );

    // Listed redacted, with its id; the same URL twice is refused.
    let (code, stdout, _) = running.dozen(&["drains"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(&id) && stdout.contains("(stored)") && !stdout.contains(secret),
        "{stdout}"
    );
    let (_, stdout, _) = running.dozen(&["drains", "--json"]);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["drains"][0]["id"], id.as_str());
    assert_eq!(
        listed["drains"][0]["url"],
        format!("http://***@127.0.0.1:{}/***#format=ndjson", base + 150)
    );
    let (code, _, stderr) = running.dozen(&["drains", "add", &url]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("already a drain") && !stderr.contains(secret),
        "{stderr}"
    );
    let (code, _, stderr) = running.dozen(&["drains", "add", "ftp://example.com"]);
    assert_eq!(code, Some(2), "{stderr}");

    // Removed by a prefix of its id: the run stops shipping.
    let (code, stdout, stderr) = running.dozen(&["drains", "remove", &id[..6]]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&id));
    running.wait_for("drains changed: 0 now (1 stopped)", 10);
    std::thread::sleep(Duration::from_millis(1500));
    let before = receiver.requests().len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), before);
    let (code, _, stderr) = running.dozen(&["drains", "remove", &id]);
    assert_eq!(code, Some(2), "{stderr}");
    stop(running);
}

#[test]
fn logs_settings_are_checked_where_they_are_written() {
    Test::new()
        .procfile("web: a\n")
        .manifest("[logs]\nbuffer_lines = 5000000\ndrains = [\"syslog+tcp://logs.example.com\"]\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:16: buffer_lines is at most 1000000")
        .stderr_has("dozen.toml:3:11: invalid drain: a syslog drain needs a port");
    Test::new()
        .procfile("web: a\n")
        .manifest("[logs]\ndrains = [\"https://${LOG_USER}:${LOG_TOKEN}@logs.example.com/in\"]\nflush_timeout = \"1s\"\n")
        .args(&["check"])
        .run()
        .success();
    // A `${NAME}` the config does not have stops the run before it starts.
    Test::new()
        .procfile("web: sleep 5\n")
        .manifest("[logs]\ndrains = [\"https://${LOG_TOKEN}@logs.example.com/in\"]\n")
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("the config has no `LOG_TOKEN` for a drain URL");
}

#[test]
fn a_drain_whose_collector_is_not_there_yet_retries_and_delivers_when_it_comes() {
    let base = crate::harness::port_block();
    let manifest = format!(
        "[logs]\ndrains = [\"http://127.0.0.1:{}/ndjson#format=ndjson\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "50")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    // Nothing listens: the drain says why and keeps the lines.
    let deadline = Instant::now() + Duration::from_secs(10);
    let drain = loop {
        let drain = ps_json(&running)["logs"]["drains"][0].clone();
        if drain["state"] == "retrying" || Instant::now() > deadline {
            break drain;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(drain["state"], "retrying", "{drain}");
    assert!(
        drain["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{drain}"
    );
    assert_eq!(drain["dropped"], 0);
    // The collector comes: within the backoff, every line arrives once.
    let receiver = Receiver::start(base + 150);
    let requests = receiver.wait_for("\"done\"", 40);
    let (_, json) = http_lines(&requests);
    let mut expected = all_written("web.1", 50);
    expected.push("done".into());
    assert_lines(&json["web.1"], &expected, "after the reconnection");
    assert_eq!(ps_json(&running)["logs"]["drains"][0]["state"], "connected");
    stop(running);
}
