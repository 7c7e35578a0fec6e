//! What each command does: turn validated arguments into work on the app model.

mod audit;
mod build;
mod check;
mod config;
mod context;
mod control;
mod deploys;
mod exec;
mod export;
mod flags;
mod flags_edit;
mod gc;
mod generate;
mod image;
mod init;
mod logs;
mod release;
mod released;
mod releases;
mod run;
mod top;

use crate::app::Locator;
use crate::app::environment;
use crate::cli::{Args, Command};
use crate::error::Error;
use context::Context;

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
        Command::Top(top) => top::top(&context, &top),
        Command::Canary(canary) => control::canary(&context, &canary),
        Command::Logs(logs) => logs::logs(&context, &logs),
        Command::Image(image) => image::run(&context, &image),
        Command::Drains(drains) => logs::drains(&context, &drains),
        Command::Flags(args) => flags_edit::flags(&context, &args),
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
