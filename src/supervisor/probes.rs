//! The health checks' workers: a fixed set of threads that run the checks the machine asks
//! for, so probing an instance every 100 ms while it starts costs no thread per probe.
//!
//! Each instance has at most one check in flight (the machine asks for the next one when the
//! last has answered), so the queue holds at most one job per instance; it is bounded all
//! the same, and a check that finds it full is answered at once as failed.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use super::health::Request;

/// Threads that run checks. Enough that a few checks hanging until their timeout do not hold
/// back the others.
pub const WORKERS: usize = 8;
/// Checks waiting for a worker, at most.
pub const QUEUE: usize = 1024;

struct Job {
    id: u64,
    request: Request,
    port: u16,
    timeout: Duration,
}

/// A check's result, as the workers hand it back: the instance's id and the outcome.
pub type Answer = Box<dyn Fn(u64, Result<(), String>) + Send + Sync>;

/// The workers; dropping this ends them once the checks they run have answered.
pub struct Probes {
    jobs: mpsc::SyncSender<Job>,
    answer: Arc<Answer>,
}

impl Probes {
    pub fn start(answer: Answer) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let answer = Arc::new(answer);
        for _ in 0..WORKERS {
            let (queue, answer) = (queue.clone(), answer.clone());
            std::thread::Builder::new()
                .name("dozen-health".into())
                .stack_size(256 * 1024)
                .spawn(move || {
                    loop {
                        // The lock is held only to take a job, never while running one.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        answer(job.id, job.request.run(job.port, job.timeout));
                    }
                })?;
        }
        Ok(Self { jobs, answer })
    }

    /// Queues a check of instance `id`; its result comes back through the answer.
    pub fn probe(&self, id: u64, request: Request, port: u16, timeout: Duration) {
        let job = Job {
            id,
            request,
            port,
            timeout,
        };
        if let Err(mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job)) =
            self.jobs.try_send(job)
        {
            (self.answer)(
                job.id,
                Err(format!("{QUEUE} checks are waiting already; not checked")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_checks_run_on_the_fixed_workers_and_each_answers_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let probes = Probes::start(Box::new(move |id, result| {
            let _ = tx.lock().unwrap().send((id, result.is_ok()));
        }))
        .unwrap();
        let threads = || crate::supervisor::threads_named("dozen-health");
        // A thread takes its name as it starts.
        let named = std::time::Instant::now() + Duration::from_secs(5);
        while threads() < WORKERS && std::time::Instant::now() < named {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(threads(), WORKERS);
        for id in 0..200 {
            let port = if id % 2 == 0 { open } else { closed };
            probes.probe(id, Request::Tcp, port, Duration::from_secs(1));
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
        assert_eq!(threads(), WORKERS, "threads were started per check");
        drop(listener);
    }
}
