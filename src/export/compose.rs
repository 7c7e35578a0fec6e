//! A Compose file: one service per process type with `deploy.replicas`, an env file with the
//! config, health checks, `stop_signal` and `stop_grace_period`, and the release phase as a
//! one-shot service the others wait for. With feature flags, a `flagd` service the others
//! start after and reach at `OFREP_ENDPOINT`.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::flagd::{self, Flags};
use super::yaml::to_yaml;
use super::{ExportType, File, Files, Source, seconds};
use crate::app::limits::{Memory, format_decimal};
use crate::app::manifest::Health;

/// Compose interpolates `$VAR` in the file itself: a literal `$` is written `$$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// A value of the env file: single-quoted (literal) unless it holds a `'`, then double-quoted
/// with `\`, `"` and `$` escaped.
fn env_value(value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `2s`, as Compose durations are written.
fn duration(d: std::time::Duration) -> String {
    format!("{}s", seconds(d))
}

fn healthcheck(health: &Health) -> Value {
    let test = if let Some(path) = &health.http {
        let url = format!("http://127.0.0.1:$${{PORT}}{path}");
        json!([
            "CMD-SHELL",
            format!("wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url}")
        ])
    } else if let Some(command) = &health.command {
        json!(["CMD-SHELL", literal(command)])
    } else {
        json!(["CMD-SHELL", "exec 3<>/dev/tcp/127.0.0.1/$${PORT}"])
    };
    let mut check = Map::new();
    check.insert("test".into(), test);
    if let Some(interval) = health.interval {
        check.insert("interval".into(), json!(duration(interval.0)));
    }
    if let Some(timeout) = health.timeout {
        check.insert("timeout".into(), json!(duration(timeout.0)));
    }
    if let Some(retries) = health.retries {
        check.insert("retries".into(), json!(retries));
    }
    if let Some(grace) = health.grace {
        check.insert("start_period".into(), json!(duration(grace.0)));
    }
    Value::Object(check)
}

fn labels(source: &Source, component: &str) -> Value {
    let mut labels = json!({
        "dozen.dev/app": source.app,
        "dozen.dev/component": component,
        "dozen.dev/generated-from": source.origin,
    });
    if let Some(release) = &source.release {
        labels["dozen.dev/release"] = json!(release);
    }
    labels
}

fn environment(source: &Source, port: Option<u32>) -> Value {
    let mut env = Map::new();
    if let Some(port) = port {
        env.insert("PORT".into(), json!(port.to_string()));
        if source.flags_endpoint() {
            env.insert(
                flagd::ENDPOINT.into(),
                json!(format!("http://flagd:{}", flagd::OFREP_PORT)),
            );
        }
    }
    if let Some(release) = &source.release {
        env.insert("DOZEN_RELEASE".into(), json!(release));
    }
    Value::Object(env)
}

/// flagd serving a copy of the app's flags file, in a directory of its own beside
/// `compose.yaml` (`APP-flags/`), mounted read-only: flagd sees that file and nothing else of
/// the app or the export (not the env file), and reloads it when it is replaced (a mount of
/// the file alone would keep the inode it started with).
fn flagd_service(source: &Source, flags: &Flags) -> Value {
    let file = format!("{}/{}", flagd::MOUNT_DIR, flags.file_name());
    json!({
        "image": flagd::IMAGE,
        "command": Flags::start_args(&file).iter().map(|a| literal(a)).collect::<Vec<_>>(),
        "volumes": [format!("./{}:{}:ro", flags_dir(source), flagd::MOUNT_DIR)],
        "restart": "on-failure",
        "labels": labels(source, "flagd"),
    })
}

/// The directory beside `compose.yaml` holding the copy of the flags file.
fn flags_dir(source: &Source) -> String {
    format!("{}-flags", source.app)
}

/// `web`'s published ports: one host port per replica, consecutive from `host` (dozen's port
/// rule on the host unless given), each to the container's `PORT`.
fn published(source: &Source, kind: &ExportType, host: Option<u16>) -> Value {
    let port = source.port(kind, 1);
    let first = host.map_or(port, u32::from);
    let last = first + kind.count.max(1) - 1;
    if first == last {
        json!([format!("{first}:{port}")])
    } else {
        json!([format!("{first}-{last}:{port}")])
    }
}

fn service(
    source: &Source,
    kind: &ExportType,
    image: &str,
    env_file: &str,
    host: Option<u16>,
) -> Value {
    let port = source.port(kind, 1);
    let mut service = Map::new();
    service.insert("image".into(), json!(image));
    service.insert(
        "command".into(),
        json!(["/bin/sh", "-c", literal(&source.start(&kind.command))]),
    );
    service.insert("env_file".into(), json!([env_file]));
    service.insert("environment".into(), environment(source, Some(port)));
    if kind.name == "web" {
        service.insert("ports".into(), published(source, kind, host));
    }
    let mut deploy = json!({ "replicas": kind.count });
    let mut limits = Map::new();
    if let Some(cpu) = kind.limits.cpu {
        limits.insert("cpus".into(), json!(format_decimal(cpu)));
    }
    if let Some(bytes) = kind.limits.memory {
        limits.insert("memory".into(), json!(Memory(bytes).exact()));
    }
    if !limits.is_empty() {
        deploy["resources"] = json!({ "limits": limits });
    }
    service.insert("deploy".into(), deploy);
    if let Some(count) = kind.limits.open_files {
        service.insert(
            "ulimits".into(),
            json!({ "nofile": { "soft": count, "hard": count } }),
        );
    }
    service.insert("restart".into(), json!(kind.restart_policy()));
    if let Some(health) = &kind.health {
        service.insert("healthcheck".into(), healthcheck(health));
    }
    // The command would be the container's process 1, for which the kernel ignores a
    // signal the process has no handler for: an app that never set one (Flask's development
    // server, a plain Express app) would sit out the grace period at every stop. An init
    // as process 1 (tini, catatonit) passes the stop signal on, as dozen does.
    service.insert("init".into(), json!(true));
    service.insert("stop_signal".into(), json!(kind.stop_signal));
    service.insert(
        "stop_grace_period".into(),
        json!(duration(kind.kill_timeout)),
    );
    let mut depends = Map::new();
    if source.release_command.is_some() {
        depends.insert(
            "release".into(),
            json!({ "condition": "service_completed_successfully" }),
        );
    }
    if source.flags.is_some() {
        // flagd's image has no shell or client for a health check: started is what Compose
        // can wait for (an OpenFeature provider retries until flagd answers).
        depends.insert("flagd".into(), json!({ "condition": "service_started" }));
    }
    if !depends.is_empty() {
        service.insert("depends_on".into(), Value::Object(depends));
    }
    service.insert("labels".into(), labels(source, &kind.name));
    if let Some(address) = source.syslog_address() {
        service.insert(
            "logging".into(),
            json!({
                "driver": "syslog",
                "options": {
                    "syslog-address": address,
                    "syslog-format": "rfc5424micro",
                    "tag": kind.name,
                },
            }),
        );
    }
    Value::Object(service)
}

/// What runs `[schedule.NAME]` jobs beside a Compose app, which has no scheduler.
pub const SCHEDULES_INSTEAD: &str = "run each with the host's scheduler calling `docker compose run --rm SERVICE COMMAND` (a systemd timer: `dozen export systemd` writes one per schedule; or a crontab line), or a scheduler container such as Ofelia";

/// Comment lines naming the schedules a Compose file cannot hold, and what to use instead.
fn schedules_note(source: &Source) -> String {
    if source.schedules.is_empty() {
        return String::new();
    }
    let names: Vec<String> = source
        .schedules
        .iter()
        .map(|s| format!("{} (\"{}\")", s.name, s.cron_text))
        .collect();
    format!(
        "# Schedules: {} are not here, as Compose has no scheduler; {SCHEDULES_INSTEAD}.\n",
        names.join(", ")
    )
}

/// `compose.yaml` and its env file for `source`, running `image`, `web` published from host
/// port `host` (dozen's port rule when `None`); written in `out` (absolute), which paths to the
/// app's files are relative to.
pub fn export(source: &Source, image: &str, host: Option<u16>) -> Files {
    let env_file = format!("{}.env", source.app);
    let mut services = Map::new();
    if let Some(flags) = &source.flags {
        services.insert("flagd".into(), flagd_service(source, flags));
    }
    if let Some(command) = &source.release_command {
        services.insert(
            "release".into(),
            json!({
                "image": image,
                "command": ["/bin/sh", "-c", literal(&source.start(command))],
                "env_file": [env_file],
                "environment": environment(source, None),
                "restart": "no",
                "labels": labels(source, "release"),
            }),
        );
    }
    for kind in &source.types {
        services.insert(
            kind.name.clone(),
            service(source, kind, image, &env_file, host),
        );
    }
    let compose = json!({
        "name": super::kubernetes::object_name(&source.app),
        "services": services,
    });
    let mut env = source.header("#");
    for (key, value) in source.config.iter().filter(|(k, _)| *k != "PORT") {
        let _ = writeln!(env, "{key}={}", env_value(value));
    }
    let mut files = Files::new();
    files.insert(
        "compose.yaml".into(),
        File {
            contents: format!(
                "{}{}{}{}",
                source.header("#"),
                source.logs_note("#", "compose"),
                schedules_note(source),
                to_yaml(&compose)
            ),
            secret: false,
        },
    );
    if let Some(flags) = &source.flags {
        // The file as it is (JSON has no comments for a header).
        files.insert(
            format!("{}/{}", flags_dir(source), flags.file_name()),
            File {
                contents: flags.text.clone(),
                secret: false,
            },
        );
    }
    files.insert(
        env_file,
        File {
            contents: env,
            secret: true,
        },
    );
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_and_interpolation() {
        assert_eq!(env_value("a $b"), "'a $b'");
        assert_eq!(env_value("it's $x"), r#""it's $$x""#);
        assert_eq!(literal("echo $PORT"), "echo $$PORT");
    }
}
