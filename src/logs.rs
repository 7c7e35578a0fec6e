//! The formation's stream beyond the terminal (docs/logs.md): every line the pump cuts becomes
//! an [`Event`] published to a [`hub::Hub`], which keeps the last lines in memory for
//! `dozen logs -n`, hands them to followers (`dozen logs -f`) and to drains (syslog, HTTPS).
//! None of those readers can slow an app: each has a bounded queue that drops and counts.

pub mod drain;
pub mod follow;
pub mod hub;
pub mod line;
pub mod syslog;
pub mod url;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use line::{Stream, write_json};

/// The lines the pump cut in one batch: their bytes one after another, and for each line its
/// end, time, process and stream. Published whole (one allocation per batch, none per line);
/// an [`Event`] is one line of it.
#[derive(Debug, Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    cuts: Vec<Cut>,
    /// The processes the cuts name (`Cut::label` is an index here).
    labels: Vec<Arc<str>>,
}

#[derive(Debug, Clone, Copy)]
struct Cut {
    ts: jiff::Timestamp,
    end: usize,
    label: u32,
    stream: Stream,
    continued: bool,
}

impl Chunk {
    /// Adds a line (the pump's emit path: no allocation but the vectors' growth).
    pub fn push(
        &mut self,
        ts: jiff::Timestamp,
        process: &Arc<str>,
        stream: Stream,
        line: &[u8],
        continued: bool,
    ) {
        let label = if let Some(at) = self.labels.iter().rposition(|l| Arc::ptr_eq(l, process)) {
            at
        } else {
            self.labels.push(process.clone());
            self.labels.len() - 1
        };
        self.bytes.extend_from_slice(line);
        self.cuts.push(Cut {
            ts,
            end: self.bytes.len(),
            label: u32::try_from(label).unwrap_or(u32::MAX),
            stream,
            continued,
        });
    }

    pub fn len(&self) -> usize {
        self.cuts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    /// Bytes of its lines.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// What line `index` weighs in a buffer's byte bound (its bytes, its process, ~64 more).
    fn weight(&self, index: usize) -> usize {
        let start = index.checked_sub(1).map_or(0, |i| self.cuts[i].end);
        self.cuts[index].end - start + self.labels[self.cuts[index].label as usize].len() + 64
    }

    /// Line `index` as an event.
    pub fn event(self: &Arc<Self>, index: usize) -> Event {
        Event {
            chunk: self.clone(),
            index,
        }
    }

    /// Takes the lines out, leaving the vectors' capacity for the next batch.
    #[must_use]
    pub fn take(&mut self) -> Self {
        let taken = Self {
            bytes: Vec::with_capacity(self.bytes.len()),
            cuts: Vec::with_capacity(self.cuts.len()),
            labels: Vec::new(),
        };
        std::mem::replace(self, taken)
    }
}

/// One line of the formation's stream: a line of a published [`Chunk`]. Cloning it counts a
/// reference; its bytes are shared with every other reader of the batch.
#[derive(Debug, Clone)]
pub struct Event {
    chunk: Arc<Chunk>,
    index: usize,
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
    /// An event in a chunk of its own.
    pub fn new(ts: jiff::Timestamp, process: &Arc<str>, stream: Stream, line: &[u8]) -> Self {
        let mut chunk = Chunk::default();
        chunk.push(ts, process, stream, line, false);
        Arc::new(chunk).event(0)
    }

    fn cut(&self) -> &Cut {
        &self.chunk.cuts[self.index]
    }

    pub fn ts(&self) -> jiff::Timestamp {
        self.cut().ts
    }

    /// `web.1`, `router` or `dozen`.
    pub fn process(&self) -> &str {
        &self.chunk.labels[self.cut().label as usize]
    }

    pub fn stream(&self) -> Stream {
        self.cut().stream
    }

    /// The line goes on in the next event (it was longer than the longest line kept whole).
    pub fn continued(&self) -> bool {
        self.cut().continued
    }

    pub fn line(&self) -> &[u8] {
        let start = self
            .index
            .checked_sub(1)
            .map_or(0, |i| self.chunk.cuts[i].end);
        &self.chunk.bytes[start..self.cut().end]
    }

    pub fn source(&self) -> Source {
        match self.stream() {
            Stream::Stdout | Stream::Stderr => Source::App,
            Stream::Router => Source::Router,
            Stream::System => Source::Dozen,
        }
    }

    /// What the event holds in memory, roughly: for the buffers' byte bounds.
    pub fn weight(&self) -> usize {
        self.chunk.weight(self.index)
    }

    /// One of dozen's own lines, now.
    pub fn system(text: &str) -> Self {
        Self::new(
            jiff::Timestamp::now(),
            &Arc::from(line::SYSTEM_NAME),
            Stream::System,
            text.as_bytes(),
        )
    }

    /// The event as `--log-format json` prints a line: `{"ts","process","stream","line"}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_json(
            out,
            &self.ts(),
            self.process(),
            self.stream(),
            self.line(),
            self.continued(),
        );
    }
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
                let process = event.process();
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
        Event::new(
            jiff::Timestamp::UNIX_EPOCH,
            &Arc::from(process),
            stream,
            b"x",
        )
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
        let e = Event::new(
            jiff::Timestamp::UNIX_EPOCH,
            &Arc::from("web.1"),
            Stream::Stderr,
            b"caf\xc3\xa9 \"q\" \xff",
        );
        e.write_json(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["ts"], "1970-01-01T00:00:00.000Z");
        assert_eq!(value["process"], "web.1");
        assert_eq!(value["stream"], "stderr");
        assert_eq!(value["line"], "café \"q\" \u{fffd}");
        assert_eq!(value.as_object().unwrap().len(), 4);
    }
}
