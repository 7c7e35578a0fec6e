//! An environment: its stack of `.env` files and the config they resolve to.
//!
//! Later files win over earlier ones; interpolation looks up keys defined earlier in the
//! stack first, then the inherited environment.

use std::collections::HashMap;
use std::path::PathBuf;

use indexmap::IndexMap;

use super::env_file::{EnvFile, Value};
use super::interpolation::{EvalError, MAX_VALUE};
use crate::diagnostic::Diagnostic;

pub const DEFAULT: &str = "development";

/// Env file suffixes that are templates for people, not environments.
const NOT_ENVIRONMENTS: [&str; 4] = ["example", "sample", "template", "dist"];

/// One file of an environment's stack.
#[derive(Debug, Clone)]
pub struct EnvFileRef {
    pub path: PathBuf,
    pub display: String,
    pub origin: Origin,
}

/// Why a file is in the stack, which decides whether its absence is an error.
#[derive(Debug, Clone)]
pub enum Origin {
    /// `.env` or `.env.NAME`: used if present.
    Default,
    /// Listed in `dozen.toml` at this location: must exist.
    Manifest(crate::diagnostic::Location),
    /// Named with `-e/--env-file`: must exist.
    Flag,
}

/// A resolved config value and where it was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub value: String,
    pub file: String,
    pub line: usize,
}

/// The keys the env files define, after interpolation, in order of first definition.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub vars: IndexMap<String, Var>,
}

impl Config {
    /// Each key's value, sorted: what a release snapshots and an export writes.
    pub fn values(&self) -> std::collections::BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }
}

/// The inherited environment, as a snapshot (never the live process environment, so that
/// resolution is a pure function of its inputs).
pub type Inherited = HashMap<String, String>;

pub fn inherited_from_process() -> Inherited {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Whether `name` can be an environment read from a `.env.NAME` file.
pub fn is_environment_suffix(name: &str) -> bool {
    super::name::is_valid_name(name) && !NOT_ENVIRONMENTS.contains(&name)
}

/// The environment of a process run from the working tree (`--dev`): the inherited
/// environment with the config over it (files win, as in foreman and honcho), then `extra`.
pub fn dev_process_env(
    inherited: &Inherited,
    config: &Config,
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: IndexMap<String, String> = inherited
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, var) in &config.vars {
        env.insert(key.clone(), var.value.clone());
    }
    for (key, value) in extra {
        env.insert((*key).to_owned(), value.clone());
    }
    env.into_iter().collect()
}

/// Inherited names a process of a release always gets (DESIGN §4): everything else comes
/// from the release's config or `[env] inherit`.
const RELEASE_PASS_THROUGH: [&str; 7] = ["PATH", "HOME", "USER", "LANG", "TERM", "TZ", "TMPDIR"];

/// Does `name` match an `[env] inherit` pattern (`*` matches any run of characters)?
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            if !tail.contains('*') {
                return rest.len() >= tail.len() && rest.ends_with(tail);
            }
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| matches_pattern(tail, &rest[i..]))
        }
    }
}

/// The environment of a process run from a release: exactly the release's config, plus the
/// pass-through names, `LC_*`, and what `[env] inherit` allows, plus `extra`.
pub fn release_process_env(
    inherited: &Inherited,
    config: &std::collections::BTreeMap<String, String>,
    inherit: &[String],
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: IndexMap<String, String> = inherited
        .iter()
        .filter(|(k, _)| {
            RELEASE_PASS_THROUGH.contains(&k.as_str())
                || k.starts_with("LC_")
                || inherit.iter().any(|p| matches_pattern(p, k))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.sort_keys();
    for (key, value) in config {
        env.insert(key.clone(), value.clone());
    }
    for (key, value) in extra {
        env.insert((*key).to_owned(), value.clone());
    }
    env.into_iter().collect()
}

impl Config {
    /// Resolves a stack of parsed files. Errors: `${X:?}` on an unset `X`. Warnings: a key
    /// defined twice in one file, a key that shadows an inherited one.
    pub fn resolve(files: &[EnvFile], inherited: &Inherited) -> (Self, Vec<Diagnostic>) {
        let mut config = Self::default();
        let mut problems = Vec::new();
        let mut budget = Budget::default();
        for file in files {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for entry in &file.entries {
                let (line, _) = file.source.line_col(entry.key_offset);
                let key_location = || {
                    file.source
                        .location(entry.key_offset, entry.key.chars().count())
                };
                if let Some(first) = seen.insert(&entry.key, line) {
                    problems.push(
                        Diagnostic::warning(
                            key_location(),
                            format!("`{}` is defined again; this definition wins", entry.key),
                        )
                        .note(format!("first defined at {}:{first}", file.source.path)),
                    );
                }
                let value = match &entry.value {
                    Value::Inherit => match inherited.get(&entry.key) {
                        Some(value) => value.clone(),
                        None => continue,
                    },
                    Value::Template(template) => {
                        let lookup = |name: &str| {
                            config
                                .vars
                                .get(name)
                                .map(|v| v.value.clone())
                                .or_else(|| inherited.get(name).cloned())
                        };
                        match template.evaluate(&lookup) {
                            Ok(value) => value,
                            Err(EvalError::Required {
                                offset,
                                name,
                                message,
                            }) => {
                                let message = if message.is_empty() {
                                    format!("`{name}` is not set")
                                } else {
                                    format!("`{name}` is not set: {message}")
                                };
                                problems.push(Diagnostic::error(
                                    file.source.location(offset, 1),
                                    message,
                                ));
                                continue;
                            }
                            Err(EvalError::TooLong { .. }) => {
                                problems.push(too_long(&key_location(), &entry.key));
                                continue;
                            }
                        }
                    }
                };
                // Linux caps one environment string, `KEY=value` and its NUL, at 128 KiB.
                if entry.key.len() + 1 + value.len() > MAX_VALUE {
                    problems.push(too_long(&key_location(), &entry.key));
                    continue;
                }
                if entry.value != Value::Inherit
                    && inherited.contains_key(&entry.key)
                    && !config.vars.contains_key(&entry.key)
                {
                    problems.push(Diagnostic::warning(
                        key_location(),
                        format!(
                            "`{}` shadows the inherited environment's `{}`",
                            entry.key, entry.key
                        ),
                    ));
                }
                let cost = exec_cost(&entry.key, &value);
                let previous = config.vars.insert(
                    entry.key.clone(),
                    Var {
                        value,
                        file: file.source.path.clone(),
                        line,
                    },
                );
                let replaced = previous.map_or(0, |p| exec_cost(&entry.key, &p.value));
                if budget.crosses(cost, replaced) {
                    problems.push(too_big(&key_location(), &entry.key, config.vars.len()));
                }
            }
        }
        (config, problems)
    }
}

/// The most config, in bytes as `exec` counts them, a process gets: half of Linux's usual
/// 2 MiB limit on arguments and environment together, leaving the rest to the inherited
/// environment and the command line.
pub const MAX_ENVIRONMENT: usize = 1024 * 1024;

/// What `KEY=value` costs in an `exec`'s environment: the string, its NUL and its pointer.
fn exec_cost(key: &str, value: &str) -> usize {
    key.len() + 1 + value.len() + 1 + std::mem::size_of::<usize>()
}

/// What the config costs a process's `exec` so far, and whether that was said to be too much.
#[derive(Default)]
struct Budget {
    size: usize,
    crossed: bool,
}

impl Budget {
    /// Adds a definition that costs `cost` and replaces one that cost `replaced`; true the
    /// first time the total passes [`MAX_ENVIRONMENT`].
    fn crosses(&mut self, cost: usize, replaced: usize) -> bool {
        self.size = self.size + cost - replaced;
        let first = self.size > MAX_ENVIRONMENT && !self.crossed;
        self.crossed |= first;
        first
    }
}

fn too_big(location: &crate::diagnostic::Location, key: &str, keys: usize) -> Diagnostic {
    Diagnostic::error(
        location.clone(),
        format!(
            "the config grows past {} KiB here, at `{key}`: more than dozen gives a process (the system refuses about 2 MiB of arguments and environment together)",
            MAX_ENVIRONMENT / 1024
        ),
    )
    .note(format!(
        "{keys} keys so far; keep large data in files and put their paths in the config"
    ))
}

fn too_long(location: &crate::diagnostic::Location, key: &str) -> Diagnostic {
    Diagnostic::error(
        location.clone(),
        format!(
            "the value of `{key}` is longer than {MAX_VALUE} bytes with its key, the most a process environment can carry in one variable"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn file(path: &str, text: &str) -> EnvFile {
        EnvFile::parse(Source::new(path, text)).0
    }

    fn inherited(pairs: &[(&str, &str)]) -> Inherited {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn inherit_patterns_and_the_release_environment() {
        assert!(matches_pattern("AWS_*", "AWS_REGION") && !matches_pattern("AWS_*", "MY_AWS"));
        assert!(
            matches_pattern("*_TOKEN", "VAULT_TOKEN")
                && matches_pattern("A*B*C", "AxxBxxC")
                && !matches_pattern("A*B*C", "AxxC")
        );
        assert!(matches_pattern("EXACT", "EXACT") && !matches_pattern("EXACT", "EXACTLY"));
        let inherited = inherited(&[
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("AWS_KEY", "k"),
            ("SHELL_ONLY", "x"),
            ("DB", "from-shell"),
        ]);
        let config: std::collections::BTreeMap<String, String> =
            [("DB".to_owned(), "from-release".to_owned())].into();
        let env = release_process_env(
            &inherited,
            &config,
            &["AWS_*".into()],
            &[("DOZEN_RELEASE", "v3".into())],
        );
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["AWS_KEY", "LC_ALL", "PATH", "DB", "DOZEN_RELEASE"]);
        assert!(env.contains(&("DB".into(), "from-release".into())));
    }

    #[test]
    fn the_whole_config_is_bounded_and_the_error_names_where_it_crosses() {
        let line = |i: usize| format!("KEY_{i:06}={}\n", "v".repeat(100));
        let fits: String = (0..8_000).map(line).collect();
        let (_, problems) = Config::resolve(&[file(".env", &fits)], &Inherited::new());
        assert!(problems.is_empty(), "{problems:?}");
        let over: String = (0..10_000).map(line).collect();
        let (config, problems) = Config::resolve(&[file(".env", &over)], &Inherited::new());
        assert_eq!(problems.len(), 1, "said once: {problems:?}");
        let at = problems[0].location.as_ref().unwrap().line;
        // 120 bytes per key (string, `=`, NUL, pointer): the 8,739th key crosses 1 MiB.
        let crossing = MAX_ENVIRONMENT / exec_cost("KEY_000000", &"v".repeat(100));
        assert_eq!((crossing, at), (8_738, 8_739));
        assert!(
            problems[0].message.contains("`KEY_008738`"),
            "{}",
            problems[0].message
        );
        assert_eq!(config.vars.len(), 10_000);
        // Redefining a key replaces its cost.
        let again = line(1).repeat(12_000);
        let (_, problems) = Config::resolve(&[file(".env", &again)], &Inherited::new());
        assert!(problems.iter().all(|p| !p.message.contains("grows past")));
    }

    #[test]
    fn later_files_win_and_interpolate_from_earlier_ones() {
        let files = [
            file(".env", "HOST=a\nURL=http://$HOST\n"),
            file(".env.production", "HOST=b\nFULL=${URL}/${HOST}\n"),
        ];
        let (config, problems) = Config::resolve(&files, &Inherited::new());
        assert!(problems.is_empty());
        assert_eq!(config.vars["HOST"].value, "b");
        assert_eq!(config.vars["HOST"].file, ".env.production");
        assert_eq!(config.vars["URL"].value, "http://a");
        assert_eq!(config.vars["FULL"].value, "http://a/b");
        let keys: Vec<_> = config.vars.keys().collect();
        assert_eq!(keys, ["HOST", "URL", "FULL"]);
    }

    #[test]
    fn file_keys_come_before_inherited_ones_in_lookup() {
        let files = [file(".env", "A=file\nB=$A-$HOME\nSECRET\nMISSING\n")];
        let (config, _) = Config::resolve(
            &files,
            &inherited(&[("A", "env"), ("HOME", "/h"), ("SECRET", "s3")]),
        );
        assert_eq!(config.vars["B"].value, "file-/h");
        assert_eq!(config.vars["SECRET"].value, "s3");
        assert!(!config.vars.contains_key("MISSING"));
    }

    #[test]
    fn required_duplicates_and_shadowing() {
        let files = [file(
            ".env",
            "PATH=/x\nA=1\nA=2\nB=${NOPE:?set NOPE first}\n",
        )];
        let (config, problems) = Config::resolve(&files, &inherited(&[("PATH", "/usr/bin")]));
        let headlines: Vec<_> = problems.iter().map(Diagnostic::headline).collect();
        assert_eq!(
            headlines,
            [
                ".env:1:1: `PATH` shadows the inherited environment's `PATH`",
                ".env:3:1: `A` is defined again; this definition wins",
                ".env:4:3: `NOPE` is not set: set NOPE first",
            ]
        );
        assert_eq!(config.vars["A"].value, "2");
        assert!(!config.vars.contains_key("B"));
    }
}
