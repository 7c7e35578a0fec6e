//! Where the pump publishes every line: the ring buffer of the last lines, the followers'
//! queues and the drains' queues. Publishing never waits on a reader: each queue is bounded
//! and drops (and counts) what does not fit.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::drain;
use super::{Chunk, Event, Filter};

/// The ring buffer's bounds (`[logs] buffer_lines`, `buffer_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub lines: usize,
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lines: 10_000,
            bytes: 8 * 1024 * 1024,
        }
    }
}

/// Lines a follower may be behind before the newest are dropped for it…
pub const FOLLOWER_QUEUE: usize = 10_000;
/// …and bytes (as [`Event::weight`] counts them).
pub const FOLLOWER_BYTES: usize = 8 * 1024 * 1024;

pub struct Hub {
    inner: Mutex<Inner>,
    limits: Limits,
    /// The longest process name and the types in Procfile order: how the run's own output
    /// looks, for `dozen logs` to look the same.
    layout: Mutex<(usize, Vec<String>)>,
}

struct Inner {
    /// The last published chunks, oldest first; the first `skip` lines of the front one are
    /// no longer in the buffer.
    ring: VecDeque<Arc<Chunk>>,
    skip: usize,
    ring_lines: usize,
    ring_bytes: usize,
    followers: Vec<Arc<Follower>>,
    drains: Vec<Arc<drain::Drain>>,
}

/// A `dozen logs -f` reader's queue.
pub struct Follower {
    filter: Filter,
    state: Mutex<FollowState>,
    ready: Condvar,
}

#[derive(Default)]
struct FollowState {
    events: VecDeque<Event>,
    bytes: usize,
    /// Lines dropped since the reader was last told.
    missed: u64,
    closed: bool,
}

/// What a follower gets when it wakes.
pub enum Next {
    /// Lines to write, after telling the reader how many it missed first (when not 0).
    Lines { missed: u64, events: Vec<Event> },
    /// Nothing within the wait.
    Idle,
    /// The run has ended and every line was handed over.
    Closed,
}

impl Follower {
    pub fn next(&self, wait: Duration) -> Next {
        let mut state = self.state.lock().expect("follower lock");
        if state.events.is_empty() && state.missed == 0 && !state.closed {
            state = self
                .ready
                .wait_timeout(state, wait)
                .expect("follower lock")
                .0;
        }
        if state.events.is_empty() && state.missed == 0 {
            return if state.closed {
                Next::Closed
            } else {
                Next::Idle
            };
        }
        let missed = std::mem::take(&mut state.missed);
        state.bytes = 0;
        Next::Lines {
            missed,
            events: state.events.drain(..).collect(),
        }
    }
}

impl Hub {
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                skip: 0,
                ring_lines: 0,
                ring_bytes: 0,
                followers: Vec::new(),
                drains: Vec::new(),
            }),
            limits,
            layout: Mutex::new((0, Vec::new())),
        }
    }

    pub fn set_layout(&self, width: usize, types: Vec<String>) {
        *self.layout.lock().expect("hub layout") = (width, types);
    }

    pub fn layout(&self) -> (usize, Vec<String>) {
        self.layout.lock().expect("hub layout").clone()
    }

    /// Hands a batch of lines to every reader, in order (the ring buffer keeps the chunk:
    /// nothing per line unless someone follows or drains).
    pub fn publish(&self, chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        let chunk = Arc::new(chunk);
        let count = chunk.len();
        let mut inner = self.inner.lock().expect("hub lock");
        for follower in &inner.followers {
            let mut state = follower.state.lock().expect("follower lock");
            let before = state.events.len() as u64 + state.missed;
            for event in (0..count)
                .map(|i| chunk.event(i))
                .filter(|e| follower.filter.matches(e))
            {
                if state.events.len() < FOLLOWER_QUEUE
                    && state.bytes + event.weight() <= FOLLOWER_BYTES
                {
                    state.bytes += event.weight();
                    state.events.push_back(event.clone());
                } else {
                    state.missed += 1;
                }
            }
            if state.events.len() as u64 + state.missed != before {
                follower.ready.notify_one();
            }
        }
        for drain in &inner.drains {
            drain.push((0..count).map(|i| chunk.event(i)));
        }
        if self.limits.lines == 0 {
            return;
        }
        inner.ring_bytes += (0..count).map(|i| chunk.weight(i)).sum::<usize>();
        inner.ring_lines += count;
        inner.ring.push_back(chunk);
        while inner.ring_lines > self.limits.lines
            || (inner.ring_bytes > self.limits.bytes && inner.ring_lines > 0)
        {
            let Inner {
                ring,
                skip,
                ring_lines,
                ring_bytes,
                ..
            } = &mut *inner;
            let front = ring.front().expect("lines are held");
            *ring_bytes -= front.weight(*skip);
            *ring_lines -= 1;
            *skip += 1;
            if *skip == front.len() {
                ring.pop_front();
                *skip = 0;
            }
        }
    }

    /// The last `n` buffered lines the filter takes, oldest first; with `follow`, also a
    /// follower that gets every later one (registered at the same moment: none is missed or
    /// given twice).
    pub fn read(
        &self,
        n: usize,
        filter: &Filter,
        follow: bool,
    ) -> (Vec<Event>, Option<Arc<Follower>>) {
        let mut inner = self.inner.lock().expect("hub lock");
        let skip = inner.skip;
        let mut last: Vec<Event> = inner
            .ring
            .iter()
            .enumerate()
            .rev()
            .flat_map(|(at, chunk)| {
                let first = if at == 0 { skip } else { 0 };
                (first..chunk.len()).rev().map(|i| chunk.event(i))
            })
            .filter(|e| filter.matches(e))
            .take(n)
            .collect();
        last.reverse();
        let follower = follow.then(|| {
            let follower = Arc::new(Follower {
                filter: filter.clone(),
                state: Mutex::new(FollowState::default()),
                ready: Condvar::new(),
            });
            inner.followers.push(follower.clone());
            follower
        });
        (last, follower)
    }

    /// A follower whose reader has gone.
    pub fn unfollow(&self, follower: &Arc<Follower>) {
        self.inner
            .lock()
            .expect("hub lock")
            .followers
            .retain(|f| !Arc::ptr_eq(f, follower));
    }

    pub fn followers(&self) -> usize {
        self.inner.lock().expect("hub lock").followers.len()
    }

    /// Lines and bytes buffered.
    pub fn buffered(&self) -> (usize, usize) {
        let inner = self.inner.lock().expect("hub lock");
        (inner.ring_lines, inner.ring_bytes)
    }

    pub fn add_drain(&self, drain: Arc<drain::Drain>) {
        self.inner.lock().expect("hub lock").drains.push(drain);
    }

    /// Takes a drain out (it is then stopped by its owner).
    pub fn remove_drain(&self, id: &str) -> Option<Arc<drain::Drain>> {
        let mut inner = self.inner.lock().expect("hub lock");
        let at = inner.drains.iter().position(|d| d.id() == id)?;
        Some(inner.drains.remove(at))
    }

    pub fn drains(&self) -> Vec<Arc<drain::Drain>> {
        self.inner.lock().expect("hub lock").drains.clone()
    }

    /// The run has ended: followers get what is left, then the end.
    pub fn close_followers(&self) {
        let followers = std::mem::take(&mut self.inner.lock().expect("hub lock").followers);
        for follower in followers {
            follower.state.lock().expect("follower lock").closed = true;
            follower.ready.notify_all();
        }
    }
}

/// Makes the hub's drains those of `urls`: new ones start, gone ones are stopped (they get
/// the flush timeout to send what they hold). Returns the drains stopped.
pub fn reconcile_drains(
    hub: &Hub,
    running: &mut Vec<drain::Running>,
    urls: &[super::url::DrainUrl],
    settings: &drain::Settings,
    tell: &drain::Tell,
) -> std::io::Result<usize> {
    let mut stopped = 0;
    for drain in hub.drains() {
        if !urls.iter().any(|u| u.id() == drain.id()) {
            hub.remove_drain(drain.id());
            drain.stop(Instant::now() + settings.flush_timeout);
            stopped += 1;
        }
    }
    for url in urls {
        if hub.drains().iter().any(|d| d.id() == url.id()) {
            continue;
        }
        let drain = drain::Drain::new(url.clone(), settings.queue);
        running.push((drain.clone(), drain.start(settings, tell.clone())?));
        hub.add_drain(drain);
    }
    running.retain(|(_, thread)| !thread.is_finished());
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::super::Stream;
    use super::*;

    fn events(process: &str, range: std::ops::Range<usize>, size: usize) -> Chunk {
        let process: Arc<str> = Arc::from(process);
        let mut chunk = Chunk::default();
        for i in range {
            let mut line = format!("{i}").into_bytes();
            line.resize(size.max(line.len()), b'.');
            chunk.push(
                jiff::Timestamp::UNIX_EPOCH,
                &process,
                Stream::Stdout,
                &line,
                false,
            );
        }
        chunk
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                String::from_utf8_lossy(e.line())
                    .trim_end_matches('.')
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn the_ring_keeps_the_last_lines_within_both_bounds() {
        let hub = Hub::new(Limits {
            lines: 100,
            bytes: usize::MAX,
        });
        hub.publish(events("web.1", 0..250, 0));
        let (last, _) = hub.read(1000, &Filter::default(), false);
        assert_eq!(
            texts(&last),
            (150..250).map(|i| i.to_string()).collect::<Vec<_>>()
        );
        let (last, _) = hub.read(3, &Filter::default(), false);
        assert_eq!(texts(&last), ["247", "248", "249"]);

        let hub = Hub::new(Limits {
            lines: 100,
            bytes: 10 * (1000 + "web.1".len() + 64),
        });
        hub.publish(events("web.1", 0..50, 1000));
        assert_eq!(hub.buffered().0, 10);
        let (last, _) = hub.read(100, &Filter::default(), false);
        assert_eq!(texts(&last)[0], "40");
    }

    #[test]
    fn across_chunks_the_ring_keeps_exactly_the_last_lines() {
        let hub = Hub::new(Limits {
            lines: 25,
            bytes: usize::MAX,
        });
        for start in (0..100).step_by(7) {
            hub.publish(events("web.1", start..(start + 7).min(100), 0));
            let held = (start + 7).min(100).min(25);
            assert_eq!(hub.buffered().0, held);
            let (last, _) = hub.read(1000, &Filter::default(), false);
            assert_eq!(last.len(), held);
            assert_eq!(
                texts(&last).last().unwrap(),
                &((start + 7).min(100) - 1).to_string()
            );
        }
        let (last, _) = hub.read(1000, &Filter::default(), false);
        assert_eq!(
            texts(&last),
            (75..100).map(|i| i.to_string()).collect::<Vec<_>>()
        );
        // Bytes: each line weighs its bytes, its process and 64.
        let hub = Hub::new(Limits {
            lines: 1000,
            bytes: 3 * (100 + "web.1".len() + 64),
        });
        for start in (0..10).step_by(4) {
            hub.publish(events("web.1", start..(start + 4).min(10), 100));
        }
        let (last, _) = hub.read(1000, &Filter::default(), false);
        assert_eq!(texts(&last), ["7", "8", "9"]);
        assert_eq!(hub.buffered(), (3, 3 * (100 + 5 + 64)));
    }

    #[test]
    fn a_filtered_read_takes_the_last_matching_lines() {
        let hub = Hub::new(Limits::default());
        hub.publish(events("web.1", 0..5, 0));
        hub.publish(events("worker.1", 5..10, 0));
        hub.publish(events("web.2", 10..12, 0));
        let filter = Filter {
            ps: Some("web".into()),
            source: None,
        };
        let (last, _) = hub.read(4, &filter, false);
        assert_eq!(texts(&last), ["3", "4", "10", "11"]);
    }

    #[test]
    fn a_slow_follower_misses_lines_and_is_told_how_many() {
        let hub = Hub::new(Limits::default());
        let (_, follower) = hub.read(0, &Filter::default(), true);
        let follower = follower.unwrap();
        hub.publish(events("web.1", 0..FOLLOWER_QUEUE + 123, 0));
        let Next::Lines {
            missed,
            events: got,
        } = follower.next(Duration::ZERO)
        else {
            panic!("lines expected");
        };
        assert_eq!(missed, 123);
        assert_eq!(got.len(), FOLLOWER_QUEUE);
        assert!(matches!(follower.next(Duration::ZERO), Next::Idle));
        hub.publish(events("web.1", 0..1, 0));
        hub.close_followers();
        assert!(matches!(
            follower.next(Duration::ZERO),
            Next::Lines { missed: 0, .. }
        ));
        assert!(matches!(follower.next(Duration::ZERO), Next::Closed));
        assert_eq!(hub.followers(), 0);
    }

    #[test]
    fn no_ring_keeps_nothing() {
        let hub = Hub::new(Limits { lines: 0, bytes: 0 });
        hub.publish(events("web.1", 0..5, 0));
        assert_eq!(hub.buffered(), (0, 0));
    }
}
