//! The supervisor's driver: one thread carries out what the state machine
//! ([`super::machine`]) decides — it spawns and signals through the nursery, hands output to
//! the pump, runs health checks, answers the control socket and writes the store — and feeds
//! back what happened. See docs/supervisor.md.

use super::probes::{Check, Outcome, Probes};
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

pub use super::front::RouterPlan;
use super::front::{controlling_terminal, reload_certificates, start_router};
use super::machine::{Action, Input, Machine, Start};
pub use super::machine::{LoadRelease, PlannedInstance, Spec, TypeSettings};
use super::nursery::{self, Nursery, Request};
use super::output::format::{Formatter, LogFormat};
use super::output::pump::{self, Command as PumpCommand};
use super::output::queue::Queue;
use super::reaper;
use super::schedules::Schedules;
pub use super::schedules::SchedulesPlan;
use crate::app::procfile;
use crate::control::{self, Response};
use crate::logs::drain::Tell;
use crate::logs::hub::Hub;
use outputs::Outputs;
use std::sync::Arc;

/// How much formatted output may wait for a slow stdout before the children are slowed.
const QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Everything the runner needs, validated: built by `commands/run.rs`.
pub struct Plan<'a> {
    /// What the formation runs at first.
    pub spec: Spec,
    pub instances: Vec<PlannedInstance>,
    pub format: LogFormat,
    pub timestamps: bool,
    pub color: bool,
    /// Ports are `base_port + 100 × type index + instance − 1`, for instances added live too.
    pub base_port: u16,
    /// The app's store: the scaled formation is written there.
    pub store: PathBuf,
    /// The control socket, bound (under the run lock) by the caller.
    pub control: Option<super::server::Server>,
    /// Loads release N when it becomes current, for a run that follows the current release
    /// (not `--dev`, not `--release vN`).
    pub follow: Option<LoadRelease<'a>>,
    /// The router in front of a type, its listener bound by the caller.
    pub router: Option<RouterPlan>,
    /// Types scaled by the load the router measures.
    pub autoscale: Vec<(String, super::autoscale::Policy)>,
    /// The ring buffer of `dozen logs` and the drains.
    pub logs: LogsPlan<'a>,
    /// `--watch`: what to watch, and for which types.
    pub watch: Option<super::watch::WatchPlan>,
    /// `[schedule.NAME]` jobs.
    pub schedules: SchedulesPlan,
    /// The feature flags, served over OFREP (docs/flags.md).
    pub flags: Option<super::flags::FlagsPlan>,
}

/// Where the stream goes besides stdout (docs/logs.md).
#[derive(Default)]
pub struct LogsPlan<'a> {
    pub limits: crate::logs::hub::Limits,
    pub settings: crate::logs::drain::Settings,
    pub drains: Vec<crate::logs::url::DrainUrl>,
    /// Reads the drains again when `dozen drains add|remove` changed them.
    pub reload: Option<ReloadDrains<'a>>,
}

/// Reads a run's drains again.
pub type ReloadDrains<'a> =
    Box<dyn FnMut() -> Result<Vec<crate::logs::url::DrainUrl>, crate::error::Error> + 'a>;

enum Event {
    Nursery(nursery::Event),
    NurseryGone,
    Signal(i32),
    StdoutClosed,
    Health {
        id: u64,
        result: Result<(), super::health::Failed>,
    },
    /// A request, where to answer, and the moment after which it must not be applied (its
    /// client has been told it was not).
    Control(control::Request, mpsc::Sender<Response>, Instant),
    /// The router has nothing in flight to a draining instance.
    Drained(u64),
    /// A blue-green smoke test ended.
    Smoked(Result<(), super::meter::Failed>),
    /// A metric command's reading, for an autoscaled type.
    Metered {
        type_name: String,
        reading: super::meter::Reading,
    },
}

/// What the machine is told of an event; `None` for a control request (answered apart) and
/// for a metric of a type that has no instance left to divide it by.
fn input_of(event: Event, machine: &Machine) -> Option<Input> {
    Some(match event {
        Event::Signal(signal) => Input::Signal(signal),
        Event::StdoutClosed => Input::StdoutClosed,
        Event::NurseryGone => Input::NurseryGone,
        Event::Nursery(nursery::Event::Spawned { id, pid }) => Input::Spawned {
            id,
            pid: u32::try_from(pid).unwrap_or_default(),
        },
        Event::Nursery(nursery::Event::SpawnFailed { id, error }) => {
            Input::SpawnFailed { id, error }
        }
        Event::Nursery(nursery::Event::Exited {
            id, code, signal, ..
        }) => Input::Exited { id, code, signal },
        Event::Health { id, result } => Input::Health { id, result },
        Event::Drained(id) => Input::Drained { id },
        Event::Smoked(result) => Input::Smoked { result },
        Event::Metered { type_name, reading } => match reading {
            Ok(total) => {
                let count = machine.count(&type_name);
                if count == 0 {
                    return None;
                }
                Input::Measured {
                    type_name,
                    value: total / f64::from(count),
                }
            }
            Err(error) => Input::Unmeasured { type_name, error },
        },
        Event::Control(..) => return None,
    })
}

/// Runs the formation until it stops; returns dozen's exit code.
pub fn run(mut plan: Plan<'_>) -> std::io::Result<i32> {
    reaper::become_subreaper()?;
    let (tx, rx) = mpsc::channel();
    let signal_handle = forward_signals(tx.clone())?;

    let queue = Queue::new(QUEUE_BYTES);
    let stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let writer = {
        let (queue, tx) = (queue.clone(), tx.clone());
        std::thread::Builder::new()
            .name("dozen-writer".into())
            .spawn(move || {
                queue.write_all_to(stdout, |_| {
                    let _ = tx.send(Event::StdoutClosed);
                });
            })?
    };
    let formatter = Formatter::new(plan.format, plan.timestamps, plan.color, label_width(&plan))
        .for_terminal(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let hub = Arc::new(Hub::new(plan.logs.limits));
    let types = plan.spec.types.iter().map(|t| t.name.clone()).collect();
    hub.set_layout(label_width(&plan), types);
    let (pump, pump_thread) = pump::start(formatter.clone(), queue, hub.clone())?;
    let tell = tell_through(&pump)?;
    let mut drains = Vec::new();
    let logs = std::mem::take(&mut plan.logs);
    crate::logs::hub::reconcile_drains(&hub, &mut drains, &logs.drains, &logs.settings, &tell)?;

    let flags = (plan.flags.take())
        .map(|flags| super::flags::Flags::start(flags, &pump))
        .transpose()?;
    let nursery = Nursery::start()?;
    forward_nursery(&nursery, tx.clone())?;

    let _control = plan
        .control
        .take()
        .map(|server| serve_control(server, hub.clone(), tx.clone()))
        .transpose()?;

    let mut machine = Machine::new(
        std::mem::take(&mut plan.spec),
        &plan.instances,
        plan.base_port,
        Box::new(|port| crate::app::ports::port_taken(port).map(|e| e.to_string())),
        Instant::now(),
    );
    machine.number_deploys_from(
        crate::store::deploys::next_id(&plan.store).map_err(std::io::Error::other)?,
    );
    let metrics_listener = plan.router.as_mut().and_then(|r| r.metrics.take());
    let router = plan
        .router
        .take()
        .map(|router| start_router(router, &mut machine, &pump))
        .transpose()?;
    let _metrics = match (metrics_listener, &router) {
        (Some(listener), Some(_)) => Some(serve_metrics(listener, &tx, &pump)?),
        _ => None,
    };
    (plan.autoscale.drain(..)).for_each(|(type_name, p)| machine.autoscale(&type_name, p));
    start_watch(plan.watch.take(), &mut machine, &pump, &tx)?;
    let probes = start_probes(&tx);
    let mut driver = Driver {
        schedules: Schedules::new(std::mem::take(&mut plan.schedules), &plan.store, &machine),
        formatter,
        nursery: &nursery,
        pump: &pump,
        probes: &probes,
        tx,
        store: plan.store,
        follow: plan.follow,
        router: router.as_ref(),
        routes: Vec::new(),
        hub: &hub,
        logs,
        drains,
        tell,
        not_stored: None,
        // A run in a terminal's session takes SIGHUP as the terminal hanging up (it stops, as
        // foreman's does), wherever its output goes; one without a controlling terminal (a
        // service, `setsid`) as a reload.
        hup_reloads: !controlling_terminal(),
        resources: super::resources::Resources::new(Instant::now()),
        flags: flags.as_ref(),
    };
    drive(&mut machine, &mut driver, &rx, router.as_ref());
    // Requests from now on are told at once that the run is ending (the drains may still
    // take their flush timeout).
    drop(rx);
    let code = machine.exit_code();
    signal_handle.close();
    pump.send(PumpCommand::Finish);
    let _ = pump_thread.join();
    hub.close_followers();
    crate::logs::drain::finish(
        std::mem::take(&mut driver.drains),
        driver.logs.settings.flush_timeout,
    );
    let _ = writer.join();
    nursery.finish();
    reaper::end_descendants(Duration::from_secs(1));
    Ok(code)
}

/// `--watch`: changes restart types as `dozen restart TYPE` does, through the loop.
fn start_watch(
    watch: Option<super::watch::WatchPlan>,
    machine: &mut Machine,
    pump: &pump::Handle,
    tx: &mpsc::Sender<Event>,
) -> std::io::Result<()> {
    let Some(watch) = watch else { return Ok(()) };
    machine.watch();
    let tx = tx.clone();
    let restart = move |request, reply| {
        let deadline = Instant::now() + control::REQUEST_DEADLINE;
        tx.send(Event::Control(request, reply, deadline)).is_ok()
    };
    super::watch::start(watch, pump.try_clone()?, Box::new(restart)).map_err(std::io::Error::other)
}

/// How a drain says a line in the stream: through the pump while it runs, then on stderr
/// (the drains' last words come after the stream has ended).
fn tell_through(pump: &pump::Handle) -> std::io::Result<Tell> {
    let pump = pump.try_clone()?;
    Ok(Arc::new(move |text: String| {
        if let Err(pump::Ended(text)) = pump.try_system(text) {
            eprintln!("{} | {text}", super::output::format::SYSTEM_NAME);
        }
    }))
}

/// Starts the formation and feeds the machine what happens (events, timers, the router's
/// load for the autoscalers) until it has finished; then the scheduled runs still going.
fn drive(
    machine: &mut Machine,
    driver: &mut Driver<'_, '_>,
    rx: &mpsc::Receiver<Event>,
    router: Option<&crate::router::Router>,
) {
    let mut sampler = Sampler::new(Instant::now());
    for line in driver.resources.start_lines(&machine.limits()) {
        driver.pump.system(line, None);
    }
    machine.start(Instant::now());
    driver.carry_out(machine);
    let measuring = samples_the_router(machine, router.is_some());
    let mut meters = Meter::all(machine, Instant::now());
    while !machine.finished() {
        let next = machine
            .next_timer()
            .into_iter()
            .chain(measuring.then_some(sampler.next))
            .chain(meters.iter().map(|m| m.next))
            .chain(Some(driver.resources.next))
            .chain(driver.schedule_timer())
            .min();
        let timeout = next.map_or(Duration::from_secs(3600), |t| {
            t.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(timeout) {
            Ok(event) => driver.on_event(machine, event),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if let (true, Some(router)) = (measuring, router)
            && now >= sampler.next
        {
            for input in sampler.sample(now, router, machine) {
                machine.handle(input, now);
            }
        }
        if let Some(router) = router
            && machine.wants_side_stats(now)
        {
            let (stable, candidate) = router.side_snapshots();
            machine.handle(Input::SideStats { stable, candidate }, now);
        }
        for meter in meters.iter_mut().filter(|m| now >= m.next) {
            meter.start(machine, driver.probes, now);
        }
        if now >= driver.resources.next {
            for line in driver.resources.tick(machine, now) {
                driver.pump.system(line, None);
            }
        }
        machine.on_timers(now);
        driver.carry_out(machine);
        driver.schedule_timers(machine);
    }
    driver.finish_schedules(machine, rx);
}

/// Whether the loop samples the router's load: only for a type autoscaled by what the router
/// measures (a `command` metric is measured by its meter).
fn samples_the_router(machine: &Machine, has_router: bool) -> bool {
    has_router
        && machine
            .autoscaled()
            .iter()
            .any(|(_, m)| *m != super::autoscale::Metric::Command)
}

/// An autoscaled type's metric command, run every `interval` by the checks' workers; the
/// runs do not pile up (each is given `interval` to finish).
struct Meter {
    type_name: String,
    command: String,
    interval: Duration,
    next: Instant,
}

impl Meter {
    /// A meter per type measured by a command, each first due one interval after `now`.
    fn all(machine: &Machine, now: Instant) -> Vec<Self> {
        machine
            .metric_commands()
            .into_iter()
            .map(|(type_name, command, interval)| Self {
                type_name,
                command,
                interval,
                next: now + interval,
            })
            .collect()
    }

    fn start(&mut self, machine: &Machine, probes: &Probes, now: Instant) {
        probes.check(self.due(machine, now));
    }

    /// The run that is due at `now`, the next one scheduled an interval later.
    fn due(&mut self, machine: &Machine, now: Instant) -> Check {
        self.next = now + self.interval;
        let (env, cwd) = machine.app_environment();
        Check::Measure {
            type_name: self.type_name.clone(),
            command: super::probes::Command {
                script: self.command.clone(),
                env,
                cwd,
                timeout: self.interval,
            },
        }
    }
}

/// The router's load, sampled for the autoscalers (docs/deploy.md): requests in flight every
/// 100 ms, averaged over each second, and the requests of that second.
struct Sampler {
    next: Instant,
    in_flight: usize,
    samples: u32,
    since: Instant,
    requests: Option<u64>,
}

/// How often the router's requests in flight are sampled; ten samples make a measurement.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
const SAMPLES: u32 = 10;

impl Sampler {
    fn new(now: Instant) -> Self {
        Self {
            next: now + SAMPLE_EVERY,
            in_flight: 0,
            samples: 0,
            since: now,
            requests: None,
        }
    }

    /// Takes a sample; each tenth, a measurement per autoscaled type.
    fn sample(
        &mut self,
        now: Instant,
        router: &crate::router::Router,
        machine: &Machine,
    ) -> Vec<Input> {
        self.record(now, router.load())
            .map(|load| measurements(machine, load))
            .unwrap_or_default()
    }

    /// Adds a sample of the router's load (requests in flight now, requests since it
    /// started); each tenth, what the samples measured.
    fn record(&mut self, now: Instant, (in_flight, requests): (usize, u64)) -> Option<Load> {
        self.next = now + SAMPLE_EVERY;
        self.in_flight += in_flight;
        self.samples += 1;
        if self.requests.is_none() {
            // The first sample starts the first measurement's count of requests.
            self.requests = Some(requests);
            self.since = now;
        }
        let first = self.requests.unwrap_or(requests);
        if self.samples < SAMPLES {
            return None;
        }
        let seconds = now.duration_since(self.since).as_secs_f64().max(0.001);
        #[allow(clippy::cast_precision_loss)]
        let (average_in_flight, rps) = (
            self.in_flight as f64 / f64::from(self.samples),
            requests.saturating_sub(first) as f64 / seconds,
        );
        *self = Self {
            requests: Some(requests),
            ..Self::new(now)
        };
        Some(Load {
            in_flight: average_in_flight,
            rps,
        })
    }
}

/// The router's load over a measurement's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Load {
    /// Requests in flight, on average.
    in_flight: f64,
    /// Requests received per second.
    rps: f64,
}

/// What `load` is per instance, for each type autoscaled by it (a type with no instance has
/// no measurement).
fn measurements(machine: &Machine, load: Load) -> Vec<Input> {
    machine
        .autoscaled()
        .into_iter()
        .filter_map(|(type_name, metric)| {
            let count = machine.count(&type_name);
            let total = match metric {
                super::autoscale::Metric::InFlight => load.in_flight,
                super::autoscale::Metric::Rps => load.rps,
                super::autoscale::Metric::Command => return None,
            };
            (count > 0).then(|| Input::Measured {
                type_name,
                value: total / f64::from(count),
            })
        })
        .collect()
}

/// The widest name a line will carry: an instance's, or the router's.
fn label_width(plan: &Plan<'_>) -> usize {
    let router = if plan.router.is_some() {
        super::output::format::ROUTER_NAME.len()
    } else {
        0
    };
    plan.instances
        .iter()
        .map(|i| format!("{}.{}", plan.spec.types[i.type_index].name, i.index).len())
        .max()
        .unwrap_or(0)
        .max(router)
}

/// The nursery's events (an instance started, exited) become events of the loop, on a
/// thread of their own.
fn forward_nursery(nursery: &Nursery, tx: mpsc::Sender<Event>) -> std::io::Result<()> {
    let mut events = nursery.events()?;
    std::thread::Builder::new()
        .name("dozen-nursery".into())
        .spawn(move || {
            while let Some(event) = events.next_event() {
                if tx.send(Event::Nursery(event)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::NurseryGone);
        })?;
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP become events of the loop, on a thread of their own.
fn forward_signals(tx: mpsc::Sender<Event>) -> std::io::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("dozen-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send(Event::Signal(signal)).is_err() {
                    break;
                }
            }
        })?;
    Ok(handle)
}

/// Requests from `dozen scale`/`dozen ps` become events of the loop; the socket file goes
/// when the returned guard is dropped, at the end of the run.
fn serve_control(
    server: super::server::Server,
    hub: Arc<Hub>,
    tx: mpsc::Sender<Event>,
) -> std::io::Result<super::server::ServerGuard> {
    server.serve(hub, move |request| {
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + control::REQUEST_DEADLINE;
        if tx.send(Event::Control(request, reply, deadline)).is_err() {
            return Response::error("the run is ending");
        }
        // The run either applies the request before its deadline and answers, or refuses it
        // unapplied; the margin covers the time a begun request takes.
        match answer.recv_timeout(control::REQUEST_DEADLINE + control::APPLY_MARGIN) {
            Ok(response) => response,
            Err(mpsc::RecvTimeoutError::Disconnected) => Response::error("the run is ending"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Response::error("the run did not answer in time")
            }
        }
    })
}

/// `[router] metrics`: each scrape asks the loop for what `dozen ps` shows, as the control
/// socket does (the router's part carries its latencies).
fn serve_metrics(
    listener: std::net::TcpListener,
    tx: &mpsc::Sender<Event>,
    pump: &pump::Handle,
) -> std::io::Result<crate::supervisor::metrics::Serving> {
    let address = listener.local_addr()?;
    let tx = Mutex::new(tx.clone());
    let ask: crate::supervisor::metrics::Ask = Box::new(move || {
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + control::REQUEST_DEADLINE;
        let request = control::Request {
            v: control::VERSION,
            op: control::Op::Ps,
        };
        tx.lock()
            .expect("metrics sender")
            .send(Event::Control(request, reply, deadline))
            .ok()?;
        let status = answer
            .recv_timeout(control::REQUEST_DEADLINE + control::APPLY_MARGIN)
            .ok()?;
        status.ok.then_some(status)
    });
    let serving = crate::supervisor::metrics::serve(listener, ask)?;
    pump.system(format!("metrics on http://{address}/metrics"), None);
    Ok(serving)
}
/// The checks' workers (health, metrics, smoke tests), whose results come back as events.
fn start_probes(tx: &mpsc::Sender<Event>) -> Probes {
    let tx = tx.clone();
    Probes::new(Box::new(move |outcome| {
        let _ = tx.send(match outcome {
            Outcome::Health { id, result } => Event::Health { id, result },
            Outcome::Measured { type_name, reading } => Event::Metered { type_name, reading },
            Outcome::Smoked(result) => Event::Smoked(result),
        });
    }))
}

/// What carries the machine's actions out.
struct Driver<'a, 'f> {
    schedules: Schedules,
    formatter: Formatter,
    nursery: &'a Nursery,
    pump: &'a pump::Handle,
    /// The health checks' workers.
    probes: &'a Probes,
    tx: mpsc::Sender<Event>,
    store: PathBuf,
    follow: Option<LoadRelease<'f>>,
    router: Option<&'a crate::router::Router>,
    /// What the router was last told is in rotation.
    routes: Vec<crate::router::Route>,
    hub: &'a Hub,
    logs: LogsPlan<'f>,
    drains: Vec<crate::logs::drain::Running>,
    tell: Tell,
    /// Why the last change of the formation could not be stored, if it could not.
    not_stored: Option<String>,
    /// SIGHUP reloads the router's certificates (from files) instead of stopping the run.
    hup_reloads: bool,
    /// Each instance's CPU and memory, and the memory quotas.
    resources: super::resources::Resources,
    flags: Option<&'a super::flags::Flags>,
}

impl Driver<'_, '_> {
    /// `dozen drains add|remove` changed the stored drains: start and stop drains to match.
    fn reload_drains(&mut self, machine: &mut Machine) -> Response {
        let Some(reload) = self.logs.reload.as_mut() else {
            return Response::error("this run does not read stored drains");
        };
        let urls = match reload() {
            Ok(urls) => urls,
            Err(problem) => return Response::error(problem.to_string()),
        };
        match crate::logs::hub::reconcile_drains(
            self.hub,
            &mut self.drains,
            &urls,
            &self.logs.settings,
            &self.tell,
        ) {
            Ok(stopped) => {
                let count = self.hub.drains().len();
                let text = format!(
                    "drains changed: {count} now{}",
                    if stopped > 0 {
                        format!(" ({stopped} stopped)")
                    } else {
                        String::new()
                    }
                );
                self.pump.system(text.clone(), None);
                Response {
                    message: Some(text),
                    ..machine.control(
                        control::Request {
                            v: control::VERSION,
                            op: control::Op::Ps,
                        },
                        Instant::now(),
                        None,
                    )
                }
            }
            Err(e) => Response::error(format!("cannot start a drain: {e}")),
        }
    }

    fn on_event(&mut self, machine: &mut Machine, event: Event) {
        let now = Instant::now();
        let input = match event {
            Event::Control(request, reply, deadline) => {
                // Past its deadline its client was told it was not applied: keep that true.
                let response = if now > deadline {
                    Response::error("not applied: the run was too busy to take it in time")
                } else if request.op == control::Op::Drains {
                    self.reload_drains(machine)
                } else if request.op == control::Op::Flags {
                    super::flags::answer(self.flags, self.pump)
                } else {
                    let load = self.follow.as_mut().map(|f| {
                        f.as_mut() as &mut dyn FnMut(u32) -> Result<Spec, crate::error::Error>
                    });
                    machine.control(request, now, load)
                };
                self.not_stored = None;
                self.carry_out(machine);
                let (buffered_lines, buffered_bytes) = self.hub.buffered();
                let mut response = Response {
                    router: self.router.map(crate::router::Router::status),
                    logs: Some(control::LogsStatus {
                        buffered_lines,
                        buffered_bytes,
                        followers: self.hub.followers(),
                        drains: self.hub.drains().iter().map(|d| d.status()).collect(),
                    }),
                    not_stored: self.not_stored.take(),
                    schedules: self.schedules.scheduler.status(),
                    ofrep: self.flags.map(super::flags::Flags::endpoint),
                    ..response
                };
                self.resources.fill(&mut response, &machine.limits());
                let _ = reply.send(response);
                return;
            }
            Event::Signal(SIGHUP)
                if self.hup_reloads
                    && let Some(tls) = self
                        .router
                        .and_then(crate::router::Router::tls)
                        .filter(|tls| tls.from_files_source()) =>
            {
                // Not from a terminal (a service manager's reload): the certificates, as
                // nginx and HAProxy take it.
                for line in reload_certificates(tls) {
                    self.pump.system(line, None);
                }
                return;
            }
            event => match self
                .schedule_event(machine, event)
                .and_then(|event| input_of(event, machine))
            {
                Some(input) => input,
                None => return,
            },
        };
        machine.handle(input, now);
        self.carry_out(machine);
    }

    /// Carries out every action the machine has decided, feeding back what failed at once.
    fn carry_out(&mut self, machine: &mut Machine) {
        loop {
            let actions = machine.take_actions();
            if actions.is_empty() {
                self.update_routes(machine);
                self.update_layout(machine);
                return;
            }
            for action in actions {
                if let Some(input) = self.act(action) {
                    machine.handle(input, Instant::now());
                }
            }
        }
    }

    /// Tells the log hub the formation's types and name width, when they changed (a deploy
    /// can add types, a scale longer names).
    fn update_layout(&mut self, machine: &Machine) {
        let (width, types) = machine.layout();
        let (known_width, known_types) = self.hub.layout();
        if width > known_width || types != known_types {
            self.hub.set_layout(width.max(known_width), types);
        }
    }

    /// Tells the router what is in rotation, when that changed.
    fn update_routes(&mut self, machine: &Machine) {
        let Some(router) = self.router else { return };
        let now_routed = machine.routes();
        if now_routed != self.routes {
            router.set_routes(&now_routed);
            self.routes = now_routed;
        }
    }

    fn act(&mut self, action: Action) -> Option<Input> {
        match action {
            Action::Drain { id } => {
                let Some(router) = self.router else {
                    return Some(Input::Drained { id });
                };
                let tx = Mutex::new(self.tx.clone());
                router.drain(
                    id,
                    Box::new(move || {
                        let _ = tx.lock().expect("drain lock").send(Event::Drained(id));
                    }),
                );
                None
            }
            Action::Spawn(start) => self.spawn(start),
            Action::Signal { id, signal } => {
                let _ = self.nursery.send(&Request::Signal { id, signal }, &[]);
                None
            }
            Action::Say { text, after } => {
                self.pump.system(text, after);
                None
            }
            Action::Started { id, text } => {
                self.pump.send(PumpCommand::Release { id, text });
                None
            }
            Action::Probe {
                id,
                request,
                port,
                timeout,
            } => {
                self.probes.check(Check::Health {
                    id,
                    request,
                    port,
                    timeout,
                });
                None
            }
            Action::SaveFormation(counts) => {
                self.not_stored = crate::store::formation::save(&self.store, &counts)
                    .err()
                    .map(|error| error.to_string());
                if let Some(error) = &self.not_stored {
                    self.pump
                        .system(format!("cannot store the formation: {error}"), None);
                }
                None
            }
            Action::Record(record) => {
                self.record(&record);
                None
            }
            Action::LogMove {
                release,
                outcome,
                failed,
            } => {
                let _ = crate::store::history::append(
                    &self.store,
                    "move",
                    serde_json::json!({ "release": release, "outcome": outcome, "failed": failed }),
                );
                None
            }
            Action::Smoke {
                command,
                env,
                cwd,
                timeout,
            } => {
                self.smoke(command, env, cwd, timeout);
                None
            }
            Action::SetWeight(basis_points) => {
                if let Some(router) = self.router {
                    router.set_weight(basis_points);
                }
                None
            }
            Action::Log { what, details } => {
                let _ = crate::store::history::append(&self.store, what, details);
                None
            }
            Action::EndDescendants => {
                reaper::end_descendants(Duration::from_secs(1));
                None
            }
        }
    }

    /// Has the checks' workers run a blue-green smoke test, with the router's address as
    /// `ROUTER`; its end comes back as an event.
    /// A move's record goes to the store; a failed move's release is aborted in the ledger
    /// here, by the run, so the ledger says what serves whether or not the `dozen release`
    /// that asked for the move is still there to read it.
    fn record(&self, record: &crate::store::deploys::Record) {
        if let Err(error) = crate::store::deploys::write(&self.store, record) {
            self.pump
                .system(format!("cannot store deploy d{}: {error}", record.id), None);
        }
        if record.failure().is_some() {
            let settled = crate::store::releases::Ledger::open(&self.store)
                .and_then(|ledger| ledger.settle_deploy(record));
            if let Err(error) = settled {
                self.pump.system(
                    format!("cannot record that {} is aborted: {error}", record.release),
                    None,
                );
            }
        }
    }

    fn smoke(
        &self,
        command: String,
        mut env: Vec<(String, String)>,
        cwd: PathBuf,
        timeout: Duration,
    ) {
        if let Some(router) = self.router {
            env.push(("ROUTER".to_owned(), router.listen().to_string()));
        }
        self.probes.check(Check::Smoke(super::probes::Command {
            script: command,
            env,
            cwd,
            timeout,
        }));
    }

    /// Starts a process through the nursery, its output held by the pump until it has started.
    fn spawn(&mut self, start: Start) -> Option<Input> {
        let Start {
            id,
            name,
            type_index,
            command,
            env,
            cwd,
            stop_signal,
            kill_timeout,
            tty,
            open_files,
            check,
        } = start;
        let failed = |error: std::io::Error| Input::SpawnFailed {
            id,
            error: error.to_string(),
        };
        let outputs = if check {
            Outputs::discard()
        } else {
            Outputs::open(tty)
        };
        let outputs = match outputs {
            Ok(outputs) => outputs,
            Err(error) => return Some(failed(error)),
        };
        let argv = crate::app::profile_d::wrap(
            &cwd,
            vec![
                "/bin/sh".into(),
                "-c".into(),
                procfile::shell_command(&command),
            ],
        );
        let argv = self.resources.with_open_files(argv, open_files);
        let request = Request::Spawn {
            id,
            argv,
            env,
            cwd: Some(cwd.display().to_string()).filter(|c| !c.is_empty()),
            stop_signal,
            kill_timeout_ms: u64::try_from(kill_timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let Outputs {
            stdout,
            stderr,
            given,
            strip_cr,
        } = outputs;
        if let Some(stdout) = stdout {
            self.pump.send(PumpCommand::Add {
                id,
                label: self.formatter.label(&name, type_index),
                stdout,
                stderr,
                strip_cr,
                held: true,
            });
        }
        let fds: Vec<_> = given.iter().map(std::os::fd::AsFd::as_fd).collect();
        // The process has its ends once sent; ours close when `given` drops, or its output
        // never ends.
        self.nursery.send(&request, &fds).err().map(failed)
    }
}

mod outputs;
mod scheduled;

#[cfg(test)]
mod tests;
