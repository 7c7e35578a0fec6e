//! What a byte of a source file is — code, a comment, a string literal, a shell command
//! literal (Ruby's backticks and `%x`), or template text — for the rules whose matches mean
//! something only in code (issue 16: a Markdown code span in a Ruby docs string is not a
//! shell-out). A lexer per family of languages, enough to find where literals and comments
//! start and end; nothing here parses. Unknown languages are all code.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Code,
    Comment,
    /// A string literal.
    Str,
    /// A heredoc or a docstring: prose and examples more often than data.
    Doc,
    /// A literal the language runs as a shell command: Ruby's `` `…` ``, `%x(…)`, `` <<~`EOS` ``.
    Command,
    /// Template text outside the template's code tags (`.erb`).
    Text,
}

/// The non-code spans of a file, in order; everything between them is code.
#[derive(Debug, Default)]
pub struct Regions {
    spans: Vec<(Range<usize>, Class)>,
}

impl Regions {
    /// The regions of `content`, by the language its path names.
    pub fn of(path: &str, content: &[u8]) -> Self {
        let extension = path.rsplit_once('.').map_or("", |(_, e)| e);
        let spans = match extension {
            "erb" => erb(content),
            "rb" | "rake" | "gemspec" | "ru" => ruby(content, 0, content.len()),
            "py" => python(content),
            "yml" | "yaml" | "toml" | "ini" | "cfg" | "conf" | "sh" | "bash" | "properties" => {
                hash_comment_lines(content)
            }
            "rs" => c_like(content, true),
            "js" | "mjs" | "cjs" | "ts" | "mts" | "cts" | "jsx" | "tsx" | "go" | "java" | "kt"
            | "c" | "h" | "cpp" | "cs" | "swift" | "scala" | "php" => c_like(content, false),
            _ => Vec::new(),
        };
        Self { spans }
    }

    /// What the byte at `offset` is.
    pub fn class_at(&self, offset: usize) -> Class {
        let i = self.spans.partition_point(|(r, _)| r.end <= offset);
        match self.spans.get(i) {
            Some((range, class)) if range.start <= offset => *class,
            _ => Class::Code,
        }
    }
}

/// The closing delimiter of a `%q(` style literal.
fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// The end (exclusive) of a literal opened at `start` (the byte after the opening delimiter)
/// and closed by `close`, with backslash escapes and, for paired delimiters, nesting.
fn literal_end(text: &[u8], start: usize, open: u8, close: u8) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 1,
            c if c == close && depth == 0 => return i + 1,
            c if c == close => depth -= 1,
            c if c == open && open != close => depth += 1,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

fn line_end(text: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |i| from + i)
}

/// A Ruby heredoc opener at `i` (`<<~ID`, `<<-ID`, `<<ID`, quoted IDs): its identifier,
/// whether the terminator may be indented, whether it runs as a command, and where the opener
/// ends.
fn heredoc_opener(text: &[u8], i: usize) -> Option<(Vec<u8>, bool, bool, usize)> {
    let mut j = i + 2;
    let indented = matches!(text.get(j), Some(b'~' | b'-'));
    if indented {
        j += 1;
    }
    let quote = text
        .get(j)
        .copied()
        .filter(|c| matches!(c, b'\'' | b'"' | b'`'));
    if quote.is_some() {
        j += 1;
    }
    let id_start = j;
    while text
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        j += 1;
    }
    // An identifier starts with a letter or `_`, and `<<` after a word is a shift or append
    // (`a << b`, `list <<VALUE` is rare enough to miss).
    let first = *text.get(id_start)?;
    if j == id_start || !(first.is_ascii_uppercase() || first == b'_' || quote.is_some()) {
        return None;
    }
    let id = text[id_start..j].to_vec();
    if let Some(q) = quote {
        if text.get(j) != Some(&q) {
            return None;
        }
        j += 1;
    }
    Some((id, indented, quote == Some(b'`'), j))
}

/// The end of a heredoc body starting at `body` (the line after its opener): after the line
/// that holds only the identifier.
fn heredoc_end(text: &[u8], body: usize, id: &[u8], indented: bool) -> usize {
    let mut line = body;
    while line < text.len() {
        let end = line_end(text, line);
        let mut content = &text[line..end];
        if content.last() == Some(&b'\r') {
            content = &content[..content.len() - 1];
        }
        let content = if indented {
            content.trim_ascii_start()
        } else {
            content
        };
        if content == id {
            return end;
        }
        line = end + 1;
    }
    text.len()
}

/// Ruby from `from` to `to`.
fn ruby(text: &[u8], from: usize, to: usize) -> Vec<(Range<usize>, Class)> {
    let mut spans = Vec::new();
    // Heredoc bodies waiting for the end of the line their openers are on.
    let mut pending: Vec<(Vec<u8>, bool, bool)> = Vec::new();
    let mut i = from;
    let at_line_start = |i: usize| i == 0 || text[i - 1] == b'\n';
    while i < to {
        let c = text[i];
        if c == b'\n' && !pending.is_empty() {
            let mut body = i + 1;
            for (id, indented, command) in pending.drain(..) {
                let end = heredoc_end(text, body, &id, indented).min(to);
                let class = if command { Class::Command } else { Class::Doc };
                spans.push((body..end, class));
                body = end + 1;
            }
            i = body;
            continue;
        }
        if at_line_start(i) && text[i..to].starts_with(b"=begin") {
            let end = memchr::memmem::find(&text[i..to], b"\n=end")
                .map_or(to, |k| line_end(text, i + k + 1));
            spans.push((i..end, Class::Comment));
            i = end;
            continue;
        }
        match c {
            b'#' => {
                let end = line_end(text, i).min(to);
                spans.push((i..end, Class::Comment));
                i = end;
            }
            b'"' | b'\'' | b'`' => {
                let end = literal_end(text, i + 1, c, c).min(to);
                let class = if c == b'`' {
                    Class::Command
                } else {
                    Class::Str
                };
                spans.push((i..end, class));
                i = end;
            }
            b'%' if text.get(i + 1).is_some_and(|n| b"qQwWiIx".contains(n))
                && text.get(i + 2).is_some_and(|d| b"([{<|!/".contains(d)) =>
            {
                let open = text[i + 2];
                let end = literal_end(text, i + 3, open, closing(open)).min(to);
                let class = if text[i + 1] == b'x' {
                    Class::Command
                } else {
                    Class::Str
                };
                spans.push((i..end, class));
                i = end;
            }
            b'%' if text.get(i + 1).is_some_and(|d| b"([{".contains(d))
                && i > 0
                && !text[i - 1].is_ascii_alphanumeric()
                && !matches!(text[i - 1], b')' | b']' | b'_') =>
            {
                let open = text[i + 1];
                let end = literal_end(text, i + 2, open, closing(open)).min(to);
                spans.push((i..end, Class::Str));
                i = end;
            }
            b'?' if text.get(i + 1) == Some(&b'`') || text.get(i + 1) == Some(&b'#') => {
                // A character literal: `` ?` `` is not a command.
                i += 2;
            }
            b'<' if text.get(i + 1) == Some(&b'<') => {
                if let Some((id, indented, command, end)) = heredoc_opener(text, i) {
                    pending.push((id, indented, command));
                    i = end;
                } else {
                    i += 2;
                }
            }
            _ => i += 1,
        }
    }
    spans
}

/// Configuration and shell files: a line whose first non-blank character is `#` is a comment
/// (a `#` later in a line may be part of a value, as in a URL's fragment).
fn hash_comment_lines(text: &[u8]) -> Vec<(Range<usize>, Class)> {
    let mut spans = Vec::new();
    let mut line = 0;
    while line < text.len() {
        let end = line_end(text, line);
        let content = &text[line..end];
        let blank = content.len() - content.trim_ascii_start().len();
        if content.get(blank) == Some(&b'#') {
            spans.push((line + blank..end, Class::Comment));
        }
        line = end + 1;
    }
    spans
}

/// An ERB template: Ruby inside `<% … %>`, text outside.
fn erb(text: &[u8]) -> Vec<(Range<usize>, Class)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(open) = memchr::memmem::find(&text[i..], b"<%").map(|k| i + k) else {
            spans.push((i..text.len(), Class::Text));
            break;
        };
        if open > i {
            spans.push((i..open, Class::Text));
        }
        let code = open + 2;
        let close = memchr::memmem::find(&text[code..], b"%>").map_or(text.len(), |k| code + k);
        if text.get(code) == Some(&b'#') {
            spans.push((open..close, Class::Comment));
        } else {
            spans.extend(ruby(text, code, close));
        }
        i = (close + 2).min(text.len());
    }
    spans
}

/// Python: `#` comments, and strings — triple-quoted (docstrings) included, with any prefix.
fn python(text: &[u8]) -> Vec<(Range<usize>, Class)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'#' => {
                let end = line_end(text, i);
                spans.push((i..end, Class::Comment));
                i = end;
            }
            q @ (b'"' | b'\'') => {
                let triple = text[i..].starts_with(&[q, q, q]);
                let end = if triple {
                    let delimiter = [q, q, q];
                    let mut k = i + 3;
                    loop {
                        match memchr::memmem::find(&text[k..], &delimiter) {
                            Some(at) if at > 0 && text[k + at - 1] == b'\\' => k += at + 1,
                            Some(at) => break k + at + 3,
                            None => break text.len(),
                        }
                    }
                } else {
                    // A one-line string ends at its quote or, unterminated, at the line's end.
                    let limit = line_end(text, i);
                    literal_end(&text[..limit], i + 1, q, q)
                };
                spans.push((i..end, if triple { Class::Doc } else { Class::Str }));
                i = end;
            }
            _ => i += 1,
        }
    }
    spans
}

/// C-family languages (and JavaScript, Go, Rust, Java, PHP): `//` and `/* */` comments,
/// `"…"` strings, `'…'` (a character or, in JavaScript and PHP, a string), JavaScript's
/// template literals and Go's raw strings in backticks. Regex literals are not told from
/// division: a quote inside one can open a string early, which only ever hides a match.
fn c_like(text: &[u8], rust: bool) -> Vec<(Range<usize>, Class)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'/' if text.get(i + 1) == Some(&b'/') => {
                let end = line_end(text, i);
                spans.push((i..end, Class::Comment));
                i = end;
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                let end = memchr::memmem::find(&text[i + 2..], b"*/")
                    .map_or(text.len(), |k| i + 2 + k + 2);
                spans.push((i..end, Class::Comment));
                i = end;
            }
            b'#' if (i == 0 || text[i - 1] == b'\n') && text.get(i + 1) != Some(&b'[') => {
                // A PHP or shell-style comment line (`#[attr]` in Rust is code).
                let end = line_end(text, i);
                spans.push((i..end, Class::Comment));
                i = end;
            }
            b'\''
                if rust
                    && text
                        .get(i + 1)
                        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                    && text.get(i + 2) != Some(&b'\'') =>
            {
                // A Rust lifetime (`&'a str`), not a character.
                i += 2;
            }
            q @ (b'"' | b'\'' | b'`') => {
                let end = if q == b'`' {
                    literal_end(text, i + 1, q, q)
                } else {
                    let limit = line_end(text, i);
                    literal_end(&text[..limit], i + 1, q, q)
                };
                spans.push((i..end, Class::Str));
                i = end;
            }
            _ => i += 1,
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(path: &str, text: &str, needle: &str) -> Class {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"));
        Regions::of(path, text.as_bytes()).class_at(at)
    }

    #[test]
    fn ruby_commands_strings_comments_and_heredocs() {
        let rb = "x = `convert a b`\nputs \"run `rake db:migrate` first\"\n# `git pull`\ny = %x(ffmpeg -i a)\nz = %q(`ls`)\n";
        assert_eq!(class("a.rb", rb, "convert"), Class::Command);
        assert_eq!(class("a.rb", rb, "rake"), Class::Str);
        assert_eq!(class("a.rb", rb, "git"), Class::Comment);
        assert_eq!(class("a.rb", rb, "ffmpeg"), Class::Command);
        assert_eq!(class("a.rb", rb, "`ls`"), Class::Str);
        let heredoc = "desc <<~MD\n  Use `curl` to fetch it.\n  MD\n`whoami`\nsh = <<-`CMD`\n  rsync -a x y\n  CMD\n";
        assert_eq!(class("a.rb", heredoc, "curl"), Class::Doc);
        assert_eq!(class("a.rb", heredoc, "whoami"), Class::Command);
        assert_eq!(class("a.rb", heredoc, "rsync"), Class::Command);
        let two = "f(<<~A, <<~B)\n  `one`\nA\n  `two`\nB\n`three`\n";
        assert_eq!(class("a.rb", two, "one"), Class::Doc);
        assert_eq!(class("a.rb", two, "two"), Class::Doc);
        assert_eq!(class("a.rb", two, "three"), Class::Command);
        let block = "=begin\n`rm -rf`\n=end\n`date`\n";
        assert_eq!(class("a.rb", block, "rm -rf"), Class::Comment);
        assert_eq!(class("a.rb", block, "date"), Class::Command);
        assert_eq!(class("a.rb", "a = b << c\n`id`", "id"), Class::Command);
        assert_eq!(class("a.rb", "h = %w[a `b`]\n", "`b`"), Class::Str);
        assert_eq!(
            class("a.rb", "c = ?`\n`uptime`\n", "uptime"),
            Class::Command
        );
    }

    #[test]
    fn erb_text_is_not_code() {
        let md = "Run `bundle exec rake` to start.\n<% if x %>`hostname`<% end %>\n<%# `git` %>\n<%= `uname` %>\n";
        assert_eq!(class("README.md.erb", md, "bundle"), Class::Text);
        assert_eq!(class("README.md.erb", md, "hostname"), Class::Text);
        assert_eq!(class("README.md.erb", md, "git"), Class::Comment);
        assert_eq!(class("README.md.erb", md, "uname"), Class::Command);
    }

    #[test]
    fn python_docstrings_and_comments() {
        let py = "\"\"\"Example:\n    subprocess.run(['ffmpeg'])\n\"\"\"\nsubprocess.run(['convert'])\n# os.system('curl')\nx = 'it''s'\n";
        assert_eq!(class("a.py", py, "subprocess.run(['ffmpeg"), Class::Doc);
        assert_eq!(class("a.py", py, "subprocess.run(['convert"), Class::Code);
        assert_eq!(class("a.py", py, "os.system"), Class::Comment);
    }

    #[test]
    fn c_like_comments_strings_and_templates() {
        let js = "// spawn('ls')\n/* execSync(\"git\") */\nconst s = `run ${spawn('x')}`;\nspawn('ffmpeg', a)\n";
        assert_eq!(class("a.js", js, "spawn('ls')"), Class::Comment);
        assert_eq!(class("a.js", js, "execSync"), Class::Comment);
        assert_eq!(class("a.js", js, "spawn('ffmpeg"), Class::Code);
        assert_eq!(
            class(
                "main.rs",
                "#[derive(Debug)]\nCommand::new(\"x\")",
                "Command"
            ),
            Class::Code
        );
        let rs = "fn f<'a>(x: &'a str) { Command::new(\"x\"); let c = 'q'; }";
        assert_eq!(class("main.rs", rs, "Command"), Class::Code);
        assert_eq!(class("main.rs", rs, "q'"), Class::Str);
        // An unterminated quote ends at its line.
        assert_eq!(
            class("a.go", "s := \"abc\nexec.Command(\"x\")", "exec.Command"),
            Class::Code
        );
    }

    #[test]
    fn configuration_comment_lines() {
        let yaml = "# session_store: memory
url: http://x/#frag
  # indented
";
        assert_eq!(class("a.yml", yaml, "session_store"), Class::Comment);
        assert_eq!(class("a.yml", yaml, "#frag"), Class::Code);
        assert_eq!(class("a.yml", yaml, "indented"), Class::Comment);
    }

    #[test]
    fn unknown_languages_are_code_and_nothing_panics() {
        assert_eq!(class("a.txt", "`x`", "x"), Class::Code);
        for path in ["a.rb", "a.erb", "a.py", "a.js"] {
            for text in [
                "", "`", "<<~", "<<~A", "%x(", "=begin", "'''", "/*", "<%", "\"\\",
            ] {
                let regions = Regions::of(path, text.as_bytes());
                let _ = regions.class_at(text.len());
            }
        }
    }
}
