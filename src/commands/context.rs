//! What every command shares: the global options ([`Context`]), the app read and checked
//! ([`Inspection`]), the store and its builds, and printing.

use std::io::Write as _;

use crate::app::environment::{self, Inherited};
use crate::app::{App, Locator, ResolvedEnvironment, read_env_files};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::ui::{ColorChoice, Paint};

/// The app's store, created if missing; refused when it belongs to another app directory.
pub(crate) fn open_store(app: &App) -> Result<std::path::PathBuf, Error> {
    crate::store::open(app).map_err(|e| Error::failed(format!("cannot open the store: {e}")))
}

/// The store's keyed digests of values (`crate::secret::Digests`): what a value not revealed is
/// shown as.
pub(crate) fn value_digests(app: &App) -> Result<crate::secret::Digests, Error> {
    digests_of(&open_store(app)?)
}

/// The keyed digests of the store at `store`.
pub(crate) fn digests_of(store: &std::path::Path) -> Result<crate::secret::Digests, Error> {
    crate::secret::Digests::of_store(store)
        .map_err(|e| Error::failed(format!("cannot read the store's digest key: {e}")))
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
    let repair = crate::store::builds::verified(store, id).map_err(|e| tree_error(&e))?;
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
    .map_err(|e| tree_error(&e))?;
    warn_repaired(context, &repair, id);
    Ok((crate::store::builds::tree_dir(store, id), guard))
}

/// A build's tree that could not be made as sealed; a lost build (a stored file damaged or
/// gone) with the fix.
fn tree_error(error: &crate::store::tree::TreeError) -> Error {
    let failed = Error::failed(error.to_string());
    if matches!(error, crate::store::tree::TreeError::Lost { .. }) {
        failed.hint("rebuild it from the app's source with `dozen build`, or build and release it with `dozen release`")
    } else {
        failed
    }
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
    pub(super) fn require_app_dir(&self) -> Result<(), Error> {
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
    out.write_all(text.as_bytes()).map_err(Error::stdout)?;
    out.flush().map_err(Error::stdout)
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
