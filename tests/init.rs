//! `dozen init`: detection, never overwriting, and a result that passes `check`.

use crate::harness::Test;

#[test]
fn writes_a_manifest_and_procfile_for_a_python_app() {
    let output = Test::new()
        .file("requirements.txt", "flask\ngunicorn\n")
        .file("app.py", "")
        .args(&["init"])
        .run()
        .success()
        .stdout_has("detected Python (requirements.txt)")
        .stdout_has("wrote Procfile")
        .stdout_has("wrote dozen.toml");
    assert_eq!(
        output.read("Procfile"),
        "web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
    );
    let manifest = output.read("dozen.toml");
    assert!(
        manifest.contains(
            "steps = [\"python3 -m venv .venv\", \".venv/bin/pip install -r requirements.txt\", "
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
    assert_eq!(output.read("Procfile"), "web: npm start\n");
    assert!(
        output
            .read("dozen.toml")
            .contains("steps = [\"npm ci\", \"npm run build\"]")
    );
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

#[test]
fn an_empty_directory_gets_a_generic_start_that_checks() {
    let output = Test::new()
        .args(&["init"])
        .run()
        .success()
        .stdout_has("no known ecosystem detected");
    assert!(output.read("Procfile").contains("$PORT"));
    let check = std::process::Command::new(crate::harness::BIN)
        .arg("check")
        .current_dir(output.dir.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0));
}
