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
        let mut out = format!("{label}: {}\n", paint.bold(&self.headline()));
        if let Some(location) = &self.location {
            let number = location.line.to_string();
            let gutter = " ".repeat(number.len());
            let line = location.source_line.replace('\t', " ");
            let indent = " ".repeat(location.column.saturating_sub(1));
            let available = line.chars().count().saturating_sub(location.column - 1);
            let carets = "^".repeat(location.len.min(available).max(1));
            let _ = writeln!(out, "{gutter} {}", paint.dim("|"));
            let _ = writeln!(out, "{number} {} {line}", paint.dim("|"));
            let _ = writeln!(
                out,
                "{gutter} {} {indent}{}",
                paint.dim("|"),
                paint.caret(&carets, self.severity)
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "  = {note}");
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
/// (`formaton` → `formation`).
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
            (edits <= max_edits || similarity > 0.8, edits, candidate)
        })
        .filter(|(close, _, _)| *close)
        .min_by_key(|(_, edits, _)| *edits)
        .map(|(_, _, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
