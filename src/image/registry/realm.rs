//! Requests to absolute URLs a registry names: its token realm (and whether its credentials
//! may go there) and a blob's redirect.

use std::fmt::Write as _;
use std::io::Write as _;

use super::budget::{Budget, TIMEOUT, TOKEN};
use crate::http::{self, Head};
use crate::image::error::Error;

/// A URL's scheme, host and port, and the authority and path as written.
pub(super) struct Url<'a> {
    pub https: bool,
    pub host: &'a str,
    pub port: u16,
    pub authority: &'a str,
    pub path: &'a str,
}

impl<'a> Url<'a> {
    pub fn parse(url: &'a str) -> Result<Self, Error> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| Error::NotUrl(url.to_owned()))?;
        let https = match scheme {
            "https" => true,
            "http" => false,
            other => return Err(Error::UnsupportedScheme(other.to_owned())),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
                (h, p.parse().map_err(|_| Error::BadPort)?)
            }
            _ => (authority, if https { 443 } else { 80 }),
        };
        Ok(Self {
            https,
            host,
            port,
            authority,
            path,
        })
    }
}

/// A GET of an absolute URL (a token realm, a blob's redirect), its body to `sink`.
pub(super) fn fetch_url(
    url: &str,
    sink: &mut dyn std::io::Write,
    budget: Budget,
) -> Result<Head, Error> {
    fetch_url_with(url, None, sink, budget)
}

fn fetch_url_with(
    url: &str,
    authorization: Option<&str>,
    sink: &mut dyn std::io::Write,
    budget: Budget,
) -> Result<Head, Error> {
    let url = Url::parse(url)?;
    let tls = if url.https {
        Some(http::tls_config()?)
    } else {
        None
    };
    let (mut wire, _) = http::connect_http(url.host, url.port, tls.as_ref(), TIMEOUT, TIMEOUT)?;
    let path = match url.path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: dozen/{}\r\nConnection: close\r\n",
        url.authority,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(auth) = authorization {
        let _ = write!(head, "Authorization: {auth}\r\n");
    }
    head.push_str("\r\n");
    wire.write_all(head.as_bytes()).map_err(Error::Io)?;
    let wire = &mut http::Deadline::new(&mut wire, budget.time);
    Ok(http::read_response(wire, "GET", sink, budget.bytes)?)
}

/// Why a registry's credentials may not go to a token realm, or `None` when they may: only
/// to the registry's own host, or to the token service its operator documents (Docker Hub's,
/// `auth.docker.io`), and over HTTPS — plain HTTP only to the host of a registry on this
/// machine, which is spoken to in plain HTTP itself.
pub(super) fn withhold_from(
    registry_host: &str,
    registry_https: bool,
    realm: &Url<'_>,
) -> Option<&'static str> {
    const TOKEN_SERVICES: &[(&str, &str)] = &[("registry-1.docker.io", "auth.docker.io")];
    let same = realm.host.eq_ignore_ascii_case(registry_host);
    let documented = TOKEN_SERVICES
        .iter()
        .any(|(registry, service)| *registry == registry_host && *service == realm.host);
    if !same && !documented {
        Some("it is another host than the registry's")
    } else if !realm.https && (registry_https || !same) {
        Some("it is not HTTPS")
    } else {
        None
    }
}

/// A token from a Bearer realm (`token` or `access_token` in its JSON answer).
pub(super) fn fetch_token(url: &str, credentials: Option<&str>) -> Result<String, Error> {
    let mut body = Vec::new();
    let authorization = credentials.map(|c| format!("Basic {c}"));
    let head = fetch_url_with(url, authorization.as_deref(), &mut body, TOKEN)?;
    if head.status != 200 {
        return Err(Error::TokenRefused(head.status));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&body).map_err(Error::malformed("the token service"))?;
    answer["token"]
        .as_str()
        .or_else(|| answer["access_token"].as_str())
        .map(str::to_owned)
        .ok_or(Error::NoToken)
}
