//! Failure behaviour: panics, cancellation, shutdown, bad settings, misuse.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gmp_executor::{block_on, spawn, Handle, Runtime};

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
    let handle = rt.spawn(async move {
        let _g = g;
        futures::future::pending::<()>().await;
    });
    // Let it park first.
    std::thread::sleep(Duration::from_millis(20));
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
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let drops = DropCount::default();
    let g = drops.guard();
    let done = rt.spawn(async { 1 });
    let aborted = rt.block_on(async {
        let h = spawn(async move {
            let _g = g;
            2
        });
        h.abort();
        h.await
    });
    assert!(aborted.unwrap_err().is_cancelled());
    assert_eq!(drops.get(), 1);
    while !done.is_finished() {
        std::thread::yield_now();
    }
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
    let rt = Runtime::builder().max_procs(2).build().unwrap();
    let mut handles = Vec::new();
    // Parked tasks (waiting on a channel nobody sends on) ...
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    for _ in 0..100 {
        let g = drops.guard();
        let rx = rx.clone();
        handles.push(rt.spawn(async move {
            let _g = g;
            let _ = rx.await;
        }));
    }
    // ... and tasks still queued behind a task that is inside a long poll.
    for _ in 0..100 {
        let g = drops.guard();
        handles.push(rt.spawn(async move {
            let _g = g;
            futures::future::pending::<()>().await
        }));
    }
    std::thread::sleep(Duration::from_millis(20));
    drop(rt);
    assert_eq!(
        drops.get(),
        200,
        "every pending task's future is dropped by shutdown"
    );
    for h in handles {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    }
}

#[test]
fn shutdown_timeout_returns_while_a_poll_is_stuck() {
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    rt.spawn(async move {
        // Blocks its M until the test lets go.
        let _ = rx.recv();
    });
    std::thread::sleep(Duration::from_millis(20));
    let start = std::time::Instant::now();
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

/// Runs this test binary again with `vars` set, running only `test`.
fn child(test: &str, vars: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env("GMP_TEST_CHILD", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn child_reports_runtime_new_error() {
    if std::env::var_os("GMP_TEST_CHILD").is_none() {
        return;
    }
    match Runtime::new() {
        Ok(_) => println!("RESULT: ok"),
        Err(e) => println!("RESULT: {:?}: {e}", e.kind()),
    }
}

#[test]
fn bad_environment_variables_are_errors_naming_them() {
    for (var, value) in [
        ("GMP_MAXPROCS", "abc"),
        ("GMP_MAXPROCS", "0"),
        ("GMP_SCHEDTRACE", "soon"),
        ("GMP_SCHEDDETAIL", "yes"),
    ] {
        let out = child("child_reports_runtime_new_error", &[(var, value)]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.contains("RESULT:")).unwrap_or("");
        assert!(
            line.contains("InvalidInput") && line.contains(var) && line.contains(value),
            "{var}={value} must be an InvalidInput error naming it, got {line:?}"
        );
    }
    let out = child("child_reports_runtime_new_error", &[("GMP_MAXPROCS", "3")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("RESULT: ok"));
}

#[test]
fn child_uses_global_runtime() {
    if std::env::var_os("GMP_TEST_CHILD").is_none() {
        return;
    }
    let _ = block_on(spawn(async {}));
}

#[test]
fn global_runtime_panics_on_a_bad_gmp_maxprocs() {
    let out = child("child_uses_global_runtime", &[("GMP_MAXPROCS", "abc")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("GMP_MAXPROCS"),
        "the panic must name the variable: {stderr}"
    );
}
