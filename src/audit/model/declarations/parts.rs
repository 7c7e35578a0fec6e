//! What the declarations an app has say: its processes, services, stages and scripts.

use serde::Serialize;

/// When a declared command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A long-running process of the formation.
    Run,
    /// Once per release, before it serves (Heroku's release phase, a pre-deploy command).
    Release,
    /// While the build or the deploy's install runs (`heroku-postbuild`, a build command).
    Build,
}

/// A command the app declares, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// The process type, service or container name (`web`, `worker`, `release`).
    pub name: String,
    pub command: String,
    pub stage: Stage,
    /// What declares it: `Procfile`, `Dockerfile CMD`, `Compose service`, …
    pub declared_by: &'static str,
    pub path: String,
    pub line: usize,
}

/// A backing service a deployment file attaches (a Compose service from an image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub path: String,
    pub line: usize,
}

/// What the declarations found.
#[derive(Debug, Default)]
pub struct Declared {
    pub processes: Vec<Process>,
    pub services: Vec<Service>,
    /// Compose files that mount the app's source into a built service (`.:/app`) or run a
    /// reloading server: a developer's setup, whatever the file is called.
    pub development: Vec<(String, &'static str)>,
    /// Files a Dockerfile copies into its image (`COPY config.yml /config.yml`), by the
    /// Dockerfile's path: config the image runs with.
    pub copied: Vec<(String, String)>,
    /// Where a Dockerfile puts a file of the app in its image (`COPY docker/entrypoint.sh
    /// /usr/local/bin/entrypoint.sh`): (image path, the app's file).
    pub placed: Vec<(String, String)>,
    /// Env files a Compose file reads, by the Compose file's path: the `.env` beside it (for
    /// variable substitution) and its services' `env_file` entries.
    pub env_files: Vec<(String, String)>,
    /// The app's files a Compose file's services bind-mount (`./nginx/nginx.conf:/etc/nginx/
    /// nginx.conf`), by the Compose file's path: config those containers run with.
    pub mounted: Vec<(String, String)>,
    /// Compose services that bind-mount the whole app over their code (`..:/app` from a
    /// `containers/` directory): (Compose file, line of the volume, service, the mount).
    pub code_mounts: Vec<(String, usize, String, String)>,
    /// The image each Dockerfile's last stage starts from, by the Dockerfile's path.
    pub bases: Vec<(String, String)>,
    /// Programs a Dockerfile installs into its last stage (`apt-get install git`, `apk add
    /// ffmpeg`, a binary copied to a `bin` directory), by the Dockerfile's path.
    pub installed: Vec<(String, String)>,
    /// The root package.json's scripts, in file order.
    pub package_scripts: Vec<PackageScript>,
    /// The stage names (`FROM … AS name`) of every Dockerfile, lower-cased: a build that
    /// joins Dockerfiles (an `INCLUDE`, a bake file's `contexts`, `--build-context`) refers to
    /// another file's stage by its name.
    pub stages: Vec<String>,
    /// Variables some package.json's scripts set on a command line (`NEXT_PUBLIC_MOCK=true
    /// next build`): the same in every build that script makes, a build variant.
    pub script_variables: Vec<String>,
}

/// A script of the app's package.json: its name, its command, and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageScript {
    pub name: String,
    pub body: String,
    pub line: usize,
}
