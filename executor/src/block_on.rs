//! `block_on`: runs a future on the calling thread, which holds no P.
//!
//! The thread parks between polls and is woken by the future's waker. Tasks
//! the future spawns go to the runtime's GRQ and run on its Ms; local tasks
//! (`spawn_local`) run on this thread, between polls of the future, and are
//! cancelled here when it completes (`local.rs`).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::context;
use crate::local::LocalSet;
use crate::sched::Shared;

/// Wakes the thread that runs `block_on`.
struct Parker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

/// Panics if the caller is inside a task or another `block_on`.
pub(crate) fn assert_not_nested() {
    if context::in_task() {
        panic!(
            "block_on cannot be nested inside a gmp task: it would block the thread that runs \
             the task's P; .await the future instead, or use block_in_place(|| ...) around it"
        );
    }
    if context::in_block_on() {
        panic!("block_on cannot be nested inside another block_on on the same thread");
    }
}

/// Polls `future` to completion on this thread, running the local tasks it
/// spawns (on runtime `shared`) between its polls.
pub(crate) fn run<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    let parker = Arc::new(Parker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let local = std::rc::Rc::new(LocalSet::new(shared));
    // The future's spawns take task references from this thread's pool.
    let _pool = crate::task_refs::enter_pool(shared);
    local.enter(|| {
        struct CancelLocal<'a>(&'a LocalSet);
        impl Drop for CancelLocal<'_> {
            fn drop(&mut self) {
                self.0.cancel_all();
            }
        }
        let _cancel = CancelLocal(&local);
        // While this thread polls, a test clock must not auto-advance.
        let clock = shared.config.clock.as_deref();
        let _busy = clock.map(Busy::new);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            // Local tasks queued now run before the future is polled again,
            // even if it woke itself.
            local.run_queued();
            while !parker.notified.swap(false, Ordering::Acquire) {
                if !local.run_queued() {
                    let _idle = clock.map(Idle::new);
                    thread::park();
                }
            }
        }
    })
}

/// Inhibits a test clock's auto-advance while it lives.
struct Busy<'a>(&'a gmp_reactor::time::Clock);

impl<'a> Busy<'a> {
    fn new(clock: &'a gmp_reactor::time::Clock) -> Self {
        clock.inhibit();
        Busy(clock)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.allow();
    }
}

/// Lifts a `Busy` while it lives (the thread is parked).
struct Idle<'a>(&'a gmp_reactor::time::Clock);

impl<'a> Idle<'a> {
    fn new(clock: &'a gmp_reactor::time::Clock) -> Self {
        clock.allow();
        Idle(clock)
    }
}

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        self.0.inhibit();
    }
}
