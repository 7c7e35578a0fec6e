//! Exit statuses as shells report them: the code, or 128 + the signal number.

use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;

/// `$?` for a status: its exit code, or 128+N when signal N ended it.
pub fn code(status: ExitStatus) -> i32 {
    code_of(status.code(), status.signal())
}

/// `$?` from an exit code or a terminating signal, as the nursery reports them.
pub fn code_of(code: Option<i32>, signal: Option<i32>) -> i32 {
    code.or(signal.map(|signal| 128 + signal)).unwrap_or(1)
}

/// "exited with code 3" / "killed by SIGKILL": how a status is told to the user.
pub fn describe(status: ExitStatus) -> String {
    describe_of(status.code(), status.signal())
}

pub fn describe_of(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by {}", signal_name(signal)),
        (None, None) => "ended".to_owned(),
    }
}

/// `SIGTERM` for 15, `signal 42` for what has no common name.
pub fn signal_name(signal: i32) -> String {
    crate::app::signal::name_of(signal).map_or_else(|| format!("signal {signal}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named_by_their_common_name_or_number() {
        assert_eq!(signal_name(signal_hook::consts::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(64), "signal 64");
    }

    #[test]
    fn codes_and_signals() {
        assert_eq!(code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(code(ExitStatus::from_raw(15)), 143);
        assert_eq!(describe(ExitStatus::from_raw(9)), "killed by SIGKILL");
        assert_eq!(describe(ExitStatus::from_raw(0)), "exited with code 0");
    }
}
