//! Drain URLs: `syslog+tls://HOST:PORT`, `syslog+tcp://…`, `syslog+udp://…`, `https://…`,
//! `http://…` (`#format=ndjson` for newline-delimited JSON). A URL may hold credentials, so it
//! is only ever shown redacted, and named by an id derived from it.

use std::fmt::Write as _;

use sha2::Digest as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SyslogTls,
    SyslogTcp,
    SyslogUdp,
    Https,
    Http,
}

/// What an HTTP drain posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Heroku's `application/logplex-1`: octet-counted RFC 5424 frames.
    Logplex,
    /// One JSON event per line.
    Ndjson,
}

/// What is wrong with a drain URL. Never holds more of the URL than its scheme, host, port
/// or `#` option: the rest may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `scheme://`.
    #[error(
        "a drain is a URL such as syslog+tls://logs.example.com:6514 or https://logs.example.com/ingest"
    )]
    NotAUrl,
    /// A scheme dozen cannot send to.
    #[error(
        "unsupported drain scheme `{0}`: use syslog+tls, syslog+tcp, syslog+udp, https or http"
    )]
    UnsupportedScheme(String),
    /// A `#` fragment other than the format.
    #[error("unknown drain option `#{0}`: the one option is #format=ndjson (or #format=logplex)")]
    UnknownOption(String),
    /// `#format=ndjson` on a syslog drain.
    #[error("#format=ndjson is for https:// and http:// drains")]
    NdjsonNotHttp,
    /// `user:password@` in a syslog URL.
    #[error("credentials in a syslog drain URL go nowhere: syslog has no login")]
    SyslogCredentials,
    /// A syslog URL without `:PORT`.
    #[error("a syslog drain needs a port: {scheme}://{host}:PORT")]
    SyslogWithoutPort { scheme: String, host: String },
    /// A syslog URL with a path or a query.
    #[error("a syslog drain URL has no path")]
    SyslogPath,
    /// Spaces or control characters in the path or query.
    #[error("a drain URL may not hold spaces or control characters")]
    ControlCharacters,
    /// `[` without its `]`.
    #[error("an IPv6 address in a URL ends with `]`")]
    UnclosedIpv6,
    /// Something other than `:PORT` after `[…]`.
    #[error("expected `:PORT` after `]`")]
    AfterIpv6,
    /// An empty host, or one with characters no host name or address has.
    #[error("invalid host `{0}` in a drain URL")]
    InvalidHost(String),
    /// A port that is not a number from 1 to 65535.
    #[error("invalid port `{0}` in a drain URL")]
    InvalidPort(String),
}

/// `text` with each value of `named` (longest first) shown as its `${NAME}`.
pub fn scrub(text: &str, named: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in named {
        if !value.is_empty() {
            out = out.replace(value.as_str(), &format!("${{{name}}}"));
        }
    }
    out
}

/// Two drain URLs are equal when their text is (the same drain, whatever its id was keyed by).
#[derive(Clone)]
pub struct DrainUrl {
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    /// Path and query, as sent in an HTTP request line (`/` when empty).
    pub target: String,
    /// `user:password` from the URL, for HTTP Basic authentication.
    pub userinfo: Option<String>,
    pub format: Format,
    /// The URL as given: never printed.
    full: String,
    /// The config values its `${NAME}` parts were filled with, longest first: wherever one
    /// would be printed (an error, the redacted URL), its `${NAME}` is instead.
    named: Vec<(String, String)>,
    /// Its id keyed by the store's digest key ([`DrainUrl::with_id`]).
    keyed_id: Option<String>,
}

impl PartialEq for DrainUrl {
    fn eq(&self, other: &Self) -> bool {
        self.full == other.full
    }
}

impl Eq for DrainUrl {}

impl std::fmt::Debug for DrainUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DrainUrl({})", self.redacted())
    }
}

impl DrainUrl {
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").ok_or(UrlError::NotAUrl)?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "syslog+tls" => Kind::SyslogTls,
            "syslog+tcp" | "syslog" => Kind::SyslogTcp,
            "syslog+udp" => Kind::SyslogUdp,
            "https" => Kind::Https,
            "http" => Kind::Http,
            other => return Err(UrlError::UnsupportedScheme(other.to_owned())),
        };
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let format = match fragment {
            "" | "format=logplex" => Format::Logplex,
            "format=ndjson" => Format::Ndjson,
            other => return Err(UrlError::UnknownOption(other.to_owned())),
        };
        if format == Format::Ndjson && !matches!(kind, Kind::Https | Kind::Http) {
            return Err(UrlError::NdjsonNotHttp);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user.to_owned()), host),
            None => (None, authority),
        };
        if userinfo.is_some() && !matches!(kind, Kind::Https | Kind::Http) {
            return Err(UrlError::SyslogCredentials);
        }
        let (host, port) = split_host_port(hostport)?;
        let port = match (port, kind) {
            (Some(port), _) => port,
            (None, Kind::Https) => 443,
            (None, Kind::Http) => 80,
            (None, _) => {
                return Err(UrlError::SyslogWithoutPort {
                    scheme: scheme.to_owned(),
                    host,
                });
            }
        };
        if !matches!(kind, Kind::Https | Kind::Http) && !matches!(target, "" | "/") {
            return Err(UrlError::SyslogPath);
        }
        let target = if target.is_empty() {
            "/".to_owned()
        } else if target.starts_with('?') {
            format!("/{target}")
        } else {
            target.to_owned()
        };
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::ControlCharacters);
        }
        Ok(Self {
            kind,
            host,
            port,
            target,
            userinfo,
            format,
            full: text.to_owned(),
            named: Vec::new(),
            keyed_id: None,
        })
    }

    /// The URL, told which config values it was filled with (`NAME`, value).
    #[must_use]
    pub fn with_values_named(mut self, mut named: Vec<(String, String)>) -> Self {
        named.retain(|(_, value)| !value.is_empty());
        named.sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
        self.named = named;
        self
    }

    /// `text` with every config value this URL was filled with shown as its `${NAME}`.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.named)
    }

    /// The URL with what may be secret replaced by `***`: credentials, the path and the query
    /// (tokens hide in all three).
    pub fn redacted(&self) -> String {
        let scheme = self.full.split_once("://").map_or("", |(s, _)| s);
        let mut out = format!("{scheme}://");
        if self.userinfo.is_some() {
            out.push_str("***@");
        }
        if self.host.contains(':') {
            let _ = write!(out, "[{}]:{}", self.host, self.port);
        } else {
            let _ = write!(out, "{}:{}", self.host, self.port);
        }
        if self.target != "/" {
            out.push_str("/***");
        }
        if self.format == Format::Ndjson {
            out.push_str("#format=ndjson");
        }
        self.scrub(&out)
    }

    /// The first 12 hex digits of the URL's SHA-256: its name in lists and in `Logplex-Drain-Token`.
    /// The URL with its id keyed by the store's digest key: an id a drain is shown and
    /// removed by, which cannot be checked against a guess of the URL (or of a token in
    /// it) without the key. Every drain of a store is given it.
    #[must_use]
    pub fn with_id(mut self, digests: &crate::secret::Digests) -> Self {
        self.keyed_id = Some(digests.digest(&self.full));
        self
    }

    pub fn id(&self) -> String {
        if let Some(id) = &self.keyed_id {
            return id.clone();
        }
        let digest = sha2::Sha256::digest(self.full.as_bytes());
        digest.iter().take(6).fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// The URL as given, for the store (never for output).
    pub fn as_secret_str(&self) -> &str {
        &self.full
    }
}

/// A drain URL as written in dozen.toml (`${NAME}` parts unresolved), redacted as
/// [`DrainUrl::redacted`] would: credentials, path and query hidden.
pub fn redact_text(text: &str) -> String {
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once("://") else {
        return "***".into();
    };
    let (rest, fragment) = rest
        .split_once('#')
        .map_or((rest, None), |(r, f)| (r, Some(f)));
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    let mut out = format!("{scheme}://");
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("***@");
            host
        }
        None => authority,
    };
    out.push_str(host);
    if !matches!(target, "" | "/") {
        out.push_str("/***");
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn split_host_port(text: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(UrlError::UnclosedIpv6)?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or(UrlError::AfterIpv6)?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return Err(UrlError::InvalidHost(host.to_owned()));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| UrlError::InvalidPort(p.to_owned()))
        })
        .transpose()?;
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_urls() {
        let url = DrainUrl::parse("syslog+tls://Logs.Example.com:6514").unwrap();
        assert_eq!(url.kind, Kind::SyslogTls);
        assert_eq!((url.host.as_str(), url.port), ("logs.example.com", 6514));
        assert_eq!(url.redacted(), "syslog+tls://logs.example.com:6514");
        let url = DrainUrl::parse("syslog+udp://[::1]:514").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 514));
        assert_eq!(url.redacted(), "syslog+udp://[::1]:514");
        for bad in [
            "syslog+tcp://host",
            "syslog+tcp://host:0",
            "syslog+tcp://host:99999",
            "syslog+tcp://user:pw@host:514",
            "syslog+tcp://host:514/path",
            "ftp://host",
            "host:514",
            "syslog+tcp://:514",
            "syslog+tcp://ho st:514",
            "syslog+tcp://host:514#format=ndjson",
            "syslog+tcp://[::1:514",
        ] {
            assert!(DrainUrl::parse(bad).is_err(), "{bad}");
        }
        let error = |text| DrainUrl::parse(text).unwrap_err().to_string();
        assert_eq!(
            error("syslog+tcp://Host"),
            "a syslog drain needs a port: syslog+tcp://host:PORT"
        );
        assert_eq!(
            error("syslog+tcp://host:0"),
            "invalid port `0` in a drain URL"
        );
        assert_eq!(
            error("syslog+tcp://ho st:514"),
            "invalid host `ho st` in a drain URL"
        );
        assert_eq!(
            error("syslog+tcp://[::1:514"),
            "an IPv6 address in a URL ends with `]`"
        );
        assert_eq!(error("syslog+tcp://[::1]514"), "expected `:PORT` after `]`");
        assert_eq!(
            error("ftp://host"),
            "unsupported drain scheme `ftp`: use syslog+tls, syslog+tcp, syslog+udp, https or http"
        );
        assert_eq!(
            error("host:514"),
            "a drain is a URL such as syslog+tls://logs.example.com:6514 or https://logs.example.com/ingest"
        );
        assert_eq!(
            error("syslog+tcp://host:514#format=ndjson"),
            "#format=ndjson is for https:// and http:// drains"
        );
        assert_eq!(
            DrainUrl::parse("syslog+tcp://user:pw@host:514"),
            Err(UrlError::SyslogCredentials)
        );
        assert_eq!(
            DrainUrl::parse("syslog+tcp://host:514/path"),
            Err(UrlError::SyslogPath)
        );
    }

    #[test]
    fn http_urls_hide_their_secrets() {
        let url =
            DrainUrl::parse("https://user:s3cret@logs.example.com/bulk/T0KEN?key=abc").unwrap();
        assert_eq!(url.kind, Kind::Https);
        assert_eq!(url.port, 443);
        assert_eq!(url.target, "/bulk/T0KEN?key=abc");
        assert_eq!(url.userinfo.as_deref(), Some("user:s3cret"));
        let shown = url.redacted();
        assert_eq!(shown, "https://***@logs.example.com:443/***");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = DrainUrl::parse("http://127.0.0.1:8080?token=x#format=ndjson").unwrap();
        assert_eq!(url.format, Format::Ndjson);
        assert_eq!(url.target, "/?token=x");
        assert_eq!(url.redacted(), "http://127.0.0.1:8080/***#format=ndjson");
        assert_eq!(
            DrainUrl::parse("http://h/#format=xml")
                .unwrap_err()
                .to_string(),
            "unknown drain option `#format=xml`: the one option is #format=ndjson (or #format=logplex)"
        );
        assert_eq!(
            DrainUrl::parse("http://h/a b"),
            Err(UrlError::ControlCharacters)
        );
    }

    #[test]
    fn unresolved_urls_are_redacted_too() {
        assert_eq!(
            redact_text("https://${USER}:${TOKEN}@logs.example.com/in/${KEY}?a=b"),
            "https://***@logs.example.com/***"
        );
        assert_eq!(
            redact_text("syslog+tls://${LOG_HOST}:6514"),
            "syslog+tls://${LOG_HOST}:6514"
        );
        assert_eq!(redact_text("token-only"), "***");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = DrainUrl::parse("syslog+tcp://a:1").unwrap();
        let b = DrainUrl::parse("syslog+tcp://a:2").unwrap();
        assert_eq!(a.id().len(), 12);
        assert_eq!(a.id(), DrainUrl::parse("syslog+tcp://a:1").unwrap().id());
        assert_ne!(a.id(), b.id());
    }
}
