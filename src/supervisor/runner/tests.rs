use super::*;
use crate::supervisor::autoscale::{Metric, Policy};
use crate::supervisor::backoff::Backoff;

fn settings(name: &str) -> TypeSettings {
    TypeSettings {
        name: name.into(),
        command: format!("{name}-server"),
        restart: crate::app::manifest::Restart::OnFailure,
        may_exit: false,
        stop_signal: 15,
        kill_timeout: Duration::from_secs(5),
        backoff: Backoff::default(),
        after: Vec::new(),
        health: None,
        tty: false,
        limits: crate::app::limits::Limits::default(),
    }
}

/// A spec of these types, `counts[i]` instances of type `i`, from port 5000.
fn formation(types: &[&str], counts: &[u32]) -> (Spec, Vec<PlannedInstance>) {
    let spec = Spec {
        release: "v3".into(),
        types: types.iter().map(|t| settings(t)).collect(),
        env: vec![
            ("DATABASE_URL".into(), "postgres://db".into()),
            ("PORT".into(), "5000".into()),
            ("PS".into(), "web.1".into()),
        ],
        cwd: PathBuf::from("/srv/v3"),
        keep: None,
        counts: types
            .iter()
            .zip(counts)
            .map(|(t, n)| ((*t).to_owned(), *n))
            .collect(),
    };
    let instances = counts
        .iter()
        .enumerate()
        .flat_map(|(type_index, &n)| {
            (1..=n).map(move |index| PlannedInstance {
                type_index,
                index,
                port: crate::app::ports::instance_port(5000, type_index, index).unwrap(),
            })
        })
        .collect();
    (spec, instances)
}

fn machine(types: &[&str], counts: &[u32]) -> Machine {
    let (spec, instances) = formation(types, counts);
    Machine::new(spec, &instances, 5000, Box::new(|_| None), Instant::now())
}

fn policy(metric: Metric) -> Policy {
    Policy {
        min: 1,
        max: 10,
        target: 5.0,
        metric,
        scale_down_window: Duration::from_secs(300),
        command: (metric == Metric::Command).then(|| "redis-cli llen jobs".to_owned()),
        interval: if metric == Metric::Command {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(1)
        },
    }
}

#[test]
fn the_sampler_measures_every_tenth_sample_the_average_in_flight() {
    let start = Instant::now();
    let mut sampler = Sampler::new(start);
    assert_eq!(sampler.next, start + SAMPLE_EVERY);
    for i in 1..=9 {
        let now = start + SAMPLE_EVERY * i;
        assert_eq!(sampler.record(now, (usize::try_from(i).unwrap(), 0)), None);
        assert_eq!(sampler.next, now + SAMPLE_EVERY, "the next sample is due");
    }
    let load = sampler.record(start + SAMPLE_EVERY * 10, (10, 0)).unwrap();
    // (1 + 2 + … + 10) / 10.
    assert!((load.in_flight - 5.5).abs() < 1e-9, "{load:?}");
    assert!(load.rps.abs() < 1e-9, "{load:?}");
    // The next measurement averages its own ten samples only.
    for i in 11..=19 {
        assert_eq!(sampler.record(start + SAMPLE_EVERY * i, (2, 0)), None);
    }
    let load = sampler.record(start + SAMPLE_EVERY * 20, (2, 0)).unwrap();
    assert!((load.in_flight - 2.0).abs() < 1e-9, "{load:?}");
}

#[test]
fn requests_per_second_count_every_request_between_two_measurements() {
    let start = Instant::now();
    let mut sampler = Sampler::new(start);
    // The router had counted 1,000 requests before the first sample: they are not this
    // second's. Then 10 per sample.
    let mut requests = 1_000;
    let mut load = None;
    for i in 1..=10 {
        load = sampler.record(start + SAMPLE_EVERY * i, (0, requests));
        requests += 10;
    }
    // 90 requests between the first sample and the tenth, 0.9 s apart.
    let rps = load.unwrap().rps;
    assert!((rps - 100.0).abs() < 1e-6, "{rps}");
    // A burst of 500 right after a measurement, then nothing: the next measurement counts
    // it (from the last sample of the one before, a second earlier).
    for i in 11..=20 {
        load = sampler.record(start + SAMPLE_EVERY * i, (0, 1_090 + 500));
    }
    let rps = load.unwrap().rps;
    assert!((rps - 500.0).abs() < 1e-6, "{rps}");
}

#[test]
fn a_measurement_is_per_instance_of_each_type_the_router_measures() {
    let mut machine = machine(&["web", "api", "worker", "admin"], &[2, 1, 3, 0]);
    machine.autoscale("web", policy(Metric::InFlight));
    machine.autoscale("api", policy(Metric::Rps));
    machine.autoscale("worker", policy(Metric::Command));
    machine.autoscale("admin", policy(Metric::InFlight));
    let inputs = measurements(
        &machine,
        Load {
            in_flight: 8.0,
            rps: 30.0,
        },
    );
    assert_eq!(
        inputs,
        [
            Input::Measured {
                type_name: "web".into(),
                value: 4.0
            },
            Input::Measured {
                type_name: "api".into(),
                value: 30.0
            },
        ],
        "a command's type is measured by its meter; a type with no instance is not measured"
    );
}

#[test]
fn the_router_is_sampled_only_for_a_type_autoscaled_by_what_it_measures() {
    let mut machine = machine(&["web", "worker"], &[1, 1]);
    assert!(!samples_the_router(&machine, true), "nothing autoscaled");
    machine.autoscale("worker", policy(Metric::Command));
    assert!(
        !samples_the_router(&machine, true),
        "a command metric is not the router's"
    );
    machine.autoscale("web", policy(Metric::Rps));
    assert!(samples_the_router(&machine, true));
    assert!(!samples_the_router(&machine, false), "no router to sample");
}

#[test]
fn a_meter_is_due_an_interval_after_the_start_then_an_interval_after_each_run() {
    let mut machine = machine(&["web", "worker"], &[1, 1]);
    machine.autoscale("web", policy(Metric::InFlight));
    machine.autoscale("worker", policy(Metric::Command));
    let start = Instant::now();
    let mut meters = Meter::all(&machine, start);
    assert_eq!(meters.len(), 1, "only a command metric has a meter");
    let meter = &mut meters[0];
    assert_eq!(meter.next, start + Duration::from_secs(5), "not at once");
    // Run late: the next run is an interval after this one, not after when it was due.
    let late = start + Duration::from_secs(7);
    let Check::Measure { type_name, command } = meter.due(&machine, late) else {
        panic!("a meter measures");
    };
    assert_eq!(meter.next, late + Duration::from_secs(5));
    assert_eq!(type_name, "worker");
    assert_eq!(command.script, "redis-cli llen jobs");
    assert_eq!(
        command.timeout,
        Duration::from_secs(5),
        "a run has until the next is due"
    );
    // The app's environment and directory, without an instance's PORT or PS.
    assert_eq!(
        command.env,
        [("DATABASE_URL".to_owned(), "postgres://db".to_owned())]
    );
    assert_eq!(command.cwd, PathBuf::from("/srv/v3"));
}

#[test]
fn nursery_events_become_the_machines_inputs() {
    let machine = machine(&["web"], &[1]);
    let input = |event| input_of(event, &machine);
    assert_eq!(
        input(Event::Nursery(nursery::Event::Spawned { id: 3, pid: 4242 })),
        Some(Input::Spawned { id: 3, pid: 4242 })
    );
    assert_eq!(
        input(Event::Nursery(nursery::Event::Spawned { id: 3, pid: -1 })),
        Some(Input::Spawned { id: 3, pid: 0 }),
        "a pid that is no pid is not wrapped around"
    );
    assert_eq!(
        input(Event::Nursery(nursery::Event::SpawnFailed {
            id: 3,
            error: "No such file or directory".into()
        })),
        Some(Input::SpawnFailed {
            id: 3,
            error: "No such file or directory".into()
        })
    );
    assert_eq!(
        input(Event::Nursery(nursery::Event::Exited {
            id: 3,
            code: None,
            signal: Some(9),
            others: 2
        })),
        Some(Input::Exited {
            id: 3,
            code: None,
            signal: Some(9)
        })
    );
    assert_eq!(input(Event::NurseryGone), Some(Input::NurseryGone));
}

#[test]
fn the_loops_other_events_become_the_machines_inputs_and_a_control_request_none() {
    let machine = machine(&["web"], &[1]);
    let input = |event| input_of(event, &machine);
    assert_eq!(input(Event::Signal(2)), Some(Input::Signal(2)));
    assert_eq!(input(Event::StdoutClosed), Some(Input::StdoutClosed));
    assert_eq!(
        input(Event::Health {
            id: 1,
            result: Err(crate::supervisor::health::Failed::Connect {
                port: 5000,
                error: "refused".into()
            })
        }),
        Some(Input::Health {
            id: 1,
            result: Err(crate::supervisor::health::Failed::Connect {
                port: 5000,
                error: "refused".into()
            })
        })
    );
    assert_eq!(input(Event::Drained(1)), Some(Input::Drained { id: 1 }));
    assert_eq!(
        input(Event::Smoked(Ok(()))),
        Some(Input::Smoked { result: Ok(()) })
    );
    let (reply, _answer) = mpsc::channel();
    let request = control::Request {
        v: control::VERSION,
        op: control::Op::Ps,
    };
    assert_eq!(
        input(Event::Control(request, reply, Instant::now())),
        None,
        "answered by the driver, not fed to the machine as an input"
    );
}

#[test]
fn a_metric_commands_reading_is_divided_among_the_types_instances() {
    let machine = machine(&["web", "worker", "admin"], &[1, 3, 0]);
    let input = |type_name: &str, reading| {
        input_of(
            Event::Metered {
                type_name: type_name.into(),
                reading,
            },
            &machine,
        )
    };
    assert_eq!(
        input("worker", Ok(12.0)),
        Some(Input::Measured {
            type_name: "worker".into(),
            value: 4.0
        })
    );
    assert_eq!(
        input("admin", Ok(12.0)),
        None,
        "no instance to divide it among"
    );
    assert_eq!(
        input(
            "worker",
            Err(crate::supervisor::meter::Failed::PrintedNothing)
        ),
        Some(Input::Unmeasured {
            type_name: "worker".into(),
            error: crate::supervisor::meter::Failed::PrintedNothing
        }),
        "a failed reading is told, not dropped"
    );
}

#[test]
fn the_label_width_is_the_longest_instance_name_or_the_routers() {
    let plan = |types: &[&str], counts: &[u32], routed: bool| {
        let (spec, instances) = formation(types, counts);
        label_width(&Plan {
            spec,
            instances,
            format: LogFormat::Text,
            timestamps: false,
            color: false,
            base_port: 5000,
            store: PathBuf::from("/nonexistent"),
            control: None,
            follow: None,
            router: routed.then(|| RouterPlan {
                type_name: types[0].to_owned(),
                front: crate::router::Front::plain(
                    std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
                ),
                notes: Vec::new(),
                limits: crate::router::Limits::default(),
                metrics: None,
            }),
            autoscale: Vec::new(),
            logs: LogsPlan::default(),
            watch: None,
            schedules: SchedulesPlan::default(),
            flags: None,
        })
    };
    assert_eq!(plan(&["web", "worker"], &[1, 10], false), "worker.10".len());
    assert_eq!(plan(&["web", "worker"], &[2, 0], false), "web.2".len());
    assert_eq!(
        plan(&["web"], &[1], true),
        super::super::output::format::ROUTER_NAME.len(),
        "the router's lines are labelled too"
    );
    assert_eq!(plan(&["web", "clock"], &[1, 0], false), "web.1".len());
    assert_eq!(plan(&["web"], &[0], false), 0);
}
