//! `dozen top`: the live view as a person uses it — in a terminal (tmux: keys sent with
//! `send-keys`, the screen read with `capture-pane`) — and `--once [--json]` for scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// The app behind the router, and a worker beside it.
fn formation(port: u16) -> Running {
    let (base, listen) = (port.to_string(), format!("127.0.0.1:{port}"));
    Test::new()
        .file("app.py", APP)
        .procfile(
            "web: exec python3 -u app.py\nworker: while true; do echo tick; sleep 0.5; done\n",
        )
        .args(&[
            "run",
            "--dev",
            "--no-timestamps",
            "-p",
            &base,
            "-m",
            "web=2,worker=1",
            "--router",
            &listen,
        ])
        .spawn()
}

/// A tmux server of the test's own (its socket in a directory of its own), killed at the end.
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// `tmux`, or `None` (the test stops, saying so) unless CI requires it.
    fn start(app: &Path, width: u16, height: u16, env: &[(&str, &str)]) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            crate::harness::missing("tmux", "apt-get install tmux");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let tmux = Self {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        let mut command = vec![
            "new-session".to_owned(),
            "-d".to_owned(),
            "-x".to_owned(),
            width.to_string(),
            "-y".to_owned(),
            height.to_string(),
            "-c".to_owned(),
            app.display().to_string(),
        ];
        for (key, value) in env {
            command.extend(["-e".to_owned(), format!("{key}={value}")]);
        }
        command.extend([
            env!("CARGO_BIN_EXE_dozen").to_owned(),
            "top".to_owned(),
            "--interval".to_owned(),
            "0.2".to_owned(),
        ]);
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let out = tmux.run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .output()
            .unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend(keys);
        assert!(self.run(&args).status.success());
    }

    /// The screen as text (`escapes`: with its SGR sequences).
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "0"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.run(&args).stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok`; the screen then.
    #[track_caller]
    fn until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let seen = crate::harness::within(Duration::from_secs(20), || {
            last = self.screen(false);
            ok(&last)
        });
        let size = self.run(&["display", "-p", "-t", "0", "#{pane_width}x#{pane_height}"]);
        let size = String::from_utf8_lossy(&size.stdout);
        assert!(
            seen,
            "waited for {what}; the screen ({}):\n{last}",
            size.trim()
        );
        last
    }

    fn alive(&self) -> bool {
        self.run(&["has-session"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The row of `name` on a screen, its cells.
fn row<'a>(screen: &'a str, name: &str) -> Option<Vec<&'a str>> {
    screen.lines().find_map(|line| {
        let cells: Vec<&str> = line.trim_start_matches('>').split_whitespace().collect();
        (cells.first() == Some(&name)).then_some(cells)
    })
}

/// Rows, rates under load, the log tail of the selection, resizing, and the keys: scale the
/// selected type, restart it, stop it after a yes, quit.
#[test]
fn top_in_a_terminal_shows_the_formation_and_its_keys_act() {
    let port = base_port();
    let mut running = formation(port);
    in_rotation(&running, 2);
    running.wait_for("worker.1 | tick", 20);
    let Some(tmux) = Tmux::start(running.dir.path(), 120, 32, &[]) else {
        return;
    };
    let load = Load::start(port, 2, "/slow?s=0.02");
    load.wait_served(20);
    // Every instance a row; the router's requests shown per instance, as a rate.
    let screen = tmux.until("web rows with requests per second", |s| {
        ["web.1", "web.2"].iter().all(|name| {
            row(s, name).is_some_and(|cells| {
                cells[1] == "ready"
                    && cells[3].parse::<f64>().is_ok()
                    && cells[4].ends_with('M')
                    && cells[6].parse::<f64>().is_ok_and(|rps| rps > 0.0)
            })
        }) && row(s, "worker.1").is_some_and(|cells| cells[1] == "running")
    });
    assert!(
        screen.contains("NAME") && screen.contains("REQ/S"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("router http://127.0.0.1:{port}")),
        "{screen}"
    );
    // The selection moves; its log tail follows it.
    tmux.keys(&["Down", "Down"]);
    tmux.until("worker.1 selected with its log", |s| {
        s.lines().any(|l| l.starts_with("> worker.1"))
            && s.contains("worker.1 log")
            && s.contains("tick")
    });
    // Resized, it draws for the new size.
    assert!(
        tmux.run(&["resize-window", "-t", "0", "-x", "90", "-y", "24"])
            .status
            .success()
    );
    tmux.until("the screen redrawn at 90 columns", |s| {
        s.lines().any(|l| l.starts_with("> worker.1"))
            && s.contains("NAME")
            && s.contains("↑↓ select")
            && s.lines().all(|l| l.chars().count() <= 90)
    });
    // + scales the selected type by one.
    tmux.keys(&["+"]);
    tmux.until("worker.2 running", |s| {
        row(s, "worker.2").is_some_and(|c| c[1] == "running")
            && s.contains("scaled: web=2 worker=2")
    });
    // - scales down by one; its last instance only after a yes.
    tmux.keys(&["-"]);
    tmux.until("worker=1", |s| s.contains("scaled: web=2 worker=1"));
    tmux.keys(&["-"]);
    tmux.until("the question", |s| {
        s.contains("scale worker to 0, stopping its last instance? (y/n)")
    });
    tmux.keys(&["n"]);
    tmux.until("not scaled", |s| s.contains("worker not scaled"));
    tmux.keys(&["+"]);
    tmux.until("worker=2 again", |s| {
        row(s, "worker.2").is_some_and(|c| c[1] == "running")
            && s.contains("scaled: web=2 worker=2")
    });
    let formation = ps(&running)["formation"].clone();
    assert_eq!(formation, serde_json::json!({"web": 2, "worker": 2}));
    // r restarts the selected type, one instance at a time.
    tmux.keys(&["Up", "Up", "r"]);
    tmux.until("the restart said", |s| {
        s.contains("restarting web.1, web.2")
    });
    running.wait_for("rolling restart done (2 instances)", 30);
    // s asks first; anything but y does nothing; y stops the type.
    // (A person looks before pressing s: while the restart replaces web's instances, the
    // rows, and what the selection is on, move.)
    tmux.keys(&["Down", "Down"]);
    tmux.until("worker.1 selected, the restart over", |s| {
        s.lines().any(|l| l.starts_with("> worker.1")) && !s.contains("restart: running")
    });
    tmux.keys(&["s"]);
    tmux.until("the question", |s| {
        s.contains("stop every worker instance? (y/n)")
    });
    tmux.keys(&["n"]);
    tmux.until("not stopped", |s| s.contains("worker not stopped"));
    tmux.keys(&["s"]);
    tmux.until("the question again", |s| s.contains("(y/n)"));
    tmux.keys(&["y"]);
    tmux.until("the workers stopped", |s| {
        ["worker.1", "worker.2"]
            .iter()
            .all(|name| row(s, name).is_some_and(|c| c[1] == "stopped"))
    });
    // What the keys did is in the history, as the commands record it.
    let (_, history, _) = running.dozen(&["history", "--json"]);
    for what in ["\"scale\"", "\"restart\"", "\"stop\""] {
        assert!(history.contains(what), "{what} not in {history}");
    }
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    // q quits, and the terminal is given back.
    tmux.keys(&["q"]);
    assert!(
        crate::harness::within(Duration::from_secs(5), || !tmux.alive()),
        "top did not quit on q: {}",
        tmux.screen(false)
    );
    stop(running);
}

/// Colour only where it may be: states are coloured on a terminal, nothing is with `NO_COLOR`
/// (the selection stays marked: `>` and reverse video, which are not colours).
#[test]
fn top_has_no_colour_with_no_color() {
    let port = base_port();
    let running = formation(port);
    in_rotation(&running, 2);
    let coloured = |escapes: &str| {
        escapes.contains("\x1b[38;5;") || (30..=37).any(|c| escapes.contains(&format!("\x1b[{c}m")))
    };
    let Some(plain) = Tmux::start(running.dir.path(), 120, 30, &[("NO_COLOR", "1")]) else {
        return;
    };
    let Some(colour) = Tmux::start(running.dir.path(), 120, 30, &[]) else {
        return;
    };
    for tmux in [&plain, &colour] {
        tmux.until("rows", |s| row(s, "web.1").is_some_and(|c| c[1] == "ready"));
    }
    let escapes = plain.screen(true);
    assert!(!coloured(&escapes), "{escapes:?}");
    assert!(escapes.contains("> web.1"), "{escapes:?}");
    let escapes = colour.screen(true);
    assert!(
        coloured(&escapes),
        "no colour without NO_COLOR: {escapes:?}"
    );
    stop(running);
}

/// `--once --json` for scripts: the rows with measured rates, the router's totals; `--once`
/// as text; no run, or no terminal, said.
#[test]
fn top_once_prints_one_measured_screen() {
    let port = base_port();
    let running = formation(port);
    in_rotation(&running, 2);
    let load = Load::start(port, 2, "/slow?s=0.02");
    load.wait_served(20);
    // CPU and memory are null until the run has sampled them (once a second; CPU twice).
    crate::harness::eventually("CPU and memory measured", Duration::from_secs(10), || {
        ps(&running)["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["rss_bytes"].is_u64() && i["cpu_percent"].is_f64())
    });
    let (code, stdout, stderr) = running.dozen(&["top", "--once", "--json", "--interval", "0.5"]);
    assert_eq!(code, Some(0), "{stderr}");
    let view: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["running"], true);
    let interval = view["interval_s"].as_f64().unwrap();
    assert!((0.4..2.0).contains(&interval), "{interval}");
    let web: Vec<&Value> = view["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "web")
        .collect();
    assert_eq!(web.len(), 2, "{stdout}");
    for instance in &web {
        assert!(
            instance["requests_per_s"].as_f64().unwrap() > 0.0,
            "{stdout}"
        );
        assert!(instance["p99_ms"].as_f64().is_some(), "{stdout}");
        assert!(
            instance["rss_bytes"].as_u64().unwrap() > 1 << 20,
            "{stdout}"
        );
        assert!(instance["cpu_percent"].as_f64().is_some(), "{stdout}");
        assert_eq!(instance["errors_per_s"], 0.0, "{stdout}");
    }
    let router = &view["router"];
    assert!(router["requests_per_s"].as_f64().unwrap() > 0.0, "{stdout}");
    assert!(router["p99_ms"].as_f64().unwrap() > 0.0, "{stdout}");
    let worker = view["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "worker")
        .unwrap();
    assert_eq!(worker["requests_per_s"], Value::Null, "{stdout}");

    let (code, text, stderr) = running.dozen(&["top", "--once", "--interval", "0.2"]);
    assert_eq!(code, Some(0), "{stderr}");
    for needle in ["NAME", "web.1", "web.2", "worker.1", "req/s", "web.1 log"] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    assert!(!text.contains("q quit"), "{text}");
    // Without a terminal, the live view says what to use instead.
    let (code, _, stderr) = running.dozen(&["top"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("dozen top --once"), "{stderr}");
    let (_, failures) = load.finish();
    assert!(failures.is_empty(), "{failures:?}");
    stop(running);
    let idle = || Test::new().procfile("web: exec sleep 600\n");
    let out = idle().args(&["top", "--once", "--json"]).run().code(1);
    assert_eq!(out.json()["running"], false);
    idle()
        .args(&["top", "--once"])
        .run()
        .code(1)
        .stderr_has("no `dozen run` is running this app");
}
