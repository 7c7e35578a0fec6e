//! The audit's rules: one module per factor, each with its rules as data, the content patterns
//! it contributes, and the checks that read files or the whole app (docs/audit.md).

pub mod admin_processes;
pub mod backing_services;
pub mod build_release_run;
pub mod codebase;
pub mod concurrency;
pub mod config;
pub mod dependencies;
pub mod dev_prod_parity;
pub mod disposability;
pub mod logs;
pub mod port_binding;
pub mod processes;

use std::sync::LazyLock;

use super::dockerfile;
use super::files::{self, Kind, is_requirements};
use super::finding::Finding;
use super::module::Module;
use super::project::File;
use super::rule::Rule;
use super::scan::Pattern;

/// The factors' modules, in factor order.
pub static MODULES: [&Module; 13] = [
    &codebase::MODULE,
    &dependencies::MODULE,
    &config::MODULE,
    &config::providers::MODULE,
    &backing_services::MODULE,
    &build_release_run::MODULE,
    &processes::MODULE,
    &port_binding::MODULE,
    &concurrency::MODULE,
    &disposability::MODULE,
    &dev_prod_parity::MODULE,
    &logs::MODULE,
    &admin_processes::MODULE,
];

/// Every rule, factor by factor.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    MODULES.iter().flat_map(|module| module.rules).copied()
}

/// The rule with this id.
pub fn get(id: &str) -> Option<&'static Rule> {
    all().find(|rule| rule.id == id)
}

/// Every content pattern, factor by factor.
pub static PATTERNS: LazyLock<Vec<&'static Pattern>> = LazyLock::new(|| {
    MODULES
        .iter()
        .flat_map(|module| module.patterns.iter().copied().flatten())
        .collect()
});

/// Whether the file rules below want this file's whole text (decided cheaply: most files
/// are never turned into text).
pub fn reads_whole_file(path: &str, kind: Kind, content: &[u8]) -> bool {
    let name = files::name(path);
    files::is_dockerfile(name)
        || name == "pom.xml"
        || logs::is_laravel_logging(path)
        || matches!(kind, Kind::Code | Kind::Config)
            && dev_prod_parity::may_switch_databases(content)
        || is_requirements(path, name)
        || config::is_framework_config(path, name)
        || kind == Kind::Code && memchr::memmem::find(content, b"express-session").is_some()
}

/// The rules that read one whole file: Dockerfiles, requirements, POMs, framework config.
pub fn check_file(file: &File<'_>, out: &mut Vec<Finding>) {
    if matches!(file.kind, Kind::Code | Kind::Config)
        && dev_prod_parity::may_switch_databases(file.text.as_bytes())
    {
        dev_prod_parity::database_switch(file, out);
    }
    if files::is_dockerfile(file.name) {
        let instructions = dockerfile::parse(file.text);
        dependencies::base_images(file.path, &instructions, out);
        dependencies::image_installs(file.path, &instructions, out);
        config::dockerfile_secrets(file.path, &instructions, out);
        disposability::dockerfile(file.path, &instructions, out);
    } else if file.name == "pom.xml" {
        dependencies::pom(file, out);
    } else if is_requirements(file.path, file.name) {
        dependencies::requirements(file, out);
    } else if logs::is_laravel_logging(file.path) {
        logs::laravel_default_channel(file, out);
    } else {
        config::framework_passwords(file, out);
        processes::express_session(file, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::clues::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_factor_scoped_and_documented() {
        let mut seen = HashSet::new();
        for rule in all() {
            assert!(seen.insert(rule.id), "duplicate {}", rule.id);
            let (slug, name) = rule.id.split_once('/').unwrap();
            assert_eq!(slug, rule.factor.slug(), "{}", rule.id);
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.id
            );
            for text in [rule.summary, rule.explanation, rule.fix] {
                assert!(!text.is_empty() && text.len() <= 1000, "{}", rule.id);
            }
        }
        for pattern in PATTERNS.iter() {
            assert!(
                pattern.rule().is_none_or(|rule| all().any(|r| r == rule)),
                "pattern of a rule no factor lists: {:?}",
                pattern.rule()
            );
        }
        for factor in crate::audit::finding::Factor::ALL {
            assert!(all().any(|r| r.factor == factor), "{factor:?} has no rule");
        }
    }

    /// (rule, file path, true positives, false positives): each line is scanned as the whole
    /// content of a file at that path, as the walk would, verifiers included.
    const CONTENT_CASES: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "config/generic-secret",
            "app.py",
            &[
                "api_key = \"9f8e7d6c5b4a3f2e1d0cb7a1\"",
                "DB_PASSWORD = 'Tr0ub4dor&3xyz'",
                "client_secret: \"q8Zx-3vLp0wNm7Rt\"",
                "authToken => 'aB3dE5fG7hJ9kL1m'",
            ],
            &[
                "password = \"changeme\"",
                "api_key = os.environ[\"API_KEY\"]",
                "token = \"${GITHUB_TOKEN}\"",
                "password_field = \"password_confirmation\"",
                "public_key = \"MFkwEwYHKoZIzj0CAQYIKoZI\"",
                "token_url = \"https://auth.example.com/token\"",
                "\"AWS::ApiGateway::ApiKey\": \"48205d4ffd7feba3\"",
                "Token.Prompt: '#ansibrightgreen'",
                "\"output_token\": \"StreamDescription.Shards[-1].ShardId\"",
                "\"SecretTargetAttachment\": \"3bf4404734c82308aa\"",
                "secret = \"aaaaaaaaaaaa\"",
                "\"PasswordLastUsed\": \"2016-09-08T21:47:36Z\"",
                "\"ServiceSpecificCredentials\": \"arn:aws:iam::aws:policy/IAMSelfManage\"",
                "\"\"\"Response:\n    {\"token\": \"q8Zx-3vLp0wNm7Rt\"}\n\"\"\"",
                "APP_AUTH_TOKEN_PREFIX = \"app_auth_token:\"",
                "secret_key = \"K8S_RUNTIME_\"",
                "password_rule = \"validation.password.min\"",
                "'password' => 'required|string|min:8',",
            ],
        ),
        (
            "config/generic-secret",
            "config/routes.rb",
            &["  SECRET_TOKEN = \"q8Zx-3vLp0wNm7Rt\""],
            &[
                "  post \"/users/:user_id/webhooks/:agent_id/:secret\" => \"web_requests#handle_request\"",
                "  get \"/hooks/:token\" => \"hooks#show\"",
                "  description <<~MD\n    \"unique_token\": \"xy_fej9Llg4\",\n  MD\n",
            ],
        ),
        (
            "config/credentialed-url",
            "config/database.yml",
            &["production:\n  url: postgres://shop:Hk2Lp9Qr4T@db.internal/shop\n"],
            &[
                "#   DATABASE_URL=\"postgres://myuser:mypass@localhost/somedatabase\"",
                "  url: <%= ENV['DATABASE_URL'] %>",
            ],
        ),
        (
            "config/credentialed-url",
            "app/db.py",
            &[
                "conn = psycopg2.connect(\"host=db.internal dbname=shop user=shop password=Hk2Lp9Qr4T\")",
                "CS = \"Server=sql.internal;Database=shop;User Id=sa;Password=Hk2Lp9Qr4T;\"",
            ],
            &[
                "conn = psycopg2.connect(\"host=db dbname=shop user=shop password=${DB_PASSWORD}\")",
                "conn = psycopg2.connect(\"host=db password=changeme\")",
                "# host=db password=Hk2Lp9Qr4T",
            ],
        ),
        (
            "config/credentialed-url",
            ".github/workflows/tests.yml",
            &[],
            &["      DATABASE_URL: \"postgres://saleor:saleor@postgres:5432/saleor\""],
        ),
        (
            "config/credentialed-url",
            "shop/settings.py",
            &["DATABASE_URL = \"postgres://shop:Hk2Lp9Qr4T@db.internal/shop\""],
            &[
                "DATABASES = {\n    \"default\": dj_database_url.config(\n        env=dj_database_url.DEFAULT_ENV,\n        default=\"postgres://saleor:saleor@localhost:5432/saleor\",\n    ),\n}",
            ],
        ),
        (
            "logs/file-sink",
            "config/environments/production.rb",
            &[
                "  config.logger = Logger.new(\"log/production.log\")",
                // lobsters: stdout and a file.
                "    ActiveSupport::Logger.new(Rails.root.join(\"log/rails.log\"))",
            ],
            &[
                "    ActiveSupport::Logger.new($stdout),",
                "  config.logger = Logger.new(\"/dev/stdout\")",
            ],
        ),
        (
            "config/generic-secret",
            "docs/.vitepress/config.mts",
            &[],
            // Algolia DocSearch's search-only key ships to every reader (koel's docs).
            &["        apiKey: 'e9d7b5be73f29af4030535a726ec7196',"],
        ),
        (
            "config/private-key",
            "scripts/test-environments/authelia/configuration.yml",
            &[],
            // A key generated for a test environment (linkding).
            &[
                "        key: |\n          -----BEGIN PRIVATE KEY-----\n          MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCuS2pK2VzqW+Sn\n          hBATps7vo2AdZCtF3p+FOJ4WEwQoiJarS0pAJxKn4BT9PHP1gY8XCs45Qys586xQ\n",
            ],
        ),
        (
            "config/credentialed-url",
            "Makefile",
            &["DEPLOY_DB := postgres://deploy:Hk2Lp9Qr4T@db.internal/shop"],
            // A password that is the user name is the image's default (miniflux's Makefile).
            &["DB_URL := postgres://postgres:postgres@localhost/miniflux_test?sslmode=disable"],
        ),
        (
            "config/generic-secret",
            "internal/locale/translations/de_DE.json",
            &[],
            // Translation catalogs: UI text under keys that name credentials (miniflux).
            &["    \"form.integration.espial_api_key\": \"Espial-API-Schlüssel\","],
        ),
        (
            "dependencies/undeclared-tool",
            "bin/create-app.js",
            &["    await execSync('yarnpkg install', { stdio: 'ignore' });"],
            // Asking for the version is asking whether it is there (node-express-boilerplate).
            &["    await execSync('yarnpkg --version', { stdio: 'ignore' });"],
        ),
        (
            "dependencies/undeclared-tool",
            "lib/tasks/deploy.rb",
            &[],
            // A command-prefix assignment is not the program.
            &["  `RAILS_ENV=production bundle exec rake assets:precompile`"],
        ),
        (
            "dependencies/undeclared-tool",
            ".github/workflows/scripts/commit-checker.py",
            &[],
            // CI's scripts run on CI's machines (miniflux).
            &[
                "    result = subprocess.run([\"git\", \"log\", \"--format=%s\"], capture_output=True)",
            ],
        ),
        (
            "backing-services/hardcoded-address",
            ".travis.yml",
            &[],
            &["    - MONGODB_URL=mongodb://localhost:27017/node-boilerplate"],
        ),
        (
            "backing-services/hardcoded-address",
            "shop/settings.py",
            &["REDIS = \"redis://localhost:6379/0\""],
            &[
                "CACHE = cache_url.config(\n    env=\"REDIS_URL\",\n    default=\"redis://localhost:6379/0\",\n)",
                "    \"LOCATION\": SECRETS.get(\"cache_default_url\", \"redis://localhost:6379\"),",
            ],
        ),
        (
            "config/generic-secret",
            "config/secrets.yml",
            &["production:\n  api_token: 86bc88971370072b5c3fb0122870b37ce0750d2c\n"],
            &[
                "development:\n  api_token: 86bc88971370072b5c3fb0122870b37ce0750d2c\n",
                "test:\n  api_token: 189f8e836260fb93a522a78e6a157b34178bd09d\n",
            ],
        ),
        (
            "config/private-key",
            "shop/tests/conftest.py",
            &[],
            &[
                "KEY = \"\"\"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAr7Zq8Lm3Xr7Tn2Vb9Wc4YdKp6Hs1Jf5Gu0EaQ2wR8Xk9mQ2vT7\n\"\"\"",
            ],
        ),
        (
            "config/credentialed-url",
            "app/models/agent.rb",
            &["URI = 'mqtt://kcqlmkgx:sVNoccqwvXxE@m10.cloudmqtt.com:13858'"],
            &[
                "description <<~MD\n  'uri' => 'mqtt://kcqlmkgx:sVNoccqwvXxE@m10.cloudmqtt.com:13858',\nMD\n",
            ],
        ),
        (
            "config/generic-secret",
            "config/app.yml",
            &[
                "  db_password: hunter2Tr0ub4dor",
                "api-key: 8c1f0a7e-55b2-4b8e-9d0f-3a1b2c3d4e5f",
            ],
            &[
                "  password: ${DB_PASSWORD}",
                "token_ttl: 3600",
                "secret_name: prod-db-credentials",
            ],
        ),
        (
            "config/credentialed-url",
            "settings.py",
            &[
                "DB = \"postgres://app:s3cr3tPw@db.internal:5432/app\"",
                "amqp://guest:Zq8Xw2Vb@rabbit/",
            ],
            &[
                "postgres://user:password@localhost/db",
                "postgres://app:${DB_PASSWORD}@db/app",
                "https://user:pass@example.com",
                "redis://:@localhost:6379",
                "mailto:user@example.com",
            ],
        ),
        (
            "backing-services/hardcoded-address",
            "app.py",
            &[
                "REDIS = \"redis://localhost:6379/0\"",
                "client = MongoClient(\"mongodb://127.0.0.1/app\")",
                "conn = connect(\"localhost:5432\")",
            ],
            &[
                "REDIS = os.environ.get(\"REDIS_URL\", \"redis://localhost:6379/0\")",
                "API = \"http://localhost:8000\"",
                "REDIS = \"redis://cache.internal:6379\"",
            ],
        ),
        (
            "backing-services/hardcoded-address",
            "tests/test_db.py",
            &[],
            &["DB = \"postgres://localhost/test\""],
        ),
        (
            "port-binding/hardcoded-port",
            "server.js",
            &["app.listen(3000);", "server.listen(8080, () => {})"],
            &["app.listen(process.env.PORT || 3000);", "app.listen(port);"],
        ),
        (
            "port-binding/hardcoded-port",
            "deploy/app-uwsgi.ini",
            &["[uwsgi]\nhttp = 127.0.0.1:8080\n", "socket = :3031\n"],
            &["http = :$(PORT)\n"],
        ),
        (
            "port-binding/hardcoded-port",
            "src/main/resources/application.properties",
            &[],
            // Spring Boot reads `SERVER_PORT` before any file: the literal is a default.
            &["server.port=8080\n"],
        ),
        (
            "dependencies/unpinned-deployed-image",
            "terraform/main.tf",
            &[
                "      image = \"docker.io/acme/app:latest\"\n",
                "  image = \"ghcr.io/acme/app\"\n",
            ],
            &[
                "  image = \"ghcr.io/acme/app:1.4.2\"\n",
                "  image = \"${var.image}\"\n",
            ],
        ),
        (
            "port-binding/hardcoded-port",
            "main.go",
            &["http.ListenAndServe(\":8080\", nil)"],
            &["http.ListenAndServe(\":\"+os.Getenv(\"PORT\"), nil)"],
        ),
        (
            "port-binding/hardcoded-port",
            "app.py",
            &["app.run(host=\"0.0.0.0\", port=5000)"],
            &[
                "app.run(port=int(os.environ.get(\"PORT\", 5000)))",
                "app.run(debug=True)",
            ],
        ),
        (
            "dependencies/undeclared-tool",
            "worker.py",
            &[
                "subprocess.run([\"convert\", \"a.png\", \"b.jpg\"])",
                "subprocess.check_output(\"ffmpeg -i in.mp4 out.webm\", shell=True)",
                "os.system(\"curl -s https://example.com\")",
            ],
            &[
                "subprocess.run([sys.executable, \"-m\", \"pip\"])",
                "subprocess.run([\"python3\", \"manage.py\"])",
                "subprocess.run([\"sh\", \"-c\", cmd])",
                "subprocess.run([\"./bin/tool\"])",
            ],
        ),
        (
            "dependencies/undeclared-tool",
            "app.js",
            &[
                "execSync(\"wkhtmltopdf page.html out.pdf\")",
                "spawn('ffmpeg', args)",
            ],
            &[
                "const s = `hello ${name}`;",
                "regex.exec(text)",
                "spawn(process.execPath, args)",
            ],
        ),
        (
            "dependencies/undeclared-tool",
            "lib/thumb.rb",
            &[
                "`convert #{path} out.png`",
                "system(\"curl -O #{url}\")",
                "out = %x(ffmpeg -i #{a})",
                "list = <<~`SH`\n  rsync -a x y\nSH\n",
            ],
            &[
                "puts \"`quoted` in a string\"",
                "description <<~MD\n  Set `recipients` to a list;\n  `headline` is optional.\nMD\n",
                "# run `rake db:migrate` first",
                "=begin\n`git pull`\n=end\n",
                "x = 'use `curl` here'",
                "`cd /srv && git pull`",
            ],
        ),
        (
            "dependencies/undeclared-tool",
            "app/views/agents/help.md.erb",
            &["<%= `hostname` %>"],
            &["Run `bundle exec rake` to start.\n<% if x %>`hostname`<% end %>"],
        ),
        (
            "dependencies/undeclared-tool",
            "tasks.py",
            &["subprocess.run([\"convert\", a])"],
            &[
                "\"\"\"Example:\n    subprocess.run([\"ffmpeg\", x])\n\"\"\"",
                "x = 1  # os.system(\"curl x\")",
            ],
        ),
        (
            "dependencies/undeclared-tool",
            "src/main.rs",
            &["use std::process::Command;\nfn main() { Command::new(\"ffmpeg\").status(); }"],
            &[
                "use clap::Command;\nfn cli() { Command::new(\"myprog\").arg(x); }",
                "use std::process::Command;\n/// let out = Command::new(\"ls\");\n// Command::new(\"git\")",
            ],
        ),
        (
            "logs/file-sink",
            "app.py",
            &[
                "handler = logging.FileHandler(\"app.log\")",
                "logging.handlers.RotatingFileHandler(path)",
                "logging.basicConfig(filename=\"app.log\")",
                "accesslog = \"/var/log/gunicorn/access.log\"",
            ],
            &[
                "logging.StreamHandler(sys.stdout)",
                "file_handler = FileHandler()",
                "accesslog = \"-\"",
                "logging.basicConfig(stream=sys.stdout)",
            ],
        ),
        (
            "logs/file-sink",
            "nginx.conf",
            // (The official image links its default paths to stdout and stderr: where the
            // deployment runs it, the project check drops them; tests/audit.rs.)
            &[
                "    access_log /var/log/nginx/shop.access.log main;",
                "    access_log /var/log/nginx/access.log main;",
            ],
            &["    access_log /dev/stdout;", "    access_log off;"],
        ),
        (
            "processes/local-session-store",
            "app.py",
            &[
                "SESSION_TYPE = \"filesystem\"",
                "SESSION_ENGINE = \"django.contrib.sessions.backends.file\"",
            ],
            &[
                "SESSION_TYPE = \"redis\"",
                "SESSION_ENGINE = \"django.contrib.sessions.backends.db\"",
                "# SESSION_TYPE = \"filesystem\"",
            ],
        ),
        (
            "processes/local-session-store",
            "config/environments/production.rb",
            &[
                "  config.session_store :memory_store",
                "  config.cache_store = :memory_store\n  config.session_store :cache_store",
            ],
            &[
                "  config.cache_store = :memory_store",
                "  # config.session_store :file_store",
                "  config.cache_store = :redis_cache_store\n  config.session_store :cache_store",
            ],
        ),
        (
            "processes/local-state-file",
            "config/environments/production.rb",
            &["  config.active_storage.service = :local"],
            &["  config.active_storage.service = :amazon"],
        ),
        (
            "processes/local-state-file",
            "config/environments/development.rb",
            &[],
            &["  config.active_storage.service = :local"],
        ),
        (
            "logs/file-sink",
            "config/puma.rb",
            &[
                "stdout_redirect \"log/puma.log\", \"log/puma_err.log\", true",
                "  stdout_redirect File.join(app_dir, \"log/stdout.log\"), File.join(app_dir, \"log/stderr.log\"), true",
                "stdout_redirect(Rails.root.join(\"log\", \"puma.log\"))",
            ],
            &[
                "stdout_redirect \"/dev/stdout\", \"/dev/stderr\"",
                "# stdout_redirect File.join(app_dir, \"log/stdout.log\")",
            ],
        ),
        (
            "logs/file-sink",
            "config/nginx/sites-enabled/app",
            &["server {\n  access_log /var/log/nginx/app.log;\n}"],
            &["server {\n  access_log /dev/stdout;\n}"],
        ),
        (
            "config/generic-secret",
            "config/newrelic.yml",
            &["production:\n  license_key: 8c1f0a7e55b24b8e9d0f3a1b2c3d4e5f6a7b8c9d\n"],
            &["production:\n  license_key: <%= ENV[\"NEW_RELIC_LICENSE_KEY\"] %>\n"],
        ),
        (
            "processes/local-session-store",
            "config/environments/test.rb",
            &[],
            &["  config.session_store :memory_store"],
        ),
        (
            "processes/local-state-file",
            "app.py",
            &[
                "engine = create_engine(\"sqlite:///app.db\")",
                "conn = sqlite3.connect(\"data.sqlite3\")",
                "UPLOAD_FOLDER = \"uploads\"",
            ],
            &[
                "conn = sqlite3.connect(\":memory:\")",
                "engine = create_engine(\"sqlite:////var/data/app.db\")",
            ],
        ),
        (
            "config/secret-fallback",
            "src/auth.ts",
            &[
                "const secret = process.env.JWT_SECRET || 'superSecret';",
                "secret: process.env[\"SESSION_SECRET\"] ?? \"x9f8e7d6\",",
            ],
            &[
                "const secret = process.env.JWT_SECRET || '';",
                "const url = process.env.TOKEN_URL || 'https://auth.example.com/token';",
                "// process.env.JWT_SECRET || 'superSecret'",
            ],
        ),
        (
            "config/secret-fallback",
            "shop/settings.py",
            &[
                "SECRET_KEY = os.environ.get(\"SECRET_KEY\", \"django-insecure-3f9a\")",
                "TOKEN = env.str('API_TOKEN', default='t0k3n')",
            ],
            &[
                "SECRET_KEY = os.environ.get(\"SECRET_KEY\")",
                "SECRET_KEY = os.environ.get(\"SECRET_KEY\", None)",
                "PASSWORD_FILE = os.getenv(\"DB_PASSWORD_FILE\", \"/run/secrets/db\")",
                "RESET = os.environ.get(\"THROTTLE_PASS_RESET_PATTERN\", \"10/hour\")",
                "LOCK = os.environ.get(\"RESET_PASSWORD_LOCK_TIME\", \"15 minutes\")",
                "'passwords' => env('AUTH_PASSWORD_BROKER', 'users'),",
            ],
        ),
        (
            "config/secret-fallback",
            "config/app.php",
            &["    'key' => env('APP_KEY', 'base64:Zm9vYmFyYmF6'),"],
            &[
                "    'key' => env('APP_KEY'),",
                "    'password' => env('DB_PASSWORD', ''),",
            ],
        ),
        (
            "config/secret-fallback",
            "docker-compose.yml",
            &["      SECRET_KEY_BASE: ${SECRET_KEY_BASE:-0123456789abcdef}"],
            &[
                "      SECRET_KEY_BASE: ${SECRET_KEY_BASE:?set it}",
                "      DB: ${DB_PASSWORD:-$FALLBACK}",
            ],
        ),
        (
            "admin-processes/work-at-start",
            "internal/db/db.go",
            &["\tif err := db.AutoMigrate(&User{}, &Gist{}); err != nil {"],
            &["\t// db.AutoMigrate(&User{})"],
        ),
        (
            "admin-processes/work-at-start",
            "cmd/migrate/main.go",
            &[],
            &["\tif err := db.AutoMigrate(&User{}); err != nil {"],
        ),
        (
            "admin-processes/work-at-start",
            "docker/uwsgi.ini",
            &["hook-pre-app = exec:./manage.py migrate"],
            &["hook-pre-app = exec:./manage.py compilemessages"],
        ),
        (
            "logs/file-sink",
            "app/core/logconf.prod.json",
            &["      \"class\": \"logging.handlers.RotatingFileHandler\","],
            &["      \"class\": \"logging.StreamHandler\","],
        ),
        (
            "processes/local-session-store",
            "config/session.php",
            &["    'driver' => env('SESSION_DRIVER', 'file'),"],
            &["    'driver' => env('SESSION_DRIVER', 'redis'),"],
        ),
        (
            "processes/local-session-store",
            "internal/web/store.go",
            &["\tstore := sessions.NewFilesystemStore(path, key)"],
            &["\tstore := sessions.NewCookieStore(key)"],
        ),
        (
            "build-release-run/build-time-public-config",
            "pages/index.tsx",
            &[
                "const id = process.env.NEXT_PUBLIC_ANALYTICS_ID;",
                "import.meta.env.VITE_API_URL",
            ],
            &["process.env.API_URL", "const NEXT_PUBLIC_X = 1"],
        ),
    ];

    #[test]
    fn every_content_rule_finds_its_true_positives_and_none_of_its_false_positives() {
        use crate::audit::scan::Scanners;
        use crate::audit::walk::{Options, Walked, scan_file};
        let scanners = Scanners::new(&PATTERNS);
        let found = |path: &str, text: &str, rule: &str| {
            let mut walked = Walked::default();
            scan_file(
                path,
                text.as_bytes(),
                &scanners,
                &Options::default(),
                &mut walked,
            );
            walked.findings.iter().any(|f| f.rule == rule)
        };
        for (rule, path, positives, negatives) in CONTENT_CASES {
            for text in *positives {
                assert!(found(path, text, rule), "{rule} missed in {path}: {text}");
            }
            for text in *negatives {
                assert!(!found(path, text, rule), "{rule} matched in {path}: {text}");
            }
        }
        let covered: HashSet<&str> = CONTENT_CASES
            .iter()
            .filter(|c| !c.2.is_empty())
            .map(|c| c.0)
            .chain(
                config::SECRETS
                    .iter()
                    .filter_map(|p| p.rule().map(|r| r.id)),
            )
            .chain(config::providers::tests::CASES.iter().map(|c| c.0))
            .collect();
        for rule in PATTERNS.iter().filter_map(|p| p.rule()) {
            assert!(covered.contains(rule.id), "{} has no cases", rule.id);
        }
    }

    #[test]
    fn values_that_repeat_their_key() {
        assert!(names_its_key("aws.secret.access.key=", "access_key"));
        assert!(names_its_key("AWS_SECRET_ACCESS_KEY", "access_key"));
        assert!(names_its_key("DB_PASSWORD", "password"));
        assert!(!names_its_key("DB_PASSWORD", "ftgo_password"));
        assert!(!names_its_key("SECRET_KEY", "x7Hq9secret"));
        assert!(!names_its_key("SECRET_KEY", ""));
    }

    #[test]
    fn placeholders_and_entropy() {
        for value in [
            "changeme",
            "${DB_PASSWORD}",
            "$SECRET",
            "<your-api-key>",
            "os.environ['X']",
            "xxxxxxxx",
            "{{ vault_pw }}",
            "your_password_here",
        ] {
            assert!(is_placeholder(value), "{value}");
        }
        for value in ["hunter2hunter2", "s3cr3tP4ss!", "Zm9vYmFyYmF6cXV4"] {
            assert!(!is_placeholder(value), "{value}");
        }
        assert!(entropy("aaaaaaaa") < 0.1);
        assert!(entropy("Zm9vYmFyYmF6cXV4") > 3.0);
    }
}
