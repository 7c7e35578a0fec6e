//! The app's feature flags in every export: flagd serving the same `flags.json` and
//! `OFREP_ENDPOINT` in the app's processes, validated as the other exports are; an app without
//! flags exports no flagd.

use serde_json::Value;

use crate::export::{kubernetes_validate, verify};
use crate::harness::{Test, dozen_in};

/// A definitions file as a user writes it (spacing, a non-ASCII string, a `$`): the exports
/// must carry its text exactly.
const FLAGS: &str = r#"{
  "flags": {
    "new-checkout": { "state": "ENABLED", "variants": { "on": true, "off": false }, "defaultVariant": "off" },
    "banner":       { "state": "ENABLED", "variants": { "fr": "Bienvenue à bord", "price": "$5" }, "defaultVariant": "fr" }
  }
}
"#;

fn app_with_flags() -> Test {
    Test::new()
        .file(
            "shop/Procfile",
            "web: exec python3 -m http.server $PORT\nworker: exec sleep 60\n",
        )
        .file(
            "shop/dozen.toml",
            "[schedule.tick]\ncron = \"*/5 * * * *\"\ncommand = \"echo tick\"\n",
        )
        .file("shop/flags.json", FLAGS)
}

fn export(app: &std::path::Path, args: &[&str]) -> (Vec<String>, String) {
    let (code, stdout, stderr) = dozen_in(app, args);
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    let names = stdout
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect();
    (names, stderr)
}

fn yaml(path: &std::path::Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn kubernetes_gets_a_config_map_and_a_flagd_sidecar_in_every_pod() {
    let test = app_with_flags();
    let app = test.path().join("shop");
    let out = app.join("k8s");
    let (names, _) = export(
        &app,
        &["export", "kubernetes", "--out", "k8s", "--image", "shop:1"],
    );
    assert!(
        names.contains(&"shop-flags.configmap.yaml".to_owned()),
        "{names:?}"
    );
    let config_map = yaml(&out.join("shop-flags.configmap.yaml"));
    assert_eq!(config_map["kind"], "ConfigMap");
    assert_eq!(config_map["metadata"]["name"], "shop-flags");
    assert_eq!(
        config_map["data"]["flags.json"], FLAGS,
        "the file's exact text"
    );
    let pods = [
        ("shop-web.deployment.yaml", "/spec/template/spec"),
        ("shop-worker.deployment.yaml", "/spec/template/spec"),
        (
            "shop-schedule-tick.cronjob.yaml",
            "/spec/jobTemplate/spec/template/spec",
        ),
    ];
    for (name, pointer) in pods {
        let object = yaml(&out.join(name));
        let pod = object.pointer(pointer).unwrap();
        let sidecar = &pod["initContainers"][0];
        assert_eq!(sidecar["name"], "flagd", "{name}");
        assert_eq!(
            sidecar["restartPolicy"], "Always",
            "a native sidecar: {name}"
        );
        assert!(
            sidecar["image"]
                .as_str()
                .unwrap()
                .starts_with("ghcr.io/open-feature/flagd:v"),
            "{name}"
        );
        let args: Vec<&str> = sidecar["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args[..3],
            ["start", "--uri", "file:/etc/flagd/flags.json"],
            "{name}"
        );
        assert_eq!(
            sidecar["startupProbe"]["httpGet"]["path"], "/readyz",
            "{name}"
        );
        assert_eq!(
            sidecar["volumeMounts"][0]["mountPath"], "/etc/flagd",
            "{name}"
        );
        assert_eq!(
            pod["volumes"][0]["configMap"]["name"], "shop-flags",
            "{name}"
        );
        let env = &pod["containers"][0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "OFREP_ENDPOINT" && e["value"] == "http://localhost:8016"),
            "{name}: {env}"
        );
    }
    let files: Vec<std::path::PathBuf> = names.iter().map(|n| out.join(n)).collect();
    kubernetes_validate(&files);
}

#[test]
fn systemd_gets_a_flagd_unit_the_app_units_want() {
    let test = app_with_flags();
    let app = test.path().join("shop");
    let out = app.join("units");
    let (names, _) = export(&app, &["export", "systemd", "--out", "units"]);
    for name in ["shop-flagd.service", "shop.flags.json"] {
        assert!(names.contains(&name.to_owned()), "{name} in {names:?}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("shop.flags.json")).unwrap(),
        FLAGS,
        "the file's exact text"
    );
    let flagd = std::fs::read_to_string(out.join("shop-flagd.service")).unwrap();
    let exec = flagd.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.starts_with(
            "ExecStart=/usr/local/bin/flagd start --uri file:/etc/systemd/system/shop.flags.json "
        ) && exec.contains("--ofrep-port 8016"),
        "{exec}"
    );
    for unit in [
        "shop-web@.service",
        "shop-worker@.service",
        "shop-schedule-tick.service",
    ] {
        let contents = std::fs::read_to_string(out.join(unit)).unwrap();
        assert!(
            contents.contains("\nEnvironment=OFREP_ENDPOINT=http://127.0.0.1:8016\n"),
            "{unit}:\n{contents}"
        );
        assert!(
            contents.contains("\nWants=shop-flagd.service\n"),
            "{unit}:\n{contents}"
        );
        assert!(
            contents.contains(" shop-flagd.service\nWants="),
            "after flagd: {unit}:\n{contents}"
        );
    }
    let target = std::fs::read_to_string(out.join("shop.target")).unwrap();
    assert!(target.contains(" shop-flagd.service\n"), "{target}");
    verify(
        &out,
        &[
            "shop.target",
            "shop-web@5000.service",
            "shop-worker@5100.service",
            "shop-schedule-tick.service",
            "shop-schedule-tick.timer",
        ],
    );
    // systemd-analyze verify wants ExecStart's binary on this machine: without flagd here,
    // the unit is verified as written but for its binary, a stub in its place.
    let binary = "/usr/local/bin/flagd";
    if std::path::Path::new(binary).exists() {
        verify(&out, &["shop-flagd.service"]);
    } else {
        let stubbed = app.join("stubbed");
        std::fs::create_dir_all(&stubbed).unwrap();
        let stub = stubbed.join("flagd");
        std::fs::write(&stub, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::write(
            stubbed.join("shop-flagd.service"),
            flagd.replace(binary, &stub.display().to_string()),
        )
        .unwrap();
        verify(&stubbed, &["shop-flagd.service"]);
    }
}

#[test]
fn compose_gets_a_flagd_service_the_app_services_depend_on() {
    let test = app_with_flags();
    let app = test.path().join("shop");
    let out = app.join("compose");
    export(
        &app,
        &["export", "compose", "--out", "compose", "--image", "shop:1"],
    );
    let compose = yaml(&out.join("compose.yaml"));
    crate::export::compose_valid(&compose);
    let flagd = &compose["services"]["flagd"];
    assert!(
        flagd["image"]
            .as_str()
            .unwrap()
            .starts_with("ghcr.io/open-feature/flagd:v"),
        "{flagd}"
    );
    assert_eq!(flagd["command"][0], "start");
    assert_eq!(flagd["command"][2], "file:/etc/flagd/flags.json");
    // The mount, from the compose file's directory, is a directory of the export holding a
    // copy of flags.json and nothing else (not the env file, not the app).
    let volume = flagd["volumes"][0].as_str().unwrap();
    let (host, inside) = volume.split_once(':').unwrap();
    assert_eq!(inside, "/etc/flagd:ro");
    let mounted = out.join(host);
    assert_eq!(
        std::fs::read_to_string(mounted.join("flags.json")).unwrap(),
        std::fs::read_to_string(app.join("flags.json")).unwrap()
    );
    let names: Vec<_> = std::fs::read_dir(&mounted)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["flags.json"]);
    assert!(
        std::fs::canonicalize(&mounted)
            .unwrap()
            .starts_with(std::fs::canonicalize(&out).unwrap())
    );
    for service in ["web", "worker"] {
        let s = &compose["services"][service];
        assert_eq!(
            s["environment"]["OFREP_ENDPOINT"], "http://flagd:8016",
            "{service}"
        );
        assert_eq!(
            s["depends_on"]["flagd"]["condition"], "service_started",
            "{service}"
        );
    }
}

#[test]
fn an_app_without_flags_exports_no_flagd() {
    let test = Test::new().file("shop/Procfile", "web: exec python3 -m http.server $PORT\n");
    let app = test.path().join("shop");
    for (engine, extra) in [
        ("systemd", &[][..]),
        ("kubernetes", &["--image", "shop:1"][..]),
        ("compose", &["--image", "shop:1"][..]),
    ] {
        let mut args = vec!["export", engine, "--out", engine];
        args.extend_from_slice(extra);
        let (names, _) = export(&app, &args);
        for name in names {
            let contents = std::fs::read_to_string(app.join(engine).join(&name)).unwrap();
            assert!(
                !contents.contains("flagd") && !contents.contains("OFREP_ENDPOINT"),
                "{engine} {name}:\n{contents}"
            );
        }
    }
}

#[test]
fn a_flags_header_is_said_not_exported_and_a_broken_file_is_refused() {
    let test = Test::new()
        .file("shop/Procfile", "web: exec python3 -m http.server $PORT\n")
        .file("shop/dozen.toml", "[flags]\nheader = \"X-Flags\"\n")
        .file("shop/flags.json", FLAGS);
    let app = test.path().join("shop");
    for engine in ["systemd", "kubernetes", "compose"] {
        let (_, stderr) = export(&app, &["export", engine, "--out", engine]);
        assert!(
            stderr.contains("[flags] header = \"X-Flags\"") && stderr.contains("not exported"),
            "{engine}: {stderr}"
        );
    }
    std::fs::write(
        app.join("flags.json"),
        "{\"flags\": {\"x\": {\"state\": \"ON\"}}}",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&app, &["export", "compose", "--out", "broken"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("flags.json"), "{stderr}");
    assert!(!app.join("broken").exists(), "nothing written");
    std::fs::remove_file(app.join("flags.json")).unwrap();
    std::fs::write(
        app.join("dozen.toml"),
        "[flags]\nfile = \"conf/flags.json\"\n",
    )
    .unwrap();
    let (code, _, stderr) = dozen_in(&app, &["export", "compose", "--out", "missing"]);
    assert_eq!(code, Some(2), "a file [flags] names must exist: {stderr}");
}
