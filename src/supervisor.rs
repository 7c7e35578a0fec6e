//! Running processes: one-offs now, the formation with the supervisor (docs/supervisor.md).

pub mod autoscale;
pub mod backoff;
pub mod exit;
pub mod guard;
pub mod health;
pub mod machine;
pub mod meter;
pub mod nursery;
pub mod oneoff;
pub mod output;
pub mod probes;
pub mod pty;
pub mod reaper;
pub mod runner;
pub mod server;
