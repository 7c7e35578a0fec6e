//! Factor V, Build, release, run: strictly separate the build and run stages.

use crate::audit::files::Kinds;
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::Project;
use crate::audit::rule::{Roles, Rule};
use crate::audit::scan::Pattern;
use crate::audit::shell::{simple_commands, unwrap_program};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[&BUILD_IN_WEB, &BUILD_TIME_PUBLIC_CONFIG, &CODE_MOUNTED],
    patterns: &[PATTERNS],
    check,
};

pub static BUILD_IN_WEB: Rule = Rule {
    id: "build-release-run/build-in-web",
    factor: Factor::V,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A process builds, installs dependencies or migrates before it serves",
    explanation: "The run stage only runs a release; it never changes code or installs anything. A process that builds or installs when it starts is slow to boot (Heroku kills web processes that do not bind within 60 s), can fail on a network blip, runs code that no build ever checked, and repeats the work on every instance and restart. Migrations belong to the release phase.",
    fix: "Put builds and installs in `[build] steps` (they run once, in `dozen build`), migrations in the Procfile's `release:` entry, and leave the process with only its server command.",
};

pub static BUILD_TIME_PUBLIC_CONFIG: Rule = Rule {
    id: "build-release-run/build-time-public-config",
    factor: Factor::V,
    severity: Severity::Note,
    roles: Roles::PRODUCTION,
    summary: "Frontend config inlined into the build (`NEXT_PUBLIC_*`, `REACT_APP_*`, `VITE_*`)",
    explanation: "Bundlers replace these variables with their values at build time, so the build holds one environment's config: promoting it to another environment keeps the old values. It is usually intended; this note marks where it happens.",
    fix: "Keep only values that are the same in every environment in these variables, or serve runtime config from the backend.",
};

pub static CODE_MOUNTED: Rule = Rule {
    id: "build-release-run/code-mounted",
    factor: Factor::V,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A production Compose service runs the host's checkout, mounted over its code",
    explanation: "A release is a build plus config, immutable and numbered. A production service that bind-mounts the repository (`.:/app`, `..:/app`) runs whatever is on the host's disk: a `git pull` changes the running code without a build or a release, there is nothing to roll back to, and two hosts run different code under the same image.",
    fix: "Copy the code into the image at build time (`COPY . /app`) and deploy a new image for each release; mount only data directories.",
};

pub static PATTERNS: &[Pattern] = &[Pattern::new(
    &BUILD_TIME_PUBLIC_CONFIG,
    r"\b(?:process\.env\.|import\.meta\.env\.)((?:NEXT_PUBLIC|REACT_APP|VITE|NUXT_PUBLIC|GATSBY)_[A-Z0-9_]+)",
    "frontend config inlined at build time: the build holds this environment's value",
    Kinds::CODE,
)
.verify(|hit| !server_only(hit.path, hit.content) && !describes_the_build(hit.evidence))];

/// A variable that describes the build itself (`REACT_APP_BUILD_VERSION`, `VITE_COMMIT_SHA`,
/// `NEXT_PUBLIC_BUILD_DATE`): the build is where its value belongs, the same in every
/// environment the build is promoted to.
fn describes_the_build(name: &str) -> bool {
    name.split('_').skip(1).all(|word| {
        matches!(
            word,
            "APP"
                | "PUBLIC"
                | "BUILD"
                | "VERSION"
                | "COMMIT"
                | "SHA"
                | "DATE"
                | "TIME"
                | "TIMESTAMP"
                | "REVISION"
                | "REV"
                | "GIT"
                | "HASH"
                | "RELEASE"
                | "TAG"
                | "NUMBER"
        )
    })
}

/// Whether a file runs only on the server, where such a variable is read when the process
/// runs (no browser bundle holds it): API routes (`pages/api/`, `app/**/route.ts`), server and
/// worker code by its directory or name (`lib/api/`, `server/`, `worker.ts`,
/// `session.server.ts`), and modules marked `import "server-only"`.
fn server_only(path: &str, content: &[u8]) -> bool {
    const SERVER_DIRS: [&str; 7] = [
        "api", "server", "worker", "workers", "jobs", "cron", "scripts",
    ];
    let mut parts = path.split('/').rev();
    let name = parts.next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    parts.any(|dir| SERVER_DIRS.contains(&dir))
        || matches!(stem, "route" | "worker" | "server")
        || name.contains(".server.")
        || memchr::memmem::find(content, b"server-only").is_some()
}

/// Builds and installs, as the words a command starts with (after `bundle exec`, `npx`…).
const BUILDS: [&str; 42] = [
    "npm run build",
    "npm install",
    "npm i",
    "npm ci",
    "yarn build",
    "yarn run build",
    "yarn install",
    "pnpm build",
    "pnpm run build",
    "pnpm install",
    "pnpm i",
    "bun install",
    "bun run build",
    "next build",
    "vite build",
    "webpack",
    "tsc",
    "go build",
    "go mod download",
    "cargo build",
    "mvn package",
    "mvn install",
    "mvn compile",
    "gradle build",
    "gradle assemble",
    "rake assets:precompile",
    "rails assets:precompile",
    "bundle install",
    "pip install",
    "pip3 install",
    "poetry install",
    "uv sync",
    "pipenv install",
    "composer install",
    "gem install",
    "apt-get install",
    "apk add",
    "manage.py collectstatic",
    // Symfony's `bin/console` (the `bin/` is unwrapped).
    "console cache:warmup",
    "console assets:install",
    "make",
    "dotnet build",
];

/// A build or install step anywhere in a line of a start script.
fn build_command(line: &str) -> Option<String> {
    simple_commands(line).iter().find_map(|words| {
        // `if ! apt-get --quiet --assume-yes install "$pkg"`: the command, its options aside.
        let words: Vec<&str> = words
            .iter()
            .copied()
            .skip_while(|w| ["if", "!", "then", "else", "elif", "do", "while", "until"].contains(w))
            .collect();
        // `sh -c 'apt-get install …'`: the command the shell runs.
        let words: Vec<&str> = match words.as_slice() {
            [shell, flag, rest @ ..]
                if matches!(*shell, "sh" | "bash" | "/bin/sh" | "/bin/bash")
                    && flag.starts_with('-')
                    && flag.ends_with('c') =>
            {
                rest.iter()
                    .map(|w| w.trim_start_matches(['"', '\'']))
                    .collect()
            }
            _ => words,
        };
        let unwrapped = unwrap_program(&words);
        let joined = unwrapped
            .iter()
            .enumerate()
            .filter(|(i, w)| *i == 0 || !w.starts_with('-'))
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(" ");
        BUILDS
            .iter()
            .any(|b| joined == *b || joined.starts_with(&format!("{b} ")))
            .then(|| words.join(" "))
    })
}

/// The build or install step a shell command runs before its last command, if any.
pub fn build_step(command: &str) -> Option<String> {
    let commands = simple_commands(command);
    let (_, before_server) = commands.split_last()?;
    before_server.iter().find_map(|words| {
        let unwrapped = unwrap_program(words);
        let joined = unwrapped.join(" ");
        BUILDS
            .iter()
            .any(|b| joined == *b || joined.starts_with(&format!("{b} ")))
            .then(|| words.join(" "))
    })
}

/// `npm start` (and yarn's, pnpm's, bun's) runs package.json's `prestart` then `start`
/// scripts: a build there happens at every start as surely as in the Procfile.
fn npm_start_build(project: &Project<'_>, command: &str, out: &mut Vec<Finding>, process: &str) {
    let starts = simple_commands(command).into_iter().any(|words| {
        let joined = unwrap_program(&words).join(" ");
        [
            "npm start",
            "npm run start",
            "yarn start",
            "yarn run start",
            "pnpm start",
            "pnpm run start",
            "bun run start",
            "bun start",
        ]
        .iter()
        .any(|s| joined == *s || joined.starts_with(&format!("{s} ")))
    });
    if !starts {
        return;
    }
    let Some(text) = project.read("package.json") else {
        return;
    };
    let Ok(package) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    for script in ["prestart", "start"] {
        let Some(body) = package["scripts"][script].as_str() else {
            continue;
        };
        // The server is the start script's last command; everything in prestart runs before it.
        let step = if script == "prestart" {
            simple_commands(body).into_iter().find_map(|words| {
                let joined = unwrap_program(&words).join(" ");
                BUILDS
                    .iter()
                    .any(|b| joined == *b || joined.starts_with(&format!("{b} ")))
                    .then(|| words.join(" "))
            })
        } else {
            build_step(body)
        };
        let Some(step) = step else { continue };
        let key = format!("\"{script}\"");
        let line = text
            .lines()
            .position(|l| l.contains(&key))
            .map_or(1, |i| i + 1);
        out.push(Finding::new(
            &BUILD_IN_WEB,
            "package.json",
            (line, 1),
            format!(
                "`{process}` runs `npm start`, whose `{script}` script builds or installs when it starts (`{step}`): that is the build stage's work"
            ),
            &step,
            false,
        ));
    }
}

/// Servers that compile the app as they start it: the run stage building code.
const COMPILE_AND_RUN: [&str; 9] = [
    "go run",
    "cargo run",
    "ts-node",
    "mvn spring-boot:run",
    "gradle bootRun",
    "./gradlew bootRun",
    "./mvnw spring-boot:run",
    "dotnet run",
    "tsx",
];

/// The command that compiles and runs the app at every start, if the process's server is one.
pub fn compile_at_start(command: &str) -> Option<String> {
    let commands = simple_commands(command);
    let server = commands.last()?;
    let joined = unwrap_program(server).join(" ");
    COMPILE_AND_RUN
        .iter()
        .any(|c| joined == *c || joined.starts_with(&format!("{c} ")))
        .then(|| server.join(" "))
}

/// Rails' `config.assets.compile = true` in production: assets compiled by the running
/// server on first request, not by the build.
fn rails_live_compilation(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, text) in project.production_texts("config/environments/production.rb") {
        let Some(line) = text.lines().position(|l| {
            let l = l.trim();
            l.starts_with("config.assets.compile")
                && l.split('#')
                    .next()
                    .unwrap_or("")
                    .trim_end()
                    .ends_with("true")
        }) else {
            continue;
        };
        out.push(Finding::new(
            &BUILD_IN_WEB,
            path,
            (line + 1, 1),
            "`config.assets.compile = true`: the running server compiles assets, not the build"
                .to_owned(),
            "config.assets.compile = true",
            false,
        ));
    }
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    rails_live_compilation(project, out);
    // Boot scripts, entrypoints and an image's init scripts run at every start too.
    for start in super::admin_processes::start_scripts(project) {
        if let Some((line, step)) =
            super::admin_processes::first_line_of(project, &start.path, build_command)
        {
            out.push(Finding::new(
                &BUILD_IN_WEB,
                &start.path,
                (line, 1),
                format!(
                    "{} starts with {}, which builds or installs each time (`{step}`): that is the build stage's work",
                    start.starter, start.named
                ),
                &step,
                false,
            ));
        }
    }
    // A Compose service's or a manifest's command that installs or builds before it runs
    // (`sh -c 'apt-get install … && exec server'`): at every start of every container.
    for process in project.model.iter().flat_map(|m| m.deployed_processes()) {
        if process.stage != crate::audit::model::declarations::Stage::Run {
            continue;
        }
        let Some(step) = process
            .command
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .find_map(build_command)
        else {
            continue;
        };
        out.push(Finding::new(
            &BUILD_IN_WEB,
            &process.path,
            (process.line, 1),
            format!(
                "`{}` ({}) builds or installs each time it starts (`{step}`): that is the build stage's work",
                process.name, process.declared_by
            ),
            &step,
            false,
        ));
    }
    if let Some(model) = project.model {
        for (path, line, service, mount) in &model.code_mounts {
            if model.role(path) != crate::audit::model::roles::Role::Production {
                continue;
            }
            out.push(
                Finding::new(
                    &CODE_MOUNTED,
                    path,
                    (*line, 1),
                    format!("service `{service}` mounts the app's checkout (`{mount}`): it runs what is on the host's disk, not a release"),
                    mount,
                    false,
                )
                .with_cause("production services that run the host's checkout"),
            );
        }
    }
    for (procfile, process) in project.processes() {
        npm_start_build(project, &process.command, out, &process.name);
        if let Some(run) = compile_at_start(&process.command) {
            out.push(Finding::new(
                &BUILD_IN_WEB,
                procfile,
                project.procfile_position(procfile, process.line, &run),
                format!(
                    "`{}` compiles the app each time it starts (`{run}`): build it in `[build] steps` and run the result",
                    process.name
                ),
                &run,
                false,
            ));
            continue;
        }
        // Migrations at start are `admin-processes/work-at-start`'s: one finding per problem.
        let Some(step) = build_step(&process.command) else {
            continue;
        };
        out.push(Finding::new(
            &BUILD_IN_WEB,
            procfile,
            project.procfile_position(procfile, process.line, &step),
            format!(
                "`{}` builds or installs when it starts (`{step}`): that is the build or release stage's work",
                process.name
            ),
            &step,
            false,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiling_servers() {
        for command in [
            "go run main.go",
            "cargo run --release",
            "npx ts-node src/server.ts",
            "./mvnw spring-boot:run",
            "cd api && go run .",
        ] {
            assert!(compile_at_start(command).is_some(), "{command}");
        }
        for command in [
            "./bin/server",
            "node dist/server.js",
            "go version && ./app",
            "java -jar app.jar",
        ] {
            assert!(compile_at_start(command).is_none(), "{command}");
        }
    }

    #[test]
    fn build_steps_before_the_server() {
        for (command, expected) in [
            ("npm run build && npm start", Some("npm run build")),
            (
                "bundle exec rake assets:precompile && bundle exec puma",
                Some("bundle exec rake assets:precompile"),
            ),
            (
                "pip install -r requirements.txt; gunicorn app",
                Some("pip install -r requirements.txt"),
            ),
            (
                "./mvnw package && java -jar target/app.jar",
                Some("./mvnw package"),
            ),
            ("npm start", None),
            ("make", None),
            ("node build/server.js", None),
            ("tsc-watch && node x", None),
        ] {
            assert_eq!(build_step(command).as_deref(), expected, "{command}");
        }
    }
}
