//! A flag definitions file in flagd's format, read and checked: JSON syntax, flagd's schema,
//! then what the schema cannot say (a default variant that is a variant, one type for all
//! variants, `$ref`s to defined evaluators), each problem located to `path:line:column`.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::evaluators;
use super::flag::{Flag, Kind, State};
use super::locate::locate;
use super::schema;
use crate::diagnostic::{Diagnostic, Severity, did_you_mean};
use crate::source::Source;

/// The largest definitions file read: far past any hand-written file, small enough that a
/// hostile one cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The flags of one definitions file, checked and ready to evaluate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Definitions {
    pub flags: IndexMap<String, Flag>,
    /// The flag set's `metadata`; each flag's own metadata overrides it key by key.
    pub metadata: Map<String, Value>,
}

/// What checking a file found: the definitions as far as they could be read, and every
/// problem. `definitions` is `None` only when the text is not JSON or has no `flags` object.
#[derive(Debug, Clone)]
pub struct Checked {
    pub definitions: Option<Definitions>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// The definitions if nothing is wrong with them, else every problem.
    pub fn into_result(self) -> Result<Definitions, Vec<Diagnostic>> {
        match self.definitions {
            Some(definitions) if !self.diagnostics.iter().any(Diagnostic::is_error) => {
                Ok(definitions)
            }
            _ => Err(self.diagnostics),
        }
    }
}

impl Definitions {
    /// Reads and checks the file at `path` (at most [`MAX_FILE_BYTES`]).
    pub fn read(path: &Path) -> Result<Self, Vec<Diagnostic>> {
        Self::read_text(path, &path.display().to_string()).map(|(_, definitions)| definitions)
    }

    /// Reads and checks the file at `path`, shown as `shown` in diagnostics: its text (what
    /// a running set is compared by) and its flags.
    pub fn read_text(path: &Path, shown: &str) -> Result<(String, Self), Vec<Diagnostic>> {
        let text = crate::fsutil::read_bounded(path, MAX_FILE_BYTES, None).map_err(|error| {
            vec![Diagnostic::general(
                Severity::Error,
                Some(shown.to_owned()),
                error.to_string(),
            )]
        })?;
        let definitions = Self::parse(shown, &text)?;
        Ok((text, definitions))
    }

    /// Checks `text` (shown as `path` in diagnostics); any error refuses the whole file.
    pub fn parse(path: &str, text: &str) -> Result<Self, Vec<Diagnostic>> {
        check(path, text).into_result()
    }
}

/// Checks `text`, shown as `path`, and reads what it can of it.
pub fn check(path: &str, text: &str) -> Checked {
    let source = Source::new(path, text);
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            return Checked {
                definitions: None,
                diagnostics: vec![syntax_error(&source, &error)],
            };
        }
    };
    let mut diagnostics = Vec::new();
    let mut explained: Vec<Vec<String>> = Vec::new();
    let empty = Map::new();
    let evaluators = document
        .get("$evaluators")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    check_references(&source, &document, evaluators, &mut diagnostics);
    let mut budget = evaluators::MAX_FILE_NODES;
    let definitions = document
        .get("flags")
        .and_then(Value::as_object)
        .map(|flags| {
            let flags = flags
                .iter()
                .filter_map(|(key, value)| {
                    let flag = read_flag(value, evaluators, &mut budget)?;
                    let path = vec!["flags".to_owned(), key.clone()];
                    if let Some(diagnostic) = check_flag(&source, &path, &flag) {
                        diagnostics.push(diagnostic);
                        explained.push(path);
                    }
                    Some((key.clone(), flag))
                })
                .collect();
            Definitions {
                flags,
                metadata: object(document.get("metadata")),
            }
        });
    for violation in schema::violations(&document) {
        // A flag whose variants mix types breaks every branch of the schema's `oneOf`; the
        // check above has already said which variant, more plainly.
        if explained
            .iter()
            .any(|path| violation.path.starts_with(path))
        {
            continue;
        }
        diagnostics.push(
            at(
                &source,
                &violation.path,
                violation.at_key,
                violation.message,
            )
            .note("flagd's schema: https://flagd.dev/schema/v0/flags.json"),
        );
    }
    diagnostics.extend(rule_warnings(&source, &document));
    Checked {
        definitions,
        diagnostics,
    }
}

/// flagd's targeting schema is stricter than flagd's evaluator: flagd only logs a warning for
/// a rule that breaks it and evaluates the rule (its own testbed has flags whose rules break
/// it: `v`-prefixed and numeric versions for `sem_ver`, operators given wrong arguments on
/// purpose). So do we: a warning each, not a refusal.
fn rule_warnings(source: &Source, document: &Value) -> Vec<Diagnostic> {
    let mut rules: Vec<(Vec<String>, &Value)> = Vec::new();
    if let Some(flags) = document.get("flags").and_then(Value::as_object) {
        for (key, flag) in flags {
            if let Some(targeting) = flag.get("targeting") {
                rules.push((
                    vec!["flags".into(), key.clone(), "targeting".into()],
                    targeting,
                ));
            }
        }
    }
    if let Some(evaluators) = document.get("$evaluators").and_then(Value::as_object) {
        for (name, rule) in evaluators {
            rules.push((vec!["$evaluators".into(), name.clone()], rule));
        }
    }
    let mut warnings = Vec::new();
    for (base, rule) in rules {
        // `{"$ref": …}` is a reference, checked by `check_references`, not a rule.
        for violation in schema::rule_violations(rule) {
            if violation.path.last().is_some_and(|s| s == "$ref") {
                continue;
            }
            let path = [base.as_slice(), &violation.path].concat();
            let error = at(source, &path, violation.at_key, violation.message);
            let Some(location) = error.location else {
                continue;
            };
            warnings.push(
                Diagnostic::warning(location, error.message)
                    .note("flagd's targeting schema: https://flagd.dev/schema/v0/targeting.json")
                    .note("flagd evaluates such a rule anyway, and so does dozen"),
            );
        }
    }
    warnings
}

fn object(value: Option<&Value>) -> Map<String, Value> {
    value
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A flag as far as it can be read; `None` when it is not even an object with variants.
fn read_flag(value: &Value, evaluators: &Map<String, Value>, budget: &mut usize) -> Option<Flag> {
    let variants: IndexMap<String, Value> = value
        .get("variants")?
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let targeting = value
        .get("targeting")
        .filter(|t| t.as_object().is_some_and(|map| !map.is_empty()))
        .map(|rule| evaluators::resolve(rule, evaluators, budget).unwrap_or_else(|| rule.clone()));
    Some(Flag {
        state: if value.get("state").and_then(Value::as_str) == Some(State::Disabled.as_str()) {
            State::Disabled
        } else {
            State::Enabled
        },
        variants,
        default_variant: value
            .get("defaultVariant")
            .and_then(Value::as_str)
            .map(str::to_owned),
        targeting,
        metadata: object(value.get("metadata")),
    })
}

/// What flagd's schema cannot say about one flag.
fn check_flag(source: &Source, path: &[String], flag: &Flag) -> Option<Diagnostic> {
    let variant_path = |name: &str| [path, &["variants".to_owned(), name.to_owned()]].concat();
    if let Some((first_name, first)) = flag.variants.first() {
        let first_kind = Kind::of(first);
        for (name, value) in &flag.variants {
            match (Kind::of(value), first_kind) {
                (None, _) => {
                    let message = format!(
                        "variant `{name}` is {}: a variant is a boolean, string, number or object",
                        if value.is_null() { "null" } else { "an array" }
                    );
                    return Some(at(source, &variant_path(name), false, message));
                }
                (Some(kind), Some(first_kind)) if kind != first_kind => {
                    let message = format!(
                        "variant `{name}` is a {}, but `{first_name}` is a {}: all variants of a flag have one type",
                        kind.as_str(),
                        first_kind.as_str()
                    );
                    return Some(at(source, &variant_path(name), false, message));
                }
                _ => {}
            }
        }
    }
    if let Some(default) = &flag.default_variant
        && !flag.variants.contains_key(default)
    {
        let default_path = [path, &["defaultVariant".to_owned()]].concat();
        let mut diagnostic = at(
            source,
            &default_path,
            false,
            format!("default variant `{default}` is not one of the flag's variants"),
        );
        if let Some(suggestion) = did_you_mean(default, flag.variants.keys().map(String::as_str)) {
            diagnostic = diagnostic.note(format!("did you mean `{suggestion}`?"));
        }
        let names: Vec<String> = flag.variants.keys().map(|k| format!("`{k}`")).collect();
        return Some(diagnostic.note(format!("the variants are {}", names.join(", "))));
    }
    None
}

/// Every `$ref` in the flags' targeting and in the evaluators must name an evaluator, and no
/// evaluator may reach itself.
fn check_references(
    source: &Source,
    document: &Value,
    evaluators: &Map<String, Value>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut rules: Vec<(Vec<String>, &Value)> = Vec::new();
    if let Some(flags) = document.get("flags").and_then(Value::as_object) {
        for (key, flag) in flags {
            if let Some(targeting) = flag.get("targeting") {
                rules.push((
                    vec!["flags".into(), key.clone(), "targeting".into()],
                    targeting,
                ));
            }
        }
    }
    for (name, body) in evaluators {
        rules.push((vec!["$evaluators".into(), name.clone()], body));
        if evaluators::cycles(name, evaluators) {
            diagnostics.push(at(
                source,
                &["$evaluators".to_owned(), name.clone()],
                true,
                format!("evaluator `{name}` refers back to itself through `$ref`"),
            ));
        }
    }
    let mut budget = evaluators::MAX_FILE_NODES;
    for (base, rule) in rules {
        if evaluators::resolve(rule, evaluators, &mut budget).is_none() {
            diagnostics.push(at(
                source,
                &base,
                false,
                format!(
                    "its `$ref`s chain more than {} evaluators deep or grow the rule past {} nodes",
                    evaluators::MAX_CHAIN,
                    evaluators::MAX_NODES
                ),
            ));
        }
        for (below, name) in evaluators::references(rule) {
            if evaluators.contains_key(&name) {
                continue;
            }
            let path = [base.as_slice(), &below, &["$ref".to_owned()]].concat();
            let mut diagnostic = at(
                source,
                &path,
                false,
                format!("`$ref` names evaluator `{name}`, which `$evaluators` does not define"),
            );
            if let Some(suggestion) = did_you_mean(&name, evaluators.keys().map(String::as_str)) {
                diagnostic = diagnostic.note(format!("did you mean `{suggestion}`?"));
            }
            diagnostics.push(diagnostic);
        }
    }
}

/// An error located at the value (or the key) at `path`, or at the file's start if the path
/// cannot be found.
fn at(source: &Source, path: &[String], at_key: bool, message: String) -> Diagnostic {
    let span = locate(&source.text, path).map_or(0..1, |found| match found.key {
        Some(key) if at_key => key,
        _ => found.value,
    });
    // Underline the first line of a value that spans several.
    let text = source.text.get(span.clone()).unwrap_or_default();
    let first_line = text.lines().next().unwrap_or_default();
    let len = first_line.chars().count().max(1);
    Diagnostic::error(source.location(span.start, len), message)
}

fn syntax_error(source: &Source, error: &serde_json::Error) -> Diagnostic {
    // serde_json counts lines from 1 and columns from 1 in bytes; 0 at the very end.
    let line_start: usize = source
        .text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + error.column().saturating_sub(1)).min(source.text.len());
    // serde_json counts columns in bytes, up to the last byte it read: the start of that
    // character is where to point.
    while !source.text.is_char_boundary(offset) {
        offset -= 1;
    }
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head);
    Diagnostic::error(source.location(offset, 1), format!("not JSON: {message}"))
}
