//! What the router changes in the headers that pass through it: hop-by-hop headers stay on
//! their hop (RFC 9110 §7.6.1), and the app learns who asked and when, as Heroku's router
//! tells it (`X-Forwarded-*`, `X-Request-Id`, `X-Request-Start`, `Via`), and as RFC 7239's
//! `Forwarded` does.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{self, HeaderName, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{HeaderMap, Version};

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1, and the legacy
/// ones proxies still see). Names made at compile time: looking one up hashes no string.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_REQUEST_START: HeaderName = HeaderName::from_static("x-request-start");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Removes the hop-by-hop headers and those the `Connection` header names. An upgrade keeps
/// `Connection: upgrade` and its `Upgrade`: they are the request to switch protocols, which
/// the router passes on.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // One look over the names (comparing a standard name is comparing a number) says which
    // of the eight are there: most messages have none, and only those there are removed
    // (each removal hashes its name).
    let mut present = 0_u8;
    let mut close_header = false;
    for name in headers.keys() {
        match HOP_BY_HOP.iter().position(|hop| hop == name) {
            Some(i) => present |= 1 << i,
            None => close_header |= name.as_str() == "close",
        }
    }
    if present == 0 {
        return;
    }
    let upgrade_value = upgrade
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    // `Connection` (bit 0) usually names only hop-by-hop headers (`keep-alive`, `upgrade`)
    // or `close`: nothing more to remove than the eight, and no name to make.
    let names_more = present & 1 != 0
        && !headers
            .get_all(header::CONNECTION)
            .iter()
            .all(|value| names_only_hop_by_hop(value, close_header));
    if names_more && let header::Entry::Occupied(connection) = headers.entry(header::CONNECTION) {
        let named: Vec<HeaderName> = connection
            .remove_entry_mult()
            .1
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .flat_map(|v| {
                v.split(',')
                    .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(name);
        }
    }
    if let Some(value) = upgrade_value {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, value);
    }
}

/// Whether a `Connection` value names nothing but hop-by-hop headers (removed anyway), and
/// `close` when no header has that name: removing what it names would remove nothing more.
/// A value that is not text names nothing (it is not read for names).
fn names_only_hop_by_hop(value: &HeaderValue, close_header: bool) -> bool {
    value.to_str().map_or(true, |value| {
        value.split(',').map(str::trim).all(|token| {
            token.is_empty()
                || (!close_header && token.eq_ignore_ascii_case("close"))
                || HOP_BY_HOP
                    .iter()
                    .any(|hop| hop.as_str().eq_ignore_ascii_case(token))
        })
    })
}

/// Why a request's `Host` makes it a bad request (RFC 9112 §3.2): more than one (the app
/// would pick one of hosts the router never checked), none in an HTTP/1.1 request, or one
/// that is not `host[:port]`. An empty one is what a target without an authority has.
pub fn bad_host(version: Version, headers: &HeaderMap) -> Option<&'static str> {
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Some("a request has one Host header, not several\n"),
        (None, _) if version == Version::HTTP_11 => {
            Some("an HTTP/1.1 request needs a Host header\n")
        }
        (Some(host), None)
            if !host.is_empty()
                && (host.as_bytes().contains(&b'@')
                    || Authority::try_from(host.as_bytes()).is_err()) =>
        {
            Some("the Host header is not a host[:port]\n")
        }
        _ => None,
    }
}

/// The `Host` an absolute-form target names (RFC 9112 §3.2.2): its authority without any
/// userinfo.
pub fn host_of(authority: &Authority) -> Option<HeaderValue> {
    let host = authority.as_str().rsplit('@').next()?;
    HeaderValue::from_str(host).ok()
}

/// Whether a request (or a `101` response) asks to switch protocols.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// The client's request id when it is one Heroku's router would keep (20 to 200 characters of
/// letters, digits, `+ / = - _ .`), else a new one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&X_REQUEST_ID)
        .filter(|v| {
            let bytes = v.as_bytes();
            (20..=200).contains(&bytes.len())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=-_.".contains(b))
        })
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// A random number from a generator per thread (xorshift128+), seeded once from the OS:
/// for request ids and for choosing a side by weight, which need to be spread, not secret.
pub fn random() -> u64 {
    thread_local! {
        static STATE: std::cell::Cell<(u64, u64)> = std::cell::Cell::new(seed());
    }
    STATE.with(|state| {
        let (mut s0, mut s1) = state.get();
        let (mut x, y) = (s0, s1);
        s0 = y;
        x ^= x << 23;
        s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
        state.set((s0, s1));
        s1.wrapping_add(y)
    })
}

/// A random version-4 UUID.
fn new_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (high, low) = (random(), random());
    let mut bytes = [0_u8; 16];
    bytes[..8].copy_from_slice(&high.to_le_bytes());
    bytes[8..].copy_from_slice(&low.to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1; // the dash stays
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0x0f)];
        at += 2;
    }
    HeaderValue::from_bytes(&text).expect("hex and dashes")
}

/// A seed from the OS's randomness, else from the time and the thread (never zero).
fn seed() -> (u64, u64) {
    use std::io::Read as _;
    let mut bytes = [0_u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
        bytes[0] ^= 0x5a;
    }
    let (a, b) = bytes.split_at(8);
    (
        u64::from_le_bytes(a.try_into().expect("8 bytes")) | 1,
        u64::from_le_bytes(b.try_into().expect("8 bytes")),
    )
}

/// A client's address as `X-Forwarded-For` gives it (made once per connection).
pub fn client_ip(client: SocketAddr) -> HeaderValue {
    HeaderValue::try_from(client.ip().to_string()).expect("an IP address is a header value")
}

/// Who sent a request, and how, as the forwarding headers tell it.
pub struct Client<'a> {
    /// Its address, as `X-Forwarded-For` gives it.
    pub ip: &'a HeaderValue,
    /// The router's port it came to.
    pub port: u16,
    /// Over TLS the router terminated.
    pub https: bool,
    /// A trusted proxy: its forwarding headers are kept.
    pub trusted: bool,
}

/// What the app is told about the request: who sent it, to which host and port, over what,
/// when the router received it (milliseconds since the epoch, as Heroku's `X-Request-Start`),
/// and its id.
///
/// From a trusted proxy (`[router] trusted_proxies`) what it said of the request it passed on
/// is kept: its `X-Forwarded-Proto`, `-Host` and `-Port` stay (the router's own fill in what
/// it left out), and the router's `Forwarded` element follows its. From anyone else those are
/// replaced: a client cannot claim `https` or another host.
pub fn add_forwarded(
    headers: &mut HeaderMap,
    client: &Client<'_>,
    request_id: &HeaderValue,
    received: SystemTime,
) {
    let (client_ip, listen_port, trusted) = (client.ip, client.port, client.trusted);
    // The eight below in one growth of the map, not one per power of two passed.
    headers.reserve(8);
    if let Ok(value) = forwarded_for(headers, client_ip) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    headers.remove(super::sides::X_DOZEN_SIDE);
    if !trusted {
        remove_lookalikes(headers);
    }
    let host = headers.get(header::HOST).cloned();
    let ours = LAST.with_borrow_mut(|last| last.forwarded(client_ip, host.as_ref(), client.https));
    let forwarded = if trusted {
        ours.and_then(|ours| joined(headers, &header::FORWARDED, &ours))
    } else {
        ours
    };
    if let Ok(value) = forwarded {
        headers.insert(header::FORWARDED, value);
    }
    let set = |headers: &mut HeaderMap, name: HeaderName, value: HeaderValue| {
        if !(trusted && headers.contains_key(&name)) {
            headers.insert(name, value);
        }
    };
    let proto = if client.https { "https" } else { "http" };
    set(headers, X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    if let Some(host) = host {
        set(headers, X_FORWARDED_HOST, host);
    }
    let millis = received
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let (port, start) = LAST.with_borrow_mut(|last| (last.port(listen_port), last.millis(millis)));
    set(headers, X_FORWARDED_PORT, port);
    headers.insert(X_REQUEST_START, start);
    headers.insert(X_REQUEST_ID, request_id.clone());
    headers.append(header::VIA, HeaderValue::from_static("1.1 dozen"));
}

thread_local! {
    /// What this router thread last told an app that most requests repeat.
    static LAST: std::cell::RefCell<Last> = std::cell::RefCell::default();
}

/// Values made for one request and given again to the next that has the same: the port
/// (every request), the millisecond received (ten or more requests share one under load),
/// the client's `Forwarded` element (a kept-alive connection's requests share it). Each was
/// an allocation, and `Forwarded` a scan of its bytes, per request.
#[derive(Default)]
struct Last {
    port: Option<(u16, HeaderValue)>,
    millis: Option<(u64, HeaderValue)>,
    /// The client's address, `Host` and whether it came over TLS, and the element made of
    /// them.
    forwarded: Option<(HeaderValue, Option<HeaderValue>, bool, HeaderValue)>,
}

impl Last {
    fn port(&mut self, port: u16) -> HeaderValue {
        match &self.port {
            Some((last, value)) if *last == port => value.clone(),
            _ => self.port.insert((port, HeaderValue::from(port))).1.clone(),
        }
    }

    fn millis(&mut self, millis: u64) -> HeaderValue {
        match &self.millis {
            Some((last, value)) if *last == millis => value.clone(),
            _ => self
                .millis
                .insert((millis, HeaderValue::from(millis)))
                .1
                .clone(),
        }
    }

    fn forwarded(
        &mut self,
        client_ip: &HeaderValue,
        host: Option<&HeaderValue>,
        https: bool,
    ) -> Result<HeaderValue, header::InvalidHeaderValue> {
        if let Some((ip, last_host, last_https, value)) = &self.forwarded
            && ip.as_bytes() == client_ip.as_bytes()
            && last_host.as_ref().map(HeaderValue::as_bytes) == host.map(HeaderValue::as_bytes)
            && *last_https == https
        {
            return Ok(value.clone());
        }
        let value = forwarded(client_ip, host, https)?;
        self.forwarded = Some((client_ip.clone(), host.cloned(), https, value.clone()));
        Ok(value)
    }
}

/// Headers other frameworks read as what a proxy said of the request — Rack reads
/// `X-Forwarded-Ssl: on` before `X-Forwarded-Proto`, others `X-Forwarded-Scheme`,
/// `Front-End-Https`, `X-Url-Scheme`, `X-Real-Ip` — and the forwarding headers spelt with
/// `_` (a CGI-style server maps `X-Forwarded_Proto` to `HTTP_X_FORWARDED_PROTO` too). From a
/// peer that is not a trusted proxy they go: no client can say it came over HTTPS, or from
/// elsewhere, through a header the router does not set.
const LOOKALIKES: [&str; 6] = [
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "front-end-https",
    "x-url-scheme",
    "x-real-ip",
    "x-client-ip",
];

/// The forwarding headers, as their `_` spellings normalise to.
const FORWARDING: [&str; 5] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
];

fn remove_lookalikes(headers: &mut HeaderMap) {
    let gone: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            LOOKALIKES.contains(&name)
                || (name.contains('_') && {
                    let normal = name.replace('_', "-");
                    FORWARDING.contains(&normal.as_str()) || LOOKALIKES.contains(&normal.as_str())
                })
        })
        .cloned()
        .collect();
    for name in gone {
        headers.remove(name);
    }
}

/// A list field's lines as one value (RFC 9110 §5.3), then `last`.
fn joined(
    headers: &HeaderMap,
    name: &HeaderName,
    last: &HeaderValue,
) -> Result<HeaderValue, header::InvalidHeaderValue> {
    let mut items = Vec::new();
    for earlier in headers.get_all(name) {
        let earlier = earlier.as_bytes().trim_ascii();
        if !earlier.is_empty() {
            items.extend_from_slice(earlier);
            items.extend_from_slice(b", ");
        }
    }
    if items.is_empty() {
        return Ok(last.clone());
    }
    items.extend_from_slice(last.as_bytes());
    HeaderValue::from_maybe_shared(bytes::Bytes::from(items))
}

/// `X-Forwarded-For`: the client's lines as one list (RFC 9110 §5.3: lines of a list field
/// are one comma-joined value, in order), then the client's address. Kept, as Heroku's router
/// keeps them: the app reads the chain from the right, where the router's entry is.
fn forwarded_for(
    headers: &HeaderMap,
    client_ip: &HeaderValue,
) -> Result<HeaderValue, header::InvalidHeaderValue> {
    joined(headers, &X_FORWARDED_FOR, client_ip)
}

/// `Forwarded` (RFC 7239) as the router sees the request, replacing the client's: its `proto`
/// and `host` would contradict `X-Forwarded-Proto` and `-Host`, which are replaced too — no
/// client is a trusted proxy. An IPv6 `for` is quoted in brackets, a `host` that is not a
/// token quoted (§6, §4).
fn forwarded(
    client_ip: &HeaderValue,
    host: Option<&HeaderValue>,
    https: bool,
) -> Result<HeaderValue, header::InvalidHeaderValue> {
    let ip = client_ip.as_bytes();
    let mut value = Vec::with_capacity(64);
    if ip.contains(&b':') {
        value.extend_from_slice(b"for=\"[");
        value.extend_from_slice(ip);
        value.extend_from_slice(b"]\"");
    } else {
        value.extend_from_slice(b"for=");
        value.extend_from_slice(ip);
    }
    value.extend_from_slice(if https {
        b";proto=https"
    } else {
        b";proto=http"
    });
    if let Some(host) = host.map(HeaderValue::as_bytes).filter(|h| !h.is_empty()) {
        value.extend_from_slice(b";host=");
        if host.iter().all(|&b| is_tchar(b)) {
            value.extend_from_slice(host);
        } else {
            value.push(b'"');
            for &b in host {
                if matches!(b, b'"' | b'\\') {
                    value.push(b'\\');
                }
                value.push(b);
            }
            value.push(b'"');
        }
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
}

/// A character of a token (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether a (trusted) proxy says the client's request came over HTTPS: `X-Forwarded-Proto:
/// https`, or `Forwarded: proto=https`, the nearest proxy's word (the last value).
pub fn forwarded_https(headers: &HeaderMap) -> bool {
    let last = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .map(str::trim)
    };
    if let Some(proto) = last("x-forwarded-proto") {
        return proto.eq_ignore_ascii_case("https");
    }
    last("forwarded").is_some_and(|element| {
        element.split(';').any(|pair| {
            pair.trim().split_once('=').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("proto") && v.trim_matches('"').eq_ignore_ascii_case("https")
            })
        })
    })
}

/// The host a (trusted) proxy says the client asked for: `X-Forwarded-Host`'s first value,
/// when it is a valid authority.
pub fn forwarded_host(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-forwarded-host")?.to_str().ok()?;
    let host = value.split(',').next()?.trim();
    let authority = host.parse::<hyper::http::uri::Authority>().ok()?;
    (!authority.host().is_empty()).then(|| authority.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forwarding headers for a request to port 5000 over plain HTTP, received now.
    fn forward(headers: &mut HeaderMap, ip: &HeaderValue, id: &HeaderValue, trusted: bool) {
        add_forwarded(
            headers,
            &Client {
                ip,
                port: 5000,
                https: false,
                trusted,
            },
            id,
            SystemTime::now(),
        );
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_go() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers, false);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept"]);
    }

    #[test]
    fn a_connection_naming_only_hops_takes_the_short_way_to_the_same_end() {
        // `keep-alive` alone (an instance's usual response): only the hops go.
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("Keep-Alive"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers, false);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept"]);
        // `close` names a header only when there is one of that name; a second value names
        // more.
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        headers.insert("close", HeaderValue::from_static("1"));
        headers.append(header::CONNECTION, HeaderValue::from_static("x-hop"));
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers, false);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept"]);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        headers.insert("close", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers, false);
        assert!(headers.is_empty());
    }

    #[test]
    fn an_upgrade_keeps_its_upgrade_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&headers));
        strip_hop_by_hop(&mut headers, true);
        assert_eq!(headers[header::CONNECTION], "upgrade");
        assert_eq!(headers[header::UPGRADE], "websocket");
    }

    #[test]
    fn request_ids_are_kept_when_well_formed_else_generated() {
        let mut headers = HeaderMap::new();
        headers.insert(
            X_REQUEST_ID,
            HeaderValue::from_static("abcdefghij0123456789-_"),
        );
        assert_eq!(request_id(&headers), "abcdefghij0123456789-_");
        for bad in [
            "short",
            "has spaces in it, twenty plus",
            "semi;colon;twenty;chars;x",
        ] {
            headers.insert(X_REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&headers);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 36);
        }
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
        // A version-4 UUID: 8-4-4-4-12 lowercase hex, version 4, variant 10xx.
        let id = request_id(&HeaderMap::new());
        let groups: Vec<&str> = id.to_str().unwrap().split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{id:?}");
        assert!(
            groups
                .concat()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(groups[2].starts_with('4'), "{id:?}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id:?}"
        );
    }

    /// From a trusted proxy its forwarding headers are kept and the router's follow; from
    /// anyone else the same headers are replaced (issue 32).
    #[test]
    fn a_trusted_proxys_forwarding_headers_are_kept() {
        let sent = || {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("shop.example.com"));
            headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
            headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
            headers.insert("x-forwarded-port", HeaderValue::from_static("443"));
            headers.insert(
                "forwarded",
                HeaderValue::from_static("for=203.0.113.9;proto=https;host=shop.example.com"),
            );
            headers
        };
        let id = HeaderValue::from_static("0123456789abcdefghij");
        let proxy = client_ip("10.0.0.2:40000".parse().unwrap());
        let mut trusted = sent();
        forward(&mut trusted, &proxy, &id, true);
        assert_eq!(trusted["x-forwarded-for"], "203.0.113.9, 10.0.0.2");
        assert_eq!(trusted["x-forwarded-proto"], "https");
        assert_eq!(trusted["x-forwarded-port"], "443");
        // What the proxy left out, the router says.
        assert_eq!(trusted["x-forwarded-host"], "shop.example.com");
        assert_eq!(
            trusted["forwarded"],
            "for=203.0.113.9;proto=https;host=shop.example.com, for=10.0.0.2;proto=http;host=shop.example.com"
        );
        let mut untrusted = sent();
        for (name, value) in [
            ("x-forwarded-ssl", "on"),
            ("x-forwarded-scheme", "https"),
            ("front-end-https", "on"),
            ("x-url-scheme", "https"),
            ("x-real-ip", "1.2.3.4"),
            ("x-forwarded_proto", "https"),
            ("x_forwarded_for", "1.2.3.4"),
            ("x-custom_header", "kept"),
        ] {
            untrusted.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        let mut also_trusted = untrusted.clone();
        forward(&mut also_trusted, &proxy, &id, true);
        assert_eq!(also_trusted["x-forwarded-ssl"], "on");
        forward(&mut untrusted, &proxy, &id, false);
        for gone in [
            "x-forwarded-ssl",
            "x-forwarded-scheme",
            "front-end-https",
            "x-url-scheme",
            "x-real-ip",
            "x-forwarded_proto",
            "x_forwarded_for",
        ] {
            assert!(untrusted.get(gone).is_none(), "{gone}");
        }
        assert_eq!(untrusted["x-custom_header"], "kept");
        assert_eq!(untrusted["x-forwarded-for"], "203.0.113.9, 10.0.0.2");
        assert_eq!(untrusted["x-forwarded-proto"], "http");
        assert_eq!(untrusted["x-forwarded-port"], "5000");
        assert_eq!(
            untrusted["forwarded"],
            "for=10.0.0.2;proto=http;host=shop.example.com"
        );
    }

    #[test]
    fn the_app_learns_who_asked_and_when() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:5000"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.7"));
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=203.0.113.9;proto=https"),
        );
        let id = HeaderValue::from_static("0123456789abcdefghij");
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        add_forwarded(
            &mut headers,
            &Client {
                ip: &client_ip("127.0.0.1:40000".parse().unwrap()),
                port: 5000,
                https: false,
                trusted: false,
            },
            &id,
            at,
        );
        assert_eq!(
            headers["x-forwarded-for"],
            "203.0.113.9, 198.51.100.7, 127.0.0.1"
        );
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-host"], "localhost:5000");
        assert_eq!(headers["x-forwarded-port"], "5000");
        assert_eq!(headers["x-request-start"], "1700000000123");
        assert_eq!(headers["x-request-id"], "0123456789abcdefghij");
        assert_eq!(headers["via"], "1.1 dozen");
        assert_eq!(
            headers["forwarded"],
            "for=127.0.0.1;proto=http;host=\"localhost:5000\""
        );
    }

    /// RFC 7239 §6: an IPv6 node is quoted in brackets, a host that is a token is not quoted;
    /// a request without `Host` (HTTP/1.0) has no `host`.
    #[test]
    fn forwarded_quotes_what_is_not_a_token() {
        let forwarded = |client: &str, host: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            if let Some(host) = host {
                headers.insert(header::HOST, HeaderValue::from_static(host));
            }
            headers.insert(header::FORWARDED, HeaderValue::from_static("for=evil"));
            headers.append(header::FORWARDED, HeaderValue::from_static("proto=https"));
            let id = HeaderValue::from_static("0123456789abcdefghij");
            let ip = client_ip(client.parse().unwrap());
            forward(&mut headers, &ip, &id, false);
            let all: Vec<_> = headers.get_all(header::FORWARDED).iter().cloned().collect();
            assert_eq!(all.len(), 1, "{all:?}");
            all[0].to_str().unwrap().to_owned()
        };
        assert_eq!(
            forwarded("[2001:db8::17]:4711", Some("app.example")),
            "for=\"[2001:db8::17]\";proto=http;host=app.example"
        );
        assert_eq!(
            forwarded("192.0.2.1:4711", None),
            "for=192.0.2.1;proto=http"
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> hyper::HeaderMap {
        let mut map = hyper::HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// What a trusted proxy says of the scheme: the nearest proxy's word (the last value),
    /// `X-Forwarded-Proto` before `Forwarded`.
    #[test]
    fn the_nearest_proxys_word_on_the_scheme_is_taken() {
        let https = |pairs: &[(&str, &str)]| forwarded_https(&headers(pairs));
        assert!(https(&[("x-forwarded-proto", "https")]));
        assert!(https(&[("x-forwarded-proto", "HTTPS")]));
        assert!(!https(&[("x-forwarded-proto", "http")]));
        assert!(https(&[("x-forwarded-proto", "http, https")]));
        assert!(!https(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-proto", "http")
        ]));
        assert!(https(&[(
            "forwarded",
            "for=192.0.2.1;proto=https;host=a.test"
        )]));
        assert!(https(&[("forwarded", "for=192.0.2.1;Proto=\"https\"")]));
        assert!(!https(&[(
            "forwarded",
            "proto=https, for=192.0.2.1;proto=http"
        )]));
        assert!(!https(&[
            ("x-forwarded-proto", "http"),
            ("forwarded", "proto=https")
        ]));
        assert!(!https(&[]));
    }

    #[test]
    fn a_forwarded_host_is_taken_only_when_it_is_an_authority() {
        let host = |value: &str| forwarded_host(&headers(&[("x-forwarded-host", value)]));
        assert_eq!(
            host("shop.example.com").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(
            host("shop.example.com:8443, inner").as_deref(),
            Some("shop.example.com:8443")
        );
        assert_eq!(host("a b"), None);
        assert_eq!(host("/path"), None);
        assert_eq!(forwarded_host(&headers(&[])), None);
    }
}
