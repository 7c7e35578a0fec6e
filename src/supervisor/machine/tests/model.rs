//! A property test of the release model (issue 30): random interleavings of releases (each
//! strategy, good and bad builds), rollbacks, restarts, scales, stops, canary promotes and
//! aborts, instance crashes, the clock, and the world's answers delivered in any order —
//! driven against the machine, with the ledger kept as `dozen release` keeps it. Once the
//! system settles: the ledger's current release is what serves; no release is recorded
//! succeeded whose deploy did not finish; a release the run refused never ran; every deploy
//! ended. While nothing disturbs the formation, serving capacity never drops below the
//! formation minus one during a move.
//!
//! `PROPTEST_CASES` sets how many sequences run (64 by default here; the README gives the
//! longer form).

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::store::deploys::{Outcome, Record};

#[derive(Debug, Clone)]
enum Step {
    /// `dozen release` with a strategy (0 rolling, 1 blue-green, 2 canary) of a build that
    /// serves, or of one whose instances exit at once.
    Release {
        strategy: u8,
        bad: bool,
    },
    Rollback,
    Restart,
    Promote,
    Abort,
    /// Disturbs the formation: capacity is not checked after one.
    Scale(u32),
    Stop,
    Crash(u8),
    /// The world answers the machine: the `n`th pending answer (spawned, probed, exited,
    /// drained, smoked), whichever it is — answers arrive in any order.
    Deliver(u8),
    Advance(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..3, prop::bool::weighted(0.25))
            .prop_map(|(strategy, bad)| Step::Release { strategy, bad }),
        1 => Just(Step::Rollback),
        1 => Just(Step::Restart),
        1 => Just(Step::Promote),
        1 => Just(Step::Abort),
        1 => (1u32..5).prop_map(Step::Scale),
        1 => Just(Step::Stop),
        1 => any::<u8>().prop_map(Step::Crash),
        12 => any::<u8>().prop_map(Step::Deliver),
        3 => (0u16..1500).prop_map(Step::Advance),
    ]
}

/// A pending answer of the world to the machine.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Spawned(u64),
    Probed(u64),
    Exit(u64, Option<i32>, Option<i32>),
    Drained(u64),
    Smoked,
}

/// What `dozen release` made of a release: the run refused it, or deploy `dN` took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    First,
    Refused,
    Deploy(u64),
}

struct Model {
    machine: Machine,
    now: Instant,
    pending: Vec<Answer>,
    alive: HashSet<u64>,
    /// Each process's build (`/srv/vN`'s `vN`).
    builds_of: HashMap<u64, String>,
    /// The builds whose instances exit at once.
    bad: HashSet<String>,
    /// Release N: its build, and what became of it.
    ledger: BTreeMap<u32, (String, Taken)>,
    records: HashMap<u64, Record>,
    weight: u32,
    /// Cumulative router counts for the canary's analysis.
    counted: (u64, u64),
    /// Every build a process was started from.
    started: HashSet<String>,
    disturbed: bool,
    /// What the machine said and was answered, for a failure's report.
    told: Vec<String>,
    web_restarts: bool,
}

/// `web`, restarted on failure or not at all.
fn web_with(restarts: bool) -> TypeSettings {
    TypeSettings {
        restart: if restarts {
            Restart::OnFailure
        } else {
            Restart::No
        },
        ..web()
    }
}

const KEEP_OLD_MS: u64 = 2_000;

impl Model {
    /// `web`'s restart policy: on failure, or none (foreman's: an exit stops the formation).
    fn new(web_restarts: bool) -> Self {
        let types = || vec![web_with(web_restarts), worker(Restart::OnFailure)];
        let mut first = spec("v1", types());
        first.counts = [("web".to_owned(), 3), ("worker".to_owned(), 1)]
            .into_iter()
            .collect();
        let instances: Vec<PlannedInstance> = [(0, 3), (1, 1)]
            .into_iter()
            .flat_map(|(type_index, n)| {
                (1..=n).map(move |index| PlannedInstance {
                    type_index,
                    index,
                    port: instance_port(5000, type_index, index).unwrap(),
                })
            })
            .collect();
        let now = Instant::now();
        let mut machine = Machine::new(first, &instances, 5000, Box::new(|_| None), now);
        machine.route("web");
        machine.start(now);
        let mut model = Self {
            machine,
            now,
            pending: Vec::new(),
            alive: HashSet::new(),
            builds_of: HashMap::new(),
            bad: HashSet::new(),
            ledger: BTreeMap::from([(1, ("v1".to_owned(), Taken::First))]),
            records: HashMap::new(),
            weight: 0,
            counted: (0, 0),
            started: HashSet::new(),
            disturbed: false,
            told: Vec::new(),
            web_restarts,
        };
        model.collect();
        model
    }

    fn collect(&mut self) {
        for action in self.machine.take_actions() {
            match action {
                Action::Spawn(start) => {
                    let build = start
                        .cwd
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    self.started.insert(build.clone());
                    self.builds_of.insert(start.id, build);
                    self.pending.push(Answer::Spawned(start.id));
                }
                Action::Signal { id, signal } => {
                    self.pending.push(Answer::Exit(id, None, Some(signal)));
                }
                Action::Probe { id, .. } => self.pending.push(Answer::Probed(id)),
                Action::Drain { id } => self.pending.push(Answer::Drained(id)),
                Action::Smoke { .. } => self.pending.push(Answer::Smoked),
                Action::SetWeight(weight) => self.weight = weight,
                Action::Say { text, .. } => self.told.push(text),
                Action::Record(record) => {
                    self.records.insert(record.id, record);
                }
                _ => {}
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.machine.handle(input, self.now);
        self.collect();
    }

    fn deliver(&mut self, which: usize) {
        if self.pending.is_empty() {
            return;
        }
        let mut at = which % self.pending.len();
        // Whatever happens to a process happens after it started: its start comes first.
        if let Answer::Exit(id, ..) | Answer::Probed(id) | Answer::Drained(id) = self.pending[at]
            && let Some(start) = self
                .pending
                .iter()
                .position(|a| matches!(a, Answer::Spawned(s) if *s == id))
        {
            at = start;
        }
        let answer = self.pending.remove(at);
        self.told.push(format!("  <- {answer:?}"));
        match answer {
            Answer::Spawned(id) => {
                self.alive.insert(id);
                self.input(Input::Spawned {
                    id,
                    pid: u32::try_from(1000 + id).unwrap(),
                });
                if self.bad.contains(&self.builds_of[&id]) {
                    self.pending.push(Answer::Exit(id, Some(1), None));
                }
            }
            Answer::Probed(id) => {
                // Every probe is answered: by what listens, or by a refused connection (a bad
                // build never listens).
                let listens = self.alive.contains(&id)
                    && self
                        .builds_of
                        .get(&id)
                        .is_some_and(|b| !self.bad.contains(b));
                let result = if listens {
                    Ok(())
                } else {
                    Err(crate::supervisor::health::Failed::Connect {
                        port: 0,
                        error: "connection refused".into(),
                    })
                };
                self.input(Input::Health { id, result });
            }
            Answer::Exit(id, code, signal) => {
                if self.alive.remove(&id) {
                    self.input(Input::Exited { id, code, signal });
                }
            }
            Answer::Drained(id) => self.input(Input::Drained { id }),
            Answer::Smoked => self.input(Input::Smoked { result: Ok(()) }),
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        self.machine.on_timers(self.now);
        self.collect();
        if self.machine.wants_side_stats(self.now) {
            self.counted.0 += 200;
            self.counted.1 += 60;
            self.input(Input::SideStats {
                stable: counts(self.counted.0, 0, 5),
                candidate: counts(self.counted.1, 0, 5),
            });
        }
    }

    fn control(&mut self, op: Op) -> Response {
        let web_restarts = self.web_restarts;
        let builds: HashMap<u32, String> = self
            .ledger
            .iter()
            .map(|(v, (build, _))| (*v, build.clone()))
            .collect();
        let mut load = |version: u32| -> Result<Spec, crate::error::Error> {
            let build = builds
                .get(&version)
                .ok_or_else(|| crate::error::Error::failed("no such release"))?;
            let mut spec = spec(
                &format!("v{version}"),
                vec![web_with(web_restarts), worker(Restart::OnFailure)],
            );
            spec.cwd = PathBuf::from(format!("/srv/{build}"));
            Ok(spec)
        };
        let response = self.machine.control(
            control::Request {
                v: control::VERSION,
                op,
            },
            self.now,
            Some(&mut load),
        );
        self.collect();
        response
    }

    /// A release's state as the ledger has it: `Some(true)` succeeded (or current while its
    /// deploy runs), `Some(false)` aborted.
    fn succeeded(&self, version: u32) -> bool {
        match self.ledger[&version].1 {
            Taken::First => true,
            Taken::Refused => false,
            Taken::Deploy(id) => self.records[&id].failure().is_none(),
        }
    }

    /// The current release: the newest succeeded one.
    fn current(&self) -> u32 {
        *self
            .ledger
            .keys()
            .rev()
            .find(|v| self.succeeded(**v))
            .expect("v1 at least")
    }

    /// `dozen release` (or `rollback`, of `build`): a new version, moved to.
    fn release(
        &mut self,
        build: Option<String>,
        strategy: control::Strategy,
    ) -> Result<(), String> {
        let version = self.ledger.keys().last().unwrap() + 1;
        let build = build.unwrap_or_else(|| format!("v{version}"));
        self.ledger.insert(version, (build, Taken::Refused));
        let op = match strategy {
            control::Strategy::Rolling => rolling(version),
            control::Strategy::BlueGreen => blue_green(version, KEEP_OLD_MS),
            control::Strategy::Canary => canary(version),
        };
        let response = self.control(op);
        if !response.ok {
            self.told.push(format!("  refused: {:?}", response.error));
            return Ok(());
        }
        let roll = response.roll.ok_or("an accepted move with no roll")?;
        if roll.release.as_deref() != Some(&format!("v{version}")) {
            return Err(format!("v{version} accepted, but the roll is {roll:?}"));
        }
        let id = roll
            .deploy
            .ok_or(format!("v{version} accepted with no deploy record"))?;
        if !self.records.contains_key(&id) {
            return Err(format!("deploy d{id} of v{version} was never written"));
        }
        self.ledger.get_mut(&version).unwrap().1 = Taken::Deploy(id);
        Ok(())
    }

    fn apply(&mut self, step: &Step) -> Result<(), String> {
        self.told.push(format!("{step:?}"));
        match *step {
            Step::Release { strategy, bad } => {
                let version = self.ledger.keys().last().unwrap() + 1;
                if bad {
                    self.bad.insert(format!("v{version}"));
                }
                let strategy = [
                    control::Strategy::Rolling,
                    control::Strategy::BlueGreen,
                    control::Strategy::Canary,
                ][usize::from(strategy)];
                self.release(None, strategy)?;
            }
            Step::Rollback => {
                let current = self.current();
                let target = self
                    .ledger
                    .keys()
                    .rev()
                    .find(|v| **v < current && self.succeeded(**v))
                    .copied();
                if let Some(target) = target {
                    let build = self.ledger[&target].0.clone();
                    self.release(Some(build), control::Strategy::Rolling)?;
                }
            }
            Step::Restart => {
                self.control(Op::Restart { target: None });
            }
            Step::Promote => {
                self.control(Op::Canary {
                    action: control::CanaryAction::Promote,
                });
            }
            Step::Abort => {
                self.control(Op::Canary {
                    action: control::CanaryAction::Abort,
                });
            }
            Step::Scale(count) => {
                self.disturbed = true;
                self.control(Op::Scale {
                    changes: vec![ScaleChange {
                        type_name: "web".into(),
                        op: ScaleOp::Set,
                        count,
                    }],
                });
            }
            Step::Stop => {
                self.disturbed = true;
                self.control(Op::Stop {
                    target: Some("web.1".into()),
                });
            }
            Step::Crash(which) => {
                self.disturbed = true;
                let mut alive: Vec<u64> = self.alive.iter().copied().collect();
                alive.sort_unstable();
                if !alive.is_empty() {
                    let id = alive[usize::from(which) % alive.len()];
                    self.pending.push(Answer::Exit(id, None, Some(KILL)));
                }
            }
            Step::Deliver(which) => self.deliver(usize::from(which)),
            Step::Advance(ms) => self.advance(u64::from(ms)),
        }
        Ok(())
    }

    /// Instances of `web` that serve requests now: ready, on the side the router's weight
    /// sends requests to.
    fn serving_web(&mut self) -> (usize, u32) {
        let ps = self.control(Op::Ps);
        let weight = self.weight;
        let serving = ps
            .instances
            .iter()
            .filter(|i| i.type_name == "web" && i.state == InstanceState::Ready)
            .filter(|i| match i.side {
                Some(Side::Candidate) => weight > 0,
                _ => weight < 10_000,
            })
            .count();
        (serving, ps.formation.get("web").copied().unwrap_or(0))
    }

    /// Answers everything and lets time pass until nothing is pending, no deploy is in
    /// progress, and every instance is at rest.
    fn settle(&mut self) -> Result<(), String> {
        for _ in 0..2_000 {
            if !self.pending.is_empty() {
                self.deliver(0);
                continue;
            }
            if self.machine.finished() {
                return Ok(());
            }
            let ps = self.control(Op::Ps);
            let at_rest = ps.instances.iter().all(|i| {
                i.side != Some(Side::Candidate)
                    && matches!(
                        i.state,
                        InstanceState::Ready
                            | InstanceState::Running
                            | InstanceState::Stopped
                            | InstanceState::Crashed
                            | InstanceState::Exited
                    )
            });
            let deploying = self
                .records
                .values()
                .any(|r| r.outcome == Outcome::InProgress);
            if at_rest && !deploying && ps.canary.is_none() && ps.roll.is_none_or(|r| r.ended()) {
                return Ok(());
            }
            self.advance(250);
        }
        let ps = self.control(Op::Ps);
        let instances: Vec<String> = ps
            .instances
            .iter()
            .map(|i| format!("{} {} {} {:?}", i.name, i.state, i.release, i.side))
            .collect();
        Err(format!(
            "did not settle: {instances:?}, roll {:?}, pending {:?}, alive {:?}",
            ps.roll, self.pending, self.alive
        ))
    }

    /// The invariants of a settled system.
    fn check_settled(&mut self) -> Result<(), String> {
        if let Some(open) = self
            .records
            .values()
            .find(|r| r.outcome == Outcome::InProgress)
        {
            return Err(format!("deploy d{} never ended: {open:?}", open.id));
        }
        let current = format!("v{}", self.current());
        let ps = self.control(Op::Ps);
        for instance in &ps.instances {
            let serves = matches!(
                instance.state,
                InstanceState::Ready | InstanceState::Running
            );
            if serves && instance.release != current {
                return Err(format!(
                    "the ledger's current release is {current}, but {} serves {}: {:#?}",
                    instance.name, instance.release, ps.instances
                ));
            }
        }
        for (version, (build, taken)) in &self.ledger {
            match taken {
                Taken::Deploy(id) => {
                    let record = &self.records[id];
                    if record.release != format!("v{version}") {
                        return Err(format!("d{id} is of {}, not v{version}", record.release));
                    }
                }
                // A release the run refused never ran (unless its build is another's).
                Taken::Refused
                    if *build == format!("v{version}") && self.started.contains(build) =>
                {
                    return Err(format!("v{version} was refused, yet its build ran"));
                }
                Taken::Refused | Taken::First => {}
            }
        }
        Ok(())
    }
}

fn run(steps: &[Step], web_restarts: bool) -> Result<(), String> {
    let mut model = Model::new(web_restarts);
    run_on(&mut model, steps).map_err(|violation| {
        let told = model.told.len().saturating_sub(80);
        format!(
            "{violation}\n--- the last of what happened:\n{}",
            model.told[told..].join("\n")
        )
    })
}

fn run_on(model: &mut Model, steps: &[Step]) -> Result<(), String> {
    model.settle()?;
    let mut during = Vec::new();
    for step in steps {
        model.apply(step)?;
        if !model.disturbed {
            let (serving, formation) = model.serving_web();
            if serving + 1 < formation as usize {
                during.push(format!(
                    "{serving} of {formation} web serving after {step:?}"
                ));
            }
        }
    }
    if let Some(first) = during.first() {
        return Err(format!(
            "capacity fell below the formation minus one: {first}"
        ));
    }
    // Nothing but a crash or a stop may end the formation: never a deploy.
    if !model.disturbed && model.machine.finished() {
        return Err("the formation ended, and nothing but deploys happened".to_owned());
    }
    model.settle()?;
    if !model.disturbed && model.machine.finished() {
        return Err(
            "the formation ended as it settled, and nothing but deploys happened".to_owned(),
        );
    }
    model.check_settled()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn whatever_the_interleaving_the_ledger_says_what_serves(
        steps in prop::collection::vec(step(), 1..60),
        web_restarts in prop::bool::weighted(0.7),
    ) {
        if let Err(violation) = run(&steps, web_restarts) {
            prop_assert!(false, "{}", violation);
        }
    }
}

/// Sequences the property test found, kept as they were shrunk.
fn regression(steps: &[Step]) {
    regression_with(steps, true);
}

fn regression_with(steps: &[Step], web_restarts: bool) {
    let mut model = Model::new(web_restarts);
    let result = model.settle().and_then(|()| run_on(&mut model, steps));
    if let Err(violation) = result {
        panic!("{violation}\n{}", model.told.join("\n"));
    }
}

/// A restart (and a scale) while a failed move's instances go back was taken: its roll
/// replaced the move's, whose record never ended.
#[test]
fn a_restart_during_a_failed_moves_way_back_waits() {
    use self::Step::*;
    regression(&[
        Crash(188),
        Release {
            strategy: 0,
            bad: true,
        },
        Deliver(215),
        Scale(2),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Release {
            strategy: 1,
            bad: true,
        },
        Deliver(4),
        Deliver(52),
        Deliver(4),
        Release {
            strategy: 0,
            bad: false,
        },
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Crash(32),
        Deliver(0),
        Restart,
    ]);
}

/// A rollback inside blue-green's window while the other types were still moving onto the
/// switched release left `worker` moving there: the ledger said v3, the worker ran v2.
#[test]
fn a_switch_back_stops_the_other_types_move_onto_the_release_it_leaves() {
    use self::Step::*;
    regression(&[
        Release {
            strategy: 1,
            bad: false,
        },
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Advance(100),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Rollback,
    ]);
}

/// An instance that crashed on its way back from a failed move stopped the way back: the
/// others stayed on the aborted release.
#[test]
fn the_way_back_from_a_failed_move_goes_on_when_one_instance_fails_it() {
    use self::Step::*;
    regression(&[
        Release {
            strategy: 0,
            bad: false,
        },
        Crash(201),
        Advance(100),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Advance(1000),
        Crash(3),
        Deliver(29),
        Deliver(0),
        Deliver(0),
        Deliver(0),
        Advance(100),
        Deliver(4),
        Crash(139),
        Release {
            strategy: 0,
            bad: false,
        },
        Deliver(58),
        Deliver(80),
        Deliver(0),
    ]);
}

/// A blue-green or canary candidate that exits, under a policy that does not restart it
/// (foreman's), stopped the whole running formation: it aborts its deploy instead (found by
/// a new user's trial; kept as the model test's sequence).
#[test]
fn a_candidate_that_exits_aborts_its_deploy_not_the_formation() {
    use self::Step::*;
    for strategy in [1, 2] {
        regression_with(
            &[
                Release {
                    strategy,
                    bad: true,
                },
                Deliver(0),
                Deliver(0),
                Deliver(0),
                Deliver(0),
            ],
            false,
        );
    }
}

/// An exit that stops the formation during a move: the stop of the instance being replaced
/// was taken for a failed replacement, which started it again, and the run never ended; the
/// deploy now ends failed with the formation.
#[test]
fn a_formation_stopping_mid_move_ends_and_so_does_its_deploy() {
    use self::Step::*;
    let mut model = Model::new(false);
    let result = model.settle().and_then(|()| {
        run_on(
            &mut model,
            &[
                Release {
                    strategy: 0,
                    bad: false,
                },
                Crash(4),
            ],
        )
    });
    assert!(result.is_ok(), "{result:?}\n{}", model.told.join("\n"));
    assert!(model.machine.finished());
    let reason = model.records[&1].failure().unwrap();
    assert!(
        reason.contains("the formation stopped before the deploy ended"),
        "{reason}"
    );
}
