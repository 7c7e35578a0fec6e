//! The runner's side of the scheduled jobs: it carries out what the scheduler
//! ([`crate::supervisor::scheduler`]) decides — runs spawned through the run's own nursery
//! (their process groups end with dozen whatever ends it), their output in the stream under
//! `schedule.NAME`, each fire in the activity log.

use std::time::{Duration, Instant};

use super::{Driver, Event, Machine, PumpCommand, Request};
use crate::supervisor::nursery;
use crate::supervisor::scheduler::{Action, Scheduler};

impl Driver<'_, '_> {
    /// A nursery event about a scheduled run, if it is one (else given back).
    pub(super) fn schedule_event(&mut self, machine: &Machine, event: Event) -> Option<Event> {
        let now = Instant::now();
        match event {
            Event::Nursery(nursery::Event::Spawned { id, pid }) if Scheduler::owns(id) => {
                let pid = u32::try_from(pid).unwrap_or_default();
                self.schedules.scheduler.spawned(id, pid);
            }
            Event::Nursery(nursery::Event::SpawnFailed { id, error }) if Scheduler::owns(id) => {
                self.schedules.scheduler.spawn_failed(id, &error);
            }
            Event::Nursery(nursery::Event::Exited {
                id, code, signal, ..
            }) if Scheduler::owns(id) => {
                self.schedules.scheduler.exited(id, code, signal, now);
            }
            event => return Some(event),
        }
        self.carry_out_schedules(machine);
        None
    }

    /// Fires that are due, timeouts, kills; once the formation is stopping, the runs going
    /// are stopped too and nothing more fires.
    pub(super) fn schedule_timers(&mut self, machine: &Machine) {
        let now = Instant::now();
        if machine.is_stopping() && !self.schedules.scheduler.stopping() {
            self.schedules.scheduler.stop_all(now);
        }
        self.schedules
            .scheduler
            .on_timers(jiff::Timestamp::now(), now);
        self.carry_out_schedules(machine);
    }

    /// When the scheduler has something to do next.
    pub(super) fn schedule_timer(&self) -> Option<Instant> {
        self.schedules
            .scheduler
            .next_timer(jiff::Timestamp::now(), Instant::now())
    }

    /// The formation is down: the runs still going are stopped, and waited for (their kill
    /// timeout, and a little) so each is recorded; then every record is written.
    pub(super) fn finish_schedules(
        &mut self,
        machine: &Machine,
        rx: &std::sync::mpsc::Receiver<Event>,
    ) {
        self.stop_schedules(machine, rx);
        if let Some(recorder) = self.schedules.recorder.take() {
            recorder.finish();
        }
    }

    fn stop_schedules(&mut self, machine: &Machine, rx: &std::sync::mpsc::Receiver<Event>) {
        let scheduler = &mut self.schedules.scheduler;
        if !scheduler.busy() {
            return;
        }
        scheduler.stop_all(Instant::now());
        self.carry_out_schedules(machine);
        let give_up = Instant::now() + self.schedules.kill_timeout + Duration::from_secs(1);
        while self.schedules.scheduler.busy() && Instant::now() < give_up {
            let next = self.schedule_timer().unwrap_or(give_up).min(give_up);
            if let Ok(event) = rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                let _ = self.schedule_event(machine, event);
            }
            self.schedule_timers(machine);
        }
    }

    fn carry_out_schedules(&mut self, machine: &Machine) {
        // A spawn that fails at once is told to the scheduler, whose lines come next round.
        loop {
            let actions = self.schedules.scheduler.take_actions();
            if actions.is_empty() {
                return;
            }
            for action in actions {
                self.schedule_action(machine, action);
            }
        }
    }

    fn schedule_action(&mut self, machine: &Machine, action: Action) {
        match action {
            Action::Spawn {
                id,
                label,
                index,
                command,
            } => {
                if let Err(error) = self.spawn_scheduled(machine, id, &label, index, &command) {
                    self.schedules
                        .scheduler
                        .spawn_failed(id, &error.to_string());
                }
            }
            Action::Signal { id, signal } => {
                let _ = self.nursery.send(&Request::Signal { id, signal }, &[]);
            }
            Action::Say { text, after } => self.pump.system(text, after),
            Action::Release { id, text } => self.pump.send(PumpCommand::Release { id, text }),
            Action::Record(mut record) => {
                // The release's name, never a value of its config.
                let (env, _) = machine.app_environment();
                let release = env
                    .iter()
                    .find(|(k, _)| k == "DOZEN_RELEASE")
                    .map_or("dev", |(_, v)| v.as_str());
                record["release"] = serde_json::json!(release);
                if let Some(recorder) = &self.schedules.recorder {
                    recorder.record(record);
                }
            }
        }
    }

    /// A run: the release's environment as a one-off gets it (`PORT` the base port, `PS` its
    /// label), started as a Procfile command is (`.profile.d` first), in its own group.
    fn spawn_scheduled(
        &mut self,
        machine: &Machine,
        id: u64,
        label: &str,
        index: usize,
        command: &str,
    ) -> std::io::Result<()> {
        let (mut env, cwd) = machine.app_environment();
        env.push(("PORT".into(), self.schedules.port.to_string()));
        env.push(("PS".into(), label.to_owned()));
        env.push(("DOZEN_PROCESS".into(), label.to_owned()));
        let argv = crate::app::profile_d::wrap(
            &cwd,
            vec![
                "/bin/sh".into(),
                "-c".into(),
                crate::app::procfile::shell_command(command),
            ],
        );
        let request = Request::Spawn {
            id,
            argv,
            env,
            cwd: Some(cwd.display().to_string()).filter(|c| !c.is_empty()),
            stop_signal: rustix::process::Signal::TERM.as_raw(),
            kill_timeout_ms: u64::try_from(self.schedules.kill_timeout.as_millis())
                .unwrap_or(u64::MAX),
        };
        let outputs = super::Outputs::open(false)?;
        if let Some(stdout) = outputs.stdout {
            self.pump.send(PumpCommand::Add {
                id,
                label: self
                    .formatter
                    .label(label, self.schedules.first_colour + index),
                stdout,
                stderr: outputs.stderr,
                strip_cr: false,
                held: true,
            });
        }
        let fds: Vec<_> = outputs.given.iter().map(std::os::fd::AsFd::as_fd).collect();
        self.nursery.send(&request, &fds)
    }
}
