//! Task ids, `AbortHandle`, `JoinSet`, and panics in destructors, through
//! the public API.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gmp_executor::{JoinSet, Runtime};

#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

fn runtime(procs: usize) -> Runtime {
    Runtime::builder().max_procs(procs).build().unwrap()
}

#[test]
fn task_ids_are_unique_and_equal_inside_and_outside() {
    let rt = runtime(2);
    let handles: Vec<_> = (0..1000)
        .map(|_| rt.spawn(async { gmp_executor::task::id() }))
        .collect();
    let outside: Vec<_> = handles.iter().map(|h| h.id()).collect();
    let unique: HashSet<_> = outside.iter().copied().collect();
    assert_eq!(unique.len(), outside.len(), "two tasks share an id");
    for (handle, id) in handles.into_iter().zip(outside) {
        assert_eq!(rt.block_on(handle).unwrap(), id);
    }
    // Ids of another runtime do not collide either.
    let other = runtime(1);
    let id = other.spawn(async {}).id();
    assert!(!unique.contains(&id));
    assert!(gmp_executor::task::try_id().is_none());
}

#[test]
fn task_id_is_set_in_spawn_blocking_and_absent_in_block_on() {
    let rt = runtime(1);
    let blocking = rt.spawn_blocking(gmp_executor::task::try_id);
    let id = blocking.id();
    assert_eq!(rt.block_on(blocking).unwrap(), Some(id));
    assert_eq!(rt.block_on(async { gmp_executor::task::try_id() }), None);
}

#[test]
fn abort_through_a_clone_of_the_abort_handle() {
    let rt = runtime(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    struct OnDrop(Arc<AtomicUsize>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let guard = OnDrop(dropped.clone());
    let handle = rt.spawn(async move {
        let _guard = guard;
        futures::future::pending::<()>().await
    });
    let abort = handle.abort_handle();
    assert_eq!(abort.id(), handle.id());
    let clone = abort.clone();
    std::thread::spawn(move || clone.abort()).join().unwrap();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(abort.is_finished());
}

#[test]
fn join_set_gives_results_in_completion_order() {
    let rt = runtime(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for i in 0..5u32 {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            senders.push(tx);
            set.spawn(async move {
                rx.await.unwrap();
                i
            });
        }
        assert_eq!(set.len(), 5);
        // Release them in the order 3, 1, 4, 0, 2, one at a time.
        let order = [3u32, 1, 4, 0, 2];
        let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
        for &i in &order {
            senders[i as usize].take().unwrap().send(()).unwrap();
            let got = set.join_next().await.unwrap().unwrap();
            assert_eq!(got, i);
        }
        assert!(set.join_next().await.is_none());
        assert!(set.is_empty());
    });
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    let rt = runtime(2);
    let (tx, rx) = mpsc::channel::<u32>();
    struct Report(u32, mpsc::Sender<u32>);
    impl Drop for Report {
        fn drop(&mut self) {
            let _ = self.1.send(self.0);
        }
    }
    let mut set = JoinSet::new();
    for i in 0..10 {
        let report = Report(i, tx.clone());
        set.spawn_on(
            async move {
                let _report = report;
                futures::future::pending::<()>().await
            },
            &rt.handle(),
        );
    }
    drop(tx);
    drop(set);
    let mut dropped: Vec<u32> = (0..10)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(60))
                .expect("a task was not aborted")
        })
        .collect();
    dropped.sort();
    assert_eq!(dropped, (0..10).collect::<Vec<_>>());
}

#[test]
fn join_set_shutdown_waits_until_every_task_ended() {
    let rt = runtime(2);
    let alive = Arc::new(AtomicUsize::new(0));
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            // A slow destructor: shutdown must wait for it.
            std::thread::sleep(Duration::from_millis(5));
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..8 {
            alive.fetch_add(1, Ordering::SeqCst);
            let guard = Alive(alive.clone());
            set.spawn(async move {
                let _guard = guard;
                futures::future::pending::<()>().await
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(alive.load(Ordering::SeqCst), 0, "shutdown returned early");
    });
}

#[test]
fn join_set_detach_all_lets_tasks_run_on() {
    let rt = runtime(1);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let mut set = JoinSet::new();
    set.spawn_on(
        async move {
            rx.await.unwrap();
            done_tx.send(()).unwrap();
        },
        &rt.handle(),
    );
    set.detach_all();
    assert!(set.is_empty());
    drop(set);
    tx.send(()).unwrap();
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a detached task was aborted");
}

/// A value whose destructor panics.
struct PanicOnDrop;
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panicked");
    }
}

#[test]
fn a_future_panicking_in_its_destructor_after_completion_is_a_join_error() {
    let rt = runtime(1);
    let t = rt.spawn(async {
        let _bomb = PanicOnDrop;
        std::future::ready(()).await;
        // `_bomb` lives in the future's state; the future is done here.
        7
    });
    let err = rt.block_on(t).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    // The worker goes on.
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    assert!(rt.metrics().threads() >= 1);
}

#[test]
fn an_aborted_future_panicking_in_its_destructor_does_not_abort_the_process() {
    let rt = runtime(1);
    let t = rt.spawn(async {
        let _bomb = PanicOnDrop;
        futures::future::pending::<()>().await
    });
    wait_for("the task to park", || rt.metrics().proc(0).polls() >= 1);
    t.abort();
    let err = rt.block_on(t).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
}

#[test]
fn a_detached_output_panicking_in_its_destructor_does_not_abort_the_process() {
    let rt = runtime(1);
    let (tx, rx) = mpsc::channel();
    drop(rt.spawn(async move {
        tx.send(()).unwrap();
        PanicOnDrop
    }));
    rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // The output is dropped by the worker, which goes on.
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    assert!(rt.metrics().threads() >= 1);
}

#[test]
fn a_future_panicking_in_its_destructor_at_shutdown_does_not_abort_the_process() {
    let rt = runtime(1);
    let t = rt.spawn(async {
        let _bomb = PanicOnDrop;
        futures::future::pending::<()>().await
    });
    wait_for("the task to park", || rt.metrics().proc(0).polls() >= 1);
    drop(rt);
    assert!(futures::executor::block_on(t).unwrap_err().is_cancelled());
}
