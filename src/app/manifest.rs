//! `dozen.toml`: the optional manifest. Every key is optional; unknown keys are errors with
//! their location and a "did you mean".

use std::ops::Range;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::duration::Duration;
use super::signal::Signal;
use crate::logs::url::DrainUrl;

mod validate;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Source;

pub const FILE_NAME: &str = "dozen.toml";

/// The most instances of one type: the port rule gives each type a block of 100 ports.
pub const MAX_INSTANCES: u32 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub app: AppSection,
    #[serde(default)]
    pub build: BuildSection,
    #[serde(default)]
    pub requires: RequiresSection,
    #[serde(default)]
    pub env: EnvSection,
    #[serde(default)]
    pub environments: IndexMap<Spanned<String>, EnvironmentSpec>,
    #[serde(default)]
    pub formation: IndexMap<Spanned<String>, Spanned<u32>>,
    #[serde(default)]
    pub processes: IndexMap<Spanned<String>, ProcessSettings>,
    #[serde(default)]
    pub tasks: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub audit: AuditSection,
    #[serde(default)]
    pub router: RouterSection,
    #[serde(default)]
    pub deploy: DeploySection,
    #[serde(default)]
    pub logs: LogsSection,
    #[serde(default)]
    pub image: ImageSection,
    /// `[schedule.NAME]`: jobs `dozen run` starts on a cron schedule (README "Scheduled jobs").
    #[serde(default)]
    pub schedule: IndexMap<Spanned<String>, Spanned<ScheduleSettings>>,
    /// `[flags]`: the feature flags `dozen run` serves over OFREP (docs/flags.md).
    #[serde(default)]
    pub flags: super::flags_section::FlagsSection,
}

/// `[schedule.NAME]`: a command or task run as a one-off on a cron schedule.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// A command line, run as a Procfile command is (`sh -c`, `.profile.d` first).
    pub command: Option<Spanned<String>>,
    /// A `[tasks]` entry or a Procfile type, as `dozen exec TASK` resolves it.
    pub task: Option<Spanned<String>>,
    /// Five fields (six with seconds first), or `@hourly`-style aliases.
    pub cron: Option<Spanned<String>>,
    /// An IANA zone (`Europe/Paris`) [default: the machine's].
    pub timezone: Option<Spanned<String>>,
    /// When a fire comes while a run is still going [default: forbid].
    pub concurrency: Option<super::concurrency::Concurrency>,
    /// A run still going after this is stopped (SIGTERM, SIGKILL after the kill timeout).
    pub timeout: Option<Spanned<Duration>>,
    /// How late a missed fire may still run (one catch-up run for any number missed)
    /// [default: no limit].
    pub starting_deadline: Option<Spanned<Duration>>,
}

/// `[image]`: how `dozen image` lays a release into an OCI image (docs/image.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSection {
    /// The base: `debian:12-slim`, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
    /// `docker-archive:FILE`; it must have `/bin/sh`, which runs the command.
    pub base: Option<Spanned<String>>,
    /// Where the build tree goes in the image [default: /app].
    pub workdir: Option<Spanned<String>>,
    /// The user the processes run as: `NAME`, `UID` or `UID:GID` [default: the base's].
    pub user: Option<Spanned<String>>,
}

/// `[logs]`: the formation's stream beyond the terminal (docs/logs.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    /// Lines the ring buffer of `dozen logs` keeps [default: 10000; 0 keeps none].
    pub buffer_lines: Option<Spanned<u32>>,
    /// Bytes it keeps at most [default: 8388608, 8 MiB].
    pub buffer_bytes: Option<Spanned<u64>>,
    /// Lines each drain may hold before it drops its oldest [default: 50000; at most 32 MiB].
    pub drain_queue: Option<Spanned<u32>>,
    /// How long the drains get at the end of a run to send what they hold [default: 2s].
    pub flush_timeout: Option<Duration>,
    /// Drain URLs; `${NAME}` takes a part from the app's config (a token stays out of git).
    #[serde(default)]
    pub drains: Vec<Spanned<String>>,
}

/// What is wrong with a `${NAME}` part of a drain URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainVarError {
    /// `${` with no `}` after it.
    #[error("`${{` without its closing `}}`")]
    Unclosed,
    /// `${…}` around something that cannot be a variable's name.
    #[error("`${{{0}}}` is not a config variable's name")]
    NotAName(String),
    /// A name the config does not define.
    #[error("the config has no `{0}` for a drain URL")]
    Missing(String),
}

/// Why a drain of `[logs] drains` cannot be used: its `${NAME}` parts, or the URL they make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    /// A `${NAME}` part cannot be filled in.
    #[error(transparent)]
    Var(#[from] DrainVarError),
    /// The URL, filled in, is not a drain's (said with `${NAME}` for every value).
    #[error("{0}")]
    Url(String),
}

/// What stands in for a `${NAME}` whose value is not known when a drain is checked: a host
/// label, a user and a path segment alike, and no word an error says (an error shows
/// `${NAME}` in its place).
pub const DRAIN_PLACEHOLDER: &str = "dozen-placeholder";

/// A drain's shape whatever its `${NAME}` parts turn out to be: its URL filled with
/// placeholders — a word, then a number (a `${NAME}` may be a port) — parses with one of
/// them; else the error of the first.
pub fn drain_shape(text: &str) -> Result<(), DrainError> {
    let word = LogsSection::drain_url(text, &|_| Some(DRAIN_PLACEHOLDER.to_owned()));
    match word {
        Ok(_) => Ok(()),
        Err(problem) => LogsSection::drain_url(text, &|_| Some("1".to_owned()))
            .map(|_| ())
            .map_err(|_| problem),
    }
}

/// The most lines or bytes `[logs]` may ask the ring buffer to hold.
pub const MAX_BUFFER_LINES: u32 = 1_000_000;
pub const MAX_BUFFER_BYTES: u64 = 1 << 30;

impl LogsSection {
    /// A drain URL with its `${NAME}` parts taken from `lookup`; the name of a missing one is
    /// the error.
    pub fn interpolate(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, DrainVarError> {
        Self::interpolate_named(text, lookup).map(|(out, _)| out)
    }

    /// [`LogsSection::interpolate`], and each `NAME` with the value it took.
    fn interpolate_named(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, Vec<(String, String)>), DrainVarError> {
        let mut out = String::new();
        let mut named = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(DrainVarError::Unclosed)?;
            let name = &after[..end];
            if !super::env_file::is_valid_key(name) {
                return Err(DrainVarError::NotAName(name.to_owned()));
            }
            let value = lookup(name).ok_or_else(|| DrainVarError::Missing(name.to_owned()))?;
            out.push_str(&value);
            named.push((name.to_owned(), value));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok((out, named))
    }

    /// A drain as written in `[logs] drains`, its `${NAME}` parts taken from `lookup`, parsed.
    /// No value it was filled with is ever printed: not in its error, not in the URL shown.
    pub fn drain_url(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DrainUrl, DrainError> {
        let (filled, named) = Self::interpolate_named(text, lookup)?;
        match DrainUrl::parse(&filled) {
            Ok(url) => Ok(url.with_values_named(named)),
            Err(problem) => {
                let mut named = named;
                named.sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
                Err(DrainError::Url(crate::logs::url::scrub(
                    &problem.to_string(),
                    &named,
                )))
            }
        }
    }
}

/// `[deploy]`: how a running formation moves onto a new release (docs/deploy.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySection {
    /// `rolling` (default) or `blue-green`.
    pub strategy: Option<super::strategy::Strategy>,
    /// Blue-green: how long the old side stays, idle, after the switch [default: 5m].
    pub keep_old: Option<Duration>,
    /// Blue-green: a command run (`sh -c`, the new release's environment, `ROUTER` the
    /// router's address) against the new side before the switch; exit 0 passes.
    pub smoke: Option<Spanned<String>>,
    /// Blue-green: how long the smoke test may take [default: 30s].
    pub smoke_timeout: Option<Duration>,
    /// Canary: its share at each step, in percent [default: [10, 25, 50]].
    pub steps: Option<Spanned<Vec<u32>>>,
    /// Canary: how long each step lasts [default: 30s].
    pub interval: Option<Duration>,
    /// Canary: its instances before promotion [default: 1].
    pub canary_instances: Option<Spanned<u32>>,
    /// Canary: the highest error rate it may have, in percent [default: 1].
    pub max_error_rate: Option<Spanned<f64>>,
    /// Canary: how far above the stable side's error rate, in percentage points [default: 0.5].
    pub max_error_rate_increase: Option<Spanned<f64>>,
    /// Canary: the highest p99 service time it may have [default: none].
    pub max_p99: Option<Duration>,
    /// Canary: how many times the stable side's p99 [default: 1.5].
    pub max_p99_ratio: Option<Spanned<f64>>,
    /// Canary: requests it must serve in a step to be judged [default: 20].
    pub min_requests: Option<u64>,
    /// Keeps a client on one side while a deploy has two: `cookie`, or `header:NAME` (the
    /// header's value hashed against the weight) [default: each request by weight].
    pub sticky: Option<Spanned<String>>,
}

/// A `[deploy] sticky` that is neither `cookie` nor `header:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sticky `{0}`: write \"cookie\" or \"header:NAME\"")]
pub struct InvalidSticky(pub String);

/// `[deploy] sticky`: how a client stays on one side of a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    Cookie,
    /// A header's name, lower-case.
    Header(String),
}

impl DeploySection {
    /// `sticky`, read: `cookie`, or `header:NAME` with a header name's characters (RFC
    /// 9110 tokens).
    pub fn sticky(&self) -> Result<Option<Sticky>, InvalidSticky> {
        let Some(sticky) = &self.sticky else {
            return Ok(None);
        };
        let text = sticky.get_ref();
        if text == "cookie" {
            return Ok(Some(Sticky::Cookie));
        }
        text.strip_prefix("header:")
            .map(str::trim)
            .filter(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            })
            .map(|name| Some(Sticky::Header(name.to_ascii_lowercase())))
            .ok_or_else(|| InvalidSticky(text.clone()))
    }

    /// What the types alone do not check.
    fn validate(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        if let Some(steps) = &self.steps {
            let list = steps.get_ref();
            let rising = list.windows(2).all(|w| w[0] < w[1]);
            if list.is_empty() || !rising || list.iter().any(|&p| p == 0 || p > 100) {
                error(
                    steps.span(),
                    "canary steps are percentages that rise, each from 1 to 100: steps = [10, 25, 50]"
                        .into(),
                );
            }
        }
        if let Some(smoke) = &self.smoke
            && smoke.get_ref().trim().is_empty()
        {
            error(smoke.span(), "empty smoke command".into());
        }
        if let Some(n) = &self.canary_instances
            && *n.get_ref() == 0
        {
            error(n.span(), "canary_instances must be at least 1".into());
        }
        for rate in [&self.max_error_rate, &self.max_error_rate_increase]
            .into_iter()
            .flatten()
        {
            let value = *rate.get_ref();
            if !(0.0..=100.0).contains(&value) {
                error(
                    rate.span(),
                    "an error rate is a percentage, 0 to 100".into(),
                );
            }
        }
        if let Some(ratio) = &self.max_p99_ratio
            && !(ratio.get_ref().is_finite() && *ratio.get_ref() >= 1.0)
        {
            error(ratio.span(), "max_p99_ratio must be at least 1".into());
        }
        if let Some(sticky) = &self.sticky
            && let Err(problem) = self.sticky()
        {
            error(sticky.span(), problem.to_string());
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    pub name: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSection {
    #[serde(default)]
    pub steps: Vec<Spanned<String>>,
    #[serde(default)]
    pub cache: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: IndexMap<Spanned<String>, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiresSection {
    #[serde(default)]
    pub tools: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// Inherited names (`*` wildcards) passed through at `dozen run`.
    #[serde(default)]
    pub inherit: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    pub files: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSettings {
    /// None: the app does not say (`dozen run`: no restart; exports: `on-failure`).
    pub restart: Option<Restart>,
    #[serde(default)]
    pub may_exit: bool,
    pub stop_signal: Option<Signal>,
    pub kill_timeout: Option<Duration>,
    /// The first restart's delay; each next one doubles, up to 30 s (default 1 s).
    pub restart_delay: Option<Duration>,
    /// Restarts in a row, without 30 s of stable running between them, before giving up
    /// (default 5).
    pub max_restarts: Option<u32>,
    #[serde(default)]
    pub after: Vec<Spanned<String>>,
    pub health: Option<Spanned<Health>>,
    /// Give the process a pseudo-terminal as stdout and stderr (for programs that buffer
    /// or stay silent when not on a terminal). Its stdout and stderr then merge.
    #[serde(default)]
    pub tty: bool,
    /// Instances by the load the router measures (docs/deploy.md).
    pub autoscale: Option<Spanned<Autoscale>>,
    /// `dozen run --dev --watch`: the paths whose changes restart the type (globs relative to
    /// the app directory, a directory for all under it), or `false` for none [default: the
    /// app directory].
    pub watch: Option<Spanned<Watch>>,
    /// Resident memory per instance (`"512M"`; K, M, G are 1024-based): a cgroup's
    /// `memory.max` where one is delegated, else watched as Heroku does (R14, R15).
    pub memory: Option<Spanned<super::limits::Memory>>,
    /// CPUs per instance (0.5 is half of one): capped only through a cgroup.
    pub cpu: Option<Spanned<f64>>,
    /// Open files per instance (`RLIMIT_NOFILE`).
    pub open_files: Option<Spanned<i64>>,
}

impl ProcessSettings {
    /// The type's limits, as validated.
    pub fn limits(&self) -> super::limits::Limits {
        super::limits::Limits {
            memory: self.memory.as_ref().map(|m| m.get_ref().0),
            cpu: self.cpu.as_ref().map(|c| *c.get_ref()),
            open_files: self
                .open_files
                .as_ref()
                .and_then(|n| u64::try_from(*n.get_ref()).ok()),
        }
    }
}

/// `watch = false` or `watch = ["app/**/*.py", "templates/"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    On(bool),
    Paths(Vec<String>),
}

impl<'de> Deserialize<'de> for Watch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Watch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("false, or a list of paths such as [\"app/**/*.py\", \"templates/\"]")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Watch, E> {
                Ok(Watch::On(on))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Watch, A::Error> {
                let seq = serde::de::value::SeqAccessDeserializer::new(seq);
                Vec::deserialize(seq).map(Watch::Paths)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `autoscale = { min = 1, max = 8, target = 10, metric = "in-flight" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// The metric's value per instance to keep.
    pub target: f64,
    #[serde(default)]
    pub metric: AutoscaleMetric,
    /// A scale-down waits until no recommendation of this window asked for more [default: 5m].
    pub scale_down_window: Option<Duration>,
    /// `metric = "command"`: prints the number to keep at `target` per instance (a queue's
    /// length), run with `sh -c` in the app's environment.
    pub command: Option<String>,
    /// `metric = "command"`: how often it runs [default: 5s].
    pub interval: Option<Duration>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoscaleMetric {
    /// Requests in progress per instance.
    #[default]
    InFlight,
    /// Requests per second per instance.
    Rps,
    /// The number `command` prints, per instance.
    Command,
}

/// What is wrong with an `autoscale` table beyond its types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoscaleError {
    /// `min = 0`.
    #[error("autoscale min must be at least 1")]
    MinZero,
    /// `max` below `min`.
    #[error("autoscale max ({max}) is below its min ({min})")]
    MaxBelowMin { max: u32, min: u32 },
    /// `max` above [`MAX_INSTANCES`].
    #[error("autoscale max ({0}): at most {max} per type", max = MAX_INSTANCES)]
    MaxTooHigh(u32),
    /// `target` not a number above 0.
    #[error("autoscale target must be a number above 0")]
    TargetNotPositive,
    /// `metric = "command"` without a `command`.
    #[error("autoscale metric \"command\" needs a command that prints the number")]
    NoCommand,
    /// A blank `command`.
    #[error("autoscale command is empty")]
    EmptyCommand,
    /// A `command` for a metric the router measures.
    #[error("autoscale command is for metric = \"command\"; the router measures in-flight and rps")]
    CommandForRouterMetric,
    /// An `interval` for a metric the router measures.
    #[error("autoscale interval is for metric = \"command\"; the router measures every second")]
    IntervalForRouterMetric,
}

impl Autoscale {
    /// What the types alone do not check.
    fn check(&self) -> Result<(), AutoscaleError> {
        if self.min == 0 {
            return Err(AutoscaleError::MinZero);
        }
        if self.max < self.min {
            return Err(AutoscaleError::MaxBelowMin {
                max: self.max,
                min: self.min,
            });
        }
        if self.max > MAX_INSTANCES {
            return Err(AutoscaleError::MaxTooHigh(self.max));
        }
        if !(self.target.is_finite() && self.target > 0.0) {
            return Err(AutoscaleError::TargetNotPositive);
        }
        match (self.metric, &self.command) {
            (AutoscaleMetric::Command, None) => return Err(AutoscaleError::NoCommand),
            (AutoscaleMetric::Command, Some(command)) if command.trim().is_empty() => {
                return Err(AutoscaleError::EmptyCommand);
            }
            (AutoscaleMetric::InFlight | AutoscaleMetric::Rps, Some(_)) => {
                return Err(AutoscaleError::CommandForRouterMetric);
            }
            _ => {}
        }
        if self.interval.is_some() && self.metric != AutoscaleMetric::Command {
            return Err(AutoscaleError::IntervalForRouterMetric);
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    No,
    OnFailure,
    Always,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub http: Option<String>,
    pub tcp: Option<bool>,
    pub command: Option<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub grace: Option<Duration>,
    pub retries: Option<u32>,
}

/// `[router]`: dozen's HTTP router in front of `web` (docs/router.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    /// `dozen run` starts the router without `--router`.
    #[serde(default)]
    pub enabled: bool,
    /// `8080` (on loopback) or `HOST:PORT` [default: 127.0.0.1 and the base port].
    pub listen: Option<Spanned<String>>,
    /// The process type it fronts [default: `web`].
    #[serde(rename = "type")]
    pub routed: Option<Spanned<String>>,
    /// Connecting to an instance.
    pub connect_timeout: Option<Duration>,
    /// From the request sent to the response's head (504 after it).
    pub timeout: Option<Duration>,
    /// How long a request waits for a ready instance (503 after it).
    pub queue_timeout: Option<Duration>,
    /// Reading a request's head, from its first byte (slowloris).
    pub header_timeout: Option<Duration>,
    /// A kept-alive client connection with no request in progress (`idle_timeout` is the
    /// name it had first).
    #[serde(alias = "idle_timeout")]
    pub keepalive_timeout: Option<Duration>,
    /// Client connections at once.
    pub max_connections: Option<Spanned<u32>>,
    /// `requests` (a line per request) or `errors` (only the router's errors) [default:
    /// `requests`, `errors` with `--dev`, where the app's own server logs each request].
    pub log: Option<RouterLog>,
    /// `least-outstanding` (default) or `round-robin`.
    pub balance: Option<Balance>,
    /// Where the metrics are served in the Prometheus text format (`9102` on loopback, or
    /// `HOST:PORT`) [default: off].
    pub metrics: Option<Spanned<String>>,
    /// Proxies in front of the router whose forwarding headers are kept (`10.0.0.0/8`,
    /// `127.0.0.1`): their `X-Forwarded-Proto`, `-Host`, `-Port` and `Forwarded`.
    #[serde(default)]
    pub trusted_proxies: Vec<Spanned<String>>,
    /// HTTPS at `listen`: `{ cert, key }` (PEM files, relative to the app), or a list of them
    /// chosen by the name a client asks (SNI).
    pub tls: Option<Spanned<TlsFiles>>,
    /// A plain-HTTP listener beside the HTTPS one (`80`, or `HOST:PORT`).
    pub http_listen: Option<Spanned<String>>,
    /// Its answers are redirects to HTTPS (308) rather than the app ([`Self::redirects`]).
    pub http_redirect: Option<Spanned<bool>>,
    /// `Strict-Transport-Security` on HTTPS responses: `true` (one year) or the header's value.
    pub hsts: Option<Spanned<Hsts>>,
}

impl RouterSection {
    /// Whether the plain-HTTP listener redirects to HTTPS (`http_redirect = true`).
    pub fn redirects(&self) -> bool {
        self.http_redirect.as_ref().is_some_and(|r| *r.get_ref())
    }
}

/// `[router] tls`: one certificate, or several.
#[derive(Debug, Clone)]
pub enum TlsFiles {
    One(TlsPair),
    Several(Vec<TlsPair>),
}

impl TlsFiles {
    pub fn pairs(&self) -> &[TlsPair] {
        match self {
            Self::One(pair) => std::slice::from_ref(pair),
            Self::Several(pairs) => pairs,
        }
    }
}

/// A certificate chain and its key (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPair {
    pub cert: String,
    pub key: String,
}

/// `[router] hsts`.
#[derive(Debug, Clone)]
pub enum Hsts {
    On(bool),
    Value(String),
}

// By hand rather than `untagged`: a table's own errors (`missing field \`key\``) reach the
// user, not "did not match any variant".
impl<'de> Deserialize<'de> for TlsFiles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TlsFiles;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("{ cert = \"…\", key = \"…\" } or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<TlsFiles, A::Error> {
                TlsPair::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(TlsFiles::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<TlsFiles, A::Error> {
                Vec::<TlsPair>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(TlsFiles::Several)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl<'de> Deserialize<'de> for Hsts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Hsts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false, or a Strict-Transport-Security value (\"max-age=…\")")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Hsts, E> {
                Ok(Hsts::On(on))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Hsts, E> {
                Ok(Hsts::Value(value.to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Hsts {
    /// One year, as the HSTS preload list asks at least.
    pub const DEFAULT: &str = "max-age=31536000";

    /// The header's value, if on.
    pub fn value(&self) -> Option<&str> {
        match self {
            Self::On(true) => Some(Self::DEFAULT),
            Self::On(false) => None,
            Self::Value(value) => Some(value),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    LeastOutstanding,
    RoundRobin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterLog {
    Requests,
    Errors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
}

/// Whether a path from dozen.toml stays inside the app directory: relative, and no `..`
/// climbing above where it starts.
pub fn inside_the_app(path: &str) -> bool {
    let path = std::path::Path::new(path);
    if path.is_absolute() {
        return false;
    }
    let mut depth = 0usize;
    for part in path.components() {
        match part {
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if depth > 0 => depth -= 1,
            _ => return false,
        }
    }
    true
}

/// What is wrong with a `health` table beyond its types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// None or several of `http`, `tcp` and `command`.
    #[error("a health check needs exactly one of `http`, `tcp` or `command`")]
    NotOneProbe,
    /// An `http` path without its leading `/`.
    #[error("health check path `{0}` must start with `/`")]
    RelativePath(String),
    /// `tcp = false`.
    #[error("`tcp = false` is not a health check; remove `health` or use `tcp = true`")]
    TcpFalse,
    /// A blank `command`.
    #[error("health check command is empty")]
    EmptyCommand,
    /// `retries = 0`.
    #[error("health check `retries` must be at least 1")]
    NoRetries,
}

impl Health {
    fn check(&self) -> Result<(), HealthError> {
        let probes = usize::from(self.http.is_some())
            + usize::from(self.tcp.is_some())
            + usize::from(self.command.is_some());
        if probes != 1 {
            return Err(HealthError::NotOneProbe);
        }
        if let Some(path) = &self.http {
            if !path.starts_with('/') {
                return Err(HealthError::RelativePath(path.clone()));
            }
        }
        if self.tcp == Some(false) {
            return Err(HealthError::TcpFalse);
        }
        if self.command.as_ref().is_some_and(|c| c.trim().is_empty()) {
            return Err(HealthError::EmptyCommand);
        }
        if self.retries == Some(0) {
            return Err(HealthError::NoRetries);
        }
        Ok(())
    }
}

/// The location of a span of the manifest.
pub(crate) fn located(source: &Source, span: Range<usize>) -> crate::diagnostic::Location {
    let len = source
        .text
        .get(span.clone())
        .map_or(1, |text| text.chars().count());
    source.location(span.start, len)
}

/// Turns a TOML or serde error into a located diagnostic, with a suggestion for unknown keys.
fn toml_diagnostic(source: &Source, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let len = source
        .text
        .get(span.clone())
        .map_or(1, |s| s.chars().count());
    let location = source.location(span.start, len);
    let message = error.message().trim().to_owned();
    // serde: "unknown field `restat`, expected one of `restart`, `may_exit`" (or "expected `x`").
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    if unknown && !quoted.is_empty() {
        let what = if message.starts_with("unknown field") {
            "key"
        } else {
            "value"
        };
        let word = quoted[0];
        let expected = &quoted[1..];
        let mut diagnostic = Diagnostic::error(location, format!("unknown {what} `{word}`"));
        if let Some(suggestion) = did_you_mean(word, expected.iter().copied()) {
            diagnostic = diagnostic.note(format!("did you mean `{suggestion}`?"));
        }
        if !expected.is_empty() {
            let list = expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ");
            diagnostic = diagnostic.note(format!("expected one of {list}"));
        }
        return diagnostic;
    }
    Diagnostic::error(location, message)
}

/// What is wrong with the shape of an `[audit] ignore` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditIgnoreError {
    /// An empty rule, or an empty path after `:`.
    #[error("invalid audit ignore `{0}`: write `rule-id` or `rule-id:path/glob`")]
    Shape(String),
    /// A rule or path that is not a glob.
    #[error("invalid audit ignore `{entry}`: {source}")]
    Glob {
        entry: String,
        source: globset::Error,
    },
}

/// An `[audit] ignore` entry's shape: `rule` or `rule:path/glob`, globs allowed in both.
/// Whether the rule exists is the audit's to say ([`Manifest::unknown_audit_rules`]): the
/// app model knows nothing of the layers above it.
fn check_audit_ignore(entry: &str) -> Result<(), AuditIgnoreError> {
    let (rule, path) = match entry.split_once(':') {
        Some((rule, path)) => (rule, Some(path)),
        None => (entry, None),
    };
    if rule.is_empty() || path.is_some_and(str::is_empty) {
        return Err(AuditIgnoreError::Shape(entry.to_owned()));
    }
    for glob in std::iter::once(rule).chain(path) {
        if let Err(source) = globset::Glob::new(glob) {
            return Err(AuditIgnoreError::Glob {
                entry: entry.to_owned(),
                source,
            });
        }
    }
    Ok(())
}

impl Manifest {
    /// `[audit] ignore` entries naming a rule id that is not among `known` (a glob is not
    /// checked): warnings, since such an entry ignores nothing and a newer dozen may know it.
    pub fn unknown_audit_rules(&self, source: &Source, known: &[&str]) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        for entry in &self.audit.ignore {
            let text = entry.get_ref();
            let rule = text.split_once(':').map_or(text.as_str(), |(rule, _)| rule);
            let is_glob = rule.contains(['*', '?', '[', '{']);
            if rule.is_empty() || is_glob || known.contains(&rule) {
                continue;
            }
            let message = match did_you_mean(rule, known.iter().copied()) {
                Some(near) => format!("no audit rule `{rule}`; did you mean `{near}`?"),
                None => format!("no audit rule `{rule}` (`dozen audit rules` lists them)"),
            };
            warnings.push(Diagnostic::warning(located(source, entry.span()), message));
        }
        warnings
    }
}

#[cfg(test)]
mod tests;
