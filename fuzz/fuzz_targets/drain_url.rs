//! Any text as a drain URL (from `dozen drains add`, dozen.toml or the stored list): no
//! panic; a URL that parses is shown without its secrets and named by a 12-digit id, and a
//! syslog message made for it from any line fits a datagram.
#![no_main]

use std::sync::Arc;

use dozen::logs::url::{DrainUrl, redact_text};
use dozen::logs::{Event, Stream, syslog};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = redact_text(&text);
    let _ = dozen::app::manifest::LogsSection::interpolate(&text, &|name| {
        (name.len() % 2 == 0).then(|| name.to_owned())
    });
    if let Ok(url) = DrainUrl::parse(&text) {
        let shown = url.redacted();
        // Credentials are never shown, only that there are some.
        let authority = shown.split_once("://").expect("a scheme").1;
        let host = authority.strip_prefix("***@").unwrap_or(authority);
        assert_eq!(url.userinfo.is_some(), host.len() < authority.len(), "{shown}");
        assert!(host.starts_with(&url.host) || host.starts_with(&format!("[{}]", url.host)), "{shown}");
        // The path and query (where tokens hide) are never shown, only that there is one.
        let tail = if url.target == "/" { "" } else { "/***" };
        let fragment = if shown.ends_with("#format=ndjson") { "#format=ndjson" } else { "" };
        assert!(shown.ends_with(&format!(":{}{tail}{fragment}", url.port)), "{shown}");
        let id = url.id();
        assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        let event = Event::new(
            jiff::Timestamp::UNIX_EPOCH,
            &Arc::from(url.host.as_str()),
            Stream::Stderr,
            data,
        );
        let mut out = Vec::new();
        syslog::message(&mut out, &mut syslog::Stamps::default(), &event, &url.host, 8192);
        assert!(out.len() <= 8192);
    }
});
