//! `[flags] header`: the router evaluates every flag for each request and passes the variants
//! on in one header (`X-Flags: new-checkout=on, theme=dark`), for apps that use no SDK. The
//! targeting key comes from a request header or cookie (`[flags] targeting_key`); the rule
//! also sees the request's `method` and `path`. A header of that name from the client is
//! removed first: the app can trust what it reads there.

use std::sync::Arc;

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::app::flags_section::KeySource;
use crate::flags::Context;
use crate::flags::live::Live;

/// The longest targeting key taken from a request (a longer one is ignored).
const MAX_KEY: usize = 1024;

pub struct FlagHeader {
    pub name: HeaderName,
    pub key: Option<KeySource>,
    pub live: Arc<Live>,
}

impl FlagHeader {
    /// Replaces any header of this name with the request's variants (none when no flag has
    /// one for it).
    pub fn stamp<B>(&self, request: &mut hyper::Request<B>) {
        let mut context = Map::new();
        if let Some(key) = self.targeting_key(request.headers()) {
            context.insert("targetingKey".to_owned(), Value::String(key));
        }
        let method = request.method().as_str().to_owned();
        context.insert("method".to_owned(), Value::String(method));
        let path = request.uri().path().to_owned();
        context.insert("path".to_owned(), Value::String(path));
        let headers = request.headers_mut();
        headers.remove(&self.name);
        let loaded = self.live.current();
        let pairs: Vec<String> = loaded
            .definitions
            .evaluate_all(&Context(context))
            .into_iter()
            .filter_map(|result| {
                let variant = result.variant?;
                (is_token(&result.key) && printable(&variant))
                    .then(|| format!("{}={}", result.key, quoted(&variant)))
            })
            .collect();
        if pairs.is_empty() {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(&pairs.join(", ")) {
            headers.insert(self.name.clone(), value);
        }
    }

    fn targeting_key(&self, headers: &HeaderMap) -> Option<String> {
        let value = match self.key.as_ref()? {
            KeySource::Header(name) => headers.get(name)?.to_str().ok()?.trim().to_owned(),
            KeySource::Cookie(name) => headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())?,
        };
        (!value.is_empty() && value.len() <= MAX_KEY).then_some(value)
    }
}

/// RFC 9110's token: what may stand unquoted as a key or value.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn printable(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// A value as a token, else as a quoted-string.
fn quoted(text: &str) -> String {
    if is_token(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Definitions;

    fn header(key: Option<KeySource>) -> FlagHeader {
        let text = r#"{"flags": {
            "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                "targeting": {"if": [{"==": [{"var": "targetingKey"}, "vip"]}, "on", null]}},
            "beta": {"state": "ENABLED", "variants": {"yes": true, "no": false}, "defaultVariant": "no",
                "targeting": {"if": [{"starts_with": [{"var": "path"}, "/beta"]}, "yes", null]}},
            "theme": {"state": "ENABLED", "variants": {"dark mode": "d", "light": "l"}, "defaultVariant": "dark mode"},
            "off": {"state": "DISABLED", "variants": {"a": 1}, "defaultVariant": "a"}
        }}"#;
        FlagHeader {
            name: HeaderName::from_static("x-flags"),
            key,
            live: Arc::new(Live::new(
                Definitions::parse("flags.json", text).unwrap(),
                text.as_bytes(),
            )),
        }
    }

    fn stamped(flags: &FlagHeader, pairs: &[(&str, &str)], path: &str) -> String {
        let mut request = hyper::Request::get(path).body(()).unwrap();
        for (name, value) in pairs {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        flags.stamp(&mut request);
        request
            .headers()
            .get("x-flags")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn every_flag_with_a_variant_is_stamped_and_a_forged_header_goes() {
        let flags = header(Some(KeySource::Header(HeaderName::from_static("x-user"))));
        assert_eq!(
            stamped(&flags, &[("x-flags", "new-checkout=on")], "/"),
            "new-checkout=off, beta=no, theme=\"dark mode\""
        );
        assert_eq!(
            stamped(&flags, &[("x-user", "vip")], "/beta/cart"),
            "new-checkout=on, beta=yes, theme=\"dark mode\""
        );
    }

    #[test]
    fn the_targeting_key_comes_from_the_cookie_named() {
        let flags = header(Some(KeySource::Cookie("uid".into())));
        let got = stamped(
            &flags,
            &[("cookie", "a=1; uid=vip"), ("cookie", "b=2")],
            "/",
        );
        assert!(got.starts_with("new-checkout=on"), "{got}");
        let got = stamped(&flags, &[("cookie", "uidx=vip")], "/");
        assert!(got.starts_with("new-checkout=off"), "{got}");
        let long = format!("uid={}", "v".repeat(MAX_KEY + 1));
        assert!(stamped(&flags, &[("cookie", &long)], "/").starts_with("new-checkout=off"));
    }
}
