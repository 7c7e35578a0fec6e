//! `.dozen/drains.json`: the drains `dozen drains add` stored. Their URLs may hold
//! credentials, so the file is the app's user's alone (`0600`), like the config.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::logs::url::DrainUrl;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    drains: Vec<String>,
}

pub fn path(store: &Path) -> PathBuf {
    store.join("drains.json")
}

/// The stored drains, in the order they were added.
pub fn load(store: &Path) -> Result<Vec<DrainUrl>, String> {
    let path = path(store);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file: File = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a drains file: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    file.drains
        .iter()
        .enumerate()
        .map(|(i, url)| {
            DrainUrl::parse(url).map_err(|e| format!("{}: drain {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Changes the stored drains under the store's drains lock (two `dozen drains add` at once
/// both land).
pub fn update<T>(
    store: &Path,
    change: impl FnOnce(&mut Vec<DrainUrl>) -> Result<T, String>,
) -> Result<T, String> {
    let lock = super::open_lock(store, "drains.lock").map_err(|e| e.to_string())?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| e.to_string())?;
    let mut drains = load(store)?;
    let result = change(&mut drains)?;
    let file = File {
        drains: drains
            .iter()
            .map(|d| d.as_secret_str().to_owned())
            .collect(),
    };
    let mut text = serde_json::to_vec_pretty(&file).expect("serializable");
    text.push(b'\n');
    let path = path(store);
    crate::fsutil::write_atomic(&path, &text, 0o600)
        .and_then(|()| {
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(result)
}
