//! `dozen audit`: the fixtures per ecosystem, every output format, the CI contract (exit codes,
//! suppressions, baselines), and masking.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Test, repo};

const ECOSYSTEMS: [&str; 6] = ["python", "node", "ruby", "go", "rust", "java"];

/// (rule, `path:line`) of the warnings and errors in a JSON report.
fn located(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "note")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                format!("{}:{}", f["path"].as_str().unwrap(), f["line"]),
            )
        })
        .collect()
}

/// The warnings and errors of `audit --strict` on a test app, located.
fn strict(test: Test) -> BTreeSet<(String, String)> {
    located(&test.args(&["audit", "--strict", "--json"]).run().json())
}

/// Where `audit --strict` reports `rule` on a test app (`path:line`, sorted).
fn places(test: Test, rule: &str) -> Vec<String> {
    of_rule(&strict(test), rule)
}

/// The places of `rule` among located findings (`path:line`, sorted).
fn of_rule(found: &BTreeSet<(String, String)>, rule: &str) -> Vec<String> {
    found
        .iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, at)| at.clone())
        .collect()
}

/// The role a `--model --json` report gives a file (a test fails when the file is missing).
fn role_in(model: &Value, path: &str) -> String {
    model["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .map_or_else(
            || panic!("{path} not in the model"),
            |f| f["role"].as_str().unwrap().to_owned(),
        )
}

/// The paths of the production config a `--model --json` report lists.
fn config_paths(model: &Value) -> Vec<&str> {
    model["production_config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect()
}

/// Where `audit --strict` reports `rule` on a test app, notes included (`path:line`, sorted).
fn noted(test: Test, rule: &str) -> Vec<String> {
    let report = test.args(&["audit", "--strict", "--json"]).run().json();
    let mut at: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    at.sort();
    at
}

/// The fixture's `planted.txt`: what the audit must find, written with the fixture.
fn planted(ecosystem: &str) -> BTreeSet<(String, String)> {
    let path = repo().join(format!("fixtures/audit/{ecosystem}/bad/planted.txt"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (rule, at) = l.split_once(' ').unwrap();
            (rule.to_owned(), at.trim().to_owned())
        })
        .collect()
}

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

#[test]
fn third_party_imports_need_a_manifest() {
    let rules_of = |test: Test| -> Vec<(String, String)> {
        let report = test
            .git_add_all()
            .args(&["audit", "--strict", "--json"])
            .run()
            .json();
        located(&report)
            .into_iter()
            .filter(|(rule, _)| rule == "dependencies/missing-manifest")
            .collect()
    };
    let app = || Test::new().procfile("web: python app.py $PORT\n");
    assert_eq!(
        rules_of(
            app()
                .file(
                    "app.py",
                    "import os, json\nfrom helpers import tidy\nimport flask\n"
                )
                .file("helpers.py", "def tidy(): pass\n")
        ),
        [(
            "dependencies/missing-manifest".to_owned(),
            "app.py:3".to_owned()
        )]
    );
    // Only the standard library and the app's own modules: nothing to declare.
    assert!(
        rules_of(
            app()
                .file(
                    "app.py",
                    "import os\nfrom http.server import HTTPServer\nfrom lib.util import x\n"
                )
                .file("lib/util.py", "x = 1\n")
        )
        .is_empty()
    );
    assert!(
        rules_of(
            app()
                .file("app.py", "import flask\n")
                .file("requirements/base.txt", "flask==3.0.3\n")
                .file("requirements.txt", "-r requirements/base.txt\n")
        )
        .is_empty()
    );
    assert_eq!(
        rules_of(
            app().file(
                "server.js",
                "const fs = require('fs');\nconst x = require('./x');\nimport path from 'node:path';\nimport express from \"express\";\n"
            )
        ),
        [(
            "dependencies/missing-manifest".to_owned(),
            "server.js:4".to_owned()
        )]
    );
    assert_eq!(
        rules_of(app().file(
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\tpq \"github.com/lib/pq\"\n)\n"
        )),
        [(
            "dependencies/missing-manifest".to_owned(),
            "main.go:5".to_owned()
        )]
    );
    assert!(
        rules_of(app().file("main.go", "package main\n\nimport \"fmt\"\n")).is_empty(),
        "the standard library needs no go.mod"
    );
}

#[test]
fn database_and_pid_files_in_the_app_directory_unless_ignored() {
    let app = || {
        Test::new()
            .procfile("web: python -m http.server $PORT\n")
            .file("db.sqlite3", "SQLite format 3")
            .file("tmp/pids/web.pid", "42\n")
            .file("tests/fixtures/sample.db", "x")
    };
    let found = located(
        &app()
            .git_add_all()
            .args(&["audit", "--strict", "--json"])
            .run()
            .json(),
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [
            (
                "processes/local-state-file".to_owned(),
                "db.sqlite3:1".to_owned()
            ),
            (
                "processes/local-state-file".to_owned(),
                "tmp/pids/web.pid:1".to_owned()
            ),
        ]
    );
    let ignored = app()
        .file(".gitignore", "*.sqlite3\n/tmp/\n")
        .git_add_all()
        .args(&["audit", "--strict", "--json"])
        .run()
        .json();
    assert!(located(&ignored).is_empty(), "{ignored}");
}

#[test]
fn files_over_max_file_size_are_not_read() {
    let app = || {
        Test::new().procfile("web: node server.js $PORT\n").file(
            "big.js",
            format!(
                "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n{}",
                "// padding\n".repeat(200)
            ),
        )
    };
    let found = |args: &[&str]| -> Vec<String> {
        let report = app().args(args).run().json();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(found(&["audit", "--strict", "--json"]).contains(&"config/aws-access-key".to_owned()));
    assert!(
        !found(&["audit", "--strict", "--json", "--max-file-size", "1K"])
            .contains(&"config/aws-access-key".to_owned())
    );
    app()
        .args(&["audit", "--strict", "--max-file-size", "1Q"])
        .run()
        .code(2)
        .stderr_has("is not a size");
}

/// Issue 16: servers that bind `$PORT` themselves, and server config that reads it, are not
/// "web ignores PORT"; a fixed port still is.
#[test]
fn servers_and_server_config_that_read_port_are_not_findings() {
    let ignores_port = |test: Test| {
        let out = test.args(&["audit", "--strict", "--json"]).run();
        out.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "port-binding/web-ignores-port")
    };
    let python = || Test::new().file("app.py", "app = Flask(__name__)\n");
    assert!(!ignores_port(python().procfile("web: gunicorn app:app\n")));
    assert!(!ignores_port(
        python().procfile("web: uwsgi uwsgi.ini\n").file(
            "uwsgi.ini",
            "[uwsgi]\nhttp-socket = :$(PORT)\nmodule = app:app\n"
        )
    ));
    assert!(ignores_port(
        python().procfile("web: gunicorn -b 0.0.0.0:8000 app:app\n")
    ));
    assert!(ignores_port(python().procfile("web: uwsgi uwsgi.ini\n")));
}

/// Issue 16: Rails commits the development and test sections of `secrets.yml` on purpose;
/// only a literal in another section is a finding.
#[test]
fn rails_development_and_test_secrets_are_not_findings() {
    let rules = |secrets: &str| -> Vec<(String, String)> {
        let out = Test::new()
            .procfile("web: bundle exec puma -p $PORT\n")
            .file("config/secrets.yml", secrets)
            .args(&["audit", "--strict", "--json"])
            .run();
        located(&out.json()).into_iter().collect()
    };
    let dev_and_test = "development:\n  secret_key_base: 86bc88971370072b5c3fb0122870b37ce0750d2c883f0890165dc45a43bad83b\n\ntest:\n  secret_key_base: 189f8e836260fb93a522a78e6a157b34178bd09d65174da1e64a964f9c4010a7\n\nproduction:\n  secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>\n";
    assert!(
        !rules(dev_and_test)
            .iter()
            .any(|(rule, _)| rule.starts_with("config/")),
        "{:?}",
        rules(dev_and_test)
    );
    let production = "production:\n  secret_key_base: 86bc88971370072b5c3fb0122870b37ce0750d2c883f0890165dc45a43bad83b\n";
    assert!(
        rules(production).contains(&(
            "config/framework-password".to_owned(),
            "config/secrets.yml:2".to_owned()
        )),
        "{:?}",
        rules(production)
    );
}

/// Issue 16: migrations in a boot script or Docker entrypoint that a long-running process
/// starts with are work at start, reported at the script's line.
#[test]
fn migrations_in_boot_scripts_and_entrypoints_are_found() {
    let work_at_start = |test: Test| -> Vec<(String, String)> {
        let out = test.args(&["audit", "--strict", "--json"]).run();
        located(&out.json())
            .into_iter()
            .filter(|(rule, _)| rule == "admin-processes/work-at-start")
            .collect()
    };
    let boot = "#!/bin/sh\nset -e\n# rake db:migrate used to run here\nbundle exec rake db:migrate\nexec bundle exec puma -p $PORT\n";
    assert_eq!(
        work_at_start(
            Test::new()
                .procfile("web: bin/boot\n")
                .file("bin/boot", boot)
        ),
        [(
            "admin-processes/work-at-start".to_owned(),
            "bin/boot:4".to_owned()
        )]
    );
    let entrypoint = "#!/bin/sh\npython manage.py migrate --noinput\nexec \"$@\"\n";
    assert_eq!(
        work_at_start(
            Test::new()
                .procfile("web: gunicorn app:app\n")
                .file("Dockerfile", "FROM python:3.12\nCOPY docker-entrypoint.sh /app/\nENTRYPOINT [\"/app/docker-entrypoint.sh\"]\nCMD [\"gunicorn\", \"app:app\"]\n")
                .file("docker-entrypoint.sh", entrypoint)
        ),
        [("admin-processes/work-at-start".to_owned(), "docker-entrypoint.sh:2".to_owned())]
    );
    // The release phase is where migrations belong.
    assert!(
        work_at_start(
            Test::new()
                .procfile("web: gunicorn app:app\nrelease: bin/migrate\n")
                .file("bin/migrate", "python manage.py migrate\n")
        )
        .is_empty()
    );
}

/// Issue 16: `npm start` whose package.json script builds before serving builds at every start.
#[test]
fn npm_start_scripts_that_build_are_found() {
    let build_in_web = |package: &str| -> Vec<(String, String)> {
        let out = Test::new()
            .procfile("web: npm start\n")
            .file("package.json", package)
            .file("package-lock.json", "{}\n")
            .file("server.js", "app.listen(process.env.PORT)\n")
            .args(&["audit", "--strict", "--json"])
            .run();
        located(&out.json())
            .into_iter()
            .filter(|(rule, _)| rule == "build-release-run/build-in-web")
            .collect()
    };
    assert_eq!(
        build_in_web(
            "{\n  \"scripts\": {\n    \"start\": \"npm run build && node server.js\"\n  }\n}\n"
        ),
        [(
            "build-release-run/build-in-web".to_owned(),
            "package.json:3".to_owned()
        )]
    );
    assert_eq!(
        build_in_web(
            "{\n  \"scripts\": {\n    \"prestart\": \"tsc\",\n    \"start\": \"node dist/server.js\"\n  }\n}\n"
        ),
        [(
            "build-release-run/build-in-web".to_owned(),
            "package.json:3".to_owned()
        )]
    );
    assert!(build_in_web("{\n  \"scripts\": {\n    \"build\": \"tsc\",\n    \"start\": \"node dist/server.js\"\n  }\n}\n").is_empty());
}

/// Issue 16: requirements pulled in with `-r` from a `requirements/` directory are read too.
#[test]
fn requirements_behind_includes_are_checked() {
    let out = Test::new()
        .procfile("web: gunicorn app:app\n")
        .file("app.py", "import flask\n")
        .file(
            "requirements.txt",
            "-r requirements/base.txt\ngunicorn==23.0.0\n",
        )
        .file("requirements/base.txt", "flask==3.1.0\nrequests>=2\n")
        .args(&["audit", "--strict", "--json"])
        .run();
    let found: Vec<(String, String)> = located(&out.json())
        .into_iter()
        .filter(|(rule, _)| rule == "dependencies/unpinned-requirement")
        .collect();
    assert_eq!(
        found,
        [(
            "dependencies/unpinned-requirement".to_owned(),
            "requirements/base.txt:2".to_owned()
        )]
    );
}

/// Issue 16: detect-secrets' and gitleaks' inline allowlists are honoured for secret findings
/// (factor III) on their line, so a team can switch without rewriting its code; they say
/// nothing about other rules and are not reported when they match nothing.
#[test]
fn detect_secrets_and_gitleaks_allowlists_are_honoured() {
    let key = "AKIAQ3EGV7XJ2MBZR4TN";
    let code = format!(
        "a = '{key}'  # pragma: allowlist secret\n# pragma: allowlist nextline secret\nb = '{key}'\nc = '{key}'  // gitleaks:allow\nd = '{key}'\napp.run(port=5000)  # pragma: allowlist secret\nx = 1  # pragma: allowlist secret\n"
    );
    let out = Test::new()
        .procfile("web: python app.py\n")
        .file("app.py", code)
        .args(&["audit", "--strict", "--json"])
        .run();
    let found: Vec<(String, String)> = located(&out.json())
        .into_iter()
        .filter(|(_, location)| location.starts_with("app.py"))
        .collect();
    assert_eq!(
        found,
        [
            ("config/aws-access-key".to_owned(), "app.py:5".to_owned()),
            (
                "port-binding/hardcoded-port".to_owned(),
                "app.py:6".to_owned()
            ),
        ]
    );
}

/// Issue 27: example env files are documentation, not environments. A reference file that
/// lists every option beside a minimal `.env.example`, an overlay that holds fewer keys on
/// purpose, a test environment and a REUSE licence sidecar are not compared (they gave 75
/// false findings on apps never seen); the environments' own env files still are, one finding
/// per pair of environments with a location per key.
#[test]
fn example_env_files_are_not_environments_and_differences_are_one_cause() {
    let out = Test::new()
        .procfile("web: node server.js\n")
        .file("server.js", "app.listen(process.env.PORT)\n")
        .env_file(".env.example", "DATABASE_URL=\nREDIS_URL=\n")
        .env_file(
            ".env.production.example",
            "DATABASE_URL=\nSENTRY_DSN=\nA=\nB=\n",
        )
        .env_file(".env.test", "DATABASE_URL=x\n")
        .env_file(".env.unit-tests", "DATABASE_URL=x\nFAKE_MAILER=1\n")
        .env_file(".env.license", "SPDX-License-Identifier: MIT\n")
        .args(&["audit", "--strict", "--json"])
        .run();
    let parity: Vec<Value> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["factor"] == "X" || f["rule"] == "config/invalid-env-file")
        .cloned()
        .collect();
    assert!(parity.is_empty(), "{parity:?}");
    let out = Test::new()
        .procfile("web: node server.js\n")
        .file("server.js", "app.listen(process.env.PORT)\n")
        .env_file(".env", "DATABASE_URL=postgres://db/dev\n")
        .env_file(
            ".env.production",
            "DATABASE_URL=postgres://db/prod\nSENTRY_DSN=x\nSMTP_HOST=y\nSMTP_PORT=1\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    let report = out.json();
    let differ: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "dev-prod-parity/env-key-sets-differ")
        .collect();
    assert_eq!(differ.len(), 1, "{differ:?}");
    let locations: Vec<String> = differ[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{}:{}", l["path"].as_str().unwrap(), l["line"]))
        .collect();
    assert_eq!(
        locations,
        [
            ".env.production:2",
            ".env.production:3",
            ".env.production:4"
        ]
    );
}

/// Issue 16: a server that compiles the app as it starts (`go run`) is the run stage building.
#[test]
fn compiling_at_start_is_found() {
    let out = Test::new()
        .procfile("web: go run ./cmd/web\n")
        .file("go.mod", "module shop\n\ngo 1.22\n")
        .file(
            "cmd/web/main.go",
            "package main\nfunc main() { http.ListenAndServe(\":\"+os.Getenv(\"PORT\"), nil) }\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    assert!(
        located(&out.json()).contains(&(
            "build-release-run/build-in-web".to_owned(),
            "Procfile:1".to_owned()
        )),
        "{}",
        out.stdout
    );
}

/// Issue 16: alternative Procfiles (`Procfile.dev`, `Procfile.CF`) are run with `-f` by
/// dozen, foreman and `heroku local`: their types are read like the Procfile's, and the
/// findings point into them.
#[test]
fn alternative_procfiles_are_audited() {
    let out = Test::new()
        .procfile("web: bundle exec puma -p $PORT\n")
        .file(
            "Procfile.CF",
            "web: bundle exec rake db:migrate && bundle exec puma -p 3000\n",
        )
        .file(
            "Procfile.dev",
            "web: bundle exec puma -p $PORT\nworker: sidekiq -d\n",
        )
        .file("Procfile.broken", "web bundle exec puma\n")
        .file("docs/Procfile.example", "web: rails server -p 3000\n")
        .args(&["audit", "--strict", "--json"])
        .run();
    let found: Vec<(String, String)> = located(&out.json())
        .into_iter()
        .filter(|(_, at)| at.starts_with("Procfile") || at.starts_with("docs/"))
        .collect();
    assert_eq!(
        found,
        // Issue 27: `Procfile.dev` is development's (its `sidekiq -d` is not how production
        // runs), so it is not a deployment finding; `Procfile.CF` deploys.
        [
            ("admin-processes/work-at-start", "Procfile.CF:1"),
            ("concurrency/invalid-procfile", "Procfile.broken:1"),
            ("port-binding/web-ignores-port", "Procfile.CF:1"),
        ]
        .map(|(rule, at)| (rule.to_owned(), at.to_owned()))
    );
}

/// Issue 16, found on lobsters, miniflux and node-express-boilerplate: a committed log in a
/// test directory is a fixture, Rails' importmap declares the JavaScript imports, a server
/// whose code names `"PORT"` in an options table reads it, and an expired JWT opens nothing.
#[test]
fn fixtures_importmaps_port_tables_and_expired_tokens_are_not_findings() {
    let rules = |test: Test| -> Vec<(String, String)> {
        let out = test
            .git_add_all()
            .args(&["audit", "--strict", "--json"])
            .run();
        located(&out.json())
            .into_iter()
            .filter(|(rule, _)| rule != "concurrency/invalid-procfile")
            .collect()
    };
    let app = || {
        Test::new().procfile("web: ./server\n").file(
            "main.go",
            "package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"PORT\") }\n",
        )
    };
    assert_eq!(
        rules(
            app()
                .file("spec/fixtures/search.action.log", "GET /search 200\n")
                .file("log/production.log", "GET / 200\n")
        ),
        [(
            "logs/tracked-log-file".to_owned(),
            "log/production.log:1".to_owned()
        )]
    );
    assert_eq!(
        rules(
            app()
                .file("config/importmap.rb", "pin \"application\"\n")
                .file("app/javascript/user.js", "import \"application\"\n")
        ),
        []
    );
    let table = "package config\n\nvar defaults = map[string]string{\n\t\"PORT\": \"\",\n}\n";
    let server = Test::new()
        .procfile("web: miniflux.app\n")
        .file("go.mod", "module miniflux.app/v2\n")
        .file("go.sum", "");
    assert_eq!(rules(server.file("internal/config/options.go", table)), []);
    let doc = "/**\n * example:\n *   refreshToken: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZWJhYzUzNDk1NGI1NDEzOTgwNmMxMTIiLCJpYXQiOjE1ODkyOTg0ODQsImV4cCI6MTU4OTMwMDI4NH0.m1U63blB0MLej_WfB7yC2FTMnCziif9X8yzwDEfJXAg\n */\n";
    assert_eq!(rules(app().file("src/routes/auth.route.js", doc)), []);
}

/// Issue 16, found on linkding: a Django settings package's `base.py` holds development
/// defaults that `prod.py` assigns again; a literal nothing reassigns is still a finding.
#[test]
fn django_settings_reassigned_for_production_are_not_findings() {
    let key = "SECRET_KEY = \"kgq$h3@!!vbb6*nzfz(dbze=*)zsroqa8gvc0#1gx$3cd8z99^\"\n";
    let passwords = |test: Test| -> Vec<(String, String)> {
        let out = test
            .procfile("web: gunicorn app.wsgi\n")
            .file("requirements.txt", "django==5.0\n")
            .args(&["audit", "--strict", "--json"])
            .run();
        located(&out.json())
            .into_iter()
            .filter(|(rule, _)| rule == "config/framework-password")
            .collect()
    };
    assert_eq!(
        passwords(Test::new().file("app/settings/base.py", key)),
        [(
            "config/framework-password".to_owned(),
            "app/settings/base.py:1".to_owned()
        )]
    );
    assert_eq!(
        passwords(Test::new().file("app/settings/base.py", key).file(
            "app/settings/prod.py",
            "from .base import *\n\nSECRET_KEY = os.environ[\"SECRET_KEY\"]\n"
        )),
        []
    );
}

/// Issue 27: the deployment model, printed. Processes from a Dockerfile, Compose and a start
/// script (the start script only when nothing else declares the web process), backing
/// services, production config by convention, and each file's role with why.
#[test]
fn the_model_shows_processes_config_and_roles() {
    let test = Test::new()
        .file(
            "Dockerfile",
            "FROM python:3.12-slim AS build\nRUN pip wheel .\nFROM python:3.12-slim\nENTRYPOINT [\"/app/bin/entrypoint\"]\nCMD [\"gunicorn\", \"shop.wsgi\"]\n",
        )
        .file("bin/entrypoint", "#!/bin/sh\nexec \"$@\"\n")
        .file("bin/release-notes", "#!/bin/sh\ngit log\n")
        .file(
            "docker-compose.yml",
            "services:\n  web:\n    build: .\n  worker:\n    build: .\n    command: celery -A shop worker\n  db:\n    image: postgres:16\n",
        )
        .file("manage.py", "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"shop.settings\")\n")
        .file("shop/settings.py", "DEBUG = False\n")
        .file("shop/tests/test_views.py", "def test(): pass\n")
        .file("docs/deploy.md", "# Deploying\n")
        .file(".github/workflows/ci.yml", "on: push\n")
        .file("requirements.txt", "django==5.1\n");
    let out = test.args(&["audit", "--model", "--json"]).run().success();
    let model = out.json();
    let processes: Vec<(String, String, String)> = model["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["command"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        processes.contains(&(
            "container".into(),
            "/app/bin/entrypoint gunicorn shop.wsgi".into(),
            "production".into()
        )),
        "{processes:?}"
    );
    assert!(processes.contains(&(
        "worker".into(),
        "celery -A shop worker".into(),
        "production".into()
    )));
    assert_eq!(model["services"][0]["image"], "postgres:16");
    assert_eq!(model["production_config"][0]["path"], "shop/settings.py");
    let role = |path: &str| role_in(&model, path);
    for (path, expected) in [
        ("shop/settings.py", "production"),
        ("bin/entrypoint", "production"),
        ("bin/release-notes", "build"),
        ("shop/tests/test_views.py", "test"),
        ("docs/deploy.md", "example"),
        (".github/workflows/ci.yml", "build"),
        ("requirements.txt", "production"),
    ] {
        assert_eq!(role(path), expected, "{path}");
    }
    Test::new()
        .file(
            "Dockerfile",
            "FROM node:20\nCMD [\"node\", \"server.js\"]\n",
        )
        .args(&["audit", "--model"])
        .run()
        .success()
        .stdout_has("production  container        node server.js  Dockerfile:2 Dockerfile CMD")
        .stdout_has("files by role");
}

/// Issue 27: an app whose processes a Dockerfile, Compose, manifests or its framework's
/// convention declare has no "no Procfile" finding; an app that declares none has one, and a
/// Procfile with errors is one.
#[test]
fn no_procfile_is_a_finding_only_when_nothing_declares_the_processes() {
    let invalid = |test: Test| -> bool {
        test.args(&["audit", "--strict", "--json"]).run().json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "concurrency/invalid-procfile")
    };
    assert!(!invalid(
        Test::new()
            .file(
                "Dockerfile",
                "FROM node:20.11\nCMD [\"node\", \"server.js\"]\n"
            )
            .file("server.js", "app.listen(process.env.PORT)\n")
    ));
    assert!(!invalid(Test::new().file(
        "pom.xml",
        "<project><build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>\n"
    )));
    assert!(invalid(
        Test::new().file("server.js", "app.listen(process.env.PORT)\n")
    ));
    assert!(invalid(
        Test::new()
            .procfile("web node server.js\n")
            .file("server.js", "app.listen(process.env.PORT)\n")
    ));
}

/// Issue 27: findings are about the deployment. A provider token in a test, an example or
/// documentation is a stand-in; a port in `if __name__ == "__main__":` or a development
/// branch is the developer's; a command-prefix assignment is not a tool; a console script
/// of a declared package is declared. The same in production code is still found.
#[test]
fn tests_examples_and_development_branches_are_not_the_deployment() {
    let token = "ghp_Zq8Xw2Vb7Nm4Lk1Jh6Gf3Ds9Ap0Oi5Uy2Tr8";
    let out = Test::new()
        .procfile("web: gunicorn app:app\n")
        .file("requirements.txt", "flask==3.0.0\nBabel==2.14.0\n")
        .file("tests/test_api.py", format!("TOKEN = \"{token}\"\n"))
        .file("docs/api.md", format!("    curl -H 'Authorization: {token}'\n"))
        .file("examples/client.py", format!("TOKEN = \"{token}\"\n"))
        .file(
            "app.py",
            "import os, subprocess\nPORT = os.environ[\"PORT\"]\nsubprocess.run([\"pybabel\", \"compile\"])\n\nif __name__ == \"__main__\":\n    app.run(debug=True, port=4000)\n",
        )
        .file(
            "lib/tasks.rb",
            "def migrate\n  `RAILS_ENV=production bundle exec rake db:migrate`\nend\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    let report = out.json();
    let found = located(&report);
    assert!(
        !found.iter().any(|(rule, at)| rule == "config/github-token"
            || rule == "port-binding/hardcoded-port"
            || rule == "dependencies/undeclared-tool"
            || (rule != "config/committed-token"
                && (at.starts_with("tests/")
                    || at.starts_with("docs/")
                    || at.starts_with("examples/")))),
        "{found:?}"
    );
    let out = Test::new()
        .procfile("web: gunicorn app:app\n")
        .file(
            "app.py",
            format!("TOKEN = \"{token}\"\napp.run(port=4000)\n"),
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    let found = located(&out.json());
    assert!(found.contains(&("config/github-token".to_owned(), "app.py:1".to_owned())));
    assert!(found.contains(&(
        "port-binding/hardcoded-port".to_owned(),
        "app.py:2".to_owned()
    )));
}

/// Issue 27: one finding per cause. The same secret in three files is one finding with three
/// locations in JSON (`locations`), SARIF (`relatedLocations`) and text (`also`); `--fail-on`
/// counts it once; a baseline still lists each place (so a new place is new).
#[test]
fn one_finding_per_cause_with_every_location() {
    let app = || {
        Test::new()
            .procfile("web: node server.js $PORT\n")
            .file("a.js", "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
            .file("b.js", "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
            .file("c/d.js", "\nconst k = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
    };
    let report = app()
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1)
        .json();
    let keys: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "config/aws-access-key")
        .collect();
    assert_eq!(keys.len(), 1);
    assert_eq!(report["summary"]["error"], 1);
    let locations: Vec<String> = keys[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{}:{}", l["path"].as_str().unwrap(), l["line"]))
        .collect();
    assert_eq!(locations, ["a.js:1", "b.js:1", "c/d.js:2"]);
    let sarif = app()
        .args(&["audit", "--strict", "--format", "sarif"])
        .run()
        .json();
    let result = &sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "config/aws-access-key")
        .unwrap()
        .clone();
    assert_eq!(result["relatedLocations"].as_array().unwrap().len(), 2);
    app()
        .args(&["audit", "--strict"])
        .run()
        .code(1)
        .stdout_has("also b.js:1:")
        .stdout_has("also c/d.js:2:");
}

/// Issue 27: severity is earned. Without `--strict`, a finding has the severity its rule's
/// measured first-sight precision earns (what `dozen audit rules` lists), never more than the
/// rule's ceiling; `--strict` gives the ceiling.
#[test]
fn default_severity_follows_measured_precision_and_strict_gives_the_ceiling() {
    let rules = Test::new().args(&["audit", "rules", "--json"]).run().json();
    let rule = |id: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    let key = rule("config/aws-access-key");
    assert_eq!(key["ceiling"], "error");
    assert_eq!(key["measured"]["as"], "config/provider-token");
    let app = || {
        Test::new()
            .procfile("web: node server.js $PORT\n")
            .file("server.js", "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
    };
    let report = app().args(&["audit", "--json"]).run().json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "config/aws-access-key")
        .cloned();
    // The default is what the family's first-sight figure earned: off (no finding) below
    // 0.25 over ten causes, else the severity `audit rules` shows.
    match key["severity"].as_str() {
        Some("off") => assert!(finding.is_none(), "{finding:?}"),
        _ => assert_eq!(finding.expect("a finding")["severity"], key["severity"]),
    }
    let strict = app()
        .args(&["audit", "--strict", "--json"])
        .run()
        .code(1)
        .json();
    assert_eq!(strict["summary"]["error"], 1);
    Test::new()
        .args(&["audit", "explain", "config/aws-access-key"])
        .run()
        .success()
        .stdout_has("First-sight precision:")
        .stdout_has("measured as config/provider-token");
    // A rule named without its factor is found; the list has headers and marks family figures.
    Test::new()
        .args(&["audit", "explain", "file-sink"])
        .run()
        .code(2)
        .stderr_has("did you mean `logs/file-sink`?");
    let listed = Test::new().args(&["audit", "rules"]).run().success();
    assert!(listed.stdout.starts_with("RULE "), "{}", listed.stdout);
    listed.stdout_has("family ");
}

/// Issue 27, round 1's misses: what a production process runs is read as the deployment. A
/// start script the Dockerfile names that backgrounds the server, a secret whose environment
/// lookup falls back to a literal, migrations called from the app's own start and from
/// uWSGI's hooks, packages an image installs by name, a dictConfig file handler; and a
/// Compose file that mounts the source tree is development's, so its throwaway database
/// password is not a finding.
#[test]
fn what_production_runs_is_the_deployment() {
    let out = Test::new()
        .file(
            "Dockerfile",
            "FROM python:3.12-slim\nRUN pip install --no-cache-dir -r requirements.txt && pip install gunicorn\nCOPY . /app\nCMD [\"/app/scripts/start.sh\"]\n",
        )
        .file("requirements.txt", "flask==3.0.0\n")
        .file(
            "scripts/start.sh",
            "#!/bin/sh\nnohup gunicorn app:app --bind 0.0.0.0:$PORT &\nwhile true; do sleep 60; done\n",
        )
        .file("scripts/changelog.sh", "#!/bin/sh\nnohup git log &\n")
        .file(
            "app.py",
            "import os\nSECRET = os.environ.get(\"SECRET_KEY\", \"not-so-secret\")\ndef create_app():\n    command.upgrade(config, \"head\")\n",
        )
        .file("uwsgi.ini", "[uwsgi]\nhook-pre-app = exec:./manage.py migrate\n")
        .file(
            "logging.json",
            "{\"handlers\": {\"file\": {\"class\": \"logging.handlers.RotatingFileHandler\"}}}\n",
        )
        .file(
            "docker-compose.yml",
            "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n    environment:\n      SECRET_KEY: ${SECRET_KEY:-devsecret123}\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    let found = located(&out.json());
    for expected in [
        ("concurrency/daemonizing-command", "scripts/start.sh:2"),
        ("config/secret-fallback", "app.py:2"),
        ("admin-processes/work-at-start", "app.py:4"),
        ("admin-processes/work-at-start", "uwsgi.ini:2"),
        ("dependencies/unpinned-image-install", "Dockerfile:2"),
        ("logs/file-sink", "logging.json:1"),
    ] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|(_, at)| at.starts_with("scripts/changelog") || at.starts_with("docker-compose")),
        "{found:?}"
    );
}

/// Issue 27, round 2's false findings and misses, as classes: a Compose file of backing
/// services only is a developer's; the `.env` a production Compose file reads is production's
/// (its secrets are findings, a `.env.development` is not); a build stage's `ENV` never
/// reaches the image; a Dockerfile template is not a Dockerfile; `pip install --group NAME`
/// names a group; a build hook that migrates is found; a fallback that says it is a stand-in
/// is not a secret; a name that merely contains a credential word (`PasswordManager`) is not
/// a credential; a provider token in docs is its own finding, not the deployment's, when its
/// checksum proves it was issued — a generated-looking stand-in in a test is no finding.
#[test]
fn compose_env_files_stages_templates_and_build_hooks() {
    // Its last six characters are the base62 CRC32 of the thirty before them.
    let token = "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";
    let out = Test::new()
        .file(
            "docker-compose.yml",
            "services:\n  app:\n    image: shop/shop:1.4\n    env_file: .env\n",
        )
        .env_file(".env", "DB_PASSWORD=Tr0ub4dor3xyzQ\n")
        .env_file(".env.development", "DB_PASSWORD=Tr0ub4dor3xyzQ\n")
        .file(
            "deploy/docker-compose.dev.yml",
            "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-Hk2Lp9Qr4Tzz}\n",
        )
        .file(
            "Dockerfile",
            "FROM ruby:3.3 AS builder\nENV JWT_AUTH_SECRET=unused_yet_required\nRUN pip install --group main --group dev\nFROM ruby:3.3-slim\nCMD [\"bin/rails\", \"server\"]\n",
        )
        .file("docker/Dockerfile.j2", "FROM {{ base }}\n")
        .file(
            "package.json",
            "{\n  \"scripts\": {\n    \"start\": \"node server.js\",\n    \"heroku-postbuild\": \"yarn build && yarn sequelize db:migrate\"\n  }\n}\n",
        )
        .file(
            "server.js",
            "app.listen(process.env.PORT);\nconst token = process.env.API_TOKEN || 'example';\nconst brands = { GooglePasswordManager: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4' };\n",
        )
        .file("docs/api.md", format!("    Authorization: token {token}\n"))
        .file(
            "web/validate-token.spec.ts",
            "// randomly generated and not real\nexpect(valid('ghp_Zq8Xw2Vb7Nm4Lk1Jh6Gf3Ds9Ap0Oi5Uy2Tr8')).toBe(true);\n",
        )
        .git_add_all()
        .args(&["audit", "--strict", "--json"])
        .run();
    let found = located(&out.json());
    for expected in [
        ("config/tracked-env-file", ".env:1"),
        ("admin-processes/work-at-start", "package.json:4"),
        ("config/committed-token", "docs/api.md:1"),
    ] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {found:?}"
        );
    }
    for (rule, at) in &found {
        assert!(
            !(at.starts_with(".env.development")
                || at.starts_with("web/")
                || at.starts_with("deploy/")
                || at.starts_with("docker/")
                || rule == "config/dockerfile-secret"
                || rule == "dependencies/unpinned-image-install"
                || rule == "config/secret-fallback"
                || rule == "config/generic-secret"
                || rule == "config/github-token"),
            "{rule} at {at} in {found:?}"
        );
    }
    let model = Test::new()
        .file(
            "docker-compose.yml",
            "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n",
        )
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    assert_eq!(model["files"][0]["role"], "development", "{model:#}");
    // The app's own published image is a process of the app, not a backing service.
    let model = Test::new()
        .file(
            "docker-compose.yml",
            "services:\n  app:\n    image: shop/shop:1.4\n  db:\n    image: postgres:16\n",
        )
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    assert_eq!(model["processes"][0]["name"], "app", "{model:#}");
    assert_eq!(model["services"][0]["name"], "db", "{model:#}");
}

/// Issue 27, rounds 2 and 3: nginx's default log paths are the official image's stdout only
/// where the deployment runs that image; systemd units declare processes (and an
/// `ExecStartPre` that migrates runs at every start); a Dockerfile under `scripts/docker/`
/// still deploys; a translation catalog under `language/` is UI text.
#[test]
fn nginx_images_systemd_units_and_catalogs() {
    let conf = "server {\n  access_log /var/log/nginx/access.log;\n}\n";
    let with_image = Test::new()
        .file("nginx/site.conf", conf)
        .file(
            "docker-compose.yml",
            "services:\n  web:\n    image: shop/shop:1.2\n  proxy:\n    image: nginx:1.27\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    assert!(
        !located(&with_image.json())
            .iter()
            .any(|(rule, _)| rule == "logs/file-sink"),
        "{}",
        with_image.stdout
    );
    // The infrastructure Compose file beside the app (backing services only, which the model
    // calls development's) runs the same image with the same config.
    let beside = Test::new()
        .file("docker/nginx.conf", conf)
        .file(
            "docker/docker-compose-env.yml",
            "services:\n  db:\n    image: mysql:5.7\n  nginx:\n    image: nginx:1.22\n    volumes:\n      - ./nginx.conf:/etc/nginx/nginx.conf\n",
        )
        ;
    assert_eq!(places(beside, "logs/file-sink"), Vec::<String>::new());
    let on_a_vm = Test::new()
        .procfile("web: bin/server\n")
        .file("deploy/nginx/site", conf)
        .args(&["audit", "--strict", "--json"])
        .run();
    assert!(located(&on_a_vm.json()).contains(&(
        "logs/file-sink".to_owned(),
        "deploy/nginx/site:2".to_owned()
    )));
    // The units under `contrib/` of an app that declares no other deployment are how it runs
    // (an install guide copies them); beside a Dockerfile they are contributed samples.
    let unit = "[Service]\nExecStartPre=/opt/shop/manage.py migrate\nExecStart=/opt/shop/venv/bin/gunicorn shop.wsgi\n";
    assert_eq!(
        places(
            Test::new().file("contrib/shop.service", unit),
            "admin-processes/work-at-start"
        ),
        ["contrib/shop.service:2"]
    );
    let out = Test::new()
        .file("contrib/shop.service", unit)
        .file(
            "scripts/docker/Dockerfile",
            "FROM node:20.11\nENTRYPOINT [\"/app/scripts/docker/entrypoint.sh\"]\n",
        )
        .file(
            "scripts/docker/entrypoint.sh",
            "#!/bin/sh\nnohup node server.js &\nsleep infinity\n",
        )
        .file(
            "public/language/de/user.json",
            "{\"password_hint\": \"Passwort-Hinweis-9f8e7d6c\"}\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run();
    let found = located(&out.json());
    assert!(
        !found.iter().any(|(_, at)| at.starts_with("contrib/")),
        "{found:?}"
    );
    assert!(found.contains(&(
        "concurrency/daemonizing-command".to_owned(),
        "scripts/docker/entrypoint.sh:2".to_owned()
    )));
    assert!(
        !found.iter().any(|(_, at)| at.starts_with("public/")),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|(rule, _)| rule == "concurrency/invalid-procfile"),
        "{found:?}"
    );
}

/// Nothing is lost: a file or directory the user cannot read is named on stderr as not
/// checked (a secret in it would otherwise pass as clean), and the rest is audited.
#[test]
fn unreadable_files_are_said_not_checked() {
    use std::os::unix::fs::PermissionsExt as _;
    let test = Test::new()
        .procfile("web: node server.js $PORT\n")
        .file("server.js", "const k = 'AKIAQ3EGV7XJ2MBZR4TN';\n")
        .file("secret.js", "const k = 'AKIAQ3EGV7XJ2MBZR5TN';\n")
        .file("private/notes.txt", "x\n");
    crate::harness::give_to_app_user(test.path());
    std::fs::set_permissions(
        test.path().join("secret.js"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    std::fs::set_permissions(
        test.path().join("private"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let (code, stdout, stderr) =
        crate::harness::dozen_as_user(test.path(), &["audit", "--strict", "--format", "json", "."]);
    // Root reads everything: the check needs an account that cannot.
    if crate::harness::drops_privileges() || !rustix::process::geteuid().is_root() {
        assert!(stderr.contains("cannot read secret.js"), "{stderr}");
        assert!(stderr.contains("private"), "{stderr}");
        assert!(stderr.contains("the audit did not check it"), "{stderr}");
    }
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("server.js"), "{stdout}");
    for dir in ["secret.js", "private"] {
        std::fs::set_permissions(
            test.path().join(dir),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
}

/// A repository git refuses to read (another user's: "dubious ownership") is not "no
/// repository": the note says what git said. Needs two accounts, so it runs when the tests
/// run as root (as CI does), as the app user on root's repository.
#[test]
fn a_repository_git_refuses_is_said_so() {
    use std::os::unix::fs::PermissionsExt as _;
    if !crate::harness::drops_privileges() {
        return;
    }
    let test = Test::new().procfile("web: x $PORT\n").git_add_all();
    for entry in walk(test.path()) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let (_, stdout, stderr) =
        crate::harness::dozen_as_user(test.path(), &["audit", "--strict", "."]);
    assert!(
        stdout.contains("git would not read the repository")
            && stdout.contains("dubious ownership"),
        "{stdout}{stderr}"
    );
}

/// Every path under `dir`, itself included.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(walk(&entry.unwrap().path()));
        }
    }
    out
}

/// Round 5: migrations an app runs as it starts from where the earlier rounds did not look —
/// a framework's default (Spring Boot runs Liquibase and Flyway when they are on the
/// classpath), a migration library's call in code, and an entrypoint a Dockerfile copied to
/// another path.
#[test]
fn migrations_at_start_by_framework_default_library_call_and_copied_entrypoint() {
    let work_at_start = |test: Test| places(test, "admin-processes/work-at-start");
    let pom = |liquibase: &str| {
        format!(
            "<project>\n  <dependencies>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-web</artifactId>\n    </dependency>\n{liquibase}  </dependencies>\n  <build>\n    <plugins>\n      <plugin>\n        <artifactId>liquibase-maven-plugin</artifactId>\n        <dependencies>\n          <dependency>\n            <artifactId>liquibase-core</artifactId>\n          </dependency>\n        </dependencies>\n      </plugin>\n    </plugins>\n  </build>\n</project>\n"
        )
    };
    let dependency = "    <dependency>\n      <groupId>org.liquibase</groupId>\n      <artifactId>liquibase-core</artifactId>\n    </dependency>\n";
    let spring = |pom: String, prod: &str| {
        Test::new()
            .procfile("web: java -jar target/app.jar\n")
            .file("pom.xml", &pom)
            .file(
                "src/main/resources/application.yml",
                "server:\n  port: ${PORT:8080}\n",
            )
            .file("src/main/resources/application-prod.yml", prod)
            .file("src/main/java/app/App.java", "package app;\nclass App {}\n")
    };
    assert_eq!(
        work_at_start(spring(
            pom(dependency),
            "spring:\n  datasource:\n    url: ${DATABASE_URL}\n"
        )),
        ["pom.xml:9"]
    );
    // Turned off in production's profile: the migrations run elsewhere.
    assert!(
        work_at_start(spring(
            pom(dependency),
            "spring:\n  liquibase:\n    enabled: false\n"
        ))
        .is_empty()
    );
    // Only the Maven plugin's own dependency: migrations are a build-tool command.
    assert!(work_at_start(spring(pom(""), "spring: {}\n")).is_empty());

    let rust = |path: &str| {
        Test::new()
            .procfile("web: ./target/release/app\n")
            .file("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n")
            .file("Cargo.lock", "version = 3\n")
            .file(
                path,
                "pub fn pool() {\n    let mut conn = connect();\n    conn.run_pending_migrations(MIGRATIONS).unwrap();\n}\n",
            )
    };
    assert_eq!(work_at_start(rust("src/db.rs")), ["src/db.rs:3"]);
    // A migration command of the app's own is the admin process done right.
    assert!(work_at_start(rust("src/bin/migrate.rs")).is_empty());

    let entrypoint = "#!/bin/sh\nrun_as_www() { su www -c \"$*\"; }\ncase \"$MODE\" in\nweb)\n  run_as_www php artisan migrate --force\n  ;;\nesac\nexec \"$@\"\n";
    assert_eq!(
        work_at_start(
            Test::new()
                .file("Dockerfile", "FROM php:8.3\nCOPY docker/scripts/entrypoint.sh /usr/local/bin/entrypoint.sh\nENTRYPOINT [\"/usr/local/bin/entrypoint.sh\"]\nCMD [\"php\", \"artisan\", \"octane:start\"]\n")
                .file("docker/scripts/entrypoint.sh", entrypoint)
        ),
        ["docker/scripts/entrypoint.sh:5"]
    );
}

/// Round 5's model errors, as classes: Compose merge keys (`<<: *base`) carry a service's
/// image; a Compose file that says it is for development, or whose app runs the framework's
/// development settings, is development's; a Spring app's `package.json` dev server is not its
/// web process; the settings module a Dockerfile selects is production's config; build steps
/// are listed apart from processes.
#[test]
fn the_model_reads_merge_keys_development_compose_files_and_deployed_settings() {
    let model_of = |test: Test| {
        test.args(&["audit", "--model", "--json"])
            .run()
            .success()
            .json()
    };
    let names = |model: &serde_json::Value, role: &str| -> Vec<String> {
        model["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == role && p["stage"] == "run")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let merged = model_of(Test::new().file(
        "docker-compose.yml",
        "x-app: &app\n  image: ghcr.io/acme/shop:1.4\nservices:\n  web:\n    <<: *app\n  worker:\n    <<: *app\n    environment:\n      MODE: worker\n",
    ));
    assert_eq!(names(&merged, "production"), ["web", "worker"]);

    let said = model_of(Test::new().file(
        "docker-compose.yml",
        "# This configuration is intended for development purpose, it's **your** responsibility to harden it for production\nservices:\n  app:\n    image: ghcr.io/acme/shop:1.4\n",
    ));
    assert_eq!(names(&said, "development"), ["app"]);

    let django = model_of(
        Test::new()
            .file("manage.py", "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"shop.settings.dev\")\n")
            .file("shop/settings/dev.py", "DEBUG = True\n")
            .file("shop/settings/production.py", "DEBUG = False\n")
            .file("Dockerfile", "FROM python:3.12.4\nENV DJANGO_SETTINGS_MODULE=shop.settings.production\nCMD [\"gunicorn\", \"shop.wsgi\"]\n")
            .file(
                "docker-compose.yml",
                "services:\n  app:\n    build: .\n    environment:\n      DJANGO_SETTINGS_MODULE: shop.settings.dev\n",
            ),
    );
    assert_eq!(names(&django, "development"), ["app"]);
    let config = config_paths(&django);
    assert_eq!(config, ["shop/settings/production.py"]);

    let spring = Test::new()
        .file("pom.xml", "<project><artifactId>shop</artifactId></project>\n")
        .file(
            "package.json",
            "{\n  \"scripts\": {\n    \"start\": \"ng serve --hmr\",\n    \"build\": \"ng build\"\n  }\n}\n",
        );
    assert!(names(&model_of(spring), "production").is_empty());
    Test::new()
        .file("package.json", "{\n  \"scripts\": {\n    \"start\": \"node server.js\",\n    \"build\": \"tsc\"\n  }\n}\n")
        .args(&["audit", "--model"])
        .run()
        .success()
        .stdout_has("build steps (once per build)\n  production  build            tsc");
}

/// Round 5's false findings, as classes: nginx logs a file also sends to stdout reach the
/// output; an address or a credentialed URL in a UI component is text a browser shows; a
/// Phoenix app's JavaScript imports its Hex packages; an image whose command the
/// orchestrator gives needs no Procfile.
#[test]
fn streamed_nginx_logs_ui_text_hex_imports_and_images_without_cmd_are_not_findings() {
    let rules_of = strict;
    let nginx = |also: &str| {
        rules_of(Test::new().procfile("web: nginx -g 'daemon off;'\n").file(
            "nginx.conf",
            format!("http {{\n    access_log  /var/log/nginx/access.log  main;\n{also}}}\n"),
        ))
    };
    let file_sink = ("logs/file-sink".to_owned(), "nginx.conf:2".to_owned());
    assert!(nginx("").contains(&file_sink));
    assert!(!nginx("    access_log  /dev/stdout  main;\n").contains(&file_sink));

    let ui = rules_of(
        Test::new()
            .procfile("web: node server.js\n")
            .file("package.json", "{\"dependencies\": {}}\n")
            .file("package-lock.json", "{}\n")
            .file("server.js", "app.listen(process.env.PORT)\n")
            .file(
                "src/components/Help.vue",
                "<template>\n  <input placeholder=\"postgres://localhost:5432/kuma\">\n  <code>mailtos://user:hunter2secret@mail.example.com</code>\n</template>\n",
            ),
    );
    assert!(
        !ui.iter()
            .any(|(_, at)| at.starts_with("src/components/Help.vue")),
        "{ui:?}"
    );

    let phoenix = rules_of(
        Test::new()
            .file(
                "Dockerfile",
                "FROM debian:12.5\nCOPY _build/prod/rel/shop ./\n",
            )
            .file(
                "mix.exs",
                "defp deps do\n  [{:phoenix, \"~> 1.7\"}, {:phoenix_html, \"~> 4.0\"}]\nend\n",
            )
            .file("mix.lock", "%{}\n")
            .file(
                "assets/js/app.js",
                "import \"phoenix_html\"\nimport {Socket} from \"phoenix\"\n",
            ),
    );
    assert!(
        !phoenix
            .iter()
            .any(|(rule, _)| rule == "dependencies/missing-manifest"
                || rule == "concurrency/invalid-procfile"),
        "{phoenix:?}"
    );
}

/// Round 6's classes: an env file of Compose's own settings is not the app's config; Active
/// Storage's local default and a `jdbc:sqlite:` file are local state.
#[test]
fn compose_settings_active_storage_defaults_and_jdbc_sqlite() {
    let rules_of = strict;
    let compose_env = rules_of(
        Test::new()
            .procfile("web: node server.js\n")
            .file("docker/compose/.env", "COMPOSE_PROJECT_NAME=paper\n")
            // The production Compose file beside it reads it: a production env file.
            .file(
                "docker/compose/docker-compose.yml",
                "services:\n  web:\n    image: ghcr.io/acme/paper:2.1\n",
            )
            .git_add_all(),
    );
    assert!(
        !compose_env
            .iter()
            .any(|(rule, _)| rule == "config/tracked-env-file"),
        "{compose_env:?}"
    );
    let state = rules_of(
        Test::new()
            .procfile("web: bin/rails server\n")
            .file(
                "config/environments/production.rb",
                "Rails.application.configure do\n  config.active_storage.service = ENV.fetch(\"ACTIVE_STORAGE_SERVICE\", \"local\").to_sym\nend\n",
            )
            .file(
                "src/main/resources/application.properties",
                "spring.datasource.url=jdbc:sqlite:dev.db\n",
            ),
    );
    for at in [
        "config/environments/production.rb:2",
        "src/main/resources/application.properties:1",
    ] {
        assert!(
            state.contains(&("processes/local-state-file".to_owned(), at.to_owned())),
            "{at}: {state:?}"
        );
    }
}

/// Round 6's misses, as classes: the app rewriting its own env file, a logging dict's file
/// handler in settings code, a production Compose file's unpinned images (one cause), and an
/// s6-overlay image's init scripts that migrate or install at every start.
#[test]
fn env_rewrites_settings_file_handlers_deployed_images_and_init_scripts() {
    let report = Test::new()
        .file("Dockerfile", "FROM python:3.12.4\nCOPY docker/rootfs /\nENTRYPOINT [\"/init\"]\n")
        .file(
            "docker/rootfs/etc/s6-overlay/s6-rc.d/init-migrations/run",
            "#!/command/with-contenv bash\ncd /app\npython3 manage.py migrate --no-input\n",
        )
        .file(
            "docker/rootfs/etc/s6-overlay/s6-rc.d/init-langs/run",
            "#!/command/with-contenv bash\nfor pkg in $LANGS; do\n  if ! apt-get --quiet --assume-yes install \"$pkg\"; then exit 1; fi\ndone\n",
        )
        .file(
            "app/settings.py",
            "LOGGING = {\n    \"handlers\": {\n        \"file\": {\n            \"class\": \"concurrent_log_handler.ConcurrentRotatingFileHandler\",\n        },\n    },\n}\n",
        )
        .file(
            "app/Http/Controllers/SetupController.php",
            "<?php\n$path = app()->environmentFilePath();\nfile_put_contents($path, $env);\n",
        )
        .file(
            "app/Console/Commands/RotateKey.php",
            "<?php\n$path = app()->environmentFilePath();\nfile_put_contents($path, $env);\n",
        )
        .file(
            "docker-compose.yml",
            "services:\n  app:\n    image: ghcr.io/acme/paper:latest\n  tika:\n    image: apache/tika\n  db:\n    image: postgres:16.4\n",
        )
        .args(&["audit", "--strict", "--json"])
        .run()
        .json();
    let found = located(&report);
    for (rule, at) in [
        (
            "admin-processes/work-at-start",
            "docker/rootfs/etc/s6-overlay/s6-rc.d/init-migrations/run:3",
        ),
        (
            "build-release-run/build-in-web",
            "docker/rootfs/etc/s6-overlay/s6-rc.d/init-langs/run:3",
        ),
        ("logs/file-sink", "app/settings.py:4"),
        (
            "processes/local-state-file",
            "app/Http/Controllers/SetupController.php:3",
        ),
        (
            "dependencies/unpinned-deployed-image",
            "docker-compose.yml:3",
        ),
    ] {
        assert!(
            found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at}: {found:?}"
        );
    }
    // An admin command of the app's own rewrites the env file on purpose.
    assert!(
        !found.iter().any(|(_, at)| at.starts_with("app/Console/")),
        "{found:?}"
    );
    // The unpinned images of the deployment are one cause with two places.
    let deployed: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "dependencies/unpinned-deployed-image")
        .collect();
    assert_eq!(deployed.len(), 1, "{deployed:?}");
    let places: Vec<u64> = deployed[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(places, [3, 5]);
}

/// Round 7's false findings, as classes: Spring profiles production never activates and an
/// embedded database's login; placeholders and published demo keys as secret fallbacks; a
/// logger sent to /dev/null; a Compose file running a test environment; a JWT in a README;
/// a library crate without a lockfile. And a Spring Boot app's process is its jar.
#[test]
fn opt_in_profiles_embedded_logins_placeholders_and_libraries_are_not_findings() {
    let found = strict(
        Test::new()
            .file("pom.xml", "<project>\n  <build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>\n</project>\n")
            .file(
                "src/main/resources/application.yaml",
                "spring:\n  r2dbc:\n    url: r2dbc:h2:mem:///data\n    username: admin\n    password: h4Lo9xQ2vR\n",
            )
            .file(
                "src/main/resources/application-mariadb.yaml",
                "spring:\n  r2dbc:\n    url: r2dbc:pool:mariadb://localhost:3306/halo\n    password: openmariadb\n",
            )
            .file(
                "config/app.php",
                "<?php\nreturn ['key' => env('STORAGE_S3_SECRET', 'your-secret'), 'fdc' => env('FDC_API_KEY', 'DEMO_KEY')];\n",
            )
            .file("config/application.rb", "config.logger = Logger.new(\"/dev/null\")\n")
            .file(
                "docker-compose.yml",
                "services:\n  app:\n    image: mariadb\n    environment:\n      RAILS_ENVIRONMENT: test\n",
            )
            .file(
                "README.md",
                "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE2MjIwNTAwMDAsImV4cCI6MTk5MzA0OTk3NCwibmJmIjoxNjIyMDUwMDAwLCJpc3MiOiJzdml4Iiwic3ViIjoib3JnXzIzcExHRURJc1lKQ1RJTm5JTk1nOGc2SzJ3In0.sTqBWYdK5Vs3Ilc39m_7PLTU8Nul4JpNO4nqtDN2OFs'\n",
            )
            .file("clients/rust/Cargo.toml", "[package]\nname = \"client\"\nversion = \"1.0.0\"\n\n[dependencies]\nserde = \"1\"\n")
            .file("clients/rust/src/lib.rs", "pub fn f() {}\n")
            .file(
                "clients/php/composer.json",
                "{\"name\": \"acme/client\", \"type\": \"library\", \"require\": {\"guzzlehttp/guzzle\": \"^7\"}}\n",
            )
    );
    assert!(found.is_empty(), "{found:?}");
    Test::new()
        .file("pom.xml", "<project>\n  <build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>\n</project>\n")
        .args(&["audit", "--model"])
        .run()
        .success()
        .stdout_has("production  web              java -jar target/*.jar  pom.xml:2 Spring Boot's executable jar (by convention)");
}

/// Round 8's false class: example URLs in comments carry the tokens the URL is public with,
/// and a presigned S3 URL carries its access key id by design; a key written out in code is
/// still found.
#[test]
fn tokens_of_example_urls_and_presigned_urls_are_not_findings() {
    let found = strict(
        Test::new()
            .procfile("web: bin/rails server\n")
            .file(
                "app/logical/extractor.rb",
                "# https://www.googleapis.com/blogger/v3/blogs/byurl?key=AIzaSyDzRrN7ojvPbaxC9uhx0UPfJ7Sq0F51Fo0&url=x\n# https://images.example/a.jpg?token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1cm46YXBwOjdlMGQxODg5ODIyNjQzNzNhNWYwZDQxNWVhMGQyNmUwIiwiaXNzIjoidXJuOmFwcDo3ZTBkMTg4OTgyMjY0MzczYTVmMGQ0MTVlYTBkMjZlMCJ9.mZc6XGZm2Vw7o8i0D7Vb3M1Qd6f2b9J4hF1sV0kX5aY\nURL = \"https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIAQ4NSBIGPA7T3PXMW/20231115/us-east-1/s3/aws4_request\"\n",
            )
            .file("app/keys.rb", "KEY = \"AKIAQ4NSBIGPA7T3PXMW\"\n"),
    );
    let secrets: Vec<&(String, String)> = found
        .iter()
        .filter(|(rule, _)| rule.starts_with("config/"))
        .collect();
    assert_eq!(
        secrets,
        [&(
            "config/aws-access-key".to_owned(),
            "app/keys.rb:1".to_owned()
        )],
        "{found:?}"
    );
}

#[test]
fn uploads_kept_on_the_local_disk_by_default() {
    let django = |storages: &str| {
        Test::new()
            .file("manage.py", "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"shop.settings.production\")\n")
            .file("shop/settings/base.py", format!("MEDIA_ROOT = BASE_DIR / \"media\"\n{storages}"))
            .file("shop/settings/production.py", "from .base import *  # noqa\nDEBUG = False\n")
            .file("shop/models.py", "from django.db import models\nclass Photo(models.Model):\n    image = models.ImageField(upload_to=\"photos\")\n")
    };
    // Object storage only when a variable turns it on is not the default.
    let opt_in = "if os.getenv(\"S3_BUCKET\"):\n    STORAGES = {\"default\": {\"BACKEND\": \"storages.backends.s3.S3Storage\"}}\n";
    assert_eq!(
        places(django(opt_in), "processes/local-state-file"),
        ["shop/settings/base.py:1"]
    );
    let always = "STORAGES = {\n    \"default\": {\n        \"BACKEND\": \"storages.backends.s3.S3Storage\",\n    },\n}\n";
    assert!(places(django(always), "processes/local-state-file").is_empty());

    let laravel = |default: &str, code: &str| {
        Test::new()
            .file("artisan", "#!/usr/bin/env php\n")
            .file(
                "config/filesystems.php",
                format!("<?php\nreturn [\n    'default' => env('FILESYSTEM_DISK', '{default}'),\n    'disks' => [\n        'local' => [\n            'driver'   => 'local',\n            'root' => storage_path('app'),\n        ],\n        's3' => [\n            'driver' => 's3',\n        ],\n    ],\n];\n"),
            )
            .file("app/Http/Controllers/Avatar.php", code)
    };
    let stores = "<?php\nclass Avatar { public function store($r) { return $r->file('a')->storeAs('avatars', 'x.png'); } }\n";
    assert_eq!(
        places(laravel("local", stores), "processes/local-state-file"),
        ["config/filesystems.php:3"]
    );
    assert!(places(laravel("s3", stores), "processes/local-state-file").is_empty());
    // An app that stores nothing through Laravel's storage has no uploads to lose.
    let cache =
        "<?php\nclass Avatar { public function f($cache) { $cache->store($key, $value); } }\n";
    assert!(places(laravel("local", cache), "processes/local-state-file").is_empty());
}

#[test]
fn spring_settings_that_migrate_write_log_files_or_keep_a_local_database() {
    let app = |name: &str| {
        Test::new()
            .file("pom.xml", "<project>\n  <build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>\n</project>\n")
            .file(
                &format!("src/main/resources/{name}"),
                "spring:\n  sql:\n    init:\n      mode: always\n  jpa:\n    hibernate:\n      ddl-auto: ${DDL_AUTO:update}\n  datasource:\n    url: jdbc:h2:file:./data/app\nlogging:\n  file:\n    name: logs/app.log\n",
            )
    };
    let found = strict(app("application.yml"));
    let at = |rule: &str| of_rule(&found, rule);
    assert_eq!(
        at("admin-processes/work-at-start"),
        [
            "src/main/resources/application.yml:4",
            "src/main/resources/application.yml:7"
        ]
    );
    assert_eq!(
        at("logs/file-sink"),
        ["src/main/resources/application.yml:12"]
    );
    assert_eq!(
        at("processes/local-state-file"),
        ["src/main/resources/application.yml:9"]
    );
    // A development profile's settings are development's.
    let dev = strict(app("application-dev.yml"));
    assert!(
        !dev.iter().any(|(r, _)| r.starts_with("admin-processes/")
            || r.starts_with("logs/")
            || r.starts_with("processes/")),
        "{dev:?}"
    );
}

#[test]
fn migrations_reached_through_package_scripts_init_wrappers_flags_and_code() {
    // CMD → pnpm script → npm-run-all → a node script that migrates.
    let node = Test::new()
        .file("Dockerfile", "FROM node:22.11.0\nCOPY . /app\nCMD [\"pnpm\", \"start-docker\"]\n")
        .file("package.json", "{\n  \"scripts\": {\n    \"start-docker\": \"npm-run-all check-db start-server\",\n    \"check-db\": \"node scripts/check-db.js\",\n    \"start-server\": \"node server.js\"\n  }\n}\n")
        .file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .file("scripts/check-db.js", "const { execSync } = require('child_process');\nexecSync('prisma migrate deploy');\n")
        .file("server.js", "require('http').createServer().listen(process.env.PORT);\n");
    assert_eq!(
        places(node, "admin-processes/work-at-start"),
        ["scripts/check-db.js:2"]
    );
    // An init in front of the entrypoint script; `python manage.py` commands in it.
    let python = Test::new()
        .file("Dockerfile", "FROM python:3.12.7-slim\nWORKDIR /opt/app\nCOPY . ./\nENTRYPOINT [\"/sbin/tini\", \"--\", \"/opt/app/boot.sh\"]\n")
        .file("boot.sh", "#!/bin/sh\nset -e\npython manage.py migrate\npython manage.py collectstatic --noinput\nexec gunicorn app.wsgi\n")
        .file("manage.py", "import django\n")
        .file("requirements.txt", "django==5.1\n");
    let found = strict(python);
    assert!(
        found.contains(&(
            "admin-processes/work-at-start".to_owned(),
            "boot.sh:3".to_owned()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "build-release-run/build-in-web".to_owned(),
            "boot.sh:4".to_owned()
        )),
        "{found:?}"
    );
    // A server started with a flag that migrates first, from a script beside its Dockerfile.
    let flag = Test::new()
        .file("server/Dockerfile", "FROM debian:12.8-slim\nCOPY ./scripts/launch /usr/local/bin/launch\nCMD [\"/usr/local/bin/launch\"]\n")
        .file("server/scripts/launch", "#!/bin/bash\nargs=(\"--run-migrations\")\nexec server \"${args[@]}\"\n");
    assert_eq!(
        places(flag, "admin-processes/work-at-start"),
        ["server/scripts/launch:2"]
    );
    // Go: the store migrates as the server starts, unless only a `--migrate` switch runs it.
    let go = |body: &str| {
        Test::new()
            .file("go.mod", "module example.com/app\n\ngo 1.22\n")
            .file("go.sum", "")
            .file(
                "cmd/server/setup.go",
                format!("package main\n\nfunc setup() error {{\n{body}\n\treturn nil\n}}\n"),
            )
    };
    assert_eq!(
        places(
            go("\tif err := store.Migrate(ctx); err != nil {\n\t\treturn err\n\t}"),
            "admin-processes/work-at-start"
        ),
        ["cmd/server/setup.go:4"]
    );
    assert!(
        places(
            go("\tif flagMigrate {\n\t\tdatabase.Migrate(db)\n\t}"),
            "admin-processes/work-at-start"
        )
        .is_empty()
    );
    // The migration command's own function (`func Migrate(…)`) runs when asked.
    let command = Test::new()
        .file("go.mod", "module example.com/app\n\ngo 1.22\n")
        .file("go.sum", "")
        .file("app.go", "package app\n\n// Migrate runs all necessary database migrations.\nfunc Migrate(apper Apper) error {\n\tconnect()\n\treturn migrations.Migrate(store)\n}\n");
    assert!(places(command, "admin-processes/work-at-start").is_empty());
}

#[test]
fn images_that_install_cargo_go_and_node_packages_unpinned() {
    let found = places(
        Test::new().file(
            "Dockerfile",
            "FROM rust:1.83.0\nRUN cargo install wasm-pack cargo-chef --features x\nRUN cargo install --path ./ --features postgres\nRUN cargo install --locked --path .\nRUN cargo install sqlx-cli --version 0.8.2\nRUN go install github.com/x/tool@latest && go install github.com/y/tool@v1.2.3\nRUN pnpm add chalk semver@7.6.0\nRUN npm install --prefix \"$(npm root -g)/single-file-cli\" simple-cdp@1.8.6\nCMD [\"app\"]\n",
        ),
        "dependencies/unpinned-image-install",
    );
    assert_eq!(
        found,
        [
            "Dockerfile:2",
            "Dockerfile:3",
            "Dockerfile:6",
            "Dockerfile:7"
        ]
    );
}

#[test]
fn container_start_scripts_that_keep_the_shell_as_pid_1() {
    let app = |last: &str| {
        Test::new()
            .file("Dockerfile", "FROM node:22.11.0\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT [\"/entrypoint.sh\"]\n")
            .file("entrypoint.sh", format!("#!/usr/bin/env bash\nset -e\nif [ \"$#\" -gt 0 ]; then\n  exec \"$@\"\nfi\n{last}\n"))
            .file("package.json", "{\"name\": \"app\"}\n")
            .file("package-lock.json", "{}\n")
    };
    assert_eq!(
        noted(app("node app.js"), "disposability/shell-wrapped-command"),
        ["entrypoint.sh:6"]
    );
    assert!(
        noted(
            app("exec node app.js"),
            "disposability/shell-wrapped-command"
        )
        .is_empty()
    );
}

#[test]
fn module_names_copies_and_templates_say_what_a_file_is_for() {
    // An example module named after the project, a test dummy, a fixtures file, a copy kept
    // aside, an env template: none of them is production's.
    let found = strict(
        Test::new()
            .file(
                "shop-examples/web/Dockerfile",
                "FROM node\nCMD node server.js\n",
            )
            .file(
                "shop-integrated-test/Dockerfile",
                "FROM node\nCMD node server.js\n",
            )
            .file(
                "docker/dummy/webdav/Dockerfile",
                "FROM node\nCMD node server.js\n",
            )
            .file("Dockerfile.old", "FROM node\nCMD node server.js\n")
            .file(
                "internal/entity/entity_fixtures.go",
                "package entity\n\nfunc init() {\n\tdb.Migrate(ctx)\n}\n",
            )
            .file(
                "config/templates/public.env",
                "SECRET_KEY_BASE=9f8e7d6c5b4a39281706f5e4d3c2b1a0\n",
            )
            .file("go.mod", "module example.com/app\n\ngo 1.22\n")
            .file("go.sum", "")
            .procfile("worker: ./app\n"),
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn shell_form_commands_by_the_shell_the_image_has() {
    let app = |from: &str, cmd: &str| {
        places(
            Test::new().file("Dockerfile", format!("FROM {from}\nCMD {cmd}\n")),
            "disposability/shell-form-cmd",
        )
    };
    // BusyBox's sh execs a lone command; Debian's dash stays the parent of it.
    assert!(app("alpine:3.22", "/bin/meilisearch").is_empty());
    assert_eq!(
        app("alpine:3.22", "migrate && /bin/server"),
        ["Dockerfile:2"]
    );
    assert_eq!(app("debian:12.8-slim", "/bin/server"), ["Dockerfile:2"]);
}

#[test]
fn placeholders_in_image_env_files_and_supervisord_logs() {
    let found = strict(
        Test::new()
            .file("Dockerfile", "FROM debian:12.8-slim\nENV GOOGLE_API_KEY=no \\\n    DATABASE_PASSWORD=\"\" \\\n    APP_SECRET=s3cr3tvalue9\nCMD [\"/app\"]\n")
            .file("supervisord.conf", "[program:web]\ncommand=gunicorn app\nstdout_logfile=/var/log/web.log\n\n[program:worker]\ncommand=rq worker\nstdout_logfile=/dev/stdout\n"),
    );
    let at = |rule: &str| of_rule(&found, rule);
    assert_eq!(at("config/dockerfile-secret"), ["Dockerfile:2"]);
    assert_eq!(at("logs/file-sink"), ["supervisord.conf:3"]);
}

#[test]
fn django_with_only_sqlite_and_npm_ranges_in_an_image() {
    let django = |database: &str| {
        places(
            Test::new()
                .file("manage.py", "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"site.settings\")\n")
                .file("site/settings.py", format!("DATABASES = {{\n    \"default\": {{\n        \"ENGINE\": \"{database}\",\n    }}\n}}\n")),
            "processes/local-state-file",
        )
    };
    assert_eq!(django("django.db.backends.sqlite3"), ["site/settings.py:3"]);
    assert!(django("django.db.backends.postgresql").is_empty());
    let image = places(
        Test::new().file(
            "Dockerfile",
            "FROM node:22.11.0\nRUN npm install --global \"single-file-cli@^1.1.54\" \"x@github:o/x\"\nRUN npm install --global left-pad@1.3.0 \"y@github:o/y#0123abc4\"\nCMD [\"node\", \"app.js\"]\n",
        ),
        "dependencies/unpinned-image-install",
    );
    assert_eq!(image, ["Dockerfile:2"]);
}

#[test]
fn model_reads_config_for_and_copies_from_a_module_context() {
    let model = Test::new()
        .file("config/application.rb", "module Shop\n  class Application < Rails::Application\n  end\nend\n")
        .file("config/initializers/services.rb", "Rails.application.config.rabbit = Rails.application.config_for(:rabbitmq)\n")
        .file("config/rabbitmq.yml", "production:\n  hosts: rabbit\n")
        .file("config/unused.yml", "production:\n  x: 1\n")
        .file("modules/admin/docker/Dockerfile", "FROM eclipse-temurin:21.0.5_11-jre\nCOPY docker/logback.xml /opt/app/conf/logback.xml\nCMD [\"java\", \"-jar\", \"/opt/app/app.jar\"]\n")
        .file("modules/admin/docker/logback.xml", "<configuration/>\n")
        .args(&["audit", "--model", "--json"])
        .run()
        .success()
        .json();
    let config = config_paths(&model);
    assert!(config.contains(&"config/rabbitmq.yml"), "{config:?}");
    assert!(!config.contains(&"config/unused.yml"), "{config:?}");
    assert!(
        config.contains(&"modules/admin/docker/logback.xml"),
        "{config:?}"
    );
}

#[test]
fn a_secret_generated_into_a_local_file() {
    let app = |code: &str| {
        places(
            Test::new()
                .file("app/settings.py", code)
                .procfile("worker: python -m app\n"),
            "processes/local-state-file",
        )
    };
    assert_eq!(
        app(
            "import os\nif not SECRET_KEY:\n    with open(KEY_FILE, 'x') as f:\n        f.write(get_random_secret_key())\n"
        ),
        ["app/settings.py:4"]
    );
    // Written to a response, not a file.
    assert!(
        app("def token(request):\n    request.wfile.write(secrets.token_hex(16))\n").is_empty()
    );
}

/// Round 10's false findings, as classes: a directory named for a kind of test
/// (`unittests/`) holds fixtures, not the app's logs; committed logs are one cause; nginx's
/// `…_PASS` upstream is no password; a shell-form `CMD` whose last step is `exec`, and an
/// entrypoint whose last command is `exec uwsgi \` continued over lines, replace the shell;
/// `pkg[extra]` beside `pkg==1.0` asks for an extra of the pinned version.
#[test]
fn kinds_of_test_dirs_exec_tails_upstream_names_and_extras() {
    let test = || {
        Test::new()
            .file("unittests/scans/tool/one_finding.log", "[x] found\n")
            .file("unittests/scans/tool/Sample.java", "import android.app.Activity;\n")
            .file("logs/app.log", "started\n")
            .file("var/worker.log", "started\n")
            .file(
                "Dockerfile",
                "FROM debian:bookworm-slim\nENV DD_UWSGI_PASS=\"uwsgi_server\"\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT [\"/entrypoint.sh\"]\nCMD ([ -z \"$CRON\" ] || cron) && \\\n  exec apache2 -D FOREGROUND $([ -n \"$A\" ] && echo '-D A')\n",
            )
            .file(
                "entrypoint.sh",
                "#!/bin/sh\nset -e\nexec uwsgi \\\n  --http 0.0.0.0:8081 \\\n  --wsgi app:application \\\n  $EXTRA_ARGS\n  # the HTTP endpoint is for liveness checks\n",
            )
            .file("requirements.txt", "bleach==6.3.0\nbleach[css]\nflask==3.0.0\n")
            .file("app.py", "import os\nport = os.environ['PORT']\n")
            .git_add_all()
    };
    let report = test().args(&["audit", "--strict", "--json"]).run().json();
    let logs: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "logs/tracked-log-file")
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let places: Vec<&str> = logs[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["logs/app.log", "var/worker.log"]);
    for rule in [
        "dependencies/missing-manifest",
        "config/dockerfile-secret",
        "disposability/shell-form-cmd",
        "disposability/shell-wrapped-command",
        "dependencies/unpinned-requirement",
    ] {
        assert_eq!(noted(test(), rule), Vec::<String>::new(), "{rule}");
    }
}

/// Dockerfiles joined into one build (`INCLUDE`, a bake file's contexts) name each other's
/// stages: `FROM base` is the stage another file defines, not an untagged image. What a
/// build pulls is read through `ARG` defaults and `COPY --from=IMAGE`.
#[test]
fn stages_of_joined_dockerfiles_arg_defaults_and_copied_images() {
    let found = noted(
        Test::new()
            .file("docker/base.dockerfile", "FROM ruby:3.4.9-alpine3.24 AS base\n")
            .file(
                "docker/build.dockerfile",
                "FROM base AS build\nRUN bundle install\n",
            )
            .file(
                "docker/app.dockerfile",
                "# syntax = devthefuture/dockerfile-x\nINCLUDE docker/base.dockerfile\nINCLUDE docker/build.dockerfile\nFROM base AS runtime\nCOPY --from=tonistiigi/xx / /\nCOPY --from=build /app /app\nCMD [\"bin/rails\", \"server\"]\n",
            )
            .file(
                "Dockerfile",
                "ARG DEBIAN=sid-slim\nFROM golang:1.23 AS builder\nFROM debian:${DEBIAN}\nCMD [\"/app/server\"]\n",
            )
            .file("Gemfile", "source 'https://rubygems.org'\n")
            .file("Gemfile.lock", "GEM\n")
            .git_add_all(),
        "dependencies/unpinned-base-image",
    );
    assert_eq!(found, ["Dockerfile:3", "docker/app.dockerfile:5"]);
}

/// A frontend variable a package.json script sets on its build's command line
/// (`NEXT_PUBLIC_TEST_MODE=true next build`) is a build variant that script fixes; one the
/// environment sets is one environment's config inlined into the build.
#[test]
fn build_variants_set_by_scripts_are_not_environment_config() {
    let found = noted(
        Test::new()
            .file(
                "frontend/package.json",
                "{\n  \"scripts\": {\n    \"build\": \"next build\",\n    \"build:test\": \"cross-env NEXT_PUBLIC_TEST_MODE=true next build\"\n  },\n  \"dependencies\": { \"next\": \"15.0.0\" }\n}\n",
            )
            .file("frontend/package-lock.json", "{}\n")
            .file(
                "frontend/src/modes.js",
                "export const testMode = process.env.NEXT_PUBLIC_TEST_MODE === 'true';\nexport const api = process.env.NEXT_PUBLIC_API_URL;\n",
            )
            .git_add_all(),
        "build-release-run/build-time-public-config",
    );
    assert_eq!(found, ["frontend/src/modes.js:2"]);
}

/// An image run by s6-overlay: its services' `run` scripts are where a Dockerfile copies
/// them (`COPY docker/s6/web /etc/s6-overlay/s6-rc.d/web`); a script such a script calls
/// runs at every start too; a process manager there runs every type in one container; the
/// shell of a service's `run` is what the stop signal reaches; `cron` forks into the
/// background unless told not to.
#[test]
fn init_system_services_nested_scripts_and_process_managers() {
    let test = || {
        Test::new()
            .file(
                "Dockerfile",
                "FROM ruby:3.4.9-alpine3.24\nCOPY . .\nCOPY ./docker/s6/web /etc/s6-overlay/s6-rc.d/web\nCOPY docker/s6/relay/ /etc/s6-overlay/s6-rc.d/relay/\nENTRYPOINT [\"/init\"]\n",
            )
            .file(
                "docker/s6/web/run",
                "#!/command/with-contenv sh\ncd /usr/src/app\nbin/docker-entrypoint.sh foreman start\n",
            )
            .file(
                "docker/s6/relay/run",
                "#!/command/with-contenv sh\n/usr/bin/relay -k _\n",
            )
            .file(
                "bin/docker-entrypoint.sh",
                "#!/bin/sh\nset -e\nbundle exec rails db:prepare\nexec \"$@\"\n",
            )
            .file("Procfile", "web: bundle exec puma\nworker: bundle exec sidekiq\n")
            .file("Gemfile", "source 'https://rubygems.org'\n")
            .file("Gemfile.lock", "GEM\n")
            .file(
                "php/Dockerfile",
                "FROM php:8.3-apache\nCMD ([ -z \"$CRON_MIN\" ] || cron) && exec apache2 -D FOREGROUND\n",
            )
            .git_add_all()
    };
    assert_eq!(
        noted(test(), "admin-processes/work-at-start"),
        ["bin/docker-entrypoint.sh:3"]
    );
    assert_eq!(
        noted(test(), "concurrency/process-manager-in-container"),
        ["docker/s6/web/run:3"]
    );
    assert_eq!(
        noted(test(), "disposability/shell-wrapped-command"),
        ["docker/s6/relay/run:2", "docker/s6/web/run:3"]
    );
    assert_eq!(
        noted(test(), "concurrency/daemonizing-command"),
        ["php/Dockerfile:2"]
    );
}

/// Migrations at every start that live in the boot code and the entrypoint: the app's own
/// migration routine called as it starts (not where it is defined, not a class's method of
/// that name), knex's `migrate.up()`, and an Elixir release's `eval "…migrate"`.
#[test]
fn migration_routines_called_at_boot_and_release_evals() {
    let found = noted(
        Test::new()
            .file(
                "backend/src/app-init.ts",
                "import { runMigrations } from './migrate';\n\nexport async function setupApp(app) {\n  await runMigrations(app, logger);\n  await app.listen(process.env.PORT);\n}\n",
            )
            .file(
                "backend/src/migrate.ts",
                "export async function runMigrations(app, logger) {\n  await knex.migrate.up();\n}\n",
            )
            .file(
                "backend/src/database/service.ts",
                "export class Db {\n  async runMigrations(): Promise<void> {\n    return;\n  }\n}\n",
            )
            .file(
                "Dockerfile",
                "FROM elixir:1.17.3-alpine\nCOPY priv/scripts/docker-entrypoint.sh /app/docker-entrypoint.sh\nENTRYPOINT [\"/app/docker-entrypoint.sh\"]\nCMD [\"start\"]\n",
            )
            .file(
                "priv/scripts/docker-entrypoint.sh",
                "#!/bin/sh\nset -e\n/opt/app/bin/app eval \"App.ReleaseTasks.migrate\"\nexec /opt/app/bin/app \"$@\"\n",
            )
            .git_add_all(),
        "admin-processes/work-at-start",
    );
    assert_eq!(
        found,
        [
            "backend/src/app-init.ts:4",
            "priv/scripts/docker-entrypoint.sh:3"
        ]
    );
}

/// Secret fallbacks where round 10 missed them: Elixir's `get_env/1` imported bare, `||` a
/// literal; a Compose file whose opening comment sets a condition on production use ("not
/// intended for production use without first customizing it") is still production's.
#[test]
fn bare_get_env_fallbacks_and_conditionally_production_compose_files() {
    let found = noted(
        Test::new()
            .file(
                "config/runtime.exs",
                "import Config\nimport System, only: [get_env: 1]\n\nconfig :app, App.Endpoint,\n  secret_key_base: get_env(\"SECRET_KEY_BASE\") || \"UNSAFE_pJhJ9q2qmMXYUCR0HyfufqtHQ+W1rqsr9M5q2aYo6Lo=\"\n",
            )
            .file("mix.exs", "defmodule App.MixProject do\nend\n")
            .file("mix.lock", "%{}\n")
            .file(
                "docker-compose.yml",
                "# Compose is a supported way to deploy this app in production, but this file is\n# not intended for production use without first customizing it.\n---\nservices:\n  web:\n    image: acme/app:2.1.0\n    environment:\n      APP_SECRET_KEY: \"${APP_SECRET_KEY:-hhZCp@D28z!n@NED*yB!ROMt+WzsY*iq}\"\n",
            )
            .git_add_all(),
        "config/secret-fallback",
    );
    assert_eq!(found, ["config/runtime.exs:5", "docker-compose.yml:8"]);
}

/// A file of defaults the app's code loads by name (`config.default.php`) is production
/// config, not an example; one nothing loads (`config.sample.php`) stays an example.
#[test]
fn defaults_files_the_code_loads_are_production() {
    let model = Test::new()
        .file(
            "app/Models/Context.php",
            "<?php\n$conf = Configuration::init(DATA_PATH . '/config.php', APP_PATH . '/config.default.php');\n",
        )
        .file("config.default.php", "<?php\nreturn ['db' => ['host' => 'localhost']];\n")
        .file("config.sample.php", "<?php\nreturn [];\n")
        .file("index.php", "<?php\necho 'hi';\n")
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let role = |path: &str| {
        model["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["role"].as_str().unwrap().to_owned())
    };
    assert_eq!(role("config.default.php").as_deref(), Some("production"));
    assert_eq!(role("config.sample.php").as_deref(), Some("example"));
}

/// Literal credentials in the YAML a Spring app runs with, wherever it is kept: any key
/// whose last word is a password or secret (`secretKey`, `jwt-secret-key`), Spring Cloud's
/// `bootstrap.yml`, and a production profile's file a config server serves
/// (`config/admin/shop-admin-prod.yaml`) — not a development profile's, not a Compose file.
#[test]
fn credentials_in_spring_and_config_server_yaml() {
    let found = noted(
        Test::new()
            .file(
                "shop-admin/src/main/resources/application.yml",
                "server:\n  port: 8080\nsa-token:\n  token-name: Authorization\n  jwt-secret-key: Kx8vQ2mZ7pLw4rTn\n",
            )
            .file(
                "shop-admin/src/main/resources/bootstrap.yml",
                "spring:\n  cloud:\n    nacos:\n      config:\n        password: Nq7vZ2xLp4\n",
            )
            .file(
                "config/admin/shop-admin-prod.yaml",
                "spring:\n  datasource:\n    username: reader\n    password: R3aderPass\nminio:\n  secretKey: minioadmin\n",
            )
            .file(
                "config/admin/shop-admin-dev.yaml",
                "spring:\n  datasource:\n    password: devpass99\n",
            )
            .file(
                "docker-compose.prod.yml",
                "services:\n  db:\n    image: mysql:8.4\n    environment:\n      MYSQL_ROOT_PASSWORD: Root123Pass\n",
            )
            .file("shop-admin/pom.xml", "<project><artifactId>shop-admin</artifactId></project>\n")
            .git_add_all(),
        "config/framework-password",
    );
    assert_eq!(
        found,
        [
            "config/admin/shop-admin-prod.yaml:4",
            "config/admin/shop-admin-prod.yaml:6",
            "shop-admin/src/main/resources/application.yml:5",
            "shop-admin/src/main/resources/bootstrap.yml:5"
        ]
    );
}

/// A Dockerfile whose last stages are development and test variants built on the release
/// stage: production runs the release stage's `ENTRYPOINT`, not the variants'.
#[test]
fn production_stage_before_development_variants() {
    let model = Test::new()
        .file(
            "Dockerfile.django-alpine",
            "FROM python:3.14.6-alpine3.23 AS base\nFROM base AS build\nRUN pip wheel -r requirements.txt\nFROM base AS release\nCOPY docker/entrypoint-uwsgi.sh /entrypoint-uwsgi.sh\nENTRYPOINT [\"/entrypoint-uwsgi.sh\"]\nFROM release AS development\nCMD [\"/entrypoint-uwsgi-dev.sh\"]\nFROM development AS django-unittests\nCMD [\"/app/run-unittests.sh\"]\n",
        )
        .file("docker/entrypoint-uwsgi.sh", "#!/bin/sh\nexec uwsgi --ini uwsgi.ini\n")
        .file("manage.py", "import os\n")
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let commands: Vec<(&str, &str)> = model["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["role"].as_str().unwrap(), p["command"].as_str().unwrap()))
        .collect();
    assert_eq!(commands, [("production", "/entrypoint-uwsgi.sh")]);
}

/// A config file a production process's command names is config production reads; a
/// Spring Cloud `bootstrap-prod.yml` is the production profile's.
#[test]
fn config_named_by_production_commands_and_bootstrap_profiles() {
    let model = Test::new()
        .file(
            "Procfile",
            "web: bundle exec puma -p $PORT\nperformance_worker: bundle exec sidekiq -C config/workers/performance.yml\n",
        )
        .file("config/workers/performance.yml", ":concurrency: 4\n")
        .file("config/workers/unused.yml", ":concurrency: 1\n")
        .file("api/src/main/resources/bootstrap-prod.yml", "spring:\n  cloud: {}\n")
        .file("api/src/main/resources/bootstrap-dev.yml", "spring:\n  cloud: {}\n")
        .file("Gemfile", "source 'https://rubygems.org'\n")
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let config = config_paths(&model);
    assert!(
        config.contains(&"config/workers/performance.yml"),
        "{config:?}"
    );
    assert!(
        config.contains(&"api/src/main/resources/bootstrap-prod.yml"),
        "{config:?}"
    );
    assert!(!config.contains(&"config/workers/unused.yml"), "{config:?}");
    assert!(
        !config.contains(&"api/src/main/resources/bootstrap-dev.yml"),
        "{config:?}"
    );
}

/// A stage named through an `ARG` (`FROM ${BASE}-php-ext-base`, with `ARG BASE="fpm"` and a
/// stage `AS fpm-php-ext-base`) is that stage, not an untagged image.
#[test]
fn stages_named_through_arg_defaults() {
    let found = noted(
        Test::new()
            .file(
                "Dockerfile",
                "ARG BASE=\"fpm\"\nFROM composer:2.8 AS composer\nFROM php:8.3-fpm-alpine AS fpm-php-ext-base\nFROM php:8.3-apache-bookworm AS apache-php-ext-base\nFROM ${BASE}-php-ext-base AS php-ext-gd\nFROM php:8.3-fpm-alpine AS fpm-base\nFROM ${BASE}-base AS php-base\nCMD [\"php-fpm\"]\n",
            )
            .file("composer.json", "{}\n")
            .file("composer.lock", "{}\n")
            .git_add_all(),
        "dependencies/unpinned-base-image",
    );
    assert_eq!(found, Vec::<String>::new());
}

/// A log file the image or its entrypoint links to a stream (`ln -sf /dev/stdout PATH`) is
/// the stream: writing there reaches the container's output. One not linked is a file.
#[test]
fn log_files_linked_to_the_streams() {
    let found = noted(
        Test::new()
            .file(
                "Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get install -y nginx && \\\n    ln -sf /dev/stderr /var/log/nginx/app.error.log\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT [\"/entrypoint.sh\"]\n",
            )
            .file(
                "entrypoint.sh",
                "#!/bin/sh\nset -e\n# forward request logs to docker log collector\nln -sf /dev/stdout /var/log/nginx/app.access.log\nexec nginx -g 'daemon off;'\n",
            )
            .file(
                "nginx/site.conf",
                "server {\n  access_log /var/log/nginx/app.access.log;\n  error_log /var/log/nginx/app.error.log;\n  access_log /var/log/nginx/other.log;\n}\n",
            )
            .git_add_all(),
        "logs/file-sink",
    );
    assert_eq!(found, ["nginx/site.conf:4"]);
}

/// Round 11's misses at start, as classes: an entrypoint that runs the app's own migration
/// program or subcommand (behind `sudo`, or in a script sourced through a variable), a Rust
/// server whose boot calls its migration helper, a stop signal no process can handle, a
/// Compose image whose tag defaults to `latest`, a Compose service that installs packages as
/// it starts, and a package added to the image that no manifest declares.
#[test]
fn migrations_and_installs_at_start_and_kill_signals() {
    let test = Test::new()
        .file(
            "Dockerfile",
            "FROM debian:12.6\nRUN composer --no-ansi require --working-dir=/opt/app laminas/laminas-ldap\nCOPY run.sh /app/run.sh\nSTOPSIGNAL SIGKILL\nENTRYPOINT [\"/app/run.sh\"]\n",
        )
        .file(
            "run.sh",
            "#!/bin/bash\nset -e\nPRE_START=deploy/prestart.sh\n. $PRE_START\nsudo -E -u nobody /app/bin/migrate\nexec /app/bin/server\n",
        )
        .file("deploy/prestart.sh", "#!/bin/sh\necho ready\n./auth migrate\n")
        .file(
            "src/application.rs",
            "pub async fn init_state(pool: &PgPool) -> Result<(), Error> {\n    migrate(pool).await?;\n    Ok(())\n}\n\nasync fn migrate(pool: &PgPool) -> Result<(), Error> {\n    sqlx::migrate!(\"./migrations\")\n        .set_ignore_missing(true)\n        .run(pool)\n        .await?;\n    Ok(())\n}\n",
        )
        .file(
            "src/cli.rs",
            "fn main() {\n    match args.command {\n        Command::Migrate => run_migrate(&pool),\n    }\n}\n\nfn migrate_command(pool: &PgPool) {\n    sqlx::migrate!().run(pool);\n}\n",
        )
        .file(
            "docker-compose.yml",
            "services:\n  app:\n    image: acme/app:${APP_VERSION:-latest}\n    stop_signal: SIGKILL\n  sidecar:\n    image: debian:12.6\n    command:\n      - sh\n      - -c\n      - |\n        apt-get install -y curl\n        exec curl -fsS http://app\n",
        )
        .git_add_all();
    let report = test.args(&["audit", "--strict", "--json"]).run().json();
    let found: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            let rule = f["rule"].as_str().unwrap().to_owned();
            f["locations"].as_array().unwrap().iter().map(move |l| {
                (
                    rule.clone(),
                    format!("{}:{}", l["path"].as_str().unwrap(), l["line"]),
                )
            })
        })
        .collect();
    for (rule, at) in [
        ("admin-processes/work-at-start", "run.sh:5"),
        ("admin-processes/work-at-start", "deploy/prestart.sh:3"),
        ("admin-processes/work-at-start", "src/application.rs:7"),
        ("disposability/killed-at-stop", "Dockerfile:4"),
        ("disposability/killed-at-stop", "docker-compose.yml:4"),
        (
            "dependencies/unpinned-deployed-image",
            "docker-compose.yml:3",
        ),
        ("dependencies/unpinned-image-install", "Dockerfile:2"),
        ("build-release-run/build-in-web", "docker-compose.yml:8"),
    ] {
        assert!(
            found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at} not in {found:#?}"
        );
    }
    // A migration function only a command's branch calls is that command.
    assert!(
        !found
            .iter()
            .any(|(rule, at)| rule == "admin-processes/work-at-start"
                && at.starts_with("src/cli.rs")),
        "{found:#?}"
    );
}

/// Round 11's misses in logs and process managers: supervisord programs are processes (a
/// `celery multi start` detaches, `--logfile` writes a file), Sidekiq's `logfile:`, and a
/// Symfony Monolog handler under the kernel's log directory outside `when@dev`.
#[test]
fn supervisord_programs_sidekiq_and_symfony_log_files() {
    let app = || {
        Test::new()
        .file(
            "deploy/supervisord/celery.conf",
            "[program:celery]\nstdout_logfile=/dev/stdout\ncommand=/venv/bin/celery multi start w1 --loglevel=INFO --logfile=/app/logs/celery.log\n",
        )
        .file(
            "deploy/supervisord/supervisord.conf",
            "[supervisord]\nnodaemon=true\nstdout_logfile=AUTO\n",
        )
        .file("config/sidekiq.yml", ":concurrency: 5\n:logfile: ./log/sidekiq.log\n")
        .file("bin/console", "#!/usr/bin/env php\n<?php\n")
        .file(
            "config/packages/monolog.yaml",
            "when@prod:\n    monolog:\n        handlers:\n            file_log:\n                type: stream\n                path: \"%kernel.logs_dir%/%kernel.environment%.log\"\n\nwhen@dev:\n    monolog:\n        handlers:\n            main:\n                type: stream\n                path: \"%kernel.logs_dir%/%kernel.environment%.log\"\n",
        )
        .git_add_all()
    };
    let model = app().args(&["audit", "--model", "--json"]).run().json();
    let programs: Vec<&str> = model["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["declared_by"] == "supervisord program")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(programs, ["celery"]);
    assert!(
        config_paths(&model).contains(&"config/packages/monolog.yaml"),
        "{model:#}"
    );
    assert_eq!(
        noted(app(), "concurrency/daemonizing-command"),
        ["deploy/supervisord/celery.conf:3"]
    );
    assert_eq!(
        noted(app(), "logs/file-sink"),
        [
            "config/packages/monolog.yaml:6",
            "config/sidekiq.yml:2",
            "deploy/supervisord/celery.conf:3"
        ]
    );
}

/// Round 11's model errors, as classes: config a production Compose service mounts or a
/// production start script copies into place, Symfony's `config/packages/`, a path
/// dependency's Mix config and a library module's Spring config (never the app's), an env
/// file whose header calls it a template, `contrib/`, top-level release tooling, linters'
/// dotfiles, git hooks, a file only a development process names, and a Fly.io config under
/// another name.
#[test]
fn model_config_and_roles_of_round_11() {
    let model = Test::new()
        .file(
            "docker-compose.yml",
            "services:\n  proxy:\n    image: nginx:1.27.0\n    volumes:\n      - ./nginx/nginx.conf:/etc/nginx/nginx.conf\n  app:\n    build: .\n",
        )
        .file("nginx/nginx.conf", "events {}\n")
        .file(
            "Dockerfile",
            "FROM python:3.12.4\nCOPY . /home/app\nCMD [\"/home/app/deploy/entrypoint.sh\"]\n",
        )
        .file(
            "deploy/entrypoint.sh",
            "#!/bin/sh\ncp /home/app/deploy/local_settings.py /home/app/cms/local_settings.py\nexec gunicorn cms.wsgi\n",
        )
        .file("deploy/local_settings.py", "DEBUG = False\n")
        .file("mix.exs", "defmodule App.MixProject do\nend\n")
        .file("config/config.exs", "import Config\n")
        .file("forum/mix.exs", "defmodule Forum.MixProject do\nend\n")
        .file("forum/config/config.exs", "import Config\n")
        .file("api/src/main/java/app/ApiApplication.java", "class ApiApplication {}\n")
        .file("api/src/main/resources/application.yml", "server:\n  port: 8080\n")
        .file("core/src/main/java/app/Core.java", "class Core {}\n")
        .file("core/src/main/resources/application.yml", "x: 1\n")
        .file(
            "deploy.env",
            "# This file is a template for docker compose deployment\n# Copy this file to .env and change the values\nSECRET=changeme\n",
        )
        .file("contrib/k8s/deployment.yaml", "kind: Deployment\n")
        .file("release/goreleaser.yml", "builds: []\n")
        .file(".haml-lint.yml", "linters: {}\n")
        .file(".codeclimate.yml", "version: 2\n")
        .file("git/pre-commit", "#!/bin/sh\ngofmt -l .\n")
        .file("Procfile.dev", "watch: reflex -c reflex.conf\n")
        .file("reflex.conf", "-r '\\.go$' -- go run .\n")
        .file(
            "deploy/fly/prod.toml",
            "app = \"acme-prod\"\n\n[deploy]\nrelease_command = \"/app/bin/migrate\"\n\n[http_service]\ninternal_port = 4000\n",
        )
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let config = config_paths(&model);
    for path in [
        "nginx/nginx.conf",
        "deploy/local_settings.py",
        "config/config.exs",
        "api/src/main/resources/application.yml",
    ] {
        assert!(config.contains(&path), "{path} not in {config:?}");
    }
    for path in [
        "forum/config/config.exs",
        "core/src/main/resources/application.yml",
    ] {
        assert!(!config.contains(&path), "{path} in {config:?}");
    }
    let role = |path: &str| role_in(&model, path);
    for (path, expected) in [
        ("deploy.env", "example"),
        ("contrib/k8s/deployment.yaml", "example"),
        ("release/goreleaser.yml", "build"),
        (".haml-lint.yml", "build"),
        (".codeclimate.yml", "build"),
        ("git/pre-commit", "development"),
        ("reflex.conf", "development"),
    ] {
        assert_eq!(role(path), expected, "{path}");
    }
    let release_steps: Vec<(&str, &str)> = model["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["stage"] == "release")
        .map(|p| (p["command"].as_str().unwrap(), p["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        release_steps,
        [("/app/bin/migrate", "deploy/fly/prod.toml")]
    );
}

/// Round 12's classes: `NEXT_PUBLIC_*` read only in server code is read at run time; a
/// Compose file named for production that mounts the checkout (`..:/app`) runs no release,
/// and its commands' log files count; Rails production without a stdout logger, or
/// compiling assets live; web and worker under `concurrently` in one container; a Spring
/// profile the jar's own config activates is production's; Figaro's env-style keys are not
/// Spring's; a Go startup check's `SchemaMigrate`; literal ports in uWSGI config; Tomcat's
/// access log; one logging config's two sinks are one cause.
#[test]
#[allow(clippy::too_many_lines)] // one app that holds every class, then where each shows
fn round_12_classes() {
    let found = noted_all(
        Test::new()
            .file("package.json", "{\"dependencies\": {\"next\": \"14.2.3\"}}\n")
            .file("yarn.lock", "")
            .file(
                "apps/web/pages/api/v1/config.ts",
                "export default function h(req, res) {\n  res.json({ demo: process.env.NEXT_PUBLIC_DEMO });\n}\n",
            )
            .file("apps/worker/worker.ts", "const x = process.env.NEXT_PUBLIC_TRIAL_DAYS;\n")
            .file(
                "apps/web/components/Banner.tsx",
                "export const Banner = () => <p>{process.env.NEXT_PUBLIC_BANNER}</p>;\n",
            )
            .file(
                "Dockerfile",
                "FROM node:20.11\nCMD [\"sh\", \"-c\", \"exec concurrently -k \\\"next start\\\" \\\"tsx worker.ts\\\"\"]\n",
            )
            .file(
                "containers/docker-compose-production.yml",
                "services:\n  web:\n    build: ..\n    volumes:\n      - ..:/app\n  sidekiq:\n    build: ..\n    command: bundle exec sidekiq -L log/sidekiq.log\n",
            )
            .file("config/application.rb", "module App; end\n")
            .file(
                "config/environments/production.rb",
                "Rails.application.configure do\n  config.assets.compile = true\n  config.log_level = :info\n  # config.logger = Logger.new(STDOUT)\nend\n",
            )
            .file("config/application.yml", "OAUTH_GITHUB_APP_SECRET: e4979efbe9f9325f7311f2\n")
            .file("svc/src/main/java/app/SvcApplication.java", "class SvcApplication {}\n")
            .file(
                "svc/src/main/resources/application.yml",
                "spring:\n  profiles:\n    active: dev\n",
            )
            .file(
                "svc/src/main/resources/application-dev.yml",
                "spring:\n  datasource:\n    password: s3cr3tPa55\n",
            )
            .file(
                "svc/src/main/resources/application.properties",
                "server.tomcat.accesslog.enabled=true\n",
            )
            .file(
                "internal/storage/provider.go",
                "package storage\n\nfunc (p *Provider) StartupCheck() error {\n\tif err := p.db.Ping(); err != nil {\n\t\treturn err\n\t}\n\treturn p.SchemaMigrate(ctx, true, SchemaLatest)\n}\n",
            )
            .file("deploy/app-uwsgi.ini", "[uwsgi]\nhttp = 127.0.0.1:8080\n")
            .file(
                "deploy/supervisor-worker.conf",
                "[program:worker]\ncommand=app worker\nstdout_logfile=/var/log/app/worker.stdout.log\nstderr_logfile=/var/log/app/worker.stderr.log\n",
            )
            .git_add_all(),
    );
    for (rule, at) in [
        (
            "build-release-run/build-time-public-config",
            "apps/web/components/Banner.tsx:1",
        ),
        ("concurrency/process-manager-in-container", "Dockerfile:2"),
        (
            "build-release-run/code-mounted",
            "containers/docker-compose-production.yml:5",
        ),
        (
            "logs/file-sink",
            "containers/docker-compose-production.yml:8",
        ),
        (
            "build-release-run/build-in-web",
            "config/environments/production.rb:2",
        ),
        ("logs/file-sink", "config/environments/production.rb:3"),
        (
            "config/framework-password",
            "svc/src/main/resources/application-dev.yml:3",
        ),
        (
            "logs/file-sink",
            "svc/src/main/resources/application.properties:1",
        ),
        (
            "admin-processes/work-at-start",
            "internal/storage/provider.go:7",
        ),
        ("port-binding/hardcoded-port", "deploy/app-uwsgi.ini:2"),
        ("logs/file-sink", "deploy/supervisor-worker.conf:3"),
    ] {
        assert!(
            found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at} not in {found:#?}"
        );
    }
    for (rule, at) in [
        (
            "build-release-run/build-time-public-config",
            "apps/web/pages/api/v1/config.ts:2",
        ),
        (
            "build-release-run/build-time-public-config",
            "apps/worker/worker.ts:1",
        ),
        ("config/framework-password", "config/application.yml:1"),
        // The program's second sink is a place of the first's cause, not a finding.
        ("logs/file-sink", "deploy/supervisor-worker.conf:4"),
    ] {
        assert!(
            !found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at} in {found:#?}"
        );
    }
}

/// The main place of every finding of `audit --strict`, notes included: (rule, `path:line`).
fn noted_all(test: Test) -> BTreeSet<(String, String)> {
    let report = test.args(&["audit", "--strict", "--json"]).run().json();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                format!("{}:{}", f["path"].as_str().unwrap(), f["line"]),
            )
        })
        .collect()
}

/// Round 12's model errors, as classes: tools' dotfiles and directories, changelog
/// fragments, a coverage image, a search engine's image, a Compose file whose comment after
/// the `---` marker says dev-only, and an example whose path only ends like the file a
/// production command names.
#[test]
fn model_roles_of_round_12() {
    let model = Test::new()
        .file(
            "Dockerfile",
            "FROM golang:1.22.4\nCMD [\"/app/server\", \"--config\", \"/config/configuration.yml\"]\n",
        )
        .file("Dockerfile.coverage", "FROM golang:1.22.4\nCMD [\"/app/server\"]\n")
        .file(".lefthook.yml", "pre-commit: {}\n")
        .file(".tx/config", "[main]\nhost = https://www.transifex.com\n")
        .file(".devtools/release.bat", "echo release\n")
        .file(".envs/.production/.django", "DJANGO_SECRET_KEY=x\n")
        .file("changes/5713.feature", "A feature.\n")
        .file("trivy.yaml", "scan: {}\n")
        .file("examples/compose/config/configuration.yml", "theme: light\n")
        .file(
            "docker-compose.yml",
            "services:\n  app:\n    build: .\n  search:\n    image: getmeili/meilisearch:v1.8\n",
        )
        .file(
            "scripts/otel/docker-compose.yml",
            "---\n# An insecure, dev-only configuration. Don't run this in production!\nservices:\n  tempo:\n    image: grafana/tempo:2.4.1\n  app:\n    build: ../..\n",
        )
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let role = |path: &str| role_in(&model, path);
    for (path, expected) in [
        (".lefthook.yml", "build"),
        (".tx/config", "build"),
        (".devtools/release.bat", "build"),
        (".envs/.production/.django", "production"),
        ("changes/5713.feature", "example"),
        ("trivy.yaml", "build"),
        ("Dockerfile.coverage", "test"),
        ("examples/compose/config/configuration.yml", "example"),
        ("scripts/otel/docker-compose.yml", "development"),
    ] {
        assert_eq!(role(path), expected, "{path}");
    }
    let services: Vec<&str> = model["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(services.contains(&"search"), "{services:?}");
}

/// Round 13's classes: scripts an image's entrypoint runs from `entrypoint.d/` at every
/// start, a Go `MigrateDatabase` call in `main`, a Terraform service's `:latest` image; and
/// what is not a finding: `Procfile.sh` (a script, not a Procfile), PHP's `error_log =
/// /proc/self/fd/2`, build metadata in `REACT_APP_BUILD_VERSION`, Spring's `server.port`
/// (which `SERVER_PORT` overrides), a gunicorn config nothing loads.
#[test]
fn round_13_classes() {
    let found = noted_all(
        Test::new()
            .file(
                "Dockerfile",
                "FROM php:8.3.8-fpm\nCOPY docker/shared/root/ /\nENTRYPOINT [\"/docker/entrypoint.sh\"]\nCMD [\"php-fpm\"]\n",
            )
            .file(
                "docker/shared/root/docker/entrypoint.sh",
                "#!/bin/sh\nfor f in /docker/entrypoint.d/*.sh; do . \"$f\"; done\nexec \"$@\"\n",
            )
            .file(
                "docker/shared/root/docker/entrypoint.d/12-migrations.sh",
                "#!/bin/sh\nphp artisan migrate --force\n",
            )
            .file(
                "docker/shared/root/usr/local/etc/php/php.ini",
                "log_errors = On\nerror_log = /proc/self/fd/2\n",
            )
            .file(
                "api/server.go",
                "package main\n\nfunc main() {\n\tdb := setup()\n\tif err := database.MigrateDatabase(db); err != nil {\n\t\tpanic(err)\n\t}\n}\n",
            )
            .file(
                "terraform/main.tf",
                "resource \"google_cloud_run_service\" \"app\" {\n  template {\n    containers {\n      image = \"docker.io/acme/app:latest\"\n    }\n  }\n}\n",
            )
            .file("Procfile", "web: sh Procfile.sh\n")
            .file("Procfile.sh", "#!/bin/sh\nset -e\nexec gunicorn app.wsgi\n")
            .file(
                "ui/src/Version.tsx",
                "export const V = import.meta.env.REACT_APP_BUILD_VERSION;\nexport const API = import.meta.env.REACT_APP_API_ENDPOINT;\n",
            )
            .file("etc/gunicorn.py", "bind = \"0.0.0.0:8000\"\n")
            .file("cfg/src/main/resources/application.yml", "server:\n  port: 8888\n")
            .file("cfg/src/main/resources/application.properties", "server.port=8888\n")
            .git_add_all(),
    );
    for (rule, at) in [
        (
            "admin-processes/work-at-start",
            "docker/shared/root/docker/entrypoint.d/12-migrations.sh:2",
        ),
        ("admin-processes/work-at-start", "api/server.go:5"),
        (
            "dependencies/unpinned-deployed-image",
            "terraform/main.tf:4",
        ),
        (
            "build-release-run/build-time-public-config",
            "ui/src/Version.tsx:2",
        ),
    ] {
        assert!(
            found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at} not in {found:#?}"
        );
    }
    let unwanted: Vec<&(String, String)> = found
        .iter()
        .filter(|(rule, at)| {
            at.starts_with("Procfile.sh")
                || at.contains("php.ini")
                || at == "ui/src/Version.tsx:1"
                || rule == "port-binding/hardcoded-port"
        })
        .collect();
    assert!(unwanted.is_empty(), "{unwanted:#?}");
}

/// Round 13's model errors: DDEV's directory is development's, and a Laravel admin page's
/// Blade view under `config/` is not config.
#[test]
fn model_roles_of_round_13() {
    let model = Test::new()
        .file("artisan", "#!/usr/bin/env php\n")
        .file("config/app.php", "<?php return [];\n")
        .file(
            "resources/views/admin/settings/config/index.blade.php",
            "<div></div>\n",
        )
        .file(".ddev/config.yaml", "name: app\n")
        .git_add_all()
        .args(&["audit", "--model", "--json"])
        .run()
        .json();
    let config = config_paths(&model);
    assert!(config.contains(&"config/app.php"), "{config:?}");
    assert!(
        !config.contains(&"resources/views/admin/settings/config/index.blade.php"),
        "{config:?}"
    );
    assert_eq!(role_in(&model, ".ddev/config.yaml"), "development");
}

/// Round 14's false warnings, as a class: a Dockerfile whose command runs a development
/// server (`bin/console --env=dev server:run`, `manage.py runserver`) builds a developer's
/// image, and its base images are not production's; a production Dockerfile's still are.
#[test]
fn development_dockerfiles_by_their_command() {
    let found = places(
        Test::new()
            .file(
                "docker/php/Dockerfile",
                "FROM php:fpm\nCMD [\"php\", \"bin/console\", \"--env=dev\", \"server:run\"]\n",
            )
            .file(
                "docker/django/Dockerfile",
                "FROM python:latest\nCMD [\"python\", \"manage.py\", \"runserver\", \"0.0.0.0:8000\"]\n",
            )
            .file("Dockerfile", "FROM node:latest\nCMD [\"node\", \"server.js\"]\n")
            .git_add_all(),
        "dependencies/unpinned-base-image",
    );
    assert_eq!(found, ["Dockerfile:1"]);
}

/// Round 15's classes: a Compose project named for development, Gradle's `buildSrc`, a
/// requirements file of documentation tools, parallel build steps, Spring modules whose main
/// class is `*Main`, `spring.jpa.generate-ddl`, values that only repeat their key, and a
/// command-line subcommand that migrates when asked.
#[test]
fn round_15_classes() {
    let test = || {
        Test::new()
            .file(
                "docker-compose.yaml",
                "name: shop-dev\nservices:\n  app:\n    image: acme/shop\n",
            )
            .file(
                "buildSrc/src/main/groovy/WaitForDb.java",
                "class W { String password = \"s3cr3tPassw0rdX\"; }\n",
            )
            .file("requirements.txt", "mkdocs-material\nmkdocs-minify-plugin\n")
            .file(
                "package.json",
                "{\"name\": \"shop\", \"scripts\": {\"build\": \"run-p build:client build:server\", \"start\": \"node index.js\"}}\n",
            )
            .file("package-lock.json", "{}\n")
            .file("index.js", "require('./server');\n")
            .file("orders/build.gradle", "apply plugin: 'org.springframework.boot'\n")
            .file(
                "orders/src/main/java/shop/OrderServiceMain.java",
                "@SpringBootApplication\npublic class OrderServiceMain {}\n",
            )
            .file(
                "orders/src/main/resources/application.properties",
                "spring.jpa.generate-ddl=true\naws.secret.access.key=access_key\n",
            )
            .file(
                "common/src/main/resources/application.properties",
                "spring.jpa.generate-ddl=true\n",
            )
            .file(
                "server/command-line/storage.ts",
                "const program = new Command(\"storage\");\nprogram\n\t.command(\"migrate\")\n\t.description(\"Migrate storage\")\n\t.action(function (user) {\n\t\ttry {\n\t\t\trunMigrations(user);\n\t\t} catch (e) {}\n\t});\n",
            )
            .file(
                "server/storage.ts",
                "export function enable() {\n\trunMigrations();\n}\n",
            )
            .git_add_all()
    };
    let found = noted_all(test());
    for (rule, at) in [
        (
            "admin-processes/work-at-start",
            "orders/src/main/resources/application.properties:1",
        ),
        ("admin-processes/work-at-start", "server/storage.ts:2"),
    ] {
        assert!(
            found.contains(&(rule.to_owned(), at.to_owned())),
            "{rule} at {at} not in {found:#?}"
        );
    }
    let unwanted: Vec<&(String, String)> = found
        .iter()
        .filter(|(rule, at)| {
            at.starts_with("docker-compose.yaml")
                || at.starts_with("buildSrc/")
                || at.starts_with("requirements.txt")
                || at.starts_with("package.json")
                || at.starts_with("common/")
                || at.starts_with("server/command-line/")
                || rule.starts_with("config/")
        })
        .collect();
    assert!(unwanted.is_empty(), "{unwanted:#?}");
    let model = test().args(&["audit", "--model", "--json"]).run().json();
    assert_eq!(role_in(&model, "docker-compose.yaml"), "development");
    assert_eq!(
        role_in(&model, "buildSrc/src/main/groovy/WaitForDb.java"),
        "build"
    );
    let config = config_paths(&model);
    assert!(
        config.contains(&"orders/src/main/resources/application.properties"),
        "{config:?}"
    );
    assert!(
        !config.contains(&"common/src/main/resources/application.properties"),
        "{config:?}"
    );
}
