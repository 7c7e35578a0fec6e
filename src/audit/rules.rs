//! The audit's rules, one module per factor (issue 5, in progress).

pub mod config;
