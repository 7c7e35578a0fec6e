//! Factor VI, Processes: execute the app as one or more stateless processes.

use crate::audit::files::{self, Kind, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{File, Project};
use crate::audit::rule::{Role, Roles, Rule};
use crate::audit::scan::{Fact, Pattern};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &PROBE_WRITES_APP_DIR,
        &LOCAL_SESSION_STORE,
        &LOCAL_STATE_FILE,
    ],
    patterns: &[PATTERNS],
    check,
};

pub static PROBE_WRITES_APP_DIR: Rule = Rule {
    id: "processes/probe-writes-app-dir",
    factor: Factor::VI,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process wrote files into its own directory",
    explanation: "`dozen audit --probe` compared the app's copy before and after running the type: it created or changed files there (pid files, SQLite databases, uploads, caches). On a platform that state is lost with the instance and invisible to the others; a release's build tree may even be read-only.",
    fix: "Keep state in a backing service; use the temporary directory for scratch files.",
};

pub static LOCAL_SESSION_STORE: Rule = Rule {
    id: "processes/local-session-store",
    factor: Factor::VI,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Sessions kept in process memory or on local disk",
    explanation: "Processes are stateless and share nothing: the next request may reach another process, and a process can be restarted at any time. Sessions in memory or in local files are lost on restart and invisible to the other instances, which is why they push teams to sticky sessions, a violation of their own.",
    fix: "Keep sessions in a backing service (Redis, Memcached, the database) or in signed cookies.",
};

pub static LOCAL_STATE_FILE: Rule = Rule {
    id: "processes/local-state-file",
    factor: Factor::VI,
    severity: Severity::Warning,
    roles: Roles::of(&[Role::Production, Role::Development]),
    summary: "State kept in files in the app directory (SQLite databases, uploads, pid files)",
    explanation: "The filesystem of a process is a scratch space for a single transaction: anything written there is gone when the process or its machine is replaced, and other instances never see it. Data that must persist lives in a stateful backing service.",
    fix: "Use a database service for data and object storage for uploads; do not commit database or pid files.",
};

pub static PATTERNS: &[Pattern] = &[
    Pattern::new(
        &LOCAL_SESSION_STORE,
        r#"\bnew\s+(?:session\.)?MemoryStore\b|SESSION_TYPE["']?\]?\s*[=:]\s*["']filesystem["']|SESSION_ENGINE\s*=\s*["']django\.contrib\.sessions\.backends\.file["']|session_store\s*[=:(]?\s*:(?:file_store|memory_store|cache_store)|\bsessions\.NewFilesystemStore\(|['"]driver['"]\s*=>\s*env\(\s*['"]SESSION_DRIVER['"]\s*,\s*['"]file['"]"#,
        "sessions kept in process memory or on local disk",
        Kinds::SHIPPED,
    )
    .verify(production_config),
    // Active Storage on the local disk, outside development and test.
    Pattern::new(
        &LOCAL_STATE_FILE,
        r#"\bconfig\.active_storage\.service\s*=\s*(?:(:local)\b|ENV\.fetch\(\s*["'][A-Z_]+["']\s*,\s*["'](local)["']\s*\))"#,
        "uploads kept on the local disk (Active Storage's :local service, or its default)",
        Kinds::SHIPPED,
    )
    .verify(production_config),
    // The app rewriting its own `.env` as it runs (a setup wizard, a settings page): config
    // changed on one instance's disk, which the next deploy or a second instance never sees.
    Pattern::new(
        &LOCAL_STATE_FILE,
        r#"\b(file_put_contents)\s*\(|\b(?:writeFileSync|writeFile|appendFileSync|appendFile)\(\s*[^,)\n]*["'`][^"'`\n]*(\.env)["'`]|\b(set_key)\(\s*[^,)\n]*\.env|\bopen\(\s*["'][^"'\n]*(\.env)["']\s*,\s*["'][wa]|\bFile\.write\(\s*["'][^"'\n]*(\.env)["']"#,
        "the app rewrites its own env file as it runs: config belongs in the environment, and another instance never sees the change",
        Kinds::CODE,
    )
    .verify(writes_env_file)
    .gate(r"file_put_contents|writeFile|appendFile|set_key|\.env"),
    Pattern::fact(
        Fact::StoresFiles,
        r#"\b(?:models\.)?(?:File|Image)Field\(|\bwagtail\.images\b|\bdefault_storage\.save\(|\bStorage::(?:disk|put|putFile|putFileAs|writeStream)\(|->(?:storeAs|storePublicly|storePubliclyAs)\(|->store\(\s*['"]"#,
        Kinds::CODE,
    )
    .gate(r"Field\(|wagtail\.images|default_storage|Storage::|->store"),
    // A secret the app generates and writes to a file at first start (`with open(key_file,
    // 'x') as f: f.write(get_random_secret_key())`): each instance makes its own, and a new
    // one forgets it (signed sessions and tokens stop verifying).
    Pattern::new(
        &LOCAL_STATE_FILE,
        r"(?:\.write|\bwrite_text|\bwriteFileSync|\bwriteFile|\bFile\.write|\bos\.WriteFile|\bfs::write)\([^)\n]*?\b(get_random_secret_key|token_hex|token_urlsafe|token_bytes|randomBytes|SecureRandom\.\w+|rand\.Read)\b",
        "the app generates a secret and keeps it in a local file: each instance makes its own, and a new one starts without it",
        Kinds::CODE,
    )
    .verify(writes_a_file)
    .gate("get_random_secret_key|token_hex|token_urlsafe|token_bytes|randomBytes|SecureRandom|rand\\.Read"),
    Pattern::new(
        &LOCAL_STATE_FILE,
        r#"jdbc:sqlite:([^/\s'"${][^\s'"]*)|sqlite3?:///([^/\s'"][^\s'"]*)|sqlite3\.connect\(\s*["']([^"':][^"']*)["']|\bUPLOAD_FOLDER\s*=\s*["']([^"']+)["']|\bmulter\(\s*\{\s*dest\s*:\s*["']([^"']+)["']"#,
        "state written to a file in the app directory",
        Kinds::SHIPPED,
    ),
];

/// A `.write(` is a file's when the file was opened just before (`with open(path, 'x') as
/// f:`); the other calls name a file themselves. Not a test's.
fn writes_a_file(hit: &crate::audit::scan::Hit<'_>) -> bool {
    if files::is_test_path(hit.path) {
        return false;
    }
    if !hit.matched.starts_with(".write") {
        return true;
    }
    let before = &hit.content[hit.at.saturating_sub(300)..hit.at];
    memchr::memmem::find(before, b"open(").is_some()
}

/// PHP's `file_put_contents` counts where the file names the env file it writes
/// (`app()->environmentFile()`, `environmentFilePath()`, `'.env'`); the other forms name it in
/// the call.
fn writes_env_file(hit: &crate::audit::scan::Hit<'_>) -> bool {
    // A command of the app's own (`php artisan key:rotate`) is an admin task run on purpose.
    let command = hit.path.split('/').any(|part| {
        let part = part.to_ascii_lowercase();
        [
            "commands",
            "command",
            "management",
            "tasks",
            "console",
            "cli",
        ]
        .contains(&part.as_str())
    });
    if command {
        return false;
    }
    if hit.evidence != "file_put_contents" {
        return true;
    }
    [&b"environmentFile"[..], b"'.env'", b"\".env\""]
        .iter()
        .any(|needle| memchr::memmem::find(hit.content, needle).is_some())
}

/// Not a test's or a development machine's settings: `config/environments/test.rb` and
/// `development.rb`, Django's `settings/test.py` and `dev.py`, test paths.
fn production_config(hit: &crate::audit::scan::Hit<'_>) -> bool {
    // Rails' `session_store :cache_store` keeps sessions wherever the cache is: local only
    // when the same file puts the cache in memory or on disk (a cache alone is not state).
    static LOCAL_CACHE: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"cache_store\s*=\s*:(?:memory_store|file_store)")
            .expect("a valid pattern")
    });
    if hit.matched.ends_with(":cache_store") && !LOCAL_CACHE.is_match(hit.content) {
        return false;
    }
    let name = files::name(hit.path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let environment_file = hit.path.contains("environments/") || hit.path.contains("settings/");
    let development = matches!(stem, "test" | "testing" | "development" | "dev" | "local");
    !(files::is_test_path(hit.path) || environment_file && development)
}

/// express-session with no `store`: its default `MemoryStore` (which its own docs say is not
/// for production).
pub fn express_session(file: &File<'_>, out: &mut Vec<Finding>) {
    if file.kind != Kind::Code || !file.text.contains("express-session") {
        return;
    }
    let Some(call) = file.text.find("session({") else {
        return;
    };
    let options = &file.text[call..];
    let end = options.find("})").unwrap_or(options.len());
    if options[..end].contains("store") {
        return;
    }
    out.push(Finding::new(
        &LOCAL_SESSION_STORE,
        file.path,
        file.position(call),
        "express-session without a store keeps sessions in process memory".to_owned(),
        "session({",
        false,
    ));
}

/// A Spring Boot datasource of production's config that is an embedded database's file
/// (`jdbc:h2:file:`, `r2dbc:h2:file:`, `jdbc:hsqldb:file:`, `jdbc:derby:`).
fn spring_embedded_database(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, property) in project.spring_properties() {
        if property.key.rsplit('.').next() != Some("url") {
            continue;
        }
        let url = property.effective().to_ascii_lowercase();
        let file = ["h2:file:", "h2:~", "h2:./", "hsqldb:file:", "jdbc:derby:"]
            .iter()
            .any(|form| url.contains(form));
        if !file {
            continue;
        }
        out.push(Finding::new(
            &LOCAL_STATE_FILE,
            path,
            (property.line, 1),
            format!(
                "`{}` is an embedded database in a local file: the data lives on one instance's disk",
                property.key
            ),
            &property.key,
            false,
        ));
    }
}

/// Files the app stores (uploads, exports) going to the local disk by default: Django's
/// default storage, or a Laravel app's default disk, on the local filesystem. Object storage
/// that only an environment variable turns on is still not the default.
fn uploads_on_local_disk(project: &Project<'_>, out: &mut Vec<Finding>) {
    let Some(model) = project.model else {
        return;
    };
    let stores = |extensions: &[&str]| {
        project
            .facts(Fact::StoresFiles)
            .any(|f| !files::is_test_path(&f.path) && files::has_extension(&f.path, extensions))
    };
    let django: Vec<(&str, String)> = model
        .config
        .iter()
        .filter(|c| c.why.starts_with("the Django settings") || c.why == "Django settings")
        .filter_map(|c| project.read(&c.path).map(|text| (c.path.as_str(), text)))
        .collect();
    django_sqlite_only(&django, out);
    if !django.is_empty()
        && stores(&["py"])
        && !django.iter().any(|(_, t)| remote_default_storage(t))
    {
        if let Some((path, line)) = django.iter().find_map(|(path, text)| {
            text.lines()
                .position(|l| l.starts_with("MEDIA_ROOT") && l.contains('='))
                .map(|i| (*path, i + 1))
        }) {
            out.push(Finding::new(
                &LOCAL_STATE_FILE,
                path,
                (line, 1),
                "uploaded files go to MEDIA_ROOT on the local disk (Django's default storage): another instance never sees them, and a new one starts without them".to_owned(),
                "MEDIA_ROOT",
                false,
            ));
        }
    }
    if !stores(&["php"]) {
        return;
    }
    for config in model
        .config
        .iter()
        .filter(|c| c.why == "Laravel config" && files::name(&c.path) == "filesystems.php")
    {
        let Some(text) = project.read(&config.path) else {
            continue;
        };
        if let Some((line, disk)) = laravel_local_default_disk(&text) {
            out.push(Finding::new(
                &LOCAL_STATE_FILE,
                &config.path,
                (line, 1),
                format!("the default disk `{disk}` is the local filesystem: files the app stores stay on one instance's disk"),
                &disk,
                false,
            ));
        }
    }
}

/// Django settings whose only database engine is `SQLite`: the data is a file on one
/// instance's disk (not when any settings module can name a server database, or reads a
/// `DATABASE_URL`).
fn django_sqlite_only(settings: &[(&str, String)], out: &mut Vec<Finding>) {
    let server = [
        "postgresql",
        "postgis",
        "mysql",
        "oracle",
        "mssql",
        "database_url",
        "env.db(",
        "db_url(",
    ];
    if settings.iter().any(|(_, text)| {
        let lower = text.to_ascii_lowercase();
        server.iter().any(|s| lower.contains(s))
    }) {
        return;
    }
    let found = settings.iter().find_map(|(path, text)| {
        text.lines()
            .position(|l| {
                !l.trim_start().starts_with('#') && l.contains("django.db.backends.sqlite3")
            })
            .map(|i| (*path, i + 1))
    });
    if let Some((path, line)) = found {
        out.push(Finding::new(
            &LOCAL_STATE_FILE,
            path,
            (line, 1),
            "the only database is SQLite: the data is a file on one instance's disk, which another instance never sees".to_owned(),
            "django.db.backends.sqlite3",
            false,
        ));
    }
}

/// Whether Django settings put the default storage somewhere other than the filesystem,
/// unconditionally (at the top level): `DEFAULT_FILE_STORAGE = "storages…"`, a `STORAGES`
/// whose `"default"` backend is not `FileSystemStorage`, `STORAGES["default"]["BACKEND"] = …`.
fn remote_default_storage(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().any(|(index, line)| {
        let remote =
            |value: &str| value.contains("Storage") && !value.contains("FileSystemStorage");
        if line.starts_with("DEFAULT_FILE_STORAGE")
            || line.starts_with("STORAGES[") && line.contains("default")
        {
            return line.split_once('=').is_some_and(|(_, value)| remote(value));
        }
        if !line.starts_with("STORAGES") {
            return false;
        }
        // The block's `"default"` entry, to its first BACKEND.
        let block = lines[index + 1..]
            .iter()
            .take_while(|l| l.is_empty() || l.starts_with([' ', '\t']))
            .take(40);
        let mut in_default = false;
        for entry in block {
            let trimmed = entry.trim_start();
            if trimmed.starts_with("\"default\"") || trimmed.starts_with("'default'") {
                in_default = true;
            }
            if in_default && entry.contains("BACKEND") {
                return remote(entry.split("BACKEND").nth(1).unwrap_or(""));
            }
        }
        false
    })
}

/// The line and name of a Laravel filesystems config's default disk when its driver is
/// `local`: `'default' => env('FILESYSTEM_DISK', 'local')` (or any variable, or a literal).
fn laravel_local_default_disk(text: &str) -> Option<(usize, String)> {
    static LOCAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"['"]driver['"]\s*=>\s*['"]local['"]"#).expect("valid regex")
    });
    static DEFAULT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?m)^\s*['"]default['"]\s*=>\s*(?:env\(\s*['"]\w+['"]\s*,\s*)?['"]([\w-]+)['"]"#,
        )
        .expect("valid regex")
    });
    let found = DEFAULT.captures(text)?;
    let disk = found[1].to_owned();
    let at = found.get(1)?.start();
    let start = [format!("'{disk}' => ["), format!("\"{disk}\" => [")]
        .iter()
        .find_map(|opening| text.find(opening.as_str()))?;
    let block = &text[start..];
    let end = block.find(']').unwrap_or(block.len());
    let local = LOCAL.is_match(&block[..end]);
    local.then(|| (text[..at].lines().count().max(1), disk))
}

/// Pid files and `SQLite` databases in the app directory that git does not ignore.
pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    spring_embedded_database(project, out);
    uploads_on_local_disk(project, out);
    for path in project.files {
        let name = files::name(path);
        let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
        let what = match extension {
            "pid" => "a pid file",
            "sqlite" | "sqlite3" | "db" => "a database file",
            _ => continue,
        };
        if files::is_test_path(path) {
            continue;
        }
        // The walk saw it, so it is not ignored: committed, or on its way to being.
        let committed = project.tracked.is_some_and(|t| t.contains(path.as_str()));
        out.push(Finding::new(
            &LOCAL_STATE_FILE,
            path,
            (1, 1),
            if committed {
                format!("{what} is committed in the app directory")
            } else {
                format!("{what} in the app directory, not ignored by git")
            },
            name,
            false,
        ));
    }
}
