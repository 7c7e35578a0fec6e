//! The supervisor's event loop: one thread owns every instance's state and reacts to the
//! nursery's events, signals, health results and timers. See docs/supervisor.md.

use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::backoff::{Backoff, Decision};
use super::control::{self, InstanceStatus, Op, Response};
use super::health::Check;
use super::nursery::{self, Nursery, Request};
use super::output::format::{Formatter, Label, LogFormat};
use super::output::pump::{self, Command as PumpCommand};
use super::output::queue::Queue;
use super::{exit, reaper};
use crate::app::formation::{Formation, ScaleChange};
use crate::app::manifest::Restart;
use crate::app::ports::instance_port;
use crate::app::procfile;

/// How much formatted output may wait for a slow stdout before the children are slowed.
const QUEUE_BYTES: usize = 4 * 1024 * 1024;
/// Readiness is probed this often until it passes, then at the check's interval.
const READINESS_POLL: Duration = Duration::from_millis(100);
/// How long an instance may take to pass its first check when no `grace` is set.
const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the runner needs, validated: built by `commands/run.rs`.
pub struct Plan<'a> {
    /// What the formation runs at first.
    pub spec: Spec,
    pub instances: Vec<PlannedInstance>,
    pub format: LogFormat,
    pub timestamps: bool,
    pub color: bool,
    /// Ports are `base_port + 100 × type index + instance − 1`, for instances added live too.
    pub base_port: u16,
    /// The app's store: the scaled formation is written there.
    pub store: PathBuf,
    /// The control socket, bound (under the run lock) by the caller.
    pub control: Option<control::Server>,
    /// Loads release N when it becomes current, for a run that follows the current release
    /// (not `--dev`, not `--release vN`).
    pub follow: Option<LoadRelease<'a>>,
}

/// Loads what release N runs (its types, environment and build tree).
pub type LoadRelease<'a> = Box<dyn FnMut(u32) -> Result<Spec, String> + 'a>;

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
    /// Index into [`Plan::types`], which is also the type's index in the Procfile.
    pub type_index: usize,
    pub index: u32,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the types in `after` to be ready.
    Waiting,
    Running,
    Backoff(Instant),
    Stopping {
        deadline: Instant,
        killed: bool,
    },
    /// Stopped by `dozen stop`: kept stopped until scaled or restarted.
    Held,
    Done,
}

// The runner's state machine is still one struct of flags here; issue 13's split into a pure
// core (typed states) replaces them.
#[allow(clippy::struct_excessive_bools)]
struct Slot {
    /// The id of the current process (a restart gets a new one, so stale events are told apart).
    id: u64,
    /// Index into [`Runner::specs`]: what this instance runs.
    spec: usize,
    /// The spec its next process starts from, when it is moving to a new release.
    next_spec: Option<usize>,
    /// Index into its spec's types.
    type_index: usize,
    /// 1-based: `web.2` is index 2.
    index: u32,
    name: String,
    port: u16,
    label: Label,
    state: State,
    started: Instant,
    backoff: Backoff,
    ready: bool,
    failures: u32,
    /// The wait before the last passing check of a ready instance (the back-off's state).
    probe_every: Option<Duration>,
    /// A web that never accepted connections on its port: no longer waited for.
    gave_up: bool,
    next_probe: Option<Instant>,
    probing: bool,
    /// What happens when the current process is gone.
    after_exit: AfterExit,
    /// An extra instance that holds the type's capacity while a roll replaces the others;
    /// not part of the formation.
    surge: bool,
    pid: Option<u32>,
    restarts: u32,
    /// How the last process ended (dozen's exit-code convention).
    exit_code: Option<i32>,
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

impl Slot {
    fn removed(&self) -> bool {
        self.after_exit == AfterExit::Leave
    }
}

enum Event {
    Nursery(nursery::Event),
    NurseryGone,
    Signal(i32),
    StdoutClosed,
    Health {
        id: u64,
        result: Result<(), String>,
    },
    /// A request, where to answer, and the moment after which it must not be applied (its
    /// client has been told it was not).
    Control(control::Request, mpsc::Sender<Response>, Instant),
}

/// Runs the formation until it stops; returns dozen's exit code.
pub fn run(mut plan: Plan<'_>) -> std::io::Result<i32> {
    reaper::become_subreaper()?;
    let (tx, rx) = mpsc::channel();
    let signal_handle = forward_signals(tx.clone())?;

    let queue = Queue::new(QUEUE_BYTES);
    let stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let writer = {
        let (queue, tx) = (queue.clone(), tx.clone());
        std::thread::Builder::new()
            .name("dozen-writer".into())
            .spawn(move || {
                queue.write_all_to(stdout, |_| {
                    let _ = tx.send(Event::StdoutClosed);
                });
            })?
    };
    let width = plan
        .instances
        .iter()
        .map(|i| format!("{}.{}", plan.spec.types[i.type_index].name, i.index).len())
        .max()
        .unwrap_or(0);
    let formatter = Formatter::new(plan.format, plan.timestamps, plan.color, width);
    let (pump, pump_thread) = pump::start(formatter.clone(), queue)?;

    let nursery = Nursery::start()?;
    {
        let (mut events, tx) = (nursery.events()?, tx.clone());
        std::thread::Builder::new()
            .name("dozen-nursery".into())
            .spawn(move || {
                while let Some(event) = events.next_event() {
                    if tx.send(Event::Nursery(event)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Event::NurseryGone);
            })?;
    }

    let _control = plan
        .control
        .take()
        .map(|server| serve_control(server, tx.clone()))
        .transpose()?;

    let slots = plan
        .instances
        .iter()
        .map(|i| new_slot(&plan.spec, 0, i.type_index, i.index, i.port, &formatter))
        .collect();
    let spec = std::mem::replace(
        &mut plan.spec,
        Spec {
            release: String::new(),
            types: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::new(),
            keep: None,
            counts: indexmap::IndexMap::new(),
        },
    );
    let mut runner = Runner {
        plan,
        specs: vec![spec],
        current: 0,
        slots,
        formatter,
        roll: std::collections::VecDeque::new(),
        rolling: None,
        rolled: 0,
        moving: None,
        last_roll: None,
        rolling_back: false,
        nursery: &nursery,
        pump: &pump,
        tx,
        next_id: 1,
        stopping: false,
        interrupts: 0,
        exit_code: 0,
    };
    runner.start_ready_slots();
    while !runner.finished() {
        let timeout = runner.next_timer().map_or(Duration::from_secs(3600), |t| {
            t.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(timeout) {
            Ok(event) => runner.handle(event),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        runner.on_timers(Instant::now());
        runner.forget_removed();
    }
    let code = runner.exit_code;
    signal_handle.close();
    pump.send(PumpCommand::Finish);
    let _ = pump_thread.join();
    let _ = writer.join();
    nursery.finish();
    reaper::end_descendants(Duration::from_secs(1));
    Ok(code)
}

/// SIGINT, SIGTERM and SIGHUP become events of the loop, on a thread of their own.
fn forward_signals(tx: mpsc::Sender<Event>) -> std::io::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("dozen-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send(Event::Signal(signal)).is_err() {
                    break;
                }
            }
        })?;
    Ok(handle)
}

/// Requests from `dozen scale`/`dozen ps` become events of the loop; the socket file goes
/// when the returned guard is dropped, at the end of the run.
fn serve_control(
    server: control::Server,
    tx: mpsc::Sender<Event>,
) -> std::io::Result<control::ServerGuard> {
    server.serve(move |request| {
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + control::REQUEST_DEADLINE;
        if tx.send(Event::Control(request, reply, deadline)).is_err() {
            return Response::error("the run is ending");
        }
        // The run either applies the request before its deadline and answers, or refuses it
        // unapplied; the margin covers the time a begun request takes.
        answer
            .recv_timeout(control::REQUEST_DEADLINE + control::APPLY_MARGIN)
            .unwrap_or_else(|_| Response::error("the run did not answer in time"))
    })
}

/// A slot for one instance, waiting to start.
fn new_slot(
    spec: &Spec,
    spec_index: usize,
    type_index: usize,
    index: u32,
    port: u16,
    formatter: &Formatter,
) -> Slot {
    let name = format!("{}.{index}", spec.types[type_index].name);
    Slot {
        id: 0,
        spec: spec_index,
        next_spec: None,
        type_index,
        index,
        label: formatter.label(&name, type_index),
        name,
        port,
        state: State::Waiting,
        started: Instant::now(),
        backoff: spec.types[type_index].backoff,
        ready: false,
        failures: 0,
        probe_every: None,
        gave_up: false,
        next_probe: None,
        probing: false,
        after_exit: AfterExit::Policy,
        surge: false,
        pid: None,
        restarts: 0,
        exit_code: None,
    }
}

struct Runner<'a, 'f> {
    plan: Plan<'f>,
    /// Every spec instances have run from; `current` is the one new instances start from.
    specs: Vec<Spec>,
    current: usize,
    slots: Vec<Slot>,
    formatter: Formatter,
    /// Instances waiting their turn in a rolling restart.
    roll: std::collections::VecDeque<String>,
    /// The instance being replaced now.
    rolling: Option<String>,
    /// How many instances the current rolling restart has replaced.
    rolled: usize,
    /// While the formation moves to a new release: the spec it is moving from.
    moving: Option<usize>,
    /// The latest restart or move, for `dozen ps` and clients that wait for its end.
    last_roll: Option<control::RollStatus>,
    /// While a failed move's moved instances go back to the release it left.
    rolling_back: bool,
    nursery: &'a Nursery,
    pump: &'a pump::Handle,
    tx: mpsc::Sender<Event>,
    next_id: u64,
    stopping: bool,
    interrupts: u32,
    exit_code: i32,
}

impl Runner<'_, '_> {
    fn system(&self, text: impl Into<String>) {
        self.pump.system(text, None);
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
            .all(|s| s.ready)
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
        let outputs = match Outputs::open(self.settings(slot).tty) {
            Ok(outputs) => outputs,
            Err(error) => {
                let name = self.slots[slot].name.clone();
                self.stop_all(
                    &format!("cannot create output pipes for {name}: {error}"),
                    1,
                );
                return;
            }
        };
        let settings = self.settings(slot);
        let s = &self.slots[slot];
        let spec = &self.specs[self.slots[slot].spec];
        let mut env = spec.env.clone();
        env.retain(|(k, _)| !matches!(k.as_str(), "PORT" | "PS" | "DOZEN_PROCESS"));
        env.push(("PORT".into(), s.port.to_string()));
        env.push(("PS".into(), s.name.clone()));
        env.push(("DOZEN_PROCESS".into(), s.name.clone()));
        if !env.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        }
        let argv = crate::app::profile_d::wrap(
            &spec.cwd,
            vec![
                "/bin/sh".into(),
                "-c".into(),
                procfile::shell_command(&settings.command),
            ],
        );
        let request = Request::Spawn {
            id,
            argv,
            env,
            cwd: Some(spec.cwd.display().to_string()).filter(|c| !c.is_empty()),
            stop_signal: settings.stop_signal,
            kill_timeout_ms: u64::try_from(settings.kill_timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let Outputs {
            stdout,
            stderr,
            given,
            strip_cr,
        } = outputs;
        self.pump.send(PumpCommand::Add {
            id,
            label: s.label.clone(),
            stdout,
            stderr,
            strip_cr,
            held: true,
        });
        let fds: Vec<_> = given.iter().map(std::os::fd::AsFd::as_fd).collect();
        if let Err(error) = self.nursery.send(&request, &fds) {
            let name = s.name.clone();
            self.stop_all(&format!("cannot start {name}: {error}"), 1);
            return;
        }
        // The process has its ends now; ours must close, or its output never ends.
        drop(fds);
        drop(given);
        let s = &mut self.slots[slot];
        if matches!(s.state, State::Backoff(_)) {
            s.restarts += 1;
        }
        s.id = id;
        s.pid = None;
        s.state = State::Running;
        s.started = Instant::now();
        s.ready = false;
        s.failures = 0;
        s.probing = false;
        s.after_exit = AfterExit::Policy;
        s.probe_every = None;
        s.gave_up = false;
        s.next_probe = self.specs[s.spec].types[s.type_index]
            .health
            .as_ref()
            .map(|_| Instant::now() + READINESS_POLL);
    }

    fn slot_of(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Signal(signal) => self.on_signal(signal),
            Event::StdoutClosed => self.stop_all("stdout was closed", 0),
            Event::NurseryGone => {
                self.system(format!(
                    "the nursery (pid {}) is gone; ending every process",
                    self.nursery.pid()
                ));
                reaper::end_descendants(Duration::from_secs(1));
                for slot in &mut self.slots {
                    slot.state = State::Done;
                }
                self.stopping = true;
                self.exit_code = 1;
            }
            Event::Nursery(nursery::Event::Spawned { id, pid }) => {
                let Some(slot) = self.slot_of(id) else { return };
                self.slots[slot].pid = u32::try_from(pid).ok();
                let text = format!("{} started (pid {pid})", self.slots[slot].name);
                self.pump.send(PumpCommand::Release { id, text });
                if self.settings(slot).health.is_none() {
                    self.slots[slot].ready = true;
                    self.start_ready_slots();
                }
            }
            Event::Nursery(nursery::Event::SpawnFailed { id, error }) => {
                let Some(slot) = self.slot_of(id) else { return };
                self.slots[slot].state = State::Done;
                let name = self.slots[slot].name.clone();
                self.pump.send(PumpCommand::Release {
                    id,
                    text: format!("{name} could not start: {error}"),
                });
                self.stop_all(&format!("{name} could not start"), 1);
            }
            Event::Nursery(nursery::Event::Exited {
                id, code, signal, ..
            }) => {
                self.on_exit(id, code, signal);
            }
            Event::Health { id, result } => self.on_health(id, result),
            Event::Control(request, reply, deadline) => {
                // Past its deadline its client was told it was not applied: keep that true.
                let response = if Instant::now() > deadline {
                    Response::error("not applied: the run was too busy to take it in time")
                } else {
                    self.on_control(request)
                };
                let _ = reply.send(response);
            }
        }
        self.forget_removed();
    }

    /// Scaled-away instances leave the formation once their process is gone; a rolling
    /// restart moves on.
    fn forget_removed(&mut self) {
        self.advance_roll();
        self.slots
            .retain(|s| !(s.removed() && s.state == State::Done));
    }

    fn on_signal(&mut self, signal: i32) {
        let name = exit::signal_name(signal);
        self.interrupts += 1;
        if self.stopping {
            if signal == SIGINT || self.interrupts > 1 {
                self.system(format!("{name} again: killing every process now"));
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
            let line = told.unwrap_or_else(|| format!("{name} {status}"));
            self.pump.system(line, Some(id));
        }
        let was_ready = self.slots[slot].ready;
        let s = &mut self.slots[slot];
        s.ready = false;
        s.pid = None;
        s.exit_code = Some(exit_code);
        if self.stopping || s.removed() {
            s.state = State::Done;
            return;
        }
        // A replacement on a new release that exits does not stop the formation: the move
        // stops instead (`advance_roll`).
        // Nor does a roll's extra instance: the roll stops.
        if s.surge
            || self.moving.is_some()
                && self.rolling.as_deref() == Some(name.as_str())
                && s.after_exit != AfterExit::Respawn
        {
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
        let settings = self.settings(slot);
        let wants_restart = (self.slots[slot].after_exit == AfterExit::Restart)
            || self.policy_restarts(slot, exit_code);
        if wants_restart {
            let uptime = self.slots[slot].started.elapsed();
            let limit = self.slots[slot].backoff.max_restarts;
            match self.slots[slot].backoff.next(uptime) {
                Decision::RestartIn { delay, attempt } => {
                    self.system(format!(
                        "{name} restarting in {} (restart {attempt} of {limit})",
                        human(delay)
                    ));
                    self.slots[slot].state = State::Backoff(Instant::now() + delay);
                }
                Decision::GiveUp => {
                    self.slots[slot].state = State::Done;
                    self.stop_all(
                        &format!("{name} gave up after {limit} restarts"),
                        if exit_code == 0 { 1 } else { exit_code },
                    );
                }
            }
        } else if settings.may_exit {
            self.slots[slot].state = State::Done;
            // Types waiting on it can no longer wait for readiness it will never reach.
            if !was_ready {
                self.slots[slot].ready = true;
            }
            self.start_ready_slots();
        } else {
            self.slots[slot].state = State::Done;
            self.stop_all_after(&format!("{name} {status}"), exit_code, Some(id));
        }
    }

    /// Whether this exit ends in stopping the formation (what [`Runner::on_exit`] decides
    /// below), so that its line says so once.
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
        let now = Instant::now();
        let replacing = self.replacing(slot);
        let s = &mut self.slots[slot];
        s.probing = false;
        match result {
            Ok(()) => {
                s.failures = 0;
                let every = if s.ready {
                    check.next_interval(s.probe_every)
                } else {
                    check.interval
                };
                s.probe_every = Some(every);
                s.next_probe = (!check.readiness_only).then_some(now + every);
                if !s.ready {
                    s.ready = true;
                    let text = format!("{} ready in {}", s.name, seconds(s.started.elapsed()));
                    self.system(text);
                    self.start_ready_slots();
                }
            }
            Err(error) if !s.ready => {
                let limit = if check.grace.is_zero() {
                    DEFAULT_READINESS_TIMEOUT
                } else {
                    check.grace
                };
                if s.started.elapsed() >= limit && check.readiness_only && !replacing {
                    // A web that never binds its port at start: said, and no longer waited
                    // for; a replacement in a restart or a move that never does fails it.
                    let s = &mut self.slots[slot];
                    s.next_probe = None;
                    s.ready = true;
                    s.gave_up = true;
                    let text = format!(
                        "{} has not accepted connections on port {} within {}: it cannot serve requests ({error})",
                        s.name,
                        s.port,
                        human(limit)
                    );
                    self.system(text);
                    self.start_ready_slots();
                } else if s.started.elapsed() >= limit {
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

    /// An instance failed its checks: restart it when its policy allows, else stop.
    /// Whether an instance is a restart's or a move's replacement, or a roll's extra one:
    /// one that must become ready for the roll to go on.
    fn replacing(&self, slot: usize) -> bool {
        self.rolling.as_ref() == Some(&self.slots[slot].name) || self.slots[slot].surge
    }

    fn unhealthy(&mut self, slot: usize, text: &str) {
        let moving = self.moving.is_some() && self.rolling.as_ref() == Some(&self.slots[slot].name);
        if moving || self.slots[slot].surge {
            // A replacement on a new release: stopped, and the move stops (`on_exit`).
            self.system(text.to_owned());
            self.signal_stop(slot);
            return;
        }
        if self.settings(slot).restart == Restart::No {
            self.stop_all(text, 1);
            return;
        }
        self.system(format!("{text}; restarting it"));
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
        let line = format!("{reason}; stopping all processes");
        match after {
            Some(id) => self.pump.system(line, Some(id)),
            None => self.system(line),
        }
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                State::Running | State::Stopping { .. } => self.signal_stop(slot),
                State::Waiting | State::Backoff(_) | State::Held => {
                    self.slots[slot].state = State::Done;
                }
                State::Done => {}
            }
        }
    }

    fn kill_all(&mut self) {
        for slot in &mut self.slots {
            if let State::Stopping { deadline, .. } = slot.state {
                let _ = self.nursery.send(
                    &Request::Signal {
                        id: slot.id,
                        signal: rustix::process::Signal::KILL.as_raw(),
                    },
                    &[],
                );
                slot.state = State::Stopping {
                    deadline,
                    killed: true,
                };
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| match s.state {
                State::Backoff(until) => Some(until),
                State::Stopping {
                    deadline,
                    killed: false,
                } => Some(deadline),
                State::Running if !s.probing => s.next_probe,
                _ => None,
            })
            .min()
    }

    fn on_timers(&mut self, now: Instant) {
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                State::Backoff(until) if until <= now && !self.stopping => self.spawn(slot),
                State::Stopping {
                    deadline,
                    killed: false,
                } if deadline <= now => {
                    let s = &self.slots[slot];
                    let text = format!(
                        "{} did not stop within {}; sending SIGKILL",
                        s.name,
                        human(self.specs[s.spec].types[s.type_index].kill_timeout)
                    );
                    self.system(text);
                    let _ = self.nursery.send(
                        &Request::Signal {
                            id: s.id,
                            signal: rustix::process::Signal::KILL.as_raw(),
                        },
                        &[],
                    );
                    self.slots[slot].state = State::Stopping {
                        deadline,
                        killed: true,
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
    }

    fn probe(&mut self, slot: usize) {
        let Some(check) = self.settings(slot).health.clone() else {
            return;
        };
        let s = &mut self.slots[slot];
        s.probing = true;
        let (id, port, tx) = (s.id, s.port, self.tx.clone());
        let spec = &self.specs[self.slots[slot].spec];
        let (env, cwd) = (spec.env.clone(), spec.cwd.clone());
        let spawned = std::thread::Builder::new()
            .name("dozen-health".into())
            .spawn(move || {
                let result = check.probe(port, &env, &cwd);
                let _ = tx.send(Event::Health { id, result });
            });
        if spawned.is_err() {
            self.slots[slot].probing = false;
        }
    }

    /// Done when every instance is, except that a formation scaled down to nothing waits for
    /// the next `dozen scale` (or a signal).
    fn finished(&self) -> bool {
        (self.stopping || !self.slots.is_empty())
            && self.slots.iter().all(|s| s.state == State::Done)
    }

    fn on_control(&mut self, request: control::Request) -> Response {
        match request.op {
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
            Op::Move { release } => self.move_to(release),
        }
    }

    /// Moves the formation to release `version`: instance by instance, each replacement ready
    /// before the next instance stops, as a rolling restart; a replacement that does not come
    /// back ends the move and is started again on the release it left.
    fn move_to(&mut self, version: u32) -> Response {
        if self.stopping {
            return Response::error("the formation is stopping");
        }
        if self.moving.is_some() || self.rolling.is_some() || !self.roll.is_empty() {
            return Response::error(
                "a restart or a move is in progress; try again when it is done",
            );
        }
        let Some(load) = self.plan.follow.as_mut() else {
            return Response {
                message: Some(
                    "the running formation does not follow the current release (it was started with --dev or --release)"
                        .to_owned(),
                ),
                ..self.status()
            };
        };
        let spec = match load(version) {
            Ok(spec) => spec,
            Err(error) => return Response::error(format!("cannot load v{version}: {error}")),
        };
        let release = spec.release.clone();
        let (old, new) = (self.current, self.specs.len());
        self.specs.push(spec);
        self.current = new;
        self.moving = Some(old);
        self.system(format!(
            "{release} is current: moving the formation to it, one instance at a time"
        ));
        let mut names = Vec::new();
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&i| !self.slots[i].removed())
            .collect();
        order.sort_by_key(|&i| {
            (
                self.type_order(self.type_name(&self.slots[i])),
                self.slots[i].index,
            )
        });
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
        self.add_new_types();
        self.begin_roll("move", Some(release.clone()));
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
                match instance_port(self.plan.base_port, type_index, index) {
                    Ok(port) if crate::app::ports::port_taken(port).is_none() => {
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
                &self.formatter,
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

    /// Queues a rolling restart: one instance at a time, the next once the previous one's
    /// replacement is ready (ports stay the same, so an instance stops before it starts
    /// again; see docs/control.md).
    fn restart(&mut self, names: &[String]) -> String {
        let fresh: Vec<String> = names
            .iter()
            .filter(|n| !self.roll.contains(n) && self.rolling.as_ref() != Some(n))
            .cloned()
            .collect();
        if !fresh.is_empty() {
            self.begin_roll("restart", None);
        }
        self.queue_roll(&fresh);
        self.advance_roll();
        format!("restarting {}, one at a time", names.join(", "))
    }

    /// Stops instances gracefully and keeps them stopped until scaled or restarted.
    fn stop(&mut self, names: &[String]) -> String {
        self.roll.retain(|n| !names.contains(n));
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
    /// release it left, and the others stay on it.
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
        self.system(format!(
            "{name} did not become ready on {to}: the move stopped; the formation stays on {from}"
        ));
        self.log_move(&to, "stopped", Some(&name));
        // Instances the move added for types only the new release has go again; those that
        // moved and are ready stay (`dozen ps` shows each instance's release).
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
        self.set_roll("rolling back", Some(&name));
        if back.is_empty() {
            self.set_roll("failed", None);
        } else {
            self.system(format!("moving {} back to {from}", back.join(", ")));
            self.rolling_back = true;
            self.queue_roll(&back);
        }
    }

    /// The activity log gets each move's outcome (the release itself is logged by `dozen
    /// release`).
    fn log_move(&self, release: &str, outcome: &str, failed: Option<&str>) {
        let _ = crate::store::history::append(
            &self.plan.store,
            "move",
            serde_json::json!({ "release": release, "outcome": outcome, "failed": failed }),
        );
    }

    /// Sends an instance its stop signal; SIGKILL follows at its kill timeout.
    fn signal_stop(&mut self, slot: usize) {
        let (id, signal, timeout) = (
            self.slots[slot].id,
            self.settings(slot).stop_signal,
            self.settings(slot).kill_timeout,
        );
        let _ = self.nursery.send(&Request::Signal { id, signal }, &[]);
        let s = &mut self.slots[slot];
        s.next_probe = None;
        s.state = State::Stopping {
            // Timeouts are bounded (a day), but a deadline must never overflow.
            deadline: Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| Instant::now() + crate::app::duration::Duration::MAX),
            killed: false,
        };
    }

    /// Queues instances for a roll, type by type: first an extra instance of the type (`+web`),
    /// ready before any of them stops, then each instance, then the extra one goes (`-web`).
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
            self.roll.push_back(format!("+{type_name}"));
            self.roll.extend(group);
            self.roll.push_back(format!("-{type_name}"));
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
        let port = instance_port(self.plan.base_port, type_index, index).ok()?;
        if crate::app::ports::port_taken(port).is_some() {
            return None;
        }
        let spec = &self.specs[self.current];
        let mut slot = new_slot(spec, self.current, type_index, index, port, &self.formatter);
        slot.surge = true;
        self.slots.push(slot);
        let at = self.slots.len() - 1;
        self.system(format!(
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

    /// Moves a rolling restart on: waits for the instance being replaced to be ready again,
    /// then stops the next one. A replacement that crashes or fails its checks ends the roll.
    fn advance_roll(&mut self) {
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
                    State::Running if s.ready || (!has_check && s.pid.is_some()) => {
                        self.rolling = None;
                    }
                    State::Running | State::Stopping { .. } | State::Waiting => return,
                    State::Held => self.rolling = None,
                    State::Backoff(_) | State::Done => {
                        let left = self
                            .roll
                            .iter()
                            .filter(|n| !n.starts_with(['+', '-']))
                            .count();
                        self.roll.clear();
                        self.rolling = None;
                        self.rolled = 0;
                        self.end_surge(None);
                        if let Some(old) = self.moving.take() {
                            self.abandon_move(slot, old);
                        } else if self.rolling_back {
                            self.rolling_back = false;
                            self.system(format!(
                                "{name} did not come back on the release it left either"
                            ));
                            self.set_roll("failed", None);
                        } else {
                            self.system(format!(
                                "{name} did not come back; the rolling restart stopped ({left} not restarted)"
                            ));
                            self.set_roll("failed", Some(&name));
                        }
                        return;
                    }
                }
                continue;
            }
            let Some(name) = self.roll.pop_front() else {
                self.finish_roll();
                return;
            };
            if let Some(type_name) = name.strip_prefix('+') {
                if let Some(surge) = self.start_surge(type_name) {
                    self.rolling = Some(surge);
                }
                continue;
            }
            if let Some(type_name) = name.strip_prefix('-') {
                self.end_surge(Some(type_name));
                continue;
            }
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
                    self.system(what);
                    self.signal_stop(slot);
                    self.slots[slot].after_exit = AfterExit::Respawn;
                }
                State::Stopping { .. } => self.slots[slot].after_exit = AfterExit::Respawn,
                State::Held | State::Backoff(_) | State::Done => {
                    self.system(format!("starting {name}"));
                    self.spawn(slot);
                }
                State::Waiting => continue,
            }
            self.rolled += 1;
            self.rolling = Some(name);
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
            self.system(format!(
                "the formation runs {release} ({n} instance{plural} moved)"
            ));
            self.log_move(&release, "moved", None);
            self.specs[old].keep = None;
            self.set_roll("done", None);
        } else if self.rolling_back {
            self.rolling_back = false;
            let release = self.specs[self.current].release.clone();
            self.system(format!(
                "the formation is back on {release} ({n} instance{plural} moved back)"
            ));
            self.set_roll("failed", None);
        } else if n > 0 {
            self.system(format!("rolling restart done ({n} instance{plural})"));
            self.set_roll("done", None);
        } else {
            self.set_roll("done", None);
        }
    }

    fn begin_roll(&mut self, kind: &str, release: Option<String>) {
        let seq = self.last_roll.as_ref().map_or(1, |r| r.seq + 1);
        self.last_roll = Some(control::RollStatus {
            seq,
            kind: kind.to_owned(),
            release,
            state: "running".to_owned(),
            failed: None,
        });
    }

    /// Records how the latest roll ended (or that it is rolling back). A roll that already
    /// failed stays failed: the queue running empty afterwards is not "done".
    fn set_roll(&mut self, state: &str, failed: Option<&str>) {
        if let Some(roll) = &mut self.last_roll {
            if state == "done" && roll.state != "running" {
                return;
            }
            state.clone_into(&mut roll.state);
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
                    .filter(|s| self.type_name(s) == t.name && !s.removed() && !s.surge)
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
                    State::Waiting => "waiting",
                    State::Running if s.pid.is_none() || (check && !s.ready) => "starting",
                    State::Running if check && !s.gave_up => "ready",
                    State::Running => "running",
                    State::Backoff(_) => "backing off",
                    State::Stopping { .. } => "stopping",
                    State::Held => "stopped",
                    State::Done if s.exit_code == Some(0) => "exited",
                    State::Done => "crashed",
                };
                let health = match (check, s.ready, s.failures) {
                    _ if s.gave_up => "not listening",
                    (false, _, _) => "none",
                    (true, false, _) => "pending",
                    (true, true, 0) => "passing",
                    (true, true, _) => "failing",
                };
                let alive = matches!(s.state, State::Running | State::Stopping { .. });
                InstanceStatus {
                    name: s.name.clone(),
                    type_name: self.type_name(s).to_owned(),
                    index: s.index,
                    state: state.to_owned(),
                    pid: s.pid,
                    port: s.port,
                    uptime_ms: alive.then(|| {
                        u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX)
                    }),
                    restarts: s.restarts,
                    health: health.to_owned(),
                    release: self.specs[s.spec].release.clone(),
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
            roll: self.last_roll.clone(),
        }
    }

    /// Applies `dozen scale`: all of it or, when anything is wrong, none of it.
    fn scale(&mut self, changes: &[ScaleChange]) -> Result<(), ScaleError> {
        use ScaleError::Refused;
        if self.stopping {
            return Err(Refused("the formation is stopping".to_owned()));
        }
        let names: Vec<&str> = self.types().iter().map(|t| t.name.as_str()).collect();
        let current = self.formation();
        let next = current.scaled(&names, changes).map_err(ScaleError::Usage)?;
        // Everything that could refuse the change is checked before anything starts or stops.
        let mut added = Vec::new();
        for (type_index, t) in self.types().iter().enumerate() {
            let have = current.counts[&t.name];
            for index in have + 1..=next.counts[&t.name] {
                let name = format!("{}.{index}", t.name);
                if self.slots.iter().any(|s| s.name == name) {
                    return Err(Refused(format!(
                        "{name} is still stopping; scale again once it has stopped"
                    )));
                }
                let port =
                    instance_port(self.plan.base_port, type_index, index).map_err(|port| {
                        Refused(format!("{name} would need port {port}, above 65535"))
                    })?;
                if let Some(error) = crate::app::ports::port_taken(port) {
                    return Err(Refused(format!(
                        "port {port} for {name} is already in use ({error})"
                    )));
                }
                added.push((type_index, index, port));
            }
        }
        for (type_index, index, port) in added {
            let spec = &self.specs[self.current];
            let slot = new_slot(spec, self.current, type_index, index, port, &self.formatter);
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
            self.system(format!("formation scaled to {}", next.describe()));
        }
        if next.total() == 0 {
            self.system("the formation is empty: waiting for `dozen scale` (Ctrl-C ends dozen)");
        }
        if let Err(error) = crate::store::formation::save(&self.plan.store, &next.counts) {
            self.system(format!("cannot store the formation: {error}"));
        }
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

/// Why a scale was not applied.
enum ScaleError {
    /// The request is wrong (unknown type, count out of range).
    Usage(String),
    /// The request is fine but cannot be applied now (a port is taken, an instance is
    /// still stopping, the formation is stopping).
    Refused(String),
}

/// An instance's output: the ends dozen reads and the ends the process is given.
struct Outputs {
    stdout: std::os::fd::OwnedFd,
    stderr: Option<std::os::fd::OwnedFd>,
    given: Vec<std::os::fd::OwnedFd>,
    /// A pseudo-terminal turns `\n` into `\r\n`; the `\r` is dropped again.
    strip_cr: bool,
}

impl Outputs {
    /// Two pipes (stdout and stderr kept apart), or one pseudo-terminal for both.
    fn open(tty: bool) -> std::io::Result<Self> {
        if tty {
            let pty = super::pty::Pty::open()?;
            return Ok(Self {
                stdout: pty.controller,
                stderr: None,
                given: vec![pty.terminal],
                strip_cr: true,
            });
        }
        let (out_read, out_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let (err_read, err_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        Ok(Self {
            stdout: out_read,
            stderr: Some(err_read),
            given: vec![out_write, err_write],
            strip_cr: false,
        })
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
