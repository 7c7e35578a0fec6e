//! The stored formation: what the last `dozen scale` set, which the next `dozen run` starts with.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::error::{FormationDamage, StoreError};

const FILE: &str = "formation.json";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    schema: u32,
    counts: IndexMap<String, u32>,
}

/// The stored counts, if a `dozen scale` stored any. The file is validated, never trusted:
/// damage (not JSON, another schema, a count outside 0–100, a name that cannot be a process
/// type) is an error naming the file. Types the Procfile no longer has are the caller's to
/// ignore: the Procfile decides what runs.
pub fn load(store: &Path) -> Result<Option<IndexMap<String, u32>>, StoreError> {
    let path = store.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    let damaged = |damage| StoreError::Formation {
        path: path.clone(),
        damage,
    };
    let stored: Stored = serde_json::from_str(&text)
        .map_err(|source| damaged(FormationDamage::NotJson { source }))?;
    if stored.schema != 1 {
        return Err(damaged(FormationDamage::Schema(stored.schema)));
    }
    for (name, count) in &stored.counts {
        if !crate::app::name::is_valid_name(name) {
            return Err(damaged(FormationDamage::NotAName(name.clone())));
        }
        if *count > crate::app::manifest::MAX_INSTANCES {
            return Err(damaged(FormationDamage::TooMany {
                name: name.clone(),
                count: *count,
            }));
        }
    }
    Ok(Some(stored.counts))
}

/// `locks/formation.lock`, held exclusively: a read-modify-write of the stored formation
/// (`dozen scale` with no run) under it never loses another's change (issue 31, finding 14).
pub fn edit_lock(store: &Path) -> std::io::Result<std::fs::File> {
    let lock = super::open_lock(store, "formation.lock")?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(lock)
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
    fn round_trip_and_damage_is_refused_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let counts: IndexMap<String, u32> = [("web".to_owned(), 3), ("worker".to_owned(), 0)]
            .into_iter()
            .collect();
        save(dir.path(), &counts).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(counts));
        for (damage, says) in [
            ("{not json", "not a stored formation (line 1, column 2"),
            (r#"{"counts":{"web":1000}}"#, "missing field `schema`"),
            (
                r#"{"schema":1,"counts":{"web":1000}}"#,
                "1000 instances of web: at most 100",
            ),
            (r#"{"schema":2,"counts":{}}"#, "schema 2"),
            (
                r#"{"schema":1,"counts":{"a b":1}}"#,
                "`a b` cannot be a process type",
            ),
            (
                r#"{"schema":1,"counts":{"web":-1}}"#,
                "not a stored formation",
            ),
            (
                r#"{"schema":1,"counts":{},"extra":1}"#,
                "unknown field `extra`",
            ),
        ] {
            std::fs::write(dir.path().join(FILE), damage).unwrap();
            let error = load(dir.path()).unwrap_err().to_string();
            assert!(
                error.contains("formation.json") && error.contains(says),
                "{damage}: {error}"
            );
        }
        std::fs::write(dir.path().join(FILE), r#"{"schema":3,"counts":{}}"#).unwrap();
        assert_eq!(
            load(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: schema 3 (this dozen reads schema 1); fix it, or remove it and `dozen scale` again",
                dir.path().join(FILE).display()
            )
        );
    }
}
