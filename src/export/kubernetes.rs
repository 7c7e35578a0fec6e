//! Kubernetes manifests: a Deployment per process type (replicas from the formation), a
//! Secret with the config, probes from the health checks, a Service for `web`, a
//! `HorizontalPodAutoscaler` per autoscaled type, the release phase as a Job, and a `CronJob`
//! per `[schedule.NAME]`. With feature flags, a `ConfigMap` of their definitions and flagd as
//! a sidecar of every Deployment and `CronJob`. One object per file.

use serde_json::{Map, Value, json};

use super::flagd::{self, Flags};
use super::yaml::to_yaml;
use super::{ExportType, File, Files, Source, seconds};
use crate::app::limits::{Limits, Memory};
use crate::app::manifest::{Autoscale, AutoscaleMetric, Health};
use crate::app::schedule::Schedule;

/// A Kubernetes object name: lowercase letters, digits and `-` (app and type names may hold
/// `_` and capitals, which Kubernetes refuses).
pub fn object_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.trim_matches('-').to_owned()
}

struct Objects<'a> {
    source: &'a Source,
    app: String,
    image: &'a str,
}

impl Objects<'_> {
    fn labels(&self, component: &str) -> Value {
        let mut labels = json!({
            "app.kubernetes.io/name": self.app,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "dozen",
        });
        if let Some(release) = &self.source.release {
            labels["dozen.dev/release"] = json!(release);
        }
        labels
    }

    fn metadata(&self, name: &str, component: &str) -> Value {
        json!({
            "name": name,
            "labels": self.labels(component),
            "annotations": { "dozen.dev/generated-from": self.source.origin },
        })
    }

    fn secret_name(&self) -> String {
        format!("{}-config", self.app)
    }

    fn flags_name(&self) -> String {
        format!("{}-flags", self.app)
    }

    /// The definitions file as a `ConfigMap`, its text exactly, under `flags.json`.
    fn flags_config_map(&self, flags: &Flags) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(&self.flags_name(), "flags"),
            "data": { "flags.json": flags.text },
        })
    }

    /// flagd beside the app's containers in a pod `spec`, and `OFREP_ENDPOINT` in each of
    /// them: a native sidecar (an init container that keeps running), started and ready
    /// (`/readyz`: the definitions read) before the app's containers, stopped after them, and
    /// no obstacle to a Job's completion. It reads the `ConfigMap` as a volume, which the
    /// kubelet updates in place (flagd watches the file), unlike environment or `subPath`.
    fn add_flagd(&self, spec: &mut Value) {
        if self.source.flags.is_none() {
            return;
        }
        let endpoint = format!("http://localhost:{}", flagd::OFREP_PORT);
        for container in spec["containers"].as_array_mut().into_iter().flatten() {
            if let Some(env) = container["env"].as_array_mut()
                && self.source.flags_endpoint()
            {
                env.push(json!({ "name": flagd::ENDPOINT, "value": endpoint }));
            }
        }
        let ready = json!({ "path": "/readyz", "port": flagd::MANAGEMENT_PORT });
        spec["initContainers"] = json!([{
            "name": "flagd",
            "image": flagd::IMAGE,
            "args": Flags::start_args(&format!("{}/flags.json", flagd::MOUNT_DIR)),
            "restartPolicy": "Always",
            "ports": [
                { "name": "ofrep", "containerPort": flagd::OFREP_PORT },
                { "name": "flagd-manage", "containerPort": flagd::MANAGEMENT_PORT },
            ],
            "startupProbe": { "httpGet": ready, "periodSeconds": 1, "failureThreshold": 30 },
            "readinessProbe": { "httpGet": ready },
            "livenessProbe": {
                "httpGet": { "path": "/healthz", "port": flagd::MANAGEMENT_PORT },
            },
            "volumeMounts": [{ "name": "flags", "mountPath": flagd::MOUNT_DIR, "readOnly": true }],
        }]);
        spec["volumes"] = json!([{
            "name": "flags",
            "configMap": { "name": self.flags_name() },
        }]);
    }

    /// The container's environment beside the Secret: `PORT` and `DOZEN_RELEASE`.
    fn env(&self, port: Option<u32>) -> Value {
        let mut env = Vec::new();
        if let Some(port) = port {
            env.push(json!({ "name": "PORT", "value": port.to_string() }));
        }
        if let Some(release) = &self.source.release {
            env.push(json!({ "name": "DOZEN_RELEASE", "value": release }));
        }
        Value::Array(env)
    }

    fn container(&self, name: &str, command: &str, port: Option<u32>) -> Map<String, Value> {
        let mut container = Map::new();
        container.insert("name".into(), json!(name));
        container.insert("image".into(), json!(self.image));
        container.insert(
            "command".into(),
            json!(["/bin/sh", "-c", self.source.start(command)]),
        );
        container.insert(
            "envFrom".into(),
            json!([{ "secretRef": { "name": self.secret_name() } }]),
        );
        container.insert("env".into(), self.env(port));
        container
    }

    /// The config as `stringData`: the API server encodes it; the file says the values as
    /// they are (it is written 0600, as the env files are).
    fn secret(&self) -> Value {
        let data: Map<String, Value> = self
            .source
            .config
            .iter()
            .filter(|(k, _)| *k != "PORT")
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(&self.secret_name(), "config"),
            "type": "Opaque",
            "stringData": data,
        })
    }

    fn deployment(&self, kind: &ExportType) -> Value {
        let component = object_name(&kind.name);
        let name = format!("{}-{component}", self.app);
        let port = self.source.port(kind, 1);
        let serves = kind.name == "web"
            || kind
                .health
                .as_ref()
                .is_some_and(|h| h.http.is_some() || h.tcp == Some(true));
        let mut container = self.container(&component, &kind.command, Some(port));
        if serves {
            container.insert(
                "ports".into(),
                json!([{ "name": "http", "containerPort": port }]),
            );
        }
        if let Some(health) = &kind.health {
            let (readiness, liveness) = probes(health, port);
            container.insert("readinessProbe".into(), readiness);
            container.insert("livenessProbe".into(), liveness);
        }
        if let Some(resources) = resources(&kind.limits) {
            container.insert("resources".into(), resources);
        }
        let selector = json!({
            "app.kubernetes.io/name": self.app,
            "app.kubernetes.io/component": component,
        });
        let mut deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(&name, &component),
            "spec": {
                "replicas": kind.count,
                "selector": { "matchLabels": selector },
                "template": {
                    "metadata": { "labels": self.labels(&component) },
                    "spec": {
                        "terminationGracePeriodSeconds": seconds(kind.kill_timeout),
                        "containers": [Value::Object(container)],
                    },
                },
            },
        });
        self.add_flagd(&mut deployment["spec"]["template"]["spec"]);
        if kind.autoscale.is_some() {
            // Its `HorizontalPodAutoscaler` owns the count: a `replicas` here would reset it at
            // every `kubectl apply` (as Kubernetes' documentation warns).
            deployment["spec"]
                .as_object_mut()
                .expect("an object")
                .remove("replicas");
        }
        deployment
    }

    /// An `autoscaling/v2` `HorizontalPodAutoscaler` for an autoscaled type. dozen measures at
    /// its router; in Kubernetes the same per-pod metric comes from a custom metrics adapter
    /// (e.g. prometheus-adapter over the ingress controller's or the app's request metrics),
    /// named in an annotation: there is no built-in source of requests per pod.
    fn autoscaler(&self, kind: &ExportType, autoscale: &Autoscale) -> Value {
        let component = object_name(&kind.name);
        let name = format!("{}-{component}", self.app);
        let target = json!({ "type": "AverageValue", "averageValue": quantity(autoscale.target) });
        let (metric, source) = match autoscale.metric {
            AutoscaleMetric::InFlight | AutoscaleMetric::Rps => {
                let metric = if autoscale.metric == AutoscaleMetric::InFlight {
                    "http_requests_in_flight"
                } else {
                    "http_requests_per_second"
                };
                (
                    json!({ "type": "Pods", "pods": { "metric": { "name": metric }, "target": target } }),
                    format!(
                        "a custom metrics adapter serving the Pods metric {metric} (dozen measured it at its router)"
                    ),
                )
            }
            AutoscaleMetric::Command => {
                // A queue's length is no pod's: an External metric, per pod as in dozen.
                let metric =
                    format!("{}_{}_autoscale", object_name(&self.app), component).replace('-', "_");
                (
                    json!({ "type": "External", "external": { "metric": { "name": metric }, "target": target } }),
                    format!(
                        "an external metrics adapter (KEDA, prometheus-adapter) serving {metric} as what `{}` prints (dozen ran the command)",
                        autoscale.command.as_deref().unwrap_or_default()
                    ),
                )
            }
        };
        let window = autoscale
            .scale_down_window
            .map_or(300, |d| seconds(d.0).min(3600));
        let mut metadata = self.metadata(&name, &component);
        metadata["annotations"]["dozen.dev/metric-source"] = json!(source);
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata,
            "spec": {
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": name },
                "minReplicas": autoscale.min,
                "maxReplicas": autoscale.max,
                "metrics": [metric],
                "behavior": { "scaleDown": { "stabilizationWindowSeconds": window } },
            },
        })
    }

    fn service(&self, kind: &ExportType) -> Value {
        let component = object_name(&kind.name);
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(&format!("{}-{component}", self.app), &component),
            "spec": {
                "selector": {
                    "app.kubernetes.io/name": self.app,
                    "app.kubernetes.io/component": component,
                },
                "ports": [{ "name": "http", "port": self.source.port(kind, 1), "targetPort": "http" }],
            },
        })
    }

    fn job(&self, command: &str) -> Value {
        let name = match &self.source.release {
            Some(release) => format!("{}-release-{}", self.app, object_name(release)),
            None => format!("{}-release", self.app),
        };
        let container = self.container("release", command, None);
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": self.metadata(&name, "release"),
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": { "labels": self.labels("release") },
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [Value::Object(container)],
                    },
                },
            },
        })
    }
}

impl Objects<'_> {
    /// A `[schedule.NAME]` job as a `CronJob`: its cron (five fields: a seconds field that is
    /// not `0` was refused before), zone, concurrency policy, starting deadline, and its
    /// timeout as the Job's `activeDeadlineSeconds`. `None` for a cron Kubernetes cannot take.
    fn cron_job(&self, schedule: &Schedule) -> Option<Value> {
        let component = format!("schedule-{}", object_name(&schedule.name));
        let mut container = self.container(
            &component,
            &schedule.command,
            Some(u32::from(self.source.base_port)),
        );
        container.insert("name".into(), json!(component));
        let mut job = json!({
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": self.labels(&component) },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [Value::Object(container)],
                },
            },
        });
        self.add_flagd(&mut job["template"]["spec"]);
        if let Some(timeout) = schedule.timeout {
            job["activeDeadlineSeconds"] = json!(seconds(timeout).max(1));
        }
        let mut spec = json!({
            "schedule": schedule.cron.five_fields(&schedule.cron_text)?,
            "concurrencyPolicy": schedule.concurrency.kubernetes(),
            "jobTemplate": { "spec": job },
        });
        if let Some(zone) = &schedule.zone_name {
            spec["timeZone"] = json!(zone);
        }
        if let Some(deadline) = schedule.starting_deadline {
            spec["startingDeadlineSeconds"] = json!(seconds(deadline).max(1));
        }
        Some(json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": self.metadata(&format!("{}-{component}", self.app), &component),
            "spec": spec,
        }))
    }
}

/// Readiness and liveness probes from a health check (liveness waits out its `grace`).
fn probes(health: &Health, port: u32) -> (Value, Value) {
    let mut probe = Map::new();
    if let Some(path) = &health.http {
        probe.insert("httpGet".into(), json!({ "path": path, "port": port }));
    } else if let Some(command) = &health.command {
        probe.insert(
            "exec".into(),
            json!({ "command": ["/bin/sh", "-c", command] }),
        );
    } else {
        probe.insert("tcpSocket".into(), json!({ "port": port }));
    }
    if let Some(interval) = health.interval {
        probe.insert("periodSeconds".into(), json!(seconds(interval.0)));
    }
    if let Some(timeout) = health.timeout {
        probe.insert("timeoutSeconds".into(), json!(seconds(timeout.0)));
    }
    if let Some(retries) = health.retries {
        probe.insert("failureThreshold".into(), json!(retries.max(1)));
    }
    let readiness = Value::Object(probe.clone());
    if let Some(grace) = health.grace {
        probe.insert("initialDelaySeconds".into(), json!(seconds(grace.0)));
    }
    (readiness, Value::Object(probe))
}

/// A type's `memory` and `cpu` as `resources`, requests equal to limits: what `dozen run`
/// holds an instance to is what the scheduler reserves for it (a pod whose containers all
/// have both gets the `Guaranteed` quality-of-service class, last to be evicted).
/// `open_files` has no field here: the container runtime's default applies.
fn resources(limits: &Limits) -> Option<Value> {
    let mut amounts = Map::new();
    if let Some(bytes) = limits.memory {
        amounts.insert("memory".into(), json!(binary_quantity(bytes)));
    }
    if let Some(cpu) = limits.cpu {
        amounts.insert("cpu".into(), json!(quantity(cpu)));
    }
    (!amounts.is_empty()).then(|| json!({ "limits": amounts, "requests": amounts }))
}

/// Bytes as a Kubernetes quantity in the largest binary unit that divides them (`512Mi`).
fn binary_quantity(bytes: u64) -> String {
    let exact = Memory(bytes).exact();
    if exact.ends_with(|c: char| c.is_ascii_digit()) {
        exact
    } else {
        format!("{exact}i")
    }
}

/// A number as a Kubernetes quantity: `10`, or in thousandths (`2500m`) when it has a
/// fraction.
fn quantity(value: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let thousandths = (value * 1000.0).round() as i64;
    if thousandths % 1000 == 0 {
        (thousandths / 1000).to_string()
    } else {
        format!("{thousandths}m")
    }
}

/// The manifests for `source`, running `image`.
pub fn export(source: &Source, image: &str) -> Files {
    let objects = Objects {
        source,
        app: object_name(&source.app),
        image,
    };
    let mut files = Files::new();
    let mut add = |name: String, value: &Value, secret: bool| {
        let note = if value["kind"] == "Deployment" {
            source.logs_note("#", "kubernetes")
        } else {
            String::new()
        };
        let contents = format!("{}{note}{}", source.header("#"), to_yaml(value));
        files.insert(name, File { contents, secret });
    };
    let app = &objects.app;
    add(format!("{app}-config.secret.yaml"), &objects.secret(), true);
    if let Some(flags) = &source.flags {
        add(
            format!("{app}-flags.configmap.yaml"),
            &objects.flags_config_map(flags),
            false,
        );
    }
    for kind in &source.types {
        let component = object_name(&kind.name);
        add(
            format!("{app}-{component}.deployment.yaml"),
            &objects.deployment(kind),
            false,
        );
        if kind.name == "web" {
            add(
                format!("{app}-{component}.service.yaml"),
                &objects.service(kind),
                false,
            );
        }
        if let Some(autoscale) = &kind.autoscale {
            add(
                format!("{app}-{component}.hpa.yaml"),
                &objects.autoscaler(kind, autoscale),
                false,
            );
        }
    }
    if let Some(command) = &source.release_command {
        add(
            format!("{app}-release.job.yaml"),
            &objects.job(command),
            false,
        );
    }
    for schedule in &source.schedules {
        if let Some(cron_job) = objects.cron_job(schedule) {
            let name = object_name(&schedule.name);
            add(
                format!("{app}-schedule-{name}.cronjob.yaml"),
                &cron_job,
                false,
            );
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_or_in_thousandths() {
        assert_eq!(quantity(10.0), "10");
        assert_eq!(quantity(2.5), "2500m");
        assert_eq!(quantity(0.125), "125m");
    }

    #[test]
    fn names() {
        assert_eq!(object_name("My_App"), "my-app");
        assert_eq!(object_name("WEB"), object_name("web"));
    }
}
