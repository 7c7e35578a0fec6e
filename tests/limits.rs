//! `[processes.T] memory`, `cpu`, `open_files` in `dozen run` without a cgroup (what every
//! user has, `nobody` included): `RLIMIT_NOFILE`, memory watched as Heroku watches it (R14,
//! R15), CPU said not to be capped; and each instance's CPU % and RSS in `dozen ps`.

use serde_json::Value;

use crate::harness::{Running, Test, port_block, wait_ps};

/// One base port for every test here (as in `watch.rs`): their processes listen on none, so
/// they can share it (dozen only checks the ports are free), and the suite's blocks are few.
fn port() -> u16 {
    static BASE: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    *BASE.get_or_init(port_block)
}

fn run(test: Test) -> Running {
    let port = port().to_string();
    test.args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn()
}

fn instance<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status:#}"))
}

/// Grows by 40 MiB (touched, so resident), holds 2 s, grows by 40 MiB again and holds.
const HOG: &str = "hog: python3 -c \"import time; print('at 40', flush=True); a = b'x' * (40 << 20); time.sleep(2); print('at 80', flush=True); b = b'y' * (40 << 20); time.sleep(60)\"\n";

#[test]
fn memory_over_its_quota_is_told_once_and_twice_it_restarts_the_instance() {
    let mut running = run(Test::new()
        .procfile(HOG)
        .manifest("[processes.hog]\nmemory = \"40M\"\nmax_restarts = 10\n"));
    running.wait_for(
        "dozen | hog limits: memory 40M watched from /proc each second (R14 warning over it, R15 restart over 80M)",
        10,
    );
    let first = running.wait_for("hog.1 started (pid ", 10);
    let r14 = running.wait_for("Error R14 (Memory quota exceeded): hog.1 uses ", 10);
    assert!(r14.ends_with(" of its 40M"), "{r14}");
    let r15 = running.wait_for("Error R15 (Memory quota vastly exceeded): hog.1 uses ", 10);
    assert!(r15.ends_with("over twice its 40M: restarting it"), "{r15}");
    // Said once per crossing: the 2 s over the quota (two samples or more) gave one R14.
    let before_r15: Vec<&String> = running
        .seen
        .iter()
        .take_while(|l| !l.contains("Error R15"))
        .filter(|l| l.contains("Error R14"))
        .collect();
    assert_eq!(before_r15.len(), 1, "{:#?}", running.seen);
    // Restarted: a new hog.1 process, growing from the start again.
    let second = running.wait_for_nth("hog.1 started (pid ", 2, 15);
    assert_ne!(first, second);
    running.wait_for_nth("hog.1 | at 40", 2, 10);
    let (code, stdout, _) = running.dozen(&["ps", "--json"]);
    assert_eq!(code, Some(0));
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        status["limits"],
        serde_json::json!([{"type": "hog", "memory": {"value": 40 << 20, "mechanism": "watch"}}])
    );
    let pid = instance(&status, "hog.1")["pid"].as_u64().unwrap();
    assert!(second.ends_with(&format!("(pid {pid})")), "{second}");
}

#[test]
fn ps_shows_each_instances_cpu_and_resident_memory() {
    let mut running = run(Test::new()
        .procfile("burn: while :; do :; done\nidle: exec sleep 60\n")
        .manifest("[processes.burn]\ncpu = 0.5\n"));
    let status = wait_ps(&running, |s| {
        s["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 2 && i.iter().all(|i| i["cpu_percent"].is_f64()))
    });
    let (burn, idle) = (instance(&status, "burn.1"), instance(&status, "idle.1"));
    // A busy loop gets what a loaded machine leaves it, at most one core; `sleep` nothing.
    let burning = burn["cpu_percent"].as_f64().unwrap();
    assert!(burning > 3.0 && burning < 110.0, "{burn:#}");
    assert!(idle["cpu_percent"].as_f64().unwrap() < 3.0, "{idle:#}");
    for i in [burn, idle] {
        let rss = i["rss_bytes"].as_u64().unwrap();
        assert!((100 << 10..100 << 20).contains(&rss), "{i:#}");
    }
    assert_eq!(
        status["limits"],
        serde_json::json!([{"type": "burn", "cpu": {"value": 0.5, "mechanism": "none"}}])
    );
    let (code, table, _) = running.dozen(&["ps"]);
    assert_eq!(code, Some(0));
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("  CPU  ") && header.contains("  MEM  "),
        "{table}"
    );
    let idle_row = table.lines().find(|l| l.starts_with("idle.1")).unwrap();
    assert!(idle_row.contains("0.0%"), "{table}");
    assert!(
        table.contains("burn limits: cpu 0.5 (not capped)"),
        "{table}"
    );
    let burn_line = running.wait_for("burn limits:", 1);
    assert_eq!(
        burn_line,
        "dozen | burn limits: cpu 0.5 not capped (only a cgroup can cap CPU; this run uses none)"
    );
}

#[test]
fn open_files_is_the_rlimit_the_process_runs_with() {
    let mut running = run(Test::new()
        .procfile("limited: echo \"soft $(ulimit -Sn) hard $(ulimit -Hn)\"; exec sleep 60\nfree: echo \"free $(ulimit -Sn)\"; exec sleep 60\n")
        .manifest("[processes.limited]\nopen_files = 64\n"));
    running.wait_for("dozen | limited limits: open_files 64 as RLIMIT_NOFILE", 10);
    running.wait_for("limited.1 | soft 64 hard 64", 10);
    let free = running.wait_for("free.1 | free ", 10);
    assert!(!free.ends_with("free 64"), "{free}");
    let status = wait_ps(&running, |s| s["limits"].is_array());
    assert_eq!(
        status["limits"][0]["open_files"],
        serde_json::json!({"value": 64, "mechanism": "rlimit"})
    );
}

#[test]
fn open_files_above_dozens_own_hard_limit_is_capped_and_said() {
    let mut running = run(Test::new()
        .open_files(256, 512)
        .procfile("web: echo \"soft $(ulimit -Sn) hard $(ulimit -Hn)\"; exec sleep 60\n")
        .manifest("[processes.web]\nopen_files = 4096\n"));
    // Not raised even as root: root in a container often may not (no CAP_SYS_RESOURCE),
    // and a limit that fails would fail every start of the type.
    running.wait_for(
        "dozen | web limits: open_files 512 as RLIMIT_NOFILE (not 4096: dozen's own hard limit is 512)",
        10,
    );
    running.wait_for("web.1 | soft 512 hard 512", 10);
}

#[test]
fn check_locates_bad_limits() {
    Test::new()
        .procfile("web: a\n")
        .manifest("[processes.web]\nmemory = \"1.5G\"\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:10")
        .stderr_has("invalid memory `1.5G`");
    Test::new()
        .procfile("web: a\n")
        .manifest("[processes.web]\nmemory = \"2G\"\ncpu = -1\nopen_files = 1\n")
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("error: dozen.toml:3:7: cpu must be a number of CPUs above 0")
        .stderr_has("error: dozen.toml:4:14: open_files must be between 16 and 1048576");
}
