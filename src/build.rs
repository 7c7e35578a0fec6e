//! Builds (issue 4, in progress): the app's source, copied, built by its steps, and stored
//! immutably. See docs/store.md.

pub mod builder;
pub mod index;
pub mod portable;
pub mod source;

use std::path::Path;

use crate::store::objects::{ObjectId, Objects};
use crate::store::tree::{Kind, Tree};

/// The full id of a stored build: `prefix` must name exactly one; no prefix means the latest.
pub fn find(store: &Path, prefix: Option<&str>) -> Result<String, String> {
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
        None => ids
            .pop()
            .map(|(id, _)| id)
            .ok_or_else(|| "no build yet: run `dozen build`".to_owned()),
        Some(prefix) => {
            let matching: Vec<String> = ids
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| id.starts_with(prefix))
                .collect();
            match matching.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(format!("no build `{prefix}`")),
                _ => Err(format!(
                    "`{prefix}` names {} builds; give more of the id",
                    matching.len()
                )),
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
