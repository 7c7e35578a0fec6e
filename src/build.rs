//! Builds (issue 4, in progress): the app's source, copied, built by its steps, and stored
//! immutably. See docs/store.md.

pub mod builder;
pub mod index;
pub mod source;
