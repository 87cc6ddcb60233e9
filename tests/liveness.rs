//! Liveness: no runnable task waits for ever behind others.
//!
//! Each test counts what a starved task managed to do while other tasks kept
//! the P busy for a fixed amount of work (never a wall-clock threshold).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Round trips of the ping-pong pair, and links of the spawn chain.
const ROUNDS: u64 = 100_000;

/// Runs `busy` on a 1-P runtime next to a task that loops on `yield_now`,
/// and returns how many times the yielder ran while `busy` did.
fn yields_during<F>(busy: impl FnOnce() -> F + Send + 'static) -> u64
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = gmp::Runtime::builder().max_procs(1).build().unwrap();
    let yields = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let yielder = {
            let (yields, stop) = (yields.clone(), stop.clone());
            gmp::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    yields.fetch_add(1, Ordering::Relaxed);
                    gmp::yield_now().await;
                }
            })
        };
        // Let the yielder start before the busy work does.
        while yields.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        let start = yields.load(Ordering::Relaxed);
        gmp::spawn(busy()).await.unwrap();
        let during = yields.load(Ordering::Relaxed) - start;
        stop.store(true, Ordering::Relaxed);
        yielder.await.unwrap();
        during
    })
}

#[test]
fn a_yielder_runs_while_a_runnext_pair_ping_pongs() {
    let during = yields_during(|| async {
        let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
        let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
        let pong = gmp::spawn(async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v).await.unwrap();
            }
        });
        for i in 0..ROUNDS {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await.unwrap(), i);
        }
        drop(ping_tx);
        pong.await.unwrap();
    });
    // Each round trip is two runnext hand-offs; a yielder served once every
    // 61 polls gets thousands of turns. Starved, it got none or one.
    assert!(
        during >= ROUNDS / 100,
        "the yielder ran {during} times during {ROUNDS} ping-pong round trips: a runnext chain starved the yielded ring"
    );
}

#[test]
fn a_yielder_runs_while_a_task_keeps_spawning_its_successor() {
    fn link(left: u64, last: async_channel::Sender<()>) {
        drop(gmp::spawn(async move {
            if left == 0 {
                last.send(()).await.unwrap();
            } else {
                link(left - 1, last);
            }
        }));
    }
    let during = yields_during(|| async {
        let (last, done) = async_channel::bounded(1);
        link(ROUNDS, last);
        done.recv().await.unwrap();
    });
    assert!(
        during >= ROUNDS / 100,
        "the yielder ran {during} times during a chain of {ROUNDS} spawns: runnext starved the yielded ring"
    );
}
