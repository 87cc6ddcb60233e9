//! How a woken task reaches a P: the M's thread-local context.
//!
//! The schedule function of every task asks this file first
//! ([`schedule_local`]): a wake on an M of the task's own runtime that holds
//! a P goes to that P (`runnext`, or the yielded ring for a task that woke
//! itself while it ran); anywhere else the task goes to the GRQ
//! (`Shared::schedule_remote`).
//!
//! Inside a poll, sysmon may be taking the P at the same moment, so the push
//! is bracketed by `ProcState::begin_push` / `end_push` (see `proc.rs`): the
//! LRQ never has two producers. The one wake that needs no bracket is the
//! polled task's own (a yield): it waits in `Worker::yielder` until the poll
//! is over and is pushed by the P's owner, or sent to the GRQ if the P was
//! taken meanwhile.

use std::cell::Cell;
use std::ptr;

use super::Worker;
use crate::sched::{Shared, Task};
use crate::sync::Arc;

#[cfg(not(gmp_loom))]
std::thread_local! {
    /// The `Worker` of this thread, if it is an M running its loop.
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

#[cfg(gmp_loom)]
loom::thread_local! {
    /// The `Worker` of this (model) thread, if it is an M running its loop.
    static WORKER: Cell<*const Worker> = Cell::new(ptr::null());
}

/// Runs `f` with `worker` installed as this thread's M context.
pub(crate) fn enter_worker<R>(worker: &Worker, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            // `try_with`: during thread teardown the slot may be gone.
            let _ = WORKER.try_with(|w| w.set(ptr::null()));
        }
    }
    WORKER.with(|w| w.set(worker));
    let _reset = Reset;
    f()
}

/// Calls `f` with this thread's `Worker`, if it is an M.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = WORKER.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: `WORKER` is non-null only inside `enter_worker`, whose caller
    // keeps the `Worker` alive on its stack for that whole time, and a
    // `Worker` is only used from its own thread.
    f(unsafe { ptr.as_ref() })
}

/// The schedule function's fast path: a wake on an M of `shared` that holds a
/// P goes to that P. Gives the task back when it must go to the GRQ.
/// `runtime` identifies the task's runtime (`Arc::as_ptr` of its `Shared`).
pub(crate) fn schedule_local(
    runtime: *const Shared,
    task: Task,
    yielded: bool,
) -> Result<(), Task> {
    with_worker(|worker| match worker {
        Some(worker) if ptr::eq(Arc::as_ptr(&worker.shared), runtime) => {
            if worker.shared.is_closing() {
                // Shutdown drops tasks instead of running them.
                drop(task);
                return Ok(());
            }
            worker.schedule(task, yielded)
        }
        _ => Err(task),
    })
}

impl Worker {
    /// Puts a woken task in this M's P (Go's `runqput` + `wakep`).
    #[inline]
    fn schedule(&self, task: Task, yielded: bool) -> Result<(), Task> {
        let Some(p) = self.p.get() else {
            return Err(task);
        };
        self.shared.trace.wake(Some(p), || task.metadata().id());
        // A wake from this M's own reactor poll (it holds its P throughout):
        // `inject` hands the batch out.
        if self.injecting.get() {
            self.batch.borrow_mut().push(task);
            return Ok(());
        }
        let task = match self.defer_yielder(task, yielded) {
            Ok(()) => return Ok(()),
            Err(task) => task,
        };
        let more = match self.in_poll.get() {
            Some(seq) => {
                // Inside a poll, sysmon may be taking the P right now: claim
                // the right to push by CAS, or give up the local path.
                let state = &self.shared.procs[p].state;
                if !state.begin_push(seq) {
                    return Err(task);
                }
                let more = self.shared.push_local(p, task, yielded);
                state.end_push(seq);
                more
            }
            None => self.shared.push_local(p, task, yielded),
        };
        // A task alone in an empty `runnext` is the one this M runs next:
        // no other M is needed for it (tokio's LIFO-slot rule). If this poll
        // blocks instead, sysmon sees the P's work and hands the P off.
        if more {
            self.shared.wakep();
        }
        Ok(())
    }

    /// Keeps the task being polled, which woke itself, in `yielder` until
    /// its poll is over (`push_yielder`), so that the push needs no CAS
    /// against sysmon. Gives the task back if it is not that case.
    fn defer_yielder(&self, task: Task, yielded: bool) -> Result<(), Task> {
        if !yielded || self.in_poll.get().is_none() {
            return Err(task);
        }
        // Only the task being polled is woken "while running", so the cell
        // is empty; a poll nested in this one (a task of another runtime
        // run by hand) must not overwrite it.
        match self.yielder.take() {
            None => {
                self.yielder.set(Some(task));
                Ok(())
            }
            Some(earlier) => {
                self.yielder.set(Some(earlier));
                Err(task)
            }
        }
    }

    /// Puts the yielder kept by `defer_yielder` in the yielded ring of P
    /// `p`, which this M owns again now that the poll is over. Another M is
    /// woken only when the ring was empty: a ring with tasks in it already
    /// had its `wakep`, and its owner runs every task in it in any case.
    pub(super) fn push_yielder(&self, p: usize, task: Task) {
        if self.shared.push_local(p, task, true) {
            self.shared.wakep();
        }
    }

    /// A pseudo-random number (xorshift64*), for the stealing order.
    pub(crate) fn random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
