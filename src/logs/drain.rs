//! Drains: each ships the stream to one collector from a thread of its own, fed by a bounded
//! queue that drops its oldest line (counted, and said as Logplex's L10 does) when the
//! collector is slow or down. Publishing into the queue never waits, so an app's writes never
//! do either.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs as _, UdpSocket};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::url::{DrainUrl, Format, Kind};
use super::{Event, syslog};

/// How a run's drains behave (`[logs]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Lines a drain may hold before it drops its oldest (`drain_queue`).
    pub queue: usize,
    /// How long the drains get, at the end of the run, to send what they hold.
    pub flush_timeout: Duration,
    /// HOSTNAME in syslog headers: the app's name.
    pub hostname: String,
}

/// However many lines a drain's queue may hold, it holds at most this many bytes (as
/// [`Event::weight`] counts them): a few huge lines cannot take the memory.
pub const QUEUE_BYTES: usize = 32 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Self {
            queue: 50_000,
            flush_timeout: Duration::from_secs(2),
            hostname: "dozen".into(),
        }
    }
}

/// An HTTP batch: at most this many lines…
pub const HTTP_BATCH_LINES: usize = 500;
/// …or this many bytes of body…
pub const HTTP_BATCH_BYTES: usize = 1024 * 1024;
/// …sent at the latest this long after its first line was queued.
pub const HTTP_FLUSH: Duration = Duration::from_secs(1);
/// Lines written to a syslog stream at once.
const STREAM_BATCH: usize = 4096;
/// The largest datagram sent (a syslog+udp message is cut to it).
pub const UDP_MAX: usize = 8192;
/// Connecting, and a write or a reply that makes no progress, give up after these.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a collector's answer may take, from the batch sent to its body's end.
const ANSWER_TIME: Duration = Duration::from_secs(30);
/// The most of a collector's answer's body read (it is thrown away): a longer one fails the
/// batch, which is sent again on a new connection.
const ANSWER_BODY: u64 = 64 * 1024;
/// Reconnection backoff: from this, doubling…
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// …up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A drain in `dozen ps --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    /// Redacted.
    pub url: String,
    /// `connecting`, `connected`, `retrying` or `stopped`.
    pub state: String,
    /// Lines delivered (written to a syslog connection; acknowledged by an HTTP 2xx).
    pub sent: u64,
    /// Lines dropped: the queue was full, the collector refused them, or the run ended first.
    pub dropped: u64,
    /// Lines waiting.
    pub queued: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Says a line in the formation's stream (dozen's own).
pub type Tell = Arc<dyn Fn(String) + Send + Sync>;

pub struct Drain {
    url: DrainUrl,
    id: String,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Told when the drain's thread has ended (`Queue::ended`).
    ended: Condvar,
    stats: Mutex<Stats>,
    /// The open connection's socket, to cut a write blocked at the end of the run.
    socket: Mutex<Option<TcpStream>>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    bytes: usize,
    /// Dropped since last said, and since when.
    unreported: u64,
    since: Option<jiff::Timestamp>,
    stopping: Option<Instant>,
    /// The drain's thread has ended.
    ended: bool,
}

#[derive(Default)]
struct Stats {
    state: &'static str,
    sent: u64,
    dropped: u64,
    last_error: Option<String>,
}

impl Drain {
    pub fn new(url: DrainUrl, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            id: url.id(),
            url,
            capacity: capacity.max(1),
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            ended: Condvar::new(),
            stats: Mutex::new(Stats {
                state: "connecting",
                ..Stats::default()
            }),
            socket: Mutex::new(None),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Queues lines, dropping the oldest beyond the capacity. Never waits on the collector.
    pub fn push(&self, events: impl IntoIterator<Item = Event>) {
        let mut queue = self.queue.lock().expect("drain lock");
        if queue.stopping.is_some() {
            return;
        }
        let mut dropped = 0;
        for event in events {
            queue.bytes += event.weight();
            queue.events.push_back(event);
            while queue.events.len() > self.capacity
                || (queue.bytes > QUEUE_BYTES && queue.events.len() > 1)
            {
                let gone = queue.events.pop_front().expect("not empty");
                queue.bytes -= gone.weight();
                dropped += 1;
            }
        }
        if dropped > 0 {
            queue.unreported += dropped;
            queue.since.get_or_insert_with(jiff::Timestamp::now);
            self.stats.lock().expect("drain stats").dropped += dropped;
        }
        drop(queue);
        self.ready.notify_one();
    }

    pub fn status(&self) -> Status {
        let queued = self.queue.lock().expect("drain lock").events.len();
        let stats = self.stats.lock().expect("drain stats");
        Status {
            id: self.id.clone(),
            url: self.url.redacted(),
            state: stats.state.to_owned(),
            sent: stats.sent,
            dropped: stats.dropped,
            queued,
            last_error: stats.last_error.clone(),
        }
    }

    /// Starts the drain's thread.
    pub fn start(
        self: &Arc<Self>,
        settings: &Settings,
        tell: Tell,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let (drain, hostname) = (self.clone(), settings.hostname.clone());
        std::thread::Builder::new()
            .name(format!("dozen-drain-{}", self.id))
            .spawn(move || {
                /// Says the thread has ended however it ends.
                struct Ended(Arc<Drain>);
                impl Drop for Ended {
                    fn drop(&mut self) {
                        let mut queue = self
                            .0
                            .queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        queue.ended = true;
                        drop(queue);
                        self.0.ended.notify_all();
                    }
                }
                let _ended = Ended(drain.clone());
                Worker::new(drain, hostname, tell).run();
            })
    }

    /// Waits until the drain's thread has ended, or `deadline`; whether it has ended.
    pub fn wait_ended(&self, deadline: Instant) -> bool {
        let mut queue = self.queue.lock().expect("drain lock");
        while !queue.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            queue = self.ended.wait_timeout(queue, left).expect("drain lock").0;
        }
        true
    }

    /// Asks the thread to send what it holds and end by `deadline`.
    pub fn stop(&self, deadline: Instant) {
        let mut queue = self.queue.lock().expect("drain lock");
        queue.stopping = Some(queue.stopping.map_or(deadline, |d| d.min(deadline)));
        drop(queue);
        self.ready.notify_all();
    }

    /// Cuts a write or read blocked on the collector (past the deadline).
    pub fn abort(&self) {
        if let Some(socket) = self.socket.lock().expect("drain socket").as_ref() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }

    fn set_state(&self, new: &'static str, error: Option<String>) {
        let mut counts = self.stats.lock().expect("drain stats");
        counts.state = new;
        if error.is_some() {
            counts.last_error = error;
        }
    }

    /// Waits for lines; returns at most `max` lines (and `max_bytes` of them), after waiting
    /// up to `linger` for that many; `None` once stopping with nothing left. An L10 line
    /// comes first when lines were dropped since the last batch.
    fn take(&self, max: usize, max_bytes: usize, linger: Duration) -> Option<Vec<Event>> {
        let mut queue = self.queue.lock().expect("drain lock");
        while queue.events.is_empty() && queue.unreported == 0 {
            if queue.stopping.is_some() {
                return None;
            }
            queue = self.ready.wait(queue).expect("drain lock");
        }
        let until = Instant::now() + linger;
        while queue.events.len() < max && queue.stopping.is_none() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            queue = self.ready.wait_timeout(queue, left).expect("drain lock").0;
        }
        let mut batch = Vec::new();
        if queue.unreported > 0 {
            let since = queue.since.take().unwrap_or_else(jiff::Timestamp::now);
            batch.push(Event::system(&format!(
                "Error L10 (output buffer overflow): {} messages dropped since {}",
                std::mem::take(&mut queue.unreported),
                since.strftime("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
        let mut bytes = 0;
        while batch.len() < max {
            let Some(next) = queue.events.front() else {
                break;
            };
            bytes += next.weight();
            if bytes > max_bytes && !batch.is_empty() {
                break;
            }
            let next = queue.events.pop_front().expect("front");
            queue.bytes -= next.weight();
            batch.push(next);
        }
        Some(batch)
    }

    /// Sleeps for a backoff, waking early when the run ends. Returns whether the deadline passed.
    fn pause(&self, wait: Duration) -> bool {
        let queue = self.queue.lock().expect("drain lock");
        let (queue, _) = self
            .ready
            .wait_timeout_while(queue, wait, |q| q.stopping.is_none())
            .expect("drain lock");
        queue.stopping.is_some_and(|d| Instant::now() >= d)
    }

    fn past_deadline(&self) -> bool {
        self.queue
            .lock()
            .expect("drain lock")
            .stopping
            .is_some_and(|d| Instant::now() >= d)
    }

    /// At the end: what is left is counted as dropped. Returns how many.
    fn give_up(&self, pending: usize) -> u64 {
        let mut queue = self.queue.lock().expect("drain lock");
        let left = (queue.events.len() + pending) as u64;
        queue.events.clear();
        queue.bytes = 0;
        queue.unreported = 0;
        let mut counts = self.stats.lock().expect("drain stats");
        counts.dropped += left;
        counts.state = "stopped";
        left
    }
}

/// A failed send: whether trying again could help.
struct Failure {
    message: String,
    permanent: bool,
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self {
            message: e.to_string(),
            permanent: false,
        }
    }
}

struct Worker {
    drain: Arc<Drain>,
    hostname: String,
    tell: Tell,
    connection: Option<Connection>,
    tls: Option<Arc<rustls::ClientConfig>>,
    buffer: Vec<u8>,
    scratch: Vec<u8>,
    stamps: syslog::Stamps,
    backoff: Duration,
    frames: u64,
}

enum Connection {
    Stream(crate::http::Wire),
    Datagram(UdpSocket),
}

impl Worker {
    fn new(drain: Arc<Drain>, hostname: String, tell: Tell) -> Self {
        Self {
            drain,
            hostname,
            tell,
            connection: None,
            tls: None,
            buffer: Vec::new(),
            scratch: Vec::new(),
            stamps: syslog::Stamps::default(),
            backoff: BACKOFF_MIN,
            frames: 0,
        }
    }

    fn http(&self) -> bool {
        matches!(self.drain.url.kind, Kind::Https | Kind::Http)
    }

    fn run(mut self) {
        let mut pending: Vec<Event> = Vec::new();
        loop {
            if pending.is_empty() {
                let taken = if self.http() {
                    self.drain
                        .take(HTTP_BATCH_LINES, HTTP_BATCH_BYTES, HTTP_FLUSH)
                } else {
                    self.drain.take(STREAM_BATCH, usize::MAX, Duration::ZERO)
                };
                match taken {
                    Some(batch) => pending = batch,
                    None => break,
                }
                if let Some(first) = pending.first()
                    && first.process() == crate::supervisor::output::format::SYSTEM_NAME
                    && first.line().starts_with(b"Error L10")
                {
                    (self.tell)(format!(
                        "drain {} is behind: {}",
                        self.drain.id,
                        String::from_utf8_lossy(first.line())
                    ));
                }
            }
            if self.drain.past_deadline() {
                break;
            }
            match self.send(&pending) {
                Ok(()) => {
                    self.drain.stats.lock().expect("drain stats").sent += pending.len() as u64;
                    pending.clear();
                    self.backoff = BACKOFF_MIN;
                }
                Err(failure) => {
                    self.close();
                    let said = self.drain.url.scrub(&failure.message);
                    self.drain.set_state("retrying", Some(said));
                    if failure.permanent {
                        self.drain.stats.lock().expect("drain stats").dropped +=
                            pending.len() as u64;
                        pending.clear();
                    }
                    let wait = jittered(self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    if self.drain.pause(wait) {
                        break;
                    }
                }
            }
        }
        let left = self.drain.give_up(pending.len());
        if left > 0 {
            (self.tell)(format!(
                "drain {}: {left} lines not delivered before the end ({})",
                self.drain.id,
                self.drain
                    .stats
                    .lock()
                    .expect("drain stats")
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "out of time".into())
            ));
        }
        self.close();
    }

    fn close(&mut self) {
        self.connection = None;
        *self.drain.socket.lock().expect("drain socket") = None;
    }

    fn send(&mut self, batch: &[Event]) -> Result<(), Failure> {
        if self.connection.is_none() {
            self.drain.set_state("connecting", None);
            self.connection = Some(self.connect()?);
            self.drain.set_state("connected", None);
        }
        let url = self.drain.url.clone();
        match url.kind {
            Kind::SyslogUdp => {
                let Some(Connection::Datagram(socket)) = &self.connection else {
                    unreachable!("a UDP drain has a socket")
                };
                for event in batch {
                    self.buffer.clear();
                    syslog::message(
                        &mut self.buffer,
                        &mut self.stamps,
                        event,
                        &self.hostname,
                        UDP_MAX,
                    );
                    match socket.send(&self.buffer) {
                        // Nobody listening (ICMP): the datagram is gone, as UDP's always may be.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        other => {
                            other?;
                        }
                    }
                }
                Ok(())
            }
            Kind::SyslogTcp | Kind::SyslogTls => {
                self.buffer.clear();
                for event in batch {
                    syslog::frame(
                        &mut self.buffer,
                        &mut self.scratch,
                        &mut self.stamps,
                        event,
                        &self.hostname,
                    );
                }
                let Some(Connection::Stream(wire)) = &mut self.connection else {
                    unreachable!("a stream drain has a stream")
                };
                wire.write_all(&self.buffer)?;
                wire.flush()?;
                Ok(())
            }
            Kind::Https | Kind::Http => self.post(&url, batch),
        }
    }

    fn connect(&mut self) -> Result<Connection, Failure> {
        let url = &self.drain.url;
        if url.kind == Kind::SyslogUdp {
            let addresses: Vec<_> = (url.host.as_str(), url.port)
                .to_socket_addrs()
                .map_err(|e| Failure {
                    message: format!("cannot resolve {}: {e}", url.host),
                    permanent: false,
                })?
                .collect();
            let address = addresses.first().ok_or_else(|| Failure {
                message: format!("{} has no address", url.host),
                permanent: false,
            })?;
            let local: std::net::SocketAddr = if address.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let socket = UdpSocket::bind(local)?;
            socket.connect(address)?;
            return Ok(Connection::Datagram(socket));
        }
        let tls = if matches!(url.kind, Kind::SyslogTls | Kind::Https) {
            if self.tls.is_none() {
                self.tls = Some(crate::http::tls_config().map_err(|e| Failure {
                    message: e.to_string(),
                    permanent: false,
                })?);
            }
            self.tls.as_ref()
        } else {
            None
        };
        // HTTP drains go through the environment's proxy, as curl's requests would; syslog
        // is no HTTP and goes direct.
        let connect = if matches!(url.kind, Kind::Https | Kind::Http) {
            crate::http::connect_http
        } else {
            crate::http::connect
        };
        let (wire, socket) = connect(&url.host, url.port, tls, CONNECT_TIMEOUT, IO_TIMEOUT)
            .map_err(|e| Failure {
                message: e.to_string(),
                permanent: false,
            })?;
        *self.drain.socket.lock().expect("drain socket") = Some(socket);
        Ok(Connection::Stream(wire))
    }

    /// One HTTP POST of a batch; the collector's 2xx is the delivery.
    fn post(&mut self, url: &DrainUrl, batch: &[Event]) -> Result<(), Failure> {
        let mut body = Vec::new();
        let content_type = match url.format {
            Format::Logplex => {
                for event in batch {
                    syslog::frame(
                        &mut body,
                        &mut self.scratch,
                        &mut self.stamps,
                        event,
                        &self.hostname,
                    );
                }
                "application/logplex-1"
            }
            Format::Ndjson => {
                for event in batch {
                    event.write_json(&mut body);
                }
                "application/x-ndjson"
            }
        };
        self.frames += 1;
        let host = if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        };
        let default_port = if url.kind == Kind::Https { 443 } else { 80 };
        let host = if url.port == default_port {
            host
        } else {
            format!("{host}:{}", url.port)
        };
        self.buffer.clear();
        let _ = write!(
            self.buffer,
            "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: dozen/{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nLogplex-Msg-Count: {}\r\nLogplex-Frame-Id: {}-{}\r\nLogplex-Drain-Token: d.{}\r\n",
            url.target,
            env!("CARGO_PKG_VERSION"),
            body.len(),
            batch.len(),
            self.drain.id,
            self.frames,
            self.drain.id,
        );
        if let Some(userinfo) = &url.userinfo {
            let _ = write!(
                self.buffer,
                "Authorization: Basic {}\r\n",
                crate::http::base64(&crate::http::percent_decode(userinfo))
            );
        }
        self.buffer.extend_from_slice(b"\r\n");
        self.buffer.extend_from_slice(&body);
        let Some(Connection::Stream(wire)) = &mut self.connection else {
            unreachable!("an HTTP drain has a stream")
        };
        wire.write_all(&self.buffer)?;
        wire.flush()?;
        // The answer's body is not read (a collector says nothing in it dozen needs), and
        // what a collector may cost is bounded: its body, and its time.
        let answer = crate::http::read_response(
            &mut crate::http::Deadline::new(wire, ANSWER_TIME),
            "POST",
            &mut std::io::sink(),
            ANSWER_BODY,
        );
        let head = match answer {
            Ok(head) => head,
            Err(e) => {
                self.close();
                return Err(Failure {
                    message: format!("the collector: {e}"),
                    permanent: false,
                });
            }
        };
        let status = head.status;
        if !head.keep_alive {
            self.close();
        }
        match status {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(Failure {
                message: format!("the collector answered HTTP {status}"),
                permanent: false,
            }),
            _ => Err(Failure {
                message: format!("the collector refused a batch: HTTP {status}"),
                permanent: true,
            }),
        }
    }
}

/// A backoff with "equal jitter": between half of it and all of it.
fn jittered(wait: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    let fraction = (hasher.finish() % 1000) as u32;
    wait / 2 + wait / 2 * fraction / 1000
}

/// A drain and its thread.
pub type Running = (Arc<Drain>, std::thread::JoinHandle<()>);

/// The end of a run: every drain sends what it holds until the flush deadline, then what is
/// left is counted as dropped.
pub fn finish(running: Vec<Running>, flush_timeout: Duration) {
    let deadline = Instant::now() + flush_timeout;
    for (drain, _) in &running {
        drain.stop(deadline);
    }
    for (drain, thread) in running {
        if !drain.wait_ended(deadline) {
            drain.abort();
        }
        let _ = thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::super::Stream;
    use super::*;

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                Event::new(
                    jiff::Timestamp::UNIX_EPOCH,
                    &Arc::from("web.1"),
                    Stream::Stdout,
                    format!("{i:05}").as_bytes(),
                )
            })
            .collect()
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_says_so_first() {
        let drain = Drain::new(DrainUrl::parse("syslog+tcp://127.0.0.1:9").unwrap(), 10);
        drain.push(events(25));
        assert_eq!(drain.status().dropped, 15);
        assert_eq!(drain.status().queued, 10);
        let batch = drain.take(100, usize::MAX, Duration::ZERO).unwrap();
        assert_eq!(batch.len(), 11);
        let l10 = String::from_utf8_lossy(batch[0].line()).into_owned();
        assert!(
            l10.starts_with("Error L10 (output buffer overflow): 15 messages dropped since "),
            "{l10}"
        );
        assert_eq!(batch[1].line(), b"00015");
        assert_eq!(batch[10].line(), b"00024");
        drain.stop(Instant::now());
        assert!(drain.take(100, usize::MAX, Duration::ZERO).is_none());
    }

    #[test]
    fn batches_are_bounded_by_lines_and_bytes() {
        let drain = Drain::new(DrainUrl::parse("http://127.0.0.1:9").unwrap(), 10_000);
        drain.push(events(1200));
        assert_eq!(
            drain.take(500, usize::MAX, Duration::ZERO).unwrap().len(),
            500
        );
        let one = events(1)[0].weight();
        assert_eq!(drain.take(500, one * 3, Duration::ZERO).unwrap().len(), 3);
    }

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for _ in 0..100 {
            let wait = jittered(Duration::from_secs(2));
            assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2));
        }
    }
}
