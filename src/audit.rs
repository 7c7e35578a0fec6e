//! `dozen audit` (issue 5, in progress): the twelve-factor audit. See docs/audit.md.

pub mod finding;
pub mod mask;
pub mod report;
pub mod rules;
pub mod scan;
pub mod walk;
