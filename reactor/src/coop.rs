//! The cooperative budget: how gmp's own futures yield on their own.
//!
//! A task is a stackless future and cannot be interrupted. A task that loops
//! over a socket which always has data (or over timers that are always due)
//! would never return `Pending` and would hold its P forever. So every gmp I/O
//! and timer future calls [`poll_proceed`] before it does any work, and the
//! executor wraps each task poll in [`with_budget`]`(128, ..)`.
//!
//! Protocol:
//!
//! - The budget is a thread-local `Cell<Option<u32>>`. `None` means "no
//!   budget": outside [`with_budget`] (another executor, a plain thread)
//!   [`poll_proceed`] always proceeds, so other executors see no change.
//! - Inside [`with_budget`], each [`poll_proceed`] spends one unit. When none
//!   is left it wakes the task (`wake_by_ref`, so the task goes back to a run
//!   queue behind the others) and returns `Pending`.
//! - [`with_budget`] restores the previous value when it returns or unwinds,
//!   so nested budgets (a `block_on` inside `spawn_blocking`, say) compose.

use std::cell::Cell;
use std::task::{Context, Poll};

thread_local! {
    /// Units left for the task polled on this thread; `None` outside any
    /// [`with_budget`]. Written only by this thread.
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Restores the budget that was in force before [`with_budget`], also when the
/// closure panics.
struct ResetGuard {
    /// The value of `BUDGET` before [`with_budget`] replaced it.
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

/// Runs `f` with a cooperative budget of `budget` units on this thread.
///
/// Every gmp I/O or timer future polled inside `f` spends one unit; once
/// they are spent, such futures wake their task and return `Pending`, so the
/// task yields its thread. The previous budget (or "unlimited") is restored
/// when `f` returns or panics. The gmp executor wraps every task poll in
/// `with_budget(128, ..)`.
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
    let previous = BUDGET.with(|b| b.replace(Some(budget)));
    let _reset = ResetGuard { previous };
    f()
}

/// Spends one unit of the current task's budget, or yields if none is left.
///
/// Returns `Ready(())` when the caller may go on. Returns `Pending` after
/// waking `cx`'s waker when the budget set by [`with_budget`] is spent.
/// Outside [`with_budget`] it always returns `Ready(())`.
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
    let proceed = BUDGET
        .try_with(|b| match b.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                b.set(Some(n - 1));
                true
            }
        })
        .unwrap_or(true);
    if proceed {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
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
