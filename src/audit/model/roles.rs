//! Each file's role in the deployment, from where it is and what it is called: production
//! code or config, development-only, test, documentation or example, build tooling, vendored
//! or generated. The rules say which roles they apply to (docs/audit.md, "The model").

use serde::Serialize;

use crate::audit::files;

/// What a file is to the deployed app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Code, config or declarations the production processes run or read.
    Production,
    /// Used only on a developer's machine: development settings, local overlays, dev
    /// containers, seeds, `Procfile.dev`.
    Development,
    /// Tests, their fixtures, settings and environments, CI's test services.
    Test,
    /// Documentation and examples: prose, API docs, `*.example` files, sample apps.
    Example,
    /// Build, CI and release tooling: workflows, Makefiles, bundler configs, release scripts.
    Build,
    /// Other people's code and generated files: vendored trees, bundles, generated code.
    Vendored,
}

impl Role {
    pub const ALL: [Self; 6] = [
        Self::Production,
        Self::Development,
        Self::Test,
        Self::Example,
        Self::Build,
        Self::Vendored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Development => "development",
            Self::Test => "test",
            Self::Example => "example",
            Self::Build => "build",
            Self::Vendored => "vendored",
        }
    }
}

/// A set of roles, for what a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    /// What production runs or reads.
    pub const PRODUCTION: Self = Self::of(&[Role::Production]);
    /// What is deployed or deploys it: production, and the build and CI tooling that makes
    /// and ships the release (a live token in a workflow is a leak all the same).
    pub const SHIPPED: Self = Self::of(&[Role::Production, Role::Build]);
    /// Where real credentials live: what ships, and the development setup (a developer's
    /// token in a committed `.env` is as real as production's); never tests, fixtures,
    /// examples or other people's code, whose tokens are stand-ins.
    pub const CREDENTIALS: Self = Self::of(&[Role::Production, Role::Build, Role::Development]);
    /// Everything the repository holds but other people's code.
    pub const REPOSITORY: Self = Self::of(&[
        Role::Production,
        Role::Development,
        Role::Test,
        Role::Example,
        Role::Build,
    ]);

    pub const fn of(roles: &[Role]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= 1 << roles[i] as u8;
            i += 1;
        }
        Self(bits)
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }

    /// The roles, in order, for `dozen audit explain`.
    pub fn names(self) -> Vec<&'static str> {
        Role::ALL
            .iter()
            .filter(|r| self.contains(**r))
            .map(|r| r.as_str())
            .collect()
    }
}

/// Directories of other people's code and of generated output.
const VENDORED_DIRS: [&str; 11] = [
    "vendor",
    "vendors",
    "third_party",
    "third-party",
    "thirdparty",
    "node_modules",
    "bower_components",
    "external",
    "deps",
    "_build",
    "dist",
];
/// Directories of documentation and examples.
const EXAMPLE_DIRS: [&str; 11] = [
    "docs",
    "doc",
    "documentation",
    "examples",
    "example",
    "samples",
    "sample",
    "demo",
    "demos",
    "api-docs",
    "apidocs",
];
/// Directories of tests, their data and their tools.
const TEST_DIRS: [&str; 24] = [
    "test",
    "tests",
    "spec",
    "specs",
    "__tests__",
    "__mocks__",
    "testdata",
    "test_data",
    "testing",
    "fixtures",
    "fixture",
    "e2e",
    "cypress",
    "playwright",
    "features",
    "factories",
    "integration-tests",
    "integration_tests",
    "benchmarks",
    "bench",
    "loadtest",
    "mocks",
    // Stand-in services a test or development setup runs (`docker/dummy/webdav`).
    "dummy",
    "dummies",
];
/// Directories of build, CI and release tooling.
const BUILD_DIRS: [&str; 21] = [
    "build",
    // Gitee's and Alibaba Cloud's pipelines.
    ".workflow",
    // Operating systems' package builds (`debian/` is Debian's packaging directory).
    "debian",
    "rpm",
    "snap",
    "flatpak",
    "homebrew",
    "nfpm",
    ".woodpecker",
    ".drone",
    ".forgejo",
    ".gitea",
    ".github",
    ".circleci",
    ".gitlab",
    ".buildkite",
    ".husky",
    ".ci",
    "ci",
    ".teamcity",
    ".azure-pipelines",
];
/// Directories of a developer's machine's setup.
const DEVELOPMENT_DIRS: [&str; 18] = [
    ".devcontainer",
    // DDEV's and Lando's local environments.
    ".ddev",
    ".lando",
    // Git hooks a developer installs.
    ".githooks",
    "githooks",
    "git-hooks",
    // Editors' and coding assistants' settings.
    ".cursor",
    ".claude",
    ".zed",
    ".fleet",
    ".config",
    ".vscode",
    ".idea",
    ".gitpod",
    "seeds",
    "dev",
    "develop",
    "development",
];
/// Directories of scripts and tools: production's only when a production process names them
/// (the model promotes those), else the maintainers' (release notes, changelogs, codegen).
const SCRIPT_DIRS: [&str; 9] = [
    "bin",
    "scripts",
    "script",
    "tools",
    "tooling",
    "hack",
    "buildtools",
    "build-tools",
    "utils-scripts",
];
/// Top-level directories of release and packaging tooling (goreleaser's config, installers,
/// snap and image builds), Rust's `cargo xtask` runner and Gradle's `buildSrc` (the build's
/// own plugins): production's only when a production process names them. Deeper down
/// (`pkg/release/`) such a name is code.
const TOP_SCRIPT_DIRS: [&str; 5] = ["release", "releases", "packaging", "xtask", "buildSrc"];
/// Directories of assets a production server serves: their `docs/` are the app's pages.
const SERVED_DIRS: [&str; 5] = ["templates", "static", "public", "assets", "views"];

/// Words in a file name that mark a development or test variant of a production file
/// (`docker-compose.dev.yml`, `settings/local.py`, `application-test.yml`, `Dockerfile.dev`).
const DEVELOPMENT_WORDS: [&str; 8] = [
    "gitpod",
    "vagrant",
    "dev",
    "development",
    "local",
    "debug",
    "override",
    "devcontainer",
];
const TEST_WORDS: [&str; 9] = [
    "test", "tests", "testing", "ci", "e2e", "spec", "cypress", "unittest", "coverage",
];
const EXAMPLE_WORDS: [&str; 7] = [
    "example", "examples", "sample", "template", "dist", "tmpl", "default",
];

/// The words of a file name: split at `.`, `-`, `_` (`docker-compose.dev.yml` is `docker`,
/// `compose`, `dev`, `yml`).
fn name_words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(['.', '-', '_'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whether a directory part is one of `dirs` or names one with a prefix (`test-environments`,
/// `tests_integration`).
fn dir_is(dir: &str, dirs: &[&str]) -> bool {
    // Without allocating: this runs for every directory of every file of the app.
    let bytes = dir.as_bytes();
    dirs.iter().any(|d| {
        let d = d.as_bytes();
        let prefix = bytes.len() >= d.len()
            && bytes[..d.len()].eq_ignore_ascii_case(d)
            && (bytes.len() == d.len() || matches!(bytes[d.len()], b'-' | b'_'));
        // A module named for what it holds after the project's name (`shenyu-examples`,
        // `app-integrated-test`, `web_e2e`), for the words that say so unambiguously.
        let suffix = SUFFIX_WORDS
            .iter()
            .any(|w| w.as_bytes().eq_ignore_ascii_case(d))
            && bytes.len() > d.len()
            && bytes[bytes.len() - d.len()..].eq_ignore_ascii_case(d)
            && matches!(bytes[bytes.len() - d.len() - 1], b'-' | b'_');
        prefix || suffix
    })
}

/// The directory words that also count at the end of a directory's name.
const SUFFIX_WORDS: [&str; 11] = [
    "examples", "example", "samples", "sample", "demo", "demos", "test", "tests", "e2e",
    "fixtures", "mocks",
];

/// The directories of `path` that can say what it is for, nearest first. Below a JVM source
/// root they are a package's name (`io/github/app/sample`), not what the files are for.
fn role_dirs(path: &str) -> Vec<&str> {
    let root = [
        "src/main/java/",
        "src/main/kotlin/",
        "src/main/scala/",
        "src/main/groovy/",
    ]
    .iter()
    .find_map(|root| path.find(root).map(|at| &path[..at + root.len() - 1]));
    match root {
        Some(root) => root.split('/').rev().collect(),
        None => path.split('/').rev().skip(1).collect(),
    }
}

/// The role of the file at `path` (relative to the app, `/`-separated) and why, by its path.
pub fn of_path(path: &str) -> (Role, &'static str) {
    let name = files::name(path);
    let lower = name.to_ascii_lowercase();
    let dirs = role_dirs(path);
    // REUSE licence sidecars (`.env.license`) and licence texts describe other files.
    if files::has_suffix(&lower, ".license") || dirs.contains(&"LICENSES") {
        return (Role::Example, "a licence file");
    }
    if is_generated(&lower) {
        return (Role::Vendored, "generated or minified");
    }
    if let Some(found) = by_directory(&dirs) {
        // A Dockerfile, Compose file or unit under `scripts/docker/` still deploys.
        let deploys = files::is_dockerfile(name)
            || lower.starts_with("docker-compose")
            || lower.starts_with("compose.")
            || files::has_extension(&lower, &["service"]);
        if !(deploys && found.1 == "a script no production process names") {
            return found;
        }
    }
    if let Some(found) = aside_or_template(name, &lower, &dirs) {
        return found;
    }
    if files::kind(path) == files::Kind::Test || is_test_config(path, &lower) {
        return (Role::Test, "a test or a test's configuration");
    }
    let words: Vec<String> = name_words(name).collect();
    let stem_words = stem(&words);
    // `entity_fixtures.go`, `fixtures.py`: the data and helpers tests load.
    if stem_words.iter().any(|w| w == "fixtures" || w == "fixture")
        && !files::has_extension(&lower, &["json", "yml", "yaml"])
    {
        return (Role::Test, "test fixtures");
    }
    if (files::kind(path) == files::Kind::Doc && !is_data_text(&lower))
        || lower.starts_with("readme")
        || lower.starts_with("changelog")
        || ["openapi", "swagger", "postman"]
            .iter()
            .any(|w| lower.starts_with(w) || lower.contains(&format!(".{w}")))
        || [".http", ".rest", ".ipynb"]
            .iter()
            .any(|e| lower.ends_with(e))
    {
        return (Role::Example, "documentation");
    }
    // `config.example.json`, `settings.sample.py`, `app.ini.dist`: the word is a part of its
    // own, after the name (`0008_work_default_edition.py`, `template.html` are not examples).
    // A Go template's own extension (`about.tmpl`) is a page of the app, not a template of
    // another file (`app.ini.tmpl`).
    let parts: Vec<&str> = lower.split('.').collect();
    if parts
        .iter()
        .enumerate()
        .skip(1)
        .any(|(_, part)| EXAMPLE_WORDS.contains(part) && !(*part == "tmpl" && parts.len() == 2))
    {
        return (Role::Example, "an example or template of a file");
    }
    if is_licence(path, &lower) {
        return (Role::Example, "a licence file");
    }
    // `requirements-dev.txt`, `requirements/test.txt`: what developers and CI install.
    if crate::audit::files::is_requirements(path, name) {
        if stem_words
            .iter()
            .any(|w| TEST_WORDS.contains(&w.as_str()) || w == "lint" || w == "docs" || w == "doc")
        {
            return (Role::Test, "the requirements of tests, linters or docs");
        }
        if stem_words
            .iter()
            .any(|w| DEVELOPMENT_WORDS.contains(&w.as_str()))
        {
            return (Role::Development, "the requirements of development");
        }
    }
    if is_build_tooling(&lower) {
        return (Role::Build, "CI or build tooling");
    }
    if is_development_file(path, &lower) {
        return (Role::Development, "used only in development");
    }
    if let Some(found) = by_top_level(path) {
        return found;
    }
    if stem_words.iter().any(|w| TEST_WORDS.contains(&w.as_str()))
        && !is_code_stem(&lower)
        && is_deployment_file(&lower)
    {
        return (Role::Test, "a test variant of a file");
    }
    if stem_words
        .iter()
        .any(|w| DEVELOPMENT_WORDS.contains(&w.as_str()))
        && is_deployment_file(&lower)
    {
        return (Role::Development, "a development variant of a file");
    }
    (Role::Production, BY_DEFAULT)
}

/// Why a file is production's when nothing says otherwise.
pub const BY_DEFAULT: &str = "nothing marks it otherwise: the app's code or config";

/// What a top-level name says: a dotfile or dot-directory is a tool's (linters, hooks,
/// scanners, translation sync, editors), except the ones a platform or server reads to deploy
/// or serve the app; towncrier's fragment directories are the changelog's.
fn by_top_level(path: &str) -> Option<(Role, &'static str)> {
    const DEPLOYS: [&str; 16] = [
        ".profile.d",
        ".profile",
        ".htaccess",
        ".user.ini",
        ".docker",
        ".platform",
        ".platform.app.yaml",
        ".upsun",
        ".do",
        ".ebextensions",
        ".kamal",
        ".fly",
        ".s2i",
        ".well-known",
        ".slugignore",
        ".buildpacks",
    ];
    let top = path.split('/').next().unwrap_or(path);
    let lower = top.to_ascii_lowercase();
    if lower.starts_with('.')
        && !DEPLOYS.contains(&lower.as_str())
        && !lower.starts_with(".dokku")
        // Env files and their directories (cookiecutter-django's `.envs/.production/`).
        && !lower.starts_with(".env")
        && files::env_file_kind(top).is_none()
    {
        return Some((Role::Build, "a tool's dotfile or directory"));
    }
    (path.contains('/')
        && matches!(
            lower.as_str(),
            "changes" | "changelog.d" | "newsfragments" | "changelog" | "changelogs"
        ))
    .then_some((Role::Example, "changelog fragments"))
}

/// Generated or minified by its name (`app.min.js`, `api.pb.go`, `vendor.bundle.js`).
fn is_generated(lower: &str) -> bool {
    [
        ".min.js",
        ".min.css",
        ".map",
        ".pb.go",
        "_pb2.py",
        ".generated.ts",
        ".g.dart",
    ]
    .iter()
    .any(|end| lower.ends_with(end))
        || lower.contains(".bundle.")
}

/// A copy kept aside (`Dockerfile.old`, `settings.py.bak`), which nothing runs, and an env
/// file's role (under `templates/`, what a setup script copies and fills in).
fn aside_or_template(name: &str, lower: &str, dirs: &[&str]) -> Option<(Role, &'static str)> {
    if files::has_extension(lower, &["old", "bak", "orig", "backup", "disabled"]) {
        return Some((Role::Example, "a copy kept aside"));
    }
    let kind = files::env_file_kind(name)?;
    if dirs
        .iter()
        .any(|d| d.eq_ignore_ascii_case("templates") || d.eq_ignore_ascii_case("template"))
    {
        return Some((Role::Example, "an env file template"));
    }
    Some(env_file_role(lower, kind))
}

/// A `.txt` that is data or config, not prose: pip requirements and constraints, Heroku's
/// `runtime.txt`, `robots.txt`, `CMakeLists.txt`.
fn is_data_text(lower: &str) -> bool {
    files::has_extension(lower, &["txt"])
        && ![
            "readme",
            "changelog",
            "changes",
            "license",
            "licence",
            "notice",
            "authors",
            "contributing",
            "history",
            "copying",
            "news",
            "todo",
            "install",
        ]
        .iter()
        .any(|prose| lower.starts_with(prose))
}

/// The role its directories give a file: the directory nearest the app's root that has one
/// decides (`docs/specs/` is documentation, `tests/docs/` a test's); for one directory the
/// order is vendored, test, example, build, development; then scripts.
fn by_directory(dirs: &[&str]) -> Option<(Role, &'static str)> {
    // Pages and assets a server serves are the app's, even under `docs/`
    // (`templates/docs/`); a docs site's own `static/` is still documentation.
    let served_above = |list: &[&str]| {
        let nearest = dirs.iter().position(|d| dir_is(d, list));
        let served = dirs.iter().rposition(|d| SERVED_DIRS.contains(d));
        matches!((nearest, served), (Some(n), Some(s)) if s > n)
    };
    for dir in dirs.iter().rev() {
        if dir_is(dir, &VENDORED_DIRS) {
            return Some((Role::Vendored, "in a vendored or build-output directory"));
        }
        if dir_is(dir, &TEST_DIRS) || files::is_kind_of_test_dir(dir) {
            return Some((Role::Test, "in a test directory"));
        }
        if dir_is(dir, &EXAMPLE_DIRS) && !served_above(&EXAMPLE_DIRS) {
            return Some((Role::Example, "in a documentation or example directory"));
        }
        if dir_is(dir, &BUILD_DIRS) {
            return Some((Role::Build, "CI or build tooling"));
        }
        if dir_is(dir, &DEVELOPMENT_DIRS) {
            return Some((Role::Development, "a development environment's setup"));
        }
    }
    if dirs.iter().any(|d| SERVED_DIRS.contains(d)) {
        return None;
    }
    (dirs.iter().any(|d| {
        dir_is(d, &SCRIPT_DIRS)
            || files::has_suffix(d, "-buildtools")
            || files::has_suffix(d, "-tools")
    }) || dirs.last().is_some_and(|top| dir_is(top, &TOP_SCRIPT_DIRS)))
    .then_some((Role::Build, "a script no production process names"))
}

/// `LICENSE`, `COPYING`, `NOTICE`, `AUTHORS.md` (not code: `License.php` is a licensing
/// feature's model).
fn is_licence(path: &str, lower: &str) -> bool {
    ["license", "licence", "copying", "notice", "authors"]
        .iter()
        .any(|w| lower.starts_with(w))
        && files::kind(path) != files::Kind::Code
}

/// The words of a name without its extension (`docker-compose.dev.yml` is `docker`,
/// `compose`, `dev`; `Dockerfile.dev` keeps all its words).
fn stem(words: &[String]) -> &[String] {
    const EXTENSIONS: [&str; 24] = [
        "yml",
        "yaml",
        "json",
        "toml",
        "py",
        "rb",
        "js",
        "ts",
        "mjs",
        "cjs",
        "exs",
        "ex",
        "php",
        "properties",
        "xml",
        "conf",
        "ini",
        "env",
        "txt",
        "cfg",
        "sh",
        "dockerfile",
        "go",
        "java",
    ];
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() && EXTENSIONS.contains(&last.as_str()) => rest,
        _ => words,
    }
}

/// A code file whose name holds `ci`, `test`… as a word of its own purpose
/// (`ci_helpers.py` in the app is odd but code), as opposed to a config variant.
fn is_code_stem(lower: &str) -> bool {
    let kind = files::kind(lower);
    kind == files::Kind::Code
}

/// Files whose development variants are common: Compose files, Dockerfiles, settings.
fn is_deployment_file(lower: &str) -> bool {
    // By name, and config data files; never code by its extension (a migration named
    // `0102_remove_connector_local.py` is not a local variant of anything).
    lower.starts_with("docker-compose")
        || lower.starts_with("compose")
        || lower.starts_with("dockerfile")
        || lower.ends_with(".dockerfile")
        || lower.starts_with("procfile")
        || lower.starts_with("application")
        || lower.starts_with("settings")
        || lower.starts_with("config")
        || files::has_extension(
            lower,
            &[
                "yml",
                "yaml",
                "json",
                "toml",
                "properties",
                "ini",
                "conf",
                "exs",
            ],
        )
}

/// An env file's role: the production environment's file, a development one, a test one,
/// an example or template (by its name: `.env.example`, `.env.test`, `.env.local`).
fn env_file_role(lower: &str, kind: files::Kind) -> (Role, &'static str) {
    if kind == files::Kind::EnvExample {
        return (Role::Example, "an example env file");
    }
    let words: Vec<String> = name_words(lower).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    if has(&TEST_WORDS) {
        (Role::Test, "a test environment's env file")
    } else if has(&["production", "prod", "staging", "live"]) {
        (Role::Production, "a deployed environment's env file")
    } else if has(&DEVELOPMENT_WORDS) || lower == ".env" {
        // `.env` is the developer's own config: foreman, dotenv and dozen read it locally.
        (Role::Development, "the development environment's env file")
    } else {
        (Role::Production, "an environment's env file")
    }
}

/// Tests' settings and runners' config, by convention.
fn is_test_config(path: &str, lower: &str) -> bool {
    const NAMES: [&str; 14] = [
        "phpunit.xml",
        "phpunit.xml.dist",
        "pytest.ini",
        "tox.ini",
        "karma.conf.js",
        ".rspec",
        "codecov.yml",
        ".coveragerc",
        "behat.yml",
        "nightwatch.conf.js",
        "cypress.json",
        ".mocharc.json",
        ".mocharc.yml",
        "jest.setup.js",
    ];
    NAMES.contains(&lower)
        || ["jest.config", "vitest.config", "cypress.config", "playwright.config", "karma.conf"]
            .iter()
            .any(|p| lower.starts_with(p))
        // Rails' and Phoenix's test environment, Django's test settings, Spring's test profile.
        || path.ends_with("config/environments/test.rb")
        || path.ends_with("config/test.exs")
        || (path.contains("settings")
            && name_words(lower).any(|w| w == "test" || w == "tests" || w == "ci"))
        || lower == "tests.py"
        || lower == "test.py"
        || lower.starts_with("application-test")
        || lower.starts_with("application_test")
}

/// CI pipelines by file name, lower-cased (GitHub's, `CircleCI`'s and Buildkite's are
/// directories).
pub const CI_PIPELINES: [&str; 9] = [
    ".travis.yml",
    "appveyor.yml",
    ".appveyor.yml",
    ".drone.yml",
    ".woodpecker.yml",
    "bitbucket-pipelines.yml",
    "azure-pipelines.yml",
    ".gitlab-ci.yml",
    "jenkinsfile",
];

/// Build and release tooling by name.
fn is_build_tooling(lower: &str) -> bool {
    const NAMES: [&str; 27] = [
        "makefile",
        "gnumakefile",
        "justfile",
        "taskfile.yml",
        "rakefile",
        "gruntfile.js",
        "gulpfile.js",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        ".goreleaser.yml",
        ".goreleaser.yaml",
        ".pre-commit-config.yaml",
        "renovate.json",
        "netlify.toml",
        ".codecov.yml",
        ".editorconfig",
        "crowdin.yml",
        "sonar-project.properties",
        ".yarnrc.yml",
        ".nvmrc",
        ".dockerignore",
        ".gitattributes",
        ".gitignore",
        "biome.json",
        ".swcrc",
        "commitlint.config.js",
        ".markdownlint.json",
    ];
    NAMES.contains(&lower)
        || CI_PIPELINES.contains(&lower)
        // `.eslintignore`, `.prettierignore`, `.npmignore`: tooling's lists.
        || (lower.starts_with('.') && lower.ends_with("ignore"))
        // Linters', code-review services' and version managers' dotfiles
        // (`.haml-lint.yml`, `.codeclimate.yml`, `.pronto.yml`, `.ruby-version`).
        || (lower.starts_with('.')
            && (lower.contains("lint")
                || [
                    ".codeclimate", ".pronto", ".hound", ".reek", ".overcommit", ".simplecov",
                    ".coveralls", ".deepsource", ".mergify", ".sourcery", ".snyk", ".lgtm",
                    ".gitmodules", ".mailmap", ".tool-versions", ".ruby-version",
                    ".python-version", ".node-version", ".sdkmanrc", ".browserslistrc",
                    ".erb-lint", ".brakeman", ".bundler-audit", ".solargraph", ".kodiak",
                    ".restyled", ".imgbot", ".whitesource",
                ]
                .iter()
                .any(|p| lower.starts_with(p))))
        || [
            "webpack.", "vite.config", "rollup.config", "babel.config", ".babelrc", "tsconfig",
            ".eslintrc", "eslint.config", ".prettierrc", "postcss.config", "tailwind.config",
            "esbuild", "svelte.config", "astro.config", "nx.json", "lerna.json", "turbo.json",
            ".stylelintrc", "mix.exs", "release.config", ".releaserc", "lefthook",
            // Linters' and static analysers' config: what CI checks the code with.
            "phpstan", "psalm.xml", "rector.php", ".php-cs-fixer", ".php_cs", "phpcs.xml",
            ".phpstorm.meta", ".rubocop", ".golangci", ".flake8", ".pylintrc", "ruff.toml",
            ".ruff.toml", "mypy.ini", ".mypy.ini", "pyrightconfig", ".cspell", "cspell.",
            "checkmake", ".editorconfig-checker", ".lintstagedrc", "lint-staged.config",
            ".commitlintrc", "codecov.yaml", ".hadolint", ".yamllint", ".shellcheckrc",
            "clippy.toml", ".clippy.toml", "rustfmt.toml", ".rustfmt.toml", "deny.toml",
            ".credo.exs", ".formatter.exs", ".sobelow",
            // Test coverage, dependency graphs, type checkers' and docs generators' config,
            // code owners, build wrappers, Nix.
            ".nycrc", ".madgerc", ".flowconfig", "jsdoc", ".yamlfmt", "codeowners",
            ".coderabbit", "gradlew", "mvnw", "flake.nix", "flake.lock", "shell.nix",
            "devenv.", "mypy-baseline", ".mypy-baseline", "pyrefly",
            // Scanners', release bots' and remote builders' config.
            "trivy", "grype", "syft", "cosign", "typos", "release-please", "depot.json",
            "renovate.", "dependabot", "citation.cff",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
        // Release and packaging scripts (`scripts/release.sh`, `bin/publish`).
        || name_words(lower).next().is_some_and(|w| {
            ["release", "publish", "bump", "changeset", "deploy"].contains(&w.as_str())
                && files::kind(lower) == files::Kind::Code
        })
}

/// Development-only files by framework convention.
fn is_development_file(path: &str, lower: &str) -> bool {
    path.ends_with("config/environments/development.rb")
        || path.ends_with("config/dev.exs")
        || path.ends_with("db/seeds.rb")
        || path.ends_with("priv/repo/seeds.exs")
        || lower == "vagrantfile"
        || lower == ".envrc"
        || lower == ".flaskenv"
        || lower == "tilt"
        || lower == "tiltfile"
        || lower == "skaffold.yaml"
        || lower == "procfile.dev"
        || lower == "bin/dev"
        || path == "bin/dev"
        || path == "bin/setup"
        || lower.starts_with("seed")
        || (path.starts_with("db/") && lower.starts_with("populate"))
        || (path.contains("settings")
            && name_words(lower).any(|w| ["dev", "development", "local"].contains(&w.as_str())))
        || lower.starts_with("application-dev")
        || lower.starts_with("application-local")
        // Git's hooks by their names (`git/pre-commit`, `hooks/pre-push`).
        || files::kind(path) != files::Kind::Code
            && matches!(
                lower,
                "pre-commit"
                    | "pre-push"
                    | "commit-msg"
                    | "prepare-commit-msg"
                    | "post-checkout"
                    | "post-merge"
                    | "pre-rebase"
                    | "post-commit"
            )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_role(path: &str, role: Role) {
        assert_eq!(of_path(path).0, role, "{path}");
    }

    #[test]
    fn roles_of_paths_rounds_5_and_7() {
        for (path, role) in [
            // Round 5: package names are not roles; the outermost directory decides; linters'
            // config, other CI systems' directories, direnv and Gitpod are not production.
            (
                "src/main/java/io/github/app/sample/config/Db.java",
                Role::Production,
            ),
            (
                "src/main/kotlin/com/acme/examples/Tool.kt",
                Role::Production,
            ),
            ("docs/specs/2-how-to/docker-compose.yaml", Role::Example),
            ("tests/docs/fixture.md", Role::Test),
            ("unittests/scans/tool/report.log", Role::Test),
            ("unit_tests/k8s/deployment.yaml", Role::Test),
            ("phpstan.neon", Role::Build),
            ("rector.php", Role::Build),
            (".php-cs-fixer.php", Role::Build),
            (".golangci.yml", Role::Build),
            (".woodpecker/test.yaml", Role::Build),
            (".envrc", Role::Development),
            ("docker-compose.gitpod.yaml", Role::Development),
            ("templates/about.tmpl", Role::Production),
            ("config/app.ini.tmpl", Role::Example),
            (".cursor/rules/style.mdc", Role::Development),
            (".nycrc", Role::Build),
            ("gradlew", Role::Build),
        ] {
            assert_role(path, role);
        }
    }

    #[test]
    fn roles_of_paths() {
        for (path, role) in [
            ("app.py", Role::Production),
            ("src/server.ts", Role::Production),
            ("config/environments/production.rb", Role::Production),
            ("config/environments/development.rb", Role::Development),
            ("config/environments/test.rb", Role::Test),
            ("config/test.exs", Role::Test),
            ("config/runtime.exs", Role::Production),
            ("config/prod.exs", Role::Production),
            ("config/dev.exs", Role::Development),
            ("myapp/settings/local.py", Role::Development),
            ("myapp/settings/test.py", Role::Test),
            ("myapp/settings/production.py", Role::Production),
            ("src/main/resources/application.yml", Role::Production),
            ("src/main/resources/application-dev.yml", Role::Development),
            ("src/test/resources/application.yml", Role::Test),
            (".env", Role::Development),
            (".env.production", Role::Production),
            (".env.test", Role::Test),
            (".env.local.example", Role::Example),
            (".env.license", Role::Example),
            (".env.ci", Role::Test),
            ("tests/.env", Role::Test),
            ("spec/models/user_spec.rb", Role::Test),
            ("cypress/support/commands.js", Role::Test),
            ("docs/api.md", Role::Example),
            ("README.md", Role::Example),
            ("examples/app/main.go", Role::Example),
            (".github/workflows/ci.yml", Role::Build),
            ("Makefile", Role::Build),
            ("scripts/release.sh", Role::Build),
            ("vendor/lib/x.php", Role::Vendored),
            ("public/js/app.min.js", Role::Vendored),
            ("docker-compose.yml", Role::Production),
            ("docker-compose.dev.yml", Role::Development),
            ("docker-compose.override.yml", Role::Development),
            ("docker-compose.test.yml", Role::Test),
            ("compose.example.yml", Role::Example),
            ("Dockerfile", Role::Production),
            ("Dockerfile.dev", Role::Development),
            (".devcontainer/devcontainer.json", Role::Development),
            ("db/seeds.rb", Role::Development),
            ("Procfile", Role::Production),
            ("Procfile.dev", Role::Development),
            ("app/ci_status.py", Role::Production),
            ("bin/get_changes.py", Role::Build),
            ("scripts/cross-compile.sh", Role::Build),
            ("dev/scripts/gen.py", Role::Development),
            ("apollo-buildtools/src/x.java", Role::Build),
            ("templates/docs/introduction.html", Role::Production),
            ("netlify.toml", Role::Build),
            ("src/static/scripts/admin.js", Role::Production),
            ("docs/site/static/logo.js", Role::Example),
            ("templates/email/smtp_test.hbs", Role::Production),
            (".editorconfig", Role::Build),
            (
                "bookwyrm/migrations/0008_work_default_edition.py",
                Role::Production,
            ),
            (
                "bookwyrm/migrations/0102_remove_connector_local.py",
                Role::Production,
            ),
            ("bookwyrm/templates/ostatus/template.html", Role::Production),
            ("config.example.json", Role::Example),
            ("LICENSE", Role::Example),
            (".flaskenv", Role::Development),
            (".eslintignore", Role::Build),
            ("app/Models/License.php", Role::Production),
            ("tests.py", Role::Test),
            ("config/settings/ci.py", Role::Test),
            ("scripts/docker/Dockerfile", Role::Production),
            ("public/language/de/user.json", Role::Production),
            ("requirements.txt", Role::Production),
            ("requirements/base.txt", Role::Production),
            ("LICENSE.txt", Role::Example),
            ("requirements-dev.txt", Role::Development),
            ("requirements/test.txt", Role::Test),
            ("requirements/production.txt", Role::Production),
            ("test-environments/authelia/configuration.yml", Role::Test),
        ] {
            assert_role(path, role);
        }
    }
}
