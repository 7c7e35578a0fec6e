//! Running processes: one-offs now, the formation with the supervisor (docs/supervisor.md).

pub mod autoscale;
pub mod backoff;
pub mod exit;
pub mod flags;
pub mod front;
pub mod guard;
pub mod health;
pub mod machine;
pub mod meter;
pub mod metrics;
pub mod nursery;
pub mod oneoff;
pub mod output;
pub mod probes;
pub mod pty;
pub mod reaper;
pub mod resources;
pub mod runner;
pub mod scheduler;
pub mod schedules;
pub mod server;
pub mod usage;
pub mod watch;

/// The threads of this process named `name` (tests: a pool or loop that should have a fixed
/// number of threads, or none once it ends).
#[cfg(test)]
pub(crate) fn threads_named(name: &str) -> usize {
    // A listing that fails would count none: say why instead.
    std::fs::read_dir("/proc/self/task")
        .expect("this process's threads listed")
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|n| n.trim() == name)
        })
        .count()
}
