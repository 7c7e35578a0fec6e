//! `dozen exec`: a one-off admin process with the app's config (docs/supervisor.md, "exec").

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

use super::context::{Context, Inspection};
use super::released::Released;
use crate::app::environment::{dev_process_env, release_process_env};
use crate::app::ports::base_port;
use crate::cli::ExecArgs;
use crate::error::Error;
use crate::supervisor::exit;

pub(super) fn run(context: &Context, args: &ExecArgs) -> Result<i32, Error> {
    if args.dev {
        let inspection = Inspection::valid_config(context, context.environment())?;
        let app = &inspection.app;
        let config = &inspection.environment.config;
        let command_line = command_line(app, args)?;
        let port =
            base_port(None, config, &context.inherited).map_err(|e| Error::usage(e.to_string()))?;
        let mut env = dev_process_env(&context.inherited, config, &[("PORT", port.to_string())]);
        let cwd = app.dir.working_dir();
        let store = crate::store::open(app).ok();
        let configured = config.vars.contains_key(super::flags::ENDPOINT);
        running_flags(&mut env, store.as_deref().filter(|_| !configured));
        return execute(
            context,
            &command_line,
            env,
            &cwd,
            store.as_deref().map(|s| (s, typed(args))),
            "dev",
        );
    }
    let released = Released::load(context, args.release.map(|v| v.0))?;
    let command_line = command_line(&released.app, args)?;
    let port = base_port(None, &released.as_config(), &context.inherited)
        .map_err(|e| Error::usage(e.to_string()))?;
    let version = format!("v{}", released.version);
    let mut env = release_process_env(
        &context.inherited,
        &released.config,
        &released.inherit(),
        &[
            ("PORT", port.to_string()),
            ("DOZEN_RELEASE", version.clone()),
        ],
    );
    let configured = released.config.contains_key(super::flags::ENDPOINT);
    running_flags(
        &mut env,
        Some(released.store.as_path()).filter(|_| !configured),
    );
    execute(
        context,
        &command_line,
        env,
        &released.tree,
        Some((&released.store, typed(args))),
        &version,
    )
}

/// While the app's `dozen run` serves its flags, a one-off reads them there too, as the
/// formation's processes do (`store`: none when the config names an OFREP service itself).
fn running_flags(env: &mut Vec<(String, String)>, store: Option<&std::path::Path>) {
    if let Some(endpoint) = store.and_then(super::flags::running_endpoint) {
        super::flags::set_endpoint(env, &endpoint);
    }
}

/// The command as the user typed it after `exec`, every word shell-quoted: what the
/// activity log records (`.venv/bin/python manage.py check`, `migrate --fake`).
fn typed(args: &ExecArgs) -> String {
    args.task
        .iter()
        .chain(&args.args)
        .chain(&args.command)
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the command as the user's foreground job, then ends its leftovers; records it in
/// the activity log (release, command, exit code, duration — never the environment).
fn execute(
    context: &Context,
    command_line: &[String],
    env: Vec<(String, String)>,
    cwd: &std::path::Path,
    store: Option<(&std::path::Path, String)>,
    release: &str,
) -> Result<i32, Error> {
    let started = std::time::Instant::now();
    let code = execute_command(context, command_line, env, cwd)?;
    if let Some((store, shown)) = store {
        let _ = crate::store::history::append(
            store,
            "exec",
            serde_json::json!({ "release": release, "command": shown, "exit_code": code, "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), "outcome": if code == 0 { "succeeded" } else { "failed" } }),
        );
    }
    Ok(code)
}

fn execute_command(
    context: &Context,
    command_line: &[String],
    env: Vec<(String, String)>,
    cwd: &std::path::Path,
) -> Result<i32, Error> {
    let command_line = crate::app::profile_d::wrap(cwd, command_line.to_vec());
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Err((code, problem)) = find_program(&command_line[0], &path, cwd) {
        eprintln!(
            "{}: cannot run `{}`: {problem}",
            context.paint_err().error("error"),
            command_line[0]
        );
        return Ok(code);
    }
    // The command's parent is `dozen __guard`, which ends whatever the command leaves, and
    // everything of it if dozen itself is killed (docs/supervisor.md).
    let exe =
        std::env::current_exe().map_err(|e| Error::io("cannot find dozen's own binary", e))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("__guard")
        .arg("--")
        .args(&command_line)
        .env_clear()
        .envs(env)
        .current_dir(cwd);

    // Catch (not ignore) the signals before the child exists: it must inherit default
    // dispositions, and a Ctrl-C must not end dozen before the child has finished.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::io("cannot install signal handlers", e))?;
    let handle = signals.handle();

    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            let code = match error.kind() {
                std::io::ErrorKind::NotFound => 127,
                std::io::ErrorKind::PermissionDenied => 126,
                _ => crate::exit_code::FAILURE,
            };
            eprintln!(
                "{}: cannot run `{}`: {error}",
                context.paint_err().error("error"),
                command_line[0]
            );
            return Ok(code);
        }
    };
    let child_pid = rustix::process::Pid::from_child(&child);
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // The terminal already sent its Ctrl-C to the whole foreground group, child
            // included; forward only what a process sent to dozen alone.
            let from_process = matches!(origin.cause, Cause::Sent(_))
                && origin
                    .process
                    .is_some_and(|p| p.pid != child_pid.as_raw_nonzero().get());
            if from_process {
                if let Some(signal) = rustix::process::Signal::from_named_raw(origin.signal) {
                    let _ = rustix::process::kill_process(child_pid, signal);
                }
            }
        }
    });
    let status = child
        .wait()
        .map_err(|e| Error::io("cannot wait for the command", e))?;
    handle.close();
    let _ = forwarder.join();
    Ok(exit::code(status))
}

/// The argv to run: a task or Procfile command through `sh -c` with extra arguments quoted,
/// or the command after `--` as it stands.
fn command_line(app: &crate::app::App, args: &ExecArgs) -> Result<Vec<String>, Error> {
    let Some(task) = &args.task else {
        if args.command.is_empty() {
            return Err(Error::usage("name a task, or a command after `--`")
                .hint("dozen exec --dev migrate, or dozen exec --dev -- python manage.py shell"));
        }
        return Ok(args.command.clone());
    };
    let from_tasks = app
        .manifest
        .tasks
        .iter()
        .find(|(name, _)| name.get_ref() == task)
        .map(|(_, command)| command.get_ref().clone());
    let procfile = app.procfile.as_ref();
    let from_procfile = || {
        procfile
            .and_then(|p| {
                p.get(task)
                    .or(p.release.as_ref().filter(|r| r.name == *task))
            })
            .map(|t| t.command.clone())
    };
    let Some(command) = from_tasks.or_else(from_procfile) else {
        let tasks: Vec<&str> = app
            .manifest
            .tasks
            .keys()
            .map(|k| k.get_ref().as_str())
            .collect();
        let mut types: Vec<&str> = procfile.map(|p| p.names().collect()).unwrap_or_default();
        if procfile.is_some_and(|p| p.release.is_some()) {
            types.push(crate::app::procfile::RELEASE);
        }
        let list = |items: &[&str]| {
            if items.is_empty() {
                "(none)".to_owned()
            } else {
                items.join(", ")
            }
        };
        return Err(Error::usage(format!("unknown task `{task}`")).hint(format!(
            "tasks: {}; Procfile types: {}; or run a command: dozen exec --dev -- CMD",
            list(&tasks),
            list(&types)
        )));
    };
    let mut line = command;
    for arg in args.args.iter().chain(&args.command) {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), line])
}

/// Looks a program up as a shell does, so the exit code is the shell's: 127 when no directory
/// of `PATH` has it (directories this user cannot read are skipped, not an error: `execvp`
/// would report them as "Permission denied"), 126 when it is found but cannot be executed.
fn find_program(program: &str, path: &str, cwd: &std::path::Path) -> Result<(), (i32, String)> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |candidate: &std::path::Path| {
        std::fs::metadata(candidate).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return match executable(&cwd.join(program)) {
            Ok(true) => Ok(()),
            Ok(false) => Err((126, "not an executable file".to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err((127, "no such file".to_owned()))
            }
            Err(e) => Err((126, e.to_string())),
        };
    }
    let mut found_unusable = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        match executable(&cwd.join(dir).join(program)) {
            Ok(true) => return Ok(()),
            Ok(false) => found_unusable = true,
            Err(_) => {}
        }
    }
    if found_unusable {
        Err((126, "found on PATH, but not executable".to_owned()))
    } else {
        Err((127, "command not found on PATH".to_owned()))
    }
}

/// Quotes a word for `sh` so it stays one word, literally.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("--flag=1"), "--flag=1");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
