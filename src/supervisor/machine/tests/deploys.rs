//! Canary and blue-green deploys, driven input by input.

use super::*;

/// A web=3 formation whose canary (web.1 on v2) is ready and at its first step (10%).
fn canary_at_first_step() -> World {
    let mut world = World::new(spec("v1", vec![web()]), &[3]);
    world.machine.route("web");
    for name in ["web.1", "web.2", "web.3"] {
        world.up(name);
    }
    world.log();
    world.releases.insert(2, vec![web()]);
    assert!(world.control(canary(2)).ok);
    let log = world.log();
    assert_eq!(count(&log, "spawn web."), 1, "one canary instance: {log:?}");
    world.up("web.1");
    assert!(has(&world.log(), "weight 1000"));
    assert!(world.machine.wants_side_stats(world.now));
    // The step's baseline.
    world.input(Input::SideStats {
        stable: counts(100, 0, 5),
        candidate: counts(0, 0, 5),
    });
    world
}

/// Every step passes: the canary side grows to the formation's size, takes every request,
/// and the old side stops at once.
#[test]
fn a_canary_that_passes_every_step_is_promoted() {
    let mut world = canary_at_first_step();
    world.advance(Duration::from_secs(1));
    world.input(Input::SideStats {
        stable: counts(280, 1, 5),
        candidate: counts(20, 0, 6),
    });
    // 50% of web=3 needs two canary instances, each carrying what a stable one does: the
    // second starts, and the step begins once it is ready.
    let log = world.log();
    assert!(has(&log, "spawn web.2 v2"), "{log:?}");
    assert!(!has(&log, "weight 5000"), "{log:?}");
    world.up("web.2");
    let log = world.log();
    assert!(has(&log, "weight 5000"), "{log:?}");
    assert_eq!(
        world.roll().state,
        RollState::Running,
        "not done before the switch"
    );
    world.input(Input::SideStats {
        stable: counts(280, 1, 5),
        candidate: counts(20, 0, 6),
    });
    world.advance(Duration::from_secs(1));
    world.input(Input::SideStats {
        stable: counts(400, 1, 5),
        candidate: counts(140, 0, 6),
    });
    let log = world.log();
    assert!(has(&log, "spawn web.3 v2"), "{log:?}");
    assert!(
        !has(&log, "weight 10000"),
        "not before all of it is ready: {log:?}"
    );
    world.up("web.3");
    let log = world.log();
    assert!(has(&log, "weight 10000"), "{log:?}");
    assert_eq!(
        count(&log, "drain web."),
        3,
        "the old side stops at once: {log:?}"
    );
    assert!(has(&log, "log move v2 moved"), "{log:?}");
    assert_eq!(world.roll().state, RollState::Done);
}

/// A canary failing 10% of its requests is aborted before its step ends: every request
/// goes back to the stable side, the canary stops, the move is recorded failed with why.
#[test]
fn a_canary_over_its_error_rate_is_aborted_at_once() {
    let mut world = canary_at_first_step();
    world.advance(Duration::from_millis(100));
    world.input(Input::SideStats {
        stable: counts(190, 0, 5),
        candidate: counts(20, 2, 5),
    });
    let log = world.log();
    assert!(has(&log, "weight 0"), "{log:?}");
    assert!(has(&log, "log move v2 stopped"), "{log:?}");
    assert!(
        has(&log, "drain web.1") || has(&log, "signal web.1 15"),
        "{log:?}"
    );
    let roll = world.roll();
    assert_eq!(roll.state, RollState::Failed);
    assert!(
        roll.reason
            .unwrap()
            .contains("canary error rate 10.0% > 0.5%")
    );
    assert!(world.ps().canary.is_none());
}

/// A step without enough canary requests to judge is held (and said), three times at
/// most; then the canary is aborted for want of traffic.
#[test]
fn a_canary_without_enough_traffic_is_held_then_aborted() {
    let mut world = canary_at_first_step();
    let (mut stable, mut canary) = (100, 0);
    for held in 1..=4 {
        world.advance(Duration::from_secs(1));
        stable += 50;
        canary += 2;
        world.input(Input::SideStats {
            stable: counts(stable, 0, 5),
            candidate: counts(canary, 0, 5),
        });
        if held <= 3 {
            let log = world.log();
            assert!(
                log.iter()
                    .any(|l| l.contains(&format!("step is held ({held} of 3)"))),
                "{log:?}"
            );
            // The held step starts again: its baseline is the next measurement.
            world.input(Input::SideStats {
                stable: counts(stable, 0, 5),
                candidate: counts(canary, 0, 5),
            });
        }
    }
    let roll = world.roll();
    assert_eq!(roll.state, RollState::Failed);
    assert!(
        roll.reason.unwrap().contains("not enough traffic"),
        "{:?}",
        world.log()
    );
}

/// A hung canary (issue 30, finding 7): its requests wait and nothing comes back, so there
/// is nothing "answered" to count. Waiting past a twentieth of the interval with no answer
/// meanwhile, while the stable side waits on nothing, is judged at the next check — within a
/// tenth of an interval of the first such request — not held for want of traffic.
#[test]
fn a_hung_canary_is_aborted_within_a_tenth_of_an_interval() {
    let mut world = canary_at_first_step();
    // The interval is 1 s: a check every 50 ms.
    world.advance(Duration::from_millis(50));
    let mut hung = counts(0, 0, 5);
    hung.waiting = vec![Duration::from_millis(60), Duration::from_millis(55)];
    hung.since_answer = Some(Duration::from_millis(400));
    world.input(Input::SideStats {
        stable: counts(130, 0, 5),
        candidate: hung,
    });
    let roll = world.roll();
    assert_eq!(roll.state, RollState::Failed, "{:?}", world.log());
    let reason = roll.reason.unwrap();
    assert!(
        reason.contains("the canary is not answering: 2 requests waiting longer than 50ms"),
        "{reason}"
    );
}

/// A slow request is not a hang: one the canary still answers around, or one the stable
/// side is as slow with, is not judged so; but a request waiting past the share of the
/// interval counts as a failed one in the error rate, on either side.
#[test]
fn waiting_requests_count_as_failures_but_a_slow_one_is_not_a_hang() {
    let mut world = canary_at_first_step();
    world.advance(Duration::from_millis(50));
    // (Fewer than `min_requests` so far: not judged on its error rate yet.)
    let mut slow = counts(5, 0, 5);
    slow.waiting = vec![Duration::from_millis(60)];
    slow.since_answer = Some(Duration::from_millis(5));
    world.input(Input::SideStats {
        stable: counts(130, 0, 5),
        candidate: slow.clone(),
    });
    assert_eq!(world.roll().state, RollState::Running, "{:?}", world.log());
    let mut stable = counts(160, 0, 5);
    stable.waiting = vec![Duration::from_millis(70)];
    let mut quiet = counts(5, 0, 5);
    quiet.waiting = vec![Duration::from_millis(60)];
    quiet.since_answer = Some(Duration::from_millis(300));
    world.advance(Duration::from_millis(50));
    world.input(Input::SideStats {
        stable,
        candidate: quiet,
    });
    assert_eq!(world.roll().state, RollState::Running, "{:?}", world.log());
    // 20 answered and 2 waiting too long: 2 of 22 failed, over the limit.
    let mut failing = counts(20, 0, 5);
    failing.waiting = vec![Duration::from_millis(90), Duration::from_millis(80)];
    world.advance(Duration::from_millis(50));
    world.input(Input::SideStats {
        stable: counts(200, 0, 5),
        candidate: failing,
    });
    let roll = world.roll();
    assert_eq!(roll.state, RollState::Failed, "{:?}", world.log());
    assert!(
        roll.reason.unwrap().contains("2 of 22 requests failed"),
        "{:?}",
        world.log()
    );
}

/// A canary much slower than the stable side is aborted at its step's end.
#[test]
fn a_canary_slower_than_its_p99_ratio_is_aborted() {
    let mut world = canary_at_first_step();
    world.advance(Duration::from_secs(1));
    world.input(Input::SideStats {
        stable: counts(280, 0, 10),
        candidate: counts(20, 0, 80),
    });
    let roll = world.roll();
    assert_eq!(roll.state, RollState::Failed);
    assert!(
        roll.reason.unwrap().contains("canary p99"),
        "{:?}",
        world.log()
    );
}

/// Durations from a control client are not bounded as dozen.toml's are: a window of
/// `u64::MAX` milliseconds is a long wait, not an overflow.
#[test]
fn an_endless_window_does_not_overflow() {
    let mut world = World::new(spec("v1", vec![web()]), &[1]);
    world.machine.route("web");
    world.up("web.1");
    world.releases.insert(2, vec![web()]);
    assert!(world.control(blue_green(2, u64::MAX)).ok);
    world.up("web.1");
    assert!(has(&world.log(), "weight 10000"));
    world.advance(Duration::from_secs(3_600));
    assert!(world.machine.next_timer().is_some());
}

/// A canary plan with no step is refused, not a panic (the control socket takes any
/// client's request).
#[test]
fn a_canary_without_steps_is_refused() {
    let mut world = World::new(spec("v1", vec![web()]), &[1]);
    world.machine.route("web");
    world.up("web.1");
    world.releases.insert(2, vec![web()]);
    let response = world.control(Op::Move {
        release: 2,
        strategy: control::Strategy::Canary,
        keep_old_ms: None,
        canary: Some(control::CanaryPlan {
            steps: Vec::new(),
            ..control::CanaryPlan::default()
        }),
        smoke: None,
    });
    assert!(response.error.unwrap().contains("at least one step"));
}

/// `dozen canary promote` skips the steps; `dozen canary abort` ends it; with none running
/// both are errors.
#[test]
fn a_canary_is_promoted_or_aborted_by_hand() {
    let mut world = canary_at_first_step();
    let status = world.control(Op::Canary {
        action: control::CanaryAction::Status,
    });
    let canary = status.canary.unwrap();
    assert_eq!((canary.state.as_str(), canary.step), ("analysing", 1));
    assert!((canary.weight_percent - 10.0).abs() < f64::EPSILON);
    assert!(
        world
            .control(Op::Canary {
                action: control::CanaryAction::Promote,
            })
            .ok
    );
    assert!(has(&world.log(), "spawn web.2 v2"));
    let mut world = canary_at_first_step();
    assert!(
        world
            .control(Op::Canary {
                action: control::CanaryAction::Abort,
            })
            .ok
    );
    assert_eq!(world.roll().reason.as_deref(), Some("aborted by hand"));
    let none = world.control(Op::Canary {
        action: control::CanaryAction::Status,
    });
    assert!(none.error.unwrap().contains("no canary"));
}

/// `dozen rollback` during a canary is the canary's abort (issue 30, finding 3): weight 0,
/// the canary stops, its roll ends failed "rolled back" for its waiting release, and the
/// stable side goes on as the rollback's release. Any other release waits.
#[test]
fn a_rollback_during_a_canary_aborts_it_and_the_stable_side_goes_on() {
    let mut world = canary_at_first_step();
    let seq = world.roll().seq;
    world.releases.insert(3, vec![web()]);
    let refused = world.control(rolling(3));
    assert!(
        refused.error.unwrap().contains("being analysed"),
        "not a rollback: it waits"
    );
    world.releases.insert(4, vec![web()]);
    world.rollbacks.insert(4, "v1".into());
    let response = world.control(rolling(4));
    assert!(response.ok, "{response:?}");
    let log = world.log();
    assert!(has(&log, "weight 0"), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("spawn web")), "{log:?}");
    // The canary's deploy record ends failed, for its waiting release; the rollback has a
    // record of its own, done as it began, which its `dozen rollback` waits on.
    let roll = world.roll();
    assert_eq!(
        (roll.seq, roll.state, roll.deploy),
        (seq + 1, RollState::Done, Some(2))
    );
    let ended: Vec<(u64, &str, &str, Option<String>)> = world
        .records
        .iter()
        .filter(|r| r.outcome != crate::store::deploys::Outcome::InProgress)
        .map(|r| (r.id, r.kind.as_str(), r.release.as_str(), r.failure()))
        .collect();
    assert_eq!(
        ended,
        [
            (1, "canary", "v2", Some("rolled back to v4".to_owned())),
            (2, "rollback", "v4", None)
        ]
    );
    let ps = world.ps();
    assert!(ps.canary.is_none(), "{ps:?}");
    let stable: Vec<&str> = ps
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Ready)
        .map(|i| i.release.as_str())
        .collect();
    assert_eq!(stable, ["v4", "v4", "v4"], "{ps:?}");
}

/// A blue-green move: the new side starts on the other half of web's ports with no
/// requests; once all of it is ready every request switches at once and the other types
/// move one at a time; the old side stays, idle, for its window (restarts and scales
/// wait), then drains and stops, and the new side is the formation.
fn switched() -> (World, (u64, u64)) {
    let mut world = World::new(spec("v1", vec![web(), worker(Restart::No)]), &[2, 1]);
    world.machine.route("web");
    world.up("web.1");
    world.up("web.2");
    world.started("worker.1");
    let old = (world.id("web.1"), world.id("web.2"));
    world.releases.insert(2, vec![web(), worker(Restart::No)]);
    let response = world.control(blue_green(2, 60_000));
    assert!(response.ok, "{response:?}");
    let log = world.log();
    assert!(
        has(&log, "spawn web.1 v2") && has(&log, "spawn web.2 v2"),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.starts_with("signal") || l.starts_with("weight")),
        "{log:?}"
    );
    let ports: Vec<String> = world
        .starts
        .iter()
        .rev()
        .take(2)
        .map(|s| s.env.iter().find(|(k, _)| k == "PORT").unwrap().1.clone())
        .collect();
    assert_eq!(ports, ["5051", "5050"], "the other half of web's ports");
    // Ready, weight 0: routed as the candidate side (reached by X-Dozen-Side only).
    world.up("web.1");
    let routes = world.machine.routes();
    assert_eq!(routes.len(), 3);
    assert_eq!(
        routes
            .iter()
            .filter(|r| r.side == crate::router::Side::Candidate)
            .count(),
        1
    );
    assert!(!world.log().iter().any(|l| l.starts_with("weight")));
    world.up("web.2");
    let log = world.log();
    assert!(has(&log, "weight 10000"), "{log:?}");
    // The other types move after, as a rolling move does (an extra instance first).
    assert!(has(&log, "spawn worker.2 v2"), "{log:?}");
    let refused = world.control(Op::Restart {
        target: Some("web".into()),
    });
    assert!(refused.error.unwrap().contains("keeps web's old side"));
    world.started("worker.2");
    assert!(has(&world.log(), "signal worker.1 15"));
    world.exited("worker.1", Some(0), None);
    world.started("worker.1");
    world.exited("worker.2", Some(0), None);
    let log = world.log();
    assert!(has(&log, "log move v2 moved"), "{log:?}");
    assert_eq!(world.roll().state, RollState::Done);
    let ps = world.ps();
    assert_eq!(ps.formation["web"], 2);
    let sides: Vec<(String, Option<Side>)> = ps
        .instances
        .iter()
        .filter(|i| i.type_name == "web")
        .map(|i| (i.release.clone(), i.side))
        .collect();
    assert_eq!(sides.len(), 4, "{sides:?}");
    (world, old)
}

#[test]
fn a_blue_green_move_switches_once_the_new_side_is_ready() {
    let (mut world, _) = switched();
    let refused = world.control(Op::Scale {
        changes: vec![ScaleChange {
            type_name: "web".into(),
            op: ScaleOp::Set,
            count: 3,
        }],
    });
    assert!(refused.error.unwrap().contains("keeps web's old side"));
}

/// After its window the old side drains and stops, and the new side is the formation.
#[test]
fn after_a_blue_green_window_the_old_side_stops() {
    let (mut world, old) = switched();
    // The window ends: the old side drains (it is routed), the new one is the formation.
    world.advance(Duration::from_secs(61));
    let log = world.log();
    assert!(has(&log, "weight 0"), "{log:?}");
    assert!(
        log.iter().filter(|l| l.starts_with("drain web.")).count() == 2,
        "{log:?}"
    );
    world.input(Input::Drained { id: old.0 });
    world.input(Input::Drained { id: old.1 });
    world.input(Input::Exited {
        id: old.0,
        code: Some(0),
        signal: None,
    });
    world.input(Input::Exited {
        id: old.1,
        code: Some(0),
        signal: None,
    });
    let ps = world.ps();
    assert!(
        ps.instances
            .iter()
            .all(|i| i.release == "v2" && i.side.is_none()),
        "{ps:?}"
    );
    assert_eq!(ps.formation["web"], 2);
    assert!(
        world
            .machine
            .routes()
            .iter()
            .all(|r| r.side == crate::router::Side::Stable)
    );
    assert!(
        world
            .control(Op::Restart {
                target: Some("web".into())
            })
            .ok
    );
}

/// In its window, a rollback to exactly what the old side runs switches back at once,
/// starting nothing of the routed type; its new side stops, the other types move back.
/// Any other release waits for the window.
#[test]
fn a_rollback_in_the_blue_green_window_switches_back_at_once() {
    let (mut world, old) = switched();
    world.releases.insert(3, vec![web(), worker(Restart::No)]);
    let refused = world.control(rolling(3));
    assert!(refused.error.unwrap().contains("keeps web's old side"));
    world.releases.insert(4, vec![web(), worker(Restart::No)]);
    world.rollbacks.insert(4, "v1".into());
    let response = world.control(rolling(4));
    assert!(response.ok, "{response:?}");
    let log = world.log();
    assert!(has(&log, "weight 0"), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("spawn web")), "{log:?}");
    assert_eq!(
        log.iter().filter(|l| l.starts_with("drain web.")).count(),
        2,
        "the new side drains: {log:?}"
    );
    assert!(
        has(&log, "spawn worker.2 v1"),
        "the worker moves back: {log:?}"
    );
    let ps = world.ps();
    let web: Vec<(&str, Option<u32>)> = ps
        .instances
        .iter()
        .filter(|i| i.type_name == "web" && i.state == InstanceState::Ready)
        .map(|i| (i.release.as_str(), i.pid))
        .collect();
    let pids = [old.0, old.1].map(|id| u32::try_from(1000 + id).ok());
    assert_eq!(web, [("v4", pids[0]), ("v4", pids[1])], "{ps:?}");
}

/// A new side that cannot become ready stops; the old side never stopped serving.
#[test]
fn a_blue_green_move_whose_new_side_fails_leaves_the_old_one_serving() {
    let mut world = World::new(spec("v1", vec![web()]), &[2]);
    world.machine.route("web");
    world.up("web.1");
    world.up("web.2");
    world.releases.insert(2, vec![web()]);
    assert!(world.control(blue_green(2, 60_000)).ok);
    world.up("web.1");
    world.started("web.2");
    world.exited("web.2", Some(1), None);
    let log = world.log();
    assert!(has(&log, "log move v2 stopped"), "{log:?}");
    assert!(!log.iter().any(|l| l == "weight 10000"), "{log:?}");
    assert!(
        has(&log, "drain web.1") || has(&log, "signal web.1 15"),
        "{log:?}"
    );
    assert_eq!(world.roll().state, RollState::Failed);
    let ps = world.ps();
    let serving: Vec<&str> = ps
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Ready)
        .map(|i| i.release.as_str())
        .collect();
    assert_eq!(serving, ["v1", "v1"], "{ps:?}");
    // Nothing is in progress any more.
    world.releases.insert(3, vec![web()]);
    assert!(world.control(rolling(3)).ok);
}
