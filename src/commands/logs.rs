//! `dozen logs` and `dozen drains` (docs/logs.md).

use std::fmt::Write as _;

use serde_json::json;

use super::context::{Context, print};
use super::control::{ask, store_of};
use crate::cli::{DrainsAction, DrainsArgs, LogsArgs};
use crate::control::{ClientError, Op};
use crate::error::Error;
use crate::exit_code;
use crate::logs::url::DrainUrl;

pub(super) fn logs(context: &Context, args: &LogsArgs) -> Result<i32, Error> {
    let (_, store) = store_of(context)?;
    if let Some(ps) = &args.ps
        && !valid_ps(ps)
    {
        return Err(Error::usage(format!(
            "`{ps}` is not a process: give a type (web), an instance (web.1) or a schedule (schedule.NAME)"
        )));
    }
    let filter = crate::logs::Filter {
        ps: args.ps.clone(),
        source: args.source,
    };
    let stream = match crate::logs::follow::request(&store, args.num, &filter, args.follow) {
        Ok(stream) => stream,
        Err(ClientError::NotRunning) => {
            return Err(Error::failed("no `dozen run` is running this app")
                .hint("its stream lives as long as the run: start one with `dozen run`"));
        }
        Err(error) => return Err(Error::failed(error.to_string())),
    };
    let output = crate::logs::follow::Output {
        json: args.json,
        color: !args.json && context.paint_out().enabled(),
    };
    crate::logs::follow::print_answer(stream, &output).map_err(|e| Error::failed(e.to_string()))?;
    Ok(exit_code::SUCCESS)
}

/// `web`, `web.1`, `router`, `dozen`, `schedule.NAME`: a name of the stream's processes.
fn valid_ps(ps: &str) -> bool {
    if let Some(schedule) = ps.strip_prefix("schedule.") {
        return crate::app::name::is_valid_name(schedule);
    }
    let (name, index) = ps.split_once('.').unwrap_or((ps, "1"));
    crate::app::name::is_valid_name(name)
        && !index.is_empty()
        && index.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn drains(context: &Context, args: &DrainsArgs) -> Result<i32, Error> {
    let (app, store) = store_of(context)?;
    match &args.action {
        None | Some(DrainsAction::List) => list(&app, &store, args.json),
        Some(DrainsAction::Add { url }) => {
            let text = if url == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_line(&mut text)
                    .map_err(|e| Error::io("cannot read the drain URL from stdin", e))?;
                text
            } else {
                url.clone()
            };
            let digests = super::context::digests_of(&store)?;
            let url = DrainUrl::parse(&text)
                .map_err(|problem| {
                    Error::usage(problem.to_string()).hint(
                        "e.g. dozen drains add syslog+tls://logs.example.com:6514 (or https://…)",
                    )
                })?
                .with_id(&digests);
            crate::store::drains::update(&store, |drains| {
                if drains.iter().any(|d| d.id() == url.id()) {
                    return Err(format!("already a drain: {} {}", url.id(), url.redacted()));
                }
                drains.push(url.clone());
                Ok(())
            })
            .map_err(|e| Error::failed(e.to_string()))?
            .map_err(Error::failed)?;
            changed(context, &store, "added", &url, args.json)
        }
        Some(DrainsAction::Remove { drain }) => {
            let digests = super::context::digests_of(&store)?;
            let removed = crate::store::drains::update(&store, |drains| {
                let by_url = DrainUrl::parse(drain)
                    .ok()
                    .map(|u| u.with_id(&digests).id());
                let matching: Vec<usize> = drains
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| {
                        by_url.as_deref() == Some(d.id().as_str())
                            || (drain.len() >= 4 && d.id().starts_with(drain.as_str()))
                    })
                    .map(|(i, _)| i)
                    .collect();
                match matching.as_slice() {
                    [one] => Ok(drains.remove(*one)),
                    [] => Err(format!("no stored drain `{}`", shown(drain))),
                    _ => Err(format!(
                        "`{drain}` names {} drains: give more of the id",
                        matching.len()
                    )),
                }
            })
            .map_err(|e| e.to_string())
            .and_then(|removed| removed)
            .map_err(|problem| {
                Error::usage(problem).hint("`dozen drains` lists them with their ids")
            })?;
            changed(context, &store, "removed", &removed, args.json)
        }
    }
}

/// What the user typed to name a drain, as it may be shown (a URL redacted).
fn shown(text: &str) -> String {
    DrainUrl::parse(text).map_or_else(|_| text.chars().take(12).collect(), |u| u.redacted())
}

/// Says what changed and has a running `dozen run` apply it.
fn changed(
    context: &Context,
    store: &std::path::Path,
    what: &str,
    url: &DrainUrl,
    json: bool,
) -> Result<i32, Error> {
    let applied = match ask(store, Op::Drains)? {
        None => None,
        Some(response) if response.ok => Some(Ok(())),
        Some(response) => Some(Err(response.error.unwrap_or_default())),
    };
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                what: { "id": url.id(), "url": url.redacted() },
                "running": applied.is_some(),
            }))
            .expect("serializable")
        ))?;
    } else if !context.quiet {
        println!("{what} drain {} {}", url.id(), url.redacted());
    }
    match applied {
        Some(Err(problem)) => Err(Error::failed(format!(
            "stored, but the running `dozen run` could not apply it: {problem}"
        ))),
        Some(Ok(())) => {
            if !context.quiet && !json {
                eprintln!("the running `dozen run` has applied it");
            }
            Ok(exit_code::SUCCESS)
        }
        None => Ok(exit_code::SUCCESS),
    }
}

fn list(app: &crate::app::App, store: &std::path::Path, json: bool) -> Result<i32, Error> {
    let stored = crate::store::drains::load(store).map_err(|e| Error::failed(e.to_string()))?;
    let mut rows: Vec<(String, String, &str)> = stored
        .iter()
        .map(|d| (d.id(), d.redacted(), "stored"))
        .collect();
    for drain in &app.manifest.logs.drains {
        rows.push((
            "-".to_owned(),
            crate::logs::url::redact_text(drain.get_ref()),
            "dozen.toml",
        ));
    }
    if json {
        let drains: Vec<_> = rows
            .iter()
            .map(|(id, url, from)| json!({ "id": id, "url": url, "from": from }))
            .collect();
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({ "drains": drains })).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no drains: add one with `dozen drains add URL`");
        return Ok(exit_code::SUCCESS);
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(2).max(2);
    let mut out = format!("{:<width$}  URL  (FROM)\n", "ID");
    for (id, url, from) in &rows {
        let _ = writeln!(out, "{id:<width$}  {url}  ({from})");
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}
