//! A queue of output batches bounded in bytes, and the one thread that writes them to stdout.
//!
//! When stdout is slow the queue fills, the pump blocks in [`Queue::push`], stops reading the
//! children's pipes, and the children block in `write`: back-pressure, never loss.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};

#[derive(Debug, Default)]
struct State {
    batches: VecDeque<Vec<u8>>,
    bytes: usize,
    closed: bool,
}

/// The pump's end and the writer's end share this.
#[derive(Debug, Clone)]
pub struct Queue {
    inner: Arc<(Mutex<State>, Condvar)>,
    capacity: usize,
}

impl Queue {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new((Mutex::new(State::default()), Condvar::new())),
            capacity,
        }
    }

    /// Adds a batch, waiting while the queue is over capacity (a batch larger than the
    /// capacity is let through alone).
    pub fn push(&self, batch: Vec<u8>) {
        if batch.is_empty() {
            return;
        }
        let (lock, condvar) = &*self.inner;
        let mut state = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while state.bytes > 0 && state.bytes + batch.len() > self.capacity && !state.closed {
            state = condvar
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.bytes += batch.len();
        state.batches.push_back(batch);
        condvar.notify_all();
    }

    /// No more batches will come; the writer ends once the queue is empty.
    pub fn close(&self) {
        let (lock, condvar) = &*self.inner;
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .closed = true;
        condvar.notify_all();
    }

    /// The next batch, waiting for one; `None` once closed and empty.
    fn pop(&self) -> Option<Vec<u8>> {
        let (lock, condvar) = &*self.inner;
        let mut state = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(batch) = state.batches.pop_front() {
                state.bytes -= batch.len();
                condvar.notify_all();
                return Some(batch);
            }
            if state.closed {
                return None;
            }
            state = condvar
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Writes batches to `out` until the queue is closed and empty. After a write error
    /// (`dozen run | head` closed the pipe) it calls `on_error` once and keeps draining, so the
    /// pump never blocks on a reader that is gone.
    pub fn write_all_to(&self, mut out: impl Write, on_error: impl FnOnce(std::io::Error)) {
        let mut on_error = Some(on_error);
        while let Some(batch) = self.pop() {
            if on_error.is_some() {
                if let Err(error) = out.write_all(&batch).and_then(|()| out.flush()) {
                    if let Some(report) = on_error.take() {
                        report(error);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn order_is_kept_and_close_ends_the_writer() {
        let queue = Queue::new(1024);
        let writer = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                queue.write_all_to(&mut out, |_| {});
                out
            })
        };
        for i in 0..100 {
            queue.push(format!("{i}\n").into_bytes());
        }
        queue.close();
        let out = String::from_utf8(writer.join().unwrap()).unwrap();
        assert_eq!(out.lines().count(), 100);
        assert!(out.starts_with("0\n1\n") && out.ends_with("99\n"));
    }

    #[test]
    fn a_full_queue_blocks_the_producer() {
        let queue = Queue::new(10);
        queue.push(vec![b'a'; 8]);
        let producer = {
            let queue = queue.clone();
            std::thread::spawn(move || queue.push(vec![b'b'; 8]))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!producer.is_finished(), "push should wait for room");
        assert_eq!(queue.pop().unwrap(), vec![b'a'; 8]);
        producer.join().unwrap();
        assert_eq!(queue.pop().unwrap(), vec![b'b'; 8]);
    }

    #[test]
    fn a_write_error_is_reported_once_and_draining_goes_on() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let queue = Queue::new(100);
        for _ in 0..3 {
            queue.push(b"xx".to_vec());
        }
        queue.close();
        let mut errors = 0;
        queue.write_all_to(Broken, |_| errors += 1);
        assert_eq!(errors, 1);
    }
}
