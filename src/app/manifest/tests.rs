use super::*;
use crate::app::procfile::Procfile;

fn parse(text: &str) -> Result<Manifest, Diagnostic> {
    Manifest::parse(&Source::new(FILE_NAME, text))
}

/// The diagnostic `text` does not parse with, on one line: its headline, then its notes.
fn parse_error(text: &str) -> String {
    let diagnostic = parse(text).expect_err(text);
    let mut s = diagnostic.headline();
    for note in diagnostic.notes {
        s.push_str(" | ");
        s.push_str(&note);
    }
    s
}

fn problems(text: &str, procfile: &str) -> Vec<String> {
    let source = Source::new(FILE_NAME, text);
    let manifest = Manifest::parse(&source).unwrap();
    let (procfile, _) = Procfile::parse(&Source::new("Procfile", procfile));
    manifest
        .validate(&source, Some(&procfile))
        .iter()
        .map(Diagnostic::headline)
        .collect()
}

const FULL: &str = r#"
[app]
name = "comics"

[build]
steps = ["npm ci", "npm run build"]
cache = ["node_modules/.cache"]
env = { NODE_ENV = "production" }

[requires]
tools = ["node", "python3"]

[env]
inherit = ["AWS_*", "VAULT_TOKEN"]

[environments.production]
files = [".env", ".env.production"]

[formation]
web = 2
worker = 1

[processes.web]
restart = "on-failure"
may_exit = false
stop_signal = "SIGTERM"
kill_timeout = "10s"
after = ["worker"]
health = { http = "/healthz", interval = "2s", timeout = "1s", grace = "5s", retries = 3 }

[processes.worker]
health = { command = "true" }

[tasks]
migrate = "python manage.py migrate"

[audit]
ignore = ["rule-id", "rule-id:path/glob"]
"#;

#[test]
fn every_documented_key_parses() {
    let manifest = parse(FULL).unwrap();
    assert_eq!(manifest.app.name.as_ref().unwrap().get_ref(), "comics");
    let web = manifest.process("web").unwrap();
    assert_eq!(web.restart, Some(Restart::OnFailure));
    assert_eq!(web.kill_timeout.unwrap().0.as_secs(), 10);
    assert_eq!(web.stop_signal, Some(Signal::TERM));
    assert_eq!(manifest.environment_files("production").unwrap().len(), 2);
    // The documented example names placeholder rules: warnings, nothing else.
    let source = Source::new(FILE_NAME, FULL);
    let found = parse(FULL).unwrap().validate(
        &source,
        Some(&Procfile::parse(&Source::new("Procfile", "web: a\nworker: b")).0),
    );
    assert!(found.is_empty(), "{found:?}");
    // Whether they name rules is for the audit to say, given its rule ids.
    let unknown: Vec<String> = manifest
        .unknown_audit_rules(&source, &["config/jwt", "rule-id-2"])
        .iter()
        .map(Diagnostic::headline)
        .collect();
    assert_eq!(
        unknown,
        [
            "dozen.toml:38:11: no audit rule `rule-id`; did you mean `rule-id-2`?",
            "dozen.toml:38:22: no audit rule `rule-id`; did you mean `rule-id-2`?"
        ]
    );
    assert_eq!(
        problems(
            "[audit]\nignore = [\"config/jwt\", \"logs/*:src/**\", \"config/jtw\", \"x:\"]\n",
            "web: a"
        ),
        ["dozen.toml:2:56: invalid audit ignore `x:`: write `rule-id` or `rule-id:path/glob`"]
    );
}

#[test]
fn unknown_keys_are_located_with_a_suggestion() {
    assert_eq!(
        parse_error("[processes.web]\nrestat = \"always\"\n"),
        "dozen.toml:2:1: unknown key `restat` | did you mean `restart`? | expected one of `restart`, `may_exit`, `stop_signal`, `kill_timeout`, `restart_delay`, `max_restarts`, `after`, `health`, `tty`, `autoscale`, `watch`, `memory`, `cpu`, `open_files`"
    );
    assert!(
        parse_error("[bild]\nsteps = []\n")
            .starts_with("dozen.toml:1:2: unknown key `bild` | did you mean `build`?")
    );
    assert!(
        parse_error("[processes.web]\nrestart = \"sometimes\"\n")
            .starts_with("dozen.toml:2:11: unknown value `sometimes`")
    );
}

#[test]
fn typed_values_are_located() {
    assert!(
        parse_error("[processes.web]\nkill_timeout = \"10x\"\n")
            .starts_with("dozen.toml:2:16: invalid duration `10x`")
    );
    assert!(
        parse_error("[processes.web]\nstop_signal = \"SIGFOO\"\n")
            .starts_with("dozen.toml:2:15: unknown signal `SIGFOO`")
    );
    assert!(parse_error("[formation]\nweb = -1\n").starts_with("dozen.toml:2:7:"));
    assert!(parse_error("[app\n").starts_with("dozen.toml:1:"));
}

#[test]
fn references_to_the_procfile_are_checked() {
    let manifest = "[formation]\nwrker = 1\n[processes.web]\nafter = [\"db\"]\n";
    assert_eq!(
        problems(manifest, "web: a\nworker: b"),
        [
            "dozen.toml:2:1: formation entry `wrker` is not a process type in the Procfile",
            "dozen.toml:4:10: `after` entry `db` is not a process type in the Procfile",
        ]
    );
}

#[test]
fn semantic_checks() {
    let cases = [
        (
            "[formation]\nweb = 101\n",
            "dozen.toml:2:7: 101 instances of `web`: at most 100 per type",
        ),
        (
            "[processes.web]\nhealth = { interval = \"1s\" }\n",
            "dozen.toml:2:10: a health check needs exactly one of `http`, `tcp` or `command`",
        ),
        (
            "[processes.web]\nhealth = { http = \"healthz\" }\n",
            "dozen.toml:2:10: health check path `healthz` must start with `/`",
        ),
        (
            "[build]\ncache = [\"../x\"]\n",
            "dozen.toml:2:10: build cache `../x` must be a path inside the app",
        ),
        (
            "[tasks]\n\"a b\" = \"x\"\n",
            "dozen.toml:2:1: invalid task name `a b`: use letters, digits, `_` and `-`",
        ),
        (
            "[env]\ninherit = [\"A B\"]\n",
            "dozen.toml:2:12: invalid inherit pattern `A B`: use a variable name, `*` as a wildcard",
        ),
    ];
    for (manifest, expected) in cases {
        assert_eq!(
            problems(manifest, "web: a\nworker: b"),
            [expected],
            "{manifest}"
        );
    }
}

#[test]
fn start_order_cycles_are_found() {
    let manifest = "[processes.web]\nafter = [\"worker\"]\n[processes.worker]\nafter = [\"web\"]\n";
    assert_eq!(
        problems(manifest, "web: a\nworker: b"),
        ["dozen.toml:1:12: `after` makes a cycle: web → worker → web"]
    );
}

#[test]
fn checks_beyond_the_types_keep_their_words() {
    let web = |table: &str| format!("[processes.web]\n{table}\n");
    let cases = [
        (
            web("autoscale = { min = 0, max = 2, target = 1 }"),
            "autoscale min must be at least 1",
        ),
        (
            web("autoscale = { min = 3, max = 2, target = 1 }"),
            "autoscale max (2) is below its min (3)",
        ),
        (
            web("autoscale = { min = 1, max = 101, target = 1 }"),
            "autoscale max (101): at most 100 per type",
        ),
        (
            web("autoscale = { min = 1, max = 2, target = 0 }"),
            "autoscale target must be a number above 0",
        ),
        (
            web("autoscale = { min = 1, max = 2, target = 1, metric = \"command\" }"),
            "autoscale metric \"command\" needs a command that prints the number",
        ),
        (
            web(
                "autoscale = { min = 1, max = 2, target = 1, metric = \"command\", command = \" \" }",
            ),
            "autoscale command is empty",
        ),
        (
            web("autoscale = { min = 1, max = 2, target = 1, command = \"x\" }"),
            "autoscale command is for metric = \"command\"; the router measures in-flight and rps",
        ),
        (
            web("autoscale = { min = 1, max = 2, target = 1, interval = \"5s\" }"),
            "autoscale interval is for metric = \"command\"; the router measures every second",
        ),
        (
            web("health = { tcp = false }"),
            "`tcp = false` is not a health check; remove `health` or use `tcp = true`",
        ),
        (
            web("health = { command = \" \" }"),
            "health check command is empty",
        ),
        (
            web("health = { tcp = true, retries = 0 }"),
            "health check `retries` must be at least 1",
        ),
        (
            "[deploy]\nsticky = \"ip\"\n".to_owned(),
            "invalid sticky `ip`: write \"cookie\" or \"header:NAME\"",
        ),
        (
            "[logs]\ndrains = [\"https://${TOKEN@h\"]\n".to_owned(),
            "invalid drain: `${` without its closing `}`",
        ),
        (
            "[logs]\ndrains = [\"https://${1A}@h\"]\n".to_owned(),
            "invalid drain: `${1A}` is not a config variable's name",
        ),
        (
            "[logs]\ndrains = [\"syslog://${HOST}\"]\n".to_owned(),
            "invalid drain: a syslog drain needs a port: syslog://${HOST}:PORT",
        ),
        (
            "[router]\ntrusted_proxies = [\"10.0.0.0/33\"]\n".to_owned(),
            "invalid trusted proxy: `10.0.0.0/33`: an IPv4 range has at most 32 bits",
        ),
        (
            "[router]\nlisten = \"nowhere\"\n".to_owned(),
            "invalid router address: `nowhere` is neither a port (1–65535) nor HOST:PORT (127.0.0.1:8080, [::1]:8080)",
        ),
    ];
    for (text, expected) in cases {
        let found = problems(&text, "web: a\n");
        assert!(
            matches!(found.as_slice(), [one] if one.ends_with(&format!(": {expected}"))),
            "{text}: {found:?}"
        );
    }
    let bad_glob = problems("[audit]\nignore = [\"config/[\"]\n", "web: a\n");
    assert!(
        matches!(bad_glob.as_slice(), [one] if one.starts_with("dozen.toml:2:11: invalid audit ignore `config/[`: ")),
        "{bad_glob:?}"
    );
}

#[test]
fn drain_urls_take_their_parts_from_the_config() {
    let config = |name: &str| (name == "TOKEN").then(|| "t0k".to_owned());
    let url = LogsSection::drain_url("https://${TOKEN}@logs.example.com/", &config).unwrap();
    assert_eq!(url.userinfo.as_deref(), Some("t0k"));
    let missing = LogsSection::drain_url("https://${KEY}@logs.example.com/", &config);
    assert_eq!(
        missing,
        Err(DrainError::Var(DrainVarError::Missing("KEY".into())))
    );
    assert_eq!(
        missing.unwrap_err().to_string(),
        "the config has no `KEY` for a drain URL"
    );
}

/// A port may come from the config too: a drain's shape is checked with a number there.
#[test]
fn a_drains_port_may_come_from_the_config() {
    assert_eq!(
        drain_shape("syslog+tls://logs.example.com:${LOG_PORT}"),
        Ok(())
    );
    assert_eq!(drain_shape("syslog+tls://${LOG_HOST}:${LOG_PORT}"), Ok(()));
    assert_eq!(
        drain_shape("https://${USER}:${TOKEN}@logs.example.com/in"),
        Ok(())
    );
    assert_eq!(
        drain_shape("syslog://${HOST}").unwrap_err().to_string(),
        "a syslog drain needs a port: syslog://${HOST}:PORT"
    );
}

/// A config value in a drain's host is never printed: not in the URL shown, not in what goes
/// wrong sending to it (issue 31, finding 23).
#[test]
fn a_drains_config_values_are_never_shown() {
    let config = |name: &str| (name == "LOG_HOST").then(|| "ttok-leakme123.example".to_owned());
    let url = LogsSection::drain_url("syslog+tls://${LOG_HOST}:6514", &config).unwrap();
    assert_eq!(url.host, "ttok-leakme123.example");
    assert_eq!(url.redacted(), "syslog+tls://${LOG_HOST}:6514");
    assert_eq!(
        url.scrub("cannot resolve ttok-leakme123.example: no such host"),
        "cannot resolve ${LOG_HOST}: no such host"
    );
}

#[test]
fn limits_parse_and_bad_ones_are_located() {
    let manifest =
        parse("[processes.web]\nmemory = \"512M\"\ncpu = 0.5\nopen_files = 4096\n").unwrap();
    let limits = manifest.process("web").unwrap().limits();
    assert_eq!(limits.memory, Some(512 << 20));
    assert_eq!(limits.cpu, Some(0.5));
    assert_eq!(limits.open_files, Some(4096));
    // A whole number of CPUs is a number too.
    let two = parse("[processes.web]\ncpu = 2\n").unwrap();
    assert_eq!(two.process("web").unwrap().limits().cpu, Some(2.0));

    let located = parse_error("[processes.web]\nmemory = \"512X\"\n");
    assert!(
        located.starts_with("dozen.toml:2:10: invalid memory `512X`"),
        "{located}"
    );
    let bare = parse_error("[processes.web]\nmemory = 512\n");
    assert!(bare.contains("memory `512` is below 1M"), "{bare}");
    assert_eq!(
        problems("[processes.web]\ncpu = 0\nopen_files = -1\n", "web: a"),
        [
            "dozen.toml:2:7: cpu must be a number of CPUs above 0, at most 1024 (0.5 is half of one)",
            "dozen.toml:3:14: open_files must be between 16 and 1048576",
        ]
    );
}
