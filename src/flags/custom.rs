//! flagd's own `JsonLogic` operations, written from flagd's Go evaluator
//! (`core/pkg/evaluator/{fractional,semver,string_comparison}.go`): `fractional`,
//! `sem_ver`, `starts_with`, `ends_with`. Like flagd's, they take evaluated arguments and
//! answer null for arguments they cannot use (flagd logs those; the targeting then falls back
//! to the default variant).

use serde_json::Value;

use super::js::number_to_string;
use super::murmur3::murmur3_32;
use super::semver::Version;

/// Runs flagd's operation `op`, or `None` if flagd has no such operation.
pub fn flagd(op: &str, values: &[Value], data: &Value) -> Option<Value> {
    Some(match op {
        "fractional" => fractional(values, data).unwrap_or(Value::Null),
        "sem_ver" => sem_ver(values).map_or(Value::Null, Value::Bool),
        "starts_with" | "ends_with" => match values {
            [Value::String(text), Value::String(affix)] => Value::Bool(if op == "starts_with" {
                text.starts_with(affix.as_str())
            } else {
                text.ends_with(affix.as_str())
            }),
            _ => Value::Null,
        },
        _ => return None,
    })
}

/// The context key flagd buckets by when a rule names no bucketing value.
pub const TARGETING_KEY: &str = "targetingKey";

/// `fractional`: `[bucketBy?, [variant, weight?]…]`. The bucketing value, a string, defaults
/// to the flag key joined with the targeting key; its 32-bit `MurmurHash3` is scaled onto the
/// total weight (`hash * total >> 32`) and the bucket that range falls in wins.
fn fractional(values: &[Value], data: &Value) -> Option<Value> {
    if values.is_empty() {
        return None;
    }
    let context = data.as_object()?;
    let (bucket_by, distributions) = if let Value::String(bucket_by) = &values[0] {
        (bucket_by.clone(), &values[1..])
    } else {
        // A bucketing value that resolved to null (a missing property) is dropped, and the
        // targeting key is used instead; anything else is the first distribution.
        let distributions = if values[0].is_null() {
            &values[1..]
        } else {
            values
        };
        let flag_key = context
            .get("$flagd")
            .and_then(|p| p.get("flagKey"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        match context.get(TARGETING_KEY) {
            Some(Value::String(key)) if !key.is_empty() => {
                (format!("{flag_key}{key}"), distributions)
            }
            _ => return None,
        }
    };
    let buckets = weights(distributions)?;
    let total: u64 = buckets.iter().map(|(_, weight)| weight).sum();
    if total == 0 {
        return None;
    }
    let hash = u64::from(murmur3_32(bucket_by.as_bytes()));
    let bucket = (hash * total) >> 32;
    let mut end = 0;
    for (variant, weight) in buckets {
        end += weight;
        if bucket < end {
            return Some(variant.clone());
        }
    }
    None
}

/// Each distribution's variant and weight (1 when left out), checked as flagd checks them:
/// whole numbers, none above `i32::MAX` nor their sum; negative weights count as 0.
fn weights(distributions: &[Value]) -> Option<Vec<(&Value, u64)>> {
    const MAX: f64 = 2_147_483_647.0;
    let mut buckets = Vec::with_capacity(distributions.len());
    let mut total = 0.0;
    for distribution in distributions {
        let Value::Array(parts) = distribution else {
            return None;
        };
        let variant = parts.first()?;
        if matches!(variant, Value::Array(_) | Value::Object(_)) {
            return None;
        }
        let weight = match parts.get(1) {
            None | Some(Value::Null) => 1.0,
            Some(Value::Number(n)) => n.as_f64()?,
            Some(_) => return None,
        };
        if weight.fract() != 0.0 || weight > MAX {
            return None;
        }
        let weight = weight.max(0.0);
        total += weight;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        buckets.push((variant, weight as u64));
    }
    (total <= MAX).then_some(buckets)
}

/// `sem_ver`: `[version, operator, version]` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `^` (same
/// major) and `~` (same major and minor).
fn sem_ver(values: &[Value]) -> Option<bool> {
    let [actual, operator, target] = values else {
        return None;
    };
    let actual = Version::parse_flagd(&go_string(actual))?;
    let target = Version::parse_flagd(&go_string(target))?;
    Some(match operator.as_str()? {
        "=" => actual == target,
        "!=" => actual != target,
        "<" => actual < target,
        "<=" => actual <= target,
        ">" => actual > target,
        ">=" => actual >= target,
        "^" => actual.major_only() == target.major_only(),
        "~" => actual.major_minor() == target.major_minor(),
        _ => return None,
    })
}

/// Go's `fmt.Sprintf("%v", v)` for what `sem_ver` may be handed: a number in `%g`'s shortest
/// form, which switches to an exponent (never a valid version) from 1e6 or below 1e-4.
fn go_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let magnitude = f.abs();
            if f == 0.0 || (1e-4..1e6).contains(&magnitude) {
                number_to_string(f)
            } else {
                format!("{f:e}")
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_owned(),
        Value::Array(_) | Value::Object(_) => "<composite>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(flag: &str, key: &str) -> Value {
        json!({"$flagd": {"flagKey": flag, "timestamp": 0}, "targetingKey": key})
    }

    #[test]
    fn fractional_buckets_as_flagd() {
        // Bucket arithmetic by hand: "abc" hashes to 0xb3dd93fa; with weights 50/50 the
        // bucket is 0xb3dd93fa * 100 >> 32 = 70, in the second half.
        let values = [json!("abc"), json!(["a", 50]), json!(["b", 50])];
        assert_eq!(fractional(&values, &json!({})), Some(json!("b")));
        let hash = u64::from(murmur3_32(b"abc"));
        assert_eq!((hash * 100) >> 32, 70);
        // Default bucketing value: flag key then targeting key, with no separator.
        let values = [json!(["a", 50]), json!(["b", 50])];
        let explicit = [json!("flagabc"), json!(["a", 50]), json!(["b", 50])];
        assert_eq!(
            fractional(&values, &ctx("flag", "abc")),
            fractional(&explicit, &json!({}))
        );
        // No targeting key, an empty one, or a null bucketing value without one: null.
        assert_eq!(fractional(&values, &json!({})), None);
        assert_eq!(fractional(&values, &ctx("flag", "")), None);
        // Weights left out count 1; zero total, fractions, strings and overflow are refused.
        assert!(fractional(&[json!("x"), json!(["a"]), json!(["b"])], &json!({})).is_some());
        assert_eq!(fractional(&[json!("x"), json!(["a", 0])], &json!({})), None);
        assert_eq!(
            fractional(&[json!("x"), json!(["a", 1.5])], &json!({})),
            None
        );
        assert_eq!(
            fractional(&[json!("x"), json!(["a", "1"])], &json!({})),
            None
        );
        let big = [json!("x"), json!(["a", 2_147_483_647]), json!(["b", 1])];
        assert_eq!(fractional(&big, &json!({})), None);
        // A negative weight counts as 0.
        let negative = [json!("x"), json!(["a", -5]), json!(["b", 1])];
        assert_eq!(fractional(&negative, &json!({})), Some(json!("b")));
    }

    #[test]
    fn sem_ver_operators() {
        let cases = [
            ("1.2.3", "=", "1.2.3", Some(true)),
            ("1.2.3", "!=", "1.2.4", Some(true)),
            ("1.2.3", "<", "1.10.0", Some(true)),
            ("1.2.3", "<=", "1.2.3", Some(true)),
            ("2.0.0", ">", "1.99.99", Some(true)),
            ("2.0.0-rc.1", ">=", "2.0.0", Some(false)),
            ("3.4.5", "^", "3.0.0", Some(true)),
            ("3.4.5", "^", "4.0.0", Some(false)),
            ("3.4.5", "~", "3.4.0", Some(true)),
            ("3.4.5", "~", "3.5.0", Some(false)),
            ("1.2.3", "===", "1.2.3", None),
            ("nope", "=", "1.2.3", None),
        ];
        for (a, op, b, want) in cases {
            assert_eq!(
                sem_ver(&[json!(a), json!(op), json!(b)]),
                want,
                "{a} {op} {b}"
            );
        }
        assert_eq!(sem_ver(&[json!(1.2), json!(">"), json!("1.1")]), Some(true));
        assert_eq!(sem_ver(&[json!(1_000_000), json!(">"), json!("1")]), None);
        assert_eq!(sem_ver(&[json!("1.2.3"), json!("=")]), None);
    }

    #[test]
    fn string_comparisons() {
        let f = |op, a: Value, b: Value| flagd(op, &[a, b], &json!({}));
        assert_eq!(
            f("starts_with", json!("user@faas.com"), json!("user@")),
            Some(json!(true))
        );
        assert_eq!(
            f("ends_with", json!("user@faas.com"), json!(".com")),
            Some(json!(true))
        );
        assert_eq!(
            f("ends_with", json!("user@faas.com"), json!(".org")),
            Some(json!(false))
        );
        assert_eq!(f("starts_with", json!(1), json!("1")), Some(Value::Null));
        assert_eq!(
            flagd("starts_with", &[json!("a")], &json!({})),
            Some(Value::Null)
        );
        assert_eq!(flagd("nope", &[], &json!({})), None);
    }
}
