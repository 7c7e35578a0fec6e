//! Any text as a `[schedule.NAME] cron`: no panic while parsing; a parsed expression's next
//! fires are strictly increasing in any zone, and its systemd calendar events are made
//! without panic.
#![no_main]

use dozen::app::cron::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&zone_byte, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(cron) = Cron::parse(text) else { return };
    let _ = cron.on_calendar();
    let _ = cron.five_fields(text);
    let zones = [
        "UTC",
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
    ];
    let Ok(zone) = TimeZone::get(zones[usize::from(zone_byte) % zones.len()]) else {
        return;
    };
    let mut at = Timestamp::from_second(1_700_000_000 + i64::from(zone_byte) * 86_400 * 7).unwrap();
    for _ in 0..4 {
        let Some(next) = cron.next_after(at, &zone) else {
            return;
        };
        assert!(next > at, "{text}: {next} after {at}");
        at = next;
    }
});
