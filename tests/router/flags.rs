//! Feature flags in a running formation (docs/flags.md): `OpenFeature`'s own SDKs with their
//! OFREP providers (`PyPI`'s and npm's) read them from `OFREP_ENDPOINT`; `dozen flags rollout`
//! takes effect within a second, bucketed as flagd's own evaluator buckets; the router stamps
//! each request's variants; a hand edit is applied, a broken one said and refused; OFREP's
//! protocol details.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Client, base_port, get, in_rotation, run};
use crate::harness::{Running, Test, repo};

const FLAGS: &str = r#"{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": {
        "on": true,
        "off": false
      },
      "defaultVariant": "off"
    },
    "vip-banner": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [{"==": [{"var": "targetingKey"}, "vip"]}, "on", null]}}
  }
}
"#;

/// Whether `python3` has `OpenFeature`'s SDK and OFREP provider (`.ci/test` installs them).
fn python_sdk() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import openfeature.contrib.provider.ofrep"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        crate::harness::missing(
            "openfeature-provider-ofrep",
            "pip install openfeature-sdk openfeature-provider-ofrep",
        );
    }
    found
}

/// Whether node has `OpenFeature`'s server SDK, its OFREP provider and flagd-core.
fn node_sdk() -> bool {
    let found = repo()
        .join("tests/oracle/node_modules/@openfeature/ofrep-provider")
        .is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    if !found {
        crate::harness::missing(
            "@openfeature/ofrep-provider",
            "npm ci --prefix tests/oracle",
        );
    }
    found
}

/// The OFREP address the run said (`flags: … OFREP on http://…`).
fn endpoint(running: &mut Running) -> String {
    let line = running.wait_for("OFREP on http://", 10);
    let start = line.find("http://").unwrap();
    line[start..].split_whitespace().next().unwrap().to_owned()
}

/// The targeting keys `user-0` … `user-(n-1)` flagd's own evaluator gives `variant` of
/// `flag` in `file`.
fn flagd_buckets(file: &std::path::Path, flag: &str, variant: &str, n: usize) -> BTreeSet<u64> {
    let output = Command::new("node")
        .arg(repo().join("tests/oracle/flagd_bucketing.js"))
        .args([
            file.to_str().unwrap(),
            flag,
            variant,
            &n.to_string(),
            "user-",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice::<Vec<u64>>(&output.stdout)
        .unwrap()
        .into_iter()
        .collect()
}

/// Which of `user-0` … `user-(n-1)` the app (Python, `OpenFeature` SDK) sees `flag` on for.
fn app_sees(port: u16, flag: &str, n: usize) -> (BTreeSet<u64>, Value) {
    let reply = get(port, &format!("/?flag={flag}&n={n}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    let on = body["on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    (on, body)
}

#[test]
fn an_openfeature_app_sees_a_rollout_within_a_second_bucketed_as_flagd_buckets() {
    if !python_sdk() || !node_sdk() {
        return;
    }
    let port = base_port();
    let test = Test::new()
        .file(
            "app.py",
            std::fs::read(repo().join("tests/oracle/openfeature_ofrep.py")).unwrap(),
        )
        .file("flags.json", FLAGS)
        .procfile("web: exec python3 -u app.py\n");
    let mut running = run(test, port, 1);
    endpoint(&mut running);
    in_rotation(&running, 1);
    let (on, before) = app_sees(port, "new-checkout", 20);
    assert!(on.is_empty(), "{before}");
    assert_eq!(
        (&before["reason"], &before["variant"]),
        (&Value::from("STATIC"), &Value::from("off"))
    );

    // What flagd gives 10% of users, computed ahead from the file as it will be.
    let expected_file = running.dir.path().join("expected.json");
    std::fs::write(
        &expected_file,
        FLAGS.replace(
            "\"defaultVariant\": \"off\"\n",
            "\"defaultVariant\": \"off\",\n      \"targeting\": {\"fractional\": [[\"on\", 10], [\"off\", 90]]}\n",
        ),
    )
    .unwrap();
    let flagd = flagd_buckets(&expected_file, "new-checkout", "on", 10_000);
    let first = *flagd.first().unwrap();

    let started = Instant::now();
    let (code, stdout, stderr) = running.dozen(&["flags", "rollout", "new-checkout", "10%"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("new-checkout: 10% on, rest off (was off for everyone)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the running `dozen run` has applied it"),
        "{stderr}"
    );
    // The first user in the rollout sees it through the app, without a restart.
    let n = usize::try_from(first).unwrap() + 1;
    let (seen, _) = app_sees(port, "new-checkout", n);
    let took = started.elapsed();
    assert!(seen.contains(&first), "{seen:?}");
    assert!(
        took < Duration::from_secs(1),
        "the rollout took {took:?} to reach the app"
    );
    running.wait_for(
        "flags: flags.json changed: new-checkout: 10% on, rest off",
        5,
    );
    assert_eq!(
        std::fs::read_to_string(running.dir.path().join("flags.json")).unwrap(),
        std::fs::read_to_string(&expected_file).unwrap(),
        "edited in place, every other byte as it was"
    );

    let (on, _) = app_sees(port, "new-checkout", 10_000);
    assert!((900..=1100).contains(&on.len()), "{} of 10,000", on.len());
    assert_eq!(on, flagd, "the same users as flagd's own evaluator");

    // Stable across restarts of the run.
    running.signal(rustix::process::Signal::INT);
    let _ = running.child.wait();
    let again_port = base_port();
    let mut again = run(Test::in_dir(running.into_dir()), again_port, 1);
    endpoint(&mut again);
    in_rotation(&again, 1);
    let (after_restart, _) = app_sees(again_port, "new-checkout", 10_000);
    assert_eq!(after_restart, on);
    super::stop(again);
}

#[test]
fn the_node_sdk_reads_set_and_disable_and_a_disabled_flag_gives_the_callers_default() {
    if !node_sdk() {
        return;
    }
    let port = base_port();
    let test = Test::new()
        .file("flags.json", FLAGS)
        .procfile("web: exec sleep 600\n");
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port.to_string()])
        .spawn();
    let endpoint = endpoint(&mut running);
    let node = |flag: &str, key: &str| -> Value {
        let output = Command::new("node")
            .arg(repo().join("tests/oracle/openfeature_ofrep.js"))
            .args([flag, key])
            .env("OFREP_ENDPOINT", &endpoint)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let vip = node("vip-banner", "vip");
    assert_eq!(
        (&vip["value"], &vip["reason"], &vip["variant"]),
        (
            &Value::from(true),
            &Value::from("TARGETING_MATCH"),
            &Value::from("on")
        )
    );
    assert_eq!(node("vip-banner", "someone")["value"], false);
    let (code, _, stderr) = running.dozen(&["flags", "set", "new-checkout", "on"]);
    assert_eq!(code, Some(0), "{stderr}");
    let set = node("new-checkout", "anyone");
    assert_eq!(
        (&set["value"], &set["reason"]),
        (&Value::from(true), &Value::from("STATIC"))
    );
    let (code, _, stderr) = running.dozen(&["flags", "disable", "new-checkout"]);
    assert_eq!(code, Some(0), "{stderr}");
    let disabled = node("new-checkout", "anyone");
    assert_eq!(disabled["value"], false, "the caller's default: {disabled}");
    let missing = node("no-such-flag", "anyone");
    assert_eq!(
        (&missing["value"], &missing["errorCode"]),
        (&Value::from(false), &Value::from("FLAG_NOT_FOUND"))
    );
    super::stop(running);
}

#[test]
fn the_router_stamps_each_requests_variants_and_hand_edits_are_applied_or_refused() {
    let port = base_port();
    // A compound command, as apps start (`cd x && app`).
    let test = super::compound_app()
        .file("flags.json", FLAGS)
        .manifest("[flags]\nheader = \"X-Flags\"\ntargeting_key = \"header:X-User\"\n");
    let mut running = run(test, port, 1);
    in_rotation(&running, 1);
    let headers = |user: &str| -> String {
        let mut client = Client::connect(port).unwrap();
        let reply = client
            .send(&format!(
                "GET / HTTP/1.1\r\nHost: localhost\r\nX-User: {user}\r\nX-Flags: new-checkout=forged\r\n\r\n"
            ))
            .unwrap();
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        body["headers"]["x-flags"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(headers("vip"), "new-checkout=off, vip-banner=on");
    assert_eq!(headers("someone"), "new-checkout=off, vip-banner=off");

    // By hand, as an editor saves: applied, and said.
    let file = running.dir.path().join("flags.json");
    std::fs::write(
        &file,
        FLAGS.replacen(
            "\"defaultVariant\": \"off\"\n",
            "\"defaultVariant\": \"on\"\n",
            1,
        ),
    )
    .unwrap();
    running.wait_for(
        "flags: flags.json changed: new-checkout: on for everyone (was off for everyone)",
        5,
    );
    assert_eq!(headers("someone"), "new-checkout=on, vip-banner=off");
    // A broken file is said, located, and the flags in effect stay.
    std::fs::write(&file, "{\"flags\": {\"x\": {\"state\": \"ON\"}}}").unwrap();
    let refused = running.wait_for(
        "flags: flags.json not applied, the flags in effect stay: flags.json:1:",
        5,
    );
    assert!(
        refused.contains("\"variants\" is a required property"),
        "{refused}"
    );
    assert_eq!(headers("someone"), "new-checkout=on, vip-banner=off");
    // The same flags saved again: said to check again, nothing changed.
    std::fs::write(
        &file,
        FLAGS.replacen(
            "\"defaultVariant\": \"off\"\n",
            "\"defaultVariant\": \"on\"\n",
            1,
        ),
    )
    .unwrap();
    running.wait_for(
        "flags: flags.json checks again; the flags in effect are its",
        5,
    );
    std::fs::write(&file, "{\"flags\": {\"x\": {\"state\": \"ON\"}}}").unwrap();
    running.wait_for_nth("flags: flags.json not applied", 2, 5);
    // `dozen flags` refuses to edit it, with the same location.
    let (code, _, stderr) = running.dozen(&["flags", "enable", "x"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("flags.json:1:"), "{stderr}");
    super::stop(running);
}

#[test]
fn ofrep_answers_as_the_protocol_says() {
    let port = base_port();
    // `[flags] listen` gives OFREP the address asked (in the port block, where no instance
    // runs).
    let asked = port + 99;
    let test = Test::new()
        .file("flags.json", FLAGS)
        .manifest(&format!("[flags]\nlisten = \"{asked}\"\n"))
        .procfile("web: exec sleep 600\n");
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port.to_string()])
        .spawn();
    let endpoint = endpoint(&mut running);
    assert_eq!(endpoint, format!("http://127.0.0.1:{asked}"));
    let ofrep_port = asked;
    let mut client = Client::connect(ofrep_port).unwrap();
    let send = |client: &mut Client, path: &str, body: &str, extra: &str| {
        client
            .send(&format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
                body.len()
            ))
            .unwrap()
    };
    // Kept alive: every answer on one connection.
    let one = send(
        &mut client,
        "/ofrep/v1/evaluate/flags/vip-banner",
        r#"{"context":{"targetingKey":"vip"}}"#,
        "",
    );
    assert_eq!(one.status, 200);
    let body: Value = serde_json::from_slice(&one.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"key": "vip-banner", "value": true, "variant": "on", "reason": "TARGETING_MATCH", "metadata": {}})
    );
    let missing = send(&mut client, "/ofrep/v1/evaluate/flags/nope", "{}", "");
    assert_eq!(missing.status, 404);
    let bad = send(
        &mut client,
        "/ofrep/v1/evaluate/flags/vip-banner",
        r#"{"context": 1}"#,
        "",
    );
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("INVALID_CONTEXT"));
    let all = send(&mut client, "/ofrep/v1/evaluate/flags", "{}", "");
    assert_eq!(all.status, 200);
    let etag = all.header("etag").unwrap().to_owned();
    let unchanged = send(
        &mut client,
        "/ofrep/v1/evaluate/flags",
        "{}",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!((unchanged.status, unchanged.body.len()), (304, 0));
    // A change of the flags changes the tag.
    let (code, _, stderr) = running.dozen(&["flags", "rollout", "new-checkout", "50%"]);
    assert_eq!(code, Some(0), "{stderr}");
    let changed = send(
        &mut client,
        "/ofrep/v1/evaluate/flags",
        "{}",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    let wrong_method = client.get("/ofrep/v1/evaluate/flags").unwrap();
    assert_eq!(
        (wrong_method.status, wrong_method.header("allow")),
        (405, Some("POST"))
    );
    let big = "x".repeat(2 << 20);
    let too_big = send(
        &mut Client::connect(ofrep_port).unwrap(),
        "/ofrep/v1/evaluate/flags",
        &big,
        "",
    );
    assert_eq!(too_big.status, 413);
    super::stop(running);
}

#[test]
fn under_watch_a_flags_change_is_applied_live_and_restarts_nothing() {
    let port = base_port();
    let test = Test::new()
        .file("flags.json", FLAGS)
        .file("app.sh", "echo up; exec sleep 600\n")
        .procfile("worker: cd . && sh app.sh\n");
    let mut running = test
        .args(&[
            "run",
            "--dev",
            "--watch",
            "--no-timestamps",
            "-p",
            &port.to_string(),
        ])
        .spawn();
    running.wait_for("worker.1 | up", 10);
    let (code, _, stderr) = running.dozen(&["flags", "set", "new-checkout", "on"]);
    assert_eq!(code, Some(0), "{stderr}");
    running.wait_for(
        "flags: flags.json changed: new-checkout: on for everyone",
        5,
    );
    // A file of the app changed after it is restarted on: the flags' change, before it, was not.
    std::fs::write(
        running.dir.path().join("app.sh"),
        "echo again; exec sleep 600\n",
    )
    .unwrap();
    running.wait_for("worker.1 | again", 10);
    let restarts: Vec<&String> = (running.seen.iter())
        .filter(|l| l.contains("changed, restarting"))
        .collect();
    assert_eq!(restarts.len(), 1, "{:#?}", running.seen);
    assert!(restarts[0].contains("app.sh changed"), "{restarts:?}");
    super::stop(running);
}

#[test]
fn a_one_off_reads_the_flags_where_the_run_serves_them() {
    let port = base_port();
    let test = Test::new()
        .file("flags.json", FLAGS)
        .procfile("worker: exec sleep 600\n");
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port.to_string()])
        .spawn();
    let endpoint = endpoint(&mut running);
    let (code, stdout, stderr) = running.dozen(&[
        "exec",
        "--dev",
        "--",
        "sh",
        "-c",
        "cd . && echo $OFREP_ENDPOINT",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), endpoint);
    let (_, ps, _) = running.dozen(&["ps", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&ps).unwrap()["ofrep"],
        endpoint.as_str()
    );
    super::stop(running);
}
