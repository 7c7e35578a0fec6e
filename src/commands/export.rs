//! `dozen export systemd`: the app as another engine's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::context::{Context, Inspection, print};
use super::released::Released;
use crate::app::App;
use crate::app::formation::Formation;
use crate::app::signal::Signal;
use crate::cli::{ExportArgs, ExportTarget};
use crate::error::Error;
use crate::exit_code;
use crate::export::{ExportType, Files, Source};

/// `dozen run`'s default.
const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn run(context: &Context, args: &ExportArgs) -> Result<i32, Error> {
    let (out, release, image) = match &args.target {
        ExportTarget::Systemd { out, release, .. } => (out, release, None),
        ExportTarget::Kubernetes {
            out,
            release,
            image,
        }
        | ExportTarget::Compose {
            out,
            release,
            image,
            ..
        } => (out, release, image.as_deref()),
    };
    if image.is_some_and(|i| i.trim().is_empty()) {
        return Err(Error::usage("--image cannot be empty"));
    }
    let (mut source, hold) = resolve(context, release.map(|v| v.0))?;
    source.flags = flags(context)?;
    if let ExportTarget::Systemd {
        user: Some(user), ..
    } = &args.target
        && let Some((dir, mode)) = crate::export::access::first_closed(user, &source.workdir)
    {
        // The units would fail at their first start (systemd cannot chdir).
        return Err(Error::failed(format!(
            "User={user} cannot reach the tree the units run from: {} is mode {mode:o} and not {user}'s; nothing written",
            dir.display()
        ))
        .hint(format!(
            "make the release as {user} (`sudo -u {user} dozen release`), so the store and its trees are theirs; or export without --user"
        )));
    }
    // The image `dozen image --push` made of this release, by digest.
    let pushed = hold
        .as_ref()
        .and_then(|r| super::image::pushed(&r.store, r.version));
    let engine = match &args.target {
        ExportTarget::Systemd { .. } => "systemd",
        ExportTarget::Kubernetes { .. } => "kubernetes",
        ExportTarget::Compose { .. } => "compose",
    };
    refuse_collisions(&source, engine)?;
    if let ExportTarget::Systemd { install_dir, .. } = &args.target
        && !install_dir.is_absolute()
    {
        return Err(Error::usage(format!(
            "--install-dir {}: the units name their env file by this path, so it must be absolute",
            install_dir.display()
        )));
    }
    if let ExportTarget::Compose {
        host_port: Some(host),
        ..
    } = &args.target
    {
        let web = source.types.iter().find(|t| t.name == "web");
        let last = u32::from(*host) + web.map_or(1, |w| w.count.max(1)) - 1;
        if *host == 0 || last > 65_535 {
            return Err(Error::usage(format!(
                "--host-port {host}: web's instances would need host ports {host} to {last}"
            )));
        }
    }
    if engine == "kubernetes"
        && let Some(s) =
            (source.schedules.iter()).find(|s| s.cron.five_fields(&s.cron_text).is_none())
    {
        return Err(Error::usage(format!(
            "[schedule.{}] cron = \"{}\" fires on seconds, and a Kubernetes CronJob schedules to the minute",
            s.name, s.cron_text
        ))
        .hint("write five fields (or a seconds field of 0) to export it"));
    }
    let out = prepare(out)?;
    // The image, or (said on stderr) the default name the `what` will run.
    let image = |what: &str| {
        image.map_or_else(
            || {
                if let Some(pushed) = &pushed {
                    if !context.quiet {
                        eprintln!("the {what} run the image `dozen image` pushed: {pushed}");
                    }
                    return pushed.clone();
                }
                let image = default_image(&source);
                eprintln!(
                    "{}: no --image: the {what} run {image}, the name `dozen image --archive FILE` gives the release's image (`podman load`/`docker load -i FILE`); or push it (`dozen image --push REF`) and pass --image",
                    context.paint_err().warning("note")
                );
                image
            },
            str::to_owned,
        )
    };
    let (files, next) = match &args.target {
        ExportTarget::Systemd {
            user, install_dir, ..
        } => (
            crate::export::systemd::export(&source, install_dir, user.as_deref()),
            format!(
                "install: sudo cp {}/* {}/ && sudo systemctl daemon-reload && sudo systemctl enable --now {}.target",
                out.display(),
                install_dir.display(),
                source.app
            ),
        ),
        ExportTarget::Kubernetes { .. } => (
            crate::export::kubernetes::export(&source, &image("manifests")),
            format!("apply: kubectl apply -f {}", out.display()),
        ),
        ExportTarget::Compose { host_port, .. } => (
            crate::export::compose::export(&source, &image("services"), *host_port),
            format!("run: docker compose -f {}/compose.yaml up", out.display()),
        ),
    };
    if let (Some(strategy), false) = (source.strategy, context.quiet) {
        // dozen's router does its deploys; each engine has its own ways.
        let instead = match engine {
            "kubernetes" => {
                "Argo Rollouts or Flagger (analysis from your metrics), or a second Deployment and Service selector switch for blue-green"
            }
            "compose" => {
                "a proxy service with weighted upstreams (Traefik, nginx) in front of two web services"
            }
            _ => {
                "a reverse proxy with weighted upstreams (nginx, HAProxy) in front of two sets of units"
            }
        };
        eprintln!(
            "{}: [deploy] strategy = \"{strategy}\" is dozen's own and is not exported; in {engine} use {instead}",
            context.paint_err().warning("note")
        );
    }
    if engine == "compose" && !source.schedules.is_empty() && !context.quiet {
        eprintln!(
            "{}: [schedule] jobs are not exported: Compose has no scheduler; {}",
            context.paint_err().warning("note"),
            crate::export::compose::SCHEDULES_INSTEAD
        );
    }
    if let Some(header) = source.flags.as_ref().and_then(|f| f.header.as_deref())
        && !context.quiet
    {
        eprintln!(
            "{}: [flags] header = \"{header}\" is stamped by dozen's router and is not exported; in {engine} read the flags through OFREP_ENDPOINT (flagd) instead",
            context.paint_err().warning("note")
        );
    }
    if !source.drains.is_empty() && !context.quiet {
        let instead = match engine {
            "kubernetes" => "a node logging agent (Fluent Bit, Vector)",
            "compose" => "a logging driver (syslog is set for a plain syslog drain)",
            _ => "journald forwarding (rsyslog's imjournal, systemd-journal-upload)",
        };
        eprintln!(
            "{}: [logs] drains are dozen's own and are not exported; in {engine} logs go through {instead} (the files say so)",
            context.paint_err().warning("note")
        );
    }
    let removed = write(&out, &source.app, engine, &files)?;
    if !context.quiet {
        for name in removed {
            eprintln!(
                "removed {} (the previous export wrote it; this one does not)",
                out.join(name).display()
            );
        }
        eprintln!("{next}");
    }
    Ok(exit_code::SUCCESS)
}

/// Two process types whose names the engine would make one (`web` and `WEB` are one
/// Kubernetes object name and one DNS name in Compose): refused, naming both, before anything
/// is written.
fn refuse_collisions(source: &Source, engine: &str) -> Result<(), Error> {
    let engine_name = |name: &str| match engine {
        "kubernetes" => crate::export::kubernetes::object_name(name),
        "compose" => name.to_ascii_lowercase(),
        _ => name.to_owned(),
    };
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    if source.release_command.is_some() {
        seen.insert(engine_name("release"), "the release phase");
    }
    if source.flags.is_some() && engine != "systemd" {
        // flagd's service (Compose) or sidecar container (Kubernetes).
        seen.insert(engine_name("flagd"), "flagd (serving the app's flags)");
    }
    for kind in &source.types {
        let name = engine_name(&kind.name);
        if let Some(first) = seen.insert(name.clone(), &kind.name) {
            return Err(Error::usage(format!(
                "process types `{first}` and `{}` would both be `{name}` in {engine}; one would replace the other",
                kind.name
            ))
            .hint("rename one of them in the Procfile"));
        }
    }
    Ok(())
}

/// `APP:RELEASE` (`APP:latest` for the working tree): the image name when none is given.
fn default_image(source: &Source) -> String {
    format!(
        "{}:{}",
        crate::export::kubernetes::object_name(&source.app),
        source.release.as_deref().unwrap_or("latest")
    )
}

/// The output directory, created, as an absolute path (units name files in it).
fn prepare(out: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("cannot create {}", out.display()), e))?;
    std::fs::canonicalize(out)
        .map_err(|e| Error::io(format!("cannot resolve {}", out.display()), e))
}

/// Names the previous export of one app to one engine wrote, kept beside them so a re-export
/// removes what it no longer writes (and nothing it never wrote).
#[derive(serde::Serialize, serde::Deserialize)]
struct Written {
    app: String,
    engine: String,
    files: Vec<String>,
}

fn manifest_name(app: &str, engine: &str) -> String {
    format!(".dozen-export.{app}.{engine}.json")
}

/// Writes the files (config files 0600), printing each path; removes the files the previous
/// export of this app and engine wrote and this one does not, and returns their names.
fn write(out: &Path, app: &str, engine: &str, files: &Files) -> Result<Vec<String>, Error> {
    let manifest = out.join(manifest_name(app, engine));
    let previous: Vec<String> = std::fs::read(&manifest)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Written>(&bytes).ok())
        .filter(|w| w.app == app && w.engine == engine)
        .map(|w| w.files)
        .unwrap_or_default();
    let mut listed = String::new();
    for (name, file) in files {
        let path = out.join(name);
        // A file of its own directory (Compose's copy of the flags).
        if let Some(dir) = path.parent().filter(|d| *d != out) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        crate::fsutil::write_atomic(
            &path,
            file.contents.as_bytes(),
            if file.secret { 0o600 } else { 0o644 },
        )
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        if file.secret {
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
        }
        listed.push_str(&path.display().to_string());
        listed.push('\n');
    }
    let mut removed = Vec::new();
    for name in previous {
        // Only a plain name in the directory, and only one dozen wrote: a hand-edited
        // manifest cannot make an export delete anything else.
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains('/')
            && Path::new(&name)
                .file_name()
                .is_some_and(|n| n == name.as_str());
        if !plain || files.contains_key(&name) {
            continue;
        }
        let path = out.join(&name);
        let generated =
            std::fs::read_to_string(&path).is_ok_and(|text| Source::written_for(app, &text));
        if generated && std::fs::remove_file(&path).is_ok() {
            removed.push(name);
        }
    }
    let written = Written {
        app: app.to_owned(),
        engine: engine.to_owned(),
        files: files.keys().cloned().collect(),
    };
    let json = serde_json::to_vec_pretty(&written).expect("serializable");
    crate::fsutil::write_atomic(&manifest, &json, 0o644)
        .map_err(|e| Error::io(format!("cannot write {}", manifest.display()), e))?;
    print(&listed)?;
    Ok(removed)
}

/// What to export: `--release vN`; else the working tree when `--env` names an environment
/// or no release exists; else the current release. The second value keeps a release's store
/// lock while the export reads its tree.
fn resolve(context: &Context, release: Option<u32>) -> Result<(Source, Option<Released>), Error> {
    let use_release = release.is_some() || context.environment.is_none() && has_release(context);
    if use_release {
        let released = Released::load(context, release)?;
        released.refuse_if_runs_only_here("export")?;
        let version = format!("v{}", released.version);
        let workdir =
            std::fs::canonicalize(&released.tree).unwrap_or_else(|_| released.tree.clone());
        let source = source_of(
            &released.app,
            &released.store,
            format!("release {version}"),
            Some(version),
            workdir,
            released.config.clone(),
        )?;
        return Ok((source, Some(released)));
    }
    let inspection = Inspection::valid(context, context.environment())?;
    let app = &inspection.app;
    let store = super::context::open_store(app)?;
    let config = inspection.environment.config.values();
    let workdir = std::fs::canonicalize(app.dir.working_dir())
        .map_err(|e| Error::io("cannot resolve the app directory", e))?;
    let source = source_of(
        app,
        &store,
        format!("the working tree (environment {})", context.environment()),
        None,
        workdir,
        config,
    )?;
    Ok((source, None))
}

/// The app's flags, as `dozen run` would serve them: the app directory's definitions file
/// (a release's too: flags change without a deploy), checked. `None` when there is none;
/// a file `[flags]` names and that is missing is refused, as `dozen run` refuses it.
fn flags(context: &Context) -> Result<Option<crate::export::flagd::Flags>, Error> {
    let (app, _) = App::load(&context.locator);
    let Some((file, text, _)) = super::flags::FlagsFile::load(&app, &context.locator.app_dir())?
    else {
        return Ok(None);
    };
    let path = std::fs::canonicalize(&file.path)
        .map_err(|e| Error::io(format!("cannot resolve {}", file.shown), e))?;
    Ok(Some(crate::export::flagd::Flags {
        text,
        path,
        header: app
            .manifest
            .flags
            .header
            .as_ref()
            .map(|h| h.get_ref().clone()),
    }))
}

fn has_release(context: &Context) -> bool {
    let (app, _) = App::load(&context.locator);
    let store = crate::store::path_of(&app);
    store.join("FORMAT").is_file()
        && crate::store::releases::Ledger::open(&store)
            .ok()
            .and_then(|ledger| ledger.current().ok().flatten())
            .is_some()
}

fn source_of(
    app: &App,
    store: &Path,
    origin: String,
    release: Option<String>,
    workdir: PathBuf,
    config: BTreeMap<String, String>,
) -> Result<Source, Error> {
    let procfile = app
        .procfile
        .as_ref()
        .ok_or_else(|| Error::usage("no Procfile"))?;
    let stored = crate::store::formation::load(store).map_err(|e| Error::failed(e.to_string()))?;
    let formation = Formation::resolve(procfile, &app.manifest, None, stored.as_ref(), &[])
        .map_err(|e| Error::usage(e.to_string()))?;
    let base_port = config
        .get("PORT")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(crate::app::ports::DEFAULT_BASE);
    let types = procfile
        .types
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let settings = app.manifest.process(&t.name);
            ExportType {
                name: t.name.clone(),
                command: t.command.clone(),
                count: formation.counts.get(&t.name).copied().unwrap_or(0),
                index,
                restart: settings.and_then(|s| s.restart),
                stop_signal: settings
                    .and_then(|s| s.stop_signal)
                    .unwrap_or(Signal::TERM)
                    .name(),
                kill_timeout: settings
                    .and_then(|s| s.kill_timeout)
                    .map_or(DEFAULT_KILL_TIMEOUT, |d| d.0),
                health: settings
                    .and_then(|s| s.health.as_ref())
                    .map(|h| h.get_ref().clone()),
                autoscale: settings
                    .and_then(|s| s.autoscale.as_ref())
                    .map(|a| a.get_ref().clone()),
                limits: settings
                    .map(crate::app::manifest::ProcessSettings::limits)
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(Source {
        profile_d: crate::app::profile_d::has_scripts(&workdir),
        app: app.name.clone(),
        origin,
        release,
        workdir,
        types,
        release_command: procfile.release.as_ref().map(|r| r.command.clone()),
        config,
        base_port,
        drains: app
            .manifest
            .logs
            .drains
            .iter()
            .map(|d| d.get_ref().clone())
            .collect(),
        schedules: app.manifest.schedules(Some(procfile)),
        strategy: match app.manifest.deploy.strategy {
            Some(
                strategy @ (crate::app::strategy::Strategy::BlueGreen
                | crate::app::strategy::Strategy::Canary),
            ) => Some(strategy.as_str()),
            Some(crate::app::strategy::Strategy::Rolling) | None => None,
        },
        flags: None,
    })
}
