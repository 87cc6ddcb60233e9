//! Blocking work: `spawn_blocking` (a pool of threads that hold no P) and
//! `block_in_place` (hand the P off, then block this thread).
//!
//! The pool grows on demand up to `max_blocking_threads`; an idle pool
//! thread exits after the keep-alive (`Builder::thread_keep_alive`, 10 s by
//! default), and detaches itself as it goes (its handle leaves the pool's
//! list, so the exited thread's stack is not kept until shutdown). A pool
//! thread has its runtime entered for its whole life, so closures see that
//! runtime as the current one, and it runs the `on_thread_start` /
//! `on_thread_stop` hooks. A closure is a task like any other (so
//! its `JoinHandle` gives the value or the panic) whose schedule function
//! sends it to the pool instead of to a P.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_task::{ScheduleInfo, WithInfo};

use crate::context;
use crate::join::JoinHandle;
use crate::proc::ProcStats;
use crate::sched::Shared;
use crate::sync::{lock, Arc, Condvar, Mutex};
use crate::task::{self, Task};

/// The pool of blocking threads of one runtime.
pub(crate) struct BlockingPool {
    /// Queue and thread counts.
    state: Mutex<PoolState>,
    /// Signals queued work and shutdown to idle pool threads.
    cv: Condvar,
}

#[derive(Default)]
struct PoolState {
    /// Closures waiting for a thread.
    queue: VecDeque<Task>,
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

impl BlockingPool {
    pub(crate) fn new() -> Self {
        BlockingPool {
            state: Mutex::new(PoolState::default()),
            cv: Condvar::new(),
        }
    }

    /// Queues a closure's task, starting a thread if none is idle.
    fn push(&self, shared: &Arc<Shared>, task: Task) {
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
        if state.threads >= shared.config.max_blocking_threads {
            // Runs when a pool thread frees up.
            return;
        }
        state.threads += 1;
        let pool_shared = shared.clone();
        let mut builder =
            std::thread::Builder::new().name(format!("{}-blocking", shared.config.thread_name));
        if let Some(size) = shared.config.stack_size {
            builder = builder.stack_size(size);
        }
        // The handle is pushed below while we still hold the lock, so the
        // thread finds it there if it exits.
        let spawned = builder.spawn(move || {
            let _entered = context::enter(&pool_shared);
            pool_shared.config.hooks.thread_start();
            pool_shared.blocking.run_thread(&pool_shared);
        });
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

    /// A pool thread's loop; runs the stop hook and leaves the pool's
    /// counts when it ends.
    fn run_thread(&self, shared: &Shared) {
        let keep_alive = shared.config.keep_alive;
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
        drop(state);
        shared.config.hooks.thread_stop();
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
    fn handles(&self) -> usize {
        lock(&self.state).handles.len()
    }
}

/// The schedule function of blocking tasks.
fn schedule_blocking(task: Task, _info: ScheduleInfo) {
    let shared = task.metadata().shared.clone();
    shared.blocking.push(&shared, task);
}

/// A future that runs a closure on its first poll.
struct BlockingFuture<F>(Option<F>);

impl<F> Unpin for BlockingFuture<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingFuture<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after it finished");
        Poll::Ready(f())
    }
}

/// Runs `f` on runtime `shared`'s blocking pool.
pub(crate) fn spawn_blocking<F, R>(shared: &Arc<Shared>, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (runnable, handle) =
        task::create_with(shared, BlockingFuture(Some(f)), WithInfo(schedule_blocking));
    runnable.schedule();
    handle
}

/// Runs `f`, which blocks, after handing this M's P to another M (Go's
/// `entersyscallblock`). Outside a task poll of a gmp runtime it just runs
/// `f`. After `f`, the rest of the task's poll runs on this thread without a
/// P; when the poll returns the M takes an idle P or goes idle.
pub(crate) fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    context::with_worker(|worker| {
        let Some(worker) = worker else { return };
        let (Some(p), Some(seq)) = (worker.p.get(), worker.in_poll.get()) else {
            return;
        };
        let shared = &worker.shared;
        let proc = &shared.procs[p];
        worker.in_poll.set(None);
        worker.p.set(None);
        worker
            .m
            .p
            .store(crate::machine::NO_P, crate::sync::Ordering::Relaxed);
        if proc.state.try_retake(seq) {
            ProcStats::count(&proc.stats.handoffs, 1);
            shared.trace.handoff(p, worker.m.id);
            shared.handoffp(p);
        }
        // Else sysmon took the P already.
    });
    f()
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::time::Duration;

    #[test]
    fn a_thread_that_exits_after_its_keep_alive_leaves_no_handle_behind() {
        let rt = crate::Runtime::builder()
            .max_procs(1)
            .thread_keep_alive(Duration::from_millis(1))
            .build()
            .unwrap();
        let shared = rt.handle().shared.clone();
        for round in 0..3 {
            assert_eq!(
                rt.block_on(rt.spawn_blocking(move || round)).unwrap(),
                round
            );
            let mut waited = 0;
            while shared.blocking.threads() > 0 {
                assert!(
                    waited < 10_000,
                    "the pool thread did not exit after its keep-alive"
                );
                std::thread::sleep(Duration::from_millis(1));
                waited += 1;
            }
            assert_eq!(
                shared.blocking.handles(),
                0,
                "an exited thread's handle is kept"
            );
        }
    }
}
