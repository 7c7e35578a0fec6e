//! The body a request carries to an instance.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// How long a request's body the router will not pass on is read to its end (nginx's
/// `lingering_time`), and how long each part of it is waited for (its `lingering_timeout`).
const DISCARD_FOR: Duration = Duration::from_secs(30);
const DISCARD_WAIT: Duration = Duration::from_secs(5);

/// What goes to an instance: the client's body as it arrives, or nothing (a request sent
/// again, which had none).
///
/// A client's body left unread when its request is done with — its instance answered early
/// and closed, or the router answered itself — is read to its end and dropped (see
/// [`discard`]).
pub enum Upstream {
    /// The client's body (taken only as the request is dropped).
    Client(Option<Incoming>),
    Empty,
}

impl Upstream {
    pub fn client(body: Incoming) -> Self {
        Self::Client(Some(body))
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Self::Client(body) = self
            && let Some(body) = body.take()
        {
            discard(body);
        }
    }
}

/// Reads the rest of a request's body and drops it, for a bounded time, as nginx discards a
/// body it answered without: the client is still sending it, and a connection closed (or an
/// HTTP/2 stream reset) under a client's upload loses the answer already sent to it — most
/// clients send the whole body before they read. Read to its end, an HTTP/1.1 connection stays
/// open for the next request too.
pub fn discard(body: Incoming) {
    if body.is_end_stream() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut body = body;
        let _ = tokio::time::timeout(DISCARD_FOR, async {
            while let Ok(Some(Ok(_))) = tokio::time::timeout(DISCARD_WAIT, body.frame()).await {}
        })
        .await;
    });
}

impl Body for Upstream {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Client(Some(body)) => Pin::new(body).poll_frame(cx),
            Self::Client(None) | Self::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Client(Some(body)) => body.is_end_stream(),
            Self::Client(None) | Self::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Client(Some(body)) => body.size_hint(),
            Self::Client(None) | Self::Empty => SizeHint::with_exact(0),
        }
    }
}
