//! What production reads by the frameworks' conventions (Rails environments, Django settings
//! modules, Spring profiles, Phoenix `config/*.exs`, Laravel `config/`, node-config,
//! `.env.production`), and the development-only branches inside production code
//! (`if __name__ == "__main__":`, `if Rails.env.development?`, `if (process.env.NODE_ENV !==
//! 'production')`).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::audit::files;

/// A config file production reads, and the convention that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigFile {
    pub path: String,
    pub why: &'static str,
}

/// The settings module a Django app's entry points name
/// (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings.production")`).
static DJANGO_SETTINGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']"#).expect("valid regex")
});

/// A settings module a deployment file selects: `DJANGO_SETTINGS_MODULE=shop.settings.prod`
/// (or `: `, or an `ENV` with a space), `--settings=shop.settings.prod`.
static DEPLOYED_SETTINGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"DJANGO_SETTINGS_MODULE["']?\s*[=: ]\s*["']?([A-Za-z_][\w.]*)|--settings[= ]([A-Za-z_][\w.]*)"#)
        .expect("valid regex")
});

/// The config files production reads, in path order.
pub fn production_config(
    files: &[String],
    read: &dyn Fn(&str) -> Option<String>,
    role: &dyn Fn(&str) -> super::roles::Role,
) -> Vec<ConfigFile> {
    let has = |name: &str| files.iter().any(|f| f == name);
    let laravel = has("artisan");
    let django = files.iter().any(|f| files::name(f) == "manage.py");
    let phoenix = has("mix.exs");
    let mut django_modules: Vec<String> = files
        .iter()
        .filter(|f| matches!(files::name(f), "manage.py" | "wsgi.py" | "asgi.py"))
        .filter_map(|f| read(f))
        .filter_map(|text| DJANGO_SETTINGS.captures(&text).map(|c| c[1].to_owned()))
        .collect();
    // The module production selects where it deploys (`ENV DJANGO_SETTINGS_MODULE=…` in a
    // Dockerfile, a Procfile's `--settings`, app.json's env): it wins over the entry points'
    // defaults, which are often development's.
    django_modules.extend(
        files
            .iter()
            .filter(|f| {
                django
                    && super::declarations::sets_environment(f)
                    && role(f) == super::roles::Role::Production
            })
            .filter_map(|f| read(f))
            .flat_map(|text| {
                DEPLOYED_SETTINGS
                    .captures_iter(&text)
                    .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_owned()))
                    .collect::<Vec<_>>()
            }),
    );
    django_modules.sort();
    django_modules.dedup();
    // A settings module is also the modules it star-imports (`from .base import *`,
    // `from shop.settings.common import *`), followed a few levels.
    for _ in 0..3 {
        let mut imported: Vec<String> = django_modules
            .iter()
            .flat_map(|module| {
                files
                    .iter()
                    .filter(|f| {
                        module_path(module, f) && !f.ends_with("__init__.py")
                            || module_file(module, f)
                    })
                    .filter_map(|f| read(f))
                    .flat_map(|text| star_imports(module, &text))
                    .collect::<Vec<_>>()
            })
            .filter(|m| !django_modules.contains(m))
            .collect();
        if imported.is_empty() {
            break;
        }
        imported.sort();
        imported.dedup();
        django_modules.extend(imported);
    }
    // Symfony: `bin/console` and the `config/packages/` every environment loads.
    let symfony = has("bin/console") && files.iter().any(|f| f.starts_with("config/packages/"));
    let spring_apps = spring_apps(files);
    let conventions = Conventions {
        laravel,
        django,
        phoenix,
        django_modules,
        spring_apps,
    };
    let mut out = Vec::new();
    for path in files {
        if role(path) != super::roles::Role::Production {
            continue;
        }
        let name = files::name(path);
        let symfony_config = symfony
            && (path.starts_with("config/packages/") || path == "config/services.yaml")
            && files::has_extension(name, &["yaml", "yml", "php", "xml"]);
        let why = if symfony_config {
            Some("Symfony config every environment loads")
        } else {
            convention(path, name, &conventions)
        };
        if let Some(why) = why {
            out.push(ConfigFile {
                path: path.clone(),
                why,
            });
        }
    }
    for path in rails_config_for(files, read) {
        if !out.iter().any(|c| c.path == path) {
            out.push(ConfigFile {
                path,
                why: "Rails config the app reads with config_for",
            });
        }
    }
    out
}

/// The files a Rails app reads with `Rails.application.config_for(:rabbitmq)` (or
/// `config_for("rabbitmq")`) from its application, environment and initializer code:
/// `config/rabbitmq.yml`.
fn rails_config_for(files: &[String], read: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    static CONFIG_FOR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"config_for\(\s*[:"']([A-Za-z0-9_]+)"#).expect("valid regex")
    });
    if !files.iter().any(|f| f == "config/application.rb") {
        return Vec::new();
    }
    let mut out: Vec<String> = files
        .iter()
        .filter(|f| {
            f.as_str() == "config/application.rb"
                || f.as_str() == "config/environments/production.rb"
                || f.starts_with("config/initializers/") && files::has_extension(f, &["rb"])
        })
        .filter_map(|f| read(f))
        .flat_map(|text| {
            CONFIG_FOR
                .captures_iter(&text)
                .map(|c| format!("config/{}.yml", &c[1]))
                .collect::<Vec<_>>()
        })
        .filter(|path| files.iter().any(|f| f == path))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Why a Spring Boot config file counts, as [`ConfigFile::why`] says it.
pub const SPRING: &str = "Spring Boot config of the default or production profile";

/// What the app is built with, for the conventions below.
struct Conventions<'f> {
    laravel: bool,
    django: bool,
    phoenix: bool,
    django_modules: Vec<String>,
    /// The module directories of a Spring Boot build that hold a main application class.
    spring_apps: Vec<&'f str>,
}

/// Whether a Phoenix config file is the app's: under the root's `config/` or an umbrella
/// app's (`apps/web/config/`), not a path dependency's (`forum/config/config.exs`, whose
/// config Mix never loads into the parent's release).
fn mix_app_config(path: &str) -> bool {
    let Some(at) = path.rfind("config/") else {
        return false;
    };
    let above = &path[..at];
    above.is_empty()
        || above
            .strip_prefix("apps/")
            .is_some_and(|rest| rest.matches('/').count() == 1)
}

/// The module directories of a Spring Boot build with a main application class.
fn spring_apps(files: &[String]) -> Vec<&str> {
    // A Spring Boot build of several modules: the modules with a main application class
    // (`*Application.java`, `OrderServiceMain.java` under `src/main/`); the others are
    // libraries, whose `application.yml` the app's own shadows on the classpath.
    files
        .iter()
        .filter_map(|f| {
            let name = files::name(f);
            let main = ["Application", "Main"].iter().any(|class| {
                ["java", "kt"].iter().any(|ext| {
                    name.strip_suffix(ext)
                        .is_some_and(|s| s.ends_with(&format!("{class}.")))
                })
            });
            let at = f.find("src/main/")?;
            main.then(|| &f[..at])
        })
        .collect()
}

/// Whether a Spring resource belongs to a module that runs: any module when no module
/// shows a main class, else the modules that do.
fn spring_module_runs(path: &str, apps: &[&str]) -> bool {
    let module = path.find("src/main/").map_or("", |at| &path[..at]);
    apps.is_empty() || apps.contains(&module)
}

/// Why production reads `path`, by a framework's convention, if it does.
fn convention(path: &str, name: &str, c: &Conventions<'_>) -> Option<&'static str> {
    if [
        "config/environments/production.rb",
        "config/environments/staging.rb",
    ]
    .iter()
    .any(|p| path.ends_with(p))
    {
        Some("Rails' production environment")
    } else if [
        "config/database.yml",
        "config/puma.rb",
        "config/storage.yml",
        "config/cable.yml",
        "config/application.rb",
        "config/secrets.yml",
    ]
    .iter()
    .any(|p| path.ends_with(p))
    {
        Some("Rails config every environment reads")
    } else if c.phoenix
        && ["config/config.exs", "config/prod.exs", "config/runtime.exs"]
            .iter()
            .any(|p| path.ends_with(p))
        && mix_app_config(path)
    {
        Some("Phoenix config the production release reads")
    } else if c.laravel && laravel_config(path) && files::has_extension(name, &["php"]) {
        Some("Laravel config")
    } else if path.contains("src/main/resources/")
        && spring_production(name)
        && spring_module_runs(path, &c.spring_apps)
    {
        Some(SPRING)
    } else if path.contains("src/main/resources/")
        && [
            "logback.xml",
            "logback-spring.xml",
            "log4j2.xml",
            "log4j2-spring.xml",
        ]
        .contains(&name)
    {
        Some("the logging config the jar carries")
    } else if c.django_modules.iter().any(|m| module_path(m, path)) {
        Some("the Django settings module production selects")
    } else if c.django
        && c.django_modules.is_empty()
        && files::has_extension(name, &["py"])
        && (name == "settings.py"
            || path.contains("settings/")
                && [
                    "production.py",
                    "prod.py",
                    "base.py",
                    "common.py",
                    "__init__.py",
                ]
                .contains(&name))
    {
        Some("Django settings")
    } else if path.starts_with("config/")
        && ["production", "default", "custom-environment-variables"]
            .iter()
            .any(|stem| name.split('.').next() == Some(stem))
        && [".json", ".js", ".yml", ".yaml", ".cjs"]
            .iter()
            .any(|e| name.ends_with(e))
    {
        Some("node-config's production or default file")
    } else if [
        "gunicorn.conf.py",
        "gunicorn_config.py",
        "uwsgi.ini",
        "uwsgi.yml",
        "puma.rb",
        "unicorn.rb",
    ]
    .contains(&name)
    {
        Some("the application server's config")
    } else if [".env.production", ".env.prod"].contains(&name) {
        Some("the production environment's env file")
    } else {
        None
    }
}

/// A file of a Laravel app's config directory: `config/`, or `app/Config/` where the app
/// moved it (`$app->useConfigPath(…)`).
pub fn laravel_config(path: &str) -> bool {
    let parent = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let dir = parent.rsplit('/').next().unwrap_or(parent);
    matches!(dir, "config" | "Config")
        && !path.starts_with("vendor/")
        && !path.contains("/vendor/")
        // A view of the admin's config pages (`resources/views/admin/config/`) is a page.
        && !path.starts_with("resources/")
        && !path.ends_with(".blade.php")
}

/// `application.yml`, `application.properties`, `application-prod.yml`, `bootstrap.yml`.
fn spring_production(name: &str) -> bool {
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return false;
    };
    ["yml", "yaml", "properties"].contains(&extension)
        && (stem == "application"
            || stem == "bootstrap"
            || [
                "application-prod",
                "application-production",
                "bootstrap-prod",
                "bootstrap-production",
            ]
            .iter()
            .any(|p| stem.starts_with(p)))
}

/// The modules a Python module star-imports, absolute (`from .base import *` in
/// `shop.settings.production` is `shop.settings.base`).
fn star_imports(module: &str, text: &str) -> Vec<String> {
    static STAR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^from\s+(\.*)([\w.]*)\s+import\s+\*").expect("valid regex")
    });
    STAR.captures_iter(text)
        .filter_map(|c| {
            let dots = c[1].len();
            let name = &c[2];
            if dots == 0 {
                return Some(name.to_owned());
            }
            let mut parts: Vec<&str> = module.split('.').collect();
            for _ in 0..dots {
                parts.pop()?;
            }
            if !name.is_empty() {
                parts.push(name);
            }
            (!parts.is_empty()).then(|| parts.join("."))
        })
        .collect()
}

/// Whether `path` is exactly the file of `module` (`shop/settings/prod.py`, or a package's
/// `__init__.py`).
fn module_file(module: &str, path: &str) -> bool {
    let relative = module.replace('.', "/");
    [format!("{relative}.py"), format!("{relative}/__init__.py")]
        .iter()
        .any(|p| path == p || path.ends_with(&format!("/{p}")))
}

/// Whether `path` is the file of Python module `module` (`shop.settings` is
/// `shop/settings.py` or `shop/settings/__init__.py`, at any depth of the app).
fn module_path(module: &str, path: &str) -> bool {
    let relative = module.replace('.', "/");
    [format!("{relative}.py"), format!("{relative}/__init__.py")]
        .iter()
        .any(|p| path == p || path.ends_with(&format!("/{p}")))
        // A settings package's modules are the module's too (`settings/base.py`).
        || path.starts_with(&format!("{relative}/")) && files::has_extension(path, &["py"])
}

/// A condition that holds only in development (`__main__`, `DEBUG`, a development or test
/// environment), or only in production (its `else` is development's).
static DEVELOPMENT_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"^\s*(?:if|unless|elif|else\s+if|\}\s*else\s+if)\b.*(?:"#,
        r#"__name__\s*==\s*['"]__main__['"]|\bDEBUG\b\s*(?::|\)|==\s*True|$)|settings\.DEBUG\b|"#,
        r#"Rails\.env\.(?:development|test)\?|Mix\.env\(\)\s*(?:==|in)\s*\[?:(?:dev|test)|"#,
        r#"NODE_ENV\s*(?:===?\s*['"](?:development|test)['"]|!==?\s*['"]production['"])|"#,
        r#"(?:isDev|isDevelopment|IS_DEV|DEV_MODE)\b|environment\(\s*['"](?:local|testing)['"]"#,
        r#")"#
    ))
    .expect("valid regex")
});
static PRODUCTION_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"^\s*if\b.*(?:Rails\.env\.production\?|NODE_ENV\s*===?\s*['"]production['"]|"#,
        r#"Mix\.env\(\)\s*==\s*:prod|environment\(\s*['"]production['"]|\bnot\s+DEBUG\b|!\s*DEBUG\b)"#
    ))
    .expect("valid regex")
});

/// The 1-based line ranges (inclusive) of a file's development-only branches.
pub fn development_branches(path: &str, text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let braces = matches!(
        path.rsplit_once('.').map(|(_, e)| e),
        Some(
            "js" | "mjs"
                | "cjs"
                | "ts"
                | "tsx"
                | "jsx"
                | "go"
                | "php"
                | "java"
                | "kt"
                | "rs"
                | "cs"
        )
    );
    let mut out = Vec::new();
    let rust = files::has_extension(path, &["rs"]);
    for (index, line) in lines.iter().enumerate() {
        // Rust's tests live beside the code: `#[cfg(test)] mod tests { … }` is compiled for
        // tests only.
        if rust && line.trim_start().starts_with("#[cfg(test)]") {
            if let Some(opens) = (index + 1..lines.len().min(index + 4))
                .find(|&i| lines[i].contains('{') && !lines[i].trim_start().starts_with("#["))
            {
                out.push((index + 1, block_end(&lines, opens, true) + 1));
            }
            continue;
        }
        let development = DEVELOPMENT_CONDITION.is_match(line)
            && !line
                .trim_start()
                .starts_with("unless Rails.env.development");
        let production = PRODUCTION_CONDITION.is_match(line)
            || line
                .trim_start()
                .starts_with("unless Rails.env.development");
        if !(development || production) {
            continue;
        }
        let end = block_end(&lines, index, braces);
        if development {
            out.push((index + 1, end + 1));
        } else if let Some(else_at) = else_of(&lines, index, end, braces) {
            let else_end = block_end(&lines, else_at, braces);
            out.push((else_at + 1, else_end + 1));
        }
    }
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The last line (0-based) of the block a condition at `start` opens: by braces in C-like
/// languages, else by indentation (Python) or the `end`/`else` at the condition's indentation
/// (Ruby, Elixir).
fn block_end(lines: &[&str], start: usize, braces: bool) -> usize {
    if braces {
        let mut depth = 0_i64;
        let mut opened = false;
        for (index, line) in lines.iter().enumerate().skip(start) {
            // `} else {` closes the branch before and opens this one.
            let line = if index == start {
                line.trim_start().trim_start_matches('}')
            } else {
                line
            };
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
                if opened && depth <= 0 {
                    return index;
                }
            }
            if !opened && index > start {
                // A one-statement body without braces.
                return index;
            }
        }
        return lines.len().saturating_sub(1);
    }
    let base = indent(lines[start]);
    let mut last = start;
    for (index, line) in lines.iter().enumerate().skip(start + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= base {
            let word = line.trim_start();
            if word.starts_with("end") {
                return index;
            }
            break;
        }
        last = index;
    }
    last
}

/// The `else` line (0-based) of the condition at `start` whose block ends at `end`.
fn else_of(lines: &[&str], start: usize, end: usize, braces: bool) -> Option<usize> {
    if braces {
        let line = lines.get(end)?;
        if line.contains("else") && !line.contains("else if") {
            return Some(end);
        }
        let next = lines.get(end + 1)?.trim_start();
        return (next.starts_with("else") && !next.starts_with("else if")).then_some(end + 1);
    }
    let base = indent(lines[start]);
    lines
        .iter()
        .enumerate()
        .skip(end + 1)
        .find(|(_, l)| !l.trim().is_empty())
        .filter(|(_, l)| indent(l) == base && l.trim_start().starts_with("else"))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_config_by_convention() {
        let files: Vec<String> = [
            "artisan",
            "config/app.php",
            "config/environments/production.rb",
            "config/environments/development.rb",
            "manage.py",
            "shop/settings/__init__.py",
            "shop/settings/production.py",
            "shop/settings/test.py",
            "src/main/resources/application.yml",
            "src/main/resources/application-prod.yml",
            "src/main/resources/application-dev.yml",
            "src/main/resources/bootstrap-prod.yml",
            "src/main/resources/bootstrap-dev.yml",
            ".env.production",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let read = |path: &str| {
            (path == "manage.py").then(|| {
                "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"shop.settings\")".to_owned()
            })
        };
        let found: Vec<&str> =
            production_config(&files, &read, &|p| crate::audit::model::roles::of_path(p).0)
                .iter()
                .map(|c| c.path.as_str())
                .collect::<Vec<_>>()
                .into_iter()
                .map(|p| files.iter().find(|f| *f == p).unwrap().as_str())
                .collect();
        assert_eq!(
            found,
            [
                "config/app.php",
                "config/environments/production.rb",
                "shop/settings/__init__.py",
                "shop/settings/production.py",
                "src/main/resources/application.yml",
                "src/main/resources/application-prod.yml",
                "src/main/resources/bootstrap-prod.yml",
                ".env.production",
            ]
        );
    }

    #[test]
    fn development_branches_in_each_language() {
        let python = "app = Flask(__name__)\n\nif __name__ == \"__main__\":\n    app.run(debug=True, port=4000)\n\nx = 1\n";
        assert_eq!(development_branches("app.py", python), [(3, 4)]);
        let js = "if (process.env.NODE_ENV !== 'production') {\n  app.listen(3000);\n}\napp.listen(process.env.PORT);\n";
        assert_eq!(development_branches("server.js", js), [(1, 3)]);
        let js_else = "if (process.env.NODE_ENV === 'production') {\n  a();\n} else {\n  b();\n}\n";
        assert_eq!(development_branches("server.js", js_else), [(3, 5)]);
        let ruby = "if Rails.env.development?\n  x = `git rev-parse HEAD`\nend\ny = 2\n";
        assert_eq!(development_branches("app.rb", ruby), [(1, 3)]);
        let ruby_else = "if Rails.env.production?\n  a\nelse\n  `git rev-parse HEAD`\nend\n";
        assert_eq!(development_branches("app.rb", ruby_else), [(3, 5)]);
        assert!(development_branches("app.py", "if DEBUG_TOOLBAR_ENABLED:\n    x\n").is_empty());
        let rust = "fn main() {}\n\n#[cfg(test)]\nmod tests {\n    fn t() {\n        env(\"KEY\");\n    }\n}\nfn after() {}\n";
        assert_eq!(development_branches("src/config.rs", rust), [(3, 8)]);
    }
}
