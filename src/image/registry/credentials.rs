//! Docker's credentials for a registry: its `config.json`, and the credential helpers it
//! names.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::http;

/// Credentials for a registry (base64 `user:password`), from Docker's `config.json`
/// (`$DOCKER_CONFIG`, else `~/.docker`) as `docker` finds them: the registry's credential
/// helper (`credHelpers.<registry>`), else the default one (`credsStore`), else
/// `auths.<registry>.auth`.
pub fn docker_credentials(registry: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")))?;
    credentials_in(&dir, registry, None)
}

/// [`docker_credentials`] from the configuration in `dir`, helpers looked for on `path`
/// (else `PATH`).
pub(super) fn credentials_in(
    dir: &Path,
    registry: &str,
    path: Option<&std::ffi::OsStr>,
) -> Option<String> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(dir.join("config.json")).ok()?, 1 << 20),
        &mut bytes,
    )
    .ok()?;
    let config: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let keys = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".to_owned(),
            "docker.io".to_owned(),
            "index.docker.io".to_owned(),
        ]
    } else {
        vec![registry.to_owned(), format!("https://{registry}")]
    };
    let helper = keys
        .iter()
        .find_map(|k| config["credHelpers"][k].as_str())
        .or_else(|| config["credsStore"].as_str());
    if let Some(helper) = helper {
        return from_helper(helper, &keys[0], path);
    }
    let auths = config["auths"].as_object()?;
    keys.iter()
        .find_map(|k| auths.get(k)?["auth"].as_str().map(str::to_owned))
}

/// What Docker's credential helper `docker-credential-NAME get` answers for `server` (its
/// JSON `{"Username", "Secret"}`), within 30 s and 64 KiB; `None` when it has nothing or
/// fails (its words to stderr, where it wrote them).
fn from_helper(name: &str, server: &str, path: Option<&std::ffi::OsStr>) -> Option<String> {
    use std::io::Read as _;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let mut command = std::process::Command::new(format!("docker-credential-{name}"));
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let _ = stdin.write_all(server.as_bytes());
    drop(stdin);
    let stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(64 << 10).read_to_end(&mut out);
        out
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?;
    if !status.success() {
        return None;
    }
    let answer: serde_json::Value = serde_json::from_slice(&out).ok()?;
    let user = answer["Username"].as_str()?;
    let secret = answer["Secret"].as_str()?;
    Some(http::base64(format!("{user}:{secret}").as_bytes()))
}
