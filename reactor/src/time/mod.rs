//! Time: sleeping, timeouts and tickers on gmp's reactor.
//!
//! Timers live in the reactor next to the I/O sources; the reactor's wait
//! timeout is the earliest deadline, so a task that sleeps costs no thread.
//! Guarantees:
//!
//! - nothing completes before its deadline (`Instant::now() >= deadline` is
//!   checked both when a timer fires and when a [`Sleep`] is polled);
//! - dropping a pending [`Sleep`] (or [`Timeout`], [`Interval`]) removes its
//!   timer at once;
//! - a poll that completes spends one unit of the cooperative budget
//!   ([`crate::coop`]); a poll that only arms the timer gives it back;
//! - they work under any executor (the reactor's fallback driver fires
//!   timers when no gmp runtime does);
//! - on a runtime built with `Builder::start_paused(true)` they follow that
//!   runtime's test clock instead ([`pause`], [`resume`], [`advance`],
//!   [`now`]; `clock.rs`): virtual time, which moves only by `advance` or,
//!   when the runtime is idle with timers pending, jumps to the next one.

mod clock;
mod interval;
mod sleep;
mod timeout;

pub use clock::{advance, now, pause, resume, Clock};
#[doc(hidden)]
pub use clock::{
    enter as clock_enter, replace as clock_replace, with_current as clock_with_current, ClockGuard,
};
pub use interval::{interval, interval_at, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Instant;
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use std::time::Duration;

/// `now + d`, or a deadline so far away that it never comes (about 30
/// years) when that overflows `Instant`.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or_else(|| far_future(now))
}

/// A deadline that never comes in practice.
pub(crate) fn far_future(now: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    now.checked_add(THIRTY_YEARS).unwrap_or(now)
}
