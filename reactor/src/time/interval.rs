//! `Interval`: Go's `time.Ticker` as a stream of instants.
//!
//! Ticks are scheduled on a grid: `start, start + period, start + 2·period…`.
//! [`Interval::tick`] completes at (never before) the next scheduled instant
//! and returns that instant. When the consumer falls behind, the tick that is
//! due is delivered at once (with its scheduled instant), and the ticks that
//! were missed after it are skipped: the next one is the first grid point
//! after "now". That is what Go's ticker does with its one-slot channel.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::ready;

use super::{far_future, sleep_until, Instant, Sleep};

/// A ticker whose first tick completes at once, then every `period`.
///
/// # Panics
///
/// If `period` is zero (as Go's `NewTicker` and tokio's `interval`).
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::interval;
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let mut ticker = interval(Duration::from_millis(2));
///     let first = ticker.tick().await; // at once
///     let second = ticker.tick().await;
///     // On the grid, one period later (or more, if this thread was late).
///     assert!(second >= first + Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now(), period)
}

/// A ticker whose first tick is at `start`, then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{interval_at, Instant};
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let start = Instant::now() + Duration::from_millis(1);
///     let mut ticker = interval_at(start, Duration::from_millis(1));
///     assert_eq!(ticker.tick().await, start);
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "gmp::time::interval: the period must be greater than zero"
    );
    Interval {
        period,
        delay: sleep_until(start),
    }
}

/// A ticker created by [`interval`] or [`interval_at`].
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{interval, Interval};
/// use std::time::Duration;
///
/// let ticker: Interval = interval(Duration::from_secs(1));
/// assert_eq!(ticker.period(), Duration::from_secs(1));
/// ```
#[derive(Debug)]
pub struct Interval {
    /// Distance between two scheduled ticks.
    period: Duration,
    /// Sleeps until the next scheduled tick; its deadline is that tick.
    delay: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{interval, Instant};
    /// use std::time::Duration;
    ///
    /// futures::executor::block_on(async {
    ///     let mut ticker = interval(Duration::from_millis(1));
    ///     let scheduled = ticker.tick().await;
    ///     assert!(Instant::now() >= scheduled);
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready(scheduled instant)` when it is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::interval;
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    ///
    /// futures::executor::block_on(async {
    ///     let mut ticker = interval(Duration::from_millis(1));
    ///     let _first = poll_fn(|cx| ticker.poll_tick(cx)).await;
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let scheduled = self.delay.deadline();
        let next = next_tick(scheduled, self.period, super::now());
        self.delay.reset(next);
        Poll::Ready(scheduled)
    }

    /// Makes the next tick due one `period` from now (and the grid restart
    /// there).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{interval, Instant};
    /// use std::time::Duration;
    ///
    /// let mut ticker = interval(Duration::from_secs(1));
    /// ticker.reset(); // the immediate first tick is now one second away
    /// ```
    pub fn reset(&mut self) {
        let now = super::now();
        self.delay.reset(
            now.checked_add(self.period)
                .unwrap_or_else(|| far_future(now)),
        );
    }

    /// The period between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::interval;
    /// use std::time::Duration;
    ///
    /// assert_eq!(interval(Duration::from_millis(3)).period(), Duration::from_millis(3));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// The first grid point `scheduled + k·period` (k ≥ 1) strictly after `now`.
fn next_tick(scheduled: Instant, period: Duration, now: Instant) -> Instant {
    let one = match scheduled.checked_add(period) {
        Some(t) => t,
        None => return far_future(now),
    };
    if one > now {
        return one;
    }
    // Behind: skip the missed ticks.
    let behind = now.duration_since(scheduled).as_nanos();
    let k = behind / period.as_nanos() + 1;
    let skip = k
        .checked_mul(period.as_nanos())
        .and_then(|n| u64::try_from(n).ok())
        .map(Duration::from_nanos);
    skip.and_then(|d| scheduled.checked_add(d))
        .unwrap_or_else(|| far_future(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_stays_on_the_grid_and_skips_missed_ticks() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_tick(t0, p, t0), t0 + p);
        assert_eq!(next_tick(t0, p, t0 + Duration::from_millis(35)), t0 + 4 * p);
        // exactly on a grid point: that point is not "after now"
        assert_eq!(next_tick(t0, p, t0 + 2 * p), t0 + 3 * p);
    }
}
