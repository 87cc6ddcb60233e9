//! `yield_now`: let the other tasks of this P run first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the other runnable tasks of this P (Go's `Gosched`).
///
/// The task wakes itself while it runs, so the scheduler puts it in its P's
/// ring of yielded tasks (not `runnext`, not the LRQ). The M drains that ring
/// only after `runnext`, the LRQ, the GRQ and the reactor have had their
/// turn, so the yielder runs again behind every other runnable task of its P
/// and after the global queue. And once a yielder has waited
/// `YIELD_INTERVAL` (61) polls on its P, it runs ahead of all of those, so no
/// chain of wakes through `runnext` or the LRQ keeps it waiting for ever.
/// (Go's `Gosched` uses the GRQ, at one lock per yield; the per-P ring gives
/// the same order without the lock.) A task whose M lost its P during the
/// poll (a hand-off, `block_in_place`) goes to the GRQ, as any wake off a P
/// does; under [`block_on`](crate::block_on()) the future is simply polled
/// again.
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
