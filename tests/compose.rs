//! Docker Compose's own dotenv test cases (compose-spec/compose-go, `dotenv/`: `TestParsing`,
//! `TestExpanding`, `TestUnterminatedQuotes`, the `fixtures/*.env` loads, the precedence and
//! var-expansion tests, `TestParseBytes`), run through `dozen config --json --reveal` as a
//! table. The inputs and Compose's results are carried over; each case gives dozen's result
//! either equal to Compose's or listed in [`DIFFERENCES`], each of which the README's Compose
//! table documents.

use crate::harness::Test;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Value(&'static str),
    /// An error (for dozen: located, `.env:LINE:COL`).
    Error,
}

use Outcome::{Error, Value};

struct Case {
    name: &'static str,
    file: &'static str,
    /// The inherited environment (Compose's `os.Setenv` before the load).
    inherited: &'static [(&'static str, &'static str)],
    key: &'static str,
    compose: Outcome,
}

const fn case(name: &'static str, file: &'static str, key: &'static str, compose: Outcome) -> Case {
    Case {
        name,
        file,
        inherited: &[],
        key,
        compose,
    }
}

const CASES: &[Case] = &[
    // TestParsing
    case("unquoted", "FOO=bar", "FOO", Value("bar")),
    case("space before =", "FOO =bar", "FOO", Value("bar")),
    case("space after =", "FOO= bar", "FOO", Value("bar")),
    case("double quoted", "FOO=\"bar\"", "FOO", Value("bar")),
    case("single quoted", "FOO='bar'", "FOO", Value("bar")),
    case(
        "escaped double quote",
        r#"FOO="escaped\"bar""#,
        "FOO",
        Value("escaped\"bar"),
    ),
    case(
        "quoted quotes",
        r#"FOO="\"quoted\"""#,
        "FOO",
        Value("\"quoted\""),
    ),
    case("single inside double", r#"FOO="'d'""#, "FOO", Value("'d'")),
    case("yaml style", "OPTION_A: 1", "OPTION_A", Value("1")),
    case(
        "yaml style with =",
        "OPTION_A: Foo=bar",
        "OPTION_A",
        Value("Foo=bar"),
    ),
    case("colon in value", "OPTION_A=1:B", "OPTION_A", Value("1:B")),
    case("export", "export OPTION_A=2", "OPTION_A", Value("2")),
    case(
        "export single quoted",
        r"export OPTION_B='\n'",
        "OPTION_B",
        Value(r"\n"),
    ),
    case(
        "export then export-named key",
        "export exportFoo=2",
        "exportFoo",
        Value("2"),
    ),
    case(
        "export-prefixed key",
        "exportFOO=2",
        "exportFOO",
        Value("2"),
    ),
    case("export_ key", "export_FOO =2", "export_FOO", Value("2")),
    case("export. key", "export.FOO= 2", "export.FOO", Value("2")),
    case("export tab", "export\tOPTION_A=2", "OPTION_A", Value("2")),
    case(
        "indented export",
        "  export OPTION_A=2",
        "OPTION_A",
        Value("2"),
    ),
    case(
        "tab-indented export",
        "\texport OPTION_A=2",
        "OPTION_A",
        Value("2"),
    ),
    case(
        "export in value",
        r#"export OPTION_A="export A""#,
        "OPTION_A",
        Value("export A"),
    ),
    case(
        "\\n in double quotes",
        r#"FOO="bar\nbaz""#,
        "FOO",
        Value("bar\nbaz"),
    ),
    case("\\t unquoted", r"FOO=a\tb", "FOO", Value(r"a\tb")),
    case(
        "\\t in double quotes",
        r#"FOO="a\tb""#,
        "FOO",
        Value("a\tb"),
    ),
    case(
        "echo escapes",
        r#"KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z""#,
        "KEY",
        Value("Z\x07Z\x08Z\x0cZ\nZ\rZ\tZ\x0bZ\\ZSZ"),
    ),
    case("dot in key", "FOO.BAR=foobar", "FOO.BAR", Value("foobar")),
    case("= in value", "FOO=foobar=", "FOO", Value("foobar=")),
    case("trailing space", "FOO=bar ", "FOO", Value("bar")),
    case(
        "inline comment",
        "FOO=bar # this is foo",
        "FOO",
        Value("bar"),
    ),
    case(
        "inline comment, no space after #",
        "FOO=bar #this is foo",
        "FOO",
        Value("bar"),
    ),
    case("empty inline comment", "FOO=bar #", "FOO", Value("bar")),
    case(
        "# inside a word",
        "FOO=123#not-an-inline-comment",
        "FOO",
        Value("123#not-an-inline-comment"),
    ),
    case(
        "# in double quotes",
        r#"FOO="bar#baz""#,
        "FOO",
        Value("bar#baz"),
    ),
    case(
        "comment right after the quote",
        r##"FOO="bar#baz"#"##,
        "FOO",
        Value("bar#baz"),
    ),
    case(
        "comment after double quotes",
        r#"FOO="bar#baz" # comment"#,
        "FOO",
        Value("bar#baz"),
    ),
    case(
        "comment after single quotes",
        "FOO='bar#baz' # comment",
        "FOO",
        Value("bar#baz"),
    ),
    case(
        "two # in quotes",
        r#"FOO="bar#baz#bang" # comment"#,
        "FOO",
        Value("bar#baz#bang"),
    ),
    case("# mid double quotes", r#"FOO="ba#r""#, "FOO", Value("ba#r")),
    case("# mid single quotes", "FOO='ba#r'", "FOO", Value("ba#r")),
    case(
        "backslash space and \\a",
        r#"FOO="bar\n\ b\az""#,
        "FOO",
        Value("bar\n\\ b\x07z"),
    ),
    case(
        "escaped backslash then n",
        r#"FOO="bar\\\n\ b\az""#,
        "FOO",
        Value("bar\\\n\\ b\x07z"),
    ),
    case(
        "escaped backslash then r",
        r#"FOO="bar\\r\ b\az""#,
        "FOO",
        Value("bar\\r\\ b\x07z"),
    ),
    case(
        "trailing escaped backslash",
        r#"FOO="bar\nbaz\\""#,
        "FOO",
        Value("bar\nbaz\\"),
    ),
    case("empty key", "=\"value\"", "", Value("value")),
    case("leading space", " KEY =value", "KEY", Value("value")),
    case("leading spaces", "   KEY=value", "KEY", Value("value")),
    case("leading tab", "\tKEY=value", "KEY", Value("value")),
    case("octal escape", r#"KEY="\0123""#, "KEY", Value("S")),
    case("\\x stays", r#"KEY="\x07""#, "KEY", Value(r"\x07")),
    case("\\u stays", r#"KEY="\u12e4""#, "KEY", Value(r"\u12e4")),
    case(
        "\\U stays",
        r#"KEY="\U00101234""#,
        "KEY",
        Value(r"\U00101234"),
    ),
    case("not an assignment", "lol$wut", "lol", Error),
    // TestUnterminatedQuotes
    case("unterminated \"", "KEY=\"", "KEY", Error),
    case("unterminated \"value", "KEY=\"value", "KEY", Error),
    case("unterminated \"value\\\"", r#"KEY="value\""#, "KEY", Error),
    case("unterminated \"value'", "KEY=\"value'", "KEY", Error),
    case("unterminated '", "KEY='", "KEY", Error),
    case("unterminated 'value", "KEY='value", "KEY", Error),
    case("unterminated 'value\\'", r"KEY='value\'", "KEY", Error),
    case("unterminated 'value\"", "KEY='value\"", "KEY", Error),
    // TestExpanding
    case("$FOO", "FOO=test\nBAR=$FOO", "BAR", Value("test")),
    case(
        "${FOO}bar",
        "FOO=test\nBAR=${FOO}bar",
        "BAR",
        Value("testbar"),
    ),
    case("undefined is empty", "BAR=$FOO", "BAR", Value("")),
    case(
        "in double quotes",
        "FOO=test\nBAR=\"quote $FOO\"",
        "BAR",
        Value("quote test"),
    ),
    case(
        "not in single quotes",
        "BAR='quote $FOO'",
        "BAR",
        Value("quote $FOO"),
    ),
    case("escaped $", r#"FOO="foo\$BAR""#, "FOO", Value("foo$BAR")),
    case(
        "escaped ${",
        r#"FOO="foo\${BAR}""#,
        "FOO",
        Value("foo${BAR}"),
    ),
    case(
        "escaped and not",
        "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
        "BAR",
        Value("foo${FOO} test"),
    ),
    // TestVariableStringValueSeparator
    case(
        "multi-line double quotes",
        "TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443\"",
        "TEST_URLS",
        Value("stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443"),
    ),
    // fixtures/plain.env, quoted.env, unquoted.env, exported.env, equals.env, special.env
    case(
        "plain: blank after =",
        "OPTION_C= 3",
        "OPTION_C",
        Value("3"),
    ),
    case(
        "plain: blanks around =",
        "OPTION_E = 5",
        "OPTION_E",
        Value("5"),
    ),
    case("plain: numeric key", "456 = ABC", "456", Value("ABC")),
    case("plain: blank value", "OPTION_F = ", "OPTION_F", Value("")),
    case(
        "plain: comment",
        "OPTION_H = my string # Inline comment",
        "OPTION_H",
        Value("my string"),
    ),
    case("quoted: empty single", "OPTION_C=''", "OPTION_C", Value("")),
    case(
        "quoted: \\n in single",
        r"OPTION_D='\n'",
        "OPTION_D",
        Value(r"\n"),
    ),
    case(
        "quoted: \\n in double",
        r#"OPTION_H="\n""#,
        "OPTION_H",
        Value("\n"),
    ),
    case(
        "quoted: comment",
        "OPTION_I = \"echo 'asd'\" # Inline comment",
        "OPTION_I",
        Value("echo 'asd'"),
    ),
    case(
        "quoted: multi-line single",
        "OPTION_J = 'first line\nsecond line\nthird line\nand so on'",
        "OPTION_J",
        Value("first line\nsecond line\nthird line\nand so on"),
    ),
    case(
        "quoted: \\' in single",
        r"OPTION_K='Let\'s go!'",
        "OPTION_K",
        Value("Let's go!"),
    ),
    case(
        "unquoted: UTF-8",
        "OPTION_D = then another one with an unquoted phrase special è char",
        "OPTION_D",
        Value("then another one with an unquoted phrase special è char"),
    ),
    case(
        "equals",
        "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n",
        "OPTION_A",
        Value("postgres://localhost:5432/database?sslmode=disable"),
    ),
    case(
        "special: dashes",
        "VAR-WITH-DASHES=dashes",
        "VAR-WITH-DASHES",
        Value("dashes"),
    ),
    case(
        "special: dots",
        "VAR.WITH.DOTS=dots",
        "VAR.WITH.DOTS",
        Value("dots"),
    ),
    case(
        "utf8-bom",
        "\u{feff}OPTION_A=1\nOPTION_B=2\n",
        "OPTION_A",
        Value("1"),
    ),
    case(
        "invalid1",
        "# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix\n",
        "zot",
        Error,
    ),
    // fixtures/substitutions.env, substitutions-default.env
    case(
        "substitutions",
        "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}",
        "OPTION_D",
        Value("1_1"),
    ),
    case(
        "substitutions: undefined",
        "OPTION_E=${OPTION_NOT_DEFINED}",
        "OPTION_E",
        Value(""),
    ),
    case(
        "substitutions-default, unset",
        "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_D=${OPTION_A}_${OPTION_B}",
        "OPTION_D",
        Value("1_1"),
    ),
    Case {
        name: "substitutions-default, set in the environment",
        file: "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_D=${OPTION_A}_${OPTION_B}",
        inherited: &[("OPTION_A", "5")],
        key: "OPTION_D",
        compose: Value("5_5"),
    },
    Case {
        name: "substitutions, the environment wins the lookup",
        file: "OPTION_A=1\nOPTION_B=${OPTION_A}",
        inherited: &[("OPTION_A", "5")],
        key: "OPTION_B",
        compose: Value("5"),
    },
    // godotenv_var_expansion_test.go (EMPTY_VAR empty, TEST_VAR set, UNSET_VAR unset)
    case(
        ":- unset",
        "RESULT=${UNSET_VAR:-Default Value}",
        "RESULT",
        Value("Default Value"),
    ),
    case(
        ":- empty",
        "EMPTY_VAR=\nRESULT=${EMPTY_VAR:-Default Value}",
        "RESULT",
        Value("Default Value"),
    ),
    case(
        ":- set",
        "TEST_VAR=Test Value\nRESULT=${TEST_VAR:-Default Value}",
        "RESULT",
        Value("Test Value"),
    ),
    case(
        "- unset",
        "RESULT=${UNSET_VAR-Default Value}",
        "RESULT",
        Value("Default Value"),
    ),
    case(
        "- empty",
        "EMPTY_VAR=\nRESULT=${EMPTY_VAR-Default Value}",
        "RESULT",
        Value(""),
    ),
    case(
        ":? unset",
        "RESULT=${UNSET_VAR:?Test error}",
        "RESULT",
        Error,
    ),
    case(
        ":? empty",
        "EMPTY_VAR=\nRESULT=${EMPTY_VAR:?Test error}",
        "RESULT",
        Error,
    ),
    case(
        ":? set",
        "TEST_VAR=Test Value\nRESULT=${TEST_VAR:?Default Value}",
        "RESULT",
        Value("Test Value"),
    ),
    case("? unset", "RESULT=${UNSET_VAR?Test error}", "RESULT", Error),
    case(
        "? empty",
        "EMPTY_VAR=\nRESULT=${EMPTY_VAR?Test error}",
        "RESULT",
        Value(""),
    ),
    case(":+ unset", "RESULT=${UNSET_VAR:+Alt}", "RESULT", Value("")),
    case(
        ":+ set",
        "TEST_VAR=Test Value\nRESULT=${TEST_VAR:+Alt}",
        "RESULT",
        Value("Alt"),
    ),
    case(
        "braces in a default",
        "CFG={\"debug\":true}\nSETTINGS=${CFG:-{\"debug\":false}}",
        "SETTINGS",
        Value("{\"debug\":true}"),
    ),
    case(
        "braces in a default, unset",
        "SETTINGS=${CFG:-{\"debug\":false}}",
        "SETTINGS",
        Value("{\"debug\":false}"),
    ),
    // parser_test.go
    case("brackets in a key", "a[1]=c", "a[1]", Value("c")),
    case(
        "non-ASCII key",
        "árvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép",
        "árvíztűrő-TÜKÖRFÚRÓGÉP",
        Value("ÁRVÍZTŰRŐ-tükörfúrógép"),
    ),
    case(
        "% in a key",
        "%!(EXTRA string)=foo",
        "%!(EXTRA string)",
        Error,
    ),
];

/// Where dozen's dialect differs from Compose on purpose: the case, dozen's result, and the
/// text of the README's Compose table row that documents it.
const DIFFERENCES: &[(&str, Outcome, &str)] = &[
    ("yaml style", Error, "| `KEY: value` |"),
    ("yaml style with =", Error, "| `KEY: value` |"),
    (
        "echo escapes",
        Value("Z\\aZ\\bZ\\fZ\nZ\rZ\tZ\\vZ\\Z\\0123Z"),
        "| `\"\\a \\b \\f \\v \\0NNN\"` |",
    ),
    (
        "backslash space and \\a",
        Value("bar\n\\ b\\az"),
        "| `\"\\a \\b \\f \\v \\0NNN\"` |",
    ),
    (
        "escaped backslash then n",
        Value("bar\\\n\\ b\\az"),
        "| `\"\\a \\b \\f \\v \\0NNN\"` |",
    ),
    (
        "escaped backslash then r",
        Value("bar\\r\\ b\\az"),
        "| `\"\\a \\b \\f \\v \\0NNN\"` |",
    ),
    (
        "octal escape",
        Value("\\0123"),
        "| `\"\\a \\b \\f \\v \\0NNN\"` |",
    ),
    ("empty key", Error, "| `=value`, `456=v`, `a[1]=v`, `é=v` |"),
    (
        "plain: numeric key",
        Error,
        "| `=value`, `456=v`, `a[1]=v`, `é=v` |",
    ),
    (
        "brackets in a key",
        Error,
        "| `=value`, `456=v`, `a[1]=v`, `é=v` |",
    ),
    (
        "non-ASCII key",
        Error,
        "| `=value`, `456=v`, `a[1]=v`, `é=v` |",
    ),
    ("unterminated 'value\\'", Value("value\\"), "| `'it\\'s'` |"),
    ("quoted: \\' in single", Error, "| `'it\\'s'` |"),
    (
        "substitutions, the environment wins the lookup",
        Value("1"),
        "| `B=${A}` after `A=1`, with `A=5` inherited |",
    ),
];

/// What dozen makes of `case`: the key's value, or a located error.
fn dozen(case: &Case) -> Outcome {
    let mut test = Test::new()
        .procfile("web: x\n")
        .env_file(".env", case.file)
        .args(&["config", "--json", "--reveal"]);
    for (key, value) in case.inherited {
        test = test.env(key, value);
    }
    let output = test.run();
    if output.code != Some(0) {
        assert!(
            output.stderr.contains(".env:"),
            "{}: an error without its location:\n{}",
            case.name,
            output.stderr
        );
        return Error;
    }
    let json = output.json();
    let value = json
        .get(case.key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("{}: no `{}` in {json}", case.name, case.key));
    // The table holds `'static` results: find the one this equals.
    Value(Box::leak(value.to_owned().into_boxed_str()))
}

#[test]
fn compose_go_dotenv_cases_agree_or_are_documented_differences() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut wrong = Vec::new();
    for case in CASES {
        let got = dozen(case);
        match DIFFERENCES.iter().find(|(name, _, _)| *name == case.name) {
            Some((_, expected, row)) => {
                if got != *expected {
                    wrong.push(format!(
                        "{}: dozen gave {got:?}, the README says {expected:?}",
                        case.name
                    ));
                }
                if got == case.compose {
                    wrong.push(format!(
                        "{}: listed as a difference but agrees with Compose",
                        case.name
                    ));
                }
                if !readme.contains(row) {
                    wrong.push(format!("{}: the README has no row {row}", case.name));
                }
            }
            None if got != case.compose => wrong.push(format!(
                "{}: Compose gives {:?}, dozen {got:?}",
                case.name, case.compose
            )),
            None => {}
        }
    }
    for (name, _, _) in DIFFERENCES {
        assert!(CASES.iter().any(|c| c.name == *name), "no case {name}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
