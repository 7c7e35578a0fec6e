//! `dozen __guard CMD ARGS...`: the parent of a one-off that is the user's foreground job
//! (`dozen exec`). It runs the command in the terminal's process group with the user's stdin,
//! stdout and stderr, is a subreaper for everything the command leaves, ends those leftovers
//! once the command ends, and exits with the command's code. If dozen dies — `kill -9`
//! included — the kernel tells it (`PR_SET_PDEATHSIG`) and it ends every process of the
//! command before exiting: nothing outlives dozen.

use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

use super::{exit, reaper};

/// How long leftovers of a one-off get between SIGTERM and SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);
/// What the kernel sends the guard when dozen dies.
const PARENT_DIED: i32 = SIGUSR1;

/// Runs `argv` (environment and working directory as the guard got them) and returns its
/// exit code (128 + N for signal N).
pub fn serve(argv: &[String]) -> i32 {
    let Some(program) = argv.first() else {
        return 2;
    };
    let parent = rustix::process::getppid();
    let Ok(mut signals) =
        SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT, PARENT_DIED])
    else {
        return 1;
    };
    let handle = signals.handle();
    let armed = rustix::process::set_parent_process_death_signal(
        rustix::process::Signal::from_named_raw(PARENT_DIED),
    );
    // dozen may have died before the death signal was set: then its child is adopted already.
    if armed.is_err() || rustix::process::getppid() != parent {
        return 1;
    }
    if reaper::become_subreaper().is_err() {
        return 1;
    }
    let mut child = match std::process::Command::new(program).args(&argv[1..]).spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("dozen: cannot run `{program}`: {error}");
            return match error.kind() {
                std::io::ErrorKind::NotFound => 127,
                std::io::ErrorKind::PermissionDenied => 126,
                _ => 1,
            };
        }
    };
    let child_pid = rustix::process::Pid::from_child(&child);
    let own_pid = rustix::process::getpid().as_raw_nonzero().get();
    let watcher = std::thread::spawn(move || {
        for origin in signals.forever() {
            if origin.signal == PARENT_DIED {
                // dozen is gone: end the command and everything it started, then go.
                reaper::end_descendants(LEFTOVER_GRACE);
                std::process::exit(1);
            }
            // The terminal sent its Ctrl-C to the whole foreground group, the command
            // included; pass on only what a process (dozen, forwarding) sent to us alone.
            let from_process = matches!(origin.cause, Cause::Sent(_))
                && origin
                    .process
                    .is_some_and(|p| p.pid != child_pid.as_raw_nonzero().get() && p.pid != own_pid);
            if from_process {
                if let Some(signal) = rustix::process::Signal::from_named_raw(origin.signal) {
                    let _ = rustix::process::kill_process(child_pid, signal);
                }
            }
        }
    });
    let code = child.wait().map_or(1, exit::code);
    handle.close();
    let _ = watcher.join();
    reaper::end_descendants(LEFTOVER_GRACE);
    code
}
