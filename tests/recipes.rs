//! Every `dozen init` recipe whose toolchain is on this machine, end to end, as a new user
//! would: `init` → `release` → `run` → an HTTP request answered by the release (issue 12's
//! relocatable builds: what a build step installs works where the release runs).

use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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

/// Whether a toolchain is installed; a missing one fails the test (see
/// [`crate::harness::missing`]), so these tests cannot pass by not running.
fn has(tool: &str) -> bool {
    // `go` answers `version`, the others `--version`.
    let found = ["--version", "version"].iter().any(|flag| {
        Command::new(tool)
            .arg(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        crate::harness::missing(
            tool,
            "apt-get install python3-pip nodejs npm golang-go (cargo comes with Rust)",
        );
    }
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
    let mut body = None;
    crate::harness::within(Duration::from_secs(secs), || {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
        let mut response = String::new();
        if stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/") {
            body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
            return true;
        }
        false
    });
    body
}

/// An app made by a test: its directory lives as long as this does.
struct Made {
    _dir: tempfile::TempDir,
    app: std::path::PathBuf,
    /// What `GET /` of `dozen run` answered.
    body: String,
    /// The canonical path of the app's build trees.
    trees: String,
}

/// Writes the app, runs `init`, `release` and `run`, and returns what `GET /` answered.
fn init_release_run(files: &[(&str, &str)], expect_detected: &str) -> Made {
    init_release_run_with(files, &[], expect_detected)
}

/// [`init_release_run`] with files copied into the app (`copies`: its path, the source).
fn init_release_run_with(
    files: &[(&str, &str)],
    copies: &[(&str, std::path::PathBuf)],
    expect_detected: &str,
) -> Made {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("hello");
    for (name, text) in files {
        let path = app.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for (name, source) in copies {
        let path = app.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(source, path).unwrap();
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
    // Past 20 s it is killed: this test is about what the app served, not about the stop.
    if !crate::harness::within(Duration::from_secs(20), || {
        run.try_wait().unwrap().is_some()
    }) {
        let _ = run.kill();
    }
    run.wait().unwrap();
    let mut log = String::new();
    run.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    let tree = std::fs::canonicalize(app.join(".dozen/trees")).unwrap();
    let body = body.unwrap_or_else(|| panic!("no answer on port {port}\n{log}"));
    Made {
        _dir: dir,
        app,
        body,
        trees: tree.display().to_string(),
    }
}

/// systemd's `ExecStart=` argument as the shell gets it (the reverse of the exporter's
/// quoting: C escapes, `$$` and `%%`).
fn unquote_systemd(text: &str) -> String {
    let inner = text.trim().trim_start_matches('"').trim_end_matches('"');
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            ('\\', Some(&next)) => {
                chars.next();
                out.push(next);
            }
            ('$', Some('$')) | ('%', Some('%')) => {
                chars.next();
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `dozen export systemd` of the release, then the web unit's `ExecStart` run as systemd runs
/// it — its default `PATH`, nothing else of this environment — from a copy of the tree at
/// another path: what `GET /` answered, and the copy's path.
fn export_and_start_elsewhere(made: &Made) -> (String, String) {
    let out = made.app.join("units");
    let export = dozen(
        &made.app,
        &["export", "systemd", "--out", out.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let unit = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-web@.service"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .expect("a web unit");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in\n{unit}"))
            .to_owned()
    };
    let script = unquote_systemd(value("ExecStart=/bin/sh -c ").as_str());
    let tree = value("WorkingDirectory=");
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("srv/app");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let status = Command::new("cp")
        .args(["-a", &tree, copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    // systemd's default PATH for services; the build's toolchain when it is not there (this
    // machine's python3 may live only in pyenv), never the build's own directories.
    let mut path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned();
    for tool in ["python3", "node"] {
        let on_default = path.split(':').any(|d| Path::new(d).join(tool).exists());
        if !on_default
            && let Ok(found) = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
        {
            let found = String::from_utf8_lossy(&found.stdout).trim().to_owned();
            if let Some(dir) = Path::new(&found).parent() {
                path = format!("{path}:{}", dir.display());
            }
        }
    }
    let port = free_port();
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&copy)
        .env_clear()
        .env("PATH", path)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let body = get(port, 60);
    // The whole group: `npm start` leaves node, which holds the pipe, as its child.
    let _ = rustix::process::kill_process_group(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::KILL,
    );
    let output = child.wait_with_output().unwrap();
    let body = body.unwrap_or_else(|| {
        panic!(
            "`{script}` from {} did not serve\n{}",
            copy.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        body,
        std::fs::canonicalize(&copy).unwrap().display().to_string(),
    )
}

/// A wheel with a console script, made here (no index needed): `hello-dozen` serves what
/// its package's path is.
fn hello_wheel(dir: &Path) {
    let script = r#"
import sys, zipfile
files = {
    "hello_dozen/__init__.py": "import os\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\nclass H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        body = ('python ' + os.path.dirname(os.path.abspath(__file__))).encode()\n        self.send_response(200)\n        self.send_header('Content-Length', str(len(body)))\n        self.end_headers()\n        self.wfile.write(body)\ndef main():\n    HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n",
    "hello_dozen-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hello-dozen\nVersion: 1.0\n",
    "hello_dozen-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: dozen-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "hello_dozen-1.0.dist-info/entry_points.txt": "[console_scripts]\nhello-dozen = hello_dozen:main\n",
}
record = "".join(f"{name},,\n" for name in files) + "hello_dozen-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    for name, text in files.items():
        wheel.writestr(name, text)
    wheel.writestr("hello_dozen-1.0.dist-info/RECORD", record)
"#;
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("hello_dozen-1.0-py3-none-any.whl"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// Python: packages installed into the tree, a console script on PATH from `.profile.d`, and
/// the same build started by the exported unit from another path in systemd's environment.
#[test]
fn python_with_pip_a_build_that_runs_anywhere() {
    if !has("python3") {
        eprintln!("skipped: no python3");
        return;
    }
    let wheels = tempfile::tempdir().unwrap();
    hello_wheel(wheels.path());
    let made = init_release_run_with(
        &[
            (
                "requirements.txt",
                "./wheels/hello_dozen-1.0-py3-none-any.whl\n",
            ),
            ("Procfile", "web: hello-dozen\n"),
        ],
        &[(
            "wheels/hello_dozen-1.0-py3-none-any.whl",
            wheels.path().join("hello_dozen-1.0-py3-none-any.whl"),
        )],
        "detected Python (requirements.txt)",
    );
    // The package is the build's own, installed where the release runs.
    assert!(
        made.body.starts_with(&format!("python {}", made.trees))
            && made.body.ends_with("/.python-packages/hello_dozen"),
        "{} is not a package of {}",
        made.body,
        made.trees
    );
    let (body, copy) = export_and_start_elsewhere(&made);
    assert_eq!(body, format!("python {copy}/.python-packages/hello_dozen"));
}

#[test]
fn node_with_npm() {
    if !has("node") || !has("npm") {
        eprintln!("skipped: no node or npm");
        return;
    }
    let server = "require('http').createServer((q, s) => s.end('node ' + process.cwd())).listen(process.env.PORT, '127.0.0.1');\n";
    let made = init_release_run(
        &[
            (
                "package.json",
                r#"{"name":"hello","version":"1.0.0","private":true,"scripts":{"start":"node server.js"}}"#,
            ),
            ("server.js", server),
        ],
        "detected Node.js (package.json)",
    );
    assert!(
        made.body.starts_with(&format!("node {}", made.trees)),
        "{}",
        made.body
    );
    let (body, copy) = export_and_start_elsewhere(&made);
    assert_eq!(body, format!("node {copy}"));
}

#[test]
fn rust_with_cargo_the_binary_outlives_the_target_cache() {
    if !has("cargo") {
        eprintln!("skipped: no cargo");
        return;
    }
    let main = "use std::io::{Read, Write};\nfn main() {\n    let port = std::env::var(\"PORT\").unwrap();\n    let listener = std::net::TcpListener::bind((\"127.0.0.1\", port.parse::<u16>().unwrap())).unwrap();\n    for stream in listener.incoming() {\n        let mut stream = stream.unwrap();\n        let mut buf = [0u8; 1024];\n        let _ = stream.read(&mut buf);\n        let body = format!(\"rust {}\", std::env::current_dir().unwrap().display());\n        let _ = write!(stream, \"HTTP/1.0 200 OK\\r\\nContent-Length: {}\\r\\n\\r\\n{}\", body.len(), body);\n    }\n}\n";
    let made = init_release_run(
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("src/main.rs", main),
        ],
        "detected Rust (Cargo.toml)",
    );
    assert!(
        made.body.starts_with(&format!("rust {}", made.trees)),
        "{}",
        made.body
    );
    let (body, copy) = export_and_start_elsewhere(&made);
    assert_eq!(body, format!("rust {copy}"));
}

/// Go, with the Procfile a Heroku app has (`web: hello`, the binary's name alone): the
/// recipe names the binary as `go install` does and puts `bin/` on PATH, as Heroku does.
#[test]
fn go_with_a_heroku_procfile() {
    if !has("go") {
        eprintln!("skipped: no go");
        return;
    }
    let main = "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\t\"os\"\n)\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) {\n\t\tdir, _ := os.Getwd()\n\t\tfmt.Fprintf(w, \"go %s\", dir)\n\t})\n\tpanic(http.ListenAndServe(\"127.0.0.1:\"+os.Getenv(\"PORT\"), nil))\n}\n";
    let made = init_release_run(
        &[
            ("go.mod", "module example.com/acme/hello\n\ngo 1.19\n"),
            ("main.go", main),
            ("Procfile", "web: hello\n"),
        ],
        "detected Go (go.mod)",
    );
    assert!(
        made.body.starts_with(&format!("go {}", made.trees)),
        "{}",
        made.body
    );
    let (body, copy) = export_and_start_elsewhere(&made);
    assert_eq!(body, format!("go {copy}"));
}
