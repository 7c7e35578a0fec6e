//! Accepting and serving client connections: the doors (HTTPS, plain HTTP, the redirect to
//! HTTPS), TLS and ALPN, hyper's HTTP/1.1 and HTTP/2 servers, and the release of an idle
//! connection's buffers. Each request goes on to [`crate::router::proxy::handle`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::task::{Context, Poll};
use tokio::net::{TcpListener, TcpStream};

use crate::router::descriptors::Exhausted;
use crate::router::headers;
use crate::router::proxy::{Meta, Peer, Protocol, ProxyBody, Shared, empty, full, handle};
use crate::router::watch::{Activity, Held, InProgress, Rest, Watched};

/// Where a connection came in: the router's address (HTTPS with `tls`), or the plain-HTTP
/// listener beside an HTTPS one, which serves the app or redirects to HTTPS.
#[derive(Clone)]
pub enum Door {
    Plain,
    Tls(Arc<crate::router::tls::Tls>),
    Redirect,
}

/// Accepts client connections on each listener, on this thread's runtime, until `shutdown`
/// says so; every connection and its instance connections stay on this thread.
pub async fn serve(
    listeners: Vec<(TcpListener, Door)>,
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut accepting = tokio::task::JoinSet::new();
    for (listener, door) in listeners {
        accepting.spawn(accept(
            listener,
            door,
            Arc::clone(&shared),
            shutdown.clone(),
        ));
    }
    while accepting.join_next().await.is_some() {}
}

async fn accept(
    listener: TcpListener,
    door: Door,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    // When this thread last said it could not accept for want of descriptors.
    let mut told = None;
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&shared.permits).acquire_owned() => permit,
            _ = shutdown.changed() => return,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, address) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if let Some(exhausted) = Exhausted::of(&error) {
                    told = tell_exhausted(&shared, told, exhausted);
                }
                // Out of descriptors and the like: wait, do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (shared, door) = (Arc::clone(&shared), door.clone());
        tokio::spawn(async move {
            connection(stream, address, door, shared).await;
            drop(permit);
        });
    }
}

/// One client connection, from its first byte (a TLS handshake's, at an HTTPS door) to its
/// close.
async fn connection(stream: TcpStream, address: SocketAddr, door: Door, shared: Arc<Shared>) {
    // Counted on this thread's counters: the task stays on its router thread.
    shared.counters().open.fetch_add(1, Ordering::Relaxed);
    let _open = Open(&shared);
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::default());
    let watched = Watched::new(
        stream,
        Arc::clone(&activity),
        shared.limits.keepalive,
        shared.limits.header_read,
    );
    let peer = |protocol| Peer::of(address, &shared, protocol);
    match door {
        Door::Plain => {
            let peer = peer(Protocol::H1);
            // Boxed, here and below: the connection's task is as big as its largest state, and
            // an idle plain connection should not carry a TLS one's.
            Box::pin(serve_released(
                watched.releasable(),
                true,
                &activity,
                |activity| service(Arc::clone(&shared), peer.clone(), activity, false),
                &shared,
            ))
            .await;
        }
        Door::Redirect => {
            let peer = peer(Protocol::H1);
            Box::pin(serve_released(
                watched.releasable(),
                true,
                &activity,
                |activity| service(Arc::clone(&shared), peer.clone(), activity, true),
                &shared,
            ))
            .await;
        }
        Door::Tls(tls) => {
            Box::pin(serve_tls(
                watched.releasable(),
                tls,
                activity,
                peer,
                &shared,
            ))
            .await;
        }
    }
}

/// An HTTPS connection: the handshake (on the connection's clocks: a client that stalls in
/// it is closed as one that stalls in a request's head), then HTTP/2 or HTTP/1.1 as ALPN
/// chose.
async fn serve_tls(
    mut watched: Watched<TcpStream>,
    tls: Arc<crate::router::tls::Tls>,
    activity: Arc<Activity>,
    peer: impl Fn(Protocol) -> Peer,
    shared: &Arc<Shared>,
) {
    if plain_http_at_tls(watched.get_mut(), shared).await {
        return;
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
    let Ok(stream) = acceptor.accept(watched).await else {
        return;
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        activity.multiplexed();
        let service = service(Arc::clone(shared), peer(Protocol::H2Tls), activity, false);
        let _ = http2(shared)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    } else {
        let peer = peer(Protocol::H1Tls);
        serve_released(
            stream,
            false,
            &activity,
            |activity| service(Arc::clone(shared), peer.clone(), activity, false),
            shared,
        )
        .await;
    }
}

/// A client connection counted open until it closes.
struct Open<'a>(&'a Shared);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.counters().open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A client that speaks plain HTTP to the HTTPS port (its first byte a letter, where a TLS
/// handshake starts with 0x16) is told so in plain HTTP, as nginx and Go's servers do, rather
/// than with a TLS alert its client shows as garbage; `true` when it was (or the connection
/// ended before its first byte).
async fn plain_http_at_tls(stream: &mut TcpStream, shared: &Shared) -> bool {
    use tokio::io::AsyncWriteExt as _;
    let mut first = [0_u8; 1];
    let peeked = tokio::time::timeout(shared.limits.header_read, stream.peek(&mut first)).await;
    match peeked {
        Ok(Ok(1)) if first[0].is_ascii_alphabetic() => {
            let body =
                "This port serves HTTPS: use https:// (a plain HTTP request was sent to it)\n";
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            shared.counters().requests.fetch_add(1, Ordering::Relaxed);
            shared.counters().refused.fetch_add(1, Ordering::Relaxed);
            // Answered, then the request read and dropped until the client closes (a second
            // at most): closing with it unread would reset the connection, answer and all.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                stream.write_all(response.as_bytes()).await?;
                stream.shutdown().await?;
                let mut sink = [0_u8; 4096];
                while tokio::io::AsyncReadExt::read(stream, &mut sink).await? > 0 {}
                Ok::<_, std::io::Error>(())
            })
            .await;
            true
        }
        Ok(Ok(1)) => false,
        _ => true,
    }
}

/// hyper's HTTP/1.1 server as the router runs it: the header and idle clocks are
/// `Watched`'s, not hyper's (which has one timer for both).
fn http1(shared: &Shared) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .header_read_timeout(None)
        .max_buf_size(shared.limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
}

/// hyper's HTTP/2 server as the router runs it: streams at once per connection as nginx's
/// `http2_max_concurrent_streams` (128), a request's head at most `max_header_bytes`.
fn http2(shared: &Shared) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(128)
        .max_header_list_size(u32::try_from(shared.limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// An HTTP/1.1 connection whose buffers go while it is idle: hyper's connection is made when
/// the client's first bytes come (at once after a TLS handshake, which may have brought
/// them), ended (the socket and any TLS session kept) once it has been idle
/// [`crate::router::watch::RELEASE_AFTER`], and made again when the next request comes — an idle
/// client holds no buffer (issue 32: 16 KiB each before).
async fn serve_released<IO, S>(
    mut io: IO,
    rest_first: bool,
    activity: &Arc<Activity>,
    make_service: impl Fn(Arc<Activity>) -> S,
    shared: &Shared,
) where
    IO: Rest + tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Guarded> + Unpin,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut rest = rest_first;
    loop {
        if rest {
            let resting = &shared.counters().resting;
            resting.fetch_add(1, Ordering::Relaxed);
            let rested = io.rest().await;
            // The same thread's counter: a task stays on its router thread.
            resting.fetch_sub(1, Ordering::Relaxed);
            if rested.is_err() {
                return;
            }
        }
        rest = true;
        // Boxed: it is the buffers' owner, gone while the connection rests.
        let held = Held::new(io, Arc::clone(activity));
        let mut connection = Box::new(
            http1(shared)
                .serve_connection(TokioIo::new(held), make_service(Arc::clone(activity)))
                .with_upgrades(),
        );
        let ended = std::future::poll_fn(|cx| {
            loop {
                let polled = Pin::new(&mut *connection).poll(cx);
                if polled.is_pending() && activity.wants_release() && !activity.releasing() {
                    activity.begin_release();
                    Pin::new(&mut *connection).graceful_shutdown();
                    continue;
                }
                return polled;
            }
        })
        .await;
        if ended.is_err() || !activity.releasing() {
            return;
        }
        let Some(parts) = connection.into_parts() else {
            return;
        };
        if !parts.read_buf.is_empty() {
            // Never at rest with bytes unread; if it were, closing is the safe way out.
            return;
        }
        io = parts.io.into_inner().into_inner();
    }
}

/// Accepting failed for want of descriptors: said at most every 10 s per router thread (it
/// is tried again every 50 ms); the connections wait in the kernel's backlog meanwhile.
fn tell_exhausted(shared: &Shared, told: Option<Instant>, exhausted: Exhausted) -> Option<Instant> {
    if told.is_some_and(|at| at.elapsed() < Duration::from_secs(10)) {
        return told;
    }
    (shared.say)(format!(
        "at=error code=too-many-open-files desc=\"cannot accept a connection: {exhausted}; connections wait in the backlog\""
    ));
    Some(Instant::now())
}

/// The service a client connection's requests go to: [`handle`], each request's place on
/// the connection held until its response is written, `Strict-Transport-Security` on what
/// goes out over TLS when asked.
fn service(
    shared: Arc<Shared>,
    peer: Peer,
    activity: Arc<Activity>,
    redirecting: bool,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Guarded>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<Guarded>, Infallible>> + Send + 'static,
> + Clone
+ Unpin {
    hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let peer = peer.clone();
        let in_progress = activity.begin();
        let activity = Arc::clone(&activity);
        async move {
            // The plain-HTTP listener redirects — but not what a trusted proxy says it
            // took over HTTPS (a load balancer that ends TLS and forwards here would loop).
            if redirecting && !(peer.trusted && headers::forwarded_https(request.headers())) {
                return Ok(redirected(&shared, &peer, request));
            }
            let tls = peer.protocol.tls();
            let mut response = handle(request, peer, &shared).await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                activity.upgraded();
            }
            if tls && let Some(hsts) = &shared.hsts {
                response
                    .headers_mut()
                    .entry(header::STRICT_TRANSPORT_SECURITY)
                    .or_insert_with(|| hsts.clone());
            }
            Ok::<_, Infallible>(response.map(|body| Guarded {
                body,
                _in_progress: Some(in_progress),
            }))
        }
    })
}

/// The plain-HTTP listener's answer when it redirects: `308` to the same target over HTTPS
/// at the router's port (the method and body kept, as Caddy redirects) — or, from a trusted
/// proxy that names the host the client asked for (`X-Forwarded-Host`), to that host on
/// HTTPS's own port.
fn redirected(shared: &Shared, peer: &Peer, request: Request<Incoming>) -> Response<Guarded> {
    // Counted and told as every request is (the router's own answer, as a refusal's).
    shared.counters().requests.fetch_add(1, Ordering::Relaxed);
    let meta = Meta::of(&request, peer);
    let target = if peer.trusted
        && let Some(host) = headers::forwarded_host(request.headers())
    {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str);
        HeaderValue::try_from(format!("https://{host}{path}")).ok()
    } else {
        https_target(&request, shared.listen.port())
    };
    super::body::discard(request.into_body());
    if shared.limits.log_requests {
        meta.tell_redirect(shared, if target.is_some() { 308 } else { 400 });
    }
    let response = if let Some(location) = target {
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        response.headers_mut().insert(header::LOCATION, location);
        response
    } else {
        shared.counters().refused.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(full(
            "a request needs a Host header to be redirected to HTTPS\n",
        ));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    response.map(|body| Guarded {
        body,
        _in_progress: None,
    })
}

/// `https://HOST[:PORT]/path?query` for a request to the plain-HTTP listener: its host without
/// the port it came to, the router's HTTPS port unless it is 443.
fn https_target<B>(request: &Request<B>, https_port: u16) -> Option<HeaderValue> {
    let host = request
        .uri()
        .authority()
        .map(|a| a.host().to_owned())
        .or_else(|| {
            let host = request.headers().get(header::HOST)?.to_str().ok()?;
            let authority = host.parse::<hyper::http::uri::Authority>().ok()?;
            Some(authority.host().to_owned())
        })
        .filter(|h| !h.is_empty())?;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let location = if https_port == 443 {
        format!("https://{host}{target}")
    } else {
        format!("https://{host}:{https_port}{target}")
    };
    HeaderValue::try_from(location).ok()
}

/// A response body that holds its request's place on the connection (off the idle and
/// header clocks) until hyper is done with it. (Not `map_frame`: that hides the body's size,
/// and hyper would then send the router's own responses chunked.)
pub struct Guarded {
    body: ProxyBody,
    _in_progress: Option<InProgress>,
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
