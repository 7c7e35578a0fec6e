//! Feature flags (issue 34): flag definitions in flagd's JSON format, evaluated in process as
//! flagd evaluates them — `JsonLogic` targeting with flagd's `fractional`, `sem_ver`,
//! `starts_with` and `ends_with`, shared `$evaluators` — with `OpenFeature`'s result (value,
//! variant, reason, error code, metadata). The OFREP server, the `dozen flags` command and the
//! exports build on this; see `docs/flags.md`.
//!
//! ```text
//! let definitions = Definitions::read(path)?;                  // located diagnostics
//! let result = definitions.evaluate("new-checkout", &context); // an `Evaluation`
//! ```

pub mod change;
mod custom;
mod definitions;
pub mod edit;
mod evaluation;
mod evaluators;
mod flag;
mod js;
pub mod live;
mod locate;
pub mod logic;
mod logic_error;
mod murmur3;
mod operations;
mod schema;
mod semver;
#[cfg(test)]
mod tests;

pub use definitions::{Checked, Definitions, MAX_FILE_BYTES, check};
pub use evaluation::{Context, ErrorCode, Evaluation, EvaluationError, Reason};
pub use flag::{Flag, Kind, State};
pub use logic_error::LogicError;
