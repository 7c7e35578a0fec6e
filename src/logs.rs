//! The formation's stream beyond the terminal (docs/logs.md): every line the pump cuts becomes
//! an [`Event`] published to a [`hub::Hub`], which keeps the last lines in memory for
//! `dozen logs -n`, hands them to followers (`dozen logs -f`) and to drains (syslog, HTTPS).
//! None of those readers can slow an app: each has a bounded queue that drops and counts.

pub mod drain;
pub mod follow;
pub mod hub;
pub mod syslog;
pub mod url;

use std::io::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::supervisor::output::format::Stream;

/// One line of the formation's stream.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: jiff::Timestamp,
    /// `web.1`, `router` or `dozen`.
    pub process: Arc<str>,
    pub stream: Stream,
    pub line: Box<[u8]>,
    /// The line goes on in the next event (it was longer than the longest line kept whole).
    pub continued: bool,
}

/// Who wrote a line: Heroku's split of the app's output, the router's lines and the
/// platform's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    App,
    Router,
    Dozen,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Router => "router",
            Self::Dozen => "dozen",
        }
    }
}

impl Event {
    pub fn source(&self) -> Source {
        match self.stream {
            Stream::Stdout | Stream::Stderr => Source::App,
            Stream::Router => Source::Router,
            Stream::System => Source::Dozen,
        }
    }

    /// What the event holds in memory, roughly: for the ring buffer's byte bound.
    pub fn weight(&self) -> usize {
        self.line.len() + self.process.len() + 64
    }

    /// One of dozen's own lines, now.
    pub fn system(text: String) -> Self {
        Self {
            ts: jiff::Timestamp::now(),
            process: Arc::from(crate::supervisor::output::format::SYSTEM_NAME),
            stream: Stream::System,
            line: text.into_bytes().into_boxed_slice(),
            continued: false,
        }
    }

    /// The event as `--log-format json` prints a line: `{"ts","process","stream","line"}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_json(
            out,
            &self.ts,
            &self.process,
            self.stream,
            &self.line,
            self.continued,
        );
    }
}

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

/// Which lines a reader wants: `--ps web` (a type), `--ps web.1` (an instance), `--source`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ps: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Filter {
    pub fn matches(&self, event: &Event) -> bool {
        if self.source.is_some_and(|s| s != event.source()) {
            return false;
        }
        match &self.ps {
            None => true,
            Some(ps) => {
                let process = &*event.process;
                process == ps
                    || (!ps.contains('.')
                        && process
                            .strip_prefix(ps.as_str())
                            .is_some_and(|rest| rest.starts_with('.')))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(process: &str, stream: Stream) -> Event {
        Event {
            ts: jiff::Timestamp::UNIX_EPOCH,
            process: Arc::from(process),
            stream,
            line: Box::from(&b"x"[..]),
            continued: false,
        }
    }

    #[test]
    fn filters_by_type_instance_and_source() {
        let web1 = event("web.1", Stream::Stdout);
        let web12 = event("web.12", Stream::Stderr);
        let webby = event("webby.1", Stream::Stdout);
        let router = event("router", Stream::Router);
        let dozen = event("dozen", Stream::System);
        let by_type = Filter {
            ps: Some("web".into()),
            source: None,
        };
        assert!(by_type.matches(&web1) && by_type.matches(&web12));
        assert!(!by_type.matches(&webby) && !by_type.matches(&router));
        let by_instance = Filter {
            ps: Some("web.1".into()),
            source: None,
        };
        assert!(by_instance.matches(&web1) && !by_instance.matches(&web12));
        let routers = Filter {
            ps: None,
            source: Some(Source::Router),
        };
        assert!(routers.matches(&router) && !routers.matches(&web1) && !routers.matches(&dozen));
        let apps = Filter {
            ps: None,
            source: Some(Source::App),
        };
        assert!(apps.matches(&web12) && !apps.matches(&dozen));
    }

    #[test]
    fn json_is_the_run_s_shape() {
        let mut out = Vec::new();
        let mut e = event("web.1", Stream::Stderr);
        e.line = Box::from(&b"caf\xc3\xa9 \"q\" \xff"[..]);
        e.write_json(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["ts"], "1970-01-01T00:00:00.000Z");
        assert_eq!(value["process"], "web.1");
        assert_eq!(value["stream"], "stderr");
        assert_eq!(value["line"], "café \"q\" \u{fffd}");
        assert_eq!(value.as_object().unwrap().len(), 4);
    }
}
