//! The cooperative budget: how gmp's own futures yield on their own.
//!
//! A task is a stackless future and cannot be interrupted. A task that loops
//! over a socket which always has data (or over timers that are always due)
//! would never return `Pending` and would hold its P forever. So every gmp I/O
//! and timer future asks for a unit of budget before it does any work, and
//! the executor wraps each task poll in [`with_budget`]`(128, ..)`.
//!
//! Protocol:
//!
//! - The budget is a thread-local `Cell<Option<u32>>`. `None` means "no
//!   budget": outside [`with_budget`] (another executor, a plain thread) and
//!   inside [`with_unconstrained`], every request proceeds, so other
//!   executors see no change.
//! - Inside [`with_budget`], each request spends one unit. When none is left
//!   the request wakes the task (`wake_by_ref`, so the task goes back to a
//!   run queue behind the others) and returns `Pending`.
//! - The budget pays for progress, not for waiting. [`poll_budget`] hands out
//!   a [`RestoreOnPending`] guard: a future that then completes (or moves
//!   data) calls [`RestoreOnPending::made_progress`]; a future that only
//!   registers its waker and returns `Pending` drops the guard, which gives
//!   the unit back. Without that, one task polling 300 pending timers would
//!   spend its budget on the first 128 and make the others wake it at once,
//!   for ever: a busy wait. [`poll_proceed`] spends the unit for good (the
//!   old form, for callers that cannot tell progress from waiting).
//! - A combinator that must look at a deadline even when its inner future
//!   spent the budget ([`crate::time::Timeout`]) polls the deadline inside
//!   [`with_unconstrained`]; otherwise the deadline would answer `Pending`
//!   on every poll and never fire.
//! - [`with_budget`] and [`with_unconstrained`] restore the previous value
//!   when they return or unwind, so nested budgets (a `block_on` inside
//!   `spawn_blocking`, say) compose.

use std::cell::Cell;
use std::task::{Context, Poll};

thread_local! {
    /// Units left for the task polled on this thread; `None` outside any
    /// [`with_budget`] and inside [`with_unconstrained`]. Written only by
    /// this thread.
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Restores the budget that was in force before [`with_budget`] or
/// [`with_unconstrained`] replaced it, also when the closure panics.
struct ResetGuard {
    /// The value of `BUDGET` before it was replaced.
    previous: Option<u32>,
}

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let previous = self.previous;
        // `try_with`: during thread teardown the slot may already be gone;
        // there is nothing left to restore then.
        let _ = BUDGET.try_with(|b| b.set(previous));
    }
}

/// Sets `BUDGET` to `budget` for the duration of `f`.
fn with_value<R>(budget: Option<u32>, f: impl FnOnce() -> R) -> R {
    let previous = BUDGET.with(|b| b.replace(budget));
    let _reset = ResetGuard { previous };
    f()
}

/// Runs `f` with a cooperative budget of `budget` units on this thread.
///
/// Every gmp I/O or timer future polled inside `f` spends one unit when it
/// makes progress; once they are spent, such futures wake their task and
/// return `Pending`, so the task yields its thread. The previous budget (or
/// "unlimited") is restored when `f` returns or panics. The gmp executor
/// wraps every task poll in `with_budget(128, ..)`.
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
///
/// assert!(coop::has_budget_remaining()); // unlimited outside with_budget
/// coop::with_budget(0, || assert!(!coop::has_budget_remaining()));
/// assert!(coop::has_budget_remaining()); // restored
/// ```
pub fn with_budget<R>(budget: u32, f: impl FnOnce() -> R) -> R {
    with_value(Some(budget), f)
}

/// Runs `f` with no budget at all: every request inside proceeds.
///
/// The budget in force before is restored (unchanged: what `f` would have
/// spent is not charged) when `f` returns or panics. [`crate::time::Timeout`]
/// polls its deadline this way when the inner future spent the budget, so
/// the deadline still fires.
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
///
/// coop::with_budget(0, || {
///     assert!(!coop::has_budget_remaining());
///     coop::with_unconstrained(|| assert!(coop::has_budget_remaining()));
///     assert!(!coop::has_budget_remaining()); // still spent afterwards
/// });
/// ```
pub fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_value(None, f)
}

/// Takes one unit, or reports that none is left.
///
/// Returns `Some(true)` when a unit was taken, `Some(false)` when there is
/// no budget in force (nothing to take), `None` when the budget is spent.
fn take_unit() -> Option<bool> {
    BUDGET
        .try_with(|b| match b.get() {
            None => Some(false),
            Some(0) => None,
            Some(n) => {
                b.set(Some(n - 1));
                Some(true)
            }
        })
        .unwrap_or(Some(false))
}

/// Spends one unit of the current task's budget, or yields if none is left.
///
/// Returns `Ready(())` when the caller may go on. Returns `Pending` after
/// waking `cx`'s waker when the budget set by [`with_budget`] is spent.
/// Outside [`with_budget`] it always returns `Ready(())`. The unit is spent
/// even if the caller then returns `Pending`; a future that can tell
/// waiting from progress should use [`poll_budget`] instead.
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
/// use std::task::{Context, Poll};
///
/// let waker = futures::task::noop_waker();
/// let mut cx = Context::from_waker(&waker);
/// coop::with_budget(1, || {
///     assert_eq!(coop::poll_proceed(&mut cx), Poll::Ready(()));
///     assert_eq!(coop::poll_proceed(&mut cx), Poll::Pending); // spent: yield
/// });
/// assert_eq!(coop::poll_proceed(&mut cx), Poll::Ready(())); // unlimited again
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match poll_budget(cx) {
        Poll::Ready(guard) => {
            guard.made_progress();
            Poll::Ready(())
        }
        Poll::Pending => Poll::Pending,
    }
}

/// Takes one unit of the current task's budget, to be given back unless the
/// caller makes progress; yields if none is left.
///
/// `Pending` (after waking `cx`'s waker) when the budget is spent, as
/// [`poll_proceed`]. Otherwise `Ready(guard)`: call
/// [`RestoreOnPending::made_progress`] when the operation completed or moved
/// data; just drop the guard when it registered a waker and returns
/// `Pending`, and the unit comes back. Outside [`with_budget`] it always
/// proceeds and the guard does nothing.
///
/// The pattern for a leaf future:
///
/// ```text
/// let coop = ready!(coop::poll_budget(cx));
/// if let Some(v) = try_now() { coop.made_progress(); return Ready(v); }
/// register(cx.waker()); Pending        // `coop` dropped: unit refunded
/// ```
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
/// use std::task::{Context, Poll};
///
/// let waker = futures::task::noop_waker();
/// let mut cx = Context::from_waker(&waker);
/// coop::with_budget(1, || {
///     // Waiting is free: the dropped guard gives the unit back.
///     for _ in 0..1000 {
///         let Poll::Ready(guard) = coop::poll_budget(&mut cx) else { panic!("spent") };
///         drop(guard);
///     }
///     // Progress is paid for.
///     let Poll::Ready(guard) = coop::poll_budget(&mut cx) else { panic!("spent") };
///     guard.made_progress();
///     assert!(coop::poll_budget(&mut cx).is_pending());
/// });
/// ```
pub fn poll_budget(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match take_unit() {
        Some(taken) => Poll::Ready(RestoreOnPending { taken }),
        None => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Gives one unit back to the current task's budget (a no-op outside
/// [`with_budget`]).
///
/// For a future that spent a unit with [`poll_proceed`] and then found
/// nothing to do. Prefer [`poll_budget`], whose guard does this by itself.
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
/// use std::task::{Context, Poll};
///
/// let waker = futures::task::noop_waker();
/// let mut cx = Context::from_waker(&waker);
/// coop::with_budget(1, || {
///     assert_eq!(coop::poll_proceed(&mut cx), Poll::Ready(()));
///     assert!(!coop::has_budget_remaining());
///     coop::refund(); // that poll only registered a waker
///     assert!(coop::has_budget_remaining());
/// });
/// ```
pub fn refund() {
    let _ = BUDGET.try_with(|b| {
        if let Some(n) = b.get() {
            b.set(Some(n.saturating_add(1)));
        }
    });
}

/// The unit taken by [`poll_budget`]; given back when dropped unless
/// [`made_progress`](RestoreOnPending::made_progress) was called.
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop::{self, RestoreOnPending};
/// use std::task::{Context, Poll};
///
/// let waker = futures::task::noop_waker();
/// let mut cx = Context::from_waker(&waker);
/// coop::with_budget(1, || {
///     let Poll::Ready(guard): Poll<RestoreOnPending> = coop::poll_budget(&mut cx) else {
///         panic!("a fresh budget of one has a unit")
///     };
///     assert!(!coop::has_budget_remaining());
///     drop(guard); // no progress: refunded
///     assert!(coop::has_budget_remaining());
/// });
/// ```
#[derive(Debug)]
#[must_use = "drop the guard to give the unit back, or call made_progress() to spend it"]
pub struct RestoreOnPending {
    /// True while this guard holds a unit taken from `BUDGET` (false when no
    /// budget was in force, and after `made_progress`). Written only by the
    /// guard's owner.
    taken: bool,
}

impl RestoreOnPending {
    /// Keeps the unit spent: the operation completed or moved data.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::coop;
    /// use std::task::{Context, Poll};
    ///
    /// let waker = futures::task::noop_waker();
    /// let mut cx = Context::from_waker(&waker);
    /// coop::with_budget(1, || {
    ///     if let Poll::Ready(guard) = coop::poll_budget(&mut cx) {
    ///         guard.made_progress();
    ///     }
    ///     assert!(!coop::has_budget_remaining());
    /// });
    /// ```
    pub fn made_progress(mut self) {
        self.taken = false;
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if self.taken {
            refund();
        }
    }
}

/// True when the current thread has budget left (always true outside
/// [`with_budget`]).
///
/// # Examples
///
/// ```
/// use gmp_reactor::coop;
///
/// coop::with_budget(3, || assert!(coop::has_budget_remaining()));
/// ```
pub fn has_budget_remaining() -> bool {
    BUDGET.try_with(|b| b.get() != Some(0)).unwrap_or(true)
}
