//! Classes from the later first-sight rounds (up to round 15), each round a test of its own.

use super::*;

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
