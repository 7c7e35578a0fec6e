//! Factor III, Config: config lives in the environment, never in the code.

/// A secret assigned to a name holding one of `keywords`, in any of the ways code and config
/// assign: `=`, `:`, `:=`, `::=`, `:::=`, `?=`, `.=`, `=>`, `||`, a call's `,`
/// (`System.setProperty("HEROKU_TOKEN", "…")`), an XML element's `>` with the value on the next
/// line, YAML, JSON (escaped newlines too), Go raw strings. gitleaks' semi-generic form: the
/// keyword, up to 20 more characters of the name, quotes, the operator, up to five quotes or
/// blanks, the secret (the only capture group), and a quote, blank, `;`, `\n` or the end.
macro_rules! assigned {
    ($keywords:literal, $secret:literal) => {
        concat!(
            r#"(?i:"#,
            $keywords,
            r#")(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[`'"\s=]{0,5}("#,
            $secret,
            r#")(?:[`'"\s;]|\\[nr]|$)"#
        )
    };
}

#[cfg(test)]
mod gitleaks;
pub mod providers;
mod tokens;

use std::sync::LazyLock;

use regex::Regex;

use crate::app::env_file::{EnvFile, Value};
use crate::audit::dockerfile::{self, Instruction};
use crate::audit::files::{self, Kind, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{File, Project};
use crate::audit::rule::{Role, Roles, Rule};
use crate::audit::scan::{Fact, Hit, Pattern};
use crate::source::Source;
use tokens::WHY_SECRET;
pub use tokens::{
    AWS_ACCESS_KEY, AWS_SECRET_KEY, GITHUB_TOKEN, GITLAB_TOKEN, GOOGLE_API_KEY, JWT, NPM_TOKEN,
    OPENAI_KEY, PRIVATE_KEY, PYPI_TOKEN, SECRETS, SENDGRID_KEY, SLACK_TOKEN, STRIPE_KEY,
    is_provider, live_shaped,
};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &PROBE_UNNAMED_KEY,
        &PROBE_NO_FAIL_FAST,
        &AWS_ACCESS_KEY,
        &AWS_SECRET_KEY,
        &GITHUB_TOKEN,
        &GITLAB_TOKEN,
        &SLACK_TOKEN,
        &STRIPE_KEY,
        &SENDGRID_KEY,
        &GOOGLE_API_KEY,
        &NPM_TOKEN,
        &PYPI_TOKEN,
        &OPENAI_KEY,
        &PRIVATE_KEY,
        &JWT,
        &CREDENTIALED_URL,
        &GENERIC_SECRET,
        &TRACKED_ENV_FILE,
        &DOCKERFILE_SECRET,
        &FRAMEWORK_PASSWORD,
        &INVALID_ENV_FILE,
        &SECRET_FALLBACK,
        &COMMITTED_TOKEN,
    ],
    patterns: &[&SECRETS, PATTERNS],
    check: env_files,
};

pub static PROBE_UNNAMED_KEY: Rule = Rule {
    id: "config/probe-unnamed-key",
    factor: Factor::III,
    severity: Severity::Note,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process failed without a config key but did not say which",
    explanation: "With `--probe-config-strip`, the type exited non-zero when a key was removed — good — but its output never named the key, so whoever deploys it must guess what is missing.",
    fix: "Name the missing key in the error: `DATABASE_URL is not set`.",
};

pub static PROBE_NO_FAIL_FAST: Rule = Rule {
    id: "config/probe-no-fail-fast",
    factor: Factor::III,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process ran without a config key instead of failing fast",
    explanation: "With `--probe-config-strip`, the type was started once per config key with that key removed. It kept running (or exited 0), so a deploy that forgets the key would run misconfigured instead of failing at once with a clear message.",
    fix: "Read required config at start-up and exit non-zero naming the missing key.",
};

pub static COMMITTED_TOKEN: Rule = Rule {
    id: "config/committed-token",
    factor: Factor::III,
    severity: Severity::Warning,
    roles: Roles::of(&[Role::Test, Role::Example]),
    summary: "A provider token that proves it was issued, in a test, fixture, example or document",
    explanation: "Tokens in tests, fixtures and docs are stand-ins, so they are not deployment findings; and a generated-looking body is no sign of a real one (randomly generated stand-ins look the same). A token whose format carries a checksum (GitHub's `ghp_`… end in a CRC32 of their body) and whose checksum holds was issued by the provider: it was real, and a token in a commit is in every clone for good.",
    fix: "If it was ever a real token, revoke it with its provider. Replace it with an obvious stand-in (`ghp_xxxxxxxx…`) or generate it in the test.",
};

pub static SECRET_FALLBACK: Rule = Rule {
    id: "config/secret-fallback",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A secret read from the environment falls back to a literal in the code",
    explanation: "`process.env.JWT_SECRET || 'superSecret'`, `env('APP_KEY', 'base64:…')`, `${SECRET_KEY_BASE:-…}`: when the deploy forgets the variable, the app does not stop; it runs with a secret that is in every clone of the repository, and signs sessions or tokens anyone can forge. Config belongs in the environment, and a process missing a required secret should fail at start.",
    fix: "Read the secret without a default and stop with a message naming it when it is unset (`process.env.JWT_SECRET ?? fail('JWT_SECRET is not set')`, `ENV.fetch(\"SECRET_KEY_BASE\")`, `env('APP_KEY')` with a check at boot, `${SECRET_KEY_BASE:?set it}`); keep development defaults in development's env file.",
};

pub static CREDENTIALED_URL: Rule = Rule {
    id: "config/credentialed-url",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A URL with a password in it (`scheme://user:password@host`)",
    explanation: WHY_SECRET,
    fix: "Put the whole URL in the environment (`DATABASE_URL`) and read it from there; revoke the password if it was ever real.",
};

pub static GENERIC_SECRET: Rule = Rule {
    id: "config/generic-secret",
    factor: Factor::III,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A password, secret, token or API key assigned a literal that looks random",
    explanation: "A variable named like a credential holds a literal with enough entropy to be one. Placeholders (`changeme`, `<your-key>`, `${VAR}`) and env lookups are not reported. This rule is a heuristic, so a warning: suppress a false positive inline with a reason.",
    fix: "Read the value from the environment instead, and revoke it if it was real.",
};

pub static TRACKED_ENV_FILE: Rule = Rule {
    id: "config/tracked-env-file",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::of(&[Role::Production, Role::Development]),
    summary: "A `.env` file with values is committed",
    explanation: "Env files hold one deploy's config, secrets included; committed, they are config in the code. Commit `.env.example` (keys with placeholder values) instead. An error when a value looks like a secret (the finding names its key); a warning when the file holds settings only, as Heroku's samples commit for `heroku local`.",
    fix: "`git rm --cached FILE`, add it to .gitignore, commit a `.env.example` listing the keys, and revoke any real secret it held.",
};

pub static DOCKERFILE_SECRET: Rule = Rule {
    id: "config/dockerfile-secret",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A secret-named ENV or ARG in a Dockerfile",
    explanation: "ENV values are baked into the image for anyone who can pull it, and ARG values are kept in its history: an image is a build, and a build must not contain config. Only the key's name is checked, never RUN text.",
    fix: "Pass secrets at run time through the environment, or at build time with `RUN --mount=type=secret`.",
};

pub static FRAMEWORK_PASSWORD: Rule = Rule {
    id: "config/framework-password",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A literal password in framework config (Spring, Rails, Django)",
    explanation: "Framework config files are code: they ship in every build to every environment. A password written there is the same in development and production and is readable by everyone with the code.",
    fix: "Reference the environment: Spring `${DB_PASSWORD}`, Rails `<%= ENV[\"DB_PASSWORD\"] %>`, Django `os.environ[\"DB_PASSWORD\"]` (or one `DATABASE_URL`).",
};

pub static INVALID_ENV_FILE: Rule = Rule {
    id: "config/invalid-env-file",
    factor: Factor::III,
    severity: Severity::Error,
    roles: Roles::of(&[Role::Production, Role::Development, Role::Test]),
    summary: "An env file dozen cannot read",
    explanation: "An env file that does not parse gives a process config nobody wrote: other tools silently drop the lines they cannot read. The line and column say where.",
    fix: "Fix the line (`dozen check` shows the same problem with the source line).",
};

/// Whether a generic `name = "value"` match is a secret: a credential-like name (not a
/// public key, a URL or a file path to one), and a literal that is not a placeholder, not an
/// identifier, and random enough.
fn generic_secret(hit: &Hit<'_>) -> bool {
    const NOT_SECRET_NAMES: [&str; 17] = [
        "public", "_url", "_uri", "endpoint", "_path", "_file", "_name", "_field", "_length",
        "_type", "_header", "_env", "_id", "csrf", "prefix", "suffix", "_param",
    ];
    // An embedded database's login guards no server (see `framework_passwords`).
    let window = &hit.content[hit.at.saturating_sub(600)..hit.at];
    if embedded_database(&String::from_utf8_lossy(window)) {
        return false;
    }
    let value = hit.evidence;
    let name = hit.matched[..hit.matched.find(value).unwrap_or(0)].to_ascii_lowercase();
    let name = name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    // `var apiToken string = "…"`: the name is before its type.
    let name = ["string", "str", "const", "final"]
        .iter()
        .find_map(|ty| name.strip_suffix(ty).filter(|n| n.ends_with([' ', '\t'])))
        .map_or(name, str::trim_end);
    // The name must end with its credential word (`GooglePasswordManager` names a password
    // manager; `api_key_value`, `DB_PASSWORD2` still name credentials).
    if !names_a_credential(name) {
        return false;
    }
    let identifier = value
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        || is_identifier_words(value);
    // An expression, a colour, a format string: code, not a credential.
    let code_like = value.starts_with('#')
        || value.starts_with("arn:")
        || value.contains(['[', ']', '(', ')', '{', '}', '<', '>', ','])
        || is_timestamp(value);
    // Short hex strings (16 digits: a 64-bit hash) are ids; hex API keys are longer.
    let short_hex = value.len() < 20 && value.chars().all(|c| c.is_ascii_hexdigit());
    let random = entropy_ok(value);
    // `"/users/:id/hooks/:secret" => "web_requests#handle"`: a route's path parameter named
    // `secret`, and its `controller#action`.
    let route = name.contains('/')
        || value.split_once('#').is_some_and(|(controller, action)| {
            [controller, action].iter().all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '/')
            })
        });
    let yaml = files::has_suffix(hit.path, ".yml") || files::has_suffix(hit.path, ".yaml");
    let development = yaml
        && !production_section(&String::from_utf8_lossy(
            &hit.content[..hit.at.min(hit.content.len())],
        ));
    !route
        && !development
        && !in_docs(hit)
        && !files::is_translation_catalog(hit.path)
        && !files::is_docs_site_config(hit.path)
        && !NOT_SECRET_NAMES.iter().any(|n| name.contains(n))
        && !crate::audit::clues::is_placeholder(value)
        && !identifier
        && !code_like
        && !short_hex
        && !value.contains("://")
        && !value.starts_with('/')
        && random
        && !crate::audit::clues::reads_env(hit.line)
}

/// Whether a variable name ends with a credential word, give or take a qualifier.
fn names_a_credential(name: &str) -> bool {
    const WORDS: [&str; 14] = [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "api-key",
        "accesskey",
        "access_key",
        "authkey",
        "auth_key",
        "credentials",
        "credential",
    ];
    const QUALIFIERS: [&str; 9] = [
        "", "s", "_value", "_str", "_string", "_b64", "_base64", "_hex", "_key",
    ];
    let name =
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '-' || c == '.');
    let name = name
        .rsplit(['.', ' ', '"', '\'', '$', '[', '('])
        .next()
        .unwrap_or(name);
    WORDS.iter().any(|word| {
        name.rfind(word).is_some_and(|at| {
            let rest = &name[at + word.len()..];
            QUALIFIERS.contains(&rest)
        })
    }) || name.ends_with("license_key")
        || name.ends_with("licensekey")
        || name.ends_with("private_key")
        || name.ends_with("privatekey")
}

/// A name made of words (`app_auth_token:`, `K8S_RUNTIME_`, `validation.password.min`): every
/// part between separators is letters of one case, or a short token (`k8s`, `v2`, `s3`). A
/// generated secret has long parts that mix cases and digits.
fn is_identifier_words(value: &str) -> bool {
    // `|` too: a validation rule (`required|string|min:8`) is words.
    let parts: Vec<&str> = value
        .split(['_', '-', '.', ':', '/', '|'])
        .filter(|p| !p.is_empty())
        .collect();
    let separated = parts.len() > 1 || value.ends_with(['_', ':', '.', '-']);
    separated
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/|".contains(c))
        && parts.iter().all(|part| {
            let letters = part.chars().all(|c| c.is_ascii_alphabetic());
            let one_case = part.chars().all(|c| !c.is_ascii_lowercase())
                || part.chars().skip(1).all(|c| !c.is_ascii_uppercase());
            (letters && one_case) || part.len() <= 4
        })
}

/// `2016-09-08T21:47:36Z` and other ISO 8601 dates.
fn is_timestamp(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..7].iter().all(u8::is_ascii_digit)
        && bytes[7] == b'-'
}

fn entropy_ok(value: &str) -> bool {
    let entropy = crate::audit::clues::entropy(value);
    value.chars().count() >= 8 && entropy >= 2.5 || value.chars().count() >= 16 && entropy >= 3.0
}

/// A value that reads as generated: long, varied, one word (a token, a key).
fn generated_looking(value: &str) -> bool {
    let token = |part: &str| {
        part.len() >= 20
            && crate::audit::clues::entropy(part) >= 3.5
            && !part.contains(' ')
            && !crate::audit::clues::is_placeholder(part)
    };
    // In a URL, a generated path segment (a webhook's token), not its host or a password.
    match value.split_once("://") {
        Some((_, rest)) => rest.split('/').skip(1).any(token),
        None => token(value),
    }
}

/// Whether an env file's `KEY=value` looks like a secret: a credential-named key with a
/// value that is not a placeholder, or a value that reads as random (a token, a password).
fn secret_like(key: &str, value: &str) -> bool {
    // The same names the Dockerfile rule calls secret (`DB_PASSWORD`, `API_TOKEN`, `DB_PASS`).
    let named = is_secret_name(key);
    let credentialed_url = value.contains("://")
        && value.split_once("://").is_some_and(|(_, rest)| {
            rest.split('/').next().is_some_and(|authority| {
                authority
                    .rsplit_once('@')
                    .and_then(|(user, _)| user.split_once(':'))
                    .is_some_and(|(_, password)| {
                        !crate::audit::clues::is_placeholder(password) && password.len() >= 3
                    })
            })
        });
    let literal = !crate::audit::clues::is_placeholder(value) && !value.contains("://");
    // Unnamed, only what reads as generated: long and varied (a word like `development` is not).
    let random =
        value.len() >= 20 && crate::audit::clues::entropy(value) >= 3.5 && !value.contains(' ');
    credentialed_url || literal && (named || random)
}

/// The words every generic secret's name holds, as the cheap gate of its patterns.
const GENERIC_SECRET_WORDS: &str = r"(?i)passw|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|license[_-]?key|credential";

/// A secret-named variable: `JWT_SECRET`, `APP_KEY`, `SECRET_KEY_BASE`, `DB_PASSWORD`,
/// `API_TOKEN` (`_URL`, `_NAME`… names are not secrets: [`secret_fallback`]).
macro_rules! secret_variable {
    () => {
        r"[A-Za-z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|APP_KEY|PRIVATE_KEY|SIGNING_KEY|ENCRYPTION_KEY|MASTER_KEY|JWT_KEY)[A-Za-z0-9_]*"
    };
}

/// A fallback literal that stands for a real value (not empty, not a null, not another
/// variable, not a name of one).
fn secret_fallback(hit: &Hit<'_>) -> bool {
    let value = hit.evidence.trim();
    let name = hit.matched.to_ascii_uppercase();
    // The variable must be named for a secret at its end: `RESET_PASSWORD_LOCK_TIME`,
    // `AUTH_PASSWORD_BROKER` and `TOKEN_UPDATE_…_THRESHOLD` are settings about secrets.
    let variable = fallback_variable(hit.matched);
    if !variable.as_ref().is_some_and(|v| ends_with_secret_word(v)) {
        return false;
    }
    let not_secret_name = [
        "_URL", "_URI", "_PATH", "_FILE", "_NAME", "_HEADER", "_TTL", "_EXPIR", "_LENGTH",
        "_PREFIX", "_FIELD", "_ENABLED", "_TYPE",
    ]
    .iter()
    .any(|n| name.contains(n));
    // A fallback that says it is a stand-in (`example`, `fake-test-api-key`, `12345678`) is
    // no one's secret; one that reads as a value (`superSecret`, the app's name) is.
    let words = crate::audit::clues::words(value);
    let stand_in = words.iter().any(|w| {
        [
            "example",
            "fake",
            "dummy",
            "test",
            "sample",
            "placeholder",
            "changeme",
            "changethis",
            "todo",
            "xxx",
            "none",
            "unused",
            "unset",
            // `your-secret`, `your_api_key`: the reader's to fill in; `DEMO_KEY`: a
            // provider's published demo key.
            "your",
            "demo",
        ]
        .contains(&w.as_str())
    }) || crate::audit::clues::is_typed_sequence(value)
        || variable
            .as_deref()
            .is_some_and(|v| crate::audit::clues::names_its_key(v, value));
    !value.is_empty()
        && !stand_in
        && !not_secret_name
        && ![
            "none",
            "null",
            "nil",
            "undefined",
            "false",
            "true",
            "''",
            "\"\"",
        ]
        .contains(&value.to_ascii_lowercase().as_str())
        && !value.starts_with('$')
        && !value.contains("${")
        && hit.class_at(hit.evidence_at) != crate::audit::lex::Class::Comment
        && !in_docs(hit)
}

/// The variable a fallback's lookup names: the first secret-shaped identifier of the match.
fn fallback_variable(matched: &str) -> Option<String> {
    matched
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| {
            let upper = word.to_ascii_uppercase();
            ["SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY"]
                .iter()
                .any(|w| upper.contains(w))
        })
        .map(str::to_ascii_uppercase)
}

/// `JWT_SECRET`, `DB_PASSWORD`, `API_TOKEN`, `APP_KEY`, `SECRET_KEY_BASE`, `STRIPE_API_KEY2`.
fn ends_with_secret_word(variable: &str) -> bool {
    let trimmed = variable.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "APP_KEY",
        "SECRET_KEY",
        "SECRET_KEY_BASE",
        "SIGNING_KEY",
        "ENCRYPTION_KEY",
        "MASTER_KEY",
        "PRIVATE_KEY",
        "JWT_KEY",
        "ACCESS_KEY",
        "AUTH_KEY",
    ]
    .iter()
    .any(|word| {
        trimmed == *word || trimmed.ends_with(&format!("_{word}")) || trimmed.ends_with(word)
    })
}

/// Whether a match sits in a heredoc or a docstring: the sample requests and responses of
/// documentation, not the app's config (a provider-format token there is still reported).
fn in_docs(hit: &Hit<'_>) -> bool {
    hit.class_at(hit.evidence_at) == crate::audit::lex::Class::Doc
}

fn credentialed_url(hit: &Hit<'_>) -> bool {
    if crate::audit::clues::ui_component(hit.path) {
        return false;
    }
    let password = hit.evidence;
    // `postgres://postgres:postgres@…`, `amqp://guest:guest@…`: the image's default, not a
    // secret anyone chose.
    // From the file's bytes: `matched` is lossy text, whose offsets are not the file's.
    let before = hit
        .content
        .get(hit.at..hit.evidence_at)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let user = before
        .trim_end_matches(':')
        .rsplit("//")
        .next()
        .unwrap_or_default();
    if user == password {
        return false;
    }
    let commented = hit.class_at(hit.evidence_at) == crate::audit::lex::Class::Comment;
    !in_docs(hit)
        && !commented
        && !crate::audit::clues::dev_tooling(hit.path)
        && !crate::audit::clues::env_fallback(hit)
        && !crate::audit::clues::is_placeholder(password)
        && !password.eq_ignore_ascii_case("pass")
        && !password.eq_ignore_ascii_case("pwd")
        && !password.contains('$')
}

/// `password=` inside a keyword-form connection string: a `host=`, `server=` or `data
/// source=` earlier on the line (checked here, not in the pattern: a pattern spanning the
/// line multiplies the scanner's states).
fn connection_string(hit: &Hit<'_>) -> bool {
    let line = hit.line.to_ascii_lowercase();
    let before = line
        .find(&hit.matched.to_ascii_lowercase())
        .map_or(line.as_str(), |at| &line[..at]);
    let keyed = ["host", "server", "data source"].iter().any(|key| {
        before.match_indices(key).any(|(at, _)| {
            let preceded = at == 0 || !before.as_bytes()[at - 1].is_ascii_alphanumeric();
            preceded && before[at + key.len()..].trim_start().starts_with('=')
        })
    });
    keyed && credentialed_url(hit)
}

pub static PATTERNS: &[Pattern] = &[
    // A file of defaults the code loads by name (`load(PATH . '/config.default.php')`,
    // `include("settings.dist.py")`): read by the model, which gives it production's role.
    Pattern::fact(
        Fact::NamesDefaultsFile,
        crate::audit::model::DEFAULTS_FILE_NAME,
        Kinds::CODE,
    )
    .gate(r"\.default\.|\.dist\."),
    Pattern::new(
        &SECRET_FALLBACK,
        // JavaScript and TypeScript: `process.env.X || 'lit'`, `process.env.X ?? "lit"`.
        concat!(r#"process\.env(?:\.|\[["'])"#, secret_variable!(), r#"(?:["']\])?\s*(?:\|\||\?\?)\s*["'`]([^"'`\n]+)["'`]"#),
        "a secret's environment lookup falls back to a literal",
        Kinds::CODE,
    )
    .secret()
    .verify(secret_fallback)
    .gate(r"process\.env"),
    Pattern::new(
        &SECRET_FALLBACK,
        // Python, PHP, Ruby, Elixir: a lookup function with the default as its next argument,
        // or `||` a literal after it (Elixir's `System.get_env/1`, also imported bare).
        // (Gated: it runs only where a lookup's name occurs.)
        concat!(r#"(?:os\.environ\.get|os\.getenv|environ\.get|env(?:\.str)?|config|getenv|ENV\.fetch|System\.get_env)\(\s*["']"#, secret_variable!(), r#"["']\s*,\s*(?:default\s*=\s*)?["']([^"'\n]+)["']|ENV\[["']"#, secret_variable!(), r#"["']\]\s*\|\|\s*["']([^"'\n]+)["']|\b(?:System\.)?get_env\(\s*""#, secret_variable!(), r#""\s*\)\s*\|\|\s*"([^"\n]+)""#),
        "a secret's environment lookup falls back to a literal",
        Kinds::CODE,
    )
    .secret()
    .verify(secret_fallback)
    .gate(r"environ|getenv|env\(|env\.str\(|config\(|ENV\.fetch|ENV\[|get_env"),
    Pattern::new(
        &SECRET_FALLBACK,
        // Shell and Compose: `${SECRET_KEY_BASE:-literal}`.
        concat!(r"\$\{", secret_variable!(), r":?-([^}\s]+)\}"),
        "a secret's variable expands to a literal default",
        Kinds::ALL,
    )
    .secret()
    .verify(secret_fallback)
    .gate(r":-"),
    Pattern::new(
        &CREDENTIALED_URL,
        r#"\b[a-zA-Z][a-zA-Z0-9+.-]{1,19}://[^\s:@/'"<>]{1,64}:([^\s:@/'"<>]{3,128})@[A-Za-z0-9.\[_-]"#,
        "URL with a password in it",
        Kinds::of(&[Kind::Code, Kind::Test, Kind::Config, Kind::EnvFile, Kind::Other]),
    )
    .secret()
    .verify(credentialed_url),
    // libpq's and ADO.NET's keyword form: `host=db.internal user=shop password=…`,
    // `Server=…;Password=…`.
    Pattern::new(
        &CREDENTIALED_URL,
        r#"(?i)\b(?:password|pwd)\s*=\s*([^;'"\s]{3,128})"#,
        "connection string with a password in it",
        Kinds::of(&[Kind::Code, Kind::Config, Kind::EnvFile, Kind::Other]),
    )
    .secret()
    .verify(connection_string),
    Pattern::new(
        &GENERIC_SECRET,
        // The contexts gitleaks tests: `=`, `:=`, `::=`, `:::=`, `?=`, `.=`, `:`, `=>`, a
        // typed Go or C# declaration, `System.setProperty("NAME", "…")`, a Go raw string, an
        // XML element's text, a value inside a JSON string ending at an escaped newline.
        r#"(?i)[a-z0-9_.$-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|license[_-]?key|credentials?)[a-z0-9_]{0,10}(?:["']?(?:[ \t]+(?:string|str|const|final))?\s*(?:=|:{1,3}=|\?=|\.=|:|=>|>)|["']\s*,)\s*(?:["'`]([^"'`\s\\]{8,200})["'`]|([^"'`\s\\<>]{8,200})(?:\\[nr]|\s*</))"#,
        "a credential-named variable holds a literal that looks like a secret",
        Kinds::of(&[Kind::Code, Kind::Config, Kind::Other]),
    )
    .secret()
    .verify(generic_secret)
    .gate(GENERIC_SECRET_WORDS),
    Pattern::new(
        &GENERIC_SECRET,
        r#"(?im)^[ \t]*[a-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|license[_-]?key|credentials?)[a-z0-9_]{0,10}[ \t]*[:=][ \t]*([^"'\s#,;]{8,200})[ \t]*$"#,
        "a credential-named key holds a literal that looks like a secret",
        Kinds::of(&[Kind::Config]),
    )
    .secret()
    .verify(generic_secret)
    .gate(GENERIC_SECRET_WORDS),
];

/// Env files that do not parse, and committed env files that hold values (an empty `KEY=`
/// documents a key, it sets nothing).
pub fn env_files(project: &Project<'_>, out: &mut Vec<Finding>) {
    for path in project.files {
        let Some(kind) = files::env_file_kind(files::name(path)) else {
            continue;
        };
        if files::kind(path) == Kind::Test {
            continue;
        }
        let Some(text) = project.read(path) else {
            continue;
        };
        let (parsed, problems) = EnvFile::parse(Source::new(path.as_str(), text));
        for problem in problems.iter().filter(|p| p.is_error()) {
            let (position, line) = problem.location.as_ref().map_or(((1, 1), ""), |l| {
                ((l.line, l.column), l.source_line.as_str())
            });
            out.push(Finding::new(
                &INVALID_ENV_FILE,
                path,
                position,
                problem.message.clone(),
                line.trim(),
                true,
            ));
        }
        // Outside a repository nothing is committed: the rule is about git.
        if kind != Kind::EnvFile
            || !project.tracked.is_some_and(|t| t.contains(path.as_str()))
            || crate::audit::clues::dev_tooling(path)
        {
            continue;
        }
        let valued: Vec<(&crate::app::env_file::Entry, String)> = parsed
            .entries
            .iter()
            .filter_map(|entry| match &entry.value {
                Value::Inherit => None,
                Value::Template(template) => {
                    Some((entry, template.evaluate(&|_| None).unwrap_or_default()))
                }
            })
            .filter(|(_, value)| !value.is_empty())
            .collect();
        // An error when a value looks like a secret (naming its key, never the value); a
        // warning when the file only holds settings (`TIMES=10`, as Heroku's samples commit
        // on purpose for `heroku local`).
        let secret = valued
            .iter()
            .find(|(entry, value)| secret_like(&entry.key, value));
        // A development env file holds local settings and throwaway credentials for the
        // developer's own services; only a value that reads as generated (a real token, a
        // production key) is worth a finding there.
        let development = project
            .model
            .is_some_and(|m| m.role(path) == crate::audit::model::roles::Role::Development);
        if development && !valued.iter().any(|(_, value)| generated_looking(value)) {
            continue;
        }
        // Compose's own settings (`COMPOSE_PROJECT_NAME`, `COMPOSE_FILE`): how the stack is
        // named and assembled, not the app's config.
        if valued
            .iter()
            .all(|(entry, _)| entry.key.starts_with("COMPOSE_"))
        {
            continue;
        }
        if let Some((entry, _)) = secret.or(valued.first()) {
            let (line, column) = parsed.source.line_col(entry.key_offset);
            let name = files::name(path);
            let mut finding = Finding::new(
                &TRACKED_ENV_FILE,
                path,
                (line, column),
                if secret.is_some() {
                    format!(
                        "{name} is committed with a secret-like value in `{}`",
                        entry.key
                    )
                } else {
                    format!(
                        "{name} is committed with values (none looks like a secret; first: `{}`)",
                        entry.key
                    )
                },
                name,
                false,
            );
            if secret.is_none() {
                finding.severity = finding
                    .severity
                    .min(crate::audit::finding::Severity::Warning);
            }
            out.push(finding);
        }
    }
}

/// Names of config that are secrets (hadolint DL3064's substrings, on the key only).
pub fn is_secret_name(name: &str) -> bool {
    const MARKERS: [&str; 10] = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIALS",
        "CLIENT_KEY",
    ];
    const NOT: [&str; 6] = ["_FILE", "_PATH", "_URL", "_NAME", "_ENDPOINT", "PUBLIC"];
    let upper = name.to_ascii_uppercase();
    // Short forms count as whole words only (`DB_PASS`, `MYSQL_PWD`; not `PASSENGER_HOME`),
    // and `PASS` not after a protocol nginx passes requests to (`UWSGI_PASS`, `PROXY_PASS`
    // name nginx's `uwsgi_pass`/`proxy_pass` upstream).
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let short = words.iter().enumerate().any(|(i, word)| match *word {
        "PWD" | "PW" | "PASSPHRASE" => true,
        "PASS" => !i.checked_sub(1).is_some_and(|p| {
            matches!(
                words[p],
                "PROXY" | "UWSGI" | "FASTCGI" | "FCGI" | "GRPC" | "SCGI" | "MEMCACHED"
            )
        }),
        _ => false,
    });
    (short || MARKERS.iter().any(|m| upper.contains(m))) && !NOT.iter().any(|n| upper.contains(n))
}

/// Secret-named `ENV`/`ARG` keys.
pub fn dockerfile_secrets(path: &str, instructions: &[Instruction], out: &mut Vec<Finding>) {
    // Only the production stage's and those it is built on: a build stage's `ENV` and `ARG`
    // never reach the image (and the `ARG`s before the first `FROM` only name images).
    if !instructions.iter().any(|i| i.keyword == "FROM") {
        return;
    }
    let chain = dockerfile::stage_chain(instructions, dockerfile::production_stage(instructions));
    for instruction in chain.iter().rev().flat_map(|stage| stage.iter()) {
        if instruction.keyword != "ENV" && instruction.keyword != "ARG" {
            continue;
        }
        for (key, value) in dockerfile::assignments(instruction) {
            if !is_secret_name(&key) {
                continue;
            }
            // A value that holds no secret: empty, a switch (`GOOGLE_API_KEY=no` turns a
            // feature off), a placeholder or a reference. An `ARG` without a default is
            // given its value at build time, which its history keeps.
            if value.as_deref().is_some_and(|v| {
                let v = v.trim_matches(['"', '\'']).to_ascii_lowercase();
                crate::audit::clues::is_placeholder(&v)
                    || [
                        "no", "yes", "true", "false", "0", "1", "on", "off", "disabled", "none",
                    ]
                    .contains(&v.as_str())
            }) {
                continue;
            }
            let column = instruction.column + instruction.args.find(&key).unwrap_or(0);
            let message = if instruction.keyword == "ENV" {
                format!("ENV {key} bakes a secret into the image")
            } else {
                format!("ARG {key} keeps a secret in the image history")
            };
            out.push(Finding::new(
                &DOCKERFILE_SECRET,
                path,
                (instruction.line, column),
                message,
                &key,
                false,
            ));
        }
    }
}

static PROPERTIES_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t]*([a-z0-9_.-]*(?:password|secret)[a-z0-9_.-]*)[ \t]*[=:][ \t]*(\S.*?)[ \t]*$",
    )
    .expect("valid")
});
static YAML_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    // The key's last word says it (`password`, `secretKey`, `jwt-secret-key`,
    // `accessKeySecret`, `secret_key_base`).
    Regex::new(r#"(?im)^[ \t]*([a-z0-9_-]*?(?:password|secret|secret[_-]?key|secret_key_base))[ \t]*:[ \t]*["']?([^"'#\s][^"'#]*?)["']?[ \t]*(?:#.*)?$"#)
        .expect("valid")
});
static DJANGO_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)(?:["']PASSWORD["']\s*:|^SECRET_KEY\s*=)\s*[rb]?["']([^"']+)["']"#)
        .expect("valid")
});

/// Which framework's config this file is, if any.
fn framework(path: &str, name: &str) -> Option<(&'static Regex, &'static str)> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("application") && files::has_suffix(&lower, ".properties") {
        Some((&PROPERTIES_PASSWORD, "Spring"))
    } else if lower.starts_with("application")
        && (files::has_suffix(&lower, ".yml") || files::has_suffix(&lower, ".yaml"))
    {
        Some((&YAML_PASSWORD, "Spring"))
    } else if lower == "database.yml" || lower == "secrets.yml" {
        Some((&YAML_PASSWORD, "Rails"))
    } else if (files::has_suffix(&lower, ".yml") || files::has_suffix(&lower, ".yaml"))
        && !crate::audit::model::declarations::is_compose(&lower)
        && (lower.starts_with("bootstrap")
            || lower
                .rsplit_once('.')
                .and_then(|(stem, _)| stem.rsplit(['-', '_', '.']).next())
                .is_some_and(|word| word == "prod" || word == "production"))
    {
        // Spring Cloud's `bootstrap.yml`, and a profile's config a config server serves
        // (`mall-admin-prod.yaml`, `app-production.yml`).
        Some((&YAML_PASSWORD, "production"))
    } else if files::has_suffix(&lower, ".py")
        && (lower.starts_with("settings") || path.contains("/settings/"))
    {
        Some((&DJANGO_PASSWORD, "Django"))
    } else {
        None
    }
}

/// Whether a matched `KEY: value` line's key is an environment variable's (upper case,
/// digits and underscores, at the start of its line).
fn env_style_key(matched: &str) -> bool {
    let line = matched.trim_start_matches(['\n', '\r']);
    let key = line.split([':', '=']).next().unwrap_or("");
    !key.is_empty()
        && !key.starts_with(char::is_whitespace)
        && key.bytes().any(|b| b.is_ascii_uppercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether the datasource URL nearest before a Spring password is an embedded database's.
fn embedded_database(before: &str) -> bool {
    before
        .lines()
        .rev()
        .take(6)
        .find(|l| l.contains("url"))
        .is_some_and(|url| {
            [":h2:", ":hsqldb:", ":derby:"]
                .iter()
                .any(|e| url.contains(e))
        })
}

pub fn is_framework_config(path: &str, name: &str) -> bool {
    framework(path, name).is_some()
}

/// Literal passwords in Spring properties/YAML, Rails `database.yml`, Django settings.
pub fn framework_passwords(file: &File<'_>, out: &mut Vec<Finding>) {
    if file.kind == Kind::Test {
        return;
    }
    let Some((pattern, name)) = framework(file.path, file.name) else {
        return;
    };
    for captures in pattern.captures_iter(file.text) {
        let value = captures.get(captures.len() - 1).expect("a value group");
        let text = value.as_str();
        let key = &file.text[captures.get(0).map_or(0, |m| m.start())..value.start()];
        if crate::audit::clues::is_placeholder(text)
            || text.contains("ENV")
            || crate::audit::clues::reads_env(text)
            || crate::audit::clues::names_its_key(key, text)
        {
            continue;
        }
        if name == "Rails" && !production_section(&file.text[..value.start()]) {
            continue;
        }
        // An embedded database's login (H2, HSQLDB, Derby in a file or in memory) guards no
        // server: it is the same public default in every install.
        if name == "Spring" && embedded_database(&file.text[..value.start()]) {
            continue;
        }
        // `OAUTH_GITHUB_APP_SECRET: …` at the top of a `config/application.yml`: Figaro's
        // file of environment variables for a Rails app (a developer's, by its convention),
        // not Spring's nested, lower-case properties.
        if name == "Spring" && env_style_key(&captures[0]) {
            continue;
        }
        if name == "Django" && assigned_for_production(file, &captures[0]) {
            continue;
        }
        out.push(Finding::new(
            &FRAMEWORK_PASSWORD,
            file.path,
            file.position(value.start()),
            format!("literal password in {name} config"),
            text,
            true,
        ));
    }
}

/// Whether a Django settings package assigns this setting again for production: a literal
/// in `settings/base.py` that `settings/prod.py` (or `production.py`) sets from the
/// environment or a file is the development default (linkding's `SECRET_KEY`).
fn assigned_for_production(file: &File<'_>, assignment: &str) -> bool {
    let Some(setting) = assignment
        .split(['=', ':'])
        .next()
        .map(|s| s.trim().trim_matches(['"', '\'']))
    else {
        return false;
    };
    let Some(dir) = file.path.rsplit_once('/').map(|(dir, _)| dir) else {
        return false;
    };
    if !dir.ends_with("settings") || file.name.starts_with("prod") {
        return false;
    }
    ["prod.py", "production.py", "settings_prod.py"]
        .iter()
        .filter_map(|name| file.neighbour(&format!("{dir}/{name}")))
        .any(|production| {
            production.lines().any(|line| {
                let line = line.trim_start().trim_start_matches(['"', '\'']);
                line.strip_prefix(setting).is_some_and(|rest| {
                    let rest = rest.trim_start_matches(['"', '\'']).trim_start();
                    rest.starts_with(':') || rest.starts_with('=') && !rest.starts_with("==")
                })
            })
        })
}

/// Whether the Rails YAML text before a value leaves it in a section other than the
/// development and test ones (`development:` and `test:` keys are generated and committed on
/// purpose; production's come from the environment).
fn production_section(before: &str) -> bool {
    let section = before
        .lines()
        .rev()
        .find(|line| {
            line.chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && c != '#')
                && line.trim_end().ends_with(':')
        })
        .map(|line| line.trim_end().trim_end_matches(':'));
    !matches!(section, Some("development" | "test"))
}

#[cfg(test)]
mod tests;
