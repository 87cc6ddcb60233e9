//! The workloads of `benches/chan.rs` and `benches/chan_mimalloc.rs`: one
//! workload per process, chosen by the command line, so that the driver
//! (`benches/chan_report.py`) can run whole processes, interleaved, against
//! the Go program of `benches/go/goroutines/` and read each one's CPU time.
//!
//! ```text
//! chan <workload> <n>     one measurement; prints `key=value` pairs
//! chan                    (no arguments, as `cargo test --benches`): every
//!                         workload once, small, as a smoke test
//! ```
//!
//! Workloads (`n` is the count of round trips, messages or units):
//!
//! * `pingpong-chan0`, `pingpong-chan1` — two tasks spawned from outside a
//!   2-P runtime bounce a counter over two `gmp::chan`s of capacity 0 / 1.
//! * `pingpong-async-channel` — the same over `async_channel::bounded(1)`
//!   (async-channel has no capacity 0) on gmp.
//! * `pingpong-thread` — two OS threads over two `std::sync::mpsc::sync_channel(0)`
//!   rendezvous channels.
//! * `mpmc-chan`, `mpmc-async-channel` — 8 producers × 8 consumers, capacity
//!   16, `n` messages in all, on a 2-P gmp runtime.
//! * `park-task`, `park-thread` — `n` tasks (threads) parked on one
//!   unbuffered channel receive (a condvar); VmHWM growth per unit.
//! * `spawn-task`, `spawn-thread` — create `n` tasks (threads) that return
//!   at once and join them all; time per unit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gmp::chan;
use gmp::sync::WaitGroup;
use gmp::Runtime;

/// Ps of every gmp runtime here (the machine's two cores; Go's GOMAXPROCS).
const PROCS: usize = 2;

/// Entry point: `allocator` names the global allocator in the output.
pub(crate) fn main(allocator: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args.first().map(String::as_str).unwrap_or("");
    let n = args.get(1).map(|s| s.parse::<usize>());
    match (workload, n) {
        ("" | "--bench", None) if args.len() <= 1 => smoke(allocator),
        (w, Some(Ok(n))) if n > 0 => {
            let line = run(w, n).unwrap_or_else(|| {
                eprintln!("chan bench: unknown workload {w:?} (see benches/chan_common/mod.rs)");
                std::process::exit(2)
            });
            println!("workload={w} n={n} allocator={allocator} {line}");
        }
        _ => {
            eprintln!("usage: chan <workload> <n > 0>; got {args:?}");
            std::process::exit(2)
        }
    }
}

/// Every workload once, small: what `cargo test --benches` runs.
fn smoke(allocator: &str) {
    for (w, n) in [
        ("pingpong-chan0", 1000),
        ("pingpong-chan1", 1000),
        ("pingpong-async-channel", 1000),
        ("pingpong-thread", 100),
        ("mpmc-chan", 6400),
        ("mpmc-async-channel", 6400),
        ("park-task", 1000),
        ("park-thread", 16),
        ("spawn-task", 1000),
        ("spawn-thread", 16),
    ] {
        let line = run(w, n).expect("a known workload");
        println!("workload={w} n={n} allocator={allocator} {line}");
    }
}

/// Runs one workload; `None` if the name is unknown.
fn run(workload: &str, n: usize) -> Option<String> {
    Some(match workload {
        "pingpong-chan0" => pingpong_chan(0, n),
        "pingpong-chan1" => pingpong_chan(1, n),
        "pingpong-async-channel" => pingpong_async_channel(n),
        "pingpong-thread" => pingpong_thread(n),
        "mpmc-chan" => mpmc_chan(n),
        "mpmc-async-channel" => mpmc_async_channel(n),
        "park-task" => park_task(n),
        "park-thread" => park_thread(n),
        "spawn-task" => spawn_task(n),
        "spawn-thread" => spawn_thread(n),
        _ => return None,
    })
}

fn runtime() -> Runtime {
    Runtime::builder()
        .max_procs(PROCS)
        .build()
        .expect("a 2-P runtime")
}

/// `ns_per_op=..` for `elapsed` over `n` operations.
fn per_op(elapsed: Duration, n: usize) -> String {
    format!("ns_per_op={:.1}", elapsed.as_nanos() as f64 / n as f64)
}

/// Steals and polls summed over the runtime's Ps.
fn counters(rt: &Runtime) -> (u64, u64) {
    let m = rt.metrics();
    (0..m.procs()).fold((0, 0), |(s, p), i| {
        (s + m.proc(i).steals(), p + m.proc(i).polls())
    })
}

fn pingpong_chan(cap: usize, rounds: usize) -> String {
    let rt = runtime();
    let (ping_tx, ping_rx) = chan::bounded::<usize>(cap);
    let (pong_tx, pong_rx) = chan::bounded::<usize>(cap);
    let (steals0, polls0) = counters(&rt);
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
        for _ in 0..rounds {
            ping_tx.send(v).await.expect("echo alive");
            v = pong_rx.recv().await.expect("echo answers");
        }
        v
    });
    let v = rt.block_on(pinger).expect("pinger");
    let elapsed = start.elapsed();
    rt.block_on(echo).expect("echo");
    assert_eq!(v, rounds, "every round trip added one");
    let (steals1, polls1) = counters(&rt);
    format!(
        "{} steals={} polls_per_op={:.2}",
        per_op(elapsed, rounds),
        steals1 - steals0,
        (polls1 - polls0) as f64 / rounds as f64
    )
}

fn pingpong_async_channel(rounds: usize) -> String {
    let rt = runtime();
    let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
    let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
    let (steals0, _) = counters(&rt);
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
        for _ in 0..rounds {
            ping_tx.send(v).await.expect("echo alive");
            v = pong_rx.recv().await.expect("echo answers");
        }
        v
    });
    let v = rt.block_on(pinger).expect("pinger");
    let elapsed = start.elapsed();
    rt.block_on(echo).expect("echo");
    assert_eq!(v, rounds);
    let (steals1, _) = counters(&rt);
    format!("{} steals={}", per_op(elapsed, rounds), steals1 - steals0)
}

fn pingpong_thread(rounds: usize) -> String {
    let (ping_tx, ping_rx) = mpsc::sync_channel::<usize>(0);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<usize>(0);
    let start = Instant::now();
    let echo = std::thread::spawn(move || {
        while let Ok(v) = ping_rx.recv() {
            if pong_tx.send(v + 1).is_err() {
                break;
            }
        }
    });
    let mut v = 0;
    for _ in 0..rounds {
        ping_tx.send(v).expect("echo alive");
        v = pong_rx.recv().expect("echo answers");
    }
    let elapsed = start.elapsed();
    drop(ping_tx);
    echo.join().expect("echo thread");
    assert_eq!(v, rounds);
    per_op(elapsed, rounds)
}

/// Producers, consumers and capacity of the MPMC workloads.
const MPMC: (usize, usize, usize) = (8, 8, 16);

fn mpmc_chan(messages: usize) -> String {
    let (p, c, cap) = MPMC;
    let per = messages / p;
    let rt = runtime();
    let (tx, rx) = chan::bounded::<usize>(cap);
    let start = Instant::now();
    let producers: Vec<_> = (0..p)
        .map(|_| {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..per {
                    tx.send(i).await.expect("consumers alive");
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..c)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let mut n = 0usize;
                while rx.recv().await.is_ok() {
                    n += 1;
                }
                n
            })
        })
        .collect();
    drop(rx);
    let got = join_mpmc(&rt, producers, consumers);
    let elapsed = start.elapsed();
    assert_eq!(got, per * p, "every message received");
    per_op(elapsed, got)
}

fn mpmc_async_channel(messages: usize) -> String {
    let (p, c, cap) = MPMC;
    let per = messages / p;
    let rt = runtime();
    let (tx, rx) = async_channel::bounded::<usize>(cap);
    let start = Instant::now();
    let producers: Vec<_> = (0..p)
        .map(|_| {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..per {
                    tx.send(i).await.expect("consumers alive");
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..c)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let mut n = 0usize;
                while rx.recv().await.is_ok() {
                    n += 1;
                }
                n
            })
        })
        .collect();
    drop(rx);
    let got = join_mpmc(&rt, producers, consumers);
    let elapsed = start.elapsed();
    assert_eq!(got, per * p, "every message received");
    per_op(elapsed, got)
}

/// Joins the MPMC tasks; returns the messages the consumers counted.
fn join_mpmc(
    rt: &Runtime,
    producers: Vec<gmp::JoinHandle<()>>,
    consumers: Vec<gmp::JoinHandle<usize>>,
) -> usize {
    rt.block_on(async {
        for h in producers {
            h.await.expect("producer");
        }
        let mut got = 0;
        for h in consumers {
            got += h.await.expect("consumer");
        }
        got
    })
}

/// This process's peak resident set (VmHWM), in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line in /proc/self/status")
}

/// `bytes_per_unit=..` from the VmHWM growth over `n` units.
fn per_unit(before_kib: u64, after_kib: u64, n: usize) -> String {
    format!(
        "bytes_per_unit={:.0} hwm_before_kib={before_kib} hwm_after_kib={after_kib}",
        (after_kib.saturating_sub(before_kib) * 1024) as f64 / n as f64
    )
}

fn park_task(n: usize) -> String {
    let rt = runtime();
    // Warm the runtime (threads, queues) before the baseline.
    rt.block_on(rt.spawn(async {})).expect("warm-up task");
    let (tx, rx) = chan::bounded::<()>(0);
    let parked = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    let before = vm_hwm_kib();
    for _ in 0..n {
        let (rx, parked, wg) = (rx.clone(), parked.clone(), wg.clone());
        wg.add(1);
        // Detached: the JoinHandle is dropped, as Go keeps no handle.
        drop(rt.spawn(async move {
            parked.fetch_add(1, Ordering::Relaxed);
            let _ = rx.recv().await;
            wg.done();
        }));
    }
    wait_until(|| parked.load(Ordering::Relaxed) == n, "tasks to park");
    let after = vm_hwm_kib();
    drop((tx, rx)); // closes: every task wakes and ends
    rt.block_on(wg.wait());
    per_unit(before, after, n)
}

fn park_thread(n: usize) -> String {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let parked = Arc::new(AtomicUsize::new(0));
    let before = vm_hwm_kib();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (gate, parked) = (gate.clone(), parked.clone());
            std::thread::spawn(move || {
                let (open, cv) = &*gate;
                let mut open = open.lock().expect("gate lock");
                parked.fetch_add(1, Ordering::Relaxed);
                while !*open {
                    open = cv.wait(open).expect("gate lock");
                }
            })
        })
        .collect();
    wait_until(|| parked.load(Ordering::Relaxed) == n, "threads to park");
    let after = vm_hwm_kib();
    *gate.0.lock().expect("gate lock") = true;
    gate.1.notify_all();
    for t in threads {
        t.join().expect("parked thread");
    }
    per_unit(before, after, n)
}

/// Sleeps in 1 ms steps until `done`, then 20 ms more so the last ones are
/// parked, not just counted; gives up after 60 s, naming `what`.
fn wait_until(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "waited 60 s for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
}

fn spawn_task(n: usize) -> String {
    let rt = runtime();
    rt.block_on(rt.spawn(async {})).expect("warm-up task");
    let elapsed = rt
        .block_on(rt.spawn(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n).map(|i| gmp::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.expect("task");
            }
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        }))
        .expect("spawner task");
    per_op(elapsed, n)
}

fn spawn_thread(n: usize) -> String {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| std::thread::spawn(move || i)).collect();
    let sum: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, n * (n - 1) / 2);
    per_op(elapsed, n)
}
