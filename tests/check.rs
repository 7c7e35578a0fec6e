//! `dozen check`: what it prints and how it exits.

use crate::harness::Test;

#[test]
fn prints_what_it_found_and_never_values() {
    Test::new()
        .procfile("web: a\nworker: b\nrelease: c\n")
        .env_file(".env", "DATABASE_URL=postgres://u:p@h/db\nPORT=5000\n")
        .env_file(".env.production", "PORT=80\n")
        .env_file(".env.example", "PORT=\n")
        .args(&["check"])
        .run()
        .success()
        .stdout_has("processes    web, worker\n")
        .stdout_has("release      yes (release phase)\n")
        .stdout_has("environment  development\n")
        .stdout_has("env files    .env\n")
        .stdout_has("keys         DATABASE_URL, PORT\n")
        .stdout_has("environments development, production\n")
        .stdout_has("valid\n")
        .stdout_lacks("postgres://");
}

#[test]
fn json_report() {
    let output = Test::new()
        .procfile("web: a\n")
        .env_file(".env", "A=1\nA=2\n")
        .manifest("[tasks]\nmigrate = \"m\"\n")
        .args(&["check", "--json"])
        .run()
        .success();
    let json = output.json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["environment"], "development");
    assert_eq!(json["env_files"], serde_json::json!([".env"]));
    assert_eq!(json["keys"], serde_json::json!(["A"]));
    assert_eq!(json["tasks"], serde_json::json!(["migrate"]));
    assert_eq!(json["manifest"], "dozen.toml");
    assert_eq!(json["errors"], serde_json::json!([]));
    let warning = &json["warnings"][0];
    assert_eq!(
        (
            warning["path"].as_str(),
            warning["line"].as_u64(),
            warning["column"].as_u64()
        ),
        (Some(".env"), Some(2), Some(1))
    );
    assert_eq!(warning["severity"], "warning");
}

#[test]
fn json_report_with_errors_exits_1() {
    let json = Test::new()
        .procfile("web : a\n")
        .args(&["check", "--json"])
        .run()
        .code(1)
        .json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["path"], "Procfile");
    assert_eq!(json["errors"][0]["line"], 1);
    assert_eq!(json["errors"][0]["column"], 4);
}

#[test]
fn env_flag_selects_the_stack() {
    Test::new()
        .procfile("web: a\n")
        .env_file(".env", "A=1\n")
        .env_file(".env.production", "B=1\n")
        .args(&["--env", "production", "check"])
        .run()
        .success()
        .stdout_has("env files    .env, .env.production\n")
        .stdout_has("keys         A, B\n");
}

#[test]
fn quiet_prints_only_errors() {
    Test::new()
        .procfile("web: a\n")
        .env_file(".env", "A=1\nA=2\n")
        .args(&["-q", "check"])
        .run()
        .success()
        .stdout("")
        .stderr("");
    Test::new()
        .procfile("web : a\n")
        .args(&["check", "-q"])
        .run()
        .code(1)
        .stdout("")
        .stderr_has("error: Procfile:1:4:");
}

#[test]
fn verbose_shows_commands() {
    Test::new()
        .procfile("web: python3 app.py\n")
        .args(&["-v", "check"])
        .run()
        .success()
        .stdout_has("python3 app.py");
}

#[test]
fn app_flag_and_dozen_app_variable() {
    let test = Test::new()
        .file("svc/Procfile", "api: run\n")
        .file("svc/.env", "K=v\n");
    test.args(&["--app", "svc", "check"])
        .run()
        .success()
        .stdout_has("processes    api\n")
        .stdout_has("env files    svc/.env\n");
    Test::new()
        .file("svc/Procfile", "api : run\n")
        .env("DOZEN_APP", "svc")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: svc/Procfile:1:4:");
}

/// Issue 28: `check` warns when a process type's command names a script of the app that does
/// not exist (`python app.py` with no `app.py`), located at the Procfile's word.
#[test]
fn a_script_the_procfile_names_that_does_not_exist_is_a_warning() {
    Test::new()
        .procfile(
            "web: python3 app.py --port $PORT\nclock: python3 clock.py\nworker: ./bin/worker\n",
        )
        .file("clock.py", "")
        .args(&["check"])
        .run()
        .code(0)
        .stderr_has("warning: Procfile:1:14: `web` runs `app.py`, which is not a file of the app")
        .stderr_lacks("clock.py")
        .stderr_lacks("bin/worker");
}

/// `[router] listen` without `enabled = true` runs no router: said where it is written, not
/// silently valid (issue 30, finding 11).
#[test]
fn a_router_address_with_the_router_off_is_a_warning() {
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\nlisten = \"8080\"\n")
        .args(&["check"])
        .run()
        .code(0)
        .stderr_has("warning: dozen.toml:2:10: [router] listen is set, but the router is off");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[router]\nenabled = true\nlisten = \"8080\"\n")
        .args(&["check"])
        .run()
        .code(0)
        .stderr_lacks("router is off");
}

/// A drain whose `${NAME}` parts make a URL `run` refuses is refused by `check` too, and no
/// value that filled it is printed by either (issue 31, finding 23).
#[test]
fn drains_are_checked_with_the_config_and_never_print_a_value() {
    let app = || {
        Test::new()
            .procfile("web: sleep 1\n")
            .env_file(".env", "LOG_HOST=ttok leakme123\n")
            .manifest("[logs]\ndrains = [\"syslog+tls://${LOG_HOST}:6514\"]\n")
    };
    app()
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("invalid drain with the `development` config: invalid host `${LOG_HOST}` in a drain URL")
        .stderr_has("dozen.toml:2:")
        .stderr_lacks("leakme")
        .stdout_lacks("leakme");
    app()
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("[logs] drains: invalid host `${LOG_HOST}` in a drain URL")
        .stderr_lacks("leakme")
        .stdout_lacks("leakme");
}
