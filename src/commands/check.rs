//! `dozen check`: validate everything, print what was found.

use std::fmt::Write as _;

use serde::Serialize;

use super::context::{Context, Inspection, print};
use crate::cli::CheckArgs;
use crate::diagnostic::{Diagnostic, DiagnosticJson};
use crate::error::Error;
use crate::exit_code;

#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    app: AppJson<'a>,
    procfile: ProcfileJson<'a>,
    environment: &'a str,
    env_files: Vec<&'a str>,
    keys: Vec<&'a str>,
    environments: Vec<String>,
    manifest: Option<&'a str>,
    tasks: Vec<&'a str>,
    /// `[schedule.NAME]` jobs that resolve, with their next fire.
    schedules: Vec<ScheduleJson>,
    errors: Vec<DiagnosticJson<'a>>,
    warnings: Vec<DiagnosticJson<'a>>,
}

#[derive(Serialize)]
struct ScheduleJson {
    name: String,
    cron: String,
    timezone: Option<String>,
    /// RFC 3339, in the schedule's zone.
    next: Option<String>,
}

impl ScheduleJson {
    fn of(schedule: &crate::app::schedule::Schedule) -> Self {
        let next = (schedule.cron)
            .next_after(jiff::Timestamp::now(), &schedule.zone)
            .map(|at| {
                let zoned = at.to_zoned_datetime(schedule.zone.clone());
                zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
            });
        Self {
            name: schedule.name.clone(),
            cron: schedule.cron_text.clone(),
            timezone: schedule.zone_name.clone(),
            next,
        }
    }
}

#[derive(Serialize)]
struct AppJson<'a> {
    name: &'a str,
    dir: String,
}

#[derive(Serialize)]
struct ProcfileJson<'a> {
    path: &'a str,
    types: Vec<TypeJson<'a>>,
    release: Option<TypeJson<'a>>,
}

#[derive(Serialize)]
struct TypeJson<'a> {
    name: &'a str,
    command: &'a str,
    line: usize,
}

impl<'a> From<&'a crate::app::procfile::ProcessType> for TypeJson<'a> {
    fn from(t: &'a crate::app::procfile::ProcessType) -> Self {
        Self {
            name: &t.name,
            command: &t.command,
            line: t.line,
        }
    }
}

pub(super) fn run(context: &Context, args: &CheckArgs) -> Result<i32, Error> {
    let mut inspection = Inspection::new(context, context.environment());
    let missing = missing_scripts(context, &inspection);
    inspection.diagnostics.extend(missing);
    let drains = drain_problems(&inspection);
    inspection.diagnostics.extend(drains);
    let certificates = certificate_problems(&inspection);
    inspection.diagnostics.extend(certificates);
    let flags = flags_problems(context, &inspection);
    inspection.diagnostics.extend(flags);
    let report = Report::new(&inspection);
    let valid = report.valid;
    if args.json {
        let mut json =
            serde_json::to_string_pretty(&report).map_err(|e| Error::failed(e.to_string()))?;
        json.push('\n');
        print(&json)?;
    } else {
        context.report(&inspection.diagnostics);
        print_text(context, &report)?;
    }
    Ok(if valid {
        exit_code::SUCCESS
    } else {
        exit_code::FAILURE
    })
}

/// `check` only: the flags file `dozen run` would serve, checked as it checks it (every
/// problem, warnings too), or missing when `[flags]` asks for it.
fn flags_problems(context: &Context, inspection: &Inspection) -> Vec<Diagnostic> {
    let file = super::flags::FlagsFile::of(&inspection.app, &context.locator.app_dir());
    if !file.path.exists() {
        return if file.configured {
            vec![Diagnostic::general(
                crate::diagnostic::Severity::Error,
                Some(file.shown.clone()),
                "the flags file [flags] asks for does not exist".to_owned(),
            )]
        } else {
            Vec::new()
        };
    }
    match crate::fsutil::read_bounded(&file.path, crate::flags::MAX_FILE_BYTES, None) {
        Ok(text) => crate::flags::check(&file.shown, &text).diagnostics,
        Err(error) => vec![Diagnostic::general(
            crate::diagnostic::Severity::Error,
            Some(file.shown),
            error.to_string(),
        )],
    }
}

/// `check` only: the drains of `[logs]` filled with the environment's config, as `dozen run`
/// fills them, so a URL `run` would refuse for a value is refused here too (never printing
/// a value).
fn drain_problems(inspection: &Inspection) -> Vec<Diagnostic> {
    use crate::app::manifest::DRAIN_PLACEHOLDER;
    // A `${NAME}` this config lacks may come from the environment `dozen run` inherits, or
    // a release's: only the values the config has are filled in.
    let config = &inspection.environment.config.vars;
    let lookup = |name: &str| {
        Some(
            config
                .get(name)
                .map_or_else(|| DRAIN_PLACEHOLDER.to_owned(), |var| var.value.clone()),
        )
    };
    let Some(source) = &inspection.app.manifest_source else {
        return Vec::new();
    };
    inspection
        .app
        .manifest
        .logs
        .drains
        .iter()
        .filter_map(|drain| {
            // What is wrong whatever the values is said by the manifest's own check.
            crate::app::manifest::drain_shape(drain.get_ref()).ok()?;
            let problem =
                crate::app::manifest::LogsSection::drain_url(drain.get_ref(), &lookup).err()?;
            let span = drain.span();
            Some(Diagnostic::error(
                source.location(span.start, span.len()),
                format!(
                    "invalid drain with the `{}` config: {problem}",
                    inspection.environment.name
                ),
            ))
        })
        .collect()
}

/// `check` only: `[router] tls`'s certificates and keys read and checked as `dozen run` reads
/// them (as `nginx -t` and `caddy validate` do), said at the `tls` key.
fn certificate_problems(inspection: &Inspection) -> Vec<Diagnostic> {
    let app = &inspection.app;
    let (Some(source), Some(setting)) = (&app.manifest_source, &app.manifest.router.tls) else {
        return Vec::new();
    };
    let span = setting.span();
    let at = source.location(span.start, span.len());
    let pairs = setting
        .get_ref()
        .pairs()
        .iter()
        .map(|p| crate::router::tls::Pair {
            cert: app.dir.path.join(&p.cert),
            key: app.dir.path.join(&p.key),
        })
        .collect();
    match crate::router::tls::Tls::from_files(pairs) {
        Ok(tls) => tls
            .warnings(jiff::Timestamp::now())
            .into_iter()
            .map(|w| Diagnostic::warning(at.clone(), format!("[router] tls: {w}")))
            .collect(),
        Err(problem) => vec![Diagnostic::error(at, format!("[router] tls: {problem}"))],
    }
}

/// `check` only: the scripts the Procfile's commands name that are not files of the app.
fn missing_scripts(context: &Context, inspection: &Inspection) -> Vec<Diagnostic> {
    let Some(procfile) = &inspection.app.procfile else {
        return Vec::new();
    };
    let dir = inspection.app.dir.working_dir();
    let path = context
        .locator
        .procfile
        .clone()
        .unwrap_or_else(|| inspection.app.dir.join("Procfile"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let source = crate::source::Source::new(&inspection.app.procfile_display, text);
    crate::app::procfile::missing_files(procfile, &source, &dir)
}

impl<'a> Report<'a> {
    fn new(inspection: &'a Inspection) -> Self {
        let app = &inspection.app;
        let env = &inspection.environment;
        let procfile = app.procfile.as_ref();
        let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            inspection.diagnostics.iter().partition(|d| d.is_error());
        Report {
            valid: errors.is_empty(),
            app: AppJson {
                name: &app.name,
                dir: app.dir.shown(),
            },
            procfile: ProcfileJson {
                path: &app.procfile_display,
                types: procfile
                    .iter()
                    .flat_map(|p| &p.types)
                    .map(TypeJson::from)
                    .collect(),
                release: procfile
                    .and_then(|p| p.release.as_ref())
                    .map(TypeJson::from),
            },
            environment: &env.name,
            env_files: env.files.iter().map(|f| f.source.path.as_str()).collect(),
            keys: env.config.vars.keys().map(String::as_str).collect(),
            environments: app.environments(),
            manifest: app.manifest_source.as_ref().map(|s| s.path.as_str()),
            tasks: app
                .manifest
                .tasks
                .keys()
                .map(|k| k.get_ref().as_str())
                .collect(),
            schedules: (app.manifest.schedules(procfile).iter())
                .map(ScheduleJson::of)
                .collect(),
            errors: errors.into_iter().map(DiagnosticJson::from).collect(),
            warnings: warnings.into_iter().map(DiagnosticJson::from).collect(),
        }
    }
}

/// The human summary on stdout (diagnostics went to stderr), and the verdict.
fn print_text(context: &Context, report: &Report) -> Result<(), Error> {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if !report.valid {
        let paint = context.paint_err();
        eprintln!(
            "{}: {}, {}",
            paint.error("error"),
            plural(report.errors.len(), "error"),
            plural(report.warnings.len(), "warning")
        );
    }
    if context.quiet {
        return Ok(());
    }
    let paint = context.paint_out();
    let list = |items: &[&str]| {
        if items.is_empty() {
            paint.dim("(none)")
        } else {
            items.join(", ")
        }
    };
    let mut out = String::new();
    let mut row = |label: &str, value: &str| {
        let _ = writeln!(
            out,
            "{}{} {value}",
            paint.bold(label),
            " ".repeat(12 - label.len())
        );
    };
    row("app", &format!("{} ({})", report.app.name, report.app.dir));
    let names: Vec<&str> = report.procfile.types.iter().map(|t| t.name).collect();
    row("processes", &list(&names));
    if context.verbose > 0 {
        for t in &report.procfile.types {
            row(&format!("  {}", t.name), t.command);
        }
    }
    if let Some(release) = &report.procfile.release {
        row(
            "release",
            if context.verbose > 0 {
                release.command
            } else {
                "yes (release phase)"
            },
        );
    }
    row("environment", report.environment);
    row("env files", &list(&report.env_files));
    row("keys", &list(&report.keys));
    let environments: Vec<&str> = report.environments.iter().map(String::as_str).collect();
    row("environments", &list(&environments));
    row(
        "manifest",
        &report
            .manifest
            .map_or_else(|| paint.dim("(none)"), str::to_owned),
    );
    if !report.tasks.is_empty() {
        row("tasks", &list(&report.tasks));
    }
    let schedules: Vec<String> = (report.schedules.iter())
        .map(|s| {
            let next = s.next.as_deref().unwrap_or("never");
            format!("{} (\"{}\", next {next})", s.name, s.cron)
        })
        .collect();
    if !schedules.is_empty() {
        row("schedules", &schedules.join(", "));
    }
    if report.valid {
        let warnings = report.warnings.len();
        let suffix = if warnings > 0 {
            format!(", {}", plural(warnings, "warning"))
        } else {
            String::new()
        };
        let _ = writeln!(out, "{}{suffix}", paint.good("valid"));
    }
    print(&out)
}
