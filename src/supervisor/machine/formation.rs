//! The formation: what `dozen ps` shows, and scaling.

use crate::app::formation::{Formation, ScaleChange};
use crate::app::ports::instance_port;
use crate::control::{self, Health, InstanceState, InstanceStatus, Response, Side};

use super::{Action, AfterExit, Machine, Readiness, Roll, ScaleError, Slot, State, new_slot};

impl Machine {
    /// Instances per type, in Procfile order, not counting those scaled away.
    pub(super) fn formation(&self) -> Formation {
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

    pub(super) fn status(&self) -> Response {
        let mut slots: Vec<&Slot> = self.slots.iter().collect();
        slots.sort_by_key(|s| (s.type_index, s.index, s.removed()));
        let instances = slots
            .into_iter()
            .map(|s| {
                let check = self.specs[s.spec].types[s.type_index].health.is_some();
                let state = match s.state {
                    State::Waiting => InstanceState::Waiting,
                    State::Running(_)
                        if s.pid.is_none() || (check && s.readiness == Readiness::Pending) =>
                    {
                        InstanceState::Starting
                    }
                    State::Running(_) if check && s.readiness == Readiness::Ready => {
                        InstanceState::Ready
                    }
                    State::Running(_) => InstanceState::Running,
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
                let alive = matches!(s.state, State::Running(_) | State::Stopping { .. });
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
                    // The runner measures them (`supervisor::resources`).
                    cpu_percent: None,
                    rss_bytes: None,
                }
            })
            .collect();
        Response {
            v: control::VERSION,
            ok: true,
            error: None,
            usage: false,
            message: None,
            not_stored: None,
            formation: self.formation().counts,
            instances,
            roll: self.last_roll.as_ref().map(Roll::status),
            router: None,
            logs: None,
            at_ms: None,
            schedules: Vec::new(),
            ofrep: None,
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
            limits: Vec::new(),
        }
    }

    /// The limits of the current spec's types that have any.
    pub fn limits(&self) -> Vec<(String, crate::app::limits::Limits)> {
        self.types()
            .iter()
            .filter(|t| !t.limits.is_empty())
            .map(|t| (t.name.clone(), t.limits))
            .collect()
    }

    /// Applies `dozen scale`: all of it or, when anything is wrong, none of it.
    pub(super) fn scale(&mut self, changes: &[ScaleChange]) -> Result<(), ScaleError> {
        use ScaleError::Refused;
        if self.stopping {
            return Err(Refused("the formation is stopping".to_owned()));
        }
        if self.deploying()
            && let Some(busy) = self.busy()
        {
            return Err(Refused(busy));
        }
        let names: Vec<&str> = self.types().iter().map(|t| t.name.as_str()).collect();
        let current = self.formation();
        let next = current
            .scaled(&names, changes)
            .map_err(|e| ScaleError::Usage(e.to_string()))?;
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
    pub(super) fn retire(&mut self, slot: usize) {
        match self.slots[slot].state {
            State::Running(_) => self.signal_stop(slot),
            State::Waiting | State::Backoff(_) | State::Held => {
                self.slots[slot].state = State::Done;
            }
            State::Stopping { .. } | State::Done => {}
        }
    }
}
