//! The supervisor's event loop: one thread owns every instance's state and reacts to the
//! nursery's events, signals, health results and timers. See docs/supervisor.md.

use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::backoff::{Backoff, Decision};
use super::health::Check;
use super::nursery::{self, Nursery, Request};
use super::output::format::{Formatter, Label, LogFormat};
use super::output::pump::{self, Command as PumpCommand};
use super::output::queue::Queue;
use super::{exit, reaper};
use crate::app::manifest::Restart;

/// How much formatted output may wait for a slow stdout before the children are slowed.
const QUEUE_BYTES: usize = 4 * 1024 * 1024;
/// Readiness is probed this often until it passes, then at the check's interval.
const READINESS_POLL: Duration = Duration::from_millis(100);
/// How long an instance may take to pass its first check when no `grace` is set.
const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the runner needs, validated: built by `commands/run.rs`.
pub struct Plan {
    pub types: Vec<TypeSettings>,
    pub instances: Vec<PlannedInstance>,
    /// The environment every instance starts from (inherited + config for `--dev`).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub format: LogFormat,
    pub timestamps: bool,
    pub color: bool,
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
    Done,
}

struct Slot {
    /// The id of the current process (a restart gets a new one, so stale events are told apart).
    id: u64,
    type_index: usize,
    name: String,
    port: u16,
    label: Label,
    state: State,
    started: Instant,
    backoff: Backoff,
    ready: bool,
    failures: u32,
    next_probe: Option<Instant>,
    probing: bool,
    /// Restart as soon as the current process is gone (it was stopped for being unhealthy).
    restart_on_exit: bool,
}

enum Event {
    Nursery(nursery::Event),
    NurseryGone,
    Signal(i32),
    StdoutClosed,
    Health { id: u64, result: Result<(), String> },
}

/// Runs the formation until it stops; returns dozen's exit code.
pub fn run(plan: Plan) -> std::io::Result<i32> {
    reaper::become_subreaper()?;
    let (tx, rx) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let signal_handle = signals.handle();
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("dozen-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if tx.send(Event::Signal(signal)).is_err() {
                        break;
                    }
                }
            })?;
    }

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
        .map(|i| format!("{}.{}", plan.types[i.type_index].name, i.index).len())
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

    let slots = slots(&plan, &formatter);
    let mut runner = Runner {
        plan,
        slots,
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

/// One slot per planned instance, waiting to start.
fn slots(plan: &Plan, formatter: &Formatter) -> Vec<Slot> {
    plan.instances
        .iter()
        .map(|i| {
            let name = format!("{}.{}", plan.types[i.type_index].name, i.index);
            Slot {
                id: 0,
                type_index: i.type_index,
                label: formatter.label(&name, i.type_index),
                name,
                port: i.port,
                state: State::Waiting,
                started: Instant::now(),
                backoff: plan.types[i.type_index].backoff,
                ready: false,
                failures: 0,
                next_probe: None,
                probing: false,
                restart_on_exit: false,
            }
        })
        .collect()
}

struct Runner<'a> {
    plan: Plan,
    slots: Vec<Slot>,
    nursery: &'a Nursery,
    pump: &'a pump::Handle,
    tx: mpsc::Sender<Event>,
    next_id: u64,
    stopping: bool,
    interrupts: u32,
    exit_code: i32,
}

impl Runner<'_> {
    fn system(&self, text: impl Into<String>) {
        self.pump.system(text, None);
    }

    fn settings(&self, slot: usize) -> &TypeSettings {
        &self.plan.types[self.slots[slot].type_index]
    }

    /// A type is ready when every instance it has is ready.
    fn type_ready(&self, name: &str) -> bool {
        self.slots
            .iter()
            .filter(|s| self.plan.types[s.type_index].name == name)
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
        let mut env = self.plan.env.clone();
        env.retain(|(k, _)| !matches!(k.as_str(), "PORT" | "PS" | "DOZEN_PROCESS"));
        env.push(("PORT".into(), s.port.to_string()));
        env.push(("PS".into(), s.name.clone()));
        env.push(("DOZEN_PROCESS".into(), s.name.clone()));
        if !env.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        }
        let request = Request::Spawn {
            id,
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                shell_command(&settings.command),
            ],
            env,
            cwd: Some(self.plan.cwd.display().to_string()).filter(|c| !c.is_empty()),
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
        s.id = id;
        s.state = State::Running;
        s.started = Instant::now();
        s.ready = false;
        s.failures = 0;
        s.probing = false;
        s.restart_on_exit = false;
        s.next_probe = self.plan.types[s.type_index]
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
            Event::Nursery(nursery::Event::Exited { id, code, signal }) => {
                self.on_exit(id, code, signal);
            }
            Event::Health { id, result } => self.on_health(id, result),
        }
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
        self.pump.system(format!("{name} {status}"), Some(id));
        let was_ready = self.slots[slot].ready;
        self.slots[slot].ready = false;
        if self.stopping {
            self.slots[slot].state = State::Done;
            return;
        }
        let settings = self.settings(slot);
        let wants_restart = self.slots[slot].restart_on_exit
            || match settings.restart {
                Restart::Always => true,
                Restart::OnFailure => exit_code != 0,
                Restart::No => false,
            };
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
            self.stop_all(&format!("{name} {status}"), exit_code);
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
        let s = &mut self.slots[slot];
        s.probing = false;
        match result {
            Ok(()) => {
                s.failures = 0;
                s.next_probe = Some(now + check.interval);
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
                if s.started.elapsed() >= limit {
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
    fn unhealthy(&mut self, slot: usize, text: &str) {
        if self.settings(slot).restart == Restart::No {
            self.stop_all(text, 1);
            return;
        }
        self.system(format!("{text}; restarting it"));
        let (id, signal, timeout) = (
            self.slots[slot].id,
            self.settings(slot).stop_signal,
            self.settings(slot).kill_timeout,
        );
        let _ = self.nursery.send(&Request::Signal { id, signal }, &[]);
        let s = &mut self.slots[slot];
        s.restart_on_exit = true;
        s.next_probe = None;
        s.state = State::Stopping {
            deadline: Instant::now() + timeout,
            killed: false,
        };
    }

    /// Stops the formation: every running instance gets its stop signal, SIGKILL at its
    /// kill timeout. The first reason given decides dozen's exit code.
    fn stop_all(&mut self, reason: &str, code: i32) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.exit_code = code;
        self.system(format!("{reason}; stopping all processes"));
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                State::Running | State::Stopping { .. } => {
                    let (id, signal, timeout) = (
                        self.slots[slot].id,
                        self.settings(slot).stop_signal,
                        self.settings(slot).kill_timeout,
                    );
                    let _ = self.nursery.send(&Request::Signal { id, signal }, &[]);
                    self.slots[slot].state = State::Stopping {
                        deadline: now + timeout,
                        killed: false,
                    };
                }
                State::Waiting | State::Backoff(_) => self.slots[slot].state = State::Done,
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
                        human(self.plan.types[s.type_index].kill_timeout)
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
        let (env, cwd) = (self.plan.env.clone(), self.plan.cwd.clone());
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

    fn finished(&self) -> bool {
        self.slots.iter().all(|s| s.state == State::Done)
    }
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

/// `/bin/sh -c` argument: `exec` a simple command so the app replaces the shell (signals then
/// reach it directly); compound commands run as written.
fn shell_command(command: &str) -> String {
    let compound = command.contains([';', '&', '|', '(', ')', '\n', '`'])
        || ["if ", "for ", "while ", "until ", "case ", "{ ", "exec "]
            .iter()
            .any(|k| command.trim_start().starts_with(k));
    if compound {
        command.to_owned()
    } else {
        format!("exec {command}")
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

    #[test]
    fn simple_commands_are_execed() {
        assert_eq!(
            shell_command("python3 app.py --port $PORT"),
            "exec python3 app.py --port $PORT"
        );
        assert_eq!(shell_command("a && b"), "a && b");
        assert_eq!(shell_command("cd web; ./run"), "cd web; ./run");
        assert_eq!(shell_command("exec ./run"), "exec ./run");
        assert_eq!(
            shell_command("while true; do x; done"),
            "while true; do x; done"
        );
    }
}
