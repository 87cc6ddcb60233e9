//! Stress: a million tasks woken from foreign threads, each run exactly once.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc};

use futures::channel::oneshot;
use gmp_executor::Runtime;

#[test]
fn a_million_tasks_woken_from_foreign_threads_each_run_once() {
    const TASKS: usize = 1_000_000;
    const BATCH: usize = 50_000;
    let rt = Runtime::builder().max_procs(2).build().unwrap();
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..TASKS).map(|_| AtomicU8::new(0)).collect());
    // Two foreign threads fire the wake-ups.
    let (wake_tx, wake_rx) = mpsc::channel::<Vec<oneshot::Sender<()>>>();
    let wake_rx = Arc::new(std::sync::Mutex::new(wake_rx));
    let wakers: Vec<_> = (0..2)
        .map(|_| {
            let rx = wake_rx.clone();
            std::thread::spawn(move || loop {
                let batch = match rx.lock().unwrap().recv() {
                    Ok(b) => b,
                    Err(_) => return,
                };
                for tx in batch {
                    let _ = tx.send(());
                }
            })
        })
        .collect();
    for start in (0..TASKS).step_by(BATCH) {
        let mut senders = Vec::with_capacity(BATCH);
        let mut handles = Vec::with_capacity(BATCH);
        for i in start..start + BATCH {
            let (tx, rx) = oneshot::channel();
            senders.push(tx);
            let runs = runs.clone();
            handles.push(rt.spawn(async move {
                rx.await.expect("woken by the foreign thread");
                runs[i].fetch_add(1, Ordering::Relaxed);
            }));
        }
        // Half the senders to each foreign thread.
        let second = senders.split_off(BATCH / 2);
        wake_tx.send(senders).unwrap();
        wake_tx.send(second).unwrap();
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
    }
    drop(wake_tx);
    for w in wakers {
        w.join().unwrap();
    }
    let bad: Vec<usize> = (0..TASKS)
        .filter(|&i| runs[i].load(Ordering::Relaxed) != 1)
        .take(10)
        .collect();
    assert!(
        bad.is_empty(),
        "tasks that did not run exactly once: {bad:?}"
    );
    let m = rt.metrics();
    let polls: u64 = (0..m.procs()).map(|i| m.proc(i).polls()).sum();
    assert!(
        polls >= TASKS as u64,
        "every task was polled at least once ({polls})"
    );
}
