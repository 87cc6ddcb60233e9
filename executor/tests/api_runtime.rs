//! `Handle::enter`, `spawn_blocking` and `block_in_place` contexts,
//! `shutdown_background`, thread hooks and `alive_tasks`, through the public
//! API.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gmp_executor::{Handle, Runtime};

#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

fn runtime(procs: usize) -> Runtime {
    Runtime::builder().max_procs(procs).build().unwrap()
}

/// Whether `handle` is the runtime with `procs` Ps (the tests give each
/// runtime a distinct size).
fn is_runtime(handle: Option<Handle>, procs: usize) -> bool {
    handle.is_some_and(|h| h.metrics().procs() == procs)
}

#[test]
fn enter_guard_on_a_plain_thread_makes_spawn_use_that_runtime() {
    let rt = runtime(3);
    let handle = rt.handle();
    std::thread::spawn(move || {
        assert!(Handle::try_current().is_none());
        let guard = handle.enter();
        assert!(is_runtime(Handle::try_current(), 3));
        let t = gmp_executor::spawn(async { Handle::current().metrics().procs() });
        let blocking = gmp_executor::spawn_blocking(|| Handle::current().metrics().procs());
        assert_eq!(handle.block_on(t).unwrap(), 3);
        assert_eq!(handle.block_on(blocking).unwrap(), 3);
        drop(guard);
        assert!(Handle::try_current().is_none());
    })
    .join()
    .unwrap();
}

#[test]
fn enter_guards_nest() {
    let a = runtime(2);
    let b = runtime(4);
    let ga = a.enter();
    assert!(is_runtime(Handle::try_current(), 2));
    {
        let _gb = b.enter();
        assert!(is_runtime(Handle::try_current(), 4));
        // block_on inside a guard is allowed and keeps the guard's runtime.
        assert_eq!(b.block_on(async { Handle::current().metrics().procs() }), 4);
    }
    assert!(is_runtime(Handle::try_current(), 2));
    drop(ga);
    assert!(Handle::try_current().is_none());
}

#[test]
fn enter_guards_dropped_out_of_order_leave_the_innermost_alive_one_current() {
    let a = runtime(7);
    let b = runtime(8);
    std::thread::spawn(move || {
        let outer = a.enter();
        let inner = b.enter();
        drop(outer);
        assert!(is_runtime(Handle::try_current(), 8));
        drop(inner);
        assert!(Handle::try_current().is_none());
        let outer = a.enter();
        let inner = b.enter();
        drop(inner);
        assert!(is_runtime(Handle::try_current(), 7));
        drop(outer);
        assert!(Handle::try_current().is_none());
    })
    .join()
    .unwrap();
}

#[test]
fn spawn_blocking_on_runtime_and_handle_runs_in_that_runtime() {
    let rt = runtime(5);
    let on_runtime = rt.spawn_blocking(|| {
        let inner = gmp_executor::spawn(async { Handle::current().metrics().procs() });
        (Handle::try_current().map(|h| h.metrics().procs()), inner)
    });
    let (current, inner) = rt.block_on(on_runtime).unwrap();
    assert_eq!(current, Some(5), "no runtime context inside spawn_blocking");
    assert_eq!(
        rt.block_on(inner).unwrap(),
        5,
        "gmp::spawn used another runtime"
    );
    let on_handle = rt
        .handle()
        .spawn_blocking(|| Handle::try_current().map(|h| h.metrics().procs()));
    assert_eq!(rt.block_on(on_handle).unwrap(), Some(5));
}

#[test]
fn block_in_place_runs_in_the_tasks_runtime() {
    let rt = runtime(6);
    let t = rt.spawn(async {
        gmp_executor::block_in_place(|| {
            let inner = gmp_executor::spawn(async { Handle::current().metrics().procs() });
            (Handle::try_current().map(|h| h.metrics().procs()), inner)
        })
    });
    let (current, inner) = rt.block_on(t).unwrap();
    assert_eq!(current, Some(6));
    assert_eq!(rt.block_on(inner).unwrap(), 6);
}

#[test]
fn shutdown_background_returns_with_a_poll_stuck() {
    let rt = runtime(1);
    let release = Arc::new(AtomicBool::new(false));
    let (entered_tx, entered_rx) = mpsc::channel();
    let r = release.clone();
    let stuck = rt.spawn(async move {
        entered_tx.send(()).unwrap();
        // A poll that blocks its thread until the test releases it.
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let parked = rt.spawn(futures::future::pending::<()>());
    entered_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // Returns although the poll is still stuck (it is released only below).
    rt.shutdown_background();
    assert!(!release.load(Ordering::SeqCst));
    release.store(true, Ordering::SeqCst);
    // The stuck poll ends; the background shutdown finishes the teardown:
    // the parked task's future is dropped.
    assert!(futures::executor::block_on(parked)
        .unwrap_err()
        .is_cancelled());
    let _ = futures::executor::block_on(stuck);
}

#[test]
fn thread_hooks_run_on_blocking_threads() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .max_procs(1)
        .max_blocking_threads(4)
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let names: Vec<_> = (0..4)
        .map(|_| {
            rt.spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(20));
                std::thread::current().name().map(str::to_owned)
            })
        })
        .collect();
    for n in names {
        assert!(rt.block_on(n).unwrap().unwrap().contains("blocking"));
    }
    let pool = rt.metrics().blocking_threads();
    assert!(pool >= 1);
    assert!(started.load(Ordering::SeqCst) >= pool);
    drop(rt);
    assert_eq!(
        started.load(Ordering::SeqCst),
        stopped.load(Ordering::SeqCst),
        "every thread that started stopped"
    );
    wait_for("the counts to settle", || {
        stopped.load(Ordering::SeqCst) >= pool
    });
}

#[test]
fn thread_hooks_run_on_every_m_start_and_stop() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .max_procs(2)
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    // Each task sees that the hook ran on its thread before it.
    let tasks: Vec<_> = (0..8)
        .map(|_| rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
        .collect();
    for t in tasks {
        assert!(rt.block_on(t).unwrap().is_some());
    }
    assert!(
        started.load(Ordering::SeqCst) >= 1,
        "no M ran the start hook"
    );
    let before = started.load(Ordering::SeqCst);
    drop(rt);
    let after = started.load(Ordering::SeqCst);
    assert!(after >= before);
    assert_eq!(
        after,
        stopped.load(Ordering::SeqCst),
        "every M that ran the start hook ran the stop hook"
    );
}

#[test]
fn alive_tasks_go_up_and_back_to_zero() {
    let rt = runtime(2);
    assert_eq!(rt.metrics().alive_tasks(), 0);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let _ = rx.await;
            })
        })
        .collect();
    let blocking = rt.spawn_blocking(|| std::thread::sleep(Duration::from_millis(1)));
    assert!(rt.metrics().alive_tasks() >= 100);
    assert!(rt.metrics().alive_tasks() <= 101);
    tx.send(()).unwrap();
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    rt.block_on(blocking).unwrap();
    assert_eq!(rt.metrics().alive_tasks(), 0);
    // Aborted and panicked tasks end too.
    let parked = rt.spawn(futures::future::pending::<()>());
    let panicked = rt.spawn(async { panic!("boom") });
    parked.abort();
    assert!(rt.block_on(parked).is_err());
    assert!(rt.block_on(panicked).is_err());
    assert_eq!(rt.metrics().alive_tasks(), 0);
}
