//! `JsonLogic`'s official test suite (`tests/data/jsonlogic/tests.json`): jsonlogic.com's
//! `tests.json`, as vendored by `GoPlasmatic/datalogic-rs` at commit
//! 2149879ac34bb06d1410324de9a3a55d0970a89c (`tests/tests.json`), unchanged. Each entry is
//! `[rule, data, expected]`; strings are section titles.

use serde_json::Value;

use crate::flags::logic::apply;

const SUITE: &str = include_str!("../../../tests/data/jsonlogic/tests.json");

/// Numbers compare by value (`1` is `1.0`), everything else structurally.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn official_suite_passes_whole() {
    let suite: Vec<Value> = serde_json::from_str(SUITE).expect("the suite is JSON");
    let mut ran = 0;
    let mut failures = Vec::new();
    for case in &suite {
        let Value::Array(parts) = case else {
            continue;
        };
        let [rule, data, expected] = parts.as_slice() else {
            panic!("a case is [rule, data, expected]: {case}");
        };
        ran += 1;
        match apply(rule, data) {
            Ok(got) if same(&got, expected) => {}
            got => failures.push(format!("{rule} with {data}: want {expected}, got {got:?}")),
        }
    }
    assert_eq!(ran, 278, "the whole suite ran");
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
