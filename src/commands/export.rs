//! `dozen export systemd`: the app as another engine's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::released::Released;
use super::{Context, Inspection, print};
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
        } => (out, release, image.as_deref()),
    };
    if image.is_some_and(|i| i.trim().is_empty()) {
        return Err(Error::usage("--image cannot be empty"));
    }
    let out = prepare(out)?;
    let (source, _hold) = resolve(context, release.map(|v| v.0))?;
    // The image, or (said on stderr) the default name the `what` will run.
    let image = |what: &str| {
        image.map_or_else(
            || {
                let image = default_image(&source);
                eprintln!(
                    "{}: no --image: the {what} run {image}; build and push it (the release's build tree), or pass --image",
                    context.paint_err().warning("note")
                );
                image
            },
            str::to_owned,
        )
    };
    let (files, next) = match &args.target {
        ExportTarget::Systemd { user, .. } => (
            crate::export::systemd::export(&source, &out, user.as_deref()),
            format!(
                "install: sudo cp {}/* /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now {}.target",
                out.display(),
                source.app
            ),
        ),
        ExportTarget::Kubernetes { .. } => (
            crate::export::kubernetes::export(&source, &image("manifests")),
            format!("apply: kubectl apply -f {}", out.display()),
        ),
        ExportTarget::Compose { .. } => (
            crate::export::compose::export(&source, &image("services")),
            format!("run: docker compose -f {}/compose.yaml up", out.display()),
        ),
    };
    write(&out, &files)?;
    if !context.quiet {
        eprintln!("{next}");
    }
    Ok(exit_code::SUCCESS)
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

/// Writes the files (config files 0600), printing each path.
fn write(out: &Path, files: &Files) -> Result<(), Error> {
    let mut listed = String::new();
    for (name, file) in files {
        let path = out.join(name);
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
    print(&listed)
}

/// What to export: `--release vN`; else the working tree when `--env` names an environment
/// or no release exists; else the current release. The second value keeps a release's store
/// lock while the export reads its tree.
fn resolve(context: &Context, release: Option<u32>) -> Result<(Source, Option<Released>), Error> {
    let use_release = release.is_some() || context.environment.is_none() && has_release(context);
    if use_release {
        let released = Released::load(context, release)?;
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
    let store = super::open_store(app)?;
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
    let stored = crate::store::formation::load(store).map_err(Error::failed)?;
    let formation = Formation::resolve(procfile, &app.manifest, None, stored.as_ref(), &[])
        .map_err(Error::usage)?;
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
                restart: settings.map(|s| s.restart).unwrap_or_default(),
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
            }
        })
        .collect();
    Ok(Source {
        app: app.name.clone(),
        origin,
        release,
        workdir,
        types,
        release_command: procfile.release.as_ref().map(|r| r.command.clone()),
        config,
        base_port,
    })
}
