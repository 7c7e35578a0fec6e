//! JavaScript's coercions, as the `JsonLogic` reference (`json-logic-js`) inherits them: truth,
//! `Number(…)`, `parseFloat(…)`, `String(…)`, `==` and `<`. `JsonLogic`'s test suite is written
//! against them, so the evaluator uses them and nothing looser or stricter.

use std::cmp::Ordering;

use serde_json::Value;

/// `JsonLogic`'s truth: JavaScript's, except that an empty array is false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

/// A number as a JSON value: integral values within 2^53 as integers (so `1 + 2` is `3`,
/// not `3.0`), others as floats; `NaN` and the infinities, which JSON cannot carry, as null.
pub fn number(f: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `Number(value)`: the strict conversion of `-`, `*` by way of `<`, `==` and friends.
pub fn to_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) | Value::Object(_) => string_to_number(&to_js_string(value)),
    }
}

fn string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return u64::from_str_radix(digits, radix).map_or(f64::NAN, |n| {
                #[allow(clippy::cast_precision_loss)]
                let f = n as f64;
                f
            });
        }
    }
    // Rust also reads `inf`, `nan` and `infinity`, which JavaScript does not.
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return f64::NAN;
    }
    t.parse().unwrap_or(f64::NAN)
}

/// `parseFloat(String(value))`: the longest decimal prefix, `NaN` without one.
pub fn parse_float(value: &Value) -> f64 {
    if let Value::Number(n) = value {
        return n.as_f64().unwrap_or(f64::NAN);
    }
    let text = to_js_string(value);
    let t = text.trim_start();
    let bytes = t.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    if t[end..].starts_with("Infinity") {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let digits_from = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let mut seen_digits = end > digits_from;
    if bytes.get(end) == Some(&b'.') {
        let mut fraction = end + 1;
        while bytes.get(fraction).is_some_and(u8::is_ascii_digit) {
            fraction += 1;
        }
        if fraction > end + 1 || seen_digits {
            seen_digits |= fraction > end + 1;
            end = fraction;
        }
    }
    if !seen_digits {
        return f64::NAN;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exponent = end + 1;
        if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        let exponent_digits = exponent;
        while bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
            exponent += 1;
        }
        if exponent > exponent_digits {
            end = exponent;
        }
    }
    t[..end].parse().unwrap_or(f64::NAN)
}

/// `String(value)`: how `cat`, `in` and `var` paths see a value.
pub fn to_js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number_to_string),
        Value::String(s) => s.clone(),
        // `Array.prototype.join`: null and undefined become empty.
        Value::Array(items) => items
            .iter()
            .map(|item| {
                if item.is_null() {
                    String::new()
                } else {
                    to_js_string(item)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// `Number.prototype.toString()`: integers without a point, exponents past 1e21 and below 1e-6.
pub fn number_to_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let magnitude = f.abs();
    if (1e-6..1e21).contains(&magnitude) {
        return format!("{f}");
    }
    // Rust writes `1e21` and `1.5e-7`; JavaScript writes `1e+21` and `1.5e-7`.
    let text = format!("{f:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => text,
    }
}

/// `a === b`: same type and value; two arrays or objects are never the same object here.
pub fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// `a == b`: JavaScript's abstract equality.
pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _)
        | (_, Value::Null)
        | (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => strict_eq(a, b),
        (Value::Array(_) | Value::Object(_), _) => loose_eq(&Value::String(to_js_string(a)), b),
        (_, Value::Array(_) | Value::Object(_)) => loose_eq(a, &Value::String(to_js_string(b))),
        // Number against string, or a boolean against anything: both as numbers.
        _ => to_number(a) == to_number(b),
    }
}

/// `a < b` and friends: two strings (after `ToPrimitive`) compare as text, anything else as
/// numbers; `None` when a `NaN` makes every comparison false.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    let primitive = |v: &Value| match v {
        Value::Array(_) | Value::Object(_) => Value::String(to_js_string(v)),
        other => other.clone(),
    };
    let (a, b) = (primitive(a), primitive(b));
    if let (Value::String(x), Value::String(y)) = (&a, &b) {
        // JavaScript compares UTF-16 code units.
        return Some(x.encode_utf16().cmp(y.encode_utf16()));
    }
    to_number(&a).partial_cmp(&to_number(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    #[allow(clippy::float_cmp)] // exact conversions, exactly compared
    fn coercions_match_javascript() {
        assert!(!truthy(&json!([])) && truthy(&json!([0])) && truthy(&json!("0")));
        assert!(!truthy(&json!(0.0)) && !truthy(&json!("")) && truthy(&json!({})));
        assert_eq!(to_number(&json!(" 12 ")), 12.0);
        assert_eq!(to_number(&json!("")), 0.0);
        assert_eq!(to_number(&json!("0x1A")), 26.0);
        assert!(to_number(&json!("inf")).is_nan());
        assert!(to_number(&json!("1abc")).is_nan());
        assert_eq!(to_number(&json!([5])), 5.0);
        assert_eq!(parse_float(&json!("1abc")), 1.0);
        assert_eq!(parse_float(&json!("-.5e2x")), -50.0);
        assert_eq!(parse_float(&json!("3.")), 3.0);
        assert!(parse_float(&json!(true)).is_nan());
        assert!(parse_float(&json!(".")).is_nan());
        assert_eq!(to_js_string(&json!([1, null, "a"])), "1,,a");
        assert_eq!(number_to_string(1e21), "1e+21");
        assert_eq!(number_to_string(1.5e-7), "1.5e-7");
        assert_eq!(number_to_string(0.5), "0.5");
        assert_eq!(number_to_string(-3.0), "-3");
        assert_eq!(number(3.0), json!(3));
        assert_eq!(number(f64::NAN), Value::Null);
    }

    #[test]
    fn equality_and_order_match_javascript() {
        assert!(loose_eq(&json!(1), &json!("1")));
        assert!(loose_eq(&json!(true), &json!("1")));
        assert!(loose_eq(&json!([1]), &json!(1)));
        assert!(!loose_eq(&json!(null), &json!(0)));
        assert!(!loose_eq(&json!([1]), &json!([1])));
        assert!(!strict_eq(&json!(1), &json!("1")));
        assert_eq!(compare(&json!("2"), &json!(1)), Some(Ordering::Greater));
        assert_eq!(compare(&json!("10"), &json!("9")), Some(Ordering::Less));
        assert_eq!(compare(&json!("a"), &json!(1)), None);
        assert_eq!(compare(&json!(null), &json!(0)), Some(Ordering::Equal));
    }
}
