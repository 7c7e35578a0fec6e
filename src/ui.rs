//! Terminal presentation: when to colour, and how.

mod paint;

pub use paint::{ColorChoice, Paint};
