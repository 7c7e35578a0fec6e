//! The scheduled jobs of a run (`[schedule.NAME]`, README "Scheduled jobs"): when each fires,
//! what a fire does while a run is still going (`concurrency`), timeouts, and fires missed
//! while dozen was stopped or the machine slept (`starting_deadline`). Like the formation's
//! machine it does no I/O: the runner feeds it the time and what the nursery says, and
//! carries out its actions — runs are one-off processes of the run's own nursery, so they
//! end with dozen whatever ends it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::json;

use crate::app::schedule::{Concurrency, Schedule};
use crate::control::{ScheduleOutcome, ScheduleRun, ScheduleStatus};

/// Ids of scheduled runs start here, far from the formation's instance ids.
pub const FIRST_ID: u64 = 1 << 48;

/// A fire this late is one dozen missed (stopped, asleep), not one it is merely taking.
const LATE: Duration = Duration::from_secs(5);

/// How often the loop looks at the wall clock while a fire is pending.
const WAKE_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// Missed fires counted at most (a `* * * * * *` schedule over a pause of a day): counting
/// is the run's loop's time.
const MAX_COUNTED: u32 = 100_000;

/// What the runner is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start `command` (a Procfile-style command line) as run `id`, its output under `label`.
    Spawn {
        id: u64,
        label: String,
        index: usize,
        command: String,
    },
    /// Send a signal to run `id`'s process group.
    Signal { id: u64, signal: i32 },
    /// Show a line of dozen's, after what run `after` printed so far.
    Say { text: String, after: Option<u64> },
    /// Start showing run `id`'s output, after this line.
    Release { id: u64, text: String },
    /// Append to the activity log (`dozen history`).
    Record(serde_json::Value),
}

/// Why dozen stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    TimedOut,
    Replaced,
    RunEnded,
}

#[derive(Debug)]
struct Stop {
    why: Why,
    kill_at: Instant,
    killed: bool,
}

#[derive(Debug)]
struct Run {
    id: u64,
    due: Timestamp,
    started: Instant,
    timeout_at: Option<Instant>,
    stop: Option<Stop>,
}

#[derive(Debug)]
struct Entry {
    schedule: Schedule,
    /// The next fire (none: the cron never fires again).
    next: Option<Timestamp>,
    runs: Vec<Run>,
    last: Option<ScheduleRun>,
}

pub struct Scheduler {
    entries: Vec<Entry>,
    next_id: u64,
    kill_timeout: Duration,
    stopping: bool,
    actions: Vec<Action>,
}

impl Scheduler {
    /// `last_due`: each schedule's latest fire of an earlier run (from the history), whose
    /// next fires, if passed, were missed; a schedule without one starts from `now`.
    pub fn new(
        schedules: Vec<Schedule>,
        last_due: &HashMap<String, Timestamp>,
        kill_timeout: Duration,
        now: Timestamp,
    ) -> Self {
        let entries = schedules
            .into_iter()
            .map(|schedule| {
                let from = last_due.get(&schedule.name).copied().unwrap_or(now);
                Entry {
                    next: schedule.cron.next_after(from, &schedule.zone),
                    schedule,
                    runs: Vec::new(),
                    last: None,
                }
            })
            .collect();
        Self {
            entries,
            next_id: FIRST_ID,
            kill_timeout,
            stopping: false,
            actions: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each schedule's last run as an earlier run recorded it (`last_runs`), shown until it
    /// fires again.
    #[must_use]
    pub fn with_last_runs(mut self, mut runs: HashMap<String, ScheduleRun>) -> Self {
        for entry in &mut self.entries {
            if entry.last.is_none() {
                entry.last = runs.remove(&entry.schedule.name);
            }
        }
        self
    }

    /// Whether `id` is a scheduled run's.
    pub fn owns(id: u64) -> bool {
        id >= FIRST_ID
    }

    /// Whether [`Scheduler::stop_all`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Runs still going.
    pub fn busy(&self) -> bool {
        self.entries.iter().any(|e| !e.runs.is_empty())
    }

    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// When [`Scheduler::on_timers`] has something to do next.
    pub fn next_timer(&self, wall: Timestamp, now: Instant) -> Option<Instant> {
        let fires = self
            .entries
            .iter()
            .filter(|_| !self.stopping)
            .filter_map(|e| e.next)
            .map(|due| {
                // At most a second ahead: the monotonic clock stops while the machine sleeps,
                // and the wall clock (which fires follow) does not.
                let wait = Duration::try_from(due.duration_since(wall)).unwrap_or(Duration::ZERO);
                now + wait.min(WAKE_AT_LEAST_EVERY)
            });
        let runs = self
            .entries
            .iter()
            .flat_map(|e| &e.runs)
            .filter_map(|r| match &r.stop {
                Some(stop) if !stop.killed => Some(stop.kill_at),
                Some(_) => None,
                None => r.timeout_at,
            });
        fires.chain(runs).min()
    }

    /// Fires that are due, timeouts that passed, kills that are due.
    pub fn on_timers(&mut self, wall: Timestamp, now: Instant) {
        for e in 0..self.entries.len() {
            if !self.stopping
                && let Some(due) = self.entries[e].next
                && due <= wall
            {
                self.fire(e, due, wall, now);
            }
            let name = self.entries[e].schedule.label();
            let timeout = self.entries[e].schedule.timeout;
            let mut stops = Vec::new();
            for run in &mut self.entries[e].runs {
                match &mut run.stop {
                    None if run.timeout_at.is_some_and(|at| at <= now) => stops.push(run.id),
                    Some(stop) if !stop.killed && stop.kill_at <= now => {
                        stop.killed = true;
                        self.actions.push(Action::Signal {
                            id: run.id,
                            signal: rustix::process::Signal::KILL.as_raw(),
                        });
                    }
                    _ => {}
                }
            }
            for id in stops {
                let after = timeout.map_or_else(String::new, |t| format!(" after {}", human(t)));
                self.actions.push(Action::Say {
                    text: format!("{name} timed out{after}: stopping it"),
                    after: Some(id),
                });
                self.stop(e, id, Why::TimedOut, now);
            }
        }
    }

    /// A due fire: every fire passed since `due` counted, one run at most started.
    fn fire(&mut self, e: usize, due: Timestamp, wall: Timestamp, now: Instant) {
        let entry = &mut self.entries[e];
        let (cron, zone) = (&entry.schedule.cron, &entry.schedule.zone);
        let (mut latest, mut missed) = (due, 0u32);
        while let Some(next) = cron.next_after(latest, zone).filter(|n| *n <= wall) {
            latest = next;
            missed += 1;
            if missed >= MAX_COUNTED {
                // Counted enough: the latest fire is looked for back from now instead.
                latest = latest_before(cron, zone, wall).unwrap_or(latest);
                break;
            }
        }
        entry.next = cron.next_after(wall.max(latest), zone);
        let name = entry.schedule.label();
        let late = Duration::try_from(wall.duration_since(latest)).unwrap_or_default();
        let too_late = entry.schedule.starting_deadline.is_some_and(|d| late > d);
        if missed > 0 || late > LATE {
            let what = if too_late {
                "past its starting_deadline, none runs"
            } else {
                "it runs once now"
            };
            let passed = missed + 1;
            let s = if passed == 1 { "" } else { "s" };
            let more = if missed >= MAX_COUNTED {
                "more than "
            } else {
                ""
            };
            self.actions.push(Action::Say {
                text: format!(
                    "{name}: {more}{passed} fire{s} passed while dozen was stopped or the machine slept, the latest due at {} ({} ago); {what}",
                    clock(latest, entry),
                    human(late)
                ),
                after: None,
            });
        }
        if too_late {
            self.finish_fire(e, latest, missed + 1, ScheduleOutcome::Missed);
            return;
        }
        let going: Vec<u64> = entry
            .runs
            .iter()
            .filter(|r| r.stop.is_none())
            .map(|r| r.id)
            .collect();
        match entry.schedule.concurrency {
            Concurrency::Forbid if !going.is_empty() => {
                let text = format!(
                    "{name} skipped its fire due at {}: the previous run is still going (concurrency = \"forbid\")",
                    clock(latest, entry)
                );
                self.actions.push(Action::Say { text, after: None });
                self.finish_fire(e, latest, missed, ScheduleOutcome::Skipped);
                return;
            }
            Concurrency::Replace => {
                for id in going {
                    self.actions.push(Action::Say {
                        text: format!(
                            "{name}: a new fire replaces the run still going (concurrency = \"replace\")"
                        ),
                        after: Some(id),
                    });
                    self.stop(e, id, Why::Replaced, now);
                }
            }
            _ => {}
        }
        let id = self.next_id;
        self.next_id += 1;
        let entry = &mut self.entries[e];
        entry.runs.push(Run {
            id,
            due: latest,
            started: now,
            timeout_at: entry.schedule.timeout.and_then(|t| now.checked_add(t)),
            stop: None,
        });
        self.actions.push(Action::Spawn {
            id,
            label: name,
            index: e,
            command: entry.schedule.command.clone(),
        });
    }

    /// A fire that started nothing: said in `ps` and the history.
    fn finish_fire(&mut self, e: usize, due: Timestamp, missed: u32, outcome: ScheduleOutcome) {
        let entry = &mut self.entries[e];
        entry.last = Some(ScheduleRun {
            due: due.to_string(),
            outcome,
            exit_code: None,
            signal: None,
            duration_ms: None,
        });
        let mut record = json!({
            "schedule": entry.schedule.name,
            "cron": entry.schedule.cron_text,
            "due": due.to_string(),
            "outcome": outcome.as_str(),
        });
        if missed > 0 {
            record["missed"] = json!(missed);
        }
        self.actions.push(Action::Record(record));
    }

    fn stop(&mut self, e: usize, id: u64, why: Why, now: Instant) {
        let kill_timeout = self.kill_timeout;
        if let Some(run) = self.entries[e].runs.iter_mut().find(|r| r.id == id)
            && run.stop.is_none()
        {
            run.stop = Some(Stop {
                why,
                kill_at: now + kill_timeout,
                killed: false,
            });
            self.actions.push(Action::Signal {
                id,
                signal: rustix::process::Signal::TERM.as_raw(),
            });
        }
    }

    /// The run is ending: no more fires; runs going are stopped (SIGTERM, SIGKILL after the
    /// kill timeout).
    pub fn stop_all(&mut self, now: Instant) {
        self.stopping = true;
        for e in 0..self.entries.len() {
            let ids: Vec<u64> = self.entries[e].runs.iter().map(|r| r.id).collect();
            for id in ids {
                self.stop(e, id, Why::RunEnded, now);
            }
        }
    }

    fn find(&self, id: u64) -> Option<(usize, usize)> {
        self.entries
            .iter()
            .enumerate()
            .find_map(|(e, entry)| entry.runs.iter().position(|r| r.id == id).map(|r| (e, r)))
    }

    pub fn spawned(&mut self, id: u64, pid: u32) {
        if let Some((e, r)) = self.find(id) {
            let entry = &self.entries[e];
            let due = clock(entry.runs[r].due, entry);
            self.actions.push(Action::Release {
                id,
                text: format!(
                    "{} started (pid {pid}) for its fire due at {due}",
                    entry.schedule.label()
                ),
            });
        }
    }

    pub fn spawn_failed(&mut self, id: u64, error: &str) {
        if let Some((e, r)) = self.find(id) {
            let run = self.entries[e].runs.remove(r);
            let name = self.entries[e].schedule.label();
            self.actions.push(Action::Say {
                text: format!("{name} could not start: {error}"),
                after: None,
            });
            self.finish_fire(e, run.due, 0, ScheduleOutcome::NotStarted);
        }
    }

    /// A run ended: said, kept for `ps`, recorded in the history.
    pub fn exited(&mut self, id: u64, code: Option<i32>, signal: Option<i32>, now: Instant) {
        let Some((e, r)) = self.find(id) else { return };
        let run = self.entries[e].runs.remove(r);
        let outcome = match run.stop.as_ref().map(|s| s.why) {
            Some(Why::TimedOut) => ScheduleOutcome::TimedOut,
            Some(Why::Replaced) => ScheduleOutcome::Replaced,
            Some(Why::RunEnded) => ScheduleOutcome::Stopped,
            None if code == Some(0) => ScheduleOutcome::Succeeded,
            None => ScheduleOutcome::Failed,
        };
        let took = now.saturating_duration_since(run.started);
        let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let entry = &mut self.entries[e];
        let signal_name = signal.map(super::exit::signal_name);
        let exit_code = super::exit::code_of(code, signal);
        let said = match outcome {
            ScheduleOutcome::TimedOut => " (timed out)",
            ScheduleOutcome::Replaced => " (replaced)",
            ScheduleOutcome::Stopped => " (stopped with the run)",
            _ => "",
        };
        self.actions.push(Action::Say {
            text: format!(
                "{} {} after {}{said}",
                entry.schedule.label(),
                super::exit::describe_of(code, signal),
                human(took)
            ),
            after: Some(id),
        });
        entry.last = Some(ScheduleRun {
            due: run.due.to_string(),
            outcome,
            exit_code: Some(exit_code),
            signal: signal_name.clone(),
            duration_ms: Some(duration_ms),
        });
        self.actions.push(Action::Record(json!({
            "schedule": entry.schedule.name,
            "cron": entry.schedule.cron_text,
            "due": run.due.to_string(),
            "exit_code": exit_code,
            "signal": signal_name,
            "duration_ms": duration_ms,
            "outcome": outcome.as_str(),
        })));
    }

    /// What `dozen ps` shows of each schedule.
    pub fn status(&self) -> Vec<ScheduleStatus> {
        self.entries
            .iter()
            .map(|e| ScheduleStatus {
                name: e.schedule.name.clone(),
                cron: e.schedule.cron_text.clone(),
                timezone: e.schedule.zone_name.clone(),
                concurrency: e.schedule.concurrency.as_str().to_owned(),
                next: e.next.filter(|_| !self.stopping).map(|n| {
                    let zoned = n.to_zoned_datetime(e.schedule.zone.clone());
                    zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
                }),
                running: e.runs.len(),
                last: e.last.clone(),
            })
            .collect()
    }
}

/// The latest fire at or before `wall`, looked for in windows that double back from it.
fn latest_before(
    cron: &crate::app::cron::Cron,
    zone: &jiff::tz::TimeZone,
    wall: Timestamp,
) -> Option<Timestamp> {
    let mut window = jiff::SignedDuration::from_mins(1);
    while window < jiff::SignedDuration::from_hours(24 * 366 * 10) {
        if let Some(mut latest) = wall
            .checked_sub(window)
            .ok()
            .and_then(|from| cron.next_after(from, zone))
            .filter(|f| *f <= wall)
        {
            while let Some(next) = cron.next_after(latest, zone).filter(|n| *n <= wall) {
                latest = next;
            }
            return Some(latest);
        }
        window *= 2;
    }
    None
}

/// `HH:MM:SS` in the schedule's zone (with the date when not today there).
fn clock(at: Timestamp, entry: &Entry) -> String {
    let zoned = at.to_zoned_datetime(entry.schedule.zone.clone());
    let today = Timestamp::now()
        .to_zoned_datetime(entry.schedule.zone.clone())
        .date();
    if zoned.date() == today {
        zoned.strftime("%H:%M:%S").to_string()
    } else {
        zoned.strftime("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// `1.2s`, `3m4s`.
fn human(took: Duration) -> String {
    let seconds = took.as_secs();
    if seconds < 60 {
        format!("{:.1}s", took.as_secs_f64())
    } else if seconds < 3600 {
        format!("{}m{}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h{}m", seconds / 3600, seconds % 3600 / 60)
    }
}

/// Each schedule's latest fire in the history and how it went (`what = "schedule"`, the same
/// cron): what `dozen ps` shows as its last run until it fires again in this run.
pub fn last_runs(
    events: &[serde_json::Value],
    schedules: &[Schedule],
) -> HashMap<String, ScheduleRun> {
    let mut last: HashMap<String, (Timestamp, ScheduleRun)> = HashMap::new();
    for event in events {
        let field = |k: &str| event.get(k).and_then(serde_json::Value::as_str);
        if field("what") != Some("schedule") {
            continue;
        }
        let (Some(name), Some(cron), Some(due_text)) =
            (field("schedule"), field("cron"), field("due"))
        else {
            continue;
        };
        let (Ok(due), Some(outcome)) = (
            due_text.parse::<Timestamp>(),
            event
                .get("outcome")
                .and_then(|o| serde_json::from_value::<ScheduleOutcome>(o.clone()).ok()),
        ) else {
            continue;
        };
        if !schedules
            .iter()
            .any(|s| s.name == name && s.cron_text == cron)
        {
            continue;
        }
        let run = ScheduleRun {
            due: due_text.to_owned(),
            outcome,
            exit_code: event
                .get("exit_code")
                .and_then(serde_json::Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            signal: field("signal").map(str::to_owned),
            duration_ms: event.get("duration_ms").and_then(serde_json::Value::as_u64),
        };
        // The latest due wins; of two for one due, the one written later.
        if last.get(name).is_none_or(|(seen, _)| due >= *seen) {
            last.insert(name.to_owned(), (due, run));
        }
    }
    last.into_iter()
        .map(|(name, (_, run))| (name, run))
        .collect()
}

/// Each schedule's latest fire in the history (`what = "schedule"`, the same cron), so a
/// run starting after a pause knows what it missed.
pub fn last_dues(
    events: &[serde_json::Value],
    schedules: &[Schedule],
) -> HashMap<String, Timestamp> {
    let mut last = HashMap::new();
    for event in events {
        let field = |k: &str| event.get(k).and_then(serde_json::Value::as_str);
        if field("what") != Some("schedule") {
            continue;
        }
        let (Some(name), Some(cron), Some(due)) = (field("schedule"), field("cron"), field("due"))
        else {
            continue;
        };
        let Ok(due) = due.parse::<Timestamp>() else {
            continue;
        };
        if schedules
            .iter()
            .any(|s| s.name == name && s.cron_text == cron)
        {
            let entry = last.entry(name.to_owned()).or_insert(due);
            *entry = (*entry).max(due);
        }
    }
    last
}

#[cfg(test)]
mod tests;
