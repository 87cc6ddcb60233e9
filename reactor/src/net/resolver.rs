//! A small bounded thread pool for blocking name lookups.
//!
//! `getaddrinfo` blocks, so lookups cannot run on a P. The reactor crate
//! cannot use the executor's blocking pool (the executor depends on it), so
//! it has this one: at most [`MAX_THREADS`] threads named `gmp-resolve`,
//! started on demand and ended after [`IDLE_EXIT`] without work. Jobs queue
//! in FIFO order when every thread is busy, so a burst of lookups costs at
//! most `MAX_THREADS` threads, not one thread each.
//!
//! Protocol: `submit` pushes the job under the lock, then wakes one idle
//! thread if there is one, else starts a thread if fewer than `MAX_THREADS`
//! run. A thread pops jobs until the queue is empty, then waits on the
//! condvar (counted in `idle`) for at most `IDLE_EXIT`; it leaves when it
//! wakes with an empty queue after that time. The thread count only drops
//! under the lock, after the thread saw the queue empty, so a queued job
//! always has a thread that will see it.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Duration;

/// At most this many lookups run at once.
pub(crate) const MAX_THREADS: usize = 4;

/// A thread with no job for this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// One blocking job.
type Job = Box<dyn FnOnce() + Send>;

/// The pool's shared state.
pub(crate) struct Pool {
    /// Queue and counters, under one lock.
    state: Mutex<State>,
    /// Idle threads wait here for jobs.
    cond: Condvar,
    /// The most threads this pool allowed at once.
    max: usize,
}

/// What the lock protects.
struct State {
    /// Jobs not yet taken by a thread; `submit` pushes, threads pop.
    queue: VecDeque<Job>,
    /// Threads alive (started by `submit`, decremented by the exiting thread).
    threads: usize,
    /// Threads waiting on the condvar.
    idle: usize,
    /// The highest `threads` ever was (for tests and docs).
    peak: usize,
}

impl Pool {
    /// An empty pool of at most `max` threads.
    pub(crate) const fn new(max: usize) -> Pool {
        Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                peak: 0,
            }),
            cond: Condvar::new(),
            max,
        }
    }

    /// The process-wide resolver pool.
    pub(crate) fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool::new(MAX_THREADS))
    }

    /// Locks the state; a panicking job never holds the lock, so poisoning
    /// carries no broken invariant.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` on a pool thread.
    pub(crate) fn submit(&'static self, job: Job) -> io::Result<()> {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            drop(state);
            self.cond.notify_one();
            return Ok(());
        }
        if state.threads >= self.max {
            return Ok(()); // a busy thread takes it when done
        }
        state.threads += 1;
        state.peak = state.peak.max(state.threads);
        drop(state);
        let spawned = thread::Builder::new()
            .name("gmp-resolve".into())
            .spawn(move || self.work());
        if let Err(e) = spawned {
            let mut state = self.lock();
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody will run the job: take it back (it is the last one
                // pushed unless another thread queued after us; either way
                // the queue empties with the error).
                state.queue.clear();
            }
            return Err(e);
        }
        Ok(())
    }

    /// A pool thread's loop.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A panicking lookup must not take the thread count with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .cond
                .wait_timeout(state, IDLE_EXIT)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }

    /// The highest number of threads this pool ran at once.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.lock().peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::{Arc, Barrier};

    #[test]
    fn a_burst_of_blocking_lookups_never_runs_more_than_max_threads() {
        static POOL: Pool = Pool::new(3);
        let (done_tx, done_rx) = mpsc::channel();
        // Each job blocks until the gate opens, so all of them are in flight
        // at once: a thread per job would run 32 threads here.
        let gate = Arc::new(Barrier::new(4));
        for i in 0..32 {
            let done = done_tx.clone();
            let gate = gate.clone();
            POOL.submit(Box::new(move || {
                if i < 3 {
                    gate.wait();
                }
                done.send(i).expect("the test waits for every job");
            }))
            .expect("submit");
        }
        gate.wait(); // the first three jobs run on three distinct threads
        let mut seen: Vec<i32> = (0..32)
            .map(|_| {
                done_rx
                    .recv_timeout(Duration::from_secs(30))
                    .expect("every queued job runs")
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..32).collect::<Vec<_>>());
        assert_eq!(POOL.peak(), 3, "the pool ran more threads than its bound");
    }

    #[test]
    fn a_panicking_job_does_not_lose_the_pool() {
        static POOL: Pool = Pool::new(1);
        POOL.submit(Box::new(|| panic!("lookup panicked")))
            .expect("submit");
        let (tx, rx) = mpsc::channel();
        POOL.submit(Box::new(move || tx.send(7).expect("receiver waits")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(7));
        assert_eq!(POOL.peak(), 1);
    }
}
