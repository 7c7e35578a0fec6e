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
        if version == "hanging":
            time.sleep(3600)
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
        if self.path == "/forbidden":
            # Answered before the body is read, and closed with it unread (as Django's CSRF
            # check answers an upload).
            self.send_response(403)
            self.send_header("Content-Length", "9")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"forbidden")
            return
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
#[track_caller]
fn get(port: u16, path: &str) -> Reply {
    let mut client =
        crate::harness::eventually_ok("the router to listen", Duration::from_secs(10), || {
            Client::connect(port).map_err(|e| e.to_string())
        });
    client.get(path).unwrap()
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
#[track_caller]
fn in_rotation(running: &Running, count: usize) -> Value {
    crate::harness::eventually_ok(
        &format!("{count} instances in rotation"),
        Duration::from_secs(15),
        || {
            let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
            if code != Some(0) {
                return Err(format!("no run: {stderr}"));
            }
            let status: Value = serde_json::from_str(&stdout).unwrap();
            let ready = status["router"]["instances"].as_array().map_or(0, |i| {
                i.iter().filter(|i| i["state"] == "in rotation").count()
            });
            if ready == count {
                Ok(status)
            } else {
                Err(format!("{status:#}"))
            }
        },
    )
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

    /// Waits until `count` more requests have been answered from now: the load flows.
    #[track_caller]
    fn wait_served(&self, count: usize) {
        let from = self.served();
        crate::harness::eventually_ok(
            &format!("{count} more requests to be answered"),
            Duration::from_secs(20),
            || {
                let served = self.served() - from;
                if served >= count {
                    Ok(())
                } else {
                    let failures = self.failures.lock().unwrap();
                    Err(format!("{served} answered; failures: {failures:?}"))
                }
            },
        );
    }
}

mod deploys;
mod edge;
mod flags;
mod ledger;
mod proxying;
mod scaling;
mod tls;
mod top;
mod watch;
