//! `dozen scale`, `ps`, `restart` and `stop`: clients of the running formation's control socket
//! (docs/control.md).

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::json;

use super::context::{Context, Inspection, print};
use crate::app::App;
use crate::app::formation::Formation;
use crate::cli::{PsArgs, ScaleArgs, TargetArgs};
use crate::control::{self, ClientError, Op, Request, Response};
use crate::error::Error;
use crate::exit_code;
use crate::store::history;

pub(super) fn store_of(context: &Context) -> Result<(App, std::path::PathBuf), Error> {
    let (app, _) = App::load(&context.locator);
    let store = super::context::open_store(&app)?;
    Ok((app, store))
}

pub(super) fn ask(store: &std::path::Path, op: Op) -> Result<Option<Response>, Error> {
    match control::request(
        store,
        &Request {
            v: control::VERSION,
            op,
        },
    ) {
        Ok(response) => Ok(Some(response)),
        Err(ClientError::NotRunning) => Ok(None),
        Err(error) => Err(Error::failed(error.to_string())),
    }
}

/// The run's refusal as dozen's error: exit 2 for a bad request, 1 otherwise.
fn refusal(response: Response) -> Error {
    let message = response.error.unwrap_or_default();
    if response.usage {
        Error::usage(message)
    } else {
        Error::failed(message)
    }
}

fn formation_json(counts: &IndexMap<String, u32>, running: bool) -> String {
    let value = json!({ "running": running, "formation": counts });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).expect("serializable")
    )
}

pub(super) fn scale(context: &Context, args: &ScaleArgs) -> Result<i32, Error> {
    let changes = &args.changes;
    let (_, store) = store_of(context)?;
    let op = if changes.is_empty() {
        Op::Ps
    } else {
        Op::Scale {
            changes: changes.clone(),
        }
    };
    if let Some(response) = ask(&store, op)? {
        if !response.ok {
            return Err(refusal(response));
        }
        if !changes.is_empty() {
            let _ = history::scaled(&store, changes, &response.formation, true);
        }
        let formation = Formation {
            counts: response.formation,
        };
        print(&if args.json {
            formation_json(&formation.counts, true)
        } else {
            format!("{}\n", formation.describe())
        })?;
        if let Some(why) = response.not_stored {
            return Err(Error::failed(format!(
                "the running formation changed, but it could not be stored ({why}): the next `dozen run` starts with the counts stored before"
            )));
        }
        if args.wait && !changes.is_empty() {
            return wait_until(context, &store, "the scale", settled);
        }
        return Ok(exit_code::SUCCESS);
    }
    // Nothing running: the stored formation (or the one `dozen run` would use) changes.
    let inspection = Inspection::valid(context, context.environment())?;
    let procfile = inspection
        .app
        .procfile
        .as_ref()
        .ok_or_else(|| Error::usage("no Procfile"))?;
    // Held until the new counts are stored and logged.
    let _lock = crate::store::formation::edit_lock(&store)
        .map_err(|e| Error::io("cannot lock the stored formation", e))?;
    let stored = crate::store::formation::load(&store).map_err(|e| Error::failed(e.to_string()))?;
    let current = Formation::resolve(
        procfile,
        &inspection.app.manifest,
        None,
        stored.as_ref(),
        &[],
    )
    .map_err(|e| Error::usage(e.to_string()))?;
    let names: Vec<&str> = procfile.names().collect();
    let next = current
        .scaled(&names, changes)
        .map_err(|e| Error::usage(e.to_string()))?;
    if !changes.is_empty() {
        crate::store::formation::save(&store, &next.counts)
            .map_err(|e| Error::io("cannot store the formation", e))?;
        let _ = history::scaled(&store, changes, &next.counts, false);
        if !context.quiet {
            eprintln!("no `dozen run` is running this app: stored for the next one");
        }
    }
    print(&if args.json {
        formation_json(&next.counts, false)
    } else {
        format!("{}\n", next.describe())
    })?;
    Ok(exit_code::SUCCESS)
}

/// `dozen restart [TARGET]`: a rolling restart of the running formation.
pub(super) fn restart(context: &Context, args: &TargetArgs) -> Result<i32, Error> {
    let op = Op::Restart {
        target: args.target.clone(),
    };
    let (store, response) = targeted(context, "restart", op, args.target.as_deref())?;
    if !args.wait {
        return Ok(exit_code::SUCCESS);
    }
    match response
        .roll
        .filter(|r| r.kind == control::RollKind::Restart)
    {
        Some(roll) => wait_for_roll(context, &store, roll.seq),
        // Nothing to restart (every target was already in a roll): nothing to wait for.
        None => Ok(exit_code::SUCCESS),
    }
}

/// `dozen stop [TARGET]`: instances stopped until restarted or scaled.
pub(super) fn stop(context: &Context, args: &TargetArgs) -> Result<i32, Error> {
    let op = Op::Stop {
        target: args.target.clone(),
    };
    let (store, _) = targeted(context, "stop", op, args.target.as_deref())?;
    if !args.wait {
        return Ok(exit_code::SUCCESS);
    }
    let target = args.target.clone();
    wait_until(context, &store, "the stop", move |status| {
        let targeted = |name: &str| {
            target
                .as_deref()
                .is_none_or(|t| name == t || name.rsplit_once('.').is_some_and(|(ty, _)| ty == t))
        };
        let busy = status.instances.iter().any(|i| {
            targeted(&i.name)
                && matches!(
                    i.state,
                    control::InstanceState::Stopping
                        | control::InstanceState::Ready
                        | control::InstanceState::Running
                        | control::InstanceState::Starting
                )
        });
        (!busy).then_some(Ok(()))
    })
}

/// How often a waiting client looks at `dozen ps`.
pub(super) const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Polls the run until `done` gives an outcome: `Ok` (exit 0) or `Err(why)` (exit 1). A run
/// that ends meanwhile is a failure of what was waited for.
fn wait_until(
    context: &Context,
    store: &std::path::Path,
    what: &str,
    done: impl Fn(&Response) -> Option<Result<(), Unsettled>>,
) -> Result<i32, Error> {
    loop {
        let Some(status) = ask(store, Op::Ps)? else {
            return Err(Error::failed(format!(
                "the `dozen run` ended before {what} was done"
            )));
        };
        match done(&status) {
            Some(Ok(())) => {
                if !context.quiet {
                    eprintln!("{what} is done");
                }
                return Ok(exit_code::SUCCESS);
            }
            Some(Err(why)) => return Err(Error::failed(format!("{what} failed: {why}"))),
            None => std::thread::sleep(WAIT_POLL),
        }
    }
}

/// An instance that failed what was waited for: it crashed or is backing off.
#[derive(Debug, thiserror::Error)]
#[error("{name} is {state}")]
pub(super) struct Unsettled {
    name: String,
    state: control::InstanceState,
}

/// A scale has settled when no instance is starting, waiting or stopping; one that crashed
/// or is backing off fails it.
fn settled(status: &Response) -> Option<Result<(), Unsettled>> {
    if let Some(bad) = status.instances.iter().find(|i| {
        matches!(
            i.state,
            control::InstanceState::Crashed | control::InstanceState::BackingOff
        )
    }) {
        return Some(Err(Unsettled {
            name: bad.name.clone(),
            state: bad.state,
        }));
    }
    let moving = status.instances.iter().any(|i| {
        matches!(
            i.state,
            control::InstanceState::Starting
                | control::InstanceState::Waiting
                | control::InstanceState::Stopping
        )
    });
    (!moving).then_some(Ok(()))
}

/// Waits for the run's restart or move number `seq` to end: exit 0 when it is done, 1 when
/// an instance did not come back.
pub(super) fn wait_for_roll(
    context: &Context,
    store: &std::path::Path,
    seq: u64,
) -> Result<i32, Error> {
    match roll_outcome(store, seq)? {
        RollEnd::Done => {
            if !context.quiet {
                eprintln!("done: every instance is back and ready");
            }
            Ok(exit_code::SUCCESS)
        }
        RollEnd::Failed(why) | RollEnd::Gone(why) => Err(Error::failed(why)),
    }
}

/// How a restart or move that was waited for ended.
pub(super) enum RollEnd {
    Done,
    /// An instance did not come back (named).
    Failed(String),
    /// The run ended, or began another roll, before this one ended.
    Gone(String),
}

/// Polls until roll `seq` ends.
pub(super) fn roll_outcome(store: &std::path::Path, seq: u64) -> Result<RollEnd, Error> {
    loop {
        let Some(status) = ask(store, Op::Ps)? else {
            return Ok(RollEnd::Gone(
                "the `dozen run` ended before it was done".to_owned(),
            ));
        };
        match status.roll.filter(|r| r.seq == seq) {
            Some(roll) if roll.ended() => {
                return Ok(if roll.state == control::RollState::Done {
                    RollEnd::Done
                } else {
                    RollEnd::Failed(match (roll.reason, roll.failed) {
                        (Some(reason), _) => reason,
                        (None, Some(name)) => format!("{name} did not become ready"),
                        (None, None) => "an instance did not come back".to_owned(),
                    })
                });
            }
            Some(_) => std::thread::sleep(WAIT_POLL),
            None => {
                return Ok(RollEnd::Gone(
                    "the run began another restart or move".to_owned(),
                ));
            }
        }
    }
}

/// Sends a request about some instances to the run, logs it as `what`, and prints what the
/// run says it did.
fn targeted(
    context: &Context,
    what: &str,
    op: Op,
    target: Option<&str>,
) -> Result<(std::path::PathBuf, Response), Error> {
    let (_, store) = store_of(context)?;
    let Some(response) = ask(&store, op)? else {
        return Err(Error::failed("no `dozen run` is running this app")
            .hint("start it with `dozen run` (or `dozen run --dev`)"));
    };
    if !response.ok {
        return Err(refusal(response));
    }
    let _ = history::append(&store, what, json!({ "target": target }));
    if !context.quiet {
        if let Some(message) = &response.message {
            eprintln!("{message}");
        }
    }
    Ok((store, response))
}

/// `dozen canary [status|promote|abort]`.
pub(super) fn canary(context: &Context, args: &crate::cli::CanaryArgs) -> Result<i32, Error> {
    use crate::cli::CanaryVerb;
    use crate::control::CanaryAction;
    let (_, store) = store_of(context)?;
    let action = match args.action {
        CanaryVerb::Status => CanaryAction::Status,
        CanaryVerb::Promote => CanaryAction::Promote,
        CanaryVerb::Abort => CanaryAction::Abort,
    };
    let Some(response) = ask(&store, Op::Canary { action })? else {
        return Err(Error::failed("no `dozen run` is running this app")
            .hint("start it with `dozen run`, then release with --strategy canary"));
    };
    if !response.ok {
        return Err(Error::failed(response.error.unwrap_or_default()));
    }
    if args.action != CanaryVerb::Status {
        let _ = history::append(
            &store,
            "canary",
            json!({ "action": format!("{:?}", args.action).to_lowercase() }),
        );
        if let (false, Some(message)) = (context.quiet, &response.message) {
            eprintln!("{message}");
        }
    }
    let Some(status) = &response.canary else {
        if args.json {
            print("{\"canary\": null}\n")?;
        }
        return Ok(exit_code::SUCCESS);
    };
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({ "canary": status })).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let plan = &status.plan;
    let p99 = |r: &crate::control::SideReport| {
        r.p99_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms"))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "canary {}: {}, step {} of {} ({}% of requests), {:.0}s left in the step",
        status.release,
        status.state,
        status.step,
        status.steps.len(),
        status.weight_percent,
        std::time::Duration::from_millis(status.step_left_ms).as_secs_f64()
    );
    let _ = writeln!(
        out,
        "{:<8}{:>10}{:>8}{:>12}{:>12}",
        "SIDE", "REQUESTS", "ERRORS", "ERROR RATE", "P99"
    );
    for (name, side) in [("stable", &status.stable), ("canary", &status.canary)] {
        let _ = writeln!(
            out,
            "{name:<8}{:>10}{:>8}{:>11.2}%{:>12}",
            side.requests,
            side.errors,
            side.error_rate,
            p99(side)
        );
    }
    let absolute = plan
        .max_p99_ms
        .map_or_else(String::new, |ms| format!(", at most {ms} ms"));
    let _ = writeln!(
        out,
        "aborts when the canary's error rate is over {}% or {} points over stable's, or its p99 over {}x stable's{absolute}; judged after {} requests",
        plan.max_error_rate, plan.max_error_rate_increase, plan.max_p99_ratio, plan.min_requests
    );
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

/// A line per drain in `dozen ps`.
fn drain_lines(out: &mut String, logs: Option<&crate::control::LogsStatus>) {
    for drain in logs.iter().flat_map(|l| &l.drains) {
        let _ = writeln!(
            out,
            "drain {} {}: {}, {} sent, {} dropped, {} queued{}",
            drain.id,
            drain.url,
            drain.state,
            drain.sent,
            drain.dropped,
            drain.queued,
            drain
                .last_error
                .as_ref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
    }
}

pub(super) fn ps(context: &Context, args: &PsArgs) -> Result<i32, Error> {
    let (_, store) = store_of(context)?;
    let response = ask(&store, Op::Ps)?;
    // The latest deploy, settled (a run that died mid-deploy leaves one to report).
    let latest = super::deploys::latest(&store)?;
    let deploy = latest.as_ref();
    let Some(response) = response else {
        if args.json {
            let mut value = json!({ "running": false, "formation": {}, "instances": [] });
            if let Some(record) = deploy {
                value["deploy"] = super::deploys::value(record, false);
            }
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&value).expect("serializable")
            ))?;
        } else {
            eprintln!("no `dozen run` is running this app");
            if let Some(record) = deploy {
                eprintln!("last {}", super::deploys::line(record));
            }
        }
        return Ok(exit_code::FAILURE);
    };
    if !response.ok {
        return Err(Error::failed(response.error.unwrap_or_default()));
    }
    if args.json {
        let mut value = json!({
            "running": true,
            "formation": response.formation,
            "instances": response.instances,
        });
        if let Some(router) = &response.router {
            value["router"] = json!(router);
        }
        if !response.autoscale.is_empty() {
            value["autoscale"] = json!(response.autoscale);
        }
        if let Some(logs) = &response.logs {
            value["logs"] = json!(logs);
        }
        if !response.limits.is_empty() {
            value["limits"] = json!(response.limits);
        }
        if !response.schedules.is_empty() {
            value["schedules"] = json!(response.schedules);
        }
        if let Some(ofrep) = &response.ofrep {
            value["ofrep"] = json!(ofrep);
        }
        if let Some(record) = deploy {
            value["deploy"] = super::deploys::value(record, false);
        }
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let mut out = String::new();
    instance_table(&mut out, &response.instances);
    limit_lines(&mut out, &response.limits);
    if let Some(router) = &response.router {
        router_lines(&mut out, router);
    }
    drain_lines(&mut out, response.logs.as_ref());
    schedule_lines(&mut out, &response.schedules);
    if let Some(ofrep) = &response.ofrep {
        let _ = writeln!(out, "\nflags served over OFREP at {ofrep} (OFREP_ENDPOINT)");
    }
    if let Some(record) = deploy {
        let _ = writeln!(out, "\nlast {}", super::deploys::line(record));
    }
    for a in &response.autoscale {
        let measured = a
            .measured
            .map_or_else(|| "not measured yet".to_owned(), |m| format!("now {m:.1}"));
        let _ = writeln!(
            out,
            "\nautoscale {}: {}–{} instances, {} per instance target {} ({measured}); down after {}s of less",
            a.type_name, a.min, a.max, a.metric, a.target, a.scale_down_window_s
        );
        if let Some(decision) = &a.last_decision {
            let _ = writeln!(out, "  last change: {decision}");
        }
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

/// Each scheduled job: its cron, its next fire, what its last one did.
fn schedule_lines(out: &mut String, schedules: &[control::ScheduleStatus]) {
    if !schedules.is_empty() {
        out.push('\n');
    }
    for s in schedules {
        let zone = s.timezone.as_deref().unwrap_or("local time");
        let next = s
            .next
            .as_deref()
            .map_or_else(|| "never again".to_owned(), |n| n.replace('T', " "));
        let running = if s.running > 0 {
            format!("; {} running", s.running)
        } else {
            String::new()
        };
        let last = s.last.as_ref().map_or_else(
            || "not run yet".to_owned(),
            |l| {
                let mut words = vec![l.outcome.as_str().to_owned()];
                if let Some(code) = l.exit_code {
                    words.push(match &l.signal {
                        Some(signal) => format!("({signal})"),
                        None => format!("(exit {code})"),
                    });
                }
                if let Some(ms) = l.duration_ms {
                    #[allow(clippy::cast_precision_loss)]
                    words.push(format!("in {:.1}s", ms as f64 / 1000.0));
                }
                words.push(format!("due {}", l.due.replace('T', " ")));
                words.join(" ")
            },
        );
        let _ = writeln!(
            out,
            "schedule.{}  \"{}\" ({zone}, {})  next {next}{running}  last: {last}",
            s.name, s.cron, s.concurrency
        );
    }
}

/// The instances as a table, a row each (a SIDE column while a deploy has two sides).
fn instance_table(out: &mut String, instances: &[control::InstanceStatus]) {
    let mut header = [
        "NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "HEALTH", "CPU", "MEM", "RELEASE",
        "SIDE",
    ]
    .map(str::to_owned)
    .to_vec();
    // While a deploy has two sides (two rows share each name), which side each row is on.
    let sided = instances.iter().any(|i| i.side.is_some());
    if !sided {
        header.pop();
    }
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|i| {
            [
                i.name.clone(),
                i.state.to_string(),
                i.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                i.port.to_string(),
                i.uptime_ms.map_or_else(|| "-".to_owned(), uptime),
                i.restarts.to_string(),
                i.health.to_string(),
                i.cpu_percent
                    .map_or_else(|| "-".to_owned(), |c| format!("{c:.1}%")),
                i.rss_bytes
                    .map_or_else(|| "-".to_owned(), crate::app::limits::human),
                i.release.clone(),
                i.side
                    .map_or_else(|| "-".to_owned(), |side| side.to_string()),
            ]
            .into_iter()
            .take(header.len())
            .collect::<Vec<String>>()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if rows.is_empty() {
        out.push_str("(the formation is empty)\n");
    }
}

/// Each type's limits and what holds them (`web limits: memory 512M (watch), cpu 0.5 (not
/// capped), open_files 4096 (rlimit)`).
fn limit_lines(out: &mut String, limits: &[control::TypeLimits]) {
    use crate::app::limits::{Memory, format_decimal};
    let by = |mechanism: control::Mechanism| match mechanism {
        control::Mechanism::Rlimit => "rlimit",
        control::Mechanism::Watch => "watched: R14 over it, R15 restart over twice it",
        control::Mechanism::None => "not capped",
    };
    for limit in limits {
        let mut parts = Vec::new();
        if let Some(memory) = limit.memory {
            let memory_by = by(memory.mechanism);
            parts.push(format!("memory {} ({memory_by})", Memory(memory.value)));
        }
        if let Some(cpu) = limit.cpu {
            let cpu_by = by(cpu.mechanism);
            parts.push(format!("cpu {} ({cpu_by})", format_decimal(cpu.value)));
        }
        if let Some(files) = limit.open_files {
            let files_by = by(files.mechanism);
            parts.push(format!("open_files {} ({files_by})", files.value));
        }
        let _ = writeln!(out, "\n{} limits: {}", limit.type_name, parts.join(", "));
    }
}

/// The router under the instances: where it listens, what it answered itself, and each
/// instance as it sees it.
fn router_lines(out: &mut String, router: &crate::router::Status) {
    let _ = writeln!(
        out,
        "\nrouter  {}://{}  {} requests  502: {}  503: {}  504: {}  retried: {}  connections: {} ({} idle)",
        if router.https { "https" } else { "http" },
        router.listen,
        router.requests,
        router.bad_gateway,
        router.unavailable,
        router.timeout,
        router.retried,
        router.connections,
        router.idle_connections
    );
    if let Some(share) = router.candidate_share {
        let candidate = f64::from(share) / 100.0;
        let _ = writeln!(
            out,
            "  sides: candidate {candidate:.1}% of requests, stable {:.1}%",
            100.0 - candidate
        );
    }
    let ms = |us: Option<u64>| {
        us.map_or_else(
            || "-".to_owned(),
            |us| format!("{}.{}ms", us / 1000, us % 1000 / 100),
        )
    };
    for instance in &router.instances {
        let name = match &instance.side {
            Some(side) => format!("{} ({side})", instance.name),
            None => instance.name.clone(),
        };
        let _ = writeln!(
            out,
            "  {}  {}  {} in flight  {} requests  {} errors  p50 {}  p99 {}",
            name,
            instance.state,
            instance.in_flight,
            instance.requests,
            instance.errors,
            ms(instance.p50_us),
            ms(instance.p99_us)
        );
    }
}

/// `45s`, `3m07s`, `2h05m`.
fn uptime(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes() {
        assert_eq!(uptime(999), "0s");
        assert_eq!(uptime(187_000), "3m07s");
        assert_eq!(uptime(7_500_000), "2h05m");
    }
}
