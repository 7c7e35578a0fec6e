//! `dozen build`: content-addressed, cached, isolated from the runtime config, and nothing
//! stored when a step fails.

use std::process::Command;

use crate::harness::Test;

fn app(steps: &str) -> Test {
    Test::new()
        .procfile("web: python3 app.py\n")
        .file("app.py", "print('hi')\n")
        .env_file(".env", "RUNTIME_SECRET=do-not-leak\n")
        .manifest(&format!(
            "[build]\nsteps = {steps}\nenv = {{ MODE = \"production\" }}\ncache = [\"cachedir\"]\n"
        ))
}

fn count(dir: &std::path::Path, sub: &str) -> usize {
    std::fs::read_dir(dir.join(sub)).map_or(0, Iterator::count)
}

#[test]
fn unchanged_inputs_reuse_the_build_without_running_steps() {
    let counter = tempfile::NamedTempFile::new().unwrap();
    let steps = format!(
        "[\"echo run >> {}\", \"echo \\\"mode=$MODE secret=${{RUNTIME_SECRET:-absent}}\\\" > built.txt\"]",
        counter.path().display()
    );
    let first = app(&steps).args(&["build", "--json"]).run().success();
    let record = first.json();
    assert_eq!(record["outcome"], "built");
    let id = record["id"].as_str().unwrap().to_owned();
    let dir = first.dir;
    let again = Command::new(crate::harness::BIN)
        .args(["build", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (again["outcome"].as_str(), again["id"].as_str()),
        (Some("unchanged"), Some(id.as_str()))
    );
    assert_eq!(
        std::fs::read_to_string(counter.path()).unwrap(),
        "run\n",
        "the steps ran once"
    );
    let built =
        std::fs::read_to_string(dir.path().join(".dozen/trees").join(&id).join("built.txt"))
            .unwrap();
    assert_eq!(
        built, "mode=production secret=absent\n",
        "steps see the build env, never the runtime config"
    );
    std::fs::write(dir.path().join("app.py"), "print('changed')\n").unwrap();
    let changed = Command::new(crate::harness::BIN)
        .args(["build"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&changed.stdout).trim(), id);
    assert_eq!(
        std::fs::read_to_string(counter.path()).unwrap(),
        "run\nrun\n"
    );
}

#[test]
fn a_failing_step_stores_nothing() {
    let output = app("[\"echo fine\", \"echo about to fail; echo on stderr >&2; exit 7\"]")
        .args(&["build"])
        .run()
        .code(1);
    let stderr = &output.stderr;
    assert!(stderr.contains("error: build step 2 `echo about to fail; echo on stderr >&2; exit 7` failed: exit code 7; nothing was stored"), "{stderr}");
    assert!(
        stderr.contains("  | about to fail\n  | on stderr\n"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("about to fail").count(),
        2,
        "told once, and in the error: {stderr}"
    );
    assert_eq!(count(output.dir.path(), ".dozen/builds"), 0);
    assert_eq!(count(output.dir.path(), ".dozen/trees"), 0);
    assert_eq!(count(output.dir.path(), ".dozen/tmp"), 0);
}

#[test]
fn ignored_files_and_git_stay_out_and_links_stay_links() {
    let test = app("[]")
        .file(".gitignore", "node_modules/\n*.log\n")
        .file("node_modules/x.js", "x")
        .file("debug.log", "x")
        .file(".dozenignore", "notes.txt\n")
        .file("notes.txt", "x");
    std::os::unix::fs::symlink("app.py", test.path().join("main.py")).unwrap();
    Command::new("git")
        .args(["init", "-q"])
        .current_dir(test.path())
        .status()
        .unwrap();
    let output = test.args(&["build"]).run().success();
    let id = output.stdout.trim().to_owned();
    let tree = output.dir.path().join(".dozen/trees").join(id);
    assert!(tree.join("app.py").is_file() && tree.join(".gitignore").is_file());
    assert_eq!(
        std::fs::read_link(tree.join("main.py")).unwrap(),
        std::path::Path::new("app.py")
    );
    for absent in ["node_modules", "debug.log", "notes.txt", ".git", ".dozen"] {
        assert!(!tree.join(absent).exists(), "{absent} was copied");
    }
}

#[test]
fn git_commit_and_dirty_flag_are_recorded() {
    let test = app("[]");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(test.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .status()
            .unwrap();
        assert!(ok.success());
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "first"]);
    let dir = test.path().to_path_buf();
    let build = |args: &[&str]| {
        Command::new(crate::harness::BIN)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let clean: serde_json::Value =
        serde_json::from_slice(&build(&["build", "--json", "--require-clean"]).stdout).unwrap();
    assert_eq!(clean["git"]["dirty"], false);
    assert_eq!(clean["git"]["commit"].as_str().unwrap().len(), 40);
    std::fs::write(dir.join("app.py"), "print('dirty')\n").unwrap();
    let refused = build(&["build", "--require-clean"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("uncommitted change"));
    let dirty: serde_json::Value =
        serde_json::from_slice(&build(&["build", "--json"]).stdout).unwrap();
    assert_eq!(dirty["git"]["dirty"], true);
    assert_eq!(dirty["git"]["diff_hash"].as_str().unwrap().len(), 64);
    drop(test);
}

#[test]
fn identical_files_are_stored_once_and_verify_finds_tampering() {
    let test = app("[]").file("big.bin", vec![7u8; 100_000]);
    let dir = test.path().to_path_buf();
    let first = test.args(&["build"]).run().success();
    let objects_after_one = walk_count(&dir.join(".dozen/objects"));
    std::fs::write(dir.join("app.py"), "print('v2')\n").unwrap();
    let second = Command::new(crate::harness::BIN)
        .arg("build")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(second.status.success());
    assert_eq!(
        walk_count(&dir.join(".dozen/objects")),
        objects_after_one + 1,
        "only the changed file is new"
    );
    let id = first.stdout.trim();
    Command::new(crate::harness::BIN)
        .args(["build", "verify", &id[..8]])
        .current_dir(&dir)
        .output()
        .map(|o| assert!(o.status.success()))
        .unwrap();
    let victim = dir.join(".dozen/trees").join(id).join("big.bin");
    let _ = std::fs::remove_file(&victim);
    std::fs::write(&victim, b"tampered").unwrap();
    let verify = Command::new(crate::harness::BIN)
        .args(["build", "verify", id])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verify.stderr).contains("big.bin: changed since the build"));
    drop(first);
}

fn walk_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk_count(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn the_store_is_kept_out_of_git_once_and_dozen_home_moves_it() {
    let test = app("[]").manifest("[app]\nname = \"shop\"\n");
    Command::new("git")
        .args(["init", "-q"])
        .current_dir(test.path())
        .status()
        .unwrap();
    let dir = test.path().to_path_buf();
    for _ in 0..2 {
        assert!(
            Command::new(crate::harness::BIN)
                .arg("build")
                .current_dir(&dir)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    let exclude = std::fs::read_to_string(dir.join(".git/info/exclude")).unwrap();
    assert_eq!(exclude.matches("/.dozen/").count(), 1, "{exclude}");
    let home = tempfile::tempdir().unwrap();
    let moved = Command::new(crate::harness::BIN)
        .arg("build")
        .current_dir(&dir)
        .env("DOZEN_HOME", home.path())
        .output()
        .unwrap();
    assert!(moved.status.success());
    let id = String::from_utf8(moved.stdout).unwrap().trim().to_owned();
    assert!(
        home.path()
            .join("shop/builds")
            .join(format!("{id}.json"))
            .is_file(),
        "the store is $DOZEN_HOME/<app name>"
    );
}

#[test]
fn cache_directories_come_back_and_are_never_part_of_the_build() {
    let steps = "[\"mkdir -p cachedir && date +%s%N >> cachedir/runs && wc -l < cachedir/runs | tr -d ' ' > runs.txt\"]";
    let first = app(steps).args(&["build"]).run().success();
    let dir = first.dir;
    let id = first.stdout.trim().to_owned();
    let tree = dir.path().join(".dozen/trees");
    assert_eq!(
        std::fs::read_to_string(tree.join(&id).join("runs.txt")).unwrap(),
        "1\n"
    );
    assert!(
        !tree.join(&id).join("cachedir").exists(),
        "caches leave the build"
    );
    std::fs::write(dir.path().join("app.py"), "print('changed')\n").unwrap();
    let second = Command::new(crate::harness::BIN)
        .args(["build"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let second = String::from_utf8(second.stdout).unwrap().trim().to_owned();
    assert_ne!(second, id);
    assert_eq!(
        std::fs::read_to_string(tree.join(&second).join("runs.txt")).unwrap(),
        "2\n",
        "the cache directory came back for the second build"
    );
}

/// The tree a build copies, every file under it.
fn tree_files(app: &std::path::Path) -> Vec<String> {
    let trees = app.join(".dozen/trees");
    let tree = std::fs::read_dir(&trees)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a build tree");
    let mut files = Vec::new();
    let mut stack = vec![tree.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(&tree).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// Issue 28: the build is git's view of the app — the repository's own `.gitignore` applies
/// when the app is a subdirectory of it, and so does `.git/info/exclude`.
#[test]
fn a_subdirectory_app_builds_what_git_sees() {
    let test = Test::new()
        .file(".gitignore", "*.secret\nbuildjunk/\n")
        .file("sub/Procfile", "web: sleep 100\n")
        .file("sub/keep.txt", "kept\n")
        .file("sub/api.secret", "s3cr3t\n")
        .file("sub/buildjunk/out.o", "junk\n")
        .file("sub/local-only.txt", "mine\n")
        .git_add_all();
    std::fs::write(test.path().join(".git/info/exclude"), "local-only.txt\n").unwrap();
    let app = test.path().join("sub");
    let (code, _, stderr) = crate::harness::dozen_in(&app, &["build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(tree_files(&app), ["Procfile", "keep.txt"]);
}

/// Issue 28: a virtualenv in the app directory (made by the developer, untracked) is never
/// copied into a build — its scripts name this machine's paths — and the build says so.
#[test]
fn a_developers_virtualenv_is_left_out_and_said() {
    let test = Test::new()
        .file("Procfile", "web: sleep 100\n")
        .file("app.py", "print('hi')\n")
        .file(
            ".venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\n",
        )
        .file(".venv/bin/pip", "#!/home/dev/project/.venv/bin/python\n")
        .file("env2/pyvenv.cfg", "home = /usr/bin\n")
        .file("env2/lib/site.py", "x\n");
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("note: left out .venv/, env2/: a virtualenv made on this machine"),
        "{stderr}"
    );
    assert_eq!(tree_files(test.path()), ["Procfile", "app.py"]);
}

/// Issue 28: a build whose files name the path it was built at (a virtualenv made by a
/// step) is said to run only here, once, and `export` and `image` refuse it with the list.
#[test]
fn a_build_that_names_its_own_path_runs_only_here() {
    let test = Test::new()
        .procfile("web: ./tools/serve\n")
        .manifest("[build]\nsteps = [\"mkdir -p tools && printf '#!%s/tools/sh\\\\n' \\\"$PWD\\\" > tools/serve && chmod +x tools/serve\"]\n");
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("runs only here: 1 of its files name the path it was built at"),
        "{stderr}"
    );
    assert!(stderr.contains("tools/serve: #!"), "{stderr}");
    // Said once: a release of the same build does not repeat it.
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("runs only here"), "{stderr}");
    for args in [
        &["export", "systemd", "--out", "units"][..],
        &["export", "compose", "--out", "compose"],
        &["image", "--out", "image"],
    ] {
        let (code, _, stderr) = crate::harness::dozen_in(test.path(), args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("v2 runs only here"), "{args:?}: {stderr}");
        assert!(stderr.contains("tools/serve: #!"), "{args:?}: {stderr}");
        assert!(!test.path().join(args[args.len() - 1]).exists(), "{args:?}");
    }
}

/// Issue 28: a build whose files name the app's working tree (a tool installed into the app
/// directory, copied in) fails: the release would run the developer's files.
#[test]
fn a_build_that_runs_the_working_tree_fails() {
    let test = Test::new().procfile("web: ./bin/serve\n");
    let script = format!(
        "#!{}/env/bin/python3\nprint('hi')\n",
        test.path().canonicalize().unwrap().display()
    );
    std::fs::create_dir_all(test.path().join("bin")).unwrap();
    std::fs::write(test.path().join("bin/serve"), script).unwrap();
    std::fs::set_permissions(
        test.path().join("bin/serve"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["build"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the build would run the app's working tree"),
        "{stderr}"
    );
    assert!(stderr.contains("bin/serve: #!"), "{stderr}");
    assert_eq!(count(test.path(), ".dozen/builds"), 0, "nothing stored");
    assert_eq!(count(test.path(), ".dozen/trees"), 0, "nothing stored");
}

/// Issue 28: Python bytecode a build step compiles stays valid wherever the tree is copied
/// (an export's copy, the probe's, an image layer: its files get other times), so a start
/// does not rewrite `__pycache__` — with `SOURCE_DATE_EPOCH`, which every build step sees
/// unless `[build] env` sets another.
#[test]
fn compiled_python_stays_valid_in_a_copy_of_the_tree() {
    let test = Test::new()
        .procfile("web: sleep 100\n")
        .file("lib/m.py", "VALUE = 1\n")
        .manifest("[build]\nsteps = [\"python3 -m compileall -q lib\", \"echo $SOURCE_DATE_EPOCH > epoch\"]\n");
    let (code, _, stderr) = crate::harness::dozen_in(test.path(), &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    let trees = test.path().join(".dozen/trees");
    let tree = std::fs::read_dir(&trees)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read_to_string(tree.join("epoch")).unwrap(),
        "315532800\n"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("app");
    // A copy a second later: every file gets a new time, as in an export's copy. (A fixed time
    // on purpose: the times must differ by a whole second, what a .pyc records of its source.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(
        Command::new("cp")
            .arg("-r")
            .arg(&tree)
            .arg(&copy)
            .status()
            .unwrap()
            .success()
    );
    let cache = copy.join("lib/__pycache__");
    let pyc = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let before = std::fs::read(&pyc).unwrap();
    let import = Command::new("python3")
        .args([
            "-c",
            "import sys; sys.path.insert(0, 'lib'); import m; assert m.VALUE == 1",
        ])
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .current_dir(&copy)
        .status()
        .unwrap();
    assert!(import.success());
    assert_eq!(
        std::fs::read(&pyc).unwrap(),
        before,
        "importing the module rewrote its bytecode"
    );
}
