//! Factor X, Dev/prod parity: keep development, staging and production as similar as possible.

use std::collections::BTreeMap;

use crate::app::env_file::Value;
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{File, Project};
use crate::audit::rule::{Role, Roles, Rule};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&ENV_KEY_SETS_DIFFER, &BACKING_SERVICE_KINDS_DIFFER],
    patterns: &[],
    check,
};

pub static ENV_KEY_SETS_DIFFER: Rule = Rule {
    id: "dev-prod-parity/env-key-sets-differ",
    factor: Factor::X,
    severity: Severity::Warning,
    roles: Roles::of(&[Role::Production, Role::Development]),
    summary: "Environments define different sets of config keys",
    explanation: "Development and production run the same code with different config values, not different config. A key set in one environment and missing in another is code paths that only one of them exercises, and the classic way a deploy fails on a variable nobody set.",
    fix: "Define the key in every environment's env files (an empty or local value in development), or remove it where it is unused.",
};

pub static BACKING_SERVICE_KINDS_DIFFER: Rule = Rule {
    id: "dev-prod-parity/backing-service-kinds-differ",
    factor: Factor::X,
    severity: Severity::Warning,
    roles: Roles::of(&[Role::Production, Role::Development]),
    summary: "One config key points to different kinds of backing service across environments",
    explanation: "Using SQLite in development and PostgreSQL in production (or an in-memory cache against Memcached) means the code is tested against a service it never runs on in production: adapters paper over the differences until a query, a lock or a type behaves differently.",
    fix: "Run the same kind of service in development (a local container is cheap) and point the key at it.",
};

/// Where a key is defined: app-relative path, line, column; and the service kind of its value.
struct Definition {
    path: String,
    line: usize,
    column: usize,
    kind: Option<&'static str>,
}

/// The family of backing service a URL's scheme names.
pub fn service_kind(value: &str) -> Option<&'static str> {
    let scheme = value.split_once("://")?.0.to_ascii_lowercase();
    Some(match scheme.as_str() {
        "postgres" | "postgresql" | "postgis" => "postgres",
        "mysql" | "mysql2" | "mariadb" => "mysql",
        "sqlite" | "sqlite3" => "sqlite",
        "redis" | "rediss" => "redis",
        "memcached" | "memcache" => "memcached",
        "mongodb" | "mongodb+srv" => "mongodb",
        "amqp" | "amqps" => "amqp",
        "sqlserver" | "mssql" => "sqlserver",
        _ => return None,
    })
}

/// Each environment with its own env files, and the keys its stack defines.
fn environments(project: &Project<'_>) -> Vec<(String, BTreeMap<String, Definition>)> {
    let mut seen_stacks = Vec::new();
    let mut result = Vec::new();
    for name in project.app.environments() {
        // A test environment holds what the tests need, fewer keys on purpose.
        // (`test`, `testing-ci`, `unit-tests`, `dusk`: by any word of its name.)
        if name.split(['-', '_', '.']).any(|w| {
            [
                "test", "tests", "testing", "ci", "e2e", "unit", "dusk", "spec",
            ]
            .contains(&w)
        }) {
            continue;
        }
        let stack = project.app.env_stack(&name);
        if stack.is_empty() {
            continue;
        }
        let paths: Vec<_> = stack.iter().map(|f| f.path.clone()).collect();
        if seen_stacks.contains(&paths) {
            continue;
        }
        seen_stacks.push(paths);
        let (files, _) = crate::app::read_env_files(&stack);
        let mut keys = BTreeMap::new();
        for (file, reference) in files.iter().zip(&stack) {
            let relative = reference
                .path
                .strip_prefix(project.root)
                .unwrap_or(&reference.path)
                .to_string_lossy()
                .into_owned();
            for entry in &file.entries {
                let (line, column) = file.source.line_col(entry.key_offset);
                let kind = match &entry.value {
                    Value::Template(t) => service_kind(&t.evaluate(&|_| None).unwrap_or_default()),
                    Value::Inherit => None,
                };
                keys.insert(
                    entry.key.clone(),
                    Definition {
                        path: relative.clone(),
                        line,
                        column,
                        kind,
                    },
                );
            }
        }
        result.push((name, keys));
    }
    result
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    let environments = environments(project);
    if environments.len() < 2 {
        return;
    }
    let mut all_keys: Vec<&String> = environments.iter().flat_map(|(_, k)| k.keys()).collect();
    all_keys.sort();
    all_keys.dedup();
    for key in all_keys {
        let missing: Vec<&str> = environments
            .iter()
            .filter(|(_, keys)| !keys.contains_key(key))
            .map(|(name, _)| name.as_str())
            .collect();
        let defined: Vec<(&str, &Definition)> = environments
            .iter()
            .filter_map(|(name, keys)| keys.get(key).map(|d| (name.as_str(), d)))
            .collect();
        if !missing.is_empty() {
            // One cause per pair of environments: N keys set in one and not the other are
            // one finding with N locations.
            let (name, at) = defined[0];
            out.push(
                Finding::new(
                    &ENV_KEY_SETS_DIFFER,
                    &at.path,
                    (at.line, at.column),
                    format!("{key} is set in {name} but not in {}", missing.join(", ")),
                    key,
                    false,
                )
                .with_cause(&format!("{name}\0{}", missing.join("\0"))),
            );
        }
        let mut kinds: Vec<&str> = defined.iter().filter_map(|(_, d)| d.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        if kinds.len() > 1 {
            let described: Vec<String> = defined
                .iter()
                .filter_map(|(name, d)| d.kind.map(|k| format!("{k} in {name}")))
                .collect();
            // Anchored where it differs from production (or from the last environment).
            let reference = defined
                .iter()
                .find(|(name, _)| *name == "production")
                .or(defined.last())
                .and_then(|(_, d)| d.kind);
            let (_, at) = defined
                .iter()
                .find(|(_, d)| d.kind.is_some() && d.kind != reference)
                .unwrap_or(&defined[0]);
            out.push(Finding::new(
                &BACKING_SERVICE_KINDS_DIFFER,
                &at.path,
                (at.line, at.column),
                format!("{key} is {}", described.join(", ")),
                &format!("{key}: {}", kinds.join("/")),
                false,
            ));
        }
    }
}

/// Where code or framework config chooses `SQLite`, and where it chooses a database server.
const SQLITE: [&str; 3] = ["backends.sqlite3", "adapter: sqlite3", "sqlite:"];
const SERVER_DATABASES: [&str; 9] = [
    "backends.postgresql",
    "backends.mysql",
    "adapter: postgresql",
    "adapter: mysql2",
    "adapter: trilogy",
    "postgres://",
    "postgresql://",
    "mysql://",
    "dj_database_url",
];
/// Words of a condition that tells environments apart (not a database choice).
const ENVIRONMENT_WORDS: [&str; 8] = [
    "debug",
    "production",
    "development",
    "heroku",
    "_env",
    "environment",
    "testing",
    "is_local",
];

/// Whether a file may switch databases by environment (decided on the bytes: cheap).
pub fn may_switch_databases(content: &[u8]) -> bool {
    memchr::memmem::find(content, b"sqlite").is_some()
}

/// `SQLite` in development and a database server in production, switched in one file:
/// `database.yml`'s `development:` and `production:` sections, or settings code whose branch
/// on the environment (`if IS_HEROKU_APP:`, `if DEBUG:`) picks the database. A choice of
/// engine by config (`if DB_ENGINE == "postgres"`) is a deployment's choice, not a
/// difference between environments; tests and their settings are left alone.
pub fn database_switch(file: &File<'_>, out: &mut Vec<Finding>) {
    if crate::audit::files::is_test_path(file.path)
        || file.name.contains("test")
        || crate::audit::clues::dev_tooling(file.path)
        || crate::audit::files::is_dockerfile(file.name)
    {
        return;
    }
    let lines: Vec<&str> = file.text.lines().collect();
    let is_code = |line: &&str| {
        let trimmed = line.trim_start();
        !["#", "//", "--", "*", "/*"]
            .iter()
            .any(|c| trimmed.starts_with(c))
    };
    let find = |markers: &[&'static str]| -> Option<(usize, usize, &'static str)> {
        lines.iter().enumerate().find_map(|(i, line)| {
            let found = is_code(line).then(|| markers.iter().find(|m| line.contains(**m)))??;
            Some((i, line.find(found).unwrap_or(0), *found))
        })
    };
    let (Some((line, column, _)), Some((server_line, _, server))) =
        (find(&SQLITE), find(&SERVER_DATABASES))
    else {
        return;
    };
    let yaml = crate::audit::files::has_suffix(file.name, ".yml")
        || crate::audit::files::has_suffix(file.name, ".yaml");
    // The condition each choice sits under: the nearest less-indented `if`/`elif`/`unless`
    // above it, through an `else` to its `if`.
    let indent = |line: &str| line.len() - line.trim_start().len();
    let by_environment = |at: usize| {
        let mut level = indent(lines[at]);
        for line in lines[..at]
            .iter()
            .rev()
            .filter(|l| is_code(l) && !l.trim().is_empty())
        {
            if indent(line) >= level {
                continue;
            }
            level = indent(line);
            let lower = line.trim_start().to_ascii_lowercase();
            if lower.starts_with("else") || lower.starts_with("} else") {
                // Its `if` is at the same indentation.
                level += 1;
                continue;
            }
            if ["if ", "elif ", "unless ", "} else if "]
                .iter()
                .any(|k| lower.starts_with(k))
            {
                return ENVIRONMENT_WORDS.iter().any(|w| lower.contains(w));
            }
        }
        false
    };
    if line == server_line || !(yaml || by_environment(line) || by_environment(server_line)) {
        return;
    }
    let text = lines[line];
    out.push(Finding::new(
        &BACKING_SERVICE_KINDS_DIFFER,
        file.path,
        (line + 1, text[..column].chars().count() + 1),
        format!(
            "SQLite here, `{server}` on line {}: development and production run different databases",
            server_line + 1
        ),
        text.trim(),
        false,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switches(path: &str, text: &str) -> Vec<usize> {
        let file = File {
            path,
            name: crate::audit::files::name(path),
            kind: crate::audit::files::Kind::Code,
            text,
            root: std::path::Path::new(""),
        };
        let mut out = Vec::new();
        database_switch(&file, &mut out);
        out.iter().map(|f| f.line).collect()
    }

    #[test]
    fn sqlite_in_development_and_a_server_in_production_is_found() {
        // Heroku's python-getting-started.
        let heroku = "import dj_database_url\n\nif IS_HEROKU_APP:\n    DATABASES = {\n        \"default\": dj_database_url.config(\n            env=\"DATABASE_URL\",\n        ),\n    }\nelse:\n    # locally, sqlite\n    DATABASES = {\n        \"default\": {\n            \"ENGINE\": \"django.db.backends.sqlite3\",\n        }\n    }\n";
        assert_eq!(switches("app/settings.py", heroku), [13]);
        let debug = "if DEBUG:\n    DB = \"sqlite:///dev.db\"\nelse:\n    DB = \"postgres://db.internal/app\"\n";
        assert_eq!(switches("settings.py", debug), [2]);
        let rails = "development:\n  adapter: sqlite3\n  database: db/dev.sqlite3\nproduction:\n  adapter: postgresql\n  url: <%= ENV['DATABASE_URL'] %>\n";
        assert_eq!(switches("config/database.yml", rails), [2]);
        // A deployment's choice of engine (linkding), a fallback, tests, comments: not found.
        let choice = "LD_DB_ENGINE = os.getenv(\"LD_DB_ENGINE\", \"sqlite\")\nif LD_DB_ENGINE == \"postgres\":\n    default = {\"ENGINE\": \"django.db.backends.postgresql\"}\nelse:\n    default = {\"ENGINE\": \"django.db.backends.sqlite3\"}\n";
        assert!(switches("bookmarks/settings/base.py", choice).is_empty());
        assert!(
            switches(
                "settings.py",
                "DB = os.environ.get(\"DATABASE_URL\", \"sqlite:///db\")\n"
            )
            .is_empty()
        );
        assert!(switches("app/settings_test.py", debug).is_empty());
        assert!(
            switches(
                "settings.py",
                "# if DEBUG: sqlite:///x\n# else: postgres://y\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn service_kinds() {
        assert_eq!(service_kind("postgresql://u@h/db"), Some("postgres"));
        assert_eq!(service_kind("sqlite:///db.sqlite3"), Some("sqlite"));
        assert_eq!(service_kind("https://example.com"), None);
        assert_eq!(service_kind("plain"), None);
    }
}
