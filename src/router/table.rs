//! Which instances get requests: the rotation the supervisor sets (ready instances of the
//! routed type), the instances draining out of it, and what the router measured of each.
//! The supervisor's thread writes it; the router's tasks read it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::upstream::Sender;
use tokio::sync::Notify;

/// An instance the supervisor puts in rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The supervisor's id of the instance's current process.
    pub id: u64,
    /// `web.1`.
    pub name: String,
    pub port: u16,
    /// Which side of a deploy it is on (docs/deploy.md): the formation's instances are the
    /// stable side; a blue-green or canary deploy starts a candidate side beside them.
    pub side: Side,
}

/// The two sides of a deploy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Side {
    #[default]
    Stable,
    Candidate,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Self::Stable => "stable",
            Self::Candidate => "candidate",
        }
    }

    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Stable => Self::Candidate,
            Self::Candidate => Self::Stable,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Stable => 0,
            Self::Candidate => 1,
        }
    }
}

/// What the router measured of one side: what a canary's analysis compares.
#[derive(Default)]
pub struct SideStats {
    pub requests: AtomicU64,
    /// 5xx responses, and requests the side failed (connection failures, timeouts).
    pub errors: AtomicU64,
    /// Service times of its answered requests.
    pub latency: Histogram,
    /// Requests sent to it whose response head has not come back: when each was sent. A
    /// hung side answers nothing, so only these show it (issue 30, finding 7).
    waiting: Mutex<HashMap<u64, Instant>>,
    next_waiting: AtomicU64,
    /// When it last answered (or failed) a request.
    last_answer: Mutex<Option<Instant>>,
}

/// How many waiting requests a snapshot lists (the oldest are what matter; a side with more
/// is failing anyway).
const MAX_WAITING_LISTED: usize = 4096;

/// A request a side has not answered yet: listed until dropped.
pub struct Waiting<'a> {
    stats: &'a SideStats,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.stats
            .waiting
            .lock()
            .expect("waiting lock")
            .remove(&self.id);
    }
}

impl SideStats {
    /// A request is sent to the side: waiting until the guard is dropped.
    pub fn waiting(&self) -> Waiting<'_> {
        let id = self.next_waiting.fetch_add(1, Ordering::Relaxed);
        self.waiting
            .lock()
            .expect("waiting lock")
            .insert(id, Instant::now());
        Waiting { stats: self, id }
    }

    /// A request answered by the side: its status and service time.
    pub fn answered(&self, status: u16, service: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.latency.record(service);
        *self.last_answer.lock().expect("answer lock") = Some(Instant::now());
    }

    /// A request the side failed without answering.
    pub fn failed(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_answer.lock().expect("answer lock") = Some(Instant::now());
    }

    /// The counts now, to subtract from a later snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let mut waiting: Vec<Duration> = self
            .waiting
            .lock()
            .expect("waiting lock")
            .values()
            .map(|sent| now.saturating_duration_since(*sent))
            .collect();
        waiting.sort_unstable_by(|a, b| b.cmp(a));
        waiting.truncate(MAX_WAITING_LISTED);
        Snapshot {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latency: self.latency.counts(),
            waiting,
            since_answer: self
                .last_answer
                .lock()
                .expect("answer lock")
                .map(|at| now.saturating_duration_since(at)),
        }
    }
}

/// A side's counts at a moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub requests: u64,
    pub errors: u64,
    pub latency: Vec<u64>,
    /// How long each request still waiting for its answer has waited, longest first.
    pub waiting: Vec<Duration>,
    /// How long ago the side last answered a request (none yet: `None`).
    pub since_answer: Option<Duration>,
}

impl Snapshot {
    /// What happened between `earlier` and this one (what waits, and the last answer, are
    /// as of this one).
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            requests: self.requests.saturating_sub(earlier.requests),
            errors: self.errors.saturating_sub(earlier.errors),
            latency: self
                .latency
                .iter()
                .zip(earlier.latency.iter().chain(std::iter::repeat(&0)))
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
            waiting: self.waiting.clone(),
            since_answer: self.since_answer,
        }
    }

    /// Requests waiting longer than `hang` for their answer.
    pub fn stuck(&self, hang: Duration) -> u64 {
        self.waiting.iter().filter(|w| **w > hang).count() as u64
    }

    /// Errors per request (0 without requests).
    #[allow(clippy::cast_precision_loss)]
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// The `p`th percentile of the service times, to within a quarter.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        percentile_of(&self.latency, p)
    }
}

/// Called once, when a draining instance has nothing in flight.
pub type OnDrained = Box<dyn FnOnce() + Send>;

/// One instance, as the router knows it.
pub struct Backend {
    pub route: Route,
    /// Requests sent to it whose response has not ended.
    in_flight: AtomicUsize,
    /// Its responses with a 5xx status, and requests it failed (reset, timeout).
    pub errors: AtomicU64,
    /// It refused a connection: out of rotation until a probe connects again.
    refused: AtomicBool,
    /// Out of rotation for good: it is being stopped.
    draining: AtomicBool,
    on_drained: Mutex<Option<OnDrained>>,
    /// Idle keep-alive connections to it and what was counted of it, one of each per router
    /// thread: a connection is driven by the thread that made it, and used only there; the
    /// counts are summed when read (every request counted on a line both threads write made
    /// that line travel between cores, several times a request).
    locals: Vec<Local>,
    /// On a deploy's candidate side now: the supervisor moves an instance from one side to
    /// the other (a promoted canary is the formation) without it leaving the rotation.
    candidate: AtomicBool,
}

impl Backend {
    fn new(route: Route, workers: usize) -> Self {
        Self {
            candidate: AtomicBool::new(route.side == Side::Candidate),
            route,
            in_flight: AtomicUsize::new(0),
            errors: AtomicU64::new(0),
            refused: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            on_drained: Mutex::new(None),
            locals: (0..workers.max(1)).map(|_| Local::default()).collect(),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The side it is on now (the route it was added with says where it began).
    pub fn side(&self) -> Side {
        if self.candidate.load(Ordering::Acquire) {
            Side::Candidate
        } else {
            Side::Stable
        }
    }

    pub fn is_refusing(&self) -> bool {
        self.refused.load(Ordering::Acquire)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Marks it refusing; returns whether it was not already (the caller starts the probe).
    pub fn refuse(&self) -> bool {
        !self.refused.swap(true, Ordering::AcqRel)
    }

    pub fn accept_again(&self) {
        self.refused.store(false, Ordering::Release);
    }

    /// Router thread `worker`'s idle connections to it.
    pub fn pool(&self, worker: usize) -> &Mutex<Vec<Sender>> {
        &self.locals[worker % self.locals.len()].pool
    }

    /// This router thread's counts of it.
    fn local(&self) -> &Local {
        &self.locals[worker() % self.locals.len()]
    }

    /// A request begins: counted until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.local().requests.fetch_add(1, Ordering::Relaxed);
        InFlight {
            backend: Arc::clone(self),
        }
    }

    /// It answered a request: the response's status and its service time (request sent to
    /// response head).
    pub fn answered(&self, status: u16, service: Duration) {
        let local = self.local();
        local.latency.record(service);
        if let Some(class) = local
            .responses
            .get(usize::from(status / 100).wrapping_sub(1))
        {
            class.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests sent to it, by every router thread.
    pub fn requests(&self) -> u64 {
        self.locals
            .iter()
            .map(|l| l.requests.load(Ordering::Relaxed))
            .sum()
    }

    /// Its responses by status class (1xx to 5xx), by every router thread.
    pub fn responses(&self) -> [u64; 5] {
        let mut total = [0; 5];
        for local in &self.locals {
            for (sum, n) in total.iter_mut().zip(&local.responses) {
                *sum += n.load(Ordering::Relaxed);
            }
        }
        total
    }

    /// The `p`th percentile (0–100) of its service times, to within a quarter; `None`
    /// before its first answer.
    pub fn latency_percentile(&self, p: f64) -> Option<Duration> {
        let mut counts = vec![0; HISTOGRAM_BUCKETS];
        for local in &self.locals {
            for (sum, n) in counts.iter_mut().zip(local.latency.counts()) {
                *sum += n;
            }
        }
        percentile_of(&counts, p)
    }

    /// Out of rotation for good; `on_drained` runs once nothing is in flight (at once if
    /// nothing is). Its idle connections are closed: nothing will use them again.
    fn drain(&self, on_drained: OnDrained) {
        self.draining.store(true, Ordering::Release);
        for local in &self.locals {
            local.pool.lock().expect("pool lock").clear();
        }
        *self.on_drained.lock().expect("drain lock") = Some(on_drained);
        self.check_drained();
    }

    fn check_drained(&self) {
        if self.is_draining() && self.in_flight() == 0 {
            let callback = self.on_drained.lock().expect("drain lock").take();
            if let Some(callback) = callback {
                callback();
            }
        }
    }
}

/// One router thread's idle connections to an instance and counts of it, on cache lines of
/// their own.
#[derive(Default)]
#[repr(align(128))]
struct Local {
    pool: Mutex<Vec<Sender>>,
    requests: AtomicU64,
    /// Responses by status class: 1xx to 5xx.
    responses: [AtomicU64; 5],
    /// Service times (request sent to response head), for percentiles.
    latency: Histogram,
}

/// Holds a request's place in its backend's in-flight count.
pub struct InFlight {
    backend: Arc<Backend>,
}

impl InFlight {
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.backend.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.backend.check_drained();
    }
}

thread_local! {
    /// Which router thread this is (its pools of instance connections, its view of the
    /// rotation).
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as router thread `worker`.
pub fn set_worker(worker: usize) {
    WORKER.set(worker);
}

/// The current router thread.
pub fn worker() -> usize {
    WORKER.get()
}

/// One router thread's copy of the rotation, on a cache line of its own: picking an instance
/// touches no memory another router thread writes (only the supervisor's rare changes).
#[derive(Default)]
#[repr(align(128))]
struct View {
    rotation: RwLock<Vec<Arc<Backend>>>,
    /// Where the next pick starts looking (ties and round-robin take turns).
    next: AtomicUsize,
}

/// The rotation and every backend still known (draining ones until they are forgotten).
pub struct Table {
    /// The router's threads (each backend has a pool per thread).
    workers: usize,
    rotation: RwLock<Vec<Arc<Backend>>>,
    /// The rotation as each router thread reads it (a copy of `rotation`).
    views: Vec<View>,
    known: Mutex<HashMap<u64, Arc<Backend>>>,
    /// The ids the supervisor listed last (`set_routes`): a known backend not among them is a
    /// draining leftover, forgotten once its last request is done.
    listed: Mutex<std::collections::HashSet<u64>>,
    /// Woken whenever the rotation changes (requests waiting for a ready instance).
    pub changed: Notify,
    /// The candidate side's share of requests, in basis points (10,000 = all).
    weight: AtomicU32,
    /// Whether the rotation has a candidate side now (a deploy runs).
    two_sides: AtomicBool,
    /// Each side's measurements.
    stats: [SideStats; 2],
}

impl Default for Table {
    fn default() -> Self {
        Self::new(1)
    }
}

impl Table {
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            workers,
            rotation: RwLock::default(),
            views: (0..workers).map(|_| View::default()).collect(),
            known: Mutex::default(),
            listed: Mutex::default(),
            changed: Notify::new(),
            weight: AtomicU32::new(0),
            two_sides: AtomicBool::new(false),
            stats: [SideStats::default(), SideStats::default()],
        }
    }

    /// The candidate side's share of requests from now on, in basis points (at most 10,000).
    pub fn set_weight(&self, basis_points: u32) {
        self.weight
            .store(basis_points.min(10_000), Ordering::Release);
        self.changed.notify_waiters();
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Acquire)
    }

    /// Whether a deploy's candidate side is in the rotation.
    pub fn two_sides(&self) -> bool {
        self.two_sides.load(Ordering::Acquire)
    }

    /// What the router measured of a side.
    pub fn stats(&self, side: Side) -> &SideStats {
        &self.stats[side.index()]
    }

    /// `rotation` changed: every thread's view gets a copy.
    fn publish(&self, rotation: &[Arc<Backend>]) {
        for view in &self.views {
            *view.rotation.write().expect("table lock") = rotation.to_vec();
        }
    }

    /// The supervisor's view: exactly these instances are in rotation. Instances that left
    /// it without draining (they crashed, were given up) are forgotten.
    pub fn set_routes(&self, routes: &[Route]) {
        let mut known = self.known.lock().expect("table lock");
        let rotation: Vec<Arc<Backend>> = routes
            .iter()
            .map(|route| {
                let backend = known
                    .entry(route.id)
                    .or_insert_with(|| Arc::new(Backend::new(route.clone(), self.workers)));
                // An instance can change sides in place (a promotion, a blue-green deploy's
                // end): found by the new user's trial of issue 30.
                backend
                    .candidate
                    .store(route.side == Side::Candidate, Ordering::Release);
                Arc::clone(backend)
            })
            .collect();
        known.retain(|id, backend| {
            routes.iter().any(|r| r.id == *id) || backend.is_draining() && backend.in_flight() > 0
        });
        *self.listed.lock().expect("table lock") = routes.iter().map(|r| r.id).collect();
        let mut current = self.rotation.write().expect("table lock");
        *current = rotation;
        self.publish(&current);
        self.two_sides.store(
            current.iter().any(|b| b.side() == Side::Candidate),
            Ordering::Release,
        );
        drop(current);
        drop(known);
        self.changed.notify_waiters();
    }

    /// Takes an instance out of rotation for good and calls `on_drained` once its requests
    /// are done (at once when it has none, or when the router does not know it).
    pub fn drain(&self, id: u64, on_drained: OnDrained) {
        let mut current = self.rotation.write().expect("table lock");
        current.retain(|b| b.route.id != id);
        self.publish(&current);
        drop(current);
        let backend = self.known.lock().expect("table lock").get(&id).cloned();
        match backend {
            Some(backend) => backend.drain(on_drained),
            None => on_drained(),
        }
        self.changed.notify_waiters();
    }

    /// The instance a request goes to: of those in rotation and accepting connections (and
    /// not in `tried`, and on `side` when one is given), the one with the fewest requests in
    /// flight, ties going round-robin; or, `round_robin`, the next one in turn.
    pub fn pick(
        &self,
        tried: &[u64],
        round_robin: bool,
        side: Option<Side>,
    ) -> Option<Arc<Backend>> {
        let view = &self.views[worker() % self.views.len()];
        let rotation = view.rotation.read().expect("table lock");
        let count = rotation.len();
        if count == 0 {
            return None;
        }
        let start = view.next.fetch_add(1, Ordering::Relaxed) % count;
        let mut eligible = (0..count)
            .map(|i| &rotation[(start + i) % count])
            .filter(|b| {
                !b.is_refusing()
                    && !b.is_draining()
                    && !tried.contains(&b.route.id)
                    && side.is_none_or(|side| b.side() == side)
            });
        if round_robin {
            eligible.next().cloned()
        } else {
            eligible.min_by_key(|b| b.in_flight()).cloned()
        }
    }

    /// Whether some instance in rotation could take a request now.
    pub fn has_candidates(&self) -> bool {
        self.rotation
            .read()
            .expect("table lock")
            .iter()
            .any(|b| !b.is_refusing() && !b.is_draining())
    }

    /// Every backend still known, in rotation or draining, by name. A draining leftover whose
    /// last request is done is forgotten here (no ghost in `dozen ps` until the next change).
    pub fn backends(&self) -> Vec<Arc<Backend>> {
        let mut known = self.known.lock().expect("table lock");
        let listed = self.listed.lock().expect("table lock");
        known.retain(|id, backend| {
            listed.contains(id) || backend.is_draining() && backend.in_flight() > 0
        });
        drop(listed);
        let mut all: Vec<Arc<Backend>> = known.values().cloned().collect();
        drop(known);
        all.sort_by(|a, b| a.route.name.cmp(&b.route.name));
        all
    }

    pub fn in_rotation(&self, id: u64) -> bool {
        self.rotation
            .read()
            .expect("table lock")
            .iter()
            .any(|b| b.route.id == id && !b.is_refusing())
    }
}

/// Service times in buckets that grow by a quarter: percentiles to within 25%, in 128
/// counters, with no lock.
pub struct Histogram {
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
}

const HISTOGRAM_BUCKETS: usize = 128;

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The upper bound of bucket `i`, in microseconds: 10 µs × 1.25^i.
fn bucket_limit(i: usize) -> f64 {
    10.0 * 1.25_f64.powi(i32::try_from(i).unwrap_or(i32::MAX))
}

impl Histogram {
    pub fn record(&self, elapsed: Duration) {
        let micros = elapsed.as_secs_f64() * 1e6;
        // The first bucket whose limit is at least `micros`: ⌈log₁.₂₅(micros / 10)⌉.
        let exact = (micros / 10.0).ln() / 1.25_f64.ln();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mut i = if exact.is_finite() && exact > 0.0 {
            (exact.ceil() as usize).min(self.buckets.len() - 1)
        } else {
            0
        };
        // Rounding at a bucket's edge: settle on the exact one.
        while i > 0 && micros <= bucket_limit(i - 1) {
            i -= 1;
        }
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Each bucket's count now.
    pub fn counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// The `p`th percentile (0–100), as the upper bound of its bucket; `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        percentile_of(&self.counts(), p)
    }
}

/// The `p`th percentile (0–100) of bucket counts, as the upper bound of its bucket; `None`
/// when they are all 0.
fn percentile_of(counts: &[u64], p: f64) -> Option<Duration> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(Duration::from_secs_f64(bucket_limit(i) / 1e6));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(id: u64, port: u16) -> Route {
        Route {
            id,
            name: format!("web.{id}"),
            port,
            side: Side::Stable,
        }
    }

    #[test]
    fn picks_the_least_busy_and_skips_refusing_draining_and_tried() {
        let table = Table::default();
        table.set_routes(&[route(1, 5001), route(2, 5002), route(3, 5003)]);
        let first = table.pick(&[], false, None).unwrap();
        let _busy = first.begin();
        let second = table.pick(&[], false, None).unwrap();
        assert_ne!(second.route.id, first.route.id, "the idle ones first");
        let third = table
            .pick(&[first.route.id, second.route.id], false, None)
            .unwrap();
        third.refuse();
        assert!(
            table
                .pick(&[first.route.id, second.route.id], false, None)
                .is_none()
        );
        third.accept_again();
        assert_eq!(
            table
                .pick(&[first.route.id, second.route.id], false, None)
                .unwrap()
                .route
                .id,
            third.route.id
        );
    }

    /// A promoted canary's instances stay in rotation and become the stable side, in place:
    /// the side an instance was added with must not stick (found by a new user's trial, issue
    /// 30: after a promotion, the stable side's requests all went to the one instance started
    /// at promotion).
    #[test]
    fn an_instance_changes_sides_in_place() {
        let table = Table::default();
        let candidate = |id, port| Route {
            side: Side::Candidate,
            ..route(id, port)
        };
        table.set_routes(&[route(1, 5001), candidate(2, 5051)]);
        assert!(table.two_sides());
        assert_eq!(
            table.pick(&[], false, Some(Side::Stable)).unwrap().route.id,
            1
        );
        table.set_routes(&[route(2, 5051), route(3, 5052)]);
        assert!(!table.two_sides());
        let stable: std::collections::BTreeSet<u64> = (0..4)
            .map(|_| {
                let picked = table.pick(&[], true, Some(Side::Stable)).unwrap();
                assert_eq!(picked.side(), Side::Stable);
                picked.route.id
            })
            .collect();
        assert_eq!(stable, [2, 3].into());
    }

    #[test]
    fn round_robin_takes_turns_whatever_is_in_flight() {
        let table = Table::default();
        table.set_routes(&[route(1, 5001), route(2, 5002)]);
        let first = table.pick(&[], true, None).unwrap();
        let _busy: Vec<InFlight> = (0..5).map(|_| first.begin()).collect();
        let second = table.pick(&[], true, None).unwrap();
        assert_ne!(second.route.id, first.route.id);
        assert_eq!(
            table.pick(&[], true, None).unwrap().route.id,
            first.route.id,
            "its turn again"
        );
        // Least outstanding would not have sent it there.
        assert_eq!(
            table.pick(&[], false, None).unwrap().route.id,
            second.route.id
        );
    }

    #[test]
    fn draining_waits_for_in_flight_requests() {
        let table = Table::default();
        table.set_routes(&[route(1, 5001), route(2, 5002)]);
        let backend = table.pick(&[2], false, None).unwrap();
        let request = backend.begin();
        let drained = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&drained);
        table.drain(1, Box::new(move || flag.store(true, Ordering::SeqCst)));
        assert!(!drained.load(Ordering::SeqCst), "a request is in flight");
        for _ in 0..10 {
            assert_eq!(
                table.pick(&[], false, None).unwrap().route.id,
                2,
                "out of rotation"
            );
        }
        // The supervisor's next view no longer lists it; it stays known until drained…
        table.set_routes(&[route(2, 5002)]);
        assert_eq!(table.backends().len(), 2);
        drop(request);
        assert!(drained.load(Ordering::SeqCst));
        // …and is forgotten then, with no other change to the routes (issue 30, finding 8).
        assert_eq!(table.backends().len(), 1, "no drained ghost");
        // Drained and idle: an unknown or idle instance drains at once.
        let again = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&again);
        table.drain(9, Box::new(move || flag.store(true, Ordering::SeqCst)));
        assert!(again.load(Ordering::SeqCst));
    }

    #[test]
    fn sides_are_picked_apart_and_measured_apart() {
        let table = Table::default();
        let candidate = Route {
            side: Side::Candidate,
            ..route(2, 5052)
        };
        table.set_routes(&[route(1, 5001)]);
        assert!(!table.two_sides());
        table.set_routes(&[route(1, 5001), candidate]);
        assert!(table.two_sides());
        let pick = |side| table.pick(&[], false, Some(side)).unwrap().route.id;
        assert_eq!((pick(Side::Stable), pick(Side::Candidate)), (1, 2));
        table.set_weight(20_000);
        assert_eq!(table.weight(), 10_000, "at most all of it");
        let before = table.stats(Side::Candidate).snapshot();
        for status in [200, 200, 500, 200] {
            table
                .stats(Side::Candidate)
                .answered(status, Duration::from_millis(20));
        }
        table.stats(Side::Candidate).failed();
        let step = table.stats(Side::Candidate).snapshot().since(&before);
        assert_eq!((step.requests, step.errors), (5, 2));
        assert!((step.error_rate() - 0.4).abs() < 1e-9);
        let p99 = step.percentile(99.0).unwrap();
        assert!(
            p99 >= Duration::from_millis(20) && p99 <= Duration::from_millis(25),
            "{p99:?}"
        );
        assert_eq!(table.stats(Side::Stable).snapshot().requests, 0);
    }

    #[test]
    fn percentiles_are_within_a_bucket() {
        let histogram = Histogram::default();
        for ms in 1..=100 {
            histogram.record(Duration::from_millis(ms));
        }
        let p50 = histogram.percentile(50.0).unwrap().as_secs_f64() * 1e3;
        let p99 = histogram.percentile(99.0).unwrap().as_secs_f64() * 1e3;
        assert!((50.0..=62.5).contains(&p50), "{p50}");
        assert!((99.0..=124.0).contains(&p99), "{p99}");
        assert!(Histogram::default().percentile(50.0).is_none());
    }
}
