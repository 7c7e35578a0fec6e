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

use signal_hook::consts::SIGINT;

use super::autoscale::{Autoscaler, Metric, Policy};
use super::backoff::{Backoff, Decision};
use super::exit;
use super::health::{Check, Probe, Request};
use crate::app::formation::{Formation, ScaleChange};
use crate::app::manifest::Restart;
use crate::app::ports::instance_port;
use crate::control::{self, Health, InstanceState, InstanceStatus, Op, Response, Side};

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

/// A canary's analysis runs this many times per interval: a breach aborts within a tenth.
const CHECKS_PER_INTERVAL: u32 = 10;
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
}

pub struct PlannedInstance {
    /// Index into the spec's types, which is also the type's index in the Procfile.
    pub type_index: usize,
    pub index: u32,
    pub port: u16,
}

/// Loads what release N runs (its types, environment and build tree).
pub type LoadRelease<'a> = Box<dyn FnMut(u32) -> Result<Spec, String> + 'a>;

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
        result: Result<(), String>,
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
        result: Result<(), String>,
    },
    /// What the router measured of each side, for a canary's analysis.
    SideStats {
        stable: Snapshot,
        candidate: Snapshot,
    },
    /// An autoscaled type's metric command gave no number.
    Unmeasured {
        type_name: String,
        error: String,
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
    Running,
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
    /// The wait before the last passing check of a ready instance (the back-off's state).
    probe_every: Option<Duration>,
    next_probe: Option<Instant>,
    probing: bool,
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

/// The latest restart or move, for `dozen ps` and clients that wait for its end.
struct Roll {
    seq: u64,
    kind: RollKind,
    release: Option<String>,
    state: RollState,
    failed: Option<String>,
    /// Why it failed, when that was not an instance.
    reason: Option<String>,
}

impl Roll {
    fn status(&self) -> control::RollStatus {
        control::RollStatus {
            seq: self.seq,
            kind: self.kind,
            release: self.release.clone(),
            state: self.state,
            failed: self.failed.clone(),
            reason: self.reason.clone(),
        }
    }
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
    /// While the formation moves to a new release: the spec it is moving from.
    moving: Option<usize>,
    last_roll: Option<Roll>,
    /// Health-check commands running now.
    checks: Vec<CommandCheck>,
    /// While a failed move's moved instances go back to the release it left.
    rolling_back: bool,
    next_id: u64,
    stopping: bool,
    interrupts: u32,
    exit_code: i32,
    /// The type the router sends requests to, when the run has one.
    routed: Option<String>,
    /// Types scaled by their load, each with its autoscaler.
    autoscalers: Vec<(String, Autoscaler)>,
    /// A blue-green deploy under way.
    deploy: Option<Deploy>,
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
            moving: None,
            last_roll: None,
            checks: Vec::new(),
            rolling_back: false,
            next_id: 1,
            stopping: false,
            interrupts: 0,
            exit_code: 0,
            routed: None,
            autoscalers: Vec::new(),
            deploy: None,
            now,
            actions: Vec::new(),
        }
    }

    /// What is to be done, in order, since the last call.
    pub fn take_actions(&mut self) -> Vec<Action> {
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
                State::Running if !s.probing => s.next_probe,
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

    /// Scales `type_name` by its load (docs/deploy.md): the formation's count of it is
    /// [`Autoscaler::decide`]'s to change, except while a restart or a move runs.
    pub fn autoscale(&mut self, type_name: &str, policy: Policy) {
        self.autoscalers
            .push((type_name.to_owned(), Autoscaler::new(policy)));
    }

    /// The autoscaled types and what each is measured by.
    pub fn autoscaled(&self) -> Vec<(String, Metric)> {
        self.autoscalers
            .iter()
            .map(|(t, a)| (t.clone(), a.policy.metric))
            .collect()
    }

    /// The autoscaled types measured by a command: the type, the command, how often.
    pub fn metric_commands(&self) -> Vec<(String, String, Duration)> {
        self.autoscalers
            .iter()
            .filter_map(|(t, a)| {
                let command = a.policy.command.clone()?;
                (a.policy.metric == Metric::Command)
                    .then(|| (t.clone(), command, a.policy.interval))
            })
            .collect()
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

    fn on_measured(&mut self, type_name: &str, value: f64) {
        if self.stopping {
            return;
        }
        let current = self.count(type_name);
        let busy = self.busy().is_some();
        let now = self.now;
        let Some((_, autoscaler)) = self.autoscalers.iter_mut().find(|(t, _)| t == type_name)
        else {
            return;
        };
        let Some(decision) = autoscaler.decide(now, current, value) else {
            return;
        };
        if busy {
            // A restart or a move holds the formation's shape; the next measurement after it
            // decides again.
            return;
        }
        let (metric, target) = (autoscaler.policy.metric.name(), autoscaler.policy.target);
        let change = ScaleChange {
            type_name: type_name.to_owned(),
            op: crate::app::formation::ScaleOp::Set,
            count: decision.to,
        };
        let cause = format!(
            "{metric} {:.1} per instance, target {target}",
            decision.measured
        );
        match self.scale(&[change]) {
            Ok(()) => {
                let said = format!("{type_name} {} → {} ({cause})", decision.from, decision.to);
                if let Some((_, autoscaler)) =
                    self.autoscalers.iter_mut().find(|(t, _)| t == type_name)
                {
                    autoscaler.last_decision = Some(said.clone());
                }
                self.say(format!("autoscale: {said}"));
                self.actions.push(Action::Log {
                    what: "autoscale",
                    details: serde_json::json!({
                        "type": type_name,
                        "from": decision.from,
                        "to": decision.to,
                        "metric": metric,
                        "measured": (decision.measured * 10.0).round() / 10.0,
                        "target": target,
                    }),
                });
            }
            Err(ScaleError::Usage(error) | ScaleError::Refused(error)) => {
                self.say(format!(
                    "autoscale: {type_name} {} → {} not applied ({cause}): {error}",
                    decision.from, decision.to
                ));
            }
        }
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
                State::Running
                    if !self.slots[slot].probing
                        && self.slots[slot].next_probe.is_some_and(|t| t <= now) =>
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
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, String>>,
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
            // The control socket's thread streams logs; the runner applies drains.
            Op::Logs { .. } | Op::Drains => {
                Response::error("this request is not for the formation")
            }
        };
        self.forget_removed();
        response
    }

    fn say(&mut self, text: impl Into<String>) {
        self.actions.push(Action::Say {
            text: text.into(),
            after: None,
        });
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

    fn start_ready_slots(&mut self) {
        if self.stopping {
            return;
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot].state == State::Waiting
                && self
                    .settings(slot)
                    .after
                    .iter()
                    .all(|dep| self.type_ready(dep))
            {
                self.spawn(slot);
            }
        }
    }

    fn spawn(&mut self, slot: usize) {
        // Moving to another release: the new process starts from its spec.
        if let Some(next) = self.slots[slot].next_spec.take() {
            let name = self.type_name(&self.slots[slot]).to_owned();
            if let Some(type_index) = self.specs[next].types.iter().position(|t| t.name == name) {
                let s = &mut self.slots[slot];
                s.spec = next;
                s.type_index = type_index;
                s.backoff = self.specs[next].types[type_index].backoff;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let s = &self.slots[slot];
        let spec = &self.specs[s.spec];
        let settings = &spec.types[s.type_index];
        self.actions.push(Action::Spawn(Start {
            id,
            name: s.name.clone(),
            type_index: s.type_index,
            command: settings.command.clone(),
            env: self.environment(slot),
            cwd: spec.cwd.clone(),
            stop_signal: settings.stop_signal,
            kill_timeout: settings.kill_timeout,
            tty: settings.tty,
            check: false,
        }));
        let checked = settings.health.is_some();
        let now = self.now;
        let s = &mut self.slots[slot];
        if matches!(s.state, State::Backoff(_)) {
            s.restarts += 1;
        }
        s.id = id;
        s.pid = None;
        s.state = State::Running;
        s.started = now;
        s.readiness = Readiness::Pending;
        s.failures = 0;
        s.probing = false;
        s.after_exit = AfterExit::Policy;
        s.probe_every = None;
        s.next_probe = checked.then_some(now + READINESS_POLL);
    }

    /// What an instance's processes (and its check commands) see: the release's environment
    /// with its `PORT` and name.
    fn environment(&self, slot: usize) -> Vec<(String, String)> {
        let s = &self.slots[slot];
        let mut env = self.specs[s.spec].env.clone();
        env.retain(|(k, _)| !matches!(k.as_str(), "PORT" | "PS" | "DOZEN_PROCESS"));
        env.push(("PORT".into(), s.port.to_string()));
        env.push(("PS".into(), s.name.clone()));
        env.push(("DOZEN_PROCESS".into(), s.name.clone()));
        if !env.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        }
        env
    }

    /// An input about a check command: its end is the check's result. False for any other.
    fn on_check(&mut self, input: &Input) -> bool {
        let (Input::Spawned { id, .. } | Input::SpawnFailed { id, .. } | Input::Exited { id, .. }) =
            input
        else {
            return false;
        };
        let Some(at) = self.checks.iter().position(|c| c.id == *id) else {
            return false;
        };
        let result = match input {
            Input::SpawnFailed { error, .. } => Err(format!(
                "`{}` could not start: {error}",
                self.checks[at].command
            )),
            Input::Exited { code, signal, .. } => {
                let c = &self.checks[at];
                if c.killed {
                    Err(format!(
                        "`{}` took longer than {}",
                        c.command,
                        human(c.timeout)
                    ))
                } else if *code == Some(0) {
                    Ok(())
                } else {
                    Err(format!(
                        "`{}` {}",
                        c.command,
                        exit::describe_of(*code, *signal)
                    ))
                }
            }
            _ => return true,
        };
        let check = self.checks.remove(at);
        self.on_health(check.instance, result);
        true
    }

    fn slot_of(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    /// Scaled-away instances leave the formation once their process is gone; a roll moves on.
    fn forget_removed(&mut self) {
        self.advance_deploy();
        self.advance_roll();
        self.slots
            .retain(|s| !(s.removed() && s.state == State::Done));
    }

    fn on_signal(&mut self, signal: i32) {
        let name = exit::signal_name(signal);
        self.interrupts += 1;
        if self.stopping {
            if signal == SIGINT || self.interrupts > 1 {
                self.say(format!("{name} again: killing every process now"));
                self.kill_all();
            }
            return;
        }
        self.stop_all(&format!("{name} received"), 128 + signal);
    }

    fn on_exit(&mut self, id: u64, code: Option<i32>, signal: Option<i32>) {
        let Some(slot) = self.slot_of(id) else { return };
        let status = exit::describe_of(code, signal);
        let exit_code = exit::code_of(code, signal);
        let name = self.slots[slot].name.clone();
        // A stop dozen asked for is told as a stop, not as a kill; an exit that stops the
        // formation is told once, with what follows.
        let told = match self.slots[slot].state {
            State::Stopping { killed: true, .. } => {
                Some(format!("{name} stopped (SIGKILL at its kill timeout)"))
            }
            State::Stopping { killed: false, .. } => Some(format!("{name} stopped")),
            _ => None,
        };
        let stops_formation = told.is_none() && self.exit_stops_formation(slot, exit_code);
        if !stops_formation {
            let text = told.unwrap_or_else(|| format!("{name} {status}"));
            self.actions.push(Action::Say {
                text,
                after: Some(id),
            });
        }
        let was_ready = self.slots[slot].ready();
        let replacing = self.moving.is_some() && self.rolling.as_deref() == Some(name.as_str());
        let stopping = self.stopping;
        let s = &mut self.slots[slot];
        s.readiness = Readiness::Pending;
        s.pid = None;
        s.exit_code = Some(exit_code);
        if stopping || s.removed() {
            s.state = State::Done;
            return;
        }
        // A replacement on a new release that exits does not stop the formation: the move
        // stops instead (`advance_roll`). Nor does a roll's extra instance: the roll stops.
        if s.surge || replacing && s.after_exit != AfterExit::Respawn {
            s.state = State::Done;
            return;
        }
        match s.after_exit {
            AfterExit::Hold => {
                s.state = State::Held;
                return;
            }
            AfterExit::Respawn => {
                self.spawn(slot);
                return;
            }
            AfterExit::Policy | AfterExit::Restart | AfterExit::Leave => {}
        }
        let wants_restart = (self.slots[slot].after_exit == AfterExit::Restart)
            || self.policy_restarts(slot, exit_code);
        if wants_restart {
            let uptime = self.now.saturating_duration_since(self.slots[slot].started);
            let limit = self.slots[slot].backoff.max_restarts;
            match self.slots[slot].backoff.next(uptime) {
                Decision::RestartIn { delay, attempt } => {
                    self.say(format!(
                        "{name} restarting in {} (restart {attempt} of {limit})",
                        human(delay)
                    ));
                    self.slots[slot].state = State::Backoff(self.now + delay);
                }
                Decision::GiveUp => {
                    self.slots[slot].state = State::Done;
                    self.stop_all(
                        &format!("{name} gave up after {limit} restarts"),
                        if exit_code == 0 { 1 } else { exit_code },
                    );
                }
            }
        } else if self.settings(slot).may_exit {
            self.slots[slot].state = State::Done;
            // Types waiting on it can no longer wait for readiness it will never reach.
            if !was_ready {
                self.slots[slot].readiness = Readiness::Ready;
            }
            self.start_ready_slots();
        } else {
            self.slots[slot].state = State::Done;
            self.stop_all_after(&format!("{name} {status}"), exit_code, Some(id));
        }
    }

    /// Whether this exit ends in stopping the formation (what [`Machine::on_exit`] decides),
    /// so that its line says so once.
    fn exit_stops_formation(&self, slot: usize, exit_code: i32) -> bool {
        let s = &self.slots[slot];
        let replacing = self.moving.is_some() && self.rolling.as_deref() == Some(s.name.as_str());
        if self.stopping || s.removed() || s.surge || replacing {
            return false;
        }
        s.after_exit == AfterExit::Policy
            && !self.policy_restarts(slot, exit_code)
            && !self.settings(slot).may_exit
    }

    /// Whether the type's restart policy restarts an instance that exited with `exit_code`.
    fn policy_restarts(&self, slot: usize, exit_code: i32) -> bool {
        match self.settings(slot).restart {
            Restart::Always => true,
            Restart::OnFailure => exit_code != 0,
            Restart::No => false,
        }
    }

    fn on_health(&mut self, id: u64, result: Result<(), String>) {
        let Some(slot) = self.slot_of(id) else { return };
        if self.slots[slot].state != State::Running || self.stopping {
            return;
        }
        let Some(check) = self.settings(slot).health.clone() else {
            return;
        };
        let now = self.now;
        let replacing = self.replacing(slot);
        let s = &mut self.slots[slot];
        s.probing = false;
        let elapsed = now.saturating_duration_since(s.started);
        match result {
            Ok(()) => {
                s.failures = 0;
                let every = if s.ready() {
                    check.next_interval(s.probe_every)
                } else {
                    check.interval
                };
                s.probe_every = Some(every);
                s.next_probe = (!check.readiness_only).then_some(now + every);
                if !s.ready() {
                    s.readiness = Readiness::Ready;
                    let text = format!("{} ready in {}", s.name, seconds(elapsed));
                    self.say(text);
                    self.start_ready_slots();
                }
            }
            Err(error) if !s.ready() => {
                let limit = if check.grace.is_zero() {
                    DEFAULT_READINESS_TIMEOUT
                } else {
                    check.grace
                };
                if elapsed >= limit && check.readiness_only && !replacing {
                    // A web that never binds its port at start: said, and no longer waited
                    // for; a replacement in a restart or a move that never does fails it.
                    s.next_probe = None;
                    s.readiness = Readiness::GaveUp;
                    let text = format!(
                        "{} has not accepted connections on port {} within {}: it cannot serve requests ({error})",
                        s.name,
                        s.port,
                        human(limit)
                    );
                    self.say(text);
                    self.start_ready_slots();
                } else if elapsed >= limit {
                    let text = format!(
                        "{} did not become ready within {}: {error}",
                        s.name,
                        human(limit)
                    );
                    self.unhealthy(slot, &text);
                } else {
                    s.next_probe = Some(now + READINESS_POLL);
                }
            }
            Err(error) => {
                s.failures += 1;
                s.probe_every = None;
                s.next_probe = Some(now + check.interval);
                if s.failures >= check.retries {
                    let text = format!(
                        "{} failed its health check {} times: {error}",
                        s.name, s.failures
                    );
                    self.unhealthy(slot, &text);
                }
            }
        }
    }

    /// Whether an instance is a restart's or a move's replacement, or a roll's extra one:
    /// one that must become ready for the roll to go on.
    fn replacing(&self, slot: usize) -> bool {
        self.rolling.as_ref() == Some(&self.slots[slot].name) || self.slots[slot].surge
    }

    /// An instance failed its checks: restart it when its policy allows, else stop.
    fn unhealthy(&mut self, slot: usize, text: &str) {
        let moving = self.moving.is_some() && self.rolling.as_ref() == Some(&self.slots[slot].name);
        if moving || self.slots[slot].surge {
            // A replacement on a new release: stopped, and the move stops (`on_exit`).
            self.say(text);
            self.signal_stop(slot);
            return;
        }
        if self.settings(slot).restart == Restart::No {
            self.stop_all(text, 1);
            return;
        }
        self.say(format!("{text}; restarting it"));
        self.signal_stop(slot);
        self.slots[slot].after_exit = AfterExit::Restart;
    }

    /// Stops the formation: every running instance gets its stop signal, SIGKILL at its
    /// kill timeout. The first reason given decides dozen's exit code.
    fn stop_all(&mut self, reason: &str, code: i32) {
        self.stop_all_after(reason, code, None);
    }

    /// Stops the formation; the line saying why comes after the output of process `after`
    /// when one is given (the exit that caused it).
    fn stop_all_after(&mut self, reason: &str, code: i32, after: Option<u64>) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.exit_code = code;
        self.actions.push(Action::Say {
            text: format!("{reason}; stopping all processes"),
            after,
        });
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                // Signalled once: one already stopping keeps its deadline.
                State::Running => self.signal_stop(slot),
                State::Waiting | State::Backoff(_) | State::Held => {
                    self.slots[slot].state = State::Done;
                }
                State::Stopping { .. } | State::Done => {}
            }
        }
    }

    fn kill_all(&mut self) {
        for slot in 0..self.slots.len() {
            if let State::Stopping {
                deadline,
                killed: false,
                ..
            } = self.slots[slot].state
            {
                self.kill(self.slots[slot].id);
                self.slots[slot].state = State::Stopping {
                    deadline,
                    killed: true,
                    draining: false,
                };
            }
        }
    }

    /// Checks an instance: a connection or a request from a thread of the driver, or a
    /// command started the way every process is (under the nursery), killed at its timeout.
    fn probe(&mut self, slot: usize) {
        let Some(check) = self.settings(slot).health.clone() else {
            return;
        };
        let s = &self.slots[slot];
        if let Some(request) = check.request() {
            self.actions.push(Action::Probe {
                id: s.id,
                request,
                port: s.port,
                timeout: check.timeout,
            });
        } else if let Probe::Command { command } = &check.probe {
            let id = self.next_id;
            self.next_id += 1;
            self.actions.push(Action::Spawn(Start {
                id,
                name: s.name.clone(),
                type_index: s.type_index,
                command: command.clone(),
                env: self.environment(slot),
                cwd: self.specs[s.spec].cwd.clone(),
                stop_signal: rustix::process::Signal::TERM.as_raw(),
                kill_timeout: CHECK_LEFTOVER_GRACE,
                tty: false,
                check: true,
            }));
            self.checks.push(CommandCheck {
                id,
                instance: s.id,
                command: command.clone(),
                timeout: check.timeout,
                deadline: self.now + check.timeout,
                killed: false,
            });
        }
        self.slots[slot].probing = true;
    }

    /// Release `version`'s spec, for a move to it; the response to give when there is none
    /// (the run does not follow releases, or the release cannot be loaded).
    fn load_release(
        &self,
        version: u32,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, String>>,
    ) -> Result<Spec, Box<Response>> {
        let Some(load) = load else {
            return Err(Box::new(Response {
                message: Some(
                    "the running formation does not follow the current release (it was started with --dev or --release)"
                        .to_owned(),
                ),
                ..self.status()
            }));
        };
        load(version)
            .map_err(|error| Box::new(Response::error(format!("cannot load v{version}: {error}"))))
    }

    /// Why a restart, a move or a scale must wait, when one must.
    fn busy(&self) -> Option<String> {
        if let Some(deploy) = &self.deploy {
            let what = if deploy.canary.is_some() {
                "a canary release"
            } else {
                "a blue-green deploy"
            };
            return Some(match deploy.phase {
                DeployPhase::Starting | DeployPhase::Promoting | DeployPhase::Smoke => format!(
                    "{what} is starting {}'s new side; try again when it is done",
                    deploy.type_name
                ),
                DeployPhase::Analysing => format!(
                    "{what} of {} is being analysed; try again when it is promoted or aborted (`dozen canary`)",
                    deploy.type_name
                ),
                DeployPhase::Switched { until } => format!(
                    "a blue-green deploy keeps {}'s old side for {} more; try again then",
                    deploy.type_name,
                    human(until.saturating_duration_since(self.now))
                ),
            });
        }
        (self.moving.is_some() || self.rolling.is_some() || !self.roll.is_empty())
            .then(|| "a restart or a move is in progress; try again when it is done".to_owned())
    }

    /// Moves the routed type to release `version` blue-green (docs/deploy.md): a whole
    /// candidate side of it on the other half of its ports, weight 0 until every instance is
    /// ready, then all requests at once; the old side stays, idle, for `keep`, then drains
    /// and stops. The other types move one at a time after the switch, as in a rolling move.
    fn blue_green(
        &mut self,
        version: u32,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, String>>,
        keep: Duration,
        canary: Option<control::CanaryPlan>,
    ) -> Response {
        if self.stopping {
            return Response::error("the formation is stopping");
        }
        if let Some(busy) = self.busy() {
            return Response::error(busy);
        }
        if canary.as_ref().is_some_and(|plan| plan.steps.is_empty()) {
            // (A client of the control socket could send one; dozen.toml cannot.)
            return Response::error("a canary needs at least one step");
        }
        let Some(routed) = self.routed.clone() else {
            return Response::error(
                "blue-green switches the router from one side to the other, and this run has no router: run with --router, or release without --strategy",
            );
        };
        let spec = match self.load_release(version, load) {
            Ok(spec) => spec,
            Err(response) => return *response,
        };
        let Some(type_index) = spec.types.iter().position(|t| t.name == routed) else {
            return Response::error(format!(
                "v{version} has no `{routed}` type to switch to; release it with the rolling strategy"
            ));
        };
        let mut green = match self.new_side(&routed) {
            Ok(green) => green,
            Err(error) => return Response::error(error),
        };
        let is_canary = canary.is_some();
        if let Some(plan) = &canary {
            // A canary starts with its own few instances; the rest come at promotion.
            green.sort_unstable();
            green.truncate(usize::try_from(plan.instances.max(1)).unwrap_or(usize::MAX));
        }
        let release = spec.release.clone();
        let (old, new) = (self.current, self.specs.len());
        self.specs.push(spec);
        self.current = new;
        self.moving = Some(old);
        self.begin_roll(RollKind::Move, Some(release.clone()));
        self.deploy = Some(Deploy {
            type_name: routed.clone(),
            old,
            phase: DeployPhase::Starting,
            keep,
            smoke: None,
            canary: canary.map(|plan| Canary {
                plan,
                step: 0,
                step_started: self.now,
                baseline: None,
                latest: None,
                held: 0,
                next_check: self.now,
            }),
        });
        let (n, plural) = (green.len(), if green.len() == 1 { "" } else { "s" });
        self.say(if is_canary {
            format!(
                "{release} is current: starting {n} canary instance{plural} of {routed} beside the running ones; they get a share of requests, step by step, while the router compares them"
            )
        } else {
            format!(
                "{release} is current: starting a new side of {routed} ({n} instance{plural}) beside the running one; requests switch to it once all of it is ready"
            )
        });
        for (index, port) in green {
            let mut slot = new_slot(&self.specs[new], new, type_index, index, port, self.now);
            slot.candidate = true;
            self.slots.push(slot);
            let at = self.slots.len() - 1;
            self.spawn(at);
        }
        let how = if is_canary { "by canary" } else { "blue-green" };
        Response {
            message: Some(format!(
                "the running formation is moving {routed} to {release} {how}"
            )),
            ..self.status()
        }
    }

    /// Where a new side of `routed` starts: each instance's index, on the other half of the
    /// type's ports (each index has two ports, one per side).
    fn new_side(&self, routed: &str) -> Result<Vec<(u32, u16)>, String> {
        let blue: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| self.type_name(s) == routed && !s.removed() && !s.surge)
            .collect();
        if blue.is_empty() {
            return Err(format!(
                "no instance of `{routed}` runs: there is no side to switch from"
            ));
        }
        let mut green = Vec::new();
        for s in blue {
            if s.index > u32::from(HALF) {
                return Err(format!(
                    "blue-green gives each side half of {routed}'s 100 ports: at most {HALF} instances ({} runs)",
                    s.name
                ));
            }
            let port = other_half(s.port, self.base_port);
            if let Some(error) = (self.port_taken)(port) {
                return Err(format!(
                    "port {port} for the new side's {} is already in use ({error})",
                    s.name
                ));
            }
            green.push((s.index, port));
        }
        Ok(green)
    }

    /// Moves a blue-green deploy on: switches once the candidate side is ready, aborts when
    /// one of it cannot be, and ends the old side when its window has passed.
    fn advance_deploy(&mut self) {
        let Some(deploy) = &self.deploy else {
            return;
        };
        match deploy.phase {
            DeployPhase::Starting | DeployPhase::Promoting | DeployPhase::Smoke => {
                let candidates: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| self.slots[i].candidate && !self.slots[i].removed())
                    .collect();
                let failed = candidates.iter().copied().find(|&i| {
                    let s = &self.slots[i];
                    matches!(s.state, State::Backoff(_) | State::Done | State::Held)
                        || s.readiness == Readiness::GaveUp
                });
                let ready = candidates.iter().all(|&i| {
                    let s = &self.slots[i];
                    s.state == State::Running && s.readiness == Readiness::Ready
                });
                let canary_starting =
                    deploy.phase == DeployPhase::Starting && deploy.canary.is_some();
                if let Some(slot) = failed {
                    let name = self.slots[slot].name.clone();
                    let to = self.specs[self.current].release.clone();
                    self.abort_deploy(&format!("{name} did not become ready on {to}"), Some(&name));
                } else if ready && canary_starting {
                    self.begin_step(0);
                } else if ready && deploy.phase == DeployPhase::Starting && deploy.smoke.is_some() {
                    self.start_smoke();
                } else if ready && deploy.phase != DeployPhase::Smoke {
                    self.switch();
                }
            }
            DeployPhase::Switched { until } if self.now >= until => self.end_old_side(),
            DeployPhase::Analysing | DeployPhase::Switched { .. } => {}
        }
    }

    /// A canary's step `step` begins: its weight, a fresh baseline at the next measurement.
    fn begin_step(&mut self, step: usize) {
        let now = self.now;
        let Some(canary) = self.deploy.as_mut().and_then(|d| {
            d.phase = DeployPhase::Analysing;
            d.canary.as_mut()
        }) else {
            return;
        };
        canary.step = step;
        canary.step_started = now;
        canary.baseline = None;
        canary.next_check = now;
        let percent = canary.plan.steps[step].min(100);
        let (n, of) = (step + 1, canary.plan.steps.len());
        let interval = Duration::from_millis(canary.plan.interval_ms);
        self.actions.push(Action::SetWeight(percent * 100));
        self.say(format!(
            "canary step {n} of {of}: {percent}% of requests for {}, compared with the stable side",
            human(interval)
        ));
    }

    /// Whether a canary's analysis wants the router's measurements now.
    pub fn wants_side_stats(&self, now: Instant) -> bool {
        self.deploy.as_ref().is_some_and(|d| {
            d.phase == DeployPhase::Analysing
                && d.canary.as_ref().is_some_and(|c| now >= c.next_check)
        })
    }

    /// The router's counts of each side: the canary's analysis (docs/deploy.md). A breach of
    /// the error rate aborts at once (once the canary served `min_requests` in the step); at
    /// the step's end the p99 is compared too, and a step that passes moves to the next.
    fn on_side_stats(&mut self, stable: Snapshot, candidate: Snapshot) {
        let now = self.now;
        let Some(canary) = self
            .deploy
            .as_mut()
            .filter(|d| d.phase == DeployPhase::Analysing)
            .and_then(|d| d.canary.as_mut())
        else {
            return;
        };
        let interval = Duration::from_millis(canary.plan.interval_ms.max(1));
        canary.next_check = later(now, interval / CHECKS_PER_INTERVAL);
        canary.latest = Some((stable.clone(), candidate.clone()));
        let Some((base_stable, base_candidate)) = &canary.baseline else {
            canary.baseline = Some((stable, candidate));
            return;
        };
        let (s, c) = (stable.since(base_stable), candidate.since(base_candidate));
        let plan = &canary.plan;
        let percent = plan.steps[canary.step].min(100);
        let at_step = format!("at step {} ({percent}%)", canary.step + 1);
        let enough = c.requests >= plan.min_requests;
        let (c_rate, s_rate) = (c.error_rate() * 100.0, s.error_rate() * 100.0);
        let rate_limit = plan
            .max_error_rate
            .min(s_rate + plan.max_error_rate_increase);
        if enough && c_rate > rate_limit {
            let reason = format!(
                "canary error rate {c_rate:.1}% > {rate_limit:.1}% (stable {s_rate:.1}%; {} of {} requests failed) {at_step}",
                c.errors, c.requests
            );
            self.abort_deploy(&reason, None);
            return;
        }
        if now < later(canary.step_started, interval) {
            return;
        }
        if !enough {
            canary.held += 1;
            let held = canary.held;
            let min = plan.min_requests;
            if held > MAX_HELD {
                let reason = format!(
                    "not enough traffic to judge the canary: {} requests in {} {at_step}, {min} needed",
                    c.requests,
                    human(interval)
                );
                self.abort_deploy(&reason, None);
            } else {
                canary.step_started = now;
                canary.baseline = None;
                let requests = c.requests;
                self.say(format!(
                    "canary {at_step}: {requests} requests, {min} needed to judge it; the step is held ({held} of {MAX_HELD})"
                ));
            }
            return;
        }
        if let Some(reason) = p99_breach(plan, &s, &c) {
            self.abort_deploy(&format!("{reason} {at_step}"), None);
            return;
        }
        let next = canary.step + 1;
        let last = next >= canary.plan.steps.len();
        self.say(format!(
            "canary {at_step} passed: {} requests, error rate {c_rate:.1}% (stable {s_rate:.1}%)",
            c.requests
        ));
        if last {
            self.promote();
        } else {
            self.begin_step(next);
        }
    }

    /// The canary is promoted: its side grows to the formation's size, and takes every
    /// request once all of it is ready; the old side then stops (every step compared them).
    fn promote(&mut self) {
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        deploy.phase = DeployPhase::Promoting;
        let type_name = deploy.type_name.clone();
        let new = self.current;
        let have: Vec<u32> = self
            .slots
            .iter()
            .filter(|s| s.candidate && !s.removed())
            .map(|s| s.index)
            .collect();
        let missing: Vec<(u32, u16)> = self
            .slots
            .iter()
            .filter(|s| {
                self.type_name(s) == type_name
                    && !s.candidate
                    && !s.removed()
                    && !s.surge
                    && !have.contains(&s.index)
            })
            .map(|s| (s.index, other_half(s.port, self.base_port)))
            .collect();
        let Some(type_index) = self.specs[new]
            .types
            .iter()
            .position(|t| t.name == type_name)
        else {
            return;
        };
        self.say(format!(
            "canary promoted: starting {} more instance{} of {type_name} on {}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            self.specs[new].release
        ));
        for (index, port) in missing {
            let mut slot = new_slot(&self.specs[new], new, type_index, index, port, self.now);
            slot.candidate = true;
            self.slots.push(slot);
            let at = self.slots.len() - 1;
            self.spawn(at);
        }
        self.advance_deploy();
    }

    /// `dozen canary status|promote|abort`.
    fn canary_control(&mut self, action: control::CanaryAction) -> Response {
        let phase = self
            .deploy
            .as_ref()
            .filter(|d| d.canary.is_some())
            .map(|d| d.phase);
        let Some(phase) = phase else {
            return Response::error("no canary release is running");
        };
        match action {
            control::CanaryAction::Status => {}
            control::CanaryAction::Promote if phase == DeployPhase::Analysing => {
                self.say("canary promoted by hand: the remaining steps are skipped");
                self.promote();
            }
            control::CanaryAction::Promote => {
                return Response::error(
                    "the canary is not being analysed (it is still starting, or already promoted)",
                );
            }
            control::CanaryAction::Abort => self.abort_deploy("aborted by hand", None),
        }
        Response {
            message: Some(
                match action {
                    control::CanaryAction::Status => "",
                    control::CanaryAction::Promote => "the canary is promoted",
                    control::CanaryAction::Abort => "the canary is aborted",
                }
                .to_owned(),
            )
            .filter(|m| !m.is_empty()),
            ..self.status()
        }
    }

    /// `dozen canary`'s view of the analysis.
    fn canary_status(&self) -> Option<control::CanaryStatus> {
        let deploy = self.deploy.as_ref()?;
        let canary = deploy.canary.as_ref()?;
        let report = |now: Option<&Snapshot>, base: Option<&Snapshot>| {
            let (Some(now), Some(base)) = (now, base) else {
                return control::SideReport::default();
            };
            let step = now.since(base);
            control::SideReport {
                requests: step.requests,
                errors: step.errors,
                error_rate: step.error_rate() * 100.0,
                p99_ms: step.percentile(99.0).map(|d| d.as_secs_f64() * 1000.0),
            }
        };
        let (latest, base) = (canary.latest.as_ref(), canary.baseline.as_ref());
        let interval = Duration::from_millis(canary.plan.interval_ms);
        let analysing = deploy.phase == DeployPhase::Analysing;
        Some(control::CanaryStatus {
            release: self.specs[self.current].release.clone(),
            state: match deploy.phase {
                DeployPhase::Starting | DeployPhase::Smoke => control::CanaryState::Starting,
                DeployPhase::Analysing => control::CanaryState::Analysing,
                DeployPhase::Promoting | DeployPhase::Switched { .. } => {
                    control::CanaryState::Promoting
                }
            },
            step: if deploy.phase == DeployPhase::Starting {
                0
            } else {
                canary.step + 1
            },
            steps: canary.plan.steps.clone(),
            weight_percent: match deploy.phase {
                DeployPhase::Analysing => f64::from(canary.plan.steps[canary.step].min(100)),
                DeployPhase::Starting | DeployPhase::Smoke => 0.0,
                DeployPhase::Promoting | DeployPhase::Switched { .. } => 100.0,
            },
            step_left_ms: if analysing {
                u64::try_from(
                    later(canary.step_started, interval)
                        .saturating_duration_since(self.now)
                        .as_millis(),
                )
                .unwrap_or(u64::MAX)
            } else {
                0
            },
            stable: report(latest.map(|l| &l.0), base.map(|b| &b.0)),
            canary: report(latest.map(|l| &l.1), base.map(|b| &b.1)),
            plan: canary.plan.clone(),
        })
    }

    /// The new side is ready: its smoke test runs, against it through the router
    /// (`X-Dozen-Side: candidate`), before anything switches.
    fn start_smoke(&mut self) {
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        let Some(smoke) = deploy.smoke.clone() else {
            return;
        };
        deploy.phase = DeployPhase::Smoke;
        let spec = &self.specs[self.current];
        let mut env = spec.env.clone();
        env.retain(|(k, _)| !matches!(k.as_str(), "PORT" | "PS" | "DOZEN_PROCESS"));
        let cwd = spec.cwd.clone();
        self.say(format!(
            "the new side is ready: running the smoke test `{}`",
            smoke.command
        ));
        self.actions.push(Action::Smoke {
            command: smoke.command,
            env,
            cwd,
            timeout: Duration::from_millis(smoke.timeout_ms),
        });
    }

    /// Every request to the candidate side, at once; the other types move next.
    fn switch(&mut self) {
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        let until = later(self.now, deploy.keep);
        deploy.phase = DeployPhase::Switched { until };
        let (type_name, keep) = (deploy.type_name.clone(), deploy.keep);
        let (from, to) = (
            self.specs[deploy.old].release.clone(),
            self.specs[self.current].release.clone(),
        );
        self.actions.push(Action::SetWeight(10_000));
        if keep.is_zero() {
            self.say(format!("{type_name} switched to {to}"));
        } else {
            self.say(format!(
                "{type_name} switched to {to}; {from}'s side stays, idle, for {} (until then a release waits)",
                human(keep)
            ));
        }
        // The other types move one at a time, as in a rolling move; types the new release
        // lacks stop. The move is done when they have moved (at once when there are none).
        let rest = self.mark_for_move(|s, name| !s.surge && name != type_name);
        self.add_new_types();
        self.queue_roll(&rest);
        if keep.is_zero() {
            // A canary: every step compared the two sides; nothing to keep.
            self.end_old_side();
        }
    }

    /// The old side's window has passed: it drains and stops, and the candidate side is the
    /// formation.
    fn end_old_side(&mut self) {
        let Some(deploy) = self.deploy.take() else {
            return;
        };
        let mut stopped = 0;
        for slot in 0..self.slots.len() {
            let s = &self.slots[slot];
            if self.type_name(s) == deploy.type_name && !s.candidate && !s.removed() && !s.surge {
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
                stopped += 1;
            }
        }
        for slot in &mut self.slots {
            slot.candidate = false;
        }
        self.actions.push(Action::SetWeight(0));
        if self.moving.is_none() {
            self.specs[deploy.old].keep = None;
        }
        let from = self.specs[deploy.old].release.clone();
        self.say(format!(
            "{from}'s side of {} stops ({stopped} instance{})",
            deploy.type_name,
            if stopped == 1 { "" } else { "s" }
        ));
    }

    /// During a blue-green window, a release of exactly what the old side runs (`dozen
    /// rollback`: the same build tree, config and commands) switches back to it at once,
    /// starting nothing; the new side drains and stops. Any other release waits.
    fn switch_back(&mut self, spec: Spec) -> Response {
        let Some(deploy) = &self.deploy else {
            return Response::error("no blue-green deploy to switch back");
        };
        let old = &self.specs[deploy.old];
        let same = |a: &Spec, b: &Spec| {
            let env = |s: &Spec| {
                s.env
                    .iter()
                    .filter(|(k, _)| k != "DOZEN_RELEASE")
                    .cloned()
                    .collect::<Vec<_>>()
            };
            a.cwd == b.cwd
                && env(a) == env(b)
                && a.types
                    .iter()
                    .map(|t| (&t.name, &t.command))
                    .eq(b.types.iter().map(|t| (&t.name, &t.command)))
        };
        if !same(&spec, old) {
            return Response::error(self.busy().unwrap_or_default());
        }
        let deploy = self.deploy.take().expect("checked");
        let release = spec.release.clone();
        let (switched, back) = (self.current, self.specs.len());
        let from = self.specs[switched].release.clone();
        self.specs.push(spec);
        self.current = back;
        self.begin_roll(RollKind::Move, Some(release.clone()));
        self.actions.push(Action::SetWeight(0));
        let mut others = Vec::new();
        for slot in 0..self.slots.len() {
            let s = &self.slots[slot];
            if s.candidate {
                self.slots[slot].candidate = false;
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            } else if s.spec == deploy.old {
                // The same build and config: its instances go on, as the release they are.
                self.slots[slot].spec = back;
            } else if s.spec == switched && !s.removed() {
                // The other types had moved on after the switch: they move back.
                others.push(s.name.clone());
                self.slots[slot].next_spec = Some(back);
            }
        }
        self.specs[deploy.old].keep = None;
        self.say(format!(
            "{} switched back to {release} (what {from} replaced, kept idle until now); {from}'s side stops",
            deploy.type_name
        ));
        if others.is_empty() {
            self.actions.push(Action::LogMove {
                release: release.clone(),
                outcome: "moved",
                failed: None,
            });
            self.set_roll(RollState::Done, None);
        } else {
            self.moving = Some(switched);
            self.queue_roll(&others);
            self.advance_roll();
        }
        Response {
            message: Some(format!(
                "the running formation switched {} back to {release}: nothing started",
                deploy.type_name
            )),
            ..self.status()
        }
    }

    /// A candidate could not start or become ready: its side stops, and the formation stays
    /// as it was, on the release it ran.
    fn abort_deploy(&mut self, reason: &str, failed: Option<&str>) {
        let Some(deploy) = self.deploy.take() else {
            return;
        };
        let (from, to) = (
            self.specs[deploy.old].release.clone(),
            self.specs[self.current].release.clone(),
        );
        for slot in 0..self.slots.len() {
            if self.slots[slot].candidate && !self.slots[slot].removed() {
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            }
            self.slots[slot].next_spec = None;
        }
        self.current = deploy.old;
        self.moving = None;
        self.actions.push(Action::SetWeight(0));
        let what = if deploy.canary.is_some() {
            "the canary release"
        } else {
            "the blue-green deploy"
        };
        self.say(format!(
            "{reason}: {what} is aborted; every request goes to {from}, where {} stays",
            deploy.type_name
        ));
        self.actions.push(Action::LogMove {
            release: to,
            outcome: "stopped",
            failed: failed.map(str::to_owned),
        });
        self.set_roll(RollState::Failed, failed);
        if failed.is_none()
            && let Some(roll) = &mut self.last_roll
        {
            roll.reason = Some(reason.to_owned());
        }
    }

    /// Moves the formation to release `version`: instance by instance, each replacement ready
    /// before the next instance stops, as a rolling restart; a replacement that does not come
    /// back ends the move and is started again on the release it left.
    fn move_to(
        &mut self,
        version: u32,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, String>>,
    ) -> Response {
        if self.stopping {
            return Response::error("the formation is stopping");
        }
        let switched = self
            .deploy
            .as_ref()
            .is_some_and(|d| matches!(d.phase, DeployPhase::Switched { .. }));
        if let Some(busy) = self.busy().filter(|_| !switched) {
            return Response::error(busy);
        }
        let spec = match self.load_release(version, load) {
            Ok(spec) => spec,
            Err(response) => return *response,
        };
        if switched {
            return self.switch_back(spec);
        }
        let release = spec.release.clone();
        let (old, new) = (self.current, self.specs.len());
        self.specs.push(spec);
        self.current = new;
        self.moving = Some(old);
        self.say(format!(
            "{release} is current: moving the formation to it, one instance at a time"
        ));
        let names = self.mark_for_move(|_, _| true);
        self.add_new_types();
        self.begin_roll(RollKind::Move, Some(release.clone()));
        self.queue_roll(&names);
        self.advance_roll();
        Response {
            message: Some(format!(
                "the running formation is moving {} to {release}, one at a time",
                names.join(", ")
            )),
            ..self.status()
        }
    }

    /// Marks the live instances `which` picks (by slot and type name) to move to the current
    /// spec, in type and index order, and returns their names; instances of types the current
    /// spec no longer has stop.
    fn mark_for_move(&mut self, which: impl Fn(&Slot, &str) -> bool) -> Vec<String> {
        let new = self.current;
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                let s = &self.slots[i];
                !s.removed() && which(s, self.type_name(s))
            })
            .collect();
        order.sort_by_key(|&i| {
            (
                self.type_order(self.type_name(&self.slots[i])),
                self.slots[i].index,
            )
        });
        let mut names = Vec::new();
        for slot in order {
            let type_name = self.type_name(&self.slots[slot]).to_owned();
            if self.types().iter().any(|t| t.name == type_name) {
                self.slots[slot].next_spec = Some(new);
                names.push(self.slots[slot].name.clone());
            } else {
                // The new release has no such type any more.
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            }
        }
        names
    }

    /// Types the current spec has and the formation does not: started with the count a fresh
    /// run of that release would use.
    fn add_new_types(&mut self) {
        let spec = &self.specs[self.current];
        let mut added = Vec::new();
        for (type_index, t) in spec.types.iter().enumerate() {
            if self.slots.iter().any(|s| self.type_name(s) == t.name) {
                continue;
            }
            for index in 1..=spec.counts.get(&t.name).copied().unwrap_or(0) {
                match instance_port(self.base_port, type_index, index) {
                    Ok(port) if (self.port_taken)(port).is_none() => {
                        added.push((type_index, index, port));
                    }
                    _ => {}
                }
            }
        }
        for (type_index, index, port) in added {
            let slot = new_slot(
                &self.specs[self.current],
                self.current,
                type_index,
                index,
                port,
                self.now,
            );
            self.slots.push(slot);
        }
        self.start_ready_slots();
    }

    /// Runs `action` on the instances `target` names, answering with what it did.
    fn targeted(
        &mut self,
        target: Option<&str>,
        action: fn(&mut Self, &[String]) -> String,
    ) -> Response {
        if self.stopping {
            return Response::error("the formation is stopping");
        }
        // Both sides' instances have the same names until a deploy ends.
        if self.deploy.is_some()
            && let Some(busy) = self.busy()
        {
            return Response::error(busy);
        }
        match self.targets(target) {
            Ok(names) => {
                let message = action(self, &names);
                Response {
                    message: Some(message),
                    ..self.status()
                }
            }
            Err(error) => Response {
                usage: true,
                ..Response::error(error)
            },
        }
    }

    /// The instances a `restart`/`stop` argument names, in Procfile and index order: every
    /// one (`None`), a type's (`web`), or one (`web.2`).
    fn targets(&self, target: Option<&str>) -> Result<Vec<String>, String> {
        let order = |s: &Slot| self.type_order(self.type_name(s));
        let mut live: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| !s.removed() && !s.surge)
            .collect();
        live.sort_by_key(|s| (order(s), s.index));
        let names = |filter: &dyn Fn(&Slot) -> bool| -> Vec<String> {
            live.iter()
                .filter(|s| filter(s))
                .map(|s| s.name.clone())
                .collect()
        };
        let Some(target) = target else {
            return Ok(names(&|_| true));
        };
        if self.types().iter().any(|t| t.name == target) {
            let found = names(&|s| self.type_name(s) == target);
            if found.is_empty() {
                return Err(format!("`{target}` has no instances (scale it up first)"));
            }
            return Ok(found);
        }
        if live.iter().any(|s| s.name == target) {
            return Ok(vec![target.to_owned()]);
        }
        let candidates: Vec<&str> = self
            .types()
            .iter()
            .map(|t| t.name.as_str())
            .chain(live.iter().map(|s| s.name.as_str()))
            .collect();
        let hint = crate::diagnostic::did_you_mean(target, candidates.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(format!(
            "`{target}` is neither a process type nor a running instance{hint}"
        ))
    }

    /// Whether `name` is queued for (or in) the current roll.
    fn in_roll(&self, name: &str) -> bool {
        self.rolling.as_deref() == Some(name)
            || self
                .roll
                .iter()
                .any(|s| matches!(s, Step::Replace(n) if n == name))
    }

    /// Queues a rolling restart: one instance at a time, the next once the previous one's
    /// replacement is ready (ports stay the same, so an instance stops before it starts
    /// again; see docs/control.md).
    fn restart(&mut self, names: &[String]) -> String {
        let fresh: Vec<String> = names.iter().filter(|n| !self.in_roll(n)).cloned().collect();
        if !fresh.is_empty() {
            self.begin_roll(RollKind::Restart, None);
        }
        self.queue_roll(&fresh);
        self.advance_roll();
        format!("restarting {}, one at a time", names.join(", "))
    }

    /// Stops instances gracefully and keeps them stopped until scaled or restarted.
    fn stop(&mut self, names: &[String]) -> String {
        self.roll
            .retain(|s| !matches!(s, Step::Replace(n) if names.contains(n)));
        for name in names {
            let Some(slot) = self
                .slots
                .iter()
                .position(|s| &s.name == name && !s.removed())
            else {
                continue;
            };
            match self.slots[slot].state {
                State::Running => {
                    self.signal_stop(slot);
                    self.slots[slot].after_exit = AfterExit::Hold;
                }
                State::Stopping { .. } => self.slots[slot].after_exit = AfterExit::Hold,
                State::Waiting | State::Backoff(_) | State::Done => {
                    self.slots[slot].state = State::Held;
                }
                State::Held => {}
            }
        }
        format!("stopping {}", names.join(", "))
    }

    /// A moved instance did not come back: the move stops, the instance starts again on the
    /// release it left, and the others go back to it too.
    fn abandon_move(&mut self, failed: usize, old: usize) {
        let new = self.current;
        let (from, to) = (
            self.specs[old].release.clone(),
            self.specs[new].release.clone(),
        );
        self.current = old;
        for slot in &mut self.slots {
            slot.next_spec = None;
        }
        let name = self.slots[failed].name.clone();
        self.say(format!(
            "{name} did not become ready on {to}: the move stopped; the formation stays on {from}"
        ));
        self.actions.push(Action::LogMove {
            release: to,
            outcome: "stopped",
            failed: Some(name.clone()),
        });
        // Instances the move added for types only the new release has go again.
        for slot in 0..self.slots.len() {
            let type_name = self.type_name(&self.slots[slot]).to_owned();
            let new_type = !self.specs[old].types.iter().any(|t| t.name == type_name);
            if self.slots[slot].spec == new && new_type {
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            }
        }
        let stopped = matches!(self.slots[failed].state, State::Backoff(_) | State::Done);
        if stopped && !self.slots[failed].surge {
            self.slots[failed].next_spec = Some(old);
            self.spawn(failed);
            // Nothing else stops until it serves again.
            self.rolling = Some(name.clone());
        }
        // Instances that had moved go back, one at a time as they came: the formation runs
        // the release it left, all of it, as `releases` will say once the release is aborted.
        let moved: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                let s = &self.slots[i];
                s.spec == new && !s.removed() && !s.surge && i != failed
            })
            .collect();
        let mut back = Vec::new();
        for i in moved {
            self.slots[i].next_spec = Some(old);
            back.push(self.slots[i].name.clone());
        }
        self.set_roll(RollState::RollingBack, Some(&name));
        if !back.is_empty() {
            self.say(format!("moving {} back to {from}", back.join(", ")));
            self.queue_roll(&back);
        }
        if back.is_empty() && self.rolling.is_none() {
            self.set_roll(RollState::Failed, None);
        } else {
            self.rolling_back = true;
        }
    }

    /// Stops an instance: a routed one leaves the router's rotation first and is signalled
    /// once its requests are done (or at its kill timeout); others are signalled at once.
    fn signal_stop(&mut self, slot: usize) {
        if self.routed_slot(slot) {
            let id = self.slots[slot].id;
            self.actions.push(Action::Drain { id });
            self.stopping(slot, true);
            return;
        }
        self.send_stop(slot);
    }

    /// The moment `timeout` from now. Timeouts are bounded (a day), but a deadline must never
    /// overflow.
    fn after(&self, timeout: Duration) -> Instant {
        self.now
            .checked_add(timeout)
            .unwrap_or_else(|| self.now + crate::app::duration::Duration::MAX)
    }

    /// Whether the router sends this instance requests now: a ready, running instance of
    /// the routed type.
    fn routed_slot(&self, slot: usize) -> bool {
        let s = &self.slots[slot];
        self.routed
            .as_deref()
            .is_some_and(|routed| self.type_name(s) == routed)
            && s.state == State::Running
            && s.readiness == Readiness::Ready
    }

    /// What the router may send requests to, in instance order.
    pub fn routes(&self) -> Vec<crate::router::Route> {
        (0..self.slots.len())
            .filter(|&slot| self.routed_slot(slot))
            .map(|slot| crate::router::Route {
                id: self.slots[slot].id,
                name: self.slots[slot].name.clone(),
                port: self.slots[slot].port,
                side: if self.slots[slot].candidate {
                    crate::router::Side::Candidate
                } else {
                    crate::router::Side::Stable
                },
            })
            .collect()
    }

    /// Puts a router in front of `type_name`: its instances drain before they stop.
    pub fn route(&mut self, type_name: &str) {
        self.routed = Some(type_name.to_owned());
    }

    /// Sends an instance its stop signal; SIGKILL follows at its kill timeout.
    fn send_stop(&mut self, slot: usize) {
        let (id, signal) = (self.slots[slot].id, self.settings(slot).stop_signal);
        self.actions.push(Action::Signal { id, signal });
        self.stopping(slot, false);
    }

    /// The instance is stopping: draining (its signal still to come), or signalled; either
    /// way until its kill timeout from now.
    fn stopping(&mut self, slot: usize, draining: bool) {
        let deadline = self.after(self.settings(slot).kill_timeout);
        let s = &mut self.slots[slot];
        s.next_probe = None;
        s.state = State::Stopping {
            deadline,
            killed: false,
            draining,
        };
    }

    /// Queues instances for a roll, type by type: first an extra instance of the type, ready
    /// before any of them stops, then each instance, then the extra one goes.
    fn queue_roll(&mut self, names: &[String]) {
        let type_of = |n: &str| n.rsplit_once('.').map_or("", |(t, _)| t).to_owned();
        let mut i = 0;
        while i < names.len() {
            let type_name = type_of(&names[i]);
            let group: Vec<String> = names[i..]
                .iter()
                .take_while(|n| type_of(n) == type_name)
                .cloned()
                .collect();
            i += group.len();
            self.roll.push_back(Step::Surge(type_name.clone()));
            self.roll.extend(group.into_iter().map(Step::Replace));
            self.roll.push_back(Step::EndSurge(type_name));
        }
    }

    /// Starts the extra instance of a type for a roll, from the current spec, on the port of
    /// the type's next index. None when that port is taken or out of range: the roll goes on
    /// without it.
    fn start_surge(&mut self, type_name: &str) -> Option<String> {
        let type_index = self.types().iter().position(|t| t.name == type_name)?;
        let count = self.formation().counts.get(type_name).copied().unwrap_or(0);
        let index = count + 1;
        let name = format!("{type_name}.{index}");
        if index > crate::app::manifest::MAX_INSTANCES || self.slots.iter().any(|s| s.name == name)
        {
            return None;
        }
        let port = instance_port(self.base_port, type_index, index).ok()?;
        if (self.port_taken)(port).is_some() {
            return None;
        }
        let spec = &self.specs[self.current];
        let mut slot = new_slot(spec, self.current, type_index, index, port, self.now);
        slot.surge = true;
        self.slots.push(slot);
        let at = self.slots.len() - 1;
        self.say(format!(
            "starting {name} to hold {type_name}'s capacity during the roll"
        ));
        self.spawn(at);
        Some(name)
    }

    /// Stops the extra instances of a roll (of one type, or all of them).
    fn end_surge(&mut self, type_name: Option<&str>) {
        for slot in 0..self.slots.len() {
            let matches = type_name.is_none_or(|t| self.type_name(&self.slots[slot]) == t);
            if self.slots[slot].surge && !self.slots[slot].removed() && matches {
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            }
        }
    }

    /// Moves a roll on: waits for the instance being replaced to be ready again, then stops
    /// the next one. A replacement that crashes or fails its checks ends the roll.
    fn advance_roll(&mut self) {
        if self
            .deploy
            .as_ref()
            .is_some_and(|d| !matches!(d.phase, DeployPhase::Switched { .. }))
        {
            // A deploy's other types wait for its switch (and its move is not done before).
            return;
        }
        loop {
            if let Some(name) = self.rolling.clone() {
                let Some(slot) = self
                    .slots
                    .iter()
                    .position(|s| s.name == name && !s.removed())
                else {
                    self.rolling = None;
                    continue;
                };
                let s = &self.slots[slot];
                let has_check = self.specs[s.spec].types[s.type_index].health.is_some();
                match s.state {
                    State::Running if s.ready() || (!has_check && s.pid.is_some()) => {
                        self.rolling = None;
                    }
                    State::Running | State::Stopping { .. } | State::Waiting => return,
                    State::Held => self.rolling = None,
                    State::Backoff(_) | State::Done => {
                        self.roll_failed(slot, &name);
                        return;
                    }
                }
                continue;
            }
            let Some(step) = self.roll.pop_front() else {
                self.finish_roll();
                return;
            };
            let name = match step {
                Step::Surge(type_name) => {
                    self.rolling = self.start_surge(&type_name);
                    continue;
                }
                Step::EndSurge(type_name) => {
                    self.end_surge(Some(&type_name));
                    continue;
                }
                Step::Replace(name) => name,
            };
            let Some(slot) = self
                .slots
                .iter()
                .position(|s| s.name == name && !s.removed() && !s.surge)
            else {
                continue;
            };
            match self.slots[slot].state {
                State::Running => {
                    let what = match self.slots[slot].next_spec {
                        Some(next) => format!("moving {name} to {}", self.specs[next].release),
                        None => format!("restarting {name}"),
                    };
                    self.say(what);
                    self.signal_stop(slot);
                    self.slots[slot].after_exit = AfterExit::Respawn;
                }
                State::Stopping { .. } => self.slots[slot].after_exit = AfterExit::Respawn,
                State::Held | State::Backoff(_) | State::Done => {
                    self.say(format!("starting {name}"));
                    self.spawn(slot);
                }
                State::Waiting => continue,
            }
            self.rolled += 1;
            self.rolling = Some(name);
        }
    }

    /// The instance a roll waited for did not come back: the roll ends, and a move goes back.
    fn roll_failed(&mut self, slot: usize, name: &str) {
        let left = self
            .roll
            .iter()
            .filter(|s| matches!(s, Step::Replace(_)))
            .count();
        self.roll.clear();
        self.rolling = None;
        self.rolled = 0;
        self.end_surge(None);
        if let Some(old) = self.moving.take() {
            self.abandon_move(slot, old);
        } else if self.rolling_back {
            self.rolling_back = false;
            self.say(format!(
                "{name} did not come back on the release it left either"
            ));
            self.set_roll(RollState::Failed, None);
        } else {
            self.say(format!(
                "{name} did not come back; the rolling restart stopped ({left} not restarted)"
            ));
            self.set_roll(RollState::Failed, Some(name));
        }
    }

    /// The roll's queue is empty: the extra instance goes, and the roll is over — a move done
    /// or a failed move's way back done, or a restart done.
    fn finish_roll(&mut self) {
        self.end_surge(None);
        let n = std::mem::take(&mut self.rolled);
        let plural = if n == 1 { "" } else { "s" };
        if let Some(old) = self.moving.take() {
            let release = self.specs[self.current].release.clone();
            self.say(format!(
                "the formation runs {release} ({n} instance{plural} moved)"
            ));
            self.actions.push(Action::LogMove {
                release,
                outcome: "moved",
                failed: None,
            });
            if self.deploy.is_none() {
                // (A blue-green deploy's old side still runs from it until its window ends.)
                self.specs[old].keep = None;
            }
            self.set_roll(RollState::Done, None);
        } else if self.rolling_back {
            self.rolling_back = false;
            let release = self.specs[self.current].release.clone();
            let moved = if n > 0 {
                format!(" ({n} instance{plural} moved back)")
            } else {
                String::new()
            };
            self.say(format!("the formation is back on {release}{moved}"));
            self.set_roll(RollState::Failed, None);
        } else {
            if n > 0 {
                self.say(format!("rolling restart done ({n} instance{plural})"));
            }
            self.set_roll(RollState::Done, None);
        }
    }

    fn begin_roll(&mut self, kind: RollKind, release: Option<String>) {
        let seq = self.last_roll.as_ref().map_or(1, |r| r.seq + 1);
        self.last_roll = Some(Roll {
            seq,
            kind,
            release,
            state: RollState::Running,
            failed: None,
            reason: None,
        });
    }

    /// Records how the latest roll ended (or that it is rolling back). A roll that already
    /// failed stays failed: the queue running empty afterwards is not "done".
    fn set_roll(&mut self, state: RollState, failed: Option<&str>) {
        if let Some(roll) = &mut self.last_roll {
            if state == RollState::Done && roll.state != RollState::Running {
                return;
            }
            roll.state = state;
            if let Some(failed) = failed {
                roll.failed = Some(failed.to_owned());
            }
        }
    }

    /// Instances per type, in Procfile order, not counting those scaled away.
    fn formation(&self) -> Formation {
        let counts = self
            .types()
            .iter()
            .map(|t| {
                let live = self
                    .slots
                    .iter()
                    .filter(|s| {
                        self.type_name(s) == t.name && !s.removed() && !s.surge && !s.candidate
                    })
                    .count();
                (t.name.clone(), u32::try_from(live).unwrap_or(u32::MAX))
            })
            .collect();
        Formation { counts }
    }

    fn status(&self) -> Response {
        let mut slots: Vec<&Slot> = self.slots.iter().collect();
        slots.sort_by_key(|s| (s.type_index, s.index, s.removed()));
        let instances = slots
            .into_iter()
            .map(|s| {
                let check = self.specs[s.spec].types[s.type_index].health.is_some();
                let state = match s.state {
                    State::Waiting => InstanceState::Waiting,
                    State::Running
                        if s.pid.is_none() || (check && s.readiness == Readiness::Pending) =>
                    {
                        InstanceState::Starting
                    }
                    State::Running if check && s.readiness == Readiness::Ready => {
                        InstanceState::Ready
                    }
                    State::Running => InstanceState::Running,
                    State::Backoff(_) => InstanceState::BackingOff,
                    State::Stopping { draining: true, .. } => InstanceState::Draining,
                    State::Stopping { .. } => InstanceState::Stopping,
                    State::Held => InstanceState::Stopped,
                    State::Done if s.exit_code == Some(0) => InstanceState::Exited,
                    State::Done => InstanceState::Crashed,
                };
                let health = match (check, s.readiness, s.failures) {
                    (_, Readiness::GaveUp, _) => Health::NotListening,
                    (false, _, _) => Health::None,
                    (true, Readiness::Pending, _) => Health::Pending,
                    (true, Readiness::Ready, 0) => Health::Passing,
                    (true, Readiness::Ready, _) => Health::Failing,
                };
                let alive = matches!(s.state, State::Running | State::Stopping { .. });
                InstanceStatus {
                    name: s.name.clone(),
                    type_name: self.type_name(s).to_owned(),
                    index: s.index,
                    state,
                    pid: s.pid,
                    port: s.port,
                    uptime_ms: alive.then(|| {
                        let uptime = self.now.saturating_duration_since(s.started);
                        u64::try_from(uptime.as_millis()).unwrap_or(u64::MAX)
                    }),
                    restarts: s.restarts,
                    health,
                    release: self.specs[s.spec].release.clone(),
                    side: self.deploy.as_ref().map(|_| {
                        if s.candidate {
                            Side::Candidate
                        } else {
                            Side::Stable
                        }
                    }),
                }
            })
            .collect();
        Response {
            v: control::VERSION,
            ok: true,
            error: None,
            usage: false,
            message: None,
            formation: self.formation().counts,
            instances,
            roll: self.last_roll.as_ref().map(Roll::status),
            router: None,
            logs: None,
            autoscale: self
                .autoscalers
                .iter()
                .map(|(type_name, a)| control::AutoscaleStatus {
                    type_name: type_name.clone(),
                    min: a.policy.min,
                    max: a.policy.max,
                    metric: a.policy.metric.name().to_owned(),
                    target: a.policy.target,
                    measured: a.last_measured,
                    scale_down_window_s: a.policy.scale_down_window.as_secs(),
                    last_decision: a.last_decision.clone(),
                })
                .collect(),
            canary: self.canary_status(),
        }
    }

    /// Applies `dozen scale`: all of it or, when anything is wrong, none of it.
    fn scale(&mut self, changes: &[ScaleChange]) -> Result<(), ScaleError> {
        use ScaleError::Refused;
        if self.stopping {
            return Err(Refused("the formation is stopping".to_owned()));
        }
        if self.deploy.is_some()
            && let Some(busy) = self.busy()
        {
            return Err(Refused(busy));
        }
        let names: Vec<&str> = self.types().iter().map(|t| t.name.as_str()).collect();
        let current = self.formation();
        let next = current.scaled(&names, changes).map_err(ScaleError::Usage)?;
        for (type_name, autoscaler) in &self.autoscalers {
            let (min, max) = (autoscaler.policy.min, autoscaler.policy.max);
            let count = next.counts.get(type_name).copied().unwrap_or(0);
            let was = current.counts.get(type_name).copied().unwrap_or(0);
            if count != was && count != 0 && !(min..=max).contains(&count) {
                return Err(ScaleError::Refused(format!(
                    "{type_name} is autoscaled between {min} and {max}: scale it within that range (0 stops it), or change its autoscale in dozen.toml"
                )));
            }
        }
        // Everything that could refuse the change is checked before anything starts or stops.
        let mut added = Vec::new();
        for (type_index, t) in self.types().iter().enumerate() {
            let have = current.counts[&t.name];
            for index in have + 1..=next.counts[&t.name] {
                let name = format!("{}.{index}", t.name);
                match self.slots.iter().find(|s| s.name == name) {
                    Some(s) if s.surge => {
                        return Err(Refused(format!(
                            "{name} holds {}'s capacity during a restart or a move; scale again once it is done",
                            t.name
                        )));
                    }
                    Some(_) => {
                        return Err(Refused(format!(
                            "{name} is still stopping; scale again once it has stopped"
                        )));
                    }
                    None => {}
                }
                let port = instance_port(self.base_port, type_index, index).map_err(|port| {
                    Refused(format!("{name} would need port {port}, above 65535"))
                })?;
                if let Some(error) = (self.port_taken)(port) {
                    return Err(Refused(format!(
                        "port {port} for {name} is already in use ({error})"
                    )));
                }
                added.push((type_index, index, port));
            }
        }
        for (type_index, index, port) in added {
            let spec = &self.specs[self.current];
            let slot = new_slot(spec, self.current, type_index, index, port, self.now);
            self.slots.push(slot);
        }
        let names: Vec<String> = self.types().iter().map(|t| t.name.clone()).collect();
        for name in names {
            let surplus = current.counts[&name].saturating_sub(next.counts[&name]);
            let mut live: Vec<usize> = (0..self.slots.len())
                .filter(|&i| {
                    let s = &self.slots[i];
                    self.type_name(s) == name && !s.removed() && !s.surge
                })
                .collect();
            live.sort_by_key(|&i| std::cmp::Reverse(self.slots[i].index));
            for slot in live.into_iter().take(surplus as usize) {
                self.slots[slot].after_exit = AfterExit::Leave;
            }
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot].removed() {
                self.retire(slot);
            }
        }
        // Instances `dozen stop` held stay stopped until their type is scaled.
        let mut woken = false;
        for slot in 0..self.slots.len() {
            let scaled = changes
                .iter()
                .any(|c| c.type_name == self.type_name(&self.slots[slot]));
            if scaled && self.slots[slot].state == State::Held {
                self.slots[slot].state = State::Waiting;
                woken = true;
            }
        }
        // A scale that changes nothing (`web=3` on web=3) is not news in the stream.
        if next.counts != current.counts || woken {
            self.say(format!("formation scaled to {}", next.describe()));
        }
        if next.total() == 0 {
            self.say("the formation is empty: waiting for `dozen scale` (Ctrl-C ends dozen)");
        }
        self.actions.push(Action::SaveFormation(next.counts));
        self.start_ready_slots();
        Ok(())
    }

    /// Stops a scaled-away instance gracefully (its stop signal, then SIGKILL at its timeout).
    fn retire(&mut self, slot: usize) {
        match self.slots[slot].state {
            State::Running => self.signal_stop(slot),
            State::Waiting | State::Backoff(_) | State::Held => {
                self.slots[slot].state = State::Done;
            }
            State::Stopping { .. } | State::Done => {}
        }
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
        probe_every: None,
        next_probe: None,
        probing: false,
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
mod tests {
    use super::*;
    use crate::app::formation::ScaleOp;

    #[test]
    fn a_relative_p99_limit_leaves_room_for_a_fast_sides_noise() {
        assert!((relative_p99_limit(1.4, 1.5) - 6.4).abs() < 1e-9);
        assert!((relative_p99_limit(100.0, 1.5) - 150.0).abs() < 1e-9);
    }
    use std::collections::HashMap;

    const TERM: i32 = 15;
    const KILL: i32 = 9;

    fn settings(name: &str, restart: Restart, health: Option<Check>) -> TypeSettings {
        TypeSettings {
            name: name.into(),
            command: format!("sh -c 'trap \"sleep 2; exit 0\" TERM; {name} & wait'"),
            restart,
            may_exit: false,
            stop_signal: TERM,
            kill_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            after: Vec::new(),
            health,
            tty: false,
        }
    }

    /// A `web` without a configured check: ready once it accepts connections on its port.
    fn web() -> TypeSettings {
        settings("web", Restart::OnFailure, Some(Check::implicit_port()))
    }

    fn worker(restart: Restart) -> TypeSettings {
        settings("worker", restart, None)
    }

    fn spec(release: &str, types: Vec<TypeSettings>) -> Spec {
        let counts = types.iter().map(|t| (t.name.clone(), 1)).collect();
        Spec {
            release: release.into(),
            types,
            env: vec![("DATABASE_URL".into(), "postgres://db".into())],
            cwd: PathBuf::from(format!("/srv/{release}")),
            keep: None,
            counts,
        }
    }

    /// A run of the machine with a scripted world: processes start, pass checks and exit
    /// when the test says so, and the clock moves only when it says so.
    struct World {
        machine: Machine,
        now: Instant,
        /// What the machine did, one line per action, since the last [`World::log`].
        lines: Vec<String>,
        /// Every start, in order.
        starts: Vec<Start>,
        /// Each instance's current process.
        ids: HashMap<String, u64>,
        names: HashMap<u64, String>,
        /// Where a move loads release N from.
        releases: HashMap<u32, Vec<TypeSettings>>,
        /// Each instance's latest check command.
        checks: HashMap<String, u64>,
        /// Release N is a rollback: the build tree of this earlier release.
        rollbacks: HashMap<u32, String>,
    }

    impl World {
        /// `counts[i]` instances of the spec's type `i`, on ports from 5000.
        fn new(spec: Spec, counts: &[u32]) -> Self {
            let instances: Vec<PlannedInstance> = counts
                .iter()
                .enumerate()
                .flat_map(|(type_index, &n)| {
                    (1..=n).map(move |index| PlannedInstance {
                        type_index,
                        index,
                        port: instance_port(5000, type_index, index).unwrap(),
                    })
                })
                .collect();
            let now = Instant::now();
            let mut machine = Machine::new(spec, &instances, 5000, Box::new(|_| None), now);
            machine.start(now);
            let mut world = Self {
                machine,
                now,
                lines: Vec::new(),
                starts: Vec::new(),
                ids: HashMap::new(),
                names: HashMap::new(),
                releases: HashMap::new(),
                checks: HashMap::new(),
                rollbacks: HashMap::new(),
            };
            world.collect();
            world
        }

        fn collect(&mut self) {
            for action in self.machine.take_actions() {
                let line = match action {
                    Action::Spawn(start) if start.check => {
                        self.names.insert(start.id, format!("{} check", start.name));
                        self.checks.insert(start.name.clone(), start.id);
                        format!("check {} `{}`", start.name, start.command)
                    }
                    Action::Spawn(start) => {
                        self.ids.insert(start.name.clone(), start.id);
                        self.names.insert(start.id, start.name.clone());
                        let release = start.cwd.file_name().unwrap().to_string_lossy();
                        let line = format!("spawn {} {release}", start.name);
                        self.starts.push(start);
                        line
                    }
                    Action::Signal { id, signal } => format!("signal {} {signal}", self.names[&id]),
                    Action::Say { text, .. } => format!("say {text}"),
                    Action::Started { id, .. } => format!("started {}", self.names[&id]),
                    Action::Probe { id, .. } => format!("probe {}", self.names[&id]),
                    Action::SaveFormation(counts) => format!("save {counts:?}"),
                    Action::LogMove {
                        release, outcome, ..
                    } => format!("log move {release} {outcome}"),
                    Action::Log { what, details } => format!("log {what} {details}"),
                    Action::EndDescendants => "end descendants".to_owned(),
                    Action::SetWeight(basis_points) => format!("weight {basis_points}"),
                    Action::Smoke { command, .. } => format!("smoke {command}"),
                    Action::Drain { id } => format!("drain {}", self.names[&id]),
                };
                self.lines.push(line);
            }
        }

        /// What happened since the last call.
        fn log(&mut self) -> Vec<String> {
            std::mem::take(&mut self.lines)
        }

        fn input(&mut self, input: Input) {
            self.machine.handle(input, self.now);
            self.collect();
        }

        fn id(&self, name: &str) -> u64 {
            self.ids[name]
        }

        fn started(&mut self, name: &str) {
            let id = self.id(name);
            self.input(Input::Spawned {
                id,
                pid: u32::try_from(1000 + id).unwrap(),
            });
        }

        /// Started and accepting connections.
        fn up(&mut self, name: &str) {
            self.started(name);
            let id = self.id(name);
            self.input(Input::Health { id, result: Ok(()) });
        }

        fn exited(&mut self, name: &str, code: Option<i32>, signal: Option<i32>) {
            let id = self.id(name);
            self.input(Input::Exited { id, code, signal });
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
            self.machine.on_timers(self.now);
            self.collect();
        }

        fn control(&mut self, op: Op) -> Response {
            let mut releases = std::mem::take(&mut self.releases);
            let rollbacks = self.rollbacks.clone();
            let mut load = |version: u32| -> Result<Spec, String> {
                let types = releases.remove(&version).ok_or("no such release")?;
                let mut spec = spec(&format!("v{version}"), types);
                if let Some(of) = rollbacks.get(&version) {
                    spec.cwd = PathBuf::from(format!("/srv/{of}"));
                }
                Ok(spec)
            };
            let response = self.machine.control(
                control::Request {
                    v: control::VERSION,
                    op,
                },
                self.now,
                Some(&mut load),
            );
            self.collect();
            response
        }

        fn ps(&mut self) -> Response {
            self.control(Op::Ps)
        }

        /// Instances of `type_name` that serve: ready, or running without a check.
        fn serving(&mut self, type_name: &str) -> usize {
            self.ps()
                .instances
                .iter()
                .filter(|i| i.type_name == type_name && i.state == InstanceState::Ready)
                .count()
        }

        fn roll(&mut self) -> control::RollStatus {
            self.ps().roll.expect("a roll")
        }
    }

    fn rolling(release: u32) -> Op {
        Op::Move {
            release,
            strategy: control::Strategy::Rolling,
            keep_old_ms: None,
            canary: None,
            smoke: None,
        }
    }

    fn blue_green(release: u32, keep_ms: u64) -> Op {
        Op::Move {
            release,
            strategy: control::Strategy::BlueGreen,
            keep_old_ms: Some(keep_ms),
            canary: None,
            smoke: None,
        }
    }

    fn canary(release: u32) -> Op {
        Op::Move {
            release,
            strategy: control::Strategy::Canary,
            keep_old_ms: None,
            canary: Some(control::CanaryPlan {
                steps: vec![10, 50],
                interval_ms: 1_000,
                instances: 1,
                min_requests: 10,
                ..control::CanaryPlan::default()
            }),
            smoke: None,
        }
    }

    /// Router counts: `requests`, `errors`, every request taking `ms`.
    fn counts(requests: u64, errors: u64, ms: u64) -> Snapshot {
        let histogram = crate::router::table::Histogram::default();
        for _ in 0..requests {
            histogram.record(Duration::from_millis(ms));
        }
        Snapshot {
            requests,
            errors,
            latency: histogram.counts(),
        }
    }

    /// A web=3 formation whose canary (web.1 on v2) is ready and at its first step (10%).
    fn canary_at_first_step() -> World {
        let mut world = World::new(spec("v1", vec![web()]), &[3]);
        world.machine.route("web");
        for name in ["web.1", "web.2", "web.3"] {
            world.up(name);
        }
        world.log();
        world.releases.insert(2, vec![web()]);
        assert!(world.control(canary(2)).ok);
        let log = world.log();
        assert_eq!(count(&log, "spawn web."), 1, "one canary instance: {log:?}");
        world.up("web.1");
        assert!(has(&world.log(), "weight 1000"));
        assert!(world.machine.wants_side_stats(world.now));
        // The step's baseline.
        world.input(Input::SideStats {
            stable: counts(100, 0, 5),
            candidate: counts(0, 0, 5),
        });
        world
    }

    /// Every step passes: the canary side grows to the formation's size, takes every request,
    /// and the old side stops at once.
    #[test]
    fn a_canary_that_passes_every_step_is_promoted() {
        let mut world = canary_at_first_step();
        world.advance(Duration::from_secs(1));
        world.input(Input::SideStats {
            stable: counts(280, 1, 5),
            candidate: counts(20, 0, 6),
        });
        let log = world.log();
        assert!(has(&log, "weight 5000"), "{log:?}");
        assert_eq!(
            world.roll().state,
            RollState::Running,
            "not done before the switch"
        );
        world.input(Input::SideStats {
            stable: counts(280, 1, 5),
            candidate: counts(20, 0, 6),
        });
        world.advance(Duration::from_secs(1));
        world.input(Input::SideStats {
            stable: counts(400, 1, 5),
            candidate: counts(140, 0, 6),
        });
        let log = world.log();
        assert!(
            has(&log, "spawn web.2 v2") && has(&log, "spawn web.3 v2"),
            "{log:?}"
        );
        assert!(
            !has(&log, "weight 10000"),
            "not before all of it is ready: {log:?}"
        );
        world.up("web.2");
        world.up("web.3");
        let log = world.log();
        assert!(has(&log, "weight 10000"), "{log:?}");
        assert_eq!(
            count(&log, "drain web."),
            3,
            "the old side stops at once: {log:?}"
        );
        assert!(has(&log, "log move v2 moved"), "{log:?}");
        assert_eq!(world.roll().state, RollState::Done);
    }

    /// A canary failing 10% of its requests is aborted before its step ends: every request
    /// goes back to the stable side, the canary stops, the move is recorded failed with why.
    #[test]
    fn a_canary_over_its_error_rate_is_aborted_at_once() {
        let mut world = canary_at_first_step();
        world.advance(Duration::from_millis(100));
        world.input(Input::SideStats {
            stable: counts(190, 0, 5),
            candidate: counts(20, 2, 5),
        });
        let log = world.log();
        assert!(has(&log, "weight 0"), "{log:?}");
        assert!(has(&log, "log move v2 stopped"), "{log:?}");
        assert!(
            has(&log, "drain web.1") || has(&log, "signal web.1 15"),
            "{log:?}"
        );
        let roll = world.roll();
        assert_eq!(roll.state, RollState::Failed);
        assert!(
            roll.reason
                .unwrap()
                .contains("canary error rate 10.0% > 0.5%")
        );
        assert!(world.ps().canary.is_none());
    }

    /// A step without enough canary requests to judge is held (and said), three times at
    /// most; then the canary is aborted for want of traffic.
    #[test]
    fn a_canary_without_enough_traffic_is_held_then_aborted() {
        let mut world = canary_at_first_step();
        let (mut stable, mut canary) = (100, 0);
        for held in 1..=4 {
            world.advance(Duration::from_secs(1));
            stable += 50;
            canary += 2;
            world.input(Input::SideStats {
                stable: counts(stable, 0, 5),
                candidate: counts(canary, 0, 5),
            });
            if held <= 3 {
                let log = world.log();
                assert!(
                    log.iter()
                        .any(|l| l.contains(&format!("step is held ({held} of 3)"))),
                    "{log:?}"
                );
                // The held step starts again: its baseline is the next measurement.
                world.input(Input::SideStats {
                    stable: counts(stable, 0, 5),
                    candidate: counts(canary, 0, 5),
                });
            }
        }
        let roll = world.roll();
        assert_eq!(roll.state, RollState::Failed);
        assert!(
            roll.reason.unwrap().contains("not enough traffic"),
            "{:?}",
            world.log()
        );
    }

    /// A canary much slower than the stable side is aborted at its step's end.
    #[test]
    fn a_canary_slower_than_its_p99_ratio_is_aborted() {
        let mut world = canary_at_first_step();
        world.advance(Duration::from_secs(1));
        world.input(Input::SideStats {
            stable: counts(280, 0, 10),
            candidate: counts(20, 0, 80),
        });
        let roll = world.roll();
        assert_eq!(roll.state, RollState::Failed);
        assert!(
            roll.reason.unwrap().contains("canary p99"),
            "{:?}",
            world.log()
        );
    }

    /// Durations from a control client are not bounded as dozen.toml's are: a window of
    /// `u64::MAX` milliseconds is a long wait, not an overflow.
    #[test]
    fn an_endless_window_does_not_overflow() {
        let mut world = World::new(spec("v1", vec![web()]), &[1]);
        world.machine.route("web");
        world.up("web.1");
        world.releases.insert(2, vec![web()]);
        assert!(world.control(blue_green(2, u64::MAX)).ok);
        world.up("web.1");
        assert!(has(&world.log(), "weight 10000"));
        world.advance(Duration::from_secs(3_600));
        assert!(world.machine.next_timer().is_some());
    }

    /// A canary plan with no step is refused, not a panic (the control socket takes any
    /// client's request).
    #[test]
    fn a_canary_without_steps_is_refused() {
        let mut world = World::new(spec("v1", vec![web()]), &[1]);
        world.machine.route("web");
        world.up("web.1");
        world.releases.insert(2, vec![web()]);
        let response = world.control(Op::Move {
            release: 2,
            strategy: control::Strategy::Canary,
            keep_old_ms: None,
            canary: Some(control::CanaryPlan {
                steps: Vec::new(),
                ..control::CanaryPlan::default()
            }),
            smoke: None,
        });
        assert!(response.error.unwrap().contains("at least one step"));
    }

    /// `dozen canary promote` skips the steps; `dozen canary abort` ends it; with none running
    /// both are errors.
    #[test]
    fn a_canary_is_promoted_or_aborted_by_hand() {
        let mut world = canary_at_first_step();
        let status = world.control(Op::Canary {
            action: control::CanaryAction::Status,
        });
        let canary = status.canary.unwrap();
        assert_eq!((canary.state.as_str(), canary.step), ("analysing", 1));
        assert!((canary.weight_percent - 10.0).abs() < f64::EPSILON);
        assert!(
            world
                .control(Op::Canary {
                    action: control::CanaryAction::Promote,
                })
                .ok
        );
        assert!(has(&world.log(), "spawn web.2 v2"));
        let mut world = canary_at_first_step();
        assert!(
            world
                .control(Op::Canary {
                    action: control::CanaryAction::Abort,
                })
                .ok
        );
        assert_eq!(world.roll().reason.as_deref(), Some("aborted by hand"));
        let none = world.control(Op::Canary {
            action: control::CanaryAction::Status,
        });
        assert!(none.error.unwrap().contains("no canary"));
    }

    /// A blue-green move: the new side starts on the other half of web's ports with no
    /// requests; once all of it is ready every request switches at once and the other types
    /// move one at a time; the old side stays, idle, for its window (restarts and scales
    /// wait), then drains and stops, and the new side is the formation.
    fn switched() -> (World, (u64, u64)) {
        let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
        world.machine.route("web");
        world.up("web.1");
        world.up("web.2");
        world.started("worker.1");
        let old = (world.id("web.1"), world.id("web.2"));
        world.releases.insert(2, vec![web(), worker(Restart::No)]);
        let response = world.control(blue_green(2, 60_000));
        assert!(response.ok, "{response:?}");
        let log = world.log();
        assert!(
            has(&log, "spawn web.1 v2") && has(&log, "spawn web.2 v2"),
            "{log:?}"
        );
        assert!(
            !log.iter()
                .any(|l| l.starts_with("signal") || l.starts_with("weight")),
            "{log:?}"
        );
        let ports: Vec<String> = world
            .starts
            .iter()
            .rev()
            .take(2)
            .map(|s| s.env.iter().find(|(k, _)| k == "PORT").unwrap().1.clone())
            .collect();
        assert_eq!(ports, ["5051", "5050"], "the other half of web's ports");
        // Ready, weight 0: routed as the candidate side (reached by X-Dozen-Side only).
        world.up("web.1");
        let routes = world.machine.routes();
        assert_eq!(routes.len(), 3);
        assert_eq!(
            routes
                .iter()
                .filter(|r| r.side == crate::router::Side::Candidate)
                .count(),
            1
        );
        assert!(!world.log().iter().any(|l| l.starts_with("weight")));
        world.up("web.2");
        let log = world.log();
        assert!(has(&log, "weight 10000"), "{log:?}");
        // The other types move after, as a rolling move does (an extra instance first).
        assert!(has(&log, "spawn worker.2 v2"), "{log:?}");
        let refused = world.control(Op::Restart {
            target: Some("web".into()),
        });
        assert!(refused.error.unwrap().contains("keeps web's old side"));
        world.started("worker.2");
        assert!(has(&world.log(), "signal worker.1 15"));
        world.exited("worker.1", Some(0), None);
        world.started("worker.1");
        world.exited("worker.2", Some(0), None);
        let log = world.log();
        assert!(has(&log, "log move v2 moved"), "{log:?}");
        assert_eq!(world.roll().state, RollState::Done);
        let ps = world.ps();
        assert_eq!(ps.formation["web"], 2);
        let sides: Vec<(String, Option<Side>)> = ps
            .instances
            .iter()
            .filter(|i| i.type_name == "web")
            .map(|i| (i.release.clone(), i.side))
            .collect();
        assert_eq!(sides.len(), 4, "{sides:?}");
        (world, old)
    }

    #[test]
    fn a_blue_green_move_switches_once_the_new_side_is_ready() {
        let (mut world, _) = switched();
        let refused = world.control(Op::Scale {
            changes: vec![ScaleChange {
                type_name: "web".into(),
                op: ScaleOp::Set,
                count: 3,
            }],
        });
        assert!(refused.error.unwrap().contains("keeps web's old side"));
    }

    /// After its window the old side drains and stops, and the new side is the formation.
    #[test]
    fn after_a_blue_green_window_the_old_side_stops() {
        let (mut world, old) = switched();
        // The window ends: the old side drains (it is routed), the new one is the formation.
        world.advance(Duration::from_secs(61));
        let log = world.log();
        assert!(has(&log, "weight 0"), "{log:?}");
        assert!(
            log.iter().filter(|l| l.starts_with("drain web.")).count() == 2,
            "{log:?}"
        );
        world.input(Input::Drained { id: old.0 });
        world.input(Input::Drained { id: old.1 });
        world.input(Input::Exited {
            id: old.0,
            code: Some(0),
            signal: None,
        });
        world.input(Input::Exited {
            id: old.1,
            code: Some(0),
            signal: None,
        });
        let ps = world.ps();
        assert!(
            ps.instances
                .iter()
                .all(|i| i.release == "v2" && i.side.is_none()),
            "{ps:?}"
        );
        assert_eq!(ps.formation["web"], 2);
        assert!(
            world
                .machine
                .routes()
                .iter()
                .all(|r| r.side == crate::router::Side::Stable)
        );
        assert!(
            world
                .control(Op::Restart {
                    target: Some("web".into())
                })
                .ok
        );
    }

    /// In its window, a rollback to exactly what the old side runs switches back at once,
    /// starting nothing of the routed type; its new side stops, the other types move back.
    /// Any other release waits for the window.
    #[test]
    fn a_rollback_in_the_blue_green_window_switches_back_at_once() {
        let (mut world, old) = switched();
        world.releases.insert(3, vec![web(), worker(Restart::No)]);
        let refused = world.control(rolling(3));
        assert!(refused.error.unwrap().contains("keeps web's old side"));
        world.releases.insert(4, vec![web(), worker(Restart::No)]);
        world.rollbacks.insert(4, "v1".into());
        let response = world.control(rolling(4));
        assert!(response.ok, "{response:?}");
        let log = world.log();
        assert!(has(&log, "weight 0"), "{log:?}");
        assert!(!log.iter().any(|l| l.starts_with("spawn web")), "{log:?}");
        assert_eq!(
            log.iter().filter(|l| l.starts_with("drain web.")).count(),
            2,
            "the new side drains: {log:?}"
        );
        assert!(
            has(&log, "spawn worker.2 v1"),
            "the worker moves back: {log:?}"
        );
        let ps = world.ps();
        let web: Vec<(&str, Option<u32>)> = ps
            .instances
            .iter()
            .filter(|i| i.type_name == "web" && i.state == InstanceState::Ready)
            .map(|i| (i.release.as_str(), i.pid))
            .collect();
        let pids = [old.0, old.1].map(|id| u32::try_from(1000 + id).ok());
        assert_eq!(web, [("v4", pids[0]), ("v4", pids[1])], "{ps:?}");
    }

    /// A new side that cannot become ready stops; the old side never stopped serving.
    #[test]
    fn a_blue_green_move_whose_new_side_fails_leaves_the_old_one_serving() {
        let mut world = World::new(spec("v1", vec![web()]), &[2]);
        world.machine.route("web");
        world.up("web.1");
        world.up("web.2");
        world.releases.insert(2, vec![web()]);
        assert!(world.control(blue_green(2, 60_000)).ok);
        world.up("web.1");
        world.started("web.2");
        world.exited("web.2", Some(1), None);
        let log = world.log();
        assert!(has(&log, "log move v2 stopped"), "{log:?}");
        assert!(!log.iter().any(|l| l == "weight 10000"), "{log:?}");
        assert!(
            has(&log, "drain web.1") || has(&log, "signal web.1 15"),
            "{log:?}"
        );
        assert_eq!(world.roll().state, RollState::Failed);
        let ps = world.ps();
        let serving: Vec<&str> = ps
            .instances
            .iter()
            .filter(|i| i.state == InstanceState::Ready)
            .map(|i| i.release.as_str())
            .collect();
        assert_eq!(serving, ["v1", "v1"], "{ps:?}");
        // Nothing is in progress any more.
        world.releases.insert(3, vec![web()]);
        assert!(world.control(rolling(3)).ok);
    }

    fn has(log: &[String], line: &str) -> bool {
        log.iter().any(|l| l == line)
    }

    fn count(log: &[String], prefix: &str) -> usize {
        log.iter().filter(|l| l.starts_with(prefix)).count()
    }

    #[test]
    fn each_instance_starts_with_its_port_name_and_the_release_environment() {
        let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
        assert_eq!(
            world.log(),
            ["spawn web.1 v1", "spawn web.2 v1", "spawn worker.1 v1"]
        );
        let env =
            |i: usize| -> HashMap<String, String> { world.starts[i].env.iter().cloned().collect() };
        assert_eq!(env(1)["PORT"], "5001");
        assert_eq!(env(1)["PS"], "web.2");
        assert_eq!(env(2)["PORT"], "5100");
        assert_eq!(env(2)["DATABASE_URL"], "postgres://db");
        assert_eq!(env(2)["PYTHONUNBUFFERED"], "1");
    }

    #[test]
    fn a_rolling_restart_replaces_one_instance_at_a_time_and_never_drops_below_the_formation() {
        let mut world = World::new(spec("v1", vec![web()]), &[2]);
        world.up("web.1");
        world.up("web.2");
        world.log();
        let response = world.control(Op::Restart {
            target: Some("web".into()),
        });
        assert!(response.ok, "{response:?}");
        // An extra instance holds the capacity first; nothing stops before it serves.
        let log = world.log();
        assert!(has(&log, "spawn web.3 v1"), "{log:?}");
        assert_eq!(count(&log, "signal"), 0, "{log:?}");
        world.up("web.3");
        assert_eq!(world.log().last().unwrap(), "signal web.1 15");
        for (stopped, next) in [("web.1", "web.2"), ("web.2", "web.3")] {
            assert!(world.serving("web") >= 2);
            world.exited(stopped, Some(0), None);
            let log = world.log();
            assert!(has(&log, &format!("say {stopped} stopped")), "{log:?}");
            assert!(has(&log, &format!("spawn {stopped} v1")), "{log:?}");
            assert_eq!(count(&log, "signal"), 0, "the next waits: {log:?}");
            world.up(stopped);
            assert!(world.serving("web") >= 2);
            let log = world.log();
            assert!(has(&log, &format!("signal {next} 15")), "{log:?}");
            if next == "web.3" {
                assert!(
                    has(&log, "say rolling restart done (2 instances)"),
                    "{log:?}"
                );
            }
        }
        world.exited("web.3", Some(0), None);
        let ps = world.ps();
        assert_eq!(ps.formation["web"], 2);
        assert_eq!(ps.instances.len(), 2);
        assert!(ps.instances.iter().all(|i| i.state == InstanceState::Ready));
        assert_eq!(ps.roll.unwrap().state, RollState::Done);
    }

    #[test]
    fn a_move_whose_replacement_crashes_goes_back_and_every_view_agrees() {
        let mut world = World::new(spec("v1", vec![web()]), &[2]);
        world.up("web.1");
        world.up("web.2");
        world.releases.insert(2, vec![web()]);
        let response = world.control(rolling(2));
        assert!(response.ok, "{response:?}");
        assert!(has(&world.log(), "spawn web.3 v2"));
        world.up("web.3");
        world.exited("web.1", Some(0), None);
        world.up("web.1");
        world.exited("web.2", Some(0), None);
        assert!(has(&world.log(), "spawn web.2 v2"));
        // The new release's web.2 crashes before it serves.
        world.started("web.2");
        world.exited("web.2", Some(1), None);
        let log = world.log();
        assert!(has(&log, "log move v2 stopped"), "{log:?}");
        assert!(has(&log, "spawn web.2 v1"), "{log:?}");
        assert!(
            !log.iter().any(|l| l.starts_with("signal web.1")),
            "{log:?}"
        );
        assert_eq!(world.roll().state, RollState::RollingBack);
        // web.1 goes back only once web.2 serves again on v1.
        world.up("web.2");
        let log = world.log();
        assert!(has(&log, "signal web.1 15"), "{log:?}");
        world.exited("web.1", Some(0), None);
        assert!(has(&world.log(), "spawn web.1 v1"));
        world.up("web.1");
        if world.ids.contains_key("web.3") {
            world.exited("web.3", Some(0), None);
        }
        let ps = world.ps();
        let roll = ps.roll.clone().unwrap();
        assert_eq!(
            (roll.state.as_str(), roll.failed.as_deref()),
            ("failed", Some("web.2"))
        );
        assert!(ps.instances.iter().all(|i| i.release == "v1"), "{ps:?}");
        assert_eq!(ps.formation["web"], 2);
        assert_eq!(
            count(&world.log(), "log move"),
            0,
            "the move is logged once"
        );
        assert!(!world.machine.finished());
    }

    #[test]
    fn scaling_during_a_roll_applies_and_the_roll_skips_what_left() {
        let mut world = World::new(spec("v1", vec![web()]), &[3]);
        for name in ["web.1", "web.2", "web.3"] {
            world.up(name);
        }
        world.control(Op::Restart { target: None });
        world.up("web.4");
        // Up while the extra instance holds the next index: refused, unapplied, and said why.
        let refused = world.control(Op::Scale {
            changes: vec![ScaleChange {
                type_name: "web".into(),
                op: ScaleOp::Set,
                count: 4,
            }],
        });
        assert!(!refused.ok);
        assert!(
            refused
                .error
                .unwrap()
                .contains("web.4 holds web's capacity")
        );
        let down = world.control(Op::Scale {
            changes: vec![ScaleChange {
                type_name: "web".into(),
                op: ScaleOp::Set,
                count: 1,
            }],
        });
        assert!(down.ok, "{down:?}");
        let log = world.log();
        assert!(
            has(&log, "signal web.2 15") && has(&log, "signal web.3 15"),
            "{log:?}"
        );
        assert!(
            log.iter()
                .any(|l| l.starts_with("save") && l.contains("\"web\": 1"))
        );
        world.exited("web.2", Some(0), None);
        world.exited("web.3", Some(0), None);
        world.exited("web.1", Some(0), None);
        world.up("web.1");
        world.exited("web.4", Some(0), None);
        let log = world.log();
        assert!(
            !log.iter()
                .any(|l| l.starts_with("spawn web.2") || l.starts_with("spawn web.3")),
            "{log:?}"
        );
        let ps = world.ps();
        assert_eq!(ps.formation["web"], 1);
        assert_eq!(ps.instances.len(), 1);
        assert_eq!(ps.roll.unwrap().state, RollState::Done);
    }

    #[test]
    fn restarts_back_off_and_the_backoff_starts_again_after_a_stable_run() {
        let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
        world.log();
        let mut delays = Vec::new();
        for uptime in [0, 0, 0, 31, 0] {
            world.started("worker.1");
            world.advance(Duration::from_secs(uptime));
            world.exited("worker.1", Some(1), None);
            let log = world.log();
            let said = log
                .iter()
                .find(|l| l.contains("restarting in"))
                .unwrap()
                .clone();
            delays.push(said);
            assert_eq!(count(&log, "spawn"), 0, "not before the delay: {log:?}");
            world.advance(Duration::from_secs(16));
            assert_eq!(count(&world.log(), "spawn worker.1"), 1);
        }
        assert_eq!(
            delays,
            [
                "say worker.1 restarting in 1s (restart 1 of 5)",
                "say worker.1 restarting in 2s (restart 2 of 5)",
                "say worker.1 restarting in 4s (restart 3 of 5)",
                "say worker.1 restarting in 1s (restart 1 of 5)",
                "say worker.1 restarting in 2s (restart 2 of 5)",
            ]
        );
        assert_eq!(world.ps().instances[0].restarts, 5);
    }

    #[test]
    fn an_instance_that_keeps_crashing_is_given_up_with_its_exit_code() {
        let mut world = World::new(spec("v1", vec![worker(Restart::OnFailure)]), &[1]);
        for _ in 0..5 {
            world.started("worker.1");
            world.exited("worker.1", Some(3), None);
            world.advance(Duration::from_secs(60));
        }
        world.started("worker.1");
        world.exited("worker.1", Some(3), None);
        let log = world.log();
        assert!(
            has(
                &log,
                "say worker.1 gave up after 5 restarts; stopping all processes"
            ),
            "{log:?}"
        );
        assert!(world.machine.finished());
        assert_eq!(world.machine.exit_code(), 3);
    }

    /// With a router in front of `web`: only ready web instances are in rotation, and a
    /// stopping one is drained (out of rotation, no signal) until the router says its
    /// requests are done, or its kill timeout passes.
    #[test]
    fn a_routed_instance_is_drained_before_it_is_signalled() {
        let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
        world.machine.route("web");
        world.up("web.1");
        world.started("web.2");
        world.started("worker.1");
        let names = |w: &World| -> Vec<String> {
            w.machine.routes().iter().map(|r| r.name.clone()).collect()
        };
        assert_eq!(names(&world), ["web.1"], "web.2 is not ready yet");
        world.up("web.2");
        assert_eq!(names(&world), ["web.1", "web.2"]);
        world.log();
        world.control(Op::Stop {
            target: Some("web.1".into()),
        });
        let log = world.log();
        assert!(has(&log, "drain web.1"), "{log:?}");
        assert_eq!(count(&log, "signal web.1"), 0, "{log:?}");
        assert_eq!(names(&world), ["web.2"]);
        assert_eq!(world.ps().instances[0].state, InstanceState::Draining);
        let id = world.id("web.1");
        world.input(Input::Drained { id });
        assert_eq!(world.log(), [format!("signal web.1 {TERM}")]);
        // A second drained report changes nothing; nor does one for a non-routed worker.
        world.input(Input::Drained { id });
        assert!(world.log().is_empty());
        world.exited("web.1", None, Some(TERM));
        world.log();
        // A drain the router never finishes ends at the kill timeout: signalled then.
        world.control(Op::Stop {
            target: Some("web.2".into()),
        });
        assert!(has(&world.log(), "drain web.2"));
        world.advance(Duration::from_secs(4));
        assert_eq!(count(&world.log(), "signal web.2"), 0);
        world.advance(Duration::from_secs(2));
        assert_eq!(world.log(), [format!("signal web.2 {TERM}")]);
        // Not routed: signalled at once.
        world.control(Op::Stop {
            target: Some("worker.1".into()),
        });
        assert!(has(&world.log(), &format!("signal worker.1 {TERM}")));
    }

    #[test]
    fn every_instance_is_signalled_once_however_often_it_is_asked_to_stop() {
        let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[1, 1]);
        world.up("web.1");
        world.started("worker.1");
        world.log();
        world.control(Op::Stop {
            target: Some("web.1".into()),
        });
        world.control(Op::Stop {
            target: Some("web".into()),
        });
        world.input(Input::Signal(TERM));
        let log = world.log();
        assert_eq!(count(&log, "signal web.1"), 1, "{log:?}");
        assert_eq!(count(&log, "signal worker.1"), 1, "{log:?}");
        // Asked again: SIGKILL, once each, however many times it is asked.
        world.input(Input::Signal(TERM));
        world.input(Input::Signal(SIGINT));
        world.advance(Duration::from_secs(10));
        let log = world.log();
        assert_eq!(
            log.iter()
                .filter(|l| l.starts_with("signal"))
                .collect::<Vec<_>>(),
            ["signal web.1 9", "signal worker.1 9"]
        );
        world.exited("web.1", None, Some(KILL));
        world.exited("worker.1", None, Some(KILL));
        assert!(world.machine.finished());
        assert_eq!(world.machine.exit_code(), 128 + TERM);
    }

    #[test]
    fn a_compound_command_gets_its_whole_kill_timeout_and_its_stop_is_told_as_a_stop() {
        // The nursery reports an exit once the process group is empty: a shell whose child
        // drains for 2 s is one instance that stops after 2 s.
        let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
        world.started("worker.1");
        world.input(Input::Signal(TERM));
        world.advance(Duration::from_millis(4900));
        let log = world.log();
        assert_eq!(count(&log, "signal"), 1, "{log:?}");
        assert_eq!(world.ps().instances[0].state, InstanceState::Stopping);
        world.exited("worker.1", None, Some(TERM));
        assert_eq!(world.log(), ["say worker.1 stopped"]);
        assert!(world.machine.finished());

        let mut stubborn = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
        stubborn.started("worker.1");
        stubborn.input(Input::Signal(TERM));
        stubborn.advance(Duration::from_secs(5));
        stubborn.advance(Duration::from_secs(5));
        let log = stubborn.log();
        assert!(has(
            &log,
            "say worker.1 did not stop within 5s; sending SIGKILL"
        ));
        assert_eq!(count(&log, "signal worker.1 9"), 1, "{log:?}");
        stubborn.exited("worker.1", None, Some(KILL));
        assert_eq!(
            stubborn.log(),
            ["say worker.1 stopped (SIGKILL at its kill timeout)"]
        );
    }

    #[test]
    fn a_web_that_never_listens_is_given_up_at_start_but_fails_a_restart() {
        let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[1, 1]);
        world.started("web.1");
        world.started("worker.1");
        let web = world.id("web.1");
        world.advance(Duration::from_secs(61));
        world.input(Input::Health {
            id: web,
            result: Err("connection refused".into()),
        });
        let log = world.log();
        assert!(
            log.iter()
                .any(|l| l.contains("has not accepted connections on port 5000 within 60s")),
            "{log:?}"
        );
        let ps = world.ps();
        assert_eq!(
            (
                ps.instances[0].state.as_str(),
                ps.instances[0].health.as_str()
            ),
            ("running", "not listening")
        );

        world.control(Op::Restart {
            target: Some("web.1".into()),
        });
        world.started("web.2");
        world.advance(Duration::from_secs(61));
        let surge = world.id("web.2");
        world.input(Input::Health {
            id: surge,
            result: Err("connection refused".into()),
        });
        world.exited("web.2", None, Some(TERM));
        let roll = world.roll();
        assert_eq!(
            (roll.state.as_str(), roll.failed.as_deref()),
            ("failed", Some("web.2"))
        );
        assert_eq!(world.ps().formation["web"], 1);
        assert!(
            !world.machine.finished(),
            "a failed restart does not stop the formation"
        );
    }

    #[test]
    fn events_of_a_process_that_was_replaced_change_nothing() {
        let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
        world.started("worker.1");
        let old = world.id("worker.1");
        world.exited("worker.1", Some(1), None);
        world.advance(Duration::from_secs(1));
        world.started("worker.1");
        world.log();
        world.input(Input::Exited {
            id: old,
            code: Some(1),
            signal: None,
        });
        world.input(Input::Health {
            id: old,
            result: Err("late".into()),
        });
        assert!(world.log().is_empty());
        assert_eq!(world.ps().instances[0].state, InstanceState::Running);
    }

    #[test]
    fn a_check_command_runs_as_a_process_of_the_formation_and_is_killed_at_its_timeout() {
        let mut checked = settings("web", Restart::OnFailure, None);
        checked.health = Some(Check {
            probe: Probe::Command {
                command: "curl -fs localhost:$PORT/up".into(),
            },
            interval: Duration::from_secs(1),
            backs_off: false,
            timeout: Duration::from_millis(500),
            grace: Duration::from_secs(5),
            retries: 2,
            readiness_only: false,
        });
        let mut world = World::new(spec("v1", vec![checked]), &[1]);
        world.started("web.1");
        world.log();
        world.advance(READINESS_POLL);
        assert_eq!(world.log(), ["check web.1 `curl -fs localhost:$PORT/up`"]);
        let env: HashMap<_, _> = world.starts.last().unwrap().env.iter().cloned().collect();
        assert_eq!(env["PORT"], "5000", "the check sees what the instance sees");
        // Its start and its end are the check's, not an instance's.
        let check = world.checks["web.1"];
        world.input(Input::Spawned { id: check, pid: 7 });
        assert!(world.log().is_empty());
        world.input(Input::Exited {
            id: check,
            code: Some(0),
            signal: None,
        });
        assert!(world.log()[0].starts_with("say web.1 ready in"));
        assert_eq!(world.ps().instances[0].state, InstanceState::Ready);

        // The next one hangs: SIGKILL at its timeout, and that counts as a failure.
        world.advance(Duration::from_secs(1));
        let check = world.checks["web.1"];
        world.advance(Duration::from_millis(499));
        assert_eq!(count(&world.log(), "signal"), 0);
        world.advance(Duration::from_millis(1));
        assert_eq!(world.log(), ["signal web.1 check 9"]);
        world.input(Input::Exited {
            id: check,
            code: None,
            signal: Some(KILL),
        });
        let ps = world.ps();
        assert_eq!(ps.instances[0].health, Health::Failing);
        world.advance(Duration::from_secs(1));
        let check = world.checks["web.1"];
        world.input(Input::Exited {
            id: check,
            code: Some(7),
            signal: None,
        });
        let log = world.log();
        assert!(
            has(
                &log,
                "say web.1 failed its health check 2 times: `curl -fs localhost:$PORT/up` exited with code 7; restarting it"
            ),
            "{log:?}"
        );
        assert!(has(&log, "signal web.1 15"), "{log:?}");
    }
}
