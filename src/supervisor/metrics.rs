//! The run's metrics in the Prometheus text format (version 0.0.4), on a listener of their
//! own (`[router] metrics = "127.0.0.1:9102"`, docs/router.md, "Metrics"): the router's
//! requests, latencies, errors and instances, the formation's instances and restarts, the
//! drains, and a canary's comparison. Names follow Prometheus' conventions: a `dozen_`
//! prefix, `_total` counters, base units (`_seconds`).
//!
//! A scrape asks the run for what `dozen ps` shows (one request through the loop, as `ps`
//! is), whose router part carries its latency histogram; the exposition is rendered from it.

use std::fmt::Write as _;

use crate::control::Response;
use crate::router::LatencyHistogram;

/// The exposition of `status` (a `ps` answer, whose router part carries its latencies).
pub fn render(status: &Response) -> String {
    let mut out = String::with_capacity(4096);
    instances(&mut out, status);
    if let Some(router) = &status.router {
        router_metrics(&mut out, router);
        histogram(&mut out, &router.latency);
    }
    if let Some(logs) = &status.logs {
        drains(&mut out, logs);
    }
    if let Some(canary) = &status.canary {
        canary_metrics(&mut out, canary);
    }
    out
}

/// A label value, escaped as the format says (`\`, `"`, newline).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn instances(out: &mut String, status: &Response) {
    family(
        out,
        "dozen_instances",
        "gauge",
        "Instances of the formation by process type and state.",
    );
    let mut counts: Vec<((&str, &str), u64)> = Vec::new();
    for instance in &status.instances {
        let key = (instance.type_name.as_str(), instance.state.as_str());
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    for ((type_name, state), n) in &counts {
        let _ = writeln!(
            out,
            "dozen_instances{{type=\"{}\",state=\"{}\"}} {n}",
            label(type_name),
            label(state)
        );
    }
    family(
        out,
        "dozen_process_restarts_total",
        "counter",
        "Restarts of the instances a process type has now, after a crash or a failed health check (not `dozen restart`).",
    );
    let mut restarts: Vec<(&str, u64)> = Vec::new();
    for instance in &status.instances {
        let name = instance.type_name.as_str();
        let n = u64::from(instance.restarts);
        match restarts.iter_mut().find(|(t, _)| *t == name) {
            Some((_, total)) => *total += n,
            None => restarts.push((name, n)),
        }
    }
    for (type_name, n) in restarts {
        let _ = writeln!(
            out,
            "dozen_process_restarts_total{{type=\"{}\"}} {n}",
            label(type_name)
        );
    }
}

fn connection_metrics(out: &mut String, router: &crate::router::Status) {
    family(
        out,
        "dozen_router_connections",
        "gauge",
        "Client connections open, by state: active, or idle (waiting for a request, holding no buffers).",
    );
    let idle = router.idle_connections;
    let active = router.connections.saturating_sub(idle);
    let _ = writeln!(out, "dozen_router_connections{{state=\"active\"}} {active}");
    let _ = writeln!(out, "dozen_router_connections{{state=\"idle\"}} {idle}");
}

fn router_metrics(out: &mut String, router: &crate::router::Status) {
    family(
        out,
        "dozen_router_requests_total",
        "counter",
        "Requests the router received.",
    );
    let _ = writeln!(out, "dozen_router_requests_total {}", router.requests);
    connection_metrics(out, router);
    family(
        out,
        "dozen_router_responses_total",
        "counter",
        "Responses an instance gave, by instance, deploy side and status class.",
    );
    // Instances of one name on one side (an old and a new `web.1` during a move) are one
    // series.
    let mut series: Vec<(String, &str, &str, u64)> = Vec::new();
    for instance in &router.instances {
        let side = instance.side.as_deref().unwrap_or("");
        for (class, n) in &instance.responses {
            let class = class.as_str();
            match series
                .iter_mut()
                .find(|(i, s, c, _)| *i == instance.name && *s == side && *c == class)
            {
                Some((.., total)) => *total += *n,
                None => series.push((instance.name.clone(), side, class, *n)),
            }
        }
    }
    for (instance, side, class, n) in &series {
        let _ = writeln!(
            out,
            "dozen_router_responses_total{{instance=\"{}\",side=\"{side}\",code=\"{class}\"}} {n}",
            label(instance)
        );
    }
    family(
        out,
        "dozen_router_errors_total",
        "counter",
        "Requests the router answered itself, by status and cause.",
    );
    for (code, cause, n) in [
        ("502", "instance_failed", router.bad_gateway),
        ("503", "no_instance_ready", router.unavailable),
        ("504", "timeout", router.timeout),
        ("4xx", "refused", router.refused),
    ] {
        let _ = writeln!(
            out,
            "dozen_router_errors_total{{code=\"{code}\",cause=\"{cause}\"}} {n}"
        );
    }
    family(
        out,
        "dozen_router_retries_total",
        "counter",
        "Idempotent requests sent to another instance after theirs failed them.",
    );
    let _ = writeln!(out, "dozen_router_retries_total {}", router.retried);
    let labels = |instance: &crate::router::InstanceStatus| {
        format!(
            "instance=\"{}\",side=\"{}\",port=\"{}\"",
            label(&instance.name),
            instance.side.as_deref().unwrap_or(""),
            instance.port
        )
    };
    family(
        out,
        "dozen_router_in_flight",
        "gauge",
        "Requests in flight to each instance.",
    );
    for instance in &router.instances {
        let _ = writeln!(
            out,
            "dozen_router_in_flight{{{}}} {}",
            labels(instance),
            instance.in_flight
        );
    }
    family(
        out,
        "dozen_router_instance_state",
        "gauge",
        "Each instance's state in the router's rotation (1 for its state).",
    );
    for instance in &router.instances {
        let _ = writeln!(
            out,
            "dozen_router_instance_state{{{},state=\"{}\"}} 1",
            labels(instance),
            label(&instance.state)
        );
    }
}

fn histogram(out: &mut String, latency: &LatencyHistogram) {
    family(
        out,
        "dozen_router_request_duration_seconds",
        "histogram",
        "Time from a request received to its response's end, for requests an instance answered.",
    );
    let mut cumulative = 0;
    for (bound, n) in latency.buckets() {
        cumulative += n;
        let _ = writeln!(
            out,
            "dozen_router_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "dozen_router_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        latency.count
    );
    #[allow(clippy::cast_precision_loss)]
    let sum = latency.sum_micros as f64 / 1e6;
    let _ = writeln!(out, "dozen_router_request_duration_seconds_sum {sum}");
    let _ = writeln!(
        out,
        "dozen_router_request_duration_seconds_count {}",
        latency.count
    );
}

fn drains(out: &mut String, logs: &crate::control::LogsStatus) {
    for (name, kind, help) in [
        (
            "dozen_drain_sent_lines_total",
            "counter",
            "Lines a drain delivered.",
        ),
        (
            "dozen_drain_dropped_lines_total",
            "counter",
            "Lines a drain dropped (a full queue, a refusal, the run's end).",
        ),
        (
            "dozen_drain_queued_lines",
            "gauge",
            "Lines waiting in a drain's queue.",
        ),
    ] {
        family(out, name, kind, help);
        for drain in &logs.drains {
            let value = match name {
                "dozen_drain_sent_lines_total" => drain.sent,
                "dozen_drain_dropped_lines_total" => drain.dropped,
                _ => drain.queued as u64,
            };
            let _ = writeln!(out, "{name}{{drain=\"{}\"}} {value}", label(&drain.id));
        }
    }
}

fn canary_metrics(out: &mut String, canary: &crate::control::CanaryStatus) {
    let sides = [("stable", &canary.stable), ("canary", &canary.canary)];
    family(
        out,
        "dozen_canary_requests",
        "gauge",
        "Requests each side served in the canary's current step.",
    );
    for (side, report) in sides {
        let _ = writeln!(
            out,
            "dozen_canary_requests{{side=\"{side}\"}} {}",
            report.requests
        );
    }
    family(
        out,
        "dozen_canary_error_ratio",
        "gauge",
        "Each side's share of errors in the canary's current step (0 to 1).",
    );
    for (side, report) in sides {
        let _ = writeln!(
            out,
            "dozen_canary_error_ratio{{side=\"{side}\"}} {}",
            report.error_rate / 100.0
        );
    }
    family(
        out,
        "dozen_canary_p99_seconds",
        "gauge",
        "Each side's p99 service time in the canary's current step.",
    );
    for (side, report) in sides {
        if let Some(p99) = report.p99_ms {
            let _ = writeln!(
                out,
                "dozen_canary_p99_seconds{{side=\"{side}\"}} {}",
                p99 / 1000.0
            );
        }
    }
    family(
        out,
        "dozen_canary_weight_ratio",
        "gauge",
        "The canary's share of requests (0 to 1).",
    );
    let _ = writeln!(
        out,
        "dozen_canary_weight_ratio {}",
        canary.weight_percent / 100.0
    );
}

/// What a scrape asks for: the run's status (`None` when the run is ending) and the
/// router's latencies.
pub type Ask = Box<dyn Fn() -> Option<Response> + Send>;

/// The metrics listener's thread; dropping this ends it.
pub struct Serving {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    address: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the blocked accept.
        let _ = std::net::TcpStream::connect_timeout(&self.address, IO_TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long a scraper may take to send its request, or to take the answer.
const IO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The most of a request's head read.
const MAX_HEAD: usize = 8 * 1024;

/// Serves `GET /metrics` on `listener`, one scrape at a time, until dropped.
pub fn serve(listener: std::net::TcpListener, ask: Ask) -> std::io::Result<Serving> {
    let address = listener.local_addr()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = std::sync::Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("dozen-metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer(stream, &ask);
                }
            }
        })?;
    Ok(Serving {
        stop,
        address,
        thread: Some(thread),
    })
}

/// One scrape: its request's head read (bounded in size and time), its answer written.
fn answer(mut stream: std::net::TcpStream, ask: &Ask) {
    use std::io::{Read as _, Write as _};
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > MAX_HEAD {
            let _ = stream.write_all(&reply(431, "text/plain", b"request head too large\n"));
            return;
        }
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    let answer = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => match ask() {
            Some(status) => {
                let body = render(&status);
                reply(200, CONTENT_TYPE, body.as_bytes())
            }
            None => reply(503, "text/plain", b"the run is ending\n"),
        },
        (b"GET" | b"HEAD", _) => reply(404, "text/plain", b"the metrics are at /metrics\n"),
        _ => reply(405, "text/plain", b"GET /metrics\n"),
    };
    let answer = if method == b"HEAD" {
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(answer.len(), |at| at + 4);
        answer[..end].to_vec()
    } else {
        answer
    };
    let _ = stream.write_all(&answer);
}

/// The text format's media type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn reply(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_buckets_cumulative() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let latency = LatencyHistogram {
            counts: vec![1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            count: 4,
            sum_micros: 1_500_000,
        };
        let mut out = String::new();
        histogram(&mut out, &latency);
        assert!(out.contains("dozen_router_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(out.contains("dozen_router_request_duration_seconds_bucket{le=\"0.025\"} 3\n"));
        assert!(out.contains("dozen_router_request_duration_seconds_bucket{le=\"10\"} 3\n"));
        assert!(out.contains("dozen_router_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
        assert!(out.contains("dozen_router_request_duration_seconds_sum 1.5\n"));
        assert!(out.contains("dozen_router_request_duration_seconds_count 4\n"));
    }
}
