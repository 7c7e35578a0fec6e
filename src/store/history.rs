//! The activity log: one JSON object per line in `history.jsonl`, appended with a single
//! `write` and fsynced, so concurrent writers never interleave and a crash cuts at most the
//! last line (docs/store.md).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use serde_json::{Value, json};

use super::error::StoreError;

pub const FILE: &str = "history.jsonl";

/// Who is acting: `$USER`, else the account (`nobody (uid 65534)`, or `uid N` when
/// `/etc/passwd` does not name it).
pub fn who() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| super::trust::account_name(rustix::process::getuid().as_raw()))
}

/// Records a scale: its changes, the formation after it, and whether a run applied it (or it
/// was stored for the next).
pub fn scaled(
    store: &Path,
    changes: &[crate::app::formation::ScaleChange],
    counts: &indexmap::IndexMap<String, u32>,
    live: bool,
) -> std::io::Result<()> {
    let changes: Vec<String> = changes.iter().map(ToString::to_string).collect();
    append(
        store,
        "scale",
        json!({ "changes": changes, "formation": counts, "live": live }),
    )
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

/// Every event, oldest first; damaged lines are skipped (see [`read_all`]).
pub fn read(store: &Path) -> Result<Vec<Value>, StoreError> {
    Ok(read_all(store)?.events)
}

/// The history as read: its events, and what was skipped.
#[derive(Debug, Default)]
pub struct History {
    pub events: Vec<Value>,
    /// Lines that are not events (`FILE:LINE: why`), skipped. A line cut short by a crash
    /// (the last one, or one a later append started after) is not among them: it is not
    /// damage, only an event that never was.
    pub damaged: Vec<String>,
}

/// Every event, oldest first, read line by line: a line that is not an event — not UTF-8
/// (a crash inside a multi-byte character), not JSON, not an object — is skipped and said,
/// never an error that hides the rest (issue 31, finding 26).
pub fn read_all(store: &Path) -> Result<History, StoreError> {
    use std::io::BufRead as _;
    let path = store.join(FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    let mut history = History::default();
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| StoreError::Read {
                path: path.clone(),
                source,
            })?;
        if read == 0 {
            break;
        }
        number += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        let damage = match std::str::from_utf8(text) {
            // Torn inside a character: cut short, as a crash cuts.
            Err(e) if e.error_len().is_none() => continue,
            Err(_) => "not UTF-8".to_owned(),
            Ok(text) => match serde_json::from_str::<Value>(text) {
                Ok(event) if event.is_object() => {
                    history.events.push(event);
                    continue;
                }
                // Cut short: the final line without its newline, or an unterminated object
                // that the next append moved past.
                Err(e) if e.is_eof() => continue,
                Ok(_) => "not an event object".to_owned(),
                Err(e) => format!("not a valid event ({e})"),
            },
        };
        history
            .damaged
            .push(format!("{}:{number}: {damage}; skipped", path.display()));
    }
    Ok(history)
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
    }

    /// A damaged line is skipped and said, and the events around it are read (issue 31,
    /// finding 26): before, a line torn inside a multi-byte character made `dozen history`
    /// fail for good, and one garbage line hid the whole history.
    #[test]
    fn damaged_lines_are_skipped_and_said_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut text = b"{\"what\":\"a\"}\nnot json\n[1]\n\xff\xfe\n{\"what\":\"b\"}\n".to_vec();
        // A crash inside `é` (0xC3 0xA9), then an append that started clean.
        text.extend_from_slice(b"{\"what\":\"caf\xc3\n{\"what\":\"c\"}\n");
        std::fs::write(&path, &text).unwrap();
        let history = read_all(dir.path()).unwrap();
        let whats: Vec<&str> = history
            .events
            .iter()
            .map(|e| e["what"].as_str().unwrap())
            .collect();
        assert_eq!(whats, ["a", "b", "c"]);
        let p = path.display();
        assert_eq!(
            history.damaged,
            [
                format!("{p}:2: not a valid event (expected ident at line 1 column 2); skipped"),
                format!("{p}:3: not an event object; skipped"),
                format!("{p}:4: not UTF-8; skipped"),
            ]
        );
        append(dir.path(), "gc", json!({})).unwrap();
        assert_eq!(read(dir.path()).unwrap().len(), 4);
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
