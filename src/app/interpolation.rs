//! `$VAR`, `${VAR}`, `${VAR:-default}` and friends in `.env` values: parsed once (so syntax
//! errors are located while reading the file), evaluated later through an injected lookup.

/// One character of a value with where it came from; `escaped` marks a `\$` that must stay
/// a literal dollar.
#[derive(Debug, Clone, Copy)]
pub struct Char {
    pub ch: char,
    pub escaped: bool,
    /// Byte offset in the source file.
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Variable {
        name: String,
        op: Op,
        /// Byte offset of the `$`, for errors raised at evaluation.
        offset: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Plain,
    /// `${V:-w}` (colon: also when empty) / `${V-w}`.
    Default {
        colon: bool,
        word: Template,
    },
    /// `${V:+w}` / `${V+w}`.
    Alternative {
        colon: bool,
        word: Template,
    },
    /// `${V:?msg}` / `${V?msg}`.
    Required {
        colon: bool,
        message: Template,
    },
}

/// A syntax error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// How deep `${A:-${B:-…}}` may nest.
pub const MAX_NESTING: usize = 32;

/// The longest value a process environment can carry: Linux limits each `KEY=value` string
/// to 128 KiB (`MAX_ARG_STRLEN`). Evaluation stops there, so self-referencing definitions
/// (`A=$A$A` repeated) cannot grow a value without bound.
pub const MAX_VALUE: usize = 128 * 1024 - 1;

/// Why a value could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// `${V:?message}` met an unset variable.
    Required {
        offset: usize,
        name: String,
        message: String,
    },
    /// The value grew past [`MAX_VALUE`].
    TooLong { offset: usize },
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Template {
    /// A template that is only literal text.
    pub fn literal(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            pieces: if text.is_empty() {
                Vec::new()
            } else {
                vec![Piece::Literal(text)]
            },
        }
    }

    pub fn parse(chars: &[Char]) -> Result<Self, SyntaxError> {
        Self::parse_nested(chars, 0)
    }

    /// Parses a template that is the word of `depth` enclosing `${…}`: deeper than
    /// [`MAX_NESTING`] is an error, so a hostile file cannot exhaust the stack (and the
    /// scan for each level's `}` stays linear in the line).
    fn parse_nested(chars: &[Char], depth: usize) -> Result<Self, SyntaxError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.ch != '$' || c.escaped {
                literal.push(c.ch);
                i += 1;
                continue;
            }
            let next = chars.get(i + 1).filter(|n| !n.escaped).map(|n| n.ch);
            match next {
                Some('$') => {
                    literal.push('$');
                    i += 2;
                }
                Some('{') => {
                    if depth >= MAX_NESTING {
                        return Err(SyntaxError {
                            offset: c.offset,
                            message: format!(
                                "`${{...}}` nested more than {MAX_NESTING} deep; dozen stops there"
                            ),
                        });
                    }
                    let (piece, end) = parse_braced(chars, i, depth)?;
                    push_literal(&mut pieces, &mut literal);
                    pieces.push(piece);
                    i = end;
                }
                Some(n) if is_name_start(n) => {
                    let start = i + 1;
                    let end = scan_name(chars, start);
                    push_literal(&mut pieces, &mut literal);
                    pieces.push(Piece::Variable {
                        name: chars[start..end].iter().map(|c| c.ch).collect(),
                        op: Op::Plain,
                        offset: c.offset,
                    });
                    i = end;
                }
                _ => {
                    literal.push('$');
                    i += 1;
                }
            }
        }
        push_literal(&mut pieces, &mut literal);
        Ok(Self { pieces })
    }

    /// True when the template has no variables (its value does not depend on any lookup).
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, EvalError> {
        let mut out = String::new();
        for piece in &self.pieces {
            if out.len() > MAX_VALUE {
                break;
            }
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Variable { name, op, offset } => {
                    let value = lookup(name);
                    let is_set =
                        |colon: bool| value.as_ref().is_some_and(|v| !(colon && v.is_empty()));
                    match op {
                        Op::Plain => out.push_str(value.as_deref().unwrap_or_default()),
                        Op::Default { colon, word } => {
                            if is_set(*colon) {
                                out.push_str(value.as_deref().unwrap_or_default());
                            } else {
                                out.push_str(&word.evaluate(lookup)?);
                            }
                        }
                        Op::Alternative { colon, word } => {
                            if is_set(*colon) {
                                out.push_str(&word.evaluate(lookup)?);
                            }
                        }
                        Op::Required { colon, message } => {
                            if is_set(*colon) {
                                out.push_str(value.as_deref().unwrap_or_default());
                            } else {
                                // The message names variables, never their values: an error is
                                // printed, and another variable may be a secret.
                                let message =
                                    message.evaluate(&|name: &str| Some(format!("${{{name}}}")))?;
                                return Err(EvalError::Required {
                                    offset: *offset,
                                    name: name.clone(),
                                    message,
                                });
                            }
                        }
                    }
                }
            }
        }
        if out.len() > MAX_VALUE {
            let offset = self.pieces.iter().find_map(|p| match p {
                Piece::Variable { offset, .. } => Some(*offset),
                Piece::Literal(_) => None,
            });
            return Err(EvalError::TooLong {
                offset: offset.unwrap_or(0),
            });
        }
        Ok(out)
    }
}

fn push_literal(pieces: &mut Vec<Piece>, literal: &mut String) {
    if !literal.is_empty() {
        pieces.push(Piece::Literal(std::mem::take(literal)));
    }
}

fn scan_name(chars: &[Char], start: usize) -> usize {
    chars[start..]
        .iter()
        .position(|c| !is_name_char(c.ch) || c.escaped)
        .map_or(chars.len(), |n| start + n)
}

/// Parses `${...}` starting at the `$` at `dollar`; returns the piece and the index after `}`.
fn parse_braced(
    chars: &[Char],
    dollar: usize,
    depth: usize,
) -> Result<(Piece, usize), SyntaxError> {
    let offset = chars[dollar].offset;
    let unterminated = || SyntaxError {
        offset,
        message: "unterminated `${`: expected `}`".into(),
    };
    let name_start = dollar + 2;
    let name_end = scan_name(chars, name_start);
    let name: String = chars[name_start..name_end].iter().map(|c| c.ch).collect();
    let at = |i: usize| chars.get(i).map(|c| c.ch);
    if name.is_empty() || !is_name_start(name.chars().next().unwrap_or('0')) {
        return Err(match at(name_start) {
            None => unterminated(),
            Some(c) => SyntaxError {
                offset: chars[name_start].offset,
                message: format!("expected a variable name after `${{`, found `{c}`"),
            },
        });
    }
    let (colon, op_at) = if at(name_end) == Some(':') {
        (true, name_end + 1)
    } else {
        (false, name_end)
    };
    let op_char = match at(op_at) {
        None => return Err(unterminated()),
        Some('}') if !colon => {
            let piece = Piece::Variable {
                name,
                op: Op::Plain,
                offset,
            };
            return Ok((piece, name_end + 1));
        }
        Some(c @ ('-' | '+' | '?')) => c,
        Some(c) => {
            return Err(SyntaxError {
                offset: chars[op_at].offset,
                message: format!(
                    "unexpected `{c}` in `${{{name}...}}`: expected `}}`, `:-`, `-`, `:+`, `+`, `:?` or `?`"
                ),
            });
        }
    };
    let word_start = op_at + 1;
    let close = find_close(chars, word_start).ok_or_else(unterminated)?;
    let word = Template::parse_nested(&chars[word_start..close], depth + 1)?;
    let op = match op_char {
        '-' => Op::Default { colon, word },
        '+' => Op::Alternative { colon, word },
        _ => Op::Required {
            colon,
            message: word,
        },
    };
    Ok((Piece::Variable { name, op, offset }, close + 1))
}

/// The index of the `}` closing a word, skipping nested `${...}` and balanced braces, as
/// Docker Compose does: `${CFG:-{"debug":false}}` has the default `{"debug":false}`.
fn find_close(chars: &[Char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if !c.escaped {
            if c.ch == '$' && chars.get(i + 1).is_some_and(|n| n.ch == '{' && !n.escaped) {
                depth += 1;
                i += 2;
                continue;
            }
            if c.ch == '{' {
                depth += 1;
            } else if c.ch == '}' {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn chars(text: &str) -> Vec<Char> {
        text.char_indices()
            .map(|(offset, ch)| Char {
                ch,
                escaped: false,
                offset,
            })
            .collect()
    }

    #[test]
    fn braces_in_defaults_are_matched_as_compose_does() {
        let text = r#"${CFG:-{"debug":false}}"#;
        assert_eq!(eval(text, &[]).unwrap(), r#"{"debug":false}"#);
        assert_eq!(
            eval(text, &[("CFG", r#"{"debug":true}"#)]).unwrap(),
            r#"{"debug":true}"#
        );
        assert_eq!(eval("${A:-{x}y}z", &[]).unwrap(), "{x}yz");
    }

    #[test]
    fn nesting_is_bounded_with_a_located_error() {
        let nested = |n: usize| format!("{}x{}", "${V:-".repeat(n), "}".repeat(n));
        assert_eq!(eval(&nested(MAX_NESTING), &[]).unwrap(), "x");
        let error = failure(&nested(MAX_NESTING + 1), &[]);
        assert_eq!(
            error,
            format!(
                "syntax@{}: `${{...}}` nested more than {MAX_NESTING} deep; dozen stops there",
                5 * MAX_NESTING
            )
        );
        // Far deeper (a hostile 115 KB line) is the same error, not a stack overflow.
        assert!(eval(&nested(19_000), &[]).is_err());
    }

    /// Why [`eval`] failed: the template's syntax, or its evaluation.
    #[derive(Debug, PartialEq, Eq)]
    enum Failure {
        Syntax(SyntaxError),
        Eval(EvalError),
    }

    /// `syntax@OFFSET: message`, `required@OFFSET: NAME message`, `too long@OFFSET`.
    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::Syntax(e) => write!(f, "syntax@{}: {}", e.offset, e.message),
                Self::Eval(EvalError::Required {
                    offset,
                    name,
                    message,
                }) => write!(f, "required@{offset}: {name} {message}"),
                Self::Eval(EvalError::TooLong { offset }) => write!(f, "too long@{offset}"),
            }
        }
    }

    fn eval(text: &str, vars: &[(&str, &str)]) -> Result<String, Failure> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let template = Template::parse(&chars(text)).map_err(Failure::Syntax)?;
        template
            .evaluate(&|name| vars.get(name).cloned())
            .map_err(Failure::Eval)
    }

    /// How `text` fails, in one line.
    fn failure(text: &str, vars: &[(&str, &str)]) -> String {
        eval(text, vars).expect_err(text).to_string()
    }

    #[test]
    fn forms() {
        let vars = [("A", "a"), ("E", ""), ("A_2", "two")];
        let cases = [
            ("$A", "a"),
            ("${A}", "a"),
            ("x$A.y", "xa.y"),
            ("$A_2", "two"),
            ("$A_3", ""),
            ("$$A", "$A"),
            ("$", "$"),
            ("a$ b", "a$ b"),
            ("$1", "$1"),
            ("${U:-d}", "d"),
            ("${E:-d}", "d"),
            ("${E-d}", ""),
            ("${U-d}", "d"),
            ("${A:-d}", "a"),
            ("${A:+alt}", "alt"),
            ("${E:+alt}", ""),
            ("${E+alt}", "alt"),
            ("${U+alt}", ""),
            ("${U:-${A}-x}", "a-x"),
            ("${U:-${V:-deep}}", "deep"),
            ("${E?m}", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(eval(text, &vars).as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn required_and_syntax_errors() {
        assert_eq!(
            failure("x${U:?must be set}", &[]),
            "required@1: U must be set"
        );
        assert_eq!(failure("${E:?}", &[("E", "")]), "required@0: E ");
        assert_eq!(
            eval("${U?no}", &[]),
            Err(Failure::Eval(EvalError::Required {
                offset: 0,
                name: "U".into(),
                message: "no".into()
            }))
        );
        assert_eq!(
            failure("ab${A", &[]),
            "syntax@2: unterminated `${`: expected `}`"
        );
        assert_eq!(
            failure("${", &[]),
            "syntax@0: unterminated `${`: expected `}`"
        );
        assert!(failure("${1A}", &[]).starts_with("syntax@2: expected a variable name"));
        assert!(failure("${A!}", &[]).starts_with("syntax@3: unexpected `!`"));
        assert_eq!(
            failure("${A:-x", &[]),
            "syntax@0: unterminated `${`: expected `}`"
        );
    }

    #[test]
    fn self_reference_cannot_grow_without_bound() {
        let doubled = Template::parse(&chars("$A$A")).unwrap();
        let mut value = "x".repeat(1000);
        let result = loop {
            match doubled.evaluate(&|_| Some(value.clone())) {
                Ok(next) => value = next,
                Err(error) => break error,
            }
        };
        assert_eq!(result, EvalError::TooLong { offset: 0 });
        assert!(value.len() <= MAX_VALUE);
    }

    #[test]
    fn escaped_dollar_is_literal() {
        let mut cs = chars("$A");
        cs[0].escaped = true;
        let template = Template::parse(&cs).unwrap();
        assert_eq!(template.evaluate(&|_| Some("x".into())).unwrap(), "$A");
        assert!(template.is_literal());
    }
}
