//! A registry and token service that try to cost dozen more than it budgets: endless bodies,
//! bodies longer than their blob, escape sequences in errors (issue 31).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;

/// A server on 127.0.0.1 that answers every request with `answer(head, port, stream)`.
fn serve(answer: fn(&str, u16, &mut TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                loop {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    answer(&String::from_utf8_lossy(&head), port, &mut stream);
                }
            });
        }
    });
    port
}

/// A request's target.
fn path(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("/")
}

/// Bytes until the reader goes away.
fn endless(stream: &mut TcpStream) {
    let chunk = vec![b'x'; 64 * 1024];
    while stream.write_all(&chunk).is_ok() {}
}

fn session(port: u16, credentials: Option<&[u8]>) -> Registry {
    let reference = Reference::parse(&format!("127.0.0.1:{port}/team/app:v1")).unwrap();
    Registry::with_credentials(&reference, credentials.map(http::base64)).unwrap()
}

#[test]
fn an_endless_manifest_is_cut_at_its_limit() {
    let port = serve(|_, _, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
        endless(stream);
    });
    let start = Instant::now();
    let error = session(port, None).manifest("v1").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("127.0.0.1:{port}: the manifest team/app:v1: an answer's body over 4 MiB")
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // Said before reading, when the length says it.
    let port = serve(|_, _, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n");
    });
    let error = session(port, None).manifest("v1").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("127.0.0.1:{port}: the manifest team/app:v1: an answer's body over 4 MiB")
    );
}

#[test]
fn an_endless_token_is_cut_at_its_limit() {
    let port = serve(|head, port, stream| {
        if path(head).starts_with("/token") {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
            while stream.write_all(chunk.as_bytes()).is_ok() {}
        } else {
            let challenge = format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\"\r\n\r\n"
            );
            let _ = stream.write_all(challenge.as_bytes());
        }
    });
    let error = session(port, Some(b"user:pw")).manifest("v1").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{port}: the token service http://127.0.0.1:{port}/token: an answer's body over 1 MiB"
        )
    );
}

#[test]
fn a_blob_longer_than_its_size_is_refused_and_leaves_nothing() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = Blobs::new(store_dir.path());
    let descriptor = |bytes: &[u8]| Descriptor {
        media_type: oci::LAYER_GZIP.to_owned(),
        digest: oci::digest_of(bytes),
        size: bytes.len() as u64,
        annotations: std::collections::BTreeMap::new(),
        platform: None,
    };
    // Without a length, and with one longer than the blob; directly and after a redirect.
    let endless_blob = serve(|head, port, stream| {
        let path = path(head);
        if path.contains("redirect") || path.contains("sha256:") && path.contains("/blobs/") {
            if path.starts_with("/v2/") && !path.contains("redirect") {
                let moved = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nContent-Length: 0\r\nLocation: http://127.0.0.1:{port}/redirect\r\n\r\n"
                );
                let _ = stream.write_all(moved.as_bytes());
                return;
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            endless(stream);
        }
    });
    let long_blob = serve(|_, _, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n");
        let _ = stream.write_all(&[b'x'; 4096]);
    });
    let blob = descriptor(b"the blob");
    for port in [endless_blob, long_blob] {
        let error = session(port, None).pull_blob(&blob, &store).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "blob {} is longer than its descriptor's 8 bytes",
                blob.digest
            )
        );
        let left: Vec<_> = crate::fsutil::every_path(store_dir.path())
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[test]
fn a_registrys_error_reaches_the_terminal_inert_and_short() {
    let port = serve(|_, _, stream| {
        let _ =
            stream.write_all(b"HTTP/1.1 404 Not Found\r\n\r\n\x1b]0;PWNED-TITLE\x07\x1b[2Jgone");
        endless(stream);
    });
    let error = session(port, None).manifest("v1").unwrap_err().to_string();
    assert!(
        !error.contains('\x1b') && !error.contains('\x07'),
        "{error:?}"
    );
    assert!(error.starts_with("127.0.0.1:"), "{error:?}");
    assert!(
        error.contains(": HTTP 404: \\u{1b}]0;PWNED-TITLE\\u{7}\\u{1b}[2Jgonexxx"),
        "{error:?}"
    );
}

/// An error's words are its body's start, however long it says it is.
#[test]
fn a_long_errors_start_is_said() {
    let port = serve(|_, _, stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n{\"errors\":\"no such tag\"}",
        );
        endless(stream);
    });
    let error = session(port, None).manifest("v1").unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "127.0.0.1:{port}: team/app:v1: HTTP 404: {{\"errors\":\"no such tag\"}}xxx"
        )),
        "{error}"
    );
    assert!(error.len() < 700, "{error}");
}

#[test]
fn credentials_go_only_to_https_realms_of_the_registry_or_its_token_service() {
    let realm = |url: &'static str| Url::parse(url).unwrap();
    let cases = [
        ("ghcr.io", true, "https://ghcr.io/token", None),
        (
            "registry-1.docker.io",
            true,
            "https://auth.docker.io/token",
            None,
        ),
        ("quay.io", true, "https://quay.io/v2/auth", None),
        ("127.0.0.1", false, "http://127.0.0.1:5001/token", None),
        (
            "ghcr.io",
            true,
            "http://ghcr.io/token",
            Some("it is not HTTPS"),
        ),
        (
            "registry.example",
            true,
            "https://tokens.attacker.example/t",
            Some("it is another host than the registry's"),
        ),
        (
            "registry-1.docker.io",
            true,
            "https://auth.docker.io.attacker.example/token",
            Some("it is another host than the registry's"),
        ),
        (
            "registry-1.docker.io",
            true,
            "http://auth.docker.io/token",
            Some("it is not HTTPS"),
        ),
        (
            "127.0.0.1",
            false,
            "http://localhost:5001/token",
            Some("it is another host than the registry's"),
        ),
    ];
    for (registry, https, url, expected) in cases {
        assert_eq!(
            withhold_from(registry, https, &realm(url)),
            expected,
            "{registry} {url}"
        );
    }
}

#[test]
fn withheld_credentials_are_not_sent_and_said_when_the_realm_refuses_without_them() {
    // The realm is this machine by another name than the registry's: a token service of
    // someone else's, as far as dozen can tell. It refuses whoever comes without credentials,
    // and remembers whether anyone came with them.
    static CAME_WITH_CREDENTIALS: std::sync::atomic::AtomicBool =
        std::sync::atomic::AtomicBool::new(false);
    let port = serve(|head, port, stream| {
        if path(head).starts_with("/token") {
            if head.to_ascii_lowercase().contains("\nauthorization:") {
                CAME_WITH_CREDENTIALS.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        } else {
            let challenge = format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"http://localhost:{port}/token\"\r\n\r\n"
            );
            let _ = stream.write_all(challenge.as_bytes());
        }
    });
    let error = session(port, Some(b"user:pw")).manifest("v1").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{port}: the token service http://localhost:{port}/token answered HTTP 401; the credentials for 127.0.0.1:{port} were not sent to it: it is another host than the registry's"
        )
    );
    assert!(!CAME_WITH_CREDENTIALS.load(std::sync::atomic::Ordering::SeqCst));
}

/// Docker's credential helpers are asked as `docker` asks them.
#[test]
fn credential_helpers_are_asked_for_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // Written by another process: an executable this process had open for writing could be
    // held open by a child another test forks meanwhile (ETXTBSY).
    let script = dir.path().join("helper.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = ghcr.io ] || exit 1\nprintf '{\"ServerURL\":\"ghcr.io\",\"Username\":\"u\",\"Secret\":\"s3\"}'\n",
    )
    .unwrap();
    let installed = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&script)
        .arg(bin.join("docker-credential-test"))
        .status()
        .unwrap();
    assert!(installed.success());
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"credHelpers": {"ghcr.io": "test"}, "auths": {"ghcr.io": {"auth": "bm90OnVzZWQ="}, "quay.io": {"auth": "cXVheTp4"}}}"#,
    )
    .unwrap();
    let path = std::ffi::OsString::from(format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    ));
    let credentials = |registry| credentials_in(dir.path(), registry, Some(&path));
    assert_eq!(credentials("ghcr.io"), Some(http::base64(b"u:s3")));
    // No helper for it: `auths`.
    assert_eq!(credentials("quay.io"), Some("cXVheTp4".to_owned()));
    // A default store that is not there: nothing.
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"credsStore": "missing", "auths": {"quay.io": {"auth": "cXVheTp4"}}}"#,
    )
    .unwrap();
    assert_eq!(credentials("quay.io"), None);
}
