//! What one `JoinSet` completion costs at 1,000, 10,000 and 100,000 members.
//!
//! Each round spawns `n` tasks into a `JoinSet`, each parked on its own
//! oneshot channel; once all are parked, the channels are fired and the
//! clock runs while `join_next` collects the `n` results. A set that polled
//! every member on each `join_next` would cost O(n) per completion (the
//! 100k figure a hundred times the 1k one); gmp's polls only the woken
//! members, so the cost per completion stays flat.
//!
//! Prints, per size, the median over the rounds (and the min–max) of the
//! process CPU time (summed from `/proc/self/task/*/schedstat`, robust to a
//! loaded machine) and of the wall time, each divided by `n`. The sizes are
//! interleaved round by round.
//!
//! ```text
//! cargo run --release -p gmp-executor --example join_set [rounds]
//! ```

use std::time::Instant;

use gmp_executor::{JoinSet, Runtime};

/// CPU time of the process's threads in nanoseconds: the sum of the first
/// field of `/proc/self/task/*/schedstat` (nanosecond resolution; threads
/// that exited meanwhile are not counted, and the runtime's keep theirs).
fn cpu_ns() -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let path = entry.expect("task entry").path().join("schedstat");
        if let Ok(stat) = std::fs::read_to_string(path) {
            total += stat
                .split_whitespace()
                .next()
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// One round with `n` members: (CPU ns, wall ns) per completion.
fn round(rt: &Runtime, n: usize) -> (f64, f64) {
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            senders.push(tx);
            set.spawn(async move {
                let _ = rx.await;
                i
            });
        }
        // Let every member run once and park.
        while rt.metrics().global_queue_depth() > 0 || rt.metrics().proc(0).local_queue_depth() > 0
        {
            gmp_executor::yield_now().await;
        }
        let (cpu0, wall0) = (cpu_ns(), Instant::now());
        for tx in senders {
            let _ = tx.send(());
        }
        let mut sum = 0usize;
        while let Some(res) = set.join_next().await {
            sum += res.expect("member task");
        }
        let (cpu, wall) = (cpu_ns() - cpu0, wall0.elapsed().as_nanos() as u64);
        assert_eq!(sum, n * (n - 1) / 2);
        (cpu as f64 / n as f64, wall as f64 / n as f64)
    })
}

/// Median, min and max of `v`.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let rt = Runtime::builder().max_procs(1).build().expect("runtime");
    let sizes = [1_000usize, 10_000, 100_000];
    let mut results = vec![(Vec::new(), Vec::new()); sizes.len()];
    round(&rt, 1_000); // warm-up
    for _ in 0..rounds {
        for (i, &n) in sizes.iter().enumerate() {
            let (cpu, wall) = round(&rt, n);
            results[i].0.push(cpu);
            results[i].1.push(wall);
        }
    }
    println!("JoinSet, 1 P, {rounds} rounds interleaved; per completion: median (min-max)");
    println!("{:>8}  {:>26}  {:>26}", "members", "CPU ns", "wall ns");
    for (i, &n) in sizes.iter().enumerate() {
        let (c, cmin, cmax) = stats(results[i].0.clone());
        let (w, wmin, wmax) = stats(results[i].1.clone());
        println!("{n:>8}  {c:>8.0} ({cmin:>6.0}-{cmax:>6.0})  {w:>8.0} ({wmin:>6.0}-{wmax:>6.0})");
    }
}
