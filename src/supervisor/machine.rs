//! The runner's decisions as a state machine: it takes what happened (a process started or
//! exited, a health result, a signal, a control request, the time) and answers with what to
//! do (start a process, signal one, probe one, say something, store the formation), doing none
//! of it itself. The driver (`runner.rs`) owns the nursery, the output and the sockets and
//! carries the actions out. Time comes in with every input, and the two questions that need
//! the system (is a port taken, what does release N run) are asked through functions the
//! driver gives, so everything here is tested below without a process. See docs/supervisor.md.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::autoscale::Autoscaler;
use super::backoff::Backoff;
use super::health::{Check, Request};
use crate::app::manifest::Restart;
use crate::control::{self, Op, Response};

mod autoscale;
mod deploys;
mod formation;
mod instances;
mod rolling;

/// Readiness is probed this often until it passes, then at the check's interval.
pub const READINESS_POLL: Duration = Duration::from_millis(100);
/// Blue-green: how long the old side stays, idle, after the switch (docs/deploy.md).
pub const DEFAULT_KEEP_OLD: Duration = Duration::from_secs(300);
/// Blue-green's two sides share a type's block of 100 ports, half each.
const HALF: u16 = 50;

/// A blue-green deploy of the routed type (docs/deploy.md).
struct Deploy {
    type_name: String,
    /// The spec the stable side runs (the release moved from).
    old: usize,
    phase: DeployPhase,
    keep: Duration,
    /// A canary release: its plan and where its analysis is.
    canary: Option<Canary>,
    /// Blue-green's smoke test, run before the switch.
    smoke: Option<control::Smoke>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeployPhase {
    /// The candidate side is starting, weight 0 (only `X-Dozen-Side: candidate` reaches it).
    Starting,
    /// Blue-green: the candidate side is ready; its smoke test runs.
    Smoke,
    /// A canary's steps: its share grows while the router's measurements say it may.
    Analysing,
    /// A canary passed (or was promoted by hand): its side grows to the formation's size,
    /// and is switched to once all of it is ready.
    Promoting,
    /// All requests go to the candidate side; the old side stays, idle, until then.
    Switched { until: Instant },
}

/// A canary's analysis (docs/deploy.md).
struct Canary {
    plan: control::CanaryPlan,
    /// 0-based index into the plan's steps.
    step: usize,
    step_started: Instant,
    /// The sides' counts when the step began (none yet: the next measurement is it).
    baseline: Option<(Snapshot, Snapshot)>,
    /// The latest counts, for `dozen canary`.
    latest: Option<(Snapshot, Snapshot)>,
    /// Steps held for want of traffic.
    held: u32,
    next_check: Instant,
}

/// A canary's analysis runs this many times per interval, and a request waiting longer than
/// this share of an interval for its answer counts as failed: a hung canary is judged within
/// a tenth of an interval of its first unanswered request (docs/deploy.md).
const CHECKS_PER_INTERVAL: u32 = 20;
/// A step without enough traffic to judge is held this many times, then the canary aborts.
const MAX_HELD: u32 = 3;

use crate::router::table::Snapshot;

/// `at + by`, or as far as an `Instant` goes (a duration from a control client is not
/// bounded as dozen.toml's are).
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(crate::app::duration::Duration::MAX))
        .unwrap_or(at)
}

/// The other port of an instance's index: the other half of its type's block of 100.
fn other_half(port: u16, base_port: u16) -> u16 {
    if port.wrapping_sub(base_port) % 100 < HALF {
        port + HALF
    } else {
        port - HALF
    }
}

/// How far above a fast stable side's p99 a canary's may be before the ratio counts: the
/// router's percentiles are exact to a quarter, so on a side answering in 1.4 ms a canary at
/// 2.1 ms is one or two buckets of noise, not a regression.
const P99_SLACK_MS: f64 = 5.0;

/// The canary's p99 limit relative to the stable side's: `ratio` times it, and never less
/// than [`P99_SLACK_MS`] above it.
fn relative_p99_limit(stable_ms: f64, ratio: f64) -> f64 {
    (stable_ms * ratio).max(stable_ms + P99_SLACK_MS)
}

/// A canary's p99 above what its plan allows (absolute, or relative to the stable side's
/// when that side served enough to have one), as a reason to abort.
fn p99_breach(plan: &control::CanaryPlan, stable: &Snapshot, canary: &Snapshot) -> Option<String> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let canary_p99 = ms(canary.percentile(99.0)?);
    let stable_p99 = (stable.requests >= plan.min_requests)
        .then(|| stable.percentile(99.0))
        .flatten()
        .map(ms);
    #[allow(clippy::cast_precision_loss)]
    let absolute = plan.max_p99_ms.map(|m| m as f64);
    let relative = stable_p99.map(|s| relative_p99_limit(s, plan.max_p99_ratio));
    let limit = absolute.into_iter().chain(relative).reduce(f64::min)?;
    (canary_p99 > limit).then(|| {
        let stable = stable_p99.map_or_else(String::new, |s| format!(" (stable {s:.1} ms)"));
        format!("canary p99 {canary_p99:.1} ms > {limit:.1} ms{stable}")
    })
}

/// How long an instance may take to pass its first check when no `grace` is set.
const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(60);

/// What instances run: one release's (or the working tree's) process types, environment and
/// directory.
#[derive(Default)]
pub struct Spec {
    /// `vN`, or `dev` for the working tree (what `dozen ps` shows).
    pub release: String,
    /// Every Procfile type, in Procfile order.
    pub types: Vec<TypeSettings>,
    /// The environment every instance starts from.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Whatever must live as long as instances run from this spec (a release's store lock).
    pub keep: Option<Box<dyn std::any::Any>>,
    /// How many instances of each type a fresh run of this spec would start: used for types a
    /// release adds when the formation moves to it.
    pub counts: indexmap::IndexMap<String, u32>,
}

pub struct TypeSettings {
    pub name: String,
    pub command: String,
    pub restart: Restart,
    pub may_exit: bool,
    pub stop_signal: i32,
    pub kill_timeout: Duration,
    /// The restart policy's backoff, fresh (no restarts yet).
    pub backoff: Backoff,
    pub after: Vec<String>,
    pub health: Option<Check>,
    /// A pseudo-terminal instead of pipes.
    pub tty: bool,
    pub limits: crate::app::limits::Limits,
}

pub struct PlannedInstance {
    /// Index into the spec's types, which is also the type's index in the Procfile.
    pub type_index: usize,
    pub index: u32,
    pub port: u16,
}

/// Loads what release N runs (its types, environment and build tree).
pub type LoadRelease<'a> = Box<dyn FnMut(u32) -> Result<Spec, crate::error::Error> + 'a>;

/// Whether a port is taken, and by what: asked before an instance is added live.
pub type PortTaken = Box<dyn Fn(u16) -> Option<String>>;

/// What happened, as the driver tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Spawned {
        id: u64,
        pid: u32,
    },
    SpawnFailed {
        id: u64,
        error: String,
    },
    /// Process `id`'s group is empty: it has stopped (docs/supervisor.md).
    Exited {
        id: u64,
        code: Option<i32>,
        signal: Option<i32>,
    },
    Health {
        id: u64,
        result: Result<(), super::health::Failed>,
    },
    Signal(i32),
    StdoutClosed,
    NurseryGone,
    /// The router has nothing in flight to draining instance `id` (docs/router.md).
    Drained {
        id: u64,
    },
    /// An autoscaled type's metric, per instance, over the last second (docs/deploy.md).
    Measured {
        type_name: String,
        value: f64,
    },
    /// A blue-green deploy's smoke test ended: passed, or why not.
    Smoked {
        result: Result<(), super::meter::Failed>,
    },
    /// What the router measured of each side, for a canary's analysis.
    SideStats {
        stable: Snapshot,
        candidate: Snapshot,
    },
    /// An autoscaled type's metric command gave no number.
    Unmeasured {
        type_name: String,
        error: super::meter::Failed,
    },
}

/// What the driver is to do.
#[derive(Debug, Clone)]
pub enum Action {
    Spawn(Start),
    Signal {
        id: u64,
        signal: i32,
    },
    /// One of dozen's own lines; after process `after`'s output when given (the exit that
    /// caused it).
    Say {
        text: String,
        after: Option<u64>,
    },
    /// Process `id` has started: say `text`, then let its output through.
    Started {
        id: u64,
        text: String,
    },
    /// A connection or request check of process `id` on `port`, answered by
    /// [`Input::Health`]. (A command check is a [`Action::Spawn`].)
    Probe {
        id: u64,
        request: Request,
        port: u16,
        timeout: Duration,
    },
    SaveFormation(indexmap::IndexMap<String, u32>),
    /// The router's candidate side gets this share of requests, in basis points.
    SetWeight(u32),
    /// Run a blue-green deploy's smoke test (`ROUTER` is the driver's to add); answered by
    /// [`Input::Smoked`].
    Smoke {
        command: String,
        env: Vec<(String, String)>,
        cwd: PathBuf,
        timeout: Duration,
    },
    /// The activity log gets an event (`autoscale`, …) with its details.
    Log {
        what: &'static str,
        details: serde_json::Value,
    },
    /// A move's record changed: the store gets it, and a failed move's release is aborted.
    Record(Record),
    /// The activity log gets a move's outcome.
    LogMove {
        release: String,
        outcome: &'static str,
        failed: Option<String>,
    },
    /// The nursery is gone: end every descendant directly.
    EndDescendants,
    /// Take process `id` out of the router's rotation, and answer [`Input::Drained`] once
    /// its requests are done.
    Drain {
        id: u64,
    },
}

/// A process to start: `sh -c command` in `cwd` with exactly `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub id: u64,
    /// `web.1`.
    pub name: String,
    /// The type's index in its Procfile (its colour).
    pub type_index: usize,
    pub command: String,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub stop_signal: i32,
    pub kill_timeout: Duration,
    pub tty: bool,
    /// `RLIMIT_NOFILE` for the process.
    pub open_files: Option<u64>,
    /// A health-check command of instance `name`: its output is discarded.
    pub check: bool,
}

/// How long what a check command leaves running gets between its stop signal and SIGKILL.
const CHECK_LEFTOVER_GRACE: Duration = Duration::from_secs(1);

/// A health-check command running under the nursery, as any process dozen starts.
struct CommandCheck {
    /// The check process's id.
    id: u64,
    /// The id of the instance process it checks.
    instance: u64,
    command: String,
    timeout: Duration,
    deadline: Instant,
    killed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the types in `after` to be ready.
    Waiting,
    /// Its process runs; health checks (if it has them) on the schedule `Checking` keeps.
    Running(Checking),
    Backoff(Instant),
    /// Stopping: out of the router's rotation while `draining` (the stop signal waits until
    /// its requests are done or the deadline), then signalled, then killed at the deadline.
    Stopping {
        deadline: Instant,
        killed: bool,
        draining: bool,
    },
    /// Stopped by `dozen stop`: kept stopped until scaled or restarted.
    Held,
    Done,
}

/// A running process's health-check schedule: only a running process has one, so a stopping
/// or exited instance can have no check pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Checking {
    /// The wait before the last passing check of a ready instance (the back-off's state).
    every: Option<Duration>,
    /// When the next check is due.
    next: Option<Instant>,
    /// A check is in flight (its answer is awaited before the next).
    in_flight: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Pending,
    Ready,
    /// A web that never accepted connections on its port: no longer waited for.
    GaveUp,
}

/// What a slot does when its process exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterExit {
    /// What the type's restart policy says.
    Policy,
    /// Restart: it was stopped for being unhealthy.
    Restart,
    /// Nothing: it was scaled away; it leaves the formation.
    Leave,
    /// Start again at once, no backoff: a rolling restart.
    Respawn,
    /// Stay stopped: `dozen stop`.
    Hold,
}

struct Slot {
    /// The id of the current process (a restart gets a new one, so stale events are told apart).
    id: u64,
    /// Index into [`Machine::specs`]: what this instance runs.
    spec: usize,
    /// The spec its next process starts from, when it is moving to another release.
    next_spec: Option<usize>,
    /// Index into its spec's types.
    type_index: usize,
    /// 1-based: `web.2` is index 2.
    index: u32,
    name: String,
    port: u16,
    state: State,
    started: Instant,
    backoff: Backoff,
    readiness: Readiness,
    failures: u32,
    /// What happens when the current process is gone.
    after_exit: AfterExit,
    /// An extra instance that holds the type's capacity while a roll replaces the others;
    /// not part of the formation.
    surge: bool,
    /// On a blue-green deploy's candidate side (docs/deploy.md): not part of the formation
    /// until the deploy is promoted.
    candidate: bool,
    pid: Option<u32>,
    restarts: u32,
    /// How the last process ended (dozen's exit-code convention).
    exit_code: Option<i32>,
}

impl Slot {
    fn removed(&self) -> bool {
        self.after_exit == AfterExit::Leave
    }

    fn ready(&self) -> bool {
        self.readiness != Readiness::Pending
    }
}

/// One step of a roll (a rolling restart or a move), type by type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Start an extra instance of the type, ready before any of its instances stops.
    Surge(String),
    /// Stop this instance and start it again (on the release it moves to).
    Replace(String),
    /// The type's extra instance goes.
    EndSurge(String),
}

use crate::control::{RollKind, RollState};
use crate::store::deploys::{Outcome, Record};

/// Where the formation is going: nowhere, onto the current release from another (a move, or
/// a blue-green or canary deploy's), or back from a move that failed. One at a time: a move
/// cannot also be going back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moving {
    Still,
    /// Onto the current spec from spec `from`.
    Forward {
        from: usize,
    },
    /// A failed move's moved instances go back to the release it left (the current one).
    Back,
}

impl Moving {
    /// The spec a move forward comes from.
    fn from(self) -> Option<usize> {
        match self {
            Self::Forward { from } => Some(from),
            Self::Still | Self::Back => None,
        }
    }

    /// Takes the move forward's origin, leaving the formation still.
    fn take_forward(&mut self) -> Option<usize> {
        let from = self.from()?;
        *self = Self::Still;
        Some(from)
    }
}

/// The latest restart or move, for `dozen ps` and clients that wait for its end.
struct Roll {
    seq: u64,
    kind: RollKind,
    release: Option<String>,
    state: RollState,
    failed: Option<String>,
    /// Why it failed, when that was not an instance.
    reason: Option<String>,
    /// A move's deploy record (`deploys/dN.json`).
    deploy: Option<u64>,
}

impl Roll {
    fn status(&self) -> control::RollStatus {
        control::RollStatus {
            deploy: self.deploy,
            seq: self.seq,
            kind: self.kind,
            release: self.release.clone(),
            state: self.state,
            failed: self.failed.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Why a `restart`/`stop` target, or a blue-green deploy's new side, cannot be had.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("`{0}` has no instances (scale it up first)")]
    NoInstances(String),
    /// `hint` is empty or `; did you mean …?`.
    #[error("`{target}` is neither a process type nor a running instance{hint}")]
    UnknownTarget { target: String, hint: String },
    #[error("no instance of `{0}` runs: there is no side to switch from")]
    NoSide(String),
    #[error(
        "blue-green gives each side half of {routed}'s 100 ports: at most {half} instances ({name} runs)"
    )]
    SideTooBig {
        routed: String,
        half: u16,
        name: String,
    },
    #[error("port {port} for the new side's {name} is already in use ({error})")]
    PortTaken {
        port: u16,
        name: String,
        error: String,
    },
}

/// Why a scale was not applied.
enum ScaleError {
    /// The request is wrong (unknown type, count out of range).
    Usage(String),
    /// The request is fine but cannot be applied now (a port is taken, an instance is
    /// still stopping, the formation is stopping).
    Refused(String),
}

pub struct Machine {
    /// Every spec instances have run from; `current` is the one new instances start from.
    specs: Vec<Spec>,
    current: usize,
    slots: Vec<Slot>,
    base_port: u16,
    port_taken: PortTaken,
    /// Steps waiting their turn in a roll.
    roll: VecDeque<Step>,
    /// The instance being replaced (or the extra one being started) now.
    rolling: Option<String>,
    /// How many instances the current roll has replaced.
    rolled: usize,
    /// Whether the formation is moving to a new release, or back from a failed move.
    moving: Moving,
    last_roll: Option<Roll>,
    /// Health-check commands running now.
    checks: Vec<CommandCheck>,
    next_id: u64,
    stopping: bool,
    /// `--watch`: an instance that exits or gives up waits for a change instead of stopping
    /// the formation.
    watching: bool,
    interrupts: u32,
    exit_code: i32,
    /// The type the router sends requests to, when the run has one.
    routed: Option<String>,
    /// Types scaled by their load, each with its autoscaler.
    autoscalers: Vec<(String, Autoscaler)>,
    /// A blue-green deploy under way.
    deploy: Option<Deploy>,
    /// The record of the move under way, written to the store as it changes.
    record: Option<Record>,
    /// The record changed since the last [`Machine::take_actions`].
    record_changed: bool,
    /// The id the next move's record takes.
    next_record: u64,
    /// The time of the input being handled.
    now: Instant,
    actions: Vec<Action>,
}

impl Machine {
    /// A formation of `instances` of `spec`, none started yet: [`Machine::start`] starts them.
    pub fn new(
        spec: Spec,
        instances: &[PlannedInstance],
        base_port: u16,
        port_taken: PortTaken,
        now: Instant,
    ) -> Self {
        let slots = instances
            .iter()
            .map(|i| new_slot(&spec, 0, i.type_index, i.index, i.port, now))
            .collect();
        Self {
            specs: vec![spec],
            current: 0,
            slots,
            base_port,
            port_taken,
            roll: VecDeque::new(),
            rolling: None,
            rolled: 0,
            moving: Moving::Still,
            last_roll: None,
            checks: Vec::new(),
            next_id: 1,
            stopping: false,
            watching: false,
            interrupts: 0,
            exit_code: 0,
            routed: None,
            autoscalers: Vec::new(),
            deploy: None,
            record: None,
            record_changed: false,
            next_record: 1,
            now,
            actions: Vec::new(),
        }
    }

    /// Moves' records are numbered on from `id` (the store's next free one).
    pub fn number_deploys_from(&mut self, id: u64) {
        self.next_record = id;
    }

    /// What is to be done, in order, since the last call.
    pub fn take_actions(&mut self) -> Vec<Action> {
        if std::mem::take(&mut self.record_changed)
            && let Some(record) = &self.record
        {
            self.actions.push(Action::Record(record.clone()));
            if record.outcome != Outcome::InProgress {
                self.record = None;
            }
        }
        std::mem::take(&mut self.actions)
    }

    /// dozen's exit code, once [`Machine::finished`].
    pub fn exit_code(&self) -> i32 {
        self.exit_code
    }

    /// Starts every instance whose `after` types are ready (all of them, without `after`).
    pub fn start(&mut self, now: Instant) {
        self.now = now;
        self.start_ready_slots();
    }

    /// `--watch`: instances that exit wait for the next change (see `instances.rs`).
    pub fn watch(&mut self) {
        self.watching = true;
    }

    /// The formation is stopping (a signal, an exit that ends the run).
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Done when every instance is, except that a formation scaled down to nothing waits for
    /// the next `dozen scale` (or a signal).
    pub fn finished(&self) -> bool {
        (self.stopping || !self.slots.is_empty())
            && self.slots.iter().all(|s| s.state == State::Done)
    }

    /// When [`Machine::on_timers`] has something to do next.
    pub fn next_timer(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| match s.state {
                State::Backoff(until) => Some(until),
                State::Stopping {
                    deadline,
                    killed: false,
                    ..
                } => Some(deadline),
                State::Running(probe) if !probe.in_flight => probe.next,
                _ => None,
            })
            .chain(self.checks.iter().filter(|c| !c.killed).map(|c| c.deadline))
            .chain(self.deploy.as_ref().and_then(|d| match d.phase {
                DeployPhase::Switched { until } => Some(until),
                DeployPhase::Analysing => d.canary.as_ref().map(|c| c.next_check),
                DeployPhase::Starting | DeployPhase::Promoting | DeployPhase::Smoke => None,
            }))
            .min()
    }

    pub fn handle(&mut self, input: Input, now: Instant) {
        self.now = now;
        if self.on_check(&input) {
            self.forget_removed();
            return;
        }
        match input {
            Input::Signal(signal) => self.on_signal(signal),
            Input::StdoutClosed => self.stop_all("stdout was closed", 0),
            Input::NurseryGone => {
                self.say("the nursery is gone; ending every process");
                self.actions.push(Action::EndDescendants);
                for slot in &mut self.slots {
                    slot.state = State::Done;
                }
                self.stopping = true;
                self.exit_code = 1;
            }
            Input::Spawned { id, pid } => {
                let Some(slot) = self.slot_of(id) else { return };
                self.slots[slot].pid = Some(pid);
                let text = format!("{} started (pid {pid})", self.slots[slot].name);
                self.actions.push(Action::Started { id, text });
                if self.settings(slot).health.is_none() {
                    self.slots[slot].readiness = Readiness::Ready;
                    self.start_ready_slots();
                }
            }
            Input::SpawnFailed { id, error } => {
                let Some(slot) = self.slot_of(id) else { return };
                self.slots[slot].state = State::Done;
                let name = self.slots[slot].name.clone();
                self.actions.push(Action::Started {
                    id,
                    text: format!("{name} could not start: {error}"),
                });
                self.stop_all(&format!("{name} could not start"), 1);
            }
            Input::Exited { id, code, signal } => self.on_exit(id, code, signal),
            Input::Health { id, result } => self.on_health(id, result),
            Input::Drained { id } => {
                if let Some(slot) = self.slot_of(id)
                    && matches!(
                        self.slots[slot].state,
                        State::Stopping { draining: true, .. }
                    )
                {
                    self.send_stop(slot);
                }
            }
            Input::Measured { type_name, value } => self.on_measured(&type_name, value),
            Input::SideStats { stable, candidate } => self.on_side_stats(stable, candidate),
            Input::Smoked { result } => {
                if self
                    .deploy
                    .as_ref()
                    .is_some_and(|d| d.phase == DeployPhase::Smoke)
                {
                    match result {
                        Ok(()) => {
                            self.say("the smoke test passed");
                            self.switch();
                        }
                        Err(why) => {
                            self.abort_deploy(&format!("the smoke test failed: {why}"), None);
                        }
                    }
                }
            }
            Input::Unmeasured { type_name, error } => {
                let Some((_, autoscaler)) =
                    self.autoscalers.iter_mut().find(|(t, _)| *t == type_name)
                else {
                    return;
                };
                // Told once, not at every interval, until it measures again.
                if autoscaler.last_error.as_ref() != Some(&error) {
                    autoscaler.last_error = Some(error.clone());
                    self.say(format!(
                        "autoscale: {type_name} not measured: its command failed: {error}"
                    ));
                }
            }
        }
        self.forget_removed();
    }

    /// The environment and directory a metric command runs in: the current release's (its
    /// config included, as the app's processes have it), with no instance's `PORT` or `PS`.
    pub fn app_environment(&self) -> (Vec<(String, String)>, PathBuf) {
        let spec = &self.specs[self.current];
        let mut env = spec.env.clone();
        env.retain(|(k, _)| !matches!(k.as_str(), "PORT" | "PS" | "DOZEN_PROCESS"));
        (env, spec.cwd.clone())
    }

    /// How many instances of `type_name` the formation has.
    pub fn count(&self, type_name: &str) -> u32 {
        self.formation().counts.get(type_name).copied().unwrap_or(0)
    }

    /// Backoffs that are over, kill timeouts that passed, checks that are due.
    pub fn on_timers(&mut self, now: Instant) {
        self.now = now;
        for c in 0..self.checks.len() {
            if !self.checks[c].killed && self.checks[c].deadline <= now {
                self.checks[c].killed = true;
                self.kill(self.checks[c].id);
            }
        }
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                State::Backoff(until) if until <= now && !self.stopping => self.spawn(slot),
                // Requests still in flight at the drain deadline: stop it anyway.
                State::Stopping {
                    deadline,
                    draining: true,
                    ..
                } if deadline <= now => self.send_stop(slot),
                State::Stopping {
                    deadline,
                    killed: false,
                    draining: false,
                } if deadline <= now => {
                    let s = &self.slots[slot];
                    let text = format!(
                        "{} did not stop within {}; sending SIGKILL",
                        s.name,
                        human(self.specs[s.spec].types[s.type_index].kill_timeout)
                    );
                    let id = s.id;
                    self.say(text);
                    self.kill(id);
                    self.slots[slot].state = State::Stopping {
                        deadline,
                        killed: true,
                        draining: false,
                    };
                }
                State::Running(probe)
                    if !probe.in_flight && probe.next.is_some_and(|t| t <= now) =>
                {
                    self.probe(slot);
                }
                _ => {}
            }
        }
        self.forget_removed();
    }

    /// Answers a `dozen ps`/`scale`/`restart`/`stop` request, or a move to release N, which
    /// `load` reads (none: the run does not follow the current release).
    pub fn control(
        &mut self,
        request: control::Request,
        now: Instant,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, crate::error::Error>>,
    ) -> Response {
        self.now = now;
        let response = match request.op {
            Op::Ps => self.status(),
            Op::Scale { changes } => match self.scale(&changes) {
                Ok(()) => self.status(),
                Err(ScaleError::Usage(error)) => Response {
                    usage: true,
                    ..Response::error(error)
                },
                Err(ScaleError::Refused(error)) => Response::error(error),
            },
            Op::Restart { target } => self.targeted(target.as_deref(), Self::restart),
            Op::Stop { target } => self.targeted(target.as_deref(), Self::stop),
            Op::Move {
                release,
                strategy: control::Strategy::Rolling,
                ..
            } => self.move_to(release, load),
            Op::Move {
                release,
                strategy: control::Strategy::BlueGreen,
                keep_old_ms,
                smoke,
                ..
            } => {
                let keep = keep_old_ms.map_or(DEFAULT_KEEP_OLD, Duration::from_millis);
                let response = self.blue_green(release, load, keep, None);
                if let Some(deploy) = &mut self.deploy {
                    deploy.smoke = smoke;
                }
                response
            }
            Op::Move {
                release,
                strategy: control::Strategy::Canary,
                canary,
                ..
            } => self.blue_green(
                release,
                load,
                Duration::ZERO,
                Some(canary.unwrap_or_default()),
            ),
            Op::Canary { action } => self.canary_control(action),
            // The control socket's threads stream logs and top frames; the runner applies drains.
            Op::Logs { .. } | Op::Top { .. } | Op::Drains | Op::Flags => {
                Response::error("this request is not for the formation")
            }
        };
        self.forget_removed();
        response
    }

    fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        if let Some(record) = &mut self.record {
            record.step(&text);
            self.record_changed = true;
        }
        self.actions.push(Action::Say { text, after: None });
    }

    fn kill(&mut self, id: u64) {
        self.actions.push(Action::Signal {
            id,
            signal: rustix::process::Signal::KILL.as_raw(),
        });
    }

    fn settings(&self, slot: usize) -> &TypeSettings {
        let s = &self.slots[slot];
        &self.specs[s.spec].types[s.type_index]
    }

    /// The current spec's types: what new instances run.
    fn types(&self) -> &[TypeSettings] {
        &self.specs[self.current].types
    }

    /// A type's position in the current Procfile (types it no longer has sort last).
    fn type_order(&self, name: &str) -> usize {
        self.types()
            .iter()
            .position(|t| t.name == name)
            .unwrap_or(usize::MAX)
    }

    /// The types the formation runs, the current release's first (in its Procfile order),
    /// then any another release's instances still have; and the longest instance name. What
    /// `dozen logs` is told, so a type a deploy added can be followed.
    pub fn layout(&self) -> (usize, Vec<String>) {
        let mut names: Vec<String> = self.types().iter().map(|t| t.name.clone()).collect();
        let mut width = 0;
        for slot in &self.slots {
            let name = self.type_name(slot);
            width = width.max(name.len() + 1 + slot.index.to_string().len());
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        (width, names)
    }

    /// The process type of a slot, by name (type indexes differ between releases).
    fn type_name<'s>(&'s self, slot: &'s Slot) -> &'s str {
        &self.specs[slot.spec].types[slot.type_index].name
    }

    /// A type is ready when every instance it has is ready.
    fn type_ready(&self, name: &str) -> bool {
        self.slots
            .iter()
            .filter(|s| self.type_name(s) == name)
            .all(Slot::ready)
    }
}

/// A slot for one instance, waiting to start.
fn new_slot(
    spec: &Spec,
    spec_index: usize,
    type_index: usize,
    index: u32,
    port: u16,
    now: Instant,
) -> Slot {
    Slot {
        id: 0,
        spec: spec_index,
        next_spec: None,
        type_index,
        index,
        name: format!("{}.{index}", spec.types[type_index].name),
        port,
        state: State::Waiting,
        started: now,
        backoff: spec.types[type_index].backoff,
        readiness: Readiness::Pending,
        failures: 0,
        after_exit: AfterExit::Policy,
        surge: false,
        candidate: false,
        pid: None,
        restarts: 0,
        exit_code: None,
    }
}

fn human(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests;
