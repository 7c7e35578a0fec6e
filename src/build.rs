//! Builds (issue 4, in progress): the app's source, copied, built by its steps, and stored
//! immutably. See docs/store.md.

pub mod builder;
pub mod index;
pub mod portable;
pub mod source;

use std::path::Path;

use crate::store::objects::{ObjectId, Objects};
use crate::store::tree::{Kind, Tree};

/// Why no one stored build is the one asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// The latest was asked for, and there is none.
    #[error("no build yet: run `dozen build`")]
    NoBuild,
    /// No build's id starts with the prefix.
    #[error("no build `{0}`")]
    Unknown(String),
    /// Several builds' ids start with the prefix.
    #[error("`{prefix}` names {count} builds; give more of the id")]
    Ambiguous { prefix: String, count: usize },
}

/// The full id of a stored build: `prefix` must name exactly one; no prefix means the latest.
pub fn find(store: &Path, prefix: Option<&str>) -> Result<String, FindError> {
    let mut ids: Vec<(String, std::time::SystemTime)> = std::fs::read_dir(store.join("builds"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let id = name.strip_suffix(".json")?.to_owned();
                    Some((id, e.metadata().ok()?.modified().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort_by_key(|(_, time)| *time);
    match prefix {
        None => ids.pop().map(|(id, _)| id).ok_or(FindError::NoBuild),
        Some(prefix) => {
            let matching: Vec<String> = ids
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| id.starts_with(prefix))
                .collect();
            match matching.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(FindError::Unknown(prefix.to_owned())),
                _ => Err(FindError::Ambiguous {
                    prefix: prefix.to_owned(),
                    count: matching.len(),
                }),
            }
        }
    }
}

/// Every file of a stored build whose content or presence changed since it was stored.
pub fn verify(store: &Path, id: &str) -> Result<Vec<String>, crate::store::tree::TreeError> {
    let tree = Tree::read(&store.join("builds").join(format!("{id}.tree")))?;
    let objects = Objects::open(store).map_err(|e| crate::store::tree::TreeError::Io {
        path: store.display().to_string(),
        source: e,
    })?;
    let root = store.join("trees").join(id);
    let mut problems = Vec::new();
    for entry in &tree.entries {
        let path = root.join(&entry.path);
        match &entry.kind {
            Kind::File { object, .. } => {
                let Some(expected) = ObjectId::parse(object) else {
                    continue;
                };
                match crate::store::objects::id_of(&path) {
                    Ok(id) if id != expected => {
                        problems.push(format!("{}: changed since the build", entry.path));
                    }
                    Ok(_) if !objects.contains(&expected) => {
                        problems.push(format!("{}: its stored object is missing", entry.path));
                    }
                    Ok(_) => {}
                    Err(_) => problems.push(format!("{}: missing", entry.path)),
                }
            }
            Kind::Dir if !path.is_dir() => {
                problems.push(format!("{}: directory missing", entry.path));
            }
            Kind::Symlink { target }
                if std::fs::read_link(&path).ok().as_deref() != Some(Path::new(target)) =>
            {
                problems.push(format!("{}: link changed or missing", entry.path));
            }
            _ => {}
        }
    }
    let listed: std::collections::HashSet<&str> =
        tree.entries.iter().map(|e| e.path.as_str()).collect();
    let mut pending = vec![(root.clone(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for item in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = format!("{prefix}{}", item.file_name().to_string_lossy());
            if !listed.contains(name.as_str()) {
                problems.push(format!("{name}: not part of the build"));
            } else if item.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push((item.path(), format!("{name}/")));
            }
        }
    }
    problems.sort();
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_one_build() {
        let store = tempfile::tempdir().unwrap();
        let error = |prefix| find(store.path(), prefix).unwrap_err().to_string();
        assert_eq!(error(None), "no build yet: run `dozen build`");
        std::fs::create_dir(store.path().join("builds")).unwrap();
        for id in ["ab12", "ab34"] {
            std::fs::write(store.path().join("builds").join(format!("{id}.json")), "{}").unwrap();
        }
        assert_eq!(find(store.path(), Some("ab1")), Ok("ab12".to_owned()));
        assert_eq!(error(Some("cd")), "no build `cd`");
        assert_eq!(
            error(Some("ab")),
            "`ab` names 2 builds; give more of the id"
        );
    }
}
