use super::*;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;

use crate::router::{Route, Router, Side};

/// What a test waits for, at most, before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn head(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap()
}

fn shared(listen: &str) -> Shared {
    Shared {
        table: Table::new(1),
        limits: Limits::default(),
        listen: listen.parse().unwrap(),
        counters: vec![Counters::default()],
        permits: Arc::new(Semaphore::new(1)),
        say: Box::new(|_| {}),
        hsts: None,
        flags: None,
    }
}

#[test]
fn only_a_get_head_or_options_without_a_body_is_kept_to_send_again() {
    let get = head(
        Method::GET,
        "/search?q=1",
        &[("accept", "text/html"), ("host", "app")],
    );
    let copy = replay_copy(&get).expect("a GET can be sent again");
    assert_eq!(
        (copy.method(), copy.uri(), copy.version(), copy.headers()),
        (get.method(), get.uri(), get.version(), get.headers()),
        "the copy is the client's head"
    );
    for method in [Method::HEAD, Method::OPTIONS] {
        assert!(
            replay_copy(&head(method.clone(), "/", &[])).is_some(),
            "{method}"
        );
    }
    for method in [
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::TRACE,
    ] {
        assert!(
            replay_copy(&head(method.clone(), "/", &[])).is_none(),
            "{method}"
        );
    }
    assert!(replay_copy(&head(Method::GET, "/", &[("content-length", "0")])).is_some());
    assert!(
        replay_copy(&head(Method::GET, "/", &[("content-length", "5")])).is_none(),
        "a GET with a body: the body is read once"
    );
    assert!(replay_copy(&head(Method::GET, "/", &[("transfer-encoding", "chunked")])).is_none());
}

#[test]
fn requests_for_other_hosts_and_connect_are_refused() {
    let local = shared("127.0.0.1:5000");
    let refused = |method, uri: &str| {
        refuse(&head(method, uri, &[("host", "app")]), &local).map(|(status, _)| status)
    };
    assert_eq!(
        refused(Method::CONNECT, "example.com:443"),
        Some(StatusCode::METHOD_NOT_ALLOWED)
    );
    for foreign in [
        "http://example.com/",
        "http://localhost:5001/",
        "http://localhost/",
        "http://10.0.0.1:5000/",
    ] {
        assert_eq!(
            refused(Method::GET, foreign),
            Some(StatusCode::BAD_REQUEST),
            "{foreign}"
        );
    }
    for ours in [
        "/path",
        "http://localhost:5000/path",
        "http://127.0.0.1:5000/",
        "http://[::1]:5000/",
    ] {
        assert_eq!(refused(Method::GET, ours), None, "{ours}");
    }
    // The address it listens on is its own, whatever it is.
    let public = shared("192.0.2.7:8080");
    let ours = head(Method::GET, "http://192.0.2.7:8080/", &[("host", "app")]);
    assert!(refuse(&ours, &public).is_none());
}

#[test]
fn the_app_gets_its_target_in_origin_form_without_the_hops_headers() {
    let meta = Meta {
        id: HeaderValue::from_static("req-1"),
        method: Method::GET,
        path: "/a".into(),
        started: Instant::now(),
        client: HeaderValue::from_static("192.0.2.1"),
        trusted: false,
        protocol: Protocol::H1,
        host: None,
    };
    let mut request = head(
        Method::GET,
        "http://localhost:5000/a?b=1",
        &[("connection", "keep-alive, x-secret"), ("x-secret", "1")],
    );
    prepare(
        &mut request,
        false,
        &shared("127.0.0.1:5000"),
        &meta,
        SystemTime::now(),
    );
    assert_eq!(request.uri(), "/a?b=1");
    let headers = request.headers();
    assert!(headers.get("connection").is_none() && headers.get("x-secret").is_none());
    assert_eq!(headers["x-forwarded-for"], "192.0.2.1");
    assert_eq!(headers["x-request-id"], "req-1");
    let mut bare = head(Method::GET, "http://localhost:5000", &[]);
    prepare(
        &mut bare,
        false,
        &shared("127.0.0.1:5000"),
        &meta,
        SystemTime::now(),
    );
    assert_eq!(bare.uri(), "/");
}

/// What an instance does with each request it reads.
#[derive(Clone)]
enum Does {
    /// Answers `200` with its name as the body, and keeps the connection.
    Answer(&'static str),
    /// Closes the connection without a word once it has read the request.
    Drop,
    /// Reads the request and never answers.
    Hang,
    /// Says on `has` that it has the request, and answers as `Answer` once `go` says.
    Hold {
        name: &'static str,
        has: mpsc::Sender<()>,
        go: Arc<Mutex<mpsc::Receiver<()>>>,
    },
    /// Answers these bytes as they are, whatever was asked (a broken or hostile app).
    Raw(&'static str),
}

/// An instance on a port of its own: the requests it read (head and body), and how many of
/// its connections the router closed.
struct App {
    port: u16,
    got: Arc<Mutex<Vec<String>>>,
    closed: Arc<AtomicUsize>,
}

impl App {
    fn start(does: Does) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Self {
            port: listener.local_addr().unwrap().port(),
            got: Arc::default(),
            closed: Arc::default(),
        };
        let (got, closed) = (Arc::clone(&app.got), Arc::clone(&app.closed));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (does, got, closed) = (does.clone(), Arc::clone(&got), Arc::clone(&closed));
                std::thread::spawn(move || serve(stream, &does, &got, &closed));
            }
        });
        app
    }

    /// An instance whose port refuses connections, and the socket holding the port.
    fn refusing() -> (Self, std::os::fd::OwnedFd) {
        let (port, bound) = crate::testing::refusing_port();
        let app = Self {
            port,
            got: Arc::default(),
            closed: Arc::default(),
        };
        (app, bound)
    }

    fn got(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

/// One connection of an instance: requests read and answered as `does` says, until the
/// router closes it.
fn serve(stream: std::net::TcpStream, does: &Does, got: &Mutex<Vec<String>>, closed: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut text = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                closed.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            text.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        text.push_str(&String::from_utf8(body).unwrap());
        got.lock().unwrap().push(text);
        let name = match does {
            Does::Answer(name) => name,
            Does::Raw(answer) => {
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            Does::Drop => return,
            Does::Hang => {
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            Does::Hold { name, has, go } => {
                has.send(()).unwrap();
                go.lock().unwrap().recv().unwrap();
                name
            }
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}",
            name.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// The request line of a request an instance read.
fn line(request: &str) -> &str {
    request.lines().next().unwrap_or_default()
}

/// A header's value in a request an instance read.
fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A router in front of `apps` (`web.1`, `web.2`, … in this order of rotation), with what it
/// says.
struct Routed {
    router: Router,
    said: Arc<Mutex<Vec<String>>>,
}

impl Routed {
    fn start(limits: Limits, apps: &[&App]) -> Self {
        let said = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&said);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let say = Box::new(move |line| lines.lock().unwrap().push(line));
        let routed = Self {
            router: Router::start(crate::router::Front::plain(listener), limits, say).unwrap(),
            said,
        };
        routed.route(apps);
        routed
    }

    fn route(&self, apps: &[&App]) {
        let routes: Vec<Route> = apps
            .iter()
            .zip(1..)
            .map(|(app, id)| Route {
                id,
                name: format!("web.{id}"),
                port: app.port,
                side: Side::Stable,
            })
            .collect();
        self.router.set_routes(&routes);
    }

    /// A raw request, on a connection of its own: the status and the body of the answer.
    fn ask(&self, request: &str) -> (u16, String) {
        ask(self.router.listen(), request)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.ask(&format!(
            "GET {path} HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n"
        ))
    }

    fn post(&self, body: &str) -> (u16, String) {
        self.ask(&format!(
            "POST /orders HTTP/1.1\r\nhost: app\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    fn instance(&self, name: &str) -> crate::router::InstanceStatus {
        self.router
            .status()
            .instances
            .into_iter()
            .find(|i| i.name == name)
            .unwrap()
    }

    fn said(&self, code: &str) -> bool {
        let code = format!(" code={code} ");
        self.said.lock().unwrap().iter().any(|l| l.contains(&code))
    }
}

fn ask(router: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(router).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Waits until `done` holds, for at most [`PATIENCE`].
fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

// The rotation's first pick is its first instance (none has anything in flight, and every
// router thread's turn starts at 0): each test puts the instance it is about first, and
// checks from the router's counts that the request did go there first.

#[test]
fn a_refused_connection_sends_any_request_even_a_post_with_a_body_to_the_next_instance() {
    let ((refusing, _bound), answering) = (App::refusing(), App::start(Does::Answer("web.2")));
    let routed = Routed::start(Limits::default(), &[&refusing, &answering]);
    assert_eq!(routed.post("pay=1"), (200, "web.2".to_owned()));
    let got = answering.got();
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with("\r\n\r\npay=1"), "{got:?}");
    let first = routed.instance("web.1");
    assert_eq!((first.requests, first.state.as_str()), (1, "refusing"));
    let status = routed.router.status();
    assert_eq!(
        (status.retried, status.bad_gateway),
        (0, 0),
        "nothing reached an app: not a retry of anything"
    );
}

#[test]
fn a_get_an_instance_failed_once_sent_is_sent_again_to_another_instance_as_the_client_sent_it() {
    let (dropping, answering) = (App::start(Does::Drop), App::start(Does::Answer("web.2")));
    let routed = Routed::start(Limits::default(), &[&dropping, &answering]);
    assert_eq!(routed.get("/feed?page=2"), (200, "web.2".to_owned()));
    let (failed, again) = (dropping.got(), answering.got());
    assert_eq!(line(&failed[0]), "GET /feed?page=2 HTTP/1.1");
    assert_eq!(line(&again[0]), "GET /feed?page=2 HTTP/1.1");
    // Prepared once from the client's head: the router's headers are not doubled.
    assert_eq!(header(&again[0], "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(header(&again[0], "via"), Some("1.1 dozen"));
    assert_eq!(
        header(&again[0], "x-request-id"),
        header(&failed[0], "x-request-id"),
        "the same request"
    );
    assert_eq!(routed.router.status().retried, 1);
    assert_eq!(routed.instance("web.1").errors, 1);
    assert!(routed.said("retried"));
}

#[test]
fn a_post_an_instance_failed_once_sent_is_never_sent_again() {
    let (dropping, answering) = (App::start(Does::Drop), App::start(Does::Answer("web.2")));
    let routed = Routed::start(Limits::default(), &[&dropping, &answering]);
    assert_eq!(routed.post("pay=1").0, 502);
    assert_eq!(dropping.got().len(), 1);
    assert!(answering.got().is_empty(), "it might have paid twice");
    let status = routed.router.status();
    assert_eq!((status.retried, status.bad_gateway), (0, 1));
    assert!(routed.said("instance-failed"));
}

#[test]
fn a_get_with_a_body_an_instance_failed_is_never_sent_again() {
    let (dropping, answering) = (App::start(Does::Drop), App::start(Does::Answer("web.2")));
    let routed = Routed::start(Limits::default(), &[&dropping, &answering]);
    let (status, _) = routed.ask(
        "GET /search HTTP/1.1\r\nhost: app\r\ncontent-length: 3\r\nconnection: close\r\n\r\nq=1",
    );
    assert_eq!(status, 502);
    assert!(answering.got().is_empty());
}

#[test]
fn a_get_is_sent_again_once_only() {
    let (first, second, third) = (
        App::start(Does::Drop),
        App::start(Does::Drop),
        App::start(Does::Answer("web.3")),
    );
    let routed = Routed::start(Limits::default(), &[&first, &second, &third]);
    assert_eq!(routed.get("/").0, 502);
    assert_eq!((first.got().len(), second.got().len()), (1, 1));
    assert!(third.got().is_empty());
    let status = routed.router.status();
    assert_eq!((status.retried, status.bad_gateway), (1, 1));
}

#[test]
fn a_request_that_got_no_answer_in_time_is_never_sent_again() {
    let (hanging, answering) = (App::start(Does::Hang), App::start(Does::Answer("web.2")));
    let limits = Limits {
        first_byte: Duration::from_millis(300),
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[&hanging, &answering]);
    assert_eq!(routed.get("/slow").0, 504);
    assert_eq!(hanging.got().len(), 1);
    assert!(answering.got().is_empty(), "the app may still be doing it");
    assert_eq!(routed.router.status().timeout, 1);
    assert!(routed.said("timeout"));
}

#[test]
fn with_no_instance_in_rotation_a_request_waits_the_queue_timeout_then_gets_a_503() {
    let limits = Limits {
        queue: Duration::from_millis(300),
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[]);
    let asked = Instant::now();
    assert_eq!(routed.get("/").0, 503);
    assert!(asked.elapsed() >= Duration::from_millis(300));
    assert_eq!(routed.router.status().unavailable, 1);
    assert!(routed.said("no-instance"));
}

#[test]
fn a_waiting_request_goes_to_an_instance_that_comes_into_rotation() {
    let answering = App::start(Does::Answer("web.1"));
    let routed = Routed::start(Limits::default(), &[]);
    let listen = routed.router.listen();
    let asking = std::thread::spawn(move || {
        ask(
            listen,
            "GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n",
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    routed.route(&[&answering]);
    assert_eq!(asking.join().unwrap(), (200, "web.1".to_owned()));
}

#[test]
fn a_refusing_instance_is_out_of_rotation_until_it_accepts_again() {
    let (refusing, bound) = App::refusing();
    let routed = Routed::start(Limits::default(), &[&refusing]);
    let listen = routed.router.listen();
    let asking = std::thread::spawn(move || {
        ask(
            listen,
            "GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n",
        )
    });
    assert!(eventually(|| routed.instance("web.1").state == "refusing"));
    // It starts listening: the router's probe finds it, and the waiting request goes there.
    rustix::net::listen(&bound, 128).unwrap();
    let listener = std::net::TcpListener::from(bound);
    std::thread::spawn(move || {
        let (got, closed) = (Mutex::default(), AtomicUsize::default());
        for stream in listener.incoming().flatten() {
            serve(stream, &Does::Answer("web.1"), &got, &closed);
        }
    });
    assert_eq!(asking.join().unwrap(), (200, "web.1".to_owned()));
    assert_eq!(routed.instance("web.1").state, "in rotation");
}

#[test]
fn a_draining_instance_gets_no_new_request_and_finishes_the_one_it_has() {
    let (has, held) = mpsc::channel();
    let (go, wait) = mpsc::channel();
    let holding = App::start(Does::Hold {
        name: "web.1",
        has,
        go: Arc::new(Mutex::new(wait)),
    });
    let answering = App::start(Does::Answer("web.2"));
    // Round-robin: turns, not what is in flight, would send it requests.
    let limits = Limits {
        round_robin: true,
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[&holding, &answering]);
    let listen = routed.router.listen();
    let in_flight = std::thread::spawn(move || {
        ask(
            listen,
            "GET /long HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n",
        )
    });
    held.recv_timeout(PATIENCE).expect("web.1 has the request");
    let (drained, done) = mpsc::channel();
    routed.router.drain(
        1,
        Box::new(move || {
            let _ = drained.send(());
        }),
    );
    assert!(
        done.recv_timeout(Duration::from_millis(100)).is_err(),
        "not drained while a request is in flight"
    );
    assert_eq!(routed.instance("web.1").state, "draining");
    // A view of the rotation that still lists it (the supervisor's, a moment late) does not
    // put it back.
    routed.route(&[&holding, &answering]);
    for _ in 0..4 {
        assert_eq!(routed.get("/next"), (200, "web.2".to_owned()));
    }
    assert_eq!(
        holding.got().len(),
        1,
        "no new request for a draining instance"
    );
    go.send(()).unwrap();
    assert_eq!(
        in_flight.join().unwrap(),
        (200, "web.1".to_owned()),
        "the request in flight finishes"
    );
    done.recv_timeout(PATIENCE)
        .expect("drained once its request is done");
    // Its connection is not kept for a next request: closed once the response is done.
    assert!(eventually(|| holding.closed.load(Ordering::SeqCst) == 1));
}

/// Requests a tester steers with `X-Dozen-Side` never count in a canary's analysis (issue 30,
/// finding 10): only the users' traffic, sent by weight, does.
#[test]
fn a_request_a_tester_steers_never_counts_in_the_analysis() {
    let (stable, candidate) = (App::start(Does::Answer("one")), App::start(Does::Drop));
    let routed = Routed::start(Limits::default(), &[]);
    routed.router.set_routes(&[
        Route {
            id: 1,
            name: "web.1".into(),
            port: stable.port,
            side: Side::Stable,
        },
        Route {
            id: 2,
            name: "web.1".into(),
            port: candidate.port,
            side: Side::Candidate,
        },
    ]);
    routed.router.set_weight(0);
    for _ in 0..5 {
        let (status, _) = routed.ask(
            "GET /broken HTTP/1.1\r\nhost: app\r\nx-dozen-side: candidate\r\nconnection: close\r\n\r\n",
        );
        assert_eq!(status, 502, "the tester reached the failing candidate");
    }
    for _ in 0..5 {
        assert_eq!(routed.get("/").0, 200);
    }
    let (stable_counts, candidate_counts) = routed.router.side_snapshots();
    assert_eq!(
        (candidate_counts.requests, candidate_counts.errors),
        (0, 0),
        "steered requests are not the canary's"
    );
    assert_eq!(stable_counts.requests, 5, "the users' requests are counted");
}

mod early;
mod edges;
