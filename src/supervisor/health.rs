//! Health probes: an HTTP GET, a TCP connect, or a command, each with a timeout.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::app::manifest::Health;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Without an `interval`, a ready instance's check backs off from [`DEFAULT_INTERVAL`],
/// doubling after each pass, to this (Kubernetes' default `periodSeconds`); a failure brings
/// it back to [`DEFAULT_INTERVAL`].
pub const BACKED_OFF_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
pub const DEFAULT_RETRIES: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http { path: String },
    Tcp,
    Command { command: String },
}

/// A type's health check, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub probe: Probe,
    pub interval: Duration,
    /// No `interval` was given: the interval backs off while the instance passes.
    pub backs_off: bool,
    pub timeout: Duration,
    /// Failures during this time after a start do not count against the instance.
    pub grace: Duration,
    /// Consecutive failures after readiness that make an instance unhealthy.
    pub retries: u32,
    /// Readiness only, then no more checks: the implicit check of a `web` type that has none
    /// (it is ready once it accepts connections on its port).
    pub readiness_only: bool,
}

/// How long a `web` without a health check has to accept connections on its port before
/// dozen stops waiting for it (Heroku's boot timeout).
pub const IMPLICIT_READY_WITHIN: Duration = Duration::from_secs(60);

impl Check {
    /// What makes a `web` instance without a configured check ready: it accepts a TCP
    /// connection on `$PORT` (polled every 100 ms), within [`IMPLICIT_READY_WITHIN`].
    pub fn implicit_port() -> Self {
        Self {
            probe: Probe::Tcp,
            interval: DEFAULT_INTERVAL,
            backs_off: true,
            timeout: DEFAULT_TIMEOUT,
            grace: IMPLICIT_READY_WITHIN,
            retries: DEFAULT_RETRIES,
            readiness_only: true,
        }
    }
}

impl Check {
    pub fn from_manifest(health: &Health) -> Option<Self> {
        let probe = if let Some(path) = &health.http {
            Probe::Http { path: path.clone() }
        } else if health.tcp == Some(true) {
            Probe::Tcp
        } else {
            Probe::Command {
                command: health.command.clone()?,
            }
        };
        Some(Self {
            probe,
            interval: health.interval.map_or(DEFAULT_INTERVAL, |d| d.0),
            backs_off: health.interval.is_none(),
            timeout: health.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
            grace: health.grace.map_or(Duration::ZERO, |d| d.0),
            retries: health.retries.unwrap_or(DEFAULT_RETRIES),
            readiness_only: false,
        })
    }

    /// The wait before the next check of a ready instance whose last check passed after a
    /// wait of `last` (`None`: the first since it became ready).
    pub fn next_interval(&self, last: Option<Duration>) -> Duration {
        if !self.backs_off {
            return self.interval;
        }
        last.map_or(self.interval, |last| {
            (last * 2).clamp(self.interval, BACKED_OFF_INTERVAL)
        })
    }

    /// The connection or request this check makes from dozen itself; `None` for a command
    /// check, which is a process like any other (the supervisor starts it under the nursery).
    pub fn request(&self) -> Option<Request> {
        match &self.probe {
            Probe::Http { path } => Some(Request::Http { path: path.clone() }),
            Probe::Tcp => Some(Request::Tcp),
            Probe::Command { .. } => None,
        }
    }
}

/// A check dozen makes itself against an instance's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Http { path: String },
    Tcp,
}

/// Why a health check did not pass. (Clone and comparable, as the machine's inputs are: an
/// I/O error is kept as its text.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failed {
    /// Nothing accepted a TCP connection on the port.
    #[error("connect to port {port}: {error}")]
    Connect { port: u16, error: String },
    /// An HTTP check could not connect.
    #[error("GET {path}: connect to port {port}: {error}")]
    HttpConnect {
        path: String,
        port: u16,
        error: String,
    },
    /// The connection could not be set up (timeouts).
    #[error("{0}")]
    Socket(String),
    /// The request could not be sent.
    #[error("GET {path}: {error}")]
    Send { path: String, error: String },
    /// What came back is not an HTTP response.
    #[error("GET {path}: not an HTTP response")]
    NotHttp { path: String },
    /// The instance answered with a status outside 200–399.
    #[error("GET {path}: status {status}")]
    Status { path: String, status: u16 },
    /// A check command could not be started.
    #[error("`{command}` could not start: {error}")]
    CommandNotStarted { command: String, error: String },
    /// A check command ran past its timeout (and was killed).
    #[error("`{command}` took longer than {took}")]
    CommandTooSlow { command: String, took: String },
    /// A check command exited other than 0 (`exited with code 1`, `was killed by SIGSEGV`).
    #[error("`{command}` {status}")]
    CommandFailed { command: String, status: String },
    /// The checks' workers had too many checks waiting to take this one.
    #[error("{0}")]
    NotRun(String),
}

impl Request {
    /// Makes it once against an instance on `port`.
    pub fn run(&self, port: u16, timeout: Duration) -> Result<(), Failed> {
        match self {
            Self::Http { path } => http(port, path, timeout),
            Self::Tcp => {
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), timeout)
                    .map(drop)
                    .map_err(|e| Failed::Connect {
                        port,
                        error: e.to_string(),
                    })
            }
        }
    }
}

fn http(port: u16, path: &str, timeout: Duration) -> Result<(), Failed> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| Failed::HttpConnect {
            path: path.to_owned(),
            port,
            error: e.to_string(),
        })?;
    let socket = |e: std::io::Error| Failed::Socket(e.to_string());
    stream.set_read_timeout(Some(timeout)).map_err(socket)?;
    stream.set_write_timeout(Some(timeout)).map_err(socket)?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: dozen\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| Failed::Send {
            path: path.to_owned(),
            error: e.to_string(),
        })?;
    // Read the whole (small) response: hanging up early makes servers log a reset.
    let mut response = Vec::new();
    let _ = (&mut stream).take(64 * 1024).read_to_end(&mut response);
    let read = response.len().min(32);
    let head = &response[..read];
    let status_line = String::from_utf8_lossy(head);
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failed::NotHttp {
            path: path.to_owned(),
        })?;
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(Failed::Status {
            path: path.to_owned(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn check(probe: Probe) -> Check {
        Check {
            probe,
            interval: DEFAULT_INTERVAL,
            backs_off: true,
            timeout: Duration::from_millis(500),
            grace: Duration::ZERO,
            retries: 3,
            readiness_only: false,
        }
    }

    #[test]
    fn a_passing_ready_check_backs_off_to_ten_seconds_unless_an_interval_is_set() {
        let mut every = None;
        let mut seen = Vec::new();
        let default = check(Probe::Tcp);
        for _ in 0..6 {
            let next = default.next_interval(every);
            seen.push(next.as_secs());
            every = Some(next);
        }
        assert_eq!(seen, [1, 2, 4, 8, 10, 10]);
        let fixed = Check {
            interval: Duration::from_secs(3),
            backs_off: false,
            ..check(Probe::Tcp)
        };
        assert_eq!(
            fixed.next_interval(Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn http_status_decides() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(2).enumerate() {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 512];
                let _ = stream.read(&mut buf);
                let status = if i == 0 {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = stream.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                );
            }
        });
        let probe = check(Probe::Http {
            path: "/healthz".into(),
        });
        assert_eq!(probe.request().unwrap().run(port, probe.timeout), Ok(()));
        assert_eq!(
            probe.request().unwrap().run(port, probe.timeout),
            Err(Failed::Status {
                path: "/healthz".into(),
                status: 503
            })
        );
        assert_eq!(
            Failed::Status {
                path: "/healthz".into(),
                status: 503
            }
            .to_string(),
            "GET /healthz: status 503"
        );
        server.join().unwrap();
    }

    #[test]
    fn tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(Request::Tcp.run(port, DEFAULT_TIMEOUT).is_ok());
        drop(listener);
        let (closed, _held) = crate::testing::refusing_port();
        assert!(Request::Tcp.run(closed, DEFAULT_TIMEOUT).is_err());
        assert_eq!(
            check(Probe::Command {
                command: "true".into()
            })
            .request(),
            None
        );
    }
}
