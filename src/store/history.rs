//! The activity log: one JSON object per line in `history.jsonl`, appended with a single
//! `write` and fsynced, so concurrent writers never interleave and a crash cuts at most the
//! last line (docs/store.md).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use serde_json::{Value, json};

pub const FILE: &str = "history.jsonl";

/// Who is acting: `$USER`, else the numeric uid.
pub fn who() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid {}", rustix::process::getuid().as_raw()))
}

/// Appends an event: `what` (build, release, ...), its details and outcome. Never put a config
/// value in `details`.
pub fn append(store: &Path, what: &str, details: Value) -> std::io::Result<()> {
    let mut event =
        json!({ "time": jiff::Timestamp::now().to_string(), "who": who(), "what": what });
    if let (Value::Object(event), Value::Object(details)) = (&mut event, details) {
        event.extend(details);
    }
    let mut line = serde_json::to_vec(&event)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(store.join(FILE))?;
    file.write_all(&line)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_append_as_lines() {
        let dir = tempfile::tempdir().unwrap();
        append(
            dir.path(),
            "build",
            json!({ "build": "abc", "outcome": "built" }),
        )
        .unwrap();
        append(
            dir.path(),
            "build",
            json!({ "build": "abc", "outcome": "unchanged" }),
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["outcome"], "unchanged");
        assert_eq!(events[0]["what"], "build");
        assert!(events[0]["time"].as_str().unwrap().ends_with('Z'));
    }
}
