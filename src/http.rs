//! A small blocking HTTP/1.1 client over TCP or TLS (rustls with the platform's roots): what
//! drains post batches with and what `dozen image` talks to registries with. Responses are
//! parsed by `httparse`; bodies by length, chunked, or to the end of the connection, written
//! to whatever the caller gives.

mod encoding;
pub mod proxy;

pub use encoding::{base64, percent_decode};

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

/// Why a request could not be made or its answer read: the connection (name, address,
/// socket, TLS) or the answer itself. What the answer's status means is the caller's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host's name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    /// The host's name resolved to no address.
    #[error("{host} has no address")]
    NoAddress { host: String },
    /// No address of the host took the connection: the last one's error.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The connected socket could not be set up (its timeouts, `TCP_NODELAY`, its clone).
    #[error("{host}:{port}: {source}")]
    Socket {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The host's name cannot be a TLS server name.
    #[error("{host}: {source}")]
    ServerName {
        host: String,
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// rustls refused the configuration or the connection before the handshake.
    #[error("{0}")]
    Tls(#[from] rustls::Error),
    /// The TLS handshake failed (a certificate the roots do not vouch for, most often).
    #[error("TLS with {host}:{port}: {source}")]
    Handshake {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The platform has no root certificate dozen could load; the first loading error, if
    /// there was one.
    #[error(
        "no trusted root certificates found{}",
        .first.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    )]
    NoRoots {
        #[source]
        first: Option<rustls_native_certs::Error>,
    },
    /// Reading an answer's head from the connection failed.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// The peer closed the connection before it answered.
    #[error("the connection closed without an answer")]
    NoAnswer,
    /// The answer's head did not end within [`MAX_HEAD`] bytes.
    #[error("an answer's head over 64 KiB")]
    HeadTooLarge,
    /// The answer is not an HTTP/1.x response.
    #[error("an answer that is not HTTP: {0}")]
    NotHttp(#[source] httparse::Error),
    /// Reading the answer's body failed (or it was malformed: a bad chunk).
    #[error("reading an answer's body: {0}")]
    ReadBody(#[source] std::io::Error),
    /// A proxy variable that cannot be used.
    #[error(transparent)]
    BadProxy(#[from] proxy::BadProxy),
    /// The proxy refused to open a tunnel: the proxy's address and variable, its status.
    #[error("the proxy {host}:{port} ({from}) answered CONNECT with HTTP {status}")]
    ProxyRefused {
        host: String,
        port: u16,
        from: &'static str,
        status: u16,
    },
    /// The answer's body is longer than the caller takes: its limit, in bytes.
    #[error("an answer's body over {}", binary_size(*.limit))]
    BodyTooLarge { limit: u64 },
    /// The answer did not end in the time the caller gave it.
    #[error("no whole answer within {} s", .after.as_secs())]
    TooSlow { after: Duration },
}

impl Error {
    /// A body or head error, said as [`Error::BodyTooLarge`] or [`Error::TooSlow`] when one
    /// of their bounds cut it.
    fn reading(wrap: fn(std::io::Error) -> Self) -> impl Fn(std::io::Error) -> Self {
        move |e| match e.get_ref().and_then(|inner| inner.downcast_ref::<Cut>()) {
            Some(Cut::Limit(limit)) => Self::BodyTooLarge { limit: *limit },
            Some(Cut::Deadline(after)) => Self::TooSlow { after: *after },
            None => wrap(e),
        }
    }
}

/// `4 MiB`, `64 KiB`, `100 bytes`: a limit as people write it.
fn binary_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Why [`Capped`] or [`Deadline`] cut a read short (carried inside an `io::Error`).
#[derive(Debug, thiserror::Error)]
enum Cut {
    #[error("over {0} bytes")]
    Limit(u64),
    #[error("over {0:?}")]
    Deadline(Duration),
}

/// A writer that takes at most `limit` bytes: the first `limit` are written, then it fails
/// (said by [`read_response`] as [`Error::BodyTooLarge`]).
struct Capped<'a> {
    inner: &'a mut dyn Write,
    left: u64,
    limit: u64,
}

impl Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 && !buf.is_empty() {
            return Err(std::io::Error::other(Cut::Limit(self.limit)));
        }
        let take = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.write(&buf[..take])?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that fails once its time is up: with the socket's timeout on each read, a peer
/// that sends a byte now and then is still cut at `deadline` (plus one read's timeout).
pub struct Deadline<'a> {
    inner: &'a mut dyn Read,
    start: std::time::Instant,
    after: Duration,
}

impl<'a> Deadline<'a> {
    pub fn new(inner: &'a mut dyn Read, after: Duration) -> Self {
        Self {
            inner,
            start: std::time::Instant::now(),
            after,
        }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.start.elapsed() > self.after {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                Cut::Deadline(self.after),
            ));
        }
        self.inner.read(buf)
    }
}

/// A TCP connection, in the clear or in TLS.
pub enum Wire {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// Connects to `host:port` for HTTP, as [`connect`] does, through the proxy the environment
/// names for it if any (`proxy`): a `CONNECT` tunnel, TLS inside it.
pub fn connect_http(
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
    io_timeout: Duration,
) -> Result<(Wire, TcpStream), Error> {
    let proxy = proxy::from_env(host, tls.is_some())?;
    connect_via(proxy, host, port, tls, connect_timeout, io_timeout)
}

/// [`connect_http`] through `proxy` (direct when `None`).
pub fn connect_via(
    proxy: Option<proxy::Proxy>,
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
    io_timeout: Duration,
) -> Result<(Wire, TcpStream), Error> {
    let Some(proxy) = proxy else {
        return connect(host, port, tls, connect_timeout, io_timeout);
    };
    let (wire, clone) = connect(&proxy.host, proxy.port, None, connect_timeout, io_timeout)?;
    let Wire::Plain(mut stream) = wire else {
        unreachable!("a proxy is spoken to in the clear")
    };
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(credentials) = &proxy.credentials {
        request.push_str("Proxy-Authorization: Basic ");
        request.push_str(&base64(credentials));
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|source| Error::Socket {
            host: proxy.host.clone(),
            port: proxy.port,
            source,
        })?;
    let (head, _) = read_head(
        &mut Deadline::new(&mut stream, connect_timeout + io_timeout),
        "CONNECT",
    )?;
    if !(200..300).contains(&head.status) {
        return Err(Error::ProxyRefused {
            host: proxy.host,
            port: proxy.port,
            from: proxy.from,
            status: head.status,
        });
    }
    let wire = match tls {
        None => Wire::Plain(stream),
        Some(config) => tls_over(stream, host, port, config)?,
    };
    Ok((wire, clone))
}

/// Connects to `host:port` (every address it resolves to, in turn), in TLS with `tls`; the
/// socket's clone comes back too, to cut a blocked read or write from another thread.
pub fn connect(
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
    io_timeout: Duration,
) -> Result<(Wire, TcpStream), Error> {
    let addresses: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let mut last = None;
    let mut stream = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, connect_timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| {
        last.map_or_else(
            || Error::NoAddress {
                host: host.to_owned(),
            },
            |source| Error::Connect {
                host: host.to_owned(),
                port,
                source,
            },
        )
    })?;
    let setup = |source| Error::Socket {
        host: host.to_owned(),
        port,
        source,
    };
    stream.set_nodelay(true).map_err(setup)?;
    stream.set_write_timeout(Some(io_timeout)).map_err(setup)?;
    stream.set_read_timeout(Some(io_timeout)).map_err(setup)?;
    let clone = stream.try_clone().map_err(setup)?;
    let Some(config) = tls else {
        return Ok((Wire::Plain(stream), clone));
    };
    Ok((tls_over(stream, host, port, config)?, clone))
}

/// TLS with `host` over a connected stream, its handshake done.
fn tls_over(
    stream: TcpStream,
    host: &str,
    port: u16,
    config: &Arc<rustls::ClientConfig>,
) -> Result<Wire, Error> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|source| {
        Error::ServerName {
            host: host.to_owned(),
            source,
        }
    })?;
    let connection = rustls::ClientConnection::new(config.clone(), name)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    // The handshake now, so a certificate problem is said as one.
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|source| Error::Handshake {
                host: host.to_owned(),
                port,
                source,
            })?;
    }
    Ok(Wire::Tls(Box::new(tls)))
}

/// The platform's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured), with rustls.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(Error::NoRoots {
            first: found.errors.into_iter().next(),
        });
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A response's head.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    /// Whether the connection may carry the next request.
    pub keep_alive: bool,
    /// Names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The most bytes a response's head may take.
const MAX_HEAD: usize = 64 * 1024;

/// Reads one response (to a request of method `method`) from the connection (or any
/// reader), its body written to `body`: at most `limit` bytes of it, else
/// [`Error::BodyTooLarge`] (after the first `limit` are written).
pub fn read_response(
    wire: &mut dyn Read,
    method: &str,
    body: &mut dyn Write,
    limit: u64,
) -> Result<Head, Error> {
    let (head, pending) = read_head(wire, method)?;
    pending.copy_to(wire, head, body, limit)
}

/// What is left of a response after its head: how its body is delimited.
pub struct Pending {
    rest: Vec<u8>,
    length: Option<u64>,
    chunked: bool,
    bodiless: bool,
}

impl Pending {
    /// The body's length, when its head says it.
    pub fn length(&self) -> Option<u64> {
        if self.bodiless {
            Some(0)
        } else if self.chunked {
            None
        } else {
            self.length
        }
    }

    /// Reads the start of the body into `body`: at most `limit` bytes, the rest left unread
    /// (the head comes back with `keep_alive` false then: the connection cannot carry
    /// another request). For an error's words, where the start is all that is wanted.
    pub fn copy_start(
        mut self,
        wire: &mut dyn Read,
        head: Head,
        body: &mut dyn Write,
        limit: u64,
    ) -> Result<Head, Error> {
        let cut = self.length().is_some_and(|length| length > limit);
        if cut {
            self.length = Some(limit);
        }
        let closed = Head {
            keep_alive: false,
            ..head.clone()
        };
        match self.copy_to(wire, head, body, limit) {
            Ok(_) if cut => Ok(closed),
            Err(Error::BodyTooLarge { .. }) => Ok(closed),
            other => other,
        }
    }

    /// Reads the body into `body`, at most `limit` bytes of it (a longer one is
    /// [`Error::BodyTooLarge`], said before reading when its length is); the head comes back
    /// (its `keep_alive` false when the body ran to the end of the connection).
    pub fn copy_to(
        self,
        wire: &mut dyn Read,
        head: Head,
        body: &mut dyn Write,
        limit: u64,
    ) -> Result<Head, Error> {
        if self.length().is_some_and(|length| length > limit) {
            return Err(Error::BodyTooLarge { limit });
        }
        let mut reader = BodyReader {
            rest: self.rest,
            wire,
        };
        let body = &mut Capped {
            inner: body,
            left: limit,
            limit,
        };
        let io = Error::reading(Error::ReadBody);
        if self.bodiless {
            Ok(head)
        } else if self.chunked {
            reader.copy_chunked(body).map_err(&io)?;
            Ok(head)
        } else if let Some(length) = self.length {
            reader.copy(length, body).map_err(&io)?;
            Ok(head)
        } else {
            // Delimited by the end of the connection: read it out; the next request reconnects.
            while let Some(bytes) = reader.read_some().map_err(&io)? {
                body.write_all(&bytes).map_err(&io)?;
            }
            Ok(Head {
                keep_alive: false,
                ..head
            })
        }
    }
}

/// Reads a response's head; its body is left for [`Pending::copy_to`].
pub fn read_head(wire: &mut dyn Read, method: &str) -> Result<(Head, Pending), Error> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (head, length, chunked, at) = loop {
        let n = wire.read(&mut chunk).map_err(Error::reading(Error::Read))?;
        if n == 0 {
            return Err(Error::NoAnswer);
        }
        buffer.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 96];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer) {
            Ok(httparse::Status::Complete(at)) => {
                let headers: Vec<(String, String)> = response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).trim().to_owned(),
                        )
                    })
                    .collect();
                let head = Head {
                    status: response.code.unwrap_or(0),
                    keep_alive: response.version != Some(0),
                    headers,
                };
                let close = head
                    .header("connection")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("close"));
                let chunked = head
                    .header("transfer-encoding")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                let length = head
                    .header("content-length")
                    .and_then(|v| v.parse::<u64>().ok());
                break (
                    Head {
                        keep_alive: head.keep_alive && !close,
                        ..head
                    },
                    length,
                    chunked,
                    at,
                );
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(Error::HeadTooLarge),
            Err(e) => return Err(Error::NotHttp(e)),
        }
    };
    let rest = buffer.split_off(at);
    let bodiless = method == "HEAD"
        || head.status == 204
        || head.status == 304
        || (100..200).contains(&head.status);
    Ok((
        head,
        Pending {
            rest,
            length,
            chunked,
            bodiless,
        },
    ))
}

struct BodyReader<'a> {
    rest: Vec<u8>,
    wire: &'a mut dyn Read,
}

impl BodyReader<'_> {
    /// The next bytes, `None` at the end of the connection.
    fn read_some(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if !self.rest.is_empty() {
            return Ok(Some(std::mem::take(&mut self.rest)));
        }
        let mut chunk = vec![0u8; 64 * 1024];
        let n = self.wire.read(&mut chunk)?;
        chunk.truncate(n);
        Ok((n > 0).then_some(chunk))
    }

    fn copy(&mut self, mut n: u64, out: &mut dyn Write) -> std::io::Result<()> {
        while n > 0 {
            let mut bytes = self
                .read_some()?
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
            let take = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
            n -= take as u64;
            self.rest = bytes.split_off(take);
            out.write_all(&bytes)?;
        }
        Ok(())
    }

    fn line(&mut self) -> std::io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            let mut bytes = self
                .read_some()?
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
            if let Some(end) = memchr::memchr(b'\n', &bytes) {
                self.rest = bytes.split_off(end + 1);
                line.extend_from_slice(&bytes);
                return Ok(line);
            }
            line.extend_from_slice(&bytes);
            if line.len() > 64 * 1024 {
                return Err(std::io::Error::other("a chunk line over 64 KiB"));
            }
        }
    }

    fn copy_chunked(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        loop {
            let line = self.line()?;
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size `{size}`")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line()?.trim_ascii().is_empty() {}
                return Ok(());
            }
            self.copy(size, out)?;
            self.copy(2, &mut std::io::sink())?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(percent_decode("us%40er:p%3Ass"), b"us@er:p:ss");
    }

    /// A server that answers each connection with `answers` in turn, as raw bytes.
    fn serve(answers: Vec<&'static [u8]>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            for answer in answers {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).unwrap();
                stream.write_all(answer).unwrap();
            }
        });
        port
    }

    /// The errors say what the strings they replaced said.
    #[test]
    fn broken_answers_are_said_as_before() {
        let said = |answer: &[u8]| {
            let mut wire = answer;
            read_response(&mut wire, "GET", &mut Vec::new(), u64::MAX)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(said(b""), "the connection closed without an answer");
        assert!(
            said(b"SMTP ready\r\n\r\n").starts_with("an answer that is not HTTP: "),
            "{}",
            said(b"SMTP ready\r\n\r\n")
        );
        assert_eq!(
            said(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
            "reading an answer's body: unexpected end of file"
        );
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        endless.resize(70 * 1024, b'x');
        assert_eq!(said(&endless), "an answer's head over 64 KiB");
    }

    /// A proxy that tunnels to this machine whatever name it is asked for, and tells which
    /// `CONNECT` lines it got (with their `Proxy-Authorization`), or refuses with `refuse`.
    fn proxy(refuse: Option<u16>) -> (u16, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut client, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                client.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            tx.send(head.clone()).unwrap();
            if let Some(status) = refuse {
                let _ = write!(client, "HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            let target: u16 = head
                .split_whitespace()
                .nth(1)
                .unwrap()
                .rsplit_once(':')
                .unwrap()
                .1
                .parse()
                .unwrap();
            let mut upstream = TcpStream::connect(("127.0.0.1", target)).unwrap();
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c2, &mut u2));
            let _ = std::io::copy(&mut upstream, &mut client);
        });
        (port, rx)
    }

    #[test]
    fn requests_go_through_a_connect_tunnel_with_the_proxys_credentials() {
        let origin = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
        let (proxy_port, heads) = proxy(None);
        let through = proxy::parse(
            "HTTPS_PROXY",
            &format!("http://u%40x:pw@127.0.0.1:{proxy_port}"),
        )
        .unwrap();
        let timeout = Duration::from_secs(5);
        // A name only the proxy resolves: dozen never looks it up.
        let (mut wire, _) = connect_via(
            Some(through),
            "origin.invalid",
            origin,
            None,
            timeout,
            timeout,
        )
        .unwrap();
        wire.write_all(b"GET / HTTP/1.1\r\nHost: origin.invalid\r\n\r\n")
            .unwrap();
        let mut body = Vec::new();
        let head = read_response(&mut wire, "GET", &mut body, 100).unwrap();
        assert_eq!((head.status, body.as_slice()), (200, &b"ok"[..]));
        let connect = heads.recv().unwrap();
        assert!(
            connect.starts_with(&format!("CONNECT origin.invalid:{origin} HTTP/1.1\r\n")),
            "{connect}"
        );
        assert!(
            connect.contains(&format!(
                "Proxy-Authorization: Basic {}\r\n",
                base64(b"u@x:pw")
            )),
            "{connect}"
        );
        // A refusal is said with the proxy's variable, never its credentials.
        let (proxy_port, _heads) = proxy(Some(407));
        let through = proxy::parse(
            "HTTPS_PROXY",
            &format!("http://u:secret@127.0.0.1:{proxy_port}"),
        )
        .unwrap();
        let error = connect_via(Some(through), "origin.invalid", 443, None, timeout, timeout)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!(
                "the proxy 127.0.0.1:{proxy_port} (HTTPS_PROXY) answered CONNECT with HTTP 407"
            )
        );
    }

    /// A peer that sends a byte now and then is cut at the deadline, said as that; a body
    /// longer than its limit is cut at the limit, its start kept.
    #[test]
    fn answers_are_cut_at_their_deadline_and_their_limit() {
        struct Drip;
        impl Read for Drip {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_millis(20));
                buf[0] = b'x';
                Ok(1)
            }
        }
        let mut head = &b"HTTP/1.1 200 OK\r\n\r\n"[..];
        let mut wire = (&mut head).chain(Drip);
        let after = Duration::from_secs(1);
        let started = std::time::Instant::now();
        let error = read_response(
            &mut Deadline::new(&mut wire, after),
            "GET",
            &mut Vec::new(),
            u64::MAX,
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "no whole answer within 1 s");
        assert!(matches!(error, Error::TooSlow { .. }));
        assert!(started.elapsed() < Duration::from_secs(3));
        let mut endless = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        endless.resize(10_000, b'y');
        let mut body = Vec::new();
        let error = read_response(&mut &endless[..], "GET", &mut body, 100).unwrap_err();
        assert_eq!(error.to_string(), "an answer's body over 100 bytes");
        assert_eq!(body, vec![b'y'; 100]);
    }

    #[test]
    fn bodies_by_length_chunks_and_the_end_of_the_connection() {
        let port = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nto the end",
        ]);
        let timeout = Duration::from_secs(5);
        let (mut wire, _) = connect("127.0.0.1", port, None, timeout, timeout).unwrap();
        let mut body = Vec::new();
        wire.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let head = read_response(&mut wire, "GET", &mut body, u64::MAX).unwrap();
        assert_eq!(
            (head.status, head.keep_alive, body.as_slice()),
            (200, true, &b"hello"[..])
        );
        assert_eq!(head.header("X-A"), Some("b"));
        body.clear();
        wire.write_all(b"POST / HTTP/1.1\r\n\r\n").unwrap();
        let head = read_response(&mut wire, "POST", &mut body, u64::MAX).unwrap();
        assert_eq!((head.status, body.as_slice()), (201, &b"abcde"[..]));
        // A HEAD's answer has a length and no body.
        body.clear();
        wire.write_all(b"HEAD / HTTP/1.1\r\n\r\n").unwrap();
        let head = read_response(&mut wire, "HEAD", &mut body, u64::MAX).unwrap();
        assert_eq!((head.status, body.len()), (200, 0));
        wire.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let head = read_response(&mut wire, "GET", &mut body, u64::MAX).unwrap();
        assert_eq!(
            (head.keep_alive, body.as_slice()),
            (false, &b"to the end"[..])
        );
    }
}
