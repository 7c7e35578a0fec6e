//! The `command` autoscale metric (docs/deploy.md): a command the app gives (`redis-cli llen
//! jobs`) run with `sh -c` in the app's environment, every `interval`, on a thread of its own
//! so the runner never waits for it. Its first word on stdout is the number; a failure, a
//! timeout (the interval) or anything else is an error the runner tells once.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a measurement gives: the number, or why there is none.
pub type Reading = Result<f64, String>;

/// `sh -c command` with exactly `env`, in `cwd`, its stdout piped (stderr joined to it when
/// `with_stderr`), in a process group of its own (so a timeout ends all of it).
fn spawn(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    with_stderr: bool,
) -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt as _;
    let script = if with_stderr {
        format!("exec 2>&1; {command}")
    } else {
        command.to_owned()
    };
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run `sh`: {e}"))
}

/// Its output (up to `limit` bytes, read as it comes so a full pipe never stalls it) and how
/// it ended: `None` when it ran past `timeout` and its process group was killed.
fn finish(
    mut child: std::process::Child,
    timeout: Duration,
    limit: u64,
) -> (String, Option<std::process::ExitStatus>) {
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.by_ref().take(limit).read_to_string(&mut out);
        }
        out
    });
    let now = Instant::now();
    // (A timeout from a control client is not bounded as dozen.toml's are.)
    let deadline = now
        .checked_add(timeout)
        .unwrap_or(now + Duration::from_secs(86_400));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                if let Some(pid) =
                    rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or_default())
                {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
                break None;
            }
        }
    };
    (reader.join().unwrap_or_default(), status)
}

/// How a command that did not succeed ended, with `detail` after it.
fn ended(status: Option<std::process::ExitStatus>, timeout: Duration, detail: &str) -> String {
    match status.map(|s| s.code()) {
        None => format!(
            "it did not finish within {}s{detail}",
            timeout.as_secs_f64()
        ),
        Some(Some(code)) => format!("it exited with {code}{detail}"),
        Some(None) => format!("it was killed by a signal{detail}"),
    }
}

/// Runs `command` and reads its number; gives up (and ends its process group) after
/// `timeout`.
pub fn measure(command: &str, env: &[(String, String)], cwd: &Path, timeout: Duration) -> Reading {
    let (out, status) = finish(spawn(command, env, cwd, false)?, timeout, 4096);
    match status {
        Some(status) if status.success() => parse(&out),
        status => Err(ended(status, timeout, "")),
    }
}

/// Runs a smoke test: `Ok` when it exits 0 within `timeout`, else why not (its exit, and the
/// last line it wrote, which is the test's own report).
pub fn smoke(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let (out, status) = finish(spawn(command, env, cwd, true)?, timeout, 64 * 1024);
    if status.is_some_and(|s| s.success()) {
        return Ok(());
    }
    let last = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    Err(ended(status, timeout, &last))
}

/// The number a command printed: its first word.
pub fn parse(out: &str) -> Reading {
    let word = out.split_whitespace().next().unwrap_or_default();
    match word.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ if word.is_empty() => Err("it printed nothing".to_owned()),
        // Not echoed: a command's output is the app's, and may hold what should not be shown.
        _ => Err("its output does not start with a number".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_is_the_number() {
        assert_eq!(parse("12\n"), Ok(12.0));
        assert_eq!(parse("  3.5 jobs waiting\n"), Ok(3.5));
        assert!(parse("").is_err());
        assert!(parse("jobs: 12").is_err());
        assert!(parse("-1").is_err());
        assert!(parse("NaN").is_err());
    }

    #[test]
    fn a_command_is_run_with_the_environment_and_given_up_at_its_timeout() {
        let env = vec![
            ("QUEUE".to_owned(), "7".to_owned()),
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ];
        let cwd = std::env::temp_dir();
        let second = Duration::from_secs(1);
        assert_eq!(measure("echo $QUEUE", &env, &cwd, second), Ok(7.0));
        assert_eq!(
            measure("exit 3", &env, &cwd, second),
            Err("it exited with 3".to_owned())
        );
        let started = Instant::now();
        let slow = measure("sleep 5; echo 1", &env, &cwd, Duration::from_millis(200));
        assert!(slow.unwrap_err().contains("did not finish"));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_smoke_test_passes_on_0_and_fails_with_its_last_line() {
        let env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
        let cwd = std::env::temp_dir();
        let second = Duration::from_secs(1);
        assert_eq!(smoke("echo fine", &env, &cwd, second), Ok(()));
        assert_eq!(
            smoke(
                "echo checking; echo 'no v2 here' >&2; exit 4",
                &env,
                &cwd,
                second
            ),
            Err("it exited with 4: no v2 here".to_owned())
        );
        let slow = smoke(
            "echo waiting; sleep 5",
            &env,
            &cwd,
            Duration::from_millis(200),
        );
        assert_eq!(
            slow,
            Err("it did not finish within 0.2s: waiting".to_owned())
        );
    }
}
