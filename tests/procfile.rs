//! Every Procfile rule of DESIGN §1, through `dozen check` and another command.

use crate::harness::Test;

#[test]
fn types_in_file_order_with_comments_blank_lines_and_crlf() {
    let output = Test::new()
        .procfile("# processes\r\nweb: python3 -m http.server $PORT\r\n\r\n   # indented comment\r\nworker:python3 w.py\r\nclock:\tpython3 c.py\r\n")
        .args(&["check", "--json"])
        .run()
        .success();
    let json = output.json();
    let names: Vec<&str> = json["procfile"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "worker", "clock"]);
    assert_eq!(
        json["procfile"]["types"][0]["command"],
        "python3 -m http.server $PORT"
    );
    assert_eq!(json["procfile"]["types"][2]["line"], 6);
}

#[test]
fn text_check_lists_types_in_order() {
    Test::new()
        .procfile("b: x\na: y\n")
        .args(&["check"])
        .run()
        .success()
        .stdout_has("processes    b, a\n");
}

#[test]
fn release_is_the_release_phase_not_a_process_type() {
    let output = Test::new()
        .procfile("web: a\nrelease: ./migrate\n")
        .args(&["check", "--json"])
        .run()
        .success();
    let json = output.json();
    assert_eq!(json["procfile"]["types"].as_array().unwrap().len(), 1);
    assert_eq!(json["procfile"]["release"]["command"], "./migrate");
}

/// Each malformed line: `Procfile:LINE:COL`, the source line and a caret; exit 1 from
/// `check`, 2 from any other command.
#[test]
fn malformed_lines_are_located_errors() {
    let cases = [
        (
            "web : x",
            "Procfile:2:4: unexpected whitespace between `web` and `:`",
            "   ^",
        ),
        (
            "  web: x",
            "Procfile:2:1: a process type must start at the beginning of the line",
            "^^",
        ),
        (
            "web.1: x",
            "Procfile:2:4: invalid character `.` in process type name",
            "   ^",
        ),
        (
            "wéb: x",
            "Procfile:2:2: invalid character `é` in process type name",
            " ^",
        ),
        (
            "just words here",
            "Procfile:2:5: expected `:` after `just`",
            "    ^",
        ),
        (
            "web@2: x",
            "Procfile:2:4: invalid character `@` in process type name",
            "   ^",
        ),
        (
            "+foo: x",
            "Procfile:2:1: expected a process type name, found `+`",
            "^",
        ),
        (
            "web:",
            "Procfile:2:1: process type `web` has an empty command",
            "^^^^",
        ),
        (
            "web:  \t ",
            "Procfile:2:1: process type `web` has an empty command",
            "^^^^",
        ),
    ];
    for (line, headline, caret) in cases {
        let procfile = format!("ok: true\n{line}\n");
        let output = Test::new()
            .procfile(&procfile)
            .args(&["check"])
            .run()
            .code(1);
        let expected = format!(
            "error: {headline}\n  |\n2 | {}\n  | {caret}\n",
            line.replace('\t', " ")
        );
        output.stderr_has(&expected);
        Test::new()
            .procfile(&procfile)
            .args(&["config"])
            .run()
            .code(2)
            .stderr_has(&format!("error: {headline}\n"));
    }
}

#[test]
fn duplicate_names_are_an_error_naming_both_lines() {
    Test::new()
        .procfile("web: a\nworker: b\nweb: c\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: Procfile:3:1: duplicate process type `web`\n  |\n3 | web: c\n  | ^^^\n  = first defined at Procfile:1:1\n");
}

#[test]
fn names_up_to_63_characters() {
    let ok = format!("{}: x\n", "a".repeat(63));
    Test::new().procfile(&ok).args(&["check"]).run().success();
    let long = format!("{}: x\n", "a".repeat(64));
    Test::new()
        .procfile(&long)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("Procfile:1:64: process type name is 64 characters long; the limit is 63");
}

#[test]
fn names_take_letters_digits_underscore_and_dash() {
    let output = Test::new()
        .procfile("a-b_C9: x\n9: y\n")
        .args(&["check", "--json"])
        .run()
        .success();
    assert_eq!(output.json()["procfile"]["types"][1]["name"], "9");
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let output = Test::new()
        .procfile("web : a\nw.x: b\nok: c\n")
        .args(&["check", "--json"])
        .run()
        .code(1);
    let json = output.json();
    assert_eq!(json["errors"].as_array().unwrap().len(), 2);
    assert_eq!(json["errors"][1]["line"], 2);
    assert_eq!(json["errors"][1]["column"], 2);
}

#[test]
fn missing_empty_and_unreadable_procfiles() {
    Test::new()
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: Procfile: no Procfile found");
    Test::new()
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("error: Procfile: no Procfile found");
    // Reading or editing config needs no process types.
    Test::new()
        .env_file(".env", "A=1\n")
        .args(&["config", "--json", "--reveal"])
        .run()
        .success()
        .stdout("{\n  \"A\": \"1\"\n}\n");
    Test::new()
        .args(&["exec", "--dev", "--", "true"])
        .run()
        .success();
    // A Procfile that exists but is broken still stops them.
    Test::new()
        .procfile("web x\n")
        .args(&["config"])
        .run()
        .code(2);
    Test::new()
        .procfile("# nothing\n\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("Procfile:1:1: the Procfile defines no process types");
    Test::new()
        .file("Procfile", b"web: ok\nbad: \xff\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("Procfile:2:6: not valid UTF-8");
}

#[test]
fn procfile_flag_names_another_file_and_its_directory_is_the_app() {
    // foreman and honcho take the app root from the Procfile's directory; so does dozen, and
    // its .env comes from there too (foreman#548 read it from the current directory).
    let output = Test::new()
        .file("sub/Procfile.dev", "dev: run\n")
        .file("sub/.env", "FROM_SUB=1\n")
        .env_file(".env", "FROM_TOP=1\n")
        .args(&["-f", "sub/Procfile.dev", "check", "--json"])
        .run()
        .success();
    let json = output.json();
    assert_eq!(json["procfile"]["types"][0]["name"], "dev");
    assert_eq!(json["keys"], serde_json::json!(["FROM_SUB"]));
    Test::new()
        .file("other", "web : x\n")
        .args(&["--procfile", "other", "check"])
        .run()
        .code(1)
        .stderr_has("error: other:1:4:");
}
