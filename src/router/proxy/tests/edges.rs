//! The protocol's edges through a real router (issue 31, findings 15–18 and 20): what a
//! client or an app sends that HTTP says a proxy must refuse, rewrite or not pass on.

use super::*;

/// A raw request on a connection of its own: the whole answer (head and body) as it came.
fn answer(router: std::net::SocketAddr, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(router).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A chunked body's data.
fn dechunk(mut body: &str) -> String {
    let mut data = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        data.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    data
}

/// A response with both `Content-Length` and `Transfer-Encoding` is framed by its chunks
/// (RFC 9112 §6.3): forwarded without the `Content-Length`, whose 3 bytes would have cut the
/// body short and passed it as complete (issue 31, finding 18).
#[test]
fn a_response_with_both_lengths_goes_on_by_its_chunks_without_the_content_length() {
    let app = App::start(Does::Raw(
        "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ));
    let routed = Routed::start(Limits::default(), &[&app]);
    let answer = answer(
        routed.router.listen(),
        "GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n",
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(!head.contains("content-length"), "{answer}");
    assert!(head.contains("transfer-encoding: chunked"), "{answer}");
    assert_eq!(dechunk(body), "hello world", "{answer}");
}

/// RFC 9112 §3.2: an HTTP/1.1 request without `Host`, or any with two, is a 400 — the app
/// would otherwise pick one of two hosts the router never checked (issue 31, finding 15).
#[test]
fn a_request_with_two_hosts_or_an_http_1_1_one_with_none_is_a_400() {
    let app = App::start(Does::Answer("web.1"));
    let routed = Routed::start(Limits::default(), &[&app]);
    let statuses: Vec<u16> = [
        "host: app\r\nhost: evil.example\r\n",
        "",
        "host: a b\r\n",
        "host: user@app\r\n",
    ]
    .iter()
    .map(|hosts| {
        let request = format!("GET / HTTP/1.1\r\n{hosts}connection: close\r\n\r\n");
        routed.ask(&request).0
    })
    .collect();
    assert_eq!(statuses, [400, 400, 400, 400]);
    assert!(app.got().is_empty(), "{:?}", app.got());
    assert_eq!(routed.router.status().refused, 4);
    // HTTP/1.0 had no Host; an empty one is what a target without an authority has.
    assert_eq!(routed.ask("GET / HTTP/1.0\r\n\r\n").0, 200);
    assert_eq!(
        routed
            .ask("GET / HTTP/1.1\r\nhost:\r\nconnection: close\r\n\r\n")
            .0,
        200
    );
}

/// An absolute-form request's `Host` is its target's authority (RFC 9112 §3.2.2): a proxy
/// replaces a disagreeing one, so the app and `X-Forwarded-Host` see the host that was
/// checked (issue 31, finding 15).
#[test]
fn an_absolute_form_request_gets_its_targets_authority_as_host() {
    let app = App::start(Does::Answer("web.1"));
    let routed = Routed::start(Limits::default(), &[&app]);
    let listen = routed.router.listen();
    let (status, _) = routed.ask(&format!(
        "GET http://{listen}/x HTTP/1.1\r\nhost: b.example\r\nconnection: close\r\n\r\n"
    ));
    assert_eq!(status, 200);
    let got = app.got();
    assert_eq!(line(&got[0]), "GET /x HTTP/1.1");
    let hosts: Vec<&str> = got[0]
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("host:"))
        .collect();
    assert_eq!(hosts.len(), 1, "{got:?}");
    assert_eq!(header(&got[0], "host"), Some(listen.to_string().as_str()));
    assert_eq!(
        header(&got[0], "x-forwarded-host"),
        Some(listen.to_string().as_str())
    );
}

/// A client's `X-Forwarded-For` lines are one list (RFC 9110 §5.3), the client's address
/// after them; its `Forwarded` is replaced by the router's own, as `X-Forwarded-Proto` and
/// `-Host` are: no client is a trusted proxy (issue 31, finding 16).
#[test]
fn forwarding_lines_are_combined_and_a_clients_forwarded_is_replaced() {
    let app = App::start(Does::Answer("web.1"));
    let routed = Routed::start(Limits::default(), &[&app]);
    let (status, _) = routed.ask(
        "GET / HTTP/1.1\r\nhost: app:5000\r\nx-forwarded-for: 203.0.113.1\r\nx-forwarded-for: 198.51.100.2, 192.0.2.3\r\nforwarded: for=203.0.113.1;proto=https;host=bank.example\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let got = &app.got()[0];
    let named = |name: &str| {
        got.lines()
            .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l.split_once(':').unwrap().1.trim().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        named("x-forwarded-for"),
        ["203.0.113.1, 198.51.100.2, 192.0.2.3, 127.0.0.1"]
    );
    assert_eq!(
        named("forwarded"),
        ["for=127.0.0.1;proto=http;host=\"app:5000\""]
    );
}

/// A raw request on a connection of its own: the answer's head only (a tunnel stays open).
fn answer_head(router: std::net::SocketAddr, request: &str) -> String {
    let stream = std::net::TcpStream::connect(router).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    (&stream).write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        if reader.read_line(&mut head).unwrap() == 0 {
            break;
        }
    }
    head
}

const SWITCH_TO_ECHO: &str =
    "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n";

/// A `101` is tunnelled only when it answers the client's `Upgrade` with a protocol the
/// client offered (RFC 9110 §7.8); one the client never asked for, or to another protocol,
/// is a 502 — else the client's connection would carry whatever the app then says, past
/// every rule of the router (issue 31, finding 17).
#[test]
fn a_101_is_tunnelled_only_to_a_protocol_the_client_offered() {
    let app = App::start(Does::Raw(SWITCH_TO_ECHO));
    let routed = Routed::start(Limits::default(), &[&app]);
    let listen = routed.router.listen();
    let upgrade = |to: &str| {
        format!("GET /ws HTTP/1.1\r\nhost: app\r\nconnection: upgrade\r\nupgrade: {to}\r\n\r\n")
    };
    let statuses: Vec<String> = [
        "GET / HTTP/1.1\r\nhost: app\r\n\r\n".to_owned(),
        upgrade("websocket"),
        upgrade("websocket, Echo"),
    ]
    .iter()
    .map(|request| {
        answer_head(listen, request)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    })
    .collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 502 Bad Gateway",
            "HTTP/1.1 502 Bad Gateway",
            "HTTP/1.1 101 Switching Protocols"
        ]
    );
    assert_eq!(routed.router.status().bad_gateway, 2);
    assert!(routed.said("instance-failed"));
}

/// An `Upgrade: h2c` is not passed on (the router speaks HTTP/1.1 to the app, and an h2c
/// tunnel would carry every later request past its rules): the request goes to the app as
/// plain HTTP/1.1, without the ask or its `HTTP2-Settings` (issue 31, finding 17).
#[test]
fn an_h2c_upgrade_goes_to_the_app_as_a_plain_request() {
    let app = App::start(Does::Answer("web.1"));
    let routed = Routed::start(Limits::default(), &[&app]);
    let (status, body) = routed.ask(
        "GET / HTTP/1.1\r\nhost: app\r\nconnection: Upgrade, HTTP2-Settings, close\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    );
    assert_eq!((status, body.as_str()), (200, "web.1"));
    let got = &app.got()[0];
    for name in ["upgrade", "http2-settings", "connection"] {
        assert_eq!(header(got, name), None, "{name}: {got}");
    }
    // Beside another protocol, only h2c is taken out of the offer.
    let (status, _) = routed.ask(
        "GET / HTTP/1.1\r\nhost: app\r\nconnection: upgrade, close\r\nupgrade: h2c, websocket\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert_eq!(header(&app.got()[1], "upgrade"), Some("websocket"));
}

/// Set in the child process [`out_of_descriptors_the_router_says_so_and_blames_no_instance`]
/// runs itself in.
const OUT_OF_DESCRIPTORS: &str = "DOZEN_TEST_OUT_OF_DESCRIPTORS";

/// Out of file descriptors (EMFILE), the router says so — accepting, and connecting to an
/// instance, where it answers a 503 at once — and takes no instance out of rotation: the
/// instance refused nothing (issue 31, finding 20). It said "no instance of the routed type
/// is ready" and showed the instance as refusing. Run in a child process: the limit is the
/// process's, and lowering it here would fail the tests beside this one.
#[test]
fn out_of_descriptors_the_router_says_so_and_blames_no_instance() {
    if std::env::var_os(OUT_OF_DESCRIPTORS).is_some() {
        return out_of_descriptors_here();
    }
    let name = format!(
        "{}::out_of_descriptors_the_router_says_so_and_blames_no_instance",
        module_path!().split_once("::").unwrap().1
    );
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(OUT_OF_DESCRIPTORS, "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}{stderr}");
}

/// The test itself, in a process whose descriptors it may use up.
fn out_of_descriptors_here() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // The instance listens but accepts nothing yet: a thread blocked in `accept` would hold
    // a descriptor the kernel reserves for it, and take the one the test frees.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = App {
        port: listener.local_addr().unwrap().port(),
        got: Arc::default(),
        closed: Arc::default(),
    };
    let limits = Limits {
        queue: Duration::from_millis(500),
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[&app]);
    let listen = routed.router.listen();
    let hard = getrlimit(Resource::Nofile).maximum;
    let low = Rlimit {
        current: Some(256),
        maximum: hard,
    };
    setrlimit(Resource::Nofile, low).unwrap();
    let mut held = Vec::new();
    loop {
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC;
        match rustix::fs::open("/dev/null", flags, rustix::fs::Mode::empty()) {
            Ok(fd) => held.push(fd),
            Err(rustix::io::Errno::MFILE) => break,
            Err(error) => panic!("{error}"),
        }
    }
    let said = |what: &str| {
        let said = routed.said.lock().unwrap();
        said.iter().find(|l| l.contains(what)).cloned()
    };
    // One descriptor free: the client's socket takes it, and the router cannot accept.
    held.pop();
    let mut client = std::net::TcpStream::connect(listen).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n")
        .unwrap();
    assert!(
        eventually(|| said("code=too-many-open-files desc=").is_some()),
        "{:?}",
        routed.said.lock().unwrap()
    );
    let line = said("code=too-many-open-files desc=").unwrap();
    assert!(line.contains("accept"), "{line}");
    // One more: the router accepts, and cannot connect to the instance.
    held.pop();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many open files"), "{answer}");
    let line = said("code=too-many-open-files status=503").expect("a line for the 503");
    assert!(line.contains("EMFILE"), "{line}");
    assert_eq!(routed.instance("web.1").state, "in rotation");
    assert!(!routed.said("no-instance"));
    // Descriptors free again: requests are served.
    drop(held);
    let got = Arc::clone(&app.got);
    std::thread::spawn(move || {
        let closed = AtomicUsize::default();
        for stream in listener.incoming().flatten() {
            serve(stream, &Does::Answer("web.1"), &got, &closed);
        }
    });
    assert_eq!(routed.get("/"), (200, "web.1".to_owned()));
}

/// A request the router refuses itself (not the app's) has its line, as every request has
/// where requests are lines — the fields a client wrote escaped.
#[test]
fn a_refused_request_has_its_line() {
    let app = App::start(Does::Answer("web.1"));
    let limits = Limits {
        log_requests: true,
        ..Limits::default()
    };
    let routed = Routed::start(limits, &[&app]);
    let answer = answer(
        routed.router.listen(),
        "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nconnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    let said = routed.said.lock().unwrap().clone();
    let line = said
        .iter()
        .find(|l| l.contains(" code=refused status=405 method=CONNECT "))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(line.contains(" host=\"example.com:443\""), "{line}");
    assert!(app.got().is_empty());
}
