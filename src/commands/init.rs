//! `dozen init`: a starting `dozen.toml` and Procfile from what the directory holds.

use std::fmt::Write as _;

use super::{Context, print};
use crate::error::Error;
use crate::exit_code;
use crate::fsutil::write_new;

/// What `init` proposes for one ecosystem.
struct Plan {
    ecosystem: &'static str,
    steps: Vec<String>,
    cache: Vec<&'static str>,
    tools: Vec<&'static str>,
    web: String,
}

pub(super) fn run(context: &Context) -> Result<i32, Error> {
    let dir = context.locator.app_dir();
    let exists = |name: &str| dir.join(name).is_file();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let plans = detect(&exists, &read);
    let name = crate::app::App::load(&context.locator).0.name;

    let mut written = Vec::new();
    let mut kept = Vec::new();
    let procfile_path = context
        .locator
        .procfile
        .clone()
        .unwrap_or_else(|| dir.join("Procfile"));
    let procfile_display = context
        .locator
        .procfile
        .as_ref()
        .map_or_else(|| dir.display("Procfile"), |p| p.display().to_string());
    let web = plans.first().map_or_else(
        || "python3 -m http.server $PORT".to_owned(),
        |p| p.web.clone(),
    );
    let procfile = format!("web: {web}\n");
    let created = write_new(&procfile_path, procfile.as_bytes(), 0o644)
        .map_err(|e| Error::io(format!("cannot write {procfile_display}"), e))?;
    if created {
        written.push(procfile_display);
    } else {
        kept.push(procfile_display);
    }

    let manifest_display = dir.display(crate::app::manifest::FILE_NAME);
    let manifest = render_manifest(&name, &plans);
    let created = write_new(
        &dir.join(crate::app::manifest::FILE_NAME),
        manifest.as_bytes(),
        0o644,
    )
    .map_err(|e| Error::io(format!("cannot write {manifest_display}"), e))?;
    if created {
        written.push(manifest_display);
    } else {
        kept.push(manifest_display);
    }

    if written.is_empty() {
        return Err(Error::failed(format!(
            "{} already exist; nothing written",
            kept.join(" and ")
        ))
        .hint("dozen init never overwrites a file; run `dozen check` to validate them"));
    }
    if !context.quiet {
        let mut out = String::new();
        match plans.first() {
            Some(plan) => {
                let _ = writeln!(out, "detected {}", plan.ecosystem);
            }
            None => {
                let _ = writeln!(out, "no known ecosystem detected; wrote a generic start");
            }
        }
        for file in &written {
            let _ = writeln!(out, "wrote {file}");
        }
        for file in &kept {
            let _ = writeln!(out, "kept {file} (exists)");
        }
        let _ = writeln!(out, "next: review them, then run `dozen check`");
        print(&out)?;
    }
    Ok(exit_code::SUCCESS)
}

/// Files of the directory being initialised.
type Exists<'a> = &'a dyn Fn(&str) -> bool;
type Read<'a> = &'a dyn Fn(&str) -> String;

/// Every ecosystem found, most specific first.
fn detect(exists: Exists, read: Read) -> Vec<Plan> {
    [rust, node, python, go, ruby, java]
        .into_iter()
        .filter_map(|plan| plan(exists, read))
        .collect()
}

fn rust(exists: Exists, read: Read) -> Option<Plan> {
    if !exists("Cargo.toml") {
        return None;
    }
    let name = toml::from_str::<toml::Table>(&read("Cargo.toml"))
        .ok()
        .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "app".to_owned());
    let locked = if exists("Cargo.lock") {
        " --locked"
    } else {
        ""
    };
    // `target` is the cache, and caches leave the build when its steps end: the binary is
    // copied out of it first.
    Some(Plan {
        ecosystem: "Rust (Cargo.toml)",
        steps: vec![
            format!("cargo build --release{locked}"),
            format!("mkdir -p bin && cp target/release/{name} bin/"),
        ],
        cache: vec!["target"],
        tools: vec!["cargo"],
        web: format!("./bin/{name}"),
    })
}

fn node(exists: Exists, read: Read) -> Option<Plan> {
    if !exists("package.json") {
        return None;
    }
    let package: serde_json::Value =
        serde_json::from_str(&read("package.json")).unwrap_or_default();
    let script = |name: &str| package.get("scripts").and_then(|s| s.get(name)).is_some();
    let (install, tool) = if exists("pnpm-lock.yaml") {
        ("pnpm install --frozen-lockfile", "pnpm")
    } else if exists("yarn.lock") {
        ("yarn install --frozen-lockfile", "yarn")
    } else if exists("package-lock.json") {
        ("npm ci", "npm")
    } else {
        ("npm install", "npm")
    };
    let mut steps = vec![install.to_owned()];
    if script("build") {
        steps.push(format!("{tool} run build"));
    }
    let web = if script("start") {
        format!("{tool} start")
    } else {
        "node index.js".to_owned()
    };
    Some(Plan {
        ecosystem: "Node.js (package.json)",
        steps,
        cache: vec!["node_modules/.cache"],
        tools: vec!["node", tool],
        web,
    })
}

fn python(exists: Exists, read: Read) -> Option<Plan> {
    let file = ["requirements.txt", "pyproject.toml"]
        .into_iter()
        .find(|f| exists(f))?;
    let gunicorn = read(file).to_ascii_lowercase().contains("gunicorn");
    // The virtualenv is made where the build lives, so its scripts work in the release;
    // `.profile.d/python.sh` puts its `bin` first on every process's PATH (Heroku's way).
    let web = match (exists("manage.py"), gunicorn) {
        (true, true) => "gunicorn config.wsgi --bind 0.0.0.0:$PORT",
        (true, false) => "python manage.py runserver 0.0.0.0:$PORT",
        (false, true) => "gunicorn app:app --bind 0.0.0.0:$PORT",
        (false, false) => "python app.py",
    };
    let (ecosystem, install) = if file == "requirements.txt" {
        (
            "Python (requirements.txt)",
            ".venv/bin/pip install -r requirements.txt",
        )
    } else {
        ("Python (pyproject.toml)", ".venv/bin/pip install .")
    };
    Some(Plan {
        ecosystem,
        steps: vec![
            "python3 -m venv .venv".to_owned(),
            install.to_owned(),
            r#"mkdir -p .profile.d && echo 'PATH="$PWD/.venv/bin:$PATH"' > .profile.d/python.sh"#
                .to_owned(),
        ],
        cache: vec![],
        tools: vec!["python3"],
        web: web.to_owned(),
    })
}

fn go(exists: Exists, _: Read) -> Option<Plan> {
    exists("go.mod").then(|| Plan {
        ecosystem: "Go (go.mod)",
        steps: vec!["go build -o bin/app .".to_owned()],
        cache: vec![],
        tools: vec!["go"],
        web: "./bin/app".to_owned(),
    })
}

fn ruby(exists: Exists, _: Read) -> Option<Plan> {
    let rails = exists("bin/rails") || exists("config/application.rb");
    exists("Gemfile").then(|| Plan {
        ecosystem: "Ruby (Gemfile)",
        steps: vec!["bundle install".to_owned()],
        cache: vec![],
        tools: vec!["ruby", "bundle"],
        web: if rails {
            "bundle exec rails server -b 0.0.0.0 -p $PORT"
        } else {
            "bundle exec rackup -o 0.0.0.0 -p $PORT"
        }
        .to_owned(),
    })
}

fn java(exists: Exists, _: Read) -> Option<Plan> {
    exists("pom.xml").then(|| Plan {
        ecosystem: "Java (pom.xml)",
        steps: vec!["mvn -B package -DskipTests".to_owned()],
        cache: vec![],
        tools: vec!["java", "mvn"],
        web: "java -Dserver.port=$PORT -jar target/*.jar".to_owned(),
    })
}

fn toml_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| toml::Value::String(s.as_ref().to_owned()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

fn render_manifest(name: &str, plans: &[Plan]) -> String {
    let mut out =
        String::from("# dozen.toml: every key is optional; `dozen check` validates this file.\n\n");
    let _ = writeln!(
        out,
        "[app]\nname = {}\n",
        toml::Value::String(name.to_owned())
    );
    match plans.first() {
        Some(plan) => {
            let _ = writeln!(out, "# Detected: {}.", plan.ecosystem);
            for other in &plans[1..] {
                let _ = writeln!(
                    out,
                    "# Also found: {} (its steps are not included).",
                    other.ecosystem
                );
            }
            let _ = writeln!(
                out,
                "[build]\n# Shell commands run in order where the build will live (so what they install works\n# when a release runs), with the build env only. `.profile.d/*.sh` is sourced at every start."
            );
            let _ = writeln!(out, "steps = {}", toml_list(&plan.steps));
            if plan.cache.is_empty() {
                let _ = writeln!(
                    out,
                    "# cache = [\"dir\"]   # app-relative dirs kept between builds"
                );
            } else {
                let _ = writeln!(out, "cache = {}", toml_list(&plan.cache));
            }
            let _ = writeln!(
                out,
                "\n[requires]\n# System tools the app shells out to (factor II).\ntools = {}\n",
                toml_list(&plan.tools)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# [build]\n# steps = [\"make\"]\n\n# [requires]\n# tools = [\"python3\"]\n"
            );
        }
    }
    out.push_str(
        "# [formation]\n# web = 2\n\n\
         # [processes.web]\n# restart = \"on-failure\"     # \"no\" | \"on-failure\" | \"always\"\n\
         # kill_timeout = \"10s\"\n# health = { http = \"/healthz\", interval = \"2s\" }\n\n\
         # [tasks]\n# migrate = \"your migration command\"\n\n\
         # [environments.production]\n# files = [\".env\", \".env.production\"]\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(files: &[(&str, &str)]) -> Vec<Plan> {
        detect(&|f| files.iter().any(|(n, _)| *n == f), &|f| {
            files
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, c)| (*c).to_owned())
                .unwrap_or_default()
        })
    }

    #[test]
    fn detects_each_ecosystem() {
        let rust = plans(&[
            ("Cargo.toml", "[package]\nname = \"svc\"\n"),
            ("Cargo.lock", ""),
        ]);
        assert_eq!(
            rust[0].steps,
            [
                "cargo build --release --locked",
                "mkdir -p bin && cp target/release/svc bin/"
            ]
        );
        assert_eq!(rust[0].web, "./bin/svc");
        let node = plans(&[
            ("package.json", r#"{"scripts":{"build":"x","start":"y"}}"#),
            ("yarn.lock", ""),
        ]);
        assert_eq!(
            node[0].steps,
            ["yarn install --frozen-lockfile", "yarn run build"]
        );
        assert_eq!(node[0].web, "yarn start");
        let django = plans(&[
            ("requirements.txt", "Django\ngunicorn\n"),
            ("manage.py", ""),
        ]);
        assert_eq!(django[0].web, "gunicorn config.wsgi --bind 0.0.0.0:$PORT");
        assert!(django[0].steps[2].contains(".profile.d/python.sh"));
        assert!(plans(&[("go.mod", "")])[0].steps[0].starts_with("go build"));
        assert!(
            plans(&[("Gemfile", ""), ("bin/rails", "")])[0]
                .web
                .contains("-p $PORT")
        );
        assert!(plans(&[("pom.xml", "")])[0].web.contains("$PORT"));
        assert!(plans(&[]).is_empty());
    }

    #[test]
    fn manifest_is_valid_toml_for_dozen() {
        let text = render_manifest("my-app", &plans(&[("package.json", "{}")]));
        let source = crate::source::Source::new("dozen.toml", text);
        let manifest = crate::app::manifest::Manifest::parse(&source).unwrap();
        assert_eq!(manifest.build.steps[0].get_ref(), "npm install");
    }
}
