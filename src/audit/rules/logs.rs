//! Factor XI, Logs: treat logs as event streams, written unbuffered to stdout.

use std::sync::LazyLock;

use regex::Regex;

use crate::audit::files::{self, Kind, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{File, Project};
use crate::audit::rule::{Role, Roles, Rule};
use crate::audit::scan::{Hit, Pattern};
use crate::audit::shell::simple_commands;

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&PROBE_LOG_FILE, &FILE_SINK, &TRACKED_LOG_FILE],
    patterns: &[PATTERNS],
    check,
};

pub static PROBE_LOG_FILE: Rule = Rule {
    id: "logs/probe-log-file",
    factor: Factor::XI,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Probe: the process wrote a log file",
    explanation: "`dozen audit --probe` compared the app's copy before and after running the type: it created or grew a log file instead of (or besides) writing its event stream to stdout.",
    fix: "Log to stdout/stderr and let the process manager route the stream.",
};

pub static FILE_SINK: Rule = Rule {
    id: "logs/file-sink",
    factor: Factor::XI,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Logs written to a file instead of stdout",
    explanation: "A twelve-factor app never concerns itself with routing or storage of its output stream: it writes its event stream, unbuffered, to stdout, and the environment collects it. Log files fill disks, vanish with the machine, and are invisible to `dozen run`, `heroku logs` and every log router.",
    fix: "Log to stdout/stderr (`StreamHandler`, `ConsoleAppender`, `transports.Console`, `--log-file -`, `access_log /dev/stdout`) and let the process manager route it.",
};

pub static TRACKED_LOG_FILE: Rule = Rule {
    id: "logs/tracked-log-file",
    factor: Factor::XI,
    severity: Severity::Warning,
    roles: Roles::of(&[Role::Production, Role::Development, Role::Build]),
    summary: "A log file is committed",
    explanation: "A committed log file is output mistaken for code: it is a sign the app writes logs into its own directory.",
    fix: "`git rm --cached` it, add `*.log` to .gitignore, and log to stdout.",
};

/// Not when the target is a standard stream.
fn not_a_stream(hit: &Hit<'_>) -> bool {
    let target = hit.evidence.trim_matches(|c| "\"';,`)".contains(c));
    // Procfile commands are read whole by `check`, which reports their sinks once.
    !files::name(hit.path).starts_with("Procfile")
        && !(target.is_empty()
            || target == "-"
            || target == "off"
            || target.starts_with("/dev/std")
            || target == "/proc/self/fd/1"
            || target == "/proc/self/fd/2"
            || target == "/dev/fd/1"
            || target == "/dev/fd/2"
            || target.eq_ignore_ascii_case("none")
            // A logger sent to /dev/null is one switched off: it writes no file.
            || target == "/dev/null"
            || target.eq_ignore_ascii_case("stdout")
            || target.eq_ignore_ascii_case("stderr")
            || target.starts_with('$'))
}

/// Whether a supervisord setting is a program's (`[program:web]`): in its own
/// `[supervisord]` section a program's option means nothing. Code that writes the config
/// has no sections to look at.
fn in_a_program_section(hit: &Hit<'_>) -> bool {
    let before = String::from_utf8_lossy(&hit.content[..hit.at.min(hit.content.len())]);
    before
        .lines()
        .rev()
        .map(str::trim_start)
        .find(|l| l.starts_with('['))
        .is_none_or(|section| {
            section.starts_with("[program:")
                || section.starts_with("[fcgi-program:")
                || !files::has_extension(hit.path, &["conf", "ini"])
        })
}

/// Whether a Symfony config line is for production: not in a `when@dev`/`when@test` block,
/// nor in `config/packages/dev/` or `test/`.
fn outside_symfony_development(hit: &Hit<'_>) -> bool {
    let in_environment_dir = hit
        .path
        .split('/')
        .any(|part| matches!(part, "dev" | "test" | "development"));
    let before = String::from_utf8_lossy(&hit.content[..hit.at.min(hit.content.len())]);
    let block = before
        .lines()
        .rev()
        .find(|l| l.starts_with(|c: char| !c.is_whitespace() && c != '#'))
        .unwrap_or("");
    let development_block = block.strip_prefix("when@").is_some_and(|env| {
        !env.trim_end_matches(':')
            .trim()
            .eq_ignore_ascii_case("prod")
    });
    !in_environment_dir && !development_block
}

const MESSAGE: &str = "logs go to a file, not stdout";

pub static PATTERNS: &[Pattern] = &[
    Pattern::new(
        &FILE_SINK,
        r"\blogging\.(?:handlers\.)?\w*FileHandler\(|\b(?:Rotating|TimedRotating|Watched)FileHandler\(|\blogging\.basicConfig\([^)\n]*\bfilename\s*=|winston\.transports\.File\b|\bnew\s+transports\.File\b|\b(?:Rolling)?FileAppender\b|\bfs\.createWriteStream\(\s*['\x22][^'\x22]*\.log['\x22]|\bos\.OpenFile\(\s*\x22[^\x22]*\.log\x22",
        MESSAGE,
        Kinds::SHIPPED,
    ),
    // Python's logging config as data (dictConfig JSON or YAML, fileConfig INI): a handler
    // whose class writes a file.
    Pattern::new(
        &FILE_SINK,
        // Any handler class whose dotted name ends in `FileHandler`:
        // `logging.handlers.RotatingFileHandler`,
        // `concurrent_log_handler.ConcurrentRotatingFileHandler`.
        r#"(?m)["']?class["']?\s*[:=]\s*["']?([A-Za-z_][\w.]*FileHandler)\b"#,
        MESSAGE,
        // Django's `LOGGING` is the same dict in settings code.
        Kinds::of(&[Kind::Code, Kind::Config, Kind::Other]),
    )
    .gate("FileHandler"),
    // Ruby's `Logger.new("log/app.log")`, the path written out or joined
    // (`ActiveSupport::Logger.new(Rails.root.join("log/rails.log"))`).
    Pattern::new(
        &FILE_SINK,
        r#"\bLogger\.new\(\s*(?:(?:Rails\.root\.join|File\.join|File\.expand_path)\s*\([^"'()]*)?["']([^"']+)["']"#,
        MESSAGE,
        Kinds::SHIPPED,
    )
    .verify(not_a_stream),
    Pattern::new(
        &FILE_SINK,
        r"(?m)^\s*logging\.file\.(?:name|path)\s*[=:]\s*(\S+)",
        MESSAGE,
        Kinds::of(&[Kind::Config]),
    )
    .verify(not_a_stream)
    .gate(r"logging\.file"),
    Pattern::new(
        &FILE_SINK,
        r"--(?:access-|error-)?log-?file[= ]+([^\s'\x22]+)",
        MESSAGE,
        Kinds::SHIPPED,
    )
    .verify(not_a_stream),
    Pattern::new(
        &FILE_SINK,
        r#"\b(?:accesslog|errorlog)\s*=\s*["']([^"']+)["']"#,
        MESSAGE,
        Kinds::CODE,
    )
    .verify(not_a_stream),
    Pattern::new(
        &FILE_SINK,
        r"(?m)^\s*(?:access_log|error_log)(?:\s*=\s*|\s+)([^\s;]+)",
        MESSAGE,
        Kinds::of(&[Kind::Config, Kind::Other]),
    )
    .verify(nginx_sink)
    .gate(r"access_log|error_log"),
    // supervisord's program output to a file (`stdout_logfile=logs/web.log`, in its config
    // or in code that writes the config): the programs' streams never reach the container's.
    Pattern::new(
        &FILE_SINK,
        r#"\b(?:stdout|stderr)_logfile["']?\s*[:=]\s*["']?([^\s"',}]+)"#,
        MESSAGE,
        Kinds::SHIPPED,
    )
    .verify(|hit| not_a_stream(hit) && in_a_program_section(hit))
    .gate("_logfile"),
    // Spring Boot's embedded server writing its access log to files
    // (`server.tomcat.accesslog.enabled=true`, Undertow's and Jetty's alike).
    Pattern::new(
        &FILE_SINK,
        r"(?m)^\s*(server\.(?:tomcat|undertow|jetty)\.accesslog\.enabled)\s*[=:]\s*true\s*$",
        MESSAGE,
        Kinds::of(&[Kind::Config]),
    )
    .gate("accesslog"),
    // A YAML config's log file (Sidekiq's `:logfile: ./log/sidekiq.log`, any server's
    // `logfile: /var/log/app.log`).
    Pattern::new(
        &FILE_SINK,
        r#"(?m)^\s*:?logfile:\s*["']?([^\s"']+)"#,
        MESSAGE,
        Kinds::of(&[Kind::Config]),
    )
    .verify(not_a_stream)
    .gate("logfile:"),
    // Symfony's Monolog handler writing under the kernel's log directory
    // (`path: "%kernel.logs_dir%/%kernel.environment%.log"`), outside a `when@dev` or
    // `when@test` block and the `dev/` and `test/` package directories.
    Pattern::new(
        &FILE_SINK,
        r#"(?m)^\s*path:\s*["']?(%kernel\.logs_dir%[^\s"']*)"#,
        MESSAGE,
        Kinds::of(&[Kind::Config]),
    )
    .verify(outside_symfony_development)
    .gate("kernel.logs_dir"),
    // Puma's `stdout_redirect "log/puma.log", …` in config/puma.rb, the path written out or
    // joined (`stdout_redirect File.join(app_dir, "log/stdout.log"), …`).
    Pattern::new(
        &FILE_SINK,
        r#"\bstdout_redirect\s*\(?\s*(?:(?:File\.join|File\.expand_path|Rails\.root\.join)\s*\([^"'()]*)?["']([^"']+)["']"#,
        MESSAGE,
        Kinds::CODE,
    )
    .verify(not_a_stream),
];

/// Whether a Compose service or a production Dockerfile runs the official nginx image, whose
/// `/var/log/nginx/*.log` are links to the container's stdout and stderr.
fn runs_official_nginx(model: &crate::audit::model::Model) -> bool {
    let official = |image: &str| {
        let repository = image.split([':', '@']).next().unwrap_or(image);
        [
            "nginx",
            "library/nginx",
            "docker.io/nginx",
            "docker.io/library/nginx",
            "nginxinc/nginx-unprivileged",
        ]
        .contains(&repository)
    };
    // Production's, or the infrastructure a Compose file of backing services runs beside
    // the app (the model calls that development's, but its nginx reads the same config).
    model.services.iter().any(|(s, role)| {
        matches!(
            role,
            crate::audit::model::roles::Role::Production
                | crate::audit::model::roles::Role::Development
        ) && official(&s.image)
    }) || model.base_images.iter().any(|image| official(image))
}

/// nginx's `access_log`/`error_log` to a file, in its config whatever the file is called
/// (`nginx.conf`, `config/nginx.conf.erb`, `sites-enabled/app`).
fn nginx_sink(hit: &Hit<'_>) -> bool {
    let nginx = hit.kind == Kind::Config
        || hit.path.contains("nginx")
        || memchr::memmem::find(hit.content, b"server {").is_some();
    nginx && not_a_stream(hit) && !also_streamed(hit)
}

/// Whether the same config also sends this log to a stream (nginx takes several
/// `access_log`s and `error_log`s: a file beside `/dev/stdout` or `stderr` is a copy, and the
/// log still reaches the process's output).
fn also_streamed(hit: &Hit<'_>) -> bool {
    let directive = if hit.matched.trim_start().starts_with("error_log") {
        "error_log"
    } else {
        "access_log"
    };
    String::from_utf8_lossy(hit.content).lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some(directive)
            && words.next().is_some_and(|target| {
                let target = target.trim_end_matches(';');
                [
                    "/dev/stdout",
                    "/dev/stderr",
                    "stderr",
                    "/proc/self/fd/1",
                    "/proc/self/fd/2",
                ]
                .contains(&target)
            })
    })
}

const LOG_FLAGS: [&str; 4] = [
    "--logfile",
    "--log-file",
    "--access-logfile",
    "--error-logfile",
];

/// Where a Procfile command sends its output to a file: a redirection, `--logfile`, `-L`.
pub fn command_sink(command: &str) -> Option<String> {
    for words in simple_commands(command) {
        for (i, word) in words.iter().enumerate() {
            let next = words.get(i + 1).copied().unwrap_or_default();
            let redirect = word
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '&')
                .strip_prefix('>')
                .map(|rest| rest.trim_start_matches('>'));
            // (the file, the words that name it)
            let (target, evidence) = match redirect {
                Some("") => (next, format!("{word} {next}")),
                Some(inline) => (inline, (*word).to_owned()),
                None if LOG_FLAGS.contains(word) || *word == "-L" => {
                    (next, format!("{word} {next}"))
                }
                None => match word.split_once('=') {
                    Some((flag, value)) if LOG_FLAGS.contains(&flag) => (value, (*word).to_owned()),
                    _ => continue,
                },
            };
            let is_stream = target.is_empty()
                || target == "-"
                || target.starts_with('&')
                || target.starts_with("/dev/");
            if !is_stream {
                return Some(evidence);
            }
        }
    }
    None
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    // The official nginx image links its default logs to the container's stdout and stderr:
    // where the deployment runs it, those paths are the stream.
    if project.model.is_some_and(runs_official_nginx) {
        out.retain(|f| {
            !(f.rule == FILE_SINK.id
                && ["/var/log/nginx/access.log", "/var/log/nginx/error.log"]
                    .contains(&f.evidence.as_str()))
        });
    }
    // A log file the image or a start script links to a stream (`ln -sf /dev/stdout
    // /var/log/nginx/access.log`, as the official nginx image does) is the stream.
    let linked = linked_to_streams(project);
    if !linked.is_empty() {
        out.retain(|f| !(f.rule == FILE_SINK.id && linked.contains(&f.evidence)));
    }
    spring_log_file(project, out);
    rails_production_log(project, out);
    // A Compose service's, a unit's or a manifest's command that sends its output to a file
    // (`sidekiq -L log/sidekiq.log`); supervisord's programs are read as config above.
    for process in project.model.iter().flat_map(|m| m.deployed_processes()) {
        if process.declared_by == "supervisord program" {
            continue;
        }
        if let Some(sink) = command_sink(&process.command) {
            out.push(Finding::new(
                &FILE_SINK,
                &process.path,
                (process.line, 1),
                format!(
                    "`{}` ({}) writes its output to a file (`{sink}`)",
                    process.name, process.declared_by
                ),
                &sink,
                false,
            ));
        }
    }
    for (procfile, process) in project.processes() {
        if let Some(sink) = command_sink(&process.command) {
            let first = sink.split(' ').next().unwrap_or(&sink).to_owned();
            out.push(Finding::new(
                &FILE_SINK,
                procfile,
                project.procfile_position(procfile, process.line, &first),
                format!("`{}` writes its output to a file (`{sink}`)", process.name),
                &sink,
                false,
            ));
        }
    }
    for path in project.files {
        // A log in a test directory is a fixture (a log parser's input), not the app's output.
        if files::has_suffix(files::name(path), ".log")
            && !files::is_test_path(path)
            && project.tracked.is_some_and(|t| t.contains(path))
        {
            out.push(
                Finding::new(
                    &TRACKED_LOG_FILE,
                    path,
                    (1, 1),
                    "a log file is committed".to_owned(),
                    files::name(path),
                    false,
                )
                // Every committed log is one cause: output mistaken for code.
                .with_cause("committed log files"),
            );
        }
    }
    one_cause_per_logging_config(out);
}

/// Rails logs to `log/production.log` unless production's environment file sends the log
/// elsewhere: reported when no line of it that runs mentions a stream, a logger of its own
/// or the environment switch (`RAILS_LOG_TO_STDOUT`).
fn rails_production_log(project: &Project<'_>, out: &mut Vec<Finding>) {
    const ELSEWHERE: [&str; 7] = [
        "stdout",
        "stderr",
        "syslog",
        "config.logger",
        "log_to",
        "logstash",
        "rails_log",
    ];
    for (path, text) in project.production_texts("config/environments/production.rb") {
        let code: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with('#'))
            .map(|(i, l)| (i + 1, l.to_ascii_lowercase()))
            .collect();
        if code
            .iter()
            .any(|(_, l)| ELSEWHERE.iter().any(|w| l.contains(w)))
        {
            continue;
        }
        let line = code
            .iter()
            .find(|(_, l)| l.contains("config.log_level"))
            .map_or(1, |(n, _)| *n);
        out.push(Finding::new(
            &FILE_SINK,
            path,
            (line, 1),
            "production logs to log/production.log: nothing here sends Rails' log to stdout"
                .to_owned(),
            "log/production.log",
            false,
        ));
    }
}

/// The representative of `i`'s set in a union-find forest, halving the path on the way.
fn find(root: &mut [usize], mut i: usize) -> usize {
    while root[i] != i {
        root[i] = root[root[i]];
        i = root[i];
    }
    i
}

/// The file sinks of one logging config are one cause (a program's `stdout_logfile` and
/// `stderr_logfile`, a logback file's two appenders): one place to fix. So is the same sink
/// in several configs (one logback file copied into every service). Findings joined either
/// way share the cause of the first.
fn one_cause_per_logging_config(out: &mut [Finding]) {
    let sinks: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].rule == FILE_SINK.id)
        .collect();
    let mut root: Vec<usize> = (0..sinks.len()).collect();
    for a in 0..sinks.len() {
        for b in a + 1..sinks.len() {
            let (x, y) = (&out[sinks[a]], &out[sinks[b]]);
            if x.path == y.path || x.cause == y.cause {
                let (ra, rb) = (find(&mut root, a), find(&mut root, b));
                root[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    for i in 0..sinks.len() {
        let first = find(&mut root, i);
        if first != i {
            let cause = out[sinks[first]].cause.clone();
            out[sinks[i]].cause = cause;
        }
    }
}

/// The paths production's Dockerfiles and start scripts link to the process's stdout or
/// stderr: `ln -sf /dev/stdout PATH` (also `/dev/stderr`, `/proc/self/fd/1` and `2`).
fn linked_to_streams(project: &Project<'_>) -> Vec<String> {
    let mut sources: Vec<String> = project
        .files
        .iter()
        .filter(|f| files::is_dockerfile(files::name(f)) && project.is_production(f))
        .cloned()
        .collect();
    sources.extend(
        super::admin_processes::start_scripts(project)
            .into_iter()
            .map(|s| s.path),
    );
    let mut linked = Vec::new();
    for path in &sources {
        let Some(text) = project.read(path) else {
            continue;
        };
        let joined = text.replace("\\\n", " ");
        let lines = joined
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with('#'))
            // A Dockerfile's `RUN ln -sf …`.
            .map(|l| l.strip_prefix("RUN ").unwrap_or(l));
        for words in lines.flat_map(crate::audit::shell::simple_commands) {
            let [program, rest @ ..] = words.as_slice() else {
                continue;
            };
            if program.rsplit('/').next() != Some("ln") {
                continue;
            }
            let operands: Vec<&str> = rest
                .iter()
                .copied()
                .filter(|w| !w.starts_with('-'))
                .collect();
            if let [target, link] = operands.as_slice() {
                let stream = [
                    "/dev/stdout",
                    "/dev/stderr",
                    "/proc/self/fd/1",
                    "/proc/self/fd/2",
                ]
                .contains(target);
                if stream {
                    linked.push((*link).to_owned());
                }
            }
        }
    }
    linked
}

/// Spring Boot's `logging.file.name` or `logging.file.path` in production's config: the
/// app writes (and rotates) its own log file.
pub fn spring_log_file(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, property) in project.spring_properties() {
        if !matches!(
            property.key.as_str(),
            "logging.file.name" | "logging.file.path" | "logging.file" | "logging.path"
        ) || property.effective().is_empty()
        {
            continue;
        }
        // Written flat (`logging.file.name=…`), the pattern above reports it already.
        if property.written.starts_with("logging.") {
            continue;
        }
        out.push(Finding::new(
            &FILE_SINK,
            path,
            (property.line, 1),
            format!(
                "`{}` makes Spring Boot write its logs to a file ({}): leave them on stdout",
                property.key,
                property.effective()
            ),
            &property.key,
            false,
        ));
    }
}

/// Laravel's logging config (`config/logging.php`).
pub fn is_laravel_logging(path: &str) -> bool {
    crate::audit::files::name(path) == "logging.php"
        && crate::audit::model::frameworks::laravel_config(path)
}

/// Laravel's default log channel, followed through a `stack` to the channels it writes to:
/// `single` and `daily` write `storage/logs/laravel.log`, which is where a new Laravel app
/// logs unless `LOG_CHANNEL` says otherwise.
pub fn laravel_default_channel(file: &File<'_>, out: &mut Vec<Finding>) {
    static DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"['"]default['"]\s*=>\s*(?:env\(\s*['"]LOG_CHANNEL['"]\s*,\s*)?['"]([\w-]+)['"]"#,
        )
        .expect("valid")
    });
    let Some(default) = DEFAULT.captures(file.text) else {
        return;
    };
    let channel = &default[1];
    let mut seen = Vec::new();
    let mut queue = vec![channel.to_owned()];
    let mut writes_file = None;
    while let Some(name) = queue.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let Some(block) = channel_block(file.text, &name) else {
            continue;
        };
        match driver(block).as_deref() {
            Some("stack") => queue.extend(stack_channels(block)),
            Some(driver @ ("single" | "daily")) => {
                writes_file = Some(format!("{name} ({driver})"));
                break;
            }
            _ => {}
        }
    }
    if let Some(sink) = writes_file {
        let at = default.get(1).map_or(0, |m| m.start());
        out.push(Finding::new(
            &FILE_SINK,
            file.path,
            file.position(at),
            format!(
                "the default log channel `{channel}` writes to a file through `{sink}`: set LOG_CHANNEL=stderr"
            ),
            &sink,
            false,
        ));
    }
}

/// The text of a channel's `'name' => [ … ]` entry, to its closing bracket.
fn channel_block<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = [format!("'{name}' => ["), format!("\"{name}\" => [")]
        .iter()
        .filter_map(|key| text.find(key.as_str()).map(|at| at + key.len()))
        .min()?;
    let mut depth = 1;
    for (offset, byte) in text[start..].bytes().enumerate() {
        match byte {
            b'[' => depth += 1,
            b']' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return Some(&text[start..start + offset]);
        }
    }
    None
}

fn driver(block: &str) -> Option<String> {
    static DRIVER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"['"]driver['"]\s*=>\s*['"](\w+)['"]"#).expect("valid"));
    DRIVER.captures(block).map(|c| c[1].to_owned())
}

/// A stack's channels: a list (`['single']`) or a default of `LOG_STACK`
/// (`explode(',', env('LOG_STACK', 'single'))`).
fn stack_channels(block: &str) -> Vec<String> {
    static LIST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"['"]channels['"]\s*=>\s*(?:\[([^\]]*)\]|explode\(\s*['"],['"]\s*,\s*(?:\(string\)\s*)?env\(\s*['"]\w+['"]\s*,\s*['"]([^'"]*)['"])"#)
            .expect("valid")
    });
    let Some(captures) = LIST.captures(block) else {
        return Vec::new();
    };
    let list = captures
        .get(1)
        .or_else(|| captures.get(2))
        .map_or("", |m| m.as_str());
    list.split(',')
        .map(|c| c.trim().trim_matches(['\'', '"']).to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_sinks() {
        for (command, found) in [
            ("node server.js >> log/app.log", true),
            ("node server.js > out.txt 2>&1", true),
            ("node server.js 2>app.err", true),
            ("redis-server --logfile /var/log/redis.log", true),
            ("gunicorn --log-file=gunicorn.log app", true),
            ("gunicorn --log-file - app", false),
            ("node server.js 2>&1", false),
            ("node server.js > /dev/null", false),
            ("node server.js", false),
        ] {
            assert_eq!(command_sink(command).is_some(), found, "{command}");
        }
    }

    /// Laravel 11's `config/logging.php`, shortened; `{default}` and `{stack}` vary.
    fn laravel(default: &str, stack: &str) -> String {
        format!(
            "<?php\n\nreturn [\n\n    'default' => {default},\n\n    'channels' => [\n\n        'stack' => [\n            'driver' => 'stack',\n            'channels' => {stack},\n            'ignore_exceptions' => false,\n        ],\n\n        'single' => [\n            'driver' => 'single',\n            'path' => storage_path('logs/laravel.log'),\n        ],\n\n        'daily' => [\n            'driver' => 'daily',\n            'path' => storage_path('logs/laravel.log'),\n        ],\n\n        'stderr' => [\n            'driver' => 'monolog',\n            'handler' => StreamHandler::class,\n            'with' => ['stream' => 'php://stderr'],\n        ],\n    ],\n];\n"
        )
    }

    #[test]
    fn laravel_default_channels_that_write_files() {
        let found = |default: &str, stack: &str| {
            let text = laravel(default, stack);
            let file = File {
                path: "config/logging.php",
                name: "logging.php",
                kind: Kind::Code,
                text: &text,
                root: std::path::Path::new(""),
            };
            let mut out = Vec::new();
            laravel_default_channel(&file, &mut out);
            out.iter()
                .map(|f| (f.line, f.evidence.clone()))
                .collect::<Vec<_>>()
        };
        // A new Laravel app (laravel/laravel) and koel: stack → single.
        let stack_env = "explode(',', (string) env('LOG_STACK', 'single'))";
        assert_eq!(
            found("env('LOG_CHANNEL', 'stack')", stack_env),
            [(5, "single (single)".to_owned())]
        );
        assert_eq!(
            found("env('LOG_CHANNEL', 'stack')", "['daily']"),
            [(5, "daily (daily)".to_owned())]
        );
        assert!(found("env('LOG_CHANNEL', 'stderr')", stack_env).is_empty());
        assert!(found("env('LOG_CHANNEL', 'stack')", "['stderr']").is_empty());
        assert!(found("'stderr'", "['single']").is_empty());
    }
}
