//! RFC 5424 messages, framed by RFC 6587 octet counting for stream transports: the shape of
//! Heroku's syslog drains and of its `application/logplex-1` HTTP batches.

use std::io::Write as _;

use super::{Event, Stream};

/// The user facility (1): severity info (6) for stdout and dozen's and the router's lines,
/// err (3) for stderr.
fn pri(stream: Stream) -> u8 {
    match stream {
        Stream::Stderr => 8 + 3,
        _ => 8 + 6,
    }
}

/// A header field as RFC 5424 takes it: printable US-ASCII without spaces, at most `max`
/// characters, `-` when empty.
fn field(out: &mut Vec<u8>, text: &str, max: usize) {
    let start = out.len();
    out.extend(text.bytes().filter(|b| (33..=126).contains(b)).take(max));
    if out.len() == start {
        out.push(b'-');
    }
}

/// The last timestamp formatted: lines come in batches read at one moment, so most lines
/// reuse it.
#[derive(Debug, Default)]
pub struct Stamps {
    last: Option<jiff::Timestamp>,
    text: String,
}

impl Stamps {
    /// RFC 3339 in UTC with microseconds.
    fn get(&mut self, ts: jiff::Timestamp) -> &str {
        if self.last != Some(ts) {
            self.last = Some(ts);
            self.text = ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        }
        &self.text
    }
}

/// Appends one message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`, with HOSTNAME
/// the app's name, APP-NAME `app`, `router` or `dozen` and PROCID the process (`web.1`).
/// `max` bounds the whole message (a datagram's size): the line is cut to fit.
pub fn message(out: &mut Vec<u8>, stamps: &mut Stamps, event: &Event, hostname: &str, max: usize) {
    let start = out.len();
    let _ = write!(
        out,
        "<{}>1 {} ",
        pri(event.stream()),
        stamps.get(event.ts())
    );
    field(out, hostname, 255);
    out.push(b' ');
    field(out, event.source().name(), 48);
    out.push(b' ');
    field(out, event.process(), 128);
    out.extend_from_slice(b" - - ");
    let room = max.saturating_sub(out.len() - start);
    let line = event.line();
    out.extend_from_slice(&line[..line.len().min(room)]);
}

/// Appends one octet-counted frame (`LEN SP MSG`).
pub fn frame(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    stamps: &mut Stamps,
    event: &Event,
    hostname: &str,
) {
    scratch.clear();
    message(scratch, stamps, event, hostname, usize::MAX);
    let _ = write!(out, "{} ", scratch.len());
    out.extend_from_slice(scratch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn event(process: &str, stream: Stream, line: &[u8]) -> Event {
        Event::new(
            "2026-12-01T05:30:00.123456789Z".parse().unwrap(),
            &Arc::from(process),
            stream,
            line,
        )
    }

    #[test]
    fn messages_carry_heroku_s_fields() {
        let mut out = Vec::new();
        message(
            &mut out,
            &mut Stamps::default(),
            &event("web.1", Stream::Stdout, b"hello world"),
            "my app",
            usize::MAX,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<14>1 2026-12-01T05:30:00.123456Z myapp app web.1 - - hello world"
        );
        let mut out = Vec::new();
        message(
            &mut out,
            &mut Stamps::default(),
            &event("web.2", Stream::Stderr, b"oops"),
            "",
            usize::MAX,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<11>1 2026-12-01T05:30:00.123456Z - app web.2 - - oops"
        );
        let mut out = Vec::new();
        message(
            &mut out,
            &mut Stamps::default(),
            &event("router", Stream::Router, b"at=info"),
            "a",
            usize::MAX,
        );
        assert!(out.starts_with(b"<14>1 2026-12-01T05:30:00.123456Z a router router - - "));
    }

    #[test]
    fn frames_count_octets_and_datagrams_are_cut() {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let e = event("web.1", Stream::Stdout, "café".as_bytes());
        frame(&mut out, &mut scratch, &mut Stamps::default(), &e, "app");
        frame(&mut out, &mut scratch, &mut Stamps::default(), &e, "app");
        let text = String::from_utf8(out).unwrap();
        let (len, rest) = text.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        assert!(rest.as_bytes()[..len].ends_with("café".as_bytes()));
        assert!(rest[len..].starts_with(&format!("{len} <14>1")));

        let mut out = Vec::new();
        message(
            &mut out,
            &mut Stamps::default(),
            &event("web.1", Stream::Stdout, &[b'x'; 10_000]),
            "app",
            8192,
        );
        assert_eq!(out.len(), 8192);
    }
}
