//! `dozen run --router`: one address in front of `web`, requests only to ready instances,
//! draining before an instance stops, the errors and limits of an edge. The app is a small
//! Python HTTP/1.1 server; the client is a plain socket, so every byte is the test's.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Running, Test};

/// Each test its own block of ports (router on the base, instances above it).
fn base_port() -> u16 {
    crate::harness::port_block()
}

/// The app: answers with its port and the headers it saw; `/slow?s=N` takes N seconds;
/// `Upgrade: echo` switches to echoing bytes; waits `START_DELAY` seconds before listening.
const APP: &str = r#"
import http.server, itertools, json, os, socket, socketserver, sys, time
time.sleep(float(os.environ.get("START_DELAY", "0")))
FAILS = itertools.count()
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        # Headers and body are two writes: without this, Nagle and delayed ACKs hold each
        # answer ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_GET(self):
        if self.headers.get("Upgrade") == "echo":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(4096)
                if not data:
                    return
                self.connection.sendall(data)
        if self.path.startswith("/slow"):
            time.sleep(float(self.path.split("=")[1]))
        if self.path == "/die-on-" + os.environ["PORT"]:
            os._exit(1)
        version = open("version.txt").read().strip() if os.path.exists("version.txt") else ""
        if version == "failing" and next(FAILS) % 20 == 0:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"port": os.environ["PORT"], "version": version, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        if self.path == "/die-on-" + os.environ["PORT"]:
            os._exit(1)
        if self.headers.get("Transfer-Encoding") == "chunked":
            size = 0
            while True:
                length = int(self.rfile.readline().strip(), 16)
                if length == 0:
                    self.rfile.readline()
                    break
                size += len(self.rfile.read(length))
                self.rfile.readline()
        else:
            size = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b"first %d\n" % size, b"second\n"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
            time.sleep(float(self.path.split("=")[1]) if "=" in self.path else 0)
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
Server(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
"#;

fn app() -> Test {
    Test::new()
        .file("app.py", APP)
        .procfile("web: exec python3 -u app.py\n")
}

/// The app behind a compound command (no `exec`): the shell stays, the server is its child,
/// and the stop signal must reach both.
fn compound_app() -> Test {
    Test::new()
        .file("app.py", APP)
        .procfile("web: cd . && python3 -u app.py\n")
}

fn run(test: Test, port: u16, web: u32) -> Running {
    let (base, listen) = (port.to_string(), format!("127.0.0.1:{port}"));
    let formation = format!("web={web}");
    test.args(&[
        "run",
        "--dev",
        "--no-timestamps",
        "-p",
        &base,
        "-m",
        &formation,
        "--router",
        &listen,
    ])
    .spawn()
}

/// A response: status, headers (lower-case names), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A keep-alive HTTP/1.1 client connection to the router.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    fn send(&mut self, raw: &str) -> std::io::Result<Reply> {
        self.reader.get_mut().write_all(raw.as_bytes())?;
        self.read_reply()
    }

    /// A connection upgraded (`Upgrade: echo`) to a tunnel to the app's echo.
    fn tunnel(port: u16) -> Self {
        let mut client = Self::connect(port).unwrap();
        let reply = client
            .send("GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
            .unwrap();
        assert_eq!(reply.status, 101, "{reply:?}");
        assert_eq!(reply.header("upgrade"), Some("echo"));
        client
    }

    /// Through a tunnel: `message` comes back as it went.
    fn echo(&mut self, message: &str) {
        self.reader.get_mut().write_all(message.as_bytes()).unwrap();
        let mut echoed = vec![0; message.len()];
        self.reader.read_exact(&mut echoed).unwrap();
        assert_eq!(echoed, message.as_bytes());
    }

    fn get(&mut self, path: &str) -> std::io::Result<Reply> {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("closed before a response"));
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap_or((trimmed, ""));
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(length) = reply.header("content-length") {
            let mut body = vec![0; length.parse().unwrap_or(0)];
            self.reader.read_exact(&mut body)?;
            reply.body = body;
        }
        Ok(reply)
    }
}

/// GET `path` on a new connection, retrying the connect while the router starts.
fn get(port: u16, path: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Client::connect(port) {
            Ok(mut client) => return client.get(path).unwrap(),
            Err(error) => {
                assert!(Instant::now() < deadline, "router never listened: {error}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Stops the run as Ctrl-C does; returns its lines.
fn stop(running: Running) -> Vec<String> {
    running.signal(rustix::process::Signal::INT);
    let (code, lines) = running.finish(15);
    assert_eq!(code, Some(130), "{lines:#?}");
    lines
}

fn ps(running: &Running) -> Value {
    let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Waits until `count` instances are in the router's rotation (a formation's instances start
/// in their own time: on a loaded machine a test must not sample before they are ready).
fn in_rotation(running: &Running, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, stdout, _) = running.dozen(&["ps", "--json"]);
        if code == Some(0) {
            let status: Value = serde_json::from_str(&stdout).unwrap();
            let ready = status["router"]["instances"].as_array().map_or(0, |i| {
                i.iter().filter(|i| i["state"] == "in rotation").count()
            });
            if ready == count {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "never {count} in rotation: {status:#}"
            );
        }
        assert!(Instant::now() < deadline, "no run");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Keep-alive clients requesting without pause until stopped: (successes, failures).
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, clients: usize, path: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
                std::thread::spawn(move || {
                    let mut client = None;
                    while !stop.load(Ordering::SeqCst) {
                        if client.is_none() {
                            client = Client::connect(port).ok();
                        }
                        let Some(connection) = client.as_mut() else {
                            failures.lock().unwrap().push("connect refused".into());
                            continue;
                        };
                        match connection.get(path) {
                            Ok(reply) if reply.status == 200 => {
                                ok.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(reply) => {
                                failures.lock().unwrap().push(format!(
                                    "status {}: {}",
                                    reply.status,
                                    String::from_utf8_lossy(&reply.body)
                                ));
                            }
                            Err(error) => {
                                failures.lock().unwrap().push(error.to_string());
                                client = None;
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failures,
            threads,
        }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::SeqCst), failures)
    }

    fn served(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
    }
}

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
    let deadline = Instant::now() + Duration::from_secs(10);
    while ports.len() < 2 && Instant::now() < deadline {
        ports.insert(client.get("/").unwrap().json()["port"].to_string());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ports.len(), 2, "{ports:?}");
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
    std::thread::sleep(Duration::from_millis(300));
    let before = load.served();
    let (code, stdout, stderr) = running.dozen(&["restart", "web", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let during_restart = load.served() - before;
    let (code, stdout, stderr) = running.dozen(&["scale", "web=1", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    std::thread::sleep(Duration::from_millis(300));
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
    // `log = "requests"`: the request served before is a line too, without its query.
    assert!(
        lines.iter().any(|l| l
            .starts_with("router | at=info method=GET path=\"/\" status=200 bytes=")
            && l.contains(" instance=web.1 request_id=")),
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
    std::thread::sleep(Duration::from_millis(500));
    tunnel.echo("still here\n");
    stop(running);
}

/// `[processes.web] autoscale`: under load the formation grows to its max (never past it),
/// each decision said and recorded with its measurement; without load it shrinks back to
/// its min once the scale-down window has passed; no request fails through either.
#[test]
fn autoscaling_follows_the_load_within_min_and_max() {
    let port = base_port();
    let test = app().manifest(
        "[processes.web]\nautoscale = { min = 1, max = 3, target = 2, scale_down_window = \"2s\" }\n",
    );
    let dir = test.path().to_path_buf();
    let running = run(test, port, 1);
    assert_eq!(get(port, "/").status, 200);
    let wait_for = |count: u64, within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            let status = ps(&running);
            if status["formation"]["web"] == count
                && status["router"]["instances"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["state"] == "in rotation")
                    .count()
                    == usize::try_from(count).unwrap()
            {
                return status;
            }
            assert!(Instant::now() < deadline, "never {count}: {status:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let load = Load::start(port, 8, "/slow?s=0.2");
    let status = wait_for(3, Duration::from_secs(15));
    assert_eq!(status["autoscale"][0]["type"], "web");
    assert!(
        status["autoscale"][0]["last_decision"]
            .as_str()
            .unwrap()
            .contains("(in-flight"),
        "{status:#}"
    );
    assert_eq!(status["autoscale"][0]["max"], 3);
    assert!(status["autoscale"][0]["measured"].as_f64().unwrap() > 0.0);
    // Held at its max under the same load.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ps(&running)["formation"]["web"], 3);
    let (served, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served > 0);
    // Idle: back to 1, after the window (2 s from the last measurement that asked for 3,
    // which may have been up to a second before the load stopped).
    let quiet = Instant::now();
    wait_for(1, Duration::from_secs(15));
    assert!(
        quiet.elapsed() >= Duration::from_secs(1),
        "{:?}",
        quiet.elapsed()
    );
    let history = std::fs::read_to_string(dir.join(".dozen/history.jsonl")).unwrap();
    let lines = stop(running);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("autoscale: web 1 → 2 (in-flight")),
        "{lines:#?}"
    );
    let decisions: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["what"] == "autoscale")
        .collect();
    assert!(decisions.len() >= 3, "{history}");
    for d in &decisions {
        let to = d["to"].as_u64().unwrap();
        assert!((1..=3).contains(&to), "{d}");
    }
    assert_eq!(decisions.last().unwrap()["to"], 1);
}

/// A type the router does not front scales by a number a command prints (a queue's
/// length), per instance; a command that fails is told once and changes nothing.
#[test]
fn a_worker_scales_by_what_its_metric_command_prints() {
    let test = Test::new()
        .procfile("worker: exec sleep 60\n")
        .file("queue.txt", "0\n")
        .manifest(
            "[processes.worker]\nautoscale = { min = 1, max = 4, target = 3, metric = \"command\", command = \"cat queue.txt\", interval = \"200ms\", scale_down_window = \"1s\" }\n",
        );
    let dir = test.path().to_path_buf();
    let port = base_port().to_string();
    let running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    let wait_for = |count: u64| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (code, stdout, _) = running.dozen(&["ps", "--json"]);
            if code == Some(0) {
                let status: Value = serde_json::from_str(&stdout).unwrap();
                if status["formation"]["worker"] == count {
                    return status;
                }
                assert!(Instant::now() < deadline, "never {count}: {status:#}");
            }
            assert!(Instant::now() < deadline, "no run");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(1);
    std::fs::write(dir.join("queue.txt"), "12\n").unwrap();
    let status = wait_for(4);
    assert_eq!(status["autoscale"][0]["metric"], "command");
    std::fs::write(dir.join("queue.txt"), "not a number\n").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        wait_for(4)["formation"]["worker"],
        4,
        "no number, no change"
    );
    std::fs::write(dir.join("queue.txt"), "0\n").unwrap();
    wait_for(1);
    let lines = stop(running);
    let told: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("not measured: its command failed"))
        .collect();
    assert_eq!(told.len(), 1, "{lines:#?}");
    assert!(told[0].contains("does not start with a number"), "{told:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("autoscale: worker 1 → 2 (command 12.0 per instance, target 3)")),
        "{lines:#?}"
    );
}

/// `[deploy]` settings are checked where they are written.
#[test]
fn deploy_settings_are_checked() {
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(
            "[deploy]\nstrategy = \"canary\"\nsteps = [50, 25]\nsticky = \"header:\"\nmax_error_rate = 120.0\ncanary_instances = 0\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:3:9")
        .stderr_has("canary steps are percentages that rise")
        .stderr_has("dozen.toml:4:10")
        .stderr_has("invalid sticky `header:`")
        .stderr_has("an error rate is a percentage")
        .stderr_has("canary_instances must be at least 1");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[deploy]\nstrategy = \"canary\"\nsticky = \"header:X-User-Id\"\n")
        .args(&["check"])
        .run()
        .success();
}

/// Autoscale settings are checked where they are written; a scale by hand outside the range
/// is refused; an autoscaled type needs the router.
#[test]
fn autoscale_settings_are_checked() {
    Test::new()
        .procfile("web: exec sleep 60\nworker: exec sleep 60\n")
        .manifest(
            "[processes.web]\nautoscale = { min = 3, max = 2, target = 1 }\n[processes.worker]\nautoscale = { min = 1, max = 2, target = 5 }\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:13")
        .stderr_has("autoscale max (2) is below its min (3)")
        .stderr_has("dozen.toml:4:13")
        .stderr_has("autoscale measures requests at the router, which fronts `web`, not `worker`");
    Test::new()
        .procfile("web: exec sleep 60\nworker: exec sleep 60\n")
        .manifest(
            "[processes.web]\nautoscale = { min = 1, max = 2, target = 1, command = \"true\" }\n[processes.worker]\nautoscale = { min = 1, max = 2, target = 5, metric = \"command\" }\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("autoscale command is for metric = \"command\"")
        .stderr_has("autoscale metric \"command\" needs a command");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[processes.web]\nautoscale = { min = 1, max = 2, target = 5 }\n")
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("web is autoscaled by the load the router measures");
    let port = base_port();
    let running = run(
        app().manifest("[processes.web]\nautoscale = { min = 1, max = 2, target = 50 }\n"),
        port,
        5,
    );
    assert_eq!(get(port, "/").status, 200);
    let status = ps(&running);
    assert_eq!(status["formation"]["web"], 2, "started within its range");
    let (code, _, stderr) = running.dozen(&["scale", "web=4"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("web is autoscaled between 1 and 2"),
        "{stderr}"
    );
    stop(running);
}

/// `[router] type` names the type the router fronts; a type the Procfile lacks is an error
/// at its place in dozen.toml.
#[test]
fn the_router_fronts_the_type_its_section_names() {
    let port = base_port();
    let test = Test::new()
        .file("app.py", APP)
        .procfile("api: exec python3 -u app.py\nclock: exec sleep 60\n")
        .manifest("[router]\ntype = \"api\"\n");
    let (base, listen) = (port.to_string(), format!("127.0.0.1:{port}"));
    let running = test
        .args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "-p",
            &base,
            "-m",
            "api=2,clock=1",
            "--router",
            &listen,
        ])
        .spawn();
    in_rotation(&running, 2);
    let ports: std::collections::BTreeSet<String> = (0..20)
        .map(|_| get(port, "/").json()["port"].as_str().unwrap().to_owned())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        [port + 1, port + 2].iter().map(u16::to_string).collect();
    assert_eq!(ports, expected);
    let status = ps(&running);
    let names: Vec<&str> = status["router"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api.1", "api.2"]);
    stop(running);
    Test::new()
        .procfile("api: exec sleep 60\n")
        .manifest("[router]\ntype = \"apj\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:8")
        .stderr_has("[router] type `apj` is not a process type in the Procfile")
        .stderr_has("did you mean `api`?");
}

#[test]
fn router_settings_are_checked_and_a_taken_address_is_an_error() {
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\nlisten = \"not an address\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("invalid router address");
    let port = base_port();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = port.to_string();
    Test::new()
        .procfile("web: exec sleep 60\n")
        .args(&["run", "--dev", "--router", "-p", &port])
        .run()
        .code(1)
        .stderr_has("the router cannot listen on 127.0.0.1:");
    Test::new()
        .procfile("worker: exec sleep 60\n")
        .args(&["run", "--dev", "--router"])
        .run()
        .code(2)
        .stderr_has("the Procfile has no `web` type");
    // DESIGN's form, `--router ADDR`; a type after it is told where types go.
    Test::new()
        .procfile("web: exec sleep 60\n")
        .args(&["run", "--dev", "--router", "web"])
        .run()
        .code(2)
        .stderr_has("process types go before --router");
}

/// Bodies stream both ways: a chunked request reaches the app whole, a chunked response
/// reaches the client part by part as the app writes it (nothing is buffered whole), and a
/// client that asks `Expect: 100-continue` is told to go on.
#[test]
fn chunked_bodies_stream_both_ways_and_expect_continue_is_answered() {
    let port = base_port();
    let running = run(app(), port, 1);
    assert_eq!(get(port, "/").status, 200);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"POST /echo?wait=1 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buffer = [0_u8; 4096];
    // The first part arrives while the app still sleeps before the second.
    while !String::from_utf8_lossy(&seen).contains("first 11") {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buffer[..n]);
    }
    let first_at = started.elapsed();
    assert!(first_at < Duration::from_millis(900), "{first_at:?}");
    let text = String::from_utf8_lossy(&seen).to_string();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{text}"
    );
    while !String::from_utf8_lossy(&seen).contains("second") {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buffer[..n]);
    }
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Expect: 100-continue: the client waits for the go-ahead before its body.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line:?}");
    reader.read_line(&mut line).unwrap();
    reader.get_mut().write_all(b"ping").unwrap();
    let mut rest = String::new();
    while !rest.contains("second") {
        let mut chunk = String::new();
        if reader.read_line(&mut chunk).unwrap() == 0 {
            break;
        }
        rest.push_str(&chunk);
    }
    assert!(rest.starts_with("HTTP/1.1 200"), "{rest}");
    assert!(rest.contains("first 4"), "{rest}");
    stop(running);
}

/// A new release moves the formation instance by instance behind the router: each old
/// instance drains before it stops, each new one gets requests once ready; nothing fails.
#[test]
fn a_release_move_loses_no_request() {
    let port = base_port();
    let test = app();
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").status, 200);
    let load = Load::start(port, 4, "/");
    let slow = Load::start(port, 2, "/slow?s=0.3");
    std::thread::sleep(Duration::from_millis(300));
    let before = load.served();
    std::fs::write(dir.join("notes.txt"), "v2").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("to v2, one at a time"), "{stderr}");
    let during = load.served() - before;
    let (_, failures) = load.finish();
    let (slow_served, slow_failures) = slow.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(slow_failures.is_empty(), "{slow_failures:?}");
    assert!(during > 0 && slow_served > 0);
    // The move's extra instance may still be on its way out when `release` returns.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = ps(&running);
        let releases: Vec<String> = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["release"].as_str().unwrap().to_owned())
            .collect();
        if releases == ["v2", "v2"] {
            break;
        }
        assert!(Instant::now() < deadline, "{status:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(running);
}

/// `dozen release` blue-green under load: the new side starts beside the old one on the
/// other half of web's ports, takes every request at once when all of it is ready (a tester
/// reaches it before with `X-Dozen-Side`), nothing fails; the old side stays for
/// `[deploy] keep_old`, then stops.
#[test]
fn a_blue_green_release_switches_at_once_and_loses_no_request() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"3s\"\n");
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let load = Load::start(port, 4, "/");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) =
        crate::harness::dozen_in(&dir, &["release", "--strategy", "blue-green"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("moving web to v2 blue-green"), "{stderr}");
    // Switched: every request now reaches v2, on the other half of web's ports.
    for _ in 0..10 {
        let reply = get(port, "/").json();
        assert_eq!(reply["version"], "two", "{reply}");
        let instance_port: u16 = reply["port"].as_str().unwrap().parse().unwrap();
        assert!(instance_port >= port + 51, "{reply}");
    }
    // The old side is kept, idle, and still reachable by asking for it.
    let status = ps(&running);
    let sides: Vec<(&str, &str)> = status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["release"].as_str().unwrap(),
                i["side"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(sides.len(), 4, "{status:#}");
    assert!(
        sides.contains(&("v1", "stable")) && sides.contains(&("v2", "candidate")),
        "{sides:?}"
    );
    let candidates = status["router"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["side"] == "candidate")
        .count();
    assert_eq!(
        candidates, 2,
        "the router tells the sides apart: {status:#}"
    );
    let mut tester = Client::connect(port).unwrap();
    let reply = tester
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Dozen-Side: stable\r\n\r\n")
        .unwrap();
    assert_eq!(reply.json()["version"], "one");
    assert!(
        reply.json()["headers"].get("x-dozen-side").is_none(),
        "not passed to the app"
    );
    // After the window: v2 alone, the formation's own.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = ps(&running);
        let instances = status["instances"].as_array().unwrap();
        if instances.len() == 2
            && instances
                .iter()
                .all(|i| i["release"] == "v2" && i.get("side").is_none())
        {
            break;
        }
        assert!(Instant::now() < deadline, "{status:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (served, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served > 0);
    let (code, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "--json"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"v2\""), "{stdout}");
    stop(running);
}

/// Blue-green's smoke test runs against the new side through the router before the switch:
/// one that fails keeps every request on the old side and aborts the release; one that
/// passes lets the switch happen.
#[test]
fn a_blue_green_smoke_test_gates_the_switch() {
    let port = base_port();
    let smoke = "import os, sys, urllib.request as u\nwant = open('want.txt').read().strip()\nr = u.Request('http://' + os.environ['ROUTER'] + '/', headers={'X-Dozen-Side': 'candidate'})\nbody = u.urlopen(r).read().decode()\nprint('saw', body[:60])\nsys.exit(0 if want in body else 1)\n";
    let test = app()
        .file("version.txt", "one")
        .file("smoke.py", smoke)
        .file("want.txt", "\"version\": \"three\"")
        .manifest(
            "[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"1s\"\nsmoke = \"python3 smoke.py\"\nsmoke_timeout = \"10s\"\n",
        );
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let load = Load::start(port, 2, "/");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the smoke test failed: it exited with code 1: saw"),
        "{stderr}"
    );
    assert_eq!(get(port, "/").json()["version"], "one");
    std::fs::write(dir.join("version.txt"), "three").unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(get(port, "/").json()["version"], "three");
    // A smoke test that hangs is killed at its timeout (and all of it: it runs as a one-off
    // under a nursery), and the deploy aborts.
    std::fs::write(
        dir.join("dozen.toml"),
        "[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"1s\"\nsmoke = \"echo waiting; sleep 30\"\nsmoke_timeout = \"1s\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("version.txt"), "four").unwrap();
    // (Once the last deploy's window has passed.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while ps(&running)["instances"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i.get("side").is_some())
    {
        assert!(Instant::now() < deadline, "the window never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the smoke test failed: it did not finish within 1s: waiting"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(get(port, "/").json()["version"], "three");
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    stop(running);
}

/// `dozen rollback` in a blue-green window switches back at once: the old side's instances
/// (same pids) serve again, nothing starts, no request fails, the new side stops.
#[test]
fn a_rollback_in_the_blue_green_window_switches_back_at_once() {
    let port = base_port();
    let test = app()
        .file("version.txt", "one")
        .manifest("[deploy]\nstrategy = \"blue-green\"\nkeep_old = \"60s\"\n");
    let (dir, running) = released(test, port, 2);
    assert_eq!(get(port, "/").json()["version"], "one");
    let status = in_rotation(&running, 2);
    let pids = |status: &Value, release: &str| -> Vec<u64> {
        let mut pids: Vec<u64> = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["release"] == release && i["state"] == "ready")
            .map(|i| i["pid"].as_u64().unwrap())
            .collect();
        pids.sort_unstable();
        pids
    };
    let first = pids(&status, "v1");
    assert_eq!(first.len(), 2, "{status:#}");
    std::fs::write(dir.join("version.txt"), "two").unwrap();
    assert_eq!(crate::harness::dozen_in(&dir, &["release"]).0, Some(0));
    assert_eq!(get(port, "/").json()["version"], "two");
    let load = Load::start(port, 4, "/");
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["rollback"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("switched web back to v3: nothing started"),
        "{stderr}"
    );
    for _ in 0..10 {
        assert_eq!(get(port, "/").json()["version"], "one");
    }
    assert_eq!(pids(&ps(&running), "v3"), first, "the same processes");
    let (_, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while ps(&running)["instances"].as_array().unwrap().len() != 2 {
        assert!(Instant::now() < deadline, "the new side never stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(running);
}

/// `test` released (v1) and run behind the router on `port` with `web` instances, following
/// releases; returns once all of them are in rotation.
fn released(test: Test, port: u16, web: usize) -> (std::path::PathBuf, Running) {
    let dir = test.path().to_path_buf();
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (port_text, formation) = (port.to_string(), format!("web={web}"));
    let running = test
        .args(&[
            "run",
            "--no-timestamps",
            "--router",
            "-p",
            &port_text,
            "-m",
            &formation,
        ])
        .spawn();
    in_rotation(&running, web);
    (dir, running)
}

/// A released app behind the router (`web=3`), following releases, with `[deploy]` as given.
fn canary_app(deploy: &str) -> (std::path::PathBuf, u16, Running) {
    let port = base_port();
    // A compound command (the shell stays, the server is its child): a canary and the side
    // it replaces must stop whole.
    let test = compound_app()
        .file("version.txt", "one")
        .manifest(&format!("[deploy]\nstrategy = \"canary\"\n{deploy}"));
    let (dir, running) = released(test, port, 3);
    assert_eq!(get(port, "/").json()["version"], "one");
    (dir, port, running)
}

/// `dozen release` of `version` in the background (it waits for the canary's end).
fn release_in_background(
    dir: &std::path::Path,
    version: &str,
) -> std::thread::JoinHandle<(Option<i32>, String)> {
    std::fs::write(dir.join("version.txt"), version).unwrap();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let (code, _, stderr) = crate::harness::dozen_in(&dir, &["release", "--wait"]);
        (code, stderr)
    })
}

/// Waits until `dozen canary --json` says the canary is being analysed.
fn analysing(running: &Running) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, stdout, _) = running.dozen(&["canary", "--json"]);
        if code == Some(0) {
            let status: Value = serde_json::from_str(&stdout).unwrap();
            if status["canary"]["state"] == "analysing" {
                return status;
            }
        }
        assert!(Instant::now() < deadline, "never analysing: {stdout}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// At 10%, the canary gets 10% ± 2% of 10,000 requests; `X-Dozen-Side: candidate` always
/// reaches it; the stickiness cookie keeps a client on its side; `dozen canary abort` sends
/// everything back and the waiting `dozen release` exits 1 with the release aborted.
#[test]
fn a_canary_gets_its_share_and_is_aborted_by_hand() {
    let (dir, port, running) =
        canary_app("steps = [10]\ninterval = \"10m\"\nsticky = \"cookie\"\n");
    let release = release_in_background(&dir, "two");
    let status = analysing(&running);
    assert_eq!(status["canary"]["weight_percent"], 10.0);
    let mut client = Client::connect(port).unwrap();
    let mut canary = 0;
    let mut cookies = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let reply = client.get("/").unwrap();
        assert_eq!(reply.status, 200);
        if reply.json()["version"] == "two" {
            canary += 1;
        }
        if let Some(cookie) = reply.header("set-cookie") {
            cookies.insert(cookie.split(';').next().unwrap().to_owned());
        }
    }
    assert!(
        (800..=1_200).contains(&canary),
        "{canary} of 10,000 on the canary"
    );
    assert_eq!(
        cookies.len(),
        2,
        "each side's cookie was given: {cookies:?}"
    );
    let tester = client
        .send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Dozen-Side: candidate\r\n\r\n")
        .unwrap();
    assert_eq!(tester.json()["version"], "two");
    // A client with the canary's cookie stays there.
    for _ in 0..20 {
        let reply = client
            .send("GET / HTTP/1.1\r\nHost: localhost\r\nCookie: dozen-side=candidate\r\n\r\n")
            .unwrap();
        assert_eq!(reply.json()["version"], "two");
        assert!(reply.header("set-cookie").is_none());
    }
    let (code, stdout, _) = running.dozen(&["canary"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("step 1 of 1 (10% of requests)"), "{stdout}");
    let (code, _, stderr) = running.dozen(&["canary", "abort"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("aborted by hand"), "{stderr}");
    for _ in 0..50 {
        assert_eq!(client.get("/").unwrap().json()["version"], "one");
    }
    let (_, stdout, _) = crate::harness::dozen_in(&dir, &["releases", "--json"]);
    let releases: Value = serde_json::from_str(&stdout).unwrap();
    let v2 = releases
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == "v2")
        .unwrap();
    assert!(v2.to_string().contains("aborted"), "{v2}");
    let (code, _, stderr) = running.dozen(&["canary"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no canary release is running"), "{stderr}");
    stop(running);
}

/// A canary failing 5% of its requests is aborted by its own analysis; every request after
/// the abort is served by the stable side. A healthy one passes its steps and is promoted.
#[test]
fn a_failing_canary_is_aborted_and_a_healthy_one_promoted() {
    let (dir, port, running) =
        canary_app("steps = [20, 50]\ninterval = \"1500ms\"\nmin_requests = 20\n");
    let load = Load::start(port, 4, "/");
    let release = release_in_background(&dir, "failing");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("canary error rate"), "{stderr}");
    let (_, failures) = load.finish();
    assert!(!failures.is_empty(), "the canary did fail some");
    let load = Load::start(port, 4, "/");
    std::thread::sleep(Duration::from_millis(500));
    let (served, failures) = load.finish();
    assert!(failures.is_empty() && served > 0, "{failures:?}");
    // Healthy: passes its step and is promoted; all of web runs v3.
    let load = Load::start(port, 4, "/");
    let release = release_in_background(&dir, "three");
    let (code, stderr) = release.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    for _ in 0..20 {
        assert_eq!(get(port, "/").json()["version"], "three");
    }
    stop(running);
}

/// An instance that dies in the middle of a request: a GET (nothing it asks can happen twice)
/// is sent to another instance and answered; a POST is not sent again, and gets a 502.
#[test]
fn a_get_whose_instance_dies_is_sent_again_and_a_post_is_not() {
    let port = base_port();
    let running = run(
        app().manifest("[processes.web]\nrestart = \"on-failure\"\n"),
        port,
        2,
    );
    assert_eq!(get(port, "/").status, 200);
    // Whichever instance gets it, web.2 answers: web.1 dies on it and the GET goes on to
    // web.2. Asked until one went to web.1 first (the router picks; web.1 comes back after
    // its restart delay).
    let first = format!("/die-on-{}", port + 1);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = get(port, &first);
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["port"], (port + 2).to_string());
        if ps(&running)["router"]["retried"].as_u64().unwrap() >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never sent to web.1");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A POST is never sent twice.
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = format!("/die-on-{}", port + 2);
    let reply = loop {
        let mut client = Client::connect(port).unwrap();
        let reply = client
            .send(&format!(
                "POST {second} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi"
            ))
            .unwrap();
        // It went to the instance that survives it (web.1, back by now): try again.
        if reply.status != 200 || Instant::now() > deadline {
            break reply;
        }
    };
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(ps(&running)["router"]["bad_gateway"], 1);
    stop(running);
}
