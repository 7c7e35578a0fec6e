//! Commands the runner runs beside the formation, on the checks' workers (`probes`) so it
//! never waits for them, as one-offs under a nursery (docs/deploy.md): the `command` autoscale
//! metric (`redis-cli llen jobs`, every `interval`; the first word on its stdout is the
//! number, anything else an error the runner tells once), and blue-green's smoke test.

use std::path::Path;
use std::time::Duration;

/// What a measurement gives: the number, or why there is none.
pub type Reading = Result<f64, String>;

/// `sh -c script` as a one-off (under a nursery, so nothing of it outlives dozen, even a
/// `kill -9`), killed past `timeout`: its lines (at most `keep` of the last), and how it
/// ended — `Err` with why when it did not exit 0.
fn run(
    script: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
    keep: usize,
) -> (Vec<String>, Result<(), String>) {
    let argv = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    let mut lines = std::collections::VecDeque::new();
    let finished = super::oneoff::run_for(&argv, env, cwd, Some(timeout), &mut |line| {
        if lines.len() == keep {
            lines.pop_front();
        }
        lines.push_back(line.to_owned());
    });
    let lines: Vec<String> = lines.into();
    let outcome = match finished {
        Err(error) => Err(format!("cannot run it: {error}")),
        Ok(f) if f.timed_out => Err(format!(
            "it did not finish within {}s",
            timeout.as_secs_f64()
        )),
        Ok(f) if f.code() == 0 => Ok(()),
        Ok(f) => Err(format!("it {}", f.describe())),
    };
    (lines, outcome)
}

/// Runs `command` and reads its number from its first line on stdout (its stderr is not
/// read: a warning there must not be taken for the number); gives up after `timeout`.
pub fn measure(command: &str, env: &[(String, String)], cwd: &Path, timeout: Duration) -> Reading {
    let (lines, outcome) = run(
        &format!("exec 2>/dev/null; {command}"),
        env,
        cwd,
        timeout,
        64,
    );
    outcome?;
    parse(&lines.join("\n"))
}

/// Runs a smoke test: `Ok` when it exits 0 within `timeout`, else why not (its exit, and the
/// last line it wrote, stdout or stderr: the test's own report).
pub fn smoke(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let (lines, outcome) = run(command, env, cwd, timeout, 16);
    outcome.map_err(
        |why| match lines.iter().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => format!("{why}: {}", last.trim()),
            None => why,
        },
    )
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
}
