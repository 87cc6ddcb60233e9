//! `WaitGroup`: Go's `sync.WaitGroup` for tasks.
//!
//! Protocol: one lock over a counter, a generation and the wakers of the
//! pending `wait` futures. `add(n)` raises the counter; `done()` lowers it
//! and, when it reaches zero, bumps the generation and wakes every waiter
//! (from inside the caller's poll, so on a gmp M the first one woken becomes
//! the P's `runnext`). A `wait` future completes when the counter is zero or
//! the generation moved since it first looked — so, as in Go, a waiter
//! released by a zero is not held back by an `add` that comes after it.
//! Going below zero panics, with Go's message.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::future::FusedFuture;

use crate::sync::{lock, Arc, Mutex};

/// Waits for a collection of tasks to finish (Go's `sync.WaitGroup`):
/// `add(n)` before starting them, `done()` as each ends, `wait().await` for
/// the counter to come back to zero. Clones share one counter.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use gmp_executor::WaitGroup;
///
/// gmp_executor::block_on(async {
///     let wg = WaitGroup::new();
///     let n = Arc::new(AtomicUsize::new(0));
///     for _ in 0..10 {
///         wg.add(1);
///         let (wg, n) = (wg.clone(), n.clone());
///         gmp_executor::spawn(async move {
///             n.fetch_add(1, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(n.load(Ordering::Relaxed), 10);
/// });
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    /// The state every clone shares.
    inner: Arc<Mutex<Inner>>,
}

/// The locked state of a [`WaitGroup`].
#[derive(Default)]
struct Inner {
    /// Go's counter: `add` raises it, `done` lowers it.
    count: usize,
    /// Times the counter came back to zero; written by `done`.
    generation: u64,
    /// Wakers of pending `wait` futures by id, written by their polls,
    /// drained by the `done` that reaches zero.
    waiters: Vec<(u64, Waker)>,
    /// The next waiter id.
    next_id: u64,
}

impl Inner {
    /// Takes the waker of waiter `id` off the list, if it is there.
    fn remove(&mut self, id: u64) -> Option<Waker> {
        let at = self.waiters.iter().position(|(i, _)| *i == id)?;
        Some(self.waiters.swap_remove(at).1)
    }
}

impl WaitGroup {
    /// A group with a counter of zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = gmp_executor::WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// gmp_executor::block_on(wg.wait()); // zero: returns at once
    /// ```
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// Adds `n` to the counter.
    ///
    /// # Panics
    ///
    /// If the counter would overflow `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = gmp_executor::WaitGroup::new();
    /// wg.add(3);
    /// assert_eq!(wg.count(), 3);
    /// ```
    pub fn add(&self, n: usize) {
        let mut inner = lock(&self.inner);
        inner.count = match inner.count.checked_add(n) {
            Some(c) => c,
            None => panic!(
                "sync: WaitGroup counter overflow (count {} + {n})",
                inner.count
            ),
        };
    }

    /// Subtracts one from the counter; at zero, every `wait` returns.
    ///
    /// # Panics
    ///
    /// With "sync: negative WaitGroup counter" if the counter is already
    /// zero, as Go's does.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = gmp_executor::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// assert_eq!(wg.count(), 0);
    /// let r = std::panic::catch_unwind(|| wg.done());
    /// assert!(r.is_err()); // below zero
    /// ```
    pub fn done(&self) {
        let wakers = {
            let mut inner = lock(&self.inner);
            if inner.count == 0 {
                drop(inner);
                panic!("sync: negative WaitGroup counter");
            }
            inner.count -= 1;
            if inner.count > 0 {
                return;
            }
            inner.generation += 1;
            std::mem::take(&mut inner.waiters)
        };
        for (_, w) in wakers {
            w.wake();
        }
    }

    /// The counter now (racy by nature; for tests and diagnostics).
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = gmp_executor::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        lock(&self.inner).count
    }

    /// Waits until the counter is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = gmp_executor::WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// gmp_executor::block_on(async move {
    ///     gmp_executor::spawn(async move { wg2.done() });
    ///     wg.wait().await;
    ///     assert_eq!(wg.count(), 0);
    /// });
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            group: self,
            registered: None,
            done: false,
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// The future of [`WaitGroup::wait`].
///
/// # Examples
///
/// ```
/// use futures::future::FusedFuture;
/// let wg = gmp_executor::WaitGroup::new();
/// let mut w = wg.wait();
/// gmp_executor::block_on(&mut w);
/// assert!(w.is_terminated());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    /// The group waited on.
    group: &'a WaitGroup,
    /// `(waiter id, generation)` once it parked.
    registered: Option<(u64, u64)>,
    /// Set when it returned `Ready`.
    done: bool,
}

impl Wait<'_> {
    /// One poll under the lock; returns the result and a waker taken out
    /// of the list, which the caller drops after the unlock (dropping a
    /// waker may free a task).
    fn poll_locked(&mut self, inner: &mut Inner, waker: &Waker) -> (Poll<()>, Option<Waker>) {
        let released = match self.registered {
            Some((_, generation)) => inner.generation != generation,
            None => false,
        };
        if released || inner.count == 0 {
            let stale = self.registered.take().and_then(|(id, _)| inner.remove(id));
            self.done = true;
            return (Poll::Ready(()), stale);
        }
        let mut stale = None;
        match self.registered {
            Some((id, _)) => {
                if let Some((_, w)) = inner.waiters.iter_mut().find(|(i, _)| *i == id) {
                    if !w.will_wake(waker) {
                        stale = Some(std::mem::replace(w, waker.clone()));
                    }
                }
            }
            None => {
                let id = inner.next_id;
                inner.next_id += 1;
                inner.waiters.push((id, waker.clone()));
                self.registered = Some((id, inner.generation));
            }
        }
        (Poll::Pending, stale)
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Pending;
        }
        let (poll, stale) = {
            let mut inner = lock(&this.group.inner);
            this.poll_locked(&mut inner, cx.waker())
        };
        drop(stale);
        poll
    }
}

impl FusedFuture for Wait<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some((id, _)) = self.registered.take() {
            let removed = lock(&self.group.inner).remove(id);
            drop(removed); // after the unlock
        }
    }
}

impl std::fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("parked", &self.registered.is_some())
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::WaitGroup;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn poll(w: &mut super::Wait<'_>) -> Poll<()> {
        Pin::new(w).poll(&mut Context::from_waker(Waker::noop()))
    }

    use std::future::Future;

    #[test]
    fn wait_returns_when_the_counter_reaches_zero() {
        let wg = WaitGroup::new();
        wg.add(2);
        let mut w = wg.wait();
        assert!(poll(&mut w).is_pending());
        wg.done();
        assert!(poll(&mut w).is_pending(), "one left");
        wg.done();
        assert!(poll(&mut w).is_ready());
    }

    #[test]
    fn a_waiter_released_by_zero_is_not_held_by_a_later_add() {
        let wg = WaitGroup::new();
        wg.add(1);
        let mut w = wg.wait();
        assert!(poll(&mut w).is_pending());
        wg.done();
        wg.add(1); // the group is reused before the waiter runs
        assert!(poll(&mut w).is_ready(), "Go's Wait returns here too");
        let mut w2 = wg.wait();
        assert!(
            poll(&mut w2).is_pending(),
            "a new waiter sees the new count"
        );
        drop(w2);
        assert!(lock_waiters_empty(&wg));
    }

    fn lock_waiters_empty(wg: &WaitGroup) -> bool {
        crate::sync::lock(&wg.inner).waiters.is_empty()
    }

    #[test]
    #[should_panic(expected = "sync: negative WaitGroup counter")]
    fn done_below_zero_panics_like_go() {
        WaitGroup::new().done();
    }

    #[test]
    fn threads_finish_before_wait_returns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let wg = WaitGroup::new();
        let n = Arc::new(AtomicUsize::new(0));
        wg.add(4);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (wg, n) = (wg.clone(), n.clone());
                std::thread::spawn(move || {
                    n.fetch_add(1, Ordering::SeqCst);
                    wg.done();
                })
            })
            .collect();
        futures::executor::block_on(wg.wait());
        assert_eq!(n.load(Ordering::SeqCst), 4);
        for t in threads {
            t.join().unwrap();
        }
    }
}
