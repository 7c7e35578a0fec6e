//! One finding per cause, severity earned by measured precision, and the deployment model:
//! what production runs and which files count.

use super::*;

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
    for entry in crate::harness::every_path(test.path()) {
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
