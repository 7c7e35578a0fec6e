//! What pins a dependency: requirement specifiers, the packages images install, base images'
//! tags.

use crate::audit::dockerfile::Instruction;
use crate::audit::files::{self};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::project::File;
use crate::audit::rule::{Roles, Rule};

pub static UNPINNED_REQUIREMENT: Rule = Rule {
    id: "dependencies/unpinned-requirement",
    factor: Factor::II,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A requirements file entry not pinned with `==`",
    explanation: "requirements.txt is pip's only lockfile. An entry without an exact `==` version installs whatever is newest on the day of the build, so the same commit builds different apps over time.",
    fix: "Pin every entry (`pip freeze`, or compile requirements.in with pip-tools or `uv pip compile`).",
};
pub static UNPINNED_BASE_IMAGE: Rule = Rule {
    id: "dependencies/unpinned-base-image",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A Dockerfile base image without a tag, or tagged latest",
    explanation: "The base image is a dependency like any other. Without a tag (or with `latest`) each build takes whatever the registry serves that day.",
    fix: "Name a version tag (`python:3.12-slim`), or better a digest (`python@sha256:…`).",
};
pub static UNPINNED_IMAGE_INSTALL: Rule = Rule {
    id: "dependencies/unpinned-image-install",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A Dockerfile installs language packages by name without a version",
    explanation: "`RUN pip install gunicorn`, `npm install -g pm2`, `gem install bundler`: a package installed by name alone is whatever the registry serves the day the image is built, beside a lockfile that pins everything else. Two builds of one commit run different code.",
    fix: "Pin it (`pip install gunicorn==23.0.0`, `npm install -g pm2@5.4.2`, `gem install bundler -v 2.5.6`), or better, add it to the app's manifest and lockfile and install from those.",
};
/// `requirements*.txt`: every entry pinned with `==` (or a direct URL reference).
pub fn requirements(file: &File<'_>, out: &mut Vec<Finding>) {
    let mut entries = Vec::new();
    let mut offset = 0;
    let mut continued = false;
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let was_continued = continued;
        let content = line.split(" #").next().unwrap_or_default().trim_end();
        continued = content.ends_with('\\');
        let entry = content.trim_end_matches('\\').trim();
        if was_continued
            || entry.is_empty()
            || entry.starts_with('#')
            || entry.starts_with('-')
            || (entry.contains("://") && !entry.contains("git+"))
            || entry.starts_with('.')
            || entry.starts_with('/')
        {
            continue;
        }
        let spec = entry.split(';').next().unwrap_or(entry);
        // `pkg @ git+https://…@master` follows a branch; `@<commit>` is pinned, as is a
        // direct URL to an archive.
        let vcs_pinned = |reference: &str| {
            let at = reference.split('#').next().unwrap_or(reference);
            at.rsplit_once('@').is_some_and(|(_, rev)| {
                rev.len() >= 7 && rev.chars().all(|c| c.is_ascii_hexdigit())
            })
        };
        let pinned = if spec.contains("git+") {
            vcs_pinned(spec)
        } else {
            spec.contains("==") && !spec.contains('*') || spec.contains(" @ ")
        };
        let name_len = spec
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.[]".contains(c)))
            .unwrap_or(spec.len());
        let indent = line.len() - line.trim_start().len();
        entries.push((start + indent, spec, name_len, pinned));
    }
    // `bleach[css]` beside `bleach==6.3.0` asks for an extra of the pinned version: pip
    // resolves both lines to one package.
    let project = |spec: &str, name_len: usize| {
        spec[..name_len]
            .split('[')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .replace(['_', '.'], "-")
    };
    let pinned: Vec<String> = entries
        .iter()
        .filter(|e| e.3)
        .map(|e| project(e.1, e.2))
        .collect();
    // A requirements file of documentation tools only (MkDocs, Sphinx and their themes) builds
    // the docs site, not what production runs.
    if !entries.is_empty()
        && entries
            .iter()
            .all(|e| is_documentation_tool(&project(e.1, e.2)))
    {
        return;
    }
    for (at, spec, name_len, is_pinned) in entries {
        let bare = spec[name_len..].trim().is_empty();
        if is_pinned || bare && pinned.contains(&project(spec, name_len)) {
            continue;
        }
        out.push(
            Finding::new(
                &UNPINNED_REQUIREMENT,
                file.path,
                file.position(at),
                format!("`{}` is not pinned with ==", &spec[..name_len]),
                spec.trim(),
                false,
            )
            // One cause per file: a requirements file that does not pin is one thing to fix.
            .with_cause(file.path),
        );
    }
}
/// A Python package that builds documentation (`mkdocs-material`, `sphinx-rtd-theme`, `furo`).
pub(super) fn is_documentation_tool(project: &str) -> bool {
    project.starts_with("mkdocs")
        || project.starts_with("sphinx")
        || matches!(
            project,
            "furo"
                | "myst-parser"
                | "pymdown-extensions"
                | "mike"
                | "docutils"
                | "recommonmark"
                | "pydata-sphinx-theme"
                | "breathe"
        )
}
/// Installers' options that take a value (`--index-url URL`, `-t DIR`, `--prefix DIR`).
pub(super) const OPTIONS_WITH_VALUES: [&str; 45] = [
    // uv pip's own.
    "--index",
    "--default-index",
    "--index-strategy",
    "--python-preference",
    "--python",
    "-p",
    "--python-platform",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--link-mode",
    "--exclude-newer",
    "--config-setting",
    "-C",
    "--upgrade-package",
    "--group",
    "--extra",
    "--only-group",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "-w",
    "--wheel-dir",
    "-f",
    "--find-links",
    "--platform",
    "--python-version",
    "--only-binary",
    "--no-binary",
    "--cache-dir",
    "--trusted-host",
    // cargo install's.
    "--features",
    "-F",
    "--bin",
    "--branch",
    "--tag",
    "--rev",
    "--profile",
    "-j",
    "--jobs",
    "--registry",
];
/// Whether an installer's argument names a package from its registry (not a path, a URL, an
/// archive, a variable, or the installer itself being upgraded).
pub(super) fn by_name(name: &str) -> bool {
    let base = name.split('[').next().unwrap_or(name).to_ascii_lowercase();
    !(name.is_empty()
        || name.starts_with('.')
        || name.starts_with('/')
        || name.starts_with('$')
        || name.contains("://")
        || files::has_extension(name, &["whl", "zip", "tgz", "gz"])
        || (name.contains('/') && !name.starts_with('@'))
        || ["pip", "setuptools", "wheel", "npm", "bundler"].contains(&base.as_str()))
}
/// The packages `composer … require …` adds without a constraint (`vendor/package`, not
/// `vendor/package:^2.0`).
pub(super) fn composer_requires(args: &[&str]) -> Vec<String> {
    let mut operands = args.iter().skip_while(|w| w.starts_with('-'));
    if operands.next() != Some(&"require") {
        return Vec::new();
    }
    operands
        .filter(|w| !w.starts_with('-'))
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .filter(|w| {
            w.split_once('/').is_some_and(|(vendor, package)| {
                !vendor.is_empty() && !package.is_empty() && !w.contains([':', '=', '$'])
            })
        })
        .map(str::to_owned)
        .collect()
}
/// `RUN` lines that install Python, Node or Ruby packages by name without a version.
pub fn image_installs(path: &str, instructions: &[Instruction], out: &mut Vec<Finding>) {
    for instruction in instructions.iter().filter(|i| i.keyword == "RUN") {
        let mut unpinned: Vec<String> = Vec::new();
        for words in crate::audit::shell::simple_commands(&instruction.args) {
            let words: Vec<&str> = words.iter().copied().filter(|w| *w != "sudo").collect();
            let (args, pinned): (&[&str], fn(&str) -> bool) = match words.as_slice() {
                ["pip" | "pip3", "install" | "wheel", rest @ ..]
                | [
                    "python" | "python3",
                    "-m",
                    "pip",
                    "install" | "wheel",
                    rest @ ..,
                ]
                | ["uv", "pip", "install", rest @ ..] => (rest, |w| {
                    w.contains("==") || w.contains('@') || w.contains("===")
                }),
                ["npm", "install" | "i", rest @ ..]
                | ["pnpm" | "yarn" | "bun", "add", rest @ ..] => (rest, npm_pinned),
                ["cargo", "install", rest @ ..] => {
                    cargo_install(path, instruction, rest, &mut unpinned, out);
                    continue;
                }
                ["go", "install", rest @ ..] => {
                    for module in rest.iter().filter(|w| !w.starts_with('-')) {
                        if module.ends_with("@latest")
                            || !module.contains('@') && module.contains('.')
                        {
                            unpinned.push((*module).to_owned());
                        }
                    }
                    continue;
                }
                // `composer --no-ansi require --working-dir=/app vendor/package`: a package
                // the app's composer.json and lock never saw, at whatever resolves.
                ["composer", rest @ ..] => {
                    unpinned.extend(composer_requires(rest));
                    continue;
                }
                ["gem", "install", rest @ ..]
                    if !rest
                        .iter()
                        .any(|w| *w == "-v" || w.starts_with("--version")) =>
                {
                    (rest, |w| w.contains(':'))
                }
                _ => continue,
            };
            // From a requirements file, a constraints file or the app itself: pinned there.
            if args.iter().any(|w| {
                [
                    "-r",
                    "--requirement",
                    "--requirements",
                    "-c",
                    "--constraint",
                    "-e",
                    "--editable",
                ]
                .iter()
                .any(|f| w == f || w.starts_with(&format!("{f}=")))
            }) {
                continue;
            }
            let mut skip_next = false;
            // Words inside a command substitution (`"$(npm root -g)/x"`) are not packages.
            let mut substitution = 0_usize;
            for word in args {
                let opened = word.matches("$(").count();
                if substitution > 0 || opened > 0 {
                    substitution =
                        (substitution + opened).saturating_sub(word.matches(')').count());
                    continue;
                }
                if skip_next {
                    skip_next = false;
                    continue;
                }
                if word.starts_with('-') {
                    skip_next = OPTIONS_WITH_VALUES.contains(word);
                    continue;
                }
                let name = word.trim_matches(|c| c == '"' || c == '\'');
                // A GitHub shorthand (`github:owner/repo`) installs a branch unless it names a
                // commit.
                if !(by_name(name) || name.contains("github:")) || pinned(name) {
                    continue;
                }
                unpinned.push(name.to_owned());
            }
        }
        push_unpinned(path, instruction, &unpinned, out);
    }
}
/// Whether an npm package spec names one version: `left-pad@1.3.0`, `@scope/x@2.0.0-rc.1`
/// (not a range, `^1.2`, `~1`, `>=1`, `1.x`, a tag such as `latest`, or a branch of a git
/// repository; a git reference counts when it names a commit).
pub(super) fn npm_pinned(spec: &str) -> bool {
    if spec.contains("github:") || spec.contains("git+") || spec.contains("://") {
        return spec.rsplit_once('#').is_some_and(|(_, reference)| {
            reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit())
        });
    }
    let Some((_, version)) = spec.trim_start_matches('@').split_once('@') else {
        return false;
    };
    version.split(['-', '+']).next().is_some_and(|core| {
        core.split('.').count() == 3
            && core
                .split('.')
                .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}
/// One finding for the packages one `RUN` installs without pinning them.
pub(super) fn push_unpinned(
    path: &str,
    instruction: &Instruction,
    names: &[String],
    out: &mut Vec<Finding>,
) {
    let Some(first) = names.first() else {
        return;
    };
    let column = instruction.column + instruction.args.find(first.as_str()).unwrap_or(0);
    let shown = match names.len() {
        1 => format!("`{first}` is"),
        2 => format!("`{first}` and `{}` are", names[1]),
        n => format!("`{first}` and {} more are", n - 1),
    };
    out.push(Finding::new(
        &UNPINNED_IMAGE_INSTALL,
        path,
        (instruction.line, column),
        format!("{shown} installed without one pinned version (a name, a range or a branch): each build takes whatever is newest"),
        first,
        false,
    ));
}
/// `cargo install NAME` without `--version` (or `NAME@VERSION`), and `cargo install --path`
/// or `--git` without `--locked`, which ignores the lockfile and resolves every dependency
/// afresh.
pub(super) fn cargo_install(
    path: &str,
    instruction: &Instruction,
    args: &[&str],
    unpinned: &mut Vec<String>,
    out: &mut Vec<Finding>,
) {
    let locked = args.iter().any(|w| matches!(*w, "--locked" | "--frozen"));
    if let Some(at) = args.iter().position(|w| matches!(*w, "--path" | "--git")) {
        if !locked {
            let source = args.get(at + 1).copied().unwrap_or("");
            let column = instruction.column + instruction.args.find(args[at]).unwrap_or(0);
            out.push(Finding::new(
                &UNPINNED_IMAGE_INSTALL,
                path,
                (instruction.line, column),
                format!("`cargo install {} {source}` without `--locked` ignores Cargo.lock: each build resolves the dependencies afresh", args[at]),
                args[at],
                false,
            ));
        }
        return;
    }
    if args
        .iter()
        .any(|w| w.starts_with("--version") || *w == "--vers")
    {
        return;
    }
    let mut skip_next = false;
    for word in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if word.starts_with('-') {
            skip_next = OPTIONS_WITH_VALUES.contains(word);
            continue;
        }
        if by_name(word) && !word.contains('@') {
            unpinned.push((*word).to_owned());
        }
    }
}
/// `FROM` lines naming an image without a tag or digest, or `:latest`.
pub fn base_images(path: &str, instructions: &[Instruction], out: &mut Vec<Finding>) {
    let mut stages: Vec<String> = Vec::new();
    // The `ARG`s before the first `FROM` may name the image (`FROM debian:${DEBIAN}`): their
    // defaults are what a build without `--build-arg` takes.
    let mut arguments: Vec<(String, String)> = Vec::new();
    let mut seen_from = false;
    for instruction in instructions {
        // The stages before this instruction's own (`FROM base AS base` names an image).
        let mut earlier = stages.len();
        let image = match instruction.keyword.as_str() {
            "ARG" if !seen_from => {
                for (key, value) in crate::audit::dockerfile::assignments(instruction) {
                    arguments.push((key, value.unwrap_or_default()));
                }
                continue;
            }
            "FROM" => {
                seen_from = true;
                let words: Vec<&str> = instruction
                    .args
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                let Some(image) = words.first().copied() else {
                    continue;
                };
                if let [_, as_word, name, ..] = words.as_slice() {
                    if as_word.eq_ignore_ascii_case("as") {
                        // A stage named through an `ARG` (`AS ${BASE}-base`) by its default.
                        let name =
                            substitute(name, &arguments).unwrap_or_else(|| (*name).to_owned());
                        earlier = stages.len();
                        stages.push(name.to_ascii_lowercase());
                    }
                }
                (image, "base image")
            }
            // `COPY --from=tonistiigi/xx / /`: an image pulled into the build by reference.
            "COPY" => {
                let Some(image) = instruction
                    .args
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("--from="))
                else {
                    continue;
                };
                if !image.contains(['/', ':']) {
                    continue;
                }
                (image, "image copied from")
            }
            _ => continue,
        };
        let (written, what) = image;
        let resolved = substitute(written, &arguments);
        let Some(image) = resolved.as_deref().filter(|i| !i.contains('$')) else {
            continue;
        };
        // An earlier stage of this file, by its name as written or by the `ARG`s' defaults
        // (`FROM ${BASE}-php-ext-base` is the stage `fpm-php-ext-base`).
        if [written, image]
            .iter()
            .any(|i| stages[..earlier].contains(&i.to_ascii_lowercase()))
        {
            continue;
        }
        if image == "scratch" || image.contains('@') {
            continue;
        }
        let Some(message) = unpinned_image(image) else {
            continue;
        };
        let column = instruction.column + instruction.args.find(written).unwrap_or(0);
        let resolved_note = if image == written {
            String::new()
        } else {
            format!(" (`{image}` by its `ARG` default)")
        };
        out.push(Finding::new(
            &UNPINNED_BASE_IMAGE,
            path,
            (instruction.line, column),
            format!("{what} {message}{resolved_note}: each build takes whatever is newest"),
            written,
            false,
        ));
    }
}
/// `$NAME` and `${NAME}` replaced by the `ARG` defaults; `None` when one has none.
pub(super) fn substitute(image: &str, arguments: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = image;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let value = arguments
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim_matches(['"', '\'']))
            .filter(|value| !value.is_empty())?;
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}
/// Why an image reference does not pin what runs: no tag, `latest`, a release channel
/// (`sid`, `lts`, `edge`), or a variant without a version (`node:alpine`). A digest, a
/// version (`python:3.12-slim`) or a distribution's codename (`debian:bookworm-slim`) pins.
pub(super) fn unpinned_image(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let tag = last.split_once(':').map(|(_, tag)| tag);
    // A channel (`debian:sid-slim`, `node:lts-alpine`, `alpine:edge`, `rust:nightly`)
    // moves by design, whatever the name around it.
    let channel = tag.is_some_and(|tag| {
        tag.split(['-', '.', '_']).any(|part| {
            [
                "sid", "unstable", "testing", "rolling", "edge", "nightly", "stable", "lts",
                "current", "latest",
            ]
            .contains(&part)
        })
    });
    match tag {
        None => Some("without a tag"),
        Some("latest") => Some("tagged latest"),
        Some(_) if channel => Some("tagged with a release channel, not a version"),
        // `node:alpine`, `python:slim`, `golang:trixie`: a variant, no version (a version
        // in the name counts: `distroless/base-debian13:nonroot`; so does a
        // distribution's codename, its version: `debian:bookworm-slim`, `ubuntu:noble`).
        Some(_)
            if !last.contains(|c: char| c.is_ascii_digit())
                && !["debian", "ubuntu"].contains(&last.split(':').next().unwrap_or_default()) =>
        {
            Some("tagged with a variant but no version")
        }
        Some(_) => None,
    }
}
