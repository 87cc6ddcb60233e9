//! Failure behaviour: panics, cancellation, shutdown, bad settings, misuse.
//!
//! The tests of environment variables run their runtime in a child process
//! (`support/child.rs`): the variables and the global runtime are per process.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp_executor::{block_on, spawn, Handle, Runtime};

#[path = "support/child.rs"]
mod child;
#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

/// Counts how many futures holding one were dropped.
#[derive(Clone, Default)]
struct DropCount(Arc<AtomicUsize>);

struct Guard(DropCount);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0 .0.fetch_add(1, Ordering::SeqCst);
    }
}

impl DropCount {
    fn guard(&self) -> Guard {
        Guard(self.clone())
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn a_panicking_task_gives_is_panic_and_its_worker_keeps_running() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    for _ in 0..10 {
        let err = rt
            .block_on(rt.spawn(async { panic!("task failed") }))
            .unwrap_err();
        assert!(
            err.is_panic(),
            "a panic must come back as JoinError::is_panic"
        );
        assert!(err.to_string().contains("task failed"));
        // The only M of the only P is still there to run the next one.
        assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    }
}

#[test]
fn abort_drops_the_future() {
    let rt = Runtime::builder().max_procs(2).build().unwrap();
    let drops = DropCount::default();
    let g = drops.guard();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let handle = rt.spawn(async move {
        let _g = g;
        p.store(true, Ordering::SeqCst);
        futures::future::pending::<()>().await;
    });
    // Abort a task that was polled and is parked, not one still queued.
    wait_for("the task's first poll", || polled.load(Ordering::SeqCst));
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(
        drops.get(),
        1,
        "is_cancelled is reported only after the future was dropped"
    );
}

#[test]
fn abort_before_the_first_poll_and_after_completion() {
    // One P and no sysmon: while a task holds the P, nothing else runs.
    let rt = Runtime::builder()
        .max_procs(1)
        .sysmon(false)
        .build()
        .unwrap();
    let (busy_tx, busy_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let busy = rt.spawn(async move {
        busy_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    busy_rx.recv().unwrap();
    let drops = DropCount::default();
    let g = drops.guard();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let h = rt.spawn(async move {
        let _g = g;
        p.store(true, Ordering::SeqCst);
        2
    });
    // Aborted while queued behind the busy task: never polled.
    h.abort();
    release_tx.send(()).unwrap();
    let aborted = rt.block_on(h);
    assert!(aborted.unwrap_err().is_cancelled());
    assert!(
        !polled.load(Ordering::SeqCst),
        "the aborted task was polled"
    );
    assert_eq!(drops.get(), 1);
    rt.block_on(busy).unwrap();

    let done = rt.spawn(async { 1 });
    wait_for("the task to finish", || done.is_finished());
    done.abort();
    assert_eq!(
        rt.block_on(done).unwrap(),
        1,
        "abort after completion changes nothing"
    );
}

#[test]
fn dropping_a_runtime_drops_every_pending_future() {
    let drops = DropCount::default();
    // One P and no sysmon: nothing takes the P from the long poll below, so
    // the tasks queued behind it stay queued until shutdown.
    let rt = Runtime::builder()
        .max_procs(1)
        .sysmon(false)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    // Parked tasks (waiting on a channel nobody sends on) ...
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    let parked = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let g = drops.guard();
        let (rx, parked) = (rx.clone(), parked.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            parked.fetch_add(1, Ordering::SeqCst);
            let _ = rx.await;
        }));
    }
    wait_for("100 tasks parked on the channel", || {
        parked.load(Ordering::SeqCst) == 100
    });
    // ... and tasks queued in the P of a task that is inside a long poll:
    // it spawns them, then keeps its M until shutdown has begun.
    let queued: Vec<_> = (0..100).map(|_| drops.guard()).collect();
    let queued_polls = Arc::new(AtomicUsize::new(0));
    let (queued_tx, queued_rx) = std::sync::mpsc::channel();
    let q = queued_polls.clone();
    let long_poll = rt.spawn(async move {
        for g in queued {
            let q = q.clone();
            queued_tx
                .send(spawn(async move {
                    let _g = g;
                    q.fetch_add(1, Ordering::SeqCst);
                    futures::future::pending::<()>().await
                }))
                .unwrap();
        }
        drop(queued_tx);
        block_until_shutdown()
    });
    handles.extend(queued_rx.iter());
    assert_eq!(handles.len(), 200, "the long poll spawned its 100 tasks");
    drop(rt);
    assert_eq!(
        drops.get(),
        200,
        "every pending task's future is dropped by shutdown"
    );
    assert_eq!(
        futures::executor::block_on(long_poll).ok(),
        Some(true),
        "the long poll ended because shutdown began"
    );
    assert_eq!(
        queued_polls.load(Ordering::SeqCst),
        0,
        "the tasks behind the long poll were still queued at shutdown"
    );
    for h in handles {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    }
}

/// Blocks the calling task's M until its runtime is closing, seen as a
/// spawn that shutdown drops at once. Gives up after 60 s and returns
/// whether shutdown was seen.
fn block_until_shutdown() -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if spawn(async {}).is_finished() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn shutdown_timeout_returns_while_a_poll_is_stuck() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt.spawn(async move {
        s.store(true, Ordering::SeqCst);
        // Blocks its M until the test lets go.
        let _ = rx.recv();
    });
    wait_for("the stuck poll to start", || started.load(Ordering::SeqCst));
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "shutdown_timeout must not wait for the stuck poll"
    );
    drop(tx);
}

#[test]
fn builder_rejects_bad_settings_naming_them() {
    type Build = Box<dyn Fn() -> std::io::Result<Runtime>>;
    let cases: Vec<(&str, Build)> = vec![
        (
            "max_procs",
            Box::new(|| Runtime::builder().max_procs(0).build()),
        ),
        (
            "max_threads",
            Box::new(|| Runtime::builder().max_threads(0).build()),
        ),
        (
            "max_threads",
            Box::new(|| Runtime::builder().max_procs(4).max_threads(3).build()),
        ),
        (
            "max_blocking_threads",
            Box::new(|| Runtime::builder().max_blocking_threads(0).build()),
        ),
        (
            "thread_stack_size",
            Box::new(|| Runtime::builder().thread_stack_size(0).build()),
        ),
    ];
    for (setting, build) in cases {
        let err = build().expect_err("the setting is invalid");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains(setting),
            "{err} must name {setting}"
        );
    }
}

#[test]
fn nested_block_on_panics_saying_why() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { block_on(async {}) }))
        .unwrap_err();
    let msg = err.to_string();
    assert!(err.is_panic() && msg.contains("block_on"), "{msg}");
    let err = rt
        .block_on(rt.spawn(async { Handle::current().block_on(async {}) }))
        .unwrap_err();
    assert!(err.to_string().contains("block_on"));
}

#[test]
fn handle_current_outside_a_runtime_says_so() {
    let err = std::panic::catch_unwind(Handle::current).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("runtime"), "{msg}");
    assert!(Handle::try_current().is_none());
}

#[test]
fn spawn_works_from_any_thread_and_from_another_executor() {
    // A plain thread: the global runtime.
    let v = std::thread::spawn(|| block_on(spawn(async { 1 })).unwrap())
        .join()
        .unwrap();
    assert_eq!(v, 1);
    // Inside a futures executor's task.
    let v = futures::executor::block_on(async { spawn(async { 2 }).await.unwrap() });
    assert_eq!(v, 2);
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let handle = rt.handle();
    drop(rt);
    let err = futures::executor::block_on(handle.spawn(async { 1 })).unwrap_err();
    assert!(
        err.is_cancelled(),
        "a task spawned on a shut-down runtime is cancelled, not run"
    );
}

#[test]
fn bad_environment_variables_are_errors_naming_them() {
    for (var, value) in [
        ("GMP_MAXPROCS", "abc"),
        ("GMP_MAXPROCS", "0"),
        ("GMP_SCHEDTRACE", "soon"),
        ("GMP_SCHEDDETAIL", "yes"),
        ("GMP_MAXPROCS", "3"),
    ] {
        let out = child::run(
            "bad_environment_variables_are_errors_naming_them",
            &[(var, value)],
            print_runtime_new_result,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        // libtest's "test <name> ... " may precede it on the line.
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("RESULT: ").map(|(_, r)| r))
            .unwrap_or("");
        if value == "3" {
            assert_eq!(line, "ok", "{var}={value} is valid");
        } else {
            assert!(
                line.contains("InvalidInput") && line.contains(var) && line.contains(value),
                "{var}={value} must be an InvalidInput error naming it, got {line:?}"
            );
        }
    }
}

/// The child's side of the test above: what `Runtime::new` returned.
fn print_runtime_new_result() {
    match Runtime::new() {
        Ok(_) => println!("RESULT: ok"),
        Err(e) => println!("RESULT: {:?}: {e}", e.kind()),
    }
}

#[test]
fn global_runtime_panics_on_a_bad_gmp_maxprocs() {
    let out = child::run(
        "global_runtime_panics_on_a_bad_gmp_maxprocs",
        &[("GMP_MAXPROCS", "abc")],
        || drop(block_on(spawn(async {}))),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the global runtime started despite GMP_MAXPROCS=abc"
    );
    assert!(
        stderr.contains("GMP_MAXPROCS") && stderr.contains("abc"),
        "the panic must name the variable and its value: {stderr}"
    );
}
