//! `dozen release`: build (or reuse a build) + the environment's config = release `vN`, made
//! current once its release phase succeeds. See docs/store.md.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;

use super::context::{Context, Inspection, print};
use crate::app::environment::release_process_env;
use crate::app::{App, Locator};
use crate::cli::ReleaseArgs;
use crate::control::{CanaryPlan, Smoke, Strategy};
use crate::error::Error;
use crate::exit_code;
use crate::store::history;
use crate::store::releases::{Ledger, Release, Status};

pub(super) fn run(context: &Context, args: &ReleaseArgs) -> Result<i32, Error> {
    let environment = context.environment();
    let inspection = Inspection::valid(context, environment)?;
    let store = super::context::open_store(&inspection.app)?;
    // One shared lock from before the build until the release is recorded: `gc` (exclusive)
    // can never remove the build between the two (docs/store.md).
    let _lock =
        crate::store::lock_shared(&store).map_err(|e| Error::io("cannot lock the store", e))?;
    let build = match &args.build {
        Some(prefix) => {
            let prefix = prefix.0.as_str();
            let id = crate::build::find(&store, Some(prefix))
                .map_err(|e| Error::usage(e.to_string()))?;
            super::context::intact_build(context, &store, &id, &format!("build `{prefix}`"))?;
            id
        }
        None => {
            super::build::build_app(context, &inspection.app, &store)?
                .0
                .id
        }
    };
    if let Ok(pause) = std::env::var("DOZEN_TEST_PAUSE_AFTER_BUILD") {
        crate::build::builder::test_pause(&pause);
    }
    // The snapshot: what the env files define now, after interpolation; a bare `KEY` takes
    // its value from this command's environment (how a CI secret enters a release).
    let config: BTreeMap<String, String> = inspection.environment.config.values();
    let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
    let release = ledger
        .create(&build, environment, &config, args.message.clone(), None)
        .map_err(|e| Error::failed(e.to_string()))?;
    publish(
        context,
        &store,
        &ledger,
        &release,
        &config,
        args.json,
        &delivery(
            args.strategy,
            !args.no_wait,
            &inspection.app.manifest.deploy,
        ),
    )
}

/// How the running formation is to move onto a new release: `--strategy`, else `[deploy]
/// strategy`, else rolling; a canary's plan only for a canary, the smoke test only for
/// blue-green.
fn delivery(
    strategy: Option<Strategy>,
    wait: bool,
    deploy: &crate::app::manifest::DeploySection,
) -> Delivery {
    let strategy = strategy.or(deploy.strategy).unwrap_or_default();
    let canary = (strategy == Strategy::Canary).then(|| canary_plan(deploy));
    let smoke = (strategy == Strategy::BlueGreen)
        .then(|| smoke(deploy))
        .flatten();
    let keep_old_ms = deploy
        .keep_old
        .map(|d| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX));
    Delivery {
        wait,
        strategy,
        keep_old_ms,
        canary,
        smoke,
    }
}

/// `[deploy]`'s canary plan, over the defaults.
fn canary_plan(deploy: &crate::app::manifest::DeploySection) -> CanaryPlan {
    let defaults = CanaryPlan::default();
    let millis =
        |d: crate::app::duration::Duration| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX);
    CanaryPlan {
        steps: deploy
            .steps
            .as_ref()
            .map_or(defaults.steps, |s| s.get_ref().clone()),
        interval_ms: deploy.interval.map_or(defaults.interval_ms, millis),
        instances: deploy
            .canary_instances
            .as_ref()
            .map_or(defaults.instances, |n| *n.get_ref()),
        max_error_rate: deploy
            .max_error_rate
            .as_ref()
            .map_or(defaults.max_error_rate, |r| *r.get_ref()),
        max_error_rate_increase: deploy
            .max_error_rate_increase
            .as_ref()
            .map_or(defaults.max_error_rate_increase, |r| *r.get_ref()),
        max_p99_ms: deploy.max_p99.map(millis),
        max_p99_ratio: deploy
            .max_p99_ratio
            .as_ref()
            .map_or(defaults.max_p99_ratio, |r| *r.get_ref()),
        min_requests: deploy.min_requests.unwrap_or(defaults.min_requests),
    }
}

/// `[deploy]`'s smoke test, with its timeout (30 s unless it says).
fn smoke(deploy: &crate::app::manifest::DeploySection) -> Option<Smoke> {
    deploy.smoke.as_ref().map(|command| Smoke {
        command: command.get_ref().clone(),
        timeout_ms: deploy.smoke_timeout.map_or(30_000, |d| {
            u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX)
        }),
    })
}

/// How a running formation is to move onto a release, and whether to wait for it.
pub(super) struct Delivery {
    pub wait: bool,
    pub strategy: Strategy,
    /// Blue-green's window for the old side.
    pub keep_old_ms: Option<u64>,
    /// A canary's steps and thresholds.
    pub canary: Option<CanaryPlan>,
    /// Blue-green's smoke test.
    pub smoke: Option<Smoke>,
}

/// Runs a new release's release phase, records the outcome, makes it current on success,
/// moves a running formation onto it (waiting for the move unless `wait` is false: a move
/// that fails aborts the release), logs it, and reports. Shared by release and rollback.
pub(super) fn publish(
    context: &Context,
    store: &std::path::Path,
    ledger: &Ledger,
    release: &Release,
    config: &BTreeMap<String, String>,
    json_output: bool,
    delivery: &Delivery,
) -> Result<i32, Error> {
    let version = release.version;
    let mut outcome = release_phase(context, store, release, config)?;
    ledger
        .finish(version, &outcome)
        .map_err(|e| Error::failed(e.to_string()))?;
    // The status is the commit point; the history catches up with it (this release's event,
    // and any a crash or a full disk lost before).
    if let Err(error) = sync_history(store, ledger, Some(version)) {
        eprintln!("{}: {error}", context.paint_err().warning("warning"));
    }
    let mut moved = Moved::NoRun;
    if outcome == Status::Succeeded {
        moved = tell_the_run(context, store, version, delivery)?;
        if let Some(aborted) = settle_move(store, ledger, release, &moved)? {
            outcome = aborted;
        }
    }
    let status = match &outcome {
        Status::Succeeded => "succeeded",
        Status::Aborted { .. } => "aborted",
        _ => "failed",
    };
    if json_output {
        let value = json!({ "version": format!("v{version}"), "build": release.build, "environment": release.environment, "config_digest": release.config_digest, "keys": release.keys, "status": status, "current": outcome == Status::Succeeded });
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).map_err(|e| Error::failed(e.to_string()))?
        ))?;
    } else {
        print(&format!("v{version}\n"))?;
    }
    let current = || {
        ledger.current().ok().flatten().map_or_else(
            || "no release is current".to_owned(),
            |v| format!("v{v} stays current"),
        )
    };
    match outcome {
        Status::Succeeded => {
            if !context.quiet {
                let running = match moved {
                    Moved::Done(id) => format!("; the running formation runs it (deploy d{id})"),
                    Moved::Started(id) => format!(
                        "; the running formation is moving to it (deploy d{id}: `dozen releases show v{version}` follows it)"
                    ),
                    _ => String::new(),
                };
                eprintln!(
                    "v{version} is current: build {}, {} config keys ({}){running}",
                    crate::ui::short_id(&release.build),
                    release.keys.len(),
                    release.environment
                );
            }
            Ok(exit_code::SUCCESS)
        }
        Status::Failed { exit_code } => {
            eprintln!(
                "{}: the release phase of v{version} failed with exit code {exit_code}; {}",
                context.paint_err().error("error"),
                current()
            );
            Ok(exit_code::FAILURE)
        }
        Status::Aborted { reason } => {
            let what = match &moved {
                Moved::Refused(_) => {
                    format!("the running formation did not take v{version} ({reason})")
                }
                Moved::Failed(record)
                    if record.outcome == crate::store::deploys::Outcome::Interrupted =>
                {
                    format!(
                        "deploy d{} of v{version} was interrupted: the run ended before it did",
                        record.id
                    )
                }
                _ => format!(
                    "the running formation could not move to v{version} ({reason}) and went back"
                ),
            };
            eprintln!(
                "{}: {what}; v{version} is aborted, {}",
                context.paint_err().error("error"),
                current()
            );
            Ok(exit_code::FAILURE)
        }
        Status::Pending | Status::Interrupted => Ok(exit_code::FAILURE),
    }
}

/// The formation runs the release it ran: so does the ledger, so that `releases`, `ps` and
/// the exit status agree. A failed deploy's run has aborted the release already (settling it
/// again changes nothing); a refused move is aborted here. The status it ends with, if not
/// succeeded.
fn settle_move(
    store: &std::path::Path,
    ledger: &Ledger,
    release: &Release,
    moved: &Moved,
) -> Result<Option<Status>, Error> {
    let version = release.version;
    Ok(match moved {
        Moved::Failed(record) => {
            ledger
                .settle_deploy(record)
                .map_err(|e| Error::failed(e.to_string()))?;
            Some(Status::Aborted {
                reason: record.failure().unwrap_or_default(),
            })
        }
        Moved::Refused(reason) => {
            ledger
                .abort(version, reason)
                .map_err(|e| Error::failed(e.to_string()))?;
            let _ = history::append(
                store,
                &release.trigger,
                json!({ "version": format!("v{version}"), "outcome": "aborted", "reason": reason }),
            );
            Some(Status::Aborted {
                reason: reason.clone(),
            })
        }
        Moved::NoRun | Moved::Started(_) | Moved::Done(_) => None,
    })
}

/// Runs the `release` entry of the build's own Procfile, in the build, with the release's
/// config; its output goes to stderr and to `releases/vN.log`. No entry: succeeded.
fn release_phase(
    context: &Context,
    store: &std::path::Path,
    release: &Release,
    config: &BTreeMap<String, String>,
) -> Result<Status, Error> {
    let tree = super::context::intact_build(
        context,
        store,
        &release.build,
        &format!("v{}", release.version),
    )?;
    let (app, _) = App::load(&Locator {
        app: Some(tree.clone()),
        procfile: None,
        env_files: None,
    });
    let Some(command) = app
        .procfile
        .as_ref()
        .and_then(|p| p.release.as_ref())
        .map(|r| r.command.clone())
    else {
        return Ok(Status::Succeeded);
    };
    let (tree, _in_use) = super::context::use_build(
        context,
        store,
        &release.build,
        &format!("v{}", release.version),
    )?;
    let inherit: Vec<String> = app
        .manifest
        .env
        .inherit
        .iter()
        .map(|p| p.get_ref().clone())
        .collect();
    let env = release_process_env(
        &context.inherited,
        config,
        &inherit,
        &[("DOZEN_RELEASE", format!("v{}", release.version))],
    );
    if !context.quiet {
        eprintln!("release phase of v{}: {command}", release.version);
    }
    let started = Instant::now();
    let argv = crate::app::profile_d::wrap(
        &tree,
        vec!["/bin/sh".to_owned(), "-c".to_owned(), command.clone()],
    );
    let env: Vec<(String, String)> = env.into_iter().collect();
    // Kept as it comes, never held whole (best effort: the outcome is what matters, and the
    // output was shown).
    let mut log = crate::store::kept::KeptLog::create(
        &store
            .join("releases")
            .join(format!("v{}.log", release.version)),
    )
    .ok();
    let mut quiet_tail = std::collections::VecDeque::new();
    let finished = crate::supervisor::oneoff::run(&argv, &env, &tree, &mut |text| {
        if context.quiet {
            if quiet_tail.len() == QUIET_TAIL {
                quiet_tail.pop_front();
            }
            quiet_tail.push_back(text.to_owned());
        } else {
            eprintln!("  | {}", crate::ui::terminal::on_stderr(text));
        }
        if let Some(log) = &mut log {
            log.line(text);
        }
    })
    .map_err(|e| Error::io("cannot run the release phase", e))?;
    let succeeded = finished.code() == 0;
    // Quiet or not, a failure shows what the release phase said (its last lines).
    if context.quiet && !succeeded {
        for line in &quiet_tail {
            eprintln!("  | {}", crate::ui::terminal::on_stderr(line));
        }
    }
    if let Some(note) = finished.leftovers("the release phase") {
        eprintln!("{}: {note}", context.paint_err().warning("warning"));
        if let Some(log) = &mut log {
            log.line(&format!("dozen: {note}"));
        }
    }
    if let Some(log) = log {
        let _ = log.finish();
    }
    if !context.quiet {
        eprintln!(
            "release phase {} in {:.1}s",
            finished.describe(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if succeeded {
        Status::Succeeded
    } else {
        Status::Failed {
            exit_code: finished.code(),
        }
    })
}

/// Appends the outcome of every finished release the history lacks, under the release lock.
pub(super) fn sync_history(
    store: &std::path::Path,
    ledger: &Ledger,
    own: Option<u32>,
) -> Result<(), Error> {
    let failed = |e: &dyn std::fmt::Display| Error::failed(e.to_string());
    let _lock = ledger.lock().map_err(|e| failed(&e))?;
    let releases = ledger.list().map_err(|e| failed(&e))?;
    crate::store::releases::reconcile(store, &releases, own).map_err(|e| failed(&e))
}

/// How many of a failed release phase's last lines `--quiet` shows.
const QUIET_TAIL: usize = 200;

/// `dozen rollback [vN]`: a new release with vN's build and config.
pub(super) fn rollback(context: &Context, args: &crate::cli::RollbackArgs) -> Result<i32, Error> {
    let inspection = Inspection::valid_config(context, context.environment())?;
    let store = super::context::open_store(&inspection.app)?;
    let _lock =
        crate::store::lock_shared(&store).map_err(|e| Error::io("cannot lock the store", e))?;
    let ledger = Ledger::open(&store).map_err(|e| Error::failed(e.to_string()))?;
    let releases = ledger.list().map_err(|e| Error::failed(e.to_string()))?;
    let current = ledger.current().map_err(|e| Error::failed(e.to_string()))?;
    let target = if let Some(crate::cli::Version(version)) = args.version {
        let (release, status) = releases
            .iter()
            .find(|(r, _)| r.version == version)
            .ok_or_else(|| Error::failed(format!("no release v{version}")))?;
        if *status != Status::Succeeded {
            return Err(Error::failed(format!(
                "v{version} did not succeed; only succeeded releases can be rolled back to"
            )));
        }
        release.clone()
    } else {
        let below = current.unwrap_or(u32::MAX);
        releases
            .iter()
            .rev()
            .find(|(r, s)| r.version < below && *s == Status::Succeeded)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| {
                Error::failed("no earlier succeeded release to roll back to")
                    .hint("name one: dozen rollback v2")
            })?
    };
    super::context::intact_build(
        context,
        &store,
        &target.build,
        &format!("v{}", target.version),
    )?;
    let config = ledger
        .config(target.version)
        .map_err(|e| Error::failed(e.to_string()))?;
    let message = Some(format!("rollback to v{}", target.version));
    let release = ledger
        .create(
            &target.build,
            &target.environment,
            &config,
            message,
            Some(target.version),
        )
        .map_err(|e| Error::failed(e.to_string()))?;
    if !context.quiet {
        eprintln!(
            "rolling back to v{} as v{}: its build and config. Databases and other external state are not rolled back.",
            target.version, release.version
        );
    }
    publish(
        context,
        &store,
        &ledger,
        &release,
        &config,
        args.json,
        &Delivery {
            wait: !args.no_wait,
            strategy: Strategy::Rolling,
            keep_old_ms: None,
            canary: None,
            smoke: None,
        },
    )
}

/// What a running formation did about a new current release.
#[derive(Debug, PartialEq, Eq)]
enum Moved {
    /// No `dozen run` is running, or it does not follow the current release.
    NoRun,
    /// It began moving: deploy `dN` (not waited for).
    Started(u64),
    /// It moved, every instance ready on the release: deploy `dN`.
    Done(u64),
    /// The deploy failed (the formation went back) or was interrupted (the run ended first):
    /// its record says why.
    Failed(crate::store::deploys::Record),
    /// The run refused the move (a deploy in progress, blue-green's window) or could not be
    /// reached: it runs what it ran, so the release is not current (issue 30).
    Refused(String),
}

/// A `dozen run` following the current release moves to the new one; say what it does, and
/// wait for the move when `wait`.
fn tell_the_run(
    context: &Context,
    store: &std::path::Path,
    version: u32,
    delivery: &Delivery,
) -> Result<Moved, Error> {
    use crate::control::{self, ClientError, Op, Request};
    let request = Request {
        v: control::VERSION,
        op: Op::Move {
            release: version,
            strategy: delivery.strategy,
            keep_old_ms: delivery.keep_old_ms,
            canary: delivery.canary.clone(),
            smoke: delivery.smoke.clone(),
        },
    };
    match control::request(store, &request) {
        Ok(response) if response.ok => {
            if let (false, Some(message)) = (context.quiet, &response.message) {
                eprintln!("{message}");
            }
            let deploy = response
                .roll
                .filter(|r| {
                    r.kind == control::RollKind::Move
                        && r.release.as_deref() == Some(&format!("v{version}"))
                })
                .and_then(|r| r.deploy);
            let Some(id) = deploy else {
                return Ok(Moved::NoRun);
            };
            if !delivery.wait {
                return Ok(Moved::Started(id));
            }
            let record = crate::store::deploys::wait(store, id, super::control::WAIT_POLL)
                .map_err(|e| Error::failed(e.to_string()))?
                .ok_or_else(|| {
                    Error::failed(format!(
                        "the run took v{version} as deploy d{id} but stored no record of it"
                    ))
                })?;
            Ok(match record.failure() {
                None => Moved::Done(id),
                Some(_) => Moved::Failed(record),
            })
        }
        Ok(response) => Ok(Moved::Refused(response.error.unwrap_or_default())),
        Err(ClientError::NotRunning) => Ok(Moved::NoRun),
        Err(error) => Ok(Moved::Refused(format!(
            "the run could not be reached: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::manifest::DeploySection;
    use crate::control::{Op, Response, RollKind, RollState, RollStatus};
    use crate::store::alive::Owner;
    use crate::store::deploys::{Outcome, Record};
    use std::io::{BufRead as _, Write as _};
    use std::sync::{Arc, Mutex};

    fn deploy(text: &str) -> DeploySection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_strategy_flag_wins_over_the_manifest_and_rolling_is_the_default() {
        assert_eq!(
            delivery(None, true, &deploy("")).strategy,
            Strategy::Rolling
        );
        let blue_green = deploy(r#"strategy = "blue-green""#);
        assert_eq!(
            delivery(None, true, &blue_green).strategy,
            Strategy::BlueGreen
        );
        assert_eq!(
            delivery(Some(Strategy::Canary), true, &blue_green).strategy,
            Strategy::Canary
        );
        assert!(delivery(None, true, &blue_green).wait);
        assert!(!delivery(None, false, &blue_green).wait);
    }

    #[test]
    fn a_canary_plan_goes_only_with_a_canary_and_a_smoke_test_only_with_blue_green() {
        let section = deploy(
            r#"
            keep_old = "2m"
            smoke = "curl -f $ROUTER/health"
            steps = [5, 50]
            "#,
        );
        let rolling = delivery(Some(Strategy::Rolling), true, &section);
        assert_eq!((rolling.canary, rolling.smoke), (None, None));
        let blue_green = delivery(Some(Strategy::BlueGreen), true, &section);
        assert_eq!(blue_green.canary, None);
        assert_eq!(
            blue_green.smoke,
            Some(Smoke {
                command: "curl -f $ROUTER/health".into(),
                timeout_ms: 30_000
            })
        );
        assert_eq!(blue_green.keep_old_ms, Some(120_000));
        let canary = delivery(Some(Strategy::Canary), true, &section);
        assert_eq!(canary.smoke, None);
        assert_eq!(canary.canary.map(|c| c.steps), Some(vec![5, 50]));
    }

    #[test]
    fn a_canary_plan_is_the_manifests_settings_over_the_defaults() {
        assert_eq!(canary_plan(&deploy("")), CanaryPlan::default());
        let plan = canary_plan(&deploy(
            r#"
            steps = [20]
            interval = "10s"
            canary_instances = 2
            max_error_rate = 2.5
            max_p99 = "800ms"
            min_requests = 5
            "#,
        ));
        assert_eq!(
            plan,
            CanaryPlan {
                steps: vec![20],
                interval_ms: 10_000,
                instances: 2,
                max_error_rate: 2.5,
                max_p99_ms: Some(800),
                min_requests: 5,
                ..CanaryPlan::default()
            }
        );
    }

    #[test]
    fn a_smoke_test_has_30_seconds_unless_the_manifest_says() {
        assert_eq!(smoke(&deploy("")), None);
        assert_eq!(
            smoke(&deploy(r#"smoke = "./smoke""#)).map(|s| s.timeout_ms),
            Some(30_000)
        );
        assert_eq!(
            smoke(&deploy("smoke = \"./smoke\"\nsmoke_timeout = \"2m\"")).map(|s| s.timeout_ms),
            Some(120_000)
        );
    }

    /// A `dozen run` of the tests': the control socket of a store of their own, each request
    /// answered as `answer` says (and `true`: the run ends after this answer, its socket
    /// gone); what it was asked.
    struct Run {
        store: tempfile::TempDir,
        asked: Arc<Mutex<Vec<Op>>>,
    }

    impl Run {
        fn start(mut answer: impl FnMut(&Op) -> (Response, bool) + Send + 'static) -> Self {
            let store = tempfile::tempdir().unwrap();
            let path = crate::control::socket_path(store.path()).unwrap();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let asked = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&asked);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let mut stream = stream.unwrap();
                    let mut line = String::new();
                    std::io::BufReader::new(&stream)
                        .read_line(&mut line)
                        .unwrap();
                    let request: crate::control::Request = serde_json::from_str(&line).unwrap();
                    log.lock().unwrap().push(request.op.clone());
                    let (response, ends) = answer(&request.op);
                    let mut text = serde_json::to_string(&response).unwrap();
                    text.push('\n');
                    stream.write_all(text.as_bytes()).unwrap();
                    if ends {
                        let _ = std::fs::remove_file(&path);
                        return;
                    }
                }
            });
            Self { store, asked }
        }

        /// The run is told release v7 is current, waiting for its move or not.
        fn tell(&self, wait: bool) -> Moved {
            let delivery = delivery(None, wait, &deploy(""));
            tell_the_run(&context(), self.store.path(), 7, &delivery).unwrap()
        }

        fn asked(&self) -> Vec<Op> {
            self.asked.lock().unwrap().clone()
        }

        /// How many times it was asked how the move goes.
        fn polled(&self) -> usize {
            self.asked().iter().filter(|op| **op == Op::Ps).count()
        }
    }

    fn context() -> Context {
        Context {
            locator: crate::app::Locator {
                app: None,
                procfile: None,
                env_files: None,
            },
            environment: None,
            quiet: true,
            verbose: 0,
            color: crate::ui::ColorChoice::Never,
            inherited: crate::app::environment::Inherited::new(),
        }
    }

    fn ok(roll: Option<RollStatus>) -> Response {
        Response {
            ok: true,
            error: None,
            roll,
            ..Response::error("")
        }
    }

    fn roll(seq: u64, kind: RollKind, release: &str, state: RollState) -> RollStatus {
        RollStatus {
            seq,
            kind,
            release: Some(release.to_owned()),
            state,
            failed: None,
            reason: None,
            deploy: None,
        }
    }

    /// A run that takes the move to v7 as deploy d4, whose record then goes through
    /// `outcomes`, one every 20 ms; `run` is the process the record names as its run.
    fn moving(outcomes: Vec<Outcome>, run: Owner) -> Run {
        let store_of_run = Arc::new(Mutex::new(None::<std::path::PathBuf>));
        let seen = Arc::clone(&store_of_run);
        let fake = Run::start(move |op| {
            if let Op::Move { .. } = op {
                let store = seen.lock().unwrap().clone().unwrap();
                let mut record = Record::begin(4, "v7".into(), "v6".into(), "rolling");
                record.run = run.clone();
                crate::store::deploys::write(&store, &record).unwrap();
                let outcomes = outcomes.clone();
                std::thread::spawn(move || {
                    for outcome in outcomes {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        record.outcome = outcome;
                        crate::store::deploys::write(&store, &record).unwrap();
                    }
                });
                let mut roll = roll(4, RollKind::Move, "v7", RollState::Running);
                roll.deploy = Some(4);
                return (ok(Some(roll)), false);
            }
            (ok(None), false)
        });
        *store_of_run.lock().unwrap() = Some(fake.store.path().to_path_buf());
        fake
    }

    #[test]
    fn without_a_run_there_is_nothing_to_move() {
        let store = tempfile::tempdir().unwrap();
        let delivery = delivery(None, true, &deploy(""));
        assert_eq!(
            tell_the_run(&context(), store.path(), 7, &delivery).unwrap(),
            Moved::NoRun
        );
    }

    #[test]
    fn the_run_is_asked_to_move_to_the_release_as_delivered() {
        let run = Run::start(|_| (ok(None), false));
        let section = deploy(
            r#"
            strategy = "blue-green"
            keep_old = "1m"
            smoke = "./smoke"
            "#,
        );
        tell_the_run(
            &context(),
            run.store.path(),
            7,
            &delivery(None, true, &section),
        )
        .unwrap();
        assert_eq!(
            run.asked(),
            [Op::Move {
                release: 7,
                strategy: Strategy::BlueGreen,
                keep_old_ms: Some(60_000),
                canary: None,
                smoke: Some(Smoke {
                    command: "./smoke".into(),
                    timeout_ms: 30_000
                }),
            }]
        );
    }

    #[test]
    fn a_run_that_refuses_the_move_stays_where_it_is_and_the_release_is_refused() {
        // Whatever else its reply carries: a refusal is not a move to wait for.
        let refusal = Response {
            roll: Some(roll(4, RollKind::Move, "v7", RollState::Running)),
            ..Response::error("a restart is under way")
        };
        let run = Run::start(move |op| match op {
            Op::Move { .. } => (refusal.clone(), false),
            _ => (
                ok(Some(roll(4, RollKind::Move, "v7", RollState::Done))),
                false,
            ),
        });
        assert_eq!(
            run.tell(true),
            Moved::Refused("a restart is under way".into())
        );
        assert_eq!(run.polled(), 0);
    }

    #[test]
    fn a_reply_whose_roll_is_not_this_move_is_not_waited_for() {
        // A run that does not follow the current release (`--release vN`, `--dev`) answers
        // with the roll it last had, or none.
        for other in [
            None,
            Some(roll(3, RollKind::Restart, "v6", RollState::Running)),
            Some(roll(3, RollKind::Move, "v6", RollState::Running)),
        ] {
            let run = Run::start(move |op| match op {
                Op::Move { .. } => (ok(other.clone()), false),
                // Were it waited for, it would be done.
                _ => (
                    ok(Some(roll(3, RollKind::Move, "v6", RollState::Done))),
                    false,
                ),
            });
            assert_eq!(run.tell(true), Moved::NoRun);
            assert_eq!(run.polled(), 0);
        }
    }

    #[test]
    fn a_move_not_waited_for_has_started() {
        let run = moving(Vec::new(), Owner::this_process());
        assert_eq!(run.tell(false), Moved::Started(4));
        assert_eq!(run.polled(), 0);
    }

    #[test]
    fn a_move_waited_for_is_done_when_its_record_ends_done() {
        let run = moving(
            vec![Outcome::InProgress, Outcome::Done],
            Owner::this_process(),
        );
        assert_eq!(run.tell(true), Moved::Done(4));
        assert_eq!(run.polled(), 0, "the record is read, not the run");
    }

    #[test]
    fn a_move_that_failed_says_why_which_aborts_the_release() {
        let reason = "web.2 did not become ready on v7";
        let run = moving(
            vec![Outcome::Failed {
                reason: reason.into(),
            }],
            Owner::this_process(),
        );
        let Moved::Failed(record) = run.tell(true) else {
            panic!("not failed")
        };
        assert_eq!((record.id, record.failure()), (4, Some(reason.to_owned())));
    }

    #[test]
    fn a_move_whose_run_ended_first_is_interrupted_and_says_so_in_its_record() {
        let gone = Owner {
            pid: u32::MAX - 1,
            start: Some(1),
        };
        let run = moving(Vec::new(), gone);
        let Moved::Failed(record) = run.tell(true) else {
            panic!("not failed")
        };
        assert_eq!(record.outcome, Outcome::Interrupted);
        let stored = crate::store::deploys::read(run.store.path(), 4)
            .unwrap()
            .unwrap();
        assert_eq!(stored.outcome, Outcome::Interrupted);
    }
}
