//! Running processes: one-offs now, the formation with the supervisor (docs/supervisor.md).

pub mod exit;
pub mod output;
pub mod reaper;
