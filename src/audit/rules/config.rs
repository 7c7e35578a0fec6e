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

const WHY_SECRET: &str = "Config that varies between deploys, credentials above all, belongs in the environment, never in the code: the litmus test is whether the codebase could be made open source at any moment without compromising any credentials. A secret in a commit is in every clone and every fork, and stays in the history after it is deleted.";
const FIX_SECRET: &str = "Revoke the credential with its provider now (it is compromised), move the value into the environment (`dozen config set KEY=value`, read with an env lookup), and remove it from the file.";

/// A provider-format secret rule: precise patterns, so errors at most. Read where real
/// credentials live: production, the tooling that builds and deploys it, and the development
/// setup (a token in a test fixture or an example is a stand-in).
const fn provider(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        factor: Factor::III,
        severity: Severity::Error,
        roles: Roles::CREDENTIALS,
        summary,
        explanation: WHY_SECRET,
        fix: FIX_SECRET,
    }
}

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

pub static AWS_ACCESS_KEY: Rule = provider("config/aws-access-key", "An AWS access key id");

pub static AWS_SECRET_KEY: Rule = provider(
    "config/aws-secret-key",
    "An AWS secret access key assigned to an AWS-named variable",
);

pub static GITHUB_TOKEN: Rule = provider("config/github-token", "A GitHub token");

pub static GITLAB_TOKEN: Rule = provider(
    "config/gitlab-token",
    "A GitLab token: personal, routable, runner, deploy, trigger, CI job, feed, OAuth, SCIM, agent, mail or feature-flag",
);

pub static SLACK_TOKEN: Rule = provider(
    "config/slack-token",
    "A Slack token or incoming webhook URL",
);

pub static STRIPE_KEY: Rule = provider("config/stripe-key", "A Stripe secret or restricted key");

pub static SENDGRID_KEY: Rule = provider("config/sendgrid-key", "A SendGrid API key");

pub static GOOGLE_API_KEY: Rule = provider("config/google-api-key", "A Google API key");

pub static NPM_TOKEN: Rule = provider("config/npm-token", "An npm access token");

pub static PYPI_TOKEN: Rule = provider("config/pypi-token", "A PyPI API token");

pub static OPENAI_KEY: Rule = provider("config/openai-key", "An OpenAI API key");

pub static PRIVATE_KEY: Rule = provider("config/private-key", "A private key block");

pub static JWT: Rule = provider("config/jwt", "A JSON Web Token");

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

/// A provider-format token whose body is a stand-in is not a finding: a run of one character
/// (`ghp_xxxx…`, `AKIAXXXXXXXXXXXXXXXX`, `xoxb-000000000-…`), a handful of distinct characters,
/// or a documented example (`AKIAIOSFODNN7EXAMPLE`).
fn real_token(hit: &Hit<'_>) -> bool {
    let token = hit.evidence;
    let mut longest = 0;
    let mut run = 0;
    let mut last = None;
    for c in token.chars().filter(char::is_ascii_alphanumeric) {
        run = if last == Some(c) { run + 1 } else { 1 };
        longest = longest.max(run);
        last = Some(c);
    }
    let distinct = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let lower = token.to_ascii_lowercase();
    // `abcdefgh`, `12345678`: typed, not generated.
    let sequential = token.as_bytes().windows(8).any(|w| {
        w.windows(2).all(|p| {
            // Alphanumeric first: `+ 1` on a byte of 255 would overflow.
            p[0].is_ascii_alphanumeric() && p[1].is_ascii_alphanumeric() && p[1] == p[0] + 1
        })
    });
    // `GR1348941` + `123123123123…`: a short pattern repeated over half the token or more is
    // typed. (A stretch inside a long token is not: base64 of any repeated text has one.)
    let alphanumeric: Vec<u8> = token.bytes().filter(u8::is_ascii_alphanumeric).collect();
    let periodic = (2..=4).any(|period| {
        let mut stretch = 0;
        let mut longest = 0;
        for i in period..alphanumeric.len() {
            stretch = if alphanumeric[i] == alphanumeric[i - period] {
                stretch + 1
            } else {
                0
            };
            longest = longest.max(stretch + period);
        }
        longest >= 12 && longest * 2 >= alphanumeric.len()
    });
    !(longest >= 6
        || distinct <= 6
        || sequential
        || periodic
        || lower.contains("example")
        || lower.contains("xxxx")
        || PUBLISHED_SAMPLES.contains(&token))
}

/// Keys providers publish in their SDKs' samples and READMEs: everywhere an app copied a
/// sample from, and they open nothing (gitleaks allows the same ones).
const PUBLISHED_SAMPLES: &[&str] = &[
    // Firebase's Android SDK.
    "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
    "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
    // Mailchimp's iOS SDK README.
    "3012a5754bbd716926f99c028f7ea428-us18",
];

/// An AWS access key id that is not a presigned URL's: S3 puts the key id in every URL it
/// signs (`X-Amz-Credential=AKIA…/…`, `AWSAccessKeyId=AKIA…`), public by design; the secret
/// key never leaves.
fn aws_key_id(hit: &Hit<'_>) -> bool {
    let before = hit
        .content
        .get(hit.evidence_at.saturating_sub(40)..hit.evidence_at)
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .to_ascii_lowercase();
    real_token(hit)
        && !before.ends_with("x-amz-credential=")
        && !before.ends_with("x-amz-credential%3d")
        && !before.ends_with("awsaccesskeyid=")
}

/// A private key block with a body: base64 after the `BEGIN` line (in a file, or a JSON
/// string with `\n` escapes), not `...` or a template's stand-in.
fn private_key_body(hit: &Hit<'_>) -> bool {
    // A key a test signs with is generated for it (saleor's OpenID tests); tokens in tests
    // are still reported: those can be real.
    if files::is_test_path(hit.path) {
        return false;
    }
    let after = &hit.content[(hit.at + hit.matched.len()).min(hit.content.len())..];
    let after = &after[..after.len().min(400)];
    let text = String::from_utf8_lossy(after).replace("\\n", "\n");
    let body: String = text
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.contains(':') && !l.contains("-----"))
        .take_while(|l| !l.contains("-----"))
        .flat_map(|l| l.trim().trim_matches(['"', '\'', ',']).chars())
        .collect();
    let base64 = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .count();
    base64 >= 40 && !crate::audit::clues::is_placeholder(&body)
}

/// A JSON Web Token that still grants something: not a stand-in, and not expired. A token
/// whose `exp` has passed (an API doc's example response, a test's fixture) opens nothing.
fn live_jwt(hit: &Hit<'_>) -> bool {
    let expired = hit
        .evidence
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_f64))
        .is_some_and(|exp| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            exp < now
        });
    real_token(hit) && !expired
}

/// Decodes unpadded base64url (RFC 4648 §5), as JWT segments are written.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0_u32, 0);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).unwrap_or_default());
        }
    }
    Some(out)
}

/// Provider-format secrets: high precision, so errors.
pub static SECRETS: [Pattern; 13] = [
    Pattern::new(
        &AWS_ACCESS_KEY,
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        "AWS access key id in source",
        Kinds::ALL,
    )
    .secret()
    .verify(aws_key_id),
    Pattern::new(
        &AWS_SECRET_KEY,
        r#"(?i)\baws_?secret_?(?:access_?)?key\b["']?\s*(?:=|:|:=|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        "AWS secret access key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GITHUB_TOKEN,
        r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        "GitHub token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GITLAB_TOKEN,
        r"\b((?:glpat-[A-Za-z0-9_-]{27,}\.[0-9a-z]{9}|glpat-[A-Za-z0-9_-]{20}|GR1348941[A-Za-z0-9_-]{20}|gl(?:rt|dt|ft|soat|ffct)-[A-Za-z0-9_-]{20}|glptt-[0-9a-f]{40}|glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}|gloas-[0-9a-zA-Z_-]{20,}|glagent-[0-9a-zA-Z_-]{20,}|glimt-[0-9a-zA-Z_-]{25}))",
        "GitLab token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &SLACK_TOKEN,
        concat!(
            r"\b(xoxe\.xox[bp]-\d-[A-Za-z0-9]{163,166}|xoxe-\d-[A-Za-z0-9]{146}",
            r"|xoxb-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9-]*|xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}",
            r"|xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,34}|xox[ar]-(?:\d-)?[0-9A-Za-z]{8,48}",
            r"|xox[os]-\d+-\d+-\d+-[a-fA-F\d]+|xapp-\d-[A-Za-z0-9]+-\d+-[A-Za-z0-9]+",
            r"|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,})"
        ),
        "Slack token or webhook in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &STRIPE_KEY,
        r"\b((?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99})",
        "Stripe secret key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &SENDGRID_KEY,
        // The documented form is `SG.` 22 `.` 43; gitleaks' examples are any 66 of the set.
        r"\b(SG\.[A-Za-z0-9=_.-]{66})(?:[^A-Za-z0-9=_.-]|$)",
        "SendGrid API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &GOOGLE_API_KEY,
        r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        "Google API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &NPM_TOKEN,
        r"\b(npm_[A-Za-z0-9]{36})\b",
        "npm access token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &PYPI_TOKEN,
        r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        "PyPI API token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &OPENAI_KEY,
        r"\b(sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        "OpenAI API key in source",
        Kinds::ALL,
    )
    .secret()
    .verify(real_token),
    Pattern::new(
        &PRIVATE_KEY,
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
        "private key block in source",
        Kinds::ALL,
    )
    .secret()
    .verify(private_key_body),
    Pattern::new(
        &JWT,
        r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        "JSON Web Token in source",
        Kinds::ALL,
    )
    .secret()
    .verify(live_jwt),
];

/// Whether a rule is one of the provider-format secret rules (they share one mechanism, so
/// their measured precision is pooled: [`crate::audit::measured`]).
pub fn is_provider(rule: &Rule) -> bool {
    rule.fix == FIX_SECRET
}

/// Whether a token proves it was issued by its provider: GitHub's tokens (`ghp_`, `gho_`,
/// `ghu_`, `ghs_`, `ghr_`) end in the base62 CRC32 of their 30 random characters. A
/// stand-in typed or generated for a test almost never carries a valid one (1 in 56.8 G).
/// Tokens of other formats carry no such proof.
pub fn live_shaped(token: &str) -> bool {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let Some(body) = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .find_map(|prefix| token.strip_prefix(prefix))
    else {
        return false;
    };
    let body = body.get(..36).unwrap_or(body);
    if body.len() != 36 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    let mut value = crc32fast::hash(random.as_bytes());
    let mut encoded = [b'0'; 6];
    for slot in encoded.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    value == 0 && encoded == checksum.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::scan::Scanner;

    /// (rule, true positives, false positives): the gitleaks pattern of testing rules.
    const CASES: [(&str, &[&str], &[&str]); 13] = [
        (
            "config/aws-access-key",
            &["key = 'AKIAQ3EGV7XJ2MBZR4TN'", "ASIAY34FZKBOKMUTVV7A"],
            &[
                "AKIAQ3EGV7XJ2MBZR4T",
                "XAKIAQ3EGV7XJ2MBZR4TN",
                "akiaq3egv7xj2mbzr4tn",
                // Stand-ins: AWS's documented example, a run of one character.
                "key = 'AKIAIOSFODNN7EXAMPLE'",
                "AKIAXXXXXXXXXXXXXXXX",
            ],
        ),
        (
            "config/aws-secret-key",
            &[
                "AWS_SECRET_ACCESS_KEY=q8Zt3VwKx0Lr7Yb2NmC9pD4sHf6Jg1Te5Ua8Wi0O",
                "aws_secret_key: \"Hk2/Lp9Qr4+Ts7Vw1Xy3Za5Bc8De0Fg6Hj2Kl4Mn\"",
            ],
            &[
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_key: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz\"",
                "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",
                "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
                "SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ],
        ),
        (
            "config/github-token",
            &[
                "ghp_xEEsAoCaA2QTqpOoast0vQj8VMtbYo9Mqb5j",
                "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",
            ],
            &[
                "ghp_short",
                "ghx_IcQPzMuEGQ80YRP10eougTfIhpazOc61hVRd",
                "ghp_0123456789abcdefghijABCDEFGHIJ012345",
                "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            ],
        ),
        (
            "config/gitlab-token",
            &[
                "glpat-u8jzPde0IgxLd6GncfBA",
                "glpat-iEl2hpChYgCfrL1spNxnyVmihA-2O7.01.3xtplpf",
                "GR1348941KtHF4vUCsMehGAkWvj7F",
                "glrt-Ac9QeWJKY40uvSwMFLZD",
                "gldt-e1f8rESQedUStPKR0Cs-",
                "glptt-cb0eb53f16947ccf25ec84d8dbc74254770f5890",
                "glcbt-jAI_xNKu8iS2G8NPRVdD53X8",
                "glft-3RZJzzzzgEOzdmenCkhv",
                "glsoat-MdgaKjIg8xNbe3nNyjOq",
                "glagent-9wMxEhh2FDEEtfjgVvVqE1SkHbn88HxjSI6bWHtP3fS2qHx6kw",
                "glimt-XoIIXGvOoNZYW2mZp0zVZomHF",
                "glffct-wUbbYrEqmSM9wCZ7Uw9x",
                "gloas-fogoEmvnEN5N1aE6PwZPf1Qh6yYTWmE4lBYOvfZ8UzDzV8fUkkibjL5DZPjN0MEQ",
            ],
            &[
                "glpat-short",
                "glpat-ABCDEFGHIJ0123456789",
                "glpat-xxxxxxxxxxxxxxxxxxxx",
            ],
        ),
        (
            "config/slack-token",
            &[
                "xoxb-528820018263-03nbqnsGpWLuqIA1id6Vw5DQ",
                "https://hooks.slack.com/services/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",
                "xapp-1-A29BE2U66MR-7887838483726-3cea27d26934b484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2",
                "xoxe-1-RBFQFOEQH3AV90RIC7PHKQDLMTT7NS26LRWBQCAB69M64P2G158Z6TNOVMIZWDIAEQ1KDFY6SPSC3LKR2AQXV9UPCTNWLAVYF4R6MP6AFQFJZCZBTTOF7JYU5JSJC616I76BOFBCIXGY29DB8P",
                "https://hooks.slack.com/workflows/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",
                "hooks.slack.com/triggers/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",
            ],
            &[
                "xoxz-123456789012",
                "https://hooks.slack.com/",
                "xoxb-xxxxxxxxx-xxxxxxxxxxxx",
                "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
            ],
        ),
        (
            "config/stripe-key",
            &[
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "rk_test_zy3Lex7BWr2drgd1QsO7jprB",
                "sk_prod_GumXxY9B4bZWOz648JJnUfd7",
                "rk_prod_UACNWiP3sF",
            ],
            &[
                "sk_live_short",
                "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "rk_test_abcdefghijklmnop",
            ],
        ),
        (
            "config/sendgrid-key",
            &["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"],
            &["SG.short.key"],
        ),
        (
            "config/google-api-key",
            &["AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"],
            &["AIzaShort"],
        ),
        (
            "config/npm-token",
            &["npm_zeomDnTaOaovzMNndr5ObyOdjQ9IS8onGY2O"],
            &[
                "npm_install",
                "npm_config_cache",
                "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            ],
        ),
        (
            "config/pypi-token",
            &[
                "pypi-AgEIcHlwaS5vcmcCJDU3OTM5NmZiLWRmNjMtNDVhNi1iOTY5LTRhYTIzZjVlOWNiYwACKlszLCJkNGI0NzhmZS0yN2E4",
            ],
            &["pypi-token-placeholder"],
        ),
        (
            "config/openai-key",
            &["sk-proj-2IQ0OUV86rGbNNZZGnELT3BlbkFJEwiTDVT6lgmbf7xUsP0P"],
            &[
                "sk-abc",
                "task-abcdefghijklmnopqrstuvwxyz",
                "sk-proj-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst",
            ],
        ),
        (
            "config/private-key",
            &[
                "-----BEGIN RSA PRIVATE KEY-----\nmtexpDSA3lxl7kettuA1fToZ0HpXyT4V3cSykBX0hB0RfZScs1EPvZhWfZ5esavy\nL0dgpaqOkM5s2K0ksfMHM4OjHWN9cpoQZI5LBIb8\n-----END RSA PRIVATE KEY-----\n",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nazk1tCR0nIbOvV1LUBuzfkJacmIynp//TcaiG1pQ19WEzNuCxwXTjsdAs0lHL2RPYzQF6d\n",
                "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\ncSc400lsEFcwfvHCU+e/qFO81VQFL0b0aA3taBrdmzEZJb6hPNOQFEfKsGPSpFk/\\n-----END PRIVATE KEY-----\\n\"",
            ],
            &[
                "-----BEGIN PUBLIC KEY-----\ndtOp3rzHjUsGd0wyanwfQuvxBGtpMZh4mNU5MP4fLi38BJlV5JN5imMkZnSUXMDH\n",
                "-----BEGIN CERTIFICATE-----",
                "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n\"",
                "-----BEGIN RSA PRIVATE KEY-----\n<your key here>\n-----END RSA PRIVATE KEY-----",
            ],
        ),
        (
            "config/jwt",
            &[
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                // Expires in 2100.
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjFjMmE5ZSIsImV4cCI6NDEwMjQ0NDgwMH0.Qm3vT8xR2pL9wK4nZ7yB1cF6hJ0sD5gA8eU3iO2tY4M",
            ],
            &[
                "eyJ.eyJ.x",
                "ey.ey.ey",
                // Expired in 2020 (an API doc's example response).
                "refreshToken: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZWJhYzUzNDk1NGI1NDEzOTgwNmMxMTIiLCJpYXQiOjE1ODkyOTg0ODQsImV4cCI6MTU4OTMwMDI4NH0.m1U63blB0MLej_WfB7yC2FTMnCziif9X8yzwDEfJXAg",
            ],
        ),
    ];

    #[test]
    fn every_rule_finds_its_true_positives_and_none_of_its_false_positives() {
        // A match that the pattern's check (placeholders, bodies) accepts.
        let finds = crate::audit::scan::finder(&SECRETS);
        for (rule, positives, negatives) in CASES {
            let index = SECRETS
                .iter()
                .position(|p| p.rule().map(|r| r.id) == Some(rule))
                .unwrap();
            for text in positives {
                assert!(finds(index, text), "{rule} missed {text:?}");
            }
            for text in negatives {
                assert!(!finds(index, text), "{rule} matched {text:?}");
            }
        }
        assert_eq!(CASES.len(), SECRETS.len(), "every rule has cases");
    }

    /// Found by the `audit_file` fuzz target: a user name with bytes that are not UTF-8 before
    /// the password (the verifier sliced lossy text at the file's byte offsets).
    #[test]
    fn a_url_whose_user_is_not_utf8_is_read_without_panic() {
        use crate::audit::scan::Scanners;
        use crate::audit::walk::{Options, Walked, scan_file};
        let scanners = Scanners::new(&crate::audit::rules::PATTERNS);
        let mut walked = Walked::default();
        let content = b"db = \"postgres://u\xff:Hk2Lp9Qr4T@db.internal/app\"\n";
        scan_file(
            "app.py",
            content,
            &scanners,
            &Options::default(),
            &mut walked,
        );
        assert!(
            walked
                .findings
                .iter()
                .any(|f| f.rule == "config/credentialed-url")
        );
    }

    #[test]
    fn github_tokens_prove_their_checksum() {
        // The checksum of GitHub's published token-format example, and stand-ins that
        // look as generated but carry none.
        let random = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123";
        let mut value = crc32fast::hash(random.as_bytes());
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut checksum = [b'0'; 6];
        for slot in checksum.iter_mut().rev() {
            *slot = alphabet[(value % 62) as usize];
            value /= 62;
        }
        let checksum = std::str::from_utf8(&checksum).unwrap();
        assert!(live_shaped(&format!("ghp_{random}{checksum}")));
        assert!(live_shaped(&format!("ghs_{random}{checksum}")));
        assert!(!live_shaped(&format!("ghp_{random}000000")));
        assert!(!live_shaped("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"));
        assert!(!live_shaped(
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(!live_shaped("AKIAQ3EGV7XJ2MBZR4TN"));
    }

    #[test]
    fn secret_names_short_forms_are_whole_words() {
        for name in [
            "DB_PASS",
            "MYSQL_PWD",
            "SMTP_PW",
            "GPG_PASSPHRASE",
            "API_TOKEN",
            "db-password",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PASSENGER_HOME",
            "COMPASS",
            "PWDX",
            "DB_PASSWORD_FILE",
            "PUBLIC_TOKEN",
            "DD_UWSGI_PASS",
            "NGINX_PROXY_PASS",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn matches_are_located_on_the_secret() {
        let patterns: Vec<&Pattern> = SECRETS.iter().collect();
        let scanner = Scanner::new(&patterns, None).unwrap();
        let text = b"x = 1\naws = \"AKIAQ3EGV7XJ2MBZR4TN\"\n";
        let found = scanner.scan(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], b"AKIAQ3EGV7XJ2MBZR4TN");
    }
}
