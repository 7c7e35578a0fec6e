//! systemd units: a target for the app, a template unit per process type (instances named by
//! port, as foreman's exporter does: `app-web@5000.service`), the release phase as a oneshot
//! unit ordered before them, and an `EnvironmentFile` with the config (mode 0600).

use std::fmt::Write as _;
use std::path::Path;

use super::{ExportType, File, Files, Source, seconds};
use crate::app::limits::{Limits, Memory};

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
        if self.source.release_command.is_some() {
            let release = self.release_unit();
            let _ = writeln!(unit, "After=network.target {release}\nRequires={release}");
        } else {
            unit.push_str("After=network.target\n");
        }
        unit.push_str("\n[Service]\nType=simple\n");
        self.service_common(&mut unit);
        unit.push_str("Environment=PORT=%i\n");
        self.release_env(&mut unit);
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
