//! The deployment model the audit reasons from, built before any rule runs: which processes
//! run in production and with which commands (from every declaration an app can have), which
//! config files production reads, and each file's role. `dozen audit --model` prints it, so a
//! user can see why a file counts (docs/audit.md, "The model").

mod build;
pub mod declarations;
pub mod frameworks;
pub mod parts;
pub mod roles;
pub mod spring;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use declarations::{Process, Service, Stage};
use frameworks::ConfigFile;
use roles::Role;

use super::procfiles::ProcfileAt;
use build::{
    activated_spring_profiles, config_production_reads, demote_inactive_spring_profiles,
    drop_start_scripts_production_does_not_run, explain_config, init_scripts, init_services,
    is_config_name, mounted_config, named_config, of_production, promote_loaded_defaults,
    read_declarations, role_in, roles_by_path, settle_roles, spring_boot_jar, spring_properties,
    start_script_config,
};
pub use parts::{DEFAULTS_FILE_NAME, DeclaredProcess, FileRole, init_script_kind};

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
        let role_of = |path: &str| role_in(&files_with_roles, path);
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
        role_in(&self.files, path)
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
