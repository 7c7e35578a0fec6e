//! Release moves, blue-green and canary deploys through the router: no request lost.

use super::*;

/// A new release moves the formation instance by instance behind the router: each old
/// instance drains before it stops, each new one gets requests once ready; nothing fails.
#[test]
fn a_release_move_loses_no_request() {
    let port = base_port();
    let test = app();
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").status, 200);
    let load = Load::start(port, 4, "/");
    let slow = Load::start(port, 2, "/slow?s=0.3");
    load.wait_served(20);
    let before = load.served();
    std::fs::write(dir.join("notes.txt"), "v2").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("to v2, one at a time"), "{stderr}");
    let during = load.served() - before;
    let (_, failures) = load.finish();
    let (slow_served, slow_failures) = slow.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(slow_failures.is_empty(), "{slow_failures:?}");
    assert!(during > 0 && slow_served > 0);
    // The move's extra instance may still be on its way out when `release` returns.
    crate::harness::eventually_ok("two instances, both on v2", Duration::from_secs(10), || {
        let status = ps(&running);
        let releases: Vec<String> = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["release"].as_str().unwrap().to_owned())
            .collect();
        if releases == ["v2", "v2"] {
            Ok(())
        } else {
            Err(format!("{status:#}"))
        }
    });
    stop(running);
}

/// `dozen release` blue-green under load: the new side starts beside the old one on the
/// other half of web's ports, takes every request at once when all of it is ready (a tester
/// reaches it before with `X-Dozen-Side`), nothing fails; the old side stays for
/// `[deploy] keep_old`, then stops.
#[test]
fn a_blue_green_release_switches_at_once_and_loses_no_request() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"3s\"\n");
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let load = Load::start(port, 4, "/");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) =
        crate::harness::dozen_in(&dir, &["release", "--strategy", "blue-green"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("moving web to v2 blue-green"), "{stderr}");
    // Switched: every request now reaches v2, on the other half of web's ports.
    for _ in 0..10 {
        let reply = get(port, "/").json();
        assert_eq!(reply["version"], "two", "{reply}");
        let instance_port: u16 = reply["port"].as_str().unwrap().parse().unwrap();
        assert!(instance_port >= port + 51, "{reply}");
    }
    // The old side is kept, idle, and still reachable by asking for it.
    let status = ps(&running);
    let sides: Vec<(&str, &str)> = status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["release"].as_str().unwrap(),
                i["side"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(sides.len(), 4, "{status:#}");
    assert!(
        sides.contains(&("v1", "stable")) && sides.contains(&("v2", "candidate")),
        "{sides:?}"
    );
    let candidates = status["router"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["side"] == "candidate")
        .count();
    assert_eq!(
        candidates, 2,
        "the router tells the sides apart: {status:#}"
    );
    // The text says which row is which side and which side serves (issue 30, finding 8).
    let (code, table, _) = running.dozen(&["ps"]);
    assert_eq!(code, Some(0));
    assert!(table.lines().next().unwrap().ends_with("SIDE"), "{table}");
    assert_eq!(
        table
            .lines()
            .filter(
                |l| l.starts_with("web.1 ") && (l.ends_with("stable") || l.ends_with("candidate"))
            )
            .count(),
        2,
        "{table}"
    );
    assert!(
        table.contains("sides: candidate 100.0% of requests, stable 0.0%"),
        "{table}"
    );
    assert!(table.contains("web.1 (stable)"), "{table}");
    let mut tester = Client::connect(port).unwrap();
    let reply = tester
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Dozen-Side: stable\r\n\r\n")
        .unwrap();
    assert_eq!(reply.json()["version"], "one");
    assert!(
        reply.json()["headers"].get("x-dozen-side").is_none(),
        "not passed to the app"
    );
    // After the window: v2 alone, the formation's own.
    crate::harness::eventually_ok("v2 alone after the window", Duration::from_secs(15), || {
        let status = ps(&running);
        let instances = status["instances"].as_array().unwrap();
        if instances.len() == 2
            && instances
                .iter()
                .all(|i| i["release"] == "v2" && i.get("side").is_none())
        {
            Ok(())
        } else {
            Err(format!("{status:#}"))
        }
    });
    let (served, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served > 0);
    let (code, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "--json"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"v2\""), "{stdout}");
    stop(running);
}

/// A release inside blue-green's `keep_old` window is refused by the run: it is aborted and
/// says so (exit 1), and the release that serves stays current — never recorded current
/// while it does not run (issue 30, finding 1).
#[test]
fn a_release_inside_the_blue_green_window_is_aborted_not_current() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"60s\"\n");
    let (dir, running) = released(test, port, 1);
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(dir.join("version.txt"), "three").unwrap();
    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("the running formation did not take v3")
            && stderr.contains("keeps web's old side")
            && stderr.contains("v3 is aborted, v2 stays current"),
        "{stderr}"
    );
    assert_eq!(current_releases(&dir), ["v2"]);
    assert_eq!(get(port, "/").json()["version"], "two");
    stop(running);
}

/// Blue-green's smoke test runs against the new side through the router before the switch:
/// one that fails keeps every request on the old side and aborts the release; one that
/// passes lets the switch happen.
#[test]
fn a_blue_green_smoke_test_gates_the_switch() {
    let port = base_port();
    let smoke = "import os, sys, urllib.request as u\nwant = open('want.txt').read().strip()\nr = u.Request('http://' + os.environ['ROUTER'] + '/', headers={'X-Dozen-Side': 'candidate'})\nbody = u.urlopen(r).read().decode()\nprint('saw', body[:60])\nsys.exit(0 if want in body else 1)\n";
    let test = app()
        .file("version.txt", "one")
        .file("smoke.py", smoke)
        .file("want.txt", "\"version\": \"three\"")
        .manifest(
            "[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"1s\"\nsmoke = \"python3 smoke.py\"\nsmoke_timeout = \"10s\"\n",
        );
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let load = Load::start(port, 2, "/");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the smoke test failed: it exited with code 1: saw"),
        "{stderr}"
    );
    assert_eq!(get(port, "/").json()["version"], "one");
    std::fs::write(dir.join("version.txt"), "three").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(get(port, "/").json()["version"], "three");
    // A smoke test that hangs is killed at its timeout (and all of it: it runs as a one-off
    // under a nursery), and the deploy aborts.
    std::fs::write(
        dir.join("dozen.toml"),
        "[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"1s\"\nsmoke = \"echo waiting; sleep 30\"\nsmoke_timeout = \"1s\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("version.txt"), "four").unwrap();
    // (Once the last deploy's window has passed.)
    crate::harness::eventually(
        "the last deploy's window to end",
        Duration::from_secs(10),
        || {
            !ps(&running)["instances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i.get("side").is_some())
        },
    );
    let started = Instant::now();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the smoke test failed: it did not finish within 1s: waiting"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(get(port, "/").json()["version"], "three");
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    stop(running);
}

/// `dozen rollback` in a blue-green window switches back at once: the old side's instances
/// (same pids) serve again, nothing starts, no request fails, the new side stops.
#[test]
fn a_rollback_in_the_blue_green_window_switches_back_at_once() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"60s\"\n");
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let status = in_rotation(&running, 2);
    let pids = |status: &Value, release: &str| -> Vec<u64> {
        let mut pids: Vec<u64> = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["release"] == release && i["state"] == "ready")
            .map(|i| i["pid"].as_u64().unwrap())
            .collect();
        pids.sort_unstable();
        pids
    };
    let first = pids(&status, "v1");
    assert_eq!(first.len(), 2, "{status:#}");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    assert_eq!(crate::harness::dozen_in(&dir, &["release"]).0, Some(0));
    assert_eq!(get(port, "/").json()["version"], "two");
    let load = Load::start(port, 4, "/");
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["rollback"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("switched web back to v3: nothing started"),
        "{stderr}"
    );
    for _ in 0..10 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    assert_eq!(pids(&ps(&running), "v3"), first, "the same processes");
    let (_, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    crate::harness::eventually("the new side to stop", Duration::from_secs(10), || {
        ps(&running)["instances"].as_array().unwrap().len() == 2
    });
    stop(running);
}

/// `test` released (v1) and run behind the router on `port` with `web` instances, following
/// releases; returns once all of them are in rotation.
pub(super) fn released(test: Test, port: u16, web: usize) -> (std::path::PathBuf, Running) {
    let dir = test.path().to_path_buf();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (port_text, formation) = (port.to_string(), format!("web={web}"));
    let running = test
        .args(&[
            "run",
            "--no-timestamps",
            "--router",
            "-p",
            &port_text,
            "-m",
            &formation,
        ])
        .spawn();
    in_rotation(&running, web);
    (dir, running)
}

/// A released app behind the router (`web=3`), following releases, with `[deploy]` as given.
pub(super) fn canary_app(deploy: &str) -> (std::path::PathBuf, u16, Running) {
    let port = base_port();
    // A compound command (the shell stays, the server is its child): a canary and the side
    // it replaces must stop whole.
    let test = compound_app()
        .file("version.txt", "one")
        .manifest(&format!("[deploy]\nstrategy = \"canary\"\n{deploy}"));
    let (dir, running) = released(test, port, 3);
    assert_eq!(get(port, "/").json()["version"], "one");
    (dir, port, running)
}

/// `dozen release` of `version` in the background (it waits for the canary's end).
pub(super) fn release_in_background(
    dir: &std::path::Path,
    version: &str,
) -> std::thread::JoinHandle<(Option<i32>, String)> {
    std::fs::write(dir.join("version.txt"), version).unwrap();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release", "--wait"]);
        (code, stderr)
    })
}

/// Waits until `dozen canary --json` says the canary is being analysed.
#[track_caller]
pub(super) fn analysing(running: &Running) -> Value {
    crate::harness::eventually_ok("the canary to be analysed", Duration::from_secs(15), || {
        let (code, stdout, stderr) = running.dozen(&["canary", "--json"]);
        if code == Some(0) {
            let status: Value = serde_json::from_str(&stdout).unwrap();
            if status["canary"]["state"] == "analysing" {
                return Ok(status);
            }
        }
        Err(format!("{stdout}{stderr}"))
    })
}

/// At 10%, the canary gets 10% ± 2% of 10,000 requests; `X-Dozen-Side: candidate` always
/// reaches it; the stickiness cookie keeps a client on its side; `dozen canary abort` sends
/// everything back and the waiting `dozen release` exits 1 with the release aborted.
#[test]
fn a_canary_gets_its_share_and_is_aborted_by_hand() {
    let (dir, port, running) =
        canary_app("steps = [10]\ninterval = \"10m\"\nsticky = \"cookie\"\n");
    let release = release_in_background(&dir, "two");
    let status = analysing(&running);
    assert_eq!(status["canary"]["weight_percent"], 10.0);
    let mut client = Client::connect(port).unwrap();
    let mut canary = 0;
    let mut cookies = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let reply = client.get("/").unwrap();
        assert_eq!(reply.status, 200);
        if reply.json()["version"] == "two" {
            canary += 1;
        }
        if let Some(cookie) = reply.header("set-cookie") {
            cookies.insert(cookie.split(';').next().unwrap().to_owned());
        }
    }
    assert!(
        (800..=1_200).contains(&canary),
        "{canary} of 10,000 on the canary"
    );
    assert_eq!(
        cookies.len(),
        2,
        "each side's cookie was given: {cookies:?}"
    );
    let tester = client
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Dozen-Side: candidate\r\n\r\n")
        .unwrap();
    assert_eq!(tester.json()["version"], "two");
    // A client with the canary's cookie stays there.
    for _ in 0..20 {
        let reply = client
            .send("GET / HTTP/1.1\r\nHost: localhost\r\nCookie: dozen-side=candidate\r\n\r\n")
            .unwrap();
        assert_eq!(reply.json()["version"], "two");
        assert!(reply.header("set-cookie").is_none());
    }
    let (code, stdout, _) = running.dozen(&["canary"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("step 1 of 1 (10% of requests)"), "{stdout}");
    let (code, _, stderr) = running.dozen(&["canary", "abort"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("aborted by hand"), "{stderr}");
    for _ in 0..50 {
        assert_eq!(client.get("/").unwrap().json()["version"], "one");
    }
    let (_, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "--json"]);
    let releases: Value = serde_json::from_str(&stdout).unwrap();
    let v2 = releases
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == "v2")
        .unwrap();
    assert!(v2.to_string().contains("aborted"), "{v2}");
    let (code, _, stderr) = running.dozen(&["canary"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no canary release is running"), "{stderr}");
    stop(running);
}

/// `dozen rollback` during a canary is the canary's abort (issue 30, finding 3): the
/// waiting canary release exits 1, aborted "rolled back"; the rollback is current and what
/// serves; no request reaches the canary after it.
#[test]
fn a_rollback_during_a_canary_aborts_it() {
    let (dir, port, running) = canary_app("steps = [50]\ninterval = \"10m\"\n");
    let release = release_in_background(&dir, "two");
    analysing(&running);
    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &["rollback"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "v3\n");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("rolled back to v3") && stderr.contains("v2 is aborted, v3 stays current"),
        "{stderr}"
    );
    for _ in 0..50 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    assert_eq!(current_releases(&dir), ["v3"]);
    let (code, _, stderr) = running.dozen(&["canary"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no canary release is running"), "{stderr}");
    stop(running);
}

/// A canary failing 5% of its requests is aborted by its own analysis; every request after
/// the abort is served by the stable side. A healthy one passes its steps and is promoted.
#[test]
fn a_failing_canary_is_aborted_and_a_healthy_one_promoted() {
    let (dir, port, running) =
        canary_app("steps = [20, 50]\ninterval = \"1500ms\"\nmin_requests = 20\n");
    let load = Load::start(port, 4, "/");
    let release = release_in_background(&dir, "failing");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("canary error rate"), "{stderr}");
    let (_, failures) = load.finish();
    assert!(!failures.is_empty(), "the canary did fail some");
    let load = Load::start(port, 4, "/");
    load.wait_served(100);
    let (served, failures) = load.finish();
    assert!(failures.is_empty() && served > 0, "{failures:?}");
    // Healthy: passes its step and is promoted; all of web runs v3.
    let load = Load::start(port, 4, "/");
    let release = release_in_background(&dir, "three");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    // Every instance of the promoted side takes requests (a new user found two of three in
    // the router's candidate side, with no share, after a promotion: issue 30).
    let mut ports = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let reply = get(port, "/").json();
        assert_eq!(reply["version"], "three");
        ports.insert(reply["port"].as_str().unwrap().to_owned());
    }
    assert_eq!(ports.len(), 3, "requests reached only {ports:?}");
    let status = ps(&running);
    assert!(
        status["router"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["side"].is_null()),
        "{status:#}"
    );
    stop(running);
}

/// An instance that dies in the middle of a request: a GET (nothing it asks can happen twice)
/// is sent to another instance and answered; a POST is not sent again, and gets a 502.
#[test]
fn a_get_whose_instance_dies_is_sent_again_and_a_post_is_not() {
    let port = base_port();
    let running = run(
        app().manifest("[processes.web]\nrestart = \"on-failure\"\n"),
        port,
        2,
    );
    assert_eq!(get(port, "/").status, 200);
    // Whichever instance gets it, web.2 answers: web.1 dies on it and the GET goes on to
    // web.2. Asked until one went to web.1 first (the router picks; web.1 comes back after
    // its restart delay).
    let first = format!("/die-on-{}", port + 1);
    crate::harness::eventually(
        "a GET to go to web.1 first",
        Duration::from_secs(15),
        || {
            let reply = get(port, &first);
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.json()["port"], (port + 2).to_string());
            ps(&running)["router"]["retried"].as_u64().unwrap() >= 1
        },
    );
    // A POST is never sent twice.
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = format!("/die-on-{}", port + 2);
    let reply = loop {
        let mut client = Client::connect(port).unwrap();
        let reply = client
            .send(&format!(
                "POST {second} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi"
            ))
            .unwrap();
        // It went to the instance that survives it (web.1, back by now): try again.
        if reply.status != 200 || Instant::now() > deadline {
            break reply;
        }
    };
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(ps(&running)["router"]["bad_gateway"], 1);
    stop(running);
}

/// The releases `dozen releases --json` marks current (one, when the ledger is consistent).
pub(super) fn current_releases(dir: &std::path::Path) -> Vec<String> {
    let (code, stdout, stderr) = crate::harness::dozen_in(dir, &["releases", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let releases: Value = serde_json::from_str(&stdout).unwrap();
    releases
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["current"] == true)
        .map(|r| r["version"].as_str().unwrap().to_owned())
        .collect()
}
