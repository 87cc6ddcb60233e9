//! `Sleep`: a future that completes at a deadline.
//!
//! Protocol: the first poll before the deadline arms a timer in the reactor
//! (`(deadline, id)` → waker) and keeps its id; later polls refresh the waker
//! in place. The reactor removes the timer when it fires; `Drop` and
//! [`Sleep::reset`] remove it if it is still armed. A poll completes only when
//! `Instant::now() >= deadline`, whatever woke it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::ready;

use super::clock::{self, Clock};
use super::{deadline_after, Instant};
use crate::coop;
use crate::reactor::Reactor;

/// Waits until `duration` has elapsed.
///
/// Never completes early. `Duration::MAX` (or anything past `Instant`'s
/// range) sleeps "forever".
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{sleep, Instant};
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(super::now(), duration))
}

/// Waits until `deadline`.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{sleep_until, Instant};
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: None,
        clock: clock::current(),
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// `Send`, `Unpin`. Dropping it before it completes disarms its timer.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{sleep, Sleep};
/// use std::time::Duration;
///
/// let s: Sleep = sleep(Duration::from_millis(1));
/// futures::executor::block_on(s);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// When this sleep completes.
    deadline: Instant,
    /// Id of the timer armed in the reactor (or in `clock`) for `deadline`,
    /// if one was.
    timer: Option<u64>,
    /// The test clock of the runtime this sleep was created in, if it has
    /// one: then `deadline` is virtual time and the timer lives there.
    clock: Option<Arc<Clock>>,
}

impl Sleep {
    /// The instant at which this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{sleep_until, Instant};
    ///
    /// let at = Instant::now();
    /// assert_eq!(sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{sleep, Instant};
    /// use std::time::Duration;
    ///
    /// assert!(sleep(Duration::ZERO).is_elapsed());
    /// assert!(!sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.now() >= self.deadline
    }

    /// Now, on this sleep's clock.
    fn now(&self) -> Instant {
        match &self.clock {
            Some(clock) => clock.now(),
            None => Instant::now(),
        }
    }

    /// Moves the deadline (earlier or later), even after completion; the
    /// sleep can then be awaited again.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{sleep, Instant};
    /// use std::time::Duration;
    ///
    /// futures::executor::block_on(async {
    ///     let mut s = sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now() + Duration::from_millis(1));
    ///     (&mut s).await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.disarm();
        self.deadline = deadline;
    }

    /// Removes the armed timer, if any.
    fn disarm(&mut self) {
        if let Some(id) = self.timer.take() {
            match &self.clock {
                Some(clock) => clock.remove(self.deadline, id),
                None => Reactor::get().remove_timer(self.deadline, id),
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // A poll that only (re-)arms the timer gives its unit back when
        // `coop` is dropped, so waiting on many timers is no busy loop.
        let coop = ready!(coop::poll_budget(cx));
        if this.now() >= this.deadline {
            coop.made_progress();
            this.disarm();
            return Poll::Ready(());
        }
        if let Some(clock) = &this.clock {
            match this.timer {
                Some(id) if clock.update(this.deadline, id, cx.waker()) => {}
                _ => this.timer = Some(clock.insert(this.deadline, cx.waker())),
            }
            return Poll::Pending;
        }
        let reactor = Reactor::get();
        match this.timer {
            Some(id) if reactor.update_timer(this.deadline, id, cx.waker()) => {}
            // Never armed, or fired (then `now >= deadline` above, so this
            // arm is only a belt-and-braces re-arm).
            _ => this.timer = Some(reactor.insert_timer(this.deadline, cx.waker())),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}
