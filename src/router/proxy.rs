//! The proxy: hyper's HTTP/1.1 server on the client side, hyper's client connections (kept
//! alive, pooled per instance) on the instance side, and the rules between them: which
//! instance, when to retry (only a request no byte of which reached an app), what the app is
//! told, and the errors a real edge gives.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use tokio::sync::Semaphore;

use super::descriptors::Exhausted;
use super::headers;
use super::line::{self, logfmt};
use super::pool::{self, ConnectError, Sender};
use super::sides::{self, Choice};
use super::table::{self, Backend, InFlight, Table};
use super::upgrade;

/// What the router answers a client with: an instance's body as it arrives, or one of the
/// router's own. Not a boxed `dyn Body`: that was an allocation, and a call through a
/// pointer for each frame, on every response.
pub struct ProxyBody(Answer);

// The large variant is nearly every response's: boxing it would be the allocation saved.
#[allow(clippy::large_enum_variant)]
enum Answer {
    Passed(Counted),
    Own(Option<Bytes>),
    Empty,
}

pub use super::body::Upstream;

/// The router's limits and timeouts (`[router]` in dozen.toml, docs/router.md).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connecting to an instance (on loopback a refusal is immediate).
    pub connect: Duration,
    /// From the request sent to the response's head (Heroku's 30 s, error H12).
    pub first_byte: Duration,
    /// How long a request waits for a ready instance before a 503.
    pub queue: Duration,
    /// Reading a request's head, from its first byte (slowloris).
    pub header_read: Duration,
    /// A kept-alive client connection with no request, before it is closed
    /// (`keepalive_timeout`).
    pub keepalive: Duration,
    /// Client connections at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Bytes of a request's head.
    pub max_header_bytes: usize,
    /// A line per request in the formation's stream (errors are always told).
    pub log_requests: bool,
    /// Round-robin instead of least outstanding requests.
    pub round_robin: bool,
    /// How a client stays on one side of a deploy (docs/deploy.md).
    pub sticky: sides::Sticky,
    /// Peers whose forwarding headers are kept (`[router] trusted_proxies`).
    pub trusted_proxies: Vec<crate::cidr::Cidr>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(30),
            queue: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            // nginx's `keepalive_timeout` (docs/router.md says why).
            keepalive: Duration::from_secs(75),
            max_connections: 10_000,
            max_header_bytes: 64 * 1024,
            log_requests: true,
            round_robin: false,
            sticky: sides::Sticky::Off,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Requests the router answered itself, by cause: one set per router thread, on a cache
/// line of its own (no two threads count on the same memory), summed for `dozen ps`.
#[derive(Default)]
#[repr(align(128))]
pub struct Counters {
    pub requests: AtomicU64,
    /// 502: the instance failed the request.
    pub bad_gateway: AtomicU64,
    /// 503: no instance was ready.
    pub unavailable: AtomicU64,
    /// 504: no response head in time.
    pub timeout: AtomicU64,
    /// 400/405: not a request for this app (a bad `Host`, absolute-form to another host,
    /// CONNECT).
    pub refused: AtomicU64,
    /// Idempotent requests sent again after their instance failed them.
    pub retried: AtomicU64,
    /// Client connections at rest now: waiting for a request, holding no buffers.
    pub resting: AtomicU64,
    /// Client connections open now.
    pub open: AtomicU64,
    /// Requests an instance answered, by the time from their arrival to their response's
    /// end: one count per bucket of [`LATENCY_BOUNDS`] and one over the last.
    pub latency: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    pub latency_sum_micros: AtomicU64,
}

/// The latency histogram's upper bounds, in seconds: Prometheus' default buckets.
pub const LATENCY_BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Counters {
    /// A request an instance answered, `took` from its arrival to its response's end.
    pub fn answered_in(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// What every connection's tasks share.
pub struct Shared {
    pub table: Table,
    pub limits: Limits,
    pub listen: SocketAddr,
    /// One per router thread ([`Shared::counters`]).
    pub counters: Vec<Counters>,
    /// Client connections at once, over every router thread.
    pub permits: Arc<Semaphore>,
    /// The router's own lines (errors it answered), for the formation's stream.
    pub say: Box<dyn Fn(String) + Send + Sync>,
    /// `Strict-Transport-Security` on responses over TLS (`[router] hsts`).
    pub hsts: Option<HeaderValue>,
    /// `[flags] header`.
    pub flags: Option<crate::router::flag_header::FlagHeader>,
}

impl Shared {
    /// This router thread's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters[table::worker() % self.counters.len()]
    }

    /// Every thread's counter `which`, summed.
    pub fn total(&self, which: impl Fn(&Counters) -> &AtomicU64) -> u64 {
        self.counters
            .iter()
            .map(|c| which(c).load(Ordering::Relaxed))
            .sum()
    }
}

/// What a connection speaks, as its router lines say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    H1,
    H1Tls,
    H2Tls,
}

impl Protocol {
    pub(crate) fn tls(self) -> bool {
        self != Self::H1
    }

    /// `protocol=` in a router line.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::H1 => "h1",
            Self::H1Tls => "h1+tls",
            Self::H2Tls => "h2+tls",
        }
    }
}

/// Who a connection is from, as a request's handling needs it.
#[derive(Clone)]
pub(crate) struct Peer {
    /// Its address, as `X-Forwarded-For` gives it.
    pub(crate) client: HeaderValue,
    /// On this machine: `X-Dozen-Side` steers its requests.
    pub(crate) local: bool,
    /// A trusted proxy: its forwarding headers are kept.
    pub(crate) trusted: bool,
    pub(crate) protocol: Protocol,
}

impl Peer {
    pub(crate) fn of(address: SocketAddr, shared: &Shared, protocol: Protocol) -> Self {
        Self {
            client: headers::client_ip(address),
            // `X-Dozen-Side` steers a request only from this machine (smoke tests, a tester
            // on the host): from anywhere else anyone could veto or dilute a canary.
            local: address.ip().to_canonical().is_loopback(),
            trusted: shared
                .limits
                .trusted_proxies
                .iter()
                .any(|range| range.contains(address.ip())),
            protocol,
        }
    }
}

/// Why sending to an instance did not give a response.
enum SendError {
    /// Nothing reached the app: the request comes back, to go elsewhere. `refused` when the
    /// instance refused the connection (it leaves the rotation until it accepts again).
    NotSent {
        request: Box<Request<Upstream>>,
        refused: bool,
    },
    /// The request (or part of it) was sent: never retried.
    Failed(String),
    TimedOut,
    /// The router had no descriptor for a connection: nothing was sent, and nothing would be
    /// sent elsewhere either.
    Exhausted(Exhausted),
}

pub(crate) async fn handle(
    request: Request<Incoming>,
    peer: Peer,
    shared: &Arc<Shared>,
) -> Response<ProxyBody> {
    let (received, mut request) = (SystemTime::now(), request.map(Upstream::client));
    shared.counters().requests.fetch_add(1, Ordering::Relaxed);
    let meta = Meta::of(&request, &peer);
    if let Some(response) = turned_away(&request, shared, &meta) {
        shared.counters().refused.fetch_add(1, Ordering::Relaxed);
        return response;
    }
    let table = &shared.table;
    let choice = sides::choose_side(
        request.headers(),
        peer.local,
        table.weight(),
        table.two_sides(),
        &shared.limits.sticky,
        headers::random,
    );
    // What the client asks to switch to (h2c never): a `101` must answer it.
    let offer = upgrade::offer(request.headers_mut());
    let upgrade = offer.is_some();
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    // An idempotent request without a body can be sent again if its instance fails it before
    // any of the response came back (a `kill -9` mid-request), as nginx retries one. The
    // copy is of the client's head (fewer headers than the prepared one), prepared if used.
    let mut replay = (!upgrade).then(|| replay_copy(&request)).flatten();
    prepare(&mut request, upgrade, shared, &meta, received);
    let mut tried = Vec::new();
    let deadline = meta.started + shared.limits.queue;
    loop {
        let Some(backend) = next_backend(shared, &tried, deadline, choice).await else {
            return unavailable(shared, &meta);
        };
        let in_flight = backend.begin();
        // The first attempt counts from the request's arrival (picking took well under a
        // microsecond; one clock read fewer per request), a retry from its own start.
        let sent_at = if tried.is_empty() {
            meta.started
        } else {
            Instant::now()
        };
        match send_counted(&backend, request, upgrade, shared, !choice.strict).await {
            Ok((response, ..)) if upgrade::unasked(offer.as_ref(), &response) => {
                // Its connection goes with the response: it speaks something else now.
                let cause = "switched protocols (101) to what the client did not ask for";
                return bad_gateway(shared, &backend, &meta, !choice.strict, cause);
            }
            Ok((response, connect, sender)) => {
                let service = sent_at.elapsed().saturating_sub(connect);
                answered_by(shared, &backend, response.status(), service, !choice.strict);
                // Its latency is counted, and its line told, when the response ends.
                let id = meta.id.clone();
                let ending = Ending {
                    shared: Arc::clone(shared),
                    started: meta.started,
                    line: shared.limits.log_requests.then(|| Access {
                        status: response.status().as_u16(),
                        connect,
                        service,
                        instance: backend.route.name.clone(),
                        bytes: 0,
                        meta,
                    }),
                };
                let mut response =
                    pass_back(response, client_upgrade, in_flight, sender, id, ending);
                if choice.set_cookie {
                    let cookie = sides::side_cookie(backend.side());
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
                return response;
            }
            Err(SendError::NotSent {
                request: returned,
                refused,
            }) => {
                if refused && backend.refuse() {
                    tokio::spawn(pool::probe_back(
                        Arc::clone(&backend),
                        shared.limits.connect,
                    ));
                }
                tried.push(backend.route.id);
                request = *returned;
            }
            Err(SendError::Exhausted(exhausted)) => {
                return out_of_descriptors(shared, &backend, &meta, exhausted);
            }
            Err(SendError::TimedOut) => {
                return timed_out(shared, &backend, &meta, !choice.strict);
            }
            Err(SendError::Failed(cause)) if replay.is_some() => {
                failed_by(shared, &backend, !choice.strict);
                shared.counters().retried.fetch_add(1, Ordering::Relaxed);
                meta.tell(shared, "retried", 0, Some(&backend), &cause);
                tried.push(backend.route.id);
                let mut again = replay.take().expect("checked");
                prepare(&mut again, false, shared, &meta, received);
                request = again.map(|()| Upstream::Empty);
            }
            Err(SendError::Failed(cause)) => {
                return bad_gateway(shared, &backend, &meta, !choice.strict, &cause);
            }
        }
    }
}

/// An instance answered a request: its service time and status, counted for it and — unless a
/// tester steered it (`X-Dozen-Side`), which says nothing of the users' traffic — its side.
fn answered_by(
    shared: &Shared,
    backend: &Backend,
    status: StatusCode,
    service: Duration,
    by_weight: bool,
) {
    backend.answered(status.as_u16(), service);
    if status.is_server_error() {
        backend.errors.fetch_add(1, Ordering::Relaxed);
    }
    // Each side's counts are a canary's analysis: kept only while a deploy has two sides
    // (a histogram more per request otherwise, for nothing).
    if by_weight && shared.table.two_sides() {
        let side = shared.table.stats(backend.side());
        side.answered(status.as_u16(), service);
    }
}

/// An instance failed a request (no response, or none in time): counted against it and —
/// unless a tester steered it — its side.
fn failed_by(shared: &Shared, backend: &Backend, by_weight: bool) {
    backend.errors.fetch_add(1, Ordering::Relaxed);
    if by_weight && shared.table.two_sides() {
        shared.table.stats(backend.side()).failed();
    }
}

/// The instance failed the request (no response, or one the router must not pass on): a
/// 502, counted against it.
fn bad_gateway(
    shared: &Shared,
    backend: &Backend,
    meta: &Meta,
    by_weight: bool,
    cause: &str,
) -> Response<ProxyBody> {
    failed_by(shared, backend, by_weight);
    shared
        .counters()
        .bad_gateway
        .fetch_add(1, Ordering::Relaxed);
    meta.tell(shared, "instance-failed", 502, Some(backend), cause);
    let text = "the app failed this request\n";
    error(StatusCode::BAD_GATEWAY, text, &meta.id)
}

/// No response head from the instance in time: a 504, counted against it.
fn timed_out(
    shared: &Shared,
    backend: &Backend,
    meta: &Meta,
    by_weight: bool,
) -> Response<ProxyBody> {
    failed_by(shared, backend, by_weight);
    shared.counters().timeout.fetch_add(1, Ordering::Relaxed);
    let desc = format!("no response within {}s", shared.limits.first_byte.as_secs());
    meta.tell(shared, "timeout", 504, Some(backend), &desc);
    let text = "the app did not answer in time\n";
    error(StatusCode::GATEWAY_TIMEOUT, text, &meta.id)
}

/// The router had no descriptor for a connection to the instance: a 503 at once, told as
/// that. The instance refused nothing and stays in rotation.
fn out_of_descriptors(
    shared: &Shared,
    backend: &Backend,
    meta: &Meta,
    exhausted: Exhausted,
) -> Response<ProxyBody> {
    shared
        .counters()
        .unavailable
        .fetch_add(1, Ordering::Relaxed);
    let desc = format!("the router could not connect to the instance: {exhausted}");
    meta.tell(shared, "too-many-open-files", 503, Some(backend), &desc);
    let text = "the router has too many open files to serve this request now\n";
    error(StatusCode::SERVICE_UNAVAILABLE, text, &meta.id)
}

/// No instance became ready in time: a 503.
fn unavailable(shared: &Shared, meta: &Meta) -> Response<ProxyBody> {
    shared
        .counters()
        .unavailable
        .fetch_add(1, Ordering::Relaxed);
    let desc = "no instance of the routed type is ready";
    meta.tell(shared, "no-instance", 503, None, desc);
    let text = "no instance is ready to serve this request\n";
    error(StatusCode::SERVICE_UNAVAILABLE, text, &meta.id)
}

/// What the router's lines say of every request.
#[derive(Clone)]
pub(crate) struct Meta {
    id: HeaderValue,
    method: Method,
    /// With its query string, the values of keys that look secret masked
    /// ([`shown_target`]).
    path: String,
    started: Instant,
    /// The client's IP address.
    client: HeaderValue,
    /// Whether the client is a trusted proxy.
    trusted: bool,
    protocol: Protocol,
    /// The host it asked for ([`line::host`]).
    host: Option<HeaderValue>,
}

impl Meta {
    /// What a line will say of `request`, received now from `peer`.
    pub(crate) fn of<B>(request: &Request<B>, peer: &Peer) -> Self {
        Self {
            id: headers::request_id(request.headers()),
            method: request.method().clone(),
            path: line::shown_target(request.uri()),
            started: Instant::now(),
            client: peer.client.clone(),
            trusted: peer.trusted,
            protocol: peer.protocol,
            host: line::host(request),
        }
    }

    /// ` host=…` for a line, or nothing when the request named none.
    fn host(&self) -> String {
        self.host.as_ref().map_or_else(String::new, |host| {
            format!(" host=\"{}\"", line::logfmt_value(host))
        })
    }

    /// The line of a request the plain-HTTP listener answered with a redirect to HTTPS (or,
    /// without a `Host`, a 400), as a served request's line.
    pub(crate) fn tell_redirect(&self, shared: &Shared, status: u16) {
        (shared.say)(format!(
            "at=info method={} path=\"{}\"{} status={status} bytes=0 request_id={} fwd=\"{}\" protocol={} desc=\"redirected to HTTPS\"",
            self.method,
            logfmt(&self.path),
            self.host(),
            self.id.to_str().unwrap_or_default(),
            logfmt(self.client.to_str().unwrap_or_default()),
            self.protocol.label()
        ));
    }

    /// One of the router's error lines, as Heroku's router writes them.
    fn tell(
        &self,
        shared: &Shared,
        code: &str,
        status: u16,
        instance: Option<&Backend>,
        desc: &str,
    ) {
        let instance = instance.map_or_else(String::new, |b| format!(" instance={}", b.route.name));
        // A status of 0: not an answer, a warning (a request sent again).
        let (level, status) = match status {
            0 => ("warning", String::new()),
            status => ("error", format!(" status={status}")),
        };
        (shared.say)(format!(
            "at={level} code={code}{status} method={} path=\"{}\"{}{instance} request_id={} desc=\"{}\" protocol={}",
            self.method,
            logfmt(&self.path),
            self.host(),
            self.id.to_str().unwrap_or_default(),
            logfmt(desc),
            self.protocol.label()
        ));
    }
}

/// A copy of the head of a GET, HEAD or OPTIONS without a body, to send again: it cannot do
/// anything twice.
fn replay_copy<B>(request: &Request<B>) -> Option<Request<()>> {
    let headers = request.headers();
    let replayable = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0");
    replayable.then(|| {
        let mut copy = Request::new(());
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        *copy.version_mut() = request.version();
        *copy.headers_mut() = headers.clone();
        copy
    })
}

/// The request as the instance gets it: its hop's headers off, the forwarding headers on,
/// its target in origin-form.
fn prepare<B>(
    request: &mut Request<B>,
    upgrade: bool,
    shared: &Shared,
    meta: &Meta,
    received: SystemTime,
) {
    let listen_port = shared.listen.port();
    if let Some(authority) = request.uri().authority() {
        // Absolute-form to the router's own address: its authority is the host, whatever
        // `Host` said (RFC 9112 §3.2.2), and the instance gets origin-form.
        if let Some(host) = headers::host_of(authority) {
            request.headers_mut().insert(header::HOST, host);
        }
        let origin_form = request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        *request.uri_mut() = origin_form
            .parse::<Uri>()
            .unwrap_or_else(|_| Uri::from_static("/"));
    }
    // An HTTP/2 request goes on as HTTP/1.1 (its `:authority` is its `Host`, set above).
    *request.version_mut() = hyper::Version::HTTP_11;
    headers::strip_hop_by_hop(request.headers_mut(), upgrade);
    headers::add_forwarded(
        request.headers_mut(),
        &headers::Client {
            ip: &meta.client,
            port: listen_port,
            https: meta.protocol.tls(),
            trusted: meta.trusted,
        },
        &meta.id,
        received,
    );
    if let Some(flags) = &shared.flags {
        flags.stamp(request);
    }
}

/// The instance's response on its way to the client: streamed, hop-by-hop headers off, the
/// request id on; a `101` to an upgrade turns both connections into one tunnel.
fn pass_back(
    mut response: Response<Incoming>,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    in_flight: InFlight,
    sender: Option<Sender>,
    id: HeaderValue,
    ending: Ending,
) -> Response<ProxyBody> {
    if let (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS) =
        (client_upgrade, response.status())
    {
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(upgrade::tunnel(client_upgrade, upstream_upgrade, in_flight));
        let (parts, _) = response.into_parts();
        let mut response = Response::from_parts(parts, empty());
        response.headers_mut().insert(headers::X_REQUEST_ID, id);
        return response;
    }
    // With both lengths the chunks frame the body (hyper read it so), and an intermediary
    // forwarding such a message must drop the `Content-Length` first (RFC 9112 §6.3): hyper
    // would frame the client's copy by it, cutting the body short as if complete.
    if response.headers().contains_key(header::TRANSFER_ENCODING) {
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    headers::strip_hop_by_hop(response.headers_mut(), false);
    response.headers_mut().insert(headers::X_REQUEST_ID, id);
    response.map(|body| {
        ProxyBody(Answer::Passed(Counted {
            inner: body,
            in_flight,
            sender,
            ending,
        }))
    })
}

/// The router's own answer to a request that is not the app's to get: not for this host, or
/// a gRPC call.
fn turned_away<B>(
    request: &Request<B>,
    shared: &Shared,
    meta: &Meta,
) -> Option<Response<ProxyBody>> {
    if let Some((status, text)) = refuse(request, shared) {
        // A line as every request has, where requests are lines (scanners send these).
        if shared.limits.log_requests {
            meta.tell(shared, "refused", status.as_u16(), None, text.trim_end());
        }
        return Some(error(status, text, &meta.id));
    }
    if is_grpc(request) {
        meta.tell(shared, "grpc-unsupported", 200, None, GRPC_MESSAGE);
        return Some(grpc_unimplemented(&meta.id));
    }
    None
}

/// What a gRPC client is told (docs/router.md, HTTP/2).
const GRPC_MESSAGE: &str = "dozen's router speaks HTTP/1.1 to instances and does not pass gRPC through; serve gRPC on a port of its own";

/// A gRPC call (HTTP/2, `application/grpc…`): it needs HTTP/2 to the instance, which the
/// router does not speak.
fn is_grpc<B>(request: &Request<B>) -> bool {
    request.version() == hyper::Version::HTTP_2
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"))
}

/// gRPC's own way to say a call is not served: a trailers-only response with
/// `grpc-status: 12` (UNIMPLEMENTED), which every gRPC client shows as that status and its
/// message — rather than an HTTP error it would report as a broken connection.
fn grpc_unimplemented(id: &HeaderValue) -> Response<ProxyBody> {
    let mut response = Response::new(empty());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from_static("12"));
    // Percent-encoded as gRPC asks: the message has spaces, a comma, a semicolon, a quote.
    let message: String = GRPC_MESSAGE
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::try_from(message) {
        headers.insert("grpc-message", value);
    }
    headers.insert(headers::X_REQUEST_ID, id.clone());
    response
}

/// A request with a bad `Host` is refused (400), as is one for another host: the router is
/// never an open proxy.
fn refuse<B>(request: &Request<B>, shared: &Shared) -> Option<(StatusCode, &'static str)> {
    if let Some(text) = headers::bad_host(request.version(), request.headers()) {
        return Some((StatusCode::BAD_REQUEST, text));
    }
    if request.method() == Method::CONNECT {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not served: this is not a proxy\n",
        ));
    }
    // In HTTP/2 every request has its authority (`:authority`, RFC 9113 §8.3.1): that is
    // its `Host`, not an absolute-form target to check.
    if request.version() == hyper::Version::HTTP_2 {
        return None;
    }
    let authority = request.uri().authority()?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host().trim_matches(['[', ']']);
    let ours = port == shared.listen.port()
        && (matches!(host, "localhost" | "127.0.0.1" | "::1")
            || host == shared.listen.ip().to_string());
    (!ours).then_some((
        StatusCode::BAD_REQUEST,
        "requests for other hosts are not served: this is not a proxy\n",
    ))
}

/// The instance for the next attempt: one in rotation not yet tried, waiting (until the
/// deadline) for one to become ready when none is.
async fn next_backend(
    shared: &Shared,
    tried: &[u64],
    deadline: Instant,
    choice: Choice,
) -> Option<Arc<Backend>> {
    // The chosen side, else (unless the request asked for its side) the other one: a
    // canary with no instance ready leaves its share to the stable side, not to a 503.
    let pick = |tried: &[u64]| {
        let round_robin = shared.limits.round_robin;
        shared
            .table
            .pick(tried, round_robin, Some(choice.side))
            .or_else(|| {
                (!choice.strict)
                    .then(|| {
                        shared
                            .table
                            .pick(tried, round_robin, Some(choice.side.other()))
                    })
                    .flatten()
            })
    };
    loop {
        let changed = shared.table.changed.notified();
        if let Some(backend) = pick(tried) {
            return Some(backend);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        // Woken by a change of the rotation, or every 50 ms (refusing instances come back
        // by a probe, which does not notify).
        let wait = (deadline - now).min(Duration::from_millis(50));
        let _ = tokio::time::timeout(wait, changed).await;
        if shared.table.has_candidates() {
            // Something may have come back that was tried before: try it again.
            if pick(tried).is_none() {
                return pick(&[]);
            }
        }
    }
}

/// Sends a request on a pooled or new connection: its response head, the time connecting
/// took (zero on a pooled connection), and the connection to give back.
/// [`send`], the request listed as waiting on its side until its answer comes (or does
/// not): what a canary's analysis sees of a side that hangs. Users' traffic only
/// (`by_weight`), as in [`answered_by`].
async fn send_counted(
    backend: &Arc<Backend>,
    request: Request<Upstream>,
    upgrade: bool,
    shared: &Shared,
    by_weight: bool,
) -> Result<(Response<Incoming>, Duration, Option<Sender>), SendError> {
    let table = &shared.table;
    let _waiting = (by_weight && table.two_sides()).then(|| table.stats(backend.side()).waiting());
    send(backend, request, upgrade, shared).await
}

async fn send(
    backend: &Arc<Backend>,
    request: Request<Upstream>,
    upgrade: bool,
    shared: &Shared,
) -> Result<(Response<Incoming>, Duration, Option<Sender>), SendError> {
    let pooled = (!upgrade).then(|| pool::checkout(backend)).flatten();
    let (mut sender, connect) = match pooled {
        Some(sender) => (sender, Duration::ZERO),
        None => match pool::connect(backend, upgrade, shared.limits.connect).await {
            Ok(sender) => sender,
            Err(ConnectError::Exhausted(exhausted)) => {
                return Err(SendError::Exhausted(exhausted));
            }
            Err(error) => {
                return Err(SendError::NotSent {
                    request: Box::new(request),
                    refused: matches!(error, ConnectError::Refused),
                });
            }
        },
    };
    let response = match tokio::time::timeout(
        shared.limits.first_byte,
        sender.try_send_request(request),
    )
    .await
    {
        Err(_) => return Err(SendError::TimedOut),
        Ok(Err(mut failed)) => {
            let cause = failed.error().to_string();
            return match failed.take_message() {
                // A pooled connection that closed before the request went out.
                Some(request) => Err(SendError::NotSent {
                    request: Box::new(request),
                    refused: false,
                }),
                None => Err(SendError::Failed(cause)),
            };
        }
        Ok(Ok(response)) => response,
    };
    // An upgraded connection is the tunnel's; any other goes back to the pool when the
    // response has been passed on.
    Ok((response, connect, (!upgrade).then_some(sender)))
}

/// A response body passed through as it arrives; the request stays in flight until it ends,
/// and its line is told then (or when the client goes first).
struct Counted {
    inner: Incoming,
    in_flight: InFlight,
    /// The connection the response came on, given back when the body has been read.
    sender: Option<Sender>,
    ending: Ending,
}

/// What is told when a response ends: its latency, always; its line, when lines are on.
struct Ending {
    shared: Arc<Shared>,
    /// When the request arrived.
    started: Instant,
    line: Option<Access>,
}

/// What the router's line says of a request, as Heroku's router puts it.
struct Access {
    meta: Meta,
    status: u16,
    connect: Duration,
    service: Duration,
    instance: String,
    bytes: u64,
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            pool::give_back(self.in_flight.backend(), sender);
        }
        let shared = &self.ending.shared;
        shared.counters().answered_in(self.ending.started.elapsed());
        if let Some(a) = self.ending.line.take() {
            (shared.say)(format!(
                "at=info method={} path=\"{}\"{} status={} bytes={} connect={}ms service={}ms total={}ms instance={} request_id={} fwd=\"{}\" protocol={}",
                a.meta.method,
                logfmt(&a.meta.path),
                a.meta.host(),
                a.status,
                a.bytes,
                a.connect.as_millis(),
                a.service.as_millis(),
                a.meta.started.elapsed().as_millis(),
                a.instance,
                a.meta.id.to_str().unwrap_or_default(),
                logfmt(a.meta.client.to_str().unwrap_or_default()),
                a.meta.protocol.label()
            ));
        }
    }
}

impl Body for Counted {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let (Poll::Ready(Some(Ok(frame))), Some(access)) = (&polled, self.ending.line.as_mut())
            && let Some(data) = frame.data_ref()
        {
            access.bytes += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().0 {
            Answer::Passed(counted) => Pin::new(counted).poll_frame(cx),
            Answer::Own(text) => Poll::Ready(text.take().map(|text| Ok(Frame::data(text)))),
            Answer::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Answer::Passed(counted) => counted.is_end_stream(),
            Answer::Own(text) => text.is_none(),
            Answer::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Answer::Passed(counted) => counted.size_hint(),
            Answer::Own(text) => SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64)),
            Answer::Empty => SizeHint::with_exact(0),
        }
    }
}

pub(crate) fn empty() -> ProxyBody {
    ProxyBody(Answer::Empty)
}

pub(crate) fn full(text: &'static str) -> ProxyBody {
    // As `Full` has it: an empty text is no frame.
    ProxyBody(Answer::Own(
        (!text.is_empty()).then(|| Bytes::from_static(text.as_bytes())),
    ))
}

/// One of the router's own responses: a status, a line of text, the request's id.
fn error(status: StatusCode, text: &'static str, id: &HeaderValue) -> Response<ProxyBody> {
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(headers::X_REQUEST_ID, id.clone());
    response
}

#[cfg(test)]
mod tests;
