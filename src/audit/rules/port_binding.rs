//! Factor VII, Port binding: export services via port binding, on `$PORT`.

use crate::app::procfile::ProcessType;
use crate::audit::files::{Kind, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::Project;
use crate::audit::rule::{Roles, Rule};
use crate::audit::scan::{Fact, Hit, Pattern};
use crate::audit::shell::simple_commands;

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&PROBE_NO_BIND, &WEB_IGNORES_PORT, &HARDCODED_PORT],
    patterns: &[PATTERNS],
    check,
};

pub static PROBE_NO_BIND: Rule = Rule {
    id: "port-binding/probe-no-bind",
    factor: Factor::VII,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "Probe: the web process did not accept connections on $PORT within the boot timeout",
    explanation: "`dozen audit --probe` started the type with PORT set and connected to it until the boot timeout (60 s by default, Heroku's R10). It never answered there; when it listened on another port, the message names it. On any platform that routes to $PORT, this release would fail to boot.",
    fix: "Bind 0.0.0.0:$PORT (or read PORT in the code), and make the server start within the timeout.",
};

pub static WEB_IGNORES_PORT: Rule = Rule {
    id: "port-binding/web-ignores-port",
    factor: Factor::VII,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "The web process does not listen on `$PORT`",
    explanation: "The app is self-contained and exports HTTP by binding to the port the platform gives it in `$PORT`: dozen, Heroku and every Procfile runner assign one per instance, so two web instances never collide. A web command that binds a fixed port, and code (or server config: uWSGI's `$(PORT)`) that never reads PORT, fails that contract (Heroku's R10 boot timeout).",
    fix: "Pass `$PORT` in the command (`uvicorn app:app --host 0.0.0.0 --port $PORT`) or read it in the code (`process.env.PORT`). Servers that bind $PORT themselves when it is set — gunicorn, Heroku's PHP boot scripts, `rails server`, `next start` — need nothing; remove a fixed `-b`/`-p` from their command.",
};

pub static HARDCODED_PORT: Rule = Rule {
    id: "port-binding/hardcoded-port",
    factor: Factor::VII,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A server listens on a literal port with no `PORT` fallback",
    explanation: "A literal port in the code binds the same port in every instance and environment: a second instance cannot start, and the platform cannot route to it.",
    fix: "Read the port from the environment with the literal as the local default: `app.listen(process.env.PORT || 3000)`.",
};

fn no_env(hit: &Hit<'_>) -> bool {
    !crate::audit::clues::reads_env(hit.line) && !hit.line.contains("PORT")
}

const MESSAGE: &str = "listens on a literal port: read PORT from the environment";

pub static PATTERNS: &[Pattern] = &[
    Pattern::fact(
        Fact::ReadsPort,
        r#"process\.env\.PORT\b|process\.env\[["']PORT["']\]|environ(?:\.get)?[\[(]\s*["']PORT["']|getenv\(\s*["']PORT["']|Getenv\("PORT"\)|env::var\(\s*"PORT"|ENV(?:\.fetch)?[\[(]\s*["']PORT["']|\$\{?PORT\b|\$\(PORT\)|env\(\s*["']PORT["']"#,
        Kinds::of(&[Kind::Code, Kind::Config]),
    ),
    // Go code that names the variable in a string reads it from `os.Environ()` some other
    // way: an options table (miniflux's `"PORT": {…}`), a `case "PORT":`. (Not in other
    // languages: Django's `DATABASES` has a `"PORT"` that is the database's.)
    Pattern::fact(Fact::ReadsPort, r#""PORT""#, Kinds::CODE).verify(go_code),
    Pattern::new(
        &HARDCODED_PORT,
        r"\.listen\(\s*(\d{2,5})\s*[,)]",
        MESSAGE,
        Kinds::CODE,
    )
    .verify(no_env),
    Pattern::new(
        &HARDCODED_PORT,
        r#"ListenAndServe(?:TLS)?\(\s*"[^"]*:(\d{2,5})""#,
        MESSAGE,
        Kinds::CODE,
    )
    .verify(no_env),
    Pattern::new(
        &HARDCODED_PORT,
        r"\.run\([^)\n]*\bport\s*=\s*(\d{2,5})",
        MESSAGE,
        Kinds::CODE,
    )
    .verify(no_env),
    Pattern::new(
        &HARDCODED_PORT,
        r#"TcpListener::bind\(\s*"[^"]*:(\d{2,5})""#,
        MESSAGE,
        Kinds::CODE,
    )
    .verify(no_env),
    // (Spring's `server.port: 8080` is not one: Spring Boot reads `SERVER_PORT` from the
    // environment before any file, so the literal is a default the platform overrides.)
    // The application server's own config: uWSGI's `http = 127.0.0.1:8080` (or
    // `http-socket`, `socket`), gunicorn's `bind = "0.0.0.0:8000"`.
    Pattern::new(
        &HARDCODED_PORT,
        r#"(?m)^\s*(?:https?|http-socket|socket|bind)\s*=\s*\[?\s*["']?[\w.\[\]-]*:(\d{2,5})["']?"#,
        MESSAGE,
        Kinds::of(&[Kind::Config, Kind::Code, Kind::Other]),
    )
    .verify(|hit| {
        let name = crate::audit::files::name(hit.path).to_ascii_lowercase();
        // uWSGI's ini files; gunicorn's config only where gunicorn loads it by itself.
        name.contains("uwsgi") && crate::audit::files::has_extension(&name, &["ini"])
            || name == "gunicorn.conf.py"
    })
    .gate(r"(?:http|socket|bind)\s*="),
];

/// A literal port the command binds (`-p 8000`, `--port=8000`, `-b 0.0.0.0:8000`).
fn literal_port_flag(command: &str) -> Option<String> {
    for words in simple_commands(command) {
        for (i, word) in words.iter().enumerate() {
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) if flag.starts_with('-') => (flag, Some(value)),
                _ => (*word, None),
            };
            if !["-p", "--port", "-b", "--bind", "--listen", "-l"].contains(&flag) {
                continue;
            }
            let Some(value) = inline.or_else(|| words.get(i + 1).copied()) else {
                continue;
            };
            let port = value.rsplit(':').next().unwrap_or(value);
            if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
                return Some(if inline.is_some() {
                    (*word).to_owned()
                } else {
                    format!("{word} {value}")
                });
            }
        }
    }
    None
}

/// Servers that bind `$PORT` themselves when it is set: gunicorn (its default bind is
/// `0.0.0.0:$PORT`), Heroku's PHP boot scripts, `rails server`, `next start`.
fn binds_port_itself(command: &str) -> Option<&'static str> {
    const WRAPPERS: [&str; 7] = ["bundle", "exec", "poetry", "pipenv", "run", "npx", "uv"];
    for words in simple_commands(command) {
        let mut words = words
            .into_iter()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .skip_while(|w| WRAPPERS.contains(w));
        let program = words.next().map(|p| p.rsplit('/').next().unwrap_or(p));
        let next = words.next();
        let server = match (program, next) {
            (Some("gunicorn"), _) => "gunicorn",
            (Some("heroku-php-apache2"), _) => "heroku-php-apache2",
            (Some("heroku-php-nginx"), _) => "heroku-php-nginx",
            (Some("rails"), Some("server" | "s")) => "rails server",
            (Some("next"), Some("start")) => "next start",
            _ => continue,
        };
        return Some(server);
    }
    None
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (procfile, web) in project.processes().filter(|(_, p)| p.name == "web") {
        web_uses_port(project, procfile, web, out);
    }
    // Spring Boot's `server.port` is a default the environment overrides (`SERVER_PORT`, by
    // relaxed binding, or `-Dserver.port=$PORT`): where the deployment sets it, the literal
    // is not what the process binds.
    if project
        .model
        .is_some_and(|m| deployment_sets_server_port(project, m))
    {
        out.retain(|f| {
            !(f.rule == HARDCODED_PORT.id && f.message == MESSAGE && is_spring_config(&f.path))
        });
    }
}

fn is_spring_config(path: &str) -> bool {
    let name = crate::audit::files::name(path);
    crate::audit::files::has_extension(name, &["properties", "yml", "yaml"])
}

/// Whether a production declaration, or a file a production process runs, sets Spring's
/// port from the environment.
fn deployment_sets_server_port(project: &Project<'_>, model: &crate::audit::model::Model) -> bool {
    let sets = |text: &str| {
        text.contains("SERVER_PORT")
            || text.contains("server.port=$")
            || text.contains("server.port=${")
    };
    model.production_processes().any(|p| sets(&p.command))
        || model
            .files
            .iter()
            .filter(|f| f.role == crate::audit::model::roles::Role::Production)
            .filter(|f| {
                crate::audit::files::is_dockerfile(crate::audit::files::name(&f.path))
                    || f.why == "run by a production process"
            })
            .filter_map(|f| project.read(&f.path))
            .any(|text| sets(&text))
}

fn web_uses_port(project: &Project<'_>, procfile: &str, web: &ProcessType, out: &mut Vec<Finding>) {
    let mentions_port = web.command.contains("PORT") || binds_port_itself(&web.command).is_some();
    let (evidence, message) = if let Some(flag) = literal_port_flag(&web.command) {
        (
            flag.clone(),
            format!("web binds a fixed port (`{flag}`), not $PORT"),
        )
    } else if !mentions_port && project.facts(Fact::ReadsPort).next().is_none() {
        (
            web.command.clone(),
            "web never uses $PORT: neither its command nor the code reads PORT".to_owned(),
        )
    } else {
        return;
    };
    out.push(Finding::new(
        &WEB_IGNORES_PORT,
        procfile,
        project.procfile_position(procfile, web.line, &evidence),
        message,
        &evidence,
        false,
    ));
}

fn go_code(hit: &Hit<'_>) -> bool {
    crate::audit::files::has_suffix(hit.path, ".go")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_port_flags() {
        assert_eq!(
            literal_port_flag("gunicorn -b 0.0.0.0:8000 app:app").as_deref(),
            Some("-b 0.0.0.0:8000")
        );
        assert_eq!(
            literal_port_flag("rails s --port=3000").as_deref(),
            Some("--port=3000")
        );
        assert_eq!(literal_port_flag("gunicorn -b 0.0.0.0:$PORT app"), None);
        assert_eq!(literal_port_flag("node server.js -p $PORT"), None);
    }

    #[test]
    fn servers_that_bind_port_themselves() {
        for command in [
            "gunicorn app:app",
            "bundle exec rails server",
            "heroku-php-apache2 web/",
            "vendor/bin/heroku-php-nginx -C nginx.conf public/",
            "cd src && gunicorn --workers 3 wsgi",
            "NODE_ENV=production npx next start",
        ] {
            assert!(binds_port_itself(command).is_some(), "{command}");
        }
        for command in [
            "uvicorn app:app",
            "python app.py",
            "rails console",
            "next dev",
        ] {
            assert_eq!(binds_port_itself(command), None, "{command}");
        }
    }
}
