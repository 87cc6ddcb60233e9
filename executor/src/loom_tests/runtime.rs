//! Loom models of the real runtime: `Shared`, the M loop, `wakep`,
//! `startm` (and its thread cap), `handoffp`, the `needspinning` pair, an
//! idle M's keep-alive expiry, sysmon's sleep, `abort` and shutdown.
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
//! Keep-alive expiry is modelled where a model asks for it: the M's timed
//! park goes through `sync::wait_timeout`, and after
//! `sync::expire_next_timed_wait` the next such wait times out at once, at
//! whatever point loom runs it (`keep_alive_expiry_racing_startm_loses_no_proc`).
//!
//! Not modelled: sysmon's thread (its sleep and wake are, below), I/O.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::task::{Context, Poll, Wake, Waker};

use super::{
    check, check_with, DEFAULT_PREEMPTIONS, LONG_EXECUTION_BRANCHES, SMALL_PREEMPTIONS,
    TINY_PREEMPTIONS,
};
use crate::config::test_config;
use crate::sched::Shared;
use crate::spawn as spawner;
use crate::sync::{lock, thread, Arc, Condvar, Mutex, Ordering};
use crate::sysmon::state::SysmonState;

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

/// The same at the thread cap (`max_threads` 1): `startm` finds no idle M
/// while M0 is between giving its P back and joining the idle list, and
/// cannot start one. M0 then either sees the P back in the idle list (with
/// the task in the GRQ) or is in the idle list and is handed the P.
#[test]
fn a_remote_spawn_at_the_thread_cap_is_not_lost() {
    check(DEFAULT_PREEMPTIONS, || {
        let shared = runtime(1, 1);
        let out = block_on(spawn(&shared, async { 8 }));
        assert_eq!(out.ok(), Some(8), "the task did not complete");
        shared.shutdown(None);
    });
}

/// Two remote spawns onto 2 Ps, racing M0 on its way to park: both run.
#[test]
fn two_remote_spawns_on_two_procs_both_run() {
    check_with(SMALL_PREEMPTIONS, Some(LONG_EXECUTION_BRANCHES), || {
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
    check_with(SMALL_PREEMPTIONS, Some(LONG_EXECUTION_BRANCHES), || {
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

/// A task that yields: its wake waits in `Worker::yielder` until the poll is
/// over, and the owner then pushes it to the yielded ring (no `begin_push`)
/// and calls `wakep`, racing the M's own way back into its loop. The task
/// is polled again and completes.
#[test]
fn a_yield_deferred_to_the_end_of_its_poll_is_run() {
    check_with(SMALL_PREEMPTIONS, Some(LONG_EXECUTION_BRANCHES), || {
        let shared = runtime(1, 2);
        let yielder = spawn(&shared, async {
            crate::yield_now().await;
            3
        });
        assert_eq!(block_on(yielder).ok(), Some(3), "the yielder was lost");
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

/// An M reporting a long poll (`SysmonState::report_long_poll`, from
/// `machine/watch.rs`) while sysmon goes into its interval sleep: sysmon is
/// woken (loom never times the wait out, so a lost nudge is a deadlock), and
/// it sees the nudge and the reported poll.
#[test]
fn a_long_poll_report_wakes_sysmon_from_its_interval_sleep() {
    check(DEFAULT_PREEMPTIONS, || {
        let state = Arc::new(SysmonState::new(1));
        let sysmon = {
            let state = state.clone();
            thread::spawn("sysmon".into(), None, move || {
                let stopped = state.sleep(std::time::Duration::from_millis(10));
                assert!(!stopped, "sysmon saw a stop nobody asked for");
                assert!(state.take_nudge(), "sysmon woke without the nudge");
                assert_eq!(state.reported(0), Some(5), "the reported poll is lost");
            })
            .expect("loom thread")
        };
        state.report_long_poll(0, 5);
        sysmon.join().expect("sysmon panicked");
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

/// A wake from another thread racing shutdown: the thread whose wake gets
/// to the task first drops its future, and that may be the waker, not the
/// shutdown (whose own wake from the registry then finds the task scheduled
/// already). Either way `shutdown` returns only once the future is gone
/// (`Shared::wait_for_futures`; without that wait, loom finds the
/// interleaving where it returns while the waker is inside the drop).
#[test]
fn shutdown_waits_for_a_future_another_thread_is_dropping() {
    struct Counted(std::sync::Arc<StdAtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    /// The parked task's waker, and the waker of the model's main thread
    /// waiting for it.
    type Slots = Arc<Mutex<(Option<Waker>, Option<Waker>)>>;
    check(SMALL_PREEMPTIONS, || {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let shared = runtime(1, 2);
        let slots: Slots = Arc::new(Mutex::new((None, None)));
        let task = {
            let (c, slots) = (Counted(drops.clone()), slots.clone());
            spawn(
                &shared,
                std::future::poll_fn(move |cx| {
                    let _c = &c;
                    let mut s = lock(&slots);
                    s.0 = Some(cx.waker().clone());
                    if let Some(main) = s.1.take() {
                        main.wake();
                    }
                    Poll::<()>::Pending
                }),
            )
        };
        let waker = block_on(std::future::poll_fn(|cx| {
            let mut s = lock(&slots);
            match s.0.take() {
                Some(w) => Poll::Ready(w),
                None => {
                    s.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }));
        let waking =
            thread::spawn("waker".into(), None, move || waker.wake()).expect("loom thread");
        shared.shutdown(None);
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "shutdown returned before the task's future was dropped"
        );
        waking.join().expect("the waking thread panicked");
        drop(task);
        drop(slots);
        drop(shared);
    });
}

/// A gate a task can block its M on (a blocking call inside a poll), opened
/// by another task.
struct Gate {
    /// Opened once, by `open`.
    open: Mutex<bool>,
    /// Signalled by `open`.
    cv: Condvar,
}

impl Gate {
    fn new() -> Arc<Self> {
        Arc::new(Gate {
            open: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    fn open(&self) {
        *lock(&self.open) = true;
        self.cv.notify_all();
    }

    /// Blocks this thread (an M, inside a poll) until `open`.
    fn wait(&self) {
        let mut open = lock(&self.open);
        while !*open {
            open = match self.cv.wait(open) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }
}

/// The `needspinning` Dekker pair: a task on one P wakes two tasks locally
/// (the second displaces the first from `runnext` to the LRQ; each push
/// calls `wakep`) and then blocks its M until the displaced one has run, so
/// only another M can run it. When both Ps are busy, `wakep` finds no idle P
/// and sets `needspinning`, while the other M, not spinning, may be giving
/// its P back at that moment: it must see the request (`give_back_p`'s
/// re-read after publishing the idle P) or `wakep` must see the idle P (its
/// re-read of `npidle`). Were both to miss, the P would go idle with the
/// task stranded (in this model: a deadlock, as sysmon does not run).
#[test]
fn a_wakep_that_finds_no_idle_proc_is_not_lost_to_an_m_going_idle() {
    // The old one-sided code deadlocks here with one preemption.
    check_with(TINY_PREEMPTIONS, Some(LONG_EXECUTION_BRANCHES), || {
        let shared = runtime(2, 3);
        let inner = shared.clone();
        let outer = spawn(&shared, async move {
            let gate = Gate::new();
            let displaced = {
                let gate = gate.clone();
                spawn(&inner, async move { gate.open() })
            };
            let next = spawn(&inner, async { 2 });
            // Block this M: the displaced task must run elsewhere.
            gate.wait();
            Some((displaced, next))
        });
        let Ok(Some((displaced, next))) = block_on(outer) else {
            panic!("blocking task lost");
        };
        assert!(block_on(displaced).is_ok(), "displaced task lost");
        assert_eq!(block_on(next).ok(), Some(2), "runnext task lost");
        shared.shutdown(None);
    });
}

/// An idle M's keep-alive expires while a remote spawn's `wakep` →
/// `startm` picks it to hand it a P. loom's waits never time out, so
/// `sync::expire_next_timed_wait` makes the M's timed park time out at once,
/// which loom then places anywhere against `startm`'s pick and hand-over.
/// A model thread blocks in the reactor with the runtime's token, standing
/// in for a second M there, so that M0 parks on its condition variable with
/// the keep-alive as timeout. M0 either leaves the idle list first and exits
/// (`startm` then starts M1), or finds itself taken off the list and waits
/// for the P: the task runs, no P is lost, and once shut down no M is
/// counted, listed or idle.
#[test]
fn keep_alive_expiry_racing_startm_loses_no_proc() {
    check_with(SMALL_PREEMPTIONS, Some(LONG_EXECUTION_BRANCHES), || {
        crate::sync::expire_next_timed_wait();
        let shared = bare_runtime(1, 2);
        let token = Arc::as_ptr(&shared) as usize;
        let poller = thread::spawn("reactor".into(), None, move || {
            let mut wakers = Vec::new();
            // Blocks until notified, unless an M got there first.
            let _ = crate::netpoll::get().try_poll_unless(token, None, &mut wakers, &|| false);
        })
        .expect("loom thread");
        shared.start_idle(1);
        let out = block_on(spawn(&shared, async { 9 }));
        assert_eq!(out.ok(), Some(9), "the task did not complete");
        shared.shutdown(None);
        // The stand-in may have reached the reactor after the Ms consumed
        // shutdown's notification.
        crate::netpoll::get().notify();
        poller.join().expect("poller panicked");
        assert_eq!(
            shared.nthreads.load(Ordering::SeqCst),
            0,
            "an M is still counted"
        );
        let sched = shared.lock();
        assert_eq!(sched.idle_procs.len(), 1, "a P was lost");
        assert!(sched.all_ms.is_empty(), "an exited M is still listed");
        assert!(sched.idle_ms.is_empty(), "an exited M is still idle");
        drop(sched);
        assert!(lock(&shared.threads).is_empty(), "a join handle was left");
    });
}
