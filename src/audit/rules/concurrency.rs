//! Factor VIII, Concurrency: scale out via the process model.

use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::model::declarations::Stage;
use crate::audit::module::Module;
use crate::audit::project::Project;
use crate::audit::rule::{Role, Roles, Rule};
use crate::audit::shell::{simple_commands, unwrap_program};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &PROBE_DAEMONIZED,
        &INVALID_PROCFILE,
        &DAEMONIZING_COMMAND,
        &PROCESS_MANAGER_IN_CONTAINER,
    ],
    patterns: &[],
    check,
};

pub static PROBE_DAEMONIZED: Rule = Rule {
    id: "concurrency/probe-daemonized",
    factor: Factor::VIII,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process daemonized (exited leaving processes behind, or left its process group)",
    explanation: "`dozen audit --probe` watched the type start: its command exited 0 at once while processes it started kept running, or one of them moved to a session of its own. The process manager then believes the type has stopped while its work runs out of reach of signals, restarts and logs.",
    fix: "Run the server in the foreground (drop --daemon, -d, nohup, `&`, setsid).",
};

pub static INVALID_PROCFILE: Rule = Rule {
    id: "concurrency/invalid-procfile",
    factor: Factor::VIII,
    severity: Severity::Error,
    roles: Roles::of(&[Role::Production, Role::Development]),
    summary: "No Procfile where nothing else declares the processes, or a Procfile with errors",
    explanation: "The process formation is declared in the Procfile: each type of work is a process type, scaled by running more of it. Without one, and with no Dockerfile, Compose file, manifest or framework convention that says what runs, there is nothing to run or scale; a line that does not parse is silently dropped by foreman and honcho, so a process type goes missing without anyone noticing.",
    fix: "Write a Procfile (`web: command`), or run `dozen init`; fix each located problem (`dozen check` shows them too).",
};

pub static DAEMONIZING_COMMAND: Rule = Rule {
    id: "concurrency/daemonizing-command",
    factor: Factor::VIII,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A process daemonizes, backgrounds itself or writes a pid file",
    explanation: "Twelve-factor processes never daemonize or write pid files: they stay in the foreground and rely on the process manager to supervise, restart and stop them. A daemonized process looks exited to its manager, which restarts it or stops the formation, while the real server keeps running out of reach of signals and logs.",
    fix: "Run the server in the foreground: drop `--daemon`/`-d`/`nohup`/`&`, use `pm2-runtime` instead of `pm2 start`, and `nginx -g 'daemon off;'`.",
};

pub static PROCESS_MANAGER_IN_CONTAINER: Rule = Rule {
    id: "concurrency/process-manager-in-container",
    factor: Factor::VIII,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A production container runs a process manager that starts the app's process types together",
    explanation: "`foreman start`, `honcho start`, `overmind start` or `supervisord` as what a container runs puts every process type (web, workers, a scheduler) into one container: they scale only together, one crashing type takes the others' restarts with it or goes unnoticed, and their logs interleave. The process formation is the platform's to run: one process type a container (or a Compose service, a Kubernetes Deployment each).",
    fix: "Give each process type its own container or service with its own command (`dozen export compose` and `dozen export kubernetes` write one per type); keep the process manager for development.",
};

/// Process managers that run several process types in one process tree: (program, the
/// subcommand that starts them, or none).
const PROCESS_MANAGERS: [(&str, Option<&str>); 8] = [
    // npm's: `concurrently "next start" "tsx worker.ts"`, npm-run-all's `run-p web worker`.
    ("concurrently", None),
    ("run-p", None),
    ("foreman", Some("start")),
    ("honcho", Some("start")),
    ("overmind", Some("start")),
    ("hivemind", None),
    ("forego", Some("start")),
    ("supervisord", None),
];

/// The process manager a command runs, if any (`bundle exec foreman start`), also as the
/// command an entrypoint script is given to run (`bin/docker-entrypoint.sh foreman start`).
fn process_manager(command: &str) -> Option<String> {
    simple_commands(command).into_iter().find_map(|words| {
        let words = unwrap_program(&words);
        if words
            .first()
            .is_some_and(|w| matches!(*w, "echo" | "printf"))
        {
            return None;
        }
        words.iter().enumerate().find_map(|(i, word)| {
            let program = word.rsplit('/').next()?;
            PROCESS_MANAGERS.iter().find_map(|(name, sub)| {
                (program == *name && sub.is_none_or(|sub| words.get(i + 1) == Some(&sub)))
                    .then(|| sub.map_or_else(|| program.to_owned(), |s| format!("{program} {s}")))
            })
        })
    })
}

/// A production container (its command, or a script it starts) that runs a process
/// manager.
fn process_managers(project: &Project<'_>, out: &mut Vec<Finding>) {
    let Some(model) = project.model else {
        return;
    };
    // A build step that runs steps in parallel (`run-p build:client build:server`) is not a
    // container's process tree.
    for process in model.deployed_processes().filter(|p| p.stage == Stage::Run) {
        if let Some(manager) = process_manager(&process.command) {
            out.push(Finding::new(
                &PROCESS_MANAGER_IN_CONTAINER,
                &process.path,
                (process.line, 1),
                format!(
                    "`{}` ({}) runs `{manager}`: every process type in one container",
                    process.name, process.declared_by
                ),
                &manager,
                false,
            ));
        }
    }
    for start in super::admin_processes::start_scripts(project) {
        let Some((line, manager)) =
            super::admin_processes::first_line_of(project, &start.path, process_manager)
        else {
            continue;
        };
        out.push(Finding::new(
            &PROCESS_MANAGER_IN_CONTAINER,
            &start.path,
            (line, 1),
            format!(
                "{} starts {}, which runs `{manager}`: every process type in one container",
                start.starter, start.named
            ),
            &manager,
            false,
        ));
    }
}

/// Programs whose `-d`/`-D` means "daemonize".
const DASH_D: [&str; 12] = [
    "docker",
    "docker-compose",
    "podman",
    "memcached",
    "puma",
    "unicorn",
    "gunicorn",
    "rails",
    "sidekiq",
    "thin",
    "rackup",
    "compose",
];
const FLAGS: [&str; 8] = [
    "--daemon",
    "--daemonize",
    "-daemon",
    "--detach",
    "--fork",
    "--pidfile",
    "--pid",
    "--background",
];

/// Whether the command has a lone `&` (backgrounding), not `&&` or a redirection.
fn backgrounds(command: &str) -> bool {
    let bytes = command.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'&'
            && !(i > 0 && b"&><|".contains(&bytes[i - 1]))
            && !bytes.get(i + 1).is_some_and(|n| b"&>".contains(n))
    })
}

/// How a command daemonizes, if it does.
pub fn daemonizes(
    command: &str,
    nginx_daemon_off: impl Fn(Option<&str>) -> bool,
) -> Option<String> {
    if backgrounds(command) {
        return Some("&".to_owned());
    }
    for words in simple_commands(command) {
        let words = unwrap_program(&words);
        let Some(first) = words.first() else {
            continue;
        };
        let program = first.rsplit('/').next().unwrap_or(first);
        // Matched by the program's name, wherever it is installed (`/venv/bin/celery`).
        let mut named = words.clone();
        named[0] = program;
        match named.as_slice() {
            ["nohup", ..] => return Some("nohup".to_owned()),
            ["pm2" | "forever", "start", ..] => return Some(format!("{program} start")),
            ["service", _, "start", ..] | ["systemctl", "start", ..] => {
                return Some(words[..3].join(" "));
            }
            ["apachectl", "start", ..] => return Some("apachectl start".to_owned()),
            // Celery's `multi` starts detached workers and exits.
            ["celery", rest @ ..]
                if rest
                    .windows(2)
                    .any(|w| w[0] == "multi" && matches!(w[1], "start" | "restart")) =>
            {
                return Some("celery multi start".to_owned());
            }
            // Daemons that fork into the background unless told not to.
            ["cron" | "crond", rest @ ..]
                if !rest.iter().any(|w| matches!(*w, "-f" | "-n" | "-F")) =>
            {
                return Some(program.to_owned());
            }
            _ => {}
        }
        for (i, word) in words.iter().enumerate() {
            let flag = word.split('=').next().unwrap_or(word);
            if FLAGS.contains(&flag)
                || (*word == "daemonize" && words.get(i + 1) == Some(&"yes"))
                || ((*word == "-d" || *word == "-D") && DASH_D.contains(&program))
            {
                return Some((*word).to_owned());
            }
        }
        if program == "nginx" && !command.contains("daemon off") {
            let config = words
                .iter()
                .position(|w| *w == "-c")
                .and_then(|i| words.get(i + 1).copied());
            if !nginx_daemon_off(config) {
                return Some("nginx".to_owned());
            }
        }
    }
    None
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    procfile_problems(project, out);
    daemonizing(project, out);
    process_managers(project, out);
}

/// No Procfile, or its problems, located as `dozen check` reports them.
pub fn procfile_problems(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (procfile, diagnostic) in project
        .procfiles
        .iter()
        .flat_map(|p| p.problems.iter().map(move |d| (p.path.as_str(), d)))
    {
        // Twelve-factor asks for process types, not for a file: processes declared another
        // way (a Dockerfile's CMD, Compose, manifests, a Spring Boot jar) or an image whose
        // command the orchestrator gives (a Mix release) leave nothing missing. (The finding
        // stays in the audit, as DESIGN.md lists it; its default severity is measured like
        // every rule's, and the rounds judge it.)
        if diagnostic.message == crate::app::MISSING_PROCFILE
            && project
                .model
                .is_some_and(|m| m.declares_processes() || !m.base_images.is_empty())
        {
            continue;
        }
        let (line, column) = diagnostic
            .location
            .as_ref()
            .map_or((1, 1), |l| (l.line, l.column));
        out.push(Finding::new(
            &INVALID_PROCFILE,
            procfile,
            (line, column),
            diagnostic.message.clone(),
            diagnostic
                .location
                .as_ref()
                .map_or("", |l| l.source_line.trim()),
            false,
        ));
    }
}

/// A container's own command (`CMD cron && exec apache2 …`) that leaves the foreground. An
/// nginx there is configured by the image, which the audit does not see.
fn daemonizing_containers(model: &crate::audit::model::Model, out: &mut Vec<Finding>) {
    for process in model.deployed_processes() {
        if let Some(how) = daemonizes(&process.command, |_| true) {
            out.push(Finding::new(
                &DAEMONIZING_COMMAND,
                &process.path,
                (process.line, 1),
                format!(
                    "`{}` ({}) leaves the foreground (`{how}`): the manager loses it",
                    process.name, process.declared_by
                ),
                &how,
                false,
            ));
        }
    }
}

/// Procfile commands, and the start scripts of production processes, that leave the
/// foreground.
fn daemonizing(project: &Project<'_>, out: &mut Vec<Finding>) {
    let daemon_off = |config: Option<&str>| {
        let text = config
            .map_or_else(
                || project.read("nginx.conf"),
                |c| project.read(c.trim_start_matches("./")),
            )
            .unwrap_or_default();
        text.lines().any(|l| {
            l.split('#')
                .next()
                .unwrap_or_default()
                .contains("daemon off")
        })
    };
    // The scripts production processes run (`ENTRYPOINT ["/app/bin/start.sh"]`): a line that
    // leaves the foreground there leaves it for the process too. A script that starts jobs
    // and `wait`s for them stays in the foreground.
    if let Some(model) = project.model {
        let mut scripts: Vec<String> = model
            .files
            .iter()
            .filter(|f| f.why == "run by a production process")
            .map(|f| f.path.clone())
            .collect();
        for start in super::admin_processes::start_scripts(project) {
            if !scripts.contains(&start.path) {
                scripts.push(start.path);
            }
        }
        daemonizing_containers(model, out);
        for path in &scripts {
            let file = path;
            let Some(text) = project.read(file) else {
                continue;
            };
            let shell = crate::audit::files::has_suffix(file, ".sh")
                || text.starts_with("#!/bin/sh")
                || text.starts_with("#!/bin/bash")
                || text.starts_with("#!/usr/bin/env bash")
                || text.starts_with("#!/usr/bin/env sh");
            let waits = text
                .lines()
                .any(|l| l.trim() == "wait" || l.trim_start().starts_with("wait "));
            if !shell {
                continue;
            }
            // A helper daemonized before the script `exec`s its program (`epmd -daemon`, then
            // `exec elixir …`) leaves the process itself in the foreground.
            let last_exec = text
                .lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| l.trim_start().starts_with("exec "))
                .unwrap_or(0);
            for (index, line) in text.lines().enumerate().skip_while(|(i, _)| *i < last_exec) {
                let code = line.trim_start();
                if code.starts_with('#') || code.is_empty() {
                    continue;
                }
                let Some(how) = daemonizes(code, daemon_off) else {
                    continue;
                };
                if how == "&" && waits {
                    continue;
                }
                let column = line
                    .find(how.split(' ').next().unwrap_or(&how))
                    .map_or(1, |i| line[..i].chars().count() + 1);
                out.push(Finding::new(
                    &DAEMONIZING_COMMAND,
                    file,
                    (index + 1, column),
                    format!("a production start script leaves the foreground (`{how}`): the manager loses it"),
                    &how,
                    false,
                ));
            }
        }
    }
    for (procfile, process) in project.processes().chain(project.releases()) {
        if let Some(how) = daemonizes(&process.command, daemon_off) {
            out.push(Finding::new(
                &DAEMONIZING_COMMAND,
                procfile,
                project.procfile_position(procfile, process.line, &how),
                format!(
                    "`{}` leaves the foreground (`{how}`): the manager loses it",
                    process.name
                ),
                &how,
                false,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemonizing_commands() {
        let off = |_: Option<&str>| false;
        for (command, expected) in [
            ("gunicorn --daemon app:app", Some("--daemon")),
            (
                "celery -A proj multi start w1 -l INFO",
                Some("celery multi start"),
            ),
            ("celery -A proj worker -l INFO", None),
            (
                "/venv/bin/celery multi start w1",
                Some("celery multi start"),
            ),
            ("redis-server --daemonize yes", Some("--daemonize")),
            ("redis-server daemonize yes", Some("daemonize")),
            ("nohup node server.js", Some("nohup")),
            ("node server.js &", Some("&")),
            ("node a.js & node b.js", Some("&")),
            ("pm2 start app.js", Some("pm2 start")),
            ("service nginx start", Some("service nginx start")),
            ("docker run -d img", Some("-d")),
            ("bundle exec puma -d", Some("-d")),
            ("nginx", Some("nginx")),
            ("nginx -g 'daemon off;'", None),
            ("mongod --fork --logpath x", Some("--fork")),
            ("unicorn --pid tmp/pids/u.pid", Some("--pid")),
            ("npm run build && node server.js", None),
            ("python app.py 2>&1 | tee", None),
            ("node app.js &> /dev/null", None),
            ("pm2-runtime app.js", None),
            ("python -m http.server -d public", None),
            ("java -Dserver.port=$PORT -jar app.jar", None),
            (
                "([ -z \"$CRON_MIN\" ] || cron) && exec apache2",
                Some("cron"),
            ),
            ("cron -f", None),
            ("crond -f -l 2 && nginx -g 'daemon off;'", None),
        ] {
            assert_eq!(daemonizes(command, off).as_deref(), expected, "{command}");
        }
        assert_eq!(daemonizes("nginx -c nginx.conf", |_| true), None);
    }

    #[test]
    fn process_managers_that_start_every_type() {
        assert_eq!(
            process_manager("bin/docker-entrypoint.sh foreman start").as_deref(),
            Some("foreman start")
        );
        assert_eq!(
            process_manager("bundle exec honcho start -f Procfile").as_deref(),
            Some("honcho start")
        );
        assert_eq!(
            process_manager("/usr/bin/supervisord -c /etc/supervisord.conf").as_deref(),
            Some("supervisord")
        );
        assert_eq!(process_manager("foreman run rake db:migrate"), None);
        assert_eq!(
            process_manager(
                "prisma migrate deploy && exec concurrently -k \"next start\" \"tsx worker.ts\""
            )
            .as_deref(),
            Some("concurrently")
        );
        assert_eq!(process_manager("bundle exec puma"), None);
    }
}
