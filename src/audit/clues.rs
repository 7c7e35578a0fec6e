//! What the rules read in paths and values: requirements files, development tooling, UI
//! components, placeholders and typed sequences, entropy, env fallbacks.

use super::files;

/// Shannon entropy of a string, in bits per character.
pub fn entropy(text: &str) -> f64 {
    let mut counts = [0_u32; 256];
    let mut total = 0_u32;
    for byte in text.bytes() {
        counts[usize::from(byte)] += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = f64::from(total);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a stand-in, not a secret.
const PLACEHOLDER_WORDS: [&str; 20] = [
    "changethis",
    "password",
    "passwd",
    "changeme",
    "change_me",
    "change-me",
    "secret",
    "example",
    "placeholder",
    "your",
    "dummy",
    "fake",
    "sample",
    "redacted",
    "replace",
    "todo",
    "test",
    "none",
    "null",
    "undefined",
];

/// Whether a value is a placeholder or a reference to config rather than a literal secret:
/// `changeme`, `<your-key>`, `${VAR}`, `$VAR`, `%(var)s`, `{{ var }}`, `os.environ[...]`.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let trimmed = lower.trim_matches(|c: char| "\"'`".contains(c));
    trimmed.is_empty()
        // A value that says what it is (`MARIADB_PASSWORD=insecure`); a generated key with
        // the word in it (`django-insecure-4x9!k2…`) is still a key.
        || trimmed == "insecure"
        || trimmed.starts_with('$')
        || trimmed.starts_with('<')
        || trimmed.starts_with('{')
        || trimmed.starts_with('%')
        || trimmed.starts_with("os.")
        || trimmed.starts_with("env")
        || trimmed.starts_with("process.env")
        || trimmed.contains("${")
        || trimmed.contains("{{")
        || trimmed.contains("<%")
        || trimmed
            .chars()
            .all(|c| c == trimmed.chars().next().unwrap_or('x'))
        || ["xxx", "***", "..."]
            .iter()
            .any(|mark| trimmed.contains(mark))
        || words(value).iter().any(|word| {
            PLACEHOLDER_WORDS
                .iter()
                .any(|p| word == p || word.strip_suffix('s') == Some(p))
        })
}

/// Whether a value only repeats its key's words (`aws.secret.access.key=access_key`,
/// `DB_PASSWORD=password`): it names the setting, as a stand-in does, and no one generated it.
pub fn names_its_key(key: &str, value: &str) -> bool {
    let key = words(key);
    let value = words(value);
    !value.is_empty() && value.iter().all(|w| key.contains(w))
}

/// The words of a value, lower-cased: split at anything not a letter or digit, between
/// letters and digits, and at camel-case humps (`myTestKey2` is `my`, `test`, `key`, `2`).
/// A placeholder is made of placeholder words; a secret that merely contains one
/// (`Contest2024!x`) is not.
pub fn words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous: Option<char> = None;
    for c in value.chars() {
        let boundary = match previous {
            _ if !c.is_ascii_alphanumeric() => true,
            Some(p) => {
                p.is_ascii_digit() != c.is_ascii_digit()
                    || (p.is_ascii_lowercase() && c.is_ascii_uppercase())
            }
            None => false,
        };
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        previous = Some(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A value typed along the keyboard or the alphabet (`12345678`, `abcdefgh`, `qwerty123`):
/// a stand-in, never generated.
pub fn is_typed_sequence(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.len() >= 4
        && [
            "0123456789",
            "1234567890",
            "abcdefghijklmnopqrstuvwxyz",
            "qwertyuiop",
        ]
        .iter()
        .any(|run| {
            run.contains(lower.trim_end_matches(|c: char| c.is_ascii_digit()))
                && !lower
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .is_empty()
                || run.contains(lower.as_str())
        })
}

/// Whether a line reads the environment (a literal beside an env lookup is its fallback).
pub fn reads_env(line: &str) -> bool {
    [
        "getenv",
        "environ",
        "process.env",
        "ENV[",
        "ENV.fetch",
        "env::var",
        "System.getenv",
        "import.meta.env",
        "${",
        "env(",
        "config(",
        "Env.",
        // A secrets or settings store read with a default (`SECRETS.get("url", "redis://…")`).
        "SECRETS.get(",
        "secrets.get(",
        "CONFIG.get(",
        "config.get(",
        "settings.get(",
    ]
    .iter()
    .any(|marker| line.contains(marker))
}

/// Files that describe the developer's and CI's setup, not the app's: CI workflows and
/// pipelines, dev containers, Compose files. Their throwaway local services are not the app's config.
/// A browser's UI component (`.vue`, `.svelte`, `.jsx`, `.tsx`, `.astro`): a browser cannot
/// reach a database or a broker, so an address or a URL with a password there is text shown to
/// a user (a placeholder, a help text's example), not how the app attaches anything.
pub fn ui_component(path: &str) -> bool {
    files::has_extension(files::name(path), &["vue", "svelte", "jsx", "tsx", "astro"])
}

pub fn dev_tooling(path: &str) -> bool {
    let name = files::name(path);
    [
        ".github/",
        ".circleci/",
        ".gitlab",
        ".buildkite/",
        ".devcontainer/",
    ]
    .iter()
    .any(|dir| path.starts_with(dir) || path.contains(&format!("/{dir}")))
        || name.starts_with("docker-compose")
        || name.starts_with("compose.")
        || super::model::roles::CI_PIPELINES.contains(&name.to_ascii_lowercase().as_str())
}

/// Whether a literal is the fallback of an environment lookup: on the line itself, or as the
/// `default` argument of a call spread over lines that reads the environment
/// (`dj_database_url.config(\n    env=...,\n    default="postgres://…")`).
pub fn env_fallback(hit: &super::scan::Hit<'_>) -> bool {
    if reads_env(hit.line) {
        return true;
    }
    let line = hit.line.trim_start();
    if !(line.starts_with("default") || line.starts_with("fallback")) {
        return false;
    }
    let before = &hit.content[..hit.at.min(hit.content.len())];
    let text = String::from_utf8_lossy(&before[before.len().saturating_sub(400)..]);
    text.lines().rev().skip(1).take(4).any(reads_env)
}
