//! Commands the runner runs beside the formation, on the checks' workers (`probes`) so it
//! never waits for them, as one-offs under a nursery (docs/deploy.md): the `command` autoscale
//! metric (`redis-cli llen jobs`, every `interval`; the first word on its stdout is the
//! number, anything else an error the runner tells once), and blue-green's smoke test.

use std::path::Path;
use std::time::Duration;

/// What a measurement gives: the number, or why there is none.
pub type Reading = Result<f64, Failed>;

/// Why a command run beside the formation gave no number, or failed its smoke test.
/// (Comparable and cloneable, as the machine's inputs are: an I/O error is kept as text.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failed {
    /// `sh` could not be started.
    #[error("cannot run it: {0}")]
    CannotRun(String),
    /// It ran past its timeout and was killed.
    #[error("it did not finish within {}s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// It exited other than 0 (`exited with code 1`, `was killed by SIGSEGV`).
    #[error("it {0}")]
    Exited(String),
    /// A metric command wrote nothing on stdout.
    #[error("it printed nothing")]
    PrintedNothing,
    /// A metric command's first word is not a number ≥ 0. (Its output is not echoed: it is
    /// the app's, and may hold what should not be shown.)
    #[error("its output does not start with a number")]
    NotANumber,
    /// A smoke test failed, with the last line it wrote (its own report).
    #[error("{why}: {last}")]
    Said { why: Box<Failed>, last: String },
    /// The checks' workers had too many commands waiting to take this one.
    #[error("{0}")]
    NotRun(String),
}

/// `sh -c script` as a one-off (under a nursery, so nothing of it outlives dozen, even a
/// `kill -9`), killed past `timeout`, each line of its output given to `on_line` (lines are
/// at most [`super::oneoff::MAX_LINE`] long): how it ended — `Err` with why when it did not
/// exit 0.
fn run(
    script: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
) -> Result<(), Failed> {
    let argv = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    match super::oneoff::run_for(&argv, env, cwd, Some(timeout), on_line) {
        Err(error) => Err(Failed::CannotRun(error.to_string())),
        Ok(f) if f.timed_out => Err(Failed::TimedOut(timeout)),
        Ok(f) if f.code() == 0 => Ok(()),
        Ok(f) => Err(Failed::Exited(f.describe())),
    }
}

/// Runs `command` and reads its number from its first line on stdout that has one word at
/// least — only that line is kept, whatever else it prints (its stderr is not read: a
/// warning there must not be taken for the number); gives up after `timeout`.
pub fn measure(command: &str, env: &[(String, String)], cwd: &Path, timeout: Duration) -> Reading {
    let mut first: Option<String> = None;
    run(
        &format!("exec 2>/dev/null; {command}"),
        env,
        cwd,
        timeout,
        &mut |line| {
            if first.is_none() && !line.trim().is_empty() {
                first = Some(line.to_owned());
            }
        },
    )?;
    parse(first.as_deref().unwrap_or_default())
}

/// Runs a smoke test: `Ok` when it exits 0 within `timeout`, else why not (its exit, and the
/// last line it wrote, stdout or stderr: the test's own report).
pub fn smoke(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<(), Failed> {
    let mut last: Option<String> = None;
    run(command, env, cwd, timeout, &mut |line| {
        if !line.trim().is_empty() {
            last = Some(line.trim().chars().take(SMOKE_REPORT).collect());
        }
    })
    .map_err(|why| match last {
        Some(last) => Failed::Said {
            why: Box::new(why),
            last,
        },
        None => why,
    })
}

/// How much of a smoke test's last line is kept as its report, in characters.
const SMOKE_REPORT: usize = 1024;

/// The number a command printed: its first word.
pub fn parse(out: &str) -> Reading {
    let word = out.split_whitespace().next().unwrap_or_default();
    match word.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ if word.is_empty() => Err(Failed::PrintedNothing),
        _ => Err(Failed::NotANumber),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_is_the_number() {
        assert_eq!(parse("12\n"), Ok(12.0));
        assert_eq!(parse("  3.5 jobs waiting\n"), Ok(3.5));
        assert_eq!(parse(""), Err(Failed::PrintedNothing));
        assert_eq!(parse("jobs: 12"), Err(Failed::NotANumber));
        assert_eq!(
            Failed::Said {
                why: Box::new(Failed::TimedOut(Duration::from_millis(1500))),
                last: "GET / 502".into()
            }
            .to_string(),
            "it did not finish within 1.5s: GET / 502"
        );
        assert!(parse("-1").is_err());
        assert!(parse("NaN").is_err());
    }
}
