//! `dozen init`: detection, never overwriting, and a result that passes `check`.

use crate::harness::Test;

#[test]
fn writes_a_manifest_and_procfile_for_a_python_app() {
    let output = Test::new()
        .file("requirements.txt", "flask\ngunicorn\n")
        .file(
            "app.py",
            "from flask import Flask\n\napp = Flask(__name__)\n",
        )
        .args(&["init"])
        .run()
        .success()
        .stdout_has("detected Python (requirements.txt)")
        .stdout_has("wrote Procfile")
        .stdout_has("wrote dozen.toml");
    assert_eq!(
        output.read("Procfile"),
        "web: python3 -m gunicorn 'app:app' --bind 0.0.0.0:$PORT\n"
    );
    let manifest = output.read("dozen.toml");
    assert!(
        manifest.contains(
            "steps = [\"python3 -m pip install --disable-pip-version-check --no-input --target .python-packages -r requirements.txt\", "
        ),
        "{manifest}"
    );
    let dir = output.dir;
    let check = std::process::Command::new(crate::harness::BIN)
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn node_app_uses_its_lockfile_and_scripts() {
    let output = Test::new()
        .file(
            "package.json",
            r#"{"name":"x","scripts":{"build":"tsc","start":"node dist/index.js"}}"#,
        )
        .file("package-lock.json", "{}")
        .args(&["init"])
        .run()
        .success();
    // The start script itself: the process dozen signals is node, and npm need not be
    // where the release runs.
    assert_eq!(output.read("Procfile"), "web: node dist/index.js\n");
    assert!(
        output
            .read("dozen.toml")
            .contains("steps = [\"npm ci\", \"npm run build\", ")
    );
}

/// Issue 28: a recipe whose tool is not installed says so when it is written, not at the
/// first build.
#[test]
fn a_recipe_tool_missing_here_is_said() {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.path().join("sh")).unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.path().join("node")).unwrap();
    Test::new()
        .file(
            "package.json",
            r#"{"name":"x","dependencies":{"express":"5"},"scripts":{"start":"npm run serve"}}"#,
        )
        .file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .env("PATH", &bin.path().display().to_string())
        .args(&["init"])
        .run()
        .success()
        .stdout_has("note: `pnpm` is not on PATH: the build runs it; install it (`corepack enable` installs it with Node) before `dozen build`")
        .stdout_lacks("`node` is not on PATH");
}

#[test]
fn never_overwrites() {
    let output = Test::new()
        .procfile("web: mine\n")
        .file("go.mod", "module x\n")
        .args(&["init"])
        .run()
        .success()
        .stdout_has("kept Procfile (exists)");
    assert_eq!(output.read("Procfile"), "web: mine\n");
    assert!(output.read("dozen.toml").contains("go build"));
    Test::new()
        .procfile("web: mine\n")
        .manifest("[app]\nname = \"mine\"\n")
        .args(&["init"])
        .run()
        .code(1)
        .stderr_has("error: Procfile and dozen.toml already exist; nothing written");
}

/// With nothing to go on, no guess: no catch-all server (one that serves the directory, its
/// `.env` included, to the network), a commented Procfile, and `check` says what is missing.
#[test]
fn an_empty_directory_gets_no_guess_and_check_says_what_is_missing() {
    let output = Test::new()
        .args(&["init"])
        .run()
        .success()
        .stdout_has("no known ecosystem detected");
    let procfile = output.read("Procfile");
    assert!(procfile.lines().all(|l| l.starts_with('#')), "{procfile}");
    assert!(!procfile.contains("http.server"), "{procfile}");
    let check = std::process::Command::new(crate::harness::BIN)
        .arg("check")
        .current_dir(output.dir.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains("the Procfile defines no process types"),
        "{said}"
    );
    assert!(!said.contains("http.server"), "{said}");
}

/// An app one directory down is named, and nothing is written where it is not.
#[test]
fn an_app_one_directory_down_is_named_not_guessed() {
    let output = Test::new()
        .file("backend/requirements.txt", "flask\n")
        .file("backend/app.py", "app = Flask(__name__)\n")
        .file("README.md", "# the project\n")
        .args(&["init"])
        .run()
        .code(1)
        .stderr_has("found Python (requirements.txt) in backend/; nothing written")
        .stderr_has("dozen init --app backend");
    assert!(!output.dir.path().join("Procfile").exists());
    assert!(!output.dir.path().join("dozen.toml").exists());
}

/// A Python app whose `package.json` holds only linters is a Python app; an entry point that
/// does not exist is never named.
#[test]
fn python_with_a_linters_package_json_is_python() {
    let output = Test::new()
        .file(
            "package.json",
            r#"{"devDependencies":{"prettier":"3.3.3"}}"#,
        )
        .file("requirements.txt", "fastapi\nuvicorn\n")
        .file(
            "api/main.py",
            "from fastapi import FastAPI\napp = FastAPI()\n",
        )
        .args(&["init"])
        .run()
        .success()
        .stdout_has("detected Python (requirements.txt)")
        .stdout_has("note: found no app object");
    let procfile = output.read("Procfile");
    assert!(procfile.lines().all(|l| l.starts_with('#')), "{procfile}");
    assert!(output.read("dozen.toml").contains("Also found: Node.js"));
}
