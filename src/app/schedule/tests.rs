use super::*;
use crate::app::manifest::FILE_NAME;
use crate::source::Source;

/// The first diagnostic of `text`, parse or validation, on one line with its notes.
fn problems(text: &str) -> Vec<String> {
    let source = Source::new(FILE_NAME, text);
    let manifest = match Manifest::parse(&source) {
        Ok(manifest) => manifest,
        Err(diagnostic) => {
            let mut line = diagnostic.headline();
            for note in diagnostic.notes {
                line.push_str(" | ");
                line.push_str(&note);
            }
            return vec![line];
        }
    };
    let (procfile, _) = Procfile::parse(&Source::new("Procfile", "web: serve\nworker: work\n"));
    manifest
        .validate(&source, Some(&procfile))
        .iter()
        .map(|d| {
            let mut line = d.headline();
            for note in &d.notes {
                line.push_str(" | ");
                line.push_str(note);
            }
            line
        })
        .collect()
}

#[test]
fn a_schedule_resolves_its_command_task_zone_and_policies() {
    let text = r#"
[tasks]
report = "python report.py"

[schedule.cleanup]
command = "rm -rf tmp/cache"
cron = "*/10 * * * *"
timezone = "Europe/Paris"
concurrency = "replace"
timeout = "10m"
starting_deadline = "5m"

[schedule.report]
task = "report"
cron = "@daily"

[schedule.work]
task = "worker"
cron = "0 3 * * 1-5"
"#;
    assert_eq!(problems(text), Vec::<String>::new());
    let manifest = Manifest::parse(&Source::new(FILE_NAME, text)).unwrap();
    let (procfile, _) = Procfile::parse(&Source::new("Procfile", "worker: work --once\n"));
    let schedules = manifest.schedules(Some(&procfile));
    let by = |name: &str| schedules.iter().find(|s| s.name == name).unwrap();
    let cleanup = by("cleanup");
    assert_eq!(cleanup.command, "rm -rf tmp/cache");
    assert_eq!(cleanup.zone_name.as_deref(), Some("Europe/Paris"));
    assert_eq!(cleanup.concurrency, Concurrency::Replace);
    assert_eq!(cleanup.timeout, Some(Duration::from_secs(600)));
    assert_eq!(cleanup.starting_deadline, Some(Duration::from_secs(300)));
    assert_eq!(cleanup.label(), "schedule.cleanup");
    assert_eq!(by("report").command, "python report.py");
    assert_eq!(by("report").concurrency, Concurrency::Forbid);
    assert_eq!(by("work").command, "work --once");
}

#[test]
fn schedule_errors_are_located() {
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\ncron = \"*/10 * * *\"\n"),
        [
            "dozen.toml:3:8: invalid cron: a cron expression has 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; `*/10 * * *` has 4"
        ]
    );
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\ncron = \"0 24 * * *\"\n"),
        ["dozen.toml:3:8: invalid cron: hour field: 24 is out of range 0-23"]
    );
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\ntask = \"web\"\ncron = \"@daily\"\n"),
        ["dozen.toml:3:8: a schedule runs a `command` or a `task`, not both"]
    );
    assert_eq!(
        problems("[schedule.a]\ncron = \"@daily\"\n"),
        ["dozen.toml:1:1: schedule `a` needs a `command = \"…\"` or a `task = \"…\"`"]
    );
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\n"),
        [
            "dozen.toml:1:1: schedule `a` needs a `cron = \"…\"` (five fields, such as \"*/10 * * * *\", or @hourly, @daily…)"
        ]
    );
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\ncron = \"@daily\"\ntimezone = \"Mars/Olympus\"\n"),
        [
            "dozen.toml:4:12: unknown time zone `Mars/Olympus`: use an IANA name such as \"Europe/Paris\" or \"UTC\""
        ]
    );
    assert_eq!(
        problems("[schedule.a]\ntask = \"wroker\"\ncron = \"@daily\"\n"),
        [
            "dozen.toml:2:8: schedule task `wroker` is neither a [tasks] entry nor a Procfile type | did you mean `worker`?"
        ]
    );
    assert_eq!(
        problems("[schedule.a]\ncommand = \"x\"\ncron = \"@daily\"\nconcurrency = \"queue\"\n"),
        ["dozen.toml:4:15: unknown value `queue` | expected one of `forbid`, `allow`, `replace`"]
    );
    let unknown =
        &problems("[schedule.a]\ncommand = \"x\"\ncron = \"@daily\"\ntimout = \"1m\"\n")[0];
    assert!(
        unknown.starts_with("dozen.toml:4:1: unknown key `timout` | did you mean `timeout`?"),
        "{unknown}"
    );
}
