//! Properties over generated rules and contexts: the evaluator answers every rule (a value or
//! a `LogicError`, never a panic), and `fractional` only ever answers one of its variants.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::flags::logic::apply;

const OPERATIONS: [&str; 38] = [
    "if",
    "?:",
    "and",
    "or",
    "!",
    "!!",
    "==",
    "===",
    "!=",
    "!==",
    ">",
    ">=",
    "<",
    "<=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "min",
    "max",
    "cat",
    "substr",
    "in",
    "merge",
    "var",
    "missing",
    "missing_some",
    "map",
    "filter",
    "reduce",
    "all",
    "none",
    "some",
    "fractional",
    "sem_ver",
    "starts_with",
    "ends_with",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "",
            "0",
            "a",
            "a.b",
            "1.2.3",
            "v2",
            "targetingKey",
            "$flagd.flagKey",
            "=",
            "^",
            "~"
        ])
        .prop_map(Value::from),
    ]
}

fn rule() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            (
                prop::sample::select(OPERATIONS.to_vec()),
                prop::collection::vec(inner.clone(), 0..5)
            )
                .prop_map(|(op, args)| json!({ op: args })),
            (prop::sample::select(OPERATIONS.to_vec()), inner)
                .prop_map(|(op, arg)| json!({ op: arg })),
        ]
    })
}

fn data() -> impl Strategy<Value = Value> {
    (rule(), rule(), prop::option::of("[a-z@.]{0,12}")).prop_map(|(a, b, key)| {
        let mut map = Map::new();
        map.insert("a".into(), json!({"b": a}));
        map.insert("x".into(), b);
        if let Some(key) = key {
            map.insert("targetingKey".into(), Value::String(key));
        }
        map.insert("$flagd".into(), json!({"flagKey": "f", "timestamp": 0}));
        Value::Object(map)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_rule_is_answered(rule in rule(), data in data()) {
        let _ = apply(&rule, &data);
    }

    #[test]
    fn fractional_answers_a_variant_or_null(
        key in "[a-z0-9@.-]{1,20}",
        weights in prop::collection::vec(0u32..1000, 1..6),
    ) {
        let variants: Vec<Value> = weights.iter().enumerate()
            .map(|(i, w)| json!([format!("v{i}"), w])).collect();
        let got = apply(&json!({"fractional": variants}), &json!({"targetingKey": key, "$flagd": {"flagKey": "f"}}))
            .expect("fractional always evaluates");
        let total: u32 = weights.iter().sum();
        if total == 0 {
            prop_assert_eq!(got, Value::Null);
        } else {
            let index: usize = got.as_str().and_then(|v| v[1..].parse().ok()).expect("a variant");
            // A variant of weight 0 is never chosen.
            prop_assert!(weights[index] > 0, "{index} of {weights:?}");
        }
    }
}

/// A file's text mutated at one place: a character replaced, cut short, or doubled.
fn mutated_file() -> impl Strategy<Value = String> {
    let base = r#"{"flags": {"é-flag": {"state": "ENABLED", "variants": {"a": "ü", "b": "😀"},
  "defaultVariant": "a", "targeting": {"if": [{"$ref": "r"}, "b"]}}},
  "$evaluators": {"r": {"starts_with": [{"var": "email"}, "x"]}}}"#;
    let chars: Vec<char> = base.chars().collect();
    (0..chars.len(), any::<char>(), 0..3u8).prop_map(move |(at, c, how)| {
        let mut out = chars.clone();
        match how {
            0 => out[at] = c,
            1 => out.truncate(at),
            _ => out.insert(at, c),
        }
        out.into_iter().collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_file_is_answered(text in prop_oneof![mutated_file(), any::<String>()]) {
        let checked = crate::flags::check("flags.json", &text);
        for problem in &checked.diagnostics {
            let _ = problem.render(crate::ui::Paint::plain());
        }
        if let Some(definitions) = checked.definitions {
            let _ = definitions.evaluate_all(&crate::flags::Context::default());
        }
        // A file is refused exactly when it has an error (bad JSON is one).
        let refused = crate::flags::check("flags.json", &text).into_result().is_err();
        let errors = checked.diagnostics.iter().any(crate::diagnostic::Diagnostic::is_error);
        prop_assert_eq!(refused, errors);
    }
}
