//! The output path: per-instance pipes → one pump thread (poll, line framing, formatting) →
//! a bounded queue → one writer thread that owns stdout. See docs/supervisor.md.

pub mod format;
pub mod lines;
pub mod pump;
pub mod queue;
