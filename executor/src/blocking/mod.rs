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

pub(crate) mod pool;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_task::{ScheduleInfo, WithInfo};

use crate::context;
use crate::join::JoinHandle;
use crate::proc::ProcStats;
use crate::sched::{Shared, Task};
use crate::spawn;
use crate::sync::Arc;

/// The schedule function of blocking tasks: to the pool, starting a pool
/// thread if none is idle.
fn schedule_blocking(task: Task, _info: ScheduleInfo) {
    let shared = task.metadata().shared_arc();
    let max = shared.config.max_blocking_threads;
    shared.blocking.push(task, max, || start_thread(&shared));
}

/// Starts a pool thread of runtime `shared`: it has the runtime entered for
/// its whole life and runs the thread hooks around the pool's loop.
fn start_thread(shared: &Arc<Shared>) -> std::io::Result<std::thread::JoinHandle<()>> {
    let pool_shared = shared.clone();
    let mut builder =
        std::thread::Builder::new().name(format!("{}-blocking", shared.config.thread_name));
    if let Some(size) = shared.config.stack_size {
        builder = builder.stack_size(size);
    }
    builder.spawn(move || {
        let _entered = context::enter(&pool_shared);
        pool_shared.config.hooks.thread_start();
        let pool = &pool_shared.blocking;
        pool.run_thread(pool_shared.config.keep_alive);
        pool_shared.config.hooks.thread_stop();
        pool.thread_exited();
    })
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
        spawn::create_with(shared, BlockingFuture(Some(f)), WithInfo(schedule_blocking));
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

    use crate::wait::wait_for;

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
            wait_for("the pool thread to exit after its keep-alive", || {
                shared.blocking.threads() == 0
            });
            assert_eq!(
                shared.blocking.handles(),
                0,
                "an exited thread's handle is kept"
            );
        }
    }
}
