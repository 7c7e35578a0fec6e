//! Every `.env` rule of DESIGN §7: what the parser and the interpolation make of a file, read
//! in-process as `dozen config --json --reveal` reads it (one process per case would be
//! hundreds; the differential test in `oracle.rs` runs the binary on every shared case), and
//! `dozen check`'s errors and warnings through the binary.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::harness::Test;

#[track_caller]
fn no_errors(env_file: &str, problems: &[dozen::diagnostic::Diagnostic]) {
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(dozen::diagnostic::Diagnostic::headline)
        .collect();
    assert!(errors.is_empty(), "{env_file:?}: {errors:?}");
}

/// The JSON object `config --json --reveal` prints for this `.env` and inherited environment
/// (the tests' `PATH` and the pairs given, as the harness gives the binary), made in-process
/// with the library the command uses.
#[track_caller]
fn resolve(env_file: &str, inherited: &[(&str, &str)]) -> Value {
    use dozen::app::env_file::EnvFile;
    use dozen::app::environment::{Config, Inherited};
    // As a file is read: bytes, a UTF-8 BOM left out.
    let source =
        dozen::source::Source::from_bytes(".env".to_owned(), env_file.as_bytes()).expect("UTF-8");
    let (file, problems) = EnvFile::parse(source);
    no_errors(env_file, &problems);
    let mut environment: Inherited = Inherited::new();
    if let Ok(path) = std::env::var("PATH") {
        environment.insert("PATH".to_owned(), path);
    }
    for (key, value) in inherited {
        environment.insert((*key).to_owned(), (*value).to_owned());
    }
    let (config, problems) = Config::resolve(&[file], &environment);
    no_errors(env_file, &problems);
    Value::Object(
        config
            .vars
            .iter()
            .map(|(key, var)| (key.clone(), json!(var.value)))
            .collect(),
    )
}

#[track_caller]
fn value(env_file: &str) -> Value {
    let object = resolve(env_file, &[]);
    let map = object.as_object().unwrap();
    map.values().next_back().cloned().unwrap()
}

#[test]
fn assignments_export_and_whitespace() {
    assert_eq!(value("A=plain"), "plain");
    assert_eq!(value("export A=exported"), "exported");
    assert_eq!(value("A = spaced"), "spaced");
    assert_eq!(value("A=\tpadded  \t"), "padded");
    assert_eq!(value("A=hello world"), "hello world");
    assert_eq!(value("  A=indented"), "indented");
    assert_eq!(value("A="), "");
    assert_eq!(value("A=base64=="), "base64==");
}

#[test]
fn comments() {
    assert_eq!(
        resolve("# A=1\n  # indented\n\nB=2\n", &[]),
        json!({"B": "2"})
    );
    assert_eq!(value("A=v # c"), "v");
    assert_eq!(value("A=v\t# c"), "v");
    assert_eq!(value("A=v#c"), "v#c");
    assert_eq!(value("A=http://x/#frag"), "http://x/#frag");
    assert_eq!(value("A='quoted' # c"), "quoted");
    assert_eq!(value("A=\"quoted\"# c"), "quoted");
    assert_eq!(value("A='has # hash'"), "has # hash");
}

#[test]
fn single_quotes_are_literal_and_may_span_lines() {
    assert_eq!(
        value("B=x\nA='$B ${B} \\n \\t \\\\'"),
        "$B ${B} \\n \\t \\\\"
    );
    assert_eq!(value("A='line one\nline two'"), "line one\nline two");
    assert_eq!(value("A='say \"hi\"'"), "say \"hi\"");
}

#[test]
fn double_quotes_escape_interpolate_and_may_span_lines() {
    assert_eq!(value(r#"A="a\nb\rc\td\\e\"f\$g""#), "a\nb\rc\td\\e\"f$g");
    assert_eq!(
        value(r#"A="keep \q and \' as written""#),
        "keep \\q and \\' as written"
    );
    assert_eq!(value("B=x\nA=\"$B ${B}\""), "x x");
    assert_eq!(value("A=\"first\nsecond\""), "first\nsecond");
    assert_eq!(value("A=\"it's\""), "it's");
}

#[test]
fn interpolation_forms() {
    let cases = [
        ("$SET", "v"),
        ("${SET}", "v"),
        ("pre-${SET}-post", "pre-v-post"),
        ("$SET_2", "two"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}}", "v"),
        ("$$SET", "$SET"),
        ("cost: 5$", "cost: 5$"),
        ("`echo hi`", "`echo hi`"),
    ];
    for (text, expected) in cases {
        let file = format!("SET=v\nEMPTY=\nSET_2=two\nA={text}\n");
        assert_eq!(resolve(&file, &[])["A"], expected, "{text}");
        let quoted = format!("SET=v\nEMPTY=\nSET_2=two\nA=\"{text}\"\n");
        assert_eq!(resolve(&quoted, &[])["A"], expected, "\"{text}\"");
    }
}

#[test]
fn lookup_prefers_earlier_keys_then_the_inherited_environment() {
    let object = resolve(
        "HOST=file\nA=$HOST:$PORT:$NOWHERE\n",
        &[("HOST", "shell"), ("PORT", "5000")],
    );
    assert_eq!(object["A"], "file:5000:");
    // A key defined later is not visible to an earlier line.
    assert_eq!(resolve("A=$LATER\nLATER=x\n", &[])["A"], "");
}

#[test]
fn required_variables_fail_with_the_line() {
    for (line, message) in [
        (
            "A=${NOPE:?set NOPE first}",
            "error: .env:2:3: `NOPE` is not set: set NOPE first",
        ),
        ("A=${NOPE?}", "error: .env:2:3: `NOPE` is not set"),
        (
            "A=\"x ${EMPTY:?must not be empty}\"",
            "error: .env:2:6: `EMPTY` is not set: must not be empty",
        ),
    ] {
        let file = format!("EMPTY=\n{line}\n");
        Test::new()
            .procfile("web: x\n")
            .env_file(".env", &file)
            .args(&["check"])
            .run()
            .code(1)
            .stderr_has(message);
        Test::new()
            .procfile("web: x\n")
            .env_file(".env", &file)
            .args(&["config"])
            .run()
            .code(2)
            .stderr_has(message);
    }
    assert_eq!(
        resolve("A=${EMPTY?fine when empty}\n", &[("EMPTY", "")])["A"],
        ""
    );
}

#[test]
fn bare_keys_inherit_or_are_omitted() {
    let object = resolve(
        "CI_SECRET\nexport ALSO\nMISSING\n",
        &[("CI_SECRET", "s3"), ("ALSO", "a")],
    );
    assert_eq!(object, json!({"CI_SECRET": "s3", "ALSO": "a"}));
}

#[test]
fn later_definitions_win_and_check_warns() {
    assert_eq!(resolve("A=1\nA=2\n", &[]), json!({"A": "2"}));
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=1\nA=2\n")
        .args(&["check"])
        .run()
        .success()
        .stderr_has("warning: .env:2:1: `A` is defined again; this definition wins\n")
        .stderr_has("= first defined at .env:1");
}

#[test]
fn crlf_and_bom_are_accepted() {
    assert_eq!(
        resolve("\u{feff}A=1\r\nB=\"x\r\ny\"\r\nC='z'\r\n", &[]),
        json!({"A": "1", "B": "x\ny", "C": "z"})
    );
}

#[test]
fn utf8_values_pass_through() {
    assert_eq!(value("A=héllo wörld ✓"), "héllo wörld ✓");
}

#[test]
fn dotted_and_dashed_keys_are_accepted_with_a_warning() {
    assert_eq!(
        resolve("a.b=1\nc-d=2\n", &[]),
        json!({"a.b": "1", "c-d": "2"})
    );
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "a.b=1\n")
        .args(&["check"])
        .run()
        .success()
        .stderr_has("warning: .env:1:1: key `a.b` contains `.` or `-`: a shell cannot export it");
}

/// Each malformed line: `.env:LINE:COL`, exit 1 from `check`, 2 from `config`, never a crash.
#[test]
fn malformed_lines_are_located_errors() {
    let cases: [(&str, &str); 11] = [
        ("B: 2", ".env:2:2: expected `=` after `B`, found `:`"),
        (
            "some words",
            ".env:2:6: expected `=` after `some`, found `w`",
        ),
        (
            "1A=x",
            ".env:2:1: invalid key: a key starts with a letter or `_`, not `1`",
        ),
        (
            "=x",
            ".env:2:1: invalid key: a key starts with a letter or `_`, not `=`",
        ),
        (
            "ṀẎṾ=value",
            ".env:2:1: invalid key: a key starts with a letter or `_`, not `Ṁ`",
        ),
        (
            "A='x'y",
            ".env:2:6: unexpected text after the closing quote",
        ),
        (
            "A=\"x\" y",
            ".env:2:7: unexpected text after the closing quote",
        ),
        ("A=${B", ".env:2:3: unterminated `${`: expected `}`"),
        ("A=${B!}", ".env:2:6: unexpected `!` in `${B...}`"),
        (
            "A=${}",
            ".env:2:5: expected a variable name after `${`, found `}`",
        ),
        (
            "A=\"open\nB=2\nC=3",
            ".env:2:3: unterminated double-quoted value",
        ),
    ];
    for (line, headline) in cases {
        let file = format!("OK=1\n{line}\n");
        Test::new()
            .procfile("web: x\n")
            .env_file(".env", &file)
            .args(&["check"])
            .run()
            .code(1)
            .stderr_has(&format!("error: {headline}"));
        Test::new()
            .procfile("web: x\n")
            .env_file(".env", &file)
            .args(&["config"])
            .run()
            .code(2)
            .stderr_has(&format!("error: {headline}"));
    }
}

#[test]
fn unterminated_quotes_are_reported_where_they_open() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=1\nB='never closed\nC=3\nD=4\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: .env:2:3: unterminated single-quoted value\n  |\n2 | B=•••••••••••••\n  |   ^\n");
}

/// Issue 14: no config value in any diagnostic, in errors and in warnings about valid files,
/// and no other variable's value in a `${V:?message}` error.
#[test]
fn diagnostics_show_keys_never_values() {
    let marker = "ZQXmarker";
    for (text, env) in [
        (format!("SECRET=\"{marker} open\n"), None),
        (format!("A=1\nA={marker}\n"), None),
        (format!("B.c={marker}\n"), None),
        (format!("PATH={marker}\n"), None),
        (format!("X=\u{1b}]0;{marker}\u{7}\n"), None),
        (
            "A=${UNSET:?see ${SECRET}}\n".to_owned(),
            Some(("SECRET", marker)),
        ),
        (format!("  {marker}\n"), None),
    ] {
        let mut test = Test::new().procfile("web: x\n").env_file(".env", &text);
        if let Some((key, value)) = env {
            test = test.env(key, value);
        }
        let output = test.args(&["check"]).run();
        assert!(
            !output.stdout.contains(marker) && !output.stderr.contains(marker),
            "{text:?}\n{}{}",
            output.stdout,
            output.stderr
        );
        assert!(
            !output.stderr.contains('\u{1b}'),
            "raw escape in {}",
            output.stderr
        );
    }
}

#[test]
fn invalid_utf8_and_nul_are_errors() {
    Test::new()
        .procfile("web: x\n")
        .file(".env", b"A=1\nB=\xc3\x28\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has(".env:2:3: not valid UTF-8");
    Test::new()
        .procfile("web: x\n")
        .file(".env", b"A=a\0b\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has(".env:1:4: NUL character");
}

#[test]
fn environment_stack_later_files_win() {
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", "HOST=localhost\nURL=http://$HOST\nONLY_BASE=1\n")
        .env_file(
            ".env.production",
            "HOST=prod.example\nFULL=${URL}|${HOST}\n",
        )
        .env_file(".env.staging", "HOST=staging\n")
        .args(&["--env", "production", "config", "--json", "--reveal"])
        .run()
        .success();
    assert_eq!(
        output.json(),
        json!({"HOST": "prod.example", "URL": "http://localhost", "ONLY_BASE": "1", "FULL": "http://localhost|prod.example"})
    );
}

#[test]
fn development_is_the_default_environment() {
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=base\n")
        .env_file(".env.development", "A=dev\n")
        .args(&["config", "--json", "--reveal"])
        .run()
        .success();
    assert_eq!(output.json(), json!({"A": "dev"}));
}

#[test]
fn check_reports_inherited_keys_a_file_shadows() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "HOME=/app\nNEW=1\n")
        .env("HOME", "/root")
        .args(&["check"])
        .run()
        .success()
        .stderr_has("warning: .env:1:1: `HOME` shadows the inherited environment's `HOME`")
        .stderr_lacks("`NEW`");
}

#[test]
fn other_environments_files_must_parse_too() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "A=1\n")
        .env_file(".env.production", "B: 2\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: .env.production:1:2:");
    // Their unresolved values are fine: a bare key may be meant for release time.
    Test::new()
        .procfile("web: x\n")
        .env_file(".env.production", "B=${X:?needed at release}\n")
        .args(&["check"])
        .run()
        .success();
}

#[test]
fn values_cannot_outgrow_what_a_process_environment_carries() {
    // Found by the env_file fuzz target: each line doubling the last (`A=$A$A`) grew a value
    // exponentially until memory ran out. Linux caps one environment string at 128 KiB.
    let mut file = format!("A={}\n", "x".repeat(1000));
    for _ in 0..40 {
        file.push_str("A=$A$A\n");
    }
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &file)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("the value of `A` is longer than 131071 bytes with its key, the most a process environment can carry in one variable");
    let literal = format!("B='{}'\n", "y".repeat(140_000));
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &literal)
        .args(&["config"])
        .run()
        .code(2)
        .stderr_has("error: .env:1:1: the value of `B` is longer");
}

/// Issue 14: a config that `check` passes never fails at `exec` with "Argument list too
/// long": a long key counts with its value, and the whole config is bounded.
#[test]
fn the_environment_as_a_whole_fits_what_exec_takes() {
    let long_key = format!("{}=v\n", "K".repeat(131_070));
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &long_key)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: .env:1:1: the value of `KKKK");
    let keys = |n: usize| {
        let mut text = String::new();
        for i in 0..n {
            writeln!(text, "KEY_{i:06}=value-{i}").unwrap();
        }
        text
    };
    let many = keys(100_000);
    let output = Test::new()
        .procfile("web: x\n")
        .env_file(".env", &many)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("the config grows past 1024 KiB here, at `KEY_");
    // Said once, where it crosses, and no value in it.
    assert_eq!(
        output.stderr.matches("grows past").count(),
        1,
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("value-"), "{}", output.stderr);
    // Within the limits, the same keys `exec` fine.
    let fits = keys(20_000);
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &fits)
        .args(&["exec", "--dev", "--", "sh", "-c", "echo $KEY_019999"])
        .run()
        .success()
        .stdout("value-19999\n");
}

/// Issue 14: a CR-only file is not one long line with a misleading error: the first lone
/// carriage return is the error, named as what it is.
#[test]
fn classic_mac_line_endings_are_refused_where_they_start() {
    for text in ["A=1\rB=2\r", "A=\"x\"\rB=2\r"] {
        Test::new()
            .procfile("web: x\n")
            .env_file(".env", text)
            .args(&["check"])
            .run()
            .code(1)
            .stderr_has("a carriage return (\\r) without a newline")
            .stderr_lacks("closing quote");
    }
}

/// Compose's blanks: an NBSP pasted from a web page is not part of a value.
#[test]
fn compose_blanks_trim_and_separate() {
    assert_eq!(value("A=\u{a0}v\u{a0} # c"), "v");
    assert_eq!(value("A\u{b}=\u{c}v"), "v");
}

/// Issue 14: files dozen reads are regular files of the app: a FIFO does not hang it, a
/// device does not fill memory, a directory is one clear error, and dozen.toml cannot name a
/// file outside the app.
#[test]
fn only_regular_files_inside_the_app_are_read() {
    let test = Test::new().procfile("web: x\n").file("d.env/x", "");
    let fifo = test.path().join("fifo.env");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let dir = test.path().to_path_buf();
    for (file, says) in [
        ("fifo.env", "fifo.env: not a regular file"),
        ("/dev/zero", "/dev/zero: not a regular file"),
        ("d.env", "d.env: a directory"),
    ] {
        let (code, _, stderr) = crate::harness::dozen_in(&dir, &["-e", file, "check"]);
        assert_eq!(code, Some(1), "{file}: {stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
        assert_eq!(
            stderr.matches("error: ").count(),
            2,
            "one error and the count: {stderr}"
        );
    }
    for outside in ["/proc/self/environ", "../outside.env", "a/../../b.env"] {
        let output = Test::new()
            .procfile("web: x\n")
            .manifest(&format!(
                "[environments.development]\nfiles = [\"{outside}\"]\n"
            ))
            .args(&["check"])
            .run()
            .code(1)
            .stderr_has(&format!(
                "env file `{outside}` is outside the app directory"
            ));
        assert!(
            !output.stderr.contains("SHELL") && !output.stderr.contains("PATH="),
            "{}",
            output.stderr
        );
    }
    drop(test);
}

/// compose-go reads `SLACK_CHANNEL= #alerts` as `#alerts`; dozen's dialect reads a comment
/// there, and says so instead of losing the value silently.
#[test]
fn a_blank_then_hash_after_equals_is_an_empty_value_with_a_warning() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "SLACK_CHANNEL= #alerts\nB=v # a comment\n")
        .args(&["check"])
        .run()
        .success()
        .stderr_has(
            "warning: .env:1:16: `SLACK_CHANNEL` is empty: a `#` after a blank is a comment",
        )
        .stderr_lacks("`B` is empty");
}

/// Issue 14 (compose-go's `TestValueWithCurlyBracesDefault`, and a crash): braces inside a
/// default are matched; `${…}` nested 19,000 deep is a located error, not a stack overflow.
#[test]
fn braces_in_defaults_and_deep_nesting() {
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", "SETTINGS=${CFG:-{\"debug\":false}}\n")
        .env("CFG", "{\"debug\":true}")
        .args(&["config", "--json", "--reveal"])
        .run()
        .success()
        .stdout_has("\"SETTINGS\": \"{\\\"debug\\\":true}\"");
    let n = 19_000;
    let line = format!("X={}x{}\n", "${V:-".repeat(n), "}".repeat(n));
    Test::new()
        .procfile("web: x\n")
        .env_file(".env", &line)
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: .env:1:163: `${...}` nested more than 32 deep");
}
