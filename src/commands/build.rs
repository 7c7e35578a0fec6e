//! `dozen build`: the source turned into an immutable build, or the stored one when nothing
//! changed; `dozen build verify` re-hashes a stored build.

use std::io::IsTerminal as _;
use std::time::Duration;

use serde_json::json;

use super::context::{Context, Inspection, print};
use crate::build::builder::{self, BuildError, Outcome, Plan, Record};
use crate::cli::{BuildAction, BuildArgs};
use crate::error::Error;
use crate::exit_code;
use crate::store::history;

pub(super) fn run(context: &Context, args: &BuildArgs) -> Result<i32, Error> {
    match &args.action {
        Some(BuildAction::Verify { id }) => {
            verify(context, args, id.as_ref().map(|id| id.0.as_str()))
        }
        None => build(context, args),
    }
}

fn build(context: &Context, args: &BuildArgs) -> Result<i32, Error> {
    let inspection = Inspection::valid(context, context.environment())?;
    let store = super::context::open_store(&inspection.app)?;
    if args.require_clean {
        require_clean(&inspection.app.dir.working_dir())?;
    }
    let (record, built) = build_app(context, &inspection.app, &store)?;
    if args.json {
        let mut value = serde_json::to_value(&record).map_err(|e| Error::failed(e.to_string()))?;
        value["outcome"] = json!(if built { "built" } else { "unchanged" });
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).map_err(|e| Error::failed(e.to_string()))?
        ))?;
    } else {
        print(&format!("{}\n", record.id))?;
    }
    Ok(exit_code::SUCCESS)
}

/// Builds the app (or finds the build of the same inputs), with progress on stderr and an
/// entry in the activity log. Returns the record and whether it was built now.
pub(super) fn build_app(
    context: &Context,
    app: &crate::app::App,
    store: &std::path::Path,
) -> Result<(Record, bool), Error> {
    let plan = Plan {
        app_dir: app.dir.working_dir(),
        store: store.to_path_buf(),
        steps: app
            .manifest
            .build
            .steps
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
        cache: app
            .manifest
            .build
            .cache
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
        env: app
            .manifest
            .build
            .env
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.clone()))
            .collect(),
        tools: app.manifest.tool_names(),
        inherited: context
            .inherited
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        env_files: app.manifest.all_environment_files(),
    };
    let _lock =
        crate::store::lock_shared(store).map_err(|e| Error::io("cannot lock the store", e))?;
    let mut progress = Progress::new(context, plan.steps.len());
    let paint = context.paint_err();
    let outcome = builder::build(&plan, &mut |line| progress.line(line), &mut |dirs| {
        if !context.quiet {
            eprintln!(
                "{}: left out {}: a virtualenv made on this machine (its scripts name this machine's paths); the build's steps make the release's own",
                paint.bold("note"),
                dirs.iter()
                    .map(|d| format!("{d}/"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    });
    progress.finish();
    let (record, built) = match outcome {
        Ok(Outcome::Cached(record, repair)) => {
            if !repair.is_empty() {
                eprintln!(
                    "{}: {}",
                    context.paint_err().warning("warning"),
                    repair.describe(&record.id)
                );
            }
            (record, false)
        }
        Ok(Outcome::Built(record)) => {
            say_runs_only_here(context, &record);
            (record, true)
        }
        Ok(Outcome::Rebuilt(record, lost)) => {
            eprintln!(
                "{}: {lost}: built again from the app's source",
                context.paint_err().warning("warning")
            );
            say_runs_only_here(context, &record);
            (record, true)
        }
        Err(error) => {
            let _ = history::append(
                store,
                "build",
                json!({ "outcome": "failed", "error": error.to_string() }),
            );
            return Err(report_failure(error, progress.showed_every_line(context)));
        }
    };
    let _ = history::append(
        store,
        "build",
        json!({ "build": record.id, "outcome": if built { "built" } else { "unchanged" } }),
    );
    if !context.quiet {
        eprintln!("{}", summary(&record, built));
    }
    Ok((record, built))
}

fn summary(record: &Record, built: bool) -> String {
    let short = crate::ui::short_id(&record.id);
    let git = record.git.as_ref().map_or(String::new(), |g| {
        format!(
            " from {}{}",
            &g.commit[..g.commit.len().min(12)],
            if g.dirty { " (dirty)" } else { "" }
        )
    });
    if built {
        format!(
            "built {short}{git} in {:.1}s: {} files, {}",
            Duration::from_millis(record.duration_ms).as_secs_f64(),
            record.files,
            bytes(record.size)
        )
    } else {
        format!(
            "build {short} is up to date{git}: nothing changed since {}",
            record.created
        )
    }
}

fn bytes(size: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = size as f64 / 1_000_000.0;
    if mb >= 1.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{} kB", size.div_ceil(1000))
    }
}

fn report_failure(error: BuildError, shown: bool) -> Error {
    match error {
        BuildError::StepFailed {
            number,
            command,
            status,
            tail,
        } => {
            if !shown {
                for line in &tail {
                    eprintln!("  | {}", crate::ui::terminal::on_stderr(line));
                }
            }
            Error::failed(format!(
                "build step {number} `{command}` failed: {status}; nothing was stored"
            ))
        }
        BuildError::WorkingTree {
            app_dir,
            references,
        } => Error::failed(format!(
            "the build would run the app's working tree ({app_dir}), not its own files; nothing was stored:\n{}",
            crate::build::portable::listed(&references)
        ))
        .hint("a tool installed into the app directory (a virtualenv, `pip install --prefix .`) was copied in; leave it out (.dozenignore) and let the build's steps install (README: \"Portable builds\")"),
        other => Error::failed(other.to_string()),
    }
}

/// Once, when a build is made that names its own absolute path.
fn say_runs_only_here(context: &Context, record: &Record) {
    if record.runs_only_here.is_empty() || context.quiet {
        return;
    }
    eprintln!(
        "{}: build {} runs only here: {} of its files name the path it was built at, so `dozen export` and `dozen image` refuse it:\n{}\n{}: make the build relocatable (README: \"Portable builds\"; `dozen init` writes such steps)",
        context.paint_err().warning("warning"),
        crate::ui::short_id(&record.id),
        record.runs_only_here.len(),
        crate::build::portable::listed(&record.runs_only_here),
        context.paint_err().bold("hint")
    );
}

/// `--require-clean`: refuse a work tree with uncommitted changes.
fn require_clean(dir: &std::path::Path) -> Result<(), Error> {
    let output = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir)
        .output()
        .map_err(|e| Error::failed(format!("--require-clean needs git: {e}")))?;
    if !output.status.success() {
        return Err(Error::failed(
            "--require-clean: the app is not in a git repository",
        ));
    }
    if !output.stdout.is_empty() {
        let changed = String::from_utf8_lossy(&output.stdout).lines().count();
        return Err(Error::failed(format!(
            "--require-clean: the work tree has {changed} uncommitted change(s)"
        ))
        .hint("commit or stash them, or build without --require-clean"));
    }
    Ok(())
}

fn verify(context: &Context, args: &BuildArgs, id: Option<&str>) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let store = super::context::open_store(&inspection.app)?;
    // As `release --build`: naming a build that is not there is a usage error (exit 2).
    let id = crate::build::find(&store, id).map_err(|e| Error::usage(e.to_string()))?;
    let problems = crate::build::verify(&store, &id).map_err(|e| Error::failed(e.to_string()))?;
    if args.json {
        print(&format!(
            "{}\n",
            json!({ "build": id, "ok": problems.is_empty(), "problems": problems })
        ))?;
    } else if problems.is_empty() {
        if !context.quiet {
            eprintln!("build {} is intact", crate::ui::short_id(&id));
        }
    } else {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!(
            "{}: build {} has {} changed file(s)",
            context.paint_err().error("error"),
            crate::ui::short_id(&id),
            problems.len()
        );
    }
    Ok(if problems.is_empty() {
        exit_code::SUCCESS
    } else {
        exit_code::FAILURE
    })
}

/// A spinner on a terminal; plain lines (the steps' output as it comes) elsewhere.
struct Progress {
    spinner: Option<indicatif::ProgressBar>,
    quiet: bool,
    verbose: bool,
}

impl Progress {
    fn new(context: &Context, steps: usize) -> Self {
        // Where indicatif draws: a terminal that says what it is (without `TERM`, or with
        // `TERM=dumb`, it draws nothing, and the steps' lines would be lost).
        let term = std::env::var("TERM").unwrap_or_default();
        let terminal =
            std::io::stderr().is_terminal() && !term.is_empty() && term != "dumb" && !context.quiet;
        let spinner = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message(format!(
                "building ({steps} step{})",
                if steps == 1 { "" } else { "s" }
            ));
            bar
        });
        Self {
            spinner,
            quiet: context.quiet,
            verbose: context.verbose > 0,
        }
    }

    fn line(&mut self, line: &str) {
        match &self.spinner {
            Some(bar) => {
                if self.verbose {
                    bar.println(crate::ui::terminal::on_stderr(line));
                }
                bar.set_message(crate::ui::terminal::pictured(
                    &line.chars().take(100).collect::<String>(),
                ));
            }
            None if !self.quiet => eprintln!("  | {}", crate::ui::terminal::on_stderr(line)),
            None => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }

    /// Whether every line of the steps' output was printed as it came (no spinner hid it,
    /// `-q` did not silence it): then a failure does not print its tail again.
    fn showed_every_line(&self, context: &Context) -> bool {
        // Where indicatif draws: a terminal that says what it is (without `TERM`, or with
        // `TERM=dumb`, it draws nothing, and the steps' lines would be lost).
        let term = std::env::var("TERM").unwrap_or_default();
        let terminal =
            std::io::stderr().is_terminal() && !term.is_empty() && term != "dumb" && !context.quiet;
        if terminal { self.verbose } else { !self.quiet }
    }
}
