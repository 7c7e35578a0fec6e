//! What `dozen top` shows, from the frames the run streams (each what `dozen ps` answers):
//! rates are the difference of two frames' counters over the time between them, the router's
//! percentiles those of the requests answered in between (as Prometheus' `histogram_quantile`
//! computes them), and the last minutes of both are kept for the sparklines.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use crate::control::{CanaryStatus, InstanceStatus, Response, RollStatus};
use crate::router::{LatencyHistogram, Status as RouterStatus};

/// Sparkline points kept: five minutes at one frame a second.
pub const HISTORY: usize = 300;

/// One frame and when it arrived (time since the first, monotonic).
struct Frame {
    at: Duration,
    status: Response,
}

/// The frames seen so far, as much as the view needs of them.
#[derive(Default)]
pub struct Model {
    previous: Option<Frame>,
    current: Option<Frame>,
    /// The router's requests per second, one point per frame, oldest first.
    pub requests_per_s: VecDeque<f64>,
    /// The router's p99 over each frame's interval, in milliseconds (`None`: nothing answered).
    pub p99_ms: VecDeque<Option<f64>>,
}

/// One row of the instance table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub state: String,
    pub release: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    pub pid: Option<u32>,
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub restarts: u32,
    /// Requests the router sent it per second, over the last interval (`None`: no router, or
    /// only one frame yet).
    pub requests_per_s: Option<f64>,
    /// Its requests that failed or answered 5xx, per second, over the last interval.
    pub errors_per_s: Option<f64>,
    /// Its service time percentiles since it started (the router's, to within a quarter).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub in_flight: Option<usize>,
}

/// The router's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub listen: String,
    pub https: bool,
    pub requests: u64,
    pub requests_per_s: Option<f64>,
    /// Requests the router answered itself with 502, 503 or 504, per second.
    pub router_errors_per_s: Option<f64>,
    /// Over the last interval, from the router's histogram.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub connections: u64,
    pub in_flight: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_share_percent: Option<f64>,
}

/// Everything one screen (or `dozen top --once --json`) shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// Seconds between the two frames the rates are from (`None`: one frame only).
    pub interval_s: Option<f64>,
    pub formation: indexmap::IndexMap<String, u32>,
    pub instances: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<Totals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roll: Option<RollStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStatus>,
}

impl Model {
    /// A frame arrived `at` (since the first); the run's own time of it counts when it says.
    pub fn push(&mut self, status: Response, at: Duration) {
        let at = status.at_ms.map_or(at, Duration::from_millis);
        self.previous = self.current.take();
        self.current = Some(Frame { at, status });
        let (rps, p99) = match (&self.previous, &self.current) {
            (Some(before), Some(now)) => {
                let seconds = now.at.saturating_sub(before.at).as_secs_f64();
                match (&before.status.router, &now.status.router) {
                    (Some(a), Some(b)) if seconds > 0.0 => (
                        Some(rate(a.requests, b.requests, seconds)),
                        Some(window_quantile(&a.latency, &b.latency, 0.99)),
                    ),
                    _ => (None, None),
                }
            }
            _ => (None, None),
        };
        if let (Some(rps), Some(p99)) = (rps, p99) {
            push_bounded(&mut self.requests_per_s, rps);
            push_bounded(&mut self.p99_ms, p99.map(|s| s * 1e3));
        }
    }

    /// The latest frame's status (`None` before the first).
    pub fn status(&self) -> Option<&Response> {
        self.current.as_ref().map(|f| &f.status)
    }

    /// The screen's content.
    pub fn view(&self) -> Option<View> {
        let now = self.current.as_ref()?;
        let before = self.previous.as_ref();
        let seconds = before
            .map(|b| now.at.saturating_sub(b.at).as_secs_f64())
            .filter(|s| *s > 0.0);
        let earlier_router = before.and_then(|b| b.status.router.as_ref());
        let router = now.status.router.as_ref();
        let instances = now
            .status
            .instances
            .iter()
            .map(|i| row(i, router, earlier_router, seconds))
            .collect();
        Some(View {
            interval_s: seconds,
            formation: now.status.formation.clone(),
            instances,
            router: router.map(|r| totals(r, earlier_router, seconds)),
            roll: now.status.roll.clone(),
            canary: now.status.canary.clone(),
        })
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, value: T) {
    if queue.len() == HISTORY {
        queue.pop_front();
    }
    queue.push_back(value);
}

fn rate(before: u64, now: u64, seconds: f64) -> f64 {
    // A counter that went down was reset (another run): count from zero.
    let delta = now.checked_sub(before).unwrap_or(now);
    #[allow(clippy::cast_precision_loss)]
    let delta = delta as f64;
    delta / seconds
}

/// The router's view of an instance: the row of the same name and side.
fn routed<'a>(
    router: Option<&'a RouterStatus>,
    instance: &InstanceStatus,
) -> Option<&'a crate::router::InstanceStatus> {
    let side = instance.side.map(crate::control::Side::as_str);
    router?
        .instances
        .iter()
        .find(|r| r.name == instance.name && r.side.as_deref().is_none_or(|s| Some(s) == side))
}

fn row(
    instance: &InstanceStatus,
    router: Option<&RouterStatus>,
    earlier: Option<&RouterStatus>,
    seconds: Option<f64>,
) -> Row {
    let now = routed(router, instance);
    let before = routed(earlier, instance);
    let per_second = |field: fn(&crate::router::InstanceStatus) -> u64| match (now, seconds) {
        // An instance new since the last frame counts from zero.
        (Some(now), Some(seconds)) => Some(rate(before.map_or(0, field), field(now), seconds)),
        _ => None,
    };
    #[allow(clippy::cast_precision_loss)]
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1e3);
    Row {
        name: instance.name.clone(),
        type_name: instance.type_name.clone(),
        state: instance.state.to_string(),
        release: instance.release.clone(),
        side: instance.side.map(|s| s.to_string()),
        pid: instance.pid,
        cpu_percent: instance.cpu_percent,
        rss_bytes: instance.rss_bytes,
        restarts: instance.restarts,
        requests_per_s: per_second(|r| r.requests),
        errors_per_s: per_second(|r| r.errors),
        p50_ms: now.and_then(|r| ms(r.p50_us)),
        p99_ms: now.and_then(|r| ms(r.p99_us)),
        in_flight: now.map(|r| r.in_flight),
    }
}

fn totals(router: &RouterStatus, earlier: Option<&RouterStatus>, seconds: Option<f64>) -> Totals {
    let pair = earlier.zip(seconds);
    let own_errors = |r: &RouterStatus| r.bad_gateway + r.unavailable + r.timeout;
    let quantile = |q| pair.and_then(|(e, _)| window_quantile(&e.latency, &router.latency, q));
    Totals {
        listen: router.listen.clone(),
        https: router.https,
        requests: router.requests,
        requests_per_s: pair.map(|(e, s)| rate(e.requests, router.requests, s)),
        router_errors_per_s: pair.map(|(e, s)| rate(own_errors(e), own_errors(router), s)),
        p50_ms: quantile(0.5).map(|s| s * 1e3),
        p99_ms: quantile(0.99).map(|s| s * 1e3),
        connections: router.connections,
        in_flight: router.instances.iter().map(|i| i.in_flight).sum(),
        candidate_share_percent: router.candidate_share.map(|bp| f64::from(bp) / 100.0),
    }
}

/// The `q` quantile (0–1), in seconds, of the requests counted between two histograms, as
/// Prometheus' `histogram_quantile` gives it: linear within the bucket it falls in, the
/// highest finite bound when it falls above; `None` when nothing was counted between them.
pub fn window_quantile(before: &LatencyHistogram, now: &LatencyHistogram, q: f64) -> Option<f64> {
    let bounds = crate::router::LATENCY_BOUNDS;
    let counts: Vec<u64> = now
        .counts
        .iter()
        .enumerate()
        .map(|(i, n)| n.saturating_sub(before.counts.get(i).copied().unwrap_or(0)))
        .collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, n) in counts.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        if *n > 0 && (below + n) as f64 >= rank {
            let Some(upper) = bounds.get(i) else {
                return bounds.last().copied();
            };
            let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
            #[allow(clippy::cast_precision_loss)]
            let within = (rank - below as f64) / *n as f64;
            return Some(lower + (upper - lower) * within);
        }
        below += n;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(counts: &[u64]) -> LatencyHistogram {
        let mut all = vec![0; crate::router::LATENCY_BOUNDS.len() + 1];
        all[..counts.len()].copy_from_slice(counts);
        LatencyHistogram {
            count: all.iter().sum(),
            sum_micros: 0,
            counts: all,
        }
    }

    #[test]
    fn quantiles_of_a_window_as_prometheus_computes_them() {
        let empty = histogram(&[]);
        // 100 requests, all in the first bucket (0–5 ms): p50 half-way, p99 near its top.
        let now = histogram(&[100]);
        let p50 = window_quantile(&empty, &now, 0.5).unwrap();
        assert!((p50 - 0.0025).abs() < 1e-9, "{p50}");
        let p99 = window_quantile(&empty, &now, 0.99).unwrap();
        assert!((p99 - 0.00495).abs() < 1e-9, "{p99}");
        // Only what came between two frames counts: 10 more, all in 50–100 ms.
        let later = histogram(&[100, 0, 0, 0, 10]);
        let p50 = window_quantile(&now, &later, 0.5).unwrap();
        assert!((p50 - 0.075).abs() < 1e-9, "{p50}");
        // Nothing between them: no quantile, not zero.
        assert_eq!(window_quantile(&later, &later, 0.99), None);
        // Above the last bound: the last bound, as Prometheus says.
        let mut slow = histogram(&[]);
        *slow.counts.last_mut().unwrap() = 5;
        assert_eq!(window_quantile(&empty, &slow, 0.99), Some(10.0));
    }

    #[test]
    fn a_counter_that_went_back_counts_from_zero() {
        assert!((rate(10, 30, 2.0) - 10.0).abs() < 1e-9);
        assert!((rate(500, 30, 2.0) - 15.0).abs() < 1e-9);
    }
}
