//! Thread-local context: which runtime a thread belongs to, and, on an M,
//! the P it holds and whether it is inside a task poll.
//!
//! The schedule function of every task asks this module first: a wake on an M
//! of the task's own runtime that holds a P goes to that P's queue; anywhere
//! else it goes to the GRQ.

use std::cell::{Cell, RefCell};
use std::ptr;

use crate::machine::Machine;
use crate::sched::Shared;
use crate::sync::Arc;
use crate::task::Task;

/// What an M thread knows about itself. Lives on the M's stack for the whole
/// run of its loop; `WORKER` points at it.
pub(crate) struct Worker {
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// This M.
    pub(crate) m: Arc<Machine>,
    /// The P this M holds, if any.
    pub(crate) p: Cell<Option<usize>>,
    /// While inside a task poll: the poll's sequence number (the P is
    /// `InPoll(seq)`, and sysmon may take it).
    pub(crate) in_poll: Cell<Option<u64>>,
    /// Whether this M is spinning (counted in `Shared::nmspinning`).
    pub(crate) spinning: Cell<bool>,
    /// While distributing tasks woken by the reactor: wakes of this runtime's
    /// tasks are collected in `batch` instead of scheduled.
    pub(crate) injecting: Cell<bool>,
    /// See `injecting`.
    pub(crate) batch: RefCell<Vec<Task>>,
    /// State of the per-M random generator (victim order for stealing).
    pub(crate) rng: Cell<u64>,
    /// The tick at which this M last polled the reactor for fairness.
    pub(crate) last_fair_tick: Cell<u64>,
}

thread_local! {
    /// The `Worker` of this thread, if it is an M running its loop.
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
    /// The runtimes this thread has entered (`block_on`, `Handle::enter`, a
    /// blocking-pool thread), innermost last.
    static ENTERED: RefCell<Vec<EnteredEntry>> = const { RefCell::new(Vec::new()) };
    /// The id of the next `enter` scope of this thread.
    static NEXT_SCOPE: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread is inside a `block_on`.
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with `worker` installed as this thread's M context.
pub(crate) fn enter_worker<R>(worker: &Worker, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            WORKER.with(|w| w.set(ptr::null()));
        }
    }
    WORKER.with(|w| w.set(worker));
    let _reset = Reset;
    f()
}

/// Calls `f` with this thread's `Worker`, if it is an M.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    WORKER.with(|w| {
        let ptr = w.get();
        // SAFETY: `WORKER` is non-null only inside `enter_worker`, whose
        // caller keeps the `Worker` alive on its stack for that whole time,
        // and a `Worker` is only used from its own thread.
        f(unsafe { ptr.as_ref() })
    })
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
        Some(worker) if std::ptr::eq(Arc::as_ptr(&worker.shared), runtime) => {
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
    /// Puts a woken task in this M's P; see `Shared::schedule`.
    fn schedule(&self, task: Task, yielded: bool) -> Result<(), Task> {
        if self.injecting.get() {
            self.batch.borrow_mut().push(task);
            return Ok(());
        }
        let Some(p) = self.p.get() else {
            return Err(task);
        };
        self.shared.trace.wake(Some(p), &task);
        match self.in_poll.get() {
            Some(seq) => {
                // Inside a poll, sysmon may be taking the P right now: claim
                // the right to push by CAS, or give up the local path.
                let state = &self.shared.procs[p].state;
                if !state.begin_push(seq) {
                    return Err(task);
                }
                self.shared.push_local(p, task, yielded);
                state.end_push(seq);
            }
            None => self.shared.push_local(p, task, yielded),
        }
        self.shared.wakep();
        Ok(())
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

/// The runtime this thread is in: the one it entered last (`block_on`,
/// `Handle::enter`, a blocking-pool thread), else the one of the M it is.
pub(crate) fn current() -> Option<Arc<Shared>> {
    ENTERED
        .try_with(|e| e.borrow().last().map(|entry| entry.shared.clone()))
        .ok()
        .flatten()
        .or_else(|| with_worker(|w| w.map(|w| w.shared.clone())))
}

/// Calls `f` with the runtime this thread is in (as [`current`]), without
/// touching the runtime's reference count on an M (the common case of a
/// spawn from a task).
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<Shared>>) -> R) -> R {
    let entered = ENTERED
        .try_with(|e| e.borrow().last().map(|entry| entry.shared.clone()))
        .ok()
        .flatten();
    match entered {
        Some(shared) => f(Some(&shared)),
        None => with_worker(|w| f(w.map(|w| &w.shared))),
    }
}

/// Whether this thread is inside a task poll (where `block_on` must not be
/// called: it would block the P's thread on work that P may have to do).
pub(crate) fn in_task() -> bool {
    with_worker(|w| w.is_some_and(|w| w.in_poll.get().is_some()))
}

/// Whether this thread is inside some `block_on`.
pub(crate) fn in_block_on() -> bool {
    IN_BLOCK_ON.with(Cell::get)
}

/// One runtime on this thread's stack of entered runtimes.
struct EnteredEntry {
    /// The `Entered` scope that pushed it.
    scope: u64,
    /// The runtime.
    shared: Arc<Shared>,
    /// The reactor's current clock when the entry was pushed (the runtime's
    /// test clock, if any, is current while it is the innermost entry).
    saved_clock: Option<Arc<gmp_reactor::time::Clock>>,
}

/// An entered runtime context; dropping it takes that runtime off this
/// thread's stack of entered runtimes (wherever it is: a scope closed out of
/// order removes its own entry, and the innermost one still open stays
/// current).
pub(crate) struct Entered {
    /// The id of this scope's entry in `ENTERED`.
    scope: u64,
}

/// Makes `shared` this thread's runtime (and its test clock, if it has one,
/// the reactor's current clock) until the returned value is dropped.
pub(crate) fn enter(shared: &Arc<Shared>) -> Entered {
    let scope = NEXT_SCOPE.with(|n| {
        let scope = n.get();
        n.set(scope.wrapping_add(1));
        scope
    });
    let saved_clock = gmp_reactor::time::clock_replace(shared.config.clock.clone());
    ENTERED.with(|e| {
        e.borrow_mut().push(EnteredEntry {
            scope,
            shared: shared.clone(),
            saved_clock,
        })
    });
    Entered { scope }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let removed = ENTERED.try_with(|e| {
            let mut stack = e.borrow_mut();
            let i = stack.iter().rposition(|entry| entry.scope == self.scope)?;
            let mut entry = stack.remove(i);
            match stack.get_mut(i) {
                // Out of order: the entry above now restores what ours saved.
                Some(above) => above.saved_clock = entry.saved_clock.take(),
                // The innermost: put back the clock current before it.
                None => drop(gmp_reactor::time::clock_replace(entry.saved_clock.take())),
            }
            Some(entry)
        });
        // The runtime's `Arc` is dropped after the borrow ends.
        drop(removed);
    }
}

/// Runs `f` with `shared` as this thread's runtime (inside `block_on`).
pub(crate) fn enter_runtime<R>(shared: &Arc<Shared>, f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = IN_BLOCK_ON.try_with(|b| b.set(self.0));
        }
    }
    let _entered = enter(shared);
    let _reset = Reset(IN_BLOCK_ON.with(|b| b.replace(true)));
    f()
}
