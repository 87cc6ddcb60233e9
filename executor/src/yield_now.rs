//! `yield_now`: let the other tasks of this P run first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the other runnable tasks of this P (Go's `Gosched`).
///
/// The task wakes itself while it runs, so the scheduler puts it at the tail
/// of its P's LRQ, behind every other runnable task of that P; the P checks
/// the GRQ and the reactor at its regular intervals as usual. (Go's `Gosched`
/// uses the GRQ, at one lock per yield; the LRQ tail gives the same guarantee
/// for the tasks of this P without the lock.)
///
/// # Examples
///
/// ```
/// gmp_executor::block_on(async {
///     for _ in 0..3 {
///         gmp_executor::yield_now().await;
///     }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
