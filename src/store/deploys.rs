//! Deploy records: `deploys/dN.json`, one per move of a running formation onto a release
//! (rolling, blue-green, canary, a rollback's switch-back), written by the run as the deploy
//! happens and read by every command (docs/store.md). A record still in progress whose run is
//! gone is *interrupted*: settling it is the reader's job ([`settle`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::alive::Owner;
use super::error::StoreError;
use crate::fsutil::write_atomic;

pub const DIR: &str = "deploys";

/// How many steps a record keeps: the first ones and, past this, only the last ones.
const MAX_STEPS: usize = 200;

/// A record is read only up to this size (a record dozen writes is far smaller).
const MAX_RECORD: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    /// The release the formation moves to (`v13`).
    pub release: String,
    /// The release it moves from.
    pub from: String,
    /// `rolling`, `blue-green`, `canary`, `switch-back` or `rollback` (a deploy's stable side
    /// going on as the rollback's release).
    pub kind: String,
    pub started: String,
    pub ended: Option<String>,
    pub outcome: Outcome,
    /// What happened, in order (dozen's own lines about the deploy).
    pub steps: Vec<Step>,
    /// The run making the deploy.
    pub run: Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    InProgress,
    /// Every instance serves the release.
    Done,
    /// The formation went back to (or stayed on) the release it moved from.
    Failed {
        reason: String,
    },
    /// The run died before the deploy ended.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub at: String,
    pub what: String,
}

impl Record {
    /// A record of a deploy just begun by this process.
    pub fn begin(id: u64, release: String, from: String, kind: &str) -> Self {
        Self {
            id,
            release,
            from,
            kind: kind.to_owned(),
            started: now(),
            ended: None,
            outcome: Outcome::InProgress,
            steps: Vec::new(),
            run: Owner::this_process(),
        }
    }

    pub fn step(&mut self, what: &str) {
        if self.steps.len() >= MAX_STEPS {
            self.steps.remove(MAX_STEPS / 2);
        }
        self.steps.push(Step {
            at: now(),
            what: what.to_owned(),
        });
    }

    pub fn end(&mut self, outcome: Outcome) {
        if self.outcome == Outcome::InProgress {
            self.outcome = outcome;
            self.ended = Some(now());
        }
    }

    /// The release's version number (`v13` → 13).
    pub fn version(&self) -> Option<u32> {
        self.release.strip_prefix('v')?.parse().ok()
    }

    /// Why it failed, for a release's status: the reason, or that the run died.
    pub fn failure(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Failed { reason } => Some(reason.clone()),
            Outcome::Interrupted => Some(format!(
                "deploy d{} was interrupted: the run that made it ended first",
                self.id
            )),
            Outcome::InProgress | Outcome::Done => None,
        }
    }

    /// `in progress`, `done`, `failed`, `interrupted`.
    pub fn state(&self) -> &'static str {
        match self.outcome {
            Outcome::InProgress => "in progress",
            Outcome::Done => "done",
            Outcome::Failed { .. } => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn dir(store: &Path) -> PathBuf {
    store.join(DIR)
}

fn path(store: &Path, id: u64) -> PathBuf {
    dir(store).join(format!("d{id}.json"))
}

/// Writes a record (replacing its earlier state).
pub fn write(store: &Path, record: &Record) -> Result<(), StoreError> {
    let dir = dir(store);
    super::create_dir(&dir).map_err(|source| StoreError::Write {
        path: dir.clone(),
        source,
    })?;
    let path = path(store, record.id);
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Write {
        path: path.clone(),
        source: e.into(),
    })?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes, 0o600).map_err(|source| StoreError::Write { path, source })
}

/// Record `id`, if there is one.
pub fn read(store: &Path, id: u64) -> Result<Option<Record>, StoreError> {
    let path = path(store, id);
    let bytes = match read_bounded(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StoreError::DeployRecord { path, source })
}

/// A record's bytes, refused past [`MAX_RECORD`].
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_RECORD + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD {
        return Err(std::io::Error::other(format!(
            "larger than a deploy record can be ({MAX_RECORD} bytes)"
        )));
    }
    Ok(bytes)
}

/// Every record's id, ascending.
fn ids(store: &Path) -> Result<Vec<u64>, StoreError> {
    let dir = dir(store);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::Read { path: dir, source }),
    };
    let mut ids: Vec<u64> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_prefix('d')?.strip_suffix(".json")?.parse().ok())
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Every record, oldest first, as stored (unsettled).
pub fn list(store: &Path) -> Result<Vec<Record>, StoreError> {
    let mut records = Vec::new();
    for id in ids(store)? {
        if let Some(record) = read(store, id)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// The id the next deploy takes.
pub fn next_id(store: &Path) -> Result<u64, StoreError> {
    Ok(ids(store)?.last().map_or(1, |last| last + 1))
}

/// Marks the newest record interrupted when it is in progress and its run is gone, and
/// returns it: its release never served as a whole formation (the caller aborts it in the
/// ledger). Only the newest can be in progress: a run makes one deploy at a time, and every
/// run settles its store when it starts — so settling reads one record, not all of them.
pub fn settle(store: &Path) -> Result<Vec<Record>, StoreError> {
    let Some(mut record) = latest(store)? else {
        return Ok(Vec::new());
    };
    if record.outcome != Outcome::InProgress || record.run.alive() {
        return Ok(Vec::new());
    }
    record.end(Outcome::Interrupted);
    record.step("the run that made the deploy ended before it did");
    write(store, &record)?;
    Ok(vec![record])
}

/// The newest record, if any.
pub fn latest(store: &Path) -> Result<Option<Record>, StoreError> {
    match ids(store)?.last() {
        Some(&id) => read(store, id),
        None => Ok(None),
    }
}

/// Waits for deploy `id` to end and returns its final record: ended by its run, or found
/// interrupted when the run is gone first (then written so). `None`: there is no such record.
pub fn wait(
    store: &Path,
    id: u64,
    poll: std::time::Duration,
) -> Result<Option<Record>, StoreError> {
    loop {
        let Some(mut record) = read(store, id)? else {
            return Ok(None);
        };
        if record.outcome != Outcome::InProgress {
            return Ok(Some(record));
        }
        if !record.run.alive() {
            // Read again: the run may have ended it just before it ended.
            if let Some(last) = read(store, id)?.filter(|r| r.outcome != Outcome::InProgress) {
                return Ok(Some(last));
            }
            record.end(Outcome::Interrupted);
            record.step("the run that made the deploy ended before it did");
            write(store, &record)?;
            return Ok(Some(record));
        }
        std::thread::sleep(poll);
    }
}

/// The latest record of each release, by version.
pub fn latest_by_release(records: &[Record]) -> std::collections::BTreeMap<u32, &Record> {
    let mut latest = std::collections::BTreeMap::new();
    for record in records {
        if let Some(version) = record.version() {
            latest.insert(version, record);
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_its_first_outcome_and_a_bounded_number_of_steps() {
        let mut record = Record::begin(3, "v2".into(), "v1".into(), "rolling");
        for n in 0..(MAX_STEPS + 50) {
            record.step(&format!("step {n}"));
        }
        assert_eq!(record.steps.len(), MAX_STEPS);
        assert_eq!(record.steps[0].what, "step 0");
        assert_eq!(
            record.steps.last().unwrap().what,
            format!("step {}", MAX_STEPS + 49)
        );
        record.end(Outcome::Done);
        record.end(Outcome::Failed {
            reason: "late".into(),
        });
        assert_eq!(record.outcome, Outcome::Done);
        assert_eq!(record.version(), Some(2));
    }

    #[test]
    fn records_round_trip_number_on_and_settle_only_when_their_run_is_gone() {
        let store = tempfile::tempdir().unwrap();
        assert_eq!(next_id(store.path()).unwrap(), 1);
        let mine = Record::begin(1, "v2".into(), "v1".into(), "canary");
        write(store.path(), &mine).unwrap();
        let mut gone = Record::begin(2, "v3".into(), "v2".into(), "rolling");
        gone.run = Owner {
            pid: u32::MAX - 1,
            start: Some(1),
        };
        write(store.path(), &gone).unwrap();
        assert_eq!(next_id(store.path()).unwrap(), 3);
        assert_eq!(read(store.path(), 1).unwrap().unwrap(), mine);
        let settled = settle(store.path()).unwrap();
        assert_eq!(settled.len(), 1);
        assert_eq!(settled[0].id, 2);
        let stored = read(store.path(), 2).unwrap().unwrap();
        assert_eq!(stored.outcome, Outcome::Interrupted);
        assert!(stored.failure().unwrap().contains("interrupted"));
        assert_eq!(
            read(store.path(), 1).unwrap().unwrap().outcome,
            Outcome::InProgress
        );
        assert!(settle(store.path()).unwrap().is_empty());
        let latest = latest_by_release(&list(store.path()).unwrap())
            .into_iter()
            .map(|(v, r)| (v, r.id))
            .collect::<Vec<_>>();
        assert_eq!(latest, vec![(2, 1), (3, 2)]);
    }

    #[test]
    fn a_damaged_record_is_named() {
        let store = tempfile::tempdir().unwrap();
        fs::create_dir(store.path().join(DIR)).unwrap();
        fs::write(store.path().join(DIR).join("d4.json"), "{").unwrap();
        let error = read(store.path(), 4).unwrap_err().to_string();
        assert!(error.contains("d4.json"), "{error}");
    }
}
