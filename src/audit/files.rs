//! What kind of file a path is, which decides the content rules that read it: a hard-coded
//! address is a finding in code, not in a test or an example env file.

/// A file's kind, from its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Code,
    /// Code or data under a test directory, or named as a test.
    Test,
    /// Structured config: YAML, JSON, TOML, properties, XML, Dockerfiles, Procfiles…
    Config,
    /// `.env`, `.env.NAME`, `NAME.env`: an environment's config.
    EnvFile,
    /// `.env.example` and its kin: documentation of the config, values are placeholders.
    EnvExample,
    /// Prose: Markdown, reStructuredText, plain text.
    Doc,
    Other,
}

impl Kind {
    pub const COUNT: usize = 7;

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A set of kinds a pattern applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    pub const ALL: Self = Self(0x7f);
    /// Code and config that ship: what runs in production.
    pub const SHIPPED: Self = Self::of(&[Kind::Code, Kind::Config]);
    pub const CODE: Self = Self::of(&[Kind::Code]);

    pub const fn of(kinds: &[Kind]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u8;
            i += 1;
        }
        Self(bits)
    }

    pub fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

const CODE: [&str; 37] = [
    "py", "pyw", "js", "mjs", "cjs", "ts", "mts", "cts", "tsx", "jsx", "vue", "svelte", "rb",
    "erb", "rake", "go", "rs", "java", "kt", "kts", "scala", "groovy", "php", "ex", "exs", "cs",
    "swift", "c", "h", "cc", "cpp", "sh", "bash", "zsh", "pl", "lua", "dart",
];
const CONFIG: [&str; 14] = [
    "yml",
    "yaml",
    "json",
    "toml",
    "ini",
    "cfg",
    "conf",
    "properties",
    "xml",
    "tf",
    "tfvars",
    "hcl",
    "gradle",
    "dockerfile",
];
const DOC: [&str; 6] = ["md", "markdown", "rst", "adoc", "txt", "org"];
const TEST_DIRS: [&str; 9] = [
    "test",
    "tests",
    "spec",
    "specs",
    "__tests__",
    "testdata",
    "test_data",
    "fixtures",
    "e2e",
];
const EXAMPLE_SUFFIXES: [&str; 4] = ["example", "sample", "template", "dist"];

/// Whether `name` ends with `suffix`, ignoring ASCII case (`.LOG` is a log file too).
pub fn has_suffix(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether `name`'s extension is one of `extensions` (no dot), ignoring ASCII case.
pub fn has_extension(name: &str, extensions: &[&str]) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, e)| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The file's name: the last `/`-separated part.
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether a file name is an env file (`.env`, `.env.NAME`, `NAME.env`) and, if so, whether
/// it is an example of one (`.env.example`, `.env.production.sample`, `example.env`).
pub fn env_file_kind(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    let is_env = lower == ".env" || lower.starts_with(".env.") || has_suffix(&lower, ".env");
    if !is_env {
        return None;
    }
    let example = lower
        .split('.')
        .any(|part| EXAMPLE_SUFFIXES.contains(&part));
    Some(if example {
        Kind::EnvExample
    } else {
        Kind::EnvFile
    })
}

/// Whether a path is under a test directory or named as a test, whatever its kind.
/// A translation catalog (`locale/de_DE.json`, `config/locales/fr.yml`, `*.po`): its values
/// are the UI's text in other languages, its keys name what the text is about (`api_key`).
pub fn is_translation_catalog(path: &str) -> bool {
    const DIRS: [&str; 9] = [
        "language",
        "languages",
        "locale",
        "locales",
        "i18n",
        "l10n",
        "lang",
        "translations",
        "messages",
    ];
    has_suffix(path, ".po")
        || has_suffix(path, ".pot")
        || path.split('/').rev().skip(1).any(|dir| DIRS.contains(&dir))
}

/// A documentation site generator's config (`VitePress`, `VuePress`, `Docusaurus`): it is shipped
/// to every reader's browser, so the keys in it are public by design (Algolia `DocSearch`'s
/// search-only key).
pub fn is_docs_site_config(path: &str) -> bool {
    [".vitepress/", ".vuepress/"]
        .iter()
        .any(|dir| path.starts_with(dir) || path.contains(&format!("/{dir}")))
        || name(path).starts_with("docusaurus.config.")
}

pub fn is_test_path(path: &str) -> bool {
    is_test(path, name(path))
}

/// Kinds of test a directory can be named for with the word glued on (`unittests`,
/// `integration_tests`, `e2e-test`, `SystemTests`).
const TEST_KINDS: [&str; 11] = [
    "unit",
    "integration",
    "functional",
    "acceptance",
    "system",
    "smoke",
    "load",
    "perf",
    "performance",
    "regression",
    "e2e",
];

/// Whether a directory is named for a kind of test: `unittests`, `unit_tests`,
/// `IntegrationTest`, `e2e-tests`.
pub fn is_kind_of_test_dir(dir: &str) -> bool {
    let lower = dir.to_ascii_lowercase();
    let stem = lower.strip_suffix('s').unwrap_or(&lower);
    let Some(kind) = stem.strip_suffix("test") else {
        return false;
    };
    let kind = kind.strip_suffix(['-', '_']).unwrap_or(kind);
    TEST_KINDS.contains(&kind)
}

fn is_test(path: &str, name: &str) -> bool {
    let mut dirs = path.split('/').rev().skip(1);
    // `tests/`, and `test-environments/`, `test_helpers/`: named for the tests.
    if dirs.any(|dir| {
        TEST_DIRS.contains(&dir)
            || is_kind_of_test_dir(dir)
            || ["test-", "test_", "tests-", "tests_"]
                .iter()
                .any(|prefix| dir.starts_with(prefix))
    }) {
        return true;
    }
    let stem = name.split('.').next().unwrap_or(name);
    stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_spec")
        || stem == "conftest"
        || name.contains(".test.")
        || name.contains(".spec.")
}

/// The kind of the file at `path` (relative to the app, `/`-separated).
pub fn kind(path: &str) -> Kind {
    let name = name(path);
    if let Some(kind) = env_file_kind(name) {
        return kind;
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let by_extension = if CODE.contains(&extension.as_str()) {
        Kind::Code
    } else if CONFIG.contains(&extension.as_str())
        || is_dockerfile(name)
        || name.starts_with("Procfile")
        || name == "Gemfile"
        || name == "Pipfile"
    {
        Kind::Config
    } else if DOC.contains(&extension.as_str()) {
        Kind::Doc
    } else {
        Kind::Other
    };
    if matches!(by_extension, Kind::Code | Kind::Config) && is_test(path, name) {
        Kind::Test
    } else {
        by_extension
    }
}

/// `Dockerfile`, `Dockerfile.web`, `web.Dockerfile`, `Containerfile`.
pub fn is_dockerfile(name: &str) -> bool {
    // A template of one (`Dockerfile.j2`, `Dockerfile.tmpl`) is filled in before it is one.
    if has_extension(
        name,
        &[
            "j2", "jinja", "jinja2", "tmpl", "tpl", "template", "erb", "mustache", "hbs", "in",
        ],
    ) {
        return false;
    }
    name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || has_suffix(name, ".dockerfile")
        || name == "Containerfile"
}

/// The most the audit reads of one file of the app (the walk skips larger files too): an app's
/// files are someone else's, and a rule must not hold a file of any size in memory.
pub const MAX_READ: u64 = 1024 * 1024;

/// A file's text, if it is at most [`MAX_READ`] bytes and UTF-8 (read through a bound, so a
/// file that grows while it is read is cut off, not read whole).
pub fn read_bounded(path: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_READ + 1).read_to_string(&mut text).ok()?;
    (u64::try_from(text.len()).ok()? <= MAX_READ).then_some(text)
}

/// A pip requirements file: `requirements*.txt`, or any `.txt` in a `requirements/` directory
/// (`requirements/base.txt`, which `requirements.txt` pulls in with `-r`).
pub fn is_requirements(path: &str, name: &str) -> bool {
    has_suffix(name, ".txt")
        && (name.starts_with("requirements")
            || path.starts_with("requirements/")
            || path.contains("/requirements/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let at_limit = dir.path().join("a");
        let over = dir.path().join("b");
        let limit = usize::try_from(MAX_READ).unwrap();
        std::fs::write(&at_limit, "x".repeat(limit)).unwrap();
        std::fs::write(&over, "x".repeat(limit + 1)).unwrap();
        assert_eq!(read_bounded(&at_limit).map(|t| t.len()), Some(limit));
        assert_eq!(read_bounded(&over), None);
        assert_eq!(read_bounded(&dir.path().join("missing")), None);
    }

    #[test]
    fn kinds_of_paths() {
        for (path, expected) in [
            ("app.py", Kind::Code),
            ("src/server.ts", Kind::Code),
            ("tests/test_app.py", Kind::Test),
            ("app/models_test.go", Kind::Test),
            ("web/button.spec.tsx", Kind::Test),
            ("spec/models/user_spec.rb", Kind::Test),
            ("unittests/scans/tool/sample.java", Kind::Test),
            ("src/IntegrationTests/Setup.cs", Kind::Test),
            ("latest/main.py", Kind::Code),
            ("contest/main.py", Kind::Code),
            ("config/database.yml", Kind::Config),
            ("Dockerfile", Kind::Config),
            ("docker/web.Dockerfile", Kind::Config),
            ("Procfile", Kind::Config),
            (".env", Kind::EnvFile),
            (".env.production", Kind::EnvFile),
            ("deploy/prod.env", Kind::EnvFile),
            (".env.example", Kind::EnvExample),
            (".env.production.sample", Kind::EnvExample),
            ("README.md", Kind::Doc),
            ("logo.svg", Kind::Other),
            ("Makefile", Kind::Other),
        ] {
            assert_eq!(kind(path), expected, "{path}");
        }
        assert!(Kinds::SHIPPED.contains(Kind::Config) && !Kinds::SHIPPED.contains(Kind::Test));
        assert!(Kinds::ALL.contains(Kind::Other));
    }
}
