//! What the always-on metrics counters and the trace hooks cost.
//!
//! Runs a few scheduler workloads on 2 Ps and prints the median time of
//! each. Build it twice, with and without the counters, and compare:
//!
//! ```text
//! cargo run --release -p gmp-executor --example counters_overhead
//! RUSTFLAGS="--cfg gmp_no_stats" CARGO_TARGET_DIR=target/nostats \
//!     cargo run --release -p gmp-executor --example counters_overhead
//! GMP_TRACE=/tmp/overhead.json cargo run --release -p gmp-executor --example counters_overhead
//! ```
//!
//! (With `GMP_TRACE` set, the trace is recorded; only the rings' memory is
//! bounded, so the last command measures recording on.)

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use gmp_executor::{spawn, yield_now, Runtime};

fn skynet(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let handles: Vec<_> = (0..10)
            .map(|i| spawn(skynet(num + i * (size / 10), size / 10)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("skynet task");
        }
        sum
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(name: &str, runs: usize, mut f: impl FnMut()) {
    f(); // warm-up
    let times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    println!(
        "{name:<18} median {:>10.3} ms",
        median(times).as_secs_f64() * 1e3
    );
}

fn main() -> std::io::Result<()> {
    let rt = Runtime::builder().max_procs(2).build()?;
    let stats = if cfg!(gmp_no_stats) { "off" } else { "on" };
    let trace = std::env::var_os("GMP_TRACE").map_or("off", |_| "on");
    println!("counters {stats}, trace recording {trace}");
    measure("spawn_many_local", 101, || {
        rt.block_on(rt.spawn(async {
            let hs: Vec<_> = (0..10_000).map(|_| spawn(async {})).collect();
            for h in hs {
                h.await.expect("task");
            }
        }))
        .expect("spawner");
    });
    measure("yield_many", 31, || {
        rt.block_on(async {
            let hs: Vec<_> = (0..200)
                .map(|_| {
                    spawn(async {
                        for _ in 0..1000 {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.expect("task");
            }
        });
    });
    measure("chained_spawn", 201, || {
        fn chain(n: u32) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                if n > 0 {
                    spawn(chain(n - 1)).await.expect("link");
                }
            })
        }
        rt.block_on(rt.spawn(chain(1000))).expect("chain");
    });
    measure("skynet", 11, || {
        let sum = rt.block_on(rt.spawn(skynet(0, 1_000_000))).expect("skynet");
        assert_eq!(sum, 499_999_500_000);
    });
    Ok(())
}
