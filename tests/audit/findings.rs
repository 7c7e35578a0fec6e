//! What is a finding and what is not: manifests, state in the app directory, sizes, ports,
//! development secrets, migrations and builds at start, allowlists, example env files.

use super::*;

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
