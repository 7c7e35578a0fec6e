//! `dozen run --dev`: the formation from the working tree, under the supervisor.

use std::io::{Read as _, Seek as _, Write as _};
use std::time::Duration;

use super::context::{Context, Inspection};
use super::released::Released;
use crate::app::environment::{dev_process_env, release_process_env};
use crate::app::formation::Formation;
use crate::app::ports::{RouterAddr, base_port, port_taken};
use crate::app::signal::Signal;
use crate::cli::RunArgs;
use crate::error::Error;
use crate::supervisor::backoff::{self, Backoff};
use crate::supervisor::health::Check;
use crate::supervisor::runner::{self, PlannedInstance, Spec, TypeSettings};
use crate::ui::Paint;

/// foreman's, honcho's and overmind's default.
const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// The type the router fronts: Heroku's, the only one it routes to.
/// The process type the router fronts unless `[router] type` names another.
const DEFAULT_ROUTED_TYPE: &str = "web";

pub(super) fn run(context: &Context, args: &RunArgs) -> Result<i32, Error> {
    if args.dev {
        let inspection = Inspection::valid(context, context.environment())?;
        let app = &inspection.app;
        let config = &inspection.environment.config;
        let store = super::context::open_store(app)?;
        let env = dev_process_env(&context.inherited, config, &[]);
        let cwd = app.dir.working_dir();
        return start(
            context,
            args,
            Source {
                app,
                config,
                env,
                cwd,
                store,
                release: "dev".to_owned(),
                follow: false,
                announce: None,
            },
        );
    }
    let released = Released::load(context, args.release.map(|v| v.0))?;
    let env = release_process_env(
        &context.inherited,
        &released.config,
        &released.inherit(),
        &[("DOZEN_RELEASE", format!("v{}", released.version))],
    );
    let config = released.as_config();
    let announce = format!(
        "running v{} (build {})",
        released.version,
        released
            .tree
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
            .get(..12)
            .unwrap_or("")
    );
    start(
        context,
        args,
        Source {
            app: &released.app,
            config: &config,
            env,
            cwd: released.tree.clone(),
            store: released.store.clone(),
            release: format!("v{}", released.version),
            // `dozen run` follows the current release; `--release vN` stays on vN.
            follow: args.release.is_none(),
            announce: Some(announce),
        },
    )
}

/// What instances of release `version` run: loaded when it becomes current while `dozen run`
/// follows the current release. The spec keeps the release's store lock.
fn release_spec(
    context: &Context,
    version: u32,
    timeout: Option<Duration>,
    ofrep_endpoint: Option<&str>,
) -> Result<Spec, Error> {
    let released = Released::load(context, Some(version))?;
    let procfile = released
        .app
        .procfile
        .as_ref()
        .ok_or_else(|| Error::failed(format!("v{version} has no Procfile")))?;
    let types = type_settings(&released.app, procfile, timeout);
    let stored =
        crate::store::formation::load(&released.store).map_err(|e| Error::failed(e.to_string()))?;
    let counts = Formation::resolve(procfile, &released.app.manifest, None, stored.as_ref(), &[])
        .map_err(|e| Error::failed(e.to_string()))?
        .counts;
    let mut env = release_process_env(
        &context.inherited,
        &released.config,
        &released.inherit(),
        &[("DOZEN_RELEASE", format!("v{version}"))],
    );
    if let Some(endpoint) = ofrep_endpoint
        && !released.config.contains_key(super::flags::ENDPOINT)
    {
        super::flags::set_endpoint(&mut env, endpoint);
    }
    Ok(Spec {
        release: format!("v{version}"),
        types,
        env,
        cwd: released.tree.clone(),
        keep: Some(Box::new(released)),
        counts,
    })
}

/// What a formation runs from: the working tree (`--dev`) or a release.
struct Source<'a> {
    app: &'a crate::app::App,
    config: &'a crate::app::environment::Config,
    env: Vec<(String, String)>,
    cwd: std::path::PathBuf,
    store: std::path::PathBuf,
    /// `vN`, or `dev`.
    release: String,
    /// Move to each release that becomes current.
    follow: bool,
    /// What to say once this run holds the app's run lock (`running v3 (build …)`).
    announce: Option<String>,
}

fn start(context: &Context, args: &RunArgs, source: Source<'_>) -> Result<i32, Error> {
    let Source {
        app,
        config,
        mut env,
        cwd,
        store,
        release,
        follow,
        announce,
    } = source;
    let procfile = app
        .procfile
        .as_ref()
        .ok_or_else(|| Error::usage("no Procfile"))?;
    // First: a second run is told so, not that its ports are taken, and says nothing else.
    let _lock = RunLock::acquire(&store.join("run.lock"))?;
    if let Some(announce) = announce.filter(|_| !context.quiet) {
        eprintln!("{announce}");
    }

    let stored = crate::store::formation::load(&store).map_err(|e| Error::failed(e.to_string()))?;
    let mut formation = Formation::resolve(
        procfile,
        &app.manifest,
        args.formation.as_ref(),
        stored.as_ref(),
        &args.types,
    )
    .map_err(|e| Error::usage(e.to_string()))?;
    let base = base_port(args.port, config, &context.inherited)
        .map_err(|e| Error::usage(e.to_string()))?;
    let (mut router, instance_base) = plan_router(args, app, procfile, base)?;
    let autoscale = autoscale_policies(app, router.as_ref())?;
    for (type_name, policy) in &autoscale {
        // A type the formation runs starts within its autoscale range; one it leaves at 0
        // (`dozen run worker`) stays off.
        if let Some(count) = formation.counts.get_mut(type_name)
            && *count > 0
        {
            *count = (*count).clamp(policy.min, policy.max);
        }
    }
    let instances = formation
        .instances(procfile, instance_base)
        .map_err(|e| Error::usage(e.to_string()))?;
    if instances.is_empty() {
        return Err(Error::usage("the formation is empty: nothing to run")
            .hint("give counts with -m web=1, or name types: dozen run --dev web"));
    }
    let timeout = args.timeout;

    instance_ports_free(router.as_ref(), &instances)?;

    let configured = config.vars.contains_key(super::flags::ENDPOINT);
    let (flags, endpoint) =
        super::flags::for_run(context, app, router.as_mut(), (&mut env, configured))?;
    let logs = logs_plan(app, &store, &env)?;
    // Under the lock: a socket left by a killed run is replaced.
    let control = crate::supervisor::server::Server::bind(&store)
        .map_err(|e| Error::io("cannot create the control socket", e))?;

    let types = type_settings(app, procfile, timeout);
    let live = flags.as_ref().map(|f| f.path.clone());
    let watch = (args.watch).then(|| watch_plan(app, procfile, (&cwd, &store), context, live));
    let planned = instances
        .iter()
        .map(|i| PlannedInstance {
            type_index: procfile
                .types
                .iter()
                .position(|t| t.name == i.type_name)
                .unwrap_or(0),
            index: i.index,
            port: i.port,
        })
        .collect();
    let plan = runner::Plan {
        spec: Spec {
            release,
            types,
            env,
            cwd,
            keep: None,
            counts: formation.counts.clone(),
        },
        instances: planned,
        format: args.log_format,
        timestamps: !args.no_timestamps,
        color: Paint::for_stream(context.color, &std::io::stdout()).enabled(),
        base_port: instance_base,
        store,
        control: Some(control),
        follow: follow.then(|| {
            Box::new(move |version| release_spec(context, version, timeout, endpoint.as_deref()))
                as runner::LoadRelease<'_>
        }),
        router,
        autoscale,
        logs,
        watch,
        schedules: runner::SchedulesPlan {
            schedules: app.manifest.schedules(Some(procfile)),
            port: base,
            kill_timeout: timeout.unwrap_or(DEFAULT_KILL_TIMEOUT),
        },
        flags,
    };
    runner::run(plan).map_err(|e| Error::io("cannot run the formation", e))
}

/// `--watch`: the app directory, watched for every type but those with `watch = false` (a
/// type's `watch` paths were checked with the manifest).
fn watch_plan(
    app: &crate::app::App,
    procfile: &crate::app::procfile::Procfile,
    (cwd, store): (&std::path::Path, &std::path::Path),
    context: &Context,
    // The flags file, which the run applies itself.
    live: Option<std::path::PathBuf>,
) -> crate::supervisor::watch::WatchPlan {
    use crate::supervisor::watch::{Paths, paths};
    let environment = context.environment();
    let types = procfile
        .types
        .iter()
        .filter_map(|t| {
            let watch = app.manifest.process(&t.name).and_then(|s| s.watch.as_ref());
            let watched = watch.map_or(Ok(Some(Paths::All)), |w| paths(w.get_ref()));
            Some((t.name.clone(), watched.ok().flatten()?))
        })
        .collect();
    // What the run read once, at its start: a change to these is said, not restarted on.
    let mut config: Vec<std::path::PathBuf> = app
        .env_stack(environment)
        .into_iter()
        .map(|file| file.path)
        .collect();
    config.push(app.dir.join(crate::app::manifest::FILE_NAME));
    config.push(app.procfile_path.clone());
    crate::supervisor::watch::WatchPlan {
        root: cwd.to_owned(),
        store: store.to_owned(),
        types,
        config,
        live: live.into_iter().collect(),
    }
}

/// Every instance's port free: not one of dozen's own listeners, nor taken by another program.
fn instance_ports_free(
    router: Option<&runner::RouterPlan>,
    instances: &[crate::app::formation::Instance],
) -> Result<(), Error> {
    if let Some(plan) = router {
        own_port_clash(plan, instances)?;
    }
    for instance in instances {
        if let Some(error) = port_taken(instance.port) {
            return Err(Error::failed(format!(
                "port {} for {} is already in use ({error})",
                instance.port,
                instance.name()
            ))
            .hint("stop what listens there, or choose another base port with --port"));
        }
    }
    Ok(())
}

/// An instance whose port is one of dozen's own listeners (the router's plain-HTTP or metrics
/// address): said as that, not as a port some other program holds.
fn own_port_clash(
    plan: &runner::RouterPlan,
    instances: &[crate::app::formation::Instance],
) -> Result<(), Error> {
    let own = [
        ("the router's address", Some(&plan.front.listener)),
        (
            "[router] http_listen",
            plan.front.http.as_ref().map(|(l, _)| l),
        ),
        ("[router] metrics", plan.metrics.as_ref()),
    ];
    for (what, listener) in own {
        let Some(address) = listener.and_then(|l| l.local_addr().ok()) else {
            continue;
        };
        if let Some(instance) = instances.iter().find(|i| i.port == address.port()) {
            return Err(Error::usage(format!(
                "port {} for {} is {what} ({address})",
                instance.port,
                instance.name()
            ))
            .hint("instances take the ports from the base port up (foreman's rule): give dozen's own listener a port outside them, or another base port with --port"));
        }
    }
    Ok(())
}

/// The router `--router` or `[router]` asks for, its listener bound, and the base port of the
/// instances: with the router on the base port, instances keep foreman's rule one port up.
fn plan_router(
    args: &RunArgs,
    app: &crate::app::App,
    procfile: &crate::app::procfile::Procfile,
    base: u16,
) -> Result<(Option<runner::RouterPlan>, u16), Error> {
    let section = &app.manifest.router;
    let configured = section
        .listen
        .as_ref()
        .and_then(|l| RouterAddr::parse(l.get_ref()).ok());
    let router_addr = match args.router {
        _ if args.no_router => None,
        Some(address) => Some(RouterAddr::resolve(address.or(configured), base)),
        None => (section.enabled || args.tls).then(|| RouterAddr::resolve(configured, base)),
    };
    let instance_base = if router_addr.is_some() {
        base.checked_add(1)
            .ok_or_else(|| Error::usage("no port above the base port for the instances"))?
    } else {
        base
    };
    let router = match router_addr {
        Some(address) => {
            let routed = section
                .routed
                .as_ref()
                .map_or(DEFAULT_ROUTED_TYPE, |t| t.get_ref().as_str());
            if !procfile.types.iter().any(|t| t.name == routed) {
                return Err(Error::usage(format!(
                    "the router fronts `{routed}`, and the Procfile has no `{routed}` type"
                ))
                .hint("name the type it fronts in dozen.toml: [router] type = \"NAME\""));
            }
            let listener = std::net::TcpListener::bind(address).map_err(|e| {
                cannot_listen(
                    address,
                    &e,
                    "give another address: --router 8080, or [router] listen",
                )
            })?;
            let (tls, notes) = router_tls(args, app, address)?;
            let http = match &section.http_listen {
                Some(http) => {
                    let address = RouterAddr::parse(http.get_ref())
                        .map(|a| RouterAddr::resolve(Some(a), 0))
                        .map_err(|e| Error::usage(format!("[router] http_listen: {e}")))?;
                    if address == listener.local_addr().unwrap_or(address) {
                        return Err(Error::usage(format!(
                            "[router] http_listen is the router's own address ({address})"
                        ))
                        .hint("give the plain-HTTP listener a port of its own: http_listen = \"8080\""));
                    }
                    let listener = std::net::TcpListener::bind(address).map_err(|e| {
                        cannot_listen(address, &e, "give another [router] http_listen")
                    })?;
                    Some((listener, section.redirects()))
                }
                None => None,
            };
            // Not for the development certificate: a browser would pin localhost to HTTPS for
            // every app on it.
            let hsts = section
                .hsts
                .as_ref()
                .filter(|_| !args.tls)
                .and_then(|h| h.get_ref().value().map(str::to_owned))
                .and_then(|v| hyper::header::HeaderValue::try_from(v).ok());
            Some(runner::RouterPlan {
                type_name: routed.to_owned(),
                front: crate::router::Front {
                    listener,
                    tls,
                    http,
                    hsts,
                    flags: None,
                },
                notes,
                limits: router_limits(&app.manifest, args.dev),
                metrics: metrics_listener(section)?,
            })
        }
        None => None,
    };

    Ok((router, instance_base))
}

/// Why the router cannot listen at `address`, with the fix that fits the cause: a port under
/// 1024 needs a privilege, a taken one its owner stopped.
fn cannot_listen(address: std::net::SocketAddr, error: &std::io::Error, other: &str) -> Error {
    let message = format!("the router cannot listen on {address} ({error})");
    match error.kind() {
        std::io::ErrorKind::PermissionDenied if address.port() < 1024 => Error::failed(message).hint(format!(
            "ports under 1024 need root or the CAP_NET_BIND_SERVICE capability (setcap cap_net_bind_service=+ep on dozen, AmbientCapabilities= in a systemd unit); or {other}"
        )),
        std::io::ErrorKind::AddrInUse => {
            Error::failed(message).hint(format!("stop what listens there, or {other}"))
        }
        _ => Error::failed(message).hint(other.to_owned()),
    }
}

/// The router's TLS: `--tls` (the development CA's certificate), else `[router] tls` (the
/// files, read and checked now); and what to say of it as it starts.
fn router_tls(
    args: &RunArgs,
    app: &crate::app::App,
    address: std::net::SocketAddr,
) -> Result<(Option<std::sync::Arc<crate::router::tls::Tls>>, Vec<String>), Error> {
    use crate::router::devca::{self, DevCa};
    use crate::router::tls::{Pair, Tls};
    if args.tls {
        let home = devca::home().map_err(|e| Error::failed(e.to_string()))?;
        let ca = DevCa::open_or_create(&home).map_err(|e| Error::failed(format!("--tls: {e}")))?;
        let root = ca.cert_path();
        let shown = root.display();
        let mut notes = Vec::new();
        if ca.created {
            notes.push(format!(
                "made your development CA: {shown} (its key stays beside it, readable by you only)"
            ));
            notes.extend([
                format!("trust it once — curl: --cacert {shown}; Python: SSL_CERT_FILE={shown} (requests: REQUESTS_CA_BUNDLE); Node: NODE_EXTRA_CA_CERTS={shown}"),
                format!("the system: sudo cp {shown} /usr/local/share/ca-certificates/dozen-dev.crt && sudo update-ca-certificates (Debian, Ubuntu); sudo trust anchor {shown} (Fedora, Arch); sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {shown} (macOS)"),
                format!("Firefox and Chrome on Linux keep their own store: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n dozen-dev -i {shown} (and Firefox's profile, or its settings' Certificates)"),
            ]);
        } else {
            notes.push(format!(
                "certificate for localhost from your development CA ({shown})"
            ));
        }
        if app.manifest.router.tls.is_some() {
            notes.push(
                "--tls: the development CA's certificate is served, not [router] tls's".to_owned(),
            );
        }
        if app.manifest.router.hsts.is_some() {
            notes.push("--tls: [router] hsts is not sent with the development certificate (a browser would keep localhost on HTTPS for every app on it)".to_owned());
        }
        // On every address (0.0.0.0): the machine's name too, for other devices on the network.
        let names: Vec<String> = if address.ip().is_unspecified() {
            let host = rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned();
            notes.push(format!(
                "the certificate names localhost, 127.0.0.1, ::1 and {host}"
            ));
            vec![host]
        } else {
            Vec::new()
        };
        let ips = [address.ip()];
        let tls = Tls::issued(
            Box::new(move || ca.issue(&ips, &names)),
            devca::LEAF_LIFETIME / 2,
        )
        .map_err(|e| Error::failed(format!("--tls: {e}")))?;
        return Ok((Some(std::sync::Arc::new(tls)), notes));
    }
    let Some(files) = &app.manifest.router.tls else {
        return Ok((None, Vec::new()));
    };
    let pairs = files
        .get_ref()
        .pairs()
        .iter()
        .map(|p| Pair {
            cert: app.dir.path.join(&p.cert),
            key: app.dir.path.join(&p.key),
        })
        .collect();
    let tls = Tls::from_files(pairs).map_err(|e| {
        Error::usage(format!("[router] tls: {e}"))
            .hint("the certificate file holds the chain (leaf first), the key file its private key, both PEM")
    })?;
    let warnings = tls.warnings(jiff::Timestamp::now());
    let notes = warnings
        .into_iter()
        .map(|w| format!("warning: {w}"))
        .collect();
    Ok((Some(std::sync::Arc::new(tls)), notes))
}

/// `[router] metrics`, bound (checked with the manifest).
fn metrics_listener(
    section: &crate::app::manifest::RouterSection,
) -> Result<Option<std::net::TcpListener>, Error> {
    let Some(address) = section
        .metrics
        .as_ref()
        .and_then(|m| RouterAddr::parse(m.get_ref()).ok())
    else {
        return Ok(None);
    };
    let address = RouterAddr::resolve(Some(address), 0);
    std::net::TcpListener::bind(address).map(Some).map_err(|e| {
        Error::failed(format!("the metrics cannot be served on {address} ({e})"))
            .hint("stop what listens there, or give another address: [router] metrics = \"9103\"")
    })
}

/// Each `[processes.TYPE] autoscale`, as the runner's autoscalers take it. They measure at
/// the router, so a run without one cannot have them.
fn autoscale_policies(
    app: &crate::app::App,
    router: Option<&runner::RouterPlan>,
) -> Result<Vec<(String, crate::supervisor::autoscale::Policy)>, Error> {
    use crate::app::manifest::AutoscaleMetric;
    use crate::supervisor::autoscale::{Metric, Policy};
    let mut policies = Vec::new();
    for (name, settings) in &app.manifest.processes {
        let Some(spec) = settings.autoscale.as_ref().map(toml::Spanned::get_ref) else {
            continue;
        };
        let at_router = spec.metric != AutoscaleMetric::Command;
        if at_router && router.is_none_or(|r| r.type_name != *name.get_ref()) {
            return Err(Error::usage(format!(
                "{} is autoscaled by the load the router measures, and this run has no router in front of it",
                name.get_ref()
            ))
            .hint("run with --router, or set [router] enabled = true in dozen.toml"));
        }
        policies.push((
            name.get_ref().clone(),
            Policy {
                min: spec.min,
                max: spec.max,
                target: spec.target,
                metric: match spec.metric {
                    AutoscaleMetric::InFlight => Metric::InFlight,
                    AutoscaleMetric::Rps => Metric::Rps,
                    AutoscaleMetric::Command => Metric::Command,
                },
                scale_down_window: spec
                    .scale_down_window
                    .map_or(DEFAULT_SCALE_DOWN_WINDOW, |d| d.0),
                command: spec.command.clone(),
                interval: if at_router {
                    Duration::from_secs(1)
                } else {
                    spec.interval.map_or(DEFAULT_COMMAND_INTERVAL, |d| d.0)
                },
            },
        ));
    }
    Ok(policies)
}

/// How often a `command` metric runs unless `interval` says.
const DEFAULT_COMMAND_INTERVAL: Duration = Duration::from_secs(5);

/// As Kubernetes' `HorizontalPodAutoscaler`: five minutes without a reason to stay up.
const DEFAULT_SCALE_DOWN_WINDOW: Duration = Duration::from_secs(300);

/// `[router]`'s limits over the router's defaults.
fn router_limits(manifest: &crate::app::manifest::Manifest, dev: bool) -> crate::router::Limits {
    let section = &manifest.router;
    let defaults = crate::router::Limits::default();
    crate::router::Limits {
        connect: section.connect_timeout.map_or(defaults.connect, |d| d.0),
        first_byte: section.timeout.map_or(defaults.first_byte, |d| d.0),
        queue: section.queue_timeout.map_or(defaults.queue, |d| d.0),
        header_read: section.header_timeout.map_or(defaults.header_read, |d| d.0),
        keepalive: section
            .keepalive_timeout
            .map_or(defaults.keepalive, |d| d.0),
        max_connections: section
            .max_connections
            .as_ref()
            .map_or(defaults.max_connections, |m| *m.get_ref() as usize),
        max_header_bytes: defaults.max_header_bytes,
        log_requests: section
            .log
            .map_or(!dev, |log| log == crate::app::manifest::RouterLog::Requests),
        round_robin: section.balance == Some(crate::app::manifest::Balance::RoundRobin),
        sticky: router_sticky(&manifest.deploy),
        // Each was checked with the manifest.
        trusted_proxies: section
            .trusted_proxies
            .iter()
            .filter_map(|proxy| crate::cidr::Cidr::parse(proxy.get_ref()).ok())
            .collect(),
    }
}

/// `[deploy] sticky` as the router takes it (an invalid one was refused with the manifest).
fn router_sticky(deploy: &crate::app::manifest::DeploySection) -> crate::router::sides::Sticky {
    use crate::app::manifest::Sticky;
    use crate::router::sides::Sticky as Router;
    match deploy.sticky() {
        Ok(Some(Sticky::Cookie)) => Router::Cookie,
        Ok(Some(Sticky::Header(name))) => hyper::header::HeaderName::from_bytes(name.as_bytes())
            .map_or(Router::Off, Router::Header),
        Ok(None) | Err(_) => Router::Off,
    }
}

/// Each Procfile type's settings from the manifest, with dozen's defaults (`-t` wins over
/// every `kill_timeout`).
fn type_settings(
    app: &crate::app::App,
    procfile: &crate::app::procfile::Procfile,
    timeout: Option<Duration>,
) -> Vec<TypeSettings> {
    // The routed type (`web` unless `[router] type` names another) without a check is ready
    // once it accepts connections on its port.
    let routed = app
        .manifest
        .router
        .routed
        .as_ref()
        .map_or(DEFAULT_ROUTED_TYPE, |t| t.get_ref().as_str());
    procfile
        .types
        .iter()
        .map(|t| {
            let settings = app.manifest.process(&t.name);
            TypeSettings {
                name: t.name.clone(),
                command: t.command.clone(),
                restart: settings.and_then(|s| s.restart).unwrap_or_default(),
                may_exit: settings.is_some_and(|s| s.may_exit),
                stop_signal: settings
                    .and_then(|s| s.stop_signal)
                    .unwrap_or(Signal::TERM)
                    .number(),
                kill_timeout: timeout
                    .or(settings.and_then(|s| s.kill_timeout).map(|d| d.0))
                    .unwrap_or(DEFAULT_KILL_TIMEOUT),
                backoff: Backoff {
                    first_delay: settings
                        .and_then(|s| s.restart_delay)
                        .map_or(backoff::FIRST_DELAY, |d| d.0),
                    max_restarts: settings
                        .and_then(|s| s.max_restarts)
                        .unwrap_or(backoff::MAX_RESTARTS),
                    ..Backoff::default()
                },
                after: settings
                    .map(|s| s.after.iter().map(|a| a.get_ref().clone()).collect())
                    .unwrap_or_default(),
                // The routed type without a check is ready once it accepts connections on its
                // port (issue 13): "started" is not "serving", and restarts and moves wait for it.
                health: settings
                    .and_then(|s| s.health.as_ref())
                    .and_then(|h| Check::from_manifest(h.get_ref()))
                    .or_else(|| (t.name == routed).then(Check::implicit_port)),
                tty: settings.is_some_and(|s| s.tty),
                limits: settings
                    .map(crate::app::manifest::ProcessSettings::limits)
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// One `dozen run` per app: an exclusive `flock` on `run.lock`, which names the holder's pid.
/// The kernel releases it when dozen dies, so a killed run never leaves a stale lock.
struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    fn acquire(path: &std::path::Path) -> Result<Self, Error> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            return Err(Error::failed(format!(
                "another `dozen run`{who} is already running this app"
            ))
            .hint("stop it first, or run a second app from another directory"));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(Self { _file: file })
    }
}

/// `[logs]` and the stored drains (docs/logs.md). A drain's `${NAME}` parts come from the
/// config the processes get.
fn logs_plan(
    app: &crate::app::App,
    store: &std::path::Path,
    env: &[(String, String)],
) -> Result<runner::LogsPlan<'static>, Error> {
    use crate::logs::url::DrainUrl;
    let section = &app.manifest.logs;
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let digests = super::context::digests_of(store)?;
    let configured = section
        .drains
        .iter()
        .map(|drain| {
            crate::app::manifest::LogsSection::drain_url(drain.get_ref(), &lookup)
                .map(|url| url.with_id(&digests))
                .map_err(|problem| Error::usage(format!("[logs] drains: {problem}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let all = {
        let store = store.to_owned();
        move || -> Result<Vec<DrainUrl>, Error> {
            let mut urls = configured.clone();
            for url in
                crate::store::drains::load(&store).map_err(|e| Error::failed(e.to_string()))?
            {
                if !urls.iter().any(|u| u.id() == url.id()) {
                    urls.push(url);
                }
            }
            Ok(urls)
        }
    };
    let drains = all()?;
    let defaults = crate::logs::drain::Settings::default();
    let limits = crate::logs::hub::Limits::default();
    Ok(runner::LogsPlan {
        limits: crate::logs::hub::Limits {
            lines: section
                .buffer_lines
                .as_ref()
                .map_or(limits.lines, |n| *n.get_ref() as usize),
            bytes: section.buffer_bytes.as_ref().map_or(limits.bytes, |n| {
                usize::try_from(*n.get_ref()).unwrap_or(usize::MAX)
            }),
        },
        settings: crate::logs::drain::Settings {
            queue: section
                .drain_queue
                .as_ref()
                .map_or(defaults.queue, |n| *n.get_ref() as usize),
            flush_timeout: section
                .flush_timeout
                .map_or(defaults.flush_timeout, |d| d.0),
            hostname: app.name.clone(),
        },
        drains,
        reload: Some(Box::new(all)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(error: &Error) -> &str {
        match error {
            Error::Failed {
                hint: Some(hint), ..
            } => hint,
            other => panic!("{other:?}"),
        }
    }

    /// The router's address refused: a port under 1024 is a privilege to get, a taken port
    /// is its owner to stop — each said as its fix.
    #[test]
    fn a_listen_error_is_told_with_the_fix_for_its_cause() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let low = cannot_listen("0.0.0.0:443".parse().unwrap(), &denied, "use -p");
        assert!(
            low.to_string()
                .starts_with("the router cannot listen on 0.0.0.0:443")
        );
        assert!(hint(&low).contains("CAP_NET_BIND_SERVICE"), "{low:?}");
        assert!(hint(&low).ends_with("or use -p"));
        let high = cannot_listen("0.0.0.0:8443".parse().unwrap(), &denied, "use -p");
        assert_eq!(hint(&high), "use -p");
        let taken = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let busy = cannot_listen("127.0.0.1:80".parse().unwrap(), &taken, "use -p");
        assert_eq!(hint(&busy), "stop what listens there, or use -p");
    }
}
