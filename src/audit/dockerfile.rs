//! Just enough of the Dockerfile grammar for the audit: instructions with their arguments,
//! continuation lines joined, comments skipped, each located to its line.

/// One instruction: `FROM`, `ENV`, `CMD`…
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-cased keyword.
    pub keyword: String,
    /// The arguments, continuation lines joined with a space.
    pub args: String,
    /// 1-based line of the keyword.
    pub line: usize,
    /// 1-based column where the arguments start.
    pub column: usize,
}

/// The instructions of a Dockerfile, in order. Never fails: a line that is not an instruction
/// is skipped (Docker reports those itself).
pub fn parse(text: &str) -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut current: Option<Instruction> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if let Some(instruction) = current.as_mut() {
            if trimmed.starts_with('#') {
                continue;
            }
            let (text, more) = continued(line);
            instruction.args.push(' ');
            instruction.args.push_str(text.trim());
            if !more {
                instructions.extend(current.take());
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let keyword_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let keyword = &trimmed[..keyword_len];
        if !keyword.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let rest = &trimmed[keyword_len..];
        let args_start = indent + keyword_len + (rest.len() - rest.trim_start().len());
        let (args, more) = continued(rest.trim_start());
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim_end().to_owned(),
            line: index + 1,
            column: line[..args_start].chars().count() + 1,
        };
        if more {
            current = Some(instruction);
        } else {
            instructions.push(instruction);
        }
    }
    instructions.extend(current);
    instructions
}

/// Words in a stage's name that mark a development or test variant built on top of the
/// production stage (`FROM release AS development`, `FROM app AS django-unittests`).
const NOT_PRODUCTION_WORDS: [&str; 12] = [
    "dev",
    "development",
    "debug",
    "local",
    "test",
    "tests",
    "testing",
    "unittest",
    "unittests",
    "ci",
    "e2e",
    "devcontainer",
];

/// The stage an image of this Dockerfile is built from when no `--target` is given, for
/// production: the last stage, unless the last ones are development or test variants
/// (named so), then the last stage before them. Its index of `FROM` in `instructions`
/// (0 without any `FROM`).
pub fn production_stage(instructions: &[Instruction]) -> usize {
    let froms: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.keyword == "FROM")
        .map(|(at, _)| at)
        .collect();
    let variant = |at: &usize| {
        stage_name(&instructions[*at]).is_some_and(|name| {
            name.split(['-', '_', '.'])
                .any(|word| NOT_PRODUCTION_WORDS.contains(&word))
        })
    };
    froms
        .iter()
        .rev()
        .find(|at| !variant(at))
        .or(froms.last())
        .copied()
        .unwrap_or(0)
}

/// A `FROM` instruction's stage name (`FROM base AS build` is `build`), lower-cased.
pub fn stage_name(from: &Instruction) -> Option<String> {
    let words: Vec<&str> = from
        .args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    match words.as_slice() {
        [_, as_word, name, ..] if as_word.eq_ignore_ascii_case("as") => {
            Some(name.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The instructions of the stage whose `FROM` is at `from`, and of the stages of this file it
/// is built on, nearest first: where an `ENTRYPOINT` or `CMD` it inherits is.
pub fn stage_chain(instructions: &[Instruction], from: usize) -> Vec<&[Instruction]> {
    let mut chain = Vec::new();
    let mut at = Some(from);
    while let Some(start) = at.filter(|&s| s < instructions.len() && chain.len() < 16) {
        let end = instructions[start + 1..]
            .iter()
            .position(|i| i.keyword == "FROM")
            .map_or(instructions.len(), |p| start + 1 + p);
        chain.push(&instructions[start..end]);
        let base = instructions[start]
            .args
            .split_whitespace()
            .find(|w| !w.starts_with("--"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        at = instructions[..start]
            .iter()
            .rposition(|i| i.keyword == "FROM" && stage_name(i).as_deref() == Some(base.as_str()));
    }
    chain
}

/// A line without its continuation backslash, and whether it had one.
fn continued(line: &str) -> (&str, bool) {
    let trimmed = line.trim_end();
    match trimmed.strip_suffix('\\') {
        Some(text) => (text, true),
        None => (trimmed, false),
    }
}

/// The `KEY` names an `ENV`/`ARG` instruction sets, with their values (if any): both the
/// `KEY=value KEY2=value` and the legacy `ENV KEY value` forms.
pub fn assignments(instruction: &Instruction) -> Vec<(String, Option<String>)> {
    let args = instruction.args.trim();
    let first = args.split_whitespace().next().unwrap_or_default();
    if instruction.keyword == "ENV" && !first.contains('=') {
        let value = args[first.len()..].trim();
        return vec![(
            first.to_owned(),
            (!value.is_empty()).then(|| value.to_owned()),
        )];
    }
    args.split_whitespace()
        .map(|word| match word.split_once('=') {
            Some((key, value)) => (
                key.to_owned(),
                Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned()),
            ),
            None => (word.to_owned(), None),
        })
        .filter(|(key, _)| !key.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_stage_is_before_development_and_test_variants() {
        let parsed = parse(
            "FROM python:3.14 AS base\nFROM base AS build\nFROM base AS release\nENTRYPOINT [\"/entrypoint-uwsgi.sh\"]\nFROM release AS development\nFROM development AS django-unittests\n",
        );
        let stage = production_stage(&parsed);
        assert_eq!(parsed[stage].line, 3);
        let chain = stage_chain(&parsed, stage);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0][1].keyword, "ENTRYPOINT");
        let plain = parse("FROM node:22 AS build\nFROM nginx:1.27\nCMD [\"nginx\"]\n");
        assert_eq!(plain[production_stage(&plain)].line, 2);
        let only_dev = parse("FROM node:22 AS dev\n");
        assert_eq!(production_stage(&only_dev), 0);
    }

    #[test]
    fn instructions_located_with_continuations() {
        let parsed = parse(
            "# syntax=docker/dockerfile:1\nFROM python:3.12\n\nRUN pip install \\\n  # a comment\n  flask\nenv A=1 B=\"two\"\nCMD python app.py\n",
        );
        let summary: Vec<(&str, &str, usize, usize)> = parsed
            .iter()
            .map(|i| (i.keyword.as_str(), i.args.as_str(), i.line, i.column))
            .collect();
        assert_eq!(
            summary,
            [
                ("FROM", "python:3.12", 2, 6),
                ("RUN", "pip install flask", 4, 5),
                ("ENV", "A=1 B=\"two\"", 7, 5),
                ("CMD", "python app.py", 8, 5),
            ]
        );
        assert_eq!(
            assignments(&parsed[2]),
            [
                ("A".to_owned(), Some("1".to_owned())),
                ("B".to_owned(), Some("two".to_owned()))
            ]
        );
        let legacy = parse("ENV API_TOKEN abc def\nARG NPM_TOKEN\n");
        assert_eq!(
            assignments(&legacy[0]),
            [("API_TOKEN".to_owned(), Some("abc def".to_owned()))]
        );
        assert_eq!(assignments(&legacy[1]), [("NPM_TOKEN".to_owned(), None)]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in ["\\", "FROM\\\n", "é\n  \\\n", "RUN", "\u{feff}FROM x"] {
            let _ = parse(text);
        }
    }
}
