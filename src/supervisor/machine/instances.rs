//! Instances: starting them when what they wait for is ready, their exits and restarts,
//! their health, stopping the formation.

use crate::app::manifest::Restart;
use crate::supervisor::backoff::Decision;
use crate::supervisor::exit;
use crate::supervisor::health::{Failed, Probe};
use signal_hook::consts::SIGINT;

use super::{
    Action, AfterExit, CHECK_LEFTOVER_GRACE, Checking, CommandCheck, DEFAULT_READINESS_TIMEOUT,
    Input, Machine, READINESS_POLL, Readiness, Start, State, human, seconds,
};

impl Machine {
    pub(super) fn start_ready_slots(&mut self) {
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

    pub(super) fn spawn(&mut self, slot: usize) {
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
            open_files: settings.limits.open_files,
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
        s.state = State::Running(Checking {
            next: checked.then_some(now + READINESS_POLL),
            ..Checking::default()
        });
        s.started = now;
        s.readiness = Readiness::Pending;
        s.failures = 0;
        s.after_exit = AfterExit::Policy;
    }

    /// What an instance's processes (and its check commands) see: the release's environment
    /// with its `PORT` and name.
    pub(super) fn environment(&self, slot: usize) -> Vec<(String, String)> {
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
    pub(super) fn on_check(&mut self, input: &Input) -> bool {
        let (Input::Spawned { id, .. } | Input::SpawnFailed { id, .. } | Input::Exited { id, .. }) =
            input
        else {
            return false;
        };
        let Some(at) = self.checks.iter().position(|c| c.id == *id) else {
            return false;
        };
        let result = match input {
            Input::SpawnFailed { error, .. } => Err(Failed::CommandNotStarted {
                command: self.checks[at].command.clone(),
                error: error.clone(),
            }),
            Input::Exited { code, signal, .. } => {
                let c = &self.checks[at];
                if c.killed {
                    Err(Failed::CommandTooSlow {
                        command: c.command.clone(),
                        took: human(c.timeout),
                    })
                } else if *code == Some(0) {
                    Ok(())
                } else {
                    Err(Failed::CommandFailed {
                        command: c.command.clone(),
                        status: exit::describe_of(*code, *signal),
                    })
                }
            }
            _ => return true,
        };
        let check = self.checks.remove(at);
        self.on_health(check.instance, result);
        true
    }

    pub(super) fn slot_of(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    /// Scaled-away instances leave the formation once their process is gone; a roll moves on.
    pub(super) fn forget_removed(&mut self) {
        self.advance_deploy();
        self.advance_roll();
        self.slots
            .retain(|s| !(s.removed() && s.state == State::Done));
        self.let_go_of_unused_specs();
    }

    /// A release no instance runs or moves to, and that a move or deploy may not go back to,
    /// is let go: its store lock and build-use guard (what `keep` holds) and its config. Its
    /// entry stays (indexes into `specs` stay valid), empty.
    fn let_go_of_unused_specs(&mut self) {
        // (Runs after every input: a run that never moved has one spec and nothing to do.)
        if self.specs.len() == 1 {
            return;
        }
        let deploy_old = self.deploy.as_ref().map(|d| d.old);
        for index in 0..self.specs.len() {
            let used = index == self.current
                || Some(index) == self.moving.from()
                || Some(index) == deploy_old
                || self
                    .slots
                    .iter()
                    .any(|s| s.spec == index || s.next_spec == Some(index));
            let spec = &mut self.specs[index];
            if !used && (spec.keep.is_some() || !spec.env.is_empty()) {
                spec.keep = None;
                spec.env = Vec::new();
            }
        }
    }

    pub(super) fn on_signal(&mut self, signal: i32) {
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

    pub(super) fn on_exit(&mut self, id: u64, code: Option<i32>, signal: Option<i32>) {
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
        let replacing =
            self.moving.from().is_some() && self.rolling.as_deref() == Some(name.as_str());
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
        // Nor does a deploy's candidate before its switch: the deploy is aborted instead,
        // unless the policy restarts it (a candidate in backoff aborts a starting deploy
        // too). Found by a new user's trial of issue 30: a `web` that exits took the running
        // formation down with it.
        if self.trial_candidate(slot) && !self.policy_restarts(slot, exit_code) {
            self.slots[slot].state = State::Done;
            let release = self.specs[self.slots[slot].spec].release.clone();
            self.abort_deploy(&format!("{name} {status} on {release}"), Some(&name));
            return;
        }
        let s = &mut self.slots[slot];
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
                Decision::GiveUp if self.watching => {
                    self.hold_for_change(slot, &format!("{name} gave up after {limit} restarts"));
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
        } else if self.watching {
            self.hold_for_change(slot, &name);
        } else {
            self.slots[slot].state = State::Done;
            self.stop_all_after(&format!("{name} {status}"), exit_code, Some(id));
        }
    }

    /// `--watch`: an instance that ended waits for the next change to start again (as
    /// nodemon's "waiting for file changes"), and the formation runs on.
    fn hold_for_change(&mut self, slot: usize, what: &str) {
        self.slots[slot].state = State::Held;
        self.slots[slot].backoff.restarts = 0;
        self.say(format!("{what}: waiting for a change to start it again"));
    }

    /// Whether this exit ends in stopping the formation (what [`Machine::on_exit`] decides),
    /// so that its line says so once.
    pub(super) fn exit_stops_formation(&self, slot: usize, exit_code: i32) -> bool {
        let s = &self.slots[slot];
        let replacing =
            self.moving.from().is_some() && self.rolling.as_deref() == Some(s.name.as_str());
        if self.stopping || s.removed() || s.surge || replacing || self.trial_candidate(slot) {
            return false;
        }
        s.after_exit == AfterExit::Policy
            && !self.watching
            && !self.policy_restarts(slot, exit_code)
            && !self.settings(slot).may_exit
    }

    /// Whether the type's restart policy restarts an instance that exited with `exit_code`.
    pub(super) fn policy_restarts(&self, slot: usize, exit_code: i32) -> bool {
        match self.settings(slot).restart {
            Restart::Always => true,
            Restart::OnFailure => exit_code != 0,
            Restart::No => false,
        }
    }

    pub(super) fn on_health(&mut self, id: u64, result: Result<(), Failed>) {
        let Some(slot) = self.slot_of(id) else { return };
        if !matches!(self.slots[slot].state, State::Running(_)) || self.stopping {
            return;
        }
        let Some(check) = self.settings(slot).health.clone() else {
            return;
        };
        let now = self.now;
        let replacing = self.replacing(slot);
        let s = &mut self.slots[slot];
        let State::Running(probe) = &mut s.state else {
            return;
        };
        probe.in_flight = false;
        let elapsed = now.saturating_duration_since(s.started);
        match result {
            Ok(()) => {
                s.failures = 0;
                let every = if s.readiness == Readiness::Pending {
                    check.interval
                } else {
                    check.next_interval(probe.every)
                };
                probe.every = Some(every);
                probe.next = (!check.readiness_only).then_some(now + every);
                if s.readiness == Readiness::Pending {
                    s.readiness = Readiness::Ready;
                    let text = format!("{} ready in {}", s.name, seconds(elapsed));
                    self.say(text);
                    self.start_ready_slots();
                }
            }
            Err(error) if s.readiness == Readiness::Pending => {
                let limit = if check.grace.is_zero() {
                    DEFAULT_READINESS_TIMEOUT
                } else {
                    check.grace
                };
                if elapsed >= limit && check.readiness_only && !replacing {
                    // A web that never binds its port at start: said, and no longer waited
                    // for; a replacement in a restart or a move that never does fails it.
                    probe.next = None;
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
                    probe.next = Some(now + READINESS_POLL);
                }
            }
            Err(error) => {
                s.failures += 1;
                probe.every = None;
                probe.next = Some(now + check.interval);
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

    /// Whether an instance is on the candidate side of a deploy not yet switched to it (a
    /// blue-green side starting, a canary being analysed): on trial, so what befalls it ends
    /// the deploy, never the formation.
    pub(super) fn trial_candidate(&self, slot: usize) -> bool {
        self.slots[slot].candidate
            && self
                .deploy
                .as_ref()
                .is_some_and(|d| !matches!(d.phase, super::DeployPhase::Switched { .. }))
    }

    /// Whether an instance is a restart's or a move's replacement, or a roll's extra one:
    /// one that must become ready for the roll to go on.
    pub(super) fn replacing(&self, slot: usize) -> bool {
        self.rolling.as_ref() == Some(&self.slots[slot].name) || self.slots[slot].surge
    }

    /// An instance failed its checks: restart it when its policy allows, else stop.
    pub(super) fn unhealthy(&mut self, slot: usize, text: &str) {
        let moving =
            self.moving.from().is_some() && self.rolling.as_ref() == Some(&self.slots[slot].name);
        if moving || self.slots[slot].surge {
            // A replacement on a new release: stopped, and the move stops (`on_exit`).
            self.say(text);
            self.signal_stop(slot);
            return;
        }
        if self.settings(slot).restart == Restart::No {
            if self.trial_candidate(slot) {
                self.say(text);
                let name = self.slots[slot].name.clone();
                self.abort_deploy(text, Some(&name));
                return;
            }
            self.stop_all(text, 1);
            return;
        }
        self.say(format!("{text}; restarting it"));
        self.signal_stop(slot);
        self.slots[slot].after_exit = AfterExit::Restart;
    }

    /// Stops the formation: every running instance gets its stop signal, SIGKILL at its
    /// kill timeout. The first reason given decides dozen's exit code.
    pub(super) fn stop_all(&mut self, reason: &str, code: i32) {
        self.stop_all_after(reason, code, None);
    }

    /// Stops the formation; the line saying why comes after the output of process `after`
    /// when one is given (the exit that caused it).
    pub(super) fn stop_all_after(&mut self, reason: &str, code: i32, after: Option<u64>) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.exit_code = code;
        self.actions.push(Action::Say {
            text: format!("{reason}; stopping all processes"),
            after,
        });
        // A deploy under way ends with the formation: failed, so its release is aborted and
        // the next run starts the release that served.
        if let Some(record) = &mut self.record {
            record.end(crate::store::deploys::Outcome::Failed {
                reason: format!("the formation stopped before the deploy ended ({reason})"),
            });
            self.record_changed = true;
        }
        for slot in 0..self.slots.len() {
            match self.slots[slot].state {
                // Signalled once: one already stopping keeps its deadline.
                State::Running(_) => self.signal_stop(slot),
                State::Waiting | State::Backoff(_) | State::Held => {
                    self.slots[slot].state = State::Done;
                }
                State::Stopping { .. } | State::Done => {}
            }
        }
    }

    pub(super) fn kill_all(&mut self) {
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
    pub(super) fn probe(&mut self, slot: usize) {
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
                open_files: None,
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
        if let State::Running(probe) = &mut self.slots[slot].state {
            probe.in_flight = true;
        }
    }
}
