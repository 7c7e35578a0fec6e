//! The activity log: one JSON object per line in `history.jsonl`, appended with a single
//! `write` and fsynced, so concurrent writers never interleave and a crash cuts at most the
//! last line (docs/store.md).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use serde_json::{Value, json};

use super::error::StoreError;

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
        .read(true)
        .mode(0o600)
        .open(store.join(FILE))?;
    // A crash may have cut the last line short: start on a line of our own.
    let length = file.metadata()?.len();
    if length > 0 {
        let mut last = [0u8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, length - 1)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    file.write_all(&line)?;
    file.sync_data()
}

/// Every event, oldest first. A line cut short by a crash is skipped (the last one, or one a
/// later append started after); any other malformed line is an error naming file and line.
pub fn read(store: &Path) -> Result<Vec<Value>, StoreError> {
    let path = store.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(event) if event.is_object() => events.push(event),
            // Cut short: the final line without its newline, or an unterminated object that
            // the next append moved past.
            Err(e) if e.is_eof() => {}
            Ok(_) => return Err(StoreError::NotAnEvent { path, line: i + 1 }),
            Err(source) => {
                return Err(StoreError::InvalidEvent {
                    path,
                    line: i + 1,
                    source,
                });
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_cut_short_by_a_crash_is_skipped_and_the_next_event_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), "build", json!({ "outcome": "built" })).unwrap();
        let path = dir.path().join(FILE);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(br#"{"time":"2026-"#).unwrap();
        assert_eq!(read(dir.path()).unwrap().len(), 1);
        append(dir.path(), "gc", json!({ "outcome": "succeeded" })).unwrap();
        let events = read(dir.path()).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["what"], "gc");
        std::fs::write(&path, "{\"what\":1}\nnot json\n").unwrap();
        assert_eq!(
            read(dir.path()).unwrap_err().to_string(),
            format!(
                "{}:2: not a valid event (expected ident at line 1 column 2)",
                path.display()
            )
        );
        std::fs::write(&path, "[1]\n").unwrap();
        assert_eq!(
            read(dir.path()).unwrap_err().to_string(),
            format!("{}:1: not an event object", path.display())
        );
    }

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
