//! `dozen run --dev --watch` behind the router: a change restarts `web` one instance at a
//! time, and no request fails.

use super::*;

/// An edit under load: every instance is replaced by one that reads it, nothing fails.
#[test]
fn a_watch_restart_behind_the_router_loses_no_request() {
    let port = base_port();
    let (base, listen) = (port.to_string(), format!("127.0.0.1:{port}"));
    let mut running = app()
        .file("version.txt", "one")
        .args(&[
            "run",
            "--dev",
            "--watch",
            "--no-timestamps",
            "-p",
            &base,
            "-m",
            "web=2",
            "--router",
            &listen,
        ])
        .spawn();
    in_rotation(&running, 2);
    let load = Load::start(port, 4, "/");
    let slow = Load::start(port, 2, "/slow?s=0.3");
    load.wait_served(20);
    std::fs::write(running.dir.path().join("version.txt"), "two").unwrap();
    running.wait_for("dozen | web: version.txt changed, restarting", 10);
    running.wait_for("rolling restart done (2 instances)", 30);
    crate::harness::eventually_ok("both instances on two", Duration::from_secs(20), || {
        let versions: std::collections::BTreeSet<String> = (0..8)
            .map(|_| {
                get(port, "/").json()["version"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        if versions.len() == 1 && versions.contains("two") {
            Ok(())
        } else {
            Err(format!("{versions:?}"))
        }
    });
    load.wait_served(20);
    let (served, failures) = load.finish();
    let (slow_served, slow_failures) = slow.finish();
    assert!(
        failures.is_empty(),
        "{} of {served} failed: {failures:?}",
        failures.len()
    );
    assert!(slow_failures.is_empty(), "{slow_failures:?}");
    assert!(slow_served > 0);
    stop(running);
}
