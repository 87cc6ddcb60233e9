//! Which runtime a thread is in: the one of the M it is (`machine::wake`),
//! else the one whose `block_on` it is inside.

use std::cell::RefCell;

pub(crate) use crate::machine::{schedule_local, with_worker};
use crate::sched::Shared;
use crate::sync::Arc;

thread_local! {
    /// The runtime whose `block_on` this thread is inside, if any.
    static ENTERED: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// The runtime this thread is in: the one of the M it is, else the one whose
/// `block_on` it is inside.
pub(crate) fn current() -> Option<Arc<Shared>> {
    with_worker(|w| w.map(|w| w.shared.clone())).or_else(|| ENTERED.with(|e| e.borrow().clone()))
}

/// Whether this thread is inside a task poll (where `block_on` must not be
/// called: it would block the P's thread on work that P may have to do).
pub(crate) fn in_task() -> bool {
    with_worker(|w| w.is_some_and(|w| w.in_poll.get().is_some()))
}

/// Whether this thread is inside some `block_on`.
pub(crate) fn in_block_on() -> bool {
    ENTERED.with(|e| e.borrow().is_some())
}

/// Runs `f` with `shared` as this thread's runtime (inside `block_on`).
pub(crate) fn enter_runtime<R>(shared: &Arc<Shared>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<Shared>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let old = self.0.take();
            ENTERED.with(|e| *e.borrow_mut() = old);
        }
    }
    let old = ENTERED.with(|e| e.borrow_mut().replace(shared.clone()));
    let _reset = Reset(old);
    f()
}
