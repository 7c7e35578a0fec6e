//! The deploy records in the store (issue 30): written by the run as a deploy happens, read
//! by `release`, `releases` and `ps`; a deploy's outcome holds whether or not the command
//! that asked for it is still there, and a run that dies mid-deploy is found out.

use super::deploys::{analysing, canary_app, release_in_background, released};
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
