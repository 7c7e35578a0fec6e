//! A small YAML writer for the exporters: block style, keys in insertion order, every string
//! double-quoted with JSON escapes (valid YAML, and never read as a number, a boolean or a
//! date). Deterministic by construction.

use std::fmt::Write as _;

use serde_json::Value;

/// Words YAML 1.1 parsers (`PyYAML`, so kubernetes-validate) read as booleans or null.
const RESERVED: [&str; 11] = [
    "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "",
];

/// Whether a key can be written without quotes.
fn plain_key(key: &str) -> bool {
    !RESERVED.contains(&key.to_ascii_lowercase().as_str())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
}

fn key(text: &str) -> String {
    if plain_key(text) {
        text.to_owned()
    } else {
        Value::from(text).to_string()
    }
}

/// A scalar, or an empty collection, on one line; `None` for a collection with items.
fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) if items.is_empty() => Some("[]".to_owned()),
        Value::Object(map) if map.is_empty() => Some("{}".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
        scalar => Some(scalar.to_string()),
    }
}

fn write(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                if let Some(text) = inline(v) {
                    let _ = writeln!(out, "{pad}{}: {text}", key(k));
                } else {
                    let _ = writeln!(out, "{pad}{}:", key(k));
                    let child = if v.is_array() { indent } else { indent + 2 };
                    write(out, v, child);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if let Some(text) = inline(item) {
                    let _ = writeln!(out, "{pad}- {text}");
                } else {
                    // The first line of the item goes after the dash.
                    let mut nested = String::new();
                    write(&mut nested, item, indent + 2);
                    let trimmed = nested.trim_start_matches(' ');
                    let _ = write!(out, "{pad}- {trimmed}");
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", inline(scalar).unwrap_or_default());
        }
    }
}

/// One YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_quoted_strings() {
        let value = json!({
            "apiVersion": "v1",
            "metadata": { "name": "shop-web", "labels": { "app.kubernetes.io/name": "shop" } },
            "spec": {
                "replicas": 2,
                "ports": [{ "name": "http", "containerPort": 5000 }],
                "command": ["/bin/sh", "-c", "exec x \"$PORT\""],
                "empty": [],
                "yes": true,
                "weird key": "on"
            }
        });
        assert_eq!(
            to_yaml(&value),
            r#"apiVersion: "v1"
metadata:
  name: "shop-web"
  labels:
    app.kubernetes.io/name: "shop"
spec:
  replicas: 2
  ports:
  - name: "http"
    containerPort: 5000
  command:
  - "/bin/sh"
  - "-c"
  - "exec x \"$PORT\""
  empty: []
  "yes": true
  "weird key": "on"
"#
        );
    }
}
