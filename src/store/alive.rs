//! Which process owns a record: its pid and when it started, so a later process that reuses
//! the pid is not taken for it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// Clock ticks since boot when it started (`/proc/PID/stat`'s 22nd field).
    pub start: Option<u64>,
}

impl Owner {
    pub fn this_process() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: start_time(pid),
        }
    }

    /// Whether the process still runs (the same one, not a later one with its pid).
    pub fn alive(&self) -> bool {
        start_time(self.pid).is_some_and(|start| Some(start) == self.start)
    }
}

/// When a process started (clock ticks since boot), to tell it from a later one with its pid;
/// `None` when there is no such process, or it has ended and only waits to be reaped (a
/// zombie does nothing more for a record it owns).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = crate::procfs::Stat::read(i32::try_from(pid).ok()?)?;
    if stat.is_zombie() {
        return None;
    }
    stat.start_time()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let owner = Owner {
            pid: child.id(),
            start: None,
        };
        // Not yet reaped: a zombie once it has exited.
        assert!(eventually(|| start_time(owner.pid).is_none()));
        child.wait().unwrap();
    }

    fn eventually(mut condition: impl FnMut() -> bool) -> bool {
        for _ in 0..200 {
            if condition() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_is_not() {
        let me = Owner::this_process();
        assert!(me.start.is_some());
        assert!(me.alive());
        let reused = Owner {
            start: me.start.map(|s| s + 1),
            ..me
        };
        assert!(!reused.alive());
        assert!(
            !Owner {
                pid: u32::MAX - 1,
                start: Some(1)
            }
            .alive()
        );
    }
}
