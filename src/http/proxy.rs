//! `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, as curl and Go read them: requests to a
//! registry, a token service or an HTTP drain go through the proxy the environment names, in
//! a `CONNECT` tunnel (TLS to the far end runs inside it, so the proxy sees only the host).
//! Loopback is never proxied (as Go), nor a host `NO_PROXY` lists: `*`, a name (`example.com`
//! and `.example.com` both match it and its subdomains), an address, or a CIDR range.

use std::net::IpAddr;

/// A proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// `user:password` for `Proxy-Authorization: Basic`, percent-decoded.
    pub credentials: Option<Vec<u8>>,
    /// The variable it came from, to name in errors (its value may hold credentials).
    pub from: &'static str,
}

/// Why a proxy variable cannot be used: named by the variable, never by its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} is not a proxy dozen can use ({why}): write http://[USER:PASSWORD@]HOST:PORT")]
pub struct BadProxy {
    pub var: &'static str,
    pub why: &'static str,
}

/// The proxy for a connection to `host` (TLS or not), from the environment.
pub fn from_env(host: &str, tls: bool) -> Result<Option<Proxy>, BadProxy> {
    let get = |names: [&'static str; 2]| {
        names.into_iter().find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        })
    };
    let chosen = if tls {
        get(["HTTPS_PROXY", "https_proxy"])
    } else {
        // `HTTP_PROXY` in upper case only for plain HTTP, as curl (a CGI's `HTTP_PROXY` is a
        // request header, "httpoxy").
        get(["http_proxy", "HTTP_PROXY"])
    };
    let no_proxy = get(["NO_PROXY", "no_proxy"])
        .map(|(_, v)| v)
        .unwrap_or_default();
    match chosen {
        Some((var, value)) if !bypassed(host, &no_proxy) => parse(var, &value).map(Some),
        _ => Ok(None),
    }
}

/// A proxy URL: `http://[user:password@]host[:port]`, or `host:port` alone.
pub fn parse(var: &'static str, value: &str) -> Result<Proxy, BadProxy> {
    let bad = |why| BadProxy { var, why };
    let value = value.trim();
    let rest = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return Err(bad("only an http:// proxy is supported")),
        None => value,
    };
    let authority = rest.split('/').next().unwrap_or("");
    let (credentials, hostport) = match authority.rsplit_once('@') {
        Some((user, hostport)) => (Some(super::encoding::percent_decode(user)), hostport),
        None => (None, authority),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an unclosed `[`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("a bad port"))?,
        None => 80,
    };
    Ok(Proxy {
        host: host.to_owned(),
        port,
        credentials,
        from: var,
    })
}

/// Whether `host` goes direct: loopback, or listed in `no_proxy`.
pub fn bypassed(host: &str, no_proxy: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    if host == "localhost" || host.ends_with(".localhost") || ip.is_some_and(|ip| ip.is_loopback())
    {
        return true;
    }
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        // A port in an entry is not compared: the host decides.
        let entry = match entry.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => {
                name.to_owned()
            }
            _ => entry,
        };
        if entry.is_empty() {
            return false;
        }
        if entry == "*" {
            return true;
        }
        if let Some(ip) = ip
            && let Ok(range) = crate::cidr::Cidr::parse(&entry)
        {
            return range.contains(ip);
        }
        let name = entry.trim_start_matches("*.").trim_start_matches('.');
        host == name || host.ends_with(&format!(".{name}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_as_curl_reads_them() {
        let p = parse("HTTPS_PROXY", "http://us%40er:p%3Aw@proxy.corp:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.credentials.as_deref(), Some(&b"us@er:p:w"[..]));
        let p = parse("HTTPS_PROXY", "proxy.corp:8080").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.credentials),
            ("proxy.corp", 8080, None)
        );
        let p = parse("HTTPS_PROXY", "http://[::1]:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
        assert_eq!(parse("HTTPS_PROXY", "http://proxy").unwrap().port, 80);
        let error = parse("HTTPS_PROXY", "socks5://u:secret@p:1080").unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTPS_PROXY is not a proxy dozen can use (only an http:// proxy is supported): write http://[USER:PASSWORD@]HOST:PORT"
        );
        assert!(!error.to_string().contains("secret"));
        assert!(parse("HTTPS_PROXY", "http://p:0").is_err());
        assert!(parse("HTTPS_PROXY", "http://:80").is_err());
    }

    #[test]
    fn no_proxy_as_curl_and_go_read_it() {
        let list =
            "example.com, .internal, *.corp.net, 10.0.0.0/8, 192.168.1.7, fd00::/8, registry:5000";
        for (host, direct) in [
            ("example.com", true),
            ("api.example.com", true),
            ("notexample.com", false),
            ("a.internal", true),
            ("internal", true),
            ("x.corp.net", true),
            ("10.2.3.4", true),
            ("11.2.3.4", false),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("[fd00::1]", true),
            ("registry", true),
            ("ghcr.io", false),
            // Loopback, always.
            ("localhost", true),
            ("127.0.0.1", true),
            ("::1", true),
        ] {
            assert_eq!(bypassed(host, list), direct, "{host}");
        }
        assert!(bypassed("anything", "*"));
        assert!(!bypassed("anything", ""));
    }
}
