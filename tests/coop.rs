//! The cooperative budget against timers, on a real 1-P runtime (issue 8):
//!
//! - a `timeout` around a future that spends the whole budget on every poll
//!   still fires (its deadline is polled unconstrained);
//! - one task waiting on 300 pending sleeps in a hand-written join is not
//!   busy-polled (a pending poll gives its budget unit back).
//!
//! The runtimes here wait on timers; the reactor is one per process, so the
//! tests take `ONE_RUNTIME_AT_A_TIME` and never run two runtimes at once.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use gmp::time::{sleep, sleep_until, timeout, Instant, Sleep};
use gmp::Runtime;
use gmp_reactor::coop;

/// Serializes the tests that build a runtime.
static ONE_RUNTIME_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long a test waits for a runtime thread before calling it hung. A
/// bounded wait for a result that should come within a second, not a timing
/// assertion.
const HANG: Duration = Duration::from_secs(60);

fn one_runtime() -> MutexGuard<'static, ()> {
    ONE_RUNTIME_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on a 1-P runtime in a thread of its own and returns its output,
/// or panics with `what` if it has not come back within [`HANG`] (the thread
/// is then left behind: the bug being tested is a hang).
fn on_one_proc<T, F>(what: &str, f: F) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Runtime::builder()
            .max_procs(1)
            .build()
            .expect("a 1-P runtime builds");
        let out = rt.block_on(rt.spawn(f));
        let _ = tx.send(out);
    });
    match rx.recv_timeout(HANG) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("{what}: the task failed: {e}"),
        Err(_) => panic!("{what}: no result after {HANG:?}: the runtime hangs"),
    }
}

#[test]
fn timeout_fires_although_the_inner_future_spends_the_whole_budget() {
    let _one = one_runtime();
    let out = on_one_proc("timeout(100 ms, loop { sleep(0).await })", async {
        timeout(Duration::from_millis(100), async {
            loop {
                sleep(Duration::ZERO).await;
            }
        })
        .await
    });
    assert!(
        out.is_err(),
        "the inner loop never ends, so only Err(Elapsed) can come back"
    );
}

/// A hand-written join of sleeps that counts how often it is polled.
struct JoinSleeps {
    /// The sleeps not yet completed.
    sleeps: Vec<Option<Sleep>>,
    /// Polls of this future so far.
    polls: Arc<AtomicU64>,
}

impl Future for JoinSleeps {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        let mut pending = false;
        for slot in self.sleeps.iter_mut() {
            if let Some(s) = slot {
                if Pin::new(s).poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

#[test]
fn three_hundred_pending_sleeps_in_one_join_do_not_busy_poll_the_task() {
    let _one = one_runtime();
    let polls = Arc::new(AtomicU64::new(0));
    let counted = polls.clone();
    on_one_proc("a join of 300 sleeps", async move {
        // One deadline for all, so they fire in one batch of the reactor.
        let deadline = Instant::now() + Duration::from_millis(200);
        let sleeps = (0..300).map(|_| Some(sleep_until(deadline))).collect();
        JoinSleeps {
            sleeps,
            polls: counted,
        }
        .await;
        assert!(Instant::now() >= deadline, "no sleep completes early");
    });
    let polls = polls.load(Ordering::Relaxed);
    // One poll to arm the 300 timers, then a few when they fire (128 may
    // complete per poll). A busy loop polls it hundreds of thousands of times.
    assert!(
        polls <= 48,
        "the join was polled {polls} times while its 300 sleeps waited: \
         pending sleeps spend the budget and wake the task at once"
    );
}

#[test]
fn pending_sleeps_give_their_budget_unit_back() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut sleeps: Vec<Sleep> = (0..300).map(|_| sleep(Duration::from_secs(3600))).collect();
    coop::with_budget(128, || {
        for s in sleeps.iter_mut() {
            assert!(Pin::new(s).poll(&mut cx).is_pending());
        }
        assert!(
            coop::has_budget_remaining(),
            "300 polls that only armed a timer must not spend the budget of 128"
        );
    });
}

#[test]
fn elapsed_sleeps_still_spend_the_budget() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    coop::with_budget(128, || {
        let ready = (0..200)
            .filter(|_| pin!(sleep(Duration::ZERO)).poll(&mut cx).is_ready())
            .count();
        assert_eq!(
            ready, 128,
            "only the budget's 128 due sleeps may complete in one task poll"
        );
    });
}

#[test]
fn timeout_polls_its_deadline_unconstrained_only_when_the_inner_future_spent_the_budget() {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    // The deadline has passed and the inner future spends the last unit.
    let spend_all = std::future::poll_fn(|cx| {
        while coop::poll_proceed(cx).is_ready() {}
        Poll::<()>::Pending
    });
    let mut t = pin!(timeout(Duration::ZERO, spend_all));
    coop::with_budget(5, || {
        assert!(
            matches!(t.as_mut().poll(&mut cx), Poll::Ready(Err(_))),
            "the deadline passed: Elapsed although the budget is spent"
        );
        assert!(!coop::has_budget_remaining(), "the budget stays spent");
    });
    // Entered with no budget at all: the task must yield, not complete.
    let mut t = pin!(timeout(Duration::ZERO, std::future::pending::<()>()));
    coop::with_budget(0, || {
        assert!(t.as_mut().poll(&mut cx).is_pending());
    });
}
