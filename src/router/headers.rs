//! What the router changes in the headers that pass through it: hop-by-hop headers stay on
//! their hop (RFC 9110 §7.6.1), and the app learns who asked and when, as Heroku's router
//! tells it (`X-Forwarded-*`, `X-Request-Id`, `X-Request-Start`, `Via`).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};

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
    let upgrade_value = upgrade
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    if let header::Entry::Occupied(connection) = headers.entry(header::CONNECTION) {
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
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if let Some(value) = upgrade_value {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, value);
    }
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

/// `X-Dozen-Side: candidate|stable`: a request for one side of a deploy (testers, smoke
/// tests). Removed before the request reaches the app.
pub const X_DOZEN_SIDE: HeaderName = HeaderName::from_static("x-dozen-side");
/// The cookie that keeps a client on one side while a deploy runs.
pub const SIDE_COOKIE: &str = "dozen-side";

/// How a client stays on one side of a deploy (`[deploy] sticky`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sticky {
    /// Each request by weight.
    #[default]
    Off,
    /// The `dozen-side` cookie: set by weight on a client's first response, kept after.
    Cookie,
    /// The header's value hashed against the weight (a user id): a given value stays on one
    /// side while the weight grows, and moves only to the candidate.
    Header(HeaderName),
}

/// Which side a request goes to, and whether it must (asked by `X-Dozen-Side`) or may go to
/// the other when its own has no instance ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub side: crate::router::table::Side,
    pub strict: bool,
    /// The response tells the client its side (`Set-Cookie`).
    pub set_cookie: bool,
}

/// Chooses a request's side, given the candidate's weight in basis points, whether a deploy
/// has two sides now, and a random number (for a request that nothing makes sticky).
pub fn choose_side(
    headers: &HeaderMap,
    weight: u32,
    two_sides: bool,
    sticky: &Sticky,
    random: impl FnOnce() -> u64,
) -> Choice {
    use crate::router::table::Side;
    let choice = |side, strict, set_cookie| Choice {
        side,
        strict,
        set_cookie,
    };
    match headers.get(X_DOZEN_SIDE).map(HeaderValue::as_bytes) {
        Some(b"candidate") => return choice(Side::Candidate, true, false),
        Some(b"stable") => return choice(Side::Stable, true, false),
        _ => {}
    }
    if !two_sides {
        return choice(Side::Stable, false, false);
    }
    let by_weight = |draw: u64| {
        // `draw` spread over 0..2^32: the candidate's share is weight / 10,000 of it.
        if (draw & 0xffff_ffff) * 10_000 < u64::from(weight) << 32 {
            Side::Candidate
        } else {
            Side::Stable
        }
    };
    match sticky {
        Sticky::Off => choice(by_weight(random()), false, false),
        Sticky::Cookie => match cookie_side(headers) {
            Some(side) => choice(side, false, false),
            None => choice(by_weight(random()), false, true),
        },
        Sticky::Header(name) => match headers.get(name) {
            Some(value) => choice(by_weight(u64::from(fnv1a(value.as_bytes()))), false, false),
            None => choice(by_weight(random()), false, false),
        },
    }
}

/// The side a `dozen-side` cookie names.
fn cookie_side(headers: &HeaderMap) -> Option<crate::router::table::Side> {
    use crate::router::table::Side;
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SIDE_COOKIE)
        .and_then(|(_, value)| match value {
            "candidate" => Some(Side::Candidate),
            "stable" => Some(Side::Stable),
            _ => None,
        })
}

/// The `Set-Cookie` that keeps a client on `side`.
pub fn side_cookie(side: crate::router::table::Side) -> HeaderValue {
    HeaderValue::try_from(format!(
        "{SIDE_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        side.name()
    ))
    .expect("a cookie is a header value")
}

/// FNV-1a, 32 bits (as kamal-proxy hashes its rollout cookie).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
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

/// What the app is told about the request: who sent it, to which host and port, over what,
/// when the router received it (milliseconds since the epoch, as Heroku's `X-Request-Start`),
/// and its id.
pub fn add_forwarded(
    headers: &mut HeaderMap,
    client_ip: &HeaderValue,
    listen_port: u16,
    request_id: &HeaderValue,
    received: SystemTime,
) {
    let forwarded_for = match headers.get(X_FORWARDED_FOR).map(HeaderValue::as_bytes) {
        Some(earlier) => HeaderValue::from_bytes(&[earlier, b", ", client_ip.as_bytes()].concat()),
        None => Ok(client_ip.clone()),
    };
    if let Ok(value) = forwarded_for {
        headers.insert(X_FORWARDED_FOR, value);
    }
    headers.remove(X_DOZEN_SIDE);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    if let Some(host) = headers.get(header::HOST).cloned() {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(listen_port));
    let millis = received
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    headers.insert(X_REQUEST_START, HeaderValue::from(millis));
    headers.insert(X_REQUEST_ID, request_id.clone());
    headers.append(header::VIA, HeaderValue::from_static("1.1 dozen"));
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn sides_are_chosen_by_weight_header_or_cookie() {
        use crate::router::table::Side;
        let none = HeaderMap::new();
        // One side: everything stable, no cookie.
        let c = choose_side(&none, 5_000, false, &Sticky::Cookie, || 0);
        assert_eq!((c.side, c.set_cookie), (Side::Stable, false));
        // By weight: 10% of draws spread evenly over 2^32 reach the candidate.
        let share = (0..10_000_u64)
            .filter(|i| {
                let draw = (2 * i + 1) * (1 << 32) / 20_000; // the middle of the i-th ten-thousandth
                choose_side(&none, 1_000, true, &Sticky::Off, || draw).side == Side::Candidate
            })
            .count();
        assert_eq!(share, 1_000);
        assert_eq!(
            choose_side(&none, 0, true, &Sticky::Off, || 0).side,
            Side::Stable
        );
        let all = choose_side(&none, 10_000, true, &Sticky::Off, || u64::MAX);
        assert_eq!(all.side, Side::Candidate);
        // The header wins, strictly.
        let mut asked = HeaderMap::new();
        asked.insert(X_DOZEN_SIDE, HeaderValue::from_static("candidate"));
        let c = choose_side(&asked, 0, false, &Sticky::Off, || 0);
        assert_eq!((c.side, c.strict), (Side::Candidate, true));
        // A cookie keeps its side; without one, the response sets it.
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; dozen-side=candidate"),
        );
        let c = choose_side(&cookie, 0, true, &Sticky::Cookie, || 0);
        assert_eq!((c.side, c.set_cookie), (Side::Candidate, false));
        assert!(choose_side(&none, 5_000, true, &Sticky::Cookie, || 0).set_cookie);
        // A header's value keeps its side as the weight grows, and only moves to the candidate.
        let name = HeaderName::from_static("x-user-id");
        let sticky = Sticky::Header(name.clone());
        for user in 0..200 {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from(user));
            let mut seen_candidate = false;
            for weight in [0, 1_000, 2_500, 5_000, 10_000] {
                let side = choose_side(&h, weight, true, &sticky, || 0).side;
                assert!(!(seen_candidate && side == Side::Stable), "user {user}");
                seen_candidate |= side == Side::Candidate;
                let again = choose_side(&h, weight, true, &sticky, || u64::MAX).side;
                assert_eq!(side, again, "the same user, the same side");
            }
            assert!(seen_candidate);
        }
    }

    #[test]
    fn the_app_learns_who_asked_and_when() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:5000"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let id = HeaderValue::from_static("0123456789abcdefghij");
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        add_forwarded(
            &mut headers,
            &client_ip("127.0.0.1:40000".parse().unwrap()),
            5000,
            &id,
            at,
        );
        assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-host"], "localhost:5000");
        assert_eq!(headers["x-forwarded-port"], "5000");
        assert_eq!(headers["x-request-start"], "1700000000123");
        assert_eq!(headers["x-request-id"], "0123456789abcdefghij");
        assert_eq!(headers["via"], "1.1 dozen");
    }
}
