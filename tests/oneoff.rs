//! One-off processes — build steps and release phases — never outlive dozen (issue 13): a
//! background job does not make dozen wait for it, and is ended and named when the command
//! ends; `kill -9` of dozen leaves nothing of the command running.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Test};

/// Every live process whose command line holds `marker` (from `/proc`).
fn running(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rfind(')')
                    .map(|i| s[i + 1..].trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if text.contains(marker) && !zombie {
            found.push(text);
        }
    }
    found
}

/// Waits until nothing with `marker` runs (at most `secs`).
fn gone(marker: &str, secs: u64) -> bool {
    crate::harness::within(Duration::from_secs(secs), || running(marker).is_empty())
}

#[test]
fn a_release_phase_that_leaves_a_background_job_does_not_hang_and_the_job_is_ended() {
    // `sleep 301.5` is this test's marker: no other test sleeps that long.
    let test =
        Test::new().procfile("web: sleep 100\nrelease: sh -c \"sleep 301.5 & echo migrated\"\n");
    let started = Instant::now();
    let output = test.args(&["release"]).run().success();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "release waited for the job: {:?}",
        started.elapsed()
    );
    assert!(output.stderr.contains("  | migrated"), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("the release phase left 1 process running when it ended; dozen ended it"),
        "{}",
        output.stderr
    );
    assert!(gone("sleep 301.5", 5), "{:?}", running("sleep 301.5"));
    assert_eq!(output.stdout, "v1\n");
}

#[test]
fn a_build_step_that_leaves_a_background_job_does_not_hang_and_the_job_is_ended() {
    let test = Test::new()
        .procfile("web: sleep 100\n")
        .manifest("[build]\nsteps = [\"sleep 302.5 > /dev/null 2>&1 & echo built\"]\n");
    let started = Instant::now();
    let output = test.args(&["build"]).run().success();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(gone("sleep 302.5", 5), "{:?}", running("sleep 302.5"));
    let log = std::fs::read_dir(output.dir.path().join(".dozen/builds"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();
    assert!(
        log.contains("built")
            && log.contains("the step left 1 process running when it ended; dozen ended it"),
        "{log}"
    );
}

/// Starts dozen with `args` in `dir`, waits until `marker` runs, SIGKILLs dozen, and checks
/// that nothing with the marker survives it.
fn kill_9_leaves_nothing(dir: &std::path::Path, args: &[&str], marker: &str) {
    let mut dozen = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::harness::eventually(
        &format!("{marker} to start"),
        Duration::from_secs(20),
        || !running(marker).is_empty(),
    );
    dozen.kill().unwrap();
    dozen.wait().unwrap();
    assert!(
        gone(marker, 10),
        "survived kill -9 of dozen: {:?}",
        running(marker)
    );
}

#[test]
fn kill_9_of_release_or_build_leaves_nothing_of_the_command() {
    let release = Test::new().procfile(
        "web: sleep 100\nrelease: sleep 303.5 & sh -c 'trap \"\" TERM; exec sleep 304.5'\n",
    );
    kill_9_leaves_nothing(release.path(), &["release"], "sleep 304.5");
    assert!(gone("sleep 303.5", 5));
    let build = Test::new()
        .procfile("web: sleep 100\n")
        .manifest("[build]\nsteps = [\"setsid sleep 305.5 & exec sleep 306.5\"]\n");
    kill_9_leaves_nothing(build.path(), &["build"], "sleep 306.5");
    assert!(gone("sleep 305.5", 5), "{:?}", running("sleep 305.5"));
}

#[test]
fn kill_9_of_exec_leaves_nothing_of_the_command() {
    let test = Test::new().procfile("web: sleep 100\n");
    // A background job and a job that ignores SIGTERM: both go when dozen is killed.
    kill_9_leaves_nothing(
        test.path(),
        &[
            "exec",
            "--dev",
            "--",
            "sh",
            "-c",
            "sleep 307.5 & trap '' TERM; sleep 308.5",
        ],
        "sleep 308.5",
    );
    assert!(gone("sleep 307.5", 5), "{:?}", running("sleep 307.5"));
}

/// The probe's copies of apps in the temporary directory.
fn probe_copies() -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dozen-probe-"))
        .map(|e| e.path())
        .collect()
}

#[test]
fn kill_9_of_a_probe_leaves_nothing_and_its_copy_goes_at_the_next_probe() {
    let test = Test::new().procfile("web: sleep 309.5\n");
    kill_9_leaves_nothing(
        test.path(),
        &["audit", "--probe-only", "--boot-timeout", "20s"],
        "sleep 309.5",
    );
    // The killed probe's copy stays until the next probe (which may be another test's, running
    // alongside this one), and that one removes the copies of probes that are gone.
    let dead: Vec<_> = probe_copies()
        .into_iter()
        .filter(|copy| !is_live_probe(copy))
        .collect();
    let again = Test::new().procfile("web: exec sleep 0.1\n");
    let temp = std::env::temp_dir();
    let _ = again
        .env("TMPDIR", temp.to_str().unwrap())
        .args(&["audit", "--probe-only", "--boot-timeout", "1s"])
        .run();
    for copy in dead {
        assert!(!copy.exists(), "{} stayed", copy.display());
    }
    let stale: Vec<_> = probe_copies()
        .into_iter()
        .filter(|copy| !is_live_probe(copy))
        .collect();
    assert!(
        stale.is_empty(),
        "copies of killed probes stayed: {stale:?}"
    );
}

/// Whether a probe copy belongs to a process that still runs (another test's probe).
fn is_live_probe(copy: &std::path::Path) -> bool {
    copy.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("dozen-probe-"))
        .and_then(|rest| rest.split('-').next())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}
