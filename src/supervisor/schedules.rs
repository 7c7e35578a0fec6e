//! A run's scheduled jobs as the runner holds them: the scheduler
//! ([`super::scheduler`]), what their runs need from the run, and the history's writer for
//! their fires. The runner carries out the scheduler's actions (`runner/scheduled.rs`).

use std::time::Duration;

use super::machine::Machine;
use super::scheduler::Scheduler;
use crate::app::schedule::Schedule;

/// `[schedule.NAME]` jobs for a run: built by `commands/run.rs`.
#[derive(Default)]
pub struct SchedulesPlan {
    pub schedules: Vec<Schedule>,
    /// `PORT` for a run, as a one-off (`dozen exec`) gets it: the base port.
    pub port: u16,
    /// Between SIGTERM and SIGKILL when a run is stopped (a timeout, a replace, the end).
    pub kill_timeout: Duration,
}

/// The scheduler and what its runs need from the run.
pub(super) struct Schedules {
    pub(super) scheduler: Scheduler,
    /// Records for the history, appended (and fsynced) by a thread of their own: a disk
    /// slow to sync must not make fires late.
    pub(super) recorder: Option<Recorder>,
    pub(super) port: u16,
    pub(super) kill_timeout: Duration,
    /// Colours after the formation's types.
    pub(super) first_colour: usize,
}

impl Schedules {
    /// The scheduler, starting from each schedule's last fire in the history (fires passed
    /// since were missed while dozen was not running); their colours after the formation's
    /// types.
    pub(super) fn new(plan: SchedulesPlan, store: &std::path::Path, machine: &Machine) -> Self {
        let first_colour = machine.layout().1.len();
        let events = if plan.schedules.is_empty() {
            Vec::new()
        } else {
            crate::store::history::read(store).unwrap_or_default()
        };
        let last = crate::supervisor::scheduler::last_dues(&events, &plan.schedules);
        let runs = crate::supervisor::scheduler::last_runs(&events, &plan.schedules);
        let recorder = (!plan.schedules.is_empty())
            .then(|| Recorder::start(store.to_owned()))
            .flatten();
        Self {
            recorder,
            scheduler: Scheduler::new(
                plan.schedules,
                &last,
                plan.kill_timeout,
                jiff::Timestamp::now(),
            )
            .with_last_runs(runs),
            port: plan.port,
            kill_timeout: plan.kill_timeout,
            first_colour,
        }
    }
}

/// The history's writer for scheduled fires.
pub(super) struct Recorder {
    tx: std::sync::mpsc::Sender<serde_json::Value>,
    thread: std::thread::JoinHandle<()>,
}

impl Recorder {
    fn start(store: std::path::PathBuf) -> Option<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
        let thread = std::thread::Builder::new()
            .name("dozen-schedule-history".into())
            .spawn(move || {
                for record in rx {
                    let _ = crate::store::history::append(&store, "schedule", record);
                }
            })
            .ok()?;
        Some(Self { tx, thread })
    }

    pub(super) fn record(&self, record: serde_json::Value) {
        let _ = self.tx.send(record);
    }

    /// Every record written.
    pub(super) fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}
