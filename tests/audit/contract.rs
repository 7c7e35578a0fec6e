//! The audit's contract with CI: planted violations found and nothing else, every output
//! format's shape, exit codes, masking, suppressions, baselines, `rules` and `explain`.

use super::*;

#[test]
fn every_planted_violation_is_found_and_nothing_else() {
    for ecosystem in ECOSYSTEMS {
        let out = Test::new()
            .fixture(&format!("audit/{ecosystem}/bad"))
            .git_add_all()
            .args(&["audit", "--strict", "--json"])
            .run()
            .code(1);
        let found = located(&out.json());
        let expected = planted(ecosystem);
        let missed: Vec<_> = expected.difference(&found).collect();
        let extra: Vec<_> = found.difference(&expected).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{ecosystem}: missed {missed:?}, unexpected {extra:?}"
        );
    }
}

#[test]
fn clean_twins_have_no_warning_or_error() {
    for ecosystem in ECOSYSTEMS {
        let out = Test::new()
            .fixture(&format!("audit/{ecosystem}/clean"))
            .git_add_all()
            .args(&["audit", "--strict", "--json", "--fail-on", "warning"])
            .run();
        assert_eq!(out.code, Some(0), "{ecosystem}: {}", out.stdout);
        let report = out.json();
        assert_eq!(report["summary"]["error"], 0, "{ecosystem}");
        assert_eq!(report["summary"]["warning"], 0, "{ecosystem}");
    }
}

#[test]
fn the_json_report_has_the_designed_shape() {
    let out = Test::new()
        .fixture("audit/python/bad")
        .git_add_all()
        .args(&["audit", "--strict", "--format", "json"])
        .run()
        .code(1);
    let report = out.json();
    assert_eq!(report["schema"], 1);
    assert_eq!(report["app"], ".");
    let factors = report["factors"].as_array().unwrap();
    let ids: Vec<&str> = factors.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"
        ]
    );
    assert_eq!(factors[2]["name"], "Config");
    assert_eq!(factors[2]["status"], "fail");
    let findings = report["findings"].as_array().unwrap();
    for finding in findings {
        for field in ["rule", "factor", "severity", "path", "message", "evidence"] {
            assert!(finding[field].is_string(), "{field} in {finding}");
        }
        assert!(finding["line"].as_u64().unwrap() >= 1);
        assert!(finding["column"].as_u64().unwrap() >= 1);
    }
    for severity in ["error", "warning", "note"] {
        let counted = findings
            .iter()
            .filter(|f| f["severity"] == severity)
            .count();
        assert_eq!(report["summary"][severity], counted, "{severity}");
    }
    // Sorted by path, line, column, rule: the parallel walk never shows.
    let keys: Vec<(String, u64, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn the_text_report_is_a_scorecard_then_findings_by_factor() {
    let out = Test::new()
        .fixture("audit/go/bad")
        .git_add_all()
        .args(&["audit", "--strict"])
        .run()
        .code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let rows: Vec<&str> = lines[1..13].to_vec();
    for (row, factor) in rows.iter().zip(["I", "II", "III", "IV"]) {
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(words[1], factor, "{row}");
        assert!(
            ["pass", "warn", "fail", "skip"].contains(&words[0]),
            "{row}"
        );
    }
    assert!(rows[2].starts_with("  fail  III"), "{}", rows[2]);
    assert!(rows[9].starts_with("  skip  X"), "{}", rows[9]);
    out.stdout_has("\nIII Config\n")
        .stdout_has("  main.go:11:")
        .stdout_has("error[config/credentialed-url]")
        .stdout_lacks("Pa55w0rdG0");
}

/// An app with one finding of each severity.
fn one_of_each() -> Test {
    Test::new()
        .procfile("web: node server.js &\n")
        .file(
            "server.js",
            "app.listen(process.env.PORT);\nconst key = 'AKIAQ3EGV7XJ2MBZR4TN';\n",
        )
        .file("Dockerfile", "FROM node:20\nCMD node server.js\n")
}

#[test]
fn exit_codes_follow_fail_on_and_are_the_same_for_every_format() {
    for format in ["text", "json", "sarif", "junit", "github"] {
        for (fail_on, expected) in [("error", 1), ("warning", 1), ("note", 1), ("never", 0)] {
            one_of_each()
                .args(&[
                    "audit",
                    "--strict",
                    "--format",
                    format,
                    "--fail-on",
                    fail_on,
                ])
                .run()
                .code(expected);
        }
        // Only a warning (shell-form CMD) and a note (not a repository).
        let warning_only = || {
            Test::new()
                .procfile("web: node server.js\n")
                .file("server.js", "app.listen(process.env.PORT);\n")
                .file("Dockerfile", "FROM node:20\nCMD node server.js\n")
        };
        warning_only()
            .args(&["audit", "--strict", "--format", format])
            .run()
            .code(0);
        warning_only()
            .args(&[
                "audit",
                "--strict",
                "--format",
                format,
                "--fail-on",
                "warning",
            ])
            .run()
            .code(1);
    }
    one_of_each()
        .args(&["audit", "--strict", "--fail-on", "sometimes"])
        .run()
        .code(2);
    Test::new()
        .args(&["audit", "--strict", "no-such-dir"])
        .run()
        .code(2)
        .stderr_has("no-such-dir");
}

#[test]
fn secrets_are_masked_in_every_format() {
    const SECRETS: [&str; 3] = [
        "AKIAQ3EGV7XJ2MBZR4TN",
        "ghp_Zq8Xw2Vb7Nm4Lk1Jh6Gf3Ds9Ap0Oi5Uy2Tr8",
        "hunter2pass",
    ];
    let app = || {
        Test::new()
            .procfile("web: node server.js $PORT\n")
            .file(
                "config.py",
                format!(
                    "AWS = \"{}\"\nGH = '{}'\nDB = \"postgres://app:{}@db.internal/app\"\n",
                    SECRETS[0], SECRETS[1], SECRETS[2]
                ),
            )
            .file(".env", format!("BROKEN LINE {}\n", SECRETS[0]))
    };
    for format in ["text", "json", "sarif", "junit", "github"] {
        let out = app()
            .args(&["audit", "--strict", "--format", format])
            .run()
            .code(1);
        for secret in SECRETS {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{format} printed {secret}"
            );
            assert!(!out.stdout.contains(&secret[4..]), "{format}");
        }
    }
    let report = app().args(&["audit", "--strict", "--json"]).run().json();
    let evidence: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        // One finding per cause: the key in `.env` and `config.py` is one finding whose
        // locations name both.
        .filter(|f| {
            f["locations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["path"] == "config.py")
        })
        .map(|f| f["evidence"].as_str().unwrap())
        .collect();
    assert_eq!(evidence, ["AKIA…(20)", "ghp_…(40)", "hunt…(11)"]);
}

#[test]
fn sarif_validates_against_the_schema_with_repo_relative_uris() {
    let test = Test::new()
        .file("services/api/Procfile", "web: gunicorn --daemon app:app\n")
        .file("services/api/app.py", "KEY = 'AKIAQ3EGV7XJ2MBZR4TN'\n")
        .git_add_all();
    let out = test
        .args(&["audit", "--strict", "services/api", "--format", "sarif"])
        .run()
        .code(1);
    let sarif = out.json();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "dozen");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let mut uris = BTreeSet::new();
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(rules[index]["shortDescription"]["text"].is_string());
        assert!(rules[index]["help"]["text"].is_string());
        let location = &result["locations"][0]["physicalLocation"];
        uris.insert(
            location["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    assert!(uris.contains("services/api/app.py"), "{uris:?}");
    assert!(uris.contains("services/api/Procfile"), "{uris:?}");
    assert!(!out.stdout.contains("IOSFODNN") && !out.stdout.contains("Q3EGV7XJ2MBZR4TN"));
}

/// Compares output with a committed snapshot (`DOZEN_UPDATE_SNAPSHOTS=1` rewrites them).
fn snapshot(name: &str, actual: &str) {
    let path = repo().join("tests/snapshots").join(name);
    let actual = actual.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    if std::env::var_os("DOZEN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {name}: run with DOZEN_UPDATE_SNAPSHOTS=1"));
    assert!(
        expected == actual,
        "{name} changed; review and run with DOZEN_UPDATE_SNAPSHOTS=1\n--- expected ---\n{expected}\n--- actual ---\n{actual}"
    );
}

#[test]
fn json_and_sarif_snapshots() {
    for format in ["json", "sarif"] {
        let out = Test::new()
            .fixture("audit/node/bad")
            .git_add_all()
            .args(&["audit", "--strict", "--format", format])
            .run()
            .code(1);
        snapshot(&format!("audit-node-bad.{format}"), &out.stdout);
    }
}

#[test]
fn github_annotations_and_junit() {
    let out = one_of_each()
        .args(&["audit", "--strict", "--format", "github"])
        .run()
        .code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(&"::error file=server.js,line=2,col=14,title=config/aws-access-key::AWS access key id in source (AKIA…(20))"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::warning file=Dockerfile,line=2,col=5,title=disposability/shell-form-cmd::"
        )),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("::notice ")),
        "{lines:#?}"
    );
    let json = one_of_each()
        .args(&["audit", "--strict", "--json"])
        .run()
        .json();
    let findings = json["findings"].as_array().unwrap().len();
    assert_eq!(lines.len(), findings);
    let junit = one_of_each()
        .args(&["audit", "--strict", "--format", "junit"])
        .run()
        .code(1)
        .stdout;
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert_eq!(junit.matches("<failure ").count(), findings);
    let rules = Test::new().args(&["audit", "rules", "--json"]).run().json();
    assert_eq!(
        junit.matches("<testcase ").count(),
        rules.as_array().unwrap().len()
    );
    assert!(!junit.contains("Q3EGV7XJ2MBZR4TN"));
}

#[test]
fn inline_suppressions_need_a_rule_and_report_when_unused() {
    let out = Test::new()
        .procfile("web: node server.js $PORT\n")
        .file(
            "server.js",
            "const a = 'AKIAQ3EGV7XJ2MBZR4TN'; // dozen: ignore[config/aws-access-key] revoked in 2025, kept for the migration test\n\
             // dozen: ignore[config/aws-access-key] documented example key\n\
             const b = 'AKIAQ3EGV7XJ2MBZR4TO';\n\
             const c = 'AKIAQ3EGV7XJ2MBZR4TP'; // dozen: ignore[config/github-token] wrong rule\n\
             const d = 'AKIAQ3EGV7XJ2MBZR4TQ'; // dozen: ignore[config/aws-access-key]\n\
             // dozen: ignore[config/no-such-rule] typo\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1);
    let report = out.json();
    let got: Vec<(&str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "server.js")
        .map(|f| (f["rule"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("config/aws-access-key", 4),
            ("codebase/unused-suppression", 4),
            ("codebase/suppression-without-reason", 5),
            ("codebase/unused-suppression", 6),
        ]
    );
    assert_eq!(report["suppressed"]["inline"], 3);
    let unknown = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == 6)
        .unwrap();
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no rule config/no-such-rule"),
        "{unknown}"
    );
}

#[test]
fn manifest_ignores_rules_everywhere_or_under_a_path() {
    let out = Test::new()
        .procfile("web: node server.js $PORT\n")
        .manifest("[audit]\nignore = [\"config/aws-access-key:lib/**\", \"logs/*\"]\n")
        .file("server.js", "const a = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
        .file(
            "lib/vendor_client.js",
            "const a = 'AKIAQ3EGV7XJ2MBZR4TN';\n",
        )
        .file(
            "logger.js",
            "new winston.transports.File({ filename: 'x.log' });\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1);
    let report = out.json();
    assert_eq!(
        located(&report).into_iter().collect::<Vec<_>>(),
        [("config/aws-access-key".to_owned(), "server.js:1".to_owned())]
    );
    assert_eq!(report["suppressed"]["manifest"], 2);
    // An ignore naming no rule ignores nothing, and the audit says so.
    Test::new()
        .procfile("web: x $PORT\n")
        .manifest("[audit]\nignore = [\"config/aws-acces-key\"]\n")
        .args(&["audit", "--strict"])
        .run()
        .code(0)
        .stderr_has("dozen.toml:2:11: no audit rule `config/aws-acces-key`; did you mean `config/aws-access-key`?");
    Test::new()
        .procfile("web: x $PORT\n")
        .manifest("[audit]\nignore = [\"config/[\"]\n")
        .args(&["audit", "--strict"])
        .run()
        .code(2)
        .stderr_has("dozen.toml:2:");
}

#[test]
fn baselines_accept_findings_without_line_numbers_and_do_not_churn() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let baseline_arg = baseline.to_str().unwrap();
    let app = |server: &str| {
        Test::new()
            .procfile("web: node server.js $PORT\n")
            .file("server.js", server)
    };
    let original = "const a = 'AKIAQ3EGV7XJ2MBZR4TN';\napp.listen(3000);\n";
    app(original)
        .args(&["audit", "--strict", "--write-baseline", baseline_arg])
        .run()
        .code(0)
        .stderr_has("wrote 3 findings");
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(!written.contains("\"line\"") && !written.contains("Q3EGV7XJ2MBZR4TN"));
    let rewritten = {
        app(original)
            .args(&["audit", "--strict", "--write-baseline", baseline_arg])
            .run()
            .code(0);
        std::fs::read_to_string(&baseline).unwrap()
    };
    assert_eq!(
        written, rewritten,
        "the same findings write the same baseline"
    );
    // The findings moved down three lines: still accepted.
    let moved = format!("\n\n\n{original}");
    let out = app(&moved)
        .args(&["audit", "--strict", "--json", "--baseline", baseline_arg])
        .run()
        .code(0);
    let report = out.json();
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(report["suppressed"]["baseline"], 3);
    // A new secret is not in the baseline.
    let out = app(&format!("{moved}const b = 'AKIAQ3EGV7XJ2MBZR4TZ';\n"))
        .args(&["audit", "--strict", "--json", "--baseline", baseline_arg])
        .run()
        .code(1);
    assert_eq!(out.json()["findings"][0]["line"], 6);
    std::fs::write(
        &baseline,
        "{\n  \"schema\": 1,\n  \"findings\": [oops]\n}\n",
    )
    .unwrap();
    app(original)
        .args(&["audit", "--strict", "--baseline", baseline_arg])
        .run()
        .code(2)
        .stderr_has("baseline.json:3:");
}

#[test]
fn rules_and_explain() {
    let out = Test::new().args(&["audit", "rules"]).run().success();
    for id in [
        "config/aws-access-key",
        "dependencies/missing-lockfile",
        "concurrency/daemonizing-command",
        "admin-processes/work-at-start",
    ] {
        out.stdout.lines().find(|l| l.starts_with(id)).unwrap();
    }
    let rules = Test::new().args(&["audit", "rules", "--json"]).run().json();
    let factors: BTreeSet<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["factor"].as_str().unwrap())
        .collect();
    assert_eq!(factors.len(), 12, "every factor has rules");
    let aws = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "config/aws-access-key")
        .unwrap();
    assert_eq!(aws["patterns"].as_array().unwrap().len(), 1, "{aws}");
    let explained = Test::new()
        .args(&["audit", "explain", "logs/file-sink", "--json"])
        .run()
        .success()
        .json();
    assert_eq!(
        (explained["id"].as_str(), explained["factor"].as_str()),
        (Some("logs/file-sink"), Some("XI"))
    );
    Test::new()
        .args(&["audit", "explain", "config/tracked-env-file"])
        .run()
        .success()
        .stdout_has("Factor III — Config")
        .stdout_has("Fix: ");
    Test::new()
        .args(&["audit", "explain", "config/aws-acess-key"])
        .run()
        .code(2)
        .stderr_has("did you mean `config/aws-access-key`");
}

#[test]
fn env_files_are_findings_only_when_git_tracks_them() {
    let app = || {
        Test::new()
            .procfile("web: node server.js $PORT\n")
            .env_file(".env.production", "TOKEN=abc\n")
            .env_file(".env.example", "TOKEN=\n")
    };
    // Outside a repository nothing is committed: a note says the git rules did not run.
    let out = app().args(&["audit", "--strict", "--json"]).run().code(0);
    let rules: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rules, ["codebase/not-a-repository"]);
    // Committed, it is an error at its first value; an ignored one is fine.
    let out = app()
        .git_add_all()
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1);
    assert_eq!(
        located(&out.json()).into_iter().collect::<Vec<_>>(),
        [(
            "config/tracked-env-file".to_owned(),
            ".env.production:1".to_owned()
        )]
    );
    app()
        .file(".gitignore", ".env.production\n")
        .git_add_all()
        .args(&["audit", "--strict", "--fail-on", "note"])
        .run()
        .code(0);
    // Issue 16: a file git tracks is read even when an ignore rule names it (force-added).
    let forced = app().file(".gitignore", ".env.production\n").git_add_all();
    let status = std::process::Command::new("git")
        .args(["add", "-f", ".env.production"])
        .current_dir(forced.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", forced.path())
        .status()
        .unwrap();
    assert!(status.success());
    let out = forced.args(&["audit", "--strict", "--json"]).run().code(1);
    assert!(
        located(&out.json()).contains(&(
            "config/tracked-env-file".to_owned(),
            ".env.production:1".to_owned()
        )),
        "{}",
        out.stdout
    );
    // Settings only: a warning that names the key, not an error (in a deployed
    // environment's file; a development `.env` of settings is no finding, issue 27).
    let settings = Test::new()
        .procfile("web: node server.js $PORT\n")
        .env_file(".env.staging", "TIMES=10\nENERGY=20 GeV\n")
        .git_add_all()
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(0);
    let report = settings.json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "config/tracked-env-file")
        .unwrap();
    assert_eq!(finding["severity"], "warning");
    assert!(
        finding["message"].as_str().unwrap().contains("`TIMES`"),
        "{finding}"
    );
}

#[test]
fn an_invalid_procfile_is_a_finding_and_an_invalid_manifest_an_error() {
    let out = Test::new()
        .procfile("web: node server.js $PORT\nthis is not a process\n")
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1);
    let report = out.json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "concurrency/invalid-procfile")
        .unwrap();
    assert_eq!(
        (finding["path"].as_str(), finding["line"].as_u64()),
        (Some("Procfile"), Some(2))
    );
    Test::new()
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1)
        .stdout_has("no Procfile found");
    Test::new()
        .procfile("web: x $PORT\n")
        .manifest("[proceses.web]\n")
        .args(&["audit", "--strict"])
        .run()
        .code(2)
        .stderr_has("dozen.toml:1:");
}
