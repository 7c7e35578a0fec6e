//! Factor I, Codebase: one codebase tracked in revision control, many deploys.

use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::Project;
use crate::audit::rule::{Roles, Rule};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &NOT_A_REPOSITORY,
        &SEVERAL_APPS,
        &UNUSED_SUPPRESSION,
        &SUPPRESSION_WITHOUT_REASON,
    ],
    patterns: &[],
    check,
};

pub static NOT_A_REPOSITORY: Rule = Rule {
    id: "codebase/not-a-repository",
    factor: Factor::I,
    severity: Severity::Note,
    roles: Roles::REPOSITORY,
    summary: "The app is not in a git repository",
    explanation: "A twelve-factor app is always tracked in a version control system; a release is a build of one commit. Outside a repository there is no commit to name a release by, and the rules about what is committed (env files, lockfiles, logs, databases) cannot run.",
    fix: "Run `git init` and commit the app.",
};

pub static SEVERAL_APPS: Rule = Rule {
    id: "codebase/several-apps",
    factor: Factor::I,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "More than one app (Procfile or dozen.toml) in one codebase",
    explanation: "There is a one-to-one correlation between the codebase and the app: several apps sharing one codebase is a distributed system whose components should each be an app, and code they share belongs in libraries.",
    fix: "Split the apps into their own repositories, or audit each one with `dozen audit DIR` and suppress this rule with a reason if the repository is a deliberate monorepo.",
};

pub static UNUSED_SUPPRESSION: Rule = Rule {
    id: "codebase/unused-suppression",
    factor: Factor::I,
    severity: Severity::Note,
    roles: Roles::REPOSITORY,
    summary: "An inline `dozen: ignore[RULE]` that suppressed nothing",
    explanation: "Suppressions outlive the findings they were written for. One that matches nothing hides whatever appears on that line next, without anyone deciding so.",
    fix: "Delete the comment, or correct the rule id it names.",
};

pub static SUPPRESSION_WITHOUT_REASON: Rule = Rule {
    id: "codebase/suppression-without-reason",
    factor: Factor::I,
    severity: Severity::Note,
    roles: Roles::REPOSITORY,
    summary: "An inline `dozen: ignore[RULE]` without a reason",
    explanation: "A suppression is a decision; the reason is what lets the next reader check it still holds. The suppression still applies.",
    fix: "Write why after the bracket: `# dozen: ignore[config/jwt] test token, expired`.",
};

/// Where the app stands with git, and other apps nested below it.
pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    if project.tracked.is_none() {
        let anchor = if project.has(project.procfile_path) {
            project.procfile_path
        } else {
            project.files.first().map_or("Procfile", String::as_str)
        };
        // A repository git refuses to read (another user's) is not "no repository".
        let message = match crate::git::refusal(project.root) {
            Some(why) => format!(
                "git would not read the repository ({why}): the rules about committed files did not run"
            ),
            None => {
                "the app is not in a git repository: the rules about committed files did not run"
                    .to_owned()
            }
        };
        out.push(Finding::new(
            &NOT_A_REPOSITORY,
            anchor,
            (1, 1),
            message,
            "",
            false,
        ));
    }
    for path in project.files {
        let name = crate::audit::files::name(path);
        let is_app_file = name == "Procfile" || name == "dozen.toml";
        // Apps under tests/ or examples/ are fixtures and samples, not deployables.
        let sample = crate::audit::files::kind(path) == crate::audit::files::Kind::Test
            || path.split('/').any(|d| d == "examples" || d == "example");
        if path.contains('/') && is_app_file && !sample {
            let dir = &path[..path.len() - name.len() - 1];
            // A dozen.toml beside a Procfile is one app, reported once.
            if name == "dozen.toml" && project.has(&format!("{dir}/Procfile")) {
                continue;
            }
            out.push(Finding::new(
                &SEVERAL_APPS,
                path,
                (1, 1),
                format!("another app in this codebase, at `{dir}/`"),
                dir,
                false,
            ));
        }
    }
}
