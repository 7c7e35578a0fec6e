//! Classes from first-sight rounds: images, init systems, Dockerfile stages, defaults files,
//! credentials in Spring configuration, log files.

use super::*;

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
