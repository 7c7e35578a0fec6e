//! A file's text with a line index, so parsers can turn byte offsets into
//! `line:column` and show the offending line.

use crate::diagnostic::Location;

/// The text of one input file, as the user named it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as shown in diagnostics (relative to where the user stands when possible).
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// The file holds config values (an env file): excerpts of its lines show keys, never
    /// values (see [`mask_env_line`]).
    secret: bool,
}

impl Source {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
            secret: false,
        }
    }

    /// Marks the file as holding config values: every excerpt of it is masked from now on.
    #[must_use]
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Decodes `bytes` as UTF-8 (dropping a leading BOM) or returns the location of the first
    /// byte that is not valid UTF-8.
    pub fn from_bytes(path: impl Into<String>, bytes: &[u8]) -> Result<Self, Location> {
        let path = path.into();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(path, text)),
            Err(error) => {
                let valid = &bytes[..error.valid_up_to()];
                // The prefix is valid by construction; index it to find line and column.
                let prefix = Self::new(path, String::from_utf8_lossy(valid).into_owned());
                let mut location = prefix.location(valid.len(), 1);
                location.source_line =
                    String::from_utf8_lossy(line_of(bytes, valid.len())).into_owned();
                Err(location)
            }
        }
    }

    /// 1-based line number and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// The text of the 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// A location spanning `len` characters from `offset` (clipped to its line).
    pub fn location(&self, offset: usize, len: usize) -> Location {
        let (line, column) = self.line_col(offset);
        Location {
            path: self.path.clone(),
            line,
            column,
            len: len.max(1),
            source_line: if self.secret {
                mask_env_line(self.line_text(line))
            } else {
                self.line_text(line).to_owned()
            },
        }
    }
}

/// An env-file line as diagnostics may show it: the key (and `export `, spaces, `=`) as
/// written, every character of the value as `•` — one character for one, so a caret still
/// points at the right column — and control characters as `?`. A line that does not start
/// with `KEY=` (a continuation of a quoted value, garbage, a bare KEY) is masked whole.
pub fn mask_env_line(line: &str) -> String {
    let content = line.trim_start();
    let lead = &line[..line.len() - content.len()];
    let after_export = content
        .strip_prefix("export")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .map_or(content, str::trim_start);
    let export = &content[..content.len() - after_export.len()];
    let key_len = after_export
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(after_export.len());
    let (key, rest) = after_export.split_at(key_len);
    // Only an assignment shows its key: any other line (a continuation of a quoted value,
    // `B: 2`, garbage) may be all value.
    let plausible = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && rest.trim_start_matches([' ', '\t']).starts_with('=');
    let visible = |c: char| if c.is_control() { '?' } else { c };
    if !plausible {
        return line
            .chars()
            .map(|c| if c == ' ' || c == '\t' { c } else { '•' })
            .collect();
    }
    let mut out: String = lead.chars().map(visible).collect();
    out.push_str(export);
    out.push_str(key);
    let mut chars = rest.chars();
    // Spaces and the `=` after the key stay (they locate errors such as `KEY = v`).
    for c in chars.by_ref() {
        if c == '=' {
            out.push('=');
            break;
        }
        out.push(if c == ' ' || c == '\t' { c } else { '•' });
    }
    out.extend(chars.map(|_| '•'));
    out
}

fn line_of(bytes: &[u8], offset: usize) -> &[u8] {
    let start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    let line = &bytes[start..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_keep_keys_and_columns_and_mask_values() {
        assert_eq!(mask_env_line("SECRET=\"abc def"), "SECRET=••••••••");
        assert_eq!(mask_env_line("export  K = v"), "export  K =••");
        assert_eq!(mask_env_line("  A=é\u{1b}"), "  A=••");
        assert_eq!(
            mask_env_line("still inside a value"),
            "••••• •••••• • •••••"
        );
        assert_eq!(mask_env_line("1BAD=x"), "••••••");
        assert_eq!(mask_env_line("B: 2"), "•• •");
        assert_eq!(mask_env_line("KEY"), "•••");
        let line = "KEY=value with spaces";
        assert_eq!(mask_env_line(line).chars().count(), line.chars().count());
    }

    #[test]
    fn line_and_column_count_characters() {
        let source = Source::new("f", "ab\nçd=1\r\nx");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(3), (2, 1));
        assert_eq!(source.line_col(6), (2, 3));
        assert_eq!(source.line_text(2), "çd=1");
        assert_eq!(source.line_col(10), (3, 1));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let error = Source::from_bytes("f", b"A=1\nB=\xff\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 3));
        assert_eq!(error.source_line, "B=\u{fffd}");
    }

    #[test]
    fn bom_is_dropped() {
        let source = Source::from_bytes("f", b"\xEF\xBB\xBFA=1").unwrap();
        assert_eq!(source.text, "A=1");
    }
}
