//! The platforms' own files: Kubernetes manifests, heroku.yml, render.yaml, app.json,
//! package.json, systemd units, supervisord programs, fly.toml.

use crate::audit::files;
use crate::audit::yaml::Node;

use super::parts::{Declared, PackageScript, Process, Stage};

pub(super) fn process(
    name: &str,
    command: &str,
    stage: Stage,
    declared_by: &'static str,
    path: &str,
    line: usize,
) -> Process {
    Process {
        name: name.to_owned(),
        command: command.trim().to_owned(),
        stage,
        declared_by,
        path: path.to_owned(),
        line,
    }
}
pub(super) fn kubernetes(path: &str, document: &Node, out: &mut Declared) {
    let kind = document.get("kind").and_then(Node::as_str).unwrap_or("");
    let stage = match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Pod" | "ReplicaSet" => Stage::Run,
        "Job" | "CronJob" => Stage::Release,
        _ => return,
    };
    let mut spec = document.get("spec");
    // A CronJob's pods are under jobTemplate, a Deployment's under template.
    for key in ["jobTemplate", "spec", "template", "spec"] {
        if let Some(inner) = spec.and_then(|s| s.get(key)) {
            spec = Some(inner);
        }
    }
    let Some(spec) = spec else { return };
    for container in spec.get("containers").map_or(&[][..], Node::items) {
        let name = container.get("name").and_then(Node::as_str).unwrap_or(kind);
        let command: Vec<String> = ["command", "args"]
            .iter()
            .filter_map(|k| container.get(k).and_then(Node::command))
            .collect();
        let command = if command.is_empty() {
            "(the image's command)".to_owned()
        } else {
            command.join(" ")
        };
        out.processes.push(process(
            name,
            &command,
            stage,
            "Kubernetes manifest",
            path,
            container.line,
        ));
    }
}
pub(super) fn heroku_yml(path: &str, document: &Node, out: &mut Declared) {
    for (name, entry) in document.get("run").map_or(&[][..], Node::entries) {
        let command = entry
            .command()
            .or_else(|| entry.get("command").and_then(Node::command));
        if let Some(command) = command {
            out.processes.push(process(
                name,
                &command,
                Stage::Run,
                "heroku.yml",
                path,
                entry.line,
            ));
        }
    }
    if let Some(release) = document.get("release") {
        if let Some(command) = release.get("command").and_then(Node::command) {
            out.processes.push(process(
                "release",
                &command,
                Stage::Release,
                "heroku.yml",
                path,
                release.line,
            ));
        }
    }
}
pub(super) fn render_yaml(path: &str, document: &Node, out: &mut Declared) {
    for service in document.get("services").map_or(&[][..], Node::items) {
        let name = service
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or("service");
        for (key, stage) in [
            ("startCommand", Stage::Run),
            ("preDeployCommand", Stage::Release),
            ("buildCommand", Stage::Build),
        ] {
            if let Some(command) = service.get(key).and_then(Node::as_str) {
                out.processes.push(process(
                    name,
                    command,
                    stage,
                    "render.yaml",
                    path,
                    service.get(key).map_or(service.line, |n| n.line),
                ));
            }
        }
    }
}
/// The line of the first occurrence of `needle` in `text` (1 when absent).
pub(super) fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}
pub(super) fn app_json(path: &str, text: &str, out: &mut Declared) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if let Some(command) = value["scripts"]["postdeploy"].as_str() {
        out.processes.push(process(
            "postdeploy",
            command,
            Stage::Release,
            "app.json",
            path,
            line_of(text, "\"postdeploy\""),
        ));
    }
}
/// The variables a package.json's scripts assign before a command (`A=1 next build`,
/// `cross-env A=1 vite build`).
pub(super) fn script_variables(text: &str, out: &mut Declared) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let Some(scripts) = value["scripts"].as_object() else {
        return;
    };
    for body in scripts.values().filter_map(serde_json::Value::as_str) {
        for word in body.split_whitespace() {
            let Some((name, _)) = word.split_once('=') else {
                continue;
            };
            let is_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if is_name && !out.script_variables.iter().any(|v| v == name) {
                out.script_variables.push(name.to_owned());
            }
        }
    }
}
pub(super) fn package_json(path: &str, text: &str, out: &mut Declared) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let scripts = &value["scripts"];
    if path == "package.json" {
        if let Some(all) = scripts.as_object() {
            out.package_scripts = all
                .iter()
                .filter_map(|(name, body)| {
                    Some(PackageScript {
                        name: name.clone(),
                        body: body.as_str()?.to_owned(),
                        line: line_of(text, &format!("\"{name}\"")),
                    })
                })
                .collect();
        }
    }
    // What Node buildpacks and `npm start` run, and the build hooks they run.
    for (key, name, stage) in [
        ("start", "web", Stage::Run),
        ("heroku-postbuild", "heroku-postbuild", Stage::Build),
        ("postinstall", "postinstall", Stage::Build),
        ("build", "build", Stage::Build),
    ] {
        if let Some(command) = scripts[key].as_str() {
            out.processes.push(process(
                name,
                command,
                stage,
                "package.json script",
                path,
                line_of(text, &format!("\"{key}\"")),
            ));
        }
    }
}
/// A systemd unit's `ExecStart` (the process) and `ExecStartPre` (what runs before each
/// start), prefixes (`-`, `@`, `+`, `!`) dropped.
pub(super) fn systemd_unit(path: &str, text: &str, out: &mut Declared) {
    let name = files::name(path)
        .trim_end_matches(".service")
        .trim_end_matches('@');
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let (declared_by, command) = if let Some(c) = line.strip_prefix("ExecStartPre=") {
            ("systemd ExecStartPre", c)
        } else if let Some(c) = line.strip_prefix("ExecStart=") {
            ("systemd ExecStart", c)
        } else {
            continue;
        };
        let command = command.trim_start_matches(['-', '@', '+', '!', ':']);
        if !command.is_empty() {
            out.processes.push(process(
                name,
                command,
                Stage::Run,
                declared_by,
                path,
                index + 1,
            ));
        }
    }
}
/// supervisord's programs: each `[program:NAME]` section's `command=`, a process that runs
/// where the config is installed (an image's process manager, a VM's).
pub(super) fn supervisor_programs(path: &str, text: &str, out: &mut Declared) {
    let mut program: Option<&str> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            program = line
                .strip_prefix("[program:")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::trim);
            continue;
        }
        let Some(name) = program else {
            continue;
        };
        let Some((key, command)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "command" && !command.trim().is_empty() {
            out.processes.push(process(
                name,
                command,
                Stage::Run,
                "supervisord program",
                path,
                index + 1,
            ));
        }
    }
}
pub(super) fn fly_toml(path: &str, text: &str, out: &mut Declared) {
    let Ok(value) = text.parse::<toml::Table>() else {
        return;
    };
    if let Some(processes) = value.get("processes").and_then(toml::Value::as_table) {
        for (name, command) in processes {
            if let Some(command) = command.as_str() {
                out.processes.push(process(
                    name,
                    command,
                    Stage::Run,
                    "fly.toml",
                    path,
                    line_of(text, &format!("{name} ")),
                ));
            }
        }
    }
    if let Some(command) = value
        .get("deploy")
        .and_then(|d| d.get("release_command"))
        .and_then(toml::Value::as_str)
    {
        out.processes.push(process(
            "release",
            command,
            Stage::Release,
            "fly.toml",
            path,
            line_of(text, "release_command"),
        ));
    }
}
