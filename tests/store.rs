//! The store's promises (docs/store.md) for every user and every interleaving (issue 12): run
//! as an ordinary account (`nobody` when the tests run as root), with commands in parallel,
//! with two apps, with processes that write into their own code, and after kills.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{as_app_user, dozen_as_user, give_to_app_user};

/// A temporary directory holding the app directory `name`, owned by the app user.
struct Place {
    _root: tempfile::TempDir,
    app: PathBuf,
}

fn place(name: &str, files: &[(&str, &str)]) -> Place {
    let root = tempfile::tempdir().unwrap();
    let app = root.path().join(name);
    for (file, text) in files {
        let path = app.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    give_to_app_user(root.path());
    Place { _root: root, app }
}

#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = dozen_as_user(dir, args);
    assert_eq!(
        code,
        Some(0),
        "dozen {args:?} in {}\n{stdout}\n{stderr}",
        dir.display()
    );
    (stdout, stderr)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    give_to_app_user(path);
}

fn releases(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(dir, &["releases", "--json"]).0).unwrap()
}

#[test]
fn an_ordinary_user_builds_releases_rolls_back_runs_and_collects_and_can_delete_the_app() {
    let place = place(
        "shop",
        &[
            (
                "Procfile",
                "web: cat message.txt\nrelease: echo migrating\n",
            ),
            ("message.txt", "one\n"),
            ("lib/deep/code.sh", "echo deep\n"),
            (
                "dozen.toml",
                "[build]\nsteps = [\"mkdir -p out && cp message.txt out/\"]\n",
            ),
        ],
    );
    let app = &place.app;
    ok(app, &["build"]);
    assert_eq!(ok(app, &["release"]).0, "v1\n");
    write(&app.join("message.txt"), "two\n");
    assert_eq!(ok(app, &["release"]).0, "v2\n");
    assert_eq!(
        ok(app, &["exec", "--", "cat", "out/message.txt"]).0,
        "two\n"
    );
    assert_eq!(ok(app, &["rollback"]).0, "v3\n");
    assert_eq!(
        ok(app, &["exec", "--", "cat", "out/message.txt"]).0,
        "one\n"
    );
    // A run of the release: web prints its file and exits, which ends the run with code 0.
    let (_, run_out, _) = dozen_as_user(app, &["run", "--no-timestamps"]);
    assert!(run_out.contains("| one"), "{run_out}");
    ok(app, &["gc", "--keep", "1"]);
    assert_eq!(ok(app, &["exec", "--", "cat", "message.txt"]).0, "one\n");
    // The user's own `rm -rf` of the app (store included) works.
    let rm = if crate::harness::drops_privileges() {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "rm",
                "-rf",
            ])
            .arg(app)
            .output()
            .unwrap()
    } else {
        std::process::Command::new("rm")
            .arg("-rf")
            .arg(app)
            .output()
            .unwrap()
    };
    assert!(
        rm.status.success() && !app.exists(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
}

#[test]
fn the_name_is_the_directory_s_real_name_from_inside_it_too() {
    let place = place("My.Shop", &[("Procfile", "web: sleep 100\n")]);
    let inside = ok(&place.app, &["check", "--json"]).0;
    let outside = ok(
        place.app.parent().unwrap(),
        &["--app", "My.Shop", "check", "--json"],
    )
    .0;
    let name = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text).unwrap()["app"]["name"].clone()
    };
    assert_eq!(name(&inside), "my-shop");
    assert_eq!(name(&outside), "my-shop");
    ok(&place.app, &["init"]);
    let manifest = std::fs::read_to_string(place.app.join("dozen.toml")).unwrap();
    assert!(manifest.contains("name = \"my-shop\""), "{manifest}");
}

#[test]
fn two_apps_never_share_a_store_in_one_dozen_home() {
    let home = tempfile::tempdir().unwrap();
    give_to_app_user(home.path());
    let a = place(
        "site",
        &[("Procfile", "web: echo a\n"), (".env", "SECRET=aaa\n")],
    );
    let b = place(
        "site",
        &[("Procfile", "web: echo b\n"), (".env", "SECRET=bbb\n")],
    );
    let home_arg = home.path().to_str().unwrap();
    let with_home = |dir: &Path, args: &[&str]| {
        let output = as_app_user(dir)
            .env("DOZEN_HOME", home_arg)
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = with_home(&a.app, &["release"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The same name from another directory: refused, never app A's release or secrets.
    let (code, stdout, stderr) = with_home(&b.app, &["exec", "--", "sh", "-c", "echo $SECRET"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("aaa"), "{stdout}");
    assert!(
        stderr.contains("belongs to the app in") && stderr.contains("[app] name"),
        "{stderr}"
    );
    // Named apart, each has its own store; `--app` and `cd` find the same one.
    write(&b.app.join("dozen.toml"), "[app]\nname = \"site-b\"\n");
    let (code, stdout, stderr) = with_home(&b.app, &["release"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "v1\n"), "{stderr}");
    let (_, inside, _) = with_home(&a.app, &["releases", "--json"]);
    let (_, outside, _) = with_home(
        a.app.parent().unwrap(),
        &["--app", a.app.to_str().unwrap(), "releases", "--json"],
    );
    assert_eq!(inside, outside);
    assert!(home.path().join("site/releases/v1.json").is_file());
    assert!(home.path().join("site-b/releases/v1.json").is_file());
}

#[test]
fn exports_of_a_release_are_named_after_the_app_not_the_build() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\nworker: sleep 100\n")],
    );
    ok(&place.app, &["release"]);
    let out = place.app.parent().unwrap().join("units");
    ok(
        &place.app,
        &["export", "systemd", "--out", out.to_str().unwrap()],
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"shop-web@.service".to_owned()), "{names:?}");
    // Every unit, and the list of what the export wrote, is the app's.
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("shop") || n == ".dozen-export.shop.systemd.json"),
        "{names:?}"
    );
}

/// Waits for `file` to appear (a test hook's signal).
#[track_caller]
fn wait_for_file(file: &Path) {
    crate::harness::eventually(
        &format!("{} to appear", file.display()),
        Duration::from_secs(30),
        || file.exists(),
    );
}

#[test]
fn gc_can_never_remove_the_build_a_release_is_about_to_record() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\n"), ("a.txt", "a\n")],
    );
    let signals = tempfile::tempdir().unwrap();
    give_to_app_user(signals.path());
    let go = signals.path().join("go");
    // The release stops between its build and its record (a test hook), where `gc` used to fit.
    let release = as_app_user(&place.app)
        .env("DOZEN_TEST_PAUSE_AFTER_BUILD", &go)
        .arg("release")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&signals.path().join("go.ready"));
    let (code, _, stderr) = dozen_as_user(&place.app, &["gc", "--keep", "0"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the store is in use"), "{stderr}");
    std::fs::write(&go, "").unwrap();
    let output = release.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list = releases(&place.app);
    assert_eq!(list[0]["current"], true);
    ok(&place.app, &["build", "verify"]);
    assert_eq!(ok(&place.app, &["exec", "--", "cat", "a.txt"]).0, "a\n");
}

#[test]
fn a_release_of_a_build_that_is_not_stored_is_an_error_and_takes_no_version() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\nrelease: echo phase\n")],
    );
    let id = ok(&place.app, &["build"]).0.trim().to_owned();
    let tree = place.app.join(".dozen/trees").join(&id);
    // The tree goes (a disk clean-up, a hand): the build is not stored whole.
    std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&tree)
        .status()
        .unwrap();
    std::fs::remove_dir_all(&tree).unwrap();
    std::fs::remove_file(place.app.join(".dozen/builds").join(format!("{id}.tree"))).unwrap();
    let (code, _, stderr) = dozen_as_user(&place.app, &["release", "--build", &id[..8]]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is no longer stored"), "{stderr}");
    assert!(!stderr.contains("phase"), "no release phase ran: {stderr}");
    assert_eq!(releases(&place.app), serde_json::json!([]));
}

#[test]
fn eight_concurrent_releases_after_a_change_all_succeed_with_distinct_versions() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: sleep 100\n"),
            ("a.txt", "a\n"),
            ("dozen.toml", "[build]\nsteps = [\"sleep 0.2\"]\n"),
        ],
    );
    ok(&place.app, &["release"]);
    write(&place.app.join("a.txt"), "changed\n");
    let children: Vec<_> = (0..8)
        .map(|_| {
            as_app_user(&place.app)
                .args(["-q", "release"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut versions: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        })
        .collect();
    versions.sort_by_key(|v| v[1..].parse::<u32>().unwrap());
    assert_eq!(versions, ["v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"]);
    let list = releases(&place.app);
    let builds: std::collections::HashSet<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["version"] != "v1")
        .map(|r| r["build"].as_str().unwrap())
        .collect();
    assert_eq!(builds.len(), 1, "one stored build for one set of inputs");
    assert_eq!(
        std::fs::read_dir(place.app.join(".dozen/trees"))
            .unwrap()
            .count(),
        2
    );
}

#[test]
fn a_process_writing_into_its_code_cannot_change_what_another_release_runs() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: sh lib.sh\n"),
            ("lib.sh", "echo original\n"),
            ("other.txt", "1\n"),
        ],
    );
    let app = &place.app;
    ok(app, &["release"]);
    write(&app.join("other.txt"), "2\n");
    ok(app, &["release"]);
    // v1's process makes its code writable (as its owner may) and changes it.
    let (code, _, stderr) = dozen_as_user(
        app,
        &[
            "exec",
            "--release",
            "v1",
            "--",
            "sh",
            "-c",
            "chmod u+w lib.sh && echo 'echo corrupted' >> lib.sh && mkdir -p cache 2>/dev/null; true",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    // The last process out of the tree puts it back, and the command says so.
    assert!(stderr.contains("put back: lib.sh"), "{stderr}");
    assert!(stderr.contains("backing service): cache"), "{stderr}");
    // v2 shares lib.sh's content with v1, never its file.
    let (stdout, stderr) = ok(app, &["exec", "--release", "v2", "--", "sh", "lib.sh"]);
    assert_eq!(stdout, "original\n");
    assert!(!stderr.contains("put back"), "{stderr}");
    // v1 itself runs as it was built again.
    let (stdout, _) = ok(app, &["exec", "--release", "v1", "--", "sh", "lib.sh"]);
    assert_eq!(stdout, "original\n");
    // A process killed before it ended leaves no clean mark: the next start checks the tree.
    let (code, _, _) = dozen_as_user(
        app,
        &[
            "exec",
            "--release",
            "v1",
            "--",
            "sh",
            "-c",
            // dozen is the parent of the command's parent (`dozen __guard`).
            "chmod u+w lib.sh && echo 'echo again' >> lib.sh && kill -9 $(cut -d' ' -f4 /proc/$PPID/stat)",
        ],
    );
    assert_ne!(code, Some(0));
    let (stdout, stderr) = ok(app, &["exec", "--release", "v1", "--", "sh", "lib.sh"]);
    assert_eq!(stdout, "original\n");
    assert!(stderr.contains("put back: lib.sh"), "{stderr}");
    let (_, stderr) = ok(app, &["build", "verify"]);
    assert!(stderr.contains("intact"), "{stderr}");
    // A no-op build of v2's inputs reuses an intact tree.
    write(&app.join("other.txt"), "1\n");
    let id = ok(app, &["build"]).0.trim().to_owned();
    let tree = app.join(".dozen/trees").join(id);
    assert_eq!(
        std::fs::read_to_string(tree.join("lib.sh")).unwrap(),
        "echo original\n"
    );
}

#[test]
fn env_files_are_never_in_a_build_whatever_gitignore_says() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: sleep 100\n"),
            (".env", "SECRET=ZQX-dotenv-marker\n"),
            (".env.production", "SECRET=ZQX-production-marker\n"),
            ("config/prod.env", "SECRET=ZQX-listed-marker\n"),
            (".env.example", "SECRET=\n"),
            (".gitignore", "# nothing ignored\n"),
            (
                "dozen.toml",
                "[environments.production]\nfiles = [\"config/prod.env\"]\n\n[build]\nsteps = [\"test ! -e .env && test ! -e .env.production && test ! -e config/prod.env && test -e .env.example\"]\n",
            ),
        ],
    );
    let app = &place.app;
    ok(app, &["--env", "production", "release"]);
    let (stdout, _) = ok(app, &["exec", "--", "sh", "-c", "ls -a; echo $SECRET"]);
    assert!(
        stdout.contains(".env.example") && !stdout.contains(".env\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("ZQX-listed-marker\n"),
        "config comes from the release: {stdout}"
    );
    // No stored file anywhere holds a value (the snapshot, 0600, is the only place).
    let grep = std::process::Command::new("grep")
        .args(["-rl", "ZQX-"])
        .arg(app.join(".dozen"))
        .output()
        .unwrap();
    let hits = String::from_utf8_lossy(&grep.stdout);
    assert!(
        hits.lines().all(|l| l.ends_with("releases/v1.env")),
        "{hits}"
    );
}

#[test]
fn a_damaged_formation_is_refused_naming_the_file() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\nworker: sleep 100\n")],
    );
    let app = &place.app;
    ok(app, &["scale", "web=2"]);
    for damage in [
        r#"{"schema":1,"counts":{"web":1000}}"#,
        r#"{"counts":{"web":1}}"#,
        "garbage",
    ] {
        write(&app.join(".dozen/formation.json"), damage);
        for args in [
            &["run", "--dev"][..],
            &["scale"],
            &["export", "compose", "--out", "x"],
        ] {
            let (code, stdout, stderr) = dozen_as_user(app, args);
            assert_eq!(code, Some(1), "{args:?} {damage}: {stdout}{stderr}");
            assert!(stderr.contains("formation.json"), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn debris_of_killed_commands_is_cleared_and_the_next_build_succeeds() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\n"), ("a.txt", "a\n")],
    );
    let app = &place.app;
    ok(app, &["release"]);
    let signals = tempfile::tempdir().unwrap();
    give_to_app_user(signals.path());
    let go = signals.path().join("go");
    // A build killed after its tree is made and before its record is written.
    write(&app.join("a.txt"), "b\n");
    let mut build = as_app_user(app)
        .env("DOZEN_TEST_PAUSE_BEFORE_RECORD", &go)
        .arg("build")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&signals.path().join("go.ready"));
    build.kill().unwrap();
    build.wait().unwrap();
    let store = app.join(".dozen");
    assert_eq!(std::fs::read_dir(store.join("trees")).unwrap().count(), 2);
    // And a killed atomic write, from a pid that no longer exists.
    let dead = "4194303";
    for path in [
        format!("releases/.v1.status.dozen-{dead}.tmp"),
        format!(".current.dozen-{dead}.tmp"),
    ] {
        write(&store.join(path), "half");
    }
    ok(app, &["releases"]);
    assert_eq!(
        std::fs::read_dir(store.join("trees")).unwrap().count(),
        1,
        "the partial tree is gone"
    );
    let leftovers: Vec<String> = ["", "releases", "builds"]
        .iter()
        .flat_map(|d| std::fs::read_dir(store.join(d)).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    ok(app, &["build"]);
    ok(app, &["build", "verify"]);
}

#[test]
fn the_history_and_the_current_release_agree_after_a_lost_write() {
    let place = place(
        "shop",
        &[("Procfile", "web: sleep 100\n"), ("a.txt", "a\n")],
    );
    let app = &place.app;
    ok(app, &["release"]);
    write(&app.join("a.txt"), "b\n");
    ok(app, &["release"]);
    let store = app.join(".dozen");
    // A crash (or a full disk) after v2's status: its history line and `current` are lost.
    let history = std::fs::read_to_string(store.join("history.jsonl")).unwrap();
    let kept: Vec<&str> = history
        .lines()
        .filter(|l| !l.contains("\"version\":\"v2\""))
        .collect();
    write(
        &store.join("history.jsonl"),
        &format!("{}\n", kept.join("\n")),
    );
    write(&store.join("current"), "v1\n");
    let list = releases(app);
    assert_eq!(list[0]["version"], "v2");
    assert_eq!(list[0]["current"], true, "{list}");
    assert_eq!(list[1]["current"], false, "{list}");
    let events: serde_json::Value =
        serde_json::from_str(&ok(app, &["history", "--json"]).0).unwrap();
    let v2: Vec<&serde_json::Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["version"] == "v2")
        .collect();
    assert_eq!(v2.len(), 1, "{events}");
    assert_eq!(v2[0]["outcome"], "succeeded");
    assert_eq!(v2[0]["recovered"], true);
    assert_eq!(
        std::fs::read_to_string(store.join("current")).unwrap(),
        "v2\n"
    );
}

/// Issue 28: a command that is not a start of the formation — `exec`, `export` — never
/// removes or puts back files in a tree a running formation uses: what its processes made
/// there stays until the last user out checks the tree.
#[test]
fn read_only_commands_leave_a_running_formations_files_alone() {
    let place = place(
        "shop",
        &[(
            "Procfile",
            "web: echo made > made-by-web.txt && exec sleep 100\n",
        )],
    );
    let app = &place.app;
    ok(app, &["release"]);
    let mut run = as_app_user(app)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let trees = app.join(".dozen/trees");
    let made = std::fs::read_dir(&trees)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("made-by-web.txt"))
        .next()
        .unwrap();
    wait_for_file(&made);
    let (_, stderr) = ok(app, &["exec", "--", "true"]);
    assert!(
        !stderr.contains("removed what a process had created"),
        "{stderr}"
    );
    let (_, stderr) = ok(app, &["export", "systemd", "--out", "units"]);
    assert!(
        !stderr.contains("removed what a process had created"),
        "{stderr}"
    );
    assert!(
        made.exists(),
        "exec or export removed a running process's file"
    );
    let _ = rustix::process::kill_process_group(
        rustix::process::Pid::from_child(&run),
        rustix::process::Signal::TERM,
    );
    run.wait().unwrap();
    // The formation is gone: the next start finds the tree as it was built.
    let (_, stderr) = ok(app, &["exec", "--", "true"]);
    let _ = stderr;
    assert!(
        !made.exists(),
        "the last user out or the next start clears it"
    );
}

/// A store is this account's alone (issue 31, findings 8 and 13): one every account can write
/// to is refused, so another user cannot plant a release's config; and when the tests run as
/// root, root's `dozen release` in the user's app (a careless `sudo`) is refused before it
/// writes anything, and a file another account left in the store is named with the fix.
#[test]
fn a_store_another_account_owns_or_can_write_is_refused_up_front() {
    let place = place("owned", &[("Procfile", "web: cat Procfile\n")]);
    let app = &place.app;
    assert_eq!(ok(app, &["release"]).0, "v1\n");
    let store = app.join(".dozen");
    let releases_dir = store.join("releases");
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&releases_dir, mode(0o777)).unwrap();
    let (code, _, stderr) = dozen_as_user(app, &["exec", "--", "env"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(".dozen/releases can be written by other accounts (mode 777)"),
        "{stderr}"
    );
    std::fs::set_permissions(&releases_dir, mode(0o700)).unwrap();
    ok(app, &["releases"]);
    if !crate::harness::drops_privileges() {
        return;
    }
    // Root in the user's app: refused, and nothing of the store changed.
    let listing = |dir: &Path| {
        let mut names: Vec<String> = crate::harness::every_path(dir)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        names.sort();
        names
    };
    let before = listing(&store);
    let (code, _, stderr) = crate::harness::dozen_in(app, &["release"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            ".dozen belongs to nobody (uid 65534), not to root (uid 0): run dozen as the store's owner"
        ),
        "{stderr}"
    );
    assert_eq!(listing(&store), before);
    // A file root left there (as an older dozen under sudo did): named, with the fix.
    let planted = releases_dir.join("v1.status");
    std::os::unix::fs::lchown(&planted, Some(0), Some(0)).unwrap();
    let (code, _, stderr) = dozen_as_user(app, &["releases"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            ".dozen/releases/v1.status belongs to root (uid 0), not to nobody (uid 65534): another account wrote into this store; give it back with `chown -R` to its owner"
        ),
        "{stderr}"
    );
}

/// Values are shown as digests keyed by the store's secret (issue 31, finding 11): not a
/// SHA-256 anyone can look up, yet equal in one store; and a release's snapshot changed after
/// the release is refused before anything runs with it (finding 8).
#[test]
fn value_digests_are_keyed_and_a_changed_snapshot_never_runs() {
    let place = place(
        "keyed",
        &[
            ("Procfile", "web: cat Procfile\n"),
            (".env", "DB_PASSWORD=hunter2\nPIN=1234\n"),
        ],
    );
    let app = &place.app;
    let (shown, _) = ok(app, &["config"]);
    // sha256("hunter2") and sha256("1234") start so.
    assert!(
        !shown.contains("f52fbd32b2b3") && !shown.contains("03ac674216f3"),
        "{shown}"
    );
    let digest_of = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap()
            .to_owned()
    };
    assert_eq!(digest_of(&shown, "DB_PASSWORD").len(), 12);
    assert_eq!(ok(app, &["release"]).0, "v1\n");
    let (show, _) = ok(app, &["releases", "show", "v1"]);
    assert!(
        show.contains(&digest_of(&shown, "DB_PASSWORD")),
        "the same value, the same digest in one store:\n{shown}\n{show}"
    );
    let key = app.join(".dozen/digest.key");
    let mode = std::fs::metadata(&key).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    let snapshot = app.join(".dozen/releases/v1.env");
    let planted = std::fs::read_to_string(&snapshot)
        .unwrap()
        .replace("hunter2", "planted");
    std::fs::write(&snapshot, planted).unwrap();
    let (code, stdout, stderr) = dozen_as_user(app, &["exec", "--", "env"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("planted"), "{stdout}");
    assert!(
        stderr.contains(
            "v1.env is not the config release v1 was made with (its digest differs): it was changed after the release; make a new release"
        ),
        "{stderr}"
    );
    // A new release is shown whole, though the one before it cannot be compared with.
    assert_eq!(ok(app, &["release"]).0, "v2\n");
    ok(app, &["releases", "show", "v2"]);
    // A lost key is said as that, not as a changed config.
    std::fs::remove_file(&key).unwrap();
    let (code, _, stderr) = dozen_as_user(app, &["exec", "--", "true"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("v2's config cannot be checked: the store's digest key"),
        "{stderr}"
    );
}

/// Removes a build's tree as a hand (or a disk clean-up) would.
fn remove_tree(app: &Path, id: &str) {
    let tree = app.join(".dozen/trees").join(id);
    std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&tree)
        .status()
        .unwrap();
    std::fs::remove_dir_all(&tree).unwrap();
}

/// The build of the only stored tree.
fn only_build(app: &Path) -> String {
    let mut ids: Vec<String> = std::fs::read_dir(app.join(".dozen/trees"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids.pop().unwrap()
}

/// A build's tree removed (by hand, by a disk clean-up) is remade from the objects by the
/// command that needs it, and that command runs from it (issue 31, finding 12): the first
/// `exec` or `run` after the removal used to fail `no Procfile found`, trusting the clean mark
/// of a tree that was no longer there.
#[test]
fn a_removed_tree_is_remade_for_the_command_that_needs_it() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: cat lib/message.txt\n"),
            ("lib/message.txt", "one\n"),
        ],
    );
    let app = &place.app;
    ok(app, &["release"]);
    let id = only_build(app);
    remove_tree(app, &id);
    let (stdout, stderr) = ok(app, &["exec", "--", "cat", "lib/message.txt"]);
    assert_eq!(stdout, "one\n");
    assert!(stderr.contains("was remade from the store"), "{stderr}");
    remove_tree(app, &id);
    let (code, stdout, stderr) = dozen_as_user(app, &["run", "--no-timestamps"]);
    assert!(stdout.contains("| one"), "{code:?}\n{stdout}\n{stderr}");
    // Replaced by another directory: not the tree that was sealed either.
    remove_tree(app, &id);
    let tree = app.join(".dozen/trees").join(&id);
    std::fs::create_dir(&tree).unwrap();
    give_to_app_user(&tree);
    assert_eq!(
        ok(app, &["exec", "--", "cat", "lib/message.txt"]).0,
        "one\n"
    );
    // Nor does a no-op build trust the mark of a removed tree.
    remove_tree(app, &id);
    ok(app, &["build"]);
    assert!(tree.join("Procfile").is_file(), "the no-op build remade it");
}

/// The object a build's file is stored as, and its path in the store.
fn object_of(app: &Path, id: &str, file: &str) -> (String, PathBuf) {
    let listing =
        std::fs::read_to_string(app.join(".dozen/builds").join(format!("{id}.tree"))).unwrap();
    let object = listing
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|entry| entry["p"] == file)
        .unwrap()["o"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = app
        .join(".dozen/objects")
        .join(&object[..2])
        .join(&object[2..]);
    (object, path)
}

/// Changes a stored object's content as damage or another hand would (its name stays).
fn corrupt(object: &Path, text: &str) {
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(object, mode(0o644)).unwrap();
    std::fs::write(object, text).unwrap();
    std::fs::set_permissions(object, mode(0o444)).unwrap();
}

/// An object whose content is not its digest is never installed in a tree nor run (issue 31,
/// finding 12): the command that would remake the tree fails naming the build, the file and
/// the object, leaves nothing half-made, and `dozen release` builds it again.
#[test]
fn a_damaged_object_is_never_installed_and_the_build_is_made_again() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: sh app.sh\n"),
            ("app.sh", "echo original\n"),
        ],
    );
    let app = &place.app;
    ok(app, &["release"]);
    let id = only_build(app);
    let (object, stored) = object_of(app, &id, "app.sh");
    corrupt(&stored, "echo PWNED\n");
    remove_tree(app, &id);
    let (code, stdout, stderr) = dozen_as_user(app, &["exec", "--", "sh", "app.sh"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("PWNED"), "{stdout}");
    let said = format!(
        "build {} cannot be made from the store: its file `app.sh`: .dozen/objects/{}/{} does not match its digest",
        &id[..12],
        &object[..2],
        &object[2..]
    );
    assert!(stderr.contains(&said), "{stderr}");
    assert!(
        stderr.contains("nothing of the build was installed or run"),
        "{stderr}"
    );
    assert!(stderr.contains("`dozen build`"), "{stderr}");
    // Nothing half-made is left for a later command to trust.
    assert!(!app.join(".dozen/trees").join(&id).exists());
    assert!(!stored.exists(), "the damaged object is removed");
    let debris: Vec<_> = std::fs::read_dir(app.join(".dozen/tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
    let (code, stdout, stderr) = dozen_as_user(app, &["exec", "--", "sh", "app.sh"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("is no longer stored"), "{stderr}");
    // Built again from the source, the same inputs give the same build, whole.
    assert_eq!(ok(app, &["release"]).0, "v2\n");
    assert_eq!(only_build(app), id);
    assert_eq!(ok(app, &["exec", "--", "sh", "app.sh"]).0, "original\n");
    assert_eq!(
        ok(app, &["exec", "--release", "v1", "--", "sh", "app.sh"]).0,
        "original\n"
    );
    // Found by a build, the damage is said and the build is made again at once.
    corrupt(&stored, "echo PWNED\n");
    remove_tree(app, &id);
    let (stdout, stderr) = ok(app, &["build"]);
    assert_eq!(stdout.trim(), id);
    assert!(
        stderr.contains("cannot be made from the store")
            && stderr.contains("built again from the app's source"),
        "{stderr}"
    );
    assert_eq!(ok(app, &["exec", "--", "sh", "app.sh"]).0, "original\n");
}

/// The same when a process changed its file and the object it is put back from is damaged:
/// the last user out does not put the damaged content back (issue 31, finding 12).
#[test]
fn a_damaged_object_is_never_put_back_into_a_changed_tree() {
    let place = place(
        "shop",
        &[
            ("Procfile", "web: sh app.sh\n"),
            ("app.sh", "echo original\n"),
        ],
    );
    let app = &place.app;
    ok(app, &["release"]);
    let id = only_build(app);
    corrupt(&object_of(app, &id, "app.sh").1, "echo PWNED\n");
    let (code, _, stderr) = dozen_as_user(
        app,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "chmod u+w app.sh && echo 'echo changed' > app.sh",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "build {} cannot be made from the store: its file `app.sh`",
            &id[..12]
        )),
        "{stderr}"
    );
    let (code, stdout, stderr) = dozen_as_user(app, &["exec", "--", "sh", "app.sh"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        !stdout.contains("PWNED") && !stdout.contains("changed"),
        "{stdout}"
    );
}
