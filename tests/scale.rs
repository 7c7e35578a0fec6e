//! `dozen scale` and `dozen ps` against a running formation, and without one: the control
//! socket, live changes with their indexes and ports, the stored formation.

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use serde_json::Value;

use crate::harness::{Running, Test, dozen_in, wait_ps};

/// Each test its own block of ports.
fn base_port() -> u16 {
    crate::harness::port_block()
}

const PROCFILE: &str =
    "web: echo \"$PS on $PORT\"; exec sleep 60\nworker: echo \"$PS on $PORT\"; exec sleep 60\n";

fn run(test: Test, port: u16) -> Running {
    let port = port.to_string();
    test.args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn()
}

/// `dozen ps --json`, parsed.
fn ps(running: &Running) -> Value {
    let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn names_and_ports(status: &Value) -> Vec<(String, u64)> {
    status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn scaling_live_adds_the_next_indexes_and_ports_and_removes_the_highest() {
    let port = base_port();
    let mut running = run(Test::new().procfile(PROCFILE), port);
    running.wait_for(&format!("worker.1 | worker.1 on {}", port + 100), 10);
    let (code, stdout, stderr) = running.dozen(&["scale", "web=3", "worker-1"]);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "web=3 worker=0\n"),
        "{stderr}"
    );
    let (_, table, _) = running.dozen(&["ps"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "HEALTH", "CPU", "MEM", "RELEASE"
        ]
    );
    assert!(table.lines().any(|l| l.starts_with("web.3 ")), "{table}");
    // Without arguments, scale prints the running formation.
    let (code, stdout, _) = running.dozen(&["scale"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "web=3 worker=0\n"));
    running.wait_for(&format!("web.2 | web.2 on {}", port + 1), 10);
    running.wait_for(&format!("web.3 | web.3 on {}", port + 2), 10);
    running.wait_for("worker.1 stopped", 10);
    let status = wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 3);
    assert_eq!(
        names_and_ports(&status),
        [
            ("web.1".to_owned(), u64::from(port)),
            ("web.2".to_owned(), u64::from(port) + 1),
            ("web.3".to_owned(), u64::from(port) + 2),
        ]
    );
    assert_eq!(
        status["formation"],
        serde_json::json!({"web": 3, "worker": 0})
    );
    let first = &status["instances"][0];
    // A web that does not bind its port is not ready (issue 13): "starting" until it does.
    assert_eq!(first["state"], "starting");
    assert_eq!(first["release"], "dev");
    assert!(first["pid"].as_u64().unwrap() > 1);

    // Down again: the highest-numbered stop; the formation (and dozen) go on.
    let (code, stdout, _) = running.dozen(&["scale", "web-2"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "web=1 worker=0\n"));
    running.wait_for("web.3 stopped", 10);
    running.wait_for("web.2 stopped", 10);
    let status = wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 1);
    assert_eq!(
        names_and_ports(&status),
        [("web.1".to_owned(), u64::from(port))]
    );

    // Up once more: web.2 gets its index and port back.
    running.dozen(&["scale", "web+1"]);
    running.wait_for(&format!("web.2 | web.2 on {}", port + 1), 10);
    let history = std::fs::read_to_string(running.dir.path().join(".dozen/history.jsonl")).unwrap();
    let scales: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["what"] == "scale")
        .collect();
    assert_eq!(scales.len(), 3);
    assert_eq!(
        scales[0]["changes"],
        serde_json::json!(["web=3", "worker-1"])
    );
    assert_eq!(scales[0]["live"], true);
    running.signal(Signal::INT);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(130));
}

#[test]
fn scaling_to_zero_keeps_the_run_waiting_for_the_next_scale() {
    let port = base_port();
    let mut running = run(Test::new().procfile("web: echo up; exec sleep 60\n"), port);
    running.wait_for("web.1 | up", 10);
    let (code, stdout, _) = running.dozen(&["scale", "web=0"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "web=0\n"));
    running.wait_for("the formation is empty", 10);
    let status = wait_ps(&running, |s| s["instances"].as_array().unwrap().is_empty());
    assert_eq!(status["running"], true);
    let (code, stdout, _) = running.dozen(&["ps"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("(the formation is empty)"), "{stdout}");
    running.dozen(&["scale", "web=1"]);
    wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 1);
    running.wait_for("formation scaled to web=1", 10);
    // A scale that changes nothing says nothing in the stream.
    let (code, stdout, _) = running.dozen(&["scale", "web=1"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "web=1\n"));
    running.signal(Signal::TERM);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(143));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("formation scaled to web=1"))
            .count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn a_taken_port_refuses_the_whole_change() {
    let port = base_port();
    let mut running = run(Test::new().procfile(PROCFILE), port);
    running.wait_for("worker.1 | worker.1 on", 10);
    let _holder = std::net::TcpListener::bind(("0.0.0.0", port + 1)).unwrap();
    let (code, _, stderr) = running.dozen(&["scale", "worker=2", "web=2"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("port {} for web.2 is already in use", port + 1)),
        "{stderr}"
    );
    let status = ps(&running);
    assert_eq!(
        status["formation"],
        serde_json::json!({"web": 1, "worker": 1})
    );
    // Bad arguments are usage errors, live as without a run.
    let (code, _, stderr) = running.dozen(&["scale", "wbe=2"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("did you mean `web`?"), "{stderr}");
    let (code, _, stderr) = running.dozen(&["scale", "worker-2"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("between 0 and 100"), "{stderr}");
    running.signal(Signal::INT);
    running.finish(10);
}

#[test]
fn without_a_run_scale_stores_the_formation_for_the_next_one() {
    let test = Test::new().procfile(PROCFILE);
    let port = base_port();
    let dir = test.path().to_path_buf();
    let dozen = |args: &[&str]| dozen_in(&dir, args);
    let (code, stdout, stderr) = dozen(&["scale", "web=2"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "web=2 worker=1\n"));
    assert!(stderr.contains("stored for the next one"), "{stderr}");
    let (code, stdout, _) = dozen(&["scale", "worker-1", "--json"]);
    assert_eq!(code, Some(0));
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"running": false, "formation": {"web": 2, "worker": 0}})
    );
    for (args, needle) in [
        (&["scale", "web=x"][..], "not a count"),
        (&["scale", "wbe=1"][..], "did you mean `web`?"),
        (&["scale", "web-3"][..], "between 0 and 100"),
        (&["scale", "web=101"][..], "between 0 and 100"),
        (&["scale", "web"][..], "TYPE=N"),
    ] {
        let (code, _, stderr) = dozen(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    for args in [&["ps"][..], &["restart"], &["stop", "web"]] {
        let (code, _, stderr) = dozen(args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(
            stderr.contains("no `dozen run` is running this app"),
            "{stderr}"
        );
    }

    // The next run starts with the stored formation.
    let mut running = run(test, port);
    running.wait_for(&format!("web.2 | web.2 on {}", port + 1), 10);
    let status = wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 2);
    assert_eq!(
        status["formation"],
        serde_json::json!({"web": 2, "worker": 0})
    );
    running.signal(Signal::INT);
    running.finish(10);
}

#[test]
fn the_socket_is_private_and_a_killed_runs_socket_is_replaced() {
    let port = base_port();
    let mut running = run(Test::new().procfile("web: echo up; exec sleep 60\n"), port);
    running.wait_for("web.1 | up", 10);
    let run_dir = running.dir.path().join(".dozen/run");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run_dir), 0o700);
    assert_eq!(mode(&run_dir.join("control.sock")), 0o600);
    running.signal(Signal::KILL);
    let _ = running.child.wait();
    assert!(
        run_dir.join("control.sock").exists(),
        "SIGKILL leaves the socket file"
    );
    let (code, _, stderr) = running.dozen(&["ps"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no `dozen run` is running this app"),
        "{stderr}"
    );
    // A new run replaces it and answers.
    let second = base_port();
    let dir = running.into_dir();
    let mut again = run(Test::in_dir(dir), second);
    again.wait_for("web.1 | up", 10);
    let status = wait_ps(&again, |s| s["instances"].as_array().unwrap().len() == 1);
    assert_eq!(status["instances"][0]["port"], u64::from(second));
    again.signal(Signal::INT);
    again.finish(10);
}

/// A raw connection to the run's control socket.
fn connect(running: &Running) -> std::os::unix::net::UnixStream {
    std::os::unix::net::UnixStream::connect(running.dir.path().join(".dozen/run/control.sock"))
        .unwrap()
}

/// One request line sent raw; the reply line.
fn raw_request(running: &Running, bytes: &[u8]) -> String {
    use std::io::{BufRead as _, Write as _};
    let mut stream = connect(running);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .unwrap();
    line
}

/// How many files `dozen run` has open (its sockets among them).
fn open_files(running: &Running) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", running.child.id()))
        .unwrap()
        .count()
}

#[test]
fn idle_and_malformed_clients_never_block_the_control_socket() {
    let port = base_port();
    let mut running = run(Test::new().procfile("web: echo up; exec sleep 60\n"), port);
    running.wait_for("web.1 | up", 10);
    wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 1);
    // 100 connections that never send anything: `ps` still answers at once. Once the run
    // has taken them in (each an open file of dozen's; one fewer if the connection of the
    // `ps` above was still closing when counted).
    let before = open_files(&running);
    let idle: Vec<_> = (0..100).map(|_| connect(&running)).collect();
    crate::harness::eventually_ok(
        "the run to accept the 100 idle connections",
        Duration::from_secs(10),
        || {
            let now = open_files(&running);
            if now + 1 >= before + 100 {
                Ok(())
            } else {
                Err(format!("{now} open files, {before} before"))
            }
        },
    );
    let started = Instant::now();
    let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(took < Duration::from_secs(1), "ps took {took:?}");
    // Past the connection cap (256) the refusal is immediate and says why.
    let more: Vec<_> = (0..200).map(|_| connect(&running)).collect();
    let refused = more
        .iter()
        .filter_map(|stream| {
            use std::io::Read as _;
            let mut stream = stream;
            stream
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).ok().map(|_| text)
        })
        .filter(|text| text.contains("too many connections"))
        .count();
    assert!(refused >= 40, "{refused} of 300 idle connections refused");
    drop((idle, more));
    // Every malformed request gets a reply line, and nothing is applied.
    let not_utf8 = raw_request(&running, b"{\"v\":1,\"op\":\"ps\xff\"}\n");
    assert!(not_utf8.contains("not UTF-8"), "{not_utf8}");
    let garbage = raw_request(&running, b"scale web=100\n");
    assert!(garbage.contains("bad request"), "{garbage}");
    let other = raw_request(&running, b"{\"v\":2,\"op\":\"ps\"}\n");
    assert!(other.contains("unsupported protocol version 2"), "{other}");
    let cut = raw_request(&running, b"{\"v\":1,\"op\":\"scale\"");
    assert!(cut.contains("bad request"), "{cut}");
    let status = ps(&running);
    assert_eq!(status["formation"]["web"], 1);
    running.signal(Signal::INT);
    running.finish(10);
}

/// Whether something accepts connections on the port.
fn serving(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

#[test]
fn without_a_health_check_a_rolling_restart_never_leaves_every_port_refusing() {
    let port = base_port();
    let test = Test::new()
        .procfile("web: python3 -m http.server $PORT --bind 127.0.0.1\n")
        .manifest("[formation]\nweb = 3\n");
    let mut running = run(test, port);
    // Ready means accepting on its port, with no check configured.
    wait_ps(&running, |s| {
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "ready")
    });
    let (code, _, stderr) = running.dozen(&["restart", "web"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (mut rounds, mut all_refused) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running
        .seen
        .iter()
        .any(|l| l.contains("rolling restart done"))
    {
        // A round witnesses one moment only if it is short next to an
        // instance's restart (a new python takes far longer than 30 ms to
        // listen); on a loaded machine a descheduled round can see each
        // port refuse in turn as the roll walks past it, which is no gap.
        let began = Instant::now();
        let every_port_refused = (0..3).all(|k| !serving(port + k));
        if began.elapsed() < Duration::from_millis(30) {
            rounds += 1;
            if every_port_refused {
                all_refused += 1;
            }
        }
        assert!(Instant::now() < deadline, "the roll did not finish");
        let _ = running.poll_line(Duration::from_millis(5));
    }
    assert!(rounds > 10, "{rounds} rounds");
    assert_eq!(
        all_refused, 0,
        "{all_refused} of {rounds} rounds had every port refusing"
    );
    running.signal(Signal::INT);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(130));
}

#[test]
fn a_rolling_restart_keeps_web_serving_and_replaces_every_instance() {
    let port = base_port();
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT --bind 127.0.0.1\n")
        .manifest("[formation]\nweb = 3\n\n[processes.web]\nhealth = { tcp = true, interval = \"100ms\" }\n");
    let mut running = run(test, port);
    let before = wait_ps(&running, |s| {
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "ready")
    });
    let pids = |status: &Value| -> Vec<u64> {
        status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["pid"].as_u64().unwrap_or(0))
            .collect()
    };
    let old = pids(&before);
    let (code, _, stderr) = running.dozen(&["restart", "web"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("restarting web.1, web.2, web.3, one at a time"),
        "{stderr}"
    );
    // Poll while it rolls: at every moment some instance is ready and answers.
    crate::harness::eventually_ok("the roll to finish", Duration::from_secs(20), || {
        let status = ps(&running);
        let ready: Vec<u64> = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["state"] == "ready")
            .map(|i| i["port"].as_u64().unwrap())
            .collect();
        // Three instances' worth of capacity at every moment: an extra instance (web.4) is
        // ready before the first one stops.
        assert!(
            ready.len() >= 3,
            "fewer than three ready during the roll: {status:#}"
        );
        let answering = (0..3).filter(|k| serving(port + k)).count();
        assert!(
            answering >= 1,
            "nothing answered during the roll: {status:#}"
        );
        let now = pids(&status);
        if now.iter().zip(&old).all(|(n, o)| n != o && *n != 0) && ready.len() == 3 {
            Ok(())
        } else {
            Err(format!("{status:#}"))
        }
    });
    running.wait_for("rolling restart done (3 instances)", 10);
    // Ports stay put; the extra instance that held the capacity is gone.
    let status = wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 3);
    assert_eq!(
        names_and_ports(&status),
        [
            ("web.1".to_owned(), u64::from(port)),
            ("web.2".to_owned(), u64::from(port) + 1),
            ("web.3".to_owned(), u64::from(port) + 2),
        ]
    );
    running.signal(Signal::INT);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(130));
}

#[test]
fn stop_keeps_instances_stopped_until_restarted_or_scaled() {
    let port = base_port();
    let mut running = run(Test::new().procfile(PROCFILE), port);
    running.wait_for("worker.1 | worker.1 on", 10);
    let (code, _, stderr) = running.dozen(&["stop", "worker"]);
    assert_eq!(code, Some(0), "{stderr}");
    running.wait_for("worker.1 stopped", 10);
    let status = wait_ps(&running, |s| s["instances"][1]["state"] == "stopped");
    assert_eq!(
        status["formation"],
        serde_json::json!({"web": 1, "worker": 1})
    );
    assert_eq!(
        status["instances"][0]["state"], "starting",
        "web never binds its port"
    );
    // dozen goes on; restart brings it back.
    running.dozen(&["restart", "worker.1"]);
    wait_ps(&running, |s| s["instances"][1]["state"] == "running");
    // Stopped again, then scaling its type starts it too.
    running.dozen(&["stop", "worker.1"]);
    wait_ps(&running, |s| s["instances"][1]["state"] == "stopped");
    running.dozen(&["scale", "worker=1"]);
    wait_ps(&running, |s| s["instances"][1]["state"] == "running");
    for target in ["wrk", "web.9"] {
        let (code, _, stderr) = running.dozen(&["restart", target]);
        assert_eq!(code, Some(2), "{target}: {stderr}");
    }
    let (_, _, stderr) = running.dozen(&["stop", "wrk"]);
    assert!(stderr.contains("did you mean `worker`?"), "{stderr}");
    running.signal(Signal::INT);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(130));
}

const MOVING_APP: &str =
    "web: exec python3 -m http.server $PORT --bind 127.0.0.1\nworker: exec sleep 60\n";
const MOVING_MANIFEST: &str = "[formation]\nweb = 2\n\n[processes.web]\nhealth = { tcp = true, interval = \"100ms\", grace = \"5s\" }\n";

/// Whether every instance runs `release` and is up.
fn all_on(release: &'static str) -> impl Fn(&Value) -> bool {
    move |s: &Value| {
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["release"] == release && (i["state"] == "ready" || i["state"] == "running"))
    }
}

/// Releases `procfile`, whose move must stop with `stopped`; the formation (web=2, worker=1)
/// stays on v2, both web ports answering.
fn release_a_failing_move(running: &mut Running, port: u16, procfile: &str, stopped: &str) {
    let dir = running.dir.path().to_path_buf();
    std::fs::write(dir.join("Procfile"), procfile).unwrap();
    // `dozen release` waits for the move: it failed, so the release is aborted, and
    // `releases`, `ps` and the exit status agree that v2 is what runs.
    let (code, stdout, stderr) = dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("could not move to") && stderr.contains("v2 stays current"),
        "{stderr}"
    );
    let releases: Value = serde_json::from_str(&dozen_in(&dir, &["releases", "--json"]).1).unwrap();
    assert_eq!(releases[0]["status"], "aborted", "{releases:#}");
    assert_eq!(releases[0]["current"], false);
    let current: Vec<&Value> = releases
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["version"], "v2");
    running.wait_for(stopped, 20);
    let status = wait_ps(running, |s| {
        all_on("v2")(s) && s["instances"].as_array().unwrap().len() == 3
    });
    assert_eq!(
        status["formation"],
        serde_json::json!({"web": 2, "worker": 1})
    );
    assert!(serving(port) && serving(port + 1));
}

#[test]
fn a_new_current_release_moves_the_formation_and_a_failing_one_does_not() {
    let port = base_port();
    let test = Test::new().procfile(MOVING_APP).manifest(MOVING_MANIFEST);
    let dir = test.path().to_path_buf();
    assert_eq!(dozen_in(&dir, &["release"]).0, Some(0));
    let mut running = test
        .args(&["run", "--no-timestamps", "-p", &port.to_string()])
        .spawn();
    wait_ps(&running, all_on("v1"));

    // v2: every instance moves, one at a time, web always answering.
    std::fs::write(dir.join("notes.txt"), "v2").unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("moving web.1, web.2, worker.1 to v2, one at a time"),
        "{stderr}"
    );
    crate::harness::eventually_ok("the move to v2 to finish", Duration::from_secs(20), || {
        assert!(
            serving(port) || serving(port + 1),
            "no web answered during the move"
        );
        let status = ps(&running);
        if all_on("v2")(&status) {
            Ok(())
        } else {
            Err(format!("{status:#}"))
        }
    });
    running.wait_for("the formation runs v2 (3 instances moved)", 10);

    // v3's web cannot start: the extra web (web.3, started first on v3) fails, and nothing on
    // v2 is touched.
    release_a_failing_move(
        &mut running,
        port,
        "web: echo broken; exit 3\nworker: exec sleep 60\n",
        "web.3 did not become ready on v3: the move stopped; the formation stays on v2",
    );
    let history = std::fs::read_to_string(dir.join(".dozen/history.jsonl")).unwrap();
    let moves: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["what"] == "move")
        .collect();
    assert_eq!(moves.len(), 2, "{history}");
    // (v4's move is logged after this read.)
    assert_eq!(moves[0]["release"], "v2");
    assert_eq!(moves[0]["outcome"], "moved");
    assert_eq!(moves[1]["release"], "v3");
    assert_eq!(moves[1]["failed"], "web.3");
    // v4's web fails only as web.1: the extra web.3 comes up, web.1's replacement does not;
    // web.1 starts again on v2, and the formation stays there.
    release_a_failing_move(
        &mut running,
        port,
        "web: [ \"$PS\" = web.1 ] && exit 3; exec python3 -m http.server $PORT --bind 127.0.0.1\nworker: exec sleep 60\n",
        "web.1 did not become ready on v4: the move stopped; the formation stays on v2",
    );
    // v5's web fails only as web.2: web.1 has moved by then, and goes back to v2 with the
    // rest, so the whole formation runs the release that `releases` calls current.
    release_a_failing_move(
        &mut running,
        port,
        "web: [ \"$PS\" = web.2 ] && exit 3; exec python3 -m http.server $PORT --bind 127.0.0.1\nworker: exec sleep 60\n",
        "the formation is back on v2",
    );
    // A scale now starts instances of the release the formation runs.
    running.dozen(&["scale", "web=3"]);
    let status = wait_ps(&running, |s| {
        s["instances"].as_array().unwrap().len() == 4 && all_on("v2")(s)
    });
    assert_eq!(status["formation"]["web"], 3);
    running.signal(Signal::INT);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(130));
}

#[test]
fn a_working_tree_run_does_not_follow_releases() {
    let port = base_port();
    let test = Test::new().procfile("web: echo up; exec sleep 60\n");
    let dir = test.path().to_path_buf();
    let mut running = run(test, port);
    running.wait_for("web.1 | up", 10);
    let (code, _, stderr) = dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("does not follow the current release"),
        "{stderr}"
    );
    let status = wait_ps(&running, |s| s["instances"][0]["release"] == "dev");
    assert_eq!(status["instances"].as_array().unwrap().len(), 1);
    running.signal(Signal::INT);
    running.finish(10);
}

#[test]
fn wait_reports_how_a_restart_a_stop_and_a_scale_ended() {
    let port = base_port();
    let test = Test::new()
        .procfile("web: [ -f broken ] && exit 3; exec python3 -m http.server $PORT --bind 127.0.0.1\nworker: exec sleep 60\n")
        .manifest("[formation]\nweb = 2\n");
    let dir = test.path().to_path_buf();
    let running = run(test, port);
    wait_ps(&running, |s| {
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "ready" || i["state"] == "running")
    });
    let (code, _, stderr) = running.dozen(&["restart", "web", "--wait"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("done: every instance is back and ready"),
        "{stderr}"
    );
    let (code, _, stderr) = running.dozen(&["scale", "web=3", "--wait"]);
    assert_eq!(code, Some(0), "{stderr}");
    let status = ps(&running);
    assert!(
        status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "web")
            .all(|i| i["state"] == "ready"),
        "scale --wait returned before web.3 was ready: {status:#}"
    );
    let (code, _, stderr) = running.dozen(&["stop", "worker", "--wait"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(ps(&running)["instances"][3]["state"], "stopped");
    // A replacement that cannot start: the restart fails, and --wait says so with exit 1.
    std::fs::write(dir.join("broken"), "").unwrap();
    let (code, _, stderr) = running.dozen(&["restart", "web.1", "--wait"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("did not become ready"), "{stderr}");
    running.signal(Signal::INT);
    running.finish(10);
}

/// A scale the run applies but cannot store (a full disk; here the file's place is taken)
/// fails, saying so: the next run would start with the old counts (issue 30, finding 12).
#[test]
fn a_scale_the_run_cannot_store_fails_and_says_why() {
    let port = base_port();
    let mut running = run(Test::new().procfile(PROCFILE), port);
    running.wait_for("worker.1 on", 10);
    wait_ps(&running, |s| s["instances"].as_array().unwrap().len() == 2);
    // Where formation.json goes, a directory that a rename cannot replace.
    let blocked = running.dir.path().join(".dozen/formation.json");
    let _ = std::fs::remove_file(&blocked);
    std::fs::create_dir_all(blocked.join("taken")).unwrap();
    let (code, stdout, stderr) = running.dozen(&["scale", "web=2"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("the running formation changed, but it could not be stored"),
        "{stderr}"
    );
    assert!(
        stdout.contains("web=2"),
        "what runs is still printed: {stdout}"
    );
    // Stored again once it can be.
    std::fs::remove_dir_all(&blocked).unwrap();
    let (code, stdout, stderr) = running.dozen(&["scale", "web=3"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(blocked.is_file());
    running.signal(Signal::INT);
    running.finish(10);
}

/// Ten `dozen scale web+1` at once with no run: each is a read-modify-write of the stored
/// formation under its lock, so all ten count, as the history's ten events say (issue 31,
/// finding 14; it ended at web=2).
#[test]
fn concurrent_scales_without_a_run_lose_nothing() {
    let test = Test::new().procfile(PROCFILE);
    let dir = test.path().to_path_buf();
    let children: Vec<_> = (0..10)
        .map(|_| {
            std::process::Command::new(crate::harness::BIN)
                .args(["scale", "web+1"])
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let (code, stdout, stderr) = dozen_in(&dir, &["scale", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["formation"]["web"], 11, "{json}");
}
