//! Evaluation as flagd decides it: reasons, fallbacks, errors, context enrichment, bucketing,
//! and the bounds a hostile rule meets.

use serde_json::{Value, json};

use crate::flags::{Context, Definitions, ErrorCode, Kind, Reason};

fn definitions(flags: &Value) -> Definitions {
    let text = json!({"flags": flags}).to_string();
    Definitions::parse("flags.json", &text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn context(value: &Value) -> Context {
    Context::from_value(value.clone()).expect("an object")
}

fn colours(rule: &Value) -> Value {
    json!({"state": "ENABLED", "defaultVariant": "red", "targeting": rule,
        "variants": {"red": "#FF0000", "blue": "#0000FF", "green": "#00FF00", "yellow": "#FFFF00"}})
}

/// flagd's own unit tests (`core/pkg/evaluator/fractional_test.go` at commit
/// bbb05d4bc3903ea8bf5123a88b1cf558750a22ab, `TestFractionalEvaluation`): the same users get
/// the same colours here.
#[test]
fn fractional_matches_flagds_unit_tests() {
    let split = |seed: Value| {
        colours(&json!({"if": [{"in": ["@faas.com", {"var": ["email"]}]},
            {"fractional": [{"cat": [seed, {"var": "email"}]},
                ["red", 25], ["blue", 25], ["green", 25], ["yellow", 25]]}, null]}))
    };
    let flags = definitions(&json!({
        "headerColor": split(json!({"var": "$flagd.flagKey"})),
        "customSeededHeaderColor": split(json!("my-seed")),
    }));
    let cases = [
        ("headerColor", "rachel@faas.com", "blue"),
        ("headerColor", "monica@faas.com", "yellow"),
        ("headerColor", "joey@faas.com", "red"),
        ("headerColor", "ross@faas.com", "blue"),
        ("customSeededHeaderColor", "rachel@faas.com", "green"),
        ("customSeededHeaderColor", "monica@faas.com", "red"),
        ("customSeededHeaderColor", "joey@faas.com", "blue"),
        ("customSeededHeaderColor", "ross@faas.com", "green"),
    ];
    for (flag, email, want) in cases {
        let got = flags.evaluate(flag, &context(&json!({"email": email})));
        assert_eq!(got.variant.as_deref(), Some(want), "{flag} {email}");
        assert_eq!(got.reason, Reason::TargetingMatch);
    }
    // Outside the domain the rule answers null: the default variant, reason DEFAULT.
    let got = flags.evaluate("headerColor", &context(&json!({"email": "foo@foo.com"})));
    assert_eq!(
        (got.variant.as_deref(), got.reason),
        (Some("red"), Reason::Default)
    );
}

/// The promise: `rollout 10%` serves 10 % ± 1 % of 10,000 distinct users, the same
/// users every time.
#[test]
fn a_ten_percent_rollout_serves_ten_percent() {
    let flags = definitions(&json!({"new-checkout": {
        "state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
        "targeting": {"fractional": [["on", 10], ["off", 90]]}}}));
    let on = |i: usize| {
        let result = flags.evaluate(
            "new-checkout",
            &context(&json!({"targetingKey": format!("user-{i}")})),
        );
        result.value == Some(json!(true))
    };
    let count = (0..10_000).filter(|&i| on(i)).count();
    assert!((900..=1100).contains(&count), "{count} of 10,000");
    let again = (0..10_000).filter(|&i| on(i)).count();
    assert_eq!(count, again);
}

#[test]
fn reasons_follow_flagd() {
    let flags = definitions(&json!({
        "static": {"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "b",
            "metadata": {"owner": "me"}},
        "empty-rule": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {}},
        "off": {"state": "DISABLED", "variants": {"a": 1}, "defaultVariant": "a"},
        "no-default": {"state": "ENABLED", "variants": {"a": 1}},
        "bool-names": {"state": "ENABLED", "variants": {"true": "yes", "false": "no"},
            "defaultVariant": "false", "targeting": {"==": [{"var": "x"}, 1]}},
        "number-names": {"state": "ENABLED", "variants": {"1": "one", "2": "two"},
            "defaultVariant": "1", "targeting": {"+": [1, 1]}},
        "not-a-variant": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a",
            "targeting": {"cat": ["z"]}},
        "typo": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a",
            "targeting": {"iff": [true, "a"]}},
    }));
    let none = Context::default();
    let got = flags.evaluate("static", &none);
    assert_eq!((got.value, got.reason), (Some(json!(2)), Reason::Static));
    assert_eq!(
        got.metadata,
        *json!({"owner": "me"}).as_object().expect("object")
    );
    assert_eq!(flags.evaluate("empty-rule", &none).reason, Reason::Static);
    // flagd ≥ 0.12 (flagd#1965): a disabled flag is DISABLED, no value, no error.
    let got = flags.evaluate("off", &none);
    assert_eq!(
        (got.value, got.variant, got.reason, got.error),
        (None, None, Reason::Disabled, None)
    );
    // No default variant: the caller's default, reason DEFAULT (flagd's FALLBACK, as OFREP shows it).
    let got = flags.evaluate("no-default", &none);
    assert_eq!(got.value_or(json!(7)), json!(7));
    assert_eq!(
        (got.value, got.reason, got.error),
        (None, Reason::Default, None)
    );
    let got = flags.evaluate("bool-names", &context(&json!({"x": 1})));
    assert_eq!(
        (got.value, got.reason),
        (Some(json!("yes")), Reason::TargetingMatch)
    );
    let got = flags.evaluate("number-names", &none);
    assert_eq!(got.variant.as_deref(), Some("2"));
    let got = flags.evaluate("not-a-variant", &none);
    assert_eq!(got.error.map(|e| e.code), Some(ErrorCode::General));
    let got = flags.evaluate("typo", &none);
    assert_eq!(
        (got.reason, got.error.map(|e| e.code)),
        (Reason::Error, Some(ErrorCode::ParseError))
    );
    let got = flags.evaluate("missing", &none);
    assert_eq!(got.error.map(|e| e.code), Some(ErrorCode::FlagNotFound));
    let got = flags.evaluate("static", &none).expect(Kind::Boolean);
    assert_eq!(
        (got.value, got.error.map(|e| e.code)),
        (None, Some(ErrorCode::TypeMismatch))
    );
    assert_eq!(
        flags.evaluate("static", &none).expect(Kind::Number).error,
        None
    );
    assert_eq!(flags.evaluate_all(&none).len(), 8);
    assert_eq!(
        Context::from_value(json!([1])).map_err(|e| e.code),
        Err(ErrorCode::InvalidContext)
    );
}

#[test]
fn the_rule_sees_the_flag_key_and_the_time() {
    let flags = definitions(
        &json!({"timed": {"state": "ENABLED", "variants": {"before": 0, "after": 1},
        "defaultVariant": "before",
        "targeting": {"if": [{"and": [{">=": [{"var": "$flagd.timestamp"}, 1000]},
            {"==": [{"var": "$flagd.flagKey"}, "timed"]}]}, "after", null]}}}),
    );
    // A caller's own `$flagd` is replaced.
    let spoof = context(&json!({"$flagd": {"timestamp": 5000, "flagKey": "timed"}}));
    assert_eq!(
        flags.evaluate_at("timed", &spoof, 999).variant.as_deref(),
        Some("before")
    );
    assert_eq!(
        flags.evaluate_at("timed", &spoof, 1000).variant.as_deref(),
        Some("after")
    );
}

#[test]
fn hostile_rules_meet_bounds_not_panics() {
    let mut deep = json!("a");
    for _ in 0..200 {
        deep = json!({"if": [true, deep]});
    }
    // Doubling a string until it is too long, and nested maps that multiply.
    let doubling = json!({"reduce": [{"merge": [vec![1; 40]]}, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "xx"]});
    let range: Vec<u32> = (0..400).collect();
    let product = json!({"map": [range, {"map": [range, {"+": [1, 1]}]}]});
    let mut loaded = 0;
    for rule in [deep, doubling, product] {
        let text = json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": "a"},
            "defaultVariant": "a", "targeting": rule}}})
        .to_string();
        // Too deep for serde_json's own limit is a located syntax error; the others load.
        let Ok(flags) = Definitions::parse("flags.json", &text) else {
            continue;
        };
        loaded += 1;
        let got = flags.evaluate("f", &Context::default());
        assert_eq!(
            got.error.map(|e| e.code),
            Some(ErrorCode::ParseError),
            "{}",
            &text[..80]
        );
    }
    assert_eq!(
        loaded, 2,
        "the deep rule is refused as JSON, the others load"
    );
    // Deeper than the file parser allows, built in memory (the evaluator is a library too).
    let mut deep = json!("a");
    for _ in 0..200 {
        deep = json!({"!": [deep]});
    }
    assert!(matches!(
        crate::flags::logic::apply(&deep, &Value::Null),
        Err(crate::flags::LogicError::TooDeep(_))
    ));
}
