//! dozen's own HTTP router: one address in front of the routed process type (`web`), requests
//! only to ready instances, draining before an instance stops (docs/router.md).
//!
//! It runs on threads of its own (one per core, each a single-threaded tokio runtime) beside
//! the supervisor's thread, which tells it what is in rotation ([`Router::set_routes`]) and what is to drain
//! ([`Router::drain`]); everything else — the proxying, the pool of connections per instance,
//! the retries, the limits — happens on the runtime.

pub mod body;
pub mod descriptors;
pub mod devca;
pub mod flag_header;
pub mod headers;
pub mod line;
pub mod pool;
pub mod proxy;
pub mod serve;
pub mod sides;
pub mod table;
pub mod tls;
pub mod upgrade;
pub mod upstream;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use proxy::{LATENCY_BOUNDS, Limits};
pub use serve::Door;
pub use table::{OnDrained, Route, Side};

/// The router's default port: foreman's base port, where a `web` would otherwise listen.
pub const DEFAULT_PORT: u16 = 5000;

/// A running router; dropping it stops it.
pub struct Router {
    shared: Arc<proxy::Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    tls: Option<Arc<tls::Tls>>,
}

/// Where the router listens and what it speaks there.
pub struct Front {
    /// The router's address: HTTPS with `tls`, else plain HTTP.
    pub listener: std::net::TcpListener,
    pub tls: Option<Arc<tls::Tls>>,
    /// A plain-HTTP listener beside the HTTPS one, and whether it redirects to HTTPS.
    pub http: Option<(std::net::TcpListener, bool)>,
    /// `Strict-Transport-Security` on HTTPS responses.
    pub hsts: Option<hyper::header::HeaderValue>,
    /// `[flags] header`: each request's variants, passed on.
    pub flags: Option<flag_header::FlagHeader>,
}

impl Front {
    /// Plain HTTP on one listener.
    pub fn plain(listener: std::net::TcpListener) -> Self {
        Self {
            listener,
            tls: None,
            http: None,
            hsts: None,
            flags: None,
        }
    }
}

/// The router's threads: one per core (at most 8), each with a runtime of its own that
/// accepts on the shared listener and keeps its connections, client and instance side, on
/// that thread (no wake-up crosses threads on a request's way).
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8))
}

impl Router {
    /// Starts serving on bound listeners (bound early, so that a taken address is an error
    /// before anything starts): the router's address (the first, HTTPS when `front.tls`) and
    /// any plain-HTTP one beside it; `say` gets the router's own lines (the errors it
    /// answered), from its threads.
    pub fn start(
        front: Front,
        limits: Limits,
        say: Box<dyn Fn(String) + Send + Sync>,
    ) -> std::io::Result<Self> {
        let listen = front.listener.local_addr()?;
        let workers = workers();
        let shared = Arc::new(proxy::Shared {
            table: table::Table::new(workers),
            permits: Arc::new(tokio::sync::Semaphore::new(limits.max_connections)),
            limits,
            listen,
            counters: (0..workers).map(|_| proxy::Counters::default()).collect(),
            say,
            hsts: front.hsts,
            flags: front.flags,
        });
        let mut doors = vec![(
            front.listener,
            front.tls.clone().map_or(Door::Plain, Door::Tls),
        )];
        if let Some((listener, redirect)) = front.http {
            doors.push((
                listener,
                if redirect {
                    Door::Redirect
                } else {
                    Door::Plain
                },
            ));
        }
        for (listener, _) in &doors {
            listener.set_nonblocking(true)?;
        }
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut per_worker = Vec::new();
        for _ in 1..workers {
            per_worker.push(
                doors
                    .iter()
                    .map(|(l, door)| Ok((l.try_clone()?, door.clone())))
                    .collect::<std::io::Result<Vec<_>>>()?,
            );
        }
        per_worker.push(doors);
        let mut threads = Vec::new();
        for (worker, doors) in per_worker.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let listener = {
                let _entered = runtime.enter();
                doors
                    .into_iter()
                    .map(|(l, door)| Ok((tokio::net::TcpListener::from_std(l)?, door)))
                    .collect::<std::io::Result<Vec<_>>>()?
            };
            let (shared, watch) = (Arc::clone(&shared), watch.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("dozen-router-{worker}"))
                    .spawn(move || {
                        table::set_worker(worker);
                        runtime.block_on(serve::serve(listener, shared, watch));
                    })?,
            );
        }
        Ok(Self {
            shared,
            shutdown,
            threads,
            tls: front.tls,
        })
    }

    /// The router's TLS, when it serves HTTPS.
    pub fn tls(&self) -> Option<&Arc<tls::Tls>> {
        self.tls.as_ref()
    }

    /// Where it listens.
    pub fn listen(&self) -> SocketAddr {
        self.shared.listen
    }

    /// Exactly these instances are in rotation now.
    pub fn set_routes(&self, routes: &[Route]) {
        self.shared.table.set_routes(routes);
    }

    /// The candidate side's share of requests from now on, in basis points.
    pub fn set_weight(&self, basis_points: u32) {
        self.shared.table.set_weight(basis_points);
    }

    /// What the router counted of each side (stable, candidate), for a canary's analysis.
    pub fn side_snapshots(&self) -> (table::Snapshot, table::Snapshot) {
        let table = &self.shared.table;
        (
            table.stats(Side::Stable).snapshot(),
            table.stats(Side::Candidate).snapshot(),
        )
    }

    /// Takes an instance out of rotation; `on_drained` runs once its requests are done.
    pub fn drain(&self, id: u64, on_drained: OnDrained) {
        self.shared.table.drain(id, on_drained);
    }

    /// Requests in flight now (to every instance, draining ones included), and requests
    /// received since the router started: what the autoscalers measure.
    pub fn load(&self) -> (usize, u64) {
        let in_flight = self
            .shared
            .table
            .backends()
            .iter()
            .map(|b| b.in_flight())
            .sum();
        (in_flight, self.shared.total(|c| &c.requests))
    }

    /// What `dozen ps` shows of the router (its latency histogram included: every router
    /// thread's, summed).
    pub fn status(&self) -> Status {
        let shared = &self.shared;
        let two_sides = shared.table.two_sides();
        Status {
            candidate_share: two_sides.then(|| shared.table.weight()),
            listen: self.shared.listen.to_string(),
            https: self.tls.is_some(),
            requests: shared.total(|c| &c.requests),
            bad_gateway: shared.total(|c| &c.bad_gateway),
            unavailable: shared.total(|c| &c.unavailable),
            timeout: shared.total(|c| &c.timeout),
            refused: shared.total(|c| &c.refused),
            retried: shared.total(|c| &c.retried),
            connections: shared.total(|c| &c.open),
            idle_connections: shared.total(|c| &c.resting),
            latency: latency_of(shared),
            instances: self
                .shared
                .table
                .backends()
                .iter()
                .map(|b| InstanceStatus {
                    name: b.route.name.clone(),
                    side: match b.side() {
                        Side::Candidate => Some("candidate".to_owned()),
                        // Named too while a deploy has two sides: two rows share each name.
                        Side::Stable => two_sides.then(|| "stable".to_owned()),
                    },
                    port: b.route.port,
                    state: if b.is_draining() {
                        "draining"
                    } else if b.is_refusing() {
                        "refusing"
                    } else if self.shared.table.in_rotation(b.route.id) {
                        "in rotation"
                    } else {
                        "out"
                    }
                    .to_owned(),
                    in_flight: b.in_flight(),
                    requests: b.requests(),
                    errors: b.errors.load(Ordering::Relaxed),
                    responses: b
                        .responses()
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (format!("{}xx", i + 1), *n))
                        .filter(|(_, n)| *n > 0)
                        .collect(),
                    p50_us: b.latency_percentile(50.0).map(micros),
                    p99_us: b.latency_percentile(99.0).map(micros),
                })
                .collect(),
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl Drop for Router {
    /// Stops accepting; each thread's runtime, and what runs on it, ends with its thread.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Every router thread's latency histogram, summed.
fn latency_of(shared: &proxy::Shared) -> LatencyHistogram {
    let counts = (0..=proxy::LATENCY_BOUNDS.len())
        .map(|i| shared.total(|c| &c.latency[i]))
        .collect::<Vec<_>>();
    LatencyHistogram {
        count: counts.iter().sum(),
        sum_micros: shared.total(|c| &c.latency_sum_micros),
        counts,
    }
}

/// The router's latency histogram: requests an instance answered, from their arrival to
/// their response's end.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct LatencyHistogram {
    /// One count per bucket of [`proxy::LATENCY_BOUNDS`], then the count above the last.
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum_micros: u64,
}

impl LatencyHistogram {
    /// Each bucket's upper bound, as Prometheus writes it, and its own count (not cumulative).
    pub fn buckets(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        proxy::LATENCY_BOUNDS
            .iter()
            .zip(&self.counts)
            .map(|(bound, n)| (format!("{bound}"), *n))
    }
}

/// The router in `dozen ps --json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Status {
    pub listen: String,
    /// It serves HTTPS at `listen`.
    #[serde(default)]
    pub https: bool,
    pub requests: u64,
    pub bad_gateway: u64,
    pub unavailable: u64,
    pub timeout: u64,
    pub refused: u64,
    /// Idempotent requests sent to another instance after theirs failed them.
    pub retried: u64,
    /// Client connections open now.
    #[serde(default)]
    pub connections: u64,
    /// Of them, those waiting for their client's next request holding no buffers (nginx's
    /// `Waiting`).
    #[serde(default)]
    pub idle_connections: u64,
    /// While a deploy has two sides: the candidate side's share of requests, in basis points
    /// (10,000 once a blue-green deploy has switched; the stable side is then idle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_share: Option<u32>,
    /// Requests instances answered, by the time from their arrival to their response's end,
    /// since the run began: one count per bucket of the Prometheus default bounds (0.005 s
    /// to 10 s, docs/router.md "Metrics") and one over the last. Two of them a while apart
    /// give that while's percentiles (`dozen top`).
    #[serde(default)]
    pub latency: LatencyHistogram,
    pub instances: Vec<InstanceStatus>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct InstanceStatus {
    pub name: String,
    /// While a deploy has two sides, `candidate` for its new side and `stable` for the other
    /// (their instances have the same names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    pub port: u16,
    /// `in rotation`, `refusing` (probed until it accepts), `draining`, `out`.
    pub state: String,
    pub in_flight: usize,
    pub requests: u64,
    pub errors: u64,
    /// Its responses by status class (`2xx`: 1042), the classes it gave.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub responses: std::collections::BTreeMap<String, u64>,
    /// Service time percentiles (request sent to response head), in microseconds, to
    /// within a quarter.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}
