//! Which runtime a thread is in: the one of the M it is (`machine::wake`),
//! else the innermost one it has entered (`block_on`, `Handle::enter`, a
//! blocking-pool thread).

use std::cell::{Cell, RefCell};

pub(crate) use crate::machine::{schedule_local, with_worker};
use crate::sched::Shared;
use crate::sync::Arc;

thread_local! {
    /// The runtimes this thread has entered (`block_on`, `Handle::enter`, a
    /// blocking-pool thread), innermost last.
    static ENTERED: RefCell<Vec<EnteredEntry>> = const { RefCell::new(Vec::new()) };
    /// The id of the next `enter` scope of this thread.
    static NEXT_SCOPE: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread is inside a `block_on`.
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
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
    // Borrowed, not cloned: a spawn from a `block_on` thread would pay a
    // reference-count round trip on the runtime for nothing. `f` (a spawn)
    // never enters or leaves a runtime, so the shared borrow cannot clash.
    let mut f = Some(f);
    let entered = ENTERED.try_with(|e| {
        let e = e.borrow();
        let entry = e.last()?;
        let f = f.take()?;
        Some(f(Some(&entry.shared)))
    });
    if let Ok(Some(out)) = entered {
        return out;
    }
    // No runtime entered (or the thread-local is gone): `f` was not taken.
    let f = f.expect("with_current: f ran without a result");
    with_worker(|w| f(w.map(|w| &w.shared)))
}

/// An `Arc` of runtime `runtime` that this thread already holds (its M's, or
/// the entry of an entered scope), borrowed without touching the reference
/// count: `None` if the thread holds none.
///
/// A wake from a `block_on` thread or from an M without a P sends its task to
/// the GRQ; cloning the runtime's `Arc` for that would be two locked
/// operations on a line that every spawn and exit of every task touches.
///
/// The borrow is sound while the holder lives: an M's `Worker` outlives its
/// loop, and an entered scope ends only when its guard is dropped, which the
/// caller's own code does not do while it uses the borrow.
/// (`Shared::schedule_remote` runs no user code before its last use of the
/// runtime.)
pub(crate) fn held_runtime(runtime: *const Shared) -> Option<HeldRuntime> {
    let held = |shared: &Arc<Shared>| std::ptr::eq(Arc::as_ptr(shared), runtime);
    let entered = ENTERED
        .try_with(|e| e.borrow().iter().any(|entry| held(&entry.shared)))
        .unwrap_or(false);
    if !entered && !with_worker(|w| w.is_some_and(|w| held(&w.shared))) {
        return None;
    }
    // SAFETY: `runtime` is the `Arc::as_ptr` of an `Arc` this thread holds
    // (checked just above), which keeps the count above zero while the
    // borrow is used (see above); `ManuallyDrop` never gives the reference
    // back, so the count is untouched.
    Some(HeldRuntime(std::mem::ManuallyDrop::new(unsafe {
        Arc::from_raw(runtime)
    })))
}

/// A runtime's `Arc` borrowed from this thread's holder ([`held_runtime`]).
pub(crate) struct HeldRuntime(std::mem::ManuallyDrop<Arc<Shared>>);

impl std::ops::Deref for HeldRuntime {
    type Target = Arc<Shared>;
    fn deref(&self) -> &Arc<Shared> {
        &self.0
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
