//! `dozen run --dev`: the formation, its output, signals, exits, restarts, readiness, and
//! nothing left behind.

use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::Test;

/// Each test its own block of ports, so tests can run in parallel.
fn base_port() -> String {
    crate::harness::port_block().to_string()
}

fn run(test: Test, extra: &[&str]) -> crate::harness::Running {
    let port = base_port();
    let mut args = vec!["run", "--dev", "--no-timestamps", "-p", &port];
    args.extend_from_slice(extra);
    test.args(&args).spawn()
}

fn gone(pid: i32) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    state.is_empty()
        || state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

#[test]
fn formation_ports_and_instance_environment() {
    let test = Test::new().procfile("web: echo \"$PS $PORT $DOZEN_PROCESS $PYTHONUNBUFFERED\"; exec sleep 30\nworker: echo \"$PS $PORT\"; exec sleep 30\n");
    let port: u16 = base_port().parse().unwrap();
    let mut running = test
        .args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "-m",
            "web=2,worker=1",
            "-p",
            &port.to_string(),
        ])
        .spawn();
    running.wait_for(&format!("web.1 | web.1 {port} web.1 1"), 10);
    running.wait_for(&format!("web.2 | web.2 {} web.2 1", port + 1), 10);
    running.wait_for(&format!("worker.1 | worker.1 {}", port + 100), 10);
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(130), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l == "dozen | SIGINT received; stopping all processes"),
        "{lines:?}"
    );
}

#[test]
fn config_reaches_every_process_and_files_win() {
    let test = Test::new()
        .procfile("web: echo \"[$GREETING]\"; exec sleep 30\n")
        .env_file(".env", "GREETING=from-file\n")
        .env("GREETING", "from-shell");
    let mut running = run(test, &[]);
    running.wait_for("web.1 | [from-file]", 10);
    running.signal(Signal::TERM);
    assert_eq!(running.finish(10).0, Some(143));
}

#[test]
fn a_crash_stops_the_formation_with_its_exit_code() {
    let test =
        Test::new().procfile("steady: exec sleep 30\ncrash: sleep 0.3; echo going down; exit 3\n");
    let started = Instant::now();
    let running = run(test, &[]);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(3), "{lines:?}");
    let crash = lines
        .iter()
        .position(|l| l.ends_with("crash.1 exited with code 3; stopping all processes"))
        .unwrap();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("exited with code 3"))
            .count(),
        1,
        "the exit is told once: {lines:?}"
    );
    let last_words = lines
        .iter()
        .position(|l| l.ends_with("| going down"))
        .unwrap();
    assert!(last_words < crash, "output before the exit line: {lines:?}");
    assert!(
        lines.iter().any(|l| l.ends_with("steady.1 stopped")),
        "{lines:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_n() {
    let running = run(
        Test::new().procfile("a: exec sleep 30\nb: sleep 0.2; kill -KILL $$\n"),
        &[],
    );
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(137), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("b.1 killed by SIGKILL; stopping all processes")),
        "{lines:?}"
    );
}

#[test]
fn a_child_ignoring_sigterm_is_killed_after_the_timeout() {
    let test =
        Test::new().procfile("stubborn: trap '' TERM; echo ready; while :; do sleep 0.1; done\n");
    let mut running = run(test, &["-t", "1"]);
    running.wait_for("stubborn.1 | ready", 10);
    let asked = Instant::now();
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    let took = asked.elapsed();
    assert_eq!(code, Some(130));
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("stubborn.1 did not stop within 1s; sending SIGKILL")),
        "{lines:?}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    let test = Test::new()
        .procfile("stubborn: trap '' TERM INT; echo ready; while :; do sleep 0.1; done\n");
    let mut running = run(test, &["-t", "30"]);
    running.wait_for("stubborn.1 | ready", 10);
    running.signal(Signal::INT);
    running.wait_for("stopping all processes", 10);
    let again = Instant::now();
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(130));
    assert!(
        again.elapsed() < Duration::from_secs(2),
        "{:?}",
        again.elapsed()
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("SIGINT again: killing every process now")),
        "{lines:?}"
    );
}

#[test]
fn nothing_survives_sigkill_of_dozen() {
    let procfile = "a: sleep 300 & echo $! > bg.pid; setsid sh -c 'sleep 301 & echo $! > daemon.pid'; echo $$ > a.pid; echo started; exec sleep 302\nb: echo $$ > b.pid; echo started; exec sleep 303\n";
    let mut running = run(Test::new().procfile(procfile), &[]);
    running.wait_for("a.1 | started", 10);
    running.wait_for("b.1 | started", 10);
    // `setsid` may fork: daemon.pid can come after "started".
    let pids: Vec<i32> = crate::harness::eventually_ok(
        "every pid file to be written",
        Duration::from_secs(10),
        || {
            ["bg.pid", "daemon.pid", "a.pid", "b.pid"]
                .iter()
                .map(|f| {
                    let text = running.read(f);
                    text.trim().parse().map_err(|_| format!("{f}: {text:?}"))
                })
                .collect()
        },
    );
    running.signal(Signal::KILL);
    let killed = Instant::now();
    crate::harness::within(Duration::from_secs(3), || pids.iter().all(|p| gone(*p)));
    let survivors: Vec<i32> = pids.iter().copied().filter(|p| !gone(*p)).collect();
    assert!(
        survivors.is_empty(),
        "still running after SIGKILL of dozen: {survivors:?}"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(1),
        "took {:?}",
        killed.elapsed()
    );
    let _ = running.finish(5);
}

#[test]
fn a_health_check_command_does_not_survive_sigkill_of_dozen() {
    // The check hangs (until its 60 s timeout): dozen is killed while it runs.
    let test = Test::new().procfile("web: exec sleep 300\n").manifest(
        "[processes.web]\nhealth = { command = \"echo $$ > check.pid; exec sleep 299\", timeout = \"60s\" }\n",
    );
    let mut running = run(test, &[]);
    running.wait_for("web.1 started", 10);
    let pid: i32 =
        crate::harness::eventually_ok("the check to run", Duration::from_secs(10), || {
            let written = running.read("check.pid");
            written
                .trim()
                .parse()
                .map_err(|_| format!("check.pid: {written:?}"))
        });
    running.signal(Signal::KILL);
    assert!(
        crate::harness::within(Duration::from_secs(5), || gone(pid)),
        "the check command survived SIGKILL of dozen"
    );
    let _ = running.finish(5);
}

#[test]
fn restarts_back_off_then_give_up() {
    let test = Test::new()
        .procfile("steady: exec sleep 30\nflaky: echo boom; exit 4\n")
        .manifest("[processes.flaky]\nrestart = \"on-failure\"\nrestart_delay = \"50ms\"\nmax_restarts = 2\n");
    let (code, lines) = run(test, &[]).finish(10);
    assert_eq!(code, Some(4), "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("flaky.1 | boom"))
            .count(),
        3,
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("flaky.1 restarting in 50ms (restart 1 of 2)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("flaky.1 restarting in 100ms (restart 2 of 2)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("flaky.1 gave up after 2 restarts; stopping all processes")),
        "{lines:?}"
    );
}

#[test]
fn always_restarts_a_clean_exit_and_on_failure_does_not() {
    let test = Test::new()
        .procfile("again: echo tick; exit 0\nonce: echo once; exit 0\n")
        .manifest("[processes.again]\nrestart = \"always\"\nrestart_delay = \"50ms\"\nmax_restarts = 1\n[processes.once]\nrestart = \"on-failure\"\nmay_exit = true\n");
    let (code, lines) = run(test, &[]).finish(10);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("again.1 | tick"))
            .count(),
        2,
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("once.1 | once"))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(
        code,
        Some(1),
        "giving up on a clean exit is still a failure: {lines:?}"
    );
}

#[test]
fn may_exit_types_finish_without_stopping_the_others() {
    let test = Test::new()
        .procfile("setup: echo set up\nweb: echo serving; exec sleep 30\n")
        .manifest("[processes.setup]\nmay_exit = true\n");
    let mut running = run(test, &[]);
    running.wait_for("setup.1 exited with code 0", 10);
    // A fixed time on purpose: nothing must happen in it (no stop for setup's exit), and a
    // run that does nothing gives no event to wait for.
    std::thread::sleep(Duration::from_millis(300));
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(130), "{lines:?}");
    let stop = lines
        .iter()
        .position(|l| l.contains("stopping all processes"))
        .unwrap();
    assert!(lines[stop].contains("SIGINT"), "{lines:?}");
}

#[test]
fn after_waits_for_readiness() {
    let test = Test::new()
        .procfile("web: echo web up; exec sleep 30\ndb: sleep 0.5; exec python3 -m http.server $PORT --bind 127.0.0.1\n")
        .manifest("[processes.db]\nhealth = { tcp = true, interval = \"200ms\" }\n[processes.web]\nafter = [\"db\"]\n");
    let mut running = run(test, &[]);
    let ready = running.wait_for("db.1 ready in", 15);
    running.wait_for("web.1 started", 10);
    running.signal(Signal::INT);
    let (_, lines) = running.finish(10);
    let ready_at = lines.iter().position(|l| *l == ready).unwrap();
    let web_at = lines
        .iter()
        .position(|l| l.contains("web.1 started"))
        .unwrap();
    assert!(ready_at < web_at, "{lines:?}");
}

#[test]
fn a_failing_health_check_stops_the_formation_when_it_cannot_restart() {
    let test = Test::new()
        .procfile("web: sleep 0.6; touch sick; exec sleep 30\n")
        .manifest("[processes.web]\nhealth = { command = \"test ! -f sick\", interval = \"100ms\", retries = 2 }\n");
    let (code, lines) = run(test, &[]).finish(15);
    assert_eq!(code, Some(1), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("web.1 ready in 0.1s") || l.contains("web.1 ready in")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("web.1 failed its health check 2 times: `test ! -f sick` exited with code 1; stopping all processes")), "{lines:?}");
}

#[test]
fn json_log_lines() {
    let test = Test::new().procfile("web: echo out; echo err >&2; exec sleep 30\n");
    let port = base_port();
    let mut running = test
        .args(&["run", "--dev", "--log-format", "json", "-p", &port])
        .spawn();
    running.wait_for("\"line\":\"err\"", 10);
    running.signal(Signal::INT);
    let (_, lines) = running.finish(10);
    let objects: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let out = objects.iter().find(|o| o["line"] == "out").unwrap();
    assert_eq!(
        (out["process"].as_str(), out["stream"].as_str()),
        (Some("web.1"), Some("stdout"))
    );
    let err = objects.iter().find(|o| o["line"] == "err").unwrap();
    assert_eq!(err["stream"], "stderr");
    assert!(
        objects
            .iter()
            .any(|o| o["process"] == "dozen" && o["stream"] == "system")
    );
    assert!(
        objects
            .iter()
            .all(|o| o["ts"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
}

#[test]
fn long_lines_arrive_whole_and_bytes_pass_through() {
    let test = Test::new().procfile("big: python3 -c \"import sys; sys.stdout.write('x' * 1048576 + '\\n'); sys.stdout.buffer.write(b'caf\\xe9 \\xff\\xfe raw\\n')\"\n");
    let port = base_port();
    let output = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .run();
    assert_eq!(output.code, Some(0), "{}", output.stderr);
    let raw = std::fs::read(output.dir.path().join("nothing")).ok();
    assert!(raw.is_none());
    let long = output
        .stdout
        .lines()
        .find(|l| l.starts_with("big.1 | x"))
        .unwrap();
    assert_eq!(long.len(), "big.1 | ".len() + 1_048_576);
}

#[test]
fn non_utf8_bytes_are_not_altered() {
    use std::process::Command;
    let test = Test::new().procfile("bin: printf 'caf\\351 \\377\\376 raw\\n'\n");
    let port = base_port();
    let output = Command::new(crate::harness::BIN)
        .args(["run", "--dev", "--no-timestamps", "-p", &port])
        .current_dir(test.path())
        .output()
        .unwrap();
    let needle = b"bin.1 | caf\xe9 \xff\xfe raw\n";
    assert!(
        output.stdout.windows(needle.len()).any(|w| w == needle),
        "{:?}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_partial_line_is_shown_without_waiting_for_its_newline() {
    let test =
        Test::new().procfile("ask: printf 'Password: '; sleep 2; echo typed; exec sleep 30\n");
    let mut running = run(test, &[]);
    let started = Instant::now();
    running.wait_for("ask.1 | Password: ", 10);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    running.wait_for("ask.1 | typed", 10);
    running.signal(Signal::INT);
    let _ = running.finish(10);
}

#[test]
fn a_reader_that_pauses_loses_nothing() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    // Not `spawn`: its thread reads all the time; here nothing reads dozen's stdout at first.
    let test = Test::new().procfile("count: seq 1 200000\n");
    let port = base_port();
    let mut child = Command::new(crate::harness::BIN)
        .args(["run", "--dev", "--no-timestamps", "-p", &port])
        .current_dir(test.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A fixed time on purpose, the pause itself: seq writes 1.3 MB, far more than the pipe
    // holds, so dozen finds it full for most of it.
    std::thread::sleep(Duration::from_secs(2));
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map(|l| crate::harness::unpad(&l.unwrap()))
            .collect::<Vec<String>>()
    });
    let exited = crate::harness::within(Duration::from_secs(30), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let code = child.wait().unwrap().code();
    let lines = reader.join().unwrap();
    assert!(exited, "dozen did not exit within 30 s: {:?}", lines.last());
    assert_eq!(code, Some(0), "{:?}", lines.last());
    let numbers: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("count.1 | "))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 200_000);
    assert!(
        numbers
            .iter()
            .enumerate()
            .all(|(i, n)| *n as usize == i + 1),
        "lines out of order or missing"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_cleanly() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let test = Test::new().procfile("yes: echo $$ > yes.pid; exec yes\n");
    let port = base_port();
    let mut child = Command::new(crate::harness::BIN)
        .args(["run", "--dev", "-p", &port])
        .current_dir(test.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut some = [0u8; 4096];
    stdout.read_exact(&mut some).unwrap();
    drop(stdout);
    let status = crate::harness::eventually_ok(
        "dozen to exit after its stdout closed",
        Duration::from_secs(10),
        || {
            child
                .try_wait()
                .unwrap()
                .ok_or_else(|| "still running".to_owned())
        },
    );
    assert_eq!(status.code(), Some(0));
    let pid: i32 = std::fs::read_to_string(test.path().join("yes.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(pid));
}

#[test]
fn a_taken_port_is_an_error_before_anything_starts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    Test::new()
        .procfile("web: echo started > started; exec sleep 30\n")
        .args(&["run", "--dev", "-p", &port.to_string()])
        .run()
        .code(1)
        .stderr_has(&format!("error: port {port} for web.1 is already in use"));
}

#[test]
fn one_run_per_app() {
    let test = Test::new().procfile("web: echo up; exec sleep 30\n");
    let dir = test.path().to_path_buf();
    let port = base_port();
    let mut first = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    first.wait_for("web.1 | up", 10);
    // On other ports, and on the same ones (the first run's own, router included): the run
    // that holds the app is what a second one is told about, not a port in use.
    let other = base_port();
    for args in [
        &["run", "--dev", "-p", &other][..],
        &["run", "--dev", "-p", &port],
        &["run", "--dev", "-p", &port, "--router"],
    ] {
        let second = std::process::Command::new(crate::harness::BIN)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "another `dozen run` (pid {}) is already running this app",
                first.child.id()
            )),
            "{args:?}: {stderr}"
        );
    }
    // A release's run says which release it runs only once it holds the app (issue 31,
    // finding 28): a second one says nothing else.
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["run", "-p", &other]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is already running this app"), "{stderr}");
    assert!(!stderr.contains("running v1"), "{stderr}");
    first.signal(Signal::INT);
    let _ = first.finish(10);
}

#[test]
fn bad_formations_are_usage_errors() {
    let app = || Test::new().procfile("web: x\nworker: y\n");
    app()
        .args(&["run", "--dev", "-m", "wbe=1"])
        .run()
        .code(2)
        .stderr_has("`wbe` is not a process type in the Procfile; did you mean `web`?");
    app()
        .args(&["run", "--dev", "-m", "web=lots"])
        .run()
        .code(2)
        .stderr_has("for '--formation <TYPE=N,...>': `lots` in `web=lots` is not a count");
    app()
        .args(&["run", "--dev", "-m", "web=0,worker=0"])
        .run()
        .code(2)
        .stderr_has("the formation is empty");
    app()
        .args(&["run", "--dev", "nope"])
        .run()
        .code(2)
        .stderr_has("`nope` is not a process type");
    app()
        .args(&["run", "--dev", "-t", "soon"])
        .run()
        .code(2)
        .stderr_has("for '--timeout <DURATION>'");
}

#[test]
fn tty_types_get_a_terminal_and_plain_lines() {
    let test = Test::new()
        .procfile("t: if test -t 1; then echo on-a-terminal; else echo not-a-terminal; fi; echo to-stderr >&2\np: if test -t 1; then echo on-a-terminal; else echo not-a-terminal; fi; exec sleep 30\n")
        .manifest("[processes.t]\ntty = true\nmay_exit = true\n");
    let mut running = run(test, &[]);
    running.wait_for("t.1 | on-a-terminal", 10);
    running.wait_for("t.1 | to-stderr", 10);
    running.wait_for("p.1 | not-a-terminal", 10);
    running.signal(Signal::INT);
    let (_, lines) = running.finish(10);
    assert!(lines.iter().all(|l| !l.ends_with('\r')), "{lines:?}");
}

#[test]
fn an_unhealthy_instance_is_restarted_when_its_policy_allows() {
    // The first run turns sick after becoming ready; the restarted one stays healthy. Each
    // check adds a line to `checks`, for the test to count them.
    let procfile = "web: if [ -f ran-once ]; then rm -f sick; else touch ran-once; (sleep 0.5; touch sick) & fi; echo up; exec sleep 30\n";
    let manifest = "[processes.web]\nrestart = \"on-failure\"\nrestart_delay = \"50ms\"\nhealth = { command = \"echo >> checks; test ! -f sick\", interval = \"100ms\", retries = 2 }\n";
    let mut running = run(Test::new().procfile(procfile).manifest(manifest), &[]);
    running.wait_for("web.1 ready in", 10);
    running.wait_for(
        "web.1 failed its health check 2 times: `echo >> checks; test ! -f sick` exited with code 1; restarting it",
        10,
    );
    running.wait_for("web.1 restarting in 50ms (restart 1 of 5)", 10);
    let second_ready = running.seen.len();
    running.wait_for_nth("web.1 ready in", 2, 10);
    // Healthy through five more checks: more than the two failures a restart would take.
    let checks = || running.read("checks").lines().count();
    let ready_at = checks();
    crate::harness::eventually(
        "five health checks of the restarted web.1",
        Duration::from_secs(10),
        || checks() >= ready_at + 5,
    );
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(130), "{lines:?}");
    assert!(
        lines[second_ready..]
            .iter()
            .any(|l| l.contains("web.1 ready in")),
        "ready again after the restart: {lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("restarting it")).count(),
        1,
        "{lines:?}"
    );
}

/// A server that binds `$PORT`, drains for 1.5 s on SIGTERM, and says each step.
const DRAINING_SERVER: &str = "import os, signal, socket, sys, time
ps = os.environ['PS']
s = socket.socket()
s.bind(('127.0.0.1', int(os.environ['PORT'])))
s.listen()
def term(*_):
    print(ps + ' got TERM', flush=True)
    time.sleep(1.5)
    print(ps + ' drained', flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
print(ps + ' up ' + str(os.getpid()), flush=True)
while True:
    time.sleep(1)
";

/// A compound command: `sh` forks python instead of becoming it.
fn compound_app() -> Test {
    Test::new()
        .procfile("web: cd . && python3 srv.py\n")
        .file("srv.py", DRAINING_SERVER)
}

fn pid_of_up(line: &str) -> i32 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_compound_command_drains_on_stop_and_is_signalled_once() {
    let mut running = run(compound_app(), &["-t", "5"]);
    let up = running.wait_for("web.1 up", 10);
    let pid = pid_of_up(&up);
    running.signal(Signal::TERM);
    let (code, lines) = running.finish(15);
    assert_eq!(code, Some(143), "{lines:?}");
    let got = lines
        .iter()
        .filter(|l| l.ends_with("web.1 got TERM"))
        .count();
    assert_eq!(got, 1, "signalled once: {lines:?}");
    let drained = lines.iter().position(|l| l.ends_with("web.1 drained"));
    let stopped = lines.iter().position(|l| l.ends_with("web.1 stopped"));
    assert!(
        drained.is_some() && drained < stopped,
        "the drain completes before the stop: {lines:?}"
    );
    assert!(gone(pid));
}

#[test]
fn a_compound_command_restarts_on_its_port_and_scales_down_without_leftovers() {
    let mut running = run(compound_app(), &["-t", "5", "-m", "web=2"]);
    let first = pid_of_up(&running.wait_for("web.1 up", 10));
    let second = pid_of_up(&running.wait_for("web.2 up", 10));
    let (code, _, stderr) = running.dozen(&["restart", "web.1"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The old web.1 drains before its replacement binds the same port.
    running.wait_for("web.1 drained", 10);
    let replacement = pid_of_up(&running.wait_for_nth("web.1 up", 2, 10));
    assert_ne!(replacement, first);
    assert!(gone(first));
    let (code, _, stderr) = running.dozen(&["scale", "web=1"]);
    assert_eq!(code, Some(0), "{stderr}");
    running.wait_for("web.2 drained", 10);
    running.wait_for("web.2 stopped", 10);
    assert!(gone(second), "web.2's python outlived its scale-down");
    assert!(
        !running
            .seen
            .iter()
            .any(|l| l.contains("Address already in use")),
        "{:?}",
        running.seen
    );
    running.signal(Signal::TERM);
    let (code, lines) = running.finish(15);
    assert_eq!(
        code,
        Some(143),
        "the formation survived the restart: {lines:?}"
    );
    assert!(gone(replacement));
}

/// On a terminal an app's output keeps its colours, and its other control sequences (a
/// window title, a screen clear, a carriage return over the prefix) are shown, not acted on;
/// piped, the bytes pass whole (issue 31, finding 21). A build step's output the same.
#[test]
fn on_a_terminal_an_apps_escape_sequences_are_shown_not_acted_on() {
    let hostile = r"printf '\033]0;PWNED\007\033[2J\rover \033[31mred\033[0m\n'";
    let test = Test::new()
        .procfile(&format!("web: {hostile}; exit 3\n"))
        .manifest(&format!(
            "[build]\nsteps = [\"{}\"]\n",
            hostile.replace('\\', "\\\\")
        ))
        .git_add_all();
    // `script` gives dozen a terminal, and copies what dozen wrote to it.
    let under = |term: Option<&str>, args: &str| {
        let mut script = std::process::Command::new("script");
        script
            .args([
                "-qefc",
                &format!("{} {args}", crate::harness::BIN),
                "/dev/null",
            ])
            .current_dir(test.path())
            .env("NO_COLOR", "1");
        match term {
            Some(term) => script.env("TERM", term),
            None => script.env_remove("TERM"),
        };
        String::from_utf8_lossy(&script.output().unwrap().stdout).into_owned()
    };
    let under_terminal = |args: &str| under(Some("xterm"), args);
    let shown = "␛]0;PWNED␇␛[2J␍over \x1b[31mred\x1b[0m";
    let ran = under_terminal("run --dev");
    assert!(ran.contains(&format!("web.1 | {shown}")), "{ran:?}");
    assert!(
        !ran.contains("\x1b]0;") && !ran.contains("\x1b[2J"),
        "{ran:?}"
    );
    // A build step's line in the spinner (`-v` prints it whole too).
    let built = under_terminal("build -v");
    assert!(built.contains(shown), "{built:?}");
    assert!(
        built.contains("␛]0;PWNED␇␛[2J␍over ␛[31mred␛[0m"),
        "{built:?}"
    );
    // A terminal that does not say what it is gets no spinner (it would draw nothing, and
    // the steps' lines were lost): the lines, shown as on any terminal.
    std::fs::write(test.path().join("changed.txt"), "so the steps run again").unwrap();
    let plain = under(None, "build");
    assert!(plain.contains(&format!("  | {shown}")), "{plain:?}");
    assert!(!built.contains("\x1b]0;"), "{built:?}");
    // Piped: as the app wrote it.
    let (_, stdout, _) = crate::harness::dozen_in(test.path(), &["run", "--dev"]);
    assert!(
        stdout.contains("web.1 | \x1b]0;PWNED\x07\x1b[2J\rover \x1b[31mred\x1b[0m"),
        "{stdout:?}"
    );
}
