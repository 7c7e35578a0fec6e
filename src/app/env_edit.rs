//! Writing `.env` files: rendering values so they read back exactly, and editing a file in
//! place while keeping its comments, blank lines, order and the quoting of untouched lines.

use super::env_file::{EnvFile, Value};
use crate::source::Source;

/// Renders `KEY=value` so that dozen's parser reads back exactly `value`, with no
/// interpolation: plain when it is safe, single quotes when they suffice, double quotes with
/// escapes otherwise.
pub fn render_assignment(key: &str, value: &str) -> String {
    format!("{key}={}", render_value(value))
}

pub fn render_value(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@%+,=~^-".contains(c);
    if value.chars().all(plain) {
        value.to_owned()
    } else if !value.contains(['\'', '\n', '\r']) {
        format!("'{value}'")
    } else {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '$' => out.push_str("\\$"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// Writes a whole file from key/value pairs (used where no file exists yet).
pub fn render_file(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| render_assignment(key, value) + "\n")
        .collect()
}

impl EnvFile {
    /// Sets `key` to the literal `value`: the last definition is rewritten in place (keeping an
    /// `export ` prefix and a trailing comment), or a line is appended.
    pub fn set(&mut self, key: &str, value: &str) {
        let text = &self.source.text;
        let new_text = if let Some(entry) = self.get(key) {
            let mut line = String::new();
            if entry.export {
                line.push_str("export ");
            }
            line.push_str(&render_assignment(key, value));
            if let Some(comment) = &entry.comment {
                // The comment keeps its spacing; it must be separated from the new value.
                if !comment.starts_with([' ', '\t']) {
                    line.push(' ');
                }
                line.push_str(comment);
            }
            let line_start = &text[entry.span.start..];
            let indent =
                &line_start[..line_start.len() - line_start.trim_start_matches([' ', '\t']).len()];
            format!(
                "{}{indent}{line}{}",
                &text[..entry.span.start],
                &text[entry.span.end..]
            )
        } else {
            let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
            let mut out = text.clone();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(newline);
            }
            out.push_str(&render_assignment(key, value));
            out.push_str(newline);
            out
        };
        self.reparse(new_text);
    }

    /// Removes every definition of `key` (an earlier one would otherwise take effect).
    /// Returns whether there was one.
    pub fn unset(&mut self, key: &str) -> bool {
        let text = &self.source.text;
        let mut new_text = String::with_capacity(text.len());
        let mut last = 0;
        let mut found = false;
        for entry in self.entries.iter().filter(|e| e.key == key) {
            found = true;
            new_text.push_str(&text[last..entry.span.start]);
            // Drop the entry's line ending with it.
            let rest = &text[entry.span.end..];
            last = entry.span.end
                + if rest.starts_with("\r\n") {
                    2
                } else {
                    usize::from(rest.starts_with('\n'))
                };
        }
        if found {
            new_text.push_str(&text[last..]);
            self.reparse(new_text);
        }
        found
    }

    fn reparse(&mut self, text: String) {
        let (file, _) = Self::parse(Source::new(self.source.path.clone(), text));
        *self = file;
    }

    /// The literal value of `key` when it needs no lookup (used by tests and round trips).
    pub fn literal(&self, key: &str) -> Option<String> {
        match &self.get(key)?.value {
            Value::Template(t) if t.is_literal() => t.evaluate(&|_| None).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> EnvFile {
        let (file, problems) = EnvFile::parse(Source::new(".env", text));
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
        file
    }

    fn model(file: &EnvFile) -> Vec<(String, String)> {
        file.entries
            .iter()
            .map(|e| match &e.value {
                Value::Template(t) => (
                    e.key.clone(),
                    t.evaluate(&|_| Some("LOOKED-UP".into())).unwrap(),
                ),
                Value::Inherit => (e.key.clone(), "<inherit>".into()),
            })
            .collect()
    }

    #[test]
    fn rendering_chooses_the_lightest_quoting() {
        assert_eq!(render_value("plain-1.2:3/x@y"), "plain-1.2:3/x@y");
        assert_eq!(render_value("two words"), "'two words'");
        assert_eq!(render_value("$HOME"), "'$HOME'");
        assert_eq!(render_value("it's"), "\"it's\"");
        assert_eq!(render_value("a\nb$c\"\\"), "\"a\\nb\\$c\\\"\\\\\"");
        assert_eq!(render_value(""), "");
    }

    #[test]
    fn set_keeps_everything_else() {
        let mut file = parse("# header\n\nexport A='old' # keep me\nB=\"two\"\n  C=3\r\n");
        file.set("A", "new value");
        file.set("C", "4");
        file.set("D", "$x");
        assert_eq!(
            file.source.text,
            "# header\n\nexport A='new value' # keep me\nB=\"two\"\n  C=4\r\nD='$x'\r\n"
        );
    }

    #[test]
    fn set_rewrites_only_the_last_definition_and_appends_after_a_missing_newline() {
        let mut file = parse("A=1\nA=2");
        file.set("A", "3");
        assert_eq!(file.source.text, "A=1\nA=3");
        file.set("B", "x");
        assert_eq!(file.source.text, "A=1\nA=3\nB=x\n");
    }

    #[test]
    fn a_kept_comment_stays_a_comment() {
        // Found by the env_roundtrip fuzz target: `i="x"#c` then set i= must not read `#c`.
        let mut file = parse("i=\"x\"#c\n");
        file.set("i", "");
        assert_eq!(file.source.text, "i= #c\n");
        assert_eq!(file.literal("i").as_deref(), Some(""));
    }

    #[test]
    fn a_bare_export_key_survives_an_append() {
        // Found by the env_roundtrip fuzz target: `export ` was read as a prefix once a line
        // followed it.
        let mut file = parse("export ");
        file.set("A", "1");
        assert_eq!(
            model(&file),
            [
                ("export".into(), "<inherit>".into()),
                ("A".into(), "1".into())
            ]
        );
    }

    #[test]
    fn unset_removes_every_definition() {
        let mut file = parse("A=1\n# c\nA=\"multi\nline\"\nB=2\n");
        assert!(file.unset("A"));
        assert_eq!(file.source.text, "# c\nB=2\n");
        assert!(!file.unset("Z"));
    }

    proptest! {
        /// parse(write(model)) == model, for any keys and any values a process can receive.
        #[test]
        fn written_files_read_back(pairs in prop::collection::vec(("[A-Za-z_][A-Za-z0-9_]{0,8}", "[^\u{0}]{0,24}"), 0..8)) {
            let text = render_file(&pairs);
            let file = parse(&text);
            prop_assert_eq!(model(&file), pairs);
        }

        /// Editing a file keeps every other entry's value.
        #[test]
        fn set_and_unset_keep_other_entries(value in "[^\u{0}]{0,16}", other in "[^\u{0}]{0,16}") {
            let mut file = parse(&render_file(&[("A".into(), other.clone()), ("B".into(), "b".into())]));
            file.set("B", &value);
            prop_assert_eq!(model(&file), vec![("A".into(), other.clone()), ("B".into(), value)]);
            file.unset("B");
            prop_assert_eq!(model(&file), vec![("A".into(), other)]);
        }
    }
}
