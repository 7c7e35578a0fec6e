//! HTTP drains, against a small receiver that records every request.

use super::*;

const RECEIVER: &str = r#"
import http.server, json, os, ssl, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = int(open(out + ".status").read()) if os.path.exists(out + ".status") else 200
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode("utf-8"), "status": status}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
if len(sys.argv) > 3:
    # HTTPS with the test's certificate: argv[3] and argv[4] are its chain and key.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn start(port: u16) -> Self {
        Self::start_with(port, None)
    }

    /// Over TLS with `ca`'s server certificate when given.
    fn start_with(port: u16, ca: Option<&TestCa>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("receiver.py"), RECEIVER).unwrap();
        let mut command = Command::new("python3");
        command
            .arg(dir.path().join("receiver.py"))
            .arg(port.to_string())
            .arg(dir.path().join("requests.jsonl"));
        if let Some(ca) = ca {
            command.arg(&ca.cert).arg(&ca.key);
        }
        let child = command.spawn().unwrap();
        crate::harness::wait_for_port(port, "the receiver");
        Self { child, dir }
    }

    fn answer(&self, status: u16) {
        std::fs::write(
            self.dir.path().join("requests.jsonl.status"),
            status.to_string(),
        )
        .unwrap();
    }

    fn requests(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        // Only whole lines: the receiver may be writing the next one as this reads (a large
        // batch's line is written in several chunks).
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until the requests hold `needle` in their bodies.
    #[track_caller]
    fn wait_for(&self, needle: &str, secs: u64) -> Vec<Value> {
        crate::harness::eventually_ok(
            &format!("the receiver to get {needle:?}"),
            Duration::from_secs(secs),
            || {
                let requests = self.requests();
                if requests
                    .iter()
                    .any(|r| r["body"].as_str().unwrap().contains(needle))
                {
                    Ok(requests)
                } else {
                    Err(format!("{requests:?}"))
                }
            },
        )
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The RFC 5424 messages of an octet-counted body.
fn frames(body: &[u8]) -> Vec<String> {
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ').expect("a length");
        let length: usize = std::str::from_utf8(&rest[..space])
            .unwrap()
            .parse()
            .unwrap();
        out.push(String::from_utf8(rest[space + 1..space + 1 + length].to_vec()).unwrap());
        rest = &rest[space + 1 + length..];
    }
    out
}

/// Each instance's app lines as a receiver got them: from Logplex frames (checking their
/// header fields) and from NDJSON events.
fn http_lines(
    requests: &[Value],
) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let (mut plex, mut json) = (
        BTreeMap::<String, Vec<String>>::new(),
        BTreeMap::<String, Vec<String>>::new(),
    );
    for request in requests {
        let body = request["body"].as_str().unwrap();
        if request["path"] == "/ndjson" {
            for line in body.lines() {
                let event: Value = serde_json::from_str(line).unwrap();
                json.entry(event["process"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(event["line"].as_str().unwrap().to_owned());
            }
        } else {
            for frame in frames(body.as_bytes()) {
                // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
                let fields: Vec<&str> = frame.splitn(8, ' ').collect();
                assert!(fields[0].ends_with(">1"), "{frame}");
                assert_eq!(fields[2], "shop", "{frame}");
                assert_eq!((fields[5], fields[6]), ("-", "-"), "{frame}");
                if fields[3] == "app" {
                    plex.entry(fields[4].to_owned())
                        .or_default()
                        .push(fields[7].to_owned());
                }
            }
        }
    }
    (plex, json)
}

#[test]
fn https_style_drains_post_logplex_and_ndjson_batches() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let secret = "s3cr3t-t0ken";
    let logplex = format!(
        "http://user:{secret}@127.0.0.1:{}/ingest?key={secret}",
        base + 150
    );
    let ndjson = format!("http://127.0.0.1:{}/ndjson#format=ndjson", base + 150);
    let manifest =
        format!("[app]\nname = \"shop\"\n\n[logs]\ndrains = [\"{logplex}\", \"{ndjson}\"]\n");
    let mut running = app()
        .env("LINES", "1200")
        .manifest(&manifest)
        .run_at(base, "web=2");
    running.wait_for_nth("| done", 2, 30);
    let (requests, plex, json) =
        crate::harness::eventually_ok("every line to arrive", Duration::from_secs(30), || {
            let requests = receiver.requests();
            let (plex, json) = http_lines(&requests);
            let complete = |m: &BTreeMap<String, Vec<String>>| {
                ["web.1", "web.2"].iter().all(|ps| {
                    m.get(*ps)
                        .is_some_and(|l| l.last().map(String::as_str) == Some("done"))
                })
            };
            if complete(&plex) && complete(&json) {
                Ok((requests, plex, json))
            } else {
                Err(format!("{} requests", requests.len()))
            }
        });
    for ps in ["web.1", "web.2"] {
        let mut expected = all_written(ps, 1200);
        expected.push("done".into());
        assert_lines(&plex[ps], &expected, "logplex");
        assert_lines(&json[ps], &expected, "ndjson");
    }
    for request in &requests {
        let headers = &request["headers"];
        let body = request["body"].as_str().unwrap();
        if request["path"] == "/ndjson" {
            assert_eq!(headers["content-type"], "application/x-ndjson");
            assert!(body.lines().count() <= 500);
        } else {
            assert_eq!(request["path"], format!("/ingest?key={secret}"));
            assert_eq!(headers["content-type"], "application/logplex-1");
            let count: usize = headers["logplex-msg-count"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(count, frames(body.as_bytes()).len());
            assert!(count <= 500, "a batch of {count}");
            // Basic credentials from the URL: base64("user:s3cr3t-t0ken").
            assert_eq!(headers["authorization"], "Basic dXNlcjpzM2NyM3QtdDBrZW4=");
            assert!(
                headers["logplex-drain-token"]
                    .as_str()
                    .unwrap()
                    .starts_with("d.")
            );
            assert!(headers["logplex-frame-id"].is_string());
        }
    }
    // The URL's secrets appear nowhere dozen prints.
    let status = ps_json(&running);
    let shown = status["logs"]["drains"].to_string();
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("http://***@127.0.0.1:"), "{shown}");
    let (_, text, _) = running.dozen(&["ps"]);
    assert!(!text.contains(secret) && text.contains("drain "), "{text}");

    let lines = stop(running);
    assert!(!lines.iter().any(|l| l.contains(secret)));
}

#[test]
fn a_collector_that_refuses_a_batch_costs_it_counted_and_said() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let manifest = format!(
        "[logs]\ndrains = [\"http://127.0.0.1:{}/in\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "10")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    receiver.wait_for("done", 10);
    // A collector that refuses (4xx): the batch is dropped, counted, and said.
    receiver.answer(403);
    // Lines for the drain to send: dozen's own, of a restart of web.1 (another every 300 ms
    // until the refusal shows).
    let mut restarted: Option<Instant> = None;
    let drains = crate::harness::eventually_ok(
        "a refused batch to be counted as dropped",
        Duration::from_secs(20),
        || {
            let drains = ps_json(&running)["logs"]["drains"].clone();
            if drains
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["dropped"].as_u64().unwrap() > 0)
            {
                return Ok(drains);
            }
            if restarted.is_none_or(|at| at.elapsed() >= Duration::from_millis(300)) {
                running.dozen(&["restart", "web.1"]);
                restarted = Some(Instant::now());
            }
            Err(drains.to_string())
        },
    );
    assert!(
        drains[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 403"),
        "{drains}"
    );
    stop(running);
}

#[test]
fn an_https_drain_delivers_to_a_collector_whose_certificate_it_trusts() {
    let base = crate::harness::port_block();
    let ca = TestCa::make();
    let receiver = Receiver::start_with(base + 150, Some(&ca));
    let manifest = format!(
        "[logs]\ndrains = [\"https://localhost:{}/ndjson#format=ndjson\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "700")
        .env("SSL_CERT_FILE", ca.ca.to_str().unwrap())
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    let requests = receiver.wait_for("\"done\"", 20);
    let (_, json) = http_lines(&requests);
    let mut expected = all_written("web.1", 700);
    expected.push("done".into());
    assert_lines(&json["web.1"], &expected, "https");
    // 700 lines at once: two batches at least (500 at most each).
    assert!(requests.len() >= 2, "{} requests", requests.len());
    assert_eq!(ps_json(&running)["logs"]["drains"][0]["state"], "connected");
    stop(running);
}

#[test]
fn drains_added_and_removed_apply_to_the_running_formation_and_stay_secret() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let secret = "t0k3n-value";
    let url = format!(
        "http://u:{secret}@127.0.0.1:{}/in#format=ndjson",
        base + 150
    );
    let script = "import os, sys, time\ni = 0\nwhile True:\n    print('tick %d' % i, flush=True)\n    i += 1\n    time.sleep(0.05)\n";
    let test = Test::new()
        .file("tick.py", script)
        .procfile("web: python3 -u tick.py\n");
    let port = base.to_string();
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    running.wait_for("web.1 | tick 3", 20);

    let (code, stdout, stderr) = running.dozen(&["drains", "add", &url]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let id = stdout.split_whitespace().nth(2).unwrap().to_owned();
    assert_eq!(id.len(), 12, "{stdout}");
    assert!(stdout.contains("http://***@127.0.0.1:"), "{stdout}");
    assert!(
        stderr.contains("the running `dozen run` has applied it"),
        "{stderr}"
    );
    let stored = running.dir.path().join(".dozen/drains.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&stored).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // The run ships to it at once.
    running.wait_for("drains changed: 1 now", 10);
    let requests = receiver.wait_for("tick", 10);
    assert!(
        requests
            .iter()
            .all(|r| r["headers"]["authorization"].is_string())
    );

    // Listed redacted, with its id; the same URL twice is refused.
    let (code, stdout, _) = running.dozen(&["drains"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(&id) && stdout.contains("(stored)") && !stdout.contains(secret),
        "{stdout}"
    );
    let (_, stdout, _) = running.dozen(&["drains", "--json"]);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["drains"][0]["id"], id.as_str());
    assert_eq!(
        listed["drains"][0]["url"],
        format!("http://***@127.0.0.1:{}/***#format=ndjson", base + 150)
    );
    let (code, _, stderr) = running.dozen(&["drains", "add", &url]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("already a drain") && !stderr.contains(secret),
        "{stderr}"
    );
    let (code, _, stderr) = running.dozen(&["drains", "add", "ftp://example.com"]);
    assert_eq!(code, Some(2), "{stderr}");

    // Removed by a prefix of its id: the run stops shipping.
    let (code, stdout, stderr) = running.dozen(&["drains", "remove", &id[..6]]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&id));
    running.wait_for("drains changed: 0 now (1 stopped)", 10);
    // A stopped drain may still send what it holds until its flush timeout (2 s by default),
    // and nothing tells when it is done: fixed times on purpose, that timeout to pass (it
    // began at the stop, before the line above), then 1.5 s in which nothing may arrive.
    std::thread::sleep(Duration::from_secs(2));
    let before = receiver.requests().len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), before);
    let (code, _, stderr) = running.dozen(&["drains", "remove", &id]);
    assert_eq!(code, Some(2), "{stderr}");
    stop(running);
}

#[test]
fn logs_settings_are_checked_where_they_are_written() {
    Test::new()
        .procfile("web: a\n")
        .manifest("[logs]\nbuffer_lines = 5000000\ndrains = [\"syslog+tcp://logs.example.com\"]\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:16: buffer_lines is at most 1000000")
        .stderr_has("dozen.toml:3:11: invalid drain: a syslog drain needs a port");
    Test::new()
        .procfile("web: a\n")
        .manifest("[logs]\ndrains = [\"https://${LOG_USER}:${LOG_TOKEN}@logs.example.com/in\"]\nflush_timeout = \"1s\"\n")
        .args(&["check"])
        .run()
        .success();
    // A `${NAME}` the config does not have stops the run before it starts.
    Test::new()
        .procfile("web: sleep 5\n")
        .manifest("[logs]\ndrains = [\"https://${LOG_TOKEN}@logs.example.com/in\"]\n")
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("the config has no `LOG_TOKEN` for a drain URL");
}

#[test]
fn a_drain_whose_collector_is_not_there_yet_retries_and_delivers_when_it_comes() {
    let base = crate::harness::port_block();
    let manifest = format!(
        "[logs]\ndrains = [\"http://127.0.0.1:{}/ndjson#format=ndjson\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "50")
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    // Nothing listens: the drain says why and keeps the lines.
    let drain =
        crate::harness::eventually_ok("the drain to be retrying", Duration::from_secs(10), || {
            let drain = ps_json(&running)["logs"]["drains"][0].clone();
            if drain["state"] == "retrying" {
                Ok(drain)
            } else {
                Err(drain.to_string())
            }
        });
    assert!(
        drain["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{drain}"
    );
    assert_eq!(drain["dropped"], 0);
    // The collector comes: within the backoff, every line arrives once.
    let receiver = Receiver::start(base + 150);
    let requests = receiver.wait_for("\"done\"", 40);
    let (_, json) = http_lines(&requests);
    let mut expected = all_written("web.1", 50);
    expected.push("done".into());
    assert_lines(&json["web.1"], &expected, "after the reconnection");
    assert_eq!(ps_json(&running)["logs"]["drains"][0]["state"], "connected");
    stop(running);
}

/// A proxy that opens `CONNECT` tunnels to this machine whatever name it is asked for, and
/// keeps the targets it was asked for.
fn connect_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(target.clone());
                let port: u16 = target.rsplit_once(':').unwrap().1.parse().unwrap();
                let Ok(mut upstream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut c2, &mut u2));
                let _ = std::io::copy(&mut upstream, &mut client);
            });
        }
    });
    (port, asked)
}

/// An HTTP drain goes through the proxy `http_proxy` names, in a `CONNECT` tunnel: a name
/// only the proxy can resolve reaches the collector.
#[test]
fn an_http_drain_goes_through_the_environments_proxy() {
    let base = crate::harness::port_block();
    let receiver = Receiver::start(base + 150);
    let (proxy, asked) = connect_proxy();
    let manifest = format!(
        "[logs]\ndrains = [\"http://collector.invalid:{}/ndjson#format=ndjson\"]\n",
        base + 150
    );
    let mut running = app()
        .env("LINES", "20")
        .env("http_proxy", &format!("http://127.0.0.1:{proxy}"))
        .manifest(&manifest)
        .run_at(base, "web=1");
    running.wait_for("web.1 | done", 30);
    receiver.wait_for("\"done\"", 20);
    assert_eq!(
        asked.lock().unwrap().first().map(String::as_str),
        Some(format!("collector.invalid:{}", base + 150).as_str())
    );
    stop(running);
}
