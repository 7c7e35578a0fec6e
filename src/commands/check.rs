//! `dozen check`: validate everything, print what was found.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Context, Inspection, print};
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
    errors: Vec<DiagnosticJson<'a>>,
    warnings: Vec<DiagnosticJson<'a>>,
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
    let inspection = Inspection::new(context, context.environment());
    let valid = !inspection.has_errors();
    let app = &inspection.app;
    let env = &inspection.environment;
    let types: Vec<_> = app.procfile.iter().flat_map(|p| &p.types).collect();
    let release = app.procfile.as_ref().and_then(|p| p.release.as_ref());
    let env_files: Vec<&str> = env.files.iter().map(|f| f.source.path.as_str()).collect();
    let keys: Vec<&str> = env.config.vars.keys().map(String::as_str).collect();
    let tasks: Vec<&str> = app
        .manifest
        .tasks
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    let environments = app.environments();
    let manifest = app.manifest_source.as_ref().map(|s| s.path.as_str());

    if args.json {
        let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            inspection.diagnostics.iter().partition(|d| d.is_error());
        let report = Report {
            valid,
            app: AppJson {
                name: &app.name,
                dir: app.dir.shown(),
            },
            procfile: ProcfileJson {
                path: &app.procfile_display,
                types: types.iter().map(|t| TypeJson::from(*t)).collect(),
                release: release.map(TypeJson::from),
            },
            environment: &env.name,
            env_files,
            keys,
            environments,
            manifest,
            tasks,
            errors: errors.into_iter().map(DiagnosticJson::from).collect(),
            warnings: warnings.into_iter().map(DiagnosticJson::from).collect(),
        };
        let mut json =
            serde_json::to_string_pretty(&report).map_err(|e| Error::failed(e.to_string()))?;
        json.push('\n');
        print(&json)?;
        return Ok(if valid {
            exit_code::SUCCESS
        } else {
            exit_code::FAILURE
        });
    }

    context.report(&inspection.diagnostics);
    if !context.quiet {
        let paint = context.paint_out();
        let none = || paint.dim("(none)");
        let list = |items: &[&str]| {
            if items.is_empty() {
                none()
            } else {
                items.join(", ")
            }
        };
        let mut out = String::new();
        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{:<13}{} ({})",
            paint.bold("app"),
            app.name,
            app.dir.shown()
        );
        let _ = writeln!(out, "{:<13}{}", paint.bold("processes"), list(&names));
        if let Some(release) = release {
            let _ = writeln!(
                out,
                "{:<13}{}",
                paint.bold("release"),
                if context.verbose > 0 {
                    release.command.as_str()
                } else {
                    "yes (release phase)"
                }
            );
        }
        if context.verbose > 0 {
            for t in &types {
                let _ = writeln!(out, "  {:<11}{}", t.name, t.command);
            }
        }
        let _ = writeln!(out, "{:<13}{}", paint.bold("environment"), env.name);
        let _ = writeln!(out, "{:<13}{}", paint.bold("env files"), list(&env_files));
        let _ = writeln!(out, "{:<13}{}", paint.bold("keys"), list(&keys));
        let env_names: Vec<&str> = environments.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "{:<13}{}",
            paint.bold("environments"),
            list(&env_names)
        );
        let _ = writeln!(
            out,
            "{:<13}{}",
            paint.bold("manifest"),
            manifest.map_or_else(none, str::to_owned)
        );
        if !tasks.is_empty() {
            let _ = writeln!(out, "{:<13}{}", paint.bold("tasks"), list(&tasks));
        }
        print(&out)?;
    }
    let errors = inspection
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .count();
    let warnings = inspection.diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if valid {
        if !context.quiet {
            let paint = context.paint_out();
            let suffix = if warnings > 0 {
                format!(", {}", plural(warnings, "warning"))
            } else {
                String::new()
            };
            print(&format!("{}{suffix}\n", paint.good("valid")))?;
        }
        Ok(exit_code::SUCCESS)
    } else {
        let paint = context.paint_err();
        eprintln!(
            "{}: {}, {}",
            paint.error("error"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        Ok(exit_code::FAILURE)
    }
}
