//! Instances: ports and environment, rolling restarts and moves, backoff, draining, stops,
//! health checks.

use super::*;

#[test]
fn each_instance_starts_with_its_port_name_and_the_release_environment() {
    let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
    assert_eq!(
        world.log(),
        ["spawn web.1 v1", "spawn web.2 v1", "spawn worker.1 v1"]
    );
    let env =
        |i: usize| -> HashMap<String, String> { world.starts[i].env.iter().cloned().collect() };
    assert_eq!(env(1)["PORT"], "5001");
    assert_eq!(env(1)["PS"], "web.2");
    assert_eq!(env(2)["PORT"], "5100");
    assert_eq!(env(2)["DATABASE_URL"], "postgres://db");
    assert_eq!(env(2)["PYTHONUNBUFFERED"], "1");
}

#[test]
fn a_rolling_restart_replaces_one_instance_at_a_time_and_never_drops_below_the_formation() {
    let mut world = World::new(spec("v1", vec![web()]), &[2]);
    world.up("web.1");
    world.up("web.2");
    world.log();
    let response = world.control(Op::Restart {
        target: Some("web".into()),
    });
    assert!(response.ok, "{response:?}");
    // An extra instance holds the capacity first; nothing stops before it serves.
    let log = world.log();
    assert!(has(&log, "spawn web.3 v1"), "{log:?}");
    assert_eq!(count(&log, "signal"), 0, "{log:?}");
    world.up("web.3");
    assert_eq!(world.log().last().unwrap(), "signal web.1 15");
    for (stopped, next) in [("web.1", "web.2"), ("web.2", "web.3")] {
        assert!(world.serving("web") >= 2);
        world.exited(stopped, Some(0), None);
        let log = world.log();
        assert!(has(&log, &format!("say {stopped} stopped")), "{log:?}");
        assert!(has(&log, &format!("spawn {stopped} v1")), "{log:?}");
        assert_eq!(count(&log, "signal"), 0, "the next waits: {log:?}");
        world.up(stopped);
        assert!(world.serving("web") >= 2);
        let log = world.log();
        assert!(has(&log, &format!("signal {next} 15")), "{log:?}");
        if next == "web.3" {
            assert!(
                has(&log, "say rolling restart done (2 instances)"),
                "{log:?}"
            );
        }
    }
    world.exited("web.3", Some(0), None);
    let ps = world.ps();
    assert_eq!(ps.formation["web"], 2);
    assert_eq!(ps.instances.len(), 2);
    assert!(ps.instances.iter().all(|i| i.state == InstanceState::Ready));
    assert_eq!(ps.roll.unwrap().state, RollState::Done);
}

#[test]
fn a_move_whose_replacement_crashes_goes_back_and_every_view_agrees() {
    let mut world = World::new(spec("v1", vec![web()]), &[2]);
    world.up("web.1");
    world.up("web.2");
    world.releases.insert(2, vec![web()]);
    let response = world.control(rolling(2));
    assert!(response.ok, "{response:?}");
    assert!(has(&world.log(), "spawn web.3 v2"));
    world.up("web.3");
    world.exited("web.1", Some(0), None);
    world.up("web.1");
    world.exited("web.2", Some(0), None);
    assert!(has(&world.log(), "spawn web.2 v2"));
    // The new release's web.2 crashes before it serves.
    world.started("web.2");
    world.exited("web.2", Some(1), None);
    let log = world.log();
    assert!(has(&log, "log move v2 stopped"), "{log:?}");
    assert!(has(&log, "spawn web.2 v1"), "{log:?}");
    assert!(
        !log.iter().any(|l| l.starts_with("signal web.1")),
        "{log:?}"
    );
    assert_eq!(world.roll().state, RollState::RollingBack);
    // web.1 goes back only once web.2 serves again on v1.
    world.up("web.2");
    let log = world.log();
    assert!(has(&log, "signal web.1 15"), "{log:?}");
    world.exited("web.1", Some(0), None);
    assert!(has(&world.log(), "spawn web.1 v1"));
    world.up("web.1");
    if world.ids.contains_key("web.3") {
        world.exited("web.3", Some(0), None);
    }
    let ps = world.ps();
    let roll = ps.roll.clone().unwrap();
    assert_eq!(
        (roll.state.as_str(), roll.failed.as_deref()),
        ("failed", Some("web.2"))
    );
    assert!(ps.instances.iter().all(|i| i.release == "v1"), "{ps:?}");
    assert_eq!(ps.formation["web"], 2);
    assert_eq!(
        count(&world.log(), "log move"),
        0,
        "the move is logged once"
    );
    assert!(!world.machine.finished());
}

/// A restart or a stop during a release's move is refused: the move's outcome, which the
/// waiting `dozen release` reads, is never replaced by another roll (issue 30, finding 5).
#[test]
fn a_restart_during_a_move_is_refused_and_the_move_ends_as_itself() {
    let mut world = World::new(spec("v1", vec![web()]), &[2]);
    world.up("web.1");
    world.up("web.2");
    world.releases.insert(2, vec![web()]);
    assert!(world.control(rolling(2)).ok);
    let seq = world.roll().seq;
    for op in [
        Op::Restart { target: None },
        Op::Stop {
            target: Some("web.1".into()),
        },
    ] {
        let refused = world.control(op);
        assert!(!refused.ok, "{refused:?}");
        assert!(
            refused.error.unwrap().contains("a move is in progress"),
            "said why"
        );
    }
    world.up("web.3");
    world.exited("web.1", Some(0), None);
    world.up("web.1");
    world.exited("web.2", Some(0), None);
    world.up("web.2");
    if world.ids.contains_key("web.3") {
        world.exited("web.3", Some(0), None);
    }
    let roll = world.ps().roll.unwrap();
    assert_eq!(
        (roll.seq, roll.kind, roll.state),
        (seq, RollKind::Move, RollState::Done)
    );
}

/// A release the formation has moved off is let go — its store lock and build guard (what
/// `keep` holds) and its config — once no instance runs it (issue 30, finding 6); not before.
#[test]
fn a_release_moved_off_is_let_go_once_no_instance_runs_it() {
    struct Held(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Held {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut v1 = spec("v1", vec![web()]);
    v1.keep = Some(Box::new(Held(dropped.clone())));
    let mut world = World::new(v1, &[2]);
    world.up("web.1");
    world.up("web.2");
    world.releases.insert(2, vec![web()]);
    assert!(world.control(rolling(2)).ok);
    world.up("web.3");
    world.exited("web.1", Some(0), None);
    world.up("web.1");
    let held = || !dropped.load(std::sync::atomic::Ordering::SeqCst);
    assert!(held(), "web.2 still runs v1");
    world.exited("web.2", Some(0), None);
    world.up("web.2");
    if world.ids.contains_key("web.3") {
        world.exited("web.3", Some(0), None);
    }
    assert_eq!(world.roll().state, RollState::Done);
    assert!(!held(), "no instance runs v1: let go");
}

#[test]
fn scaling_during_a_roll_applies_and_the_roll_skips_what_left() {
    let mut world = World::new(spec("v1", vec![web()]), &[3]);
    for name in ["web.1", "web.2", "web.3"] {
        world.up(name);
    }
    world.control(Op::Restart { target: None });
    world.up("web.4");
    // Up while the extra instance holds the next index: refused, unapplied, and said why.
    let refused = world.control(Op::Scale {
        changes: vec![ScaleChange {
            type_name: "web".into(),
            op: ScaleOp::Set,
            count: 4,
        }],
    });
    assert!(!refused.ok);
    assert!(
        refused
            .error
            .unwrap()
            .contains("web.4 holds web's capacity")
    );
    let down = world.control(Op::Scale {
        changes: vec![ScaleChange {
            type_name: "web".into(),
            op: ScaleOp::Set,
            count: 1,
        }],
    });
    assert!(down.ok, "{down:?}");
    let log = world.log();
    assert!(
        has(&log, "signal web.2 15") && has(&log, "signal web.3 15"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("save") && l.contains("\"web\": 1"))
    );
    world.exited("web.2", Some(0), None);
    world.exited("web.3", Some(0), None);
    world.exited("web.1", Some(0), None);
    world.up("web.1");
    world.exited("web.4", Some(0), None);
    let log = world.log();
    assert!(
        !log.iter()
            .any(|l| l.starts_with("spawn web.2") || l.starts_with("spawn web.3")),
        "{log:?}"
    );
    let ps = world.ps();
    assert_eq!(ps.formation["web"], 1);
    assert_eq!(ps.instances.len(), 1);
    assert_eq!(ps.roll.unwrap().state, RollState::Done);
}

#[test]
fn restarts_back_off_and_the_backoff_starts_again_after_a_stable_run() {
    let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
    world.log();
    let mut delays = Vec::new();
    for uptime in [0, 0, 0, 31, 0] {
        world.started("worker.1");
        world.advance(Duration::from_secs(uptime));
        world.exited("worker.1", Some(1), None);
        let log = world.log();
        let said = log
            .iter()
            .find(|l| l.contains("restarting in"))
            .unwrap()
            .clone();
        delays.push(said);
        assert_eq!(count(&log, "spawn"), 0, "not before the delay: {log:?}");
        world.advance(Duration::from_secs(16));
        assert_eq!(count(&world.log(), "spawn worker.1"), 1);
    }
    assert_eq!(
        delays,
        [
            "say worker.1 restarting in 1s (restart 1 of 5)",
            "say worker.1 restarting in 2s (restart 2 of 5)",
            "say worker.1 restarting in 4s (restart 3 of 5)",
            "say worker.1 restarting in 1s (restart 1 of 5)",
            "say worker.1 restarting in 2s (restart 2 of 5)",
        ]
    );
    assert_eq!(world.ps().instances[0].restarts, 5);
}

#[test]
fn an_instance_that_keeps_crashing_is_given_up_with_its_exit_code() {
    let mut world = World::new(spec("v1", vec![worker(Restart::OnFailure)]), &[1]);
    for _ in 0..5 {
        world.started("worker.1");
        world.exited("worker.1", Some(3), None);
        world.advance(Duration::from_secs(60));
    }
    world.started("worker.1");
    world.exited("worker.1", Some(3), None);
    let log = world.log();
    assert!(
        has(
            &log,
            "say worker.1 gave up after 5 restarts; stopping all processes"
        ),
        "{log:?}"
    );
    assert!(world.machine.finished());
    assert_eq!(world.machine.exit_code(), 3);
}

/// With a router in front of `web`: only ready web instances are in rotation, and a
/// stopping one is drained (out of rotation, no signal) until the router says its
/// requests are done, or its kill timeout passes.
#[test]
fn a_routed_instance_is_drained_before_it_is_signalled() {
    let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
    world.machine.route("web");
    world.up("web.1");
    world.started("web.2");
    world.started("worker.1");
    let names =
        |w: &World| -> Vec<String> { w.machine.routes().iter().map(|r| r.name.clone()).collect() };
    assert_eq!(names(&world), ["web.1"], "web.2 is not ready yet");
    world.up("web.2");
    assert_eq!(names(&world), ["web.1", "web.2"]);
    world.log();
    world.control(Op::Stop {
        target: Some("web.1".into()),
    });
    let log = world.log();
    assert!(has(&log, "drain web.1"), "{log:?}");
    assert_eq!(count(&log, "signal web.1"), 0, "{log:?}");
    assert_eq!(names(&world), ["web.2"]);
    assert_eq!(world.ps().instances[0].state, InstanceState::Draining);
    let id = world.id("web.1");
    world.input(Input::Drained { id });
    assert_eq!(world.log(), [format!("signal web.1 {TERM}")]);
    // A second drained report changes nothing; nor does one for a non-routed worker.
    world.input(Input::Drained { id });
    assert!(world.log().is_empty());
    world.exited("web.1", None, Some(TERM));
    world.log();
    // A drain the router never finishes ends at the kill timeout: signalled then.
    world.control(Op::Stop {
        target: Some("web.2".into()),
    });
    assert!(has(&world.log(), "drain web.2"));
    world.advance(Duration::from_secs(4));
    assert_eq!(count(&world.log(), "signal web.2"), 0);
    world.advance(Duration::from_secs(2));
    assert_eq!(world.log(), [format!("signal web.2 {TERM}")]);
    // Not routed: signalled at once.
    world.control(Op::Stop {
        target: Some("worker.1".into()),
    });
    assert!(has(&world.log(), &format!("signal worker.1 {TERM}")));
}

#[test]
fn every_instance_is_signalled_once_however_often_it_is_asked_to_stop() {
    let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[1, 1]);
    world.up("web.1");
    world.started("worker.1");
    world.log();
    world.control(Op::Stop {
        target: Some("web.1".into()),
    });
    world.control(Op::Stop {
        target: Some("web".into()),
    });
    world.input(Input::Signal(TERM));
    let log = world.log();
    assert_eq!(count(&log, "signal web.1"), 1, "{log:?}");
    assert_eq!(count(&log, "signal worker.1"), 1, "{log:?}");
    // Asked again: SIGKILL, once each, however many times it is asked.
    world.input(Input::Signal(TERM));
    world.input(Input::Signal(SIGINT));
    world.advance(Duration::from_secs(10));
    let log = world.log();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("signal"))
            .collect::<Vec<_>>(),
        ["signal web.1 9", "signal worker.1 9"]
    );
    world.exited("web.1", None, Some(KILL));
    world.exited("worker.1", None, Some(KILL));
    assert!(world.machine.finished());
    assert_eq!(world.machine.exit_code(), 128 + TERM);
}

#[test]
fn a_compound_command_gets_its_whole_kill_timeout_and_its_stop_is_told_as_a_stop() {
    // The nursery reports an exit once the process group is empty: a shell whose child
    // drains for 2 s is one instance that stops after 2 s.
    let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
    world.started("worker.1");
    world.input(Input::Signal(TERM));
    world.advance(Duration::from_millis(4900));
    let log = world.log();
    assert_eq!(count(&log, "signal"), 1, "{log:?}");
    assert_eq!(world.ps().instances[0].state, InstanceState::Stopping);
    world.exited("worker.1", None, Some(TERM));
    assert_eq!(world.log(), ["say worker.1 stopped"]);
    assert!(world.machine.finished());

    let mut stubborn = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
    stubborn.started("worker.1");
    stubborn.input(Input::Signal(TERM));
    stubborn.advance(Duration::from_secs(5));
    stubborn.advance(Duration::from_secs(5));
    let log = stubborn.log();
    assert!(has(
        &log,
        "say worker.1 did not stop within 5s; sending SIGKILL"
    ));
    assert_eq!(count(&log, "signal worker.1 9"), 1, "{log:?}");
    stubborn.exited("worker.1", None, Some(KILL));
    assert_eq!(
        stubborn.log(),
        ["say worker.1 stopped (SIGKILL at its kill timeout)"]
    );
}

#[test]
fn a_web_that_never_listens_is_given_up_at_start_but_fails_a_restart() {
    let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[1, 1]);
    world.started("web.1");
    world.started("worker.1");
    let web = world.id("web.1");
    world.advance(Duration::from_secs(61));
    world.input(Input::Health {
        id: web,
        result: Err(crate::supervisor::health::Failed::Connect {
            port: 5000,
            error: "connection refused".into(),
        }),
    });
    let log = world.log();
    assert!(
        log.iter()
            .any(|l| l.contains("has not accepted connections on port 5000 within 60s")),
        "{log:?}"
    );
    let ps = world.ps();
    assert_eq!(
        (
            ps.instances[0].state.as_str(),
            ps.instances[0].health.as_str()
        ),
        ("running", "not listening")
    );

    world.control(Op::Restart {
        target: Some("web.1".into()),
    });
    world.started("web.2");
    world.advance(Duration::from_secs(61));
    let surge = world.id("web.2");
    world.input(Input::Health {
        id: surge,
        result: Err(crate::supervisor::health::Failed::Connect {
            port: 5000,
            error: "connection refused".into(),
        }),
    });
    world.exited("web.2", None, Some(TERM));
    let roll = world.roll();
    assert_eq!(
        (roll.state.as_str(), roll.failed.as_deref()),
        ("failed", Some("web.2"))
    );
    assert_eq!(world.ps().formation["web"], 1);
    assert!(
        !world.machine.finished(),
        "a failed restart does not stop the formation"
    );
}

#[test]
fn events_of_a_process_that_was_replaced_change_nothing() {
    let mut world = World::new(spec("v1", vec![worker(Restart::Always)]), &[1]);
    world.started("worker.1");
    let old = world.id("worker.1");
    world.exited("worker.1", Some(1), None);
    world.advance(Duration::from_secs(1));
    world.started("worker.1");
    world.log();
    world.input(Input::Exited {
        id: old,
        code: Some(1),
        signal: None,
    });
    world.input(Input::Health {
        id: old,
        result: Err(crate::supervisor::health::Failed::Socket("late".into())),
    });
    assert!(world.log().is_empty());
    assert_eq!(world.ps().instances[0].state, InstanceState::Running);
}

#[test]
fn a_check_command_runs_as_a_process_of_the_formation_and_is_killed_at_its_timeout() {
    let mut checked = settings("web", Restart::OnFailure, None);
    checked.health = Some(Check {
        probe: Probe::Command {
            command: "curl -fs localhost:$PORT/up".into(),
        },
        interval: Duration::from_secs(1),
        backs_off: false,
        timeout: Duration::from_millis(500),
        grace: Duration::from_secs(5),
        retries: 2,
        readiness_only: false,
    });
    let mut world = World::new(spec("v1", vec![checked]), &[1]);
    world.started("web.1");
    world.log();
    world.advance(READINESS_POLL);
    assert_eq!(world.log(), ["check web.1 `curl -fs localhost:$PORT/up`"]);
    let env: HashMap<_, _> = world.starts.last().unwrap().env.iter().cloned().collect();
    assert_eq!(env["PORT"], "5000", "the check sees what the instance sees");
    // Its start and its end are the check's, not an instance's.
    let check = world.checks["web.1"];
    world.input(Input::Spawned { id: check, pid: 7 });
    assert!(world.log().is_empty());
    world.input(Input::Exited {
        id: check,
        code: Some(0),
        signal: None,
    });
    assert!(world.log()[0].starts_with("say web.1 ready in"));
    assert_eq!(world.ps().instances[0].state, InstanceState::Ready);

    // The next one hangs: SIGKILL at its timeout, and that counts as a failure.
    world.advance(Duration::from_secs(1));
    let check = world.checks["web.1"];
    world.advance(Duration::from_millis(499));
    assert_eq!(count(&world.log(), "signal"), 0);
    world.advance(Duration::from_millis(1));
    assert_eq!(world.log(), ["signal web.1 check 9"]);
    world.input(Input::Exited {
        id: check,
        code: None,
        signal: Some(KILL),
    });
    let ps = world.ps();
    assert_eq!(ps.instances[0].health, Health::Failing);
    world.advance(Duration::from_secs(1));
    let check = world.checks["web.1"];
    world.input(Input::Exited {
        id: check,
        code: Some(7),
        signal: None,
    });
    let log = world.log();
    assert!(
        has(
            &log,
            "say web.1 failed its health check 2 times: `curl -fs localhost:$PORT/up` exited with code 7; restarting it"
        ),
        "{log:?}"
    );
    assert!(has(&log, "signal web.1 15"), "{log:?}");
}
