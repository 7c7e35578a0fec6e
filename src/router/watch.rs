//! The two clocks of a client connection that hyper's one header timer cannot tell apart: how
//! long a kept-alive connection may sit idle between requests (`keepalive_timeout`), and how
//! long a client may take to send a request's head once it started (`header_timeout`,
//! slowloris). A request in progress, and a connection upgraded to a tunnel, are on neither
//! clock. An HTTP/2 connection (multiplexed: frames come at any time, pings too) has the
//! keep-alive clock only, from its last stream's end.
//!
//! And the moment a plain HTTP/1.1 connection has been idle long enough to give its buffers
//! back ([`RELEASE_AFTER`]): the proxy ends hyper's connection there without closing the
//! socket, and starts a new one when the client's next request comes.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What the proxy tells a connection's clocks: requests begin and end, the connection became
/// a tunnel.
#[derive(Default)]
pub struct Activity {
    in_progress: AtomicUsize,
    upgraded: AtomicBool,
    /// HTTP/2: no header clock.
    multiplexed: AtomicBool,
    /// The connection has been idle [`RELEASE_AFTER`]: its HTTP connection is to end, the
    /// socket to stay open ([`Held::poll_shutdown`] does not shut it).
    release: AtomicBool,
    /// hyper's connection was told to end.
    releasing: AtomicBool,
    /// The connection's task, waiting on a read while a request was in progress: woken when
    /// the request ends, so that its idle clock starts (no byte may come to wake it).
    waiting: Mutex<Option<Waker>>,
}

impl Activity {
    /// A request's head has been read: its clock stops until the guard is dropped (when its
    /// response has been written, or abandoned).
    pub fn begin(self: &Arc<Self>) -> InProgress {
        self.in_progress.fetch_add(1, Ordering::Relaxed);
        InProgress(Arc::clone(self))
    }

    /// The connection is a tunnel now (a `101`): no clock ends it.
    pub fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }

    /// The connection speaks HTTP/2.
    pub fn multiplexed(&self) {
        self.multiplexed.store(true, Ordering::Relaxed);
    }

    /// Whether the connection has been idle long enough to give its buffers back.
    pub fn wants_release(&self) -> bool {
        self.release.load(Ordering::Relaxed)
    }

    /// Whether hyper's connection was told to end, to release it.
    pub fn releasing(&self) -> bool {
        self.releasing.load(Ordering::Relaxed)
    }

    pub fn begin_release(&self) {
        self.releasing.store(true, Ordering::Relaxed);
    }

    fn busy(&self) -> bool {
        self.in_progress.load(Ordering::Relaxed) > 0
    }
}

/// How long a kept-alive HTTP/1.1 connection is idle before its buffers go: long enough that
/// a client sending request after request (a load test, a page's assets) never pays for new
/// ones, short enough that a burst of clients that then idle never holds all their buffers
/// at once — the allocator keeps what was used at the peak (nginx frees them at once).
pub const RELEASE_AFTER: Duration = Duration::from_millis(50);

/// A request in progress on a connection.
pub struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        if self.0.in_progress.fetch_sub(1, Ordering::Relaxed) == 1 {
            let waiting = self.0.waiting.lock().expect("waker lock").take();
            if let Some(waker) = waiting {
                waker.wake();
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests (or before the first): the idle clock runs.
    Idle,
    /// Between requests, after one was served, and not yet [`RELEASE_AFTER`] idle.
    Resting,
    /// Bytes of a head have come: the header clock runs (armed at the first wait).
    Head { armed: bool },
    /// A request is in progress.
    Busy,
}

/// A client connection under both clocks: a read that would wait past the running clock's
/// deadline fails with `TimedOut` instead, and hyper closes the connection.
pub struct Watched<IO> {
    io: IO,
    activity: Arc<Activity>,
    idle: Duration,
    header: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// When the connection last became idle (the keep-alive clock's start).
    idle_since: Instant,
    /// Whether its buffers go after [`RELEASE_AFTER`] (plain HTTP/1.1).
    releasable: bool,
    /// The last write did not go out whole: hyper holds bytes to send.
    write_pending: bool,
    /// No request yet.
    fresh: bool,
}

impl<IO> Watched<IO> {
    /// A new connection: it has `header` (or `idle`, if shorter) to send its first request.
    pub fn new(io: IO, activity: Arc<Activity>, idle: Duration, header: Duration) -> Self {
        Self {
            io,
            activity,
            idle,
            header,
            phase: Phase::Idle,
            deadline: Box::pin(tokio::time::sleep(idle.min(header))),
            idle_since: Instant::now(),
            releasable: false,
            write_pending: false,
            fresh: true,
        }
    }

    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// Its buffers go after [`RELEASE_AFTER`] idle ([`Activity::wants_release`]).
    #[must_use]
    pub fn releasable(mut self) -> Self {
        self.releasable = true;
        self
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.activity.upgraded.load(Ordering::Relaxed) {
            return polled;
        }
        if this.activity.busy() {
            this.phase = Phase::Busy;
            if polled.is_pending() {
                let mut waiting = this.activity.waiting.lock().expect("waker lock");
                if !waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waiting = Some(cx.waker().clone());
                }
            }
            return polled;
        }
        if this.activity.multiplexed.load(Ordering::Relaxed) {
            return this.poll_multiplexed(cx, polled);
        }
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                if matches!(this.phase, Phase::Idle | Phase::Resting | Phase::Busy) {
                    // Usually the whole head came in this read, and the request begins
                    // before the next one: the header clock is armed only if it must wait.
                    this.phase = Phase::Head { armed: false };
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                match this.phase {
                    Phase::Busy => {
                        // The response is out; the connection waits for the next request.
                        let now = Instant::now();
                        this.idle_since = now;
                        if this.releasable && RELEASE_AFTER < this.idle {
                            this.phase = Phase::Resting;
                            this.deadline.as_mut().reset(now + RELEASE_AFTER);
                        } else {
                            this.phase = Phase::Idle;
                            this.deadline.as_mut().reset(now + this.idle);
                        }
                    }
                    Phase::Head { armed: false } => {
                        this.phase = Phase::Head { armed: true };
                        this.deadline.as_mut().reset(Instant::now() + this.header);
                    }
                    Phase::Idle | Phase::Resting | Phase::Head { armed: true } => {}
                }
                if this.deadline.as_mut().poll(cx).is_ready() {
                    if this.phase == Phase::Resting && !this.write_pending {
                        // Idle long enough, everything sent: the HTTP connection may end
                        // (the proxy sees the flag once hyper is pending).
                        this.phase = Phase::Idle;
                        this.activity.release.store(true, Ordering::Relaxed);
                        this.deadline.as_mut().reset(this.idle_since + this.idle);
                        return Poll::Pending;
                    }
                    if this.phase == Phase::Resting {
                        // Bytes of the last response still wait on the client: keep-alive
                        // clock only.
                        this.phase = Phase::Idle;
                        this.deadline.as_mut().reset(this.idle_since + this.idle);
                        let _ = this.deadline.as_mut().poll(cx);
                        return Poll::Pending;
                    }
                    let what = match this.phase {
                        Phase::Head { .. } => "the request's head took too long",
                        _ => "the connection was idle too long",
                    };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
                }
                Poll::Pending
            }
            other @ Poll::Ready(_) => other,
        }
    }
}

impl<IO> Watched<IO> {
    /// HTTP/2: the keep-alive clock runs while no stream is open, from the last one's end;
    /// frames (pings, settings) do not stop it.
    fn poll_multiplexed(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<()>>,
    ) -> Poll<io::Result<()>> {
        if !polled.is_pending() {
            return polled;
        }
        if self.phase != Phase::Idle {
            self.phase = Phase::Idle;
            self.idle_since = Instant::now();
            self.deadline.as_mut().reset(self.idle_since + self.idle);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            )));
        }
        Poll::Pending
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.write_pending = !matches!(polled, Poll::Ready(Ok(n)) if n == buf.len());
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        this.write_pending = !matches!(polled, Poll::Ready(Ok(n)) if n == total);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A connection as hyper holds it: shutting it down does nothing while it is being released
/// (its HTTP connection ends; the socket, and a TLS session, stay open for the next
/// request — no FIN, no `close_notify`).
pub struct Held<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO> Held<IO> {
    pub fn new(io: IO, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }

    pub fn into_inner(self) -> IO {
        self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Held<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Held<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.activity.wants_release() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// A connection that can wait, holding no buffer, for its client's next request.
pub trait Rest {
    /// Waits until the client sends again, or the keep-alive clock ends the connection.
    fn rest(&mut self) -> impl std::future::Future<Output = io::Result<()>> + Send;
}

impl Rest for Watched<tokio::net::TcpStream> {
    /// The connection, its HTTP connection ended at rest: waits (no buffer held) until the
    /// client sends again, or the keep-alive clock ends it (`Err`).
    async fn rest(&mut self) -> io::Result<()> {
        self.activity.release.store(false, Ordering::Relaxed);
        self.activity.releasing.store(false, Ordering::Relaxed);
        self.phase = Phase::Idle;
        // A new connection has the header clock (or the idle one, if shorter) for its first
        // request, as before it was ever released.
        let until = if self.fresh {
            self.idle_since + self.idle.min(self.header)
        } else {
            self.idle_since + self.idle
        };
        self.fresh = false;
        tokio::select! {
            ready = self.io.readable() => ready,
            () = tokio::time::sleep_until(until) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            )),
        }
    }
}

impl Rest for tokio_rustls::server::TlsStream<Watched<tokio::net::TcpStream>> {
    fn rest(&mut self) -> impl std::future::Future<Output = io::Result<()>> + Send {
        self.get_mut().0.rest()
    }
}
