//! systemd units: a target for the app, a template unit per process type (instances named by
//! port, as foreman's exporter does: `app-web@5000.service`), the release phase as a oneshot
//! unit ordered before them, an `EnvironmentFile` with the config (mode 0600), and a `.timer`
//! beside a oneshot `.service` per `[schedule.NAME]`. With feature flags, a copy of their
//! definitions file and a flagd unit the others want and start after.

use std::fmt::Write as _;
use std::path::Path;

use super::flagd::{self, Flags};
use super::{ExportType, File, Files, Source, seconds};
use crate::app::limits::{Limits, Memory};
use crate::app::schedule::{Concurrency, Schedule};

/// Between SIGTERM and SIGKILL for a scheduled job, as `dozen run` gives it.
const DEFAULT_KILL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// systemd's quoting for one `ExecStart=` argument: double quotes, C escapes, and `$`/`%`
/// doubled so systemd leaves them to the shell.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '$' => out.push_str("$$"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value of an `EnvironmentFile=`: double-quoted, with `\`, `"`, `$` escaped (systemd would
/// expand `$VAR` in an unquoted or double-quoted value otherwise) and newlines as `\n`.
fn env_value(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '`' => out.push_str("\\`"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What the units of one export share.
struct Units<'a> {
    source: &'a Source,
    env_file: std::path::PathBuf,
    /// Where the installed copy of the flags file is, when the app has flags.
    flags_file: Option<std::path::PathBuf>,
    user: Option<&'a str>,
}

impl Units<'_> {
    fn release_unit(&self) -> String {
        format!("{}-release.service", self.source.app)
    }

    /// `User=`, `WorkingDirectory=`, `EnvironmentFile=`, `DOZEN_RELEASE`.
    fn service_common(&self, unit: &mut String) {
        if let Some(user) = self.user {
            let _ = writeln!(unit, "User={user}");
        }
        let _ = writeln!(unit, "WorkingDirectory={}", self.source.workdir.display());
        let _ = writeln!(unit, "EnvironmentFile={}", self.env_file.display());
    }

    fn flagd_unit(&self) -> String {
        format!("{}-flagd.service", self.source.app)
    }

    /// A unit that runs the app's code starts after flagd and reads flags from it.
    fn flags_after(&self) -> String {
        if self.flags_file.is_some() {
            format!(" {}", self.flagd_unit())
        } else {
            String::new()
        }
    }

    fn flags_env(&self, unit: &mut String) {
        if self.source.flags_endpoint() {
            let _ = writeln!(
                unit,
                "Environment={}=http://127.0.0.1:{}",
                flagd::ENDPOINT,
                flagd::OFREP_PORT
            );
        }
    }

    /// flagd serving the installed copy of the flags file over OFREP; it reads the file again
    /// when it changes (copy a new one over it: no restart).
    fn flagd(&self, file: &Path) -> String {
        let app = &self.source.app;
        let mut unit = self.source.header("#");
        // Quoted only where systemd would read a word otherwise (a path with a space, a `%`).
        let args: Vec<String> = Flags::start_args(&file.display().to_string())
            .iter()
            .map(|a| {
                let plain = a
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
                if plain { a.clone() } else { quote(a) }
            })
            .collect();
        let _ = write!(
            unit,
            "# flagd ({image}, the binary of that release at {binary}) serves the app's flags over OFREP on port {ofrep}; it reloads {file} when it changes.\n[Unit]\nDescription={app} flags (flagd)\nPartOf={app}.target\nAfter=network.target\n\n[Service]\nType=simple\n",
            image = flagd::IMAGE,
            binary = flagd::BINARY,
            ofrep = flagd::OFREP_PORT,
            file = file.display(),
        );
        if let Some(user) = self.user {
            let _ = writeln!(unit, "User={user}");
        }
        let _ = write!(
            unit,
            "ExecStart={} {}\nRestart=on-failure\n\n[Install]\nWantedBy={app}.target\n",
            flagd::BINARY,
            args.join(" ")
        );
        unit
    }

    fn release_env(&self, unit: &mut String) {
        if let Some(release) = &self.source.release {
            let _ = writeln!(unit, "Environment=DOZEN_RELEASE={release}");
        }
    }

    /// The config, without `PORT`: each instance has its own (`Environment=PORT=%i`), and an
    /// `EnvironmentFile=` would override it.
    fn env(&self) -> String {
        let mut env = self.source.header("#");
        for (key, value) in self.source.config.iter().filter(|(k, _)| *k != "PORT") {
            let _ = writeln!(env, "{key}={}", env_value(value));
        }
        env
    }

    /// The release phase: a oneshot unit the process types require and start after.
    fn release(&self, command: &str) -> String {
        let app = &self.source.app;
        let mut unit = self.source.header("#");
        let _ = write!(
            unit,
            "[Unit]\nDescription={app} release phase\nAfter=network.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        );
        self.service_common(&mut unit);
        self.release_env(&mut unit);
        let _ = writeln!(
            unit,
            "ExecStart=/bin/sh -c {}",
            quote(&self.source.start(command))
        );
        unit
    }

    /// The template unit of a process type: one instance per port.
    fn process(&self, kind: &ExportType) -> String {
        let app = &self.source.app;
        let mut unit = self.source.header("#");
        unit.push_str(&self.source.logs_note("#", "systemd"));
        let _ = write!(
            unit,
            "# One unit per instance, named by its port: {app}-{kind_name}@{port}.service.\n[Unit]\nDescription={app} {kind_name} (port %i)\nPartOf={app}.target\n",
            kind_name = kind.name,
            port = self.source.port(kind, 1)
        );
        let flagd = self.flags_after();
        if self.source.release_command.is_some() {
            let release = self.release_unit();
            let _ = writeln!(
                unit,
                "After=network.target {release}{flagd}\nRequires={release}"
            );
        } else {
            let _ = writeln!(unit, "After=network.target{flagd}");
        }
        if !flagd.is_empty() {
            let _ = writeln!(unit, "Wants={}", flagd.trim_start());
        }
        unit.push_str("\n[Service]\nType=simple\n");
        self.service_common(&mut unit);
        unit.push_str("Environment=PORT=%i\n");
        self.release_env(&mut unit);
        self.flags_env(&mut unit);
        let _ = writeln!(
            unit,
            "ExecStart=/bin/sh -c {}",
            quote(&self.source.start(&kind.command))
        );
        let limits = &kind.limits;
        if let Some(bytes) = limits.memory {
            let _ = writeln!(unit, "MemoryMax={}", Memory(bytes));
        }
        if let Some(cpu) = limits.cpu {
            let _ = writeln!(unit, "CPUQuota={}", Limits::cpu_percent(cpu));
        }
        if let Some(count) = limits.open_files {
            let _ = writeln!(unit, "LimitNOFILE={count}");
        }
        let restart = kind.restart_policy();
        let _ = write!(
            unit,
            "Restart={restart}\nKillMode=mixed\nKillSignal={}\nTimeoutStopSec={}s\n\n[Install]\nWantedBy={app}.target\n",
            kind.stop_signal,
            seconds(kind.kill_timeout)
        );
        unit
    }

    fn schedule_unit(&self, schedule: &Schedule) -> String {
        format!("{}-schedule-{}", self.source.app, schedule.name)
    }

    /// A scheduled job's service: one run of its command (`exec`: `RuntimeMaxSec=` applies,
    /// which a oneshot ignores), stopped at its `timeout`
    /// (`RuntimeMaxSec=`) with SIGTERM, then SIGKILL after dozen's kill timeout.
    fn schedule_service(&self, schedule: &Schedule) -> String {
        let app = &self.source.app;
        let mut unit = self.source.header("#");
        let _ = write!(
            unit,
            "# Started by {timer}.timer; while it runs, the timer starts no other (concurrency = \"forbid\").\n[Unit]\nDescription={app} schedule {name}\nAfter=network.target{flagd}\n",
            timer = self.schedule_unit(schedule),
            name = schedule.name,
            flagd = self.flags_after(),
        );
        if self.flags_file.is_some() {
            let _ = writeln!(unit, "Wants={}", self.flagd_unit());
        }
        unit.push_str("\n[Service]\nType=exec\n");
        self.service_common(&mut unit);
        let _ = writeln!(unit, "Environment=PORT={}", self.source.base_port);
        self.release_env(&mut unit);
        self.flags_env(&mut unit);
        let _ = writeln!(
            unit,
            "ExecStart=/bin/sh -c {}",
            quote(&self.source.start(&schedule.command))
        );
        if let Some(timeout) = schedule.timeout {
            let _ = writeln!(unit, "RuntimeMaxSec={}s", seconds(timeout).max(1));
        }
        let _ = writeln!(
            unit,
            "KillMode=mixed\nKillSignal=SIGTERM\nTimeoutStopSec={}s",
            seconds(DEFAULT_KILL_TIMEOUT)
        );
        unit
    }

    /// A scheduled job's timer: its cron as calendar events in its zone; `Persistent=` for
    /// fires missed while the machine was off (one catch-up run, as dozen's).
    fn schedule_timer(&self, schedule: &Schedule) -> String {
        let app = &self.source.app;
        let mut unit = self.source.header("#");
        let unit_name = self.schedule_unit(schedule);
        let _ = writeln!(
            unit,
            "# cron \"{}\"{}.",
            schedule.cron_text,
            schedule
                .zone_name
                .as_ref()
                .map_or_else(String::new, |z| format!(" in {z}"))
        );
        if schedule.concurrency != Concurrency::Forbid {
            let _ = writeln!(
                unit,
                "# concurrency = \"{}\" has no systemd equivalent: a timer never starts its service while it runs (forbid).",
                schedule.concurrency.as_str()
            );
        }
        if schedule.starting_deadline.is_some() {
            unit.push_str("# starting_deadline has no systemd equivalent: Persistent=true runs one missed fire however late.\n");
        }
        let _ = write!(
            unit,
            "[Unit]\nDescription={app} schedule {} timer\nPartOf={app}.target\n\n[Timer]\n",
            schedule.name
        );
        let zone = schedule
            .zone_name
            .as_ref()
            .map_or_else(String::new, |z| format!(" {z}"));
        for event in schedule.cron.on_calendar() {
            let _ = writeln!(unit, "OnCalendar={event}{zone}");
        }
        let _ = write!(
            unit,
            "Persistent=true\nAccuracySec=1s\nUnit={unit_name}.service\n\n[Install]\nWantedBy={app}.target\n"
        );
        unit
    }

    /// The app's target: it wants every instance of the formation.
    fn target(&self) -> String {
        let source = self.source;
        let app = &source.app;
        let wants: Vec<String> = source
            .types
            .iter()
            .flat_map(|kind| {
                (1..=kind.count)
                    .map(move |i| format!("{app}-{}@{}.service", kind.name, source.port(kind, i)))
            })
            .chain(
                source
                    .schedules
                    .iter()
                    .map(|s| format!("{}.timer", self.schedule_unit(s))),
            )
            .chain(self.flags_file.as_ref().map(|_| self.flagd_unit()))
            .collect();
        let mut target = source.header("#");
        let _ = write!(
            target,
            "# systemctl enable --now {app}.target starts the formation below.\n[Unit]\nDescription={app}, from {}\n",
            source.origin
        );
        if !wants.is_empty() {
            let _ = writeln!(target, "Wants={}", wants.join(" "));
        }
        target.push_str("\n[Install]\nWantedBy=multi-user.target\n");
        target
    }
}

/// The units for `source`, their env file living in `out` (an absolute directory: units name
/// it). `user`: the `User=` the processes run as.
pub fn export(source: &Source, out: &Path, user: Option<&str>) -> Files {
    let app = &source.app;
    let units = Units {
        source,
        env_file: out.join(format!("{app}.env")),
        flags_file: source
            .flags
            .as_ref()
            .map(|_| out.join(format!("{app}.flags.json"))),
        user,
    };
    let public = |contents| File {
        contents,
        secret: false,
    };
    let mut files = Files::new();
    files.insert(
        format!("{app}.env"),
        File {
            contents: units.env(),
            secret: true,
        },
    );
    if let Some(command) = &source.release_command {
        files.insert(units.release_unit(), public(units.release(command)));
    }
    for kind in &source.types {
        files.insert(
            format!("{app}-{}@.service", kind.name),
            public(units.process(kind)),
        );
    }
    for schedule in &source.schedules {
        let name = units.schedule_unit(schedule);
        files.insert(
            format!("{name}.service"),
            public(units.schedule_service(schedule)),
        );
        files.insert(
            format!("{name}.timer"),
            public(units.schedule_timer(schedule)),
        );
    }
    if let (Some(flags), Some(file)) = (&source.flags, &units.flags_file) {
        // The file as it is (JSON has no comments for a header), installed beside the env file.
        files.insert(format!("{app}.flags.json"), public(flags.text.clone()));
        files.insert(units.flagd_unit(), public(units.flagd(file)));
    }
    files.insert(format!("{app}.target"), public(units.target()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_exec_start_and_env_files() {
        assert_eq!(
            quote("exec python -c \"print('%d' % 1)\" $PORT"),
            r#""exec python -c \"print('%%d' %% 1)\" $$PORT""#
        );
        assert_eq!(env_value("a\"b$c\nd\\"), r#""a\"b\$c\nd\\""#);
    }
}
