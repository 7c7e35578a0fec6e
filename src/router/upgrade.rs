//! Switching protocols (RFC 9110 §7.8): which of a client's asks to switch the router passes
//! on, and which `101` it turns into a tunnel. Past a `101` the connection carries whatever
//! the two ends say, beyond every rule of the router, so only a switch the client asked for
//! to a protocol it offered is made.

use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};

use hyper_util::rt::TokioIo;

use super::headers;
use super::table::InFlight;

/// The protocol the router never passes on: it speaks HTTP/1.1 to instances, and an h2c
/// connection would carry every later request past its rules.
const H2C: &str = "h2c";

/// What a request asks to switch to, as the app is to get it (its `Upgrade` rewritten to
/// that): `None` when it does not ask (no `Upgrade`, or no `upgrade` in `Connection`) or asks
/// only for h2c — then it goes on as a plain HTTP/1.1 request, its `Upgrade` and
/// `Connection` (and what that names, `HTTP2-Settings`) left on their hop.
pub fn offer(headers: &mut HeaderMap) -> Option<HeaderValue> {
    if !headers::is_upgrade(headers) {
        return None;
    }
    let kept = tokens(headers)
        .filter(|protocol| !protocol.eq_ignore_ascii_case(H2C))
        .collect::<Vec<_>>()
        .join(", ");
    let kept = (!kept.is_empty())
        .then(|| HeaderValue::from_str(&kept).ok())
        .flatten();
    match &kept {
        Some(value) => headers.insert(header::UPGRADE, value.clone()),
        None => headers.remove(header::UPGRADE),
    };
    kept
}

/// Whether a `101` switches to what the client offered: its `Upgrade` names at least one
/// protocol and only protocols of the offer (RFC 9110 §7.8: a server must not switch to a
/// protocol the client did not ask for). Protocol names compare without case.
pub fn answers(offer: &HeaderValue, response: &HeaderMap) -> bool {
    let offered: Vec<&str> = split(offer).collect();
    let mut chosen = tokens(response).peekable();
    chosen.peek().is_some() && chosen.all(|c| offered.iter().any(|o| o.eq_ignore_ascii_case(c)))
}

/// Whether a response is a `101` the router must not tunnel: to a request that did not ask to
/// switch (`offer` is `None`), or to a protocol the request did not offer.
pub fn unasked<B>(offer: Option<&HeaderValue>, response: &Response<B>) -> bool {
    response.status() == StatusCode::SWITCHING_PROTOCOLS
        && !offer.is_some_and(|offer| answers(offer, response.headers()))
}

/// The protocols of every `Upgrade` line, in order.
fn tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers.get_all(header::UPGRADE).iter().flat_map(split)
}

fn split(value: &HeaderValue) -> impl Iterator<Item = &str> {
    value
        .to_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|protocol| !protocol.is_empty())
}

/// Copies bytes both ways between an upgraded client connection and an upgraded instance
/// connection, until either side closes; counted in flight meanwhile.
pub async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    upstream: hyper::upgrade::OnUpgrade,
    in_flight: InFlight,
) {
    let (client, upstream) = (client.await, upstream.await);
    if let (Ok(client), Ok(upstream)) = (client, upstream) {
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
    drop(in_flight);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn h2c_is_taken_out_of_an_offer() {
        let mut only = headers(&[("connection", "Upgrade"), ("upgrade", "h2c")]);
        assert_eq!(offer(&mut only), None);
        assert!(only.get("upgrade").is_none());
        let mut both = headers(&[
            ("connection", "upgrade"),
            ("upgrade", "H2C"),
            ("upgrade", "websocket"),
        ]);
        assert_eq!(offer(&mut both).unwrap(), "websocket");
        assert_eq!(both["upgrade"], "websocket");
        let mut unasked = headers(&[("upgrade", "websocket")]);
        assert_eq!(offer(&mut unasked), None, "no `Connection: upgrade`");
    }

    #[test]
    fn a_101_must_switch_to_what_was_offered() {
        let offered = HeaderValue::from_static("websocket, echo/2");
        for ok in ["websocket", "WebSocket", "echo/2"] {
            assert!(answers(&offered, &headers(&[("upgrade", ok)])), "{ok}");
        }
        for bad in ["echo", "h2c", ""] {
            assert!(!answers(&offered, &headers(&[("upgrade", bad)])), "{bad}");
        }
        assert!(!answers(&offered, &HeaderMap::new()), "no Upgrade");
    }
}
