//! Hand-off: an M blocked inside a poll loses its P to another M.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gmp_executor::{block_in_place, spawn, spawn_blocking, Handle, Runtime};
use gmp_reactor::time::sleep;

#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

fn one_proc() -> Runtime {
    Runtime::builder().max_procs(1).build().unwrap()
}

/// How long a blocker waits for the ticker before it gives up. Only a broken
/// hand-off gets there (the ticker cannot run until the blocker lets go of
/// its P), and then the test fails on the order instead of hanging.
const GIVE_UP: Duration = wait::PATIENCE;

/// On one P, a ticker (100 × 1 ms sleeps) starts first; then a task blocks
/// its M with `block` until the ticker has finished (`block` is given the
/// receiver the ticker signals on, and must return once it is signalled).
/// The ticker can finish only if the blocked poll's P went to another M, so
/// the order says whether it did, however slow the machine is.
fn ticker_finishes_before_the_blocker(
    block: impl FnOnce(mpsc::Receiver<()>) + Send + 'static,
) -> Runtime {
    let rt = one_proc();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    let (done_tx, done_rx) = mpsc::channel();
    rt.block_on(async move {
        let (started_tx, started_rx) = futures::channel::oneshot::channel();
        let ticker = spawn(async move {
            // Its first poll ends waiting on the first timer: with one P,
            // the blocker cannot start before that.
            let _ = started_tx.send(());
            for _ in 0..100 {
                sleep(Duration::from_millis(1)).await;
            }
            o1.lock().unwrap().push("ticker");
            let _ = done_tx.send(());
        });
        started_rx.await.expect("the ticker started");
        let blocker = spawn(async move {
            block(done_rx);
            o2.lock().unwrap().push("blocker");
        });
        ticker.await.unwrap();
        blocker.await.unwrap();
    });
    assert_eq!(
        *order.lock().unwrap(),
        vec!["ticker", "blocker"],
        "the blocked poll kept its P: the ticker on the same P could not run"
    );
    rt
}

#[test]
fn blocked_poll_loses_its_proc() {
    let rt = ticker_finishes_before_the_blocker(|done| {
        let _ = done.recv_timeout(GIVE_UP);
    });
    assert!(
        rt.metrics().proc(0).handoffs() >= 1,
        "sysmon must count the handoff"
    );
}

#[test]
fn spinning_poll_loses_its_proc() {
    let rt = ticker_finishes_before_the_blocker(|done| {
        let until = Instant::now() + GIVE_UP;
        while done.try_recv().is_err() && Instant::now() < until {
            std::hint::spin_loop();
        }
    });
    assert!(rt.metrics().proc(0).handoffs() >= 1);
}

#[test]
fn block_in_place_hands_the_proc_off_at_once() {
    let rt = ticker_finishes_before_the_blocker(|done| {
        block_in_place(|| {
            let _ = done.recv_timeout(GIVE_UP);
        })
    });
    assert!(rt.metrics().proc(0).handoffs() >= 1);
}

/// How many of the 64 blocking closures below must run at once.
const OVERLAP: usize = 32;

/// 64 blocking closures, each of which waits until [`OVERLAP`] of them run
/// at once (or the shared give-up passes): a pool that runs them in
/// parallel gets there however slowly it starts its threads; one that runs
/// them a few at a time stays below, and the test fails on the peak once
/// the give-up has passed.
#[test]
fn spawn_blocking_runs_closures_in_parallel() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new((Mutex::new(0usize), Condvar::new()));
    let give_up = Instant::now() + GIVE_UP;
    let results = rt.block_on(async {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    let (max, overlapped) = &*peak;
                    let mut max = max.lock().unwrap();
                    *max = (*max).max(now);
                    overlapped.notify_all();
                    while *max < OVERLAP {
                        let left = give_up.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        max = overlapped.wait_timeout(max, left).unwrap().0;
                    }
                    drop(max);
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    assert_eq!(results, (0..64).collect::<Vec<_>>());
    let peak = *peak.0.lock().unwrap();
    assert!(
        peak >= OVERLAP,
        "64 blocking closures must overlap (peak concurrency {peak} within {GIVE_UP:?})"
    );
}

#[test]
fn spawn_blocking_gives_the_panic() {
    let rt = one_proc();
    let err = rt
        .block_on(spawn_blocking(|| panic!("in the pool")))
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(rt.block_on(spawn_blocking(|| 5)).unwrap(), 5);
}

/// Waits until every M of the runtime is idle (parked, or blocked in the
/// reactor): the M whose poll just ended is back in the idle list, however
/// late a loaded machine ran it there.
fn until_every_m_is_idle(handle: &Handle) {
    wait_for("every M to go idle", || {
        let m = handle.metrics();
        m.idle_threads() == m.threads()
    });
}

/// 1,000 `block_in_place` polls and 5 polls that block their thread, one
/// after the other on one P: each hands the P to another M, which must be
/// an idle M reused, not a new one. Before each poll every M is idle again,
/// so an M the OS had not yet run back to the idle list (on a loaded
/// machine) cannot pass for one that was not reused.
#[test]
fn threads_are_reused_across_many_blocking_polls() {
    let rt = one_proc();
    let handle = rt.handle();
    rt.block_on(async {
        for _ in 0..1000 {
            spawn(async { block_in_place(|| std::thread::sleep(Duration::from_micros(50))) })
                .await
                .unwrap();
            until_every_m_is_idle(&handle);
        }
        for _ in 0..5 {
            spawn(async { std::thread::sleep(Duration::from_millis(15)) })
                .await
                .unwrap();
            until_every_m_is_idle(&handle);
        }
    });
    let m = rt.metrics();
    assert!(m.proc(0).handoffs() >= 1000);
    assert!(
        m.threads() <= 4,
        "idle Ms must be reused, not piled up: {} threads after 1,005 blocking polls",
        m.threads()
    );
}

#[test]
fn block_in_place_outside_a_runtime_just_runs() {
    assert_eq!(block_in_place(|| 3), 3);
}

#[test]
fn max_threads_caps_the_ms_without_crashing() {
    // 1 P, at most 2 Ms: two tasks blocked at once use both; a third must
    // wait for one of them instead of starting an M.
    let rt = Runtime::builder()
        .max_procs(1)
        .max_threads(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let finished = rt.block_on(async {
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                spawn(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let mut finished = 0;
        for h in hs {
            h.await.unwrap();
            finished += 1;
        }
        finished
    });
    assert_eq!(finished, 3, "every blocked task ran to completion");
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "max_threads(2), yet {} tasks blocked their Ms at once",
        peak.load(Ordering::SeqCst)
    );
    assert!(rt.metrics().threads() <= 2);
}

/// A task that yields right after `block_in_place` gave its P away: the
/// wake finds no P and goes to the GRQ, and the task runs again, every time.
#[test]
fn a_yield_after_block_in_place_runs_again() {
    let rt = Runtime::builder().max_procs(2).build().unwrap();
    let rounds = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let rounds = rounds.clone();
                spawn(async move {
                    for _ in 0..500 {
                        block_in_place(|| {});
                        gmp_executor::yield_now().await;
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(rounds.load(Ordering::Relaxed), 4 * 500);
    let handoffs: u64 = (0..2).map(|p| rt.metrics().proc(p).handoffs()).sum();
    assert!(
        handoffs >= 4 * 500,
        "block_in_place handed off only {handoffs} times"
    );
}

/// A task whose polls block its M and then yield, next to a task that keeps
/// the P's queue busy: each blocking poll lasts until the busy task has run
/// again, which it can only do once sysmon has taken the P, so the yield
/// (kept until the poll is over) finds the P gone at `exit_poll` and goes
/// to the GRQ. Both tasks finish. (A hand-off that never comes ends the
/// waits at the give-up, and the test fails on the count.)
#[test]
fn a_yield_from_a_poll_that_lost_its_proc_runs_again() {
    let rt = one_proc();
    rt.block_on(async {
        let stop = Arc::new(AtomicUsize::new(0));
        let busy_polls = Arc::new(AtomicUsize::new(0));
        let (stop2, polls2) = (stop.clone(), busy_polls.clone());
        let busy = spawn(async move {
            while stop2.load(Ordering::Relaxed) == 0 {
                polls2.fetch_add(1, Ordering::Relaxed);
                gmp_executor::yield_now().await;
            }
        });
        let blocker = spawn(async move {
            let give_up = Instant::now() + GIVE_UP;
            for _ in 0..10 {
                let before = busy_polls.load(Ordering::Relaxed);
                while busy_polls.load(Ordering::Relaxed) == before && Instant::now() < give_up {
                    std::thread::sleep(Duration::from_millis(1));
                }
                gmp_executor::yield_now().await;
            }
            stop.store(1, Ordering::Relaxed);
        });
        blocker.await.unwrap();
        busy.await.unwrap();
    });
    assert!(rt.metrics().proc(0).handoffs() >= 1, "no poll lost its P");
}
