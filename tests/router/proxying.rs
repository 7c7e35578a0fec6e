//! The router as a proxy: readiness, forwarding headers, 503s, no open proxy, upgrades, slow
//! and idle clients.

use super::*;

#[test]
fn requests_wait_for_a_ready_instance_and_carry_forwarding_headers() {
    let port = base_port();
    let mut running = run(app().env("START_DELAY", "1"), port, 2);
    running.wait_for("router listening on http://127.0.0.1:", 10);
    // No instance listens yet: the request is held, not refused, until one is ready.
    let started = Instant::now();
    let reply = get(port, "/first");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let seen = reply.json();
    let instance_port: u16 = seen["port"].as_str().unwrap().parse().unwrap();
    assert!([port + 1, port + 2].contains(&instance_port), "{seen}");
    let headers = &seen["headers"];
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-port"], port.to_string());
    assert_eq!(headers["x-forwarded-host"], "localhost");
    assert_eq!(headers["via"], "1.1 dozen");
    assert!(
        headers["x-request-start"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    // The id the app saw is the one the client gets back.
    assert_eq!(
        reply.header("x-request-id"),
        headers["x-request-id"].as_str()
    );
    // A well-formed id of the client's is kept.
    let mut client = Client::connect(port).unwrap();
    let reply = client
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: abcdefghij0123456789\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n\r\n")
        .unwrap();
    assert_eq!(reply.header("x-request-id"), Some("abcdefghij0123456789"));
    assert!(reply.json()["headers"].get("x-hop").is_none(), "hop-by-hop");
    // Both instances get requests once both are ready (the second may become ready a
    // moment after the first: requests until both answered, within a bound).
    let mut ports = std::collections::BTreeSet::new();
    crate::harness::eventually_ok("both instances to answer", Duration::from_secs(10), || {
        ports.insert(client.get("/").unwrap().json()["port"].to_string());
        if ports.len() == 2 {
            Ok(())
        } else {
            Err(format!("{ports:?}"))
        }
    });
    let status = ps(&running);
    assert_eq!(status["router"]["listen"], format!("127.0.0.1:{port}"));
    assert_eq!(status["router"]["instances"].as_array().unwrap().len(), 2);
    assert_eq!(status["router"]["instances"][0]["state"], "in rotation");
    stop(running);
}

/// Issue 17's first target: a rolling restart and a scale-down under continuous load lose no
/// request, including slow ones in flight on the instances that stop.
#[test]
fn a_rolling_restart_and_a_scale_down_lose_no_request() {
    let port = base_port();
    let running = run(compound_app(), port, 3);
    assert_eq!(get(port, "/").status, 200);
    let load = Load::start(port, 6, "/");
    let slow = Load::start(port, 2, "/slow?s=0.4");
    load.wait_served(20);
    let before = load.served();
    let (code, stdout, stderr) = running.dozen(&["restart", "web", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let during_restart = load.served() - before;
    let (code, stdout, stderr) = running.dozen(&["scale", "web=1", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // And on after it, through the one instance left: every client asks again (many times
    // over), the slow ones too.
    load.wait_served(100);
    slow.wait_served(2);
    let (served, failures) = load.finish();
    let (slow_served, slow_failures) = slow.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(
        slow_failures.is_empty(),
        "{} slow failed: {slow_failures:?}",
        slow_failures.len()
    );
    assert!(during_restart > 0 && served > during_restart, "{served}");
    assert!(slow_served > 0);
    let status = ps(&running);
    assert_eq!(status["router"]["bad_gateway"], 0);
    assert_eq!(status["router"]["unavailable"], 0);
    stop(running);
}

#[test]
fn with_no_instance_ready_the_router_answers_503_after_its_queue_timeout() {
    let port = base_port();
    let running = run(
        app().manifest("[router]\nqueue_timeout = \"300ms\"\nlog = \"requests\"\n"),
        port,
        1,
    );
    in_rotation(&running, 1);
    assert_eq!(get(port, "/?token=not-logged").status, 200);
    let (code, stdout, stderr) = running.dozen(&["stop", "web", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let started = Instant::now();
    let reply = get(port, "/");
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(reply.header("x-request-id").is_some());
    assert!(String::from_utf8_lossy(&reply.body).contains("no instance is ready"));
    assert_eq!(ps(&running)["router"]["unavailable"], 1);
    let lines = stop(running);
    assert!(
        lines.iter().any(|l| l
            .starts_with("router | at=error code=no-instance status=503 method=GET path=\"/\"")),
        "{lines:#?}"
    );
    // `log = "requests"`: the request served before is a line too, its query's secret
    // value masked, the host it asked for said.
    assert!(
        lines.iter().any(|l| l.starts_with(
            "router | at=info method=GET path=\"/?token=***\" host=\"localhost\" status=200 bytes="
        ) && l.contains(" instance=web.1 request_id=")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("not-logged")),
        "{lines:#?}"
    );
}

#[test]
fn the_router_is_not_an_open_proxy() {
    let port = base_port();
    let running = run(app(), port, 1);
    assert_eq!(get(port, "/").status, 200);
    let mut client = Client::connect(port).unwrap();
    let reply = client
        .send("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 400);
    let mut client = Client::connect(port).unwrap();
    let reply = client
        .send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 405);
    // Its own address in absolute form is fine.
    let mut client = Client::connect(port).unwrap();
    let reply = client
        .send(&format!(
            "GET http://127.0.0.1:{port}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        ))
        .unwrap();
    assert_eq!(reply.status, 200);
    stop(running);
}

#[test]
fn an_upgrade_becomes_a_tunnel_to_the_instance() {
    let port = base_port();
    let running = run(app(), port, 1);
    assert_eq!(get(port, "/").status, 200);
    let mut client = Client::tunnel(port);
    for message in ["ping\n", "and pong\n"] {
        client.echo(message);
    }
    stop(running);
}

#[test]
fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    let port = base_port();
    let running = run(
        app().manifest("[router]\nheader_timeout = \"500ms\"\n"),
        port,
        1,
    );
    assert_eq!(get(port, "/").status, 200);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    assert!(
        rest.is_empty() || String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    stop(running);
}

/// A kept-alive connection with no request is closed after `idle_timeout`; one that keeps
/// asking within it stays open; a request that takes longer than it, and a tunnel that is
/// quiet longer than it, are not on its clock.
#[test]
fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let port = base_port();
    let running = run(
        app().manifest("[router]\nidle_timeout = \"800ms\"\nheader_timeout = \"5s\"\n"),
        port,
        1,
    );
    assert_eq!(get(port, "/").status, 200);
    let mut steady = Client::connect(port).unwrap();
    for _ in 0..4 {
        assert_eq!(steady.get("/").unwrap().status, 200);
        // A fixed time on purpose: asking every 400 ms, within the 800 ms idle timeout.
        std::thread::sleep(Duration::from_millis(400));
    }
    let reply = steady.get("/slow?s=1.5").unwrap();
    assert_eq!(reply.status, 200, "a request longer than the idle timeout");
    // A response whose head came at once and whose body takes longer than the idle timeout.
    let reply = steady
        .send("POST /stream?s=0.6 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 200);
    let mut body = Vec::new();
    while !body.ends_with(b"0\r\n\r\n") {
        let mut byte = [0];
        steady.reader.read_exact(&mut byte).unwrap();
        body.push(byte[0]);
    }
    assert!(
        String::from_utf8_lossy(&body).contains("second"),
        "{body:?}"
    );
    let mut tunnel = Client::tunnel(port);
    // Now the steady connection idles; the tunnel is quiet as long.
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = steady.reader.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(read.is_ok() && rest.is_empty(), "{read:?} {rest:?}");
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    // A fixed time on purpose: the tunnel stays quiet past the idle timeout (over 1.3 s).
    std::thread::sleep(Duration::from_millis(500));
    tunnel.echo("still here\n");
    stop(running);
}

/// Behind a trusted proxy (one that terminated TLS, say) the app hears what the proxy said:
/// `X-Forwarded-Proto: https` and its `Forwarded` are kept; from a peer not trusted they are
/// the router's own. Router lines carry the query, secret values masked (issue 32).
#[test]
fn a_trusted_proxys_forwarding_headers_reach_the_app_and_lines_carry_the_query() {
    let sent = "GET /cb?page=2&access_token=hunter2 HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nForwarded: for=203.0.113.9;proto=https\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n";
    for (trusted, proto, port_seen) in [("127.0.0.1", "https", "443"), ("10.0.0.0/8", "http", "")] {
        let port = base_port();
        let manifest = format!("[router]\ntrusted_proxies = [\"{trusted}\"]\nlog = \"requests\"\n");
        let mut running = run(app().manifest(&manifest), port, 1);
        in_rotation(&running, 1);
        let reply = Client::connect(port).unwrap().send(sent).unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        let headers = &reply.json()["headers"];
        assert_eq!(headers["x-forwarded-proto"], proto, "{trusted}: {headers}");
        assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        let port_seen = if port_seen.is_empty() {
            port.to_string()
        } else {
            port_seen.to_owned()
        };
        assert_eq!(headers["x-forwarded-port"], port_seen, "{trusted}");
        let forwarded = headers["forwarded"].as_str().unwrap();
        assert_eq!(
            forwarded.starts_with("for=203.0.113.9;proto=https, "),
            proto == "https",
            "{trusted}: {forwarded}"
        );
        assert!(
            forwarded.ends_with("for=127.0.0.1;proto=http;host=localhost"),
            "{forwarded}"
        );
        let line = running.wait_for("router | at=info method=GET", 10);
        assert!(
            line.contains("path=\"/cb?page=2&access_token=***\""),
            "{line}"
        );
        assert!(!line.contains("hunter2"), "{line}");
        stop(running);
    }
}

/// The samples of an exposition, as Prometheus' own Python parser reads it: its family's
/// type, its name, its labels and its value (integral ones as integers). `None` when the
/// parser is not installed (said as a missing tool).
fn parsed_metrics(exposition: &[u8]) -> Option<Vec<(String, String, Value, Value)>> {
    let parser = "import json, sys\nfrom prometheus_client.parser import text_string_to_metric_families\nout = []\nfor family in text_string_to_metric_families(sys.stdin.read()):\n    for s in family.samples:\n        v = int(s.value) if s.value == int(s.value) else s.value\n        out.append([family.type, s.name, s.labels, v])\nprint(json.dumps(out))\n";
    let parsed = std::process::Command::new("python3")
        .args(["-c", parser])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(exposition)?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&parsed.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        crate::harness::missing(
            "prometheus_client",
            "python3 -m pip install prometheus_client==0.21.1",
        );
        return None;
    }
    assert!(
        parsed.status.success(),
        "{stderr}\n{}",
        String::from_utf8_lossy(exposition)
    );
    Some(serde_json::from_slice(&parsed.stdout).unwrap())
}

/// `[router] metrics`: the exposition parses with Prometheus' own Python parser, and its
/// counts are the requests sent (issue 32).
#[test]
fn the_metrics_are_prometheus_text_and_count_what_was_sent() {
    let port = base_port();
    let metrics = port + 50;
    let manifest = format!("[router]\nmetrics = \"{metrics}\"\n");
    let mut running = run(app().manifest(&manifest), port, 1);
    running.wait_for(
        &format!("metrics on http://127.0.0.1:{metrics}/metrics"),
        10,
    );
    in_rotation(&running, 1);
    let mut client = Client::connect(port).unwrap();
    for i in 0..10 {
        assert_eq!(client.get(&format!("/n/{i}")).unwrap().status, 200);
    }
    // One the router refuses: two hosts.
    // Held open until the scrape: both clients' connections are counted, deterministically.
    let mut second = Client::connect(port).unwrap();
    let refused = second
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nHost: other\r\n\r\n")
        .unwrap();
    assert_eq!(refused.status, 400);
    let reply = Client::connect(metrics).unwrap().get("/metrics").unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let Some(samples) = parsed_metrics(&reply.body) else {
        stop(running);
        return;
    };
    let value = |name: &str, labels: &[(&str, &str)]| -> i64 {
        samples
            .iter()
            .filter(|(_, n, l, _)| {
                n == name && labels.iter().all(|(k, v)| l[*k].as_str() == Some(*v))
            })
            .filter_map(|(.., v)| v.as_i64())
            .sum()
    };
    assert_eq!(value("dozen_router_requests_total", &[]), 11);
    let served = [("instance", "web.1"), ("code", "2xx")];
    assert_eq!(value("dozen_router_responses_total", &served), 10);
    let refusals = [("code", "4xx"), ("cause", "refused")];
    assert_eq!(value("dozen_router_errors_total", &refusals), 1);
    assert_eq!(
        value("dozen_router_request_duration_seconds_count", &[]),
        10
    );
    let all = [("le", "+Inf")];
    assert_eq!(
        value("dozen_router_request_duration_seconds_bucket", &all),
        10
    );
    // The metrics' own connection is not the router's; the two clients above are open.
    assert_eq!(
        value("dozen_router_connections", &[("state", "active")])
            + value("dozen_router_connections", &[("state", "idle")]),
        2
    );
    let in_rotation = [("instance", "web.1"), ("state", "in rotation")];
    assert_eq!(value("dozen_router_instance_state", &in_rotation), 1);
    assert_eq!(
        value("dozen_instances", &[("type", "web"), ("state", "ready")]),
        1
    );
    let sum = samples
        .iter()
        .find(|(_, n, ..)| n == "dozen_router_request_duration_seconds_sum")
        .and_then(|(.., v)| v.as_f64());
    assert!(sum.is_some_and(|s| s > 0.0), "{sum:?}");
    let counters: Vec<&str> = samples
        .iter()
        .filter(|(kind, ..)| kind == "counter")
        .map(|(_, name, ..)| name.as_str())
        .collect();
    assert!(
        counters.iter().all(|n| n.ends_with("_total")),
        "{counters:?}"
    );
    // Anything but GET /metrics: said so.
    assert_eq!(
        Client::connect(metrics).unwrap().get("/").unwrap().status,
        404
    );
    stop(running);
}
