//! Factor IX, Disposability: fast startup and graceful shutdown.

use crate::audit::dockerfile::Instruction;
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::Project;
use crate::audit::rule::{Roles, Rule};
use crate::audit::shell::{self, simple_commands};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &PROBE_SLOW_STOP,
        &PROBE_SLOW_START,
        &PROBE_COULD_NOT_START,
        &SHELL_FORM_CMD,
        &SHELL_WRAPPED_COMMAND,
        &KILLED_AT_STOP,
    ],
    patterns: &[],
    check,
};

pub static PROBE_SLOW_STOP: Rule = Rule {
    id: "disposability/probe-slow-stop",
    factor: Factor::IX,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process did not stop within the grace period after SIGTERM",
    explanation: "`dozen audit --probe` sent SIGTERM to the type's process group, as platforms do on deploys, restarts and scale-downs, and it was still running when the grace period (30 s by default, Heroku's) ran out. It would be SIGKILLed in the middle of its work.",
    fix: "Handle SIGTERM: stop accepting work, finish or hand back what is in flight, exit. Make sure a shell wrapper passes the signal on (exec the last command).",
};

pub static PROBE_SLOW_START: Rule = Rule {
    id: "disposability/probe-slow-start",
    factor: Factor::IX,
    severity: Severity::Note,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process took more than 10 s to be ready",
    explanation: "Processes should start fast, so that releases roll and instances scale quickly and a crashed process is replaced before users notice.",
    fix: "Move work out of start-up (builds, migrations, cache warming) into the build or release phase.",
};

pub static PROBE_COULD_NOT_START: Rule = Rule {
    id: "disposability/probe-could-not-start",
    factor: Factor::IX,
    severity: Severity::Note,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process ended during boot, so the other probes could not run",
    explanation: "The type exited with an error while starting, most often because a backing service its config names is not running where the probe runs. That is not a violation in itself; the probes of this type did not run.",
    fix: "Run the probe with the environment's services reachable (`--env` with the right config), or fix the start-up error in the message.",
};

pub static SHELL_FORM_CMD: Rule = Rule {
    id: "disposability/shell-form-cmd",
    factor: Factor::IX,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A Dockerfile CMD or ENTRYPOINT in shell form",
    explanation: "Processes shut down gracefully when they receive SIGTERM. In shell form (`CMD npm start`) the container's first process is `/bin/sh -c`, which does not pass SIGTERM on to the app: the app is killed after the timeout instead of finishing its requests (hadolint DL3025, BuildKit JSONArgsRecommended).",
    fix: "Use the exec form: `CMD [\"npm\", \"start\"]` (or `exec` the last command of a shell script).",
};

pub static SHELL_WRAPPED_COMMAND: Rule = Rule {
    id: "disposability/shell-wrapped-command",
    factor: Factor::IX,
    severity: Severity::Note,
    roles: Roles::PRODUCTION,
    summary: "A Procfile command or a container's start script that keeps a shell as the process's parent",
    explanation: "`sh -c 'a && b'` keeps the shell running as the parent of `b`; signals reach the shell's process group, but the shell itself can delay or change the exit status the manager sees.",
    fix: "Write the commands directly in the Procfile (dozen runs them with a shell already), or end with `exec b`.",
};

pub static KILLED_AT_STOP: Rule = Rule {
    id: "disposability/killed-at-stop",
    factor: Factor::IX,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A container set to stop with SIGKILL, which no process can handle",
    explanation: "Docker, Compose and Kubernetes stop a container by sending its stop signal and waiting for the grace period. `STOPSIGNAL SIGKILL` (or Compose's `stop_signal: SIGKILL`) kills the process at once: requests in flight fail, jobs stop half-done and nothing is flushed, on every deploy, restart and scale-down.",
    fix: "Remove it (SIGTERM is the default) and have the process finish its work on SIGTERM; use `STOPSIGNAL SIGQUIT` or `SIGINT` if that is the signal the server drains on.",
};

/// Whether a stop signal is SIGKILL, in any of the ways Docker accepts it.
pub fn is_kill_signal(signal: &str) -> bool {
    let signal = signal.trim().trim_matches(|c| c == '"' || c == '\'');
    let name = signal.to_ascii_uppercase();
    matches!(name.as_str(), "SIGKILL" | "KILL" | "9")
}

pub fn dockerfile(path: &str, instructions: &[Instruction], out: &mut Vec<Finding>) {
    let mut busybox = false;
    for instruction in instructions {
        if instruction.keyword == "STOPSIGNAL" && is_kill_signal(&instruction.args) {
            out.push(Finding::new(
                &KILLED_AT_STOP,
                path,
                (instruction.line, instruction.column),
                "`STOPSIGNAL SIGKILL` kills the process without a chance to shut down".to_owned(),
                &instruction.args,
                false,
            ));
            continue;
        }
        if instruction.keyword == "FROM" {
            let image = instruction
                .args
                .split_whitespace()
                .find(|w| !w.starts_with("--"))
                .unwrap_or("")
                .to_ascii_lowercase();
            busybox = image.contains("alpine") || image.contains("busybox");
            continue;
        }
        if !matches!(instruction.keyword.as_str(), "CMD" | "ENTRYPOINT")
            || instruction.args.trim_start().starts_with('[')
            || instruction.args.trim().is_empty()
            || busybox && execs_itself(&instruction.args)
            // `cron && exec apache2 -D FOREGROUND`: the shell replaces itself with the last.
            || shell::execs(shell::last_list_command(&instruction.args))
        {
            continue;
        }
        out.push(Finding::new(
            &SHELL_FORM_CMD,
            path,
            (instruction.line, instruction.column),
            format!(
                "{} in shell form runs under /bin/sh, which does not pass SIGTERM on",
                instruction.keyword
            ),
            &instruction.args,
            false,
        ));
    }
}

/// Whether busybox's `/bin/sh -c COMMAND` (Alpine's) replaces itself with the program: it
/// `exec`s a lone simple command, so the signal reaches the program. A list, a pipeline, a
/// redirection or a substitution keeps the shell as the parent. (Debian's and Ubuntu's
/// `/bin/sh`, dash 0.5.12, stays the parent even of a lone command: measured.)
fn execs_itself(command: &str) -> bool {
    let command = command.trim();
    command.starts_with("exec ")
        || !["&&", "||", ";", "|", "&", ">", "<", "$(", "`", "\n"]
            .iter()
            .any(|operator| command.contains(operator))
}

/// The last command a shell script runs at its top level (1-based line and text), when it
/// runs a program in the foreground without `exec`: the shell stays the parent, and as a
/// container's PID 1 it does not pass SIGTERM on. Not when the script waits on children it
/// started (`wait`, which a `trap` can forward signals around), and not inside conditionals
/// or loops, whose last command the script may never reach.
pub fn last_command_without_exec(text: &str) -> Option<(usize, String)> {
    let mut depth = 0_usize;
    let mut last: Option<(usize, String)> = None;
    for (index, line) in logical_lines(text) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or("");
        let opens = matches!(
            first,
            "if" | "case" | "for" | "while" | "until" | "function" | "select"
        ) || line.ends_with('{')
            || line.ends_with("do")
            || line.ends_with("then");
        let closes = matches!(first, "fi" | "esac" | "done" | "}" | "};" | "fi;" | "done;");
        if closes {
            depth = depth.saturating_sub(1);
            last = None;
            continue;
        }
        if opens {
            // `if …; then …; fi` on one line opens and closes.
            let one_line = line.ends_with("fi")
                || line.ends_with("done")
                || line.ends_with("esac")
                || line.ends_with('}');
            if !one_line {
                depth += 1;
            }
            last = None;
            continue;
        }
        if depth == 0 {
            last = Some((index + 1, line.to_owned()));
        }
    }
    let (line, command) = last?;
    // `umask 0 && exec gunicorn …`: the last simple command is exec'd.
    if shell::execs(shell::last_list_command(&command)) {
        return None;
    }
    let words = simple_commands(&command);
    let program = words.last()?.first().copied()?;
    let quiet = [
        "exec", "exit", "wait", "echo", "printf", "set", "trap", "true", ":", "return", "sleep",
        "cd", "export", "unset", "shift", "source", ".", "test", "[", "[[", "local", "readonly",
    ];
    let background = command.trim_end().ends_with('&') && !command.trim_end().ends_with("&&");
    (!quiet.contains(&program) && !shell::execs(&command) && !background && !program.contains('='))
        .then_some((line, command))
}

/// A script's lines with `\\`-continued lines joined into one, each with the index of its
/// first line: `exec uwsgi \\` and the arguments below it are one command.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (index, line) in text.lines().enumerate() {
        let (body, goes_on) = match line.trim_end().strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        match lines.last_mut() {
            Some((_, joined)) if continued => {
                joined.push(' ');
                joined.push_str(body.trim());
            }
            _ => lines.push((index, body.trim_end().to_owned())),
        }
        continued = goes_on;
    }
    lines
}

/// A start script the stop signal goes to (a container's, an init system's service) whose
/// last command runs without `exec`.
fn start_scripts_without_exec(project: &Project<'_>, out: &mut Vec<Finding>) {
    for start in super::admin_processes::start_scripts(project) {
        if !start.signalled {
            continue;
        }
        let Some(text) = project.read(&start.path) else {
            continue;
        };
        if !text.starts_with("#!") || !text.lines().next().is_some_and(|l| l.contains("sh")) {
            continue;
        }
        let Some((line, command)) = last_command_without_exec(&text) else {
            continue;
        };
        out.push(Finding::new(
            &SHELL_WRAPPED_COMMAND,
            &start.path,
            (line, 1),
            format!(
                "{} starts {}, whose last command `{command}` runs without `exec`: the shell stays the parent and does not pass SIGTERM on, so the app never shuts down gracefully",
                start.starter, start.named
            ),
            &command,
            false,
        ));
    }
}

/// Production Compose services stopped with SIGKILL.
fn compose_kill_signals(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, _, documents) in project.production_compose_files() {
        for services in documents.iter().filter_map(|d| d.get("services")) {
            for (name, service) in services.entries() {
                let Some(node) = service.get("stop_signal") else {
                    continue;
                };
                let Some(signal) = node.as_str().filter(|s| is_kill_signal(s)) else {
                    continue;
                };
                out.push(Finding::new(
                    &KILLED_AT_STOP,
                    path,
                    (node.line, 1),
                    format!("service `{name}` stops with `{signal}`: it is killed without a chance to shut down"),
                    signal,
                    false,
                ));
            }
        }
    }
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    compose_kill_signals(project, out);
    start_scripts_without_exec(project, out);
    for (procfile, process) in project.processes() {
        let wrapped = simple_commands(&process.command).into_iter().find(|words| {
            matches!(words.as_slice(), [sh, "-c", ..] if ["sh", "bash", "/bin/sh", "/bin/bash", "zsh"].contains(sh))
        });
        if wrapped.is_some() && !process.command.contains("exec ") {
            let shell = wrapped.map(|w| w[..2].join(" ")).unwrap_or_default();
            out.push(Finding::new(
                &SHELL_WRAPPED_COMMAND,
                procfile,
                project.procfile_position(procfile, process.line, &shell),
                format!(
                    "`{}` runs under `{shell}`, which stays its parent",
                    process.name
                ),
                &shell,
                false,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_that_exec_a_lone_command() {
        assert!(execs_itself("/bin/meilisearch"));
        assert!(execs_itself("java -jar app.jar --port $PORT"));
        assert!(execs_itself("exec node app.js && true"));
        assert!(!execs_itself("npm run migrate && npm start"));
        assert!(!execs_itself("node app.js | tee log"));
        assert!(!execs_itself("java -jar app.jar > /var/log/app.log"));
        assert!(!execs_itself("sh -c \"$(cat cmd)\""));
    }

    #[test]
    fn start_scripts_that_end_without_exec() {
        let script = |body: &str| last_command_without_exec(&format!("#!/bin/sh\nset -e\n{body}"));
        assert_eq!(
            script(
                "if [ -n \"$1\" ]; then\n  exec \"$@\"\nfi\nnpx sequelize db:migrate\nnode app.js\n"
            ),
            Some((7, "node app.js".to_owned()))
        );
        assert_eq!(
            script("bundle exec rails db:migrate\nexec bundle exec puma\n"),
            None
        );
        assert_eq!(script("gunicorn app:app &\nwait\n"), None);
        assert_eq!(script("umask 0 && exec gunicorn app\n"), None);
        assert_eq!(
            script("cd -P -- \"$(dirname -- \"$0\")\"\nPHX_SERVER=true exec ./realtime start\n"),
            None
        );
        assert_eq!(
            script("exec uwsgi \\\n  --http :8081 \\\n  $EXTRA\n  # a note\n"),
            None
        );
        assert_eq!(
            script("node \\\n  app.js\n"),
            Some((3, "node app.js".to_owned()))
        );
        assert_eq!(
            script("case \"$1\" in\n  web) gunicorn app ;;\nesac\n"),
            None
        );
        assert_eq!(script("while true; do\n  worker\ndone\n"), None);
        assert_eq!(script("echo done\n"), None);
        assert_eq!(
            script("start() {\n  node app.js\n}\nstart\n"),
            Some((6, "start".to_owned()))
        );
    }
}
