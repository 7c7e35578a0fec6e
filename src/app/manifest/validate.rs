//! What `dozen.toml`'s types alone cannot say: names, references to the Procfile, cycles,
//! paths, ranges — each a located diagnostic.

use std::ops::Range;

use toml::Spanned;

use super::{
    AutoscaleMetric, MAX_BUFFER_BYTES, MAX_BUFFER_LINES, MAX_INSTANCES, Manifest, ProcessSettings,
    check_audit_ignore, inside_the_app, located, toml_diagnostic,
};
use crate::app::procfile::Procfile;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Source;

impl Manifest {
    /// Parses the TOML and its types; the first such error stops it (as in every TOML tool).
    pub fn parse(source: &Source) -> Result<Self, Diagnostic> {
        toml::from_str(&source.text).map_err(|error| toml_diagnostic(source, &error))
    }

    /// Checks what types alone cannot: names, references to the Procfile, cycles, paths.
    pub fn validate(&self, source: &Source, procfile: Option<&Procfile>) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let mut error = |span: Range<usize>, message: String| {
            problems.push(Diagnostic::error(located(source, span), message));
        };
        self.validate_sections(&mut error);
        self.validate_router(&mut error);
        self.validate_logs(&mut error);
        self.validate_image(&mut error);
        self.deploy.validate(&mut error);
        self.validate_names(&mut error);
        self.validate_processes(&mut error);
        self.validate_schedules(&mut error);
        self.flags.validate(&inside_the_app, &mut error);
        for entry in &self.audit.ignore {
            let location = located(source, entry.span());
            if let Err(problem) = check_audit_ignore(entry.get_ref()) {
                problems.push(Diagnostic::error(location, problem.to_string()));
            }
        }
        if let Some(procfile) = procfile {
            problems.extend(self.validate_against(source, procfile));
        }
        problems
    }

    /// `[app]`, `[build]`, `[env]`.
    fn validate_sections(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        if let Some(name) = &self.app.name {
            let text = name.get_ref();
            let valid = !text.is_empty()
                && text.len() <= 63
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !valid {
                error(
                    name.span(),
                    format!(
                        "invalid app name `{text}`: use letters, digits, `_`, `.` and `-`, at most 63"
                    ),
                );
            }
        }
        for step in &self.build.steps {
            if step.get_ref().trim().is_empty() {
                error(step.span(), "empty build step".into());
            }
        }
        for dir in &self.build.cache {
            let path = std::path::Path::new(dir.get_ref());
            let escapes = path.components().any(|c| {
                !matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
            if dir.get_ref().is_empty() || escapes {
                error(
                    dir.span(),
                    format!(
                        "build cache `{}` must be a path inside the app",
                        dir.get_ref()
                    ),
                );
            }
        }
        for key in self.build.env.keys() {
            if !crate::app::env_file::is_valid_key(key.get_ref()) {
                error(
                    key.span(),
                    format!("invalid build environment key `{}`", key.get_ref()),
                );
            }
        }
        for pattern in &self.env.inherit {
            let text = pattern.get_ref();
            if text.is_empty()
                || !text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*')
            {
                error(
                    pattern.span(),
                    format!(
                        "invalid inherit pattern `{text}`: use a variable name, `*` as a wildcard"
                    ),
                );
            }
        }
    }

    /// `[image]`: a base that parses, an absolute workdir, a user as a runtime takes it.
    fn validate_image(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        let image = &self.image;
        if let Some(base) = &image.base
            && let Err(problem) = crate::image::base::Source::parse(base.get_ref())
        {
            error(base.span(), problem.to_string());
        }
        if let Some(workdir) = &image.workdir {
            let text = workdir.get_ref();
            let valid = text.starts_with('/')
                && text.len() > 1
                && text
                    .split('/')
                    .all(|p| p != ".." && p != "." && !p.contains(char::is_whitespace));
            if !valid {
                error(
                    workdir.span(),
                    format!(
                        "invalid workdir `{text}`: an absolute path other than `/`, without `.` or `..`"
                    ),
                );
            }
        }
        if let Some(user) = &image.user {
            let text = user.get_ref();
            let valid = !text.is_empty()
                && text.split(':').count() <= 2
                && text.split(':').all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
                });
            if !valid {
                error(
                    user.span(),
                    format!("invalid user `{text}`: write NAME, UID or UID:GID"),
                );
            }
        }
    }

    /// `[logs]`: sizes in range, drain URLs that parse (their `${NAME}` parts stand in).
    fn validate_logs(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        let logs = &self.logs;
        if let Some(lines) = &logs.buffer_lines
            && *lines.get_ref() > MAX_BUFFER_LINES
        {
            error(
                lines.span(),
                format!("buffer_lines is at most {MAX_BUFFER_LINES}"),
            );
        }
        if let Some(bytes) = &logs.buffer_bytes
            && *bytes.get_ref() > MAX_BUFFER_BYTES
        {
            error(
                bytes.span(),
                format!("buffer_bytes is at most {MAX_BUFFER_BYTES} (1 GiB)"),
            );
        }
        if let Some(queue) = &logs.drain_queue
            && !(1..=MAX_BUFFER_LINES).contains(queue.get_ref())
        {
            error(
                queue.span(),
                format!("drain_queue is from 1 to {MAX_BUFFER_LINES} lines"),
            );
        }
        for drain in &logs.drains {
            if let Err(problem) = super::drain_shape(drain.get_ref()) {
                error(drain.span(), format!("invalid drain: {problem}"));
            }
        }
    }

    /// `[router]`.
    #[allow(clippy::too_many_lines)]
    fn validate_router(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        if let Some(listen) = &self.router.listen
            && let Err(problem) = crate::app::ports::RouterAddr::parse(listen.get_ref())
        {
            error(listen.span(), format!("invalid router address: {problem}"));
        }
        if let Some(max) = &self.router.max_connections
            && *max.get_ref() == 0
        {
            error(max.span(), "max_connections must be at least 1".into());
        }
        if let Some(metrics) = &self.router.metrics
            && let Err(problem) = crate::app::ports::RouterAddr::parse(metrics.get_ref())
        {
            error(
                metrics.span(),
                format!("invalid metrics address: {problem}"),
            );
        }
        if let Some(http) = &self.router.http_listen
            && let Err(problem) = crate::app::ports::RouterAddr::parse(http.get_ref())
        {
            error(
                http.span(),
                format!("invalid http_listen address: {problem}"),
            );
        }
        if let Some(tls) = &self.router.tls
            && tls.get_ref().pairs().is_empty()
        {
            error(
                tls.span(),
                "tls lists no certificate: give { cert = \"…\", key = \"…\" }".to_owned(),
            );
        }
        if let Some(hsts) = &self.router.hsts
            && let Some(value) = hsts.get_ref().value()
            && !hsts_value_is_valid(value)
        {
            error(
                hsts.span(),
                format!(
                    "hsts is `true` or a Strict-Transport-Security value (RFC 6797: max-age=SECONDS, then ; includeSubDomains or ; preload), not `{}`",
                    value.escape_default()
                ),
            );
        }
        if let Some(redirect) = &self.router.http_redirect
            && *redirect.get_ref()
            && self.router.tls.is_none()
        {
            error(
                redirect.span(),
                "http_redirect sends clients to HTTPS, and the router serves none: set [router] tls = { cert = \"…\", key = \"…\" }".to_owned(),
            );
        }
        for proxy in &self.router.trusted_proxies {
            if let Err(problem) = crate::cidr::Cidr::parse(proxy.get_ref()) {
                error(proxy.span(), format!("invalid trusted proxy: {problem}"));
            }
        }
    }

    /// `[environments]`, `[tasks]`, `[audit]`.
    fn validate_names(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        for (name, spec) in &self.environments {
            if !crate::app::name::is_valid_name(name.get_ref()) {
                error(
                    name.span(),
                    format!(
                        "invalid environment name `{}`: use letters, digits, `_` and `-`",
                        name.get_ref()
                    ),
                );
            }
            for file in spec.files.iter().flatten() {
                if file.get_ref().trim().is_empty() {
                    error(file.span(), "empty env file name".into());
                } else if !inside_the_app(file.get_ref()) {
                    // A pull request must not make dozen read `/proc/self/environ` or
                    // `../../secrets`: files outside the app only come from `-e`.
                    error(
                        file.span(),
                        format!(
                            "env file `{}` is outside the app directory; dozen.toml names files inside it (to read another one, pass it with -e)",
                            file.get_ref()
                        ),
                    );
                }
            }
        }
        for (name, command) in &self.tasks {
            if !crate::app::name::is_valid_name(name.get_ref()) {
                error(
                    name.span(),
                    format!(
                        "invalid task name `{}`: use letters, digits, `_` and `-`",
                        name.get_ref()
                    ),
                );
            }
            if command.get_ref().trim().is_empty() {
                error(
                    command.span(),
                    format!("task `{}` has an empty command", name.get_ref()),
                );
            }
        }
    }

    /// `[formation]` counts and `[processes]` settings.
    fn validate_processes(&self, error: &mut dyn FnMut(Range<usize>, String)) {
        for (name, count) in &self.formation {
            if *count.get_ref() > MAX_INSTANCES {
                error(
                    count.span(),
                    format!(
                        "{} instances of `{}`: at most {MAX_INSTANCES} per type",
                        count.get_ref(),
                        name.get_ref()
                    ),
                );
            }
        }
        for (name, settings) in &self.processes {
            if let Some(health) = &settings.health {
                if let Err(problem) = health.get_ref().check() {
                    error(health.span(), problem.to_string());
                }
            }
            if let Some(autoscale) = &settings.autoscale {
                if let Err(problem) = autoscale.get_ref().check() {
                    error(autoscale.span(), problem.to_string());
                }
                let routed = self.router.routed.as_ref().map_or("web", |t| t.get_ref());
                let at_router = autoscale.get_ref().metric != AutoscaleMetric::Command;
                if at_router && name.get_ref() != routed {
                    error(
                        autoscale.span(),
                        format!(
                            "autoscale measures requests at the router, which fronts `{routed}`, not `{}`",
                            name.get_ref()
                        ),
                    );
                }
            }
            if let Some(watch) = &settings.watch
                && let Err(problem) = crate::supervisor::watch::paths(watch.get_ref())
            {
                error(watch.span(), problem.to_string());
            }
            if let Some(cpu) = &settings.cpu
                && let Err(problem) = crate::app::limits::check_cpu(*cpu.get_ref())
            {
                error(cpu.span(), problem.to_string());
            }
            if let Some(count) = &settings.open_files
                && let Err(problem) = crate::app::limits::check_open_files(*count.get_ref())
            {
                error(count.span(), problem.to_string());
            }
            if settings.after.iter().any(|a| a.get_ref() == name.get_ref()) {
                error(
                    name.span(),
                    format!(
                        "process type `{}` cannot start after itself",
                        name.get_ref()
                    ),
                );
            }
        }
    }

    /// References from the manifest to Procfile types.
    fn validate_against(&self, source: &Source, procfile: &Procfile) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let mut unknown_type = |name: &Spanned<String>, what: &str| {
            if procfile.get(name.get_ref()).is_some() {
                return;
            }
            let mut diagnostic = Diagnostic::error(
                located(source, name.span()),
                format!(
                    "{what} `{}` is not a process type in the Procfile",
                    name.get_ref()
                ),
            );
            if let Some(suggestion) = did_you_mean(name.get_ref(), procfile.names()) {
                diagnostic = diagnostic.note(format!("did you mean `{suggestion}`?"));
            }
            problems.push(diagnostic);
        };
        for name in self.formation.keys() {
            unknown_type(name, "formation entry");
        }
        for (name, settings) in &self.processes {
            unknown_type(name, "[processes] entry");
            for after in &settings.after {
                unknown_type(after, "`after` entry");
            }
        }
        if let Some(routed) = &self.router.routed {
            unknown_type(routed, "[router] type");
        }
        problems.extend(self.validate_schedule_tasks(source, procfile));
        if let Some(cycle) = self.start_order_cycle() {
            let name = self
                .processes
                .keys()
                .find(|k| *k.get_ref() == cycle[0])
                .map(Spanned::span)
                .unwrap_or_default();
            problems.push(Diagnostic::error(
                source.location(name.start, source.text[name].chars().count()),
                format!("`after` makes a cycle: {}", cycle.join(" → ")),
            ));
        }
        // (An address that is wrong is said as wrong, and only that.)
        if let Some(listen) = &self.router.listen
            && !self.router.enabled
            && crate::app::ports::RouterAddr::parse(listen.get_ref()).is_ok()
        {
            problems.push(Diagnostic::warning(
                located(source, listen.span()),
                "[router] listen is set, but the router is off: `dozen run` starts it with `enabled = true` here, or with `--router`".to_owned(),
            ));
        }
        // Settings of a router that is off, or of HTTPS that is not served, do nothing: said.
        let off: Vec<(&str, std::ops::Range<usize>)> = [
            ("tls", self.router.tls.as_ref().map(Spanned::span)),
            (
                "http_listen",
                self.router.http_listen.as_ref().map(Spanned::span),
            ),
            ("hsts", self.router.hsts.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(key, span)| Some((key, span?)))
        .collect();
        if !self.router.enabled {
            for (key, span) in &off {
                problems.push(Diagnostic::warning(
                    located(source, span.clone()),
                    format!("[router] {key} is set, but the router is off: `dozen run` starts it with `enabled = true` here, or with `--router`"),
                ));
            }
        }
        if self.router.tls.is_none() {
            for (key, span) in off.iter().filter(|(key, _)| *key == "hsts") {
                problems.push(Diagnostic::warning(
                    located(source, span.clone()),
                    format!("[router] {key} applies to HTTPS, and the router serves none without [router] tls (or --tls)"),
                ));
            }
        }
        for (name, _) in &self.tasks {
            if procfile.get(name.get_ref()).is_some() {
                problems.push(Diagnostic::warning(
                    located(source, name.span()),
                    format!(
                        "task `{}` has the name of a Procfile type; `dozen exec {}` runs the task",
                        name.get_ref(),
                        name.get_ref()
                    ),
                ));
            }
        }
        problems
    }

    /// A cycle in `after`, as the names along it (first repeated at the end), if any.
    fn start_order_cycle(&self) -> Option<Vec<String>> {
        let after = |name: &str| -> Vec<String> {
            self.processes
                .iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(_, s)| s.after.iter().map(|a| a.get_ref().clone()).collect())
                .unwrap_or_default()
        };
        for start in self.processes.keys() {
            // Depth-first walk with the current path; small graphs, so no memoisation.
            let mut stack = vec![(start.get_ref().clone(), 0usize)];
            let mut path: Vec<String> = vec![start.get_ref().clone()];
            while let Some((node, next)) = stack.pop() {
                let deps = after(&node);
                if next < deps.len() {
                    stack.push((node, next + 1));
                    let dep = deps[next].clone();
                    if dep == *start.get_ref() && path.len() > 1 {
                        path.push(dep);
                        return Some(path);
                    }
                    if !path.contains(&dep) {
                        path.push(dep.clone());
                        stack.push((dep, 0));
                    }
                } else {
                    path.pop();
                }
            }
        }
        None
    }

    /// The settings of a process type, or the defaults.
    pub fn process(&self, name: &str) -> Option<&ProcessSettings> {
        self.processes
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    }

    /// The env files an environment lists, if the manifest lists them.
    /// The names `[requires] tools` declares.
    pub fn tool_names(&self) -> Vec<String> {
        self.requires
            .tools
            .iter()
            .map(|t| t.get_ref().clone())
            .collect()
    }

    /// Every env file any environment lists, app-relative, `./` removed.
    pub fn all_environment_files(&self) -> Vec<String> {
        self.environments
            .values()
            .filter_map(|spec| spec.files.as_ref())
            .flatten()
            .map(|f| f.get_ref().trim_start_matches("./").to_owned())
            .collect()
    }

    pub fn environment_files(&self, name: &str) -> Option<&[Spanned<String>]> {
        self.environments
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .and_then(|(_, spec)| spec.files.as_deref())
    }
}

/// A `Strict-Transport-Security` value as RFC 6797 §6.1 has it: `max-age` with a number of
/// seconds, and the directives browsers know, separated by `;` — nothing a header cannot hold.
pub fn hsts_value_is_valid(value: &str) -> bool {
    let mut max_age = false;
    for directive in value.split(';').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            let seconds = seconds.trim_matches('"');
            max_age = !seconds.is_empty() && seconds.bytes().all(|b| b.is_ascii_digit());
            if !max_age {
                return false;
            }
        } else if !matches!(lower.as_str(), "includesubdomains" | "preload") {
            return false;
        }
    }
    max_age
}
