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

/// How many evaluators deep references may chain (`a` names `b`, which names `c`…).
pub const MAX_CHAIN: usize = 16;
/// How many JSON nodes a rule may grow to once its references are replaced: evaluators that
/// name others twice over would otherwise double at every level.
pub const MAX_NODES: usize = 100_000;

/// `rule` with every reference to a defined evaluator replaced, recursively; a reference to
/// an undefined evaluator, or one that would loop, is left as it is (its evaluation then fails
/// as an unknown operation, flagd's `PARSE_ERROR`; the file check reports it first). `None`
/// when the references chain deeper than [`MAX_CHAIN`] or grow the rule past [`MAX_NODES`],
/// or past what is left of `budget`, the nodes a whole file may resolve to (which it spends).
pub fn resolve(rule: &Value, evaluators: &Map<String, Value>, budget: &mut usize) -> Option<Value> {
    let limit = MAX_NODES.min(*budget);
    let mut nodes = 0;
    let resolved = resolve_within(rule, evaluators, &mut Vec::new(), &mut (limit, &mut nodes));
    *budget = budget.saturating_sub(nodes);
    resolved
}

/// The nodes a whole file's rules may resolve to: more than a 4 MiB file holds unresolved.
pub const MAX_FILE_NODES: usize = 4_000_000;

fn resolve_within<'a>(
    rule: &Value,
    evaluators: &'a Map<String, Value>,
    stack: &mut Vec<&'a str>,
    count: &mut (usize, &mut usize),
) -> Option<Value> {
    *count.1 += 1;
    if *count.1 > count.0 {
        return None;
    }
    if let Some(name) = reference(rule)
        && let Some((name, body)) = evaluators.get_key_value(name)
        && !stack.contains(&name.as_str())
    {
        if stack.len() >= MAX_CHAIN {
            return None;
        }
        stack.push(name);
        let resolved = resolve_within(body, evaluators, stack, count);
        stack.pop();
        return resolved;
    }
    Some(match rule {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_within(item, evaluators, stack, count))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), resolve_within(v, evaluators, stack, count)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
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
    #[test]
    fn chains_and_blowups_are_bounded() {
        // e0 names e1 names e2 …: a chain longer than the bound.
        let mut chain = serde_json::Map::new();
        for i in 0..40 {
            chain.insert(
                format!("e{i}"),
                json!({"!": {"$ref": format!("e{}", i + 1)}}),
            );
        }
        assert_eq!(
            resolve(&json!({"$ref": "e0"}), &chain, &mut MAX_FILE_NODES.clone()),
            None
        );
        assert!(resolve(&json!({"$ref": "e30"}), &chain, &mut MAX_FILE_NODES.clone()).is_some());
        // Each evaluator names the next twice: 2^15 copies of the last.
        let mut doubling = serde_json::Map::new();
        for i in 0..15 {
            let next = json!({"$ref": format!("d{}", i + 1)});
            doubling.insert(
                format!("d{i}"),
                json!({"and": [next.clone(), next, 1, 2, 3, 4]}),
            );
        }
        assert_eq!(
            resolve(
                &json!({"$ref": "d0"}),
                &doubling,
                &mut MAX_FILE_NODES.clone()
            ),
            None
        );
        // The file's budget is spent by each rule resolved, and refuses once spent.
        let mut budget = 10;
        let small = json!({"and": [1, 2, 3]});
        assert!(resolve(&small, &doubling, &mut budget).is_some());
        assert_eq!(budget, 5, "an object, an array and three numbers");
        assert_eq!(
            resolve(&json!([small.clone(), small]), &doubling, &mut budget),
            None
        );
    }

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
            resolve(&rule, evaluators, &mut MAX_FILE_NODES.clone()),
            Some(json!({"if": [{"and": [{"==": [{"var": "x"}, 1]}, true]}, "on", {"$ref": "zz"}]}))
        );
        assert_eq!(
            resolve(
                &json!({"$ref": "loop"}),
                evaluators,
                &mut MAX_FILE_NODES.clone()
            ),
            Some(json!({"!": {"$ref": "loop"}}))
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
