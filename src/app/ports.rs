//! The base port, by foreman's rule: `--port` > `PORT` in the env files > inherited `PORT` >
//! 5000. Instance ports derive from it: base + 100 × type index + (instance − 1).

use super::environment::{Config, Inherited};

pub const DEFAULT_BASE: u16 = 5000;

/// A `PORT` value that is not a port number (1 to 65535).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PORT `{value}` (from {origin}) is not a port number")]
pub struct NotAPort {
    /// The value as written.
    pub value: String,
    /// Where it was set: `FILE:LINE` of an env file, or `the environment`.
    pub origin: String,
}

/// A `--router` or `[router] listen` value that is neither a port nor `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither a port (1–65535) nor HOST:PORT (127.0.0.1:8080, [::1]:8080)")]
pub struct NotAnAddress(pub String);

/// The base port, or why a `PORT` value cannot be one.
pub fn base_port(
    flag: Option<u16>,
    config: &Config,
    inherited: &Inherited,
) -> Result<u16, NotAPort> {
    if let Some(port) = flag {
        return Ok(port);
    }
    let (value, origin) = match (config.vars.get("PORT"), inherited.get("PORT")) {
        (Some(var), _) => (var.value.as_str(), format!("{}:{}", var.file, var.line)),
        (None, Some(value)) => (value.as_str(), "the environment".to_owned()),
        (None, None) => return Ok(DEFAULT_BASE),
    };
    value
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| NotAPort {
            value: value.to_owned(),
            origin,
        })
}

/// The port of instance `index` (1-based) of the type at `type_index` in the Procfile:
/// `base + 100 × type_index + (index − 1)` (foreman's rule) — the one place it is written.
/// An error when it would be above 65535.
pub fn instance_port(base: u16, type_index: usize, index: u32) -> Result<u16, usize> {
    let port = usize::from(base) + 100 * type_index + (index as usize).saturating_sub(1);
    u16::try_from(port).map_err(|_| port)
}

/// Why a port cannot be used, if it cannot: tried on every interface and on loopback.
pub fn port_taken(port: u16) -> Option<std::io::Error> {
    // One at a time: holding the first would make the second fail.
    ["0.0.0.0", "127.0.0.1"]
        .into_iter()
        .find_map(|host| std::net::TcpListener::bind((host, port)).err())
}

/// Where the router listens: `8080` (on loopback) or `HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterAddr {
    Port(u16),
    Socket(std::net::SocketAddr),
}

impl RouterAddr {
    pub fn parse(text: &str) -> Result<Self, NotAnAddress> {
        // Port 0 is no address a client could be given (the system would pick one).
        if let Ok(port) = text.parse::<u16>() {
            return (port > 0)
                .then_some(Self::Port(port))
                .ok_or_else(|| NotAnAddress(text.to_owned()));
        }
        text.parse::<std::net::SocketAddr>()
            .ok()
            .filter(|a| a.port() > 0)
            .map(Self::Socket)
            .ok_or_else(|| NotAnAddress(text.to_owned()))
    }

    /// The address, given the port the router takes when none is named.
    pub fn resolve(address: Option<Self>, base_port: u16) -> std::net::SocketAddr {
        match address {
            Some(Self::Socket(address)) => address,
            Some(Self::Port(port)) => std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            None => std::net::SocketAddr::from(([127, 0, 0, 1], base_port)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_rule() {
        assert_eq!(instance_port(5000, 0, 1), Ok(5000));
        assert_eq!(instance_port(5000, 2, 3), Ok(5202));
        assert_eq!(instance_port(65000, 9, 1), Err(65900));
    }
    use crate::app::environment::Var;

    fn config(port: Option<&str>) -> Config {
        let mut config = Config::default();
        if let Some(port) = port {
            config.vars.insert(
                "PORT".into(),
                Var {
                    value: port.into(),
                    file: ".env".into(),
                    line: 2,
                },
            );
        }
        config
    }

    #[test]
    fn precedence() {
        let inherited: Inherited = [("PORT".to_owned(), "7000".to_owned())].into();
        assert_eq!(
            base_port(Some(4400), &config(Some("4300")), &inherited),
            Ok(4400)
        );
        assert_eq!(base_port(None, &config(Some("4300")), &inherited), Ok(4300));
        assert_eq!(base_port(None, &config(None), &inherited), Ok(7000));
        assert_eq!(base_port(None, &config(None), &Inherited::new()), Ok(5000));
        let error = base_port(None, &config(Some("http")), &inherited).unwrap_err();
        assert_eq!(
            error,
            NotAPort {
                value: "http".into(),
                origin: ".env:2".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "PORT `http` (from .env:2) is not a port number"
        );
        assert_eq!(
            base_port(None, &config(None), &[("PORT".into(), " 0".into())].into())
                .unwrap_err()
                .to_string(),
            "PORT ` 0` (from the environment) is not a port number"
        );
    }

    #[test]
    fn router_addresses() {
        assert_eq!(RouterAddr::parse("8080"), Ok(RouterAddr::Port(8080)));
        assert_eq!(
            RouterAddr::parse("[::1]:8080"),
            Ok(RouterAddr::Socket("[::1]:8080".parse().unwrap()))
        );
        assert_eq!(
            RouterAddr::parse("localhost").unwrap_err().to_string(),
            "`localhost` is neither a port (1–65535) nor HOST:PORT (127.0.0.1:8080, [::1]:8080)"
        );
        // Port 0 is no address (issue 31, finding 22).
        assert!(RouterAddr::parse("0").is_err());
        assert!(RouterAddr::parse("127.0.0.1:0").is_err());
    }
}
