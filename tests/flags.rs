//! `dozen flags` with no run: it edits the definitions file in place and says a run will serve
//! it; every change is in `dozen history`; concurrent edits all land; bad input is a usage
//! error naming the flag, the variant or the file's line and column.

use serde_json::Value;

use crate::harness::{Test, dozen_in};

const FLAGS: &str = "{\n  \"flags\": {\n    \"new-checkout\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"on\": true, \"off\": false},\n      \"defaultVariant\": \"off\"\n    },\n    \"theme\": {\"state\": \"ENABLED\", \"variants\": {\"light\": \"l\", \"dark\": \"d\"}, \"defaultVariant\": \"light\"}\n  }\n}\n";

fn app() -> Test {
    Test::new().procfile("web: x\n").file("flags.json", FLAGS)
}

#[test]
fn with_no_run_the_file_is_edited_in_place_and_the_history_says_who_and_what() {
    let test = app()
        .args(&["flags", "rollout", "new-checkout", "12.5%"])
        .run()
        .success()
        .stdout_has("new-checkout: 12.5% on, rest off (was off for everyone)")
        .stderr_has(
            "no `dozen run` is running: flags.json changed only; a run serves it when it starts",
        );
    let dir = test.dir.path().to_owned();
    let edited = std::fs::read_to_string(dir.join("flags.json")).unwrap();
    assert_eq!(
        edited,
        FLAGS.replace(
            "\"defaultVariant\": \"off\"\n",
            "\"defaultVariant\": \"off\",\n      \"targeting\": {\"fractional\": [[\"on\", 1250], [\"off\", 8750]]}\n"
        )
    );
    let (code, stdout, _) = dozen_in(&dir, &["flags", "--json"]);
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["flags"][0]["serves"], "12.5% on, rest off");
    assert_eq!(listed["flags"][1]["serves"], "light for everyone");

    // The same change again changes nothing and records nothing.
    let (code, _, stderr) = dozen_in(&dir, &["flags", "rollout", "new-checkout", "12.5%"]);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("already; nothing to change"), "{stderr}");
    let (code, stdout, _) = dozen_in(&dir, &["flags", "set", "new-checkout", "on", "--json"]);
    assert_eq!(code, Some(0));
    let set: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&set["running"], &set["applied"], &set["now"]),
        (
            &Value::from(false),
            &Value::from(false),
            &Value::from("on for everyone")
        )
    );

    let (_, stdout, _) = dozen_in(&dir, &["history", "--json"]);
    let history: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let flags: Vec<&Value> = history.iter().filter(|e| e["what"] == "flags").collect();
    assert_eq!(flags.len(), 2, "{history:#?}");
    assert_eq!(flags[0]["change"], "rollout 12.5%");
    assert_eq!(flags[0]["was"], "off for everyone");
    assert_eq!(flags[0]["after"]["targeting"]["fractional"][0][1], 1250);
    assert!(flags[0]["before"].get("targeting").is_none());
    assert_eq!(
        (&flags[1]["change"], &flags[1]["live"]),
        (&Value::from("set on"), &Value::from(false))
    );
    assert!(flags[1]["who"].as_str().is_some_and(|w| !w.is_empty()));
    // The text history says it in a line, without the definitions.
    let (_, stdout, _) = dozen_in(&dir, &["history"]);
    let line = stdout
        .lines()
        .find(|l| l.contains("change=\"set on\""))
        .unwrap();
    assert!(
        line.contains("flags") && !line.contains("before="),
        "{line}"
    );
}

#[test]
fn edits_at_once_all_land() {
    let test = app().args(&["flags"]).run().success();
    let dir = test.dir.path().to_owned();
    let edits: Vec<Vec<&str>> = vec![
        vec!["flags", "disable", "theme"],
        vec!["flags", "rollout", "new-checkout", "30%"],
    ];
    let handles: Vec<_> = edits
        .into_iter()
        .map(|args| {
            let dir = dir.clone();
            std::thread::spawn(move || dozen_in(&dir, &args))
        })
        .collect();
    for handle in handles {
        let (code, stdout, stderr) = handle.join().unwrap();
        assert_eq!(code, Some(0), "{stdout}{stderr}");
    }
    let (_, stdout, _) = dozen_in(&dir, &["flags"]);
    assert!(stdout.contains("30% on, rest off"), "{stdout}");
    assert!(stdout.contains("theme         DISABLED"), "{stdout}");
}

#[test]
fn bad_input_says_what_and_changes_nothing() {
    let test = app()
        .args(&["flags", "set", "new-chekout", "on"])
        .run()
        .code(2)
        .stderr_has("flags.json has no flag `new-chekout`")
        .stderr_has("did you mean `new-checkout`?");
    let dir = test.dir.path().to_owned();
    for (args, says) in [
        (
            vec!["flags", "set", "theme", "drak"],
            "did you mean `dark`?",
        ),
        (
            vec!["flags", "rollout", "theme", "150%"],
            "is not a percentage",
        ),
        (
            vec!["flags", "rollout", "theme", "10%", "light"],
            "default variant",
        ),
        (
            vec!["flags", "get", "theme", "--context", "[1]"],
            "--context takes a JSON object",
        ),
    ] {
        let (code, _, stderr) = dozen_in(&dir, &args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("flags.json")).unwrap(),
        FLAGS
    );
    std::fs::write(dir.join("flags.json"), "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1}, \"defaultVariant\": \"y\"}}}").unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["flags"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("flags.json:1:"), "{stderr}");
    std::fs::remove_file(dir.join("flags.json")).unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["flags", "enable", "a"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no flags: flags.json does not exist"),
        "{stderr}"
    );
}

#[test]
fn get_evaluates_for_a_targeting_key() {
    let test = app()
        .args(&["flags", "rollout", "theme", "50%"])
        .run()
        .success();
    let dir = test.dir.path().to_owned();
    let (code, stdout, _) = dozen_in(
        &dir,
        &[
            "flags",
            "get",
            "theme",
            "--targeting-key",
            "user-1",
            "--json",
        ],
    );
    assert_eq!(code, Some(0));
    let got: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(got["evaluation"]["reason"], "TARGETING_MATCH");
    assert!(["light", "dark"].contains(&got["evaluation"]["variant"].as_str().unwrap()));
    let (_, shown, _) = dozen_in(&dir, &["flags", "get", "theme"]);
    assert!(
        shown.starts_with("theme: 50% dark, rest light\n"),
        "{shown}"
    );
}

#[test]
fn an_app_without_flags_lists_none_and_a_bad_flags_section_is_located() {
    let test = Test::new()
        .procfile("web: x\n")
        .args(&["flags"])
        .run()
        .success()
        .stderr_has("no flags: flags.json does not exist");
    let dir = test.dir.path().to_owned();
    let (code, stdout, _) = dozen_in(&dir, &["flags", "--json"]);
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&listed["exists"], &listed["flags"]),
        (&Value::from(false), &serde_json::json!([]))
    );

    std::fs::write(
        dir.join("dozen.toml"),
        "[flags]\nfile = \"../flags.json\"\nlisten = \"nope\"\nheader = \"Host\"\n\n[router]\n",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["check"]);
    assert_eq!(code, Some(1), "{stderr}");
    for (located, says) in [
        ("dozen.toml:2:", "outside the app directory"),
        ("dozen.toml:3:", "invalid OFREP address"),
        ("dozen.toml:4:", "a header the router sets or owns itself"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(located) && l.contains(says)),
            "{located} {says}: {stderr}"
        );
    }
    std::fs::write(
        dir.join("dozen.toml"),
        "[flags]\ntargeting_key = \"cookie:uid\"\n",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("dozen.toml:2:") && stderr.contains("set header too"),
        "{stderr}"
    );
}

#[test]
fn a_run_refuses_a_flags_file_with_errors_or_a_named_one_missing_before_it_starts() {
    let test = Test::new()
        .procfile("web: echo started\n")
        .file("flags.json", "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1}, \"defaultVariant\": \"y\"}}}")
        .args(&["run", "--dev", "-p", &crate::harness::port_block().to_string()])
        .run()
        .code(2)
        .stderr_has("flags.json:1:")
        .stdout_lacks("started");
    let dir = test.dir.path().to_owned();
    std::fs::remove_file(dir.join("flags.json")).unwrap();
    std::fs::write(
        dir.join("dozen.toml"),
        "[flags]\nfile = \"conf/flags.json\"\n",
    )
    .unwrap();
    let port = crate::harness::port_block().to_string();
    let (code, stdout, stderr) = dozen_in(&dir, &["run", "--dev", "-p", &port]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("no flags: conf/flags.json does not exist"),
        "{stderr}"
    );
    assert!(!stdout.contains("started"), "{stdout}");
}

#[test]
fn check_says_what_run_would_refuse_in_the_flags_and_dozen_flags_refuses_a_broken_section() {
    let broken = "{\"flags\": {\n  \"a\": {\"state\": \"ON\", \"variants\": {\"x\": 1}, \"defaultVariant\": \"x\"},\n  \"b\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1}, \"defaultVariant\": \"y\"}\n}}\n";
    let test = Test::new()
        .procfile("web: x\n")
        .file("flags.json", broken)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("flags.json:2:")
        .stderr_has("flags.json:3:")
        .stderr_has("2 errors");
    let dir = test.dir.path().to_owned();
    std::fs::remove_file(dir.join("flags.json")).unwrap();
    std::fs::write(
        dir.join("dozen.toml"),
        "[flags]\nfile = \"conf/flags.json\"\n",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("conf/flags.json") && stderr.contains("does not exist"),
        "{stderr}"
    );
    // A section with errors names no file `dozen flags` may edit.
    std::fs::write(
        dir.join("dozen.toml"),
        "[flags]\nfile = \"../flags.json\"\n",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&dir, &["flags", "disable", "theme"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("dozen.toml:2:") && stderr.contains("outside the app directory"),
        "{stderr}"
    );
    let (code, _, stderr) = dozen_in(&dir, &["flags"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn an_ofrep_endpoint_the_config_sets_is_the_one_the_processes_get() {
    let port = crate::harness::port_block().to_string();
    let test = app()
        .procfile("worker: cd . && echo \"endpoint=$OFREP_ENDPOINT\" && exec sleep 600\n")
        .env_file(".env", "OFREP_ENDPOINT=http://flagd.example:8016\n");
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    running.wait_for("worker.1 | endpoint=http://flagd.example:8016", 10);
    running.signal(rustix::process::Signal::INT);
    let _ = running.child.wait();
    // An export keeps it too: flagd runs, the config names where the processes look.
    let dir = running.into_dir();
    let out = dir.path().join("out");
    let (code, _, stderr) = dozen_in(
        dir.path(),
        &["export", "compose", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let compose = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    assert!(compose.contains("flagd"), "{compose}");
    assert!(!compose.contains("OFREP_ENDPOINT:"), "{compose}");
}

#[test]
fn the_history_names_the_account_when_user_is_not_set() {
    let test = app().args(&["flags"]).run().success();
    let dir = test.dir.path().to_owned();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_dozen"))
        .args(["flags", "disable", "theme"])
        .current_dir(&dir)
        .env_remove("USER")
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let (_, stdout, _) = dozen_in(&dir, &["history", "--json"]);
    let history: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let who = history.last().unwrap()["who"].as_str().unwrap().to_owned();
    let uid = rustix::process::getuid().as_raw();
    assert!(who.ends_with(&format!(" (uid {uid})")), "{who}");
    assert!(!who.starts_with("uid "), "{who}");
}
