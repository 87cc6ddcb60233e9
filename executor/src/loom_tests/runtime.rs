//! Loom models of the real runtime: `Shared`, the M loop, `wakep`,
//! `startm`, `handoffp`, sysmon's sleep, `abort` and shutdown.
//!
//! Under `--cfg gmp_loom` the Ms are loom threads (`sync::thread`), their
//! thread-local context is loom's, and the reactor is the model in
//! `netpoll.rs` (nothing is ever ready; one M at a time blocks in it until
//! notified). So each model below builds a real runtime with `Shared::new`,
//! starts M0 as `Builder::build` does, and drives it from the model's main
//! thread with the real public paths (`spawn::create` + `schedule`, `abort`,
//! `shutdown`).
//!
//! A lost wake-up shows as a deadlock, which loom reports: the main thread
//! waits for a task on a loom condition variable, and every M is parked on
//! its own (loom's `wait_timeout` never times out, so a keep-alive or a
//! reactor timeout cannot hide a missed hand-over).
//!
//! Not modelled: sysmon's thread (its sleep and wake are, below), keep-alive
//! expiry (loom cannot time out a wait), I/O.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::task::{Context, Poll, Wake, Waker};

use super::{check, DEFAULT_PREEMPTIONS, SMALL_PREEMPTIONS};
use crate::config::test_config;
use crate::sched::Shared;
use crate::spawn as spawner;
use crate::sync::{lock, thread, Arc, Condvar, Mutex, Ordering};

/// A runtime of `procs` Ps with at most `max_threads` Ms, no sysmon, and M0
/// started (as `Builder::build` does).
fn runtime(procs: usize, max_threads: usize) -> Arc<Shared> {
    let shared = bare_runtime(procs, max_threads);
    shared.start_idle(1);
    shared
}

/// [`runtime`] before M0 is started: no M at all.
fn bare_runtime(procs: usize, max_threads: usize) -> Arc<Shared> {
    Shared::new(test_config(procs, max_threads))
}

/// Wakes the model's main thread, which waits in [`block_on`].
struct Parker {
    /// Set by a wake, cleared by the waiter.
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Wake for Parker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        *lock(&self.woken) = true;
        self.cv.notify_one();
    }
}

/// Polls `future` to completion on this model thread, blocking (on loom's
/// condition variable) between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    let parker = std::sync::Arc::new(Parker {
        woken: Mutex::new(false),
        cv: Condvar::new(),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = lock(&parker.woken);
        while !*woken {
            woken = match parker.cv.wait(woken) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
        *woken = false;
    }
}

/// Spawns `future` on `shared` from a thread that is not an M (a remote
/// spawn: GRQ, then `wakep`).
fn spawn<F>(shared: &Arc<Shared>, future: F) -> crate::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (runnable, handle) = spawner::create(shared, future);
    runnable.schedule();
    handle
}

/// A remote spawn onto a 1-P runtime whose only M is on its way into the
/// reactor (or already blocked there): `wakep` → `startm` hands the P to
/// that M and notifies the reactor; the task runs.
#[test]
fn a_remote_spawn_wakes_the_m_in_the_reactor() {
    check(DEFAULT_PREEMPTIONS, || {
        let shared = runtime(1, 2);
        let out = block_on(spawn(&shared, async { 7 }));
        assert_eq!(out.ok(), Some(7), "the task did not complete");
        shared.shutdown(None);
    });
}

/// Two remote spawns onto 2 Ps, racing M0 on its way to park: both run.
#[test]
fn two_remote_spawns_on_two_procs_both_run() {
    check(SMALL_PREEMPTIONS, || {
        let shared = runtime(2, 3);
        let a = spawn(&shared, async { 1 });
        let b = spawn(&shared, async { 2 });
        assert_eq!(block_on(a).ok(), Some(1), "first task lost");
        assert_eq!(block_on(b).ok(), Some(2), "second task lost");
        shared.shutdown(None);
    });
}

/// A task that wakes a second one from inside its poll (a local push to
/// `runnext` + `wakep`) while the other P is idle: both complete.
#[test]
fn a_local_wake_from_a_poll_is_run() {
    check(SMALL_PREEMPTIONS, || {
        let shared = runtime(2, 3);
        let inner = shared.clone();
        // The inner handle travels in an `Option`: a future's output that is
        // itself a future would read as a forgotten `.await`.
        let outer = spawn(&shared, async move { Some(spawn(&inner, async { 5 })) });
        let Ok(Some(inner_handle)) = block_on(outer) else {
            panic!("outer task lost");
        };
        assert_eq!(block_on(inner_handle).ok(), Some(5), "inner task lost");
        shared.shutdown(None);
    });
}

/// `handoffp` of a P with no work while a producer pushes to the GRQ: the
/// producer saw no idle P (so woke nobody) or the re-check after `pidleput`
/// sees its task; either way the task runs.
#[test]
fn handoffp_recheck_catches_a_concurrent_global_push() {
    check(DEFAULT_PREEMPTIONS, || {
        let shared = runtime(1, 2);
        // Take the only P as sysmon's retake would have it: owned, no M.
        let p = shared.pidleget(&mut shared.lock());
        let producer = {
            let shared = shared.clone();
            thread::spawn("producer".into(), None, move || {
                let handle = spawn(&shared, async { 3 });
                assert_eq!(block_on(handle).ok(), Some(3), "task lost");
            })
            .expect("loom thread")
        };
        if let Some(p) = p {
            shared.handoffp(p);
        }
        producer.join().expect("producer panicked");
        shared.shutdown(None);
    });
}

/// sysmon's deep sleep against `pidleget`: the sleep checks "every P idle"
/// under the lock that `wake_if_sleeping` notifies under, so it never
/// sleeps through a P being taken.
#[test]
fn sysmon_deep_sleep_is_woken_when_a_proc_is_taken() {
    check(DEFAULT_PREEMPTIONS, || {
        let shared = bare_runtime(1, 1);
        let sysmon = {
            let shared = shared.clone();
            thread::spawn("sysmon".into(), None, move || {
                let procs = shared.procs.len();
                // No timeout: only `wake_if_sleeping` (or stop) ends it.
                shared
                    .sysmon
                    .sleep_while(|| shared.npidle.load(Ordering::SeqCst) == procs, None);
            })
            .expect("loom thread")
        };
        // Take the P as `wakep` does; sysmon must not sleep through it.
        let p = shared.pidleget(&mut shared.lock());
        sysmon.join().expect("sysmon panicked");
        if let Some(p) = p {
            shared.pidleput(&mut shared.lock(), p);
        }
        shared.shutdown(None);
    });
}

/// `abort` racing the task's first `Pending` (its registration in the
/// registry): the task is woken and dropped, and the handle says so.
#[test]
fn abort_racing_the_first_park_cancels_the_task() {
    check(DEFAULT_PREEMPTIONS, || {
        let shared = runtime(1, 2);
        let handle = spawn(&shared, std::future::pending::<()>());
        handle.abort();
        let err = block_on(handle).expect_err("a pending task completed");
        assert!(err.is_cancelled(), "aborted task not cancelled: {err:?}");
        shared.shutdown(None);
    });
}

/// Shutdown with a task parked and a remote spawn racing it: every future
/// is dropped exactly once and every M exits.
#[test]
fn shutdown_drops_every_future_once() {
    struct Counted(std::sync::Arc<StdAtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    check(SMALL_PREEMPTIONS, || {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let shared = runtime(1, 2);
        let parked = {
            let c = Counted(drops.clone());
            spawn(&shared, async move {
                let _c = c;
                std::future::pending::<()>().await
            })
        };
        let racer = {
            let shared = shared.clone();
            let c = Counted(drops.clone());
            thread::spawn("spawner".into(), None, move || {
                drop(spawn(&shared, async move { drop(c) }));
            })
            .expect("loom thread")
        };
        shared.shutdown(None);
        racer.join().expect("spawner panicked");
        drop(parked);
        drop(shared);
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "a future was leaked or dropped twice"
        );
    });
}
