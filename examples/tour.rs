//! A tour of gmp: spawning, runnext, stealing across Ps, hand-off of a
//! blocked P, I/O and timers, and the scheduler's counters.
//!
//! ```text
//! cargo run --release --example tour
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use gmp::{Handle, Metrics, Runtime};

fn main() -> std::io::Result<()> {
    let rt = Runtime::builder().max_procs(2).build()?;
    println!("gmp tour: a runtime with {} Ps\n", rt.metrics().procs());

    rt.block_on(async {
        spawning().await;
        runnext().await;
        stealing().await;
        handoff().await;
        io_and_timers().await
    })?;

    println!("\n== the counters, per P");
    print_metrics(&rt.metrics());
    Ok(())
}

/// G: a task is a future in a small allocation; spawning is cheap.
async fn spawning() {
    println!("== spawning: 100,000 tasks");
    let start = Instant::now();
    let handles: Vec<_> = (0..100_000u64)
        .map(|i| gmp::spawn(async move { i }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("task ran");
    }
    let took = start.elapsed();
    println!(
        "   sum {sum}, {:?} in all, {:.0} ns per spawn+join",
        took,
        took.as_nanos() as f64 / 100_000.0
    );
}

/// A task spawned inside a P goes to `runnext`: it runs next, ahead of the
/// older tasks of the P's queue.
async fn runnext() {
    println!("\n== runnext: spawn 0, 1, 2 from a task; the newest runs first");
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let o = order.clone();
    gmp::spawn(async move {
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let o = o.clone();
                gmp::spawn(async move { o.lock().unwrap().push(i) })
            })
            .collect();
        hs
    })
    .await
    .map(futures::future::join_all)
    .expect("spawner ran")
    .await;
    println!(
        "   ran in the order {:?} (runnext, then the LRQ in order, unless another P stole one)",
        order.lock().unwrap()
    );
}

/// P: one task fills its P's queue; the idle P steals half of it.
async fn stealing() {
    println!("\n== stealing: one task spawns 200 one-millisecond computations");
    let before = Handle::current().metrics();
    let per_thread = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let p = per_thread.clone();
    gmp::spawn(async move {
        // 200 fit in its P's LRQ (256 slots): the other P must steal them.
        let hs: Vec<_> = (0..200)
            .map(|_| {
                let p = p.clone();
                gmp::spawn(async move {
                    spin(Duration::from_millis(1));
                    let name = std::thread::current().name().unwrap_or("?").to_owned();
                    *p.lock().unwrap().entry(name).or_insert(0usize) += 1;
                })
            })
            .collect();
        for h in hs {
            h.await.expect("task ran");
        }
    })
    .await
    .expect("spawner ran");
    let after = Handle::current().metrics();
    for i in 0..after.procs() {
        println!(
            "   P{i}: {} steals took {} tasks",
            after.proc(i).steals() - before.proc(i).steals(),
            after.proc(i).stolen() - before.proc(i).stolen()
        );
    }
    let mut threads: Vec<_> = per_thread.lock().unwrap().clone().into_iter().collect();
    threads.sort();
    println!("   tasks per M thread: {threads:?}");
}

/// M: a task that blocks its thread loses its P to another M (sysmon's
/// hand-off), so a ticker on the same P keeps ticking.
async fn handoff() {
    println!("\n== hand-off: a 1 ms ticker while another task blocks its thread for 200 ms");
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = gmp::spawn(async move {
        let mut worst = Duration::ZERO;
        let mut last = Instant::now();
        for _ in 0..300 {
            gmp::time::sleep(Duration::from_millis(1)).await;
            worst = worst.max(last.elapsed());
            last = Instant::now();
            t.fetch_add(1, Ordering::Relaxed);
        }
        worst
    });
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            gmp::spawn(async {
                // No annotation: sysmon sees the long poll and hands off.
                std::thread::sleep(Duration::from_millis(200));
            })
        })
        .collect();
    for b in blockers {
        b.await.expect("blocker ran");
    }
    let worst = ticker.await.expect("ticker ran");
    let handoffs: u64 = {
        let m = Handle::current().metrics();
        (0..m.procs()).map(|i| m.proc(i).handoffs()).sum()
    };
    println!(
        "   {} ticks; the largest gap between ticks was {:.1} ms; {handoffs} hand-offs so far",
        ticks.load(Ordering::Relaxed),
        worst.as_secs_f64() * 1e3
    );
}

/// The reactor: tasks wait for sockets and timers, not threads.
async fn io_and_timers() -> std::io::Result<()> {
    println!("\n== I/O and timers: a TCP echo server and 100 clients on 127.0.0.1");
    let listener = gmp::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = gmp::spawn(async move {
        for _ in 0..100 {
            let (mut stream, _) = listener.accept().await?;
            gmp::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        Ok::<(), std::io::Error>(())
    });
    let start = Instant::now();
    let clients: Vec<_> = (0..100u32)
        .map(|i| {
            gmp::spawn(async move {
                let mut stream = gmp::net::TcpStream::connect(addr).await?;
                let msg = format!("hello from client {i}");
                let mut back = vec![0u8; msg.len()];
                for _ in 0..100 {
                    stream.write_all(msg.as_bytes()).await?;
                    stream.read_exact(&mut back).await?;
                    assert_eq!(back, msg.as_bytes());
                }
                Ok::<(), std::io::Error>(())
            })
        })
        .collect();
    for c in clients {
        c.await.expect("client ran")?;
    }
    server.await.expect("server ran")?;
    println!("   10,000 round trips in {:?}", start.elapsed());

    let start = Instant::now();
    let sleeps: Vec<_> = (0..10_000u64)
        .map(|i| gmp::spawn(gmp::time::sleep(Duration::from_millis(10 + i % 10))))
        .collect();
    for s in sleeps {
        s.await.expect("sleep ran");
    }
    println!(
        "   10,000 concurrent sleeps of 10-19 ms took {:?}",
        start.elapsed()
    );
    let late = gmp::time::timeout(Duration::from_millis(5), futures::future::pending::<()>()).await;
    println!("   timeout(5 ms, pending) = {late:?}");
    Ok(())
}

fn spin(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn print_metrics(m: &Metrics) {
    println!(
        "   threads={} idle={} spinning={} grq={}",
        m.threads(),
        m.idle_threads(),
        m.spinning_threads(),
        m.global_queue_depth()
    );
    println!(
        "   {:>4} {:>10} {:>7} {:>7} {:>7} {:>9} {:>6}",
        "P", "polls", "steals", "stolen", "spills", "handoffs", "parks"
    );
    for i in 0..m.procs() {
        let p = m.proc(i);
        println!(
            "   {:>4} {:>10} {:>7} {:>7} {:>7} {:>9} {:>6}",
            format!("P{i}"),
            p.polls(),
            p.steals(),
            p.stolen(),
            p.spills(),
            p.handoffs(),
            p.parks()
        );
    }
}
