//! `dozen audit`, `dozen audit rules`, `dozen audit explain RULE`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::context::{Context, print};
use crate::audit::finding::Severity;
use crate::audit::format::{self, Format};
use crate::audit::rule::Rule;
use crate::audit::suppress::Baseline;
use crate::audit::{self as engine, rules};
use crate::cli::{AuditAction, AuditArgs, FailOn};
use crate::error::Error;
use crate::exit_code;

pub(super) fn run(context: &Context, args: &AuditArgs) -> Result<i32, Error> {
    match &args.action {
        Some(AuditAction::Rules { json }) => list(*json),
        Some(AuditAction::Explain { rule, json }) => explain(rule, *json),
        None => audit(context, args),
    }
}

fn audit(context: &Context, args: &AuditArgs) -> Result<i32, Error> {
    let (root, shown) = if let Some(path) = &args.path {
        (path.clone(), path.display().to_string())
    } else {
        let dir = context.locator.app_dir();
        (dir.working_dir(), dir.shown())
    };
    if !root.is_dir() {
        return Err(Error::usage(format!("`{shown}` is not a directory"))
            .hint("dozen audit PATH takes the app's directory"));
    }
    let baseline = args
        .baseline
        .as_ref()
        .map(|path| Baseline::read(path, &path.display().to_string()))
        .transpose()
        .map_err(|message| {
            Error::usage(format!("cannot use the baseline: {message}"))
                .hint("write one with `dozen audit --write-baseline FILE`")
        })?;
    if args.model {
        return model(context, &root, &shown, args.json);
    }
    let probing = args.probe || args.probe_only;
    if (args.probe_config_strip || args.release) && !probing {
        return Err(Error::usage(
            "--probe-config-strip and --release work with --probe or --probe-only",
        ));
    }
    if probing && std::env::var_os(GUARDED).is_none() {
        return probe_under_guard();
    }
    let (released, env, keys) = probe_environment(context, &root, args.release, probing)?;
    let request = engine::Request {
        root: &root,
        shown,
        max_file_size: args.max_file_size,
        baseline: baseline.as_ref(),
        static_checks: !args.probe_only,
        strict: args.strict,
        probe: probing.then(|| engine::ProbeRequest {
            options: crate::audit::probe::Options {
                boot_timeout: args.boot_timeout,
                grace: args.grace,
                strip_config: args.probe_config_strip,
                whole_tree: released.is_some(),
            },
            env: &env,
            keys: &keys,
            source: released.as_ref().map(|r| (r.tree.as_path(), &r.app)),
        }),
    };
    let audited = engine::audit(&request).map_err(Error::InvalidApp)?;
    context.report(&audited.warnings);
    if let Some(path) = &args.write_baseline {
        return write_baseline(context, path, &audited.unbaselined);
    }
    let format = if args.json { Format::Json } else { args.format };
    let report = &audited.report;
    let text = match format {
        Format::Text => format::text(report, audited.suppressed, context.paint_out()),
        Format::Json => format::json(report, audited.suppressed),
        Format::Sarif => format::sarif(report, &audited.repo_prefix),
        Format::Junit => format::junit(report),
        Format::Github => format::github(report, &audited.repo_prefix),
    };
    print(&text)?;
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Note => Some(Severity::Note),
        FailOn::Never => None,
    };
    Ok(if report.fails(threshold) {
        exit_code::FAILURE
    } else {
        exit_code::SUCCESS
    })
}

/// `dozen audit --model`: the deployment model, as text or JSON.
fn model(context: &Context, root: &Path, shown: &str, as_json: bool) -> Result<i32, Error> {
    let model = engine::model_of(root).map_err(Error::InvalidApp)?;
    let text = if as_json {
        let mut text = serde_json::to_string_pretty(&model.to_json(shown)).expect("serializable");
        text.push('\n');
        text
    } else {
        model.text(shown, context.verbose > 0, context.paint_out())
    };
    print(&text)?;
    Ok(exit_code::SUCCESS)
}

/// Set in the audit that runs under `dozen __guard`.
const GUARDED: &str = "DOZEN_PROBE_GUARDED";

/// A probe runs the app's processes: the audit runs again as the child of `dozen __guard`
/// (docs/supervisor.md), so that whatever ends this dozen — `kill -9` included — ends every
/// process the probe started. Same arguments, same output, same exit status.
fn probe_under_guard() -> Result<i32, Error> {
    let exe =
        std::env::current_exe().map_err(|e| Error::io("cannot find dozen's own binary", e))?;
    let status = std::process::Command::new(&exe)
        .arg("__guard")
        .arg("--")
        .arg(&exe)
        .args(std::env::args_os().skip(1))
        .env(GUARDED, "1")
        .status()
        .map_err(|e| Error::io("cannot start the probe", e))?;
    Ok(crate::supervisor::exit::code(status))
}

/// The probe's release (with `--release`), environment and config keys: the current release
/// as `dozen run` runs it, else the environment's config as `dozen run --dev` gives it.
type ProbeEnvironment = (
    Option<super::released::Released>,
    Vec<(String, String)>,
    Vec<String>,
);

fn probe_environment(
    context: &Context,
    root: &std::path::Path,
    release: bool,
    probing: bool,
) -> Result<ProbeEnvironment, Error> {
    let mut located = context.locator.clone();
    located.app = Some(root.to_path_buf());
    let probe_context = Context {
        locator: located,
        environment: context.environment.clone(),
        quiet: context.quiet,
        verbose: context.verbose,
        color: context.color,
        inherited: context.inherited.clone(),
    };
    if probing && release {
        let released = super::released::Released::load(&probe_context, None)?;
        let env = crate::app::environment::release_process_env(
            &context.inherited,
            &released.config,
            &released.inherit(),
            &[("DOZEN_RELEASE", format!("v{}", released.version))],
        );
        let keys = released.config.keys().cloned().collect();
        return Ok((Some(released), env, keys));
    }
    if !probing {
        return Ok((None, Vec::new(), Vec::new()));
    }
    let inspection =
        super::context::Inspection::valid_config(&probe_context, context.environment())?;
    let config = &inspection.environment.config;
    Ok((
        None,
        crate::app::environment::dev_process_env(&context.inherited, config, &[]),
        config.vars.keys().cloned().collect(),
    ))
}

fn write_baseline(
    context: &Context,
    path: &Path,
    findings: &[engine::finding::Finding],
) -> Result<i32, Error> {
    let baseline = Baseline::of(findings);
    crate::fsutil::write_atomic(path, baseline.to_json().as_bytes(), 0o644)
        .map_err(|error| Error::usage(format!("cannot write {}: {error}", path.display())))?;
    if !context.quiet {
        eprintln!(
            "wrote {} finding{} to {}; audit with `--baseline {}` to leave them out",
            baseline.findings.len(),
            if baseline.findings.len() == 1 {
                ""
            } else {
                "s"
            },
            path.display(),
            path.display()
        );
    }
    Ok(exit_code::SUCCESS)
}

fn severity(rule: &Rule) -> &'static str {
    if crate::audit::measured::off(rule) {
        return "off";
    }
    match crate::audit::measured::default_severity(rule) {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule_json(rule: &Rule) -> serde_json::Value {
    json!({
        "id": rule.id,
        "factor": rule.factor.roman(),
        "factor_name": rule.factor.name(),
        "severity": severity(rule),
        // The most severe it can be; its measured precision decides how much of it it gets.
        "ceiling": rule.severity,
        "roles": rule.roles,
        "measured": measured_json(rule),
        "summary": rule.summary,
        "explanation": rule.explanation,
        "fix": rule.fix,
        // The content patterns (Rust regex syntax, as ripgrep's) that report this rule.
        "patterns": rules::PATTERNS
            .iter()
            .filter(|p| p.rule() == Some(rule))
            .map(|p| p.regex)
            .collect::<Vec<_>>(),
    })
}

fn measured_json(rule: &Rule) -> serde_json::Value {
    let measured = crate::audit::measured::of(rule);
    json!({
        "as": crate::audit::measured::key(rule),
        "true_positives": measured.true_positives,
        "false_positives": measured.false_positives,
        "precision": measured.precision(),
    })
}

/// `0.92 (23/25)`, `unmeasured`, and `family` before a figure that is its family's.
fn measured_text(rule: &Rule) -> String {
    let measured = crate::audit::measured::of(rule);
    let family = if crate::audit::measured::key(rule) == rule.id {
        ""
    } else {
        "family "
    };
    match measured.precision() {
        Some(p) => format!(
            "{family}{p:.2} ({}/{})",
            measured.true_positives,
            measured.sample()
        ),
        None => format!("{family}unmeasured"),
    }
}

fn list(as_json: bool) -> Result<i32, Error> {
    if as_json {
        let rules: Vec<_> = rules::all().map(rule_json).collect();
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rules).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    let width = rules::all().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  FACTOR  DEFAULT  FIRST-SIGHT          WHAT",
        "RULE"
    );
    for rule in rules::all() {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:<7}  {:<19}  {}",
            rule.id,
            rule.factor.roman(),
            severity(rule),
            measured_text(rule),
            rule.summary
        );
    }
    print(&out)?;
    Ok(exit_code::SUCCESS)
}

fn explain(id: &str, as_json: bool) -> Result<i32, Error> {
    let Some(rule) = rules::get(id) else {
        let ids: Vec<&str> = rules::all().map(|r| r.id).collect();
        let mut error = Error::usage(format!("no rule `{id}`"));
        // `file-sink` is `logs/file-sink`: the name without its factor.
        let by_name: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|full| full.rsplit('/').next() == Some(id))
            .collect();
        let near = match by_name.as_slice() {
            [one] => Some((*one).to_owned()),
            _ => crate::diagnostic::did_you_mean(id, ids.iter().copied()).map(str::to_owned),
        };
        error = match near {
            Some(near) => error.hint(format!("did you mean `{near}`?")),
            None => error.hint("`dozen audit rules` lists them"),
        };
        return Err(error);
    };
    if as_json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rule_json(rule)).expect("serializable")
        ))?;
        return Ok(exit_code::SUCCESS);
    }
    print(&format!(
        "{id}\n\nFactor {} — {}. Default severity: {} (at most {}). First-sight precision: {}{}. Applies to {} files.\n\n{}\n\n{}\n\nFix: {}\n",
        rule.factor.roman(),
        rule.factor.name(),
        severity(rule),
        match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        },
        measured_text(rule),
        if crate::audit::measured::key(rule) == rule.id {
            String::new()
        } else {
            format!(", measured as {}", crate::audit::measured::key(rule))
        },
        rule.roles.names().join(", "),
        rule.summary,
        rule.explanation,
        rule.fix
    ))?;
    Ok(exit_code::SUCCESS)
}
