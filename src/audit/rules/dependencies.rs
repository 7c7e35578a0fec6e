//! Factor II, Dependencies: explicitly declare and isolate dependencies.

use crate::audit::files::{self, Kinds};
use crate::audit::finding::{Factor, Finding, Severity};
use crate::audit::module::Module;
use crate::audit::project::{File, Project};
use crate::audit::rule::{Roles, Rule};
use crate::audit::scan::{Fact, Hit, Pattern};

mod pins;
use pins::unpinned_image;
pub use pins::{
    UNPINNED_BASE_IMAGE, UNPINNED_IMAGE_INSTALL, UNPINNED_REQUIREMENT, base_images, image_installs,
    requirements,
};

/// The factor's rules, patterns and project check.
pub static MODULE: Module = Module {
    rules: &[
        &MISSING_MANIFEST,
        &MISSING_LOCKFILE,
        &UNPINNED_REQUIREMENT,
        &UNTRACKED_LOCKFILE,
        &MAVEN_UNPINNED,
        &UNPINNED_BASE_IMAGE,
        &UNPINNED_DEPLOYED_IMAGE,
        &UNPINNED_IMAGE_INSTALL,
        &UNDECLARED_TOOL,
    ],
    patterns: &[PATTERNS],
    check,
};

pub static MISSING_MANIFEST: Rule = Rule {
    id: "dependencies/missing-manifest",
    factor: Factor::II,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "Code imports third-party packages that no dependency manifest declares",
    explanation: "A twelve-factor app declares all dependencies, completely and exactly, via a dependency declaration manifest. Code that imports a package no manifest names works only where someone installed it by hand, and a build on a fresh machine fails or, worse, picks up whatever version the system has.",
    fix: "Declare the dependencies: requirements.txt or pyproject.toml (Python), package.json (Node), go.mod (Go), Cargo.toml (Rust), pom.xml or build.gradle (Java).",
};

pub static MISSING_LOCKFILE: Rule = Rule {
    id: "dependencies/missing-lockfile",
    factor: Factor::II,
    severity: Severity::Error,
    roles: Roles::PRODUCTION,
    summary: "A dependency manifest without its lockfile",
    explanation: "A twelve-factor app declares all dependencies, completely and exactly. A manifest without a lockfile gives version ranges: two builds of the same commit can install different code, so a release is not reproducible and a rollback may not restore what ran.",
    fix: "Generate the lockfile (`cargo generate-lockfile`, `npm install`, `poetry lock`, `uv lock`, `bundle lock`, `go mod tidy`, `composer update --lock`) and commit it.",
};

pub static UNTRACKED_LOCKFILE: Rule = Rule {
    id: "dependencies/untracked-lockfile",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "The lockfile exists but is not committed",
    explanation: "A lockfile only pins what builds install when it is part of the codebase; an ignored or uncommitted one pins nothing on any other machine.",
    fix: "Remove the lockfile from .gitignore and commit it.",
};

pub static MAVEN_UNPINNED: Rule = Rule {
    id: "dependencies/maven-unpinned",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A Maven version range or -SNAPSHOT dependency",
    explanation: "Maven has no lockfile: a version range or a SNAPSHOT resolves to whatever the repository holds at build time, so the same commit builds different apps.",
    fix: "Use exact release versions for every dependency, plugin and parent.",
};

pub static UNPINNED_DEPLOYED_IMAGE: Rule = Rule {
    id: "dependencies/unpinned-deployed-image",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "A production Compose file runs an image without a tag, or tagged latest",
    explanation: "The image a deployment runs is a dependency like the base image of a build. Without a tag (or with `latest`, or a channel such as `lts`) every pull can bring a different program, so two hosts of one deploy, or one host before and after a restart, run different code.",
    fix: "Name a version tag (`postgres:16.4`, `ghcr.io/acme/app:1.8.2`), or better a digest (`@sha256:…`).",
};

pub static UNDECLARED_TOOL: Rule = Rule {
    id: "dependencies/undeclared-tool",
    factor: Factor::II,
    severity: Severity::Warning,
    roles: Roles::PRODUCTION,
    summary: "Code shells out to a system tool that `[requires] tools` does not declare",
    explanation: "A twelve-factor app never relies on the implicit existence of system-wide tools: shelling out to ImageMagick or curl works on the laptop that has them and fails in production on the machine that does not.",
    fix: "Declare the tool in dozen.toml (`[requires] tools = [\"convert\"]`, checked on PATH by `dozen check`), or use a library instead.",
};

/// Programs every POSIX system has, and the shell's own commands (`cd` in `cd x && git
/// pull` is not a tool).
const BASE_TOOLS: [&str; 37] = [
    "sh", "bash", "env", "echo", "true", "false", "test", "cat", "ls", "mkdir", "rm", "cp", "mv",
    "kill", "sleep", "printf", "pwd", "cd", "export", "set", "unset", "source", "exec", "eval",
    "exit", "read", "wait", "trap", "type", "command", "umask", "ulimit", "alias", "if", "for",
    "while", "case",
];

fn undeclared_tool(hit: &Hit<'_>) -> bool {
    use crate::audit::lex::Class;
    // Only code runs: a call in a comment, a docstring, a string or template text is an
    // example, and a backtick is a shell-out only where it opens a command literal.
    let call = hit
        .matched
        .trim_start_matches(|c: char| c == '=' || c == '(' || c.is_whitespace());
    let call_at = hit.at + hit.matched.len() - call.len();
    let runs = if call.starts_with('`') || call.starts_with("%x") || call.starts_with("<<") {
        hit.class_at(hit.evidence_at) == Class::Command
    } else {
        hit.class_at(call_at) == Class::Code
    };
    if !runs {
        return false;
    }
    let tool = hit.evidence;
    // `RAILS_ENV=production bundle exec rake`: an assignment before the command, not a tool.
    let assignment = hit
        .content
        .get(hit.evidence_at + tool.len())
        .is_some_and(|&c| c == b'=');
    if assignment {
        return false;
    }
    let runtime: &[&str] = match hit.path.rsplit_once('.').map_or("", |(_, e)| e) {
        "py" => &["python", "python3", "pip", "pip3"],
        "js" | "mjs" | "cjs" | "ts" | "mts" => &["node", "npm", "npx"],
        "rb" | "rake" => &["ruby", "bundle", "rake"],
        _ => &[],
    };
    let is_ruby = [".rb", ".rake", ".erb"]
        .iter()
        .any(|e| files::has_suffix(hit.path, e));
    // Backticks and `system(` are shell-outs in Ruby (and Perl, PHP); elsewhere they are not.
    let shell_only = hit.line.contains('`') || hit.line.contains("system(");
    let backtick_language =
        is_ruby || files::has_suffix(hit.path, ".pl") || files::has_suffix(hit.path, ".php");
    let trimmed = hit.line.trim_start();
    let comment = ["//", "#", "*", "/*", "--"]
        .iter()
        .any(|c| trimmed.starts_with(c));
    // `Command::new` is std's (or tokio's) process builder only where the file imports it;
    // clap's `Command::new("prog")` names a command line, not a program to run.
    let rust_process = !hit.line.contains("Command::new")
        || ["process::Command", "process::{"]
            .iter()
            .any(|m| memchr::memmem::find(hit.content, m.as_bytes()).is_some());
    // `yarnpkg --version` asks whether the tool is there (the code has a way without it).
    let after = &hit.line[hit.line.find(tool).map_or(0, |i| i + tool.len())..];
    let presence_check = ["--version", "-v", "-V", "version"].iter().any(|flag| {
        after
            .trim_start()
            .strip_prefix(flag)
            .is_some_and(|rest| rest.starts_with(|c: char| "'\"`) ,".contains(c)))
    });
    tool.starts_with(|c: char| c.is_ascii_alphabetic())
        && !presence_check
        && !crate::audit::clues::dev_tooling(hit.path)
        && !comment
        && rust_process
        && !(shell_only && !backtick_language && !hit.line.contains("os.system"))
        && files::name(hit.path) != "build.rs"
        && !BASE_TOOLS.contains(&tool)
        && !runtime.contains(&tool)
        && !hit.tools.iter().any(|declared| declared == tool)
}

/// The packages the app's dependency manifests at its root declare, lower-cased: their
/// console scripts are installed with them (`pybabel` with Babel, `celery` with celery,
/// a package.json dependency's bin).
fn provided_tools(project: &Project<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for path in project.files.iter().filter(|p| !p.contains('/')) {
        let name = files::name(path);
        let Some(text) = (if crate::audit::files::is_requirements(path, name)
            || ["package.json", "Gemfile", "pyproject.toml", "Pipfile"].contains(&name)
        {
            project.read(path)
        } else {
            None
        }) else {
            continue;
        };
        if name == "package.json" {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
                for key in ["dependencies", "devDependencies"] {
                    if let Some(deps) = value[key].as_object() {
                        out.extend(deps.keys().map(|k| k.to_ascii_lowercase()));
                    }
                }
            }
            continue;
        }
        for line in text.lines() {
            let line = line.trim();
            let word = if let Some(rest) = line.strip_prefix("gem ") {
                rest.trim()
                    .trim_matches(|c| c == '\'' || c == '"')
                    .split(['\'', '"'])
                    .next()
            } else {
                line.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
                    .next()
            };
            if let Some(word) = word.filter(|w| w.len() > 1) {
                out.push(word.to_ascii_lowercase());
            }
        }
    }
    out
}

/// Whether a tool is the console script of a package: the same name, or the name with the
/// ecosystem's prefix (`pybabel` is Babel's, `django-admin` Django's).
fn tool_is_package(tool: &str, package: &str) -> bool {
    let tool = tool.to_ascii_lowercase();
    let package = package.replace('_', "-");
    tool == package
        || tool.strip_prefix("py") == Some(package.as_str())
        || tool
            .split_once('-')
            .is_some_and(|(head, _)| head == package && head.len() > 2)
}

const TOOL_MESSAGE: &str = "shells out to a system tool that [requires] tools does not declare";

/// Python's standard library (`sys.stdlib_module_names`, 3.11, public names).
const PYTHON_STDLIB: &str = " __future__ abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo ";
/// Node's built-in modules (`require('module').builtinModules`).
const NODE_BUILTINS: &str = " assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel dns domain events fs http http2 https inspector module net os path perf_hooks process punycode querystring readline repl stream string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads zlib ";

fn listed(list: &str, name: &str) -> bool {
    list.contains(&format!(" {name} "))
}

fn extension<'a>(hit: &Hit<'a>) -> &'a str {
    hit.path.rsplit_once('.').map_or("", |(_, e)| e)
}

fn third_party_python(hit: &Hit<'_>) -> bool {
    extension(hit) == "py" && !hit.evidence.starts_with('_') && !listed(PYTHON_STDLIB, hit.evidence)
}

fn third_party_node(hit: &Hit<'_>) -> bool {
    let name = hit.evidence.split('/').next().unwrap_or_default();
    [
        "js", "mjs", "cjs", "ts", "mts", "cts", "tsx", "jsx", "vue", "svelte",
    ]
    .contains(&extension(hit))
        && !hit.evidence.starts_with("node:")
        && !listed(NODE_BUILTINS, name)
}

fn go_file(hit: &Hit<'_>) -> bool {
    extension(hit) == "go"
}

fn third_party_java(hit: &Hit<'_>) -> bool {
    let top = hit.evidence.split('.').next().unwrap_or_default();
    ["java", "kt"].contains(&extension(hit))
        && !["java", "javax", "jdk", "sun", "kotlin"].contains(&top)
}

pub static PATTERNS: &[Pattern] = &[
    // A Terraform resource's container image (Cloud Run, ECS, Kubernetes providers):
    // `image = "docker.io/org/app:latest"`.
    Pattern::new(
        &UNPINNED_DEPLOYED_IMAGE,
        r#"(?m)^\s*image\s*=\s*"([^"$\s]+)"\s*$"#,
        "image without a tag or tagged latest, as Terraform deploys it",
        Kinds::of(&[files::Kind::Config]),
    )
    .verify(|hit| {
        files::has_extension(hit.path, &["tf", "hcl"])
            && matches!(unpinned_image(hit.evidence), Some("without a tag" | "tagged latest"))
    })
    .gate("image"),
    Pattern::fact(
        Fact::ImportPython,
        r"(?m)^[ \t]*(?:from[ \t]+([A-Za-z_][A-Za-z0-9_]*)[A-Za-z0-9_.]*[ \t]+import\b|import[ \t]+([A-Za-z_][A-Za-z0-9_]*))",
        Kinds::CODE,
    )
    .verify(third_party_python),
    Pattern::fact(
        Fact::ImportNode,
        r#"(?m)(?:\brequire\(\s*|^[ \t]*import\s+(?:[^'";]+?\s+from\s+)?|^[ \t]*export\s+[^'";]+?\s+from\s+)["']((?:@[A-Za-z0-9_.-]+/)?[A-Za-z0-9_][A-Za-z0-9_.:-]*)"#,
        Kinds::CODE,
    )
    .verify(third_party_node),
    Pattern::fact(
        Fact::ImportGo,
        r#"(?m)^[ \t]*(?:import[ \t]+)?(?:[A-Za-z_.][A-Za-z0-9_]*[ \t]+)?"([a-z0-9-]+(?:\.[a-z0-9-]+)+/[^"\s]+)"[ \t]*$"#,
        Kinds::CODE,
    )
    .verify(go_file),
    Pattern::fact(
        Fact::ImportJava,
        r"(?m)^import[ \t]+(?:static[ \t]+)?([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\.[A-Z*]",
        Kinds::CODE,
    )
    .verify(third_party_java),

    Pattern::new(
        &UNDECLARED_TOOL,
        r#"subprocess\.(?:run|call|check_call|check_output|Popen)\(\s*\[?\s*[rbf]?["']([A-Za-z0-9_.+-]+)"#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"subprocess"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r#"\b(?:os\.system|os\.popen|system)\(\s*[rbf]?["']([A-Za-z0-9_.+-]+)"#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"system\(|popen\("),
    Pattern::new(
        &UNDECLARED_TOOL,
        r#"exec\.Command(?:Context)?\((?:[A-Za-z_][A-Za-z0-9_]*,\s*)?"([A-Za-z0-9_.+-]+)""#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"exec\.Command"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r#"Command::new\(\s*"([A-Za-z0-9_.+-]+)"\s*\)"#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"Command::new"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r#"\b(?:execSync|execFileSync|execFile|spawnSync|spawn|child_process\.exec)\(\s*["'`]([A-Za-z0-9_.+-]+)"#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"execSync|execFile|spawn|child_process"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r#"(?:Runtime\.getRuntime\(\)\.exec|new\s+ProcessBuilder)\(\s*(?:new\s+String\[\]\s*\{\s*|List\.of\(\s*|Arrays\.asList\(\s*)?"([A-Za-z0-9_.+-]+)"#,
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"Runtime|ProcessBuilder"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r"(?:^|[=(\s])`([A-Za-z][A-Za-z0-9_.+-]*)[\s`]",
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool),
    // Ruby's other command literals: `%x(…)` and a backtick heredoc's first command.
    Pattern::new(
        &UNDECLARED_TOOL,
        r"%x[(\[{<|!]\s*([A-Za-z][A-Za-z0-9_.+-]*)",
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"%x"),
    Pattern::new(
        &UNDECLARED_TOOL,
        r"<<[~-]?`[A-Za-z_][A-Za-z0-9_]*`[^\n]*\n\s*([A-Za-z][A-Za-z0-9_.+-]*)",
        TOOL_MESSAGE,
        Kinds::CODE,
    )
    .verify(undeclared_tool)
    .gate(r"<<"),
];

/// Each manifest, the lockfiles that pin it (any one will do), and whether this manifest
/// declares dependencies at all.
/// A manifest's name, its lockfiles, and whether a manifest's text declares dependencies.
type Ecosystem = (&'static str, &'static [&'static str], fn(&str) -> bool);

const ECOSYSTEMS: [Ecosystem; 8] = [
    ("Cargo.toml", &["Cargo.lock"], |_| true),
    (
        "package.json",
        &[
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lock",
            "bun.lockb",
        ],
        package_json_has_dependencies,
    ),
    (
        "pyproject.toml",
        &[
            "poetry.lock",
            "uv.lock",
            "pdm.lock",
            "pylock.toml",
            "Pipfile.lock",
            "requirements.txt",
        ],
        pyproject_has_dependencies,
    ),
    ("Pipfile", &["Pipfile.lock"], |_| true),
    ("Gemfile", &["Gemfile.lock"], |_| true),
    ("go.mod", &["go.sum"], |text| text.contains("require")),
    ("composer.json", &["composer.lock"], |text| {
        json_object_not_empty(text, &["require"])
    }),
    ("mix.exs", &["mix.lock"], |_| true),
];

fn json_object_not_empty(text: &str, keys: &[&str]) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return true;
    };
    keys.iter().any(|key| {
        value
            .get(key)
            .and_then(serde_json::Value::as_object)
            .is_some_and(|deps| !deps.is_empty())
    })
}

fn package_json_has_dependencies(text: &str) -> bool {
    json_object_not_empty(
        text,
        &["dependencies", "devDependencies", "optionalDependencies"],
    )
}

fn pyproject_has_dependencies(text: &str) -> bool {
    let Ok(value) = toml::from_str::<toml::Table>(text) else {
        return true;
    };
    let project = value
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
        .is_some_and(|deps| !deps.is_empty());
    let poetry = value
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_table)
        .is_some_and(|deps| deps.keys().any(|k| k != "python"));
    project || poetry
}

/// Per language: the fact of a third-party import, the language, and its manifests.
const LANGUAGES: [(Fact, &str, &[&str]); 4] = [
    (
        Fact::ImportPython,
        "Python",
        &[
            "requirements.txt",
            "pyproject.toml",
            "Pipfile",
            "setup.py",
            "setup.cfg",
            "environment.yml",
        ],
    ),
    // Rails' importmap pins the JavaScript packages instead of a package.json.
    (Fact::ImportNode, "Node", &["package.json", "importmap.rb"]),
    (Fact::ImportGo, "Go", &["go.mod"]),
    (
        Fact::ImportJava,
        "Java",
        &["pom.xml", "build.gradle", "build.gradle.kts", "build.xml"],
    ),
];

/// Whether a Python module or Java package is the app's own: a file or directory of that name.
fn is_local(project: &Project<'_>, fact: Fact, module: &str) -> bool {
    let as_dir = module.replace('.', "/");
    project.files.iter().any(|path| {
        let in_dir =
            path.starts_with(&format!("{as_dir}/")) || path.contains(&format!("/{as_dir}/"));
        in_dir || fact == Fact::ImportPython && files::name(path) == format!("{module}.py")
    })
}

/// The Hex packages a Mix project depends on (`{:phoenix_html, "~> 4.0"}` in `mix.exs`).
fn hex_packages(project: &Project<'_>) -> Vec<String> {
    let Some(text) = project
        .files
        .iter()
        .find(|f| files::name(f) == "mix.exs")
        .and_then(|f| project.read(f))
    else {
        return Vec::new();
    };
    text.split("{:")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Code importing third-party packages with no manifest for its language anywhere in the app.
fn missing_manifests(project: &Project<'_>, out: &mut Vec<Finding>) {
    let hex = hex_packages(project);
    for (fact, language, manifests) in LANGUAGES {
        let declared = project.files.iter().any(|path| {
            let name = files::name(path);
            manifests.contains(&name)
                || fact == Fact::ImportPython
                    && name.starts_with("requirements")
                    && files::has_suffix(name, ".txt")
        });
        if declared {
            continue;
        }
        let Some(import) = project.facts(fact).find(|f| {
            // Phoenix's JavaScript comes with its Hex packages (esbuild resolves
            // `phoenix_html` from `deps/`): declared by mix.exs.
            let from_hex = fact == Fact::ImportNode && hex.contains(&f.value);
            !(is_local(project, fact, &f.value) || from_hex)
        }) else {
            continue;
        };
        out.push(Finding::new(
            &MISSING_MANIFEST,
            &import.path,
            (import.line, import.column),
            format!(
                "imports `{}`, but no {} declares the app's {language} dependencies",
                import.value,
                manifests.join(", ")
            ),
            &import.value,
            false,
        ));
    }
}

/// Manifests without a lockfile in their directory or one above it (workspaces keep one at
/// the root), and lockfiles that are not committed.
/// A package published for others to depend on, whose users' lockfiles pin what it uses (by
/// Cargo's and Composer's own advice it commits none): a Rust crate with a `src/lib.rs` and
/// no binary, a Composer package of `"type": "library"`.
fn is_library(project: &Project<'_>, path: &str, dir: &str) -> bool {
    match files::name(path) {
        "Cargo.toml" => {
            let has = |p: &str| project.has(&format!("{dir}{p}"));
            let text = project.read(path).unwrap_or_default();
            has("src/lib.rs")
                && !has("src/main.rs")
                && !text.contains("[[bin]]")
                && !project
                    .files
                    .iter()
                    .any(|f| f.starts_with(&format!("{dir}src/bin/")))
                && !text.contains("[workspace]")
        }
        "composer.json" => project.read(path).is_some_and(|text| {
            serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| v["type"].as_str() == Some("library"))
        }),
        _ => false,
    }
}

/// Images production Compose files run that a pull can change: no tag, `latest`, a channel.
/// (A service built from the app's source has no image to pin; a variable is the deploy's.)
/// A Compose value with each `${NAME:-default}` and `${NAME-default}` replaced by its
/// default; a `${NAME}` without one is left as it is.
fn interpolate_defaults(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = &rest[at + 2..at + end];
        match inner.split_once(":-").or_else(|| inner.split_once('-')) {
            Some((_, default)) if !default.contains('$') => out.push_str(default),
            _ => out.push_str(&rest[at..=at + end]),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

fn deployed_images(project: &Project<'_>, out: &mut Vec<Finding>) {
    for (path, text, documents) in project.production_compose_files() {
        let lines: Vec<&str> = text.lines().collect();
        for document in &documents {
            let Some(services) = document.get("services") else {
                continue;
            };
            for (_, service) in services.entries() {
                let Some(node) = service.get("image") else {
                    continue;
                };
                let Some(written) = node.as_str() else {
                    continue;
                };
                // `app:${APP_VERSION:-latest}` runs its default wherever nothing sets it.
                let image = interpolate_defaults(written);
                if service.get("build").is_some() || image.contains('$') || image.is_empty() {
                    continue;
                }
                let image = image.as_str();
                let Some(message) = unpinned_image(image) else {
                    continue;
                };
                let column = lines
                    .get(node.line.saturating_sub(1))
                    .and_then(|l| l.find(written))
                    .map_or(1, |c| c + 1);
                // One cause per app: its deployment pins the images it runs, or not.
                out.push(
                    Finding::new(
                        &UNPINNED_DEPLOYED_IMAGE,
                        path,
                        (node.line, column),
                        format!("image {message}: each pull can bring a different program"),
                        image,
                        false,
                    )
                    .with_cause("the images production Compose files run"),
                );
            }
        }
    }
}

pub fn check(project: &Project<'_>, out: &mut Vec<Finding>) {
    missing_manifests(project, out);
    deployed_images(project, out);
    let provided = provided_tools(project);
    let image_tools: &[String] = project.model.map_or(&[], |m| &m.image_tools);
    out.retain(|f| {
        f.rule != UNDECLARED_TOOL.id
            || !(provided.iter().any(|p| tool_is_package(&f.evidence, p))
                || image_tools.contains(&f.evidence))
    });
    for path in project.files {
        let name = files::name(path);
        let Some((_, locks, declares)) = ECOSYSTEMS.iter().find(|(m, _, _)| *m == name) else {
            continue;
        };
        if files::kind(path) == files::Kind::Test {
            continue;
        }
        let dir = &path[..path.len() - name.len()];
        let candidates: Vec<String> = ancestors(dir)
            .flat_map(|d| locks.iter().map(move |lock| format!("{d}{lock}")))
            .collect();
        if let Some(lock) = candidates.iter().find(|c| project.has(c)) {
            if !project.is_tracked(lock) {
                out.push(untracked(lock));
            }
            continue;
        }
        if let Some(lock) = candidates.iter().find(|c| project.root.join(c).is_file()) {
            out.push(untracked(lock));
            continue;
        }
        if !project.read(path).is_none_or(|text| declares(&text)) {
            continue;
        }
        if is_library(project, path, dir) {
            continue;
        }
        out.push(Finding::new(
            &MISSING_LOCKFILE,
            path,
            (1, 1),
            format!("{name} has no lockfile ({})", locks.join(", ")),
            name,
            false,
        ));
    }
}

fn untracked(lock: &str) -> Finding {
    Finding::new(
        &UNTRACKED_LOCKFILE,
        lock,
        (1, 1),
        "the lockfile is not committed".to_owned(),
        files::name(lock),
        false,
    )
}

/// `a/b/` gives `a/b/`, `a/`, and the empty string (the app root).
fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(dir);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current.is_empty() {
            None
        } else {
            let trimmed = &current[..current.len() - 1];
            Some(trimmed.rfind('/').map_or("", |i| &trimmed[..=i]))
        };
        Some(current)
    })
}

/// `pom.xml`: version ranges and SNAPSHOTs in dependencies, plugins, parents and extensions
/// (the project's own version may be a SNAPSHOT).
pub fn pom(file: &File<'_>, out: &mut Vec<Finding>) {
    const BLOCKS: [&str; 5] = [
        "dependency",
        "plugin",
        "parent",
        "extension",
        "configuration",
    ];
    // The open blocks, innermost last. A `<version>` inside a plugin's `<configuration>` is
    // the plugin's business (maven-enforcer's `[3.6,)` is a rule, not a dependency).
    let mut open: Vec<&str> = Vec::new();
    let mut offset = 0;
    // The versions this build makes itself: the project's and its in-repository parent's
    // (a sibling module at the build's own SNAPSHOT is built with it, not fetched).
    let mut own_versions: Vec<String> = Vec::new();
    let parent_in_repo = file.path.contains('/')
        && file
            .neighbour(&format!(
                "{}pom.xml",
                parent_dir(file.path.rsplit_once('/').map_or("", |(d, _)| d))
            ))
            .is_some();
    let mut pending: Vec<(usize, String, bool)> = Vec::new();
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let version_at = line.find("<version>");
        let value = version_at.map(|open_at| {
            line[open_at + "<version>".len()..]
                .split("</version>")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        });
        // Blocks opened on this line before the version count (`<parent><version>…`).
        for block in BLOCKS {
            if line.contains(&format!("<{block}>")) {
                open.push(block);
            }
        }
        if let (Some(at), Some(value)) = (version_at, value) {
            let innermost = open.last().copied();
            let closes_here = BLOCKS
                .iter()
                .find(|b| line.contains(&format!("</{b}>")))
                .copied();
            let block = innermost.or(closes_here);
            match block {
                None => own_versions.push(value),
                Some("configuration") => {}
                Some("parent") => {
                    if parent_in_repo {
                        own_versions.push(value.clone());
                    } else {
                        pending.push((start + at + "<version>".len(), value, true));
                    }
                }
                Some(_) => pending.push((start + at + "<version>".len(), value, false)),
            }
        }
        for block in BLOCKS {
            if line.contains(&format!("</{block}>")) {
                if let Some(i) = open.iter().rposition(|b| *b == block) {
                    open.remove(i);
                }
            }
        }
    }
    for (at, value, _) in pending {
        let unpinned = value.starts_with('[')
            || value.starts_with('(')
            || value.ends_with("-SNAPSHOT")
            || value == "LATEST"
            || value == "RELEASE";
        if unpinned && !own_versions.contains(&value) {
            out.push(Finding::new(
                &MAVEN_UNPINNED,
                file.path,
                file.position(at),
                format!("version `{value}` is not a fixed release"),
                &value,
                false,
            ));
        }
    }
}

/// `a/b/` for `a/b/c`, the empty string for `a`: where a module's parent POM is by Maven's
/// default.
fn parent_dir(dir: &str) -> String {
    match dir.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_defaults_interpolated() {
        assert_eq!(interpolate_defaults("app:${V:-latest}"), "app:latest");
        assert_eq!(
            interpolate_defaults("${REG-ghcr.io}/app:${V}"),
            "ghcr.io/app:${V}"
        );
        assert_eq!(interpolate_defaults("app:1.2"), "app:1.2");
        assert_eq!(interpolate_defaults("app:${V:-"), "app:${V:-");
    }
    use crate::audit::dockerfile;
    use crate::audit::files::Kind;

    fn file<'a>(path: &'a str, text: &'a str) -> File<'a> {
        File {
            path,
            name: files::name(path),
            kind: Kind::Config,
            text,
            root: std::path::Path::new(""),
        }
    }

    #[test]
    fn requirements_must_be_pinned() {
        let mut out = Vec::new();
        requirements(
            &file(
                "requirements.txt",
                "# deps\nflask==3.0.0\nrequests>=2\n-r base.txt\n  gunicorn\nnumpy==1.*\npkg @ https://x/y.whl\nhashed==1.0 \\\n    --hash=sha256:abc\ndjango ; python_version > '3'\nBleach_x==6.3.0\nbleach-x[css]\nrequests[socks]\n",
            ),
            &mut out,
        );
        let got: Vec<(usize, usize, &str)> = out
            .iter()
            .map(|f| (f.line, f.column, f.evidence.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (3, 1, "requests>=2"),
                (5, 3, "gunicorn"),
                (6, 1, "numpy==1.*"),
                (10, 1, "django"),
                (13, 1, "requests[socks]")
            ]
        );
        // The docs site's tools are not the app's dependencies; one app package among them is.
        let mut out = Vec::new();
        let docs = "mkdocs-material\nmkdocs-minify-plugin>=0.7\nSphinx\n";
        requirements(&file("requirements.txt", docs), &mut out);
        assert!(out.is_empty());
        requirements(
            &file("requirements.txt", &format!("{docs}flask\n")),
            &mut out,
        );
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn maven_ranges_and_snapshots_in_dependencies_only() {
        let mut out = Vec::new();
        pom(
            &file(
                "pom.xml",
                "<project>\n<version>1.0-SNAPSHOT</version>\n<dependencies>\n<dependency>\n<artifactId>a</artifactId>\n<version>[1.0,2.0)</version>\n</dependency>\n<dependency><artifactId>b</artifactId><version>2.1-SNAPSHOT</version></dependency>\n<dependency>\n<version>3.2.1</version>\n</dependency>\n<dependency><artifactId>sibling</artifactId><version>1.0-SNAPSHOT</version></dependency>\n</dependencies>\n<plugin>\n<artifactId>maven-enforcer-plugin</artifactId>\n<version>3.5.0</version>\n<configuration>\n<rules><requireMavenVersion>\n<version>[3.6,)</version>\n</requireMavenVersion></rules>\n</configuration>\n</plugin>\n</project>\n",
            ),
            &mut out,
        );
        let got: Vec<(usize, &str)> = out.iter().map(|f| (f.line, f.evidence.as_str())).collect();
        // Not the enforcer's rule (line 19), not a sibling module at the build's own version.
        assert_eq!(got, [(6, "[1.0,2.0)"), (8, "2.1-SNAPSHOT")]);
    }

    #[test]
    fn image_installs_need_a_version() {
        let mut out = Vec::new();
        let parsed = dockerfile::parse(
            "FROM python:3.12\nRUN pip install --no-cache-dir -r requirements.txt\nRUN uv pip install --system --python-preference system --index https://pypi.org/simple --index-strategy unsafe-best-match --requirements requirements.txt\nRUN uv pip install --system --index-strategy unsafe-best-match granian\nRUN pip wheel --wheel-dir /wheels apprise uwsgi==2.0.28 \"psycopg[c]\" && pip install --upgrade pip\nRUN npm install -g pm2@5.4.2 && npm install -g nodemon && npm install\nRUN gem install bundler -v 2.5.6 && gem install foreman\nRUN pip install .\n",
        );
        image_installs("Dockerfile", &parsed, &mut out);
        let got: Vec<(usize, &str)> = out.iter().map(|f| (f.line, f.evidence.as_str())).collect();
        assert!(out[1].message.contains("`apprise` and `psycopg[c]` are"));
        assert_eq!(
            got,
            // One finding a `RUN`, led by its first package (`psycopg[c]` is line 5's too).
            [
                (4, "granian"),
                (5, "apprise"),
                (6, "nodemon"),
                (7, "foreman")
            ]
        );
    }

    #[test]
    fn base_images_need_a_tag() {
        let mut out = Vec::new();
        let parsed = dockerfile::parse(
            "ARG DEBIAN=sid-slim\nARG NODE\nARG FLAVOUR=\"fpm\"\nFROM node AS build\nFROM build\nFROM python:latest\nFROM --platform=linux/amd64 python:3.12-slim\nFROM ghcr.io/org/app@sha256:abc\nFROM registry:5000/img\nFROM scratch\nFROM ${BASE}\nFROM node:alpine\nFROM ruby:3.3-alpine\nFROM gcr.io/distroless/base-debian13:nonroot\nFROM debian:bookworm-slim\nFROM golang:trixie\nFROM debian:sid-slim\nFROM node:20-alpine\nFROM node:lts-alpine\nFROM debian:${DEBIAN}\nFROM node:$NODE\nCOPY --from=tonistiigi/xx / /\nCOPY --from=build /app /app\nCOPY --from=ghcr.io/x/y:1.2 /b /b\nFROM base AS base\nFROM php:8.3-fpm-alpine AS fpm-ext\nFROM ${FLAVOUR}-ext AS gd\n",
        );
        base_images("Dockerfile", &parsed, &mut out);
        let got: Vec<(usize, usize, &str)> = out
            .iter()
            .map(|f| (f.line, f.column, f.evidence.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (4, 6, "node"),
                (6, 6, "python:latest"),
                (9, 6, "registry:5000/img"),
                (12, 6, "node:alpine"),
                (16, 6, "golang:trixie"),
                (17, 6, "debian:sid-slim"),
                (19, 6, "node:lts-alpine"),
                (20, 6, "debian:${DEBIAN}"),
                (22, 13, "tonistiigi/xx"),
                (25, 6, "base")
            ]
        );
    }

    #[test]
    fn ancestors_up_to_the_root() {
        assert_eq!(ancestors("a/b/").collect::<Vec<_>>(), ["a/b/", "a/", ""]);
        assert_eq!(ancestors("").collect::<Vec<_>>(), [""]);
    }
}
