//! The blocking pool's state: closures waiting for a thread, the threads'
//! counts and handles (`Shared::blocking`).
//!
//! The data layer of `spawn_blocking`: this file knows nothing of the
//! runtime; `blocking/mod.rs` starts the threads (with their runtime entered
//! and the thread hooks run) and gives the pool its tasks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use async_task::Runnable;

use crate::sync::{lock, Condvar, Mutex};

/// What starting a pool thread gives.
pub(crate) type Spawned = std::io::Result<std::thread::JoinHandle<()>>;

/// The pool of blocking threads of one runtime.
pub(crate) struct BlockingPool<M> {
    /// Queue and thread counts.
    state: Mutex<PoolState<M>>,
    /// Signals queued work and shutdown to idle pool threads.
    cv: Condvar,
}

struct PoolState<M> {
    /// Closures waiting for a thread.
    queue: VecDeque<Runnable<M>>,
    /// Pool threads alive.
    threads: usize,
    /// Pool threads waiting for work.
    idle: usize,
    /// Set at shutdown: queued closures are dropped, threads exit.
    shutdown: bool,
    /// Handles of the threads alive, for shutdown; a thread that exits after
    /// its keep-alive removes (detaches) its own.
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl<M> BlockingPool<M> {
    pub(crate) fn new() -> Self {
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                shutdown: false,
                handles: Vec::new(),
            }),
            cv: Condvar::new(),
        }
    }

    /// Queues a closure's task; if no pool thread is idle and fewer than
    /// `max` are alive, starts one with `start` (called under the pool's
    /// lock, so a thread that exits at once still finds its handle).
    pub(crate) fn push(&self, task: Runnable<M>, max: usize, start: impl FnOnce() -> Spawned) {
        let mut state = lock(&self.state);
        if state.shutdown {
            drop(state);
            drop(task);
            return;
        }
        state.queue.push_back(task);
        if state.idle > 0 {
            drop(state);
            self.cv.notify_one();
            return;
        }
        if state.threads >= max {
            // Runs when a pool thread frees up.
            return;
        }
        state.threads += 1;
        let spawned = start();
        match spawned {
            Ok(handle) => state.handles.push(handle),
            Err(err) => {
                state.threads -= 1;
                if state.threads == 0 {
                    eprintln!("gmp: cannot start a blocking thread: {err}");
                }
            }
        }
    }

    /// A pool thread's loop: runs queued closures until shutdown, or until
    /// it has been idle for `keep_alive` (then it detaches its own handle).
    /// The thread calls `thread_exited` when it is about to end.
    pub(crate) fn run_thread(&self, keep_alive: Duration) {
        let mut state = lock(&self.state);
        loop {
            if let Some(task) = state.queue.pop_front() {
                drop(state);
                task.run();
                state = lock(&self.state);
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let (guard, timeout) = match self.cv.wait_timeout(state, keep_alive) {
                Ok(r) => r,
                Err(p) => p.into_inner(),
            };
            state = guard;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() && !state.shutdown {
                // Detach ourselves: nobody will join an idle thread's exit.
                let me = std::thread::current().id();
                if let Some(i) = state.handles.iter().position(|h| h.thread().id() == me) {
                    drop(state.handles.swap_remove(i));
                }
                break;
            }
        }
    }

    /// A pool thread is about to end (after its stop hook).
    pub(crate) fn thread_exited(&self) {
        lock(&self.state).threads -= 1;
    }

    /// Stops the pool: drops queued closures, waits for running ones until
    /// `deadline` (forever if `None`). `true` if all stopped in time.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let (queue, handles) = {
            let mut state = lock(&self.state);
            state.shutdown = true;
            (
                std::mem::take(&mut state.queue),
                std::mem::take(&mut state.handles),
            )
        };
        self.cv.notify_all();
        drop(queue);
        let mut done = true;
        for handle in handles {
            if let Some(deadline) = deadline {
                while !handle.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if !handle.is_finished() {
                    done = false;
                    continue;
                }
            }
            let _ = handle.join();
        }
        done
    }

    /// Pool threads alive. For tests and metrics.
    pub(crate) fn threads(&self) -> usize {
        lock(&self.state).threads
    }

    /// Whether a closure is queued or running (the test clock does not
    /// auto-advance meanwhile).
    pub(crate) fn is_busy(&self) -> bool {
        let state = lock(&self.state);
        !state.queue.is_empty() || state.threads > state.idle
    }

    /// Thread handles the pool holds. For tests.
    #[cfg(all(test, not(gmp_loom)))]
    pub(crate) fn handles(&self) -> usize {
        lock(&self.state).handles.len()
    }
}
