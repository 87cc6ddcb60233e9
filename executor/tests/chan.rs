//! `gmp::chan` and `WaitGroup` on a real runtime: the 8 × 8 stress over
//! `cap = 0` and `cap = 16` (every value received exactly once), the same
//! with sends and receives dropped pending as `select!` losers (cancel-safety), ping-pong,
//! `select!` fan-in, and the notes' WaitGroup program.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::FusedFuture;
use futures::{FutureExt, StreamExt};
use gmp_executor::chan::{self, RecvError};
use gmp_executor::{Runtime, WaitGroup};
use gmp_reactor::time::timeout;

/// The liveness bound of every test here: far above what the work needs,
/// there only to turn a lost wake-up into a failure with a message.
const BOUND: Duration = Duration::from_secs(120);

fn runtime(procs: usize) -> Runtime {
    Runtime::builder()
        .max_procs(procs)
        .build()
        .expect("a runtime with 2 or 4 procs")
}

/// Counts, per value, how many times it was received.
struct Tally(Vec<AtomicU8>);

impl Tally {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Tally((0..n).map(|_| AtomicU8::new(0)).collect()))
    }

    fn got(&self, v: usize) {
        self.0[v].fetch_add(1, Ordering::Relaxed);
    }

    #[track_caller]
    fn assert_each_once(&self, what: &str) {
        let bad: Vec<(usize, u8)> = (self.0.iter().map(|c| c.load(Ordering::Relaxed)))
            .enumerate()
            .filter(|&(_, n)| n != 1)
            .take(5)
            .collect();
        assert!(bad.is_empty(), "{what}: (value, times received) {bad:?}");
    }
}

/// Counts the sends and receives `or_cancel` dropped.
static CANCELLED: AtomicUsize = AtomicUsize::new(0);

/// Races `f` against `yields` calls of `yield_now` (`f` is polled first):
/// `None` if the yields won and `f` was dropped pending — the losing branch
/// of a `select!`, as a timeout would make it, but independent of timers.
async fn or_cancel<F: FusedFuture + Unpin>(mut f: F, yields: usize) -> Option<F::Output> {
    let mut cancel = Box::pin(
        async {
            for _ in 0..yields {
                gmp_executor::yield_now().await;
            }
        }
        .fuse(),
    );
    futures::select_biased! {
        r = f => Some(r),
        () = cancel => {
            CANCELLED.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// 8 producers × 8 consumers over one channel of capacity `cap`; with
/// `cancel = Some(k)`, every send and receive races up to `k` yields and is
/// retried when it loses (its value was then not sent / not taken).
fn mpmc(cap: usize, per_producer: usize, cancel: Option<usize>) {
    const P: usize = 8;
    const C: usize = 8;
    let rt = runtime(4);
    let tally = Tally::new(P * per_producer);
    let (tx, rx) = chan::bounded::<usize>(cap);
    let producers: Vec<_> = (0..P)
        .map(|p| {
            let tx = tx.clone();
            rt.spawn(async move {
                for v in p * per_producer..(p + 1) * per_producer {
                    loop {
                        let sent = match cancel {
                            None => tx.send(v).await.map(|()| true),
                            Some(k) => match or_cancel(tx.send(v), v % k).await {
                                Some(r) => r.map(|()| true),
                                None => Ok(false), // not sent: send it again
                            },
                        };
                        if sent.expect("the channel stays open while producing") {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..C)
        .map(|_| {
            let (rx, tally) = (rx.clone(), tally.clone());
            rt.spawn(async move {
                for round in 0.. {
                    let got = match cancel {
                        None => rx.recv().await,
                        Some(k) => match or_cancel(rx.recv(), 1 + round % k).await {
                            Some(r) => r,
                            None => continue, // nothing taken (or given back)
                        },
                    };
                    match got {
                        Ok(v) => tally.got(v),
                        Err(RecvError) => return,
                    }
                }
            })
        })
        .collect();
    drop(rx);
    rt.block_on(async {
        timeout(BOUND, async {
            for h in producers.into_iter().chain(consumers) {
                h.await.expect("producer/consumer task");
            }
        })
        .await
        .expect("the 8 × 8 run did not finish: a lost wake-up?");
    });
    tally.assert_each_once(&format!("cap {cap}, cancel {cancel:?}"));
    if cancel.is_some() {
        eprintln!(
            "cap {cap}: {} sends/receives dropped pending so far",
            CANCELLED.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn stress_8x8_unbuffered_every_value_once() {
    mpmc(0, 5_000, None);
}

#[test]
fn stress_8x8_cap16_every_value_once() {
    mpmc(16, 5_000, None);
}

#[test]
fn stress_8x8_unbuffered_with_cancellation_every_value_once() {
    mpmc(0, 2_000, Some(3));
}

#[test]
fn stress_8x8_cap16_with_cancellation_every_value_once() {
    mpmc(16, 2_000, Some(2));
}

#[test]
fn unbuffered_ping_pong_between_two_tasks() {
    const ROUNDS: u64 = 20_000;
    let rt = runtime(2);
    let (ping_tx, ping_rx) = chan::bounded::<u64>(0);
    let (pong_tx, pong_rx) = chan::bounded::<u64>(0);
    let echo = rt.spawn(async move {
        let mut n = 0;
        while let Ok(v) = ping_rx.recv().await {
            pong_tx.send(v + 1).await.expect("the pinger is waiting");
            n += 1;
        }
        n
    });
    let pinger = rt.spawn(async move {
        let mut v = 0;
        for _ in 0..ROUNDS {
            ping_tx.send(v).await.expect("the echo is waiting");
            v = pong_rx.recv().await.expect("the echo answers");
        }
        v
    });
    let (v, n) = rt.block_on(async {
        timeout(BOUND, async {
            (pinger.await.unwrap(), echo.await.unwrap())
        })
        .await
        .expect("ping-pong stalled")
    });
    assert_eq!(v, ROUNDS, "each round added one");
    assert_eq!(
        n, ROUNDS,
        "the echo answered every ping, then saw the close"
    );
}

#[test]
fn select_fans_in_two_channels() {
    let rt = runtime(2);
    let (a_tx, a_rx) = chan::bounded::<u32>(0);
    let (b_tx, b_rx) = chan::bounded::<u32>(0);
    rt.spawn(async move {
        for i in 0..100 {
            a_tx.send(i).await.unwrap();
        }
    });
    rt.spawn(async move {
        for i in 100..200 {
            b_tx.send(i).await.unwrap();
        }
    });
    let mut got = rt.block_on(async {
        timeout(BOUND, async {
            let mut got = Vec::new();
            let (mut a_rx, mut b_rx) = (a_rx, b_rx);
            // Receivers are fused streams: `complete` fires once both are
            // closed and drained.
            loop {
                futures::select! {
                    v = a_rx.next() => got.extend(v),
                    v = b_rx.next() => got.extend(v),
                    complete => break,
                }
            }
            got
        })
        .await
        .expect("fan-in stalled")
    });
    got.sort_unstable();
    assert_eq!(got, (0..200).collect::<Vec<_>>(), "every value once");
}

#[test]
fn the_notes_program_counts_to_1000_while_main_waits() {
    let rt = runtime(2);
    let count = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    wg.add(1);
    {
        let (wg, count) = (wg.clone(), count.clone());
        rt.spawn(async move {
            for _ in 0..1000 {
                count.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    rt.block_on(async {
        timeout(BOUND, wg.wait())
            .await
            .expect("wait never returned")
    });
    assert_eq!(count.load(Ordering::Relaxed), 1000);
}

#[test]
fn wait_group_waits_for_a_hundred_tasks() {
    let rt = runtime(2);
    let wg = WaitGroup::new();
    let (tx, rx) = chan::bounded::<usize>(100);
    for i in 0..100 {
        wg.add(1);
        let (wg, tx) = (wg.clone(), tx.clone());
        rt.spawn(async move {
            tx.send(i).await.unwrap();
            wg.done();
        });
    }
    drop(tx);
    rt.block_on(async {
        timeout(BOUND, wg.wait()).await.expect("wait stalled");
    });
    assert_eq!(wg.count(), 0);
    assert_eq!(rx.len(), 100, "every task sent before wait returned");
}

#[test]
fn handles_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<chan::Sender<String>>();
    send_sync::<chan::Receiver<String>>();
    send_sync::<WaitGroup>();
    let (tx, rx) = chan::bounded::<String>(1);
    let wg = WaitGroup::new();
    send(&tx.send(String::new()));
    send(&rx.recv());
    send(&wg.wait());
    assert_eq!(
        rx.try_recv(),
        Err(chan::TryRecvError::Empty),
        "nothing was polled"
    );
}
