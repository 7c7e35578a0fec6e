//! Cron expressions for `[schedule.NAME] cron`: five fields (minute, hour, day of month,
//! month, day of week), an optional sixth in front for seconds, or an alias (`@hourly`,
//! `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`).
//!
//! The field syntax and the day rule are robfig/cron's, the library behind Kubernetes'
//! `CronJob`, so an exported schedule fires when `dozen run` fires it: `*`, `?`, `N`, `A-B`,
//! `*/S`, `A-B/S`, `A/S` (A to the field's end), lists with `,`, month and day names; when
//! both day fields are restricted (neither is `*` or `?`) a day matches either, else both.
//!
//! Next fires are computed in a time zone, and its changes follow Vixie cron's rule (docs:
//! README "Scheduled jobs"): a fire whose time a spring-forward skips happens once, when the
//! clocks jump; a fire whose time a fall-back repeats happens once, at the first of the two
//! — except for a schedule whose hour is `*`, which keeps its rhythm through both.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan as _};

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month restricted (not `*` / `?`).
    days_restricted: bool,
    weekdays_restricted: bool,
    /// A seconds field was written.
    has_seconds: bool,
}

/// What is wrong with a cron expression: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; `{0}` has {1}"
    )]
    FieldCount(String, usize),
    #[error(
        "unknown alias `{0}`: use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"
    )]
    Alias(String),
    #[error("{field} field: `{text}` is not a number or name")]
    NotANumber { field: &'static str, text: String },
    #[error("{field} field: {value} is out of range {min}-{max}")]
    Range {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("{field} field: `{text}` starts after it ends")]
    Backwards { field: &'static str, text: String },
    #[error("{field} field: a step must be at least 1, not `{text}`")]
    Step { field: &'static str, text: String },
    #[error("the expression never fires (no such date: `{0}`)")]
    Never(String),
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
// 7 is Sunday too, as Vixie cron takes it.
const WEEKDAY: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// How far ahead a next fire is looked for: 29 February needs up to eight years.
const HORIZON_YEARS: i16 = 9;

/// Around a change of offset (at most a few hours anywhere), civil times and instants are
/// not in the same order: candidates this far either side are compared.
const SHIFT: SignedDuration = SignedDuration::from_hours(3);

impl Cron {
    pub fn parse(text: &str) -> Result<Self, CronError> {
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            alias if alias.starts_with('@') => return Err(CronError::Alias(trimmed.to_owned())),
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => return Err(CronError::FieldCount(trimmed.to_owned(), n)),
        };
        let (days, days_restricted) = parse_field(rest[2], &DAY)?;
        let (mut weekdays, weekdays_restricted) = parse_field(rest[4], &WEEKDAY)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1;
        }
        let cron = Self {
            seconds: parse_field(seconds, &SECOND)?.0,
            minutes: parse_field(rest[0], &MINUTE)?.0,
            hours: parse_field(rest[1], &HOUR)?.0,
            days,
            months: parse_field(rest[3], &MONTH)?.0,
            weekdays,
            days_restricted,
            weekdays_restricted,
            has_seconds: fields.len() == 6,
        };
        // 30 February, 31 April: no fire, ever (robfig's "unsatisfiable").
        let start = jiff::civil::date(2000, 1, 1).at(0, 0, 0, 0);
        if cron.next_civil(start).is_none() {
            return Err(CronError::Never(trimmed.to_owned()));
        }
        Ok(cron)
    }

    /// Whether a seconds field was written (Kubernetes has none).
    pub fn has_seconds(&self) -> bool {
        self.has_seconds
    }

    /// The expression as five fields, for engines without seconds (Kubernetes): as written,
    /// or without a seconds field that is only `0`; `None` when it fires within minutes.
    pub fn five_fields(&self, text: &str) -> Option<String> {
        if !self.has_seconds {
            return Some(text.trim().to_owned());
        }
        (self.seconds == 1).then(|| {
            text.split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// The first fire strictly after `after`, in `zone`; `None` if none within nine years.
    pub fn next_after(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let near_change = |at: Timestamp| {
            let from = at.checked_sub(SHIFT).unwrap_or(at);
            zone.following(from)
                .next()
                .is_some_and(|change| change.timestamp() <= at.checked_add(SHIFT).unwrap_or(at))
        };
        let civil = zone.to_datetime(after);
        let mut cursor = if near_change(after) {
            civil.checked_sub(SHIFT).ok()?
        } else {
            civil
        };
        let mut best: Option<(Timestamp, DateTime)> = None;
        loop {
            let Some(candidate) = self.next_civil(cursor) else {
                return best.map(|(at, _)| at);
            };
            if let Some((at, civil)) = best {
                let window = if near_change(at) {
                    civil.checked_add(SHIFT).ok()?
                } else {
                    civil
                };
                if candidate > window {
                    return Some(at);
                }
            }
            for at in self.instants(candidate, zone).into_iter().flatten() {
                if at > after && best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, candidate));
                }
            }
            cursor = candidate;
        }
    }

    /// The instants a matching civil time fires at: one, or two in a fall-back's repeated
    /// hour for a schedule whose hour is `*`.
    fn instants(&self, civil: DateTime, zone: &TimeZone) -> [Option<Timestamp>; 2] {
        match zone.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => [offset.to_timestamp(civil).ok(), None],
            // Skipped by a spring-forward: when the clocks jump.
            AmbiguousOffset::Gap { after, .. } => {
                let before_gap = after.to_timestamp(civil).ok();
                let jump = before_gap
                    .and_then(|at| zone.following(at).next())
                    .map(|change| change.timestamp());
                [jump, None]
            }
            AmbiguousOffset::Fold { before, after } => {
                let every_hour = self.hours == full(&HOUR);
                [
                    before.to_timestamp(civil).ok(),
                    every_hour.then(|| after.to_timestamp(civil).ok()).flatten(),
                ]
            }
        }
    }

    /// The first civil time strictly after `after` (to the second) that the fields match.
    fn next_civil(&self, after: DateTime) -> Option<DateTime> {
        let start = after.checked_add(1.second()).ok()?;
        let mut at = start
            .date()
            .at(start.hour(), start.minute(), start.second(), 0);
        let limit = at.year().saturating_add(HORIZON_YEARS);
        while at.year() <= limit {
            let date = at.date();
            if !bit(self.months, date.month()) {
                let first = date.first_of_month().checked_add(1.month()).ok()?;
                at = first.at(0, 0, 0, 0);
            } else if !self.day_matches(date) {
                at = date.tomorrow().ok()?.at(0, 0, 0, 0);
            } else if !bit(self.hours, at.hour()) {
                at = date.at(at.hour(), 0, 0, 0).checked_add(1.hour()).ok()?;
            } else if !bit(self.minutes, at.minute()) {
                let minute = date.at(at.hour(), at.minute(), 0, 0);
                at = minute.checked_add(1.minute()).ok()?;
            } else if !bit(self.seconds, at.second()) {
                at = at.checked_add(1.second()).ok()?;
            } else {
                return Some(at);
            }
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let day = bit(self.days, date.day());
        let weekday = bit(self.weekdays, date.weekday().to_sunday_zero_offset());
        if self.days_restricted && self.weekdays_restricted {
            day || weekday
        } else {
            day && weekday
        }
    }

    /// The fields as systemd `OnCalendar=` expressions: one, or two when both day fields are
    /// restricted (cron's "either day" has no single calendar event).
    pub fn on_calendar(&self) -> Vec<String> {
        let time = format!(
            "{}:{}:{}",
            listed(self.hours, &HOUR),
            listed(self.minutes, &MINUTE),
            listed(self.seconds, &SECOND)
        );
        let months = listed(self.months, &MONTH);
        let weekdays = || {
            const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            (0..7)
                .filter(|d| self.weekdays & (1 << d) != 0)
                .map(|d| NAMES[d])
                .collect::<Vec<_>>()
                .join(",")
        };
        let days = listed(self.days, &DAY);
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => vec![
                format!("*-{months}-{days} {time}"),
                format!("{} *-{months}-* {time}", weekdays()),
            ],
            (_, true) => vec![format!("{} *-{months}-{days} {time}", weekdays())],
            _ => vec![format!("*-{months}-{days} {time}")],
        }
    }
}

fn bit(set: u64, value: impl Into<i64>) -> bool {
    u32::try_from(value.into())
        .ok()
        .is_some_and(|v| v < 64 && set & (1 << v) != 0)
}

fn full(field: &Field) -> u64 {
    (field.min..=field.max).fold(0, |set, v| set | (1 << v))
}

/// A field's values for systemd: `*` when it is every value, else the list.
fn listed(set: u64, field: &Field) -> String {
    if set == full(field) {
        return "*".to_owned();
    }
    (field.min..=field.max)
        .filter(|v| set & (1 << v) != 0)
        .map(|v| format!("{v:02}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One field: its set of values, and whether it is restricted (not `*` or `?`, which only
/// the day rule cares about).
fn parse_field(text: &str, field: &Field) -> Result<(u64, bool), CronError> {
    let mut set = 0u64;
    let mut restricted = true;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let bad = || CronError::Step {
                    field: field.name,
                    text: step.to_owned(),
                };
                let step: u32 = step.parse().map_err(|_| bad())?;
                if step == 0 {
                    return Err(bad());
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (low, high) = if range == "*" || range == "?" {
            if step.is_none() && text.split(',').count() == 1 {
                restricted = false;
            }
            (field.min, if field.max == 7 { 6 } else { field.max })
        } else if let Some((low, high)) = range.split_once('-') {
            let (low, high) = (value(low, field)?, value(high, field)?);
            if low > high {
                return Err(CronError::Backwards {
                    field: field.name,
                    text: range.to_owned(),
                });
            }
            (low, high)
        } else {
            let low = value(range, field)?;
            // `A/S`: from A to the end of the field.
            let max = if field.max == 7 { 6 } else { field.max };
            (low, if step.is_some() { max.max(low) } else { low })
        };
        let step = step.unwrap_or(1);
        let mut v = low;
        while v <= high {
            set |= 1 << v;
            v += step;
        }
    }
    Ok((set, restricted))
}

fn value(text: &str, field: &Field) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    let number = match field
        .names
        .iter()
        .position(|n| !n.is_empty() && *n == lower)
    {
        Some(index) => u32::try_from(index).unwrap_or_default(),
        None => text.parse().map_err(|_| CronError::NotANumber {
            field: field.name,
            text: text.to_owned(),
        })?,
    };
    if number < field.min || number > field.max {
        return Err(CronError::Range {
            field: field.name,
            value: number,
            min: field.min,
            max: field.max,
        });
    }
    Ok(number)
}

#[cfg(test)]
mod tests;
