//! The processes an app declares, from every place an app can declare them: Procfiles,
//! Dockerfiles, Compose files, Kubernetes manifests, `app.json`, `heroku.yml`, `fly.toml`,
//! `render.yaml` and `package.json`'s scripts.

use crate::audit::dockerfile;
use crate::audit::files;
use crate::audit::yaml::{self, Node};

mod platforms;
use platforms::{
    app_json, fly_toml, heroku_yml, kubernetes, package_json, process, render_yaml,
    script_variables, supervisor_programs, systemd_unit,
};

mod parts;
pub use parts::{Declared, PackageScript, Process, Service, Stage};

/// The scripts of `scripts` that `command` runs, followed a few levels: `npm start`, `npm run
/// web`, `yarn web`, `pnpm start-docker`, `bun run web`, each script `npm-run-all`, `run-s`
/// and `run-p` run, and the `pre` scripts npm runs before them.
pub fn scripts_run<'s>(scripts: &'s [PackageScript], command: &str) -> Vec<&'s PackageScript> {
    let mut out: Vec<&PackageScript> = Vec::new();
    let mut queue: Vec<(String, usize)> = vec![(command.to_owned(), 0)];
    while let Some((command, depth)) = queue.pop() {
        for words in crate::audit::shell::simple_commands(&command) {
            for name in scripts_named(&words) {
                for name in [format!("pre{name}"), name] {
                    let Some(script) = scripts.iter().find(|s| s.name == name) else {
                        continue;
                    };
                    if out.iter().any(|s| s.name == name) {
                        continue;
                    }
                    if depth < 4 {
                        queue.push((script.body.clone(), depth + 1));
                    }
                    out.push(script);
                }
            }
        }
    }
    out
}

/// The script names one simple command runs through a package manager.
fn scripts_named(words: &[&str]) -> Vec<String> {
    let words: Vec<&str> = words
        .iter()
        .map(|w| w.trim_matches(['"', '\'', '[', ']', ',']))
        .filter(|w| !w.starts_with('-') && !w.is_empty())
        .collect();
    match words.as_slice() {
        ["npm" | "yarn" | "pnpm" | "bun", "start" | "restart", ..] => vec!["start".to_owned()],
        [
            "npm" | "yarn" | "pnpm" | "bun",
            "run" | "run-script",
            name,
            ..,
        ] => {
            vec![(*name).to_owned()]
        }
        [
            "npm-run-all" | "run-s" | "run-p" | "npm-run-all2",
            names @ ..,
        ] => names.iter().map(|n| (*n).to_owned()).collect(),
        // `yarn web` and `pnpm web` run a script by its bare name (their own commands have no
        // script of that name, so nothing is found for them).
        ["yarn" | "pnpm", name, ..] => vec![(*name).to_owned()],
        _ => Vec::new(),
    }
}

/// Whether a file is where a deployment sets the app's environment (`ENV` in a Dockerfile,
/// Compose's and manifests' `environment`, app.json's `env`, a Procfile's or a unit's
/// command line, uWSGI's `env`): every file that may declare processes, a Procfile, uWSGI's
/// ini.
pub fn sets_environment(path: &str) -> bool {
    let lower = files::name(path).to_ascii_lowercase();
    may_declare(path) || lower.starts_with("procfile") || lower == "uwsgi.ini"
}

/// Whether a file may declare processes, by its name (read only then).
pub fn may_declare(path: &str) -> bool {
    let name = files::name(path);
    // Cheap first: this runs for every file the walk reads.
    if !(files::is_dockerfile(name)
        || files::has_extension(
            name,
            &["yaml", "yml", "json", "toml", "service", "conf", "ini"],
        ))
    {
        return false;
    }
    if files::has_extension(name, &["conf", "ini"]) {
        return is_supervisor_config(path);
    }
    let lower = name.to_ascii_lowercase();
    files::is_dockerfile(name)
        || is_compose(&lower)
        || lower == "app.json"
        || lower == "heroku.yml"
        || lower == "fly.toml"
        || lower == "render.yaml"
        || lower == "package.json"
        || files::has_extension(&lower, &["service", "toml"])
        || (files::has_extension(&lower, &["yaml", "yml"]) && !path.contains(".github/"))
}

/// Whether a `.conf` or `.ini` file is supervisord's, by its name or its directory's
/// (`supervisord.conf`, `supervisor/conf.d/web.conf`, `deploy/supervisord/celery.conf`).
fn is_supervisor_config(path: &str) -> bool {
    path.to_ascii_lowercase()
        .rsplit('/')
        .take(3)
        .any(|part| part.contains("supervisor"))
}

/// Whether a TOML file other than `fly.toml` is a Fly.io app's configuration
/// (`deploy/fly/prod.toml`, `fly.production.toml`): it names the app and how it serves or
/// releases.
fn is_fly_config(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("app ") || l.trim_start().starts_with("app="))
        && [
            "[http_service]",
            "[[services]]",
            "release_command",
            "[processes]",
        ]
        .iter()
        .any(|key| text.contains(key))
}

pub fn is_compose(lower: &str) -> bool {
    (lower.starts_with("docker-compose") || lower.starts_with("compose"))
        && files::has_extension(lower, &["yaml", "yml"])
}

/// Whether a file that may declare processes ([`may_declare`]) is worth reading, by a cheap
/// look at its bytes: most YAML files are not Compose files or manifests.
pub fn wanted(path: &str, content: &[u8]) -> bool {
    let lower = files::name(path).to_ascii_lowercase();
    if files::has_extension(&lower, &["toml"]) && lower != "fly.toml" {
        return memchr::memmem::find(content, b"app").is_some()
            && is_fly_config(&String::from_utf8_lossy(content));
    }
    if files::has_extension(&lower, &["conf", "ini"]) {
        return memchr::memmem::find(content, b"[program:").is_some();
    }
    if !files::has_extension(&lower, &["yaml", "yml"])
        || is_compose(&lower)
        || lower == "heroku.yml"
        || lower == "render.yaml"
    {
        return true;
    }
    memchr::memmem::find(content, b"kind:").is_some()
        && memchr::memmem::find(content, b"containers:").is_some()
}

/// Reads the declarations of one file into `out`.
pub fn read(path: &str, text: &str, out: &mut Declared) {
    let name = files::name(path);
    let lower = name.to_ascii_lowercase();
    if files::is_dockerfile(name) {
        dockerfile_command(path, text, out);
    } else if lower == "app.json" {
        app_json(path, text, out);
    } else if lower == "package.json" {
        script_variables(text, out);
        // The app's own scripts: a nested package's (a workspace's tooling, an email
        // builder) are not how the app runs.
        if !path.contains('/') {
            package_json(path, text, out);
        }
    } else if lower == "fly.toml" || files::has_extension(&lower, &["toml"]) && is_fly_config(text)
    {
        fly_toml(path, text, out);
    } else if files::has_extension(&lower, &["conf", "ini"]) {
        if is_supervisor_config(path) {
            supervisor_programs(path, text, out);
        }
    } else if files::has_extension(&lower, &["service"]) {
        systemd_unit(path, text, out);
    } else if files::has_extension(&lower, &["yaml", "yml"]) {
        // Cheap look before parsing: most YAML files declare nothing.
        let wanted = is_compose(&lower)
            || lower == "heroku.yml"
            || lower == "render.yaml"
            || (text.contains("kind:") && text.contains("containers:"));
        if !wanted {
            return;
        }
        let Some(documents) = yaml::parse(text) else {
            return;
        };
        if is_compose(&lower) {
            if let Some(why) = says_development(text) {
                out.development.push((path.to_owned(), why));
            }
        }
        for document in &documents {
            if is_compose(&lower) {
                compose(path, document, out);
            } else if lower == "heroku.yml" {
                heroku_yml(path, document, out);
            } else if lower == "render.yaml" {
                render_yaml(path, document, out);
            } else {
                kubernetes(path, document, out);
            }
        }
    }
}

/// The command a Dockerfile's last stage starts: `ENTRYPOINT` then `CMD` (exec form joined).
fn dockerfile_command(path: &str, text: &str, out: &mut Declared) {
    let instructions = dockerfile::parse(text);
    out.stages.extend(
        instructions
            .iter()
            .filter(|i| i.keyword == "FROM")
            .filter_map(dockerfile::stage_name),
    );
    // The production stage (not a development or test variant built on it), and the stages
    // of this file it is built on: what they copy, install and run is in the image.
    let chain = if instructions.is_empty() {
        Vec::new()
    } else {
        dockerfile::stage_chain(&instructions, dockerfile::production_stage(&instructions))
    };
    if let Some(from) = chain
        .last()
        .and_then(|stage| stage.first())
        .filter(|i| i.keyword == "FROM")
    {
        if let Some(image) = from.args.split_whitespace().find(|w| !w.starts_with("--")) {
            out.bases.push((path.to_owned(), image.to_owned()));
        }
    }
    for stage in chain.iter().rev() {
        image_contents(path, stage, out);
    }
    let find = |keyword: &str| {
        chain
            .iter()
            .find_map(|stage| stage.iter().rev().find(|i| i.keyword == keyword))
    };
    let (entrypoint, cmd) = (find("ENTRYPOINT"), find("CMD"));
    let Some(at) = cmd.or(entrypoint) else {
        return;
    };
    let command: Vec<String> = [entrypoint, cmd]
        .into_iter()
        .flatten()
        .map(|i| exec_form(&i.args))
        .collect();
    let name = files::name(path);
    let type_name = name
        .strip_prefix("Dockerfile.")
        .or_else(|| name.strip_suffix(".Dockerfile"))
        .or_else(|| name.strip_suffix(".dockerfile"))
        // `Dockerfile` at the root is the app's container; `postgres-docker/Dockerfile` is
        // named by its directory.
        .unwrap_or_else(|| {
            path.rsplit('/')
                .nth(1)
                .filter(|dir| !["docker", "build", "deploy", ".docker"].contains(dir))
                .unwrap_or("container")
        });
    out.processes.push(process(
        type_name,
        &command.join(" "),
        Stage::Run,
        if cmd.is_some() {
            "Dockerfile CMD"
        } else {
            "Dockerfile ENTRYPOINT"
        },
        path,
        at.line,
    ));
}

/// What the last stage copies from the build context and what it installs.
fn image_contents(path: &str, stage: &[dockerfile::Instruction], out: &mut Declared) {
    const INSTALLERS: [&[&str]; 6] = [
        &["apt-get", "install"],
        &["apt", "install"],
        &["apk", "add"],
        &["yum", "install"],
        &["dnf", "install"],
        &["microdnf", "install"],
    ];
    for instruction in stage {
        match instruction.keyword.as_str() {
            "COPY" | "ADD" => {
                let words: Vec<String> =
                    match serde_json::from_str::<Vec<String>>(&instruction.args) {
                        Ok(words) => words,
                        Err(_) => instruction
                            .args
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect(),
                    };
                let from_stage = words.iter().any(|w| w.starts_with("--from"));
                let plain: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
                let Some((destination, sources)) = plain.split_last() else {
                    continue;
                };
                for source in sources {
                    if from_stage {
                        // A program copied into a bin directory is installed.
                        if destination.contains("bin") || source.contains("/bin/") {
                            let name = files::name(source.trim_end_matches('/'));
                            let name = if destination.ends_with('/')
                                || destination.contains("bin") && !destination.contains('.')
                            {
                                name
                            } else {
                                files::name(destination)
                            };
                            out.installed.push((path.to_owned(), name.to_owned()));
                        }
                    } else {
                        let source = source
                            .trim_start_matches("./")
                            .trim_start_matches('/')
                            .to_owned();
                        // A directory's contents (`COPY scripts/dist/ /scripts/`): each
                        // file lands under the destination by its path in the directory.
                        let directory = source.ends_with('/') || source.is_empty();
                        let placed = if directory {
                            format!("{}/", destination.trim_end_matches('/'))
                        } else if destination.ends_with('/') || sources.len() > 1 {
                            format!(
                                "{destination}{}",
                                if destination.ends_with('/') { "" } else { "/" }
                            ) + files::name(source.trim_end_matches('/'))
                        } else {
                            (*destination).clone()
                        };
                        // The build context is the root or a directory the Dockerfile is in
                        // (its own, or a module's above `docker/`): each is recorded, and
                        // only a file that exists counts.
                        let mut dir = path;
                        while let Some((parent, _)) = dir.rsplit_once('/') {
                            let beside = format!("{parent}/{source}");
                            out.placed.push((placed.clone(), beside.clone()));
                            out.copied.push((path.to_owned(), beside));
                            dir = parent;
                        }
                        out.placed.push((placed, source.clone()));
                        out.copied.push((path.to_owned(), source));
                    }
                }
            }
            "RUN" => {
                for command in crate::audit::shell::simple_commands(&instruction.args) {
                    let words: Vec<&str> =
                        command.iter().copied().filter(|w| *w != "sudo").collect();
                    let Some(installer) = INSTALLERS.iter().find(|i| words.starts_with(i)) else {
                        continue;
                    };
                    for word in &words[installer.len()..] {
                        if word.starts_with('-') || word.contains('$') || word.contains('\\') {
                            continue;
                        }
                        // `git=1:2.39*` and `git~=2.39` name git.
                        let name = word.split(['=', '~', '>', '<']).next().unwrap_or(word);
                        if !name.is_empty() {
                            out.installed.push((path.to_owned(), name.to_owned()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// `["gunicorn", "app:app"]` as `gunicorn app:app`; shell form as written.
fn exec_form(args: &str) -> String {
    match serde_json::from_str::<Vec<String>>(args.trim()) {
        Ok(words) => words.join(" "),
        Err(_) => args.trim().to_owned(),
    }
}

/// Framework environments that are not production's.
const NOT_PRODUCTION: [&str; 6] = ["dev", "development", "local", "test", "testing", "ci"];

/// Whether a service's environment selects a framework's development environment
/// (`DJANGO_SETTINGS_MODULE: shop.settings.dev`, `RAILS_ENV=development`, `NODE_ENV:
/// development`, `SPRING_PROFILES_ACTIVE: dev`).
fn sets_development_environment(service: &Node) -> bool {
    let Some(environment) = service.get("environment") else {
        return false;
    };
    let pairs: Vec<(String, String)> = match &environment.value {
        crate::audit::yaml::Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
            .collect(),
        _ => environment
            .items()
            .iter()
            .filter_map(Node::as_str)
            .filter_map(|item| item.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    pairs.iter().any(|(key, value)| {
        let value = value.trim_matches(['"', '\'']).to_ascii_lowercase();
        let last = value.rsplit(['.', ',']).next().unwrap_or(&value);
        // `RAILS_ENV`, `NODE_ENV`, `APP_ENV`, `MIX_ENV`, `RAILS_ENVIRONMENT`, `ENVIRONMENT`,
        // `SPRING_PROFILES_ACTIVE`: the environment the framework runs in.
        let environment_key = key.ends_with("_ENV")
            || key.ends_with("_ENVIRONMENT")
            || key == "ENVIRONMENT"
            || key == "SPRING_PROFILES_ACTIVE";
        if key == "DJANGO_SETTINGS_MODULE" {
            NOT_PRODUCTION.contains(&last)
        } else if environment_key {
            value.split(',').any(|v| NOT_PRODUCTION.contains(&v.trim()))
        } else {
            false
        }
    })
}

/// Whether a built Compose service is a developer's: it mounts the source tree over the
/// image (`.:/app`, `./src:/app/src`, `..:/code`) or runs a reloading development server.
fn development_service(service: &Node) -> Option<&'static str> {
    if sets_development_environment(service) {
        return Some(
            "a Compose file whose app runs in the framework's development or test environment",
        );
    }
    service.get("build")?;
    let mounts_source = service
        .get("volumes")
        .map_or(&[][..], Node::items)
        .iter()
        .any(|v| {
            let source = v
                .as_str()
                .map(|s| s.split(':').next().unwrap_or(""))
                .or_else(|| v.get("source").and_then(Node::as_str))
                .unwrap_or("");
            let source = source.trim_end_matches('/');
            source == "."
                || source == ".."
                || source.starts_with("../")
                || [
                    "./src",
                    "./app",
                    "./lib",
                    "./client",
                    "./server",
                    "./frontend",
                    "./backend",
                ]
                .iter()
                .any(|dir| source == *dir || source.starts_with(&format!("{dir}/")))
        });
    if mounts_source {
        return Some(
            "a Compose file that mounts the source tree into its services: a development setup",
        );
    }
    let command = service
        .get("command")
        .and_then(Node::command)
        .unwrap_or_default();
    [
        "--reload",
        "runserver",
        "dev_server",
        "npm run dev",
        "yarn dev",
        "nodemon",
        "--watch",
    ]
    .iter()
    .any(|w| command.contains(w))
    .then_some("a Compose file that runs development servers")
}

/// Images of backing services and of the proxies in front of the app: attached resources, not
/// the app's own code. A Compose file of only these attaches a developer's local
/// infrastructure; it does not deploy the app.
const BACKING_IMAGES: [&str; 53] = [
    "nginx",
    "traefik",
    "caddy",
    "haproxy",
    "envoyproxy/envoy",
    "postgres",
    "postgis",
    "mysql",
    "mariadb",
    "mongo",
    "redis",
    "valkey",
    "memcached",
    "rabbitmq",
    "elasticsearch",
    "opensearch",
    "minio",
    "mailhog",
    "maildev",
    "mailpit",
    "localstack",
    "adminer",
    "pgadmin",
    "dpage/pgadmin4",
    "kafka",
    "zookeeper",
    "nats",
    // Search, logs, metrics and tracing the app ships to.
    "logstash",
    "kibana",
    "fluentd",
    "fluent-bit",
    "prometheus",
    "grafana",
    "jaeger",
    "zipkin",
    "loki",
    // Config, discovery and secrets servers the app attaches to.
    "nacos",
    "consul",
    "etcd",
    "vault",
    // Identity, directory and other stores.
    "keycloak",
    "openldap",
    "clickhouse",
    "cassandra",
    "influxdb",
    "neo4j",
    "typesense",
    "meilisearch",
    "qdrant",
    "solr",
    "weaviate",
    "tempo",
    "mongo-express",
];

/// Whether an image is a vendor's image of a backing service (`postgres:16`,
/// `bitnami/redis`, `mariadb:11`).
fn is_backing_image(image: &str) -> bool {
    let repository = image.split([':', '@']).next().unwrap_or(image);
    let last = repository.rsplit('/').next().unwrap_or(repository);
    // `bitnami/redis`, `nacos/nacos-server`, `osixia/openldap`, `rroemhild/test-openldap`.
    BACKING_IMAGES.iter().any(|b| {
        *b == repository
            || *b == last
            || last.starts_with(&format!("{b}-"))
            || last.split('-').any(|word| word == *b)
    })
}

/// Whether a deployment file's opening comment says it is for development or testing only
/// (`# This configuration is intended for development purpose`, `# For local development`,
/// `# Do not use in production`).
fn says_development(text: &str) -> Option<&'static str> {
    let opening: String = text
        .lines()
        // A YAML document's `---` marker may come before the comment.
        .take_while(|l| l.trim().is_empty() || l.trim() == "---" || l.trim_start().starts_with('#'))
        .take(30)
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let says = [
        "for development",
        "dev-only",
        "dev only",
        "development-only",
        "don't run this in production",
        "do not run this in production",
        "never run this in production",
        "development purpose",
        "development only",
        "development environment",
        "local development",
        "for local testing",
        "testing only",
        "for testing",
        "not for production",
        "not meant for production",
        "not intended for production",
        "do not use in production",
        "don't use in production",
        "do not use this in production",
        "not suitable for production",
        "not production ready",
        "not production-ready",
    ]
    .iter()
    .any(|phrase| {
        // "not intended for production use without first customizing it" is a condition
        // on production use, not a denial of it.
        opening.match_indices(phrase).any(|(at, _)| {
            let after: String = opening[at + phrase.len()..].chars().take(40).collect();
            !(after.contains("without") || after.contains("unless"))
        })
    });
    says.then_some("its opening comment says it is for development or testing")
}

/// Whether a Compose file is a developer's: it mounts the source or runs development
/// servers, or it holds only backing services.
fn development_compose(path: &str, document: &Node, services: &Node, out: &mut Declared) {
    if document
        .get("name")
        .and_then(Node::as_str)
        .is_some_and(names_a_development_stack)
    {
        out.development.push((
            path.to_owned(),
            "its Compose project name says it is a development or test stack",
        ));
    }
    // A file named for production (`docker-compose-production.yml`) is production's, however
    // it runs its services: a source mount there is a violation, not a developer's setup.
    let named_production = files::name(path)
        .to_ascii_lowercase()
        .split(['.', '-', '_'])
        .any(|w| matches!(w, "production" | "prod"));
    if named_production {
        return;
    }
    if let Some(why) = services
        .entries()
        .iter()
        .find_map(|(_, s)| development_service(s))
    {
        out.development.push((path.to_owned(), why));
    }
    let only_backing = !services.entries().is_empty()
        && services.entries().iter().all(|(_, s)| {
            s.get("build").is_none()
                && s.get("image")
                    .and_then(Node::as_str)
                    .is_some_and(is_backing_image)
        });
    if only_backing {
        out.development.push((
            path.to_owned(),
            "a Compose file of backing services only: local infrastructure for development",
        ));
    }
}

/// Whether a Compose project name (`name: shop-dev`) names a developer's or a test stack.
fn names_a_development_stack(name: &str) -> bool {
    name.to_ascii_lowercase().split(['.', '-', '_']).any(|w| {
        matches!(
            w,
            "dev" | "development" | "local" | "test" | "testing" | "e2e"
        )
    })
}

fn compose(path: &str, document: &Node, out: &mut Declared) {
    let Some(services) = document.get("services") else {
        return;
    };
    development_compose(path, document, services, out);
    let dir = path
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"));
    out.env_files.push((path.to_owned(), format!("{dir}.env")));
    for (_, service) in services.entries() {
        let listed: Vec<String> = match service.get("env_file") {
            Some(node) => match &node.value {
                crate::audit::yaml::Value::Scalar(s) => vec![s.clone()],
                _ => node
                    .items()
                    .iter()
                    .filter_map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .or_else(|| i.get("path").and_then(Node::as_str).map(str::to_owned))
                    })
                    .collect(),
            },
            None => Vec::new(),
        };
        for file in listed {
            out.env_files.push((
                path.to_owned(),
                format!("{dir}{}", file.trim_start_matches("./")),
            ));
        }
        compose_mounts(path, &dir, service, out);
    }
    code_mounts(path, &dir, services, out);
    for (name, service) in services.entries() {
        // A vendor's image of a backing service is one, whatever command it is given
        // (`redis-server --appendonly yes`).
        if service.get("build").is_none()
            && service
                .get("image")
                .and_then(Node::as_str)
                .is_some_and(is_backing_image)
        {
            out.services.push(Service {
                name: name.clone(),
                image: service
                    .get("image")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_owned(),
                path: path.to_owned(),
                line: service.line,
            });
            continue;
        }
        let command = service
            .get("command")
            .and_then(Node::command)
            .or_else(|| service.get("entrypoint").and_then(Node::command));
        let image = service.get("image").and_then(Node::as_str).unwrap_or("");
        let built = service.get("build").is_some();
        match command {
            Some(command) => out.processes.push(process(
                name,
                &command,
                Stage::Run,
                "Compose service",
                path,
                service.get("command").map_or(service.line, |c| c.line),
            )),
            None if built => out.processes.push(process(
                name,
                "(the image's command)",
                Stage::Run,
                "Compose service",
                path,
                service.line,
            )),
            // An image that is not a backing service's is the app's own, published image.
            None if !image.is_empty() && is_backing_image(image) => out.services.push(Service {
                name: name.clone(),
                image: image.to_owned(),
                path: path.to_owned(),
                line: service.line,
            }),
            None if !image.is_empty() => out.processes.push(process(
                name,
                &format!("(the command of image {image})"),
                Stage::Run,
                "Compose service",
                path,
                service.line,
            )),
            None => {}
        }
    }
}

/// Services that mount the whole app (`.:/app`, `..:/app` from `containers/`).
fn code_mounts(path: &str, dir: &str, services: &Node, out: &mut Declared) {
    for (name, service) in services.entries() {
        for volume in service.get("volumes").map(Node::items).unwrap_or_default() {
            let Some(short) = volume.as_str() else {
                continue;
            };
            let source = short.split(':').next().unwrap_or("");
            let root = source.starts_with('.')
                && join_relative(dir, source).is_none()
                && source.split('/').all(|p| matches!(p, "" | "." | ".."));
            if root && short.contains(':') {
                out.code_mounts.push((
                    path.to_owned(),
                    volume.line,
                    name.clone(),
                    short.to_owned(),
                ));
            }
        }
    }
}

/// The app's files a Compose service bind-mounts: paths on the host relative to the Compose
/// file, not named volumes or absolute host paths.
fn compose_mounts(path: &str, dir: &str, service: &Node, out: &mut Declared) {
    let volumes = service.get("volumes").map(Node::items).unwrap_or_default();
    for volume in volumes {
        let source = match volume.as_str() {
            Some(short) => short.split(':').next().unwrap_or(""),
            None => volume.get("source").and_then(Node::as_str).unwrap_or(""),
        };
        if source.starts_with("./") || source.starts_with("../") {
            if let Some(joined) = join_relative(dir, source) {
                out.mounted.push((path.to_owned(), joined));
            }
        }
    }
}

/// `relative` (`./nginx.conf`, `../conf/app.ini`) from the directory `dir` (`deploy/`, or
/// empty for the app's root), as a path of the app; `None` when it leaves the app.
fn join_relative(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_images_of_backing_services() {
        for image in [
            "postgres:16",
            "bitnami/redis:7.2",
            "nacos/nacos-server:v2.3.2",
            "elastic/logstash:8.15.0",
            "kibana:8.15.0",
            "rroemhild/test-openldap",
        ] {
            assert!(is_backing_image(image), "{image}");
        }
        for image in [
            "acme/shop:1.4",
            "rustdesk/rustdesk-server:latest",
            "ghcr.io/org/api",
        ] {
            assert!(!is_backing_image(image), "{image}");
        }
    }

    #[test]
    fn compose_files_that_deny_production_and_those_that_set_a_condition() {
        assert!(says_development("# For local development only.\nservices: {}\n").is_some());
        assert!(says_development("# This file is not intended for production.\n").is_some());
        assert!(says_development(
            "# Compose is a supported way to deploy in production, but this file is\n# not intended for production use without first customizing it.\nservices: {}\n"
        )
        .is_none());
    }

    fn read_one(path: &str, text: &str) -> Declared {
        let mut out = Declared::default();
        read(path, text, &mut out);
        out
    }

    #[test]
    fn development_compose_files_and_image_contents() {
        let d = read_one(
            "compose.yaml",
            "services:\n  server:\n    build: .\n    volumes:\n      - .:/app\n  postgres:\n    image: postgres:16\n",
        );
        assert_eq!(d.development.len(), 1);
        let d = read_one(
            "docker-compose.yml",
            "services:\n  app:\n    build: .\n    volumes:\n      - ./data:/data\n",
        );
        assert!(d.development.is_empty());
        // The project's own name says what the stack is for.
        let d = read_one(
            "docker-compose.yaml",
            "name: shop-dev\nservices:\n  app:\n    image: acme/shop:1.4\n",
        );
        assert_eq!(d.development.len(), 1);
        let d = read_one(
            "docker-compose.yaml",
            "name: devops-shop\nservices:\n  app:\n    image: acme/shop:1.4\n",
        );
        assert!(d.development.is_empty());
        let d = read_one(
            "Dockerfile",
            "FROM golang:1.22 AS build\nRUN apt-get install -y make\nFROM alpine:3.20\nRUN apk add --no-cache git=2.45.2-r0 openssh && rm -rf /var/cache\nCOPY --from=build /src/opengist /app/opengist\nCOPY --from=crfpp /usr/local/bin/crf_test /usr/local/bin/crf_test\nCOPY config.yml /config.yml\nCMD [\"/app/opengist\"]\n",
        );
        let installed: Vec<&str> = d.installed.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(installed, ["git", "openssh", "crf_test"]);
        assert_eq!(
            d.copied,
            [("Dockerfile".to_owned(), "config.yml".to_owned())]
        );
    }

    #[test]
    fn processes_from_every_declaration() {
        let d = read_one(
            "Dockerfile",
            "FROM node:20 AS build\nCMD [\"npm\", \"test\"]\nFROM node:20-slim\nENTRYPOINT [\"/entrypoint.sh\"]\nCMD [\"node\", \"server.js\"]\n",
        );
        assert_eq!(d.processes[0].command, "/entrypoint.sh node server.js");
        assert_eq!(
            (d.processes[0].line, d.processes[0].declared_by),
            (5, "Dockerfile CMD")
        );

        let d = read_one(
            "docker-compose.yml",
            "services:\n  web:\n    build: .\n    command: gunicorn app:app\n  worker:\n    build: .\n    command: [\"celery\", \"-A\", \"app\", \"worker\"]\n  db:\n    image: postgres:16\n",
        );
        let names: Vec<(&str, &str)> = d
            .processes
            .iter()
            .map(|p| (p.name.as_str(), p.command.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("web", "gunicorn app:app"),
                ("worker", "celery -A app worker")
            ]
        );
        assert_eq!(d.services[0].image, "postgres:16");

        let d = read_one(
            "k8s/web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x\n          args: [\"serve\", \"--port\", \"8080\"]\n",
        );
        assert_eq!(d.processes[0].command, "serve --port 8080");
        assert_eq!(d.processes[0].name, "web");

        let d = read_one(
            "heroku.yml",
            "build:\n  docker:\n    web: Dockerfile\nrelease:\n  command:\n    - ./manage.py migrate\nrun:\n  web: gunicorn app:app\n",
        );
        assert_eq!(d.processes.len(), 2);
        assert_eq!(d.processes[1].stage, Stage::Release);

        let d = read_one(
            "package.json",
            "{\n  \"scripts\": {\n    \"start\": \"node dist/main.js\",\n    \"heroku-postbuild\": \"npm run build && npx prisma migrate deploy\"\n  }\n}\n",
        );
        assert_eq!(d.processes[0].name, "web");
        assert_eq!(d.processes[1].stage, Stage::Build);
        assert_eq!(d.processes[1].line, 4);

        let d = read_one(
            "fly.toml",
            "[processes]\napp = \"bin/rails server\"\nworker = \"bundle exec sidekiq\"\n[deploy]\nrelease_command = \"bin/rails db:migrate\"\n",
        );
        assert_eq!(d.processes.len(), 3);
        let d = read_one(
            "render.yaml",
            "services:\n  - type: web\n    name: api\n    startCommand: uvicorn main:app\n    preDeployCommand: alembic upgrade head\n",
        );
        assert_eq!(d.processes.len(), 2);
        let d = read_one(
            "contrib/shop@.service",
            "[Service]\nExecStartPre=/usr/bin/shop --upgrade\nExecStart=/usr/bin/shop --config /etc/shop.toml\n",
        );
        assert_eq!(d.processes.len(), 2);
        assert_eq!(d.processes[1].declared_by, "systemd ExecStart");
        assert_eq!(d.processes[1].name, "shop");
        let d = read_one(
            "app.json",
            "{\"scripts\": {\"postdeploy\": \"bundle exec rake db:seed\"}}",
        );
        assert_eq!(d.processes[0].stage, Stage::Release);
    }
}
