//! `[schedule.NAME]`: jobs `dozen run` starts on a cron schedule (README "Scheduled jobs").
//! Schedules with a seconds field keep these tests to seconds.

use std::time::Duration;

use rustix::process::Signal;
use serde_json::Value;

use crate::harness::{Running, Test};

/// A port of its own for each run: only `web.1` takes one (and listens on none), so these
/// tests take one port each from a range of their own rather than a block of 200 of the
/// harness's, which has about a hundred in all.
fn base_port() -> String {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(9500);
    let port = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    assert!(port < 9600, "out of schedule test ports");
    port.to_string()
}

fn run(test: Test) -> Running {
    let port = base_port();
    test.args(&["run", "--dev", "--no-timestamps", "-p", &port, "-t", "1"])
        .spawn()
}

fn gone(pid: i32) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    state.is_empty()
        || state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

/// The activity log's scheduled fires, once `done` holds of them (a run records them from a
/// thread of its own, just after it says them).
fn fires(dir: &std::path::Path, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    crate::harness::eventually_ok("the fires in the history", Duration::from_secs(10), || {
        let (code, out, err) = crate::harness::dozen_in(dir, &["history", "--json"]);
        if code != Some(0) {
            return Err(err);
        }
        let events: Vec<Value> = serde_json::from_str(&out).map_err(|e| e.to_string())?;
        let fires: Vec<Value> = events
            .into_iter()
            .filter(|e| e["what"] == "schedule")
            .collect();
        if done(&fires) {
            Ok(fires)
        } else {
            Err(format!("{fires:?}"))
        }
    })
}

/// Whether `fires` has one of schedule `name` with `outcome`.
fn has(fires: &[Value], name: &str, outcome: &str) -> bool {
    fires
        .iter()
        .any(|e| e["schedule"] == name && e["outcome"] == outcome)
}

#[test]
fn a_scheduled_run_gets_the_apps_environment_and_is_in_ps_and_the_history() {
    let test = Test::new()
        .procfile("web: exec sleep 60\n")
        .env_file(".env", "GREETING=s3cret-greeting\n")
        .file(".profile.d/app.sh", "export FROM_PROFILE=profiled\n")
        .manifest(
            "[schedule.hello]\ncommand = \"echo \\\"$GREETING $FROM_PROFILE $PS $PORT\\\"\"\ncron = \"* * * * * *\"\ntimezone = \"Europe/Paris\"\n",
        );
    let port = base_port();
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port, "-t", "1"])
        .spawn();
    let line = running.wait_for("schedule.hello |", 10);
    assert_eq!(
        line,
        format!("schedule.hello | s3cret-greeting profiled schedule.hello {port}")
    );
    running.wait_for("schedule.hello exited with code 0", 10);
    let (code, out, _) = running.dozen(&["ps", "--json"]);
    assert_eq!(code, Some(0));
    let ps: Value = serde_json::from_str(&out).unwrap();
    let schedule = &ps["schedules"][0];
    assert_eq!(schedule["name"], "hello");
    assert_eq!(schedule["timezone"], "Europe/Paris");
    assert_eq!(schedule["concurrency"], "forbid");
    let next = schedule["next"].as_str().unwrap();
    assert!(
        next.ends_with("+01:00") || next.ends_with("+02:00"),
        "{next}"
    );
    assert_eq!(schedule["last"]["outcome"], "succeeded", "{out}");
    assert_eq!(schedule["last"]["exit_code"], 0);
    let (_, table, _) = running.dozen(&["ps"]);
    assert!(
        table.contains("schedule.hello  \"* * * * * *\" (Europe/Paris, forbid)  next "),
        "{table}"
    );
    let (code, logs, err) = running.dozen(&["logs", "--ps", "schedule.hello", "-n", "1"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        logs.contains("schedule.hello | s3cret-greeting profiled"),
        "{logs}"
    );
    let recorded = fires(running.dir.path(), |f| !f.is_empty());
    let first = &recorded[0];
    assert_eq!(first["schedule"], "hello");
    assert_eq!(first["outcome"], "succeeded");
    assert_eq!(first["exit_code"], 0);
    assert_eq!(first["release"], "dev");
    assert!(first["duration_ms"].as_u64().is_some(), "{first}");
    assert!(first["due"].as_str().is_some(), "{first}");
    // Never a config value in the history.
    let history = running.read(".dozen/history.jsonl");
    assert!(!history.contains("s3cret"), "{history}");
    running.signal(Signal::TERM);
    let (code, _) = running.finish(10);
    assert_eq!(code, Some(143));
}

#[test]
fn forbid_skips_a_fire_timeout_stops_a_run_and_replace_replaces_it() {
    let manifest = r#"
[schedule.long]
command = "sleep 2.5"
cron = "* * * * * *"

[schedule.stuck]
command = "trap 'echo got TERM; exit 7' TERM; echo waiting; while :; do sleep 0.1; done"
cron = "*/2 * * * * *"
timeout = "1s"

[schedule.fresh]
command = "exec sleep 30"
cron = "*/2 * * * * *"
concurrency = "replace"
"#;
    let mut running = run(Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(manifest));
    running.wait_for("schedule.long skipped its fire due at", 10);
    running.wait_for("schedule.stuck timed out after 1.0s: stopping it", 10);
    running.wait_for("schedule.stuck | got TERM", 10);
    running.wait_for("schedule.stuck exited with code 7", 10);
    running.wait_for(
        "schedule.fresh: a new fire replaces the run still going",
        10,
    );
    running.wait_for("schedule.fresh killed by SIGTERM", 10);
    running.wait_for("schedule.long exited with code 0", 10);
    let recorded = fires(running.dir.path(), |f| {
        has(f, "long", "skipped")
            && has(f, "long", "succeeded")
            && has(f, "stuck", "timed-out")
            && has(f, "fresh", "replaced")
    });
    let timed_out = recorded
        .iter()
        .find(|e| e["outcome"] == "timed-out")
        .unwrap();
    assert_eq!(timed_out["exit_code"], 7);
    let replaced = recorded
        .iter()
        .find(|e| e["outcome"] == "replaced")
        .unwrap();
    assert_eq!(replaced["signal"], "SIGTERM");
    running.signal(Signal::INT);
    let (code, lines) = running.finish(10);
    assert_eq!(code, Some(130), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("(stopped with the run)")),
        "{lines:?}"
    );
}

#[test]
fn nothing_a_scheduled_run_started_survives_sigkill_of_dozen() {
    let manifest = "[schedule.job]\ncommand = \"sleep 300 & echo $! > bg.pid; setsid sh -c 'echo $$ > daemon.pid; exec sleep 301' & echo $$ > job.pid; wait\"\ncron = \"* * * * * *\"\n";
    let mut running = run(Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(manifest));
    running.wait_for("schedule.job started", 10);
    let pids: Vec<i32> = crate::harness::eventually_ok(
        "every pid file to be written",
        Duration::from_secs(10),
        || {
            ["bg.pid", "daemon.pid", "job.pid"]
                .iter()
                .map(|f| {
                    let text = running.read(f);
                    text.trim().parse().map_err(|_| format!("{f}: {text:?}"))
                })
                .collect()
        },
    );
    running.signal(Signal::KILL);
    crate::harness::within(Duration::from_secs(5), || pids.iter().all(|p| gone(*p)));
    let survivors: Vec<i32> = pids.iter().copied().filter(|p| !gone(*p)).collect();
    assert!(
        survivors.is_empty(),
        "still running after SIGKILL of dozen: {survivors:?}"
    );
    let _ = running.finish(5);
}

#[test]
fn fires_missed_while_dozen_was_paused_run_once_and_are_said() {
    let manifest = "[schedule.tick]\ncommand = \"echo tick\"\ncron = \"* * * * * *\"\n";
    let mut running = run(Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(manifest));
    running.wait_for("schedule.tick exited with code 0", 10);
    running.signal(Signal::STOP);
    std::thread::sleep(Duration::from_secs(3));
    running.signal(Signal::CONT);
    let said = running.wait_for(
        "fires passed while dozen was stopped or the machine slept",
        10,
    );
    assert!(said.ends_with("it runs once now"), "{said}");
    // One run for the whole pause: the next start is the next second's.
    let started = running.wait_for_nth("schedule.tick started", 2, 10);
    let after_pause = running
        .seen
        .iter()
        .skip_while(|l| !l.contains("fires passed"))
        .filter(|l| l.contains("schedule.tick started"))
        .count();
    assert!(after_pause <= 2, "{started}: {:?}", running.seen);
    running.signal(Signal::TERM);
    let _ = running.finish(10);
}

/// A history that says the last fire was two hours ago, as a run stopped then leaves it.
fn stopped_two_hours_ago(test: Test, schedules: &[(&str, &str)]) -> Test {
    let two_hours_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let mut history = String::new();
    for (name, cron) in schedules {
        history.push_str(
            &serde_json::json!({
                "time": two_hours_ago.to_string(), "who": "test", "what": "schedule",
                "schedule": name, "cron": cron, "due": two_hours_ago.to_string(),
                "outcome": "succeeded",
            })
            .to_string(),
        );
        history.push('\n');
    }
    test.file(".dozen/history.jsonl", history)
}

#[test]
fn after_dozen_was_stopped_one_catch_up_run_or_none_past_the_starting_deadline() {
    // Half an hour from now's minute: the latest missed fire is at least half an hour old.
    let minute = (jiff::Timestamp::now().as_second() / 60 + 30) % 60;
    let cron = format!("{minute} * * * *");
    let manifest = format!(
        "[schedule.catchup]\ncommand = \"echo caught up\"\ncron = \"{cron}\"\n\n[schedule.strict]\ncommand = \"echo never\"\ncron = \"{cron}\"\nstarting_deadline = \"1m\"\n"
    );
    let test = Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(&manifest);
    let test = stopped_two_hours_ago(test, &[("catchup", &cron), ("strict", &cron)]);
    let mut running = run(test);
    let said = running.wait_for("schedule.catchup: ", 10);
    assert!(said.contains("fire"), "{said}");
    assert!(said.ends_with("it runs once now"), "{said}");
    running.wait_for("schedule.catchup | caught up", 10);
    let strict = running.wait_for("schedule.strict: ", 10);
    assert!(
        strict.ends_with("past its starting_deadline, none runs"),
        "{strict}"
    );
    running.wait_for("schedule.catchup exited with code 0", 10);
    let recorded = fires(running.dir.path(), |f| has(f, "strict", "missed"));
    let missed = recorded
        .iter()
        .find(|e| e["schedule"] == "strict" && e["outcome"] == "missed")
        .unwrap_or_else(|| panic!("{recorded:?}"));
    assert!(missed["missed"].as_u64().unwrap() >= 1, "{missed}");
    running.signal(Signal::TERM);
    let (_, lines) = running.finish(10);
    assert!(!lines.iter().any(|l| l.contains("never")), "{lines:?}");
}

const EXPORTED: &str = r#"
[app]
name = "app"

[tasks]
report = "echo report"

[schedule.cleanup]
command = "rm -rf tmp/cache"
cron = "*/10 * * * *"
timezone = "Europe/Paris"
concurrency = "replace"
timeout = "10m"
starting_deadline = "5m"

[schedule.report]
task = "report"
cron = "0 0 1,15 * sun"
timezone = "America/New_York"

[schedule.weekdays]
command = "echo weekday"
cron = "30 2 * * 1-5"
timezone = "Europe/Paris"
"#;

/// The next fire `systemd-analyze calendar` gives an `OnCalendar=` expression, in UTC.
fn systemd_next(expression: &str) -> Option<jiff::Timestamp> {
    let Ok(output) = std::process::Command::new("systemd-analyze")
        .args(["calendar", expression])
        .env("TZ", "UTC")
        .output()
    else {
        crate::harness::missing("systemd-analyze", "apt-get install systemd");
        return None;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{expression}: {text}");
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Next elapse: "))
        .unwrap_or_else(|| panic!("{expression}: {text}"));
    // "Tue 2026-12-08 01:30:00 UTC"
    let civil: jiff::civil::DateTime = line[4..23].parse().unwrap();
    Some(civil.in_tz("UTC").unwrap().timestamp())
}

#[test]
fn schedules_export_as_systemd_timers_that_fire_when_dozen_does() {
    let test = Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(EXPORTED);
    let app = test.path().to_path_buf();
    let (code, _, stderr) =
        crate::harness::dozen_in(&app, &["export", "systemd", "--out", "units"]);
    assert_eq!(code, Some(0), "{stderr}");
    let units = app.join("units");
    let read = |name: &str| std::fs::read_to_string(units.join(name)).unwrap();
    let timer = read("app-schedule-cleanup.timer");
    assert!(
        timer.contains("OnCalendar=*-*-* *:00,10,20,30,40,50:00 Europe/Paris\nPersistent=true\n"),
        "{timer}"
    );
    let service = read("app-schedule-cleanup.service");
    assert!(
        service.contains("ExecStart=/bin/sh -c \"exec rm -rf tmp/cache\"\n"),
        "{service}"
    );
    assert!(service.contains("RuntimeMaxSec=600s\n"), "{service}");
    assert!(read("app-schedule-report.service").contains("echo report"));
    assert!(read("app.target").contains("app-schedule-report.timer"));
    let report = read("app-schedule-report.timer");
    assert!(report.contains("OnCalendar=*-*-01,15 00:00:00 America/New_York\nOnCalendar=Sun *-*-* 00:00:00 America/New_York\n"), "{report}");
    if let Ok(output) = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(
            [
                "app.target",
                "app-schedule-cleanup.timer",
                "app-schedule-cleanup.service",
                "app-schedule-report.timer",
                "app-schedule-weekdays.timer",
            ]
            .iter()
            .map(|u| units.join(u)),
        )
        .output()
    {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.trim().is_empty(),
            "systemd-analyze verify: {stderr}"
        );
    }
    // systemd's next elapse of each timer is dozen's next fire of the schedule.
    let mut running = run(Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(EXPORTED));
    running.wait_for("web.1 started", 10);
    let (_, out, _) = running.dozen(&["ps", "--json"]);
    let ps: Value = serde_json::from_str(&out).unwrap();
    for schedule in ps["schedules"].as_array().unwrap() {
        let name = schedule["name"].as_str().unwrap();
        let dozen_next: jiff::Timestamp = schedule["next"].as_str().unwrap().parse().unwrap();
        let timer = read(&format!("app-schedule-{name}.timer"));
        let systemd = timer
            .lines()
            .filter_map(|l| l.strip_prefix("OnCalendar="))
            .filter_map(systemd_next)
            .min();
        if let Some(systemd) = systemd {
            assert_eq!(systemd, dozen_next, "{name}: {timer}");
        }
    }
    running.signal(Signal::TERM);
    let _ = running.finish(10);
}

#[test]
fn schedules_export_as_kubernetes_cron_jobs_and_compose_says_what_instead() {
    let test = Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(EXPORTED);
    let app = test.path().to_path_buf();
    let (code, _, stderr) =
        crate::harness::dozen_in(&app, &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let path = app.join("k8s/app-schedule-cleanup.cronjob.yaml");
    let cron_job: Value = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(cron_job["kind"], "CronJob");
    let spec = &cron_job["spec"];
    assert_eq!(spec["schedule"], "*/10 * * * *");
    assert_eq!(spec["timeZone"], "Europe/Paris");
    assert_eq!(spec["concurrencyPolicy"], "Replace");
    assert_eq!(spec["startingDeadlineSeconds"], 300);
    assert_eq!(spec["jobTemplate"]["spec"]["activeDeadlineSeconds"], 600);
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(app.join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".yaml"))
        .collect();
    assert_eq!(
        files
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".cronjob.yaml"))
            .count(),
        3
    );
    crate::export::kubernetes_validate(&files);

    let (code, _, stderr) =
        crate::harness::dozen_in(&app, &["export", "compose", "--out", "compose"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("note: [schedule] jobs are not exported: Compose has no scheduler; run each with the host's scheduler"),
        "{stderr}"
    );
    let compose = std::fs::read_to_string(app.join("compose/compose.yaml")).unwrap();
    assert!(
        compose.contains("# Schedules: cleanup (\"*/10 * * * *\")"),
        "{compose}"
    );

    // A schedule on seconds has no CronJob.
    let seconds = Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[schedule.fast]\ncommand = \"true\"\ncron = \"*/5 * * * * *\"\n");
    let (code, _, stderr) =
        crate::harness::dozen_in(seconds.path(), &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("[schedule.fast] cron = \"*/5 * * * * *\" fires on seconds"),
        "{stderr}"
    );
}

#[test]
fn check_names_each_schedule_mistake_where_it_is_and_lists_the_schedules() {
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[schedule.nightly]\ncommand = \"true\"\ncron = \"0 25 * * *\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: dozen.toml:3:8: invalid cron: hour field: 25 is out of range 0-23");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[schedule.nightly]\ncommand = \"true\"\ncron = \"@daily\"\nretries = 3\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: dozen.toml:4:1: unknown key `retries`");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[schedule.nightly]\ncommand = \"true\"\ncron = \"30 2 * * *\"\ntimezone = \"Asia/Tokyo\"\n")
        .args(&["check"])
        .run()
        .success()
        .stdout_has("schedules    nightly (\"30 2 * * *\", next ")
        .stdout_has("T02:30:00+09:00)");
}

#[test]
fn a_release_run_gives_its_scheduled_runs_the_release_and_records_it() {
    let test = Test::new()
        .procfile("web: exec sleep 60\n")
        .env_file(".env", "GREETING=from-the-release\n")
        .manifest(
            "[schedule.hello]\ncommand = \"echo \\\"$GREETING $DOZEN_RELEASE\\\"\"\ncron = \"* * * * * *\"\n",
        );
    let (code, _, err) = crate::harness::dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{err}");
    let port = base_port();
    let mut running = test
        .args(&["run", "--no-timestamps", "-p", &port, "-t", "1"])
        .spawn();
    running.wait_for("schedule.hello | from-the-release v1", 15);
    let recorded = fires(running.dir.path(), |f| has(f, "hello", "succeeded"));
    assert!(
        recorded.iter().any(|e| e["release"] == "v1"),
        "{recorded:?}"
    );
    running.signal(Signal::TERM);
    let _ = running.finish(10);
}

/// A command that starts with assignments (`VAR=x cmd`, as crontab and Procfile lines write
/// it) runs with them, in a schedule and in the formation: `exec` goes after them, where
/// `exec VAR=x cmd` took the assignment for the program and exited 127.
#[test]
fn commands_that_start_with_assignments_run_with_them() {
    let test = Test::new()
        .procfile("web: GREETING=\"from web\" printenv GREETING; exec sleep 60\nonce: GREETING='from once' printenv GREETING\n")
        .manifest(
            "[processes.once]\nmay_exit = true\n\n[schedule.greet]\ncommand = \"GREETING=from-schedule printenv GREETING\"\ncron = \"* * * * * *\"\n",
        );
    let mut running = run(test);
    running.wait_for("once.1 | from once", 10);
    running.wait_for("schedule.greet | from-schedule", 10);
    running.signal(Signal::INT);
    let (_, lines) = running.finish(15);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("not found") || l.contains("code 127")),
        "{lines:#?}"
    );
}
