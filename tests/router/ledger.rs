//! The deploy records in the store (issue 30): written by the run as a deploy happens, read
//! by `release`, `releases` and `ps`; a deploy's outcome holds whether or not the command
//! that asked for it is still there, and a run that dies mid-deploy is found out.

use super::deploys::{analysing, canary_app, release_in_background, released};
use super::stop as stop_run;
use super::*;
use rustix::process::Signal;

/// The deploy record `dozen releases --json` shows for `version`.
fn deploy_of(dir: &std::path::Path, version: &str) -> Value {
    let (code, stdout, stderr) = crate::harness::dozen_in(dir, &["releases", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let releases: Value = serde_json::from_str(&stdout).unwrap();
    releases
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == version)
        .cloned()
        .unwrap_or_else(|| panic!("no {version} in {releases:#}"))
}

/// A move nobody waits for (`--no-wait`, or a CI job cancelled) whose new instances never
/// become ready: the run goes back and aborts the release itself, so the ledger says what
/// serves without the client's help.
#[test]
fn a_failed_move_nobody_waits_for_is_aborted_by_the_run() {
    let port = base_port();
    let (dir, running) = released(app(), port, 2);
    std::fs::write(dir.join("Procfile"), "web: exit 3\n").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release", "--no-wait"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("deploy d1"), "{stderr}");
    crate::harness::eventually_ok("v2 to be aborted", Duration::from_secs(30), || {
        let v2 = deploy_of(&dir, "v2");
        if v2["status"] == "aborted" {
            Ok(v2)
        } else {
            Err(format!("{v2:#}"))
        }
    });
    let v2 = deploy_of(&dir, "v2");
    assert_eq!(v2["deploy"]["id"], "d1", "{v2:#}");
    assert_eq!(v2["deploy"]["state"], "failed", "{v2:#}");
    assert_eq!(v2["deploy"]["kind"], "rolling", "{v2:#}");
    assert_eq!(super::deploys::current_releases(&dir), ["v1"]);
    let (_, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "show", "v2"]);
    assert!(
        stdout.contains("deploy d1 (rolling, v1 → v2): failed at")
            && stdout.contains("did not become ready on v2"),
        "{stdout}"
    );
    let status = ps(&running);
    assert!(
        status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["release"] == "v1"),
        "{status:#}"
    );
    assert_eq!(status["deploy"]["id"], "d1", "{status:#}");
    stop(running);
}

/// The run is killed (-9) while its canary is analysed: the `dozen release` waiting for it
/// exits 1 saying the deploy was interrupted; the canary's release is aborted, not current;
/// `ps` without a run and `releases` say what happened; the next run starts the release the
/// formation served, not the unproven canary.
#[test]
fn a_run_killed_mid_canary_leaves_a_record_every_command_reconciles() {
    let (dir, port, running) = canary_app("steps = [50]\ninterval = \"10m\"\n");
    let release = release_in_background(&dir, "two");
    analysing(&running);
    running.signal(Signal::KILL);
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("deploy d1 of v2 was interrupted")
            && stderr.contains("v2 is aborted, v1 stays current"),
        "{stderr}"
    );
    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &["ps"]);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("last deploy d1 (canary, v1 → v2): interrupted"),
        "{stderr}"
    );
    let (_, stdout, _) = crate::harness::dozen_in(&dir, &["releases"]);
    assert!(
        stdout.contains("* v1") && stdout.contains("v2") && stdout.contains("aborted"),
        "{stdout}"
    );
    assert_eq!(super::deploys::current_releases(&dir), ["v1"]);
    // The next run serves v1.
    let test = Test::in_dir(running.into_dir());
    let (port_text, listen) = (port.to_string(), format!("127.0.0.1:{port}"));
    let _ = listen;
    let again = test
        .args(&[
            "run",
            "--no-timestamps",
            "--router",
            "-p",
            &port_text,
            "-m",
            "web=3",
        ])
        .spawn();
    in_rotation(&again, 3);
    for _ in 0..20 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    stop(again);
}

/// A canary that hangs (issue 30, finding 7): its requests never come back, so it answers
/// nothing to count. It is judged failing within a tenth of an interval of being analysed —
/// not held for want of traffic for four intervals — and every later request is the stable
/// side's.
#[test]
fn a_hung_canary_is_judged_within_a_tenth_of_an_interval() {
    let (dir, port, running) = canary_app("steps = [50]\ninterval = \"10s\"\nmin_requests = 20\n");
    let stop = Arc::new(AtomicBool::new(false));
    // Users keep coming; those the canary takes wait (the test does not wait for them).
    for _ in 0..4 {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(mut client) = Client::connect(port) {
                    let _ = client
                        .reader
                        .get_mut()
                        .set_read_timeout(Some(Duration::from_secs(60)));
                    let _ = client.get("/");
                }
            }
        });
    }
    let release = release_in_background(&dir, "hanging");
    analysing(&running);
    let analysed = Instant::now();
    let (code, stderr) = release.join().unwrap();
    let judged = analysed.elapsed();
    eprintln!("the hung canary was judged {judged:?} after its analysis began");
    stop.store(true, Ordering::SeqCst);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the canary is not answering"), "{stderr}");
    assert!(
        judged < Duration::from_secs(2),
        "judged {judged:?} after the analysis began (interval 10 s)"
    );
    for _ in 0..20 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    assert_eq!(super::deploys::current_releases(&dir), ["v1"]);
    stop_run(running);
}

/// A small generator of the test's choices: the same seed, the same interleaving.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What one command of an interleaving did: its words, exit code, stdout and stderr.
type Outcome = (Vec<String>, Option<i32>, String, String);

/// The release model through the binary (issue 30): random interleavings of releases (each
/// strategy, some not waited for), rollbacks, restarts and scales, two at a time against one
/// run under load, then the invariants once it settles — the ledger's current release is
/// what every instance serves, every deploy ended, and every command's exit code agrees
/// with the ledger. `DOZEN_MODEL_SEEDS=1,2,3…` runs other interleavings (README); a failure
/// names its seed.
#[test]
fn random_interleavings_of_commands_leave_the_ledger_saying_what_serves() {
    let seeds: Vec<u64> = std::env::var("DOZEN_MODEL_SEEDS").ok().map_or_else(
        || vec![7, 11],
        |s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
    );
    for seed in seeds {
        interleaving(seed);
    }
}

fn interleaving(seed: u64) {
    let mut choices = Choices(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let port = base_port();
    let test = compound_app().file("version.txt", "one").manifest(
        "[deploy]\nkeep_old = \"1s\"\nsteps = [50]\ninterval = \"1s\"\nmin_requests = 5\n",
    );
    let (dir, running) = released(test, port, 2);
    let load = Load::start(port, 2, "/");
    let mut outcomes: Vec<Outcome> = Vec::new();
    for round in 0..4 {
        let mut pair = Vec::new();
        for _ in 0..2 {
            let words = random_command(&mut choices);
            pair.push(words);
        }
        std::fs::write(dir.join("version.txt"), format!("r{round}")).unwrap();
        // The second of a pair comes at once, or as the first is under way.
        let delays = [0, choices.below(1_500)];
        let threads: Vec<_> = pair
            .into_iter()
            .zip(delays)
            .map(|(words, delay)| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(delay));
                    let args: Vec<&str> = words.iter().map(String::as_str).collect();
                    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &args);
                    (words, code, stdout, stderr)
                })
            })
            .collect();
        for thread in threads {
            outcomes.push(thread.join().unwrap());
        }
    }
    let settled = settled_release(&running, seed);
    let current = super::deploys::current_releases(&dir);
    assert_eq!(
        current,
        std::slice::from_ref(&settled),
        "seed {seed}: the ledger's current release is not what serves; commands: {outcomes:?}"
    );
    let (_, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "--json"]);
    let releases: Value = serde_json::from_str(&stdout).unwrap();
    let status_of = |version: &str| -> (String, Value) {
        let release = releases
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["version"] == version)
            .unwrap_or_else(|| panic!("seed {seed}: no {version}"));
        (
            release["status"].as_str().unwrap().to_owned(),
            release["deploy"].clone(),
        )
    };
    for release in releases.as_array().unwrap() {
        assert_ne!(
            release["deploy"]["state"], "in_progress",
            "seed {seed}: a deploy never ended: {release:#}"
        );
    }
    for (words, code, stdout, _) in &outcomes {
        let waited = matches!(words[0].as_str(), "release" | "rollback")
            && !words.iter().any(|w| w == "--no-wait");
        let Some(version) = stdout.lines().next().filter(|v| v.starts_with('v')) else {
            continue;
        };
        let (status, deploy) = status_of(version);
        if waited && *code == Some(0) {
            assert_eq!(
                status,
                "succeeded",
                "seed {seed}: `{}` exited 0 but {version} is {status} ({deploy})",
                words.join(" ")
            );
        }
        if *code == Some(1) {
            assert!(
                status == "aborted" || status.starts_with("failed"),
                "seed {seed}: `{}` exited 1 but {version} is {status} ({deploy})",
                words.join(" ")
            );
        }
    }
    eprintln!("seed {seed}: settled on {settled}; {outcomes:?}");
    let _ = load.finish();
    stop_run(running);
}

/// One command of an interleaving, chosen: a release (each strategy, one in four not waited
/// for), a rollback, a restart or a scale.
fn random_command(choices: &mut Choices) -> Vec<String> {
    match choices.below(6) {
        0..=2 => {
            let strategy =
                ["rolling", "blue-green", "canary"][usize::try_from(choices.below(3)).unwrap()];
            let mut words = vec![
                "release".to_owned(),
                "--strategy".to_owned(),
                strategy.to_owned(),
            ];
            if choices.below(4) == 0 {
                words.push("--no-wait".to_owned());
            }
            words
        }
        3 => vec!["rollback".to_owned()],
        4 => vec!["restart".to_owned()],
        _ => vec!["scale".to_owned(), format!("web={}", 1 + choices.below(3))],
    }
}

/// Once no deploy is in progress and every instance is at rest on one release: that release.
fn settled_release(running: &Running, seed: u64) -> String {
    crate::harness::eventually_ok(
        &format!("seed {seed}: the run to settle"),
        Duration::from_secs(60),
        || {
            let status = ps(running);
            let in_progress = status["deploy"]["state"] == "in_progress";
            let releases: std::collections::BTreeSet<String> = status["instances"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| matches!(i["state"].as_str(), Some("ready" | "running")))
                .map(|i| i["release"].as_str().unwrap().to_owned())
                .collect();
            let moving = status["instances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| !matches!(i["state"].as_str(), Some("ready" | "running")));
            if in_progress || moving || releases.len() != 1 {
                Err(format!("{status:#}"))
            } else {
                Ok(releases.into_iter().next().unwrap())
            }
        },
    )
}

/// What `dozen release` said and what then serves agree, however full the control socket is
/// (issue 30, finding 4): 250 `dozen logs -f` followers have their own budget and never keep
/// a release from moving the run; with every connection taken by idle clients, the release
/// is either refused — aborted, exit 1, the old release serving — or, if it got a slot, done
/// and serving. Never exit 0 with the old release serving.
#[test]
fn a_full_control_socket_never_makes_a_release_say_what_does_not_serve() {
    use std::os::unix::net::UnixStream;
    let port = base_port();
    let (dir, running) = released(app().file("version.txt", "one"), port, 1);
    let socket = dir.join(".dozen/run/control.sock");
    let followers: Vec<UnixStream> = (0..250)
        .map(|_| {
            let mut stream = UnixStream::connect(&socket).unwrap();
            stream
                .write_all(b"{\"v\":1,\"op\":\"logs\",\"follow\":true}\n")
                .unwrap();
            stream
        })
        .collect();
    crate::harness::eventually("250 followers", Duration::from_secs(10), || {
        ps(&running)["logs"]["followers"].as_u64() >= Some(250)
    });
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(get(port, "/").json()["version"], "two");
    drop(followers);
    // Idle clients hold every connection (each for 2 s; a thread keeps the socket full).
    let stop = Arc::new(AtomicBool::new(false));
    let filler = {
        let (stop, socket) = (Arc::clone(&stop), socket.clone());
        std::thread::spawn(move || {
            let mut idle = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                // Those the run closed (at their deadline, or refused) are replaced.
                idle.retain(|stream: &UnixStream| {
                    let mut byte = [0u8; 1];
                    stream.set_nonblocking(true).unwrap();
                    let mut reader = stream;
                    matches!(reader.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                while idle.len() < 300 {
                    match UnixStream::connect(&socket) {
                        Ok(stream) => idle.push(stream),
                        Err(_) => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(dir.join("version.txt"), "three").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    stop.store(true, Ordering::SeqCst);
    filler.join().unwrap();
    let serving = get(port, "/").json()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let current = super::deploys::current_releases(&dir);
    eprintln!("the release with the socket full exited {code:?}: {stderr}");
    match code {
        Some(0) => assert_eq!(
            (serving.as_str(), current),
            ("three", vec!["v3".to_owned()])
        ),
        Some(1) => {
            assert!(
                stderr.contains("v3 is aborted, v2 stays current"),
                "{stderr}"
            );
            assert_eq!((serving.as_str(), current), ("two", vec!["v2".to_owned()]));
        }
        other => panic!("exit {other:?}: {stderr}"),
    }
    stop_run(running);
}

/// While a blue-green deploy's new side is still starting (issue 30, finding 2): a second
/// `dozen release` is refused — recorded aborted, exit 1 — and `dozen rollback` ends the
/// deploy (its waiting release exits 1, "rolled back"), nothing started; afterwards the
/// ledger's current release is the rollback, and it is what serves.
#[test]
fn while_a_new_side_starts_a_release_is_refused_and_a_rollback_ends_the_deploy() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\n");
    let (dir, running) = released(test, port, 2);
    // The next release's instances take 3 s to listen.
    std::fs::write(dir.join(".env"), "START_DELAY=3\n").unwrap();
    let release = release_in_background(&dir, "two");
    crate::harness::eventually(
        "the new side to be starting",
        Duration::from_secs(10),
        || {
            ps(&running)["instances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["side"] == "candidate")
        },
    );
    std::fs::write(dir.join("version.txt"), "three").unwrap();
    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("deploy d1 (blue-green, v1 → v2) is in progress")
            && stderr.contains("v3 is aborted"),
        "{stderr}"
    );
    let (code, stdout, stderr) = crate::harness::dozen_in(&dir, &["rollback", "v1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "v4\n");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rolled back to v4"), "{stderr}");
    assert_eq!(super::deploys::current_releases(&dir), ["v4"]);
    for _ in 0..20 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    crate::harness::eventually("only v4 instances", Duration::from_secs(10), || {
        ps(&running)["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["release"] == "v4")
    });
    stop_run(running);
}
