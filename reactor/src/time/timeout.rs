//! `Timeout`: a future raced against a deadline.
//!
//! The inner future is polled first, so a future that is ready wins even when
//! the deadline has passed; only then is the [`Sleep`] polled. When the inner
//! future spent the cooperative budget in that poll, the [`Sleep`] is polled
//! with no budget ([`crate::coop::with_unconstrained`]), so a busy inner
//! future cannot keep the deadline from firing (tokio does the same).

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::{sleep, sleep_until, Instant, Sleep};
use crate::coop;

/// Runs `future` for at most `duration`.
///
/// Output: `Ok(output)` if the future finished first, `Err(Elapsed)` if the
/// time ran out (the future is then dropped with the `Timeout`).
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::timeout;
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let never = futures::future::pending::<()>();
///     assert!(timeout(Duration::from_millis(1), never).await.is_err());
///     assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        delay: sleep(duration),
    }
}

/// Runs `future` until `deadline` at most.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{timeout_at, Instant};
/// use std::time::Duration;
///
/// futures::executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     let never = futures::future::pending::<()>();
///     assert!(timeout_at(deadline, never).await.is_err());
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        delay: sleep_until(deadline),
    }
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::{timeout, Timeout};
    /// use std::time::Duration;
    ///
    /// let t: Timeout<_> = timeout(Duration::from_secs(1), async { 1 });
    /// assert_eq!(futures::executor::block_on(t), Ok(1));
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        // The future being raced.
        #[pin]
        future: F,
        // The deadline.
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::timeout;
    /// use std::time::Duration;
    ///
    /// let t = timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Gives the wrapped future back, disarming the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::time::timeout;
    /// use std::time::Duration;
    ///
    /// let t = timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(futures::executor::block_on(t.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget_before = coop::has_budget_remaining();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let delay = Pin::new(this.delay);
        // When the inner future spent the budget, the deadline would answer
        // `Pending` on every poll and never fire: look at it unconstrained.
        let polled = if had_budget_before && !coop::has_budget_remaining() {
            coop::with_unconstrained(|| delay.poll(cx))
        } else {
            delay.poll(cx)
        };
        match polled {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{timeout, Elapsed};
/// use std::time::Duration;
///
/// let r = futures::executor::block_on(timeout(Duration::ZERO, futures::future::pending::<()>()));
/// let e: Elapsed = r.unwrap_err();
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
