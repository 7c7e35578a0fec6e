//! What each command does: turn validated arguments into work on the app model.

mod audit;
mod build;
mod check;
mod config;
mod control;
mod exec;
mod export;
mod gc;
mod generate;
mod image;
mod init;
mod logs;
mod release;
mod released;
mod releases;
mod run;

use std::io::Write as _;

use crate::app::environment::{self, Inherited};
use crate::app::{App, Locator, ResolvedEnvironment, read_env_files};
use crate::cli::{Args, Command};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::ui::{ColorChoice, Paint};

/// The app's store, created if missing; refused when it belongs to another app directory.
pub(crate) fn open_store(app: &App) -> Result<std::path::PathBuf, Error> {
    crate::store::open(app).map_err(|e| Error::failed(format!("cannot open the store: {e}")))
}

/// The tree of a stored build, as it was sealed (checked unless known clean, put back if a
/// process changed it), for a command that runs nothing from it. A build that is not stored
/// whole is an error.
pub(crate) fn intact_build(
    context: &Context,
    store: &std::path::Path,
    id: &str,
    what: &str,
) -> Result<std::path::PathBuf, Error> {
    stored_build(store, id, what)?;
    let repair =
        crate::store::builds::verified(store, id).map_err(|e| Error::failed(e.to_string()))?;
    warn_repaired(context, &repair, id);
    Ok(crate::store::builds::tree_dir(store, id))
}

/// The tree of a stored build, to run processes from: held in use (see
/// `store::builds::Use`) until the returned guard is dropped.
pub(crate) fn use_build(
    context: &Context,
    store: &std::path::Path,
    id: &str,
    what: &str,
) -> Result<(std::path::PathBuf, crate::store::builds::Use), Error> {
    stored_build(store, id, what)?;
    let (guard, repair) = crate::store::builds::begin_use(store, id, |text| {
        eprintln!("warning: {text}");
    })
    .map_err(|e| Error::failed(e.to_string()))?;
    warn_repaired(context, &repair, id);
    Ok((crate::store::builds::tree_dir(store, id), guard))
}

fn stored_build(store: &std::path::Path, id: &str, what: &str) -> Result<(), Error> {
    if crate::store::builds::exists(store, id) {
        return Ok(());
    }
    Err(Error::failed(format!(
        "the build of {what} ({}) is no longer stored",
        crate::ui::short_id(id)
    ))
    .hint("`dozen gc` may have removed it; make a new release with `dozen release`"))
}

fn warn_repaired(context: &Context, repair: &crate::store::builds::Repair, id: &str) {
    if !repair.is_empty() {
        eprintln!(
            "{}: {}",
            context.paint_err().warning("warning"),
            repair.describe(id)
        );
    }
}

/// Everything a command needs from the global flags and the process environment.
pub(crate) struct Context {
    pub locator: Locator,
    /// `--env`, if given.
    pub environment: Option<String>,
    pub quiet: bool,
    pub verbose: u8,
    pub color: ColorChoice,
    pub inherited: Inherited,
}

impl Context {
    /// The environment in effect: `--env`, else `development`.
    pub fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or(environment::DEFAULT)
    }

    pub fn paint_out(&self) -> Paint {
        Paint::for_stream(self.color, &std::io::stdout())
    }

    pub fn paint_err(&self) -> Paint {
        Paint::for_stream(self.color, &std::io::stderr())
    }

    /// The app directory must exist (a typo in `--app` is a usage error, not a missing Procfile).
    fn require_app_dir(&self) -> Result<(), Error> {
        let dir = self.locator.app_dir();
        if dir.path.as_os_str().is_empty() || dir.path.is_dir() {
            return Ok(());
        }
        if dir.path.exists() {
            return Err(Error::usage(format!(
                "`{}` is not a directory: --app takes the app's directory",
                dir.shown()
            ))
            .hint("the directory holding the Procfile, e.g. --app ."));
        }
        Err(
            Error::usage(format!("app directory `{}` does not exist", dir.shown()))
                .hint("pass --app DIR (or set DOZEN_APP) to the directory holding the Procfile"),
        )
    }

    /// Prints diagnostics to stderr (warnings only when not quiet).
    pub fn report(&self, diagnostics: &[Diagnostic]) {
        let paint = self.paint_err();
        let mut err = std::io::stderr().lock();
        for diagnostic in diagnostics.iter().filter(|d| d.is_error() || !self.quiet) {
            let _ = err.write_all(diagnostic.render(paint).as_bytes());
        }
    }
}

/// Prints to stdout; a closed pipe becomes [`Error::BrokenPipe`].
pub(crate) fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(crate) fn run(args: Args) -> i32 {
    let global = args.global;
    let context = Context {
        locator: Locator {
            app: global.app,
            procfile: global.procfile,
            env_files: global.env_files,
        },
        environment: global.environment,
        quiet: global.quiet,
        verbose: global.verbose,
        color: global.color,
        inherited: environment::inherited_from_process(),
    };
    let command = args.command;
    // Every command but the internal ones works on an app directory, which must exist.
    let needs_app = !matches!(command, Command::Generate(_) | Command::Guard { .. });
    let checked = if needs_app {
        context.require_app_dir()
    } else {
        Ok(())
    };
    let result = checked.and_then(|()| match command {
        Command::Generate(generate) => generate::run(&generate),
        Command::Guard { argv } => Ok(crate::supervisor::guard::serve(&argv)),
        Command::Audit(audit) => audit::run(&context, &audit),
        Command::Build(build) => build::run(&context, &build),
        Command::Check(check) => check::run(&context, &check),
        Command::Config(config) => config::run(&context, &config),
        Command::Exec(exec) => exec::run(&context, &exec),
        Command::Export(export) => export::run(&context, &export),
        Command::Gc(gc) => gc::run(&context, &gc),
        Command::History(history) => releases::history(&context, &history),
        Command::Init => init::run(&context),
        Command::Release(release) => release::run(&context, &release),
        Command::Releases(releases) => releases::run(&context, &releases),
        Command::Rollback(rollback) => release::rollback(&context, &rollback),
        Command::Run(run) => run::run(&context, &run),
        Command::Start(mut run) => {
            if run.release.is_some() {
                Err(Error::usage(
                    "`dozen start` runs the working tree; --release is for `dozen run`",
                )
                .hint("dozen run --release v3"))
            } else {
                run.dev = true;
                run::run(&context, &run)
            }
        }
        Command::Scale(scale) => control::scale(&context, &scale),
        Command::Ps(ps) => control::ps(&context, &ps),
        Command::Canary(canary) => control::canary(&context, &canary),
        Command::Logs(logs) => logs::logs(&context, &logs),
        Command::Image(image) => image::run(&context, &image),
        Command::Drains(drains) => logs::drains(&context, &drains),
        Command::Restart(target) => control::restart(&context, &target),
        Command::Stop(target) => control::stop(&context, &target),
    });
    result.unwrap_or_else(|error| {
        report_error(&context, &error);
        error.exit_code()
    })
}

fn report_error(context: &Context, error: &Error) {
    let paint = context.paint_err();
    match error {
        Error::BrokenPipe => {}
        Error::InvalidApp(diagnostics) => {
            context.report(diagnostics);
            let count = diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "{}: the app has {count} error{}; `dozen check` shows them all",
                paint.error("error"),
                if count == 1 { "" } else { "s" }
            );
        }
        Error::Usage { hint, .. } | Error::Failed { hint, .. } => {
            eprintln!("{}: {error}", paint.error("error"));
            if let Some(hint) = hint {
                eprintln!("{}: {hint}", paint.bold("hint"));
            }
        }
        Error::Io { .. } => eprintln!("{}: {error}", paint.error("error")),
    }
}

/// The app and one environment, read and checked together: what `check` prints and what
/// every other command needs to be free of errors.
pub(crate) struct Inspection {
    pub app: App,
    pub environment: ResolvedEnvironment,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inspection {
    pub fn new(context: &Context, environment: &str) -> Self {
        let (app, mut diagnostics) = App::load(&context.locator);
        diagnostics.extend(crate::audit::unknown_ignored_rules(&app));
        let (resolved, found) = app.resolve(environment, &context.inherited);
        diagnostics.extend(found);
        // Other environments' files must parse too, though their values are not resolved
        // here (a bare `KEY` or `${KEY:?}` may be meant for release time).
        let mut seen: Vec<_> = app
            .env_stack(environment)
            .into_iter()
            .map(|f| f.path)
            .collect();
        for other in app.environments() {
            let stack: Vec<_> = app
                .env_stack(&other)
                .into_iter()
                .filter(|f| !seen.contains(&f.path))
                .collect();
            seen.extend(stack.iter().map(|f| f.path.clone()));
            let (_, found) = read_env_files(&stack);
            diagnostics.extend(found.into_iter().filter(Diagnostic::is_error));
        }
        Self {
            app,
            environment: resolved,
            diagnostics,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// For commands other than `check`: the inspection, or exit 2 with its errors.
    pub fn valid(context: &Context, environment: &str) -> Result<Self, Error> {
        Self::checked(Self::new(context, environment))
    }

    /// Like [`Inspection::valid`] for commands that only need the config (`config`,
    /// `exec`): a missing Procfile is no error for them; a broken one still is.
    pub fn valid_config(context: &Context, environment: &str) -> Result<Self, Error> {
        let mut inspection = Self::new(context, environment);
        if inspection.app.procfile.is_none() {
            let procfile = inspection.app.procfile_display.clone();
            inspection.diagnostics.retain(|d| {
                !(d.location.is_none()
                    && d.path.as_deref() == Some(procfile.as_str())
                    && d.message == crate::app::MISSING_PROCFILE)
            });
        }
        Self::checked(inspection)
    }

    fn checked(inspection: Self) -> Result<Self, Error> {
        if inspection.has_errors() {
            let errors = inspection
                .diagnostics
                .into_iter()
                .filter(Diagnostic::is_error)
                .collect();
            return Err(Error::InvalidApp(errors));
        }
        Ok(inspection)
    }
}
