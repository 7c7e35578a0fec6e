//! `dozen config`: list, get, set, unset and diff the config of environments.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::context::{Context, Inspection, print};
use crate::app::env_edit::render_assignment;
use crate::app::env_file::{EnvFile, is_valid_key};
use crate::app::environment::Config;
use crate::cli::{ConfigAction, ConfigArgs};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::exit_code;
use crate::fsutil::write_atomic;
use crate::secret::REDACTED;
use crate::source::Source;

pub(super) fn run(context: &Context, args: &ConfigArgs) -> Result<i32, Error> {
    match &args.action {
        None => list(context, args),
        Some(ConfigAction::Get { key }) => get(context, args, key),
        Some(ConfigAction::Set { assignments }) => set(context, assignments),
        Some(ConfigAction::Unset { keys }) => unset(context, keys),
        Some(ConfigAction::Diff {
            first,
            second,
            exit_code,
        }) => diff(context, args, first, second, *exit_code),
    }
}

fn to_json(value: &Value) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::failed(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// What a value not revealed is shown as: its digest keyed by the store's key, read only
/// then (`--reveal` needs no store).
fn digester(app: &crate::app::App, reveal: bool) -> Result<impl Fn(&str) -> String, Error> {
    let digests = if reveal {
        None
    } else {
        Some(super::context::value_digests(app)?)
    };
    Ok(move |value: &str| {
        digests
            .as_ref()
            .map(|d| d.digest(value))
            .unwrap_or_default()
    })
}

fn list(context: &Context, args: &ConfigArgs) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let vars = &inspection.environment.config.vars;
    let digest = digester(&inspection.app, args.reveal)?;
    if args.json {
        let object: serde_json::Map<String, Value> = vars
            .iter()
            .map(|(key, var)| {
                let value = if args.reveal {
                    json!(var.value)
                } else {
                    json!({ "digest": digest(&var.value), "file": var.file, "line": var.line })
                };
                (key.clone(), value)
            })
            .collect();
        print(&to_json(&Value::Object(object))?)?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = String::new();
    if args.reveal {
        for (key, var) in vars {
            let _ = writeln!(out, "{}", render_assignment(key, &var.value));
        }
    } else {
        let paint = context.paint_out();
        let width = vars.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (key, var) in vars {
            let _ = writeln!(
                out,
                "{key:<width$}  {REDACTED} {}  {}",
                digest(&var.value),
                paint.dim(&format!("{}:{}", var.file, var.line))
            );
        }
    }
    if vars.is_empty() && !context.quiet {
        eprintln!("no keys defined for `{}`", inspection.environment.name);
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

fn get(context: &Context, args: &ConfigArgs, key: &str) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let Some(var) = inspection.environment.config.vars.get(key) else {
        return Err(Error::failed(format!(
            "`{key}` is not set in `{}`",
            inspection.environment.name
        ))
        .hint(format!("set it with `dozen config set {key}=VALUE`")));
    };
    if args.json {
        print(&to_json(&json!({ key: var.value }))?)?;
    } else {
        print(&format!("{}\n", var.value))?;
    }
    Ok(exit_code::SUCCESS)
}

/// Reads the env file `config set`/`unset` edit; a missing file is an empty one.
fn load_file_to_edit(
    context: &Context,
    inspection: &Inspection,
) -> Result<(EnvFile, std::path::PathBuf, bool), Error> {
    let target = inspection
        .app
        .env_file_to_edit(context.environment.as_deref());
    let (text, exists) = match std::fs::read(&target.path) {
        Ok(bytes) => {
            let source = Source::from_bytes(&target.display, &bytes).map_err(|location| {
                Error::InvalidApp(vec![Diagnostic::error(location, "not valid UTF-8")])
            })?;
            (source.text, true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(error) => return Err(Error::io(format!("cannot read {}", target.display), error)),
    };
    let (file, problems) = EnvFile::parse(Source::new(target.display, text));
    let errors: Vec<_> = problems.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(Error::InvalidApp(errors));
    }
    Ok((file, target.path, exists))
}

/// Writes the env file: through a symlink to the file it names (the link stays a link:
/// issue 31, finding 25).
fn save(file: &EnvFile, path: &std::path::Path) -> Result<(), Error> {
    write_atomic(&through_links(path), file.source.text.as_bytes(), 0o600)
        .map_err(|error| Error::io(format!("cannot write {}", file.source.path), error))
}

/// The file a path names once every symlink on the way is followed (at most 40, as the
/// kernel follows), existing or not.
fn through_links(path: &std::path::Path) -> std::path::PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&path) else {
            break;
        };
        path = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    path
}

/// `config set` and `unset` read, change and write the env file under the store's config
/// lock: two at once never lose each other's change (issue 31, finding 14).
fn edit_lock(inspection: &Inspection) -> Result<std::fs::File, Error> {
    let store = super::context::open_store(&inspection.app)?;
    let lock = crate::store::open_lock(&store, "config.lock")
        .map_err(|e| Error::io("cannot lock the env files", e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io("cannot lock the env files", e.into()))?;
    Ok(lock)
}

fn set(context: &Context, assignments: &[String]) -> Result<i32, Error> {
    let mut pairs = Vec::new();
    for assignment in assignments {
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(Error::usage(format!("`{assignment}` is not an assignment"))
                .hint("write KEY=VALUE"));
        };
        if !is_valid_key(key) {
            return Err(Error::usage(format!("invalid key `{key}`"))
                .hint("keys are letters, digits and `_`, not starting with a digit"));
        }
        if value.contains('\0') {
            return Err(Error::usage(format!(
                "the value of `{key}` contains a NUL character"
            )));
        }
        pairs.push((key, value));
    }
    let inspection = Inspection::valid_config(context, context.environment())?;
    let _lock = edit_lock(&inspection)?;
    let (mut file, path, existed) = load_file_to_edit(context, &inspection)?;
    for (key, value) in &pairs {
        file.set(key, value);
    }
    save(&file, &path)?;
    if !context.quiet {
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        eprintln!("set {} in {}", keys.join(", "), file.source.path);
    }
    if !existed {
        keep_out_of_git(context, &path, &file.source.path)?;
    }
    Ok(exit_code::SUCCESS)
}

/// A new env file that git would track gets a line in the `.gitignore` beside it: the next
/// `git add .` must not commit the secrets `config set` just wrote.
fn keep_out_of_git(context: &Context, path: &std::path::Path, shown: &str) -> Result<(), Error> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    if crate::git::would_track(dir, &name) != Some(true) {
        return Ok(());
    }
    let ignore = dir.join(".gitignore");
    let mut text = match std::fs::read_to_string(&ignore) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(format!("cannot read {}", ignore.display()), e)),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('/');
    text.push_str(&name);
    text.push('\n');
    crate::fsutil::write_atomic(&ignore, text.as_bytes(), 0o644)
        .map_err(|e| Error::io(format!("cannot write {}", ignore.display()), e))?;
    if !context.quiet {
        let beside = shown.strip_suffix(name.as_ref()).unwrap_or_default();
        eprintln!(
            "added /{name} to {beside}.gitignore: git would have tracked {shown}, which holds secrets"
        );
    }
    Ok(())
}

fn unset(context: &Context, keys: &[String]) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let _lock = edit_lock(&inspection)?;
    let (mut file, path, exists) = load_file_to_edit(context, &inspection)?;
    let mut removed = Vec::new();
    let mut absent = Vec::new();
    for key in keys {
        if file.unset(key) {
            removed.push(key.as_str());
        } else {
            absent.push(key.as_str());
        }
    }
    if exists && !removed.is_empty() {
        save(&file, &path)?;
    }
    if !context.quiet {
        if !removed.is_empty() {
            eprintln!("unset {} in {}", removed.join(", "), file.source.path);
        }
        if !absent.is_empty() {
            eprintln!("not set in {}: {}", file.source.path, absent.join(", "));
        }
    }
    Ok(exit_code::SUCCESS)
}

/// How two environments' configs compare.
struct Comparison<'a> {
    only_first: Vec<&'a str>,
    only_second: Vec<&'a str>,
    different: Vec<&'a str>,
    same: Vec<&'a str>,
}

fn compare<'a>(first: &'a Config, second: &'a Config) -> Comparison<'a> {
    let mut comparison = Comparison {
        only_first: vec![],
        only_second: vec![],
        different: vec![],
        same: vec![],
    };
    for (key, var) in &first.vars {
        match second.vars.get(key) {
            None => comparison.only_first.push(key),
            Some(other) if other.value == var.value => comparison.same.push(key),
            Some(_) => comparison.different.push(key),
        }
    }
    comparison.only_second = second
        .vars
        .keys()
        .filter(|k| !first.vars.contains_key(*k))
        .map(String::as_str)
        .collect();
    comparison
}

fn diff(
    context: &Context,
    args: &ConfigArgs,
    first: &str,
    second: &str,
    exit_code_flag: bool,
) -> Result<i32, Error> {
    for name in [first, second] {
        if !crate::app::name::is_valid_name(name) {
            return Err(Error::usage(format!("invalid environment name `{name}`")));
        }
    }
    let a = Inspection::valid_config(context, first)?;
    let b = Inspection::valid_config(context, second)?;
    let digest = digester(&a.app, args.reveal)?;
    let (ca, cb) = (&a.environment.config, &b.environment.config);
    let c = compare(ca, cb);
    let shown = |config: &Config, key: &str| {
        let value = &config.vars[key].value;
        if args.reveal {
            value.clone()
        } else {
            digest(value)
        }
    };
    if args.json {
        let mut only = IndexMap::new();
        only.insert(first, &c.only_first);
        only.insert(second, &c.only_second);
        let different: Vec<Value> = c
            .different
            .iter()
            .map(|key| json!({ "key": key, first: shown(ca, key), second: shown(cb, key) }))
            .collect();
        let report = json!({
            "environments": [first, second],
            "only": only,
            "different": different,
            "same": c.same,
        });
        print(&to_json(&report)?)?;
    } else {
        let paint = context.paint_out();
        let mut out = String::new();
        for key in &c.only_first {
            let _ = writeln!(out, "{} {key}", paint.error(&format!("only in {first}:")));
        }
        for key in &c.only_second {
            let _ = writeln!(out, "{} {key}", paint.good(&format!("only in {second}:")));
        }
        for key in &c.different {
            let _ = writeln!(
                out,
                "{} {key} ({first} {}, {second} {})",
                paint.warning("differs:"),
                shown(ca, key),
                shown(cb, key)
            );
        }
        if context.verbose > 0 {
            for key in &c.same {
                let _ = writeln!(out, "same: {key}");
            }
        }
        if out.is_empty() && !context.quiet {
            out = format!("{first} and {second} define the same keys with the same values\n");
        }
        print(&out)?;
    }
    let differs = !(c.only_first.is_empty() && c.only_second.is_empty() && c.different.is_empty());
    Ok(if exit_code_flag && differs {
        exit_code::FAILURE
    } else {
        exit_code::SUCCESS
    })
}
