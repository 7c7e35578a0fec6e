//! The two clocks of a client connection that hyper's one header timer cannot tell apart: how
//! long a kept-alive connection may sit idle between requests (`idle_timeout`), and how long
//! a client may take to send a request's head once it started (`header_timeout`, slowloris).
//! A request in progress, and a connection upgraded to a tunnel, are on neither clock.

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

    fn busy(&self) -> bool {
        self.in_progress.load(Ordering::Relaxed) > 0
    }
}

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
        }
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
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                if matches!(this.phase, Phase::Idle | Phase::Busy) {
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
                        this.phase = Phase::Idle;
                        this.deadline.as_mut().reset(Instant::now() + this.idle);
                    }
                    Phase::Head { armed: false } => {
                        this.phase = Phase::Head { armed: true };
                        this.deadline.as_mut().reset(Instant::now() + this.header);
                    }
                    Phase::Idle | Phase::Head { armed: true } => {}
                }
                if this.deadline.as_mut().poll(cx).is_ready() {
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

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
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
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
