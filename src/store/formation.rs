//! The stored formation: what the last `dozen scale` set, which the next `dozen run` starts with.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

const FILE: &str = "formation.json";

#[derive(Serialize, Deserialize)]
struct Stored {
    schema: u32,
    counts: IndexMap<String, u32>,
}

/// The stored counts, if a `dozen scale` stored any (an unreadable file counts as none).
pub fn load(store: &Path) -> Option<IndexMap<String, u32>> {
    let text = std::fs::read_to_string(store.join(FILE)).ok()?;
    let stored: Stored = serde_json::from_str(&text).ok()?;
    (stored.schema == 1).then_some(stored.counts)
}

/// Stores the counts (atomically: a crash leaves the old file or the new one).
pub fn save(store: &Path, counts: &IndexMap<String, u32>) -> std::io::Result<()> {
    let stored = Stored {
        schema: 1,
        counts: counts.clone(),
    };
    let mut text = serde_json::to_string_pretty(&stored).expect("serializable");
    text.push('\n');
    crate::fsutil::write_atomic(&store.join(FILE), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        let counts: IndexMap<String, u32> = [("web".to_owned(), 3), ("worker".to_owned(), 0)]
            .into_iter()
            .collect();
        save(dir.path(), &counts).unwrap();
        assert_eq!(load(dir.path()), Some(counts));
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        assert_eq!(load(dir.path()), None);
    }
}
