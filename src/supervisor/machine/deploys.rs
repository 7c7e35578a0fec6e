//! Blue-green and canary deploys of the routed type: the new side, its steps and smoke test,
//! the switch, the old side's end, aborts and switches back.

use crate::control::{self, Response, RollState};
use crate::router::table::Snapshot;
use std::time::{Duration, Instant};

use super::{
    Action, AfterExit, CHECKS_PER_INTERVAL, Canary, Deploy, DeployPhase, HALF, MAX_HELD, Machine,
    Moving, Readiness, Refusal, Slot, Spec, State, human, later, new_slot, other_half, p99_breach,
};

impl Machine {
    /// Release `version`'s spec, for a move to it; the response to give when there is none
    /// (the run does not follow releases, or the release cannot be loaded).
    pub(super) fn load_release(
        &self,
        version: u32,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, crate::error::Error>>,
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
    pub(super) fn busy(&self) -> Option<String> {
        let what = self.busy_with()?;
        // A deploy under way is named by its record, with what ends it.
        Some(match &self.record {
            Some(record) => format!(
                "deploy d{} ({}, {} → {}) is in progress: {what}; or end it (`dozen rollback` goes back to {})",
                record.id, record.kind, record.from, record.release, record.from
            ),
            None => what,
        })
    }

    /// Whether a deploy (or a restart) is under way: `busy`'s words without the record.
    fn busy_with(&self) -> Option<String> {
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
                    "a blue-green deploy keeps {}'s old side for {} more; try again then (`dozen rollback` switches back to it at once)",
                    deploy.type_name,
                    human(until.saturating_duration_since(self.now))
                ),
            });
        }
        (self.moving != Moving::Still
            || self.record.is_some()
            || self.rolling.is_some()
            || !self.roll.is_empty())
        .then(|| "a restart or a move is in progress; try again when it is done".to_owned())
    }

    /// A deploy is under way: its record is open (a move, a failed move's way back, a
    /// blue-green or canary deploy). Restarts, stops and scales wait for it (issue 30).
    pub(super) fn deploying(&self) -> bool {
        self.deploy.is_some() || self.record.is_some() || self.moving != Moving::Still
    }

    /// Moves the routed type to release `version` blue-green (docs/deploy.md): a whole
    /// candidate side of it on the other half of its ports, weight 0 until every instance is
    /// ready, then all requests at once; the old side stays, idle, for `keep`, then drains
    /// and stops. The other types move one at a time after the switch, as in a rolling move.
    pub(super) fn blue_green(
        &mut self,
        version: u32,
        load: Option<&mut dyn FnMut(u32) -> Result<Spec, crate::error::Error>>,
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
            Err(error) => return Response::error(error.to_string()),
        };
        let is_canary = canary.is_some();
        if let Some(plan) = &canary {
            // A canary starts with its own few instances; the rest come at promotion.
            green.sort_unstable();
            let size = canary_size(plan, 0, green.len());
            green.truncate(size);
        }
        let release = spec.release.clone();
        let (old, new) = (self.current, self.specs.len());
        self.specs.push(spec);
        self.current = new;
        self.moving = Moving::Forward { from: old };
        let from = self.specs[old].release.clone();
        let kind = if is_canary { "canary" } else { "blue-green" };
        self.begin_deploy(kind, from, release.clone());
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
    pub(super) fn new_side(&self, routed: &str) -> Result<Vec<(u32, u16)>, Refusal> {
        let blue: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| self.type_name(s) == routed && !s.removed() && !s.surge)
            .collect();
        if blue.is_empty() {
            return Err(Refusal::NoSide(routed.to_owned()));
        }
        let mut green = Vec::new();
        for s in blue {
            if s.index > u32::from(HALF) {
                return Err(Refusal::SideTooBig {
                    routed: routed.to_owned(),
                    half: HALF,
                    name: s.name.clone(),
                });
            }
            let port = other_half(s.port, self.base_port);
            if let Some(error) = (self.port_taken)(port) {
                return Err(Refusal::PortTaken {
                    port,
                    name: s.name.clone(),
                    error,
                });
            }
            green.push((s.index, port));
        }
        Ok(green)
    }

    /// Moves a blue-green deploy on: switches once the candidate side is ready, aborts when
    /// one of it cannot be, and ends the old side when its window has passed.
    pub(super) fn advance_deploy(&mut self) {
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
                    matches!(s.state, State::Running(_)) && s.readiness == Readiness::Ready
                });
                let canary_starting =
                    deploy.phase == DeployPhase::Starting && deploy.canary.is_some();
                if let Some(slot) = failed {
                    let name = self.slots[slot].name.clone();
                    let to = self.specs[self.current].release.clone();
                    self.abort_deploy(&format!("{name} did not become ready on {to}"), Some(&name));
                } else if ready && canary_starting {
                    let step = deploy.canary.as_ref().map_or(0, |c| c.step);
                    self.begin_step(step);
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
    pub(super) fn begin_step(&mut self, step: usize) {
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
    pub(super) fn on_side_stats(&mut self, stable: Snapshot, candidate: Snapshot) {
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
        let (mut s, mut c) = (stable.since(base_stable), candidate.since(base_candidate));
        let plan = &canary.plan;
        let percent = plan.steps[canary.step].min(100);
        let at_step = format!("at step {} ({percent}%)", canary.step + 1);
        // A request waiting past a check's share of the interval (or past the p99 the stable
        // side's allows, when that is longer) is a failed one, on either side; a canary whose
        // waiting requests are its alone, and which has answered nothing since the oldest
        // was sent, is hung.
        let hang = hang_after(plan, &s, interval);
        let (s_stuck, c_stuck) = (s.stuck(hang), c.stuck(hang));
        let oldest = c.waiting.first().copied().unwrap_or_default();
        if c_stuck > 0 && s_stuck == 0 && c.since_answer.is_none_or(|d| d >= oldest) {
            let reason = format!(
                "the canary is not answering: {c_stuck} request{} waiting longer than {}, none answered meanwhile, {at_step}",
                if c_stuck == 1 { "" } else { "s" },
                human(hang)
            );
            self.abort_deploy(&reason, None);
            return;
        }
        s.requests += s_stuck;
        s.errors += s_stuck;
        c.requests += c_stuck;
        c.errors += c_stuck;
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
            self.grow_canary(next);
        }
    }

    /// Step `step` is next: the canary side first grows to its size for that step's share
    /// (each canary instance carries about what a stable one does, so their service times
    /// compare like with like), and the step begins once the new instances are ready.
    pub(super) fn grow_canary(&mut self, step: usize) {
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        let Some(canary) = deploy.canary.as_mut() else {
            return;
        };
        canary.step = step;
        let (plan, type_name) = (canary.plan.clone(), deploy.type_name.clone());
        let stable = self
            .slots
            .iter()
            .filter(|s| self.type_name(s) == type_name && !s.candidate && !s.removed() && !s.surge)
            .count();
        let have = self
            .slots
            .iter()
            .filter(|s| s.candidate && !s.removed())
            .count();
        let want = canary_size(&plan, step, stable);
        if want <= have {
            self.begin_step(step);
            return;
        }
        if let Some(deploy) = &mut self.deploy {
            deploy.phase = DeployPhase::Starting;
        }
        let percent = plan.steps[step].min(100);
        let more = want - have;
        self.say(format!(
            "canary step {} of {} sends {percent}% of requests: starting {more} more canary instance{} first ({want} for {stable} stable)",
            step + 1,
            plan.steps.len(),
            if more == 1 { "" } else { "s" }
        ));
        self.start_candidates(Some(more));
        self.advance_deploy();
    }

    /// The canary is promoted: its side grows to the formation's size, and takes every
    /// request once all of it is ready; the old side then stops (every step compared them).
    pub(super) fn promote(&mut self) {
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        deploy.phase = DeployPhase::Promoting;
        let type_name = deploy.type_name.clone();
        let new = self.current;
        let missing = self.candidates_missing(&type_name);
        self.say(format!(
            "canary promoted: starting {} more instance{} of {type_name} on {}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            self.specs[new].release
        ));
        self.start_candidates(None);
        self.advance_deploy();
    }

    /// Where the canary side has no instance yet: each index of the stable side's it lacks,
    /// with its port on the other half.
    fn candidates_missing(&self, type_name: &str) -> Vec<(u32, u16)> {
        let have: Vec<u32> = self
            .slots
            .iter()
            .filter(|s| s.candidate && !s.removed())
            .map(|s| s.index)
            .collect();
        let mut missing: Vec<(u32, u16)> = self
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
            .collect::<Vec<_>>();
        missing.sort_unstable();
        missing
    }

    /// Starts canary instances where the side has none yet, in index order: `limit` of them,
    /// or every one (a promotion).
    fn start_candidates(&mut self, limit: Option<usize>) {
        let Some(type_name) = self.deploy.as_ref().map(|d| d.type_name.clone()) else {
            return;
        };
        let new = self.current;
        let mut missing = self.candidates_missing(&type_name);
        missing.truncate(limit.unwrap_or(usize::MAX));
        let Some(type_index) = self.specs[new]
            .types
            .iter()
            .position(|t| t.name == type_name)
        else {
            return;
        };
        for (index, port) in missing {
            let mut slot = new_slot(&self.specs[new], new, type_index, index, port, self.now);
            slot.candidate = true;
            self.slots.push(slot);
            let at = self.slots.len() - 1;
            self.spawn(at);
        }
    }

    /// `dozen canary status|promote|abort`.
    pub(super) fn canary_control(&mut self, action: control::CanaryAction) -> Response {
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
    pub(super) fn canary_status(&self) -> Option<control::CanaryStatus> {
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
    pub(super) fn start_smoke(&mut self) {
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
    pub(super) fn switch(&mut self) {
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
                "{type_name} switched to {to}; {from}'s side stays, idle, for {} (until then another release is refused; `dozen rollback` switches back)",
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
    pub(super) fn end_old_side(&mut self) {
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
        if self.moving.from().is_none() {
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
    pub(super) fn switch_back(&mut self, spec: Spec) -> Response {
        let Some(deploy) = &self.deploy else {
            return Response::error("no blue-green deploy to switch back");
        };
        if !same_build(&spec, &self.specs[deploy.old]) {
            return Response::error(self.busy().unwrap_or_default());
        }
        let deploy = self.deploy.take().expect("checked");
        let release = spec.release.clone();
        let (switched, back) = (self.current, self.specs.len());
        let from = self.specs[switched].release.clone();
        self.specs.push(spec);
        self.current = back;
        self.begin_deploy("switch-back", from.clone(), release.clone());
        self.actions.push(Action::SetWeight(0));
        // The other types' move onto the switched release stops where it is: what has not
        // moved stays, what has moves back (found by the model test of issue 30).
        self.roll.clear();
        let mut others = Vec::new();
        for slot in 0..self.slots.len() {
            let s = &self.slots[slot];
            if s.candidate || (s.surge && s.spec == switched) {
                self.slots[slot].candidate = false;
                self.slots[slot].after_exit = AfterExit::Leave;
                self.retire(slot);
            } else if s.spec == deploy.old {
                // The same build and config: its instances go on, as the release they are.
                self.slots[slot].spec = back;
                self.slots[slot].next_spec = None;
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
            self.moving = Moving::Forward { from: switched };
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

    /// `dozen rollback` to the release a deploy started from, before its switch: the deploy is
    /// aborted as `dozen canary abort` aborts it (its waiting `dozen release` reads why), and
    /// the stable side, which runs that build and config already, goes on as the rollback's
    /// release; nothing starts. Any other release waits for the deploy.
    pub(super) fn roll_back_deploy(&mut self, spec: Spec) -> Response {
        let Some(deploy) = &self.deploy else {
            return Response::error("no deploy to roll back");
        };
        let old = deploy.old;
        if !same_build(&spec, &self.specs[old]) {
            return Response::error(self.busy().unwrap_or_default());
        }
        let release = spec.release.clone();
        let from = self.specs[self.current].release.clone();
        self.abort_deploy(&format!("rolled back to {release}"), None);
        let back = self.specs.len();
        self.specs.push(spec);
        self.current = back;
        for slot in &mut self.slots {
            if slot.spec == old {
                slot.spec = back;
            }
        }
        // The rollback's own record: done as it begins, nothing having to start.
        self.begin_deploy("rollback", from, release.clone());
        self.say(format!(
            "{release} goes on as the stable side the aborted deploy started from"
        ));
        self.set_roll(RollState::Done, None);
        Response {
            message: Some(format!(
                "the deploy is aborted; the running formation goes on as {release}"
            )),
            ..self.status()
        }
    }

    /// A candidate could not start or become ready: its side stops, and the formation stays
    /// as it was, on the release it ran.
    pub(super) fn abort_deploy(&mut self, reason: &str, failed: Option<&str>) {
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
        self.moving = Moving::Still;
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
        if failed.is_none()
            && let Some(roll) = &mut self.last_roll
        {
            roll.reason = Some(reason.to_owned());
        }
        self.set_roll(RollState::Failed, failed);
    }
}

/// How long a request may wait for its answer before a canary's analysis counts it failed:
/// a check's share of the interval, or the p99 limit the stable side's p99 sets when that is
/// longer (a slow app's slow requests are not a hang).
fn hang_after(plan: &control::CanaryPlan, stable: &Snapshot, interval: Duration) -> Duration {
    let share = interval / CHECKS_PER_INTERVAL;
    let by_p99 = (stable.requests >= plan.min_requests)
        .then(|| stable.percentile(99.0))
        .flatten()
        .map(|p99| {
            Duration::from_secs_f64(
                super::relative_p99_limit(p99.as_secs_f64() * 1000.0, plan.max_p99_ratio) / 1000.0,
            )
        });
    by_p99.map_or(share, |limit| limit.max(share))
}

/// How many canary instances step `step` runs beside `stable` stable ones: the plan's
/// `instances` at least, and enough that each carries about a stable instance's share of
/// requests (⌈stable × percent / 100⌉), never more than the stable side has.
fn canary_size(plan: &control::CanaryPlan, step: usize, stable: usize) -> usize {
    let percent = plan.steps.get(step).copied().unwrap_or(100).min(100) as usize;
    let by_load = (stable * percent).div_ceil(100);
    let floor = usize::try_from(plan.instances.max(1)).unwrap_or(usize::MAX);
    by_load.max(floor).min(stable.max(1))
}

/// Whether two specs run the same build with the same config (a rollback's release and the
/// one it copies): the same tree, environment (but its release name) and commands.
fn same_build(a: &Spec, b: &Spec) -> bool {
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
}
