//! The checks' workers: fixed sets of threads that run what the runner measures beside the
//! formation — health checks (every 100 ms per instance while it starts), the `command`
//! autoscale metric and blue-green's smoke test — so none of it costs a thread per check.
//!
//! Two lanes, so a slow command never holds back a health check: health checks are short
//! (each has its timeout) and many; commands run as long as their timeout allows and are
//! few (one metric per autoscaled type, one smoke test per deploy). Each queue is bounded; a
//! check that finds its lane's queue full is answered at once as failed, never dropped.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use super::health::Request;
use super::meter::Reading;

/// Threads that run health checks. Enough that a few checks hanging until their timeout do
/// not hold back the others.
pub const WORKERS: usize = 8;
/// Health checks waiting for a worker, at most. Each instance has at most one check in
/// flight (the machine asks for the next one when the last has answered).
pub const QUEUE: usize = 1024;
/// Threads that run commands (metrics, smoke tests).
pub const COMMAND_WORKERS: usize = 4;
/// Commands waiting for a worker, at most.
pub const COMMAND_QUEUE: usize = 64;

/// Something to check, and what the answer is about.
pub enum Check {
    /// Instance `id`'s health check.
    Health {
        id: u64,
        request: Request,
        port: u16,
        timeout: Duration,
    },
    /// A `command` autoscale metric of `type_name`.
    Measure { type_name: String, command: Command },
    /// A blue-green smoke test.
    Smoke(Command),
}

/// A shell command run as a one-off beside the formation, killed past its timeout.
pub struct Command {
    pub script: String,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub timeout: Duration,
}

/// A check's result, as the workers hand it back.
#[derive(Debug)]
pub enum Outcome {
    Health {
        id: u64,
        result: Result<(), super::health::Failed>,
    },
    Measured {
        type_name: String,
        reading: Reading,
    },
    Smoked(Result<(), super::meter::Failed>),
}

impl Check {
    fn run(self) -> Outcome {
        match self {
            Self::Health {
                id,
                request,
                port,
                timeout,
            } => Outcome::Health {
                id,
                result: request.run(port, timeout),
            },
            Self::Measure { type_name, command } => Outcome::Measured {
                type_name,
                reading: super::meter::measure(
                    &command.script,
                    &command.env,
                    &command.cwd,
                    command.timeout,
                ),
            },
            Self::Smoke(command) => Outcome::Smoked(super::meter::smoke(
                &command.script,
                &command.env,
                &command.cwd,
                command.timeout,
            )),
        }
    }

    /// The answer when the check was not run.
    fn refused(self, why: String) -> Outcome {
        match self {
            Self::Health { id, .. } => Outcome::Health {
                id,
                result: Err(super::health::Failed::NotRun(why)),
            },
            Self::Measure { type_name, .. } => Outcome::Measured {
                type_name,
                reading: Err(super::meter::Failed::NotRun(why)),
            },
            Self::Smoke(_) => Outcome::Smoked(Err(super::meter::Failed::NotRun(why))),
        }
    }

    fn is_command(&self) -> bool {
        !matches!(self, Self::Health { .. })
    }
}

/// How the workers hand results back.
pub type Answer = Box<dyn Fn(Outcome) + Send + Sync>;

/// The workers; dropping this ends them once the checks they run have answered.
pub struct Probes {
    health: Lane<Check>,
    commands: Lane<Check>,
    answer: Arc<Answer>,
}

impl Probes {
    pub fn new(answer: Answer) -> Self {
        let answer = Arc::new(answer);
        let run = |answer: &Arc<Answer>| {
            let answer = answer.clone();
            move |check: Check| answer(check.run())
        };
        Self {
            health: Lane::new("dozen-health", WORKERS, QUEUE, run(&answer)),
            commands: Lane::new(
                "dozen-command",
                COMMAND_WORKERS,
                COMMAND_QUEUE,
                run(&answer),
            ),
            answer,
        }
    }

    /// Queues a check; its result comes back through the answer, exactly once.
    pub fn check(&self, check: Check) {
        let (lane, what) = if check.is_command() {
            (&self.commands, "commands")
        } else {
            (&self.health, "checks")
        };
        if let Err(check) = lane.offer(check) {
            (self.answer)(check.refused(format!(
                "{} {what} are waiting already; not run",
                lane.queue
            )));
        }
    }
}

/// A fixed set of threads taking jobs from one bounded queue, started with the first job (a
/// run whose instances have no checks, no metric command and no smoke test, or that is never
/// asked anything, starts none); dropping it ends them once the jobs they run are done.
pub struct Lane<T> {
    jobs: mpsc::SyncSender<T>,
    waiting: Arc<Mutex<mpsc::Receiver<T>>>,
    run: Arc<dyn Fn(T) + Send + Sync>,
    name: String,
    workers: usize,
    queue: usize,
    /// How many threads started (set with the first job).
    started: std::sync::OnceLock<usize>,
}

impl<T: Send + 'static> Lane<T> {
    /// A lane of `workers` threads named `name` that each run `run` on one job at a time,
    /// with at most `queue` jobs waiting.
    pub fn new(
        name: &str,
        workers: usize,
        queue: usize,
        run: impl Fn(T) + Send + Sync + 'static,
    ) -> Self {
        let (jobs, waiting) = mpsc::sync_channel::<T>(queue);
        Self {
            jobs,
            waiting: Arc::new(Mutex::new(waiting)),
            run: Arc::new(run),
            name: name.to_owned(),
            workers,
            queue,
            started: std::sync::OnceLock::new(),
        }
    }

    /// Queues a job, or gives it back when the queue is full (or no thread could start).
    pub fn offer(&self, job: T) -> Result<(), T> {
        if *self.started.get_or_init(|| self.start()) == 0 {
            return Err(job);
        }
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job) => job,
        })
    }

    /// Starts the threads; how many started.
    fn start(&self) -> usize {
        (0..self.workers)
            .filter(|_| {
                let (waiting, run) = (self.waiting.clone(), self.run.clone());
                std::thread::Builder::new()
                    .name(self.name.clone())
                    .stack_size(256 * 1024)
                    .spawn(move || {
                        loop {
                            // The lock is held only to take a job, never while running one.
                            let job = match waiting.lock() {
                                Ok(waiting) => waiting.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            run(job);
                        }
                    })
                    .is_ok()
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests count the workers' threads by name: one at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    #[test]
    fn many_checks_run_on_the_fixed_workers_and_each_answers_once() {
        let _one = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let (closed, _held) = crate::testing::refusing_port();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let probes = Probes::new(Box::new(move |outcome| {
            let Outcome::Health { id, result } = outcome else {
                panic!("{outcome:?}")
            };
            let _ = tx.lock().unwrap().send((id, result.is_ok()));
        }));
        let threads = || crate::supervisor::threads_named("dozen-health");
        assert_eq!(threads(), 0, "no check, no thread");
        for id in 0..200 {
            let port = if id % 2 == 0 { open } else { closed };
            probes.check(Check::Health {
                id,
                request: Request::Tcp,
                port,
                timeout: Duration::from_secs(1),
            });
        }
        let mut answers: Vec<(u64, bool)> = (0..200)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        answers.sort_unstable();
        assert_eq!(answers.len(), 200);
        for (id, ok) in answers {
            assert_eq!(ok, id % 2 == 0, "check {id}");
        }
        assert!(rx.try_recv().is_err(), "a check answered twice");
        assert_eq!(
            crate::supervisor::threads_named("dozen-command"),
            0,
            "no command, no command thread"
        );
        // (A thread takes its name as it first runs.)
        let named = std::time::Instant::now() + Duration::from_secs(5);
        while threads() < WORKERS && std::time::Instant::now() < named {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(threads(), WORKERS, "threads were started per check");
        drop(listener);
    }

    #[test]
    fn a_lane_runs_its_jobs_on_fixed_threads_and_gives_back_what_does_not_fit() {
        let _one = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (started, taken) = mpsc::channel();
        let (release, hold) = mpsc::channel::<()>();
        let (hold, started) = (Mutex::new(hold), Mutex::new(started));
        let (done, finished) = mpsc::channel();
        let done = Mutex::new(done);
        let lane = Lane::new("dozen-lane-test", 2, 3, move |job: u32| {
            let _ = started.lock().unwrap().send(job);
            let _ = hold.lock().unwrap().recv();
            let _ = done.lock().unwrap().send(job);
        });
        // Two workers hold a job each; three more wait; the sixth is given back at once.
        for job in 0..2 {
            lane.offer(job).unwrap();
        }
        let mut running: Vec<u32> = (0..2)
            .map(|_| taken.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        running.sort_unstable();
        assert_eq!(running, [0, 1]);
        for job in 2..5 {
            lane.offer(job).unwrap();
        }
        assert_eq!(lane.offer(5), Err(5));
        assert_eq!(crate::supervisor::threads_named("dozen-lane-test"), 2);
        for _ in 0..5 {
            release.send(()).unwrap();
        }
        let mut ran: Vec<u32> = (0..5)
            .map(|_| finished.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        ran.sort_unstable();
        assert_eq!(ran, [0, 1, 2, 3, 4]);
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        // Room again once the queue has drained.
        assert_eq!(lane.offer(6), Ok(()));
        release.send(()).unwrap();
        assert_eq!(finished.recv_timeout(Duration::from_secs(5)).unwrap(), 6);
    }
}
