//! The file check: every problem named with its file, line and column.

use crate::flags::{Definitions, State, check};

/// The headlines (`path:line:col: message`) of a file's errors and warnings.
fn problems(text: &str) -> Vec<String> {
    check("flags.json", text)
        .diagnostics
        .iter()
        .map(crate::diagnostic::Diagnostic::headline)
        .collect()
}

const GOOD: &str = r#"{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": { "on": true, "off": false },
      "defaultVariant": "off",
      "targeting": { "if": [{ "$ref": "staff" }, "on"] },
      "metadata": { "owner": "payments" }
    }
  },
  "$evaluators": { "staff": { "ends_with": [{ "var": "email" }, "@example.com"] } },
  "metadata": { "flagSetId": "shop", "version": "3" }
}"#;

#[test]
fn a_good_file_reads_whole() {
    let definitions = Definitions::parse("flags.json", GOOD).expect("no problems");
    let flag = definitions.flag("new-checkout").expect("the flag");
    assert_eq!(flag.state, State::Enabled);
    assert_eq!(flag.default_variant.as_deref(), Some("off"));
    // The `$ref` is replaced by the evaluator's rule.
    assert_eq!(
        flag.targeting.as_ref().map(ToString::to_string).as_deref(),
        Some(r#"{"if":[{"ends_with":[{"var":"email"},"@example.com"]},"on"]}"#)
    );
    assert_eq!(definitions.metadata["flagSetId"], "shop");
    assert!(problems(GOOD).is_empty());
}

#[test]
fn syntax_errors_are_located() {
    assert_eq!(
        problems("{\n  \"flags\": {,}\n}"),
        ["flags.json:2:13: not JSON: key must be a string"]
    );
    // serde_json's column can end inside a character: the caret goes to its start. (Found by
    // the properties: it was a panic.)
    assert_eq!(
        problems("{\"a\": \"ü"),
        ["flags.json:1:8: not JSON: EOF while parsing a string"]
    );
    assert_eq!(
        problems("{\"flags\": {}"),
        ["flags.json:1:12: not JSON: EOF while parsing an object"]
    );
}

#[test]
fn a_default_variant_must_be_a_variant() {
    let text = GOOD.replace(r#""defaultVariant": "off""#, r#""defaultVariant": "offf""#);
    let checked = check("flags.json", &text);
    let [diagnostic] = checked.diagnostics.as_slice() else {
        panic!("{:?}", checked.diagnostics);
    };
    assert_eq!(
        diagnostic.headline(),
        "flags.json:7:25: default variant `offf` is not one of the flag's variants"
    );
    assert_eq!(diagnostic.location.as_ref().map(|l| l.len), Some(6));
    assert!(diagnostic.notes.iter().any(|n| n == "did you mean `off`?"));
    assert!(Definitions::parse("flags.json", &text).is_err());
}

#[test]
fn variants_share_one_type() {
    let text = GOOD.replace(r#""off": false"#, r#""off": "no""#);
    assert_eq!(
        problems(&text),
        [
            "flags.json:6:40: variant `off` is a string, but `on` is a boolean: all variants of a flag have one type"
        ]
    );
    let text = GOOD.replace(r#""off": false"#, r#""off": null"#);
    assert_eq!(
        problems(&text)[0],
        "flags.json:6:40: variant `off` is null: a variant is a boolean, string, number or object"
    );
}

#[test]
fn the_schema_is_enforced_outside_rules() {
    let text = GOOD.replace(r#""state": "ENABLED""#, r#""state": "ON""#);
    let found = problems(&text);
    // The closest of the schema's four flag shapes speaks, not "matches none of them".
    assert_eq!(
        found,
        [r#"flags.json:5:16: "ON" is not one of "ENABLED" or "DISABLED""#]
    );
    let text = GOOD.replace(r#""flags": {"#, r#""flagz": {"#);
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("flags.json:1:1: ") && p.contains("flags")),
        "{found:?}"
    );
}

#[test]
fn references_name_defined_evaluators() {
    let text = GOOD.replace(r#"{ "$ref": "staff" }"#, r#"{ "$ref": "staf" }"#);
    let checked = check("flags.json", &text);
    let [diagnostic] = checked.diagnostics.as_slice() else {
        panic!("{:?}", checked.diagnostics);
    };
    assert_eq!(
        diagnostic.headline(),
        "flags.json:8:39: `$ref` names evaluator `staf`, which `$evaluators` does not define"
    );
    assert!(
        diagnostic
            .notes
            .iter()
            .any(|n| n == "did you mean `staff`?")
    );
    let looping = GOOD.replace(
        r#""staff": { "ends_with": [{ "var": "email" }, "@example.com"] }"#,
        r#""staff": { "!": { "$ref": "staff" } }"#,
    );
    assert_eq!(
        problems(&looping),
        ["flags.json:12:20: evaluator `staff` refers back to itself through `$ref`"]
    );
}

#[test]
fn rules_off_the_targeting_schema_are_warnings() {
    let text = GOOD.replace(
        r#"{ "if": [{ "$ref": "staff" }, "on"] }"#,
        r#"{ "if": [{ "sem_ver": [{ "var": "v" }, "="] }, "on"] }"#,
    );
    let checked = check("flags.json", &text);
    assert!(!checked.diagnostics.is_empty());
    assert!(
        checked.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        checked.diagnostics
    );
    assert!(checked.into_result().is_ok());
}

#[test]
fn reading_is_bounded() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("flags.json");
    std::fs::write(&path, GOOD).expect("write");
    assert!(Definitions::read(&path).is_ok());
    let huge = " ".repeat(usize::try_from(crate::flags::MAX_FILE_BYTES).expect("fits") + 1);
    std::fs::write(&path, huge).expect("write");
    let errors = Definitions::read(&path).expect_err("too long");
    assert!(
        errors[0].headline().contains("is longer than"),
        "{errors:?}"
    );
    let errors = Definitions::read(&dir.path().join("missing.json")).expect_err("missing");
    assert_eq!(errors.len(), 1);
}
