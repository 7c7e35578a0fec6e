//! `dozen run --dev --watch`: a change restarts the types that watch it, a burst restarts
//! once, ignored files restart nothing, a type that crashed starts again on the next change.

use std::time::{Duration, Instant};

use crate::harness::{Running, Test};

/// A type that says which `code.txt` it started with, and fails while it says `bad`.
const SAYS_ITS_CODE: &str = "if grep -q bad code.txt; then echo broken; exit 1; fi; echo \"started $(cat code.txt)\"; exec sleep 600";

/// One base port for every test here: their processes listen on none, so they can share it
/// (dozen only checks the ports are free), and the suite's port blocks are few. Two blocks:
/// a third type takes the base + 200.
fn port() -> String {
    static BASE: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let base = crate::harness::port_block();
        crate::harness::port_block();
        base
    });
    base.to_string()
}

fn watched(test: Test, types: &str) -> Running {
    let port = port();
    test.file("code.txt", "one")
        .args(&[
            "run",
            "--dev",
            "--watch",
            "--no-timestamps",
            "-p",
            &port,
            "-m",
            types,
        ])
        .spawn()
}

fn write(running: &Running, name: &str, contents: &str) {
    let path = running.dir.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn restart_lines(running: &Running) -> Vec<&str> {
    running
        .seen
        .iter()
        .filter(|l| l.starts_with("dozen | ") && l.ends_with("changed, restarting"))
        .map(String::as_str)
        .collect()
}

fn stop(running: Running) {
    running.signal(rustix::process::Signal::INT);
    let (code, lines) = running.finish(15);
    assert_eq!(code, Some(130), "{lines:#?}");
}

/// An edit restarts the types that watch it within a second: every type by default, none
/// with `watch = false`, those whose `watch` paths it is under.
#[test]
fn watch_restarts_the_types_whose_files_changed() {
    let procfile =
        format!("api: {SAYS_ITS_CODE}\nworker: {SAYS_ITS_CODE}\nassets: {SAYS_ITS_CODE}\n");
    let test = Test::new().procfile(&procfile).manifest(
        "[processes.worker]\nwatch = false\n\n[processes.assets]\nwatch = [\"static/\", \"*.css\"]\n",
    );
    let mut running = watched(test.file("static/app.js", "1"), "api=1,worker=1,assets=1");
    for name in ["api.1", "worker.1", "assets.1"] {
        running.wait_for(&format!("{name} | started one"), 20);
    }
    let edited = Instant::now();
    write(&running, "code.txt", "two");
    let line = running.wait_for("changed, restarting", 10);
    let took = edited.elapsed();
    assert_eq!(line, "dozen | api: code.txt changed, restarting");
    assert!(took < Duration::from_secs(1), "{took:?}");
    running.wait_for("api.1 | started two", 10);
    write(&running, "static/app.js", "2");
    running.wait_for("assets.1 | started two", 10);
    assert_eq!(
        restart_lines(&running),
        [
            "dozen | api: code.txt changed, restarting",
            "dozen | api: static/app.js changed, restarting",
            "dozen | assets: static/app.js changed, restarting",
        ]
    );
    assert!(
        !running
            .seen
            .iter()
            .any(|l| l.starts_with("worker.1 | started two")),
        "{:#?}",
        running.seen
    );
    stop(running);
}

/// 500 files written at once (a `git checkout`) restart the type once.
#[test]
fn watch_restarts_once_for_a_burst_of_500_changes() {
    let test = Test::new()
        .procfile(&format!("api: {SAYS_ITS_CODE}\n"))
        .file("src/.keep", "");
    let mut running = watched(test, "api=1");
    running.wait_for("api.1 | started one", 20);
    for n in 0..500 {
        write(&running, &format!("src/{n}.py"), "print()\n");
    }
    running.wait_for("changed, restarting", 10);
    running.wait_for_nth("api.1 | started one", 2, 10);
    // The next change is a burst of its own: nothing of the first was left for it.
    write(&running, "code.txt", "two");
    running.wait_for("api.1 | started two", 10);
    assert_eq!(
        restart_lines(&running),
        [
            "dozen | api: src/0.py and 499 other files changed, restarting",
            "dozen | api: code.txt changed, restarting",
        ]
    );
    stop(running);
}

/// Editors' swap and backup files, version control's, and what `.gitignore` and
/// `.dozenignore` name are no change.
#[test]
fn watch_ignores_editor_files_and_ignored_paths() {
    let test = Test::new()
        .procfile(&format!("api: {SAYS_ITS_CODE}\n"))
        .file(".gitignore", "*.log\ntmp/\n")
        .file(".dozenignore", "notes.txt\n")
        .file(".git/HEAD", "ref: refs/heads/main\n");
    let mut running = watched(test, "api=1");
    running.wait_for("api.1 | started one", 20);
    for name in [
        "x.log",
        "tmp/cache",
        "notes.txt",
        ".code.txt.swp",
        "code.txt~",
        "4913",
        ".#code.txt",
        ".git/index",
        "__pycache__/app.cpython-311.pyc",
    ] {
        write(&running, name, "x");
    }
    // In the same burst as the ignored ones, were they not: the line would name them first.
    write(&running, "code.txt", "two");
    running.wait_for("api.1 | started two", 10);
    assert_eq!(
        restart_lines(&running),
        ["dozen | api: code.txt changed, restarting"]
    );
    stop(running);
}

/// A directory's own `.gitignore` counts below it; a directory made after the start is
/// watched from then on (made empty, it is no change); an edit by `sed -i` (a temporary file renamed over the one edited)
/// is named as the file edited.
#[test]
fn watch_reads_nested_ignore_files_follows_new_directories_and_names_the_file_edited() {
    let test = Test::new()
        .procfile(&format!("api: {SAYS_ITS_CODE}\n"))
        .file("web/.gitignore", "gen/\n*.map\n")
        .file("web/gen/.keep", "");
    let mut running = watched(test, "api=1");
    running.wait_for("api.1 | started one", 20);
    write(&running, "web/gen/bundle.js", "x");
    write(&running, "web/app.js.map", "x");
    // An empty directory is no change (git tracks none), but it is watched from its burst's
    // end: what is written in it then is one.
    std::fs::create_dir(running.dir.path().join("lib")).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    write(&running, "lib/code.py", "x");
    running.wait_for("dozen | api: lib/code.py changed, restarting", 10);
    running.wait_for_nth("api.1 | started one", 2, 10);
    let sed = std::process::Command::new("sed")
        .args(["-i", "s/one/two/", "code.txt"])
        .current_dir(running.dir.path())
        .status()
        .unwrap();
    assert!(sed.success());
    running.wait_for("api.1 | started two", 10);
    assert_eq!(
        restart_lines(&running),
        [
            "dozen | api: lib/code.py changed, restarting",
            "dozen | api: code.txt changed, restarting",
        ]
    );
    stop(running);
}

/// A bad edit that makes the type exit does not end the run: it waits for the next change.
#[test]
fn watch_starts_a_crashed_type_again_on_the_next_change() {
    let test = Test::new().procfile(&format!("api: {SAYS_ITS_CODE}\nclock: exec sleep 600\n"));
    let mut running = watched(test, "api=1,clock=1");
    running.wait_for("api.1 | started one", 20);
    write(&running, "code.txt", "bad");
    running.wait_for("api.1 | broken", 10);
    running.wait_for("api.1: waiting for a change to start it again", 10);
    write(&running, "code.txt", "fixed");
    running.wait_for("api.1 | started fixed", 10);
    stop(running);
}

/// One that gave up after its restarts too.
#[test]
fn watch_starts_a_type_that_gave_up_again_on_the_next_change() {
    let test = Test::new()
        .procfile(&format!("api: {SAYS_ITS_CODE}\n"))
        .manifest(
            "[processes.api]\nrestart = \"on-failure\"\nmax_restarts = 1\nrestart_delay = \"100ms\"\n",
        );
    let mut running = watched(test, "api=1");
    running.wait_for("api.1 | started one", 20);
    write(&running, "code.txt", "bad");
    running.wait_for(
        "api.1 gave up after 1 restarts: waiting for a change to start it again",
        10,
    );
    write(&running, "code.txt", "fixed");
    running.wait_for("api.1 | started fixed", 10);
    stop(running);
}

#[test]
fn watch_is_for_dev_runs_and_its_paths_are_checked() {
    Test::new()
        .procfile("api: sleep 1\n")
        .args(&["run", "--watch"])
        .run()
        .code(2)
        .stderr_has("--dev");
    Test::new()
        .procfile("api: sleep 1\n")
        .manifest("[processes.api]\nwatch = [\"/etc\"]\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has(
            "dozen.toml:2:9: `watch` takes paths relative to the app directory, not `/etc`",
        );
    Test::new()
        .procfile("api: sleep 1\n")
        .manifest("[processes.api]\nwatch = 5\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has(
            "dozen.toml:2:9: invalid type: integer `5`, expected false, or a list of paths",
        );
}

/// An ordinary user's run watches as well (inotify needs no privilege): as `nobody` when the
/// tests run as root.
#[test]
fn watch_works_as_an_unprivileged_user() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        format!("api: {SAYS_ITS_CODE}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("code.txt"), "one").unwrap();
    crate::harness::give_to_app_user(dir.path());
    let port = port();
    let mut child = crate::harness::as_app_user(dir.path())
        .args(["run", "--dev", "--watch", "--no-timestamps", "-p", &port])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(crate::harness::unpad(&line));
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str| loop {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(20)) else {
            panic!("no {needle:?}; output:\n{}", seen.join("\n"));
        };
        seen.push(line.clone());
        if line.contains(needle) {
            break;
        }
    };
    wait_for("api.1 | started one");
    std::fs::write(dir.path().join("code.txt"), "two").unwrap();
    wait_for("dozen | api: code.txt changed, restarting");
    wait_for("api.1 | started two");
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

/// A run whose output goes to a file in the app directory (`> dev.log`) does not restart for
/// its own lines (each restart wrote more: a restart storm).
#[test]
fn watch_leaves_out_the_file_its_own_output_goes_to() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        format!("api: {SAYS_ITS_CODE}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("code.txt"), "one").unwrap();
    let log = dir.path().join("dev.log");
    let port = port();
    let mut child = std::process::Command::new(crate::harness::BIN)
        .args(["run", "--dev", "--watch", "--no-timestamps", "-p", &port])
        .current_dir(dir.path())
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    crate::harness::eventually("the first start", Duration::from_secs(20), || {
        read().contains("| started one")
    });
    std::fs::write(dir.path().join("code.txt"), "two").unwrap();
    crate::harness::eventually("the restart", Duration::from_secs(20), || {
        read().contains("| started two")
    });
    // Time for a restart its own lines would have caused (a burst ends within 1 s).
    std::thread::sleep(Duration::from_millis(1500));
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let output = read();
    let restarts: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("changed, restarting"))
        .collect();
    assert_eq!(restarts.len(), 1, "{output}");
    assert!(
        restarts[0].ends_with("api: code.txt changed, restarting"),
        "{output}"
    );
}

/// The env files, `dozen.toml` and the Procfile were read when the run started: a change to
/// them is said, with what to do, and restarts nothing (a restart would run the old config
/// and commands under a line that says otherwise).
#[test]
fn watch_says_a_config_change_needs_a_new_run_and_restarts_nothing_for_it() {
    let test = Test::new()
        .procfile(&format!("api: {SAYS_ITS_CODE}\n"))
        .env_file(".env", "GREETING=one\n");
    let mut running = watched(test, "api=1");
    running.wait_for("api.1 | started one", 20);
    write(&running, ".env", "GREETING=two\n");
    write(
        &running,
        "Procfile",
        &format!("api: {SAYS_ITS_CODE}\nother: true\n"),
    );
    let mut said = running.wait_for("dozen run reads its env files", 10);
    // (Two bursts, on a machine slow enough to put 150 ms between the writes.)
    if !said.contains("Procfile") {
        said += &running.wait_for_nth("dozen run reads its env files", 2, 10);
    }
    assert!(said.contains(".env") && said.contains("Procfile"), "{said}");
    assert!(
        said.ends_with("stop it and run it again to use the change"),
        "{said}"
    );
    // A code change after it restarts as before, and nothing restarted for the config.
    write(&running, "code.txt", "two");
    running.wait_for("api.1 | started two", 10);
    assert_eq!(
        restart_lines(&running),
        ["dozen | api: code.txt changed, restarting"]
    );
    stop(running);
}
