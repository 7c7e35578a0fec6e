//! How `releases`, `releases show` and `ps` tell the deploys in the store: which release
//! served when, and what became of each move (docs/deploy.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::Error;
use crate::store::deploys::{self, Record};
use crate::store::releases::Ledger;

/// Every deploy record, settled first: a deploy whose run is gone is interrupted, and its
/// release aborted. A store that never had a deploy is not touched.
pub(super) fn settled(store: &Path) -> Result<Vec<Record>, Error> {
    let failed = |e: &dyn std::fmt::Display| Error::failed(e.to_string());
    let records = deploys::list(store).map_err(|e| failed(&e))?;
    if records.is_empty() {
        return Ok(records);
    }
    let ledger = Ledger::open(store).map_err(|e| failed(&e))?;
    ledger.current().map_err(|e| failed(&e))?;
    deploys::list(store).map_err(|e| failed(&e))
}

/// The newest deploy, settled (`ps`: one record read, not all of them).
pub(super) fn latest(store: &Path) -> Result<Option<Record>, Error> {
    let failed = |e: &dyn std::fmt::Display| Error::failed(e.to_string());
    if deploys::latest(store).map_err(|e| failed(&e))?.is_none() {
        return Ok(None);
    }
    Ledger::open(store)
        .and_then(|ledger| ledger.current())
        .map_err(|e| failed(&e))?;
    deploys::latest(store).map_err(|e| failed(&e))
}

/// The latest record of each release, by version.
pub(super) fn by_release(records: &[Record]) -> BTreeMap<u32, &Record> {
    deploys::latest_by_release(records)
}

/// `2026-12-07 10:41:05`: a stored time, to the second.
fn when(time: &str) -> String {
    time.get(..19).unwrap_or(time).replace('T', " ")
}

/// One line: `deploy d4 (rolling, v6 → v7): done at 2026-…`.
pub(super) fn line(record: &Record) -> String {
    let state = match (&record.outcome, &record.ended) {
        (deploys::Outcome::InProgress, _) => format!("in progress since {}", when(&record.started)),
        (deploys::Outcome::Failed { reason }, Some(ended)) => {
            format!("failed at {} ({reason})", when(ended))
        }
        (deploys::Outcome::Interrupted, Some(ended)) => format!(
            "interrupted (the run ended first; found at {})",
            when(ended)
        ),
        (_, ended) => format!(
            "{} at {}",
            record.state(),
            when(ended.as_deref().unwrap_or(&record.started))
        ),
    };
    format!(
        "deploy d{} ({}, {} → {}): {state}",
        record.id, record.kind, record.from, record.release
    )
}

/// A record as JSON: everything but the run's process.
pub(super) fn value(record: &Record, steps: bool) -> Value {
    let mut value = json!({
        "id": format!("d{}", record.id),
        "release": record.release,
        "from": record.from,
        "kind": record.kind,
        "state": record.state().replace(' ', "_"),
        "reason": record.failure(),
        "started": record.started,
        "ended": record.ended,
    });
    if steps {
        value["steps"] = json!(record.steps);
    }
    value
}

/// `releases show`'s text: each deploy of the release with its steps.
pub(super) fn history(out: &mut String, records: &[&Record]) {
    for record in records {
        let _ = writeln!(out, "{}", line(record));
        for step in &record.steps {
            let _ = writeln!(out, "  {}  {}", when(&step.at), step.what);
        }
    }
}
