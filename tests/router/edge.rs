//! Which type the router fronts, its settings, and chunked bodies both ways.

use super::*;

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
    // TLS settings: a table's own error, with where it is; an HSTS value that is not one.
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\ntls = { cert = \"site.pem\" }\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:7")
        .stderr_has("missing field `key`");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\nhsts = \"yes\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("hsts is `true` or a Strict-Transport-Security value");
    // A redirect to HTTPS the router does not serve; settings of a router that is off.
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\nhttp_listen = \"8080\"\nhttp_redirect = true\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:3:17")
        .stderr_has("http_redirect sends clients to HTTPS, and the router serves none");
    // Certificates that are not there: `check` reads them as `run` does (`nginx -t`).
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\ntls = { cert = \"site.pem\", key = \"site.key\" }\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:7")
        .stderr_has("site.pem: No such file or directory")
        .stderr_has("[router] tls is set, but the router is off");
    // A listener of dozen's own on an instance's port: said as that, before anything starts.
    let base = base_port();
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(&format!("[router]\nmetrics = \"{}\"\n", base + 1))
        .args(&["run", "--dev", "--router", "-p", &base.to_string()])
        .run()
        .code(2)
        .stderr_has(&format!(
            "port {} for web.1 is [router] metrics (127.0.0.1:{})",
            base + 1,
            base + 1
        ))
        .stdout_lacks("started");
    // ...and `run` says it before anything starts.
    let port = base_port().to_string();
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\ntls = { cert = \"site.pem\", key = \"site.key\" }\n")
        .args(&["run", "--dev", "--router", "-p", &port])
        .run()
        .code(2)
        .stderr_has("[router] tls: ")
        .stderr_has("site.pem: No such file or directory")
        .stdout_lacks("started");
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

/// `max_connections` is reconciled with the open-files limit at start (issue 31, finding 20):
/// a short soft limit is raised to the hard one, and what the hard one cannot hold (each
/// connection takes two descriptors, 256 are kept for the rest) is lowered and said once.
/// The instances keep the limit dozen was started with.
#[test]
fn max_connections_is_reconciled_with_the_open_files_limit() {
    let port = base_port();
    let test = Test::new()
        .file("app.py", APP)
        .procfile("web: python3 -c 'import resource; print(\"nofile\", *resource.getrlimit(resource.RLIMIT_NOFILE))' && exec python3 -u app.py\n")
        .manifest("[router]\nmax_connections = 1000\n")
        .open_files(300, 1000);
    let mut running = run(test, port, 1);
    let lowered = running.wait_for("max_connections lowered", 10);
    assert!(
        lowered.contains("lowered from 1000 to 372: the open-files limit (RLIMIT_NOFILE) is 1000 (hard limit 1000)"),
        "{lowered}"
    );
    running.wait_for("web.1 | nofile 300 1000", 10);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", running.child.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["1000", "1000"],
        "raised to the hard limit: {open_files}"
    );
    assert_eq!(get(port, "/").status, 200);
    let lines = stop(running);
    let said = lines
        .iter()
        .filter(|l| l.contains("max_connections"))
        .count();
    assert_eq!(said, 1, "{lines:#?}");
}
