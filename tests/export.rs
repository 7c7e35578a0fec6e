//! `dozen export systemd`: the sample app as units, checked by systemd itself, deterministic,
//! from a release or the working tree.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::harness::{Test, dozen_in, repo};

/// `systemd-analyze verify` of the units (template instances named as the target wants them);
/// any complaint fails.
pub fn verify(out: &std::path::Path, units: &[&str]) {
    let Ok(output) = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(units.iter().map(|u| out.join(u)))
        .output()
    else {
        crate::harness::missing("systemd-analyze", "apt-get install systemd");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

/// Kubernetes' own schemas, strictly (unknown fields rejected).
/// Checks a Compose file (as a JSON value) against the Compose specification's schema.
#[track_caller]
pub fn compose_valid(compose: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/schemas/compose-spec.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(compose)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

pub fn kubernetes_validate(files: &[std::path::PathBuf]) {
    match Command::new("kubernetes-validate")
        .arg("--strict")
        .arg("--quiet")
        .args(files)
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "kubernetes-validate: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => crate::harness::missing(
            "kubernetes-validate",
            "python3 -m pip install kubernetes-validate==1.37.0",
        ),
    }
}

/// The file's text with the run's directories replaced by placeholders (for golden files).
fn normalized(text: &str, app: &std::path::Path, out: &std::path::Path) -> String {
    let app = std::fs::canonicalize(app).unwrap();
    let out = std::fs::canonicalize(out).unwrap();
    text.replace(&out.display().to_string(), "[OUT]")
        .replace(&app.display().to_string(), "[APP]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn the_sample_app_as_systemd_units() {
    let test = Test::new().fixture("sample");
    let app = test.path().to_path_buf();
    let out = app.join("units");
    let (code, stdout, stderr) = dozen_in(
        &app,
        &["export", "systemd", "--out", "units", "--user", "app"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let names: Vec<String> = stdout
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "sample-release.service",
            "sample-web@.service",
            "sample-worker@.service",
            "sample.env",
            "sample.target"
        ]
    );
    for name in &names {
        let mode = std::fs::metadata(out.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            mode,
            if name == "sample.env" { 0o600 } else { 0o644 },
            "{name}"
        );
    }
    golden("systemd", &app, &out, &names);
    let env = std::fs::read_to_string(out.join("sample.env")).unwrap();
    assert!(
        !env.lines().any(|l| l.starts_with("PORT=")),
        "PORT is per instance"
    );
    verify(
        &out,
        &[
            "sample.target",
            "sample-web@5000.service",
            "sample-web@5001.service",
            "sample-worker@5100.service",
            "sample-release.service",
        ],
    );
    // Same input, same bytes.
    let before: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(out.join(n)).unwrap())
        .collect();
    dozen_in(
        &app,
        &["export", "systemd", "--out", "units", "--user", "app"],
    );
    let after: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(out.join(n)).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn the_current_release_is_exported_with_its_config_snapshot() {
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT\nrelease: echo migrating\n")
        .env_file(".env", "GREETING='hello \"world\" $HOME'\nPORT=7000\n")
        .manifest("[app]\nname = \"shop\"\n\n[processes.web]\nrestart = \"always\"\nstop_signal = \"SIGINT\"\nkill_timeout = \"12s\"\n\n[formation]\nweb = 2\n");
    let app = test.path().to_path_buf();
    assert_eq!(dozen_in(&app, &["release"]).0, Some(0));
    // The working tree changes after the release: the export does not see it.
    std::fs::write(app.join("Procfile"), "web: exec other\n").unwrap();
    let (code, _, stderr) = dozen_in(&app, &["export", "systemd", "--out", "out"]);
    assert_eq!(code, Some(0), "{stderr}");
    let out = app.join("out");
    let app_name = "shop";
    let unit = std::fs::read_to_string(out.join(format!("{app_name}-web@.service"))).unwrap();
    assert!(unit.contains("from release v1 of the app"), "{unit}");
    assert!(unit.contains("http.server"), "{unit}");
    assert!(
        unit.contains("WorkingDirectory=") && unit.contains("/.dozen/"),
        "{unit}"
    );
    for line in [
        "Environment=DOZEN_RELEASE=v1",
        "Restart=always",
        "KillSignal=SIGINT",
        "TimeoutStopSec=12s",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
    }
    let target = std::fs::read_to_string(out.join(format!("{app_name}.target"))).unwrap();
    assert!(
        target.contains(&format!(
            "Wants={app_name}-web@7000.service {app_name}-web@7001.service"
        )),
        "{target}"
    );
    let env = std::fs::read_to_string(out.join(format!("{app_name}.env"))).unwrap();
    assert!(
        env.lines()
            .any(|l| l == r#"GREETING="hello \"world\" \$HOME""#),
        "{env}"
    );
    verify(
        &out,
        &[
            &format!("{app_name}.target"),
            &format!("{app_name}-web@7000.service"),
            &format!("{app_name}-release.service"),
        ],
    );
    // --env NAME exports the working tree with that environment's config instead.
    let (code, _, _) = dozen_in(
        &app,
        &["--env", "development", "export", "systemd", "--out", "wt"],
    );
    assert_eq!(code, Some(0));
    let unit = std::fs::read_to_string(app.join("wt/shop-web@.service")).unwrap();
    assert!(
        unit.contains("from the working tree (environment development)"),
        "{unit}"
    );
    assert!(unit.contains("exec other"), "{unit}");
    let (code, _, stderr) = dozen_in(
        &app,
        &["export", "systemd", "--out", "out", "--release", "v9"],
    );
    assert_eq!(code, Some(2), "{stderr}");
}

/// Checks generated files against tests/golden/DIR (`DOZEN_UPDATE_SNAPSHOTS=1` rewrites them).
fn golden(dir: &str, app: &std::path::Path, out: &std::path::Path, names: &[String]) {
    for name in names {
        let contents = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(contents.starts_with("# Generated by dozen "), "{name}");
        let golden = repo().join("tests/golden").join(dir).join(name);
        let actual = normalized(&contents, app, out);
        if std::env::var_os("DOZEN_UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &actual).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&golden).unwrap_or_default(),
            actual,
            "{name} differs from tests/golden/{dir} (DOZEN_UPDATE_SNAPSHOTS=1 rewrites it)"
        );
    }
}

fn written(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_sample_app_as_kubernetes_manifests() {
    let test = Test::new().fixture("sample");
    let app = test.path().to_path_buf();
    let out = app.join("k8s");
    let args = [
        "export",
        "kubernetes",
        "--out",
        "k8s",
        "--image",
        "registry.example.com/sample:1",
    ];
    let (code, stdout, stderr) = dozen_in(&app, &args);
    assert_eq!(code, Some(0), "{stderr}");
    let names = written(&stdout);
    assert_eq!(
        names,
        [
            "sample-config.secret.yaml",
            "sample-release.job.yaml",
            "sample-web.deployment.yaml",
            "sample-web.service.yaml",
            "sample-worker.deployment.yaml"
        ]
    );
    golden("kubernetes", &app, &out, &names);
    // Config only in the Secret (as stringData: the API server encodes it), never in the
    // other objects.
    let secret = std::fs::read_to_string(out.join("sample-config.secret.yaml")).unwrap();
    assert_eq!(
        std::fs::metadata(out.join("sample-config.secret.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let dotenv = std::fs::read_to_string(app.join(".env")).unwrap();
    for line in dotenv
        .lines()
        .filter(|l| l.contains('=') && !l.starts_with('#'))
    {
        let value = line.split_once('=').unwrap().1.trim_matches('"');
        if value.len() > 4 {
            for name in names.iter().filter(|n| !n.contains("secret")) {
                let manifest = std::fs::read_to_string(out.join(name)).unwrap();
                assert!(!manifest.contains(value), "{value} in {name}");
            }
            assert!(
                value.contains('$') || secret.contains(&format!(": \"{value}\"")),
                "the Secret's stringData holds {value}:\n{secret}"
            );
        }
    }
    let files: Vec<std::path::PathBuf> = names.iter().map(|n| out.join(n)).collect();
    kubernetes_validate(&files);
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    dozen_in(&app, &args);
    let after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(before, after, "same input, same bytes");
    // Without --image the manifests name APP:RELEASE, and dozen says so.
    let (code, _, stderr) = dozen_in(&app, &["export", "kubernetes", "--out", "k8s-default"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("no --image: the manifests run sample:latest"),
        "{stderr}"
    );
    let deployment =
        std::fs::read_to_string(app.join("k8s-default/sample-web.deployment.yaml")).unwrap();
    assert!(
        deployment.contains("image: \"sample:latest\""),
        "{deployment}"
    );
}

/// `autoscale` becomes an `autoscaling/v2` `HorizontalPodAutoscaler` on the type's Deployment
/// (which then leaves its replicas to it), valid by Kubernetes' own schemas.
#[test]
fn an_autoscaled_type_becomes_a_horizontal_pod_autoscaler() {
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n")
        .manifest(
            "[app]\nname = \"shop\"\n[deploy]\nstrategy = \"canary\"\n[processes.web]\nautoscale = { min = 2, max = 9, target = 2.5, metric = \"rps\", scale_down_window = \"2m\" }\n[processes.worker]\nautoscale = { min = 1, max = 3, target = 10, metric = \"command\", command = \"redis-cli llen jobs\" }\n",
        );
    let app = test.path().to_path_buf();
    let (code, stdout, stderr) = dozen_in(&app, &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("strategy = \"canary\" is dozen's own and is not exported; in kubernetes use Argo Rollouts or Flagger"),
        "{stderr}"
    );
    let names = written(&stdout);
    assert!(names.contains(&"shop-web.hpa.yaml".to_owned()), "{names:?}");
    assert!(
        names.contains(&"shop-worker.hpa.yaml".to_owned()),
        "{names:?}"
    );
    let out = app.join("k8s");
    let read = |name: &str| -> serde_norway::Value {
        serde_norway::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let hpa = read("shop-web.hpa.yaml");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "shop-web");
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 9);
    let metric = &hpa["spec"]["metrics"][0]["pods"];
    assert_eq!(metric["metric"]["name"], "http_requests_per_second");
    assert_eq!(metric["target"]["averageValue"], "2500m");
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        120
    );
    let web = read("shop-web.deployment.yaml");
    assert!(web["spec"].get("replicas").is_none(), "{web:?}");
    // A queue's length is an External metric, per pod as dozen divides it.
    let worker = read("shop-worker.hpa.yaml");
    let external = &worker["spec"]["metrics"][0];
    assert_eq!(external["type"], "External");
    assert_eq!(
        external["external"]["metric"]["name"],
        "shop_worker_autoscale"
    );
    assert_eq!(external["external"]["target"]["averageValue"], "10");
    assert!(
        worker["metadata"]["annotations"]["dozen.dev/metric-source"]
            .as_str()
            .unwrap()
            .contains("redis-cli llen jobs")
    );
    let files: Vec<std::path::PathBuf> = names.iter().map(|n| out.join(n)).collect();
    kubernetes_validate(&files);
}

#[test]
fn the_sample_app_as_a_compose_file() {
    let test = Test::new().fixture("sample");
    let app = test.path().to_path_buf();
    let out = app.join("compose");
    let (code, stdout, stderr) = dozen_in(
        &app,
        &[
            "export", "compose", "--out", "compose", "--image", "sample:1",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let names = written(&stdout);
    assert_eq!(names, ["compose.yaml", "sample.env"]);
    golden("compose", &app, &out, &names);
    let yaml = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    let compose: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    crate::export::compose_valid(&compose);
    assert_eq!(compose["services"]["web"]["deploy"]["replicas"], 2);
    assert_eq!(
        compose["services"]["web"]["depends_on"]["release"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(compose["services"]["worker"]["stop_signal"], "SIGTERM");
    for target in ["compose", "kubernetes"] {
        let (code, _, stderr) = dozen_in(&app, &["export", target, "--out", "x", "--image", " "]);
        assert_eq!(code, Some(2), "{target}: {stderr}");
        assert!(stderr.contains("--image cannot be empty"), "{stderr}");
        assert!(
            !app.join("x").exists(),
            "nothing written for a bad argument"
        );
    }
}

/// Issue 15: a release's export is named by the app (its directory here), never by the build
/// id its tree lives under, so the next release's objects replace these in place.
#[test]
fn a_release_is_exported_under_the_apps_name_never_its_build_id() {
    let test = Test::new().file(
        "shop/Procfile",
        "web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n",
    );
    let app = test.path().join("shop");
    assert_eq!(dozen_in(&app, &["release"]).0, Some(0));
    let (_, releases, _) = dozen_in(&app, &["releases", "--json"]);
    let build = serde_json::from_str::<serde_json::Value>(&releases).unwrap()[0]["build"]
        .as_str()
        .unwrap()
        .to_owned();
    for engine in ["systemd", "kubernetes", "compose"] {
        let out = format!("out-{engine}");
        let (code, stdout, stderr) = dozen_in(&app, &["export", engine, "--out", &out]);
        assert_eq!(code, Some(0), "{stderr}");
        for name in written(&stdout) {
            assert!(name.starts_with("shop") || name == "compose.yaml", "{name}");
            let contents = std::fs::read_to_string(app.join(&out).join(&name)).unwrap();
            // The units run in the release's build tree, whose path holds the id; nothing
            // is named by it.
            let named = contents
                .lines()
                .filter(|l| !l.starts_with("WorkingDirectory="))
                .any(|l| l.contains(&build[..12]));
            assert!(!named, "{engine} {name} names the build:\n{contents}");
        }
    }
    let compose = std::fs::read_to_string(app.join("out-compose/compose.yaml")).unwrap();
    assert!(compose.contains("\nname: \"shop\"\n"), "{compose}");
}

/// Issue 15: following the printed install line gives units whose env file is where they
/// look for it, `Restart=on-failure` for a type whose app says nothing, and systemd's own
/// verify on the installed copy.
#[test]
fn systemd_units_installed_as_printed_find_their_env_file_and_restart() {
    let test = Test::new()
        .file(
            "shop/Procfile",
            "web: exec python3 -m http.server $PORT\nclock: exec sleep 60\n",
        )
        .file("shop/.env", "TOKEN=abc\n")
        .file("shop/dozen.toml", "[processes.clock]\nrestart = \"no\"\n");
    let app = test.path().join("shop");
    let installed = test.path().join("etc-systemd");
    std::fs::create_dir(&installed).unwrap();
    let install_dir = installed.to_str().unwrap();
    let (code, _, stderr) = dozen_in(
        &app,
        &[
            "export",
            "systemd",
            "--out",
            "units",
            "--install-dir",
            install_dir,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    // The printed line, as an administrator would run it (without sudo).
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("install: sudo "))
        .unwrap_or_else(|| panic!("no install line in {stderr}"));
    let copy = line.split(" && ").next().unwrap();
    assert!(copy.starts_with("cp "), "{line}");
    let status = Command::new("sh").arg("-c").arg(copy).status().unwrap();
    assert!(status.success(), "{copy}");
    let web = std::fs::read_to_string(installed.join("shop-web@.service")).unwrap();
    let env_file = web
        .lines()
        .find_map(|l| l.strip_prefix("EnvironmentFile="))
        .unwrap();
    assert_eq!(std::path::Path::new(env_file), installed.join("shop.env"));
    let mode = std::fs::metadata(env_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the installed env file keeps its mode");
    assert!(web.lines().any(|l| l == "Restart=on-failure"), "{web}");
    let clock = std::fs::read_to_string(installed.join("shop-clock@.service")).unwrap();
    assert!(
        clock.lines().any(|l| l == "Restart=no"),
        "the app's own policy wins"
    );
    verify(
        &installed,
        &[
            "shop.target",
            "shop-web@5000.service",
            "shop-clock@5100.service",
        ],
    );
    let (code, _, stderr) = dozen_in(
        &app,
        &[
            "export",
            "systemd",
            "--out",
            "units",
            "--install-dir",
            "etc",
        ],
    );
    assert_eq!(code, Some(2), "a relative --install-dir: {stderr}");
}

/// Issue 15: `web` is reachable from the host after `docker compose up`: published on host
/// ports by dozen's port rule (or from --host-port), one per replica.
#[test]
fn compose_publishes_web_on_the_host() {
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n")
        .manifest("[formation]\nweb = 3\n")
        .env_file(".env", "PORT=7000\n");
    let app = test.path();
    let compose = |extra: &[&str]| {
        let mut args = vec!["export", "compose", "--out", "c"];
        args.extend_from_slice(extra);
        let (code, _, stderr) = dozen_in(app, &args);
        assert_eq!(code, Some(0), "{stderr}");
        let yaml = std::fs::read_to_string(app.join("c/compose.yaml")).unwrap();
        serde_norway::from_str::<serde_json::Value>(&yaml).unwrap()
    };
    let default = compose(&[]);
    assert_eq!(
        default["services"]["web"]["ports"],
        serde_json::json!(["7000-7002:7000"])
    );
    assert!(default["services"]["worker"].get("ports").is_none());
    let flagged = compose(&["--host-port", "8080"]);
    assert_eq!(
        flagged["services"]["web"]["ports"],
        serde_json::json!(["8080-8082:7000"])
    );
    let (code, _, stderr) = dozen_in(
        app,
        &["export", "compose", "--out", "c", "--host-port", "65534"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("65534 to 65536"), "{stderr}");
}

/// Issue 15: exporting again removes what the previous export of the app wrote and this one
/// does not (a type removed from the Procfile), says so, and never touches other files.
#[test]
fn a_re_export_removes_its_own_stale_files_and_nothing_else() {
    let test = Test::new().file("shop/Procfile", "web: exec web\nworker: exec worker\n");
    let app = test.path().join("shop");
    let out = app.join("units");
    let export = || dozen_in(&app, &["export", "systemd", "--out", "units"]);
    assert_eq!(export().0, Some(0));
    assert!(out.join("shop-worker@.service").exists());
    std::fs::write(out.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(
        out.join("other-web@.service"),
        "# Generated by dozen 0.1.0 from release v1 of the app other. Edit the app, not this file: run `dozen export` again.\n",
    )
    .unwrap();
    std::fs::write(app.join("Procfile"), "web: exec web\n").unwrap();
    let (code, stdout, stderr) = export();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !out.join("shop-worker@.service").exists(),
        "stale unit kept"
    );
    assert!(
        stderr.contains(&format!(
            "removed {} (the previous export wrote it; this one does not)",
            out.join("shop-worker@.service").display()
        )),
        "{stderr}"
    );
    assert!(!stdout.contains("worker"), "{stdout}");
    // What the target wants exists; what dozen did not write is still there.
    let target = std::fs::read_to_string(out.join("shop.target")).unwrap();
    assert!(!target.contains("worker"), "{target}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert!(out.join("other-web@.service").exists());
    // A manifest edited to list other files cannot make an export delete them.
    let manifest = out.join(".dozen-export.shop.systemd.json");
    let mut written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    written["files"] = serde_json::json!(["notes.txt", "../Procfile", "other-web@.service"]);
    std::fs::write(&manifest, written.to_string()).unwrap();
    let (code, _, stderr) = export();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("removed"), "{stderr}");
    assert!(out.join("notes.txt").exists() && app.join("Procfile").exists());
    assert!(out.join("other-web@.service").exists());
}

/// Issue 15: process types the engine's names would merge are refused, naming both.
#[test]
fn types_whose_engine_names_collide_are_refused() {
    let test = Test::new().procfile("web: exec a\nWEB: exec b\n");
    let app = test.path();
    for engine in ["kubernetes", "compose"] {
        let (code, _, stderr) = dozen_in(app, &["export", engine, "--out", engine]);
        assert_eq!(code, Some(2), "{engine}: {stderr}");
        assert!(
            stderr.contains("process types `web` and `WEB` would both be `web`"),
            "{stderr}"
        );
        assert!(!app.join(engine).exists(), "nothing written");
    }
    let (code, _, stderr) = dozen_in(app, &["export", "systemd", "--out", "units"]);
    assert_eq!(
        code,
        Some(0),
        "systemd unit names are case-sensitive: {stderr}"
    );
}

/// Issue 19: an app's drains are dozen's own; each engine's files say how its logs are shipped
/// instead (redacted), and Compose gets Docker's syslog driver for a plain syslog drain.
#[test]
fn exported_files_say_how_each_engine_ships_the_logs() {
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n")
        .manifest(
            "[app]\nname = \"shop\"\n[logs]\ndrains = [\"syslog+tls://logs.example.com:6514\", \"https://user:${LOG_TOKEN}@in.example.com/bulk/t0ken\"]\n",
        );
    let app = test.path().to_path_buf();
    let note = "Logs: [logs] drains (syslog+tls://logs.example.com:6514, https://***@in.example.com/***) are dozen's own; here ";
    let (code, _, stderr) = dozen_in(&app, &["export", "systemd", "--out", "units"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("[logs] drains are dozen's own and are not exported; in systemd logs go through journald forwarding"), "{stderr}");
    let unit = std::fs::read_to_string(app.join("units/shop-web@.service")).unwrap();
    assert!(
        unit.lines().nth(1).unwrap().starts_with(&format!(
            "# {note}each instance's output goes to the journal"
        )),
        "{unit}"
    );
    verify(
        &app.join("units"),
        &["shop-web@5000.service", "shop-worker@5100.service"],
    );

    let (code, stdout, stderr) = dozen_in(&app, &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let deployment = std::fs::read_to_string(app.join("k8s/shop-web.deployment.yaml")).unwrap();
    assert!(
        deployment.contains(&format!(
            "# {note}the kubelet keeps each container's output"
        )),
        "{deployment}"
    );
    assert!(!deployment.contains("t0ken"));
    let names = written(&stdout);
    kubernetes_validate(
        &names
            .iter()
            .map(|n| app.join("k8s").join(n))
            .collect::<Vec<_>>(),
    );

    let (code, _, stderr) = dozen_in(
        &app,
        &["export", "compose", "--out", "compose", "--image", "shop:1"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let yaml = std::fs::read_to_string(app.join("compose/compose.yaml")).unwrap();
    assert!(
        yaml.contains(&format!("# {note}a logging driver ships")),
        "{yaml}"
    );
    let compose: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    let logging = &compose["services"]["worker"]["logging"];
    assert_eq!(logging["driver"], "syslog");
    assert_eq!(
        logging["options"]["syslog-address"],
        "tcp+tls://logs.example.com:6514"
    );
    assert_eq!(logging["options"]["syslog-format"], "rfc5424micro");
    compose_valid(&compose);
}

/// Issue 28: every engine starts a command as `dozen run` does — the tree's `.profile.d/*.sh`
/// sourced, then the command `exec`'d — the release phase included.
#[test]
fn every_engine_sources_the_profile_d_scripts_first() {
    let test = Test::new()
        .procfile("web: serve-it --port $PORT\nrelease: echo migrated\n")
        .manifest("[app]\nname = \"shop\"\n\n[build]\nsteps = [\"mkdir -p .profile.d && echo 'PATH=\\\"$PWD/tools:$PATH\\\"' > .profile.d/tools.sh\"]\n");
    let app = test.path().to_path_buf();
    assert_eq!(dozen_in(&app, &["release"]).0, Some(0));
    let prelude = "for dozen_profile in ./.profile.d/*.sh; do";
    for (engine, files) in [
        ("systemd", vec!["shop-web@.service", "shop-release.service"]),
        ("compose", vec!["compose.yaml"]),
        (
            "kubernetes",
            vec!["shop-web.deployment.yaml", "shop-release.job.yaml"],
        ),
    ] {
        let out = app.join(format!("out-{engine}"));
        let (code, _, stderr) = dozen_in(&app, &["export", engine, "--out", out.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{stderr}");
        for file in files {
            let written = std::fs::read_to_string(out.join(file))
                .unwrap_or_else(|e| panic!("{engine} {file}: {e}"));
            assert!(written.contains(prelude), "{engine} {file}:\n{written}");
            assert!(
                written.contains("exec serve-it --port") || written.contains("exec echo migrated"),
                "{engine} {file}:\n{written}"
            );
        }
    }
    // Without `.profile.d` scripts the command is as before: `exec` and the command alone.
    let plain = Test::new().procfile("web: serve-it\n");
    let app = plain.path().to_path_buf();
    let (code, _, stderr) = dozen_in(&app, &["export", "systemd", "--out", "out"]);
    assert_eq!(code, Some(0), "{stderr}");
    let unit = std::fs::read_to_string(app.join("out").join(format!(
        "{}-web@.service",
        app.file_name().unwrap().to_string_lossy()
    )))
    .unwrap_or_default();
    assert!(!unit.contains("profile.d"), "{unit}");
}

/// A `User=` that cannot enter the tree the units run from (the store is 0700, its
/// maker's) would fail at the first start: the export says so and writes nothing.
#[test]
fn units_for_an_account_that_cannot_reach_the_tree_are_refused() {
    assert!(
        std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("daemon:")),
        "the test needs the `daemon` account every Debian has"
    );
    let test = Test::new().procfile("web: sleep 100\n");
    let (code, _, stderr) = dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = dozen_in(
        test.path(),
        &["export", "systemd", "--out", "units", "--user", "daemon"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("User=daemon cannot reach the tree the units run from"),
        "{stderr}"
    );
    assert!(stderr.contains("sudo -u daemon dozen release"), "{stderr}");
    assert!(!test.path().join("units").exists());
    // An account this machine does not have: the units are for another machine.
    let (code, _, stderr) = dozen_in(
        test.path(),
        &[
            "export",
            "systemd",
            "--out",
            "units",
            "--user",
            "no-such-account",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
}

/// `[processes.T] memory`, `cpu`, `open_files` in each engine's own words, accepted by each
/// engine's validator.
#[test]
fn limits_are_exported_to_every_engine() {
    let test = Test::new()
        .procfile("web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n")
        .manifest(
            "[app]\nname = \"shop\"\n[processes.web]\nmemory = \"512M\"\ncpu = 0.5\nopen_files = 4096\n[processes.worker]\nmemory = \"1536M\"\n",
        );
    let app = test.path().to_path_buf();
    let (code, _, stderr) = dozen_in(
        &app,
        &["export", "systemd", "--out", "units", "--user", "app"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let units = app.join("units");
    let web = std::fs::read_to_string(units.join("shop-web@.service")).unwrap();
    assert!(
        web.contains("\nMemoryMax=512M\nCPUQuota=50%\nLimitNOFILE=4096\n"),
        "{web}"
    );
    let worker = std::fs::read_to_string(units.join("shop-worker@.service")).unwrap();
    assert!(worker.contains("\nMemoryMax=1536M\n"), "{worker}");
    assert!(!worker.contains("CPUQuota") && !worker.contains("LimitNOFILE"));
    verify(
        &units,
        &["shop-web@5000.service", "shop-worker@5100.service"],
    );

    let (code, stdout, stderr) = dozen_in(&app, &["export", "kubernetes", "--out", "k8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let out = app.join("k8s");
    let container = |name: &str| -> serde_json::Value {
        let yaml = std::fs::read_to_string(out.join(name)).unwrap();
        let value: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        value["spec"]["template"]["spec"]["containers"][0].clone()
    };
    // Requests equal to limits: what dozen holds an instance to is what is reserved for it.
    let web = serde_json::json!({ "memory": "512Mi", "cpu": "500m" });
    assert_eq!(
        container("shop-web.deployment.yaml")["resources"],
        serde_json::json!({ "limits": web, "requests": web })
    );
    let worker = serde_json::json!({ "memory": "1536Mi" });
    assert_eq!(
        container("shop-worker.deployment.yaml")["resources"],
        serde_json::json!({ "limits": worker, "requests": worker })
    );
    let files: Vec<std::path::PathBuf> = written(&stdout).iter().map(|n| out.join(n)).collect();
    kubernetes_validate(&files);

    let (code, _, stderr) = dozen_in(
        &app,
        &["export", "compose", "--out", "compose", "--image", "shop:1"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let yaml = std::fs::read_to_string(app.join("compose/compose.yaml")).unwrap();
    let compose: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    crate::export::compose_valid(&compose);
    let web = &compose["services"]["web"];
    assert_eq!(
        web["deploy"]["resources"],
        serde_json::json!({ "limits": { "cpus": "0.5", "memory": "512M" } })
    );
    assert_eq!(
        web["ulimits"],
        serde_json::json!({ "nofile": { "soft": 4096, "hard": 4096 } })
    );
    assert_eq!(
        compose["services"]["worker"]["deploy"]["resources"]["limits"],
        serde_json::json!({ "memory": "1536M" })
    );
}
