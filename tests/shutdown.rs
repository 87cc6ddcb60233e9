//! Shutdown leaves nothing behind: every task's future is dropped, also
//! those of polls that outlived `shutdown_timeout`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

#[path = "../executor/tests/support/wait.rs"]
mod wait;

use wait::wait_for;

/// Counts the drops of the future that owns it.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_poll_that_outlives_shutdown_timeout_and_parks_is_still_dropped() {
    let rt = gmp::Runtime::builder().max_procs(1).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let in_poll = Arc::new(AtomicBool::new(false));
    let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
    let guard = Dropped(drops.clone());
    let (flag, slot) = (in_poll.clone(), kept.clone());
    let task = rt.spawn(std::future::poll_fn(move |cx| {
        let _ = &guard;
        flag.store(true, Ordering::SeqCst);
        // A long first poll, still running when shutdown gives up on it;
        // then it parks with its waker somewhere nobody will call.
        std::thread::sleep(Duration::from_millis(300));
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::<()>::Pending
    }));
    wait_for("the task to start its poll", || {
        in_poll.load(Ordering::SeqCst)
    });
    rt.shutdown_timeout(Duration::from_millis(10));
    wait_for(
        "the future of a task that parked after shutdown_timeout returned to be dropped",
        || drops.load(Ordering::SeqCst) == 1,
    );
    assert!(futures::executor::block_on(task)
        .unwrap_err()
        .is_cancelled());
    drop(kept);
}
