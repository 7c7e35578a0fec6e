use super::*;
use crate::app::formation::{ScaleChange, ScaleOp};
use crate::app::ports::instance_port;
use crate::control::{Health, InstanceState, RollState, Side};
use crate::supervisor::health::Probe;
use signal_hook::consts::SIGINT;

#[test]
fn a_relative_p99_limit_leaves_room_for_a_fast_sides_noise() {
    assert!((relative_p99_limit(1.4, 1.5) - 6.4).abs() < 1e-9);
    assert!((relative_p99_limit(100.0, 1.5) - 150.0).abs() < 1e-9);
}
use std::collections::HashMap;

const TERM: i32 = 15;
const KILL: i32 = 9;

fn settings(name: &str, restart: Restart, health: Option<Check>) -> TypeSettings {
    TypeSettings {
        name: name.into(),
        command: format!("sh -c 'trap \"sleep 2; exit 0\" TERM; {name} & wait'"),
        restart,
        may_exit: false,
        stop_signal: TERM,
        kill_timeout: Duration::from_secs(5),
        backoff: Backoff::default(),
        after: Vec::new(),
        health,
        tty: false,
        limits: crate::app::limits::Limits::default(),
    }
}

/// A `web` without a configured check: ready once it accepts connections on its port.
fn web() -> TypeSettings {
    settings("web", Restart::OnFailure, Some(Check::implicit_port()))
}

fn worker(restart: Restart) -> TypeSettings {
    settings("worker", restart, None)
}

fn spec(release: &str, types: Vec<TypeSettings>) -> Spec {
    let counts = types.iter().map(|t| (t.name.clone(), 1)).collect();
    Spec {
        release: release.into(),
        types,
        env: vec![("DATABASE_URL".into(), "postgres://db".into())],
        cwd: PathBuf::from(format!("/srv/{release}")),
        keep: None,
        counts,
    }
}

/// A run of the machine with a scripted world: processes start, pass checks and exit
/// when the test says so, and the clock moves only when it says so.
struct World {
    machine: Machine,
    now: Instant,
    /// What the machine did, one line per action, since the last [`World::log`].
    lines: Vec<String>,
    /// Every start, in order.
    starts: Vec<Start>,
    /// Each instance's current process.
    ids: HashMap<String, u64>,
    names: HashMap<u64, String>,
    /// Where a move loads release N from.
    releases: HashMap<u32, Vec<TypeSettings>>,
    /// Each instance's latest check command.
    checks: HashMap<String, u64>,
    /// Release N is a rollback: the build tree of this earlier release.
    rollbacks: HashMap<u32, String>,
    /// Every deploy record the machine wrote, in order.
    records: Vec<crate::store::deploys::Record>,
}

impl World {
    /// `counts[i]` instances of the spec's type `i`, on ports from 5000.
    fn new(spec: Spec, counts: &[u32]) -> Self {
        let instances: Vec<PlannedInstance> = counts
            .iter()
            .enumerate()
            .flat_map(|(type_index, &n)| {
                (1..=n).map(move |index| PlannedInstance {
                    type_index,
                    index,
                    port: instance_port(5000, type_index, index).unwrap(),
                })
            })
            .collect();
        let now = Instant::now();
        let mut machine = Machine::new(spec, &instances, 5000, Box::new(|_| None), now);
        machine.start(now);
        let mut world = Self {
            machine,
            now,
            lines: Vec::new(),
            starts: Vec::new(),
            ids: HashMap::new(),
            names: HashMap::new(),
            releases: HashMap::new(),
            checks: HashMap::new(),
            rollbacks: HashMap::new(),
            records: Vec::new(),
        };
        world.collect();
        world
    }

    fn collect(&mut self) {
        for action in self.machine.take_actions() {
            let line = match action {
                Action::Spawn(start) if start.check => {
                    self.names.insert(start.id, format!("{} check", start.name));
                    self.checks.insert(start.name.clone(), start.id);
                    format!("check {} `{}`", start.name, start.command)
                }
                Action::Spawn(start) => {
                    self.ids.insert(start.name.clone(), start.id);
                    self.names.insert(start.id, start.name.clone());
                    let release = start.cwd.file_name().unwrap().to_string_lossy();
                    let line = format!("spawn {} {release}", start.name);
                    self.starts.push(start);
                    line
                }
                Action::Signal { id, signal } => format!("signal {} {signal}", self.names[&id]),
                Action::Say { text, .. } => format!("say {text}"),
                Action::Started { id, .. } => format!("started {}", self.names[&id]),
                Action::Probe { id, .. } => format!("probe {}", self.names[&id]),
                Action::SaveFormation(counts) => format!("save {counts:?}"),
                Action::LogMove {
                    release, outcome, ..
                } => format!("log move {release} {outcome}"),
                Action::Log { what, details } => format!("log {what} {details}"),
                Action::EndDescendants => "end descendants".to_owned(),
                Action::SetWeight(basis_points) => format!("weight {basis_points}"),
                Action::Smoke { command, .. } => format!("smoke {command}"),
                Action::Drain { id } => format!("drain {}", self.names[&id]),
                Action::Record(record) => {
                    self.records.push(record);
                    continue;
                }
            };
            self.lines.push(line);
        }
    }

    /// What happened since the last call.
    fn log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    fn input(&mut self, input: Input) {
        self.machine.handle(input, self.now);
        self.collect();
    }

    fn id(&self, name: &str) -> u64 {
        self.ids[name]
    }

    fn started(&mut self, name: &str) {
        let id = self.id(name);
        self.input(Input::Spawned {
            id,
            pid: u32::try_from(1000 + id).unwrap(),
        });
    }

    /// Started and accepting connections.
    fn up(&mut self, name: &str) {
        self.started(name);
        let id = self.id(name);
        self.input(Input::Health { id, result: Ok(()) });
    }

    fn exited(&mut self, name: &str, code: Option<i32>, signal: Option<i32>) {
        let id = self.id(name);
        self.input(Input::Exited { id, code, signal });
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.machine.on_timers(self.now);
        self.collect();
    }

    fn control(&mut self, op: Op) -> Response {
        let mut releases = std::mem::take(&mut self.releases);
        let rollbacks = self.rollbacks.clone();
        let mut load = |version: u32| -> Result<Spec, crate::error::Error> {
            let types = releases
                .remove(&version)
                .ok_or_else(|| crate::error::Error::failed("no such release"))?;
            let mut spec = spec(&format!("v{version}"), types);
            if let Some(of) = rollbacks.get(&version) {
                spec.cwd = PathBuf::from(format!("/srv/{of}"));
            }
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

    fn ps(&mut self) -> Response {
        self.control(Op::Ps)
    }

    /// Instances of `type_name` that serve: ready, or running without a check.
    fn serving(&mut self, type_name: &str) -> usize {
        self.ps()
            .instances
            .iter()
            .filter(|i| i.type_name == type_name && i.state == InstanceState::Ready)
            .count()
    }

    fn roll(&mut self) -> control::RollStatus {
        self.ps().roll.expect("a roll")
    }
}

fn rolling(release: u32) -> Op {
    Op::Move {
        release,
        strategy: control::Strategy::Rolling,
        keep_old_ms: None,
        canary: None,
        smoke: None,
    }
}

fn blue_green(release: u32, keep_ms: u64) -> Op {
    Op::Move {
        release,
        strategy: control::Strategy::BlueGreen,
        keep_old_ms: Some(keep_ms),
        canary: None,
        smoke: None,
    }
}

fn canary(release: u32) -> Op {
    Op::Move {
        release,
        strategy: control::Strategy::Canary,
        keep_old_ms: None,
        canary: Some(control::CanaryPlan {
            steps: vec![10, 50],
            interval_ms: 1_000,
            instances: 1,
            min_requests: 10,
            ..control::CanaryPlan::default()
        }),
        smoke: None,
    }
}

/// Router counts: `requests`, `errors`, every request taking `ms`.
fn counts(requests: u64, errors: u64, ms: u64) -> Snapshot {
    let histogram = crate::router::table::Histogram::default();
    for _ in 0..requests {
        histogram.record(Duration::from_millis(ms));
    }
    Snapshot {
        requests,
        errors,
        latency: histogram.counts(),
        waiting: Vec::new(),
        since_answer: Some(Duration::ZERO),
    }
}

fn has(log: &[String], line: &str) -> bool {
    log.iter().any(|l| l == line)
}

fn count(log: &[String], prefix: &str) -> usize {
    log.iter().filter(|l| l.starts_with(prefix)).count()
}

mod deploys;
mod instances;
mod model;
