//! The release ledger: `releases/vN.json` (immutable), `vN.env` (the config snapshot, 0600),
//! `vN.status` (written once), and `current` (replaced by rename). See docs/store.md.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::fsutil::write_atomic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub version: u32,
    pub build: String,
    pub environment: String,
    /// The digest of the sorted `KEY=value` lines of the snapshot: keyed by the store's
    /// digest key (BLAKE3) when `keyed`, else (releases made before issue 31) SHA-256.
    pub config_digest: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keyed: bool,
    pub keys: Vec<String>,
    pub created: String,
    pub who: String,
    pub message: Option<String>,
    /// `release`, or `rollback` (then `rollback_of` names the version copied).
    pub trigger: String,
    pub rollback_of: Option<u32>,
    /// The process creating the release, to tell a running release phase from an interrupted one.
    pub pid: u32,
    pub pid_start: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Its release phase is running.
    Pending,
    /// Its creator died before the release phase finished: never current.
    Interrupted,
    Succeeded,
    Failed {
        exit_code: i32,
    },
    /// Its release phase succeeded, but the running formation could not move to it and went
    /// back to the release it ran: never current again, as `dozen ps` shows.
    Aborted {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}; the store file was damaged or edited by hand")]
    Damaged { path: String, message: String },
    /// A keyed release whose digest cannot be checked: the store's digest key is younger
    /// than the release (it was lost or replaced since).
    #[error(
        "v{version}'s config cannot be checked: the store's digest key ({key}) was made after v{version}, so it was lost or replaced; put the old key back, or make a new release (`dozen release`)"
    )]
    KeyChanged { version: u32, key: String },
    /// A release's config snapshot that is not the one its record names.
    #[error(
        "{path} is not the config release v{version} was made with (its digest differs): it was changed after the release; make a new release"
    )]
    Changed { path: String, version: u32 },
    #[error("no release v{0}")]
    Unknown(u32),
    #[error(transparent)]
    Deploys(#[from] super::StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A release's config snapshot (`vN.env`): each key's value.
pub type Snapshot = BTreeMap<String, String>;

/// The digest of a config snapshot as releases made before issue 31 recorded it (SHA-256):
/// equal configs, equal digests, whatever the key order.
pub fn config_digest(config: &Snapshot) -> String {
    let mut hash = Sha256::new();
    for (key, value) in config {
        hash.update(key.as_bytes());
        hash.update(b"=");
        hash.update(value.as_bytes());
        hash.update(b"\n");
    }
    crate::secret::sha256_hex(hash.finalize().as_slice())
}

/// The digest of a config snapshot, keyed by the store's digest key: equal configs in one
/// store, equal digests; nothing a table or a guess of a short value finds.
pub fn keyed_config_digest(digests: &crate::secret::Digests, config: &Snapshot) -> String {
    let mut lines = Vec::new();
    for (key, value) in config {
        lines.extend_from_slice(key.as_bytes());
        lines.push(b'=');
        lines.extend_from_slice(value.as_bytes());
        lines.push(b'\n');
    }
    digests.full(&lines)
}

pub struct Ledger {
    dir: PathBuf,
    store: PathBuf,
}

impl Ledger {
    /// The store the ledger is in.
    pub fn store(&self) -> &Path {
        &self.store
    }

    pub fn open(store: &Path) -> Result<Self, LedgerError> {
        let dir = store.join("releases");
        super::create_dir(&dir).map_err(io(&dir))?;
        super::create_dir(&store.join("locks")).map_err(io(store))?;
        Ok(Self {
            dir,
            store: store.to_path_buf(),
        })
    }

    fn path(&self, version: u32, extension: &str) -> PathBuf {
        self.dir.join(format!("v{version}.{extension}"))
    }

    /// Every version that has a record, ascending.
    fn versions(&self) -> Result<Vec<u32>, LedgerError> {
        let mut versions: Vec<u32> = fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|name| name.strip_prefix('v')?.strip_suffix(".json")?.parse().ok())
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    pub fn read(&self, version: u32) -> Result<Release, LedgerError> {
        let path = self.path(version, "json");
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LedgerError::Unknown(version));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let release: Release =
            serde_json::from_slice(&bytes).map_err(|e| LedgerError::Damaged {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        if release.version != version {
            return Err(LedgerError::Damaged {
                path: path.display().to_string(),
                message: format!("it says it is v{}", release.version),
            });
        }
        Ok(release)
    }

    pub fn status(&self, release: &Release) -> Result<Status, LedgerError> {
        let path = self.path(release.version, "status");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LedgerError::Damaged {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let alive = super::alive::start_time(release.pid)
                    .is_some_and(|start| Some(start) == release.pid_start);
                Ok(if alive {
                    Status::Pending
                } else {
                    Status::Interrupted
                })
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Every release with its status, ascending.
    pub fn list(&self) -> Result<Vec<(Release, Status)>, LedgerError> {
        self.versions()?
            .into_iter()
            .map(|v| {
                let release = self.read(v)?;
                let status = self.status(&release)?;
                Ok((release, status))
            })
            .collect()
    }

    /// The config snapshot of release `version`.
    /// A release's config snapshot, checked against the digest its record holds.
    pub fn config(&self, version: u32) -> Result<Snapshot, LedgerError> {
        let path = self.path(version, "env");
        let bytes = fs::read(&path).map_err(io(&path))?;
        let snapshot: Snapshot =
            serde_json::from_slice(&bytes).map_err(|e| LedgerError::Damaged {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        let release = self.read(version)?;
        let digest = if release.keyed {
            keyed_config_digest(&self.digests()?, &snapshot)
        } else {
            config_digest(&snapshot)
        };
        if digest != release.config_digest {
            if release.keyed && self.key_made_after(&release) {
                return Err(LedgerError::KeyChanged {
                    version,
                    key: self
                        .store
                        .join(crate::secret::KEY_FILE)
                        .display()
                        .to_string(),
                });
            }
            return Err(LedgerError::Changed {
                path: path.display().to_string(),
                version,
            });
        }
        Ok(snapshot)
    }

    /// Whether the store's digest key was written after `release` was made.
    fn key_made_after(&self, release: &Release) -> bool {
        let made = std::fs::metadata(self.store.join(crate::secret::KEY_FILE))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok());
        let created = release.created.parse::<jiff::Timestamp>().ok();
        matches!((made, created), (Some(made), Some(created)) if made > created)
    }

    fn digests(&self) -> Result<crate::secret::Digests, LedgerError> {
        crate::secret::Digests::of_store(&self.store).map_err(io(&self.store))
    }

    /// Creates the next release (pending): numbering happens under an exclusive lock, so
    /// concurrent callers get distinct, consecutive versions, and no version is ever reused.
    pub fn create(
        &self,
        build: &str,
        environment: &str,
        config: &Snapshot,
        message: Option<String>,
        rollback_of: Option<u32>,
    ) -> Result<Release, LedgerError> {
        let lock = self.lock()?;
        let version = self.versions()?.last().map_or(1, |last| last + 1);
        let pid = std::process::id();
        let release = Release {
            version,
            build: build.to_owned(),
            environment: environment.to_owned(),
            config_digest: keyed_config_digest(&self.digests()?, config),
            keyed: true,
            keys: config.keys().cloned().collect(),
            created: jiff::Timestamp::now().to_string(),
            who: super::history::who(),
            message,
            trigger: if rollback_of.is_some() {
                "rollback"
            } else {
                "release"
            }
            .to_owned(),
            rollback_of,
            pid,
            pid_start: super::alive::start_time(pid),
        };
        let env_path = self.path(version, "env");
        let snapshot = serde_json::to_vec(config).map_err(|e| io(&env_path)(e.into()))?;
        write_atomic(&env_path, &snapshot, 0o600).map_err(io(&env_path))?;
        let record_path = self.path(version, "json");
        let record = serde_json::to_vec_pretty(&release).map_err(|e| io(&record_path)(e.into()))?;
        write_atomic(&record_path, &record, 0o600).map_err(io(&record_path))?;
        drop(lock);
        Ok(release)
    }

    /// `locks/release.lock`, exclusive: numbering, and appending outcomes to the history.
    pub fn lock(&self) -> Result<fs::File, LedgerError> {
        let lock_path = self.store.join("locks").join("release.lock");
        let lock = super::open_lock(&self.store, "release.lock").map_err(io(&lock_path))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(&lock_path)(e.into()))?;
        Ok(lock)
    }

    /// Records the release phase's outcome, once: the commit point. A succeeded release is
    /// current from here on (see [`Ledger::current`]); the `current` file is only a cache of
    /// that for other tools, and failing to write it loses nothing.
    pub fn finish(&self, version: u32, outcome: &Status) -> Result<(), LedgerError> {
        let path = self.path(version, "status");
        let bytes = serde_json::to_vec(outcome).map_err(|e| io(&path)(e.into()))?;
        write_atomic(&path, &bytes, 0o600).map_err(io(&path))?;
        if *outcome == Status::Succeeded {
            self.write_current_cache(Some(version));
        }
        Ok(())
    }

    /// A succeeded release that the running formation could not move to: aborted, so the
    /// current release is again the one the formation runs.
    pub fn abort(&self, version: u32, reason: &str) -> Result<(), LedgerError> {
        let path = self.path(version, "status");
        let outcome = Status::Aborted {
            reason: reason.to_owned(),
        };
        let bytes = serde_json::to_vec(&outcome).map_err(|e| io(&path)(e.into()))?;
        write_atomic(&path, &bytes, 0o600).map_err(io(&path))?;
        let _ = self.newest_succeeded();
        Ok(())
    }

    /// A deploy that failed, or whose run died before it ended, leaves its release aborted:
    /// the formation did not (or no longer) serve it, so it is not current (issue 30).
    pub fn settle_deploy(&self, record: &super::deploys::Record) -> Result<(), LedgerError> {
        let (Some(reason), Some(version)) = (record.failure(), record.version()) else {
            return Ok(());
        };
        let release = match self.read(version) {
            Ok(release) => release,
            Err(LedgerError::Unknown(_)) => return Ok(()),
            Err(error) => return Err(error),
        };
        // Under the release lock: the run and the `dozen release` waiting for it may both
        // settle the same deploy, and the history gets its event once.
        let _lock = self.lock()?;
        if self.status(&release)? == Status::Succeeded {
            self.abort(version, &reason)?;
            let _ = super::history::append(
                &self.store,
                &release.trigger,
                json!({ "version": format!("v{version}"), "outcome": "aborted", "reason": reason, "deploy": format!("d{}", record.id) }),
            );
        }
        Ok(())
    }

    /// Settles every deploy whose run is gone (docs/store.md).
    fn settle_deploys(&self) -> Result<(), LedgerError> {
        for record in super::deploys::settle(&self.store)? {
            self.settle_deploy(&record)?;
        }
        Ok(())
    }

    fn write_current_cache(&self, version: Option<u32>) {
        let path = self.store.join("current");
        let _ = match version {
            Some(version) => write_atomic(&path, format!("v{version}\n").as_bytes(), 0o600),
            None => fs::remove_file(&path),
        };
    }

    /// The current release: the newest succeeded one. Every succeeded release became current
    /// when it succeeded and rollbacks are new releases, so this is exact; it cannot disagree
    /// with the statuses, whatever a crash interrupted. The `current` file is brought in line.
    pub fn current(&self) -> Result<Option<u32>, LedgerError> {
        self.settle_deploys()?;
        self.newest_succeeded()
    }

    /// The newest succeeded release, with the `current` file brought in line.
    fn newest_succeeded(&self) -> Result<Option<u32>, LedgerError> {
        let mut current = None;
        for version in self.versions()?.into_iter().rev() {
            let release = self.read(version)?;
            if self.status(&release)? == Status::Succeeded {
                current = Some(version);
                break;
            }
        }
        let path = self.store.join("current");
        let cached = fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().strip_prefix('v')?.parse::<u32>().ok());
        if cached != current {
            self.write_current_cache(current);
        }
        Ok(current)
    }
}

/// Appends the outcome event of every release that has a final status and no event yet:
/// the history agrees with the ledger even when an append was lost to a crash or a full
/// disk. `own` is the release the caller just finished (its event is not "recovered"). The
/// caller holds the release lock, so two commands never append the same event.
pub fn reconcile(
    store: &Path,
    releases: &[(Release, Status)],
    own: Option<u32>,
) -> Result<(), super::StoreError> {
    let recorded: std::collections::HashSet<String> = super::history::read(store)?
        .iter()
        .filter(|e| matches!(e["what"].as_str(), Some("release" | "rollback")))
        .filter_map(|e| e["version"].as_str().map(str::to_owned))
        .collect();
    for (release, status) in releases {
        let version = format!("v{}", release.version);
        let outcome = match status {
            Status::Succeeded => "succeeded",
            Status::Failed { .. } => "failed",
            Status::Interrupted => "interrupted",
            Status::Aborted { .. } => "aborted",
            Status::Pending => continue,
        };
        if recorded.contains(&version) {
            continue;
        }
        let mut event = json!({ "version": version, "build": release.build, "environment": release.environment, "config_digest": release.config_digest, "outcome": outcome });
        if let Status::Failed { exit_code } = status {
            event["exit_code"] = json!(exit_code);
        }
        if let Some(of) = release.rollback_of {
            event["rollback_of"] = json!(format!("v{of}"));
        }
        if own != Some(release.version) {
            event["recovered"] = json!(true);
        }
        super::history::append(store, &release.trigger, event).map_err(|source| {
            super::StoreError::Append {
                path: store.join(super::history::FILE),
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn numbering_snapshot_status_and_current() {
        let store = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(store.path()).unwrap();
        assert_eq!(ledger.current().unwrap(), None);
        let v1 = ledger
            .create(
                "b1",
                "production",
                &config(&[("B", "2"), ("A", "1")]),
                Some("first".into()),
                None,
            )
            .unwrap();
        assert_eq!(v1.version, 1);
        assert_eq!(v1.keys, ["A", "B"]);
        assert_eq!(ledger.status(&v1).unwrap(), Status::Pending);
        let mode = fs::metadata(store.path().join("releases/v1.env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        ledger.finish(1, &Status::Succeeded).unwrap();
        assert_eq!(ledger.current().unwrap(), Some(1));
        let v2 = ledger
            .create("b2", "production", &config(&[("A", "1")]), None, None)
            .unwrap();
        ledger.finish(2, &Status::Failed { exit_code: 3 }).unwrap();
        assert_eq!(
            ledger.current().unwrap(),
            Some(1),
            "a failed release never becomes current"
        );
        let v3 = ledger
            .create(
                "b1",
                "production",
                &config(&[("A", "1"), ("B", "2")]),
                None,
                Some(1),
            )
            .unwrap();
        assert_eq!((v2.version, v3.version), (2, 3));
        assert_eq!(v3.config_digest, v1.config_digest);
        assert_eq!(ledger.config(3).unwrap(), config(&[("A", "1"), ("B", "2")]));
        let statuses: Vec<Status> = ledger.list().unwrap().into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            statuses,
            [
                Status::Succeeded,
                Status::Failed { exit_code: 3 },
                Status::Pending
            ]
        );
    }

    #[test]
    fn a_release_whose_creator_is_gone_is_interrupted() {
        let store = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(store.path()).unwrap();
        let mut release = ledger
            .create("b", "development", &BTreeMap::new(), None, None)
            .unwrap();
        release.pid_start = Some(1);
        fs::write(
            store.path().join("releases/v1.json"),
            serde_json::to_vec(&release).unwrap(),
        )
        .unwrap();
        assert_eq!(ledger.status(&release).unwrap(), Status::Interrupted);
    }

    #[test]
    fn concurrent_creators_get_distinct_consecutive_versions() {
        let store = tempfile::tempdir().unwrap();
        let versions: Vec<u32> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        Ledger::open(store.path())
                            .unwrap()
                            .create("b", "production", &BTreeMap::new(), None, None)
                            .unwrap()
                            .version
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = versions.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=8).collect::<Vec<_>>());
    }

    #[test]
    fn damage_is_named() {
        let store = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(store.path()).unwrap();
        fs::write(store.path().join("releases/v1.json"), b"{ not json").unwrap();
        let error = ledger.list().unwrap_err().to_string();
        assert!(
            error.contains("releases/v1.json") && error.contains("damaged or edited by hand"),
            "{error}"
        );
        assert!(
            ledger
                .current()
                .unwrap_err()
                .to_string()
                .contains("releases/v1.json")
        );
    }

    #[test]
    fn the_current_release_follows_the_statuses_whatever_the_cache_says() {
        let store = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(store.path()).unwrap();
        for _ in 0..3 {
            ledger
                .create("b", "production", &BTreeMap::new(), None, None)
                .unwrap();
        }
        ledger.finish(1, &Status::Succeeded).unwrap();
        ledger.finish(2, &Status::Succeeded).unwrap();
        ledger.finish(3, &Status::Failed { exit_code: 1 }).unwrap();
        let cache = store.path().join("current");
        // A crash (or a full disk) between the status and the cache: the cache is stale,
        // missing or garbage; the status decides, and the cache is put right.
        for stale in [&b"v1\n"[..], b"banana", b""] {
            fs::write(&cache, stale).unwrap();
            assert_eq!(ledger.current().unwrap(), Some(2));
            assert_eq!(fs::read_to_string(&cache).unwrap(), "v2\n");
        }
        fs::remove_file(&cache).unwrap();
        assert_eq!(ledger.current().unwrap(), Some(2));
    }
}
