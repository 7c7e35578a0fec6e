//! What every reader and writer of the stream shares about a line: the stream it came from,
//! the names dozen's and the router's lines carry, and the JSON shape of one line.

use std::io::Write as _;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// dozen's own lines: started, exited, restarting, ready.
    System,
    /// The router's lines: one per request, and the errors it answered.
    Router,
}

impl Stream {
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Stdout, Self::Stderr, Self::System, Self::Router]
            .into_iter()
            .find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
            Self::System => "system",
            Self::Router => "router",
        }
    }
}

/// The name dozen's own lines carry.
pub const SYSTEM_NAME: &str = "dozen";
/// The name the router's lines carry.
pub const ROUTER_NAME: &str = "router";

/// One JSON line: the shape of `--log-format json`, of `dozen logs --json` and of NDJSON drains.
pub fn write_json(
    out: &mut Vec<u8>,
    ts: &jiff::Timestamp,
    process: &str,
    stream: Stream,
    line: &[u8],
    continued: bool,
) {
    let _ = write!(
        out,
        "{{\"ts\":\"{}\",\"process\":",
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    let _ = serde_json::to_writer(&mut *out, process);
    let _ = write!(out, ",\"stream\":\"{}\",\"line\":", stream.name());
    let _ = serde_json::to_writer(&mut *out, &String::from_utf8_lossy(line));
    if continued {
        out.extend_from_slice(b",\"continued\":true");
    }
    out.extend_from_slice(b"}\n");
}
