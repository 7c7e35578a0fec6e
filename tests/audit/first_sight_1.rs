//! Classes of findings (and of false findings) that first-sight rounds on real apps found:
//! migrations, Compose and Spring settings, uploads, model roles.

use super::*;

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
