//! The Procfile: `name: command` lines, Heroku's format, parsed strictly.
//!
//! Where foreman and honcho silently drop a line they cannot read, every such line here is an
//! error located to `Procfile:line:column`.

use crate::diagnostic::Diagnostic;
use crate::source::Source;

/// The longest process type name (a DNS label, so the name survives export to Kubernetes).
pub const MAX_NAME_LEN: usize = 63;

/// The Procfile type that is the release phase, never part of the formation.
pub const RELEASE: &str = "release";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessType {
    pub name: String,
    pub command: String,
    /// 1-based line of the definition.
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Procfile {
    /// Process types of the formation, in file order (order decides ports and colours).
    pub types: Vec<ProcessType>,
    /// The `release:` entry, if any.
    pub release: Option<ProcessType>,
}

impl Procfile {
    /// Parses a Procfile, returning what could be read and every problem found.
    pub fn parse(source: &Source) -> (Self, Vec<Diagnostic>) {
        let mut procfile = Self::default();
        let mut problems = Vec::new();
        // Names seen, with their lines: a duplicate is found in O(1), so a Procfile of N types
        // is read in O(N).
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut offset = 0;
        for raw in source.text.split_inclusive('\n') {
            let line_start = offset;
            offset += raw.len();
            let line = raw.trim_end_matches('\n').trim_end_matches('\r');
            match parse_line(line) {
                Ok(None) => {}
                Ok(Some((name, command))) => {
                    let (line_number, _) = source.line_col(line_start);
                    let entry = ProcessType {
                        name: name.to_owned(),
                        command: command.to_owned(),
                        line: line_number,
                    };
                    if let Some(first) = seen.get(name) {
                        problems.push(
                            Diagnostic::error(
                                source.location(line_start, name.chars().count()),
                                format!("duplicate process type `{name}`"),
                            )
                            .note(format!("first defined at {}:{first}:1", source.path)),
                        );
                        continue;
                    }
                    seen.insert(name.to_owned(), line_number);
                    if name == RELEASE {
                        procfile.release = Some(entry);
                    } else {
                        procfile.types.push(entry);
                    }
                }
                Err(problem) => problems.push(problem.into_diagnostic(source, line_start)),
            }
        }
        if procfile.types.is_empty() && problems.is_empty() {
            problems.push(
                Diagnostic::error(
                    source.location(0, 1),
                    "the Procfile defines no process types",
                )
                .note("add a line like `web: gunicorn app:app --bind 0.0.0.0:$PORT`: a process type named web, whose command listens on $PORT"),
            );
        }
        (procfile, problems)
    }

    /// A process type of the formation by name.
    pub fn get(&self, name: &str) -> Option<&ProcessType> {
        self.types.iter().find(|t| t.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|t| t.name.as_str())
    }
}

/// A problem on one line: byte offset within the line, length in characters, message, hint.
struct LineProblem {
    at: usize,
    len: usize,
    message: String,
    hint: Option<&'static str>,
}

impl LineProblem {
    fn new(at: usize, len: usize, message: impl Into<String>) -> Self {
        Self {
            at,
            len,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    fn into_diagnostic(self, source: &Source, line_start: usize) -> Diagnostic {
        let diagnostic = Diagnostic::error(
            source.location(line_start + self.at, self.len),
            self.message,
        );
        match self.hint {
            Some(hint) => diagnostic.note(hint),
            None => diagnostic,
        }
    }
}

const FORMAT_HINT: &str =
    "Procfile lines are `name: command`, with a name of letters, digits, `_` and `-`";

/// `Ok(None)` for blank and comment lines, the name and command of an entry, or the problem.
fn parse_line(line: &str) -> Result<Option<(&str, &str)>, LineProblem> {
    // A carriage return left inside a line (the file has old Mac, CR-only, line endings, or a
    // stray `\r`) would make the rest of the file one command; a NUL cannot be in a command.
    if let Some(at) = line.find('\r') {
        return Err(LineProblem::new(
            at,
            1,
            "a carriage return (\\r) inside a line: the Procfile has CR-only line endings, or a stray \\r",
        )
        .hint("end lines with LF (or CRLF), e.g. `sed -i 's/\\r/\\n/g' Procfile`"));
    }
    if let Some(at) = line.find('\0') {
        return Err(LineProblem::new(
            at,
            1,
            "a NUL byte cannot be part of a Procfile line",
        ));
    }
    let content = line.trim_start();
    if content.is_empty() || content.starts_with('#') {
        return Ok(None);
    }
    if content.len() != line.len() {
        return Err(LineProblem::new(
            0,
            line.len() - content.len(),
            "a process type must start at the beginning of the line",
        )
        .hint("remove the leading whitespace"));
    }
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(line.len());
    let name = &line[..name_len];
    let rest = &line[name_len..];
    if name.is_empty() {
        let bad = rest.chars().next().map_or(1, char::len_utf8);
        return Err(LineProblem::new(
            0,
            1,
            format!("expected a process type name, found `{}`", &rest[..bad]),
        )
        .hint(FORMAT_HINT));
    }
    match rest.chars().next() {
        Some(':') => {}
        None => {
            return Err(
                LineProblem::new(0, name.len(), format!("expected `:` after `{name}`"))
                    .hint(FORMAT_HINT),
            );
        }
        Some(c) if c == ' ' || c == '\t' => {
            let after = rest.trim_start();
            let message = if after.starts_with(':') {
                format!("unexpected whitespace between `{name}` and `:`")
            } else {
                format!("expected `:` after `{name}`")
            };
            return Err(LineProblem::new(name_len, 1, message).hint(FORMAT_HINT));
        }
        Some(c) => {
            return Err(LineProblem::new(
                name_len,
                1,
                format!("invalid character `{c}` in process type name"),
            )
            .hint(FORMAT_HINT));
        }
    }
    if name.len() > MAX_NAME_LEN {
        return Err(LineProblem::new(
            MAX_NAME_LEN,
            name.len() - MAX_NAME_LEN,
            format!(
                "process type name is {} characters long; the limit is {MAX_NAME_LEN}",
                name.len()
            ),
        ));
    }
    let command = rest[1..].trim();
    if command.is_empty() {
        return Err(LineProblem::new(
            0,
            name.len() + 1,
            format!("process type `{name}` has an empty command"),
        ));
    }
    Ok(Some((name, command)))
}

/// Extensions of the scripts a command names that the app itself holds (a build's outputs —
/// `bin/app`, `target/*.jar` — are not checked: they exist only after the build).
const SCRIPTS: [&str; 10] = [
    "py", "js", "mjs", "cjs", "ts", "rb", "php", "sh", "pl", "ru",
];

/// A warning for each script a process type's command names (`python app.py`, `node
/// server.js`) that is not a file of the app directory `dir`: `init` or a typo can name one
/// that does not exist, and the process would fail only when started.
pub fn missing_files(
    procfile: &Procfile,
    source: &Source,
    dir: &std::path::Path,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for kind in procfile.types.iter().chain(&procfile.release) {
        let line_text = source.line_text(kind.line);
        let line_start: usize = source
            .text
            .split_inclusive('\n')
            .take(kind.line - 1)
            .map(str::len)
            .sum();
        for word in kind.command.split_ascii_whitespace() {
            let word = word.trim_matches(['"', '\'', ';', '&', '|', '(', ')']);
            let script = std::path::Path::new(word)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SCRIPTS.contains(&e));
            let plain = !word.starts_with(['-', '/', '~'])
                && !word.contains(['$', '*', '?', '=', ':', '{', '['])
                && !word.contains("://");
            if !script || !plain || dir.join(word).exists() {
                continue;
            }
            let offset = line_start + line_text.find(word).unwrap_or(0);
            found.push(
                Diagnostic::warning(
                    source.location(offset, word.chars().count()),
                    format!(
                        "`{}` runs `{word}`, which is not a file of the app",
                        kind.name
                    ),
                )
                .note("a typo, or a file a build step makes; `dozen run` would fail to start it"),
            );
        }
    }
    found
}

/// `/bin/sh -c` argument: `exec` a simple command so the app replaces the shell (signals then
/// reach it directly); compound commands run as written. Assignments before the command
/// (`RUST_LOG=info ./server`) stay before `exec` (`RUST_LOG=info exec ./server`): after it,
/// the shell would take the first one for the program's name and exit 127.
pub fn shell_command(command: &str) -> String {
    let compound = command.contains([';', '&', '|', '(', ')', '\n', '`'])
        || ["if ", "for ", "while ", "until ", "case ", "{ ", "exec "]
            .iter()
            .any(|k| command.trim_start().starts_with(k));
    if compound {
        return command.to_owned();
    }
    let trimmed = command.trim_start();
    let assignments = leading_assignments(trimmed);
    match assignments {
        0 => format!("exec {command}"),
        // Only assignments, or quoting this reader does not follow: as written.
        n if n >= trimmed.len() => command.to_owned(),
        n => format!("{}exec {}", &trimmed[..n], &trimmed[n..]),
    }
}

/// The length of the `NAME=value` words (and the blanks after them) at the start of a simple
/// command; `usize::MAX` when a value's quoting is not closed.
fn leading_assignments(command: &str) -> usize {
    let bytes = command.as_bytes();
    let mut end = 0;
    loop {
        let name = bytes[end..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if name == 0 || bytes[end].is_ascii_digit() || bytes.get(end + name) != Some(&b'=') {
            return end;
        }
        let mut i = end + name + 1;
        // The value: unquoted characters, '…', "…" (with \ escapes) and \x, up to a blank.
        while let Some(&b) = bytes.get(i) {
            match b {
                b' ' | b'\t' => break,
                b'\'' => match bytes[i + 1..].iter().position(|c| *c == b'\'') {
                    Some(close) => i += close + 2,
                    None => return usize::MAX,
                },
                b'"' => {
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None => return usize::MAX,
                            Some(b'\\') => i += 2,
                            Some(b'"') => break,
                            Some(_) => i += 1,
                        }
                    }
                    i += 1;
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        end = i.min(bytes.len());
        end += bytes[end..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if end >= bytes.len() {
            return usize::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Procfile, Vec<String>) {
        let (procfile, problems) = Procfile::parse(&Source::new("Procfile", text));
        (
            procfile,
            problems.iter().map(Diagnostic::headline).collect(),
        )
    }

    #[test]
    fn reads_types_in_order_with_comments_blanks_and_crlf() {
        let (procfile, problems) = parse(
            "# app\r\nweb: python app.py\r\n\r\n  # indented comment\nworker:\tpython w.py  \nrelease: ./migrate",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<_> = procfile.names().collect();
        assert_eq!(names, ["web", "worker"]);
        assert_eq!(procfile.types[1].command, "python w.py");
        assert_eq!(procfile.types[1].line, 5);
        assert_eq!(procfile.release.unwrap().command, "./migrate");
    }

    #[test]
    fn colon_without_space_and_shell_syntax_in_commands() {
        let (procfile, problems) = parse("web:cmd --port $PORT # not a comment: kept\n");
        assert!(problems.is_empty());
        assert_eq!(
            procfile.types[0].command,
            "cmd --port $PORT # not a comment: kept"
        );
    }

    #[test]
    fn cr_only_line_endings_and_nul_bytes_are_located_errors() {
        let (procfile, problems) = parse("web: echo A\rworker: echo B\r");
        assert!(procfile.types.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("Procfile:1:12: a carriage return"),
            "{problems:?}"
        );
        let (_, problems) = parse("web: echo ok\r\nworker: echo \0x\n");
        assert_eq!(problems.len(), 1, "CRLF is fine: {problems:?}");
        assert!(
            problems[0].starts_with("Procfile:2:14: a NUL byte"),
            "{problems:?}"
        );
    }

    #[test]
    fn many_types_and_duplicates_anywhere() {
        use std::fmt::Write as _;
        let mut text = String::new();
        for i in 0..20_000 {
            let _ = writeln!(text, "t{i}: echo {i}");
        }
        let (procfile, problems) = parse(&format!("{text}t7: again\nrelease: m\nrelease: n\n"));
        assert_eq!(procfile.types.len(), 20_000);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("duplicate process type `t7`"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("duplicate process type `release`"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_malformed_line_is_located() {
        let cases = [
            (
                "web : x",
                "Procfile:1:4: unexpected whitespace between `web` and `:`",
            ),
            (
                "  web: x",
                "Procfile:1:1: a process type must start at the beginning of the line",
            ),
            (
                "web.1: x",
                "Procfile:1:4: invalid character `.` in process type name",
            ),
            (
                "wéb: x",
                "Procfile:1:2: invalid character `é` in process type name",
            ),
            ("web", "Procfile:1:1: expected `:` after `web`"),
            ("web x", "Procfile:1:4: expected `:` after `web`"),
            (
                ": x",
                "Procfile:1:1: expected a process type name, found `:`",
            ),
            (
                "web:",
                "Procfile:1:1: process type `web` has an empty command",
            ),
            (
                "web:   ",
                "Procfile:1:1: process type `web` has an empty command",
            ),
        ];
        for (line, expected) in cases {
            let (_, problems) =
                parse(&format!("ok: x\n{line}\n").replace("Procfile:1", "Procfile:2"));
            let expected = expected.replace("Procfile:1", "Procfile:2");
            assert_eq!(problems, [expected], "line {line:?}");
        }
    }

    #[test]
    fn name_length_limit() {
        let ok = format!("{}: x", "a".repeat(63));
        assert!(parse(&ok).1.is_empty());
        let long = format!("{}: x", "a".repeat(64));
        assert_eq!(
            parse(&long).1,
            ["Procfile:1:64: process type name is 64 characters long; the limit is 63"]
        );
    }

    #[test]
    fn duplicates_name_both_lines() {
        let (procfile, problems) = parse("web: a\nworker: b\nweb: c\n");
        assert_eq!(problems, ["Procfile:3:1: duplicate process type `web`"]);
        assert_eq!(procfile.types[0].command, "a");
        let (_, problems) =
            Procfile::parse(&Source::new("Procfile", "release: a\nrelease: b\nweb: x"));
        assert_eq!(problems[0].notes, ["first defined at Procfile:1:1"]);
    }

    #[test]
    fn empty_or_release_only_procfile_is_an_error() {
        assert_eq!(
            parse("# nothing\n").1,
            ["Procfile:1:1: the Procfile defines no process types"]
        );
        assert_eq!(
            parse("release: x\n").1,
            ["Procfile:1:1: the Procfile defines no process types"]
        );
    }

    #[test]
    fn simple_commands_are_execed() {
        assert_eq!(
            shell_command("python3 app.py --port $PORT"),
            "exec python3 app.py --port $PORT"
        );
        assert_eq!(shell_command("a && b"), "a && b");
        assert_eq!(shell_command("cd web; ./run"), "cd web; ./run");
        assert_eq!(shell_command("exec ./run"), "exec ./run");
        // Assignments first, then exec: `exec A=1 x` runs a program named `A=1`.
        assert_eq!(
            shell_command("RUST_LOG=info PATH=$PWD/bin:$PATH server -p $PORT"),
            "RUST_LOG=info PATH=$PWD/bin:$PATH exec server -p $PORT"
        );
        assert_eq!(
            shell_command("  A='x y' B=\"q \\\" z\" C=a\\ b run"),
            "A='x y' B=\"q \\\" z\" C=a\\ b exec run"
        );
        // Not an assignment: `=` after a quote or in an argument, a name starting with a digit.
        assert_eq!(shell_command("./x A=1"), "exec ./x A=1");
        assert_eq!(shell_command("1A=2 x"), "exec 1A=2 x");
        // Only assignments, or a quote never closed: as written, for the shell to say.
        assert_eq!(shell_command("A=1 B=2"), "A=1 B=2");
        assert_eq!(shell_command("A='x run"), "A='x run");
        assert_eq!(
            shell_command("while true; do x; done"),
            "while true; do x; done"
        );
    }
}
