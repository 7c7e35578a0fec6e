//! The connection a request goes to an instance on.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::client::conn::http1::Connection;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::body::Upstream;

/// A connection to an instance, as a request is sent on it.
pub struct Sender {
    send: hyper::client::conn::http1::SendRequest<Upstream>,
    /// Its instance stopped reading it ([`Heard`]): it is never used again.
    cut: Arc<AtomicBool>,
}

impl std::ops::Deref for Sender {
    type Target = hyper::client::conn::http1::SendRequest<Upstream>;

    fn deref(&self) -> &Self::Target {
        &self.send
    }
}

impl std::ops::DerefMut for Sender {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.send
    }
}

impl Sender {
    /// HTTP/1.1 on a new connection to an instance: the sender, and the connection to run.
    pub async fn handshake(
        stream: TcpStream,
    ) -> hyper::Result<(Self, Connection<TokioIo<Heard>, Upstream>)> {
        let cut = Arc::new(AtomicBool::new(false));
        let heard = Heard {
            stream,
            cut: Arc::clone(&cut),
        };
        let (send, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(heard))
            .await?;
        Ok((Self { send, cut }, connection))
    }

    /// Whether its instance stopped reading it: it is not to be pooled.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Relaxed)
    }
}

/// The socket to an instance, on which an instance's early answer is heard.
///
/// An instance may answer before it has read the request's body — a `403` or `413` for an
/// upload it does not want — and close: its kernel resets the connection, the router's next
/// write of the body fails, and the request would fail with it (a `502`) though the answer is
/// in the router's receive buffer. Here a write that finds the instance gone is taken as done
/// and every later one is dropped, so the answer is read and passed on, as nginx and Go's
/// proxy pass it; the client's body goes on being read (and dropped) to its end, so the
/// client is not reset in the middle of its upload either. With no answer to read, reading
/// fails as the write would have: a `502`, as before. Such a connection is never pooled.
pub struct Heard {
    stream: TcpStream,
    cut: Arc<AtomicBool>,
}

impl Heard {
    /// A write's outcome, the instance being gone taken as the write done.
    fn written(&self, result: Poll<io::Result<usize>>, len: usize) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Err(error)) if gone(&error) => {
                self.cut.store(true, Ordering::Relaxed);
                Poll::Ready(Ok(len))
            }
            other => other,
        }
    }
}

fn gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

impl AsyncRead for Heard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Heard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(buf.len()));
        }
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.written(result, buf.len())
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if self.cut.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(len));
        }
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.written(result, len)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
