//! Autoscaling by load and by a metric command, and the settings it is checked against.

use super::*;

/// `[processes.web] autoscale`: under load the formation grows to its max (never past it),
/// each decision said and recorded with its measurement; without load it shrinks back to
/// its min once the scale-down window has passed; no request fails through either.
#[test]
fn autoscaling_follows_the_load_within_min_and_max() {
    let port = base_port();
    let test = app().manifest(
        "[processes.web]\nautoscale = { min = 1, max = 3, target = 2, scale_down_window = \"2s\" }\n",
    );
    let dir = test.path().to_path_buf();
    let running = run(test, port, 1);
    assert_eq!(get(port, "/").status, 200);
    let wait_for = |count: u64, within: Duration| {
        crate::harness::eventually_ok(&format!("web={count}, all in rotation"), within, || {
            let status = ps(&running);
            if status["formation"]["web"] == count
                && status["router"]["instances"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["state"] == "in rotation")
                    .count()
                    == usize::try_from(count).unwrap()
            {
                Ok(status)
            } else {
                Err(format!("{status:#}"))
            }
        })
    };
    let load = Load::start(port, 8, "/slow?s=0.2");
    let status = wait_for(3, Duration::from_secs(15));
    assert_eq!(status["autoscale"][0]["type"], "web");
    assert!(
        status["autoscale"][0]["last_decision"]
            .as_str()
            .unwrap()
            .contains("(in-flight"),
        "{status:#}"
    );
    assert_eq!(status["autoscale"][0]["max"], 3);
    assert!(status["autoscale"][0]["measured"].as_f64().unwrap() > 0.0);
    // Held at its max under the same load. A fixed time on purpose: nothing must change in
    // it (no decision past the max), which gives no event to wait for.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ps(&running)["formation"]["web"], 3);
    let (served, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served > 0);
    // Idle: back to 1, after the window (2 s from the last measurement that asked for 3,
    // which may have been up to a second before the load stopped).
    let quiet = Instant::now();
    wait_for(1, Duration::from_secs(15));
    assert!(
        quiet.elapsed() >= Duration::from_secs(1),
        "{:?}",
        quiet.elapsed()
    );
    let history = std::fs::read_to_string(dir.join(".dozen/history.jsonl")).unwrap();
    let lines = stop(running);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("autoscale: web 1 → 2 (in-flight")),
        "{lines:#?}"
    );
    let decisions: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["what"] == "autoscale")
        .collect();
    assert!(decisions.len() >= 3, "{history}");
    for d in &decisions {
        let to = d["to"].as_u64().unwrap();
        assert!((1..=3).contains(&to), "{d}");
    }
    assert_eq!(decisions.last().unwrap()["to"], 1);
}

/// A type the router does not front scales by a number a command prints (a queue's
/// length), per instance; a command that fails is told once and changes nothing.
#[test]
fn a_worker_scales_by_what_its_metric_command_prints() {
    let test = Test::new()
        .procfile("worker: exec sleep 60\n")
        .file("queue.txt", "0\n")
        .manifest(
            "[processes.worker]\nautoscale = { min = 1, max = 4, target = 3, metric = \"command\", command = \"cat queue.txt\", interval = \"500ms\", scale_down_window = \"1s\" }\n",
        );
    let dir = test.path().to_path_buf();
    let port = base_port().to_string();
    let running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    let wait_for = |count: u64| {
        crate::harness::eventually_ok(&format!("worker={count}"), Duration::from_secs(15), || {
            let (code, stdout, stderr) = running.dozen(&["ps", "--json"]);
            if code != Some(0) {
                return Err(format!("no run: {stderr}"));
            }
            let status: Value = serde_json::from_str(&stdout).unwrap();
            if status["formation"]["worker"] == count {
                Ok(status)
            } else {
                Err(format!("{status:#}"))
            }
        })
    };
    wait_for(1);
    std::fs::write(dir.join("queue.txt"), "12\n").unwrap();
    let status = wait_for(4);
    assert_eq!(status["autoscale"][0]["metric"], "command");
    std::fs::write(dir.join("queue.txt"), "not a number\n").unwrap();
    // A fixed time on purpose: four measurements (500ms apart) of a failing command, in
    // which nothing must change and the failure be told only once — no event to wait for.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        wait_for(4)["formation"]["worker"],
        4,
        "no number, no change"
    );
    std::fs::write(dir.join("queue.txt"), "0\n").unwrap();
    wait_for(1);
    let lines = stop(running);
    // The same failure is told once. (On a loaded machine `cat` may also overrun its 500 ms
    // timeout: another failure, told on its own.)
    let told: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("not measured: its command failed"))
        .filter(|l| l.contains("does not start with a number"))
        .collect();
    assert_eq!(told.len(), 1, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("autoscale: worker 1 → 2 (command 12.0 per instance, target 3)")),
        "{lines:#?}"
    );
}

/// `[deploy]` settings are checked where they are written.
#[test]
fn deploy_settings_are_checked() {
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest(
            "[deploy]\nstrategy = \"canary\"\nsteps = [50, 25]\nsticky = \"header:\"\nmax_error_rate = 120.0\ncanary_instances = 0\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:3:9")
        .stderr_has("canary steps are percentages that rise")
        .stderr_has("dozen.toml:4:10")
        .stderr_has("invalid sticky `header:`")
        .stderr_has("an error rate is a percentage")
        .stderr_has("canary_instances must be at least 1");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[deploy]\nstrategy = \"canary\"\nsticky = \"header:X-User-Id\"\n")
        .args(&["check"])
        .run()
        .success();
}

/// Autoscale settings are checked where they are written; a scale by hand outside the range
/// is refused; an autoscaled type needs the router.
#[test]
fn autoscale_settings_are_checked() {
    Test::new()
        .procfile("web: exec sleep 60\nworker: exec sleep 60\n")
        .manifest(
            "[processes.web]\nautoscale = { min = 3, max = 2, target = 1 }\n[processes.worker]\nautoscale = { min = 1, max = 2, target = 5 }\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("dozen.toml:2:13")
        .stderr_has("autoscale max (2) is below its min (3)")
        .stderr_has("dozen.toml:4:13")
        .stderr_has("autoscale measures requests at the router, which fronts `web`, not `worker`");
    Test::new()
        .procfile("web: exec sleep 60\nworker: exec sleep 60\n")
        .manifest(
            "[processes.web]\nautoscale = { min = 1, max = 2, target = 1, command = \"true\" }\n[processes.worker]\nautoscale = { min = 1, max = 2, target = 5, metric = \"command\" }\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stderr_has("autoscale command is for metric = \"command\"")
        .stderr_has("autoscale metric \"command\" needs a command");
    Test::new()
        .procfile("web: exec sleep 60\n")
        .manifest("[processes.web]\nautoscale = { min = 1, max = 2, target = 5 }\n")
        .args(&["run", "--dev"])
        .run()
        .code(2)
        .stderr_has("web is autoscaled by the load the router measures");
    let port = base_port();
    let running = run(
        app().manifest("[processes.web]\nautoscale = { min = 1, max = 2, target = 50 }\n"),
        port,
        5,
    );
    assert_eq!(get(port, "/").status, 200);
    let status = ps(&running);
    assert_eq!(status["formation"]["web"], 2, "started within its range");
    let (code, _, stderr) = running.dozen(&["scale", "web=4"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("web is autoscaled between 1 and 2"),
        "{stderr}"
    );
    stop(running);
}

/// dozen's peak memory (`VmHWM`), in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kib / 1024
}

/// A metric command that prints without end costs dozen a line, not its output (issue 31,
/// finding 5): a 100 MB line that starts with a number, then 100 MB of NULs with no newline
/// at all — dozen reads the first one's number, the second is "not a number", and its peak
/// memory stays under 64 MiB (before: 5.9 GiB for `head -c 3000000000 /dev/zero`).
#[test]
fn a_metric_command_that_prints_without_end_costs_one_line() {
    let test = Test::new()
        .procfile("worker: exec sleep 60\n")
        .file("how.txt", "digits\n")
        .file(
            "metric.sh",
            "if grep -q digits how.txt; then printf '3 '; head -c 100000000 /dev/zero | tr '\\0' ' '; else head -c 100000000 /dev/zero; fi\n",
        )
        .manifest(
            "[processes.worker]\nautoscale = { min = 1, max = 4, target = 1, metric = \"command\", command = \"sh metric.sh\", interval = \"5s\", scale_down_window = \"1s\" }\n",
        );
    let dir = test.path().to_path_buf();
    let port = base_port().to_string();
    let mut running = test
        .args(&["run", "--dev", "--no-timestamps", "-p", &port])
        .spawn();
    running.wait_for("autoscale: worker 1 → ", 60);
    std::fs::write(dir.join("how.txt"), "zeros\n").unwrap();
    running.wait_for("does not start with a number", 60);
    let peak = peak_mib(running.child.id());
    eprintln!("peak {peak} MiB");
    assert!(peak < 64, "dozen's peak memory was {peak} MiB");
    stop(running);
}
