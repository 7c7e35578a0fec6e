//! `[schedule.NAME]`: the manifest's scheduled jobs, checked and resolved into what
//! `dozen run` and the exports use (README "Scheduled jobs").

use std::ops::Range;
use std::time::Duration;

use jiff::tz::TimeZone;

pub use super::concurrency::Concurrency;
use super::cron::Cron;
use super::manifest::Manifest;
use super::procfile::Procfile;
use crate::diagnostic::{Diagnostic, did_you_mean};

/// A scheduled job, resolved: what it runs, when, and its policies.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    /// The command line (a task's or a Procfile type's command for `task`).
    pub command: String,
    /// The cron expression as written.
    pub cron_text: String,
    pub cron: Cron,
    pub zone: TimeZone,
    /// The zone's IANA name, when it has one (`timezone`, else the machine's).
    pub zone_name: Option<String>,
    pub concurrency: Concurrency,
    pub timeout: Option<Duration>,
    pub starting_deadline: Option<Duration>,
}

impl Schedule {
    /// The label of its runs in the stream: `schedule.NAME`.
    pub fn label(&self) -> String {
        format!("schedule.{}", self.name)
    }
}

impl Manifest {
    /// `[schedule.NAME]`: a name, exactly one of `command` and `task`, a cron that parses, a
    /// zone that exists.
    pub(super) fn validate_schedules(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        for (name, settings) in &self.schedule {
            let span = settings.span();
            let settings = settings.get_ref();
            if !super::name::is_valid_name(name.get_ref()) {
                error(
                    name.span(),
                    format!(
                        "invalid schedule name `{}`: use letters, digits, `_` and `-`",
                        name.get_ref()
                    ),
                );
            }
            match (&settings.command, &settings.task) {
                (Some(_), Some(task)) => error(
                    task.span(),
                    "a schedule runs a `command` or a `task`, not both".into(),
                ),
                (None, None) => error(
                    span.clone(),
                    format!(
                        "schedule `{}` needs a `command = \"…\"` or a `task = \"…\"`",
                        name.get_ref()
                    ),
                ),
                (Some(command), None) if command.get_ref().trim().is_empty() => {
                    error(command.span(), "empty schedule command".into());
                }
                _ => {}
            }
            match &settings.cron {
                None => error(
                    span,
                    format!(
                        "schedule `{}` needs a `cron = \"…\"` (five fields, such as \"*/10 * * * *\", or @hourly, @daily…)",
                        name.get_ref()
                    ),
                ),
                Some(cron) => {
                    if let Err(problem) = Cron::parse(cron.get_ref()) {
                        error(cron.span(), format!("invalid cron: {problem}"));
                    }
                }
            }
            if let Some(timeout) = &settings.timeout
                && timeout.get_ref().0.is_zero()
            {
                error(
                    timeout.span(),
                    "a schedule's timeout must be more than 0s".into(),
                );
            }
            if let Some(deadline) = &settings.starting_deadline
                && deadline.get_ref().0 < Duration::from_secs(1)
            {
                error(
                    deadline.span(),
                    "starting_deadline must be at least 1s: every fire is a little late".into(),
                );
            }
            if let Some(zone) = &settings.timezone
                && TimeZone::get(zone.get_ref()).is_err()
            {
                error(
                    zone.span(),
                    format!(
                        "unknown time zone `{}`: use an IANA name such as \"Europe/Paris\" or \"UTC\"",
                        zone.get_ref()
                    ),
                );
            }
        }
    }

    /// `task = "…"` names a `[tasks]` entry or a Procfile type.
    pub(super) fn validate_schedule_tasks(
        &self,
        source: &crate::source::Source,
        procfile: &Procfile,
    ) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        for settings in self.schedule.values() {
            if let Some(task) = &settings.get_ref().task
                && !self.tasks.keys().any(|k| k.get_ref() == task.get_ref())
                && procfile.get(task.get_ref()).is_none()
            {
                let mut diagnostic = Diagnostic::error(
                    super::manifest::located(source, task.span()),
                    format!(
                        "schedule task `{}` is neither a [tasks] entry nor a Procfile type",
                        task.get_ref()
                    ),
                );
                let known = self.tasks.keys().map(|k| k.get_ref().as_str());
                if let Some(near) = did_you_mean(task.get_ref(), known.chain(procfile.names())) {
                    diagnostic = diagnostic.note(format!("did you mean `{near}`?"));
                }
                problems.push(diagnostic);
            }
        }
        problems
    }

    /// The schedules, resolved; a schedule that does not resolve (the manifest was not
    /// valid) is left out.
    pub fn schedules(&self, procfile: Option<&Procfile>) -> Vec<Schedule> {
        self.schedule
            .iter()
            .filter_map(|(name, settings)| {
                let settings = settings.get_ref();
                let command = match (&settings.command, &settings.task) {
                    (Some(command), None) => command.get_ref().clone(),
                    (None, Some(task)) => self
                        .tasks
                        .iter()
                        .find(|(k, _)| k.get_ref() == task.get_ref())
                        .map(|(_, command)| command.get_ref().clone())
                        .or_else(|| procfile?.get(task.get_ref()).map(|t| t.command.clone()))?,
                    _ => return None,
                };
                let cron_text = settings.cron.as_ref()?.get_ref().clone();
                let (zone, zone_name) = if let Some(name) = &settings.timezone {
                    let name = name.get_ref();
                    (TimeZone::get(name).ok()?, Some(name.clone()))
                } else {
                    let zone = TimeZone::system();
                    let name = zone.iana_name().map(str::to_owned);
                    (zone, name)
                };
                Some(Schedule {
                    name: name.get_ref().clone(),
                    command,
                    cron: Cron::parse(&cron_text).ok()?,
                    cron_text,
                    zone,
                    zone_name,
                    concurrency: settings.concurrency.unwrap_or_default(),
                    timeout: settings.timeout.as_ref().map(|t| t.get_ref().0),
                    starting_deadline: settings.starting_deadline.as_ref().map(|t| t.get_ref().0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
