//! How long a parked thread takes to run again after `unpark`, by how long
//! it had been parked: the floor under any workload that hands work from
//! one parked thread to another (`chained_spawn` from `block_on`, whose
//! every iteration wakes a parked M and then the `block_on` thread).
//!
//! ```text
//! wake-latency [IDLE_US ...]      # default: 5 50 150 500
//! ```
//!
//! For each idle time, 2,000 rounds: the waiter parks; the main thread
//! busy-waits that long, stamps the time and unparks it; the waiter reads
//! the clock when it runs. Prints the 10th, 50th and 90th percentiles and
//! the mean of the rounds.
//! On the 2-vCPU VM of `docs/benchmarks.md` the median is 8–18 µs for a
//! thread parked ~5 µs and 25–40 µs for one parked 50–500 µs: by then its
//! vCPU has gone idle and has to be woken too. (With an idle time of 0 the
//! waiter has often not parked yet, so that row measures little.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Rounds per idle time.
const ROUNDS: usize = 2000;

fn main() {
    let idles: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse().unwrap_or_else(|_| {
                eprintln!("wake-latency: {a:?} is not a number of microseconds");
                std::process::exit(2)
            })
        })
        .collect();
    let idles = if idles.is_empty() {
        vec![5, 50, 150, 500]
    } else {
        idles
    };
    for idle in idles {
        let mut lat = measure(Duration::from_micros(idle));
        lat.sort_unstable();
        let mean = lat.iter().sum::<u64>() as f64 / lat.len() as f64;
        let at = |q: usize| lat[(lat.len() - 1) * q / 100] as f64 / 1e3;
        println!(
            "parked ~{idle} us: wake-up latency p10 {:.1} us, median {:.1} us, \
             p90 {:.1} us, mean {:.1} us",
            at(10),
            at(50),
            at(90),
            mean / 1e3
        );
    }
}

/// The latency of each round, in ns, for one idle time.
fn measure(idle: Duration) -> Vec<u64> {
    let base = Instant::now();
    // The unpark's time in ns since `base`, plus one; 0 while there is none.
    let stamp = Arc::new(AtomicU64::new(0));
    let waiter = {
        let stamp = stamp.clone();
        thread::spawn(move || {
            (0..ROUNDS)
                .map(|_| {
                    let sent = loop {
                        match stamp.load(Ordering::Acquire) {
                            0 => thread::park(),
                            t => break t - 1,
                        }
                    };
                    let now = base.elapsed().as_nanos() as u64;
                    stamp.store(0, Ordering::Release);
                    now.saturating_sub(sent)
                })
                .collect::<Vec<u64>>()
        })
    };
    for _ in 0..ROUNDS {
        let until = Instant::now() + idle;
        while Instant::now() < until || stamp.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
        stamp.store(base.elapsed().as_nanos() as u64 + 1, Ordering::Release);
        waiter.thread().unpark();
    }
    waiter.join().expect("the waiter thread does not panic")
}
