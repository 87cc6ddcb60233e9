//! Go's vocabulary in gmp: the notes' WaitGroup program, an unbuffered
//! ping-pong (and where it ran), and a fan-in with `select!`.
//!
//! ```text
//! cargo run --release --example goroutines
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::{select_biased, StreamExt};
use gmp::chan;
use gmp::sync::WaitGroup;
use gmp::{Metrics, Runtime};

fn main() -> std::io::Result<()> {
    let rt = Runtime::builder().max_procs(2).build()?;
    count_to_1000(&rt);
    ping_pong(&rt);
    fan_in(&rt);
    Ok(())
}

/// The notes' program: one task counts to 1,000 while `main` waits.
///
/// ```go
/// var wg sync.WaitGroup
/// wg.Add(1)
/// go func() { for i := 1; i <= 1000; i++ { n = i }; wg.Done() }()
/// wg.Wait()
/// ```
fn count_to_1000(rt: &Runtime) {
    println!("== a task counts to 1,000; main waits on a WaitGroup");
    let wg = WaitGroup::new();
    let n = Arc::new(AtomicU64::new(0));
    wg.add(1);
    {
        let (wg, n) = (wg.clone(), n.clone());
        rt.spawn(async move {
            for i in 1..=1000 {
                n.store(i, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    rt.block_on(wg.wait());
    println!(
        "   wait() returned with the counter at {}\n",
        n.load(Ordering::Relaxed)
    );
}

/// Per-P polls and steals, as one line.
fn per_p(m: &Metrics) -> Vec<(u64, u64)> {
    (0..m.procs())
        .map(|i| (m.proc(i).polls(), m.proc(i).steals()))
        .collect()
}

/// Two tasks, spawned from outside, bounce a counter over two unbuffered
/// channels. Every hand-off wakes the peer from inside the sender's poll,
/// so the peer becomes this P's `runnext` (Go's `goready`).
fn ping_pong(rt: &Runtime) {
    const ROUNDS: u64 = 200_000;
    println!("== unbuffered ping-pong, {ROUNDS} round trips, 2 Ps");
    let (ping_tx, ping_rx) = chan::bounded::<u64>(0);
    let (pong_tx, pong_rx) = chan::bounded::<u64>(0);
    let before = per_p(&rt.metrics());
    let start = Instant::now();
    let echo = rt.spawn(async move {
        while let Ok(v) = ping_rx.recv().await {
            if pong_tx.send(v + 1).await.is_err() {
                break;
            }
        }
    });
    let pinger = rt.spawn(async move {
        let mut v = 0;
        for _ in 0..ROUNDS {
            ping_tx.send(v).await.expect("echo is alive");
            v = pong_rx.recv().await.expect("echo answers");
        }
        v
    });
    let v = rt.block_on(pinger).expect("the pinger finished");
    rt.block_on(echo).expect("the echo saw the close");
    let elapsed = start.elapsed();
    let after = per_p(&rt.metrics());
    println!(
        "   counter = {v}; {:.0} ns per round trip (wall clock, this run)",
        elapsed.as_nanos() as f64 / ROUNDS as f64
    );
    let mut polls = 0;
    let mut steals = 0;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        println!("   P{i}: {} polls, {} steals", a.0 - b.0, a.1 - b.1);
        polls += a.0 - b.0;
        steals += a.1 - b.1;
    }
    println!(
        "   {:.2} polls per round trip (2 = each hand-off ran the peer once);",
        polls as f64 / ROUNDS as f64
    );
    println!(
        "   {steals} steals: the pair ran on one P for ~{} round trips at a stretch\n",
        ROUNDS / steals.max(1)
    );
}

/// Two producers, one consumer choosing with `select!` (random among ready
/// branches, as Go's `select`), then a `select` with a `default` arm.
fn fan_in(rt: &Runtime) {
    println!("== fan-in: two producers, one select! loop");
    let (fast_tx, mut fast_rx) = chan::bounded::<&'static str>(0);
    let (slow_tx, mut slow_rx) = chan::bounded::<&'static str>(0);
    rt.spawn(async move {
        for _ in 0..6 {
            fast_tx.send("fast").await.expect("consumer alive");
        }
    });
    rt.spawn(async move {
        for _ in 0..3 {
            slow_tx.send("slow").await.expect("consumer alive");
            gmp::yield_now().await;
        }
    });
    let (fast, slow) = rt.block_on(async {
        let (mut fast, mut slow) = (0, 0);
        loop {
            futures::select! {
                v = fast_rx.next() => if v.is_some() { fast += 1 },
                v = slow_rx.next() => if v.is_some() { slow += 1 },
                complete => break,
            }
        }
        (fast, slow)
    });
    println!("   received {fast} from fast and {slow} from slow; both closed\n");

    println!("== select with default (Go's `select {{ case v := <-ch: .. default: .. }}`)");
    let (tx, rx) = chan::bounded::<u32>(1);
    let poll_once = |rx: &chan::Receiver<u32>| {
        rt.block_on(async {
            select_biased! {
                v = rx.recv() => format!("got {v:?}"),
                default => "default: nothing ready".to_string(),
            }
        })
    };
    println!("   empty channel:  {}", poll_once(&rx));
    tx.try_send(42).expect("room for one");
    println!("   after a send:   {}", poll_once(&rx));
}
