//! Blocking file I/O inside a task, with no annotation, on a single P.
//!
//! One task ticks every millisecond while another writes and fsyncs a
//! multi-megabyte temp file, reads it back with `std::fs` and then sleeps the
//! thread for 100 ms — all inside one poll, without `spawn_blocking` or
//! `block_in_place`. On an executor whose worker thread is simply lost for
//! that time (tokio's), the ticker would stop for the whole blocking stretch.
//! In gmp, sysmon sees the M stuck inside one poll while its P has other work
//! (the ticker, woken by its timer), takes the P from that M and hands it to
//! another M (`handoffp`), so the ticker keeps ticking: the largest gap
//! between ticks stays a few milliseconds, and the `handoffs` counter says
//! how many times a P was taken.
//!
//! ```text
//! cargo run --release --example blocking
//! ```

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Size of the temp file written on each pass.
const FILE_BYTES: usize = 8 << 20;
/// How many times the file is written, fsynced and read back.
const PASSES: usize = 4;
/// The thread sleep at the end of the blocking stretch, so the stall is
/// obvious even on a fast disk.
const THREAD_SLEEP: Duration = Duration::from_millis(100);
/// The ticker's period.
const TICK: Duration = Duration::from_millis(1);

#[gmp::main(procs = 1)]
async fn main() -> io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = gmp::spawn(ticker(stop.clone()));
    // Let the ticker get going before the blocking starts.
    gmp::time::sleep(Duration::from_millis(20)).await;

    let path = std::env::temp_dir().join(format!("gmp-blocking-{}.tmp", std::process::id()));
    let blocker = gmp::spawn(async move {
        // No `spawn_blocking`, no `block_in_place`: this whole call runs
        // inside one poll and holds the thread (and, until sysmon retakes
        // it, the only P).
        blocking_file_io(path)
    });
    let blocked_for = match blocker.await {
        Ok(result) => result?,
        Err(err) => panic!("the blocking task failed: {err:?}"),
    };

    // A few more ticks after the blocking stretch, then stop the ticker.
    gmp::time::sleep(Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    let (ticks, max_gap) = match ticker.await {
        Ok(result) => result,
        Err(err) => panic!("the ticker failed: {err:?}"),
    };

    let metrics = gmp::Handle::current().metrics();
    let handoffs: u64 = (0..metrics.procs())
        .map(|i| metrics.proc(i).handoffs())
        .sum();
    println!(
        "blocking file I/O: {PASSES} x ({} MB write + fsync + read) + {} ms thread sleep \
         in one poll, {:.1} ms in all",
        FILE_BYTES >> 20,
        THREAD_SLEEP.as_millis(),
        ms(blocked_for)
    );
    println!("ticks:           {ticks} (every {} ms)", TICK.as_millis());
    println!("largest gap:     {:.2} ms", ms(max_gap));
    println!("handoffs:        {handoffs}");
    println!(
        "procs / threads: {} / {}",
        metrics.procs(),
        metrics.threads()
    );
    Ok(())
}

/// Ticks every [`TICK`] until `stop`; returns the number of ticks and the
/// largest gap seen between two of them.
async fn ticker(stop: Arc<AtomicBool>) -> (u64, Duration) {
    let mut interval = gmp::time::interval(TICK);
    let mut ticks = 0;
    let mut max_gap = Duration::ZERO;
    interval.tick().await;
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        let now = Instant::now();
        max_gap = max_gap.max(now - last);
        last = now;
        ticks += 1;
    }
    (ticks, max_gap)
}

/// Removes the temp file when dropped, whatever happened.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Writes, fsyncs and reads back `path` [`PASSES`] times, then sleeps the
/// thread: plain blocking calls. Returns how long it all took.
fn blocking_file_io(path: PathBuf) -> io::Result<Duration> {
    let start = Instant::now();
    let file = TempFile(path);
    let data: Vec<u8> = (0..FILE_BYTES).map(|i| (i % 251) as u8).collect();
    for _ in 0..PASSES {
        let mut f = File::create(&file.0)?;
        f.write_all(&data)?;
        f.sync_all()?;
        drop(f);
        let back = fs::read(&file.0)?;
        assert_eq!(back.len(), data.len(), "short read of the temp file");
    }
    std::thread::sleep(THREAD_SLEEP);
    drop(file);
    Ok(start.elapsed())
}

/// A duration in milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
