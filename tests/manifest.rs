//! `dozen.toml`: every documented key, unknown keys with "did you mean", typed values.

use crate::harness::Test;

fn check(manifest: &str) -> crate::harness::Output {
    Test::new()
        .procfile("web: a\nworker: b\n")
        .manifest(manifest)
        .args(&["check"])
        .run()
}

#[test]
fn the_documented_manifest_is_valid() {
    let manifest = r#"
[app]
name = "comics"
[build]
steps = ["npm ci", "npm run build"]
cache = ["node_modules/.cache"]
env = { NODE_ENV = "production" }
[requires]
tools = ["sh"]
[env]
inherit = ["AWS_*", "VAULT_TOKEN"]
[environments.production]
files = [".env"]
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
health = { tcp = true }
[tasks]
migrate = "python manage.py migrate"
[audit]
ignore = ["rule-id", "rule-id:path/glob"]
"#;
    Test::new()
        .procfile("web: a\nworker: b\n")
        .env_file(".env", "A=1\n")
        .manifest(manifest)
        .args(&["check"])
        .run()
        .success()
        .stdout_has("comics")
        .stdout_has("tasks        migrate");
}

#[test]
fn unknown_keys_are_located_with_a_suggestion() {
    check("[processes.web]\nrestat = \"always\"\n")
        .code(1)
        .stderr_has("error: dozen.toml:2:1: unknown key `restat`\n  |\n2 | restat = \"always\"\n  | ^^^^^^\n  = did you mean `restart`?\n");
    check("[formaton]\nweb = 1\n")
        .code(1)
        .stderr_has("dozen.toml:1:2: unknown key `formaton`")
        .stderr_has("did you mean `formation`?");
    check("[processes.web]\nrestart = \"sometimes\"\n")
        .code(1)
        .stderr_has("dozen.toml:2:11: unknown value `sometimes`");
}

#[test]
fn typed_values_are_checked_where_they_stand() {
    check("[processes.web]\nkill_timeout = \"10 parsecs\"\n")
        .code(1)
        .stderr_has("dozen.toml:2:16: invalid duration `10 parsecs`");
    check("[processes.web]\nkill_timeout = 10\n")
        .code(1)
        .stderr_has("dozen.toml:2:16: expected a duration string");
    check("[processes.web]\nstop_signal = \"SIGNOPE\"\n")
        .code(1)
        .stderr_has("dozen.toml:2:15: unknown signal `SIGNOPE`");
    check("[formation]\nweb = -1\n")
        .code(1)
        .stderr_has("dozen.toml:2:7:");
    check("[formation]\nweb = 1000\n")
        .code(1)
        .stderr_has("dozen.toml:2:7: 1000 instances of `web`: at most 100 per type");
    check("[app\n").code(1).stderr_has("dozen.toml:1:");
    for duration in ["500ms", "10s", "2m", "1h", "1m30s"] {
        check(&format!("[processes.web]\nkill_timeout = \"{duration}\"\n")).success();
    }
}

#[test]
fn references_to_process_types_are_checked() {
    check("[formation]\nwrker = 1\n")
        .code(1)
        .stderr_has("dozen.toml:2:1: formation entry `wrker` is not a process type in the Procfile")
        .stderr_has("did you mean `worker`?");
    check("[processes.web]\nafter = [\"db\"]\n")
        .code(1)
        .stderr_has("dozen.toml:2:10: `after` entry `db` is not a process type");
    check("[processes.web]\nafter = [\"worker\"]\n[processes.worker]\nafter = [\"web\"]\n")
        .code(1)
        .stderr_has("`after` makes a cycle: web → worker → web");
    check("[processes.release]\nrestart = \"always\"\n")
        .code(1)
        .stderr_has("`release` is not a process type");
}

#[test]
fn missing_tools_are_warnings() {
    check("[requires]\ntools = [\"sh\", \"definitely-not-a-tool-dozen\"]\n")
        .success()
        .stderr_has(
            "warning: dozen.toml:2:16: declared tool `definitely-not-a-tool-dozen` is not on PATH",
        )
        .stderr_lacks("`sh`");
}

#[test]
fn listed_env_files_must_exist_and_replace_the_default_stack() {
    Test::new()
        .procfile("web: x\n")
        .manifest("[environments.production]\nfiles = [\".env\", \".env.prod\"]\n")
        .env_file(".env", "A=1\n")
        .args(&["--env", "production", "check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:18: env file `.env.prod` does not exist");
    let output = Test::new()
        .procfile("web: x\n")
        .manifest("[environments.production]\nfiles = [\"prod.env\"]\n")
        .env_file(".env", "A=1\n")
        .env_file(".env.production", "B=1\n")
        .env_file("prod.env", "C=1\n")
        .args(&["--env", "production", "config", "--json", "--reveal"])
        .run()
        .success();
    assert_eq!(output.json(), serde_json::json!({"C": "1"}));
}

#[test]
fn invalid_utf8_manifest() {
    Test::new()
        .procfile("web: x\n")
        .file("dozen.toml", b"[app]\nname = \"\xff\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:9: not valid UTF-8");
}
