//! Connections to instances: a pool of kept-alive ones per instance and router thread, new
//! ones made as needed, and the probe that puts an instance which refused one back in
//! rotation once it accepts again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::descriptors::Exhausted;
use super::table::{self, Backend};
pub use super::upstream::Sender;

/// Idle connections kept per instance and router thread.
pub const MAX_IDLE_PER_THREAD: usize = 32;

/// A connection whose response has been read goes back to its instance's pool (this
/// thread's), unless the instance is going. Usually it is ready at once (its response's last
/// bytes were read on this thread before the client was given them); else a task waits.
pub fn give_back(backend: &Arc<Backend>, mut sender: Sender) {
    fn pool(backend: &Backend, sender: Sender) {
        if backend.is_draining() || sender.is_cut() {
            return;
        }
        let mut pool = backend.pool(table::worker()).lock().expect("pool lock");
        // Past the cap the connection closes: a burst does not leave a thousand idle
        // connections (and their buffers) behind.
        if pool.len() < MAX_IDLE_PER_THREAD {
            pool.push(sender);
        }
    }
    if sender.is_ready() {
        pool(backend, sender);
    } else if !sender.is_closed() && !sender.is_cut() {
        let backend = Arc::clone(backend);
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                pool(&backend, sender);
            }
        });
    }
}

/// An idle connection to the instance that can take a request now.
pub fn checkout(backend: &Backend) -> Option<Sender> {
    let mut pool = backend.pool(table::worker()).lock().expect("pool lock");
    while let Some(sender) = pool.pop() {
        if sender.is_ready() {
            return Some(sender);
        }
    }
    None
}

/// Why no new connection to an instance was made; either way nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// It refused the connection, or did not take it in time: out of rotation until it
    /// accepts again.
    #[error("the instance refused the connection")]
    Refused,
    /// The router had no descriptor for the socket: its own shortage, not the instance's.
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    /// Connected, but the connection failed before a request could go on it.
    #[error("the connection to the instance failed: {0}")]
    Failed(#[source] hyper::Error),
}

/// A new connection to the instance, and the time it took.
pub async fn connect(
    backend: &Backend,
    upgrade: bool,
    timeout: Duration,
) -> Result<(Sender, Duration), ConnectError> {
    let connecting = Instant::now();
    let address = SocketAddr::from(([127, 0, 0, 1], backend.route.port));
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            return Err(Exhausted::of(&error).map_or(ConnectError::Refused, From::from));
        }
        Err(_) => return Err(ConnectError::Refused),
    };
    let _ = stream.set_nodelay(true);
    let (sender, connection) = Sender::handshake(stream)
        .await
        .map_err(ConnectError::Failed)?;
    if upgrade {
        tokio::spawn(connection.with_upgrades());
    } else {
        tokio::spawn(connection);
    }
    Ok((sender, connecting.elapsed()))
}

/// Tries an instance that refused a connection until it accepts one, then puts it back.
pub async fn probe_back(backend: Arc<Backend>, timeout: Duration) {
    let address = SocketAddr::from(([127, 0, 0, 1], backend.route.port));
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if backend.is_draining() || Arc::strong_count(&backend) == 1 {
            return;
        }
        if let Ok(Ok(_)) = tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            backend.accept_again();
            return;
        }
    }
}
