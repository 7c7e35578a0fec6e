//! `dozen flags set|rollout|enable|disable`: one flag's members edited in place in the
//! definitions file (under a lock, written atomically), recorded in the history, applied by a
//! running `dozen run` before the command returns.

use serde_json::{Value, json};

use super::context::{Context, print};
use super::flags::{FlagsFile, apply, flag};
use crate::app::App;
use crate::cli::{FlagsAction, FlagsArgs};
use crate::error::Error;
use crate::exit_code;
use crate::flags::change::{Change, Percent, summary};

pub(super) fn flags(context: &Context, args: &FlagsArgs) -> Result<i32, Error> {
    context.require_app_dir()?;
    let (app, problems) = App::load(&context.locator);
    // `[flags]` says which file: a manifest with errors (a file outside the app among them)
    // names none, as `dozen run` would refuse it.
    let manifest = app.manifest_source.as_ref().map(|s| s.path.as_str());
    let errors: Vec<_> = problems
        .into_iter()
        .filter(|d| {
            let path = d
                .location
                .as_ref()
                .map(|l| l.path.as_str())
                .or(d.path.as_deref());
            d.is_error() && manifest.is_some() && path == manifest
        })
        .collect();
    if !errors.is_empty() {
        return Err(Error::InvalidApp(errors));
    }
    let file = FlagsFile::of(&app, &context.locator.app_dir());
    let change = match &args.action {
        None | Some(FlagsAction::List) => return super::flags::list(context, &file, args.json),
        Some(FlagsAction::Get {
            key,
            targeting_key,
            context: evaluation,
        }) => {
            return super::flags::get(
                &file,
                key,
                targeting_key.as_deref(),
                evaluation.as_deref(),
                args.json,
            );
        }
        Some(FlagsAction::Set { key, variant }) => (
            key,
            Change::Set {
                variant: variant.clone(),
            },
        ),
        Some(FlagsAction::Rollout {
            key,
            percent,
            variant,
            replace,
        }) => (
            key,
            Change::Rollout {
                percent: percent.parse::<Percent>().map_err(Error::usage)?,
                variant: variant.clone(),
                replace: *replace,
            },
        ),
        Some(FlagsAction::Enable { key }) => (key, Change::Enable),
        Some(FlagsAction::Disable { key }) => (key, Change::Disable),
    };
    let store = super::context::open_store(&app)?;
    edit(context, &file, &store, change.0, &change.1, args.json)
}

fn edit(
    context: &Context,
    file: &FlagsFile,
    store: &std::path::Path,
    key: &str,
    change: &Change,
    json: bool,
) -> Result<i32, Error> {
    if !file.path.exists() {
        return Err(file.missing());
    }
    // One edit at a time: two at once would each write the file as they read it.
    let lock = crate::store::open_lock(store, "flags.lock")
        .and_then(|lock| {
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
            Ok(lock)
        })
        .map_err(|e| Error::io("cannot lock the flags for an edit", e))?;
    let (text, definitions) = file.read()?;
    let before = flag(&definitions, file, key)?.clone();
    let edits = change.edits(key, &before).map_err(|refused| {
        let error = Error::usage(refused.message);
        match refused.hint {
            Some(hint) => error.hint(hint),
            None => error,
        }
    })?;
    let mut edited = text.clone();
    for (member, value) in &edits {
        let object = ["flags", key];
        edited = match value {
            Some(value) => crate::flags::edit::set_member(&edited, &object, member, value),
            None => crate::flags::edit::remove_member(&edited, &object, member),
        }
        .ok_or_else(|| Error::failed(format!("cannot find flag `{key}` in {}", file.shown)))?;
    }
    let after = crate::flags::Definitions::parse(&file.shown, &edited)
        .ok()
        .and_then(|d| d.flags.get(key).cloned())
        .ok_or_else(|| {
            Error::failed(format!(
                "the edit of {} would not check; it was not written",
                file.shown
            ))
        })?;
    let what = describe(change);
    if after == before {
        if json {
            report(key, &what, &before, &after, file, None, true)?;
        } else if !context.quiet {
            eprintln!("{key}: {} already; nothing to change", summary(&after));
        }
        return Ok(exit_code::SUCCESS);
    }
    crate::fsutil::write_atomic(&file.path, edited.as_bytes(), 0o644)
        .map_err(|e| Error::io(format!("cannot write {}", file.shown), e))?;
    drop(lock);
    let applied = apply(store)?;
    let raw = |text: &str| -> Value {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("flags").and_then(|f| f.get(key)).cloned())
            .unwrap_or(Value::Null)
    };
    let _ = crate::store::history::append(
        store,
        "flags",
        json!({
            "flag": key,
            "change": what,
            "now": summary(&after),
            "was": summary(&before),
            "file": file.shown,
            "live": matches!(applied, Some(Ok(_))),
            "before": raw(&text),
            "after": raw(&edited),
        }),
    );
    if json {
        report(key, &what, &before, &after, file, applied.as_ref(), false)?;
    } else if !context.quiet {
        println!("{key}: {} (was {})", summary(&after), summary(&before));
        match &applied {
            None => eprintln!(
                "no `dozen run` is running: {} changed only; a run serves it when it starts",
                file.shown
            ),
            Some(Ok(_)) => eprintln!("the running `dozen run` has applied it"),
            Some(Err(_)) => {}
        }
    }
    match applied {
        Some(Err(problem)) => Err(Error::failed(format!(
            "{} changed, but the running `dozen run` did not apply it: {problem}",
            file.shown
        ))),
        _ => Ok(exit_code::SUCCESS),
    }
}

/// The change in the words of the command that made it.
fn describe(change: &Change) -> String {
    match change {
        Change::Set { variant } => format!("set {variant}"),
        Change::Rollout {
            percent, variant, ..
        } => match variant {
            Some(variant) => format!("rollout {percent} {variant}"),
            None => format!("rollout {percent}"),
        },
        Change::Enable => "enable".to_owned(),
        Change::Disable => "disable".to_owned(),
    }
}

fn report(
    key: &str,
    what: &str,
    before: &crate::flags::Flag,
    after: &crate::flags::Flag,
    file: &FlagsFile,
    applied: Option<&Result<String, String>>,
    unchanged: bool,
) -> Result<(), Error> {
    let out = json!({
        "flag": key,
        "change": what,
        "changed": !unchanged,
        "now": summary(after),
        "was": summary(before),
        "file": file.shown,
        "running": applied.is_some(),
        "applied": matches!(applied, Some(Ok(_))),
    });
    print(&format!(
        "{}\n",
        serde_json::to_string_pretty(&out).expect("serializable")
    ))
}
