//! Editing a definitions file in place: one member of one object set or removed, and every
//! other byte of the file left as it was (its order, indentation, spacing, the flags not
//! touched). A new value is written in the file's own indentation, on one line when it fits.

use serde_json::Value;

use super::locate::locate;

/// A line a new value is kept on when it fits.
const WIDTH: usize = 80;

/// `text` with member `name` of the object at `object` set to `value` (replaced where it is,
/// else added after the object's last member). `None` when `object` is not an object of
/// `text`.
pub fn set_member(text: &str, object: &[&str], name: &str, value: &Value) -> Option<String> {
    let unit = indent_unit(text);
    let mut path: Vec<&str> = object.to_vec();
    path.push(name);
    if let Some(found) = locate(text, &path) {
        let indent = line_indent(
            text,
            found.key.as_ref().map_or(found.value.start, |k| k.start),
        );
        let column = found.value.start - line_start(text, found.value.start);
        let rendered = render(value, indent, &unit, column);
        return Some(splice(text, found.value, &rendered));
    }
    let found = locate(text, object)?;
    let (open, close) = (found.value.start, found.value.end - 1);
    if text.as_bytes().get(open) != Some(&b'{') {
        return None;
    }
    let inner = &text[open + 1..close];
    let key = serde_json::to_string(name).expect("a string serializes");
    if inner.trim().is_empty() {
        // An empty object: the member on a line of its own, one level in.
        let outer = line_indent(text, open);
        let indent = format!("{outer}{unit}");
        let rendered = render(value, &indent, &unit, indent.len() + key.len() + 2);
        let member = format!("\n{indent}{key}: {rendered}\n{outer}");
        return Some(splice(text, open + 1..close, &member));
    }
    // After the last member, separated as the first member is from the `{`.
    let first = open + 1 + (inner.len() - inner.trim_start().len());
    let separator = &text[open + 1..first];
    let last_end = open + 1 + inner.trim_end().len();
    let indent = line_indent(text, first).to_owned();
    let separator = if separator.contains('\n') {
        format!("\n{indent}")
    } else {
        " ".to_owned()
    };
    let rendered = render(value, &indent, &unit, indent.len() + key.len() + 2);
    let member = format!(",{separator}{key}: {rendered}");
    Some(splice(text, last_end..last_end, &member))
}

/// `text` without member `name` of the object at `object`: unchanged when it has none.
/// `None` when `object` is not in `text`.
pub fn remove_member(text: &str, object: &[&str], name: &str) -> Option<String> {
    let mut path: Vec<&str> = object.to_vec();
    path.push(name);
    let Some(found) = locate(text, &path) else {
        locate(text, object)?;
        return Some(text.to_owned());
    };
    let key = found.key?;
    let bytes = text.as_bytes();
    let before = text[..key.start].trim_end();
    if before.ends_with(',') {
        // Not the first member: from the comma before it to its value's end.
        return Some(splice(text, before.len() - 1..found.value.end, ""));
    }
    // The first member: up to the next member's key, or the whole inside when it is alone.
    let mut at = found.value.end;
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    if bytes.get(at) == Some(&b',') {
        at += 1;
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        return Some(splice(text, key.start..at, ""));
    }
    Some(splice(text, before.len()..at, ""))
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |n| n + 1)
}

/// The whitespace a line begins with, for the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let start = line_start(text, at);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The file's indentation step: that of its first indented line (two spaces if none is).
fn indent_unit(text: &str) -> String {
    text.lines()
        .map(|line| &line[..line.len() - line.trim_start_matches([' ', '\t']).len()])
        .find(|indent| !indent.is_empty())
        .unwrap_or("  ")
        .to_owned()
}

/// `value` as JSON written at a line indented by `indent`, starting at `column`: on one line
/// (`{"a": 1, "b": [2, 3]}`) when that fits in [`WIDTH`], else one member or element a line.
pub fn render(value: &Value, indent: &str, unit: &str, column: usize) -> String {
    let flat = flat(value);
    if column + flat.len() <= WIDTH {
        return flat;
    }
    let inner = format!("{indent}{unit}");
    match value {
        Value::Object(members) if !members.is_empty() => {
            let lines: Vec<String> = members
                .iter()
                .map(|(k, v)| {
                    let key = serde_json::to_string(k).expect("a string serializes");
                    let at = inner.len() + key.len() + 2;
                    format!("{inner}{key}: {}", render(v, &inner, unit, at))
                })
                .collect();
            format!("{{\n{}\n{indent}}}", lines.join(",\n"))
        }
        Value::Array(items) if !items.is_empty() => {
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("{inner}{}", render(v, &inner, unit, inner.len())))
                .collect();
            format!("[\n{}\n{indent}]", lines.join(",\n"))
        }
        _ => flat,
    }
}

/// One line, with a space after each `:` and `,`.
fn flat(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let parts: Vec<String> = members
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        serde_json::to_string(k).expect("a string serializes"),
                        flat(v)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(flat).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FILE: &str = "{\n  \"$schema\": \"https://flagd.dev/schema/v0/flags.json\",\n  \"flags\": {\n    \"new-checkout\": {\n      \"state\": \"ENABLED\",\n      \"variants\": { \"on\": true, \"off\": false },\n      \"defaultVariant\": \"off\"\n    },\n    \"theme\": {\"state\": \"DISABLED\", \"variants\": {\"a\": \"a\"}, \"defaultVariant\": \"a\"}\n  }\n}\n";

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn a_value_is_replaced_where_it_is_and_nothing_else_moves() {
        let out = set_member(FILE, &["flags", "theme"], "state", &json!("ENABLED")).unwrap();
        assert_eq!(out, FILE.replace("\"DISABLED\"", "\"ENABLED\""));
    }

    #[test]
    fn a_new_member_goes_after_the_last_in_the_objects_own_layout() {
        let rule = json!({"fractional": [["on", 10], ["off", 90]]});
        let out = set_member(FILE, &["flags", "new-checkout"], "targeting", &rule).unwrap();
        assert!(
            out.contains("      \"defaultVariant\": \"off\",\n      \"targeting\": {\"fractional\": [[\"on\", 10], [\"off\", 90]]}\n    },"),
            "{out}"
        );
        assert_eq!(parsed(&out)["flags"]["new-checkout"]["targeting"], rule);
        // On one line, the member goes on that line.
        let out = set_member(FILE, &["flags", "theme"], "targeting", &json!({})).unwrap();
        assert!(
            out.contains("\"defaultVariant\": \"a\", \"targeting\": {}}"),
            "{out}"
        );
        // An empty object gets the member a level in.
        let out = set_member("{\"flags\": {}}", &["flags"], "x", &json!(1)).unwrap();
        assert_eq!(out, "{\"flags\": {\n  \"x\": 1\n}}");
        assert_eq!(parsed(&out)["flags"]["x"], 1);
    }

    #[test]
    fn a_long_value_is_written_a_member_a_line_at_the_files_indent() {
        let rule = json!({"if": [{"in": [{"var": "email"}, ["alice@example.com", "bob@example.com", "carol@example.com"]]}, "on", "off"]});
        let out = set_member(FILE, &["flags", "new-checkout"], "targeting", &rule).unwrap();
        assert_eq!(parsed(&out)["flags"]["new-checkout"]["targeting"], rule);
        assert!(
            out.contains("\n      \"targeting\": {\n        \"if\": [\n"),
            "{out}"
        );
        assert!(out.lines().all(|l| l.len() <= WIDTH + 10), "{out}");
    }

    #[test]
    fn members_are_removed_with_their_comma_wherever_they_are() {
        for (object, name) in [
            (&["flags", "new-checkout"][..], "state"),
            (&["flags", "new-checkout"][..], "defaultVariant"),
            (&["flags", "new-checkout"][..], "variants"),
            (&["flags", "theme"][..], "state"),
            (&["flags", "theme"][..], "defaultVariant"),
            (&["flags"][..], "theme"),
            (&["flags"][..], "new-checkout"),
        ] {
            let out = remove_member(FILE, object, name).unwrap();
            let mut want = parsed(FILE);
            let mut at = &mut want;
            for segment in object {
                at = &mut at[*segment];
            }
            at.as_object_mut().unwrap().shift_remove(name);
            assert_eq!(parsed(&out), want, "{object:?} {name}: {out}");
        }
        let alone = remove_member("{\"a\": {\"b\": 1}}", &["a"], "b").unwrap();
        assert_eq!(alone, "{\"a\": {}}");
        assert_eq!(
            remove_member(FILE, &["flags", "theme"], "nope").unwrap(),
            FILE
        );
        assert!(remove_member(FILE, &["nope"], "x").is_none());
        assert!(set_member(FILE, &["$schema"], "x", &json!(1)).is_none());
    }
}
