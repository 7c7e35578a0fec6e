//! HTTPS at the router (issue 32): certificates from a test CA verified by curl and Python's
//! `ssl`, SNI, reloading without dropping a request, the development CA from a fresh home,
//! HTTP/2 through a rolling restart, the redirect and HSTS, buffers given back while idle.

use super::*;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate authority for a test, and certificates it issues.
struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `names`, written with its key as `FILE.crt` (leaf then this CA:
    /// a chain) and `FILE.key` in `dir`.
    fn issue(&self, dir: &Path, file: &str, names: &[&str]) {
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(dir.join(format!("{file}.crt")), cert.pem() + &self.pem).unwrap();
        std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    }

    fn write(&self, path: &Path) {
        std::fs::write(path, &self.pem).unwrap();
    }
}

fn tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        crate::harness::missing(name, &format!("apt-get install {name}"));
    }
    found
}

/// `curl ARGS`: (exit code, stdout).
fn curl(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Python's `ssl` with `ca` as its only trust, verifying `name` (SNI and the hostname check):
/// the certificate's subject alternative names, or the error.
fn python_names(port: u16, name: &str, ca: &Path) -> Result<String, String> {
    let script = r#"
import socket, ssl, sys
port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            print(",".join(v for k, v in tls.getpeercert()["subjectAltName"]))
            tls.sendall(b"GET / HTTP/1.1\r\nHost: " + name.encode() + b"\r\nConnection: close\r\n\r\n")
            print(tls.recv(100).split(b"\r\n")[0].decode())
except ssl.SSLError as e:
    print("ssl error:", e.reason)
    sys.exit(1)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string(), name])
        .arg(ca)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(text + &String::from_utf8_lossy(&out.stderr))
    }
}

fn tls_app(test: Test, manifest: &str) -> Test {
    test.manifest(manifest)
}

/// Two certificates from one test CA, each chosen by its name; both verified by curl and by
/// Python's `ssl`; the app hears `https`; a client with no name gets the first; the router's
/// lines say `h2+tls`; the plain-HTTP listener redirects; HSTS only over HTTPS.
#[test]
fn https_with_a_test_ca_is_verified_and_each_name_gets_its_certificate() {
    if !tool("curl") {
        return;
    }
    let ca = TestCa::new("dozen test CA");
    let test = app();
    ca.issue(test.path(), "a", &["a.test"]);
    ca.issue(test.path(), "b", &["b.test", "www.b.test"]);
    ca.write(&test.path().join("ca.crt"));
    let ca_path = test.path().join("ca.crt");
    let port = base_port();
    let http = port + 40;
    let manifest = format!(
        "[router]\nlog = \"requests\"\ntls = [{{ cert = \"a.crt\", key = \"a.key\" }}, {{ cert = \"b.crt\", key = \"b.key\" }}]\nhttp_listen = \"{http}\"\nhttp_redirect = true\nhsts = true\n"
    );
    let mut running = run(tls_app(test, &manifest), port, 1);
    running.wait_for(
        &format!(
            "router listening on https://127.0.0.1:{port} (http://127.0.0.1:{http} redirects to it)"
        ),
        10,
    );
    in_rotation(&running, 1);
    let ca = ca_path.to_str().unwrap();
    for (n, name) in ["a.test", "b.test", "www.b.test"].into_iter().enumerate() {
        let resolve = format!("{name}:{port}:127.0.0.1");
        let url = format!("https://{name}:{port}/q?page=1&password=pw");
        let (code, out) = curl(&["--cacert", ca, "--resolve", &resolve, "--http2", "-i", &url]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.starts_with("HTTP/2 200"), "{name}: {out}");
        assert!(
            out.contains("strict-transport-security: max-age=31536000"),
            "{out}"
        );
        let body: Value = serde_json::from_str(out.rsplit("\r\n\r\n").next().unwrap()).unwrap();
        let headers = &body["headers"];
        assert_eq!(headers["x-forwarded-proto"], "https", "{headers}");
        assert_eq!(headers["host"], format!("{name}:{port}"), "{headers}");
        assert!(
            headers["forwarded"]
                .as_str()
                .unwrap()
                .contains(";proto=https;"),
            "{headers}"
        );
        let line = running.wait_for_nth("router | at=info method=GET path=\"/q?", n + 1, 10);
        assert!(line.contains("path=\"/q?page=1&password=***\""), "{line}");
        assert!(line.ends_with("protocol=h2+tls"), "{line}");
    }
    grpc_is_told_it_is_not_passed(&mut running, port, ca);
    // HTTP/1.1 over TLS too.
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}/");
    let (code, out) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        "--http1.1",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &url,
    ]);
    assert_eq!((code, out.as_str()), (0, "1.1 200"));
    let line = running.wait_for_nth("router | at=info", 4, 10);
    assert!(line.ends_with("protocol=h1+tls"), "{line}");
    // Python's ssl checks each name against what it is served.
    assert_eq!(
        python_names(port, "a.test", &ca_path).unwrap(),
        "a.test\nHTTP/1.1 200 OK"
    );
    assert_eq!(
        python_names(port, "www.b.test", &ca_path).unwrap(),
        "b.test,www.b.test\nHTTP/1.1 200 OK"
    );
    // A name no certificate has gets the first, which fails the client's check.
    let error = python_names(port, "c.test", &ca_path).unwrap_err();
    assert!(error.contains("CERTIFICATE_VERIFY_FAILED"), "{error}");
    // A CA the client does not trust: curl refuses (60: peer certificate cannot be verified).
    let (code, _) = curl(&["--resolve", &resolve, &url]);
    assert_eq!(code, 60);

    // The plain-HTTP listener: a 308 to the same target over HTTPS, no HSTS.
    let mut plain = Client::connect(http).unwrap();
    let reply = plain
        .send("POST /form?x=1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 308);
    assert_eq!(
        reply.header("location"),
        Some(format!("https://a.test:{port}/form?x=1").as_str())
    );
    assert_eq!(reply.header("strict-transport-security"), None);
    running.wait_for("status=308 bytes=0", 10);
    // Plain HTTP to the HTTPS port: told so, in plain HTTP, as nginx does.
    let reply = Client::connect(port)
        .unwrap()
        .send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(
        String::from_utf8_lossy(&reply.body).starts_with("This port serves HTTPS"),
        "{reply:?}"
    );
    stop(running);
}

/// A gRPC call is told, as gRPC says it, that it is not passed through.
fn grpc_is_told_it_is_not_passed(running: &mut Running, port: u16, ca: &str) {
    let url = format!("https://a.test:{port}/pkg.Service/Method");
    let resolve = format!("a.test:{port}:127.0.0.1");
    let (code, out) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        "--http2",
        "-i",
        "-H",
        "content-type: application/grpc",
        "--data-binary",
        "",
        &url,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.contains("grpc-status: 12"), "{out}");
    assert!(out.contains("grpc-message: dozen%27s%20router"), "{out}");
    running.wait_for("router | at=error code=grpc-unsupported", 10);
}

/// The certificate files replaced while a request is in flight: the request ends well on
/// the old certificate, new connections get the new one; a broken file keeps the old set
/// and says why; `SIGHUP` (a run with no terminal: a service) reloads and the run goes on.
#[test]
fn new_certificates_are_taken_without_dropping_a_request() {
    let old = TestCa::new("old CA");
    let new = TestCa::new("new CA");
    let test = app();
    let dir = test.path().to_owned();
    old.issue(&dir, "site", &["localhost"]);
    old.write(&dir.join("old.crt"));
    new.write(&dir.join("new.crt"));
    let port = base_port();
    // As a service manager starts it: SIGHUP is then a reload, not a terminal hanging up.
    let mut running = run(
        test.manifest("[router]\ntls = { cert = \"site.crt\", key = \"site.key\" }\n")
            .detached(),
        port,
        1,
    );
    in_rotation(&running, 1);
    assert!(python_names(port, "localhost", &dir.join("old.crt")).is_ok());

    // A request that takes 3 s, begun on the old certificate.
    let slow = {
        let ca = dir.join("old.crt");
        std::thread::spawn(move || {
            let script = r#"
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET /slow?s=3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        print(data.split(b"\r\n")[0].decode())
"#;
            Command::new("python3")
                .args(["-c", script, &port.to_string()])
                .arg(ca)
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // Replaced as certbot does it: new files renamed over the old.
    let staging = dir.join("staging");
    std::fs::create_dir(&staging).unwrap();
    new.issue(&staging, "site", &["localhost"]);
    std::fs::rename(staging.join("site.key"), dir.join("site.key")).unwrap();
    std::fs::rename(staging.join("site.crt"), dir.join("site.crt")).unwrap();
    running.wait_for(
        "router certificates reloaded: 1 certificate for localhost",
        10,
    );
    assert!(python_names(port, "localhost", &dir.join("new.crt")).is_ok());
    let error = python_names(port, "localhost", &dir.join("old.crt")).unwrap_err();
    assert!(error.contains("CERTIFICATE_VERIFY_FAILED"), "{error}");
    let done = slow.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&done.stdout).trim(),
        "HTTP/1.1 200 OK",
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    // A broken key: the set in use stays, and the line says why.
    std::fs::write(dir.join("site.key"), "not a key\n").unwrap();
    let line = running.wait_for("router certificates not reloaded", 10);
    assert!(line.contains("site.key has no private key"), "{line}");
    assert!(python_names(port, "localhost", &dir.join("new.crt")).is_ok());

    // The key back, with a certificate for one more name: taken once the files change.
    new.issue(&staging, "site", &["localhost", "again.test"]);
    std::fs::copy(staging.join("site.key"), dir.join("site.key")).unwrap();
    std::fs::copy(staging.join("site.crt"), dir.join("site.crt")).unwrap();
    running.wait_for(
        "router certificates reloaded: 1 certificate for localhost, again.test",
        10,
    );
    assert_eq!(
        python_names(port, "localhost", &dir.join("new.crt")).unwrap(),
        "localhost,again.test\nHTTP/1.1 200 OK"
    );
    // SIGHUP to a run with no terminal (a service): read again at once, and the run goes on.
    running.signal(rustix::process::Signal::HUP);
    running.wait_for_nth("router certificates reloaded", 3, 10);
    assert!(python_names(port, "localhost", &dir.join("new.crt")).is_ok());
    stop(running);
}

/// `--tls` from a fresh home: the development CA is made (its key 0600), said with how to
/// trust it, and curl trusting it gets HTTPS and HTTP/2 from `localhost`; the next run uses
/// the same CA.
#[test]
fn tls_in_development_makes_a_ca_once_and_serves_localhost() {
    if !tool("curl") {
        return;
    }
    let test = app();
    // Outside the app: it outlives the first run's directory.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let port = base_port();
    let base = port.to_string();
    let mut running = test
        .env("XDG_DATA_HOME", data.to_str().unwrap())
        .args(&["run", "--dev", "--no-timestamps", "-p", &base, "--tls"])
        .spawn();
    let root = data.join("dozen/ca/root.crt");
    running.wait_for(&format!("made your development CA: {}", root.display()), 15);
    running.wait_for("trust it once — curl: --cacert", 5);
    running.wait_for(
        "Firefox and Chrome on Linux keep their own store: certutil",
        5,
    );
    let key_mode = std::fs::metadata(data.join("dozen/ca/root.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    in_rotation(&running, 1);
    let root_path = root.to_str().unwrap();
    for (url, expected) in [
        (format!("https://localhost:{port}/"), "2 200"),
        (format!("https://127.0.0.1:{port}/"), "2 200"),
    ] {
        let (code, out) = curl(&[
            "--cacert",
            root_path,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            &url,
        ]);
        assert_eq!((code, out.as_str()), (0, expected), "{url}");
    }
    let ca_made = std::fs::read(&root).unwrap();
    stop(running);

    // Again: the same CA, said as such.
    let port = base_port();
    let base = port.to_string();
    let mut running = app()
        .env("XDG_DATA_HOME", data.to_str().unwrap())
        .args(&["run", "--dev", "--no-timestamps", "-p", &base, "--tls"])
        .spawn();
    running.wait_for("certificate for localhost from your development CA", 15);
    assert_eq!(std::fs::read(&root).unwrap(), ca_made);
    stop(running);
}

/// HTTP/2 clients through a rolling restart of web=2: every request answered (draining and
/// retries work for streams as for HTTP/1.1 requests).
#[test]
fn http2_requests_survive_a_rolling_restart() {
    if !tool("curl") {
        return;
    }
    let ca = TestCa::new("h2 CA");
    let test = app();
    ca.issue(test.path(), "site", &["localhost"]);
    let ca_path: PathBuf = test.path().join("ca.crt");
    ca.write(&ca_path);
    let port = base_port();
    let running = run(
        test.manifest("[router]\ntls = { cert = \"site.crt\", key = \"site.key\" }\n"),
        port,
        2,
    );
    in_rotation(&running, 2);
    let stop_load = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop_load, ca_path) = (Arc::clone(&stop_load), ca_path.clone());
        std::thread::spawn(move || {
            let mut results = Vec::new();
            while !stop_load.load(Ordering::SeqCst) {
                // 20 requests on one HTTP/2 connection per curl.
                let url = format!("https://localhost:{port}/");
                let mut args = vec![
                    "--cacert".to_owned(),
                    ca_path.to_str().unwrap().to_owned(),
                    "--http2".into(),
                    "-w".into(),
                    "%{http_version}:%{http_code}\\n".into(),
                ];
                for _ in 0..20 {
                    args.extend(["-o".to_owned(), "/dev/null".to_owned(), url.clone()]);
                }
                let (code, out) = curl(&args.iter().map(String::as_str).collect::<Vec<_>>());
                results.push((code, out));
            }
            results
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    let (code, stdout, stderr) = running.dozen(&["restart", "web", "--wait"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    std::thread::sleep(Duration::from_millis(500));
    stop_load.store(true, Ordering::SeqCst);
    let results = load.join().unwrap();
    let answered: usize = results.iter().map(|(_, out)| out.lines().count()).sum();
    let failed: Vec<_> = results
        .iter()
        .filter(|(code, out)| *code != 0 || out.lines().any(|l| l != "2:200"))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(answered >= 40, "only {answered} requests");
    stop(running);
}

/// Behind a load balancer that ends TLS and forwards to the plain-HTTP listener (a trusted
/// proxy): what it says came over HTTPS is served, not redirected (which would loop); what
/// came over HTTP is redirected to the host the client asked for. An HTTP/1.0 client that
/// offers ALPN `http/1.0` is served.
#[test]
fn a_trusted_proxys_https_requests_are_served_by_the_redirecting_listener() {
    if !tool("curl") {
        return;
    }
    let ca = TestCa::new("lb CA");
    let test = app();
    ca.issue(test.path(), "site", &["localhost"]);
    ca.write(&test.path().join("ca.crt"));
    let ca_path = test.path().join("ca.crt");
    let (port, http) = (base_port(), base_port());
    let running = run(
        test.manifest(&format!(
            "[router]\ntls = {{ cert = \"site.crt\", key = \"site.key\" }}\nhttp_listen = \"{http}\"\nhttp_redirect = true\ntrusted_proxies = [\"127.0.0.1\"]\n"
        )),
        port,
        1,
    );
    in_rotation(&running, 1);
    let mut plain = Client::connect(http).unwrap();
    let reply = plain
        .send("GET /cart HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-Proto: https\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["headers"]["x-forwarded-proto"], "https", "{body}");
    let reply = plain
        .send("GET /cart?x=1 HTTP/1.1\r\nHost: 10.0.0.5\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: shop.example.com\r\n\r\n")
        .unwrap();
    assert_eq!(reply.status, 308);
    assert_eq!(
        reply.header("location"),
        Some("https://shop.example.com/cart?x=1")
    );
    let (code, out) = curl(&[
        "--cacert",
        ca_path.to_str().unwrap(),
        "--http1.0",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &format!("https://localhost:{port}/"),
    ]);
    assert_eq!((code, out.as_str()), (0, "1 200"));
    stop(running);
}

/// A certificate past its end: `check` warns of it (at the setting), and `run` says it as
/// it starts — the router serves it still, as nginx would, and clients refuse it.
#[test]
fn an_expired_certificate_is_warned_of_by_check_and_run() {
    let test = app();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(400);
    params.not_after = now - time::Duration::days(2);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(test.path().join("old.crt"), cert.pem()).unwrap();
    std::fs::write(test.path().join("old.key"), key.serialize_pem()).unwrap();
    let manifest = "[router]\ntls = { cert = \"old.crt\", key = \"old.key\" }\n";
    let port = base_port();
    let mut running = test
        .manifest(manifest)
        .args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "--router",
            "-p",
            &port.to_string(),
        ])
        .spawn();
    let line = running.wait_for("clients refuse it", 15);
    assert!(
        line.contains("warning: the certificate in ")
            && line.contains("old.crt (localhost) expired on "),
        "{line}"
    );
    let (code, stdout, stderr) = running.dozen(&["check"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("dozen.toml:2:7"), "{stderr}");
    assert!(
        stderr.contains("old.crt (localhost) expired on "),
        "{stderr}"
    );
    stop(running);
}

/// `--tls` with `[router] tls` and `hsts` set: the development certificate is served, said
/// so, and never with HSTS (a browser would remember it for `localhost`).
#[test]
fn tls_in_development_overrides_the_settings_certificates_and_never_sends_hsts() {
    if !tool("curl") {
        return;
    }
    let ca = TestCa::new("unused CA");
    let test = app();
    ca.issue(test.path(), "site", &["localhost"]);
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let port = base_port();
    let mut running = test
        .manifest("[router]\ntls = { cert = \"site.crt\", key = \"site.key\" }\nhsts = true\n")
        .env("XDG_DATA_HOME", data.to_str().unwrap())
        .args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "-p",
            &port.to_string(),
            "--tls",
        ])
        .spawn();
    running.wait_for(
        "--tls: the development CA's certificate is served, not [router] tls's",
        15,
    );
    in_rotation(&running, 1);
    let root = data.join("dozen/ca/root.crt");
    let (code, out) = curl(&[
        "--cacert",
        root.to_str().unwrap(),
        "-sS",
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("https://localhost:{port}/"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(
        !out.to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{out}"
    );
    stop(running);
}

/// An instance that answers an upload before reading it, and closes: over HTTP/2 and
/// HTTP/1.1, every client gets that answer (not a `502`, nor a stream reset).
#[test]
fn an_answer_before_the_upload_was_read_reaches_http2_and_http1_clients() {
    if !tool("curl") {
        return;
    }
    let ca = TestCa::new("early CA");
    let test = app();
    ca.issue(test.path(), "site", &["localhost"]);
    ca.write(&test.path().join("ca.crt"));
    std::fs::write(test.path().join("upload.bin"), vec![b'x'; 4 << 20]).unwrap();
    let (ca_path, upload) = (
        test.path().join("ca.crt"),
        format!("@{}", test.path().join("upload.bin").display()),
    );
    let port = base_port();
    let running = run(
        test.manifest("[router]\ntls = { cert = \"site.crt\", key = \"site.key\" }\n"),
        port,
        1,
    );
    in_rotation(&running, 1);
    let url = format!("https://localhost:{port}/forbidden");
    for version in ["--http2", "--http1.1"] {
        for _ in 0..10 {
            let (code, out) = curl(&[
                "--cacert",
                ca_path.to_str().unwrap(),
                version,
                "--data-binary",
                &upload,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &url,
            ]);
            // curl (7.88) ends an HTTP/2 upload it stops with a short END_STREAM, which
            // breaks the stream's content-length; if that reaches the router before the
            // answer's end, h2 resets the stream and curl says so (exit 92) after the answer.
            let answered = (code, out.as_str()) == (0, "403")
                || (version == "--http2" && code == 92 && out.starts_with("403curl: (92)"));
            assert!(answered, "{version}: {code} {out}");
        }
    }
    stop(running);
}

/// A kept-alive HTTP/1.1 connection idle past the moment its buffers go is served again on
/// the same socket — over TLS, on the same session — and still closed at
/// `keepalive_timeout`.
#[test]
fn an_idle_connection_gives_back_its_buffers_and_keeps_its_socket() {
    let ca = TestCa::new("idle CA");
    let test = app();
    ca.issue(test.path(), "site", &["localhost"]);
    let ca_path = test.path().join("ca.crt");
    ca.write(&ca_path);
    let port = base_port();
    let plain = port + 40;
    let manifest = format!(
        "[router]\nkeepalive_timeout = \"3s\"\ntls = {{ cert = \"site.crt\", key = \"site.key\" }}\nhttp_listen = \"{plain}\"\n"
    );
    let running = run(test.manifest(&manifest), port, 1);
    in_rotation(&running, 1);
    let script = r#"
import socket, ssl, sys, time
context = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        for pause in (0, 1.5, 0.1, 1.5):
            time.sleep(pause)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(data.lower().split(b"content-length: ")[1].split(b"\r\n")[0]):
                chunk = tls.recv(65536)
                if not chunk:
                    print("closed")
                    sys.exit(1)
                data += chunk
            print(data.split(b"\r\n")[0].decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .arg(&ca_path)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "HTTP/1.1 200 OK\n".repeat(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = plain;
    let mut client = Client::connect(port).unwrap();
    assert_eq!(client.get("/").unwrap().status, 200);
    // Idle past the 50 ms after which buffers go: `dozen ps` counts it idle.
    crate::harness::eventually_ok("the connection at rest", Duration::from_secs(5), || {
        let router = &ps(&running)["router"];
        if router["connections"] == 1 && router["idle_connections"] == 1 {
            Ok(())
        } else {
            Err(router.to_string())
        }
    });
    for pause in [1500, 2200, 100] {
        assert_eq!(client.get("/").unwrap().status, 200);
        // Fixed times on purpose: past the moment buffers go, within the 3 s timeout.
        std::thread::sleep(Duration::from_millis(pause));
    }
    // A request on a connection whose buffers went, pipelined with a second.
    let reply = client
        .send(
            "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(client.read_reply().unwrap().status, 200);
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = client.reader.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(read.is_ok() && rest.is_empty(), "{read:?} {rest:?}");
    assert!(
        waited >= Duration::from_millis(2500) && waited < Duration::from_secs(6),
        "closed after {waited:?}"
    );
    stop(running);
}
