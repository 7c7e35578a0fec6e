//! `dozen init`: a starting `dozen.toml` and Procfile from what the directory holds.

use std::fmt::Write as _;

use super::context::{Context, print};
use crate::error::Error;
use crate::exit_code;
use crate::fsutil::write_new;

/// What `init` proposes for one ecosystem.
struct Plan {
    ecosystem: &'static str,
    steps: Vec<String>,
    cache: Vec<&'static str>,
    tools: Vec<&'static str>,
    /// `None` when nothing in the app says how it starts: the Procfile then says so.
    web: Option<String>,
    /// What the user must know or do (`add gunicorn to requirements.txt`).
    notes: Vec<String>,
    /// How much the files say the app is of this ecosystem: a `package.json` of linters
    /// (1) does not outvote a `requirements.txt` (2).
    weight: u8,
}

pub(super) fn run(context: &Context) -> Result<i32, Error> {
    let dir = context.locator.app_dir();
    let exists = |name: &str| dir.join(name).is_file();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut plans = detect(&exists, &read);
    if plans.is_empty() {
        // An app one directory down (`project/`, `backend/`): named, not guessed at.
        let below = detect_below(&dir.working_dir());
        if !below.is_empty() {
            let found: Vec<String> = below
                .iter()
                .map(|(sub, ecosystem)| format!("{ecosystem} in {sub}/"))
                .collect();
            return Err(Error::failed(format!(
                "no app at the top of {}: found {}; nothing written",
                if dir.shown() == "." {
                    "this directory".to_owned()
                } else {
                    dir.shown()
                },
                found.join(" and ")
            ))
            .hint(format!(
                "dozen's app directory is where the app's files are: run `dozen init --app {}` (or cd there first)",
                below[0].0
            )));
        }
    }
    if let Some(plan) = plans.first_mut() {
        // The recipe runs its tools where the build is made: one missing here fails the
        // first build, so it is said now.
        for tool in &plan.tools {
            if crate::app::tools::which(tool).is_none() {
                let install = if matches!(*tool, "yarn" | "pnpm") {
                    " (`corepack enable` installs it with Node)"
                } else {
                    ""
                };
                plan.notes.push(format!(
                    "`{tool}` is not on PATH: the build runs it; install it{install} before `dozen build`"
                ));
            }
        }
    }
    let name = crate::app::App::load(&context.locator).0.name;

    let mut written = Vec::new();
    let mut kept = Vec::new();
    let procfile_path = context
        .locator
        .procfile
        .clone()
        .unwrap_or_else(|| dir.join("Procfile"));
    let procfile_display = context
        .locator
        .procfile
        .as_ref()
        .map_or_else(|| dir.display("Procfile"), |p| p.display().to_string());
    let procfile = match plans.first().and_then(|p| p.web.as_ref()) {
        Some(web) => format!("web: {web}\n"),
        // No guess that would serve the directory (and its `.env`) to the network.
        None => "# One line per process type: NAME: COMMAND. web must listen on $PORT.\n# web: <the command that starts your web server>\n".to_owned(),
    };
    let created = write_new(&procfile_path, procfile.as_bytes(), 0o644)
        .map_err(|e| Error::io(format!("cannot write {procfile_display}"), e))?;
    if created {
        written.push(procfile_display);
    } else {
        kept.push(procfile_display);
    }

    let manifest_display = dir.display(crate::app::manifest::FILE_NAME);
    let manifest = render_manifest(&name, &plans);
    let created = write_new(
        &dir.join(crate::app::manifest::FILE_NAME),
        manifest.as_bytes(),
        0o644,
    )
    .map_err(|e| Error::io(format!("cannot write {manifest_display}"), e))?;
    if created {
        written.push(manifest_display);
    } else {
        kept.push(manifest_display);
    }

    if written.is_empty() {
        return Err(Error::failed(format!(
            "{} already exist; nothing written",
            kept.join(" and ")
        ))
        .hint("dozen init never overwrites a file; run `dozen check` to validate them"));
    }
    if !context.quiet {
        print(&summary(&plans, &written, &kept))?;
    }
    Ok(exit_code::SUCCESS)
}

/// What `init` tells the user: what it found, what it wrote, what it could not know.
fn summary(plans: &[Plan], written: &[String], kept: &[String]) -> String {
    let mut out = String::new();
    match plans.first() {
        Some(plan) => {
            let _ = writeln!(out, "detected {}", plan.ecosystem);
            for note in &plan.notes {
                let _ = writeln!(out, "note: {note}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "no known ecosystem detected (no Cargo.toml, package.json, requirements.txt, pyproject.toml, go.mod, Gemfile or pom.xml): the Procfile's web line is left for you to write"
            );
        }
    }
    for file in written {
        let _ = writeln!(out, "wrote {file}");
    }
    for file in kept {
        let _ = writeln!(out, "kept {file} (exists)");
    }
    let _ = writeln!(out, "next: review them, then run `dozen check`");
    out
}

/// The ecosystems found one directory down (`backend/`, `project/`), by directory name.
fn detect_below(dir: &std::path::Path) -> Vec<(String, &'static str)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut subdirs: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.starts_with('.')
                && !["node_modules", "vendor", "venv", "target", "dist", "build"]
                    .contains(&n.as_str())
        })
        .collect();
    subdirs.sort();
    subdirs
        .into_iter()
        .filter_map(|sub| {
            let base = dir.join(&sub);
            let exists = |name: &str| base.join(name).is_file();
            let read = |name: &str| std::fs::read_to_string(base.join(name)).unwrap_or_default();
            let plans = detect(&exists, &read);
            plans
                .first()
                .filter(|p| p.weight > 1)
                .map(|p| (sub.clone(), p.ecosystem))
        })
        .collect()
}

/// Files of the directory being initialised.
type Exists<'a> = &'a dyn Fn(&str) -> bool;
type Read<'a> = &'a dyn Fn(&str) -> String;

/// Every ecosystem found, the one the files say most about first (most specific first among
/// equals).
fn detect(exists: Exists, read: Read) -> Vec<Plan> {
    let mut plans: Vec<Plan> = [rust, node, python, go, ruby, java]
        .into_iter()
        .filter_map(|plan| plan(exists, read))
        .collect();
    plans.sort_by_key(|p| std::cmp::Reverse(p.weight));
    plans
}

fn rust(exists: Exists, read: Read) -> Option<Plan> {
    if !exists("Cargo.toml") {
        return None;
    }
    let name = toml::from_str::<toml::Table>(&read("Cargo.toml"))
        .ok()
        .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "app".to_owned());
    let locked = if exists("Cargo.lock") {
        " --locked"
    } else {
        ""
    };
    // `target` is the cache, and caches leave the build when its steps end: the binary is
    // copied out of it first.
    Some(Plan {
        ecosystem: "Rust (Cargo.toml)",
        steps: vec![
            format!("cargo build --release{locked}"),
            format!("mkdir -p bin && cp target/release/{name} bin/"),
        ],
        cache: vec!["target"],
        tools: vec!["cargo"],
        web: Some(format!("./bin/{name}")),
        notes: Vec::new(),
        weight: 2,
    })
}

fn node(exists: Exists, read: Read) -> Option<Plan> {
    if !exists("package.json") {
        return None;
    }
    let package: serde_json::Value =
        serde_json::from_str(&read("package.json")).unwrap_or_default();
    let scripts = package.get("scripts");
    let script = |name: &str| scripts.and_then(|s| s.get(name)).is_some();
    let (install, tool) = if exists("pnpm-lock.yaml") {
        ("pnpm install --frozen-lockfile", "pnpm")
    } else if exists("yarn.lock") {
        ("yarn install --frozen-lockfile", "yarn")
    } else if exists("package-lock.json") {
        ("npm ci", "npm")
    } else {
        ("npm install", "npm")
    };
    // `node_modules/.bin` first on every process's PATH: its links are relative, so the
    // tree's own tools run wherever the tree is.
    let mut steps = vec![
        install.to_owned(),
        r#"mkdir -p .profile.d && echo 'PATH="$PWD/node_modules/.bin:$PATH"' > .profile.d/node.sh"#
            .to_owned(),
    ];
    if script("build") {
        steps.insert(1, format!("{tool} run build"));
    }
    let main = package
        .get("main")
        .and_then(serde_json::Value::as_str)
        .map(|m| m.trim_start_matches("./").to_owned())
        .filter(|m| exists(m));
    let mut notes = Vec::new();
    let web = if let Some(start) = scripts
        .and_then(|s| s.get("start"))
        .and_then(serde_json::Value::as_str)
    {
        Some(start_command(
            start,
            tool,
            script("prestart") || script("poststart"),
        ))
    } else if let Some(file) = main.or_else(|| {
        ["server.js", "index.js", "app.js"]
            .into_iter()
            .find(|f| exists(f))
            .map(str::to_owned)
    }) {
        Some(format!("node {file}"))
    } else {
        notes.push(
            "package.json has no start script, and no main, server.js, index.js or app.js exists: write web's command in the Procfile".to_owned(),
        );
        None
    };
    // Dependencies or a way to start say it is a Node app; devDependencies alone (linters,
    // formatters) say only that its developers use Node's tools.
    let runs = package
        .get("dependencies")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|d| !d.is_empty())
        || web.is_some();
    Some(Plan {
        ecosystem: "Node.js (package.json)",
        steps,
        cache: vec!["node_modules/.cache"],
        tools: vec!["node", tool],
        web,
        notes,
        weight: if runs { 2 } else { 1 },
    })
}

/// web's command for a package.json `start` script: the script itself when it runs the app
/// directly (`node server.js`, `next start`, found through `node_modules/.bin` that
/// `.profile.d/node.sh` puts on PATH), so the process dozen signals is the app and the
/// package manager need not be where the release runs; `npm start` (or yarn's, pnpm's) when
/// the script goes through a package manager or has pre/post hooks that must run with it.
fn start_command(script: &str, tool: &str, hooks: bool) -> String {
    const MANAGERS: [&str; 5] = ["npm", "npx", "yarn", "pnpm", "corepack"];
    let through_manager = script
        .split(|c: char| c.is_whitespace() || matches!(c, '&' | '|' | ';' | '(' | ')'))
        .any(|word| MANAGERS.contains(&word));
    if hooks || through_manager || script.trim().is_empty() {
        format!("{tool} start")
    } else {
        script.trim().to_owned()
    }
}

/// Where a Python build installs its packages (`pip install --target`): a directory of the
/// build tree, found through `PYTHONPATH` that `.profile.d/python.sh` sets relative to where
/// the tree is, so the build runs from any path (an export's copy, an image's `/app`).
pub const PYTHON_PACKAGES: &str = ".python-packages";

/// The Python module and the name in it of an app object made by `constructor` (`Flask(`,
/// `FastAPI(`): `app:app`, `wsgi:application`, `app:create_app()` for a factory.
fn python_app(exists: Exists, read: Read, constructor: &str) -> Option<String> {
    const FILES: [&str; 7] = [
        "app.py",
        "wsgi.py",
        "main.py",
        "server.py",
        "application.py",
        "app/__init__.py",
        "app/main.py",
    ];
    FILES.iter().filter(|f| exists(f)).find_map(|file| {
        let text = read(file);
        if !text.contains(constructor) {
            return None;
        }
        let module = file
            .trim_end_matches(".py")
            .trim_end_matches("/__init__")
            .replace('/', ".");
        // `app = Flask(__name__)`: the assigned name; else a factory (`def create_app():`).
        let assigned = text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            (value.trim_start().starts_with(constructor)
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| name.to_owned())
        });
        let object = assigned.or_else(|| {
            text.contains("def create_app(")
                .then(|| "create_app()".to_owned())
        })?;
        Some(format!("{module}:{object}"))
    })
}

/// The settings package a Django `manage.py` names (`mysite` of `mysite.settings`), when its
/// `wsgi.py` is there.
fn django_project(exists: Exists, read: Read) -> Option<String> {
    let manage = read("manage.py");
    let at = manage.find("DJANGO_SETTINGS_MODULE")?;
    let rest = &manage[at..];
    let quoted = rest.split(['"', '\'']).nth(2)?;
    let package = quoted.strip_suffix(".settings").unwrap_or(quoted);
    let package = package.rsplit_once(".settings").map_or(package, |(p, _)| p);
    exists(&format!("{}/wsgi.py", package.replace('.', "/"))).then(|| package.to_owned())
}

/// Where the settings of the Django project `package` set `STATIC_ROOT` (`package/settings.py`,
/// or a `settings/` package's `__init__`, `base`, `production`): `Always` at the top level,
/// `Conditionally` only inside a block (`if not DEBUG:`), which the build cannot know holds.
fn static_root(read: Read, package: &str) -> StaticRoot {
    let dir = package.replace('.', "/");
    let mut found = StaticRoot::Unset;
    for file in [
        "settings.py",
        "settings/__init__.py",
        "settings/base.py",
        "settings/production.py",
    ] {
        for line in read(&format!("{dir}/{file}")).lines() {
            let name = line.trim_start();
            let assigns = name
                .strip_prefix("STATIC_ROOT")
                .is_some_and(|rest| rest.trim_start().starts_with(['=', ':']));
            if assigns {
                if name.len() == line.len() {
                    return StaticRoot::Always;
                }
                found = StaticRoot::Conditionally;
            }
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaticRoot {
    Unset,
    Conditionally,
    Always,
}

fn python(exists: Exists, read: Read) -> Option<Plan> {
    let file = ["requirements.txt", "pyproject.toml"]
        .into_iter()
        .find(|f| exists(f))?;
    let requirements = read(file).to_ascii_lowercase();
    let lists = |package: &str| {
        requirements.lines().any(|l| {
            let l = l.trim().trim_start_matches(['"', '\'']);
            l.strip_prefix(package).is_some_and(|rest| {
                rest.is_empty()
                    || rest
                        .starts_with(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            })
        })
    };
    let mut notes = Vec::new();
    let django = if exists("manage.py") {
        django_project(exists, read)
    } else {
        None
    };
    let web = if exists("manage.py") {
        match (django.clone(), lists("gunicorn")) {
            (Some(project), true) => Some(format!(
                "python3 -m gunicorn {project}.wsgi --bind 0.0.0.0:$PORT"
            )),
            (_, false) => {
                let project = django.as_deref().unwrap_or("PROJECT");
                notes.push(format!(
                    "web runs Django's development server: for production add gunicorn to {file} and make web `python3 -m gunicorn {project}.wsgi --bind 0.0.0.0:$PORT` (init never rewrites the Procfile)"
                ));
                Some("python3 manage.py runserver 0.0.0.0:$PORT".to_owned())
            }
            (None, true) => {
                notes.push(
                    "manage.py names no settings package with a wsgi.py: write web's gunicorn command in the Procfile".to_owned(),
                );
                None
            }
        }
    } else if let Some(app) = python_app(exists, read, "FastAPI(") {
        if !lists("uvicorn") {
            notes.push(format!("add uvicorn to {file}: web runs it"));
        }
        Some(format!(
            "python3 -m uvicorn {app} --host 0.0.0.0 --port $PORT"
        ))
    } else if let Some(app) = python_app(exists, read, "Flask(") {
        if lists("gunicorn") {
            Some(format!("python3 -m gunicorn '{app}' --bind 0.0.0.0:$PORT"))
        } else {
            notes.push(format!(
                "web runs Flask's development server: for production add gunicorn to {file} and make web `python3 -m gunicorn '{app}' --bind 0.0.0.0:$PORT` (init never rewrites the Procfile)"
            ));
            Some(format!(
                "python3 -m flask --app '{app}' run --host 0.0.0.0 --port $PORT"
            ))
        }
    } else if let Some(main) = ["app.py", "main.py", "server.py"]
        .into_iter()
        .find(|f| exists(f))
    {
        Some(format!("python3 {main}"))
    } else {
        notes.push(
            "found no app object (Flask, FastAPI, Django) nor app.py, main.py or server.py: write web's command in the Procfile".to_owned(),
        );
        None
    };
    let install = if file == "requirements.txt" {
        "-r requirements.txt"
    } else {
        "."
    };
    let mut steps = vec![
        format!(
            "python3 -m pip install --disable-pip-version-check --no-input --target {PYTHON_PACKAGES} {install}"
        ),
        format!(
            r"if [ -d {PYTHON_PACKAGES}/bin ]; then sed -i '1s|^#!.*python[0-9.]*$|#!/usr/bin/env python3|' {PYTHON_PACKAGES}/bin/*; fi"
        ),
        format!(
            r#"mkdir -p .profile.d && printf '%s\n' 'export PYTHONPATH="$PWD/{PYTHON_PACKAGES}${{PYTHONPATH:+:$PYTHONPATH}}"' 'PATH="$PWD/{PYTHON_PACKAGES}/bin:$PATH"' > .profile.d/python.sh"#
        ),
    ];
    // A Django project that collects its static files (STATIC_ROOT) serves them from what
    // `collectstatic` wrote — with a manifest storage, every page that names one fails
    // without it — so the build collects them, as Heroku's Python buildpack does.
    let collect = ". ./.profile.d/python.sh && python3 manage.py collectstatic --noinput";
    if let Some(project) = django {
        match static_root(read, &project) {
            StaticRoot::Always => {
                steps.push(collect.to_owned());
                notes.push(format!(
                    "the build runs `manage.py collectstatic` ({project} sets STATIC_ROOT) with the build env only: if the settings need config to load, give it in [build] env"
                ));
            }
            StaticRoot::Conditionally => notes.push(format!(
                "{project} sets STATIC_ROOT only under a condition: if releases need collected static files, add `{collect}` to [build] steps and what the condition reads to [build] env"
            )),
            StaticRoot::Unset => {}
        }
    }
    Some(Plan {
        ecosystem: if file == "requirements.txt" {
            "Python (requirements.txt)"
        } else {
            "Python (pyproject.toml)"
        },
        // Installed into the tree with `--target` (no virtualenv: its scripts and
        // `pyvenv.cfg` name the path it was made at), console scripts re-pointed at
        // `python3` on PATH, and `.profile.d/python.sh` setting PYTHONPATH and PATH from
        // wherever the tree is: the build runs at another path, in an export, in an image.
        steps,
        cache: vec![],
        tools: vec!["python3"],
        web,
        notes,
        weight: 2,
    })
}

/// Go: binaries in `bin/`, named as `go install` names them (the last element of the
/// package path that is not a major version), with `bin/` on every process's PATH as
/// Heroku's Go buildpack does, so a Procfile written for Heroku (`web: go-getting-started`)
/// runs unchanged. `-trimpath` keeps the build's directory out of the binaries.
fn go(exists: Exists, read: Read) -> Option<Plan> {
    if !exists("go.mod") {
        return None;
    }
    let module = read("go.mod")
        .lines()
        .find_map(|l| l.trim().strip_prefix("module "))
        .map(|m| m.trim().trim_matches('"').to_owned())
        .unwrap_or_default();
    let name = module
        .rsplit('/')
        .find(|part| {
            !(part.len() > 1
                && part.starts_with('v')
                && part[1..].bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|n| !n.is_empty())
        .unwrap_or("app")
        .to_owned();
    let path = r#"mkdir -p .profile.d && echo 'PATH="$PWD/bin:$PATH"' > .profile.d/go.sh"#;
    let root_main = read("main.go").lines().any(|l| l.trim() == "package main");
    let (steps, web, notes) = if root_main {
        (
            vec![
                format!("go build -trimpath -o bin/{name} ."),
                path.to_owned(),
            ],
            Some(format!("./bin/{name}")),
            Vec::new(),
        )
    } else {
        (
            vec!["go build -trimpath -o bin/ ./...".to_owned(), path.to_owned()],
            None,
            vec![
                "no main package at the module's root (main.go): the build puts every command in bin/, named by its directory; write web's in the Procfile".to_owned(),
            ],
        )
    };
    Some(Plan {
        ecosystem: "Go (go.mod)",
        steps,
        cache: vec![],
        tools: vec!["go"],
        web,
        notes,
        weight: 2,
    })
}

fn ruby(exists: Exists, _: Read) -> Option<Plan> {
    if !exists("Gemfile") {
        return None;
    }
    let rails = exists("bin/rails") || exists("config/application.rb");
    // Gems installed into the tree (`vendor/bundle`, a path relative to the Gemfile that
    // `.bundle/config` keeps), found by `bundle exec` wherever the tree is.
    let (mode, notes) = if exists("Gemfile.lock") {
        ("bundle config set --local deployment true", Vec::new())
    } else {
        (
            "bundle config set --local path vendor/bundle",
            vec!["commit a Gemfile.lock: without one each build resolves the gems anew".to_owned()],
        )
    };
    Some(Plan {
        ecosystem: "Ruby (Gemfile)",
        steps: vec![mode.to_owned(), "bundle install".to_owned()],
        cache: vec![],
        tools: vec!["ruby", "bundle"],
        web: Some(
            if rails {
                "bundle exec rails server -b 0.0.0.0 -p $PORT"
            } else {
                "bundle exec rackup -o 0.0.0.0 -p $PORT"
            }
            .to_owned(),
        ),
        notes,
        weight: 2,
    })
}

fn java(exists: Exists, _: Read) -> Option<Plan> {
    exists("pom.xml").then(|| Plan {
        ecosystem: "Java (pom.xml)",
        steps: vec!["mvn -B package -DskipTests".to_owned()],
        cache: vec![],
        tools: vec!["java", "mvn"],
        web: Some("java -Dserver.port=$PORT -jar target/*.jar".to_owned()),
        notes: Vec::new(),
        weight: 2,
    })
}

fn toml_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| toml::Value::String(s.as_ref().to_owned()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

fn render_manifest(name: &str, plans: &[Plan]) -> String {
    let mut out =
        String::from("# dozen.toml: every key is optional; `dozen check` validates this file.\n\n");
    let _ = writeln!(
        out,
        "[app]\nname = {}\n",
        toml::Value::String(name.to_owned())
    );
    match plans.first() {
        Some(plan) => {
            let _ = writeln!(out, "# Detected: {}.", plan.ecosystem);
            for other in &plans[1..] {
                let _ = writeln!(
                    out,
                    "# Also found: {} (its steps are not included).",
                    other.ecosystem
                );
            }
            let _ = writeln!(
                out,
                "[build]\n# Shell commands run in order where the build will live (so what they install works\n# when a release runs), with the build env only. `.profile.d/*.sh` is sourced at every start."
            );
            let _ = writeln!(out, "steps = {}", toml_list(&plan.steps));
            if plan.cache.is_empty() {
                let _ = writeln!(
                    out,
                    "# cache = [\"dir\"]   # app-relative dirs kept between builds"
                );
            } else {
                let _ = writeln!(out, "cache = {}", toml_list(&plan.cache));
            }
            let _ = writeln!(
                out,
                "\n[requires]\n# System tools the app shells out to (factor II).\ntools = {}\n",
                toml_list(&plan.tools)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# [build]\n# steps = [\"make\"]\n\n# [requires]\n# tools = [\"python3\"]\n"
            );
        }
    }
    out.push_str(
        "# [formation]\n# web = 2\n\n\
         # [processes.web]\n# restart = \"on-failure\"     # \"no\" | \"on-failure\" | \"always\"\n\
         # kill_timeout = \"10s\"\n# health = { http = \"/healthz\", interval = \"2s\" }\n\n\
         # [tasks]\n# migrate = \"your migration command\"\n\n\
         # [environments.production]\n# files = [\".env\", \".env.production\"]\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(files: &[(&str, &str)]) -> Vec<Plan> {
        detect(&|f| files.iter().any(|(n, _)| *n == f), &|f| {
            files
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, c)| (*c).to_owned())
                .unwrap_or_default()
        })
    }

    #[test]
    fn detects_each_ecosystem() {
        let rust = plans(&[
            ("Cargo.toml", "[package]\nname = \"svc\"\n"),
            ("Cargo.lock", ""),
        ]);
        assert_eq!(
            rust[0].steps,
            [
                "cargo build --release --locked",
                "mkdir -p bin && cp target/release/svc bin/"
            ]
        );
        assert_eq!(rust[0].web.as_deref(), Some("./bin/svc"));
        let node = plans(&[
            ("package.json", r#"{"scripts":{"build":"x","start":"y"}}"#),
            ("yarn.lock", ""),
        ]);
        assert_eq!(
            node[0].steps,
            [
                "yarn install --frozen-lockfile",
                "yarn run build",
                r#"mkdir -p .profile.d && echo 'PATH="$PWD/node_modules/.bin:$PATH"' > .profile.d/node.sh"#
            ]
        );
        assert_eq!(node[0].web.as_deref(), Some("y"));
        let django = plans(&[
            ("requirements.txt", "Django==5.0\ngunicorn==22.0\n"),
            (
                "manage.py",
                "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"mysite.settings\")\n",
            ),
            ("mysite/wsgi.py", ""),
        ]);
        assert_eq!(
            django[0].web.as_deref(),
            Some("python3 -m gunicorn mysite.wsgi --bind 0.0.0.0:$PORT")
        );
        assert!(django[0].steps[0].contains("--target .python-packages -r requirements.txt"));
        assert!(django[0].steps[2].contains(".profile.d/python.sh"));
        assert_eq!(
            django[0].steps.len(),
            3,
            "no STATIC_ROOT, nothing to collect"
        );
        let collecting = plans(&[
            ("requirements.txt", "Django==5.0\ngunicorn==22.0\n"),
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n",
            ),
            ("site/wsgi.py", ""),
            (
                "site/settings.py",
                "STATIC_URL = 'static/'\nSTATIC_ROOT = BASE_DIR / 'staticfiles'\n",
            ),
        ]);
        assert_eq!(
            collecting[0].steps.last().map(String::as_str),
            Some(". ./.profile.d/python.sh && python3 manage.py collectstatic --noinput")
        );
        assert!(collecting[0].notes[0].contains("collectstatic"));
        let conditional = plans(&[
            ("requirements.txt", "Django==5.0\ngunicorn==22.0\n"),
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n",
            ),
            ("site/wsgi.py", ""),
            (
                "site/settings.py",
                "if not DEBUG:\n    STATIC_ROOT = 'staticfiles'\nSTATIC_ROOTS = 1\n",
            ),
        ]);
        assert_eq!(conditional[0].steps.len(), 3);
        assert!(conditional[0].notes[0].contains("only under a condition"));
        let go = plans(&[
            ("go.mod", "module github.com/acme/shop/v2\n\ngo 1.20\n"),
            ("main.go", "// the shop\npackage main\n"),
        ]);
        assert_eq!(go[0].steps[0], "go build -trimpath -o bin/shop .");
        assert!(go[0].steps[1].contains(".profile.d/go.sh"));
        assert_eq!(go[0].web.as_deref(), Some("./bin/shop"));
        let commands = plans(&[("go.mod", "module example.com/tools\n")]);
        assert_eq!(commands[0].steps[0], "go build -trimpath -o bin/ ./...");
        assert_eq!(commands[0].web, None);
        assert!(
            plans(&[("Gemfile", ""), ("bin/rails", "")])[0]
                .web
                .as_deref()
                .is_some_and(|w| w.contains("-p $PORT"))
        );
        assert!(
            plans(&[("pom.xml", "")])[0]
                .web
                .as_deref()
                .is_some_and(|w| w.contains("$PORT"))
        );
        assert!(plans(&[]).is_empty());
    }

    #[test]
    fn a_start_script_is_the_command_unless_a_package_manager_must_run_it() {
        let web = |scripts: &str| {
            plans(&[("package.json", &format!(r#"{{"scripts":{scripts}}}"#))])[0]
                .web
                .clone()
                .unwrap()
        };
        assert_eq!(web(r#"{"start":"node app.js"}"#), "node app.js");
        assert_eq!(
            web(r#"{"start":"  next start -p $PORT "}"#),
            "next start -p $PORT"
        );
        assert_eq!(
            web(r#"{"start":"npm run build && node dist/server.js"}"#),
            "npm start"
        );
        assert_eq!(
            web(r#"{"start":"node a.js","prestart":"tsc"}"#),
            "npm start"
        );
        assert_eq!(web(r#"{"start":""}"#), "npm start");
    }

    #[test]
    fn python_entry_points_are_found_or_left_unguessed() {
        let flask = plans(&[
            ("requirements.txt", "flask\ngunicorn>=22\n"),
            (
                "wsgi.py",
                "from flask import Flask\napplication = Flask(__name__)\n",
            ),
        ]);
        assert_eq!(
            flask[0].web.as_deref(),
            Some("python3 -m gunicorn 'wsgi:application' --bind 0.0.0.0:$PORT")
        );
        let factory = plans(&[
            ("requirements.txt", "flask\n"),
            (
                "app/__init__.py",
                "from flask import Flask\ndef create_app():\n    return Flask(__name__)\n",
            ),
        ]);
        assert_eq!(
            factory[0].web.as_deref(),
            Some("python3 -m flask --app 'app:create_app()' run --host 0.0.0.0 --port $PORT")
        );
        assert!(factory[0].notes[0].contains("add gunicorn"));
        let fastapi = plans(&[
            ("requirements.txt", "fastapi\nuvicorn[standard]\n"),
            ("main.py", "from fastapi import FastAPI\napp = FastAPI()\n"),
        ]);
        assert_eq!(
            fastapi[0].web.as_deref(),
            Some("python3 -m uvicorn main:app --host 0.0.0.0 --port $PORT")
        );
        assert!(fastapi[0].notes.is_empty());
        // No entry point that exists: no command, said.
        let none = plans(&[("requirements.txt", "fastapi\n"), ("api/routes.py", "")]);
        assert_eq!(none[0].web, None);
        assert!(none[0].notes[0].contains("write web's command"));
        // `gunicorn-extras` is not gunicorn.
        let other = plans(&[
            ("requirements.txt", "gunicorn-extras\n"),
            ("app.py", "app = Flask(__name__)\n"),
        ]);
        assert!(
            other[0]
                .web
                .as_deref()
                .is_some_and(|w| w.contains("flask --app"))
        );
    }

    #[test]
    fn a_package_json_of_linters_does_not_outvote_requirements() {
        let found = plans(&[
            ("package.json", r#"{"devDependencies":{"prettier":"3"}}"#),
            ("requirements.txt", "flask\n"),
            ("app.py", "app = Flask(__name__)\n"),
        ]);
        assert_eq!(found[0].ecosystem, "Python (requirements.txt)");
        assert_eq!(found[1].ecosystem, "Node.js (package.json)");
        // A Node app with dependencies stays first (most specific first among equals).
        let found = plans(&[
            ("package.json", r#"{"dependencies":{"express":"4"}}"#),
            ("index.js", ""),
            ("requirements.txt", "flask\n"),
        ]);
        assert_eq!(found[0].ecosystem, "Node.js (package.json)");
    }

    #[test]
    fn manifest_is_valid_toml_for_dozen() {
        let text = render_manifest("my-app", &plans(&[("package.json", "{}")]));
        let source = crate::source::Source::new("dozen.toml", text);
        let manifest = crate::app::manifest::Manifest::parse(&source).unwrap();
        assert_eq!(manifest.build.steps[0].get_ref(), "npm install");
    }
}
