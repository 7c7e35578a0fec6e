//! One `.env` file in dozen's dialect (Docker Compose's syntax, stricter): every entry with
//! its key, its not-yet-interpolated value and where it sits in the file, so that the file can
//! be reported on precisely and edited in place.

use std::ops::Range;

use super::interpolation::{Char, Template};
use crate::diagnostic::Diagnostic;
use crate::source::Source;

#[derive(Debug, Clone)]
pub struct EnvFile {
    pub source: Source,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// Bytes of the whole entry, from the start of its first line to the end of its last line
    /// (without the line ending).
    pub span: Range<usize>,
    /// Byte offset of the key.
    pub key_offset: usize,
    /// Whether the line was written `export KEY=...`.
    pub export: bool,
    /// A trailing `# comment` on the entry's last line, with the whitespace before it.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare `KEY` line: the value comes from the inherited environment.
    Inherit,
    Template(Template),
}

/// Keys a shell can export.
pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl EnvFile {
    /// Parses a file, returning every entry that could be read, plus errors and warnings.
    /// An unterminated quote ends parsing: the rest of the file belongs to it.
    pub fn parse(source: Source) -> (Self, Vec<Diagnostic>) {
        // Its values are config: no diagnostic about it may show one.
        let source = source.secret();
        let mut parser = Parser {
            source: &source,
            text: &source.text,
            pos: 0,
            problems: Vec::new(),
        };
        let mut entries = Vec::new();
        while parser.pos < parser.text.len() {
            let line_start = parser.pos;
            match parser.line() {
                Ok(Some(entry)) => entries.push(entry),
                Ok(None) => {}
                Err(Stop::Line) => parser.skip_line(),
                Err(Stop::File) => break,
            }
            debug_assert!(parser.pos > line_start || parser.pos >= parser.text.len());
        }
        let problems = parser.problems;
        (Self { source, entries }, problems)
    }

    /// The last definition of `key`, which is the one that counts.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

enum Stop {
    /// Give up on this line, go on with the next.
    Line,
    /// Give up on the file.
    File,
}

struct Parser<'a> {
    source: &'a Source,
    text: &'a str,
    pos: usize,
    problems: Vec<Diagnostic>,
}

const ASSIGNMENT_HINT: &str =
    "lines are `KEY=value`, `export KEY=value`, a bare `KEY` to inherit it, or `# comments`";

/// What separates words on a line, as Docker Compose has it: space and tab, and also `\v`,
/// `\f`, NEL and no-break space (an NBSP pasted from a web page is a blank, not a value).
const BLANKS: [char; 6] = [' ', '\t', '\u{b}', '\u{c}', '\u{85}', '\u{a0}'];

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn at_line_end(&self) -> bool {
        let rest = &self.text[self.pos..];
        rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n")
    }

    fn skip_blanks(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches(BLANKS).len();
    }

    /// The end of the current line (before `\r\n` or `\n`).
    fn line_end(&self) -> usize {
        let end = self.text[self.pos..]
            .find('\n')
            .map_or(self.text.len(), |i| self.pos + i);
        if end > self.pos && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// Moves past the current line and its line ending.
    fn skip_line(&mut self) {
        self.pos = self.text[self.pos..]
            .find('\n')
            .map_or(self.text.len(), |i| self.pos + i + 1);
    }

    fn error(&mut self, at: usize, len: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.source.location(at, len), message)
    }

    fn fail(&mut self, diagnostic: Diagnostic, stop: Stop) -> Stop {
        self.problems.push(diagnostic);
        stop
    }

    fn line(&mut self) -> Result<Option<Entry>, Stop> {
        let line_start = self.pos;
        self.skip_blanks();
        if self.at_line_end() || self.peek() == Some('#') {
            self.skip_line();
            return Ok(None);
        }
        let mut export = false;
        if let Some(after) = self.text[self.pos..].strip_prefix("export") {
            let rest = after.trim_start_matches(BLANKS);
            let key_follows = rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if rest.len() < after.len() && key_follows {
                export = true;
                self.pos += self.text[self.pos..].len() - rest.len();
            }
        }
        let key_offset = self.pos;
        let key = self.key()?;
        let after_key = self.pos;
        self.skip_blanks();
        // A comment needs whitespace before it: `KEY#x` is not a bare key.
        let comment_next = self.peek() == Some('#') && self.pos > after_key;
        let value = if self.at_line_end() || comment_next {
            Value::Inherit
        } else if self.peek() == Some('=') {
            self.pos += 1;
            let after_equals = self.pos;
            self.skip_blanks();
            if self.pos > after_equals && self.peek() == Some('#') {
                // `SLACK_CHANNEL= #alerts`: empty here, `#alerts` in Compose. Never silently.
                self.problems.push(
                    Diagnostic::warning(
                        self.source.location(self.pos, 1),
                        format!("`{key}` is empty: a `#` after a blank is a comment (Docker Compose reads it as the value)"),
                    )
                    .note(format!("to set `{key}` to it, quote it: {key}=\"#...\"")),
                );
            }
            Value::Template(self.value()?)
        } else {
            let found = self.peek().unwrap_or(' ');
            let diagnostic = self
                .error(
                    self.pos,
                    1,
                    format!("expected `=` after `{key}`, found `{found}`"),
                )
                .note(ASSIGNMENT_HINT);
            return Err(self.fail(diagnostic, Stop::Line));
        };
        let comment = self.line_tail()?;
        let span = line_start..self.pos;
        self.skip_line();
        Ok(Some(Entry {
            key,
            value,
            span,
            key_offset,
            export,
            comment,
        }))
    }

    fn key(&mut self) -> Result<String, Stop> {
        let start = self.pos;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(rest.len());
        let key = &rest[..len];
        let first = rest.chars().next().unwrap_or(' ');
        if !(first.is_ascii_alphabetic() || first == '_') {
            let diagnostic = self
                .error(
                    start,
                    1,
                    format!("invalid key: a key starts with a letter or `_`, not `{first}`"),
                )
                .note(ASSIGNMENT_HINT);
            return Err(self.fail(diagnostic, Stop::Line));
        }
        let next = rest[len..].chars().next();
        // A letter outside ASCII continues the key in the writer's mind: name it as part of the
        // key. Anything else (`:`, `(`...) is left to the caller's "expected `=`".
        if let Some(c) = next.filter(|c| c.is_alphanumeric()) {
            let diagnostic = self
                .error(
                    start + len,
                    1,
                    format!("invalid character `{c}` in key `{key}`"),
                )
                .note(ASSIGNMENT_HINT);
            return Err(self.fail(diagnostic, Stop::Line));
        }
        if key.contains(['.', '-']) {
            let warning = Diagnostic::warning(
                self.source.location(start, key.chars().count()),
                format!("key `{key}` contains `.` or `-`: a shell cannot export it"),
            );
            self.problems.push(warning);
        }
        self.pos += len;
        Ok(key.to_owned())
    }

    /// After a value: blanks, then an optional comment; anything else is an error.
    /// Returns the comment with the blanks before it.
    fn line_tail(&mut self) -> Result<Option<String>, Stop> {
        let start = self.pos;
        self.skip_blanks();
        if self.at_line_end() {
            return Ok(None);
        }
        if self.peek() == Some('#') {
            let end = self.line_end();
            self.pos = end;
            return Ok(Some(self.text[start..end].to_owned()));
        }
        if self.peek() == Some('\r') {
            return Err(self.lone_cr(self.pos));
        }
        let diagnostic = self
            .error(self.pos, 1, "unexpected text after the closing quote")
            .note("put a space and `#` before a comment, or quote the whole value");
        Err(self.fail(diagnostic, Stop::Line))
    }

    /// A carriage return that ends no line: the file has classic Mac (CR-only) line endings,
    /// which would otherwise read as one long line. Refused where it is, for the whole file.
    fn lone_cr(&mut self, at: usize) -> Stop {
        let diagnostic = self
            .error(at, 1, "a carriage return (\\r) without a newline")
            .note("lines end in \\n or \\r\\n; this file may have classic Mac line endings: convert them (tr '\\r' '\\n')");
        self.fail(diagnostic, Stop::File)
    }

    fn value(&mut self) -> Result<Template, Stop> {
        match self.peek() {
            Some('\'') => self.single_quoted(),
            Some('"') => self.double_quoted(),
            _ => self.unquoted(),
        }
    }

    fn unquoted(&mut self) -> Result<Template, Stop> {
        let start = self.pos;
        let end = self.line_end();
        let line = &self.text[start..end];
        // A comment starts at a `#` that follows whitespace (`A=v # c`), not inside a word.
        let cut = line
            .char_indices()
            .find(|&(i, c)| c == '#' && self.text[..start + i].ends_with(BLANKS))
            .map_or(line.len(), |(i, _)| i);
        let value = line[..cut].trim_end_matches(BLANKS);
        if let Some(cr) = value.find('\r') {
            return Err(self.lone_cr(start + cr));
        }
        self.pos = start + value.len();
        let chars: Vec<Char> = value
            .char_indices()
            .map(|(i, ch)| Char {
                ch,
                escaped: false,
                offset: start + i,
            })
            .collect();
        self.template(&chars)
    }

    fn single_quoted(&mut self) -> Result<Template, Stop> {
        let open = self.pos;
        let body_start = open + 1;
        let Some(len) = self.text[body_start..].find('\'') else {
            let diagnostic = self
                .error(open, 1, "unterminated single-quoted value")
                .note("add the closing `'`");
            return Err(self.fail(diagnostic, Stop::File));
        };
        let body = &self.text[body_start..body_start + len];
        self.pos = body_start + len + 1;
        self.reject_nul(body, body_start)?;
        Ok(Template::literal(body.replace("\r\n", "\n")))
    }

    fn double_quoted(&mut self) -> Result<Template, Stop> {
        let open = self.pos;
        let mut chars = Vec::new();
        let mut iter = self.text[open + 1..].char_indices().peekable();
        let mut closed = None;
        while let Some((i, ch)) = iter.next() {
            let offset = open + 1 + i;
            match ch {
                '"' => {
                    closed = Some(offset);
                    break;
                }
                '\\' => {
                    let decoded = match iter.peek().map(|&(_, c)| c) {
                        Some('n') => Some(('\n', false)),
                        Some('r') => Some(('\r', false)),
                        Some('t') => Some(('\t', false)),
                        Some('\\') => Some(('\\', false)),
                        Some('"') => Some(('"', false)),
                        Some('$') => Some(('$', true)),
                        _ => None,
                    };
                    if let Some((ch, escaped)) = decoded {
                        iter.next();
                        chars.push(Char {
                            ch,
                            escaped,
                            offset,
                        });
                    } else {
                        chars.push(Char {
                            ch,
                            escaped: false,
                            offset,
                        });
                    }
                }
                '\r' if iter.peek().is_some_and(|&(_, c)| c == '\n') => {}
                _ => chars.push(Char {
                    ch,
                    escaped: false,
                    offset,
                }),
            }
        }
        let Some(close) = closed else {
            let diagnostic = self
                .error(open, 1, "unterminated double-quoted value")
                .note("add the closing `\"`");
            return Err(self.fail(diagnostic, Stop::File));
        };
        self.pos = close + 1;
        self.template(&chars)
    }

    fn reject_nul(&mut self, text: &str, start: usize) -> Result<(), Stop> {
        if let Some(i) = text.find('\0') {
            let diagnostic = self.error(
                start + i,
                1,
                "NUL character in value: environment values cannot hold it",
            );
            return Err(self.fail(diagnostic, Stop::Line));
        }
        Ok(())
    }

    fn template(&mut self, chars: &[Char]) -> Result<Template, Stop> {
        if let Some(nul) = chars.iter().find(|c| c.ch == '\0') {
            let diagnostic = self.error(
                nul.offset,
                1,
                "NUL character in value: environment values cannot hold it",
            );
            return Err(self.fail(diagnostic, Stop::Line));
        }
        Template::parse(chars).map_err(|error| {
            let diagnostic = self.error(error.offset, 1, error.message);
            self.fail(diagnostic, Stop::Line)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses and evaluates with no inherited environment and earlier keys as lookup.
    fn values(text: &str) -> Vec<(String, Option<String>)> {
        let (file, problems) = EnvFile::parse(Source::new(".env", text));
        let errors: Vec<_> = problems
            .iter()
            .filter(|p| p.is_error())
            .map(Diagnostic::headline)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let mut seen: Vec<(String, Option<String>)> = Vec::new();
        for entry in &file.entries {
            let value = match &entry.value {
                Value::Inherit => None,
                Value::Template(t) => Some(
                    t.evaluate(&|name| {
                        seen.iter()
                            .rev()
                            .find(|(k, _)| k == name)
                            .and_then(|(_, v)| v.clone())
                    })
                    .unwrap(),
                ),
            };
            seen.push((entry.key.clone(), value));
        }
        seen
    }

    fn one(text: &str) -> String {
        values(text).pop().unwrap().1.unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        let (_, problems) = EnvFile::parse(Source::new(".env", text));
        problems
            .iter()
            .filter(|p| p.is_error())
            .map(Diagnostic::headline)
            .collect()
    }

    #[test]
    fn unquoted_values() {
        assert_eq!(one("A=hello world"), "hello world");
        assert_eq!(one("A = spaced  "), "spaced");
        assert_eq!(one("export A=1"), "1");
        assert_eq!(one("A=v # c"), "v");
        assert_eq!(one("A=v#c"), "v#c");
        assert_eq!(one("A=http://x/#frag"), "http://x/#frag");
        assert_eq!(one("A="), "");
        assert_eq!(one("A= # only a comment"), "");
        assert_eq!(one("A=#notacomment"), "#notacomment");
        assert_eq!(one("A=a'b\"c\\n"), "a'b\"c\\n");
        assert_eq!(one("A=`whoami`"), "`whoami`");
        assert_eq!(one("A=x\r\n"), "x");
        assert_eq!(one("A=base64=="), "base64==");
    }

    #[test]
    fn a_lone_carriage_return_is_refused_where_it_is() {
        for (text, column) in [("A=1\rB=2\r", 4), ("A=\"x\"\rB=2\r", 6), ("A=1\r \n", 4)] {
            let (_, problems) = EnvFile::parse(Source::new(".env", text));
            assert_eq!(problems.len(), 1, "{text:?}: {problems:?}");
            let location = problems[0].location.as_ref().unwrap();
            assert_eq!((location.line, location.column), (1, column), "{text:?}");
            assert!(problems[0].message.contains("carriage return"), "{text:?}");
        }
        assert_eq!(one("B=2\r\nA=1\r\n"), "1");
        assert_eq!(one("A=\"a\rb\""), "a\rb");
    }

    #[test]
    fn compose_blanks_are_blanks() {
        // No-break space, NEL, vertical tab and form feed separate and trim as Compose does.
        assert_eq!(one("A=\u{a0}value\u{a0}"), "value");
        assert_eq!(one("A\u{a0}=\u{b}v\u{c}"), "v");
        assert_eq!(one("\u{a0}export\u{a0}A=1"), "1");
        assert_eq!(one("A=v\u{a0}# c"), "v");
        assert_eq!(one("A=v\u{85}#c"), "v");
        // Inside a value they stay.
        assert_eq!(one("A=a\u{a0}b"), "a\u{a0}b");
        assert_eq!(one("A=\"\u{a0}x\u{a0}\""), "\u{a0}x\u{a0}");
    }

    #[test]
    fn quoted_values() {
        assert_eq!(one("A='lit $X \\n'"), "lit $X \\n");
        assert_eq!(one("A='multi\nline'"), "multi\nline");
        assert_eq!(one("A='crlf\r\nline'"), "crlf\nline");
        assert_eq!(one(r#"A="a\nb\tc\\d\"e\$f\qg""#), "a\nb\tc\\d\"e$f\\qg");
        assert_eq!(one("A=\"multi\nline\" # c"), "multi\nline");
        assert_eq!(one("A='x' # c"), "x");
        assert_eq!(one("A=\"\""), "");
        assert_eq!(one("A=\"#not comment\""), "#not comment");
    }

    #[test]
    fn interpolation_uses_earlier_keys() {
        assert_eq!(one("B=b\nA=${B}-$B-'$B'"), "b-b-'b'");
        assert_eq!(one("B=b\nA=\"$B \\$B $$B\""), "b $B $B");
        assert_eq!(one("B=b\nA='$B'"), "$B");
        assert_eq!(one("A=${B:-dflt}"), "dflt");
    }

    #[test]
    fn bare_key_inherits_and_export_is_a_prefix_only_before_a_key() {
        let values = values("A\nexport B\nexport=1\nC # comment\n");
        assert_eq!(values[0], ("A".into(), None));
        assert_eq!(values[1], ("B".into(), None));
        assert_eq!(values[2], ("export".into(), Some("1".into())));
        assert_eq!(values[3], ("C".into(), None));
    }

    #[test]
    fn errors_are_located() {
        assert_eq!(
            errors("B: 2"),
            [".env:1:2: expected `=` after `B`, found `:`"]
        );
        assert_eq!(
            errors("Bé=2"),
            [".env:1:2: invalid character `é` in key `B`"]
        );
        assert_eq!(
            errors("A(1)=2"),
            [".env:1:2: expected `=` after `A`, found `(`"]
        );
        assert_eq!(
            errors("ok=1\nsome words"),
            [".env:2:6: expected `=` after `some`, found `w`"]
        );
        assert_eq!(
            errors("1A=x"),
            [".env:1:1: invalid key: a key starts with a letter or `_`, not `1`"]
        );
        assert_eq!(
            errors("ṀẎ=x"),
            [".env:1:1: invalid key: a key starts with a letter or `_`, not `Ṁ`"]
        );
        assert_eq!(
            errors("A=1\nB=\"open\nC=3\n"),
            [".env:2:3: unterminated double-quoted value"]
        );
        assert_eq!(
            errors("A='open"),
            [".env:1:3: unterminated single-quoted value"]
        );
        assert_eq!(
            errors("A='x'y"),
            [".env:1:6: unexpected text after the closing quote"]
        );
        assert_eq!(
            errors("A=${B"),
            [".env:1:3: unterminated `${`: expected `}`"]
        );
        assert_eq!(
            errors("  A=\"x\\0\0\""),
            [".env:1:9: NUL character in value: environment values cannot hold it"]
        );
        // Errors do not stop the lines after them.
        assert_eq!(errors("B: 1\nC: 2\nD=ok").len(), 2);
    }

    #[test]
    fn dotted_and_dashed_keys_warn() {
        let (file, problems) = EnvFile::parse(Source::new(".env", "a.b=1\nc-d=2"));
        assert_eq!(file.entries.len(), 2);
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().all(|p| !p.is_error()));
        assert!(!is_valid_key("a.b") && is_valid_key("_A1") && !is_valid_key("1A"));
    }

    #[test]
    fn spans_and_comments_are_recorded() {
        let text = "# top\nexport A=1 # note\nB=\"x\ny\"\n";
        let (file, _) = EnvFile::parse(Source::new(".env", text));
        assert_eq!(&text[file.entries[0].span.clone()], "export A=1 # note");
        assert!(file.entries[0].export);
        assert_eq!(file.entries[0].comment.as_deref(), Some(" # note"));
        assert_eq!(&text[file.entries[1].span.clone()], "B=\"x\ny\"");
    }
}
