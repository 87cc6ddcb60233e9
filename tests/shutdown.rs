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

/// Sets its flag when its destructor has run to the end, which takes a while.
struct SlowDrop {
    /// Told when the destructor starts.
    started: std::sync::mpsc::Sender<()>,
    /// Set when the destructor ends.
    done: Arc<AtomicBool>,
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        let _ = self.started.send(());
        std::thread::sleep(Duration::from_millis(300));
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Hands a waker to a plain thread when dropped, and returns only once the
/// future that waker wakes has started its own destructor there.
struct WakeFromAPlainThread {
    /// Where the parked task left its waker.
    waker: Arc<Mutex<Option<Waker>>>,
    /// Told by the slow destructor when it starts.
    started: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
}

impl Drop for WakeFromAPlainThread {
    fn drop(&mut self) {
        let waker = self
            .waker
            .lock()
            .unwrap()
            .take()
            .expect("the parked task's waker");
        let waking = std::thread::spawn(move || waker.wake());
        let _ = self.started.lock().unwrap().recv();
        let _ = waking;
    }
}

/// A wake that reaches the schedule function while the runtime shuts down
/// drops the task's future on the waking thread. `drop(rt)` must still
/// return only once that future is gone: a plain thread here wakes a parked
/// task in the middle of the shutdown (from the destructor of another task,
/// which the shutdown drops first), and that task's destructor is slow.
#[test]
fn dropping_the_runtime_waits_for_a_future_a_plain_thread_is_dropping() {
    let rt = gmp::Runtime::builder().max_procs(1).build().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let slow = SlowDrop {
        started: started_tx,
        done: done.clone(),
    };
    let slot = waker.clone();
    // Parks for ever, its waker in `slot`.
    drop(rt.spawn(std::future::poll_fn(move |cx| {
        let _ = &slow;
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::<()>::Pending
    })));
    wait_for("the task to park", || waker.lock().unwrap().is_some());
    let waking = WakeFromAPlainThread {
        waker,
        started: Arc::new(Mutex::new(started_rx)),
    };
    // Always runnable: the shutdown finds it in the P's queue and drops it
    // before it wakes the parked tasks.
    drop(rt.spawn(async move {
        let _waking = waking;
        loop {
            gmp::yield_now().await;
        }
    }));
    std::thread::sleep(Duration::from_millis(20));
    drop(rt);
    assert!(
        done.load(Ordering::SeqCst),
        "drop(rt) returned while a task's future was still being dropped"
    );
}

/// `shutdown_timeout` gives up on two Ms caught in polls. One of the tasks
/// then calls `block_in_place`, which hands its P off with a task still in
/// it; with shutdown under way that P goes to the idle list, which the
/// shutdown has drained already. The other M puts its own P idle on its way
/// out, and the first one, after its poll, takes that one to drain: the
/// handed-off P's task must still be dropped.
#[test]
fn a_p_handed_off_after_shutdown_timeout_gave_up_has_its_tasks_dropped() {
    let rt = gmp::Runtime::builder()
        .max_procs(2)
        .sysmon(false)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let (other_in_poll, in_poll) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let flag = other_in_poll.clone();
    // Holds the other P for longer than the block_in_place below.
    drop(rt.spawn(async move {
        flag.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
    }));
    wait_for("the other P's task to start its poll", || {
        other_in_poll.load(Ordering::SeqCst)
    });
    let (flag, guard) = (in_poll.clone(), Dropped(drops.clone()));
    drop(rt.spawn(async move {
        // Waits in this P's runnext: no P is idle to run it elsewhere.
        drop(gmp::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        flag.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        gmp::block_in_place(|| {});
        std::thread::sleep(Duration::from_millis(300));
    }));
    wait_for("the task to start its poll", || {
        in_poll.load(Ordering::SeqCst)
    });
    rt.shutdown_timeout(Duration::from_millis(10));
    wait_for(
        "the future left in a P handed off after shutdown_timeout to be dropped",
        || drops.load(Ordering::SeqCst) == 1,
    );
}

/// The local tasks of a `Handle::block_on` running on another thread are
/// that `block_on`'s to drop, when it ends: dropping the runtime meanwhile
/// does not wait for them (it would wait for ever, as that `block_on` here
/// ends only after the drop).
#[test]
fn dropping_the_runtime_does_not_wait_for_the_local_tasks_of_a_block_on_elsewhere() {
    let rt = gmp::Runtime::builder().max_procs(1).build().unwrap();
    let handle = rt.handle().clone();
    let drops = Arc::new(AtomicUsize::new(0));
    let (parked_tx, parked_rx) = std::sync::mpsc::channel();
    let (dropped_tx, dropped_rx) = std::sync::mpsc::channel::<()>();
    let guard = Dropped(drops.clone());
    let local_thread = std::thread::spawn(move || {
        handle.block_on(async move {
            let local = gmp::spawn_local(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
            // Lets the local task run and park.
            gmp::yield_now().await;
            parked_tx.send(()).unwrap();
            // Blocks this thread (not an M) until the runtime is gone.
            let _ = dropped_rx.recv();
            drop(local);
        })
    });
    parked_rx.recv().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(wait::PATIENCE).is_ok(),
        "drop(rt) waited for a local task of a block_on on another thread"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the local task is that block_on's to drop"
    );
    dropped_tx.send(()).unwrap();
    local_thread.join().unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the block_on's end drops its local task"
    );
}

/// An M that sees the shutdown and exits on its own, before the shutdown
/// gets to its handle, still runs its stop hook before `drop(rt)` returns:
/// the M counts itself out only after the hook, and at shutdown leaves its
/// handle to be joined.
#[test]
fn every_stop_hook_has_run_when_drop_returns() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = gmp::Runtime::builder()
        .max_procs(1)
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            std::thread::sleep(Duration::from_millis(100));
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let running = Arc::new(AtomicBool::new(false));
    let flag = running.clone();
    // Keeps the M awake, so that it sees `closing` as soon as its poll ends.
    drop(rt.spawn(async move {
        loop {
            flag.store(true, Ordering::SeqCst);
            gmp::yield_now().await;
        }
    }));
    wait_for("the task to run", || running.load(Ordering::SeqCst));
    drop(rt);
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        started.load(Ordering::SeqCst),
        "drop(rt) returned before every M's stop hook had run"
    );
}
