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

/// Runs `command` and reads its number; gives up (and ends its process group) after
/// `timeout`.
pub fn measure(command: &str, env: &[(String, String)], cwd: &Path, timeout: Duration) -> Reading {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run `sh`: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                if let Some(pid) =
                    rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or_default())
                {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
                return Err(format!(
                    "it did not finish within {}s",
                    timeout.as_secs_f64()
                ));
            }
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.by_ref().take(4096).read_to_string(&mut out);
    }
    if !status.success() {
        return Err(match status.code() {
            Some(code) => format!("it exited with {code}"),
            None => "it was killed by a signal".to_owned(),
        });
    }
    parse(&out)
}

/// Runs a smoke test: `Ok` when it exits 0 within `timeout`, else why not (its exit, and the
/// last line it wrote, which is the test's own report).
pub fn smoke(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1; {command}"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run `sh`: {e}"))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.by_ref().take(64 * 1024).read_to_string(&mut out);
        }
        out
    });
    let deadline = Instant::now() + timeout;
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
    let out = reader.join().unwrap_or_default();
    let last = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    match status {
        None => Err(format!(
            "it did not finish within {}s{last}",
            timeout.as_secs_f64()
        )),
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(match status.code() {
            Some(code) => format!("it exited with {code}{last}"),
            None => format!("it was killed by a signal{last}"),
        }),
    }
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
}
