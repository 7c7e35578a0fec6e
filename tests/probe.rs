//! `dozen audit --probe`: the app's types run in a copy, one at a time; what they do is
//! checked and located at their Procfile line, and nothing is left running.

use std::collections::BTreeSet;

use crate::harness::{Test, repo};

/// Processes whose command line contains `marker`.
fn running(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(marker) {
            found.push(text);
        }
    }
    found
}

#[test]
fn a_well_behaved_app_passes_every_probe() {
    let out = Test::new()
        .fixture("probe/good")
        .args(&["audit", "--strict", "--probe-only", "--json"])
        .run()
        .code(0);
    let report = out.json();
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    let probes = report["probe"].as_array().unwrap();
    let types: Vec<&str> = probes.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["web", "worker", "clock"]);
    for probe in probes {
        assert_eq!(probe["started"], true, "{probe}");
        assert!(probe["ready_ms"].as_u64().is_some(), "{probe}");
        assert!(probe["stop_ms"].as_u64().unwrap() < 5000, "{probe}");
        assert_eq!(probe["files"], serde_json::json!([]), "{probe}");
    }
    assert_eq!(probes[0]["bound"], serde_json::json!([probes[0]["port"]]));
    assert!(probes[2]["output_bytes"].as_u64().unwrap() > 0);
    for (i, factor) in report["factors"].as_array().unwrap().iter().enumerate() {
        let expected = if [5, 6, 7, 8, 10].contains(&i) {
            "pass"
        } else {
            "skip"
        };
        assert_eq!(factor["status"], expected, "{factor}");
    }
    assert!(running("41.5").is_empty(), "the worker outlived the audit");
}

#[test]
fn each_violation_is_caught_at_its_procfile_line_and_nothing_survives() {
    let test = Test::new().fixture("probe/bad");
    let dir = test.path().to_path_buf();
    let out = test
        .args(&[
            "audit",
            "--strict",
            "--probe-only",
            "--boot-timeout",
            "3s",
            "--grace",
            "2s",
            "--json",
        ])
        .run()
        .code(1);
    let report = out.json();
    let found: BTreeSet<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["path"], "Procfile");
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let planted: BTreeSet<(String, u64)> =
        std::fs::read_to_string(repo().join("fixtures/probe/bad/planted.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (rule, line) = l.split_once(' ').unwrap();
                (rule.to_owned(), line.trim().parse().unwrap())
            })
            .collect();
    assert_eq!(found, planted, "{report:#}");
    let message = |rule: &str| -> String {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(message("port-binding/probe-no-bind").contains("it listens on 17999"));
    assert!(message("disposability/probe-could-not-start").contains("connection refused"));
    // The app's own directory is untouched: the probe ran a copy.
    assert!(!dir.join("app.log").exists() && !dir.join("app.pid").exists());
    assert!(running("41.7").is_empty(), "the daemon outlived the audit");
    assert!(running("17999").is_empty(), "the web outlived the audit");
}

#[test]
fn with_config_strip_a_type_must_fail_fast_without_each_key() {
    let out = Test::new()
        .procfile(
            "lenient: exec sleep 41.9\nstrict: test -n \"$API_KEY\" || { echo \"API_KEY is required\" >&2; exit 1; }; exec sleep 41.9\nterse: test -n \"$API_KEY\" || exit 1; exec sleep 41.9\n",
        )
        .env_file(".env", "API_KEY=k-123\n")
        .args(&[
            "audit",
            "--strict",
            "--probe-only",
            "--probe-config-strip",
            "--boot-timeout",
            "2s",
            "--json",
        ])
        .run()
        .code(0);
    let report = out.json();
    let findings: Vec<(&str, u64, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
                f["evidence"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            ("config/probe-no-fail-fast", 1, "API_KEY"),
            ("config/probe-unnamed-key", 3, "API_KEY")
        ]
    );
    assert_eq!(report["factors"][2]["status"], "warn");
    assert!(running("41.9").is_empty());
    Test::new()
        .procfile("web: x\n")
        .args(&["audit", "--strict", "--probe-config-strip"])
        .run()
        .code(2)
        .stderr_has("work with --probe or --probe-only");
}

#[test]
fn probe_adds_to_the_static_audit() {
    let out = Test::new()
        .procfile("web: exec python3 -m http.server $PORT --bind 127.0.0.1\n")
        .file("app.py", "KEY = 'AKIAQ3EGV7XJ2MBZR4TN'\n")
        .args(&["audit", "--strict", "--probe"])
        .run()
        .code(1);
    out.stdout_has("Probe\n")
        .stdout_has("  web  ready in ")
        .stdout_has("error[config/aws-access-key]");
}

#[test]
fn release_probes_the_current_release_not_the_working_tree() {
    let test = Test::new().procfile(
        "web: test -n \"$DOZEN_RELEASE\" || exit 9; exec python3 -m http.server $PORT --bind 127.0.0.1\n",
    );
    let dir = test.path().to_path_buf();
    assert_eq!(crate::harness::dozen_in(&dir, &["release"]).0, Some(0));
    // The working tree moves on to a web that never binds.
    std::fs::write(dir.join("Procfile"), "web: exec sleep 41.3\n").unwrap();
    let released = probe_release(&dir);
    assert_eq!(released.0, Some(0), "{}{}", released.1, released.2);
    let report: serde_json::Value = serde_json::from_str(&released.1).unwrap();
    assert_eq!(report["probe"][0]["started"], true);
    let working = crate::harness::dozen_in(
        &dir,
        &[
            "audit",
            "--strict",
            "--probe-only",
            "--boot-timeout",
            "1s",
            "--json",
        ],
    );
    assert_eq!(working.0, Some(1), "{}", working.1);
    assert!(working.1.contains("port-binding/probe-no-bind"));
    let (code, _, stderr) = crate::harness::dozen_in(&dir, &["audit", "--strict", "--release"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("work with --probe or --probe-only"),
        "{stderr}"
    );
    assert!(running("41.3").is_empty());
}

#[test]
fn probe_only_reads_no_source_but_honours_procfile_suppressions() {
    let out = Test::new()
        .procfile(
            "# dozen: ignore[concurrency/probe-daemonized] a legacy forking server, being replaced\nold: sleep 41.1 &\n",
        )
        .file("app.py", "KEY = 'AKIAQ3EGV7XJ2MBZR4TN'\n")
        .args(&["audit", "--strict", "--probe-only", "--json"])
        .run()
        .code(0);
    let report = out.json();
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["suppressed"]["inline"], 1);
    assert!(running("41.1").is_empty());
}

/// Issue 16: a type whose command does not exist cannot start: a warning naming the command,
/// not a note about missing services.
#[test]
fn a_missing_command_is_a_warning_naming_it() {
    let out = Test::new()
        .procfile("web: no-such-server-xyz --port $PORT\n")
        .args(&["audit", "--strict", "--probe-only", "--json"])
        .run();
    let report = out.json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "disposability/probe-could-not-start")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(finding["severity"], "warning");
    let message = finding["message"].as_str().unwrap();
    assert!(
        // 127 where every directory of PATH can be searched; 126 as an account that
        // cannot search one of them (the shell then says "Permission denied").
        message.contains("no-such-server-xyz")
            && (message.contains("exit 127") || message.contains("exit 126")),
        "{message}"
    );
}

/// Issue 16: the probe runs the app as `dozen run --dev` would, with the dependency
/// directories git ignores (`node_modules`) present.
#[test]
fn ignored_dependency_directories_are_there_for_the_probe() {
    let out = Test::new()
        .procfile(
            "web: . node_modules/env.sh && exec python3 -m http.server $PORT --bind 127.0.0.1\n",
        )
        .file(".gitignore", "node_modules/\n")
        .file("node_modules/env.sh", "GREETING=hello\n")
        .args(&["audit", "--strict", "--probe-only", "--json"])
        .run();
    let report = out.json();
    let web = &report["probe"][0];
    assert_eq!(web["started"], true, "{}", out.stdout);
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "disposability/probe-could-not-start"),
        "{}",
        out.stdout
    );
}

/// Issue 16: a release's build outputs are the app, whatever its `.gitignore` says: the probe
/// of a release copies its whole tree.
#[test]
fn a_release_probe_keeps_build_outputs_git_ignores() {
    let test = Test::new()
        .procfile("web: sh dist/run.sh\n")
        .file(".gitignore", "dist/\n")
        .manifest("[build]\nsteps = [\"mkdir -p dist && echo 'exec python3 -m http.server $PORT --bind 127.0.0.1' > dist/run.sh\"]\n");
    let dir = test.path().to_path_buf();
    let release = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(release.0, Some(0), "{}{}", release.1, release.2);
    let probed = probe_release(&dir);
    let report: serde_json::Value = serde_json::from_str(&probed.1).unwrap();
    assert_eq!(report["probe"][0]["started"], true, "{}", probed.1);
}

/// Issue 16: the probe lets a booting app settle before it stops it — a preforking server
/// binds in its master, then starts its workers — so the stop it measures is the app's.
#[test]
fn the_probe_lets_a_preforking_app_settle_before_stopping_it() {
    let out = Test::new()
        .procfile("web: python3 -m http.server $PORT --bind 127.0.0.1 & sleep 0.4; touch worker.up; wait\n")
        .args(&["audit", "--strict", "--probe-only", "--json"])
        .run();
    let report = out.json();
    let files = report["probe"][0]["files"].to_string();
    assert!(
        files.contains("worker.up"),
        "stopped before its worker started: {}",
        out.stdout
    );
}

/// `dozen audit --probe-only --release` on the app's current release, as JSON.
fn probe_release(dir: &std::path::Path) -> (Option<i32>, String, String) {
    crate::harness::dozen_in(
        dir,
        &[
            "audit",
            "--strict",
            "--probe-only",
            "--release",
            "--boot-timeout",
            "5s",
            "--json",
        ],
    )
}

/// Issue 28: the probe starts a release as `dozen run` does, `.profile.d` sourced first: a
/// program the build put on PATH that way starts.
#[test]
fn a_release_probe_sources_the_profile_d_scripts() {
    let test = Test::new()
        .procfile("web: serve-dozen-probe\n")
        .manifest("[build]\nsteps = [\"mkdir -p tools .profile.d && printf '#!/bin/sh\\\\nexec python3 -m http.server $PORT --bind 127.0.0.1\\\\n' > tools/serve-dozen-probe && chmod +x tools/serve-dozen-probe && echo 'PATH=\\\"$PWD/tools:$PATH\\\"' > .profile.d/tools.sh\"]\n");
    let dir = test.path().to_path_buf();
    let release = crate::harness::dozen_in(&dir, &["release"]);
    assert_eq!(release.0, Some(0), "{}{}", release.1, release.2);
    let probed = probe_release(&dir);
    let report: serde_json::Value = serde_json::from_str(&probed.1).unwrap();
    assert_eq!(report["probe"][0]["started"], true, "{}", probed.1);
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "disposability/probe-could-not-start"),
        "{}",
        probed.1
    );
}

/// Issue 28: Python's bytecode cache, which the interpreter writes beside what it imports,
/// is not state a process keeps in its directory; a file the app writes is, and is named.
#[test]
fn the_probe_names_what_an_app_writes_but_not_its_bytecode_cache() {
    let serve = "import os, socket, sys\nsys.path.insert(0, 'lib')\nimport m\nopen('state.db', 'w').write('x')\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('0.0.0.0', int(os.environ['PORT'])))\ns.listen()\nwhile True:\n    c, _ = s.accept()\n    c.recv(4096)\n    c.sendall(b'HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n')\n    c.close()\n";
    let out = Test::new()
        .procfile("web: exec python3 serve.py\n")
        .file("serve.py", serve)
        .file("lib/m.py", "VALUE = 1\n")
        .env("PYTHONDONTWRITEBYTECODE", "")
        .args(&["audit", "--probe-only", "--json"])
        .run();
    let report = out.json();
    assert_eq!(
        report["probe"][0]["files"],
        serde_json::json!(["state.db"]),
        "{report:#}"
    );
}
