//! `.dozen/drains.json`: the drains `dozen drains add` stored. Their URLs may hold
//! credentials, so the file is the app's user's alone (`0600`), like the config.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use crate::logs::url::DrainUrl;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    drains: Vec<String>,
}

pub fn path(store: &Path) -> PathBuf {
    store.join("drains.json")
}

/// The stored drains, in the order they were added.
pub fn load(store: &Path) -> Result<Vec<DrainUrl>, StoreError> {
    let path = path(store);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    let file: File = match serde_json::from_slice(&text) {
        Ok(file) => file,
        Err(source) => return Err(StoreError::DrainsFile { path, source }),
    };
    let digests = crate::secret::Digests::of_store(store).map_err(|source| StoreError::Read {
        path: store.join(crate::secret::KEY_FILE),
        source,
    })?;
    file.drains
        .iter()
        .enumerate()
        .map(|(i, url)| {
            DrainUrl::parse(url)
                .map(|url| url.with_id(&digests))
                .map_err(|source| StoreError::Drain {
                    path: path.clone(),
                    number: i + 1,
                    source,
                })
        })
        .collect()
}

/// Changes the stored drains under the store's drains lock (two `dozen drains add` at once
/// both land). The outer error is the store's; the inner one is `change` refusing, after
/// which nothing is written.
pub fn update<T, E>(
    store: &Path,
    change: impl FnOnce(&mut Vec<DrainUrl>) -> Result<T, E>,
) -> Result<Result<T, E>, StoreError> {
    let locked = |source| StoreError::Lock {
        path: store.join("locks").join("drains.lock"),
        source,
    };
    let lock = super::open_lock(store, "drains.lock").map_err(locked)?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|errno| locked(errno.into()))?;
    let mut drains = load(store)?;
    let result = match change(&mut drains) {
        Ok(result) => result,
        Err(refused) => return Ok(Err(refused)),
    };
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
        .map_err(|source| StoreError::Write { path, source })?;
    Ok(Ok(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_land_refusals_write_nothing_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        let url = DrainUrl::parse("syslog+tcp://127.0.0.1:514").unwrap();
        let added = update(store, |drains| {
            drains.push(url.clone());
            Ok::<_, ()>(drains.len())
        });
        assert_eq!(added.unwrap(), Ok(1));
        let refused = update(store, |drains| {
            drains.clear();
            Err::<(), _>("no")
        });
        assert_eq!(refused.unwrap(), Err("no"));
        assert_eq!(load(store).unwrap(), [url]);
        let path = path(store);
        std::fs::write(&path, "{\"drains\": [\"ftp://h\"]}").unwrap();
        assert_eq!(
            load(store).unwrap_err().to_string(),
            format!(
                "{}: drain 1: unsupported drain scheme `ftp`: use syslog+tls, syslog+tcp, syslog+udp, https or http",
                path.display()
            )
        );
        std::fs::write(&path, "{\"drains\": 1}").unwrap();
        assert_eq!(
            load(store).unwrap_err().to_string(),
            format!(
                "{}:1:12: not a drains file: invalid type: integer `1`, expected a sequence at line 1 column 12",
                path.display()
            )
        );
        assert!(update(store, |_| Ok::<_, ()>(())).is_err());
    }
}
