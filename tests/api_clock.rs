//! The test clock: `Builder::start_paused(true)`,
//! `#[gmp::test(start_paused = true)]`, `gmp::time::{pause, resume, advance,
//! now}` and auto-advance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp::time::{advance, sleep, timeout};

#[gmp::test(start_paused = true)]
async fn a_60_s_timeout_finishes_in_under_a_second_of_wall_time() {
    let wall = Instant::now();
    let virtual_start = gmp::time::now();
    let res = timeout(Duration::from_secs(60), futures::future::pending::<()>()).await;
    assert!(res.is_err(), "the timeout did not fire");
    assert!(gmp::time::now() - virtual_start >= Duration::from_secs(60));
    // Not a timing threshold: it must not have waited the real 60 s (it
    // takes milliseconds; the figure is printed for the record).
    println!(
        "a 60 s paused timeout took {:?} of wall time",
        wall.elapsed()
    );
    assert!(
        wall.elapsed() < Duration::from_secs(60),
        "waited in real time"
    );
}

#[gmp::test(start_paused = true, procs = 2)]
async fn auto_advance_jumps_to_each_deadline_in_turn() {
    let start = gmp::time::now();
    let tasks: Vec<_> = [30u64, 10, 20]
        .into_iter()
        .map(|s| {
            gmp::spawn(async move {
                sleep(Duration::from_secs(s)).await;
                gmp::time::now()
            })
        })
        .collect();
    let mut ends = Vec::new();
    for t in tasks {
        ends.push(t.await.unwrap() - start);
    }
    // Each woke exactly at its (virtual) deadline, not later.
    assert_eq!(
        ends,
        [30u64, 10, 20].map(Duration::from_secs).to_vec(),
        "virtual wake-up times"
    );
}

#[test]
fn advance_moves_paused_time_by_hand() {
    let rt = gmp::Runtime::builder()
        .max_procs(1)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        // The main future stays busy (never parked while we check), so no
        // auto-advance happens: only `advance` moves time.
        let sleeper = gmp::spawn(async move {
            sleep(Duration::from_secs(10)).await;
            d.store(true, Ordering::SeqCst);
        });
        gmp::yield_now().await;
        let t0 = gmp::time::now();
        advance(Duration::from_secs(5)).await;
        assert_eq!(gmp::time::now() - t0, Duration::from_secs(5));
        assert!(!done.load(Ordering::SeqCst), "woke 5 s early");
        advance(Duration::from_secs(5)).await;
        sleeper.await.unwrap();
        assert!(done.load(Ordering::SeqCst));
    });
}

#[test]
fn resume_lets_time_run_and_pause_stops_it() {
    let rt = gmp::Runtime::builder()
        .max_procs(1)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        gmp::time::resume();
        let t0 = gmp::time::now();
        sleep(Duration::from_millis(5)).await;
        assert!(gmp::time::now() - t0 >= Duration::from_millis(5));
        gmp::time::pause();
        let frozen = gmp::time::now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(gmp::time::now(), frozen);
    });
}

#[test]
fn a_runtime_without_start_paused_has_no_test_clock() {
    let rt = gmp::Runtime::builder().max_procs(1).build().unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { gmp::time::pause() })
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("start_paused"), "{msg}");
}

#[gmp::test(start_paused = true)]
async fn an_interval_ticks_in_virtual_time() {
    let start = gmp::time::now();
    let mut ticker = gmp::time::interval(Duration::from_secs(1));
    for _ in 0..5 {
        ticker.tick().await;
    }
    assert_eq!(gmp::time::now() - start, Duration::from_secs(4));
}
