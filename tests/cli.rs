//! Conventions every command shares: help, version, usage errors, colour, pipes.

use crate::harness::Test;

#[test]
fn version() {
    Test::new()
        .args(&["--version"])
        .run()
        .success()
        .stdout(&format!("dozen {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_only_working_commands() {
    let output = Test::new().args(&["--help"]).run().success();
    for command in [
        "audit", "build", "check", "config", "exec", "export", "gc", "history", "init", "ps",
        "release", "releases", "restart", "run", "scale", "start", "stop",
    ] {
        assert!(
            output.stdout.contains(&format!("  {command} ")),
            "{command} missing:\n{}",
            output.stdout
        );
    }
    for absent in ["__generate", "__nursery", "__guard"] {
        assert!(
            !output.stdout.contains(&format!("  {absent} ")),
            "{absent} listed:\n{}",
            output.stdout
        );
    }
    Test::new()
        .args(&["config", "--help"])
        .run()
        .success()
        .stdout_has("Examples:");
}

#[test]
fn usage_errors_exit_2() {
    Test::new()
        .args(&["frobnicate"])
        .run()
        .code(2)
        .stderr_has("error:");
    Test::new().args(&[]).run().code(2);
    Test::new().args(&["check", "--nope"]).run().code(2);
    Test::new()
        .args(&["--env", "../etc", "check"])
        .run()
        .code(2)
        .stderr_has("environment name");
    Test::new()
        .args(&["--color", "sometimes", "check"])
        .run()
        .code(2);
}

/// Issue 14: values are parsed into types where they enter, so a bad one is a usage error
/// naming the flag, before any command runs (no store is touched, nothing panics).
#[test]
fn typed_values_are_checked_at_the_command_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["release", "--build", "../x"], "is not a build id"),
        (&["release", "--build", ""], "is not a build id"),
        (&["releases", "show", "v0"], "releases count from v1"),
        (&["releases", "show", "latest"], "is not a release version"),
        (&["rollback", "v2.1"], "is not a release version"),
        (&["run", "--release", "vv3"], "is not a release version"),
        (
            &["export", "compose", "--release", "x"],
            "is not a release version",
        ),
        (&["build", "verify", "ZZ"], "is not a build id"),
        (&["scale", "web=\u{e9}5"], "is not a count"),
        (&["scale", "web"], "is not TYPE=N, TYPE+N or TYPE-N"),
        (
            &["run", "--dev", "-t", "18446744073709551615"],
            "longer than a day",
        ),
        (&["run", "--dev", "-m", "web=-1"], "--formation"),
    ];
    for (args, message) in cases {
        let output = Test::new().procfile("web: x\n").args(args).run().code(2);
        assert!(
            output.stderr.contains(message),
            "{args:?}: {}",
            output.stderr
        );
        assert!(
            !output.dir.path().join(".dozen").exists(),
            "{args:?} touched the store"
        );
    }
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let bad = || Test::new().procfile("web : x\n");
    bad().args(&["check"]).run().code(1).stderr_lacks("\x1b[");
    bad()
        .args(&["--color", "always", "check"])
        .run()
        .code(1)
        .stderr_has("\x1b[1;31merror\x1b[0m");
    bad()
        .args(&["--color", "always", "check"])
        .env("NO_COLOR", "1")
        .run()
        .code(1)
        .stderr_has("\x1b[");
    bad()
        .args(&["--color", "never", "check"])
        .run()
        .code(1)
        .stderr_lacks("\x1b[");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::fmt::Write as _;
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut keys = String::new();
    for i in 0..20_000 {
        let _ = writeln!(keys, "K{i}=v");
    }
    let test = Test::new().procfile("web: x\n").env_file(".env", &keys);
    let mut child = Command::new(crate::harness::BIN)
        .args(["config", "--reveal"])
        .current_dir(test.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_app_directory_is_a_usage_error() {
    Test::new()
        .args(&["--app", "nowhere", "check"])
        .run()
        .code(2)
        .stderr_has("error: app directory `nowhere` does not exist");
    Test::new()
        .env("DOZEN_APP", "nowhere")
        .args(&["config"])
        .run()
        .code(2)
        .stderr_has("`nowhere` does not exist");
}

#[test]
fn start_is_foremans_verb_for_run_dev() {
    let port = crate::harness::port_block().to_string();
    let output = Test::new()
        .procfile("web: echo \"from the working tree on $PORT\"\n")
        .args(&["start", "--no-timestamps", "-p", &port])
        .run()
        .success();
    assert!(
        output
            .stdout
            .contains(&format!("web.1 | from the working tree on {port}")),
        "{}",
        output.stdout
    );
    Test::new()
        .procfile("web: echo hi\n")
        .args(&["start", "--release", "v1"])
        .run()
        .code(2)
        .stderr_has("`dozen start` runs the working tree");
    Test::new()
        .args(&["start", "--help"])
        .run()
        .success()
        .stdout_has("dozen run --dev");
}

#[test]
fn values_that_used_to_panic_are_usage_errors() {
    Test::new()
        .procfile("web: sleep 100\n")
        .args(&["scale", "web=é5"])
        .run()
        .code(2)
        .stderr_has("`é5` is not a count");
    Test::new()
        .procfile("web: sleep 100\n")
        .args(&["run", "--dev", "-t", "18446744073709551615"])
        .run()
        .code(2)
        .stderr_has("longer than a day");
    Test::new()
        .procfile("web: sleep 100\n")
        .manifest("[processes.web]\nkill_timeout = \"9999999h\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:16: `9999999h` is longer than a day");
}

#[test]
fn clear_messages_for_a_file_as_app_no_build_and_a_damaged_release_record() {
    Test::new()
        .procfile("web: sleep 1\n")
        .args(&["--app", "Procfile", "check"])
        .run()
        .code(2)
        .stderr_has("`Procfile` is not a directory");
    Test::new()
        .procfile("web: sleep 1\n")
        .args(&["build", "verify"])
        .run()
        .code(2)
        .stderr_has("no build yet");
    // A release record whose build id was cut short by a hand: listed, never a panic.
    let released = Test::new()
        .procfile("web: sleep 1\n")
        .args(&["release"])
        .run()
        .success();
    let record = released.dir.path().join(".dozen/releases/v1.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    value["build"] = serde_json::json!("ab");
    std::fs::write(&record, serde_json::to_vec(&value).unwrap()).unwrap();
    let (code, stdout, stderr) = crate::harness::dozen_in(released.dir.path(), &["releases"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("build ab "), "{stdout}");
}

/// Port 0 is no port an instance or a client could be given (issue 31, finding 22): `-p 0`,
/// `--host-port 0` and `--router 0` are usage errors, said before anything starts.
#[test]
fn port_zero_is_refused_where_a_port_is_given() {
    for args in [
        &["run", "--dev", "-p", "0"][..],
        &["run", "--dev", "--router", "0"],
        &["export", "compose", "--out", "out", "--host-port", "0"],
    ] {
        Test::new()
            .procfile("web: exec sleep 30\n")
            .args(args)
            .run()
            .code(2)
            .stderr_has("invalid value '0'");
    }
}
