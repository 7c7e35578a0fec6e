//! Which side of a deploy a request goes to (docs/deploy.md): by the candidate's weight,
//! unless a tester asks for a side (`X-Dozen-Side`) or the client is kept on one (the
//! `dozen-side` cookie, or a header's value hashed against the weight).

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};

use super::table::Side;

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
    pub side: Side,
    pub strict: bool,
    /// The response tells the client its side (`Set-Cookie`).
    pub set_cookie: bool,
}

/// Chooses a request's side, given whether its client is on this machine (only such a
/// client's `X-Dozen-Side` is honoured), the candidate's weight in basis points, whether a
/// deploy has two sides now, and a random number (for a request nothing makes sticky).
pub fn choose_side(
    headers: &HeaderMap,
    local: bool,
    weight: u32,
    two_sides: bool,
    sticky: &Sticky,
    random: impl FnOnce() -> u64,
) -> Choice {
    use Side;
    let choice = |side, strict, set_cookie| Choice {
        side,
        strict,
        set_cookie,
    };
    match headers
        .get(X_DOZEN_SIDE)
        .filter(|_| local)
        .map(HeaderValue::as_bytes)
    {
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
fn cookie_side(headers: &HeaderMap) -> Option<Side> {
    use Side;
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
pub fn side_cookie(side: Side) -> HeaderValue {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_are_chosen_by_weight_header_or_cookie() {
        let none = HeaderMap::new();
        // One side: everything stable, no cookie.
        let c = choose_side(&none, true, 5_000, false, &Sticky::Cookie, || 0);
        assert_eq!((c.side, c.set_cookie), (Side::Stable, false));
        // By weight: 10% of draws spread evenly over 2^32 reach the candidate.
        let share = (0..10_000_u64)
            .filter(|i| {
                let draw = (2 * i + 1) * (1 << 32) / 20_000; // the middle of the i-th ten-thousandth
                choose_side(&none, true, 1_000, true, &Sticky::Off, || draw).side == Side::Candidate
            })
            .count();
        assert_eq!(share, 1_000);
        assert_eq!(
            choose_side(&none, true, 0, true, &Sticky::Off, || 0).side,
            Side::Stable
        );
        let all = choose_side(&none, true, 10_000, true, &Sticky::Off, || u64::MAX);
        assert_eq!(all.side, Side::Candidate);
        // The header wins, strictly.
        let mut asked = HeaderMap::new();
        asked.insert(X_DOZEN_SIDE, HeaderValue::from_static("candidate"));
        let c = choose_side(&asked, true, 0, false, &Sticky::Off, || 0);
        assert_eq!((c.side, c.strict), (Side::Candidate, true));
        // Only from this machine: a remote client's header is a request like any other.
        let remote = choose_side(&asked, false, 0, true, &Sticky::Off, || 0);
        assert_eq!((remote.side, remote.strict), (Side::Stable, false));
        // A cookie keeps its side; without one, the response sets it.
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; dozen-side=candidate"),
        );
        let c = choose_side(&cookie, true, 0, true, &Sticky::Cookie, || 0);
        assert_eq!((c.side, c.set_cookie), (Side::Candidate, false));
        assert!(choose_side(&none, true, 5_000, true, &Sticky::Cookie, || 0).set_cookie);
        // A header's value keeps its side as the weight grows, and only moves to the candidate.
        let name = HeaderName::from_static("x-user-id");
        let sticky = Sticky::Header(name.clone());
        for user in 0..200 {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from(user));
            let mut seen_candidate = false;
            for weight in [0, 1_000, 2_500, 5_000, 10_000] {
                let side = choose_side(&h, true, weight, true, &sticky, || 0).side;
                assert!(!(seen_candidate && side == Side::Stable), "user {user}");
                seen_candidate |= side == Side::Candidate;
                let again = choose_side(&h, true, weight, true, &sticky, || u64::MAX).side;
                assert_eq!(side, again, "the same user, the same side");
            }
            assert!(seen_candidate);
        }
    }
}
