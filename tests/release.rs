//! `dozen release`: numbered, immutable releases made current only after their release phase.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::harness::{BIN, Test};

fn app(release: &str) -> Test {
    Test::new()
        .procfile(&format!(
            "web: python3 -m http.server $PORT\nrelease: {release}\n"
        ))
        .env_file(".env", "GREETING=hello\nCI_SECRET\n")
}

fn dozen(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_remove("CI_SECRET");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn releases_are_numbered_snapshotted_and_made_current() {
    let test = app("echo \"migrating with $GREETING as $DOZEN_RELEASE\"");
    let dir = test.path().to_path_buf();
    let first = dozen(
        &dir,
        &["release", "-m", "first"],
        &[("CI_SECRET", "s3cr3t-from-ci")],
    );
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&first.stdout), "v1\n");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("  | migrating with hello as v1"),
        "{stderr}"
    );
    let store = dir.join(".dozen");
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("releases/v1.env")).unwrap()).unwrap();
    assert_eq!(
        snapshot["CI_SECRET"], "s3cr3t-from-ci",
        "a bare key takes the value of the release call's environment"
    );
    assert_eq!(mode(&store.join("releases/v1.env")), 0o600);
    for dir in ["", "releases", "builds", "objects", "trees", "locks"] {
        assert_eq!(mode(&store.join(dir)), 0o700, "{dir}");
    }
    // Editing the env file later changes nothing in v1.
    std::fs::write(dir.join(".env"), "GREETING=changed\n").unwrap();
    let snapshot_again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("releases/v1.env")).unwrap()).unwrap();
    assert_eq!(snapshot_again, snapshot);
    let second = dozen(&dir, &["release", "--json"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(
        (
            json["version"].as_str(),
            json["status"].as_str(),
            json["current"].as_bool()
        ),
        (Some("v2"), Some("succeeded"), Some(true))
    );
    assert_eq!(
        std::fs::read_to_string(store.join("current")).unwrap(),
        "v2\n"
    );
    // No value anywhere but the snapshot.
    for file in ["history.jsonl", "releases/v1.json", "releases/v1.log"] {
        let contents = std::fs::read_to_string(store.join(file)).unwrap();
        assert!(
            !contents.contains("s3cr3t-from-ci"),
            "{file} holds the secret"
        );
    }
    assert!(!String::from_utf8_lossy(&first.stderr).contains("s3cr3t-from-ci"));
}

#[test]
fn a_failed_release_phase_keeps_the_previous_release_current() {
    let test = app("test -f fail-now && { echo cannot migrate; exit 4; } || echo migrated");
    let dir = test.path().to_path_buf();
    assert_eq!(dozen(&dir, &["release"], &[]).status.code(), Some(0));
    std::fs::write(dir.join("fail-now"), "").unwrap();
    let failed = dozen(&dir, &["release"], &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("  | cannot migrate"), "{stderr}");
    assert!(
        stderr.contains("error: the release phase of v2 failed with exit code 4; v1 stays current"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".dozen/current")).unwrap(),
        "v1\n"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".dozen/releases/v2.status")).unwrap())
            .unwrap();
    assert_eq!(
        status,
        serde_json::json!({"status": "failed", "exit_code": 4})
    );
    // Numbers are never reused: the next one is v3.
    std::fs::remove_file(dir.join("fail-now")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&dozen(&dir, &["release"], &[]).stdout),
        "v3\n"
    );
}

#[test]
fn a_stored_build_can_be_released_by_id_prefix() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    let build = String::from_utf8(dozen(&dir, &["build"], &[]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    let release = dozen(&dir, &["release", "--build", &build[..6], "--json"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&release.stdout).unwrap();
    assert_eq!(json["build"], build.as_str());
    let unknown = dozen(&dir, &["release", "--build", "ffffffffffff"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no build `ffffffffffff`"));
}

#[test]
fn concurrent_releases_get_distinct_consecutive_numbers() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["build"], &[]).status.success());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                String::from_utf8(
                    Command::new(BIN)
                        .arg("release")
                        .current_dir(&dir)
                        .output()
                        .unwrap()
                        .stdout,
                )
                .unwrap()
            })
        })
        .collect();
    let mut versions: Vec<u32> = handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap()
                .trim()
                .trim_start_matches('v')
                .parse()
                .unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
}

#[test]
fn releases_list_show_and_history() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    assert!(
        dozen(
            &dir,
            &["release", "-m", "first"],
            &[("CI_SECRET", "value-one")]
        )
        .status
        .success()
    );
    std::fs::write(dir.join(".env"), "GREETING=hello\nCI_SECRET\nADDED=1\n").unwrap();
    assert!(
        dozen(&dir, &["release"], &[("CI_SECRET", "value-two")])
            .status
            .success()
    );
    let list = String::from_utf8(dozen(&dir, &["releases"], &[]).stdout).unwrap();
    let first_line = list.lines().next().unwrap();
    assert!(first_line.starts_with("* v2 "), "{list}");
    let created = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(dir.join(".dozen/releases/v2.json")).unwrap(),
    )
    .unwrap()["created"]
        .as_str()
        .unwrap()[..16]
        .replace('T', " ");
    assert!(
        first_line.contains(&created),
        "the created time is listed: {list}"
    );
    assert!(
        list.lines().nth(1).unwrap().starts_with("  v1 ") && list.contains("first"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&dozen(&dir, &["releases", "--json"], &[]).stdout).unwrap();
    assert_eq!(
        (
            json[0]["version"].as_str(),
            json[0]["current"].as_bool(),
            json[1]["status"].as_str()
        ),
        (Some("v2"), Some(true), Some("succeeded"))
    );
    let show = String::from_utf8(dozen(&dir, &["releases", "show", "v2"], &[]).stdout).unwrap();
    assert!(
        !show.contains("value-two") && show.contains("CI_SECRET") && show.contains("••••"),
        "{show}"
    );
    assert!(
        show.contains("config changes since v1:\n  + ADDED\n  ~ CI_SECRET\n"),
        "{show}"
    );
    let revealed =
        String::from_utf8(dozen(&dir, &["releases", "show", "2", "--reveal"], &[]).stdout).unwrap();
    assert!(revealed.contains("value-two"), "{revealed}");
    let shown: serde_json::Value =
        serde_json::from_slice(&dozen(&dir, &["releases", "show", "v2", "--json"], &[]).stdout)
            .unwrap();
    assert_eq!(shown["diff"]["added"], serde_json::json!(["ADDED"]));
    assert!(shown["config"]["CI_SECRET"]["digest"].is_string());
    assert!(!shown.to_string().contains("value-two"));
    let missing = dozen(&dir, &["releases", "show", "v9"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no release v9"));
    let history: serde_json::Value =
        serde_json::from_slice(&dozen(&dir, &["history", "--json"], &[]).stdout).unwrap();
    let whats: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["build", "release", "build", "release"]);
    assert!(
        !history.to_string().contains("value-"),
        "no config value in the log"
    );
}

/// `--wait` is spelled the same on `release` and `rollback` (issue 30, finding 11): both wait
/// by default, both take it, neither takes it with `--no-wait`.
#[test]
fn rollback_takes_wait_as_release_does() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    for _ in 0..2 {
        assert!(dozen(&dir, &["release", "--wait"], &[]).status.success());
    }
    let rollback = dozen(&dir, &["rollback", "--wait"], &[]);
    let stderr = String::from_utf8_lossy(&rollback.stderr);
    assert_eq!(rollback.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&rollback.stdout), "v3\n");
    for command in ["release", "rollback"] {
        let both = dozen(&dir, &[command, "--wait", "--no-wait"], &[]);
        assert_eq!(both.status.code(), Some(2), "{command}");
        assert!(
            String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
            "{command}: {}",
            String::from_utf8_lossy(&both.stderr)
        );
    }
}

#[test]
fn rollback_makes_a_new_release_from_an_older_one() {
    let test = app("test -f fail-now && exit 9 || true");
    let dir = test.path().to_path_buf();
    assert!(
        dozen(&dir, &["release"], &[("CI_SECRET", "old")])
            .status
            .success()
    );
    std::fs::write(dir.join("app-change.txt"), "new code").unwrap();
    assert!(
        dozen(&dir, &["release"], &[("CI_SECRET", "new")])
            .status
            .success()
    );
    let rollback = dozen(&dir, &["rollback"], &[]);
    let stderr = String::from_utf8_lossy(&rollback.stderr);
    assert_eq!(rollback.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&rollback.stdout), "v3\n");
    assert!(
        stderr.contains("rolling back to v1 as v3")
            && stderr.contains("Databases and other external state are not rolled back."),
        "{stderr}"
    );
    let v1: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".dozen/releases/v1.json")).unwrap())
            .unwrap();
    let v3: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".dozen/releases/v3.json")).unwrap())
            .unwrap();
    assert_eq!(
        (v3["build"].clone(), v3["config_digest"].clone()),
        (v1["build"].clone(), v1["config_digest"].clone())
    );
    assert_eq!(v3["rollback_of"], 1);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".dozen/releases/v3.env")).unwrap())
            .unwrap();
    assert_eq!(
        snapshot["CI_SECRET"], "old",
        "the old config comes back, not today's"
    );
    // A failed release is not a rollback target.
    std::fs::write(dir.join("fail-now"), "").unwrap();
    assert_eq!(dozen(&dir, &["release"], &[]).status.code(), Some(1));
    let refused = dozen(&dir, &["rollback", "v4"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("v4 did not succeed; only succeeded releases can be rolled back to")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".dozen/current")).unwrap(),
        "v3\n"
    );
}

#[test]
fn exec_and_run_use_the_release_not_the_working_tree() {
    let test = Test::new()
        .procfile(
            "web: echo \"web of $DOZEN_RELEASE greets $GREETING\"; exec sleep 30\nrelease: true\n",
        )
        .env_file(".env", "GREETING=released\n")
        .manifest("[env]\ninherit = [\"AWS_*\"]\n[tasks]\nwhere = \"echo $PWD\"\n");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    std::fs::write(dir.join(".env"), "GREETING=edited-after-release\n").unwrap();
    std::fs::write(dir.join("Procfile"), "web: echo working tree\n").unwrap();
    let shell = [("SHELL_ONLY", "x"), ("AWS_REGION", "eu-west-1")];
    let exec = dozen(
        &dir,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "echo \"$DOZEN_RELEASE|$GREETING|${SHELL_ONLY:-absent}|$AWS_REGION|$PORT\"",
        ],
        &shell,
    );
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout),
        "v1|released|absent|eu-west-1|5000\n",
        "{}",
        String::from_utf8_lossy(&exec.stderr)
    );
    let task = dozen(&dir, &["exec", "where"], &[]);
    assert!(
        String::from_utf8_lossy(&task.stdout).contains("/.dozen/trees/"),
        "the task runs in the build"
    );
    let history = std::fs::read_to_string(dir.join(".dozen/history.jsonl")).unwrap();
    assert!(
        history.lines().any(|l| l.contains("\"what\":\"exec\"")
            && l.contains("\"release\":\"v1\"")
            && l.contains("\"exit_code\":0")),
        "{history}"
    );
    let port = crate::harness::port_block().to_string();
    let mut child = std::process::Command::new(BIN)
        .args(["run", "-p", &port, "--no-timestamps"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("web of v1 greets released") && std::time::Instant::now() < deadline {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let _ = child.wait();
    assert!(seen.contains("web of v1 greets released"), "{seen}");
}

#[test]
fn gc_keeps_the_builds_recent_releases_need() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    for version in 1..=3 {
        std::fs::write(dir.join("version.txt"), format!("{version}")).unwrap();
        assert!(dozen(&dir, &["release"], &[]).status.success());
    }
    let builds = |dir: &std::path::Path| {
        std::fs::read_dir(dir.join(".dozen/builds"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    };
    assert_eq!(builds(&dir), 3);
    let gc = dozen(&dir, &["gc", "--keep", "1"], &[]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    // The latest, and always the one `dozen rollback` goes back to (v2).
    assert!(String::from_utf8_lossy(&gc.stderr).contains("removed 1 build(s)"));
    assert_eq!(builds(&dir), 2);
    let current_build = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(dir.join(".dozen/releases/v3.json")).unwrap(),
    )
    .unwrap()["build"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify = dozen(&dir, &["build", "verify", &current_build], &[]);
    assert!(
        verify.status.success(),
        "the kept build is whole: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let exec = dozen(&dir, &["exec", "--", "cat", "version.txt"], &[]);
    assert_eq!(String::from_utf8_lossy(&exec.stdout), "3");
    let rollback = dozen(&dir, &["rollback", "v1"], &[]);
    assert_eq!(rollback.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&rollback.stderr).contains("is no longer stored"));
}

/// `gc --keep N` counts succeeded releases only, and always keeps the rollback target:
/// failed deploys in a row and a `gc` still leave `dozen rollback` a build to go back to
/// (issue 30, finding 9).
#[test]
fn gc_counts_succeeded_releases_and_keeps_the_rollback_target() {
    let test = app("test -f fail-now && exit 9 || true");
    let dir = test.path().to_path_buf();
    for version in 1..=5 {
        std::fs::write(dir.join("version.txt"), format!("{version}")).unwrap();
        if version == 4 {
            std::fs::write(dir.join("fail-now"), "").unwrap();
        }
        let code = dozen(&dir, &["release"], &[]).status.code();
        assert_eq!(code, Some(i32::from(version >= 4)), "v{version}");
    }
    let gc = dozen(&dir, &["gc", "--keep", "1"], &[]);
    let stderr = String::from_utf8_lossy(&gc.stderr).into_owned();
    assert!(gc.status.success(), "{stderr}");
    // v3 (current) and v2 (the rollback target) stay; v1 and the failed v4, v5 go.
    assert!(stderr.contains("removed 3 build(s)"), "{stderr}");
    let rollback = dozen(&dir, &["rollback"], &[]);
    let stderr = String::from_utf8_lossy(&rollback.stderr).into_owned();
    assert_eq!(rollback.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rolling back to v2"), "{stderr}");
}

#[test]
fn sigkill_at_any_moment_leaves_a_readable_store() {
    // Kill `dozen release` at spread-out moments; after each, the store must list cleanly,
    // numbers must stay unique, and `current` must name a succeeded release.
    let test = app("sleep 0.05");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    for round in 0..12u64 {
        std::fs::write(dir.join("round.txt"), format!("{round}")).unwrap();
        let mut child = Command::new(BIN)
            .arg("release")
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // A fixed time, another each round: the point is a SIGKILL at spread-out moments.
        std::thread::sleep(std::time::Duration::from_millis(3 + round * 7));
        let _ = child.kill();
        let _ = child.wait();
        let list = dozen(&dir, &["releases", "--json"], &[]);
        assert!(
            list.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&list.stderr)
        );
        let releases: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let current: Vec<&serde_json::Value> = releases
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["current"] == true)
            .collect();
        assert_eq!(current.len(), 1, "round {round}");
        assert_eq!(current[0]["status"], "succeeded", "round {round}");
        for release in releases.as_array().unwrap() {
            let status = release["status"].as_str().unwrap();
            assert!(
                ["succeeded", "interrupted"].contains(&status) || status.starts_with("failed"),
                "round {round}: {status}"
            );
        }
    }
    // And it still works afterwards, with a fresh, unique number.
    let after = dozen(&dir, &["release", "--json"], &[]);
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&dozen(&dir, &["releases", "--json"], &[]).stdout).unwrap();
    let mut versions: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    let count = versions.len();
    versions.dedup();
    assert_eq!(versions.len(), count);
    assert!(dozen(&dir, &["build", "verify"], &[]).status.success());
}

#[test]
fn a_store_of_another_format_is_refused_and_debris_is_cleared() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["build"], &[]).status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join(".dozen/FORMAT")).unwrap(),
        "dozen-store 1\n"
    );
    std::fs::create_dir_all(dir.join(".dozen/tmp/build-abc-999999999")).unwrap();
    assert!(dozen(&dir, &["releases"], &[]).status.success());
    assert!(
        !dir.join(".dozen/tmp/build-abc-999999999").exists(),
        "a dead process's staging is removed"
    );
    std::fs::write(dir.join(".dozen/FORMAT"), "dozen-store 99\n").unwrap();
    let refused = dozen(&dir, &["build"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("FORMAT says `dozen-store 99`; this dozen reads `dozen-store 1` stores only")
    );
}

#[test]
fn gc_refuses_while_a_release_runs() {
    let test = app("true").procfile("web: echo up; exec sleep 30\nrelease: true\n");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    std::fs::write(dir.join("changed.txt"), "x").unwrap();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    let port = crate::harness::port_block().to_string();
    let mut running = Command::new(BIN)
        .args(["run", "--release", "v1", "-p", &port, "--no-timestamps"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    // Kept open: dozen stops its formation when its stdout closes.
    let mut stdout = std::io::BufReader::new(running.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(
        line.contains("web.1 started"),
        "the run did not start: {line:?}"
    );
    let refused = dozen(&dir, &["gc", "--keep", "1"], &[]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the store is in use"));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&running),
        rustix::process::Signal::INT,
    )
    .unwrap();
    running.wait().unwrap();
    let gc = dozen(&dir, &["gc", "--keep", "1"], &[]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
}

#[test]
fn history_records_whole_commands_and_shows_every_detail() {
    let test = Test::new().procfile("web: sleep 100\nworker: sleep 100\n");
    let dir = test.path().to_path_buf();
    let ok = |args: &[&str]| {
        let output = dozen(&dir, args, &[]);
        assert!(
            output.status.code().is_some(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    ok(&["release"]);
    ok(&["scale", "web=2", "worker+1"]);
    ok(&["exec", "--", "sh", "-c", "exit 3", "ignored arg"]);
    let events: serde_json::Value =
        serde_json::from_slice(&ok(&["history", "--json"]).stdout).unwrap();
    let exec = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["what"] == "exec")
        .unwrap();
    assert_eq!(exec["command"], "sh -c 'exit 3' 'ignored arg'");
    assert_eq!(exec["exit_code"], 3);
    let shown = String::from_utf8(ok(&["history"]).stdout).unwrap();
    for detail in [
        "changes=web=2,worker+1",
        "formation=web=2,worker=2",
        "command=\"sh -c 'exit 3' 'ignored arg'\"",
        "exit_code=3",
        "version=v1",
    ] {
        assert!(shown.contains(detail), "{detail} in\n{shown}");
    }
    drop(test);
}

/// Runs dozen with `args` in `dir`, its output discarded: its exit code and its peak memory
/// (the highest `VmHWM` seen while it ran), in MiB.
fn peak_of(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, u64) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            let kib = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
            peak = peak.max(kib / 1024);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What a build step or a release phase prints is streamed to its log, never held whole
/// (issue 31, finding 6): 300 MB from each (in lines, and as one line with no end) costs
/// dozen under 64 MiB (before: 900 MB for the release phase, 1.5 GB for the build), and
/// the logs keep their first 16 MiB and say what followed.
#[test]
fn output_of_any_size_costs_a_bounded_amount_of_memory_and_disk() {
    let lines = format!("yes {} | head -c 300000000", "a".repeat(999));
    let test = Test::new()
        .procfile(&format!(
            "web: exec sleep 30\nrelease: {lines}; head -c 300000000 /dev/zero\n"
        ))
        .manifest(&format!("[build]\nsteps = [\"{lines}\"]\n"));
    let dir = test.path();
    let (code, peak) = peak_of(dir, &["release", "--quiet"]);
    assert_eq!(code, Some(0));
    assert!(peak < 64, "dozen release's peak memory was {peak} MiB");
    let store = dir.join(".dozen");
    let release_log = store.join("releases/v1.log");
    let size = std::fs::metadata(&release_log).unwrap().len();
    assert!(size <= 16 * 1024 * 1024 + 200, "{size} bytes kept");
    let kept = std::fs::read(&release_log).unwrap();
    let last = String::from_utf8_lossy(&kept[kept.len() - 200..]).into_owned();
    assert!(
        last.contains("more lines") && last.contains("are not kept"),
        "{last}"
    );
    let build_log = std::fs::read_dir(store.join("builds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    assert!(std::fs::metadata(&build_log).unwrap().len() <= 16 * 1024 * 1024 + 200);
}

/// One damaged line in the history — garbage, or a crash inside a multi-byte character — is
/// skipped and said, and `dozen history` shows the rest (issue 31, finding 26; before, it
/// failed for good).
#[test]
fn a_damaged_history_line_is_skipped_and_said() {
    let test = app("true");
    let dir = test.path().to_path_buf();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    let history = dir.join(".dozen/history.jsonl");
    let mut lines = std::fs::read(&history).unwrap();
    lines.extend_from_slice(b"\xff\xfe garbage\n{\"what\":\"caf\xc3");
    std::fs::write(&history, &lines).unwrap();
    assert!(dozen(&dir, &["release"], &[]).status.success());
    let output = dozen(&dir, &["history"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("history.jsonl:") && stderr.contains("not UTF-8; skipped"),
        "{stderr}"
    );
    assert!(stdout.contains("v1") && stdout.contains("v2"), "{stdout}");
}
