//! Making sure nothing outlives dozen: become the reaper of orphaned descendants, find every
//! descendant through `/proc`, and end them (Linux).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitOptions};

use crate::procfs::Stat;

/// Orphaned descendants re-parent to us instead of init, so we can still find and end them.
pub fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

/// Every live descendant of `root` (children, their children, ...), from `/proc`.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = Stat::read(pid).and_then(|stat| stat.parent()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root.as_raw_nonzero().get()];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    found.into_iter().filter_map(Pid::from_raw).collect()
}

/// The direct children of `parent`, from a `/proc` scan (`/proc/PID/task/*/children` needs a
/// kernel option that is not always there).
pub fn children_of(parent: Pid) -> Vec<Pid> {
    let parent = parent.as_raw_nonzero().get();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| Stat::read(*pid).and_then(|stat| stat.parent()) == Some(parent))
        .filter_map(Pid::from_raw)
        .collect()
}

/// The process group of a process, from `/proc/PID/stat`.
pub fn process_group_of(pid: Pid) -> Option<i32> {
    Stat::read(pid.as_raw_nonzero().get())?.group()
}

/// Reaps every child of ours that has exited (adopted orphans included), without blocking.
/// `wait` is `waitpid(-1)`: rustix's `waitpid(None)` would be `waitpid(0)`, our own process
/// group only, and miss every child that left it with `setsid`.
pub fn reap_exited() {
    while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
}

/// Ends every descendant of this process: SIGTERM, up to `grace` for them to go, then
/// SIGKILL; returns once all are reaped (dead but unreaped children would otherwise pass to
/// init as zombies). Processes that appear meanwhile are caught by re-scanning.
pub fn end_descendants(grace: Duration) {
    let me = rustix::process::getpid();
    let start = Instant::now();
    // A process stuck in uninterruptible sleep cannot be reaped; do not wait for it forever.
    let give_up = start + grace + Duration::from_secs(5);
    loop {
        reap_exited();
        let remaining = descendants(me);
        if remaining.is_empty() || Instant::now() >= give_up {
            return;
        }
        let signal = if start.elapsed() < grace {
            Signal::TERM
        } else {
            Signal::KILL
        };
        for pid in remaining.into_iter().filter(|pid| !is_zombie(*pid)) {
            let _ = rustix::process::kill_process(pid, signal);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a process has ended but is not reaped yet (state `Z`), or is gone.
pub fn is_zombie(pid: Pid) -> bool {
    Stat::read(pid.as_raw_nonzero().get()).is_none_or(|stat| stat.is_zombie())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_field_survives_odd_command_names() {
        let parent_of = |line: &str| Stat::parse(line).and_then(|stat| stat.parent());
        assert_eq!(parent_of("123 (a) b) c) S 45 123 123 0"), Some(45));
        assert_eq!(parent_of("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parent_of("garbage"), None);
        let me = rustix::process::getpid();
        assert_eq!(
            process_group_of(me),
            Some(rustix::process::getpgrp().as_raw_nonzero().get())
        );
    }

    #[test]
    fn finds_a_grandchild() {
        use std::io::BufRead;
        // The shell prints its background child's pid once that child exists, so the test
        // does not race the fork (a fixed wait for "two descendants" failed on a busy CI).
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        let found: Vec<i32> = descendants(rustix::process::getpid())
            .into_iter()
            .map(|pid| pid.as_raw_nonzero().get())
            .collect();
        let _ = rustix::process::kill_process(Pid::from_raw(grandchild).unwrap(), Signal::KILL);
        let _ = child.kill();
        let _ = child.wait();
        let shell = i32::try_from(child.id()).unwrap();
        assert!(found.contains(&shell), "{found:?} lacks the child {shell}");
        assert!(
            found.contains(&grandchild),
            "{found:?} lacks the grandchild {grandchild}"
        );
    }
}
