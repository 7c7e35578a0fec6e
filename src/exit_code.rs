//! dozen's exit codes, as documented in the README.

/// The command did what was asked.
pub const SUCCESS: i32 = 0;
/// The thing asked for failed: `check` found errors, a key to `config get` is not set,
/// `config diff --exit-code` found differences.
pub const FAILURE: i32 = 1;
/// Usage or configuration error: bad arguments, or an app whose files have errors.
pub const USAGE: i32 = 2;
