//! `JsonLogic`'s operations that take their arguments already evaluated, as `json-logic-js`
//! defines them (JavaScript's coercions included).

use std::cmp::Ordering;

use serde_json::Value;

use super::js::{
    compare, loose_eq, number, parse_float, strict_eq, to_js_string, to_number, truthy,
};
use super::logic_error::LogicError;

/// The longest string `cat` may build, in bytes.
pub const MAX_STRING: usize = 64 * 1024;
/// The most elements `merge` may build.
pub const MAX_ITEMS: usize = 10_000;

/// Runs the built-in operation `op`, or `None` if `JsonLogic` has no such operation.
pub fn eager(op: &str, values: &[Value], data: &Value) -> Option<Result<Value, LogicError>> {
    let null = Value::Null;
    let a = values.first().unwrap_or(&null);
    let b = values.get(1).unwrap_or(&null);
    let ordered = |wanted: &[Ordering]| compare(a, b).is_some_and(|o| wanted.contains(&o));
    let value = match op {
        "var" => var(a, values.get(1), data),
        "missing" => missing(values, data),
        "missing_some" => missing_some(a, b, data),
        "==" => Value::Bool(loose_eq(a, b)),
        "!=" => Value::Bool(!loose_eq(a, b)),
        "===" => Value::Bool(strict_eq(a, b)),
        "!==" => Value::Bool(!strict_eq(a, b)),
        ">" => Value::Bool(ordered(&[Ordering::Greater])),
        ">=" => Value::Bool(ordered(&[Ordering::Greater, Ordering::Equal])),
        "<" | "<=" => {
            let wanted: &[Ordering] = if op == "<" {
                &[Ordering::Less]
            } else {
                &[Ordering::Less, Ordering::Equal]
            };
            let below = |x: &Value, y: &Value| compare(x, y).is_some_and(|o| wanted.contains(&o));
            // With three arguments, "between": a < b < c.
            Value::Bool(below(a, b) && values.get(2).is_none_or(|c| below(b, c)))
        }
        "!" => Value::Bool(!truthy(a)),
        "!!" => Value::Bool(truthy(a)),
        "%" => number(to_number(a) % to_number(b)),
        "log" => a.clone(),
        "in" => Value::Bool(match b {
            Value::String(haystack) => haystack.contains(&to_js_string(a)),
            Value::Array(items) => items.iter().any(|item| strict_eq(item, a)),
            _ => false,
        }),
        "cat" => return Some(cat(values)),
        "substr" => substr(a, values.get(1), values.get(2)),
        "+" => number(values.iter().map(parse_float).sum()),
        "*" => match values {
            [] => Value::Null,
            // `reduce` without an initial value hands back a lone element untouched.
            [only] => only.clone(),
            _ => number(values.iter().map(parse_float).product()),
        },
        "-" => match values.get(1) {
            None => number(-to_number(a)),
            Some(b) => number(to_number(a) - to_number(b)),
        },
        "/" => number(to_number(a) / to_number(b)),
        "min" => extreme(values, f64::INFINITY, f64::min),
        "max" => extreme(values, f64::NEG_INFINITY, f64::max),
        "merge" => return Some(merge(values)),
        _ => return None,
    };
    Some(Ok(value))
}

/// `Math.min`/`Math.max`: `NaN` if any argument is not a number.
fn extreme(values: &[Value], start: f64, pick: fn(f64, f64) -> f64) -> Value {
    let numbers: Vec<f64> = values.iter().map(to_number).collect();
    if numbers.iter().any(|n| n.is_nan()) {
        return Value::Null;
    }
    number(numbers.into_iter().fold(start, pick))
}

/// `var`: a dotted path into the data; the whole data for an empty or null path.
fn var(path: &Value, default: Option<&Value>, data: &Value) -> Value {
    let not_found = || default.cloned().unwrap_or(Value::Null);
    let path = match path {
        Value::Null => return data.clone(),
        Value::String(s) if s.is_empty() => return data.clone(),
        Value::Array(items) if items.is_empty() => return data.clone(),
        other => to_js_string(other),
    };
    let mut current = data;
    for segment in path.split('.') {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return not_found(),
        }
    }
    current.clone()
}

fn missing(values: &[Value], data: &Value) -> Value {
    let keys = match values.first() {
        Some(Value::Array(keys)) => keys.as_slice(),
        _ => values,
    };
    Value::Array(
        keys.iter()
            .filter(|key| matches!(var(key, None, data), Value::Null) || var(key, None, data) == "")
            .cloned()
            .collect(),
    )
}

fn missing_some(need: &Value, options: &Value, data: &Value) -> Value {
    let options = match options {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let absent = missing(&[Value::Array(options.to_vec())], data);
    let absent_count = absent.as_array().map_or(0, Vec::len);
    #[allow(clippy::cast_precision_loss)]
    let present = (options.len() - absent_count) as f64;
    if present >= to_number(need) {
        Value::Array(Vec::new())
    } else {
        absent
    }
}

fn cat(values: &[Value]) -> Result<Value, LogicError> {
    let mut out = String::new();
    for value in values {
        if !value.is_null() {
            out.push_str(&to_js_string(value));
        }
        if out.len() > MAX_STRING {
            return Err(LogicError::TooLarge(MAX_STRING));
        }
    }
    Ok(Value::String(out))
}

/// `substr`: JavaScript's `String.prototype.substr`, with a negative length counting from
/// the end.
fn substr(source: &Value, start: Option<&Value>, length: Option<&Value>) -> Value {
    let chars: Vec<char> = to_js_string(source).chars().collect();
    let len = chars.len();
    let clamp = |n: f64, len: usize| -> usize {
        #[allow(clippy::cast_precision_loss)]
        let flen = len as f64;
        if n.is_nan() {
            0
        } else if n < 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let from_end = (flen + n.trunc()).max(0.0) as usize;
            from_end
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = n.trunc().min(flen) as usize;
            n
        }
    };
    let from = clamp(start.map_or(0.0, to_number), len);
    let rest = &chars[from..];
    let take = match length.map(to_number) {
        None => rest.len(),
        Some(n) if n < 0.0 => clamp(n, rest.len()),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(n) => (n.trunc().max(0.0) as usize).min(rest.len()),
    };
    Value::String(rest[..take].iter().collect())
}

fn merge(values: &[Value]) -> Result<Value, LogicError> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::Array(items) => out.extend(items.iter().cloned()),
            other => out.push(other.clone()),
        }
        if out.len() > MAX_ITEMS {
            return Err(LogicError::TooLarge(MAX_ITEMS));
        }
    }
    Ok(Value::Array(out))
}
