//! `dozen exec --dev`: one-off commands with the app's config, exit codes passed through,
//! signals forwarded, the user's terminal, nothing left running.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Test};

fn app() -> Test {
    Test::new()
        .procfile("web: python3 -m http.server $PORT\nrelease: echo releasing\n")
        .env_file(".env", "GREETING=hello from .env\nHOME_COPY=$HOME\n")
        .manifest("[tasks]\ngreet = \"echo greet\"\n")
}

#[test]
fn runs_a_command_with_the_config_port_and_app_directory() {
    let output = app()
        .env("HOME", "/home/u")
        .args(&[
            "exec",
            "--dev",
            "--",
            "sh",
            "-c",
            "echo \"$GREETING|$HOME_COPY|$PORT|$PWD\"",
        ])
        .run()
        .success();
    let dir = output.dir.path().canonicalize().unwrap();
    assert_eq!(
        output.stdout,
        format!("hello from .env|/home/u|5000|{}\n", dir.display())
    );
}

#[test]
fn env_files_win_over_the_inherited_environment() {
    app()
        .env("GREETING", "from the shell")
        .args(&["exec", "--dev", "--", "printenv", "GREETING"])
        .run()
        .success()
        .stdout("hello from .env\n");
}

#[test]
fn port_comes_from_the_config_then_the_environment() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "PORT=6100\n")
        .args(&["exec", "--dev", "--", "printenv", "PORT"])
        .run()
        .success()
        .stdout("6100\n");
    Test::new()
        .procfile("web: x\n")
        .env("PORT", "7100")
        .args(&["exec", "--dev", "--", "printenv", "PORT"])
        .run()
        .success()
        .stdout("7100\n");
}

#[test]
fn tasks_and_procfile_types_with_extra_arguments() {
    app()
        .args(&["exec", "--dev", "greet", "a", "two words", "--flag"])
        .run()
        .success()
        .stdout("greet a two words --flag\n");
    app()
        .args(&["exec", "--dev", "greet", "--", "-v", "$HOME"])
        .run()
        .success()
        .stdout("greet -v $HOME\n");
    app()
        .args(&["exec", "--dev", "release"])
        .run()
        .success()
        .stdout("releasing\n");
}

#[test]
fn unknown_task_lists_what_exists() {
    app()
        .args(&["exec", "--dev", "migrate"])
        .run()
        .code(2)
        .stderr_has("error: unknown task `migrate`")
        .stderr_has("tasks: greet; Procfile types: web, release");
}

#[test]
fn exit_codes_pass_through() {
    app()
        .args(&["exec", "--dev", "--", "sh", "-c", "exit 42"])
        .run()
        .code(42);
    app()
        .args(&["exec", "--dev", "--", "sh", "-c", "kill -TERM $$"])
        .run()
        .code(143);
    app()
        .args(&["exec", "--dev", "--", "sh", "-c", "kill -KILL $$"])
        .run()
        .code(137);
    app().args(&["exec", "--dev", "--", "true"]).run().success();
    app()
        .args(&["exec", "--dev", "--", "definitely-not-a-command-dozen"])
        .run()
        .code(127)
        .stderr_has("cannot run `definitely-not-a-command-dozen`");
}

#[test]
fn stdin_is_the_users() {
    let test = app();
    let mut child = Command::new(BIN)
        .args(["exec", "--dev", "--", "cat"])
        .current_dir(test.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"typed input\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "typed input\n");
}

#[test]
fn the_terminal_is_the_users() {
    // `script` gives dozen a pseudo-terminal; the command must see it on stdin and stdout.
    let test = app();
    let inner = format!("{BIN} exec --dev -- sh -c 'test -t 0 && test -t 1 && echo on-a-terminal'");
    let output = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .current_dir(test.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("on-a-terminal"), "{stdout}");
}

/// Waits (at most 3 s) until process `pid` is gone or a zombie; whether it is.
fn gone(pid: i32) -> bool {
    crate::harness::within(Duration::from_secs(3), || {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        state.is_empty()
            || state
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn nothing_is_left_running() {
    let script = "sleep 300 & echo $! > bg.pid; setsid sh -c 'sleep 301 & echo $! > daemon.pid'; (trap '' TERM; exec sleep 302) & echo $! > stubborn.pid; sleep 0.2; exit 0";
    let started = Instant::now();
    let output = app()
        .args(&["exec", "--dev", "--", "sh", "-c", script])
        .run()
        .success();
    for file in ["bg.pid", "daemon.pid", "stubborn.pid"] {
        let pid: i32 = output.read(file).trim().parse().unwrap();
        assert!(gone(pid), "{file}: process {pid} is still running");
    }
    // The stubborn one needed SIGKILL after the grace period, and no more.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn signals_sent_to_dozen_are_forwarded() {
    let test = app();
    let mut child = Command::new(BIN)
        .args([
            "exec",
            "--dev",
            "--",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .current_dir(test.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got TERM");
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[test]
fn without_dev_a_release_is_needed_and_a_command_always() {
    app()
        .args(&["exec", "--", "true"])
        .run()
        .code(2)
        .stderr_has("error: no release yet")
        .stderr_has("--dev");
    app()
        .args(&["exec", "--dev"])
        .run()
        .code(2)
        .stderr_has("error: name a task, or a command after `--`");
}

#[test]
fn an_invalid_app_exits_2() {
    Test::new()
        .procfile("web x\n")
        .args(&["exec", "--dev", "--", "true"])
        .run()
        .code(2)
        .stderr_has("Procfile:1:4:");
}

#[test]
fn env_file_flag_replaces_the_stack() {
    let test = app()
        .env_file("other.env", "GREETING=from other\n")
        .env_file("more.env", "EXTRA=1\n");
    test.args(&[
        "-e",
        "other.env,more.env",
        "exec",
        "--dev",
        "--",
        "sh",
        "-c",
        "echo $GREETING $EXTRA $HOME_COPY.",
    ])
    .run()
    .success()
    .stdout("from other 1 .\n");
    app()
        .args(&["-e", "missing.env", "check"])
        .run()
        .code(1)
        .stderr_has("error: missing.env: env file given with -e/--env-file does not exist");
    let output = app()
        .env_file("other.env", "A=1\n")
        .args(&["--env-file", "other.env", "config", "set", "B=2"])
        .run()
        .success();
    assert_eq!(output.read("other.env"), "A=1\nB=2\n");
}
