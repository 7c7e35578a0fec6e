//! The deployment model the audit reasons from, built before any rule runs: which processes
//! run in production and with which commands (from every declaration an app can have), which
//! config files production reads, and each file's role. `dozen audit --model` prints it, so a
//! user can see why a file counts (docs/audit.md, "The model").

pub mod declarations;
pub mod frameworks;
pub mod roles;
pub mod spring;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use declarations::{Declared, Process, Service, Stage};
use frameworks::ConfigFile;
use roles::Role;

use super::project::ProcfileAt;

/// One file and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRole {
    pub path: String,
    pub role: Role,
    pub why: &'static str,
}

/// A declared process, and whether it is production's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredProcess {
    pub process: Process,
    /// The role of the file that declares it.
    pub role: Role,
}

#[derive(Debug, Default)]
pub struct Model {
    /// Every file the walk saw, sorted by path.
    pub files: Vec<FileRole>,
    pub processes: Vec<DeclaredProcess>,
    /// Backing services deployment files attach (Compose services from images).
    pub services: Vec<(Service, Role)>,
    /// The config files production reads, by convention.
    pub config: Vec<ConfigFile>,
    /// Programs the production image installs (`apt-get install git`): declared by it.
    pub image_tools: Vec<String>,
    /// The images production Dockerfiles' last stages start from.
    pub base_images: Vec<String>,
    /// The root package.json's scripts.
    pub scripts: Vec<declarations::PackageScript>,
    /// The properties Spring Boot's production config sets, with the file of each.
    pub spring: Vec<(String, spring::Property)>,
    /// Every Dockerfile's stage names, lower-cased (`FROM base` may name another file's).
    pub stages: Vec<String>,
    /// Variables package.json scripts set on a command line: build variants.
    pub script_variables: Vec<String>,
    /// Compose services that bind-mount the whole app over their code: (Compose file, line,
    /// service, the mount).
    pub code_mounts: Vec<(String, usize, String, String)>,
    /// The app's files an image runs as services or init scripts of its init system: where
    /// they are in the app (`etc/s6-overlay/s6-rc.d/web/run`) or where a Dockerfile puts
    /// them (`COPY docker/s6/web /etc/s6-overlay/s6-rc.d/web`). With each, whether it is a
    /// service's `run` (a long-running process the init system signals) or a one-shot.
    pub init_scripts: Vec<(String, bool)>,
}

/// Where an image's init system (s6-overlay, its `services.d` and `cont-init.d`) takes
/// its scripts from: `Some(true)` for a service's `run`, `Some(false)` for a one-shot.
pub fn init_script_kind(image_path: &str) -> Option<bool> {
    let name = crate::audit::files::name(image_path);
    if (image_path.contains("etc/s6-overlay/s6-rc.d/") || image_path.contains("etc/services.d/"))
        && name == "run"
    {
        Some(true)
    } else if image_path.contains("etc/s6-overlay/s6-rc.d/") && name == "up"
        || image_path.contains("etc/cont-init.d/")
        // The scripts an image's entrypoint runs at every start (`/docker-entrypoint.d/`,
        // as nginx's and serversideup's PHP images do), not a database's one-time init.
        || (image_path.contains("/entrypoint.d/") || image_path.contains("docker-entrypoint.d/"))
            && crate::audit::files::has_extension(name, &["sh"])
    {
        Some(false)
    } else {
        None
    }
}

/// A quoted file name that says it is a default or a template (`config.default.php`): its
/// name is the first group. The walk's scan looks for it in the code
/// (`Fact::NamesDefaultsFile`).
pub const DEFAULTS_FILE_NAME: &str =
    r#"["'/]([A-Za-z0-9_-]+(?:[.-][A-Za-z0-9_-]+)*\.(?:default|dist)\.[A-Za-z0-9]+)["']"#;

/// A file of defaults the app's production code loads by name (`config.default.php`,
/// `settings.dist.py`) is production config, not an example. `named`: (the file that
/// names it, the name), as the walk's scan found them; without them, the production code
/// files are read for the names here.
fn promote_loaded_defaults(
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
fn roles_by_path(files: &[String]) -> Vec<FileRole> {
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

/// Why an init-system script is production's.
const INIT_SCRIPT_WHY: &str = "run by the image's init system";

/// An image's init-system scripts are production's, whatever their directory says.
fn promote_init_scripts(files: &mut [FileRole], init_scripts: &[(String, bool)]) {
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
fn init_services(root: &Path, init_scripts: &[(String, bool)]) -> Vec<Process> {
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
fn init_scripts(files: &[FileRole], placed: &[(String, String)]) -> Vec<(String, bool)> {
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
fn read_declarations(
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
fn explain_config(files: &mut [FileRole], config: &[ConfigFile]) {
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
fn drop_start_scripts_production_does_not_run(
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
fn of_production(by_file: &[(String, String)], production: &dyn Fn(&str) -> bool) -> Vec<String> {
    by_file
        .iter()
        .filter(|(file, _)| production(file))
        .map(|(_, value)| value.clone())
        .collect()
}

/// The Spring profiles' files production activates, as config.
fn activated_spring_profiles(files: &[FileRole]) -> Vec<ConfigFile> {
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
const SPRING_ACTIVATED: &str = "a Spring profile the jar's default config activates";

/// Spring profiles production never activates are a developer's opt-in
/// (`application-mariadb.yaml` for a local MariaDB): production activates a profile where it
/// deploys (`SPRING_PROFILES_ACTIVE`, `-Dspring.profiles.active=`) or in the default
/// `application.yml`; `prod` and `production` are production's by name.
fn demote_inactive_spring_profiles(files: &mut [FileRole], read: &dyn Fn(&str) -> Option<String>) {
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
fn spring_boot_jar(files: &[String], read: &dyn Fn(&str) -> Option<String>) -> Option<Process> {
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
fn is_development_server(command: &str) -> bool {
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
fn refine_roles(files: &mut [FileRole], declared: &Declared) {
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
fn promote_packages(files: &mut [FileRole]) {
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
fn promote_compose_env_files(files: &mut [FileRole], env_files: &[(String, String)]) {
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
fn config_production_reads(
    files: &[String],
    files_with_roles: &[FileRole],
    read: &dyn Fn(&str) -> Option<String>,
    more: impl Iterator<Item = ConfigFile>,
) -> Vec<ConfigFile> {
    let role_now = |path: &str| {
        files_with_roles
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .map_or_else(|_| roles::of_path(path).0, |i| files_with_roles[i].role)
    };
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
fn named_config(files: &[String], processes: &[DeclaredProcess]) -> Vec<ConfigFile> {
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

fn is_config_name(path: &str) -> bool {
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
fn promote_run_files(files: &mut [FileRole], processes: &[Process], placed: &[(String, String)]) {
    for process in processes {
        let declaring_role = files
            .binary_search_by(|f| f.path.as_str().cmp(&process.path))
            .map_or_else(|_| roles::of_path(&process.path).0, |i| files[i].role);
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
fn settle_roles(
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
fn demote_development_dockerfiles(files: &mut [FileRole], processes: &[Process]) {
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
fn demote_contrib(files: &mut [FileRole], processes: &[Process]) {
    let in_contrib = |path: &str| {
        path.split_once('/')
            .is_some_and(|(top, _)| top.eq_ignore_ascii_case("contrib"))
    };
    let role_of = |files: &[FileRole], path: &str| {
        files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .map_or_else(|_| roles::of_path(path).0, |i| files[i].role)
    };
    let declared_elsewhere = processes.iter().any(|p| {
        p.stage == Stage::Run && !in_contrib(&p.path) && role_of(files, &p.path) == Role::Production
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
fn mounted_config(
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
fn demote_development_run_files(files: &mut [FileRole], processes: &[Process]) {
    let role_of = |files: &[FileRole], path: &str| {
        files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .map_or_else(|_| roles::of_path(path).0, |i| files[i].role)
    };
    let mut named: Vec<(String, bool)> = Vec::new();
    for process in processes {
        let development = role_of(files, &process.path) == Role::Development;
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
fn demote_env_templates(files: &mut [FileRole], read: &dyn Fn(&str) -> Option<String>) {
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
fn start_script_commands(
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
fn promote_named_by_start_scripts(
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
fn start_script_config(
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
fn spring_properties(
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

impl Model {
    /// The model of the app at `root`, whose files the walk found (sorted) and whose
    /// Procfiles are read.
    pub fn build(
        root: &Path,
        files: &[String],
        procfiles: &[ProcfileAt],
        texts: Option<&[(String, String)]>,
        defaults_named: Option<&[(String, String)]>,
    ) -> Self {
        let mut files_with_roles = roles_by_path(files);
        promote_loaded_defaults(root, &mut files_with_roles, defaults_named);
        let mut declared = read_declarations(root, &files_with_roles, procfiles, files, texts);
        let init_scripts = init_scripts(&files_with_roles, &declared.placed);
        declared
            .processes
            .extend(init_services(root, &init_scripts));
        let read_text = |path: &str| crate::audit::files::read_bounded(&root.join(path));
        settle_roles(&mut files_with_roles, &declared, &init_scripts, &read_text);
        let role_of = |path: &str| {
            files_with_roles
                .binary_search_by(|f| f.path.as_str().cmp(path))
                .map_or_else(|_| roles::of_path(path).0, |i| files_with_roles[i].role)
        };
        let mut processes: Vec<DeclaredProcess> = declared
            .processes
            .into_iter()
            .map(|process| DeclaredProcess {
                role: role_of(&process.path),
                process,
            })
            .collect();
        drop_start_scripts_production_does_not_run(&mut processes, files);
        let production_dockerfile = |path: &str| role_of(path) == Role::Production;
        let base_images = of_production(&declared.bases, &production_dockerfile);
        let image_tools = of_production(&declared.installed, &production_dockerfile);
        let copied_config: Vec<ConfigFile> = declared
            .copied
            .iter()
            .filter(|(dockerfile, source)| {
                production_dockerfile(dockerfile)
                    && is_config_name(source)
                    && files_with_roles
                        .binary_search_by(|f| f.path.as_str().cmp(source.as_str()))
                        .is_ok()
            })
            .map(|(_, source)| ConfigFile {
                path: source.clone(),
                why: "copied into the production image",
            })
            .collect();
        // Files production Compose services bind-mount, and files production start scripts
        // copy into place or name: config those processes run with.
        let mounted_config = mounted_config(files, &declared.mounted, &production_dockerfile);
        let script_config = start_script_config(files, &files_with_roles, &read_text);
        let services = declared
            .services
            .into_iter()
            .map(|s| {
                let role = role_of(&s.path);
                (s, role)
            })
            .collect();
        let read = |path: &str| crate::audit::files::read_bounded(&root.join(path));
        if !processes
            .iter()
            .any(|p| p.role == Role::Production && p.process.stage == Stage::Run)
        {
            processes.extend(
                spring_boot_jar(files, &read).map(|process| DeclaredProcess {
                    role: Role::Production,
                    process,
                }),
            );
        }
        demote_inactive_spring_profiles(&mut files_with_roles, &read);
        let activated = activated_spring_profiles(&files_with_roles);
        let config = config_production_reads(
            files,
            &files_with_roles,
            &read,
            copied_config
                .into_iter()
                .chain(activated)
                .chain(mounted_config)
                .chain(script_config)
                .chain(named_config(files, &processes)),
        );
        explain_config(&mut files_with_roles, &config);
        let spring = spring_properties(&config, &read);
        Self {
            files: files_with_roles,
            processes,
            services,
            config,
            image_tools,
            base_images,
            scripts: declared.package_scripts,
            spring,
            stages: declared.stages,
            script_variables: declared.script_variables,
            code_mounts: declared.code_mounts,
            init_scripts,
        }
    }

    /// The role of a file of the app (by its path alone when the walk did not see it).
    pub fn role(&self, path: &str) -> Role {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .map_or_else(|_| roles::of_path(path).0, |i| self.files[i].role)
    }

    /// The processes production runs (and its release and build commands).
    pub fn production_processes(&self) -> impl Iterator<Item = &Process> {
        self.processes
            .iter()
            .filter(|p| p.role == Role::Production)
            .map(|p| &p.process)
    }

    /// The production processes a deployment file declares (a Dockerfile, Compose, a
    /// manifest, an init system), not a Procfile: the rules read the Procfile's themselves.
    pub fn deployed_processes(&self) -> impl Iterator<Item = &Process> {
        self.production_processes()
            .filter(|p| p.declared_by != "Procfile")
    }

    /// The package.json scripts `command` runs (`npm start`, `pnpm start-docker`), and the
    /// scripts those run.
    pub fn package_scripts(&self, command: &str) -> Vec<&declarations::PackageScript> {
        declarations::scripts_run(&self.scripts, command)
    }

    /// Whether the app declares production processes some other way than a Procfile.
    pub fn declares_processes(&self) -> bool {
        self.production_processes().any(|p| p.stage == Stage::Run)
    }

    pub fn to_json(&self, app: &str) -> Value {
        json!({
            "schema": 1,
            "app": app,
            "processes": self.processes.iter().map(|p| json!({
                "name": p.process.name,
                "command": p.process.command,
                "stage": p.process.stage,
                "declared_by": p.process.declared_by,
                "path": p.process.path,
                "line": p.process.line,
                "role": p.role,
            })).collect::<Vec<_>>(),
            "services": self.services.iter().map(|(s, role)| json!({
                "name": s.name, "image": s.image, "path": s.path, "line": s.line, "role": role,
            })).collect::<Vec<_>>(),
            "production_config": self.config,
            "files": self.files.iter().map(|f| json!({
                "path": f.path, "role": f.role, "why": f.why,
            })).collect::<Vec<_>>(),
        })
    }

    /// The model as text: processes by role, services, production config, then the files
    /// of each role by directory (every file with `verbose`).
    pub fn text(&self, app: &str, verbose: bool, paint: crate::ui::Paint) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!("dozen audit --model: {app}"))
        );
        // Processes run; release and build steps run once per release or build, and are
        // listed apart so that a build script is never read as something production runs.
        let sections = [
            ("processes", Stage::Run),
            ("release steps (once per release)", Stage::Release),
            ("build steps (once per build)", Stage::Build),
        ];
        for (title, stage) in sections {
            let listed: Vec<&DeclaredProcess> = Role::ALL
                .iter()
                .flat_map(|role| {
                    self.processes
                        .iter()
                        .filter(move |p| p.role == *role && p.process.stage == stage)
                })
                .collect();
            if listed.is_empty() && stage != Stage::Run {
                continue;
            }
            let _ = writeln!(out, "\n{}", paint.bold(title));
            if listed.is_empty() {
                let _ = writeln!(
                    out,
                    "  none declared (no Procfile, Dockerfile CMD, Compose service, manifest or start script)"
                );
            }
            for p in listed {
                let _ = writeln!(
                    out,
                    "  {:<11} {:<16} {}  {}",
                    p.role.as_str(),
                    p.process.name,
                    one_line(&p.process.command),
                    paint.dim(&format!(
                        "{}:{} {}",
                        p.process.path, p.process.line, p.process.declared_by
                    ))
                );
            }
        }
        if !self.services.is_empty() {
            let _ = writeln!(out, "\n{}", paint.bold("backing services"));
            for (s, role) in &self.services {
                let _ = writeln!(
                    out,
                    "  {:<11} {:<16} {}  {}",
                    role.as_str(),
                    s.name,
                    s.image,
                    paint.dim(&format!("{}:{}", s.path, s.line))
                );
            }
        }
        let _ = writeln!(out, "\n{}", paint.bold("production config"));
        if self.config.is_empty() {
            let _ = writeln!(out, "  none by a framework's convention");
        }
        for c in &self.config {
            let _ = writeln!(out, "  {}  {}", c.path, paint.dim(c.why));
        }
        let _ = writeln!(out, "\n{}", paint.bold("files by role"));
        for role in Role::ALL {
            let of_role: Vec<&FileRole> = self.files.iter().filter(|f| f.role == role).collect();
            if of_role.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {} ({})", role.as_str(), of_role.len());
            if verbose {
                for f in of_role {
                    let _ = writeln!(out, "    {}  {}", f.path, paint.dim(f.why));
                }
                continue;
            }
            // By top directory (and the why), so a user sees where a role comes from.
            let mut groups: Vec<(String, &'static str, usize)> = Vec::new();
            for f in of_role {
                let top = match f.path.split_once('/') {
                    Some((dir, _)) => format!("{dir}/"),
                    None => f.path.clone(),
                };
                match groups.iter_mut().find(|(t, w, _)| *t == top && *w == f.why) {
                    Some(group) => group.2 += 1,
                    None => groups.push((top, f.why, 1)),
                }
            }
            for (top, why, count) in groups {
                let _ = writeln!(out, "    {top:<40} {count:>5}  {}", paint.dim(why));
            }
        }
        out
    }
}

/// A command on one line of a listing: a multi-line script's lines joined, its comments
/// left out, and cut at 100 characters (`--json` has it whole).
fn one_line(command: &str) -> String {
    let joined = command
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match joined.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
    }
}
