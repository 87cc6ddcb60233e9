//! Timers through the fallback driver: many sleeps, timeouts, intervals, and
//! the cooperative budget on timer futures.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::executor::block_on;
use futures::future::join_all;
use gmp_reactor::coop;
use gmp_reactor::time::{interval, interval_at, sleep, sleep_until, timeout, Instant};

#[test]
fn hundred_thousand_concurrent_sleeps_all_complete_none_early() {
    const N: usize = 100_000;
    let start = Instant::now();
    let sleeps = (0..N).map(|i| async move {
        // Spread deadlines over 1..=50 ms.
        let deadline = start + Duration::from_micros(1_000 + (i as u64 % 50) * 1_000);
        sleep_until(deadline).await;
        Instant::now() >= deadline
    });
    let on_time = block_on(join_all(sleeps));
    assert_eq!(on_time.len(), N, "every sleep completed");
    let early = on_time.iter().filter(|ok| !**ok).count();
    assert_eq!(early, 0, "{early} sleeps completed before their deadline");
}

#[test]
fn sleep_never_completes_before_its_deadline() {
    for ms in [0u64, 1, 2, 5, 13] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        block_on(sleep(d));
        assert!(
            start.elapsed() >= d,
            "sleep({d:?}) returned after {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn dropping_a_pending_sleep_removes_its_timer() {
    // A long sleep polled once, then dropped: nothing may fire later, and a
    // short sleep after it still works.
    let mut long = Box::pin(sleep(Duration::from_secs(3600)));
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(long.as_mut().poll(&mut cx).is_pending());
    drop(long);
    block_on(sleep(Duration::from_millis(1)));
}

#[test]
fn timeout_on_a_pending_future_elapses_and_not_early() {
    let d = Duration::from_millis(10);
    let start = Instant::now();
    let r = block_on(timeout(d, futures::future::pending::<()>()));
    assert!(r.is_err(), "a pending future must time out");
    assert!(start.elapsed() >= d, "timeout fired early");
}

#[test]
fn timeout_on_a_ready_future_returns_its_output() {
    assert_eq!(block_on(timeout(Duration::ZERO, async { 42 })), Ok(42));
    assert_eq!(
        block_on(timeout(
            Duration::from_secs(60),
            sleep(Duration::from_millis(1))
        )),
        Ok(())
    );
}

#[test]
fn elapsed_is_a_std_error() {
    let e = block_on(timeout(Duration::ZERO, futures::future::pending::<()>())).unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert_eq!(boxed.to_string(), "deadline has elapsed");
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn interval_ticks_in_order_on_the_grid_and_never_early() {
    let period = Duration::from_millis(3);
    block_on(async {
        let mut ticker = interval(period);
        let first = ticker.tick().await;
        let mut prev = first;
        for _ in 0..5 {
            let t = ticker.tick().await;
            assert!(
                Instant::now() >= t,
                "tick delivered before its scheduled instant"
            );
            assert!(t > prev, "ticks out of order");
            let offset = (t - first).as_nanos();
            assert_eq!(offset % period.as_nanos(), 0, "tick off the grid");
            prev = t;
        }
    });
}

#[test]
fn interval_skips_missed_ticks_like_go_ticker() {
    let period = Duration::from_millis(5);
    block_on(async {
        let start = Instant::now();
        let mut ticker = interval_at(start, period);
        assert_eq!(ticker.tick().await, start);
        // Fall behind by more than three periods.
        std::thread::sleep(period * 3 + Duration::from_millis(2));
        let late = Instant::now();
        // The tick that was due is delivered at once, with its own instant.
        assert_eq!(ticker.tick().await, start + period);
        // The missed ones are skipped: the next is the first grid point after
        // the moment we caught up.
        let next = ticker.tick().await;
        assert!(
            next > late,
            "a missed tick was delivered instead of skipped"
        );
        assert_eq!(
            (next - start).as_nanos() % period.as_nanos(),
            0,
            "off the grid"
        );
        assert!(Instant::now() >= next);
    });
}

#[test]
#[should_panic(expected = "period must be greater than zero")]
fn interval_with_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn sleep_spends_the_coop_budget_and_yields_when_it_is_spent() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut done = pin!(sleep(Duration::ZERO));
    coop::with_budget(0, || {
        assert!(
            done.as_mut().poll(&mut cx).is_pending(),
            "an elapsed sleep must still yield when the budget is spent"
        );
    });
    coop::with_budget(1, || {
        assert_eq!(done.as_mut().poll(&mut cx), Poll::Ready(()));
        assert!(!coop::has_budget_remaining(), "the poll spent the budget");
    });
}

#[test]
fn with_budget_restores_the_previous_budget_after_a_panic() {
    coop::with_budget(5, || {
        let r = std::panic::catch_unwind(|| coop::with_budget(0, || panic!("boom")));
        assert!(r.is_err());
        assert!(coop::has_budget_remaining(), "outer budget restored");
    });
}

#[test]
fn sleep_is_send_and_unpin() {
    fn check<T: Send + Unpin>(_: &T) {}
    check(&sleep(Duration::ZERO));
    fn check_send<T: Send>(_: &T) {}
    check_send(&timeout(Duration::ZERO, async {}));
}
