//! What the router's lines show of a request: its target with the values of keys that look
//! secret masked, its host, and any field a client wrote made safe for logfmt.

use hyper::header::{self, HeaderValue};

/// Keys of a query whose values a router line masks: any key holding one of these
/// (`access_token`, `api_key`, `X-Amz-Signature`, `client_secret`, `password`, `passwd`,
/// `sessionid`, `id_jwt`, `aws_credential`, `Authorization`)…
const SECRET_PARTS: [&str; 10] = [
    "token",
    "key",
    "passw",
    "pwd",
    "secret",
    "signature",
    "session",
    "jwt",
    "credential",
    "authorization",
];

/// …or is one of these (Azure's SAS `sig`, Firebase's `auth`, a bare `pass` or `pw`).
const SECRET_KEYS: [&str; 4] = ["sig", "auth", "pass", "pw"];

/// A request's path and query as a router line shows it (Heroku's router logs the query):
/// the value of a key that looks secret is `***`.
pub fn shown_target(uri: &hyper::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len() + 1 + query.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if looks_secret(key) => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

fn looks_secret(key: &str) -> bool {
    let key = String::from_utf8_lossy(&crate::http::percent_decode(key)).to_ascii_lowercase();
    SECRET_PARTS.iter().any(|secret| key.contains(secret)) || SECRET_KEYS.contains(&key.as_str())
}

/// The host a request asked for, as its line shows it (Heroku's `host=`): the `Host`
/// header, else the target's authority (HTTP/2's `:authority`).
pub fn host<B>(request: &hyper::Request<B>) -> Option<HeaderValue> {
    if let Some(host) = request.headers().get(header::HOST) {
        return Some(host.clone());
    }
    let authority = request.uri().authority()?;
    HeaderValue::from_str(authority.as_str()).ok()
}

/// A value for a quoted logfmt field: `"` and `\` escaped, control characters as `\n`,
/// `\t` or `\u{…}` — a client's path cannot end its field and write fields of its own
/// (issue 31, finding 19).
pub fn logfmt(value: &str) -> std::borrow::Cow<'_, str> {
    if !value
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A header value as a quoted logfmt field: its text, made safe; bytes that are not
/// visible ASCII shown escaped rather than dropped.
pub fn logfmt_value(value: &HeaderValue) -> std::borrow::Cow<'_, str> {
    match value.to_str() {
        Ok(text) => logfmt(text),
        Err(_) => std::borrow::Cow::Owned(value.as_bytes().escape_ascii().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Router lines carry the query, as Heroku's router logs it, with the values of keys
    /// that look secret masked (issue 32).
    #[test]
    fn a_lines_query_is_kept_and_its_secret_values_masked() {
        let shown = |uri: &str| shown_target(&uri.parse().unwrap());
        assert_eq!(shown("/orders"), "/orders");
        assert_eq!(shown("/orders?page=2&sort=asc"), "/orders?page=2&sort=asc");
        assert_eq!(
            shown(
                "/cb?code=7&access_token=abc&API_KEY=k&x=1&client_secret=s&X-Amz-Signature=f&pass%77ord=p"
            ),
            "/cb?code=7&access_token=***&API_KEY=***&x=1&client_secret=***&X-Amz-Signature=***&pass%77ord=***"
        );
        assert_eq!(
            shown("/b?sv=2022&sig=abc&auth=t&author=jane&passwd=p&sessionid=s&jwt=j"),
            "/b?sv=2022&sig=***&auth=***&author=jane&passwd=***&sessionid=***&jwt=***"
        );
        // A key with no value, an empty pair, a value with `=` in it.
        assert_eq!(shown("/a?token&&b=c=d&key=x=y"), "/a?token&&b=c=d&key=***");
        assert_eq!(shown("/a?"), "/a?");
    }

    /// A client's path cannot end its logfmt field and add fields of its own (issue 31,
    /// finding 19): quotes, backslashes and control characters are escaped.
    #[test]
    fn router_line_fields_are_escaped() {
        assert_eq!(logfmt("/plain/path?x=1"), "/plain/path?x=1");
        assert_eq!(
            logfmt("/a\" status=200 fake=\"1"),
            "/a\\\" status=200 fake=\\\"1"
        );
        assert_eq!(logfmt("a\\b\nc\u{1b}[2J"), "a\\\\b\\nc\\u{1b}[2J");
        let opaque = HeaderValue::from_bytes(b"h\xffst\"x").unwrap();
        assert_eq!(logfmt_value(&opaque), "h\\xffst\\\"x");
    }

    #[test]
    fn the_host_is_the_header_else_the_authority() {
        let request = |uri: &str, host: Option<&str>| {
            let mut builder = hyper::Request::builder().uri(uri);
            if let Some(host) = host {
                builder = builder.header("host", host);
            }
            builder.body(()).unwrap()
        };
        assert_eq!(host(&request("/", Some("a.test"))).unwrap(), "a.test");
        assert_eq!(
            host(&request("https://b.test:8443/x", None)).unwrap(),
            "b.test:8443"
        );
        assert_eq!(host(&request("/", None)), None);
    }
}
