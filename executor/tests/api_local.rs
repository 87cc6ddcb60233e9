//! `spawn_local`: `!Send` futures run by the thread inside `block_on`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use gmp_executor::Runtime;

#[test]
fn spawn_local_runs_an_rc_future_on_the_block_on_thread() {
    let rt = Runtime::builder().max_procs(2).build().unwrap();
    let here = std::thread::current().id();
    let counter = Rc::new(Cell::new(0));
    let total = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..10 {
            let c = counter.clone();
            handles.push(gmp_executor::spawn_local(async move {
                // Woken from an M of the runtime, polled again here.
                let from_m = gmp_executor::spawn(async move { i }).await.unwrap();
                gmp_executor::yield_now().await;
                assert_eq!(std::thread::current().id(), here, "a local task moved");
                c.set(c.get() + from_m);
                from_m
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, 45);
    assert_eq!(counter.get(), 45);
}

#[test]
fn pending_local_tasks_are_cancelled_on_the_block_on_thread_when_it_returns() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    /// Not `Send` (the `Rc`); reports the thread it is dropped on.
    struct Report {
        _not_send: Rc<()>,
        tx: mpsc::Sender<std::thread::ThreadId>,
    }
    impl Drop for Report {
        fn drop(&mut self) {
            self.tx.send(std::thread::current().id()).unwrap();
        }
    }
    let handle = rt.block_on(async {
        let report = Report {
            _not_send: Rc::new(()),
            tx,
        };
        let t = gmp_executor::spawn_local(async move {
            let _report = report;
            futures::future::pending::<()>().await
        });
        gmp_executor::yield_now().await;
        // Hand the handle out of block_on (a plain value, not awaited here).
        Some(t)
    });
    let handle = handle.unwrap();
    let dropped_on = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(dropped_on, std::thread::current().id());
    assert!(futures::executor::block_on(handle)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn a_local_task_can_be_aborted_and_can_panic() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    rt.block_on(async {
        let parked = gmp_executor::spawn_local(futures::future::pending::<()>());
        gmp_executor::yield_now().await;
        parked.abort();
        assert!(parked.await.unwrap_err().is_cancelled());
        let panicked = gmp_executor::spawn_local(async { panic!("local boom") });
        assert!(panicked.await.unwrap_err().is_panic());
    });
    assert_eq!(rt.metrics().alive_tasks(), 0);
}

#[test]
fn spawn_local_outside_block_on_panics_saying_so() {
    let err = std::panic::catch_unwind(|| drop(gmp_executor::spawn_local(async {}))).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("outside block_on"), "{msg}");
}
