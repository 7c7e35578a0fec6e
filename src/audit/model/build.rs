//! How the model is built: the roles the paths give files, then what the declarations
//! settle (what production and development run, start scripts, contributed recipes,
//! templates, Spring profiles), and the config production reads.

use std::path::Path;

use super::declarations::{self, Declared, Process, Stage};
use super::frameworks::{self, ConfigFile};
use super::parts::{DEFAULTS_FILE_NAME, DeclaredProcess, FileRole, init_script_kind};
use super::roles::{self, Role};
use super::spring;
use crate::audit::procfiles::ProcfileAt;

/// A file of defaults the app's production code loads by name (`config.default.php`,
/// `settings.dist.py`) is production config, not an example. `named`: (the file that
/// names it, the name), as the walk's scan found them; without them, the production code
/// files are read for the names here.
pub(super) fn promote_loaded_defaults(
    root: &Path,
    files: &mut [FileRole],
    named: Option<&[(String, String)]>,
) {
    const WHY: &str = "an example or template of a file";
    let candidates = files
        .iter()
        .filter(|f| f.role == Role::Example && f.why == WHY)
        .count();
    if candidates == 0 {
        return;
    }
    let production = |files: &[FileRole], path: &str| {
        files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .is_ok_and(|i| files[i].role == Role::Production)
    };
    let loaded: Vec<String> = if let Some(named) = named {
        named
            .iter()
            .filter(|(path, _)| production(files, path))
            .map(|(_, name)| name.clone())
            .collect()
    } else {
        static NAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(DEFAULTS_FILE_NAME).expect("valid regex")
        });
        files
            .iter()
            .filter(|f| {
                f.role == Role::Production
                    && crate::audit::files::kind(&f.path) == crate::audit::files::Kind::Code
            })
            .filter_map(|f| crate::audit::files::read_bounded(&root.join(&f.path)))
            .flat_map(|text| {
                NAME.captures_iter(&text)
                    .map(|c| c[1].to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for file in files.iter_mut() {
        if file.role == Role::Example
            && file.why == WHY
            && loaded
                .iter()
                .any(|n| n == crate::audit::files::name(&file.path))
        {
            file.role = Role::Production;
            file.why = "a file of defaults the app's code loads";
        }
    }
}

/// Every file's role by its path alone, before the declarations refine it.
pub(super) fn roles_by_path(files: &[String]) -> Vec<FileRole> {
    files
        .iter()
        .map(|path| {
            let (role, why) = roles::of_path(path);
            FileRole {
                path: path.clone(),
                role,
                why,
            }
        })
        .collect()
}

/// The role of `path` among `files` (sorted by path), or by its path alone when the walk did
/// not see it.
pub(super) fn role_in(files: &[FileRole], path: &str) -> Role {
    files
        .binary_search_by(|f| f.path.as_str().cmp(path))
        .map_or_else(|_| roles::of_path(path).0, |i| files[i].role)
}

/// Why an init-system script is production's.
pub(super) const INIT_SCRIPT_WHY: &str = "run by the image's init system";

/// An image's init-system scripts are production's, whatever their directory says.
pub(super) fn promote_init_scripts(files: &mut [FileRole], init_scripts: &[(String, bool)]) {
    for (path, _) in init_scripts {
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(path)) {
            if matches!(files[i].role, Role::Build | Role::Development) {
                files[i].role = Role::Production;
                files[i].why = INIT_SCRIPT_WHY;
            }
        }
    }
}

/// The processes an image's init system runs: each service's `run` script, by the
/// service's name (its directory), with the command the script ends in.
pub(super) fn init_services(root: &Path, init_scripts: &[(String, bool)]) -> Vec<Process> {
    init_scripts
        .iter()
        .filter(|(_, service)| *service)
        .filter_map(|(path, _)| {
            let text = crate::audit::files::read_bounded(&root.join(path))?;
            let (index, line) = text
                .lines()
                .enumerate()
                .filter(|(_, l)| {
                    let l = l.trim();
                    !l.is_empty() && !l.starts_with('#')
                })
                .last()?;
            let name = path.rsplit('/').nth(1).unwrap_or("service");
            let command = line.trim();
            Some(Process {
                name: name.to_owned(),
                command: command
                    .strip_prefix("exec ")
                    .unwrap_or(command)
                    .trim()
                    .to_owned(),
                stage: Stage::Run,
                declared_by: "s6-overlay service",
                path: path.clone(),
                line: index + 1,
            })
        })
        .collect()
}

/// The app's files that are init-system scripts, by their path or where a Dockerfile
/// copies them (a directory's files land under the destination by their path in it).
pub(super) fn init_scripts(files: &[FileRole], placed: &[(String, String)]) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = files
        .iter()
        .filter_map(|f| init_script_kind(&f.path).map(|kind| (f.path.clone(), kind)))
        .collect();
    let destinations = placed.iter().filter(|(at, _)| {
        at == "/"
            || at.starts_with("/etc")
            || ["s6-overlay", "services.d", "cont-init.d"]
                .iter()
                .any(|d| at.contains(d))
    });
    for (at, source) in destinations {
        let source = source.trim_end_matches('/');
        for file in files {
            let rest = if source.is_empty() {
                Some(file.path.as_str())
            } else if file.path == source {
                Some("")
            } else {
                file.path
                    .strip_prefix(source)
                    .and_then(|r| r.strip_prefix('/'))
            };
            let Some(rest) = rest else {
                continue;
            };
            let image = if rest.is_empty() {
                at.clone()
            } else {
                format!("{}/{rest}", at.trim_end_matches('/'))
            };
            if let Some(kind) = init_script_kind(&image) {
                if !out.iter().any(|(p, _)| *p == file.path) {
                    out.push((file.path.clone(), kind));
                }
            }
        }
    }
    out
}

/// Every declaration of the app's processes: its Procfiles, then the files that may declare
/// them (not vendored code or examples).
pub(super) fn read_declarations(
    root: &Path,
    files_with_roles: &[FileRole],
    procfiles: &[ProcfileAt],
    files: &[String],
    texts: Option<&[(String, String)]>,
) -> Declared {
    let mut declared = Declared::default();
    for procfile in procfiles {
        if !files.contains(&procfile.path) {
            continue;
        }
        for (entry, stage) in procfile
            .procfile
            .types
            .iter()
            .map(|t| (t, Stage::Run))
            .chain(
                procfile
                    .procfile
                    .release
                    .iter()
                    .map(|t| (t, Stage::Release)),
            )
        {
            declared.processes.push(Process {
                name: entry.name.clone(),
                command: entry.command.clone(),
                stage,
                declared_by: "Procfile",
                path: procfile.path.clone(),
                line: entry.line,
            });
        }
    }
    // The walk kept the texts of the files that may declare processes; without a walk's
    // texts (`--model` lists files without reading them), read them here.
    if let Some(texts) = texts {
        for (path, text) in texts {
            let readable = files_with_roles
                .binary_search_by(|f| f.path.as_str().cmp(path))
                .is_ok_and(|i| !matches!(files_with_roles[i].role, Role::Vendored | Role::Example));
            if readable {
                declarations::read(path, text, &mut declared);
            }
        }
        return declared;
    }
    for file in files_with_roles {
        if matches!(file.role, Role::Vendored | Role::Example)
            || !declarations::may_declare(&file.path)
        {
            continue;
        }
        let full = root.join(&file.path);
        if let Some(text) = crate::audit::files::read_bounded(&full) {
            declarations::read(&file.path, &text, &mut declared);
        }
    }
    declared
}

/// The file list says why a production config file counts, as the config list does.
pub(super) fn explain_config(files: &mut [FileRole], config: &[ConfigFile]) {
    for c in config {
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(&c.path)) {
            if files[i].role == Role::Production {
                files[i].why = c.why;
            }
        }
    }
}

/// `npm start` is the web process only where nothing else declares how production runs (Node
/// buildpacks run it without a Procfile; an image runs its CMD), where the app is not another
/// ecosystem's with a frontend Node builds (a Spring, Rails or Django app's `package.json`),
/// and when `start` is not a development server.
pub(super) fn drop_start_scripts_production_does_not_run(
    processes: &mut Vec<DeclaredProcess>,
    files: &[String],
) {
    let declared_elsewhere = processes.iter().any(|p| {
        p.role == Role::Production
            && p.process.stage == Stage::Run
            && p.process.declared_by != "package.json script"
    });
    let other_ecosystem = [
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "Gemfile",
        "go.mod",
        "Cargo.toml",
        "mix.exs",
        "composer.json",
        "manage.py",
        "requirements.txt",
        "pyproject.toml",
    ]
    .iter()
    .any(|manifest| files.binary_search_by(|f| f.as_str().cmp(manifest)).is_ok());
    if declared_elsewhere || other_ecosystem {
        processes.retain(|p| {
            !(p.process.declared_by == "package.json script" && p.process.stage == Stage::Run)
        });
    }
    processes.retain(|p| {
        !(p.process.declared_by == "package.json script"
            && p.process.stage == Stage::Run
            && is_development_server(&p.process.command))
    });
}

/// The values recorded for the files `production` says are production's (the base images
/// of production's Dockerfiles, the tools they install).
pub(super) fn of_production(
    by_file: &[(String, String)],
    production: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    by_file
        .iter()
        .filter(|(file, _)| production(file))
        .map(|(_, value)| value.clone())
        .collect()
}

/// The Spring profiles' files production activates, as config.
pub(super) fn activated_spring_profiles(files: &[FileRole]) -> Vec<ConfigFile> {
    files
        .iter()
        .filter(|f| f.why == SPRING_ACTIVATED)
        .map(|f| ConfigFile {
            path: f.path.clone(),
            why: frameworks::SPRING,
        })
        .collect()
}

/// Why a Spring profile's file that the name calls development's is production's.
pub(super) const SPRING_ACTIVATED: &str = "a Spring profile the jar's default config activates";

/// Spring profiles production never activates are a developer's opt-in
/// (`application-mariadb.yaml` for a local MariaDB): production activates a profile where it
/// deploys (`SPRING_PROFILES_ACTIVE`, `-Dspring.profiles.active=`) or in the default
/// `application.yml`; `prod` and `production` are production's by name.
pub(super) fn demote_inactive_spring_profiles(
    files: &mut [FileRole],
    read: &dyn Fn(&str) -> Option<String>,
) {
    static ACTIVE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?i)(?:SPRING_PROFILES_ACTIVE|spring\.profiles\.active|spring\.profiles\.include)["']?\s*[=:]\s*["']?([\w,\- ]+)|profiles:\s*\n\s*active:\s*["']?([\w,\- ]+)"#,
        )
        .expect("valid regex")
    });
    let profile_of = |path: &str| -> Option<String> {
        let name = crate::audit::files::name(path);
        let (stem, extension) = name.rsplit_once('.')?;
        ["yml", "yaml", "properties"]
            .contains(&extension)
            .then_some(())?;
        stem.strip_prefix("application-")
            .map(str::to_ascii_lowercase)
    };
    if !files.iter().any(|f| profile_of(&f.path).is_some()) {
        return;
    }
    // Where production deploys sets the profiles (`SPRING_PROFILES_ACTIVE` in a Dockerfile or
    // a Compose file), and what the default profile's own file activates.
    let mut deployed: Vec<String> = Vec::new();
    let mut by_default: Vec<String> = Vec::new();
    for f in files.iter().filter(|f| f.role == Role::Production) {
        let name = crate::audit::files::name(&f.path);
        let default_file = [
            "application.yml",
            "application.yaml",
            "application.properties",
        ]
        .contains(&name);
        if !(default_file || declarations::sets_environment(&f.path)) {
            continue;
        }
        if let Some(text) = read(&f.path) {
            for captures in ACTIVE.captures_iter(&text) {
                let list = captures
                    .get(1)
                    .or_else(|| captures.get(2))
                    .map_or("", |m| m.as_str());
                let into = if default_file {
                    &mut by_default
                } else {
                    &mut deployed
                };
                into.extend(list.split(',').map(|p| p.trim().to_ascii_lowercase()));
            }
        }
    }
    let active: Vec<String> = deployed.iter().chain(&by_default).cloned().collect();
    for f in files.iter_mut() {
        let Some(profile) = profile_of(&f.path) else {
            continue;
        };
        if f.role == Role::Production
            && !["prod", "production"].contains(&profile.as_str())
            && !active.contains(&profile)
        {
            f.role = Role::Development;
            f.why = "a Spring profile production does not activate";
        } else if f.role == Role::Development
            && deployed.is_empty()
            && by_default.contains(&profile)
            && f.path.contains("src/main/resources/")
        {
            // `spring.profiles.active: dev` in the jar's own config, and no deployment that
            // says otherwise: the deployed jar runs with it.
            f.role = Role::Production;
            f.why = SPRING_ACTIVATED;
        }
    }
}

/// A Spring Boot app that declares no process runs its executable jar, as Heroku's Java
/// buildpack and every Spring Boot guide run it: `java -jar` of what the build's plugin
/// repackages.
pub(super) fn spring_boot_jar(
    files: &[String],
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<Process> {
    for (build, marker, jar) in [
        ("pom.xml", "spring-boot-maven-plugin", "target/*.jar"),
        (
            "build.gradle",
            "org.springframework.boot",
            "build/libs/*.jar",
        ),
        (
            "build.gradle.kts",
            "org.springframework.boot",
            "build/libs/*.jar",
        ),
    ] {
        if files.binary_search_by(|f| f.as_str().cmp(build)).is_err() {
            continue;
        }
        let Some(text) = read(build) else {
            continue;
        };
        if let Some(index) = text.lines().position(|l| l.contains(marker)) {
            return Some(Process {
                name: "web".to_owned(),
                command: format!("java -jar {jar}"),
                stage: Stage::Run,
                declared_by: "Spring Boot's executable jar (by convention)",
                path: build.to_owned(),
                line: index + 1,
            });
        }
    }
    None
}

/// A command that runs a development server: reloading, watching, or a bundler's dev mode.
pub(super) fn is_development_server(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    [
        "--hmr",
        "--watch",
        "--reload",
        "nodemon",
        "webpack-dev-server",
        "ts-node-dev",
    ]
    .iter()
    .any(|w| has(w))
        || words.windows(2).any(|pair| {
            [
                ["ng", "serve"],
                ["next", "dev"],
                ["nuxt", "dev"],
                ["webpack", "serve"],
                ["react-scripts", "start"],
                ["vite", "dev"],
                ["astro", "dev"],
            ]
            .iter()
            .any(|dev| pair == dev)
        })
        || words.first() == Some(&"vite") && words.len() == 1
}

/// What the declarations say about roles: development Compose files, files production
/// commands run, env files production Compose files read, packages under `docs/`.
pub(super) fn refine_roles(files: &mut [FileRole], declared: &Declared) {
    for (path, why) in &declared.development {
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(path)) {
            if files[i].role == Role::Production {
                files[i].role = Role::Development;
                files[i].why = why;
            }
        }
    }
    // A package script a process runs (`npm start`, `pnpm start-docker`) runs what it names
    // for that process.
    let mut processes = declared.processes.clone();
    for process in &declared.processes {
        for script in declarations::scripts_run(&declared.package_scripts, &process.command) {
            processes.push(Process {
                command: script.body.clone(),
                ..process.clone()
            });
        }
    }
    promote_run_files(files, &processes, &declared.placed);
    promote_compose_env_files(files, &declared.env_files);
    promote_packages(files);
}

/// A Python package of the app that happens to be called `docs` or `examples` (a Django app
/// that serves the documentation): a directory of examples or docs with an `__init__.py`
/// that is not itself in a test or vendored tree holds code the app imports.
pub(super) fn promote_packages(files: &mut [FileRole]) {
    let packages: Vec<String> = files
        .iter()
        .filter(|f| f.role == Role::Example && f.path.ends_with("/__init__.py"))
        .map(|f| f.path.trim_end_matches("__init__.py").to_owned())
        .collect();
    if packages.is_empty() {
        return;
    }
    for file in files.iter_mut() {
        if file.role == Role::Example
            && crate::audit::files::kind(&file.path) == crate::audit::files::Kind::Code
            && packages.iter().any(|p| file.path.starts_with(p.as_str()))
        {
            file.role = Role::Production;
            file.why = "a package of the app's code";
        }
    }
}

/// The env files a production Compose file reads (its `.env`, its `env_file`s) are
/// production's config, whatever their names say.
pub(super) fn promote_compose_env_files(files: &mut [FileRole], env_files: &[(String, String)]) {
    let find =
        |files: &[FileRole], path: &str| files.binary_search_by(|f| f.path.as_str().cmp(path)).ok();
    for (compose, env_file) in env_files {
        let production = find(files, compose).is_some_and(|i| files[i].role == Role::Production);
        if let (true, Some(i)) = (production, find(files, env_file)) {
            if files[i].role == Role::Development {
                files[i].role = Role::Production;
                files[i].why = "read by a production Compose file";
            }
        }
    }
}

/// A config file by its name (`config.yml`, `app.ini`, `nginx.conf`, `logback.xml`).
/// The config production reads: the frameworks' conventions (by the files' refined roles),
/// then `more` (copied into the image, named by a command).
pub(super) fn config_production_reads(
    files: &[String],
    files_with_roles: &[FileRole],
    read: &dyn Fn(&str) -> Option<String>,
    more: impl Iterator<Item = ConfigFile>,
) -> Vec<ConfigFile> {
    let role_now = |path: &str| role_in(files_with_roles, path);
    let mut config = frameworks::production_config(files, read, &role_now);
    for extra in more {
        if !config.iter().any(|c| c.path == extra.path) {
            config.push(extra);
        }
    }
    config
}

/// Config files of the app a production process's command names (`sidekiq -C
/// config/workers/performance.yml`, `gunicorn -c conf/gunicorn.conf.py`): what that process
/// runs with.
pub(super) fn named_config(files: &[String], processes: &[DeclaredProcess]) -> Vec<ConfigFile> {
    let mut out: Vec<ConfigFile> = Vec::new();
    for process in processes.iter().filter(|p| p.role == Role::Production) {
        for word in process.process.command.split_whitespace() {
            let word = word
                .trim_matches(|c| "\"'`;,()[]".contains(c))
                .split_once('=')
                .map_or(word, |(_, value)| value)
                .trim_start_matches("./");
            if is_config_name(word)
                && files.binary_search_by(|f| f.as_str().cmp(word)).is_ok()
                && !out.iter().any(|c| c.path == word)
            {
                out.push(ConfigFile {
                    path: word.to_owned(),
                    why: "named by a production process's command",
                });
            }
        }
    }
    out
}

pub(super) fn is_config_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [
        ".yml",
        ".yaml",
        ".json",
        ".toml",
        ".ini",
        ".conf",
        ".cfg",
        ".properties",
        ".xml",
        ".env",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

/// A file a production process's command names (`release: python3 release.py`,
/// `ENTRYPOINT ["/app/bin/docker-entrypoint"]`) is production's whatever its name says.
pub(super) fn promote_run_files(
    files: &mut [FileRole],
    processes: &[Process],
    placed: &[(String, String)],
) {
    for process in processes {
        let declaring_role = role_in(files, &process.path);
        if declaring_role != Role::Production {
            continue;
        }
        for word in process.command.split_whitespace() {
            let word = word
                .trim_matches(|c| "\"'`;&|()".contains(c))
                .trim_start_matches("./");
            if word.is_empty() || word.starts_with('-') {
                continue;
            }
            // A file a Dockerfile put where the command runs it from, alone or with its
            // directory (`/scripts/entrypoint.sh` from `COPY scripts/dist/ /scripts/`).
            let copied = placed
                .iter()
                .filter_map(|(at, source)| {
                    if at == word {
                        Some(source.clone())
                    } else if at.ends_with('/') && source.ends_with('/') || source.is_empty() {
                        let rest = word
                            .trim_start_matches('/')
                            .strip_prefix(at.trim_start_matches('/'))?;
                        Some(format!("{source}{rest}"))
                    } else {
                        None
                    }
                })
                .filter_map(|source| {
                    files
                        .binary_search_by(|f| f.path.as_str().cmp(&source))
                        .ok()
                })
                .collect::<Vec<_>>();
            for i in copied {
                if files[i].role != Role::Vendored {
                    files[i].role = Role::Production;
                    files[i].why = "run by a production process";
                }
            }
            // The app's own path (`/app/bin/x` in an image is `bin/x` here): the longest
            // suffix that is a file of the app, or a file whose path ends with it
            // (`/svc/scripts/start.sh` copied from `svc/src/main/scripts/start.sh`).
            let mut candidate = word.trim_start_matches('/');
            loop {
                let exact = files
                    .binary_search_by(|f| f.path.as_str().cmp(candidate))
                    .ok();
                let tail = format!("/{candidate}");
                let found: Vec<usize> = match exact {
                    Some(i) => vec![i],
                    // A file whose path only ends the same way is the one run when nothing
                    // says it is an example or a test's (`examples/config/app.yml` is not
                    // `/config/app.yml`).
                    None if candidate.contains('/') => files
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| {
                            f.path.ends_with(&tail) && !matches!(f.role, Role::Example | Role::Test)
                        })
                        .map(|(i, _)| i)
                        .collect(),
                    None => Vec::new(),
                };
                if !found.is_empty() {
                    for i in found {
                        if files[i].role != Role::Vendored {
                            files[i].role = Role::Production;
                            files[i].why = "run by a production process";
                        }
                    }
                    break;
                }
                match candidate.split_once('/') {
                    Some((_, rest)) if !rest.is_empty() => candidate = rest,
                    _ => break,
                }
            }
        }
    }
}

/// The roles the declarations settle, after the paths': contributed recipes, what production
/// and development processes and start scripts run, an image's init scripts, env templates.
pub(super) fn settle_roles(
    files: &mut [FileRole],
    declared: &Declared,
    init_scripts: &[(String, bool)],
    read: &dyn Fn(&str) -> Option<String>,
) {
    demote_contrib(files, &declared.processes);
    demote_development_dockerfiles(files, &declared.processes);
    refine_roles(files, declared);
    promote_init_scripts(files, init_scripts);
    promote_named_by_start_scripts(files, &declared.placed, read);
    demote_development_run_files(files, &declared.processes);
    demote_env_templates(files, read);
}

/// A Dockerfile whose command runs a development server (`manage.py runserver`, `php
/// bin/console --env=dev server:run`, `nodemon`, `next dev`) builds a developer's image.
pub(super) fn demote_development_dockerfiles(files: &mut [FileRole], processes: &[Process]) {
    for process in processes
        .iter()
        .filter(|p| p.declared_by.starts_with("Dockerfile"))
    {
        let words: Vec<&str> = process.command.split_whitespace().collect();
        let development = is_development_server(&process.command)
            || words.iter().any(|w| {
                matches!(
                    *w,
                    "runserver" | "server:run" | "--env=dev" | "--env=development"
                ) || w.starts_with("RAILS_ENV=development")
            });
        if !development {
            continue;
        }
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(&process.path)) {
            if files[i].role == Role::Production {
                files[i].role = Role::Development;
                files[i].why = "its command runs a development server";
            }
        }
    }
}

/// A repository's top-level `contrib/` holds what was contributed around the app (sample
/// Compose files, Kubernetes manifests, service units): samples when the app declares its
/// own deployment elsewhere (a Dockerfile, a Procfile), and how it runs when it declares
/// none (an install guide's units under `contrib/`).
pub(super) fn demote_contrib(files: &mut [FileRole], processes: &[Process]) {
    let in_contrib = |path: &str| {
        path.split_once('/')
            .is_some_and(|(top, _)| top.eq_ignore_ascii_case("contrib"))
    };
    let declared_elsewhere = processes.iter().any(|p| {
        p.stage == Stage::Run && !in_contrib(&p.path) && role_in(files, &p.path) == Role::Production
    });
    if !declared_elsewhere {
        return;
    }
    for file in files
        .iter_mut()
        .filter(|f| in_contrib(&f.path) && f.role == Role::Production)
    {
        file.role = Role::Example;
        file.why = "contributed recipes beside the deployment the app declares (`contrib/`)";
    }
}

/// The config files production Compose services bind-mount.
pub(super) fn mounted_config(
    files: &[String],
    mounted: &[(String, String)],
    production: &dyn Fn(&str) -> bool,
) -> Vec<ConfigFile> {
    mounted
        .iter()
        .filter(|(compose, source)| {
            production(compose)
                && is_config_name(source)
                && files.binary_search_by(|f| f.as_str().cmp(source)).is_ok()
        })
        .map(|(_, source)| ConfigFile {
            path: source.clone(),
            why: "mounted into a production Compose service",
        })
        .collect()
}

/// A file only a development process names (`reflex -c reflex.conf` in `Procfile.dev`), and
/// that nothing else marks, is development's.
pub(super) fn demote_development_run_files(files: &mut [FileRole], processes: &[Process]) {
    let mut named: Vec<(String, bool)> = Vec::new();
    for process in processes {
        let development = role_in(files, &process.path) == Role::Development;
        for word in process.command.split_whitespace() {
            let word = word
                .trim_matches(|c| "\"'`;&|()".contains(c))
                .split_once('=')
                .map_or(word, |(_, value)| value)
                .trim_start_matches("./");
            if files
                .binary_search_by(|f| f.path.as_str().cmp(word))
                .is_ok()
            {
                named.push((word.to_owned(), development));
            }
        }
    }
    for (path, _) in named.iter().filter(|(_, development)| *development) {
        if named
            .iter()
            .any(|(p, development)| p == path && !development)
        {
            continue;
        }
        if let Ok(i) = files.binary_search_by(|f| f.path.as_str().cmp(path)) {
            if files[i].role == Role::Production && files[i].why == roles::BY_DEFAULT {
                files[i].role = Role::Development;
                files[i].why = "named only by a development process";
            }
        }
    }
}

/// An env file whose header says it is a template to copy (`# Copy this file to .env and
/// fill in the values`) is an example, whatever its name.
pub(super) fn demote_env_templates(files: &mut [FileRole], read: &dyn Fn(&str) -> Option<String>) {
    for file in files.iter_mut().filter(|f| {
        f.role == Role::Production
            && crate::audit::files::env_file_kind(crate::audit::files::name(&f.path)).is_some()
    }) {
        let Some(text) = read(&file.path) else {
            continue;
        };
        let header: String = text
            .lines()
            .take(15)
            .filter(|l| l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        let template = header.contains("copy")
            && ["to .env", "template", "example", "fill in", "rename"]
                .iter()
                .any(|w| header.contains(w));
        if template {
            file.role = Role::Example;
            file.why = "a template to copy, as its header says";
        }
    }
}

/// The scripts production runs at start (files a production process runs, an image's init
/// scripts), read as commands.
pub(super) fn start_script_commands(
    files: &[FileRole],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<Process> {
    files
        .iter()
        .filter(|f| {
            f.role == Role::Production
                && matches!(f.why, "run by a production process" | INIT_SCRIPT_WHY)
                && crate::audit::files::kind(&f.path) != crate::audit::files::Kind::Config
        })
        .filter_map(|f| read(&f.path).map(|text| (f, text)))
        .flat_map(|(f, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    let l = l.trim_start();
                    !l.is_empty() && !l.starts_with('#')
                })
                .map(|(i, l)| Process {
                    name: "start script".to_owned(),
                    command: l.trim().to_owned(),
                    stage: Stage::Run,
                    declared_by: "start script",
                    path: f.path.clone(),
                    line: i + 1,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The files a production start script runs (`/opt/app/bin/console app:install` in an
/// entrypoint) are production's, as a process's command's are; two calls deep.
pub(super) fn promote_named_by_start_scripts(
    files: &mut [FileRole],
    placed: &[(String, String)],
    read: &dyn Fn(&str) -> Option<String>,
) {
    for _depth in 0..2 {
        let commands = start_script_commands(files, read);
        promote_run_files(files, &commands, placed);
    }
}

/// Config a production start script copies into place (`cp deploy/docker/local_settings.py
/// cms/local_settings.py`, `cp nginx.conf /etc/nginx/`) or names.
pub(super) fn start_script_config(
    files: &[String],
    roles: &[FileRole],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<ConfigFile> {
    let mut out: Vec<ConfigFile> = Vec::new();
    for command in start_script_commands(roles, read) {
        for words in crate::audit::shell::simple_commands(&command.command) {
            let copies = matches!(words.first(), Some(&("cp" | "install" | "ln" | "rsync")));
            let operands: Vec<&str> = words
                .iter()
                .skip(1)
                .copied()
                .filter(|w| !w.starts_with('-'))
                .collect();
            let (sources, _) = operands.split_at(operands.len().saturating_sub(1));
            for word in words.iter().skip(1) {
                let copied_source = copies && sources.contains(word);
                // The app's file, where the image keeps it (`/home/app/deploy/x.py` is
                // `deploy/x.py`): the longest suffix that is one.
                let mut candidate = word
                    .trim_matches(|c| "\"'`;,()[]".contains(c))
                    .trim_start_matches("./")
                    .trim_start_matches('/');
                let path = loop {
                    if files
                        .binary_search_by(|f| f.as_str().cmp(candidate))
                        .is_ok()
                    {
                        break Some(candidate);
                    }
                    match candidate.split_once('/') {
                        Some((_, rest)) if !rest.is_empty() => candidate = rest,
                        _ => break None,
                    }
                };
                let Some(path) = path else {
                    continue;
                };
                let production = roles
                    .binary_search_by(|f| f.path.as_str().cmp(path))
                    .is_ok_and(|i| roles[i].role == Role::Production);
                // Not a lockfile, nor a fixture a seeding step loads: data, not config.
                let lockfile = crate::audit::files::name(path).contains("lock")
                    || !copied_source && roles::of_path(path).0 == Role::Test;
                let kind = crate::audit::files::kind(path);
                if production
                    && !lockfile
                    && (is_config_name(path)
                        || copied_source && kind != crate::audit::files::Kind::Doc)
                    && !out.iter().any(|c| c.path == path)
                {
                    out.push(ConfigFile {
                        path: path.to_owned(),
                        why: if copied_source {
                            "copied into place by a production start script"
                        } else {
                            "named by a production start script"
                        },
                    });
                }
            }
        }
    }
    out
}

/// The properties Spring Boot's production config files set, read once for every rule that
/// asks what Spring Boot is set to.
pub(super) fn spring_properties(
    config: &[ConfigFile],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, spring::Property)> {
    config
        .iter()
        .filter(|c| c.why == frameworks::SPRING)
        .filter_map(|c| read(&c.path).map(|text| (c.path.as_str(), text)))
        .flat_map(|(path, text)| {
            spring::properties(path, &text)
                .into_iter()
                .map(|p| (path.to_owned(), p))
                .collect::<Vec<_>>()
        })
        .collect()
}
