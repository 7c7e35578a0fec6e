use super::*;
use crate::app::cron::Cron;
use jiff::tz::TimeZone;

fn schedule(cron: &str, concurrency: Concurrency) -> Schedule {
    Schedule {
        name: "job".into(),
        command: "work".into(),
        cron_text: cron.into(),
        cron: Cron::parse(cron).unwrap(),
        zone: TimeZone::UTC,
        zone_name: Some("UTC".into()),
        concurrency,
        timeout: None,
        starting_deadline: None,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

const KILL: Duration = Duration::from_secs(5);

/// A scheduler whose job `job` last fired at `last`, started at `wall` (after a pause), and
/// what its first timers did.
fn after_pause(job: Schedule, last: &str, wall: Timestamp) -> (Scheduler, Vec<Action>) {
    let last = HashMap::from([("job".to_owned(), at(last))]);
    let mut s = Scheduler::new(vec![job], &last, KILL, wall);
    s.on_timers(wall, Instant::now());
    let actions = s.take_actions();
    (s, actions)
}

fn spawned_ids(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn said(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn outcomes(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Record(r) => Some(r["outcome"].as_str().unwrap().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fire_starts_a_run_and_its_exit_is_recorded() {
    let now = Instant::now();
    let start = at("2026-01-01T00:00:00Z");
    let mut s = Scheduler::new(
        vec![schedule("*/10 * * * *", Concurrency::Forbid)],
        &HashMap::new(),
        KILL,
        start,
    );
    s.on_timers(at("2026-01-01T00:09:59Z"), now);
    assert!(s.take_actions().is_empty());
    s.on_timers(at("2026-01-01T00:10:00.2Z"), now);
    let ids = spawned_ids(&s.take_actions());
    assert_eq!(ids, [FIRST_ID]);
    s.exited(FIRST_ID, Some(3), None, now + Duration::from_secs(2));
    let actions = s.take_actions();
    assert_eq!(outcomes(&actions), ["failed"]);
    assert_eq!(
        said(&actions),
        ["schedule.job exited with code 3 after 2.0s"]
    );
    let status = &s.status()[0];
    assert_eq!(status.next.as_deref(), Some("2026-01-01T00:20:00+00:00"));
    assert_eq!(status.last.as_ref().unwrap().exit_code, Some(3));
}

#[test]
fn forbid_skips_allow_adds_replace_stops_the_old_run() {
    let now = Instant::now();
    let start = at("2026-01-01T00:00:00Z");
    let second = at("2026-01-01T00:00:01Z");
    let third = at("2026-01-01T00:00:02Z");
    for (policy, spawned, recorded) in [
        (Concurrency::Forbid, 1, vec!["skipped"]),
        (Concurrency::Allow, 2, vec![]),
        (Concurrency::Replace, 2, vec![]),
    ] {
        let mut s = Scheduler::new(
            vec![schedule("* * * * * *", policy)],
            &HashMap::new(),
            KILL,
            start,
        );
        s.on_timers(second, now);
        s.on_timers(third, now);
        let actions = s.take_actions();
        assert_eq!(spawned_ids(&actions).len(), spawned, "{policy:?}");
        assert_eq!(outcomes(&actions), recorded, "{policy:?}");
        let terms = actions
            .iter()
            .filter(|a| matches!(a, Action::Signal { signal: 15, .. }))
            .count();
        assert_eq!(
            terms,
            usize::from(policy == Concurrency::Replace),
            "{policy:?}"
        );
        if policy == Concurrency::Replace {
            s.exited(FIRST_ID, None, Some(15), now);
            assert_eq!(outcomes(&s.take_actions()), ["replaced"]);
        }
    }
}

#[test]
fn a_timeout_sends_sigterm_then_sigkill_after_the_kill_timeout() {
    let now = Instant::now();
    let start = at("2026-01-01T00:00:00Z");
    let mut job = schedule("* * * * * *", Concurrency::Forbid);
    job.timeout = Some(Duration::from_secs(3));
    let mut s = Scheduler::new(vec![job], &HashMap::new(), KILL, start);
    s.on_timers(at("2026-01-01T00:00:01Z"), now);
    s.take_actions();
    let wall = at("2026-01-01T00:00:01.5Z");
    s.on_timers(wall, now + Duration::from_secs(3));
    let actions = s.take_actions();
    assert!(actions.contains(&Action::Signal {
        id: FIRST_ID,
        signal: 15
    }));
    s.on_timers(wall, now + Duration::from_secs(8));
    assert!(s.take_actions().contains(&Action::Signal {
        id: FIRST_ID,
        signal: 9
    }));
    s.exited(FIRST_ID, None, Some(9), now + Duration::from_secs(8));
    assert_eq!(outcomes(&s.take_actions()), ["timed-out"]);
}

#[test]
fn fires_missed_in_a_pause_run_once_or_are_said_missed_past_the_deadline() {
    let (last, wall) = ("2026-01-01T00:00:00Z", at("2026-01-01T01:05:00Z"));
    let (_, actions) = after_pause(schedule("*/10 * * * *", Concurrency::Forbid), last, wall);
    assert_eq!(spawned_ids(&actions).len(), 1);
    assert_eq!(
        said(&actions),
        [
            "schedule.job: 6 fires passed while dozen was stopped or the machine slept, the latest due at 2026-01-01 01:00:00 (5m0s ago); it runs once now"
        ]
    );
    let mut job = schedule("*/10 * * * *", Concurrency::Forbid);
    job.starting_deadline = Some(Duration::from_secs(60));
    let (s, actions) = after_pause(job, last, wall);
    assert!(spawned_ids(&actions).is_empty());
    assert_eq!(outcomes(&actions), ["missed"]);
    assert_eq!(
        s.status()[0].next.as_deref(),
        Some("2026-01-01T01:10:00+00:00")
    );
}

#[test]
fn stopping_the_run_stops_its_jobs_and_fires_no_more() {
    let now = Instant::now();
    let start = at("2026-01-01T00:00:00Z");
    let mut s = Scheduler::new(
        vec![schedule("* * * * * *", Concurrency::Allow)],
        &HashMap::new(),
        KILL,
        start,
    );
    s.on_timers(at("2026-01-01T00:00:01Z"), now);
    s.take_actions();
    s.stop_all(now);
    assert!(s.take_actions().contains(&Action::Signal {
        id: FIRST_ID,
        signal: 15
    }));
    s.on_timers(at("2026-01-01T00:00:05Z"), now);
    assert!(spawned_ids(&s.take_actions()).is_empty());
    assert!(s.busy());
    s.exited(FIRST_ID, None, Some(15), now);
    assert_eq!(outcomes(&s.take_actions()), ["stopped"]);
    assert!(!s.busy());
}

#[test]
fn a_long_pause_of_a_frequent_schedule_is_counted_to_a_bound_and_its_latest_fire_found() {
    let wall = at("2026-01-03T00:00:00.5Z");
    let job = schedule("* * * * * *", Concurrency::Forbid);
    let (_, actions) = after_pause(job, "2026-01-01T00:00:00Z", wall);
    assert_eq!(spawned_ids(&actions).len(), 1);
    let line = &said(&actions)[0];
    assert!(
        line.starts_with("schedule.job: more than 100001 fires passed")
            && line.contains("the latest due at 2026-01-03 00:00:00 (0.5s ago)"),
        "{line}"
    );
}

/// A run that starts after another shows each schedule's last run from the history (the
/// latest due of the same cron), until it fires again.
#[test]
fn the_last_run_of_an_earlier_run_is_shown_until_the_next_fire() {
    let events: Vec<serde_json::Value> = vec![
        json!({"what": "schedule", "schedule": "job", "cron": "*/10 * * * *",
               "due": "2026-01-01T00:10:00Z", "outcome": "failed", "exit_code": 3,
               "duration_ms": 12}),
        json!({"what": "schedule", "schedule": "job", "cron": "*/10 * * * *",
               "due": "2026-01-01T00:20:00Z", "outcome": "succeeded", "exit_code": 0,
               "duration_ms": 40}),
        // An older due written later, another cron, another schedule: not it.
        json!({"what": "schedule", "schedule": "job", "cron": "*/10 * * * *",
               "due": "2026-01-01T00:00:00Z", "outcome": "timed-out"}),
        json!({"what": "schedule", "schedule": "job", "cron": "* * * * *",
               "due": "2026-01-01T00:30:00Z", "outcome": "failed"}),
        json!({"what": "schedule", "schedule": "other", "cron": "*/10 * * * *",
               "due": "2026-01-01T00:30:00Z", "outcome": "failed"}),
        json!({"what": "build"}),
    ];
    let schedules = vec![schedule("*/10 * * * *", Concurrency::Forbid)];
    let runs = last_runs(&events, &schedules);
    let s = Scheduler::new(schedules, &HashMap::new(), KILL, at("2026-01-01T00:25:00Z"))
        .with_last_runs(runs);
    let last = s.status()[0].last.clone().unwrap();
    assert_eq!(last.due, "2026-01-01T00:20:00Z");
    assert_eq!(last.outcome, ScheduleOutcome::Succeeded);
    assert_eq!((last.exit_code, last.duration_ms), (Some(0), Some(40)));
}
