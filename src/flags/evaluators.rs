//! `$evaluators`: shared targeting rules a flag names with `{"$ref": "name"}`. flagd replaces
//! each reference by the rule's text before it parses the flags; dozen does the same on the
//! parsed value, also inside evaluators that name other evaluators, and refuses cycles.

use serde_json::{Map, Value};

/// The name an object like `{"$ref": "name"}` refers to.
pub fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get("$ref")?.as_str(),
        _ => None,
    }
}

/// `rule` with every reference to a defined evaluator replaced, recursively; a reference to
/// an undefined evaluator, or one that would loop, is left as it is (its evaluation then fails
/// as an unknown operation, flagd's `PARSE_ERROR`; the file check reports it first).
pub fn resolve(rule: &Value, evaluators: &Map<String, Value>) -> Value {
    resolve_within(rule, evaluators, &mut Vec::new())
}

fn resolve_within<'a>(
    rule: &Value,
    evaluators: &'a Map<String, Value>,
    stack: &mut Vec<&'a str>,
) -> Value {
    if let Some(name) = reference(rule)
        && let Some((name, body)) = evaluators.get_key_value(name)
        && !stack.contains(&name.as_str())
    {
        stack.push(name);
        let resolved = resolve_within(body, evaluators, stack);
        stack.pop();
        return resolved;
    }
    match rule {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_within(item, evaluators, stack))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_within(v, evaluators, stack)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every `{"$ref": …}` within `rule`, with its path below `rule`.
pub fn references(rule: &Value) -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    walk(rule, &mut Vec::new(), &mut found);
    found
}

fn walk(rule: &Value, path: &mut Vec<String>, found: &mut Vec<(Vec<String>, String)>) {
    if let Some(name) = reference(rule) {
        found.push((path.clone(), name.to_owned()));
        return;
    }
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match rule {
        Value::Array(items) => Box::new(items.iter().enumerate().map(|(i, v)| (i.to_string(), v))),
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (k.clone(), v))),
        _ => return,
    };
    for (segment, child) in children {
        path.push(segment);
        walk(child, path, found);
        path.pop();
    }
}

/// Whether evaluator `name` reaches itself through its references.
pub fn cycles(name: &str, evaluators: &Map<String, Value>) -> bool {
    let mut pending = vec![name.to_owned()];
    let mut seen = Vec::new();
    while let Some(current) = pending.pop() {
        let Some(body) = evaluators.get(&current) else {
            continue;
        };
        for (_, next) in references(body) {
            if next == name {
                return true;
            }
            if !seen.contains(&next) {
                seen.push(next.clone());
                pending.push(next);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_nested_and_leaves_unknown_and_cycles() {
        let evaluators = json!({
            "a": {"==": [{"var": "x"}, 1]},
            "b": {"and": [{"$ref": "a"}, true]},
            "loop": {"!": {"$ref": "loop"}},
        });
        let evaluators = evaluators.as_object().expect("object");
        let rule = json!({"if": [{"$ref": "b"}, "on", {"$ref": "zz"}]});
        assert_eq!(
            resolve(&rule, evaluators),
            json!({"if": [{"and": [{"==": [{"var": "x"}, 1]}, true]}, "on", {"$ref": "zz"}]})
        );
        assert_eq!(
            resolve(&json!({"$ref": "loop"}), evaluators),
            json!({"!": {"$ref": "loop"}})
        );
        assert!(cycles("loop", evaluators));
        assert!(!cycles("b", evaluators));
        assert_eq!(
            references(&rule),
            vec![
                (vec!["if".into(), "0".into()], "b".into()),
                (vec!["if".into(), "2".into()], "zz".into())
            ]
        );
    }
}
