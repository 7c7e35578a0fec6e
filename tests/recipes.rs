//! Every `dozen init` recipe whose toolchain is on this machine, end to end, as a new user
//! would: `init` → `release` → `run` → an HTTP request answered by the release (issue 12's
//! relocatable builds: what a build step installs works where the release runs).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::BIN;

/// `dozen` in `dir` with `PATH` and `HOME` (toolchains find their caches and installs there).
fn dozen(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default());
    command
}

/// Whether a toolchain is installed; in CI (`CI` set) a missing one fails the test instead of
/// skipping it, so these tests cannot pass by not running.
fn has(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is missing, and CI must run every recipe"
    );
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / on the port until it answers (at most `secs`): the response body.
fn get(port: u16, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/") {
                return response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Writes the app, runs `init`, `release` and `run`, and returns what `GET /` answered.
fn init_release_run(files: &[(&str, &str)], expect_detected: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("hello");
    for (name, text) in files {
        let path = app.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let init = dozen(&app, &["init"]).output().unwrap();
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(
        init.status.success() && said.contains(expect_detected),
        "{said}"
    );
    let release = dozen(&app, &["release"]).output().unwrap();
    assert!(
        release.status.success(),
        "dozen release\n{}",
        String::from_utf8_lossy(&release.stderr)
    );
    let port = free_port();
    let mut run = dozen(&app, &["run", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let body = get(port, 60);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&run),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while run.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = run.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut log = String::new();
    run.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    let tree = std::fs::canonicalize(app.join(".dozen/trees")).unwrap();
    let body = body.unwrap_or_else(|| panic!("no answer on port {port}\n{log}"));
    (body, tree.display().to_string())
}

#[test]
fn python_with_pip_a_virtualenv_that_works_in_the_release() {
    if !has("python3") {
        eprintln!("skipped: no python3");
        return;
    }
    let server = "import os, sys\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\nclass H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        body = sys.prefix.encode()\n        self.send_response(200)\n        self.send_header('Content-Length', str(len(body)))\n        self.end_headers()\n        self.wfile.write(body)\nHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n";
    let (body, trees) = init_release_run(
        &[("requirements.txt", "\n"), ("app.py", server)],
        "detected Python (requirements.txt)",
    );
    // `python` is the virtualenv's (from `.profile.d`), made where the release runs.
    assert!(
        body.starts_with(&trees) && body.ends_with("/.venv"),
        "{body} is not a virtualenv in {trees}"
    );
}

#[test]
fn node_with_npm() {
    if !has("node") || !has("npm") {
        eprintln!("skipped: no node or npm");
        return;
    }
    let server = "require('http').createServer((q, s) => s.end('node ' + process.cwd())).listen(process.env.PORT, '127.0.0.1');\n";
    let (body, trees) = init_release_run(
        &[
            (
                "package.json",
                r#"{"name":"hello","version":"1.0.0","private":true,"scripts":{"start":"node server.js"}}"#,
            ),
            ("server.js", server),
        ],
        "detected Node.js (package.json)",
    );
    assert!(body.starts_with(&format!("node {trees}")), "{body}");
}

#[test]
fn rust_with_cargo_the_binary_outlives_the_target_cache() {
    if !has("cargo") {
        eprintln!("skipped: no cargo");
        return;
    }
    let main = "use std::io::{Read, Write};\nfn main() {\n    let port = std::env::var(\"PORT\").unwrap();\n    let listener = std::net::TcpListener::bind((\"127.0.0.1\", port.parse::<u16>().unwrap())).unwrap();\n    for stream in listener.incoming() {\n        let mut stream = stream.unwrap();\n        let mut buf = [0u8; 1024];\n        let _ = stream.read(&mut buf);\n        let body = format!(\"rust {}\", std::env::current_dir().unwrap().display());\n        let _ = write!(stream, \"HTTP/1.0 200 OK\\r\\nContent-Length: {}\\r\\n\\r\\n{}\", body.len(), body);\n    }\n}\n";
    let (body, trees) = init_release_run(
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("src/main.rs", main),
        ],
        "detected Rust (Cargo.toml)",
    );
    assert!(body.starts_with(&format!("rust {trees}")), "{body}");
}
