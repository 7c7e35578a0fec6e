//! `dozen audit`: the twelve-factor audit. See docs/audit.md for the design and the rule
//! catalogue.
//!
//! The engine: one parallel walk reads every text file once (content patterns and file rules,
//! [`walk`]), then the project rules read the app model and what the walk found
//! ([`project`]), then suppressions apply ([`suppress`]) and the result is a [`Report`].

pub mod clues;
pub mod dockerfile;
pub mod files;
pub mod finding;
pub mod format;
pub mod lex;
pub mod mask;
pub mod measured;
pub mod model;
pub mod module;
pub mod probe;
pub mod procfiles;
pub mod project;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod shell;
pub mod suppress;
pub mod walk;
pub mod yaml;

use std::path::Path;

use crate::app::{App, Locator};
use crate::diagnostic::Diagnostic;
use finding::{Factor, Finding};
use procfiles::ProcfileAt;
use project::Project;
use report::Report;
use suppress::{Baseline, ManifestIgnore, Suppressed};

/// The factors the probe checks by running the types.
const PROBED: [Factor; 5] = [
    Factor::VI,
    Factor::VII,
    Factor::VIII,
    Factor::IX,
    Factor::XI,
];

/// What to audit and how.
pub struct Request<'a> {
    /// The app directory.
    pub root: &'a Path,
    /// The app as the user named it (the report's `app`).
    pub shown: String,
    pub max_file_size: u64,
    pub baseline: Option<&'a Baseline>,
    /// The static checks (off with `--probe-only`).
    pub static_checks: bool,
    /// `--probe`: run the app's types too.
    pub probe: Option<ProbeRequest<'a>>,
    /// `--strict`: every finding at its rule's most severe, whatever the rule's measured
    /// precision has earned.
    pub strict: bool,
}

/// What the probe runs the types with.
pub struct ProbeRequest<'a> {
    pub options: probe::Options,
    /// What to run instead of the audited app: a release's build tree and its app model
    /// (`--release`). `None`: the audited app's working tree.
    pub source: Option<(&'a Path, &'a App)>,
    /// The environment's config over the inherited environment.
    pub env: &'a [(String, String)],
    /// The config's keys (for `--probe-config-strip`).
    pub keys: &'a [String],
}

/// The audit's result, with what was suppressed and the findings a new baseline would hold.
pub struct Audited {
    pub report: Report,
    /// Findings after inline and manifest suppressions, before the baseline.
    pub unbaselined: Vec<Finding>,
    pub suppressed: Suppressed,
    /// The app's directory within its git repository (`""` at the root or outside one).
    pub repo_prefix: String,
    /// Warnings about `dozen.toml` (an ignore naming no rule, a declared tool not on `PATH`).
    pub warnings: Vec<Diagnostic>,
}

/// Audits the app at `request.root`. Errors are problems with dozen.toml: the audit's own
/// configuration (`[audit] ignore`, `[requires] tools`) cannot be trusted then.
pub fn audit(request: &Request<'_>) -> Result<Audited, Vec<Diagnostic>> {
    let (app, procfile_problems, warnings) = load_app(request.root)?;
    let manifest_ignore = manifest_ignore(&app)?;
    let options = walk::Options {
        max_file_size: request.max_file_size,
        tools: app.manifest.tool_names(),
        root: request.root.to_path_buf(),
    };
    // `--probe-only` reads no file but the Procfile, for the suppressions on its lines.
    let git = crate::git::tracked(request.root);
    let walked = read_app(request, &options, git.as_ref().map(|g| &g.files));
    let mut procfiles = vec![ProcfileAt {
        path: "Procfile".to_owned(),
        procfile: app.procfile.clone().unwrap_or_default(),
        problems: procfile_problems,
    }];
    procfiles.extend(ProcfileAt::alternatives(request.root, &walked.files));
    let model = request
        .static_checks
        .then(|| build_model(request.root, &walked, &procfiles));
    let project = Project {
        root: request.root,
        app: &app,
        procfile_path: "Procfile",
        files: &walked.files,
        tracked: git.as_ref().map(|g| &g.files),
        facts: &walked.facts,
        procfiles: &procfiles,
        model: model.as_ref(),
        start_scripts: std::sync::OnceLock::new(),
    };
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    if request.static_checks {
        findings.extend(walked.findings);
        project_rules(&project, &mut findings);
        checked = checked_factors(&project);
    }
    let mut probes = Vec::new();
    let probe_target = request
        .probe
        .as_ref()
        .map(|p| p.source.unwrap_or((request.root, &app)));
    if let (Some(probe_request), Some((root, target))) = (&request.probe, probe_target) {
        if let Some(procfile) = &target.procfile {
            let (found, probe_findings) = run_probe(root, target, procfile, probe_request)?;
            probes = found;
            findings.extend(probe_findings);
            checked.extend(PROBED);
            if probe_request.options.strip_config {
                checked.push(Factor::III);
            }
            checked.sort();
            checked.dedup();
        }
    }
    if !request.static_checks {
        // Without the static checks, a Procfile the probe could not read is still reported.
        rules::concurrency::procfile_problems(&project, &mut findings);
        checked.push(Factor::VIII);
        checked.sort_unstable();
        checked.dedup();
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
    drop_generic_duplicates(&mut findings);
    if let Some(model) = &model {
        keep_deployment_findings(request.root, model, &mut findings);
    }
    let (unbaselined, mut suppressed) =
        suppress::apply(findings, &walked.suppressions, &manifest_ignore);
    let kept: Vec<Finding> = unbaselined
        .iter()
        .filter(|f| {
            let baselined = request.baseline.is_some_and(|b| b.contains(f));
            suppressed.baseline += usize::from(baselined);
            !baselined
        })
        .cloned()
        .collect();
    let report = Report {
        app: request.shown.clone(),
        findings: by_cause(kept, request.strict),
        checked,
        probes,
    };
    Ok(Audited {
        report,
        unbaselined,
        suppressed,
        repo_prefix: git.map(|g| g.prefix).unwrap_or_default(),
        warnings: warnings
            .into_iter()
            .chain(unreadable_warnings(&walked.unreadable))
            .collect(),
    })
}

/// The deployment model from what the walk read: the declarations' texts, and the files of
/// defaults the code names.
fn build_model(root: &Path, walked: &walk::Walked, procfiles: &[ProcfileAt]) -> model::Model {
    let defaults_named: Vec<(String, String)> = walked
        .facts
        .iter()
        .filter(|f| f.name == scan::Fact::NamesDefaultsFile)
        .map(|f| (f.path.clone(), f.value.clone()))
        .collect();
    model::Model::build(
        root,
        &walked.files,
        procfiles,
        Some(&walked.declarations),
        Some(&defaults_named),
    )
}

/// The deployment model of the app at `root`, as the audit builds it (`dozen audit --model`).
pub fn model_of(root: &Path) -> Result<model::Model, Vec<Diagnostic>> {
    let (app, procfile_problems, _) = load_app(root)?;
    let options = walk::Options {
        max_file_size: 0,
        tools: Vec::new(),
        root: root.to_path_buf(),
    };
    let git = crate::git::tracked(root);
    // A walk that reads nothing (every file is over the size limit): the list of files.
    let walked = walk::walk(root, &options, git.as_ref().map(|g| &g.files));
    let mut procfiles = vec![ProcfileAt {
        path: "Procfile".to_owned(),
        procfile: app.procfile.clone().unwrap_or_default(),
        problems: procfile_problems,
    }];
    procfiles.extend(ProcfileAt::alternatives(root, &walked.files));
    Ok(model::Model::build(
        root,
        &walked.files,
        &procfiles,
        None,
        None,
    ))
}

/// The app, the problems of its Procfile (findings, not errors), and warnings about its
/// manifest; errors in the manifest stop the audit, which it configures.
type Loaded = (App, Vec<Diagnostic>, Vec<Diagnostic>);

/// Warnings for `[audit] ignore` entries that name no rule of this dozen.
pub fn unknown_ignored_rules(app: &App) -> Vec<Diagnostic> {
    let Some(source) = &app.manifest_source else {
        return Vec::new();
    };
    let ids: Vec<&str> = rules::all().map(|r| r.id).collect();
    app.manifest.unknown_audit_rules(source, &ids)
}

fn load_app(root: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let locator = Locator {
        app: Some(root.to_path_buf()),
        procfile: None,
        env_files: None,
    };
    let (app, mut problems) = App::load(&locator);
    problems.extend(unknown_ignored_rules(&app));
    let procfile_display = app.procfile_display.clone();
    let (procfile_problems, other): (Vec<Diagnostic>, Vec<Diagnostic>) =
        problems.into_iter().partition(|d| {
            d.location
                .as_ref()
                .map_or(d.path.as_ref(), |l| Some(&l.path))
                == Some(&procfile_display)
        });
    let (manifest_errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        other.into_iter().partition(Diagnostic::is_error);
    if !manifest_errors.is_empty() {
        return Err(manifest_errors);
    }
    Ok((app, procfile_problems, warnings))
}

/// `[audit] ignore`, compiled.
fn manifest_ignore(app: &App) -> Result<ManifestIgnore, Vec<Diagnostic>> {
    let entries: Vec<String> = app
        .manifest
        .audit
        .ignore
        .iter()
        .map(|e| e.get_ref().clone())
        .collect();
    ManifestIgnore::new(&entries).map_err(|message| {
        vec![Diagnostic::general(
            crate::diagnostic::Severity::Error,
            Some(app.dir.display(crate::app::manifest::FILE_NAME)),
            format!("invalid [audit] ignore glob {message}"),
        )]
    })
}

/// Runs the probe on the app's types; a probe that cannot run at all is an error.
fn run_probe(
    root: &Path,
    app: &App,
    procfile: &crate::app::procfile::Procfile,
    request: &ProbeRequest<'_>,
) -> Result<(Vec<probe::TypeProbe>, Vec<Finding>), Vec<Diagnostic>> {
    let health = |name: &str| {
        app.manifest
            .process(name)
            .is_some_and(|settings| settings.health.is_some())
    };
    probe::probe(
        root,
        "Procfile",
        &procfile.types,
        &health,
        request.env,
        request.keys,
        &request.options,
    )
    .map_err(|error| {
        vec![Diagnostic::general(
            crate::diagnostic::Severity::Error,
            None,
            format!("the probe could not run: {error}"),
        )]
    })
}

/// What the walk could not read, as warnings on stderr (the first ten, then how many more):
/// an audit that skipped files says so instead of passing them as clean.
fn unreadable_warnings(unreadable: &[String]) -> Vec<Diagnostic> {
    const SHOWN: usize = 10;
    let mut sorted: Vec<&String> = unreadable.iter().collect();
    sorted.sort();
    let mut out: Vec<Diagnostic> = sorted
        .iter()
        .take(SHOWN)
        .map(|what| {
            Diagnostic::general(
                crate::diagnostic::Severity::Warning,
                None,
                format!("cannot read {what}: the audit did not check it"),
            )
        })
        .collect();
    if sorted.len() > SHOWN {
        out.push(Diagnostic::general(
            crate::diagnostic::Severity::Warning,
            None,
            format!("and {} more that could not be read", sorted.len() - SHOWN),
        ));
    }
    out
}

/// The walk of the app; under `--probe-only`, which reads no file but the Procfile, only the
/// suppressions on its lines.
fn read_app(
    request: &Request<'_>,
    options: &walk::Options,
    tracked: Option<&std::collections::HashSet<String>>,
) -> walk::Walked {
    if request.static_checks {
        return walk::walk(request.root, options, tracked);
    }
    let procfile = std::fs::read_to_string(request.root.join("Procfile")).unwrap_or_default();
    walk::Walked {
        suppressions: suppress::read_inline("Procfile", &procfile),
        ..walk::Walked::default()
    }
}

/// One finding per cause, each at the severity its rule's measured precision earns (at its
/// rule's most severe with `--strict`).
fn by_cause(findings: Vec<Finding>, strict: bool) -> Vec<Finding> {
    let mut grouped = finding::group_by_cause(findings, |id| rules::get(id).map(|r| r.summary));
    if !strict {
        // Rules whose first-sight record turned them off report nothing by default.
        grouped.retain(|f| rules::get(f.rule).is_none_or(|rule| !measured::off(rule)));
        for finding in &mut grouped {
            if let Some(rule) = rules::get(finding.rule) {
                finding.severity = finding.severity.min(measured::earned(rule));
            }
        }
    }
    grouped
}

/// The findings about the deployment: each rule applies to files of the roles it names (a
/// secret in a test fixture, an address in a CI workflow are not the deployment's), and the
/// rules about production skip development-only branches of production code
/// (`if __name__ == "__main__":`, `if Rails.env.development?`).
fn keep_deployment_findings(root: &Path, model: &model::Model, findings: &mut Vec<Finding>) {
    use model::roles::Role;
    let mut branches: std::collections::HashMap<String, Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    findings.retain_mut(|f| {
        let Some(rule) = rules::get(f.rule) else {
            return true;
        };
        let file_role = model.role(&f.path);
        // `NEXT_PUBLIC_TEST_MODE=true next build` in a script: a build variant the script
        // fixes, the same in every environment, not one environment's config.
        if rule.id == rules::build_release_run::BUILD_TIME_PUBLIC_CONFIG.id
            && model.script_variables.contains(&f.evidence)
        {
            return false;
        }
        // `FROM base` in a Dockerfile another one includes names the includer's stage.
        if rule.id == rules::dependencies::UNPINNED_BASE_IMAGE.id
            && !f.evidence.contains([':', '/', '@'])
            && model.stages.contains(&f.evidence.to_ascii_lowercase())
        {
            return false;
        }
        // A provider token where stand-ins live (tests, examples, docs) is its own finding:
        // not the deployment's secret, but maybe once a real one.
        // A JWT in a test or a document is an example's (they expire, or were signed with
        // a stand-in secret): not re-reported as a committed token.
        if rules::config::is_provider(rule)
            && rules::config::COMMITTED_TOKEN.roles.contains(file_role)
        {
            // Stand-ins are the rule there: only a token that proves it was issued counts.
            if rule.id == rules::config::JWT.id
                || !token_at(root, f).is_some_and(|t| rules::config::live_shaped(&t))
            {
                return false;
            }
            *f = f.clone().reported_as(
                &rules::config::COMMITTED_TOKEN,
                &format!("in a file of the {} role", file_role.as_str()),
            );
            return true;
        }
        if !rule.roles.contains(file_role) {
            return false;
        }
        if rule.roles.contains(Role::Development) || files::kind(&f.path) != files::Kind::Code {
            return true;
        }
        let ranges = branches.entry(f.path.clone()).or_insert_with(|| {
            files::read_bounded(&root.join(&f.path))
                .map(|text| model::frameworks::development_branches(&f.path, &text))
                .unwrap_or_default()
        });
        !ranges
            .iter()
            .any(|&(start, end)| (start..=end).contains(&f.line))
    });
}

/// The token a provider rule's finding points at, read again from its file (findings keep
/// secrets masked).
fn token_at(root: &Path, finding: &Finding) -> Option<String> {
    let text = files::read_bounded(&root.join(&finding.path))?;
    let line = text.lines().nth(finding.line.checked_sub(1)?)?;
    let from = line
        .char_indices()
        .nth(finding.column.checked_sub(1)?)
        .map(|(at, _)| at)?;
    let token: String = line[from..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(token)
}

/// A generic secret on a line where a precise config rule already reports one is the same
/// secret: only the precise finding stays.
fn drop_generic_duplicates(findings: &mut Vec<Finding>) {
    const GENERIC: &str = "config/generic-secret";
    let precise: std::collections::HashSet<(String, usize)> = findings
        .iter()
        .filter(|f| f.factor == Factor::III && f.rule != GENERIC)
        .map(|f| (f.path.clone(), f.line))
        .collect();
    findings.retain(|f| f.rule != GENERIC || !precise.contains(&(f.path.clone(), f.line)));
}

fn project_rules(project: &Project<'_>, out: &mut Vec<Finding>) {
    for module in rules::MODULES {
        (module.check)(project, out);
    }
}

/// The factors some rule had something to look at; the others are `skip` on the scorecard.
fn checked_factors(project: &Project<'_>) -> Vec<Factor> {
    let kinds: Vec<files::Kind> = project.files.iter().map(|p| files::kind(p)).collect();
    let has_code = kinds.contains(&files::Kind::Code);
    let has_config = kinds.contains(&files::Kind::Config);
    let has_dockerfile = project
        .files
        .iter()
        .any(|p| files::is_dockerfile(files::name(p)));
    let types = project.processes().count() > 0;
    let web = project.processes().any(|(_, p)| p.name == "web");
    let environments = project
        .app
        .environments()
        .iter()
        .filter(|e| !project.app.env_stack(e).is_empty())
        .count();
    let mut checked = vec![Factor::I, Factor::III, Factor::VIII];
    for (factor, applies) in [
        (Factor::II, has_code || has_config || has_dockerfile),
        (Factor::IV, has_code || has_config),
        (Factor::V, types || has_code),
        (Factor::VI, has_code || has_config),
        (Factor::VII, web),
        (Factor::IX, types || has_dockerfile),
        (Factor::X, environments >= 2),
        (Factor::XI, types || has_code || has_config),
        (Factor::XII, types),
    ] {
        if applies {
            checked.push(factor);
        }
    }
    checked.sort();
    checked
}
