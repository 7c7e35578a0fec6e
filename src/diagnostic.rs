//! Problems found in the app's files, located to `path:line:column`, rendered the way
//! compilers do: a headline, the source line, and a caret under the culprit.

use serde::Serialize;
use std::fmt::Write as _;

use crate::ui::Paint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Where in which file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// How many characters the caret underlines.
    pub len: usize,
    pub source_line: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// `None` for problems that belong to no file position (a missing file, a missing tool).
    pub location: Option<Location>,
    /// A path to name when there is no location.
    pub path: Option<String>,
    pub message: String,
    /// Extra lines: where the other half of a conflict is, a "did you mean".
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// Rewrites the excerpt of the located line (to mask what it must not show).
    pub fn mask_excerpt(&mut self, mask: impl Fn(&str) -> String) {
        if let Some(location) = &mut self.location {
            location.source_line = mask(&location.source_line);
        }
    }

    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            location: Some(location),
            path: None,
            message: message.into(),
            notes: Vec::new(),
        }
    }

    pub fn warning(location: Location, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(location, message)
        }
    }

    /// A problem with a whole file, or with no file at all.
    pub fn general(severity: Severity, path: Option<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            location: None,
            path,
            message: message.into(),
            notes: Vec::new(),
        }
    }

    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col: message` (or `path: message`), the grep-able headline.
    pub fn headline(&self) -> String {
        match (&self.location, &self.path) {
            (Some(location), _) => format!("{location}: {}", self.message),
            (None, Some(path)) => format!("{path}: {}", self.message),
            (None, None) => self.message.clone(),
        }
    }

    /// The full rendering, with the source line and caret, ending in a newline.
    pub fn render(&self, paint: Paint) -> String {
        let label = match self.severity {
            Severity::Error => paint.error("error"),
            Severity::Warning => paint.warning("warning"),
        };
        let mut out = format!(
            "{label}: {}\n",
            paint.bold(&escape_invisible(&self.headline()))
        );
        if let Some(location) = &self.location {
            let number = location.line.to_string();
            let gutter = " ".repeat(number.len());
            let (line, indent, width) = excerpt(
                &location.source_line,
                location.column.saturating_sub(1),
                location.len,
            );
            let indent = " ".repeat(indent);
            let carets = "^".repeat(width.max(1));
            let _ = writeln!(out, "{gutter} {}", paint.dim("|"));
            let _ = writeln!(out, "{number} {} {line}", paint.dim("|"));
            let _ = writeln!(
                out,
                "{gutter} {} {indent}{}",
                paint.dim("|"),
                match self.severity {
                    Severity::Error => paint.error(&carets),
                    Severity::Warning => paint.warning(&carets),
                }
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "  = {}", escape_invisible(note));
        }
        out
    }
}

/// The JSON shape of a diagnostic in `--json` output.
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    pub severity: Severity,
    pub path: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: &'a str,
    pub notes: &'a [String],
}

impl<'a> From<&'a Diagnostic> for DiagnosticJson<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        Self {
            severity: d.severity,
            path: d
                .location
                .as_ref()
                .map(|l| l.path.as_str())
                .or(d.path.as_deref()),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            message: &d.message,
            notes: &d.notes,
        }
    }
}

/// The closest candidate to a misspelt word, if one is close enough to suggest: a small edit
/// distance counting transpositions (`wbe` → `web`), or a high Jaro-Winkler similarity
/// (`formaton` → `formation`). Of candidates as many edits away, the most similar (`of` →
/// `off`, not `on`: their longer shared start).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let max_edits = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| {
            let edits = strsim::osa_distance(word, candidate);
            let similarity = strsim::jaro_winkler(word, candidate);
            (
                edits <= max_edits || similarity > 0.8,
                edits,
                similarity,
                candidate,
            )
        })
        .filter(|(close, ..)| *close)
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)))
        .map(|(.., candidate)| candidate)
}

/// How a character is shown in a diagnostic: as itself, or escaped when a terminal would act
/// on it (`\x1b` starts escape sequences: a file from a pull request must not set the
/// terminal's title) or show nothing (`\u{a0}` looks like a space). A tab is a space.
fn shown(c: char) -> std::borrow::Cow<'static, str> {
    match c {
        '\t' => " ".into(),
        c if c.is_control() && (c as u32) < 0x80 => format!("\\x{:02x}", c as u32).into(),
        c if c.is_control()
            || matches!(c, '\u{a0}' | '\u{ad}' | '\u{2000}'..='\u{200f}' | '\u{2028}'..='\u{202f}' | '\u{2060}'..='\u{206f}' | '\u{feff}') =>
        {
            format!("\\u{{{:x}}}", c as u32).into()
        }
        c => c.to_string().into(),
    }
}

/// Text with every character a terminal would act on or not show escaped.
pub fn escape_invisible(text: &str) -> String {
    text.chars().map(shown).collect()
}

/// The longest excerpt shown; a longer line is cut around the column.
const EXCERPT_CHARS: usize = 120;

/// A source line as shown under a diagnostic — escaped, cut to [`EXCERPT_CHARS`] around the
/// caret — with the caret's indent and width in shown characters. `column` and `len` count
/// characters of the original line.
fn excerpt(line: &str, column: usize, len: usize) -> (String, usize, usize) {
    let pieces: Vec<std::borrow::Cow<'static, str>> = line.chars().map(shown).collect();
    let width = |p: &std::borrow::Cow<'static, str>| p.chars().count();
    let column = column.min(pieces.len());
    let end = (column + len.max(1)).min(pieces.len());
    // Cut: keep a window that starts some way before the caret.
    let total: usize = pieces.iter().map(width).sum();
    let (mut start, mut cut_left) = (0, false);
    if total > EXCERPT_CHARS {
        let before: usize = pieces[..column].iter().map(width).sum();
        if before > EXCERPT_CHARS / 3 {
            let mut skipped = 0;
            while start < column && before - skipped > EXCERPT_CHARS / 3 {
                skipped += width(&pieces[start]);
                start += 1;
            }
            cut_left = true;
        }
    }
    let mut shown_line = String::new();
    if cut_left {
        shown_line.push('…');
    }
    let mut indent = usize::from(cut_left);
    let mut caret = 0;
    let mut used = indent;
    let mut cut_right = false;
    for (i, piece) in pieces.iter().enumerate().skip(start) {
        let w = width(piece);
        if used + w > EXCERPT_CHARS && i >= end {
            cut_right = true;
            break;
        }
        if i < column {
            indent += w;
        } else if i < end {
            caret += w;
        }
        shown_line.push_str(piece);
        used += w;
    }
    if cut_right {
        shown_line.push('…');
    }
    (shown_line, indent, caret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_escape_what_a_terminal_would_act_on_and_keep_the_caret() {
        let (line, indent, width) = excerpt("a\u{1b}]0;x\u{7}b c", 8, 1);
        assert_eq!(line, "a\\x1b]0;x\\x07b c");
        // `c` is the 9th character; before it, the escape took 4 and the bell 4 columns.
        assert_eq!((indent, width), (14, 1));
        let (line, indent, _) = excerpt("A=\u{a0}#x", 2, 1);
        assert_eq!(line, "A=\\u{a0}#x");
        assert_eq!(indent, 2);
        assert_eq!(escape_invisible("ok\ttab"), "ok tab");
    }

    #[test]
    fn a_long_line_is_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, indent, width) = excerpt(&line, 5000, 1);
        assert!(
            shown.chars().count() <= EXCERPT_CHARS + 2,
            "{}",
            shown.len()
        );
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(indent), Some('X'));
        assert_eq!(width, 1);
        let (shown, indent, _) = excerpt("short", 5, 1);
        assert_eq!((shown.as_str(), indent), ("short", 5));
    }

    #[test]
    fn renders_source_line_and_caret() {
        let location = Location {
            path: "Procfile".into(),
            line: 3,
            column: 5,
            len: 2,
            source_line: "web  : x".into(),
        };
        let text = Diagnostic::error(location, "bad")
            .note("fix it")
            .render(Paint::plain());
        assert_eq!(
            text,
            "error: Procfile:3:5: bad\n  |\n3 | web  : x\n  |     ^^\n  = fix it\n"
        );
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("restat", ["restart", "after"]),
            Some("restart")
        );
        assert_eq!(did_you_mean("zzz", ["restart", "after"]), None);
        assert_eq!(did_you_mean("wbe", ["worker", "web"]), Some("web"));
        assert_eq!(did_you_mean("db", ["web", "worker"]), None);
        assert_eq!(did_you_mean("of", ["on", "off"]), Some("off"));
        assert_eq!(did_you_mean("of", ["off", "on"]), Some("off"));
    }
}
