//! `dozen releases`, `dozen releases show vN`, `dozen history`: reading the store.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::context::{Context, Inspection, print};
use crate::cli::{HistoryArgs, ReleasesAction, ReleasesArgs};
use crate::error::Error;
use crate::exit_code;
use crate::secret::REDACTED;
use crate::store::releases::{Ledger, Release, Status};

fn ledger(context: &Context) -> Result<(std::path::PathBuf, Ledger), Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let store = super::context::open_store(&inspection.app)?;
    let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
    Ok((store, ledger))
}

fn status_name(status: &Status) -> String {
    match status {
        Status::Pending => "pending".into(),
        Status::Interrupted => "interrupted".into(),
        Status::Aborted { .. } => "aborted".into(),
        Status::Succeeded => "succeeded".into(),
        Status::Failed { exit_code } => format!("failed ({exit_code})"),
    }
}

pub(super) fn run(context: &Context, args: &ReleasesArgs) -> Result<i32, Error> {
    let (store, ledger) = ledger(context)?;
    match &args.action {
        None => list(&store, &ledger, args.json),
        Some(ReleasesAction::Show { version }) => {
            show(&store, &ledger, version.0, args.json, args.reveal)
        }
    }
}

fn commit_of(store: &std::path::Path, build: &str) -> Option<String> {
    let record =
        crate::build::builder::read_record(&crate::build::builder::record_path(store, build))
            .ok()?;
    record.git.map(|g| {
        format!(
            "{}{}",
            &g.commit[..g.commit.len().min(12)],
            if g.dirty { "+dirty" } else { "" }
        )
    })
}

fn list(store: &std::path::Path, ledger: &Ledger, json_output: bool) -> Result<i32, Error> {
    let records = super::deploys::settled(store)?;
    let deploys = super::deploys::by_release(&records);
    let releases = ledger.list().map_err(|e| Error::failed(e.to_string()))?;
    let current = ledger.current().map_err(|e| Error::failed(e.to_string()))?;
    if json_output {
        let items: Vec<Value> = releases
            .iter()
            .rev()
            .map(|(r, s)| {
                json!({
                    "version": format!("v{}", r.version), "build": r.build, "commit": commit_of(store, &r.build),
                    "environment": r.environment, "config_digest": r.config_digest, "created": r.created, "who": r.who,
                    "status": status_name(s), "message": r.message, "trigger": r.trigger,
                    "rollback_of": r.rollback_of.map(|v| format!("v{v}")), "current": current == Some(r.version),
                    "deploy": deploys.get(&r.version).map(|d| super::deploys::value(d, false)),
                })
            })
            .collect();
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&items).map_err(|e| Error::failed(e.to_string()))?
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = String::new();
    for (release, status) in releases.iter().rev() {
        let marker = if current == Some(release.version) {
            "*"
        } else {
            " "
        };
        let change = match (release.rollback_of, &release.message) {
            (Some(of), _) => format!("rollback to v{of}"),
            (None, Some(message)) => message.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{marker} v{:<4} {:<16} {:<12} {:<11} build {} commit {:<18} config {}  {}",
            release.version,
            release
                .created
                .get(..16)
                .unwrap_or(&release.created)
                .replace('T', " "),
            release.environment,
            // A release whose deploy is under way is current, but does not serve yet.
            match deploys.get(&release.version) {
                Some(d) if d.outcome == crate::store::deploys::Outcome::InProgress => {
                    "deploying".to_owned()
                }
                _ => status_name(status),
            },
            crate::ui::short_id(&release.build),
            commit_of(store, &release.build).unwrap_or_else(|| "-".into()),
            crate::ui::short_id(&release.config_digest),
            change
        );
        if let Some(record) = deploys.get(&release.version) {
            let _ = writeln!(out, "         {}", super::deploys::line(record));
        }
    }
    if out.is_empty() {
        eprintln!("no releases yet: run `dozen release`");
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

fn show(
    store: &std::path::Path,
    ledger: &Ledger,
    version: u32,
    json_output: bool,
    reveal: bool,
) -> Result<i32, Error> {
    let records = super::deploys::settled(store)?;
    let deploys: Vec<&crate::store::deploys::Record> = records
        .iter()
        .filter(|r| r.version() == Some(version))
        .collect();
    let release = ledger
        .read(version)
        .map_err(|e| Error::failed(e.to_string()))?;
    let status = ledger
        .status(&release)
        .map_err(|e| Error::failed(e.to_string()))?;
    let config = ledger
        .config(version)
        .map_err(|e| Error::failed(e.to_string()))?;
    let previous = previous(ledger, &release).map_err(|e| Error::failed(e.to_string()))?;
    let digests = super::context::digests_of(ledger.store())?;
    let shown = |value: &str| {
        if reveal {
            value.to_owned()
        } else {
            format!("{REDACTED} {}", digests.digest(value))
        }
    };
    let (added, removed, changed) = diff(previous.as_ref().map(|(_, c)| c), &config);
    let image = super::image::recorded(ledger.store(), version);
    if json_output {
        let keys: serde_json::Map<String, Value> = config
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if reveal {
                        json!(v)
                    } else {
                        json!({ "digest": digests.digest(v) })
                    },
                )
            })
            .collect();
        let value = json!({
            "version": format!("v{version}"), "build": release.build, "environment": release.environment,
            "config_digest": release.config_digest, "created": release.created, "who": release.who,
            "status": status_name(&status), "message": release.message, "config": keys,
            "diff": { "against": previous.as_ref().map(|(v, _)| format!("v{v}")), "added": added, "removed": removed, "changed": changed },
            "image": image.as_ref().map(|i| json!({ "digest": i["digest"], "pushed": i["pushed"], "base": i["base"] })),
            "deploys": deploys.iter().map(|d| super::deploys::value(d, true)).collect::<Vec<_>>(),
        });
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).map_err(|e| Error::failed(e.to_string()))?
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = format!(
        "v{version}  {}  {}\nbuild   {}\ncreated {} by {}\nconfig  {} ({} keys, {})\n",
        status_name(&status),
        release.message.as_deref().unwrap_or(""),
        release.build,
        release.created,
        release.who,
        crate::ui::short_id(&release.config_digest),
        config.len(),
        release.environment
    );
    if let Some(image) = &image {
        let _ = writeln!(
            out,
            "image   {}{}",
            image["digest"].as_str().unwrap_or("?"),
            image["pushed"]
                .as_str()
                .map(|p| format!(" (pushed to {p})"))
                .unwrap_or_default()
        );
    }
    let width = config.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &config {
        let _ = writeln!(out, "  {key:<width$}  {}", shown(value));
    }
    match &previous {
        Some((v, _)) if added.is_empty() && removed.is_empty() && changed.is_empty() => {
            let _ = writeln!(out, "config unchanged since v{v}");
        }
        Some((v, _)) => {
            let _ = writeln!(out, "config changes since v{v}:");
            for key in &added {
                let _ = writeln!(out, "  + {key}");
            }
            for key in &removed {
                let _ = writeln!(out, "  - {key}");
            }
            for key in &changed {
                let _ = writeln!(out, "  ~ {key}");
            }
        }
        None => {}
    }
    super::deploys::history(&mut out, &deploys);
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

/// A release's config.
type Snapshot = BTreeMap<String, String>;

/// The release before this one, with its config.
fn previous(
    ledger: &Ledger,
    release: &Release,
) -> Result<Option<(u32, Snapshot)>, crate::store::releases::LedgerError> {
    if release.version <= 1 {
        return Ok(None);
    }
    let version = release.version - 1;
    // A previous release whose snapshot cannot be trusted is no reason not to show this
    // one: there is then no comparison (its own commands say what is wrong with it).
    match ledger.config(version) {
        Ok(config) => Ok(Some((version, config))),
        Err(
            crate::store::releases::LedgerError::Changed { .. }
            | crate::store::releases::LedgerError::KeyChanged { .. }
            | crate::store::releases::LedgerError::Damaged { .. },
        ) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Keys added, removed and changed.
type KeyDiff = (Vec<String>, Vec<String>, Vec<String>);

/// Keys added, removed and changed from `before` to `after`.
fn diff(before: Option<&BTreeMap<String, String>>, after: &BTreeMap<String, String>) -> KeyDiff {
    let Some(before) = before else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let added = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect();
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let changed = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .map(|(k, _)| k.clone())
        .collect();
    (added, removed, changed)
}

/// Every field of an event but its time, who and what, as `key=value` words (ids shortened,
/// lists joined with commas): the text view leaves nothing of an event out.
fn event_details(event: &Value) -> String {
    fn render(value: &Value) -> String {
        match value {
            Value::String(text) if text.len() == 32 || text.len() == 64 => {
                if text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    crate::ui::short_id(text).to_owned()
                } else {
                    text.clone()
                }
            }
            Value::String(text) => text.clone(),
            Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join(","),
            Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        }
    }
    let Some(fields) = event.as_object() else {
        return String::new();
    };
    let quote = |text: String| {
        if text.is_empty() || text.contains([' ', '"', '\t']) {
            format!("{text:?}")
        } else {
            text
        }
    };
    let mut words: Vec<String> = fields
        .iter()
        // A flag's whole definition before and after a change is for --json.
        .filter(|(k, v)| {
            !matches!(
                k.as_str(),
                "time" | "who" | "what" | "outcome" | "before" | "after"
            ) && !v.is_null()
        })
        .map(|(k, v)| format!("{k}={}", quote(render(v))))
        .collect();
    if let Some(outcome) = fields.get("outcome").and_then(Value::as_str) {
        words.insert(0, outcome.to_owned());
    }
    words.join(" ")
}

pub(super) fn history(context: &Context, args: &HistoryArgs) -> Result<i32, Error> {
    let (store, ledger) = ledger(context)?;
    super::release::sync_history(&store, &ledger, None)?;
    let crate::store::history::History { events, damaged } =
        crate::store::history::read_all(&store).map_err(|e| Error::failed(e.to_string()))?;
    for damage in &damaged {
        eprintln!("{}: {damage}", context.paint_err().warning("warning"));
    }
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&events).map_err(|e| Error::failed(e.to_string()))?
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = String::new();
    for event in &events {
        let get = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(
            out,
            "{}  {:<10} {:<9} {}",
            get("time").get(..19).unwrap_or("").replace('T', " "),
            get("who"),
            get("what"),
            event_details(event)
        );
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}
