//! `[flags]`: where the app's feature flags are (flagd's JSON format), where `dozen run` serves
//! them over OFREP, and whether the router passes each request's variants on in a header
//! (docs/flags.md).

use std::ops::Range;

use hyper::header::HeaderName;
use serde::Deserialize;
use toml::Spanned;

/// The definitions file when `[flags] file` does not name one.
pub const DEFAULT_FILE: &str = "flags.json";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsSection {
    /// The flag definitions, relative to the app [default: `flags.json`, when it exists].
    pub file: Option<Spanned<String>>,
    /// Where `dozen run` serves OFREP (`8016` on loopback, or `HOST:PORT`) [default: a free
    /// loopback port, given to every process as `OFREP_ENDPOINT`].
    pub listen: Option<Spanned<String>>,
    /// A request header the router sets to every flag's variant for that request
    /// (`X-Flags: new-checkout=on, theme=dark`), for apps that use no SDK.
    pub header: Option<Spanned<String>>,
    /// Where the router finds a request's targeting key: `header:NAME` or `cookie:NAME`.
    pub targeting_key: Option<Spanned<String>>,
}

/// Where the router reads a request's targeting key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Header(HeaderName),
    Cookie(String),
}

/// Headers the router sets or owns itself: `[flags] header` cannot be one.
const RESERVED: [&str; 12] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "forwarded",
    "via",
    "x-request-id",
    "x-request-start",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
];

impl FlagsSection {
    /// The definitions file as the manifest names it.
    pub fn file(&self) -> &str {
        self.file.as_ref().map_or(DEFAULT_FILE, |f| f.get_ref())
    }

    /// Whether the manifest asks for flags at all (else they are served only when the
    /// default file exists).
    pub fn configured(&self) -> bool {
        self.file.is_some()
            || self.listen.is_some()
            || self.header.is_some()
            || self.targeting_key.is_some()
    }

    /// `[flags] header`, checked by [`FlagsSection::validate`].
    pub fn header(&self) -> Option<HeaderName> {
        self.header
            .as_ref()
            .and_then(|h| parse_header(h.get_ref()).ok())
    }

    /// `[flags] targeting_key`, checked by [`FlagsSection::validate`].
    pub fn key_source(&self) -> Option<KeySource> {
        self.targeting_key
            .as_ref()
            .and_then(|k| parse_key_source(k.get_ref()).ok())
    }

    /// Checks the section; `inside` says whether a path stays in the app directory.
    pub(super) fn validate(
        &self,
        inside: &dyn Fn(&str) -> bool,
        error: &mut dyn FnMut(Range<usize>, String),
    ) {
        if let Some(file) = &self.file {
            if file.get_ref().trim().is_empty() {
                error(file.span(), "empty flags file name".into());
            } else if !inside(file.get_ref()) {
                error(
                    file.span(),
                    format!(
                        "flags file `{}` is outside the app directory; name a file inside it",
                        file.get_ref()
                    ),
                );
            }
        }
        if let Some(listen) = &self.listen
            && let Err(problem) = super::ports::RouterAddr::parse(listen.get_ref())
        {
            error(listen.span(), format!("invalid OFREP address: {problem}"));
        }
        if let Some(header) = &self.header
            && let Err(problem) = parse_header(header.get_ref())
        {
            error(header.span(), problem);
        }
        if let Some(key) = &self.targeting_key {
            if let Err(problem) = parse_key_source(key.get_ref()) {
                error(key.span(), problem);
            } else if self.header.is_none() {
                error(
                    key.span(),
                    "targeting_key is what the router evaluates `[flags] header` with: set header too".into(),
                );
            }
        }
    }
}

fn parse_header(text: &str) -> Result<HeaderName, String> {
    let name = HeaderName::from_bytes(text.as_bytes())
        .map_err(|_| format!("`{text}` is not a header name (letters, digits and -)"))?;
    if RESERVED.contains(&name.as_str()) {
        return Err(format!(
            "`{text}` is a header the router sets or owns itself: choose another, such as X-Flags"
        ));
    }
    Ok(name)
}

fn parse_key_source(text: &str) -> Result<KeySource, String> {
    let bad =
        || format!("`{text}`: say where the targeting key is, `header:NAME` or `cookie:NAME`");
    let (kind, name) = text.split_once(':').ok_or_else(bad)?;
    let name = name.trim();
    match kind.trim() {
        "header" => HeaderName::from_bytes(name.as_bytes())
            .map(KeySource::Header)
            .map_err(|_| format!("`{name}` is not a header name")),
        "cookie" => {
            // RFC 6265's cookie-name is a token.
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if token {
                Ok(KeySource::Cookie(name.to_owned()))
            } else {
                Err(format!("`{name}` is not a cookie name"))
            }
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources_parse_and_bad_ones_say_the_forms() {
        assert_eq!(
            parse_key_source("header:X-User-Id"),
            Ok(KeySource::Header(HeaderName::from_static("x-user-id")))
        );
        assert_eq!(
            parse_key_source("cookie: uid"),
            Ok(KeySource::Cookie("uid".into()))
        );
        assert!(parse_key_source("uid").unwrap_err().contains("cookie:NAME"));
        assert!(
            parse_key_source("query:uid")
                .unwrap_err()
                .contains("header:NAME")
        );
        assert!(parse_key_source("cookie:a b").is_err());
        assert!(parse_key_source("header:").is_err());
    }

    #[test]
    fn the_header_is_a_name_the_router_does_not_own() {
        assert_eq!(parse_header("X-Flags").unwrap().as_str(), "x-flags");
        assert!(parse_header("X-Request-Id").unwrap_err().contains("owns"));
        assert!(parse_header("Host").is_err());
        assert!(parse_header("X Flags").is_err());
    }
}
