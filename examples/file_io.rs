//! `std::fs` inside a task, beside the same work through `spawn_blocking`,
//! on a runtime of one P, with a task ticking every millisecond next to it.
//!
//! ```text
//! cargo run --release --example file_io -- 5   # rounds (default 5)
//! ```
//!
//! Each round runs the file work twice, interleaved: `inline` (plain
//! `std::fs` calls in a gmp task: the M stays in the syscalls and sysmon
//! hands its P to another M, as Go does for a blocking syscall) and
//! `spawn_blocking` (the closure runs on the blocking pool, the task awaits
//! it). The work: write 4 MiB, fsync, read it back, twice. Printed per mode:
//! the median (min–max over rounds) of the work's wall time, of the largest
//! gap between two ticks of the ticker (how long the P's other work waited),
//! and the P hand-offs counted while it ran.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes written per pass.
const FILE_BYTES: usize = 4 << 20;
/// Passes per run.
const PASSES: usize = 2;
/// The ticker's period.
const TICK: Duration = Duration::from_millis(1);

/// Write, fsync, read back; returns how long it took.
fn file_work(path: PathBuf) -> io::Result<Duration> {
    let start = Instant::now();
    let data = vec![0x5au8; FILE_BYTES];
    for _ in 0..PASSES {
        let mut f = File::create(&path)?;
        f.write_all(&data)?;
        f.sync_all()?;
        let back = fs::read(&path)?;
        if back.len() != FILE_BYTES {
            return Err(io::Error::other("short read back"));
        }
    }
    fs::remove_file(&path)?;
    Ok(start.elapsed())
}

/// Ticks until `stop`; returns the largest gap between two ticks.
async fn ticker(stop: Arc<AtomicBool>) -> Duration {
    let mut interval = gmp::time::interval(TICK);
    interval.tick().await;
    let mut last = Instant::now();
    let mut max_gap = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        let now = Instant::now();
        max_gap = max_gap.max(now - last);
        last = now;
    }
    max_gap
}

/// The P hand-offs so far.
fn handoffs() -> u64 {
    let m = gmp::Handle::current().metrics();
    (0..m.procs()).map(|i| m.proc(i).handoffs()).sum()
}

/// One run of `mode`: (work time, largest tick gap, hand-offs).
async fn run(mode: &str) -> io::Result<(Duration, Duration, u64)> {
    let stop = Arc::new(AtomicBool::new(false));
    let tick = gmp::spawn(ticker(stop.clone()));
    gmp::time::sleep(Duration::from_millis(10)).await;
    let path = std::env::temp_dir().join(format!("gmp-file-io-{}.tmp", std::process::id()));
    let before = handoffs();
    let took = match mode {
        "inline" => gmp::spawn(async move { file_work(path) }).await,
        _ => gmp::spawn_blocking(move || file_work(path)).await,
    }
    .map_err(|e| io::Error::other(format!("the {mode} task failed: {e}")))??;
    let after = handoffs();
    gmp::time::sleep(Duration::from_millis(5)).await;
    stop.store(true, Ordering::Relaxed);
    let gap = tick
        .await
        .map_err(|e| io::Error::other(format!("the ticker failed: {e}")))?;
    Ok((took, gap, after - before))
}

/// "median (min-max)" in ms.
fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "{:.1} ({:.1}-{:.1})",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1])
    )
}

#[gmp::main(procs = 1)]
async fn main() -> io::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("rounds {a:?} is not a number"),
            )
        })?,
        None => 5,
    };
    let modes = ["inline", "spawn_blocking"];
    let mut results: Vec<Vec<(Duration, Duration, u64)>> = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (i, mode) in modes.iter().enumerate() {
            results[i].push(run(mode).await?);
        }
    }
    println!(
        "{rounds} rounds, {PASSES} x ({} MiB write + fsync + read), 1 P, ticker every {} ms",
        FILE_BYTES >> 20,
        TICK.as_millis()
    );
    println!("| mode | work, ms | largest tick gap, ms | hand-offs per run |");
    println!("|---|---|---|---|");
    for (i, mode) in modes.iter().enumerate() {
        let r = &results[i];
        let mut h: Vec<u64> = r.iter().map(|x| x.2).collect();
        h.sort_unstable();
        println!(
            "| {mode} | {} | {} | {} ({}-{}) |",
            summary(r.iter().map(|x| x.0).collect()),
            summary(r.iter().map(|x| x.1).collect()),
            h[h.len() / 2],
            h[0],
            h[h.len() - 1]
        );
    }
    Ok(())
}
