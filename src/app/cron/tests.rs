//! The next-fire table of robfig/cron (the library Kubernetes' `CronJob` schedules with),
//! ported from `spec_test.go` (`TestActivation`, `TestNext`, `TestErrors`) at commit
//! bc59245fe10efaed9d51b56900192527ed733435 of github.com/robfig/cron. Its times without an
//! offset are read in UTC (robfig reads them in the machine's zone). Where dozen follows
//! Vixie cron instead of robfig in a fall-back or spring-forward, the row says so and holds
//! dozen's answer.

use super::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("zone")
}

/// robfig's time formats: `Mon Jul 9 15:00 2012`, with seconds, or RFC 3339-like with an
/// offset (`2012-03-11T00:00:00-0500`); `TZ=Zone ` in front reads it in that zone.
fn time(text: &str) -> Timestamp {
    let (zone_name, text) = match text.strip_prefix("TZ=") {
        Some(rest) => rest.split_once(' ').expect("TZ=zone time"),
        None => ("UTC", text),
    };
    // The weekday is skipped, as Go's parser does: one row of robfig's has it wrong
    // ("Thu Jul 11 … 2012" was a Wednesday).
    let dated = text.split_once(' ').map_or(text, |(_, rest)| rest);
    for format in ["%b %d %H:%M %Y", "%b %d %H:%M:%S %Y"] {
        if let Ok(parsed) = jiff::fmt::strtime::parse(format, dated) {
            let civil = parsed.to_datetime().expect("datetime");
            return zone(zone_name)
                .to_ambiguous_timestamp(civil)
                .compatible()
                .expect("instant");
        }
    }
    jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", text)
        .and_then(|p| p.to_timestamp())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A spec with robfig's `TZ=`/`CRON_TZ=` prefix: the cron and its zone.
fn spec(text: &str) -> (Cron, TimeZone) {
    let (zone_name, text) = match text
        .strip_prefix("TZ=")
        .or_else(|| text.strip_prefix("CRON_TZ="))
    {
        Some(rest) => rest.split_once(' ').expect("TZ=zone spec"),
        None => ("UTC", text),
    };
    let cron = Cron::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    (cron, zone(zone_name))
}

#[test]
fn activation_table_from_robfig() {
    let table = [
        // Every fifteen minutes.
        ("Mon Jul 9 15:00 2012", "0/15 * * * *", true),
        ("Mon Jul 9 15:45 2012", "0/15 * * * *", true),
        ("Mon Jul 9 15:40 2012", "0/15 * * * *", false),
        // Every fifteen minutes, starting at 5 minutes.
        ("Mon Jul 9 15:05 2012", "5/15 * * * *", true),
        ("Mon Jul 9 15:20 2012", "5/15 * * * *", true),
        ("Mon Jul 9 15:50 2012", "5/15 * * * *", true),
        // Named months
        ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", true),
        ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", false),
        // Everything set.
        ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", true),
        ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", true),
        ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", false),
        ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", false),
        // Predefined schedules
        ("Mon Jul 9 15:00 2012", "@hourly", true),
        ("Mon Jul 9 15:04 2012", "@hourly", false),
        ("Mon Jul 9 15:00 2012", "@daily", false),
        ("Mon Jul 9 00:00 2012", "@daily", true),
        ("Mon Jul 9 00:00 2012", "@weekly", false),
        ("Sun Jul 8 00:00 2012", "@weekly", true),
        ("Sun Jul 8 01:00 2012", "@weekly", false),
        ("Sun Jul 8 00:00 2012", "@monthly", false),
        ("Sun Jul 1 00:00 2012", "@monthly", true),
        // Test interaction of DOW and DOM.
        // If both are restricted, then only one needs to match.
        ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", true),
        ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", true),
        ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", true),
        ("Sun Jul 15 00:00 2012", "* * */10 * Sun", true), // verifies #70
        // However, if one has a star, then both need to match.
        ("Sun Jul 15 00:00 2012", "* * * * Mon", false),
        ("Mon Jul 9 00:00 2012", "* * 1,15 * *", false),
        ("Sun Jul 15 00:00 2012", "* * 1,15 * *", true),
        ("Sun Jul 15 00:00 2012", "* * */2 * Sun", true),
    ];
    for (at, text, expected) in table {
        let (cron, zone) = spec(text);
        let at = time(at);
        let next = cron.next_after(at - SignedDuration::from_secs(1), &zone);
        assert_eq!(next == Some(at), expected, "{text} at {at}");
    }
}

#[test]
#[allow(clippy::too_many_lines)]
fn next_table_from_robfig() {
    let table = [
        // Simple cases
        (
            "Mon Jul 9 14:45 2012",
            "0 0/15 * * * *",
            "Mon Jul 9 15:00 2012",
        ),
        (
            "Mon Jul 9 14:59 2012",
            "0 0/15 * * * *",
            "Mon Jul 9 15:00 2012",
        ),
        (
            "Mon Jul 9 14:59:59 2012",
            "0 0/15 * * * *",
            "Mon Jul 9 15:00 2012",
        ),
        // Wrap around hours
        (
            "Mon Jul 9 15:45 2012",
            "0 20-35/15 * * * *",
            "Mon Jul 9 16:20 2012",
        ),
        // Wrap around days
        (
            "Mon Jul 9 23:46 2012",
            "0 */15 * * * *",
            "Tue Jul 10 00:00 2012",
        ),
        (
            "Mon Jul 9 23:45 2012",
            "0 20-35/15 * * * *",
            "Tue Jul 10 00:20 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 * * * *",
            "Tue Jul 10 00:20:15 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 1/2 * * *",
            "Tue Jul 10 01:20:15 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 10-12 * * *",
            "Tue Jul 10 10:20:15 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 1/2 */2 * *",
            "Thu Jul 11 01:20:15 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 * 9-20 * *",
            "Wed Jul 10 00:20:15 2012",
        ),
        (
            "Mon Jul 9 23:35:51 2012",
            "15/35 20-35/15 * 9-20 Jul *",
            "Wed Jul 10 00:20:15 2012",
        ),
        // Wrap around months
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 9 Apr-Oct ?",
            "Thu Aug 9 00:00 2012",
        ),
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 */5 Apr,Aug,Oct Mon",
            "Tue Aug 1 00:00 2012",
        ),
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 */5 Oct Mon",
            "Mon Oct 1 00:00 2012",
        ),
        // Wrap around years
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 * Feb Mon",
            "Mon Feb 4 00:00 2013",
        ),
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 * Feb Mon/2",
            "Fri Feb 1 00:00 2013",
        ),
        // Wrap around minute, hour, day, month, and year
        (
            "Mon Dec 31 23:59:45 2012",
            "0 * * * * *",
            "Tue Jan 1 00:00:00 2013",
        ),
        // Leap year
        (
            "Mon Jul 9 23:35 2012",
            "0 0 0 29 Feb ?",
            "Mon Feb 29 00:00 2016",
        ),
        // Daylight savings time 2am EST (-5) -> 3am EDT (-4).
        // dozen (Vixie): the 02:30 that the jump skips fires once, at the jump; robfig
        // skips it to the next year ("2013-03-11T02:30:00-0400").
        (
            "2012-03-11T00:00:00-0500",
            "TZ=America/New_York 0 30 2 11 Mar ?",
            "2012-03-11T03:00:00-0400",
        ),
        // hourly job
        (
            "2012-03-11T00:00:00-0500",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T01:00:00-0500",
        ),
        (
            "2012-03-11T01:00:00-0500",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T03:00:00-0400",
        ),
        (
            "2012-03-11T03:00:00-0400",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T04:00:00-0400",
        ),
        (
            "2012-03-11T04:00:00-0400",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T05:00:00-0400",
        ),
        // hourly job using CRON_TZ
        (
            "2012-03-11T00:00:00-0500",
            "CRON_TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T01:00:00-0500",
        ),
        (
            "2012-03-11T01:00:00-0500",
            "CRON_TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T03:00:00-0400",
        ),
        (
            "2012-03-11T03:00:00-0400",
            "CRON_TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T04:00:00-0400",
        ),
        (
            "2012-03-11T04:00:00-0400",
            "CRON_TZ=America/New_York 0 0 * * * ?",
            "2012-03-11T05:00:00-0400",
        ),
        // 1am nightly job
        (
            "2012-03-11T00:00:00-0500",
            "TZ=America/New_York 0 0 1 * * ?",
            "2012-03-11T01:00:00-0500",
        ),
        (
            "2012-03-11T01:00:00-0500",
            "TZ=America/New_York 0 0 1 * * ?",
            "2012-03-12T01:00:00-0400",
        ),
        // 2am nightly job: dozen (Vixie) fires it at the jump; robfig skips that day
        // ("2012-03-12T02:00:00-0400").
        (
            "2012-03-11T00:00:00-0500",
            "TZ=America/New_York 0 0 2 * * ?",
            "2012-03-11T03:00:00-0400",
        ),
        // Daylight savings time 2am EDT (-4) => 1am EST (-5)
        (
            "2012-11-04T00:00:00-0400",
            "TZ=America/New_York 0 30 2 04 Nov ?",
            "2012-11-04T02:30:00-0500",
        ),
        // dozen (Vixie): 01:30 already fired at its first occurrence (-0400) and does not
        // again; robfig fires it twice ("2012-11-04T01:30:00-0500").
        (
            "2012-11-04T01:45:00-0400",
            "TZ=America/New_York 0 30 1 04 Nov ?",
            "2013-11-04T01:30:00-0500",
        ),
        // hourly job
        (
            "2012-11-04T00:00:00-0400",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-11-04T01:00:00-0400",
        ),
        (
            "2012-11-04T01:00:00-0400",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-11-04T01:00:00-0500",
        ),
        (
            "2012-11-04T01:00:00-0500",
            "TZ=America/New_York 0 0 * * * ?",
            "2012-11-04T02:00:00-0500",
        ),
        // 1am nightly job: robfig "runs twice"; dozen (Vixie) once.
        (
            "2012-11-04T00:00:00-0400",
            "TZ=America/New_York 0 0 1 * * ?",
            "2012-11-04T01:00:00-0400",
        ),
        (
            "2012-11-04T01:00:00-0400",
            "TZ=America/New_York 0 0 1 * * ?",
            "2012-11-05T01:00:00-0500",
        ),
        (
            "2012-11-04T01:00:00-0500",
            "TZ=America/New_York 0 0 1 * * ?",
            "2012-11-05T01:00:00-0500",
        ),
        // 2am nightly job
        (
            "2012-11-04T00:00:00-0400",
            "TZ=America/New_York 0 0 2 * * ?",
            "2012-11-04T02:00:00-0500",
        ),
        (
            "2012-11-04T02:00:00-0500",
            "TZ=America/New_York 0 0 2 * * ?",
            "2012-11-05T02:00:00-0500",
        ),
        // 3am nightly job
        (
            "2012-11-04T00:00:00-0400",
            "TZ=America/New_York 0 0 3 * * ?",
            "2012-11-04T03:00:00-0500",
        ),
        (
            "2012-11-04T03:00:00-0500",
            "TZ=America/New_York 0 0 3 * * ?",
            "2012-11-05T03:00:00-0500",
        ),
        // Monthly job
        (
            "TZ=America/New_York 2012-11-04T00:00:00-0400",
            "0 0 3 3 * ?",
            "2012-12-03T03:00:00-0500",
        ),
        // Test the scenario of DST resulting in midnight not being a valid time.
        // https://github.com/robfig/cron/issues/157
        (
            "2018-10-17T05:00:00-0400",
            "TZ=America/Sao_Paulo 0 0 9 10 * ?",
            "2018-11-10T06:00:00-0500",
        ),
        (
            "2018-02-14T05:00:00-0500",
            "TZ=America/Sao_Paulo 0 0 9 22 * ?",
            "2018-02-22T07:00:00-0500",
        ),
    ];
    for (at, text, expected) in table {
        let (cron, mut zone) = spec(text);
        // A time given in a zone puts a spec without one in that zone, as Go's times do.
        if let Some((name, _)) = at.strip_prefix("TZ=").and_then(|r| r.split_once(' ')) {
            zone = self::zone(name);
        }
        let next = cron.next_after(time(at), &zone);
        assert_eq!(next, Some(time(expected)), "{text} after {at}");
    }
}

#[test]
fn unsatisfiable_and_invalid_specs_are_errors() {
    // robfig's "Unsatisfiable" rows of TestNext, then TestErrors and TestSlash0NoHang.
    for text in ["0 0 0 30 Feb ?", "0 0 0 31 Apr ?"] {
        assert!(
            matches!(Cron::parse(text), Err(CronError::Never(_))),
            "{text}"
        );
    }
    for text in [
        "xyz",
        "60 0 * * *",
        "0 60 * * *",
        "0 0 * * XYZ",
        "15/0 * * * *",
    ] {
        assert!(Cron::parse(text).is_err(), "{text}");
    }
    assert_eq!(
        Cron::parse("0 24 * * *").unwrap_err().to_string(),
        "hour field: 24 is out of range 0-23"
    );
    assert!(matches!(
        Cron::parse("@fortnightly"),
        Err(CronError::Alias(_))
    ));
    assert!(matches!(
        Cron::parse("5-1 * * * *"),
        Err(CronError::Backwards { .. })
    ));
    assert!(matches!(
        Cron::parse("* * * *"),
        Err(CronError::FieldCount(_, 4))
    ));
}

#[test]
fn aliases_and_sunday_as_seven() {
    assert_eq!(Cron::parse("@annually"), Cron::parse("0 0 1 1 *"));
    assert_eq!(Cron::parse("@midnight"), Cron::parse("@daily"));
    assert_eq!(Cron::parse("0 0 * * 7"), Cron::parse("0 0 * * sun"));
}

/// Each next fire from `from`, `count` of them, as `YYYY-MM-DD HH:MM:SS±ZZ:ZZ`.
fn fires(cron: &str, zone_name: &str, from: &str, count: usize) -> Vec<String> {
    let cron = Cron::parse(cron).expect("cron");
    let zone = zone(zone_name);
    let mut at = time(from);
    let mut seen = Vec::new();
    for _ in 0..count {
        at = cron.next_after(at, &zone).expect("a next fire");
        seen.push(
            at.to_zoned_datetime(zone.clone())
                .strftime("%F %T%:z")
                .to_string(),
        );
    }
    seen
}

#[test]
fn a_daily_job_in_a_skipped_hour_runs_once_at_the_jump() {
    // Europe/Paris skips 02:00-03:00 on 2026-03-29.
    assert_eq!(
        fires("30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00+0100", 3),
        [
            "2026-03-29 03:00:00+02:00",
            "2026-03-30 02:30:00+02:00",
            "2026-03-31 02:30:00+02:00"
        ]
    );
}

#[test]
fn a_daily_job_in_a_repeated_hour_runs_once() {
    // Europe/Paris repeats 02:00-03:00 on 2026-10-25.
    assert_eq!(
        fires("30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00+0200", 3),
        [
            "2026-10-25 02:30:00+02:00",
            "2026-10-26 02:30:00+01:00",
            "2026-10-27 02:30:00+01:00"
        ]
    );
}

#[test]
fn a_frequent_job_keeps_its_rhythm_through_both_changes() {
    assert_eq!(
        fires(
            "*/30 * * * *",
            "Europe/Paris",
            "2026-10-25T01:00:00+0200",
            5
        ),
        [
            "2026-10-25 01:30:00+02:00",
            "2026-10-25 02:00:00+02:00",
            "2026-10-25 02:30:00+02:00",
            "2026-10-25 02:00:00+01:00",
            "2026-10-25 02:30:00+01:00"
        ]
    );
    assert_eq!(
        fires(
            "*/30 * * * *",
            "Europe/Paris",
            "2026-03-29T01:00:00+0100",
            3
        ),
        [
            "2026-03-29 01:30:00+01:00",
            "2026-03-29 03:00:00+02:00",
            "2026-03-29 03:30:00+02:00"
        ]
    );
}

#[test]
fn seconds_fields_fire_every_second() {
    assert_eq!(
        fires("* * * * * *", "UTC", "2026-01-01T00:00:58+0000", 3),
        [
            "2026-01-01 00:00:59+00:00",
            "2026-01-01 00:01:00+00:00",
            "2026-01-01 00:01:01+00:00"
        ]
    );
}

#[test]
fn systemd_calendar_events() {
    let on = |text: &str| Cron::parse(text).expect("cron").on_calendar();
    assert_eq!(on("*/15 * * * *"), ["*-*-* *:00,15,30,45:00"]);
    assert_eq!(on("@daily"), ["*-*-* 00:00:00"]);
    assert_eq!(on("30 2 * * 1-5"), ["Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00"]);
    assert_eq!(
        on("0 0 1,15 * sun"),
        ["*-*-01,15 00:00:00", "Sun *-*-* 00:00:00"]
    );
    assert_eq!(on("@yearly"), ["*-01-01 00:00:00"]);
}
