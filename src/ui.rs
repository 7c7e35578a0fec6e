//! Terminal presentation: when to colour, and how.

mod paint;
pub mod terminal;

pub use paint::{ColorChoice, Paint};

/// The first 12 characters of a build id, as ids are shown (a damaged, shorter id whole).
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(12).map_or(id, |(end, _)| &id[..end])
}
