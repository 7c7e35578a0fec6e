//! `dozen image`: an OCI image of a release without Docker, checked with Debian's skopeo and
//! umoci, run under chroot, pushed to Debian's docker-registry (docs/image.md).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Test, dozen_in};

/// A tool on PATH, or `None` (the test stops, saying so) unless CI requires it.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    if found.is_none() {
        crate::harness::missing(
            name,
            "apt-get install skopeo umoci busybox-static docker-registry",
        );
    }
    found
}

/// A `docker save`-style base made from a static busybox: `/bin/busybox`, `/bin/sh` and
/// `/bin/httpd` as its links, `PATH=/bin`.
fn busybox_base(dir: &Path) -> Option<PathBuf> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let Some(busybox) = busybox else {
        crate::harness::missing("busybox", "apt-get install busybox-static");
        return None;
    };
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for link in ["sh", "httpd", "env", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(link)).unwrap();
    }
    let run = |args: &[&str]| {
        let status = Command::new(args[0])
            .args(&args[1..])
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
    };
    run(&[
        "tar",
        "--sort=name",
        "--numeric-owner",
        "--owner=0",
        "--group=0",
        "-C",
        "root",
        "-cf",
        "layer.tar",
        ".",
    ]);
    let layer = std::fs::read(dir.join("layer.tar")).unwrap();
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&layer)
            .iter()
            .fold(String::new(), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            })
    };
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:{digest}"]}},"config":{{"Env":["PATH=/bin"]}}}}"#),
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"[{"Config":"config.json","RepoTags":["base:1"],"Layers":["layer.tar"]}]"#,
    )
    .unwrap();
    run(&[
        "tar",
        "-cf",
        "base.tar",
        "manifest.json",
        "config.json",
        "layer.tar",
    ]);
    Some(dir.join("base.tar"))
}

/// An app serving `public/` with busybox's httpd, a secret in its config, released.
fn released_app(base: &Path) -> Test {
    let test = Test::new()
        .procfile("web: cd public && httpd -f -p $PORT -h .\nworker: sleep 1000\n")
        .file("public/index.html", "hello from the image\n")
        .file("bin/tool", "#!/bin/sh\necho tool\n")
        .manifest(&format!(
            "[app]\nname = \"shop\"\n[build]\nenv = {{ GREETING = \"hi\" }}\n[image]\nbase = \"docker-archive:{}\"\n",
            base.display()
        ))
        .env_file(".env", "SECRET_TOKEN=sup3rs3cr3t-value\n")
        .git_add_all();
    std::fs::set_permissions(
        test.path().join("bin/tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    commit(test.path());
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    test
}

/// Commits what `git_add_all` staged (and the mode changes since), at a fixed time.
fn commit(dir: &Path) {
    for args in [
        &["add", "-A"][..],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "app",
        ],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
            .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
}

/// Every byte the image holds, its layers decompressed.
fn all_bytes(layout: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut all)
                .unwrap();
        } else {
            all.extend_from_slice(&bytes);
        }
    }
    all.extend(std::fs::read(layout.join("index.json")).unwrap());
    all
}

/// Runs the image's own process (its `config.json` from umoci: arguments, working directory,
/// environment, `PORT` set) in the bundle's root file system under chroot, and asks it for
/// `/index.html`.
fn serve(bundle: &Path) -> String {
    use std::os::unix::process::CommandExt as _;
    let runtime: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    let process = &runtime["process"];
    let args: Vec<&str> = process["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let env = process["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str()?.split_once('='));
    let port = crate::harness::port_block() + 7;
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chroot");
    let mut server = Command::new(chroot)
        .arg(bundle.join("rootfs"))
        .args([
            "/bin/sh",
            "-c",
            "cd \"$1\" && shift && exec \"$@\"",
            "sh",
            process["cwd"].as_str().unwrap(),
        ])
        .args(&args)
        .env_clear()
        .envs(env)
        .env("PORT", port.to_string())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stream = crate::harness::eventually_ok(
        "the image's web command to listen",
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string()),
    );
    stream
        .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    // The whole group: the web command may be a child of its shell.
    let group = rustix::process::Pid::from_child(&server);
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = server.wait();
    answer
}

#[test]
fn an_image_of_a_release_is_read_by_skopeo_unpacked_by_umoci_and_serves_http() {
    let work = tempfile::tempdir().unwrap();
    let (Some(skopeo), Some(umoci), Some(base)) =
        (tool("skopeo"), tool("umoci"), busybox_base(work.path()))
    else {
        return;
    };
    let test = released_app(&base);
    let app = test.path();
    let out = work.path().join("image");
    let archive = work.path().join("image.tar");
    let (code, stdout, stderr) = dozen_in(
        app,
        &[
            "image",
            "--out",
            out.to_str().unwrap(),
            "--archive",
            archive.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let made: Value = serde_json::from_str(&stdout).unwrap();
    let digest = made["digest"].as_str().unwrap().to_owned();
    assert_eq!(made["layers"].as_array().unwrap().len(), 2);

    for image in [
        format!("oci:{}:v1", out.display()),
        // The archive is named as the exports name the image: APP:vN.
        format!("oci-archive:{}:shop:v1", archive.display()),
    ] {
        let inspected = Command::new(&skopeo)
            .args(["inspect", &image])
            .output()
            .unwrap();
        assert!(
            inspected.status.success(),
            "{}",
            String::from_utf8_lossy(&inspected.stderr)
        );
        let inspected: Value = serde_json::from_slice(&inspected.stdout).unwrap();
        assert_eq!(inspected["Digest"], digest.as_str());
        assert_eq!(
            inspected["Env"],
            serde_json::json!(["PATH=/bin", "GREETING=hi", "PORT=5000"])
        );
    }
    let raw = Command::new(&skopeo)
        .args(["inspect", "--raw", &format!("oci:{}:v1", out.display())])
        .output()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(manifest["annotations"]["dozen.dev/release"], "v1");
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.name"],
        format!("docker-archive:{}", base.display())
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"]
            .as_str()
            .map(str::len),
        Some(40)
    );

    // No config value anywhere in the image.
    let bytes = all_bytes(&out);
    assert!(
        !bytes
            .windows(18)
            .any(|w| w == b"sup3rs3cr3t-value\n" || w.starts_with(b"SECRET_TOKEN")),
        "a config value in the image"
    );

    let bundle = work.path().join("bundle");
    let unpacked = Command::new(&umoci)
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:v1", out.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        unpacked.status.success(),
        "{}",
        String::from_utf8_lossy(&unpacked.stderr)
    );
    let runtime: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        runtime["process"]["args"],
        serde_json::json!(["/bin/sh", "-c", "cd public && httpd -f -p $PORT -h ."])
    );
    assert_eq!(runtime["process"]["cwd"], "/app");
    assert!(bundle.join("rootfs/app/public/index.html").exists());
    assert!(!bundle.join("rootfs/app/.env").exists());

    // The root file system runs the web command (chroot needs root).
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: the image is not run under chroot");
        return;
    }
    let answer = serve(&bundle);
    assert!(
        answer.starts_with("HTTP/1.") && answer.ends_with("hello from the image\n"),
        "{answer}"
    );
}

#[test]
fn the_same_release_gives_the_same_digest_and_reuses_its_layer() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let test = released_app(&base);
    let image = |app: &Path, out: &str| {
        let (code, stdout, stderr) = dozen_in(
            app,
            &[
                "image",
                "--out",
                &work.path().join(out).display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    // An `origin` (`org.opencontainers.image.source` names it), as a clone will have.
    let status = Command::new("git")
        .args([
            "remote",
            "add",
            "origin",
            "https://git.example.com/team/shop.git",
        ])
        .current_dir(test.path())
        .status()
        .unwrap();
    assert!(status.success());
    let first = image(test.path(), "a");
    let again = image(test.path(), "b");
    assert_eq!(first["app_layer_reused"], false);
    assert_eq!(again["app_layer_reused"], true);
    assert_eq!(first["digest"], again["digest"]);
    // Another checkout of the same commit, released in a store of its own: the same digest.
    let clone = tempfile::tempdir().unwrap();
    let status = Command::new("git")
        .args(["clone", "-q"])
        .arg(test.path())
        .arg(clone.path().join("app"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(clone.path().join("app/.env"), "SECRET_TOKEN=another\n").unwrap();
    let status = Command::new("git")
        .args([
            "remote",
            "set-url",
            "origin",
            "https://git.example.com/team/shop.git",
        ])
        .current_dir(clone.path().join("app"))
        .status()
        .unwrap();
    assert!(status.success());
    // A second later: nothing of the image may depend on when it is built. (A fixed time on
    // purpose: the clock must pass a whole second, the resolution of times in an archive.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, _, stderr) = dozen_in(&clone.path().join("app"), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let other = image(&clone.path().join("app"), "c");
    assert_eq!(other["app_layer_reused"], false);
    assert_eq!(other["digest"], first["digest"]);
    // A directory of other files is never replaced by a layout: not the app's own.
    let (code, _, stderr) = dozen_in(test.path(), &["image", "--out", "."]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("holds other files and is not an image layout"),
        "{stderr}"
    );
    assert!(test.path().join("Procfile").exists() && test.path().join(".dozen").exists());
}

#[test]
fn a_build_pointing_at_host_paths_is_refused_with_the_files_listed() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let test = Test::new()
        .procfile("web: .venv/bin/python app.py\n")
        .file(".venv/bin/pip", "#!/home/ci/app/.venv/bin/python\n")
        .manifest(&format!(
            "[image]\nbase = \"docker-archive:{}\"\n",
            base.display()
        ))
        .git_add_all();
    std::fs::set_permissions(
        test.path().join(".venv/bin/pip"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/usr/local/bin/python3.12",
        test.path().join(".venv/bin/python"),
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let out = work.path().join("image");
    let (code, stdout, stderr) = dozen_in(test.path(), &["image", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("2 files in the app layer point outside the image:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("app/.venv/bin/pip #!/home/ci/app/.venv/bin/python (not in the image)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("app/.venv/bin/python -> /usr/local/bin/python3.12 (not in the image)"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
    // Without a base, nothing can run the command: said, nothing written.
    std::fs::write(test.path().join("dozen.toml"), "").unwrap();
    std::fs::remove_file(test.path().join(".venv/bin/python")).unwrap();
    std::fs::remove_file(test.path().join(".venv/bin/pip")).unwrap();
    commit(test.path());
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = dozen_in(test.path(), &["image", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the image has no /bin/sh for its command (`/bin/sh -c exec .venv/bin/python app.py`)"
        ),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
    // Nowhere to put it: a usage error.
    let (code, _, stderr) = dozen_in(test.path(), &["image"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn an_image_pushed_to_a_registry_copies_back_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let (Some(registry), Some(skopeo), Some(base)) = (
        tool("docker-registry"),
        tool("skopeo"),
        busybox_base(work.path()),
    ) else {
        return;
    };
    let port = crate::harness::port_block() + 9;
    let config = work.path().join("registry.yml");
    std::fs::write(&config, format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n", work.path().join("data").display())).unwrap();
    let mut server = Command::new(registry)
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::harness::wait_for_port(port, "docker-registry");
    let test = released_app(&base);
    let out = work.path().join("image");
    let reference = format!("127.0.0.1:{port}/shop/web");
    let (code, stdout, stderr) = dozen_in(
        test.path(),
        &[
            "image",
            "--out",
            out.to_str().unwrap(),
            "--push",
            &reference,
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let made: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(made["pushed"], format!("{reference}:v1"));
    let back = work.path().join("back");
    let copied = Command::new(&skopeo)
        .args([
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{reference}:v1"),
            &format!("oci:{}:v1", back.display()),
        ])
        // No credentials: skopeo would otherwise read the default auth file, which a podman
        // run as root leaves unreadable to another user (`/run/containers/UID/auth.json`).
        .env("REGISTRY_AUTH_FILE", work.path().join("auth.json"))
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    for entry in std::fs::read_dir(out.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(back.join("blobs/sha256").join(entry.file_name())).unwrap()
        );
    }
    // The release shows its image, and the exports name it by digest.
    let (_, shown, _) = dozen_in(test.path(), &["releases", "show", "v1"]);
    let digest = made["digest"].as_str().unwrap();
    assert!(
        shown.contains(&format!("image   {digest} (pushed to {reference}:v1)")),
        "{shown}"
    );
    let (code, _, stderr) = dozen_in(test.path(), &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let web = std::fs::read_dir(test.path().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-web.deployment.yaml"))
        .unwrap();
    let deployment = std::fs::read_to_string(web).unwrap();
    assert!(
        deployment.contains(&format!("image: \"{reference}@{digest}\"")),
        "{deployment}"
    );
    // Pushed again: the registry has every blob; only the manifest is sent.
    let (code, stdout, stderr) = dozen_in(test.path(), &["image", "--push", &reference, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let again: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(again["bytes_pushed"], made["size"]);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn gc_keeps_the_images_of_kept_releases_only() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let test = released_app(&base);
    let app = test.path();
    let image = |release: &str| {
        let (code, stdout, stderr) = dozen_in(
            app,
            &[
                "image",
                "--release",
                release,
                "--out",
                &work.path().join(release).display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let first = image("v1");
    // Two more releases: `gc --keep 1` keeps v3 and v2 (the rollback target), not v1.
    for text in ["changed\n", "changed again\n"] {
        std::fs::write(app.join("public/index.html"), text).unwrap();
        commit(app);
        let (code, _, stderr) = dozen_in(app, &["release"]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let second = image("v3");
    let blob = |value: &Value| {
        let digest = value["layers"].as_array().unwrap().last().unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_owned();
        app.join(".dozen/images/blobs/sha256").join(&digest[7..])
    };
    assert!(blob(&first).exists() && blob(&second).exists());
    let (code, _, stderr) = dozen_in(app, &["gc", "--keep", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!blob(&first).exists(), "v1's app layer stays after gc");
    assert!(!app.join(".dozen/images/v1.json").exists());
    assert!(blob(&second).exists());
    // v3's image is whole: the base's layer kept, and its own layer still reused.
    let again = image("v3");
    assert_eq!(again["app_layer_reused"], true);
    assert_eq!(again["digest"], second["digest"]);
}

/// Issue 28: `[image]` is how a release is packaged, not part of it — adding it to an app that
/// already has a release keeps the build id, and `dozen image` of that release uses it.
#[test]
fn image_settings_added_later_keep_the_build_and_apply() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let test = Test::new()
        .procfile("web: httpd -f -p $PORT\n")
        .manifest("[app]\nname = \"shop\"\n# how it is built\n");
    let app = test.path();
    let (code, stdout, stderr) = dozen_in(app, &["build", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let first: Value = serde_json::from_str(&stdout).unwrap();
    let (code, _, stderr) = dozen_in(app, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    // No base anywhere yet: said.
    let out = work.path().join("image");
    let (code, _, stderr) = dozen_in(app, &["image", "--out", out.to_str().unwrap()]);
    assert_ne!(code, Some(0), "{stderr}");
    std::fs::write(
        app.join("dozen.toml"),
        format!(
            "[app]\nname = \"shop\"\n# how it is built\n\n[image]\nbase = \"docker-archive:{}\"\nworkdir = \"/srv/shop\"\n",
            base.display()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = dozen_in(app, &["build", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let second: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(first["id"], second["id"], "[image] changed the build id");
    let (code, stdout, stderr) = dozen_in(
        app,
        &[
            "image",
            "--release",
            "v1",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let made: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(made["layers"].as_array().unwrap().len(), 2, "{made}");
    let config = std::fs::read_dir(out.join("blobs/sha256"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|t| t.contains("\"WorkingDir\""))
        .expect("the image config");
    assert!(config.contains("\"WorkingDir\":\"/srv/shop\""), "{config}");
    // Another change to dozen.toml is a new build.
    std::fs::write(
        app.join("dozen.toml"),
        "[app]\nname = \"shop\"\n# how it is built, said better\n",
    )
    .unwrap();
    let (code, stdout, stderr) = dozen_in(app, &["build", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let third: Value = serde_json::from_str(&stdout).unwrap();
    assert_ne!(first["id"], third["id"]);
}

/// Issue 28: every process type's program must be in the image — on its PATH after what
/// `.profile.d` adds, or a path in the tree — as its interpreters must: a Node app on a base
/// without node is refused before anything is written.
#[test]
fn a_program_the_base_lacks_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let manifest = format!(
        "[app]\nname = \"shop\"\n[build]\nsteps = [\"mkdir -p tools .profile.d && printf '#!/bin/sh\\\\nexec httpd -f -p $PORT\\\\n' > tools/serve && chmod +x tools/serve && echo 'PATH=\\\"$PWD/tools:$PATH\\\"' > .profile.d/tools.sh\"]\n[image]\nbase = \"docker-archive:{}\"\n",
        base.display()
    );
    let test = Test::new()
        .procfile("web: serve\nworker: PORT=1 node worker.js\n")
        .manifest(&manifest);
    let app = test.path();
    let (code, _, stderr) = dozen_in(app, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let out = work.path().join("image");
    let (code, _, stderr) = dozen_in(app, &["image", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "not in the image: worker runs `node` (its PATH, .profile.d's additions included: /app/tools:/bin)"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("web runs"),
        "serve is on PATH from .profile.d: {stderr}"
    );
    assert!(!out.exists());
    // Without the worker, the image is made: `serve` resolves through `.profile.d`.
    std::fs::write(app.join("Procfile"), "web: serve\n").unwrap();
    let (code, _, stderr) = dozen_in(app, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = dozen_in(app, &["image", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// `--out` onto a layout adds the image to it under its release's name, as skopeo and umoci
/// add to a layout: the images already there stay, the base being read from it included;
/// `--archive` replaces an OCI archive and refuses any other file (issue 31, finding 9).
#[test]
fn an_image_is_added_to_a_layout_and_an_archive_never_replaces_another_file() {
    let work = tempfile::tempdir().unwrap();
    let Some(base) = busybox_base(work.path()) else {
        return;
    };
    let test = Test::new()
        .procfile("web: sleep 100\n")
        .manifest(&format!(
            "[image]\nbase = \"docker-archive:{}\"\n",
            base.display()
        ))
        .git_add_all();
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let layout = work.path().join("layout");
    let out = layout.to_str().unwrap();
    let (code, _, stderr) = dozen_in(test.path(), &["image", "--out", out]);
    assert_eq!(code, Some(0), "{stderr}");
    // v2, on the base image v1 of the same layout, written into it.
    std::fs::write(test.path().join("Procfile"), "web: sleep 200\n").unwrap();
    commit(test.path());
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let on_v1 = format!("oci:{out}:v1");
    let (code, _, stderr) = dozen_in(test.path(), &["image", "--base", &on_v1, "--out", out]);
    assert_eq!(code, Some(0), "{stderr}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["v1", "v2"]);
    // The base is still readable, and v2 again replaces only v2.
    let (code, _, stderr) = dozen_in(test.path(), &["image", "--base", &on_v1, "--out", out]);
    assert_eq!(code, Some(0), "{stderr}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);

    // An archive over a file that is not one: refused, the file as it was.
    let notes = work.path().join("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    let (code, _, stderr) = dozen_in(
        test.path(),
        &["image", "--archive", notes.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("exists and is not an OCI archive: not replacing it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
    // Over an OCI archive: replaced.
    let archive = work.path().join("image.tar");
    for _ in 0..2 {
        let (code, _, stderr) = dozen_in(
            test.path(),
            &["image", "--archive", archive.to_str().unwrap()],
        );
        assert_eq!(code, Some(0), "{stderr}");
    }
}
