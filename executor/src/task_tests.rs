//! Unit tests of tasks and join handles that need no M, no sysmon and no
//! reactor thread, so they run under Miri (`.ci/run`): the task allocation
//! (`spawn::create`, async-task's `spawn_unchecked`), the wrapper future
//! (panics, abort, the registry), and `JoinHandle`'s raw metadata pointer.
//!
//! Each test builds a runtime's shared state without starting any thread and
//! runs the task's `Runnable` by hand on the test thread; wakes from here go
//! to the GRQ (this thread is not an M), where the test picks them up.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::config::test_config;
use crate::sched::Shared;
use crate::sched::Task;
use crate::spawn;
use crate::JoinHandle;

/// Shared state of a 1-P runtime that starts no thread: `max_threads` 0
/// makes `wakep` leave the P idle (it says so once on stderr).
fn shared() -> Arc<Shared> {
    Shared::new(test_config(1, 0))
}

/// Takes the next task from the GRQ, where wakes from this thread go.
fn next(shared: &Shared) -> Option<Task> {
    let mut sched = shared.lock();
    let mut next = None;
    shared
        .grq
        .pop_n(&mut sched.grq, 1, |task| next = Some(task));
    next
}

/// Polls `handle` once with a no-op waker.
fn poll<T>(handle: &mut JoinHandle<T>) -> Poll<Result<T, crate::JoinError>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(handle).poll(&mut cx)
}

/// A future that returns `Pending` `n` times, waking itself each time.
struct Yields(usize);

impl Future for Yields {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.0 == 0 {
            return Poll::Ready(7);
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_task_run_by_hand_gives_its_output_to_the_handle() {
    let shared = shared();
    let (runnable, mut handle) = spawn::create(&shared, Yields(3));
    assert!(poll(&mut handle).is_pending(), "output before the task ran");
    let mut runs = 0;
    let mut task = Some(runnable);
    while let Some(t) = task.take() {
        t.run();
        runs += 1;
        task = next(&shared);
    }
    assert_eq!(runs, 4, "three Pending polls and a Ready one");
    assert_eq!(poll(&mut handle).map(Result::ok), Poll::Ready(Some(7)));
    assert!(handle.is_finished());
}

#[test]
fn a_panicking_poll_completes_the_task_with_the_panic() {
    let shared = shared();
    let (runnable, mut handle) = spawn::create(&shared, async { panic!("boom") });
    runnable.run();
    match poll(&mut handle) {
        Poll::Ready(Err(err)) => assert!(err.is_panic(), "not a panic: {err:?}"),
        other => panic!("expected the panic, got {:?}", other.map(|r| r.is_ok())),
    }
}

#[test]
fn abort_of_a_parked_task_drops_its_future_and_cancels() {
    let shared = shared();
    let (drops, probe) = drop_probe(false);
    let (runnable, mut handle) = spawn::create(&shared, async move {
        let _probe = probe;
        std::future::pending::<()>().await
    });
    runnable.run(); // parks: the waker goes to the registry
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    handle.abort();
    let woken = next(&shared).expect("abort did not wake the parked task");
    woken.run();
    assert_eq!(drops.load(Ordering::SeqCst), 1, "future not dropped once");
    match poll(&mut handle) {
        Poll::Ready(Err(err)) => assert!(err.is_cancelled(), "not cancelled: {err:?}"),
        _ => panic!("aborted task did not end"),
    }
}

/// Counts its drops; panics in its destructor if `panics` is set.
struct DropProbe {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("destructor panic");
        }
    }
}

/// A probe and the count of its drops.
fn drop_probe(panics: bool) -> (Arc<AtomicUsize>, DropProbe) {
    let drops = Arc::new(AtomicUsize::new(0));
    let probe = DropProbe {
        drops: drops.clone(),
        panics,
    };
    (drops, probe)
}

#[test]
fn a_future_panicking_in_its_destructor_after_ready_is_dropped_once_and_reported() {
    let shared = shared();
    let (drops, probe) = drop_probe(true);
    let (runnable, mut handle) = spawn::create(&shared, async move {
        let _probe = probe;
        5
    });
    runnable.run();
    assert_eq!(drops.load(Ordering::SeqCst), 1, "future not dropped once");
    match poll(&mut handle) {
        Poll::Ready(Err(err)) => assert!(err.is_panic(), "not a panic: {err:?}"),
        other => panic!("expected the panic, got {:?}", other.map(|r| r.is_ok())),
    }
    assert!(handle.is_finished());
    drop(handle);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "future dropped twice");
}

#[test]
fn a_task_dropped_before_its_first_poll_drops_its_future_once() {
    let shared = shared();
    let (drops, probe) = drop_probe(false);
    let (runnable, mut handle) = spawn::create(&shared, async move {
        let _probe = probe;
    });
    drop(runnable);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "future not dropped once");
    match poll(&mut handle) {
        Poll::Ready(Err(err)) => assert!(err.is_cancelled(), "not cancelled: {err:?}"),
        _ => panic!("a dropped task did not end"),
    }
    assert_eq!(
        shared.alive.alive(),
        0,
        "the dropped task still counts as alive"
    );
}

#[test]
fn a_detached_task_frees_its_output() {
    let shared = shared();
    let value = Arc::new(());
    let v = value.clone();
    let (runnable, handle) = spawn::create(&shared, async move { v });
    drop(handle);
    runnable.run();
    assert_eq!(Arc::strong_count(&value), 1, "the detached output leaked");
}

#[test]
fn a_spill_after_shutdown_drained_the_grq_drops_its_tasks() {
    let shared = shared();
    let p = shared.pidleget(&mut shared.lock()).expect("the idle P");
    let value = Arc::new(());
    let full = crate::queue::LOCAL_QUEUE_CAPACITY;
    for _ in 0..full {
        let v = value.clone();
        let (runnable, handle) = spawn::create(&shared, async move { drop(v) });
        drop(handle);
        shared.push_tail(p, runnable);
    }
    shared.closing.store(true, Ordering::SeqCst);
    // One more push: the full LRQ spills half of itself to the GRQ, which
    // shutdown has already drained; the batch must be dropped, not queued.
    let v = value.clone();
    let (runnable, handle) = spawn::create(&shared, async move { drop(v) });
    drop(handle);
    shared.push_tail(p, runnable);
    assert_eq!(
        shared.grq.len(),
        0,
        "tasks spilled to the GRQ after shutdown drained it (they keep the runtime alive)"
    );
    shared.procs[p].drain();
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "a spilled task's future leaked"
    );
}
