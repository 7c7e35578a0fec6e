//! The names dozen gives things the user names: process types, tasks, environments.

/// `[A-Za-z0-9_-]+`: the names of process types, tasks and environments.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
