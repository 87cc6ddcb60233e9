//! `#[gmp::main]` ends like `tokio::main`: the global runtime shuts down when
//! main returns and the futures of pending tasks are dropped; `procs` on a
//! global runtime that already started with another size is an error. Each
//! case runs in a child process (this test binary, re-run with an
//! environment variable naming the case), since the global runtime lives for
//! the whole process.

use std::process::Command;

/// The variable that makes a run of this binary a child running one case.
const CHILD: &str = "GMP_API_MAIN_CHILD";

/// Prints a line when dropped.
struct Announce(&'static str);
impl Drop for Announce {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}

#[gmp::main]
async fn main_with_pending_tasks() {
    let parked = Announce("parked task dropped");
    drop(gmp::spawn(async move {
        let _parked = parked;
        futures::future::pending::<()>().await
    }));
    let sleeping = Announce("sleeping task dropped");
    drop(gmp::spawn(async move {
        let _sleeping = sleeping;
        gmp::time::sleep(std::time::Duration::from_secs(3600)).await
    }));
    gmp::yield_now().await;
    println!("main returns");
}

#[gmp::main(procs = 3)]
async fn main_with_procs_3() {}

/// Runs this binary's test `name` as a child with `CHILD=case`; its output.
fn run_child(name: &str, case: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .env_remove("GMP_MAXPROCS")
        .output()
        .unwrap()
}

#[test]
fn destructors_of_pending_tasks_run_when_main_returns() {
    if std::env::var(CHILD).as_deref() == Ok("pending") {
        main_with_pending_tasks();
        return println!("after main");
    }
    let out = run_child(
        "destructors_of_pending_tasks_run_when_main_returns",
        "pending",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let main_returns = stdout.find("main returns").expect("main did not return");
    let after = stdout
        .find("after main")
        .expect("the child did not get past main");
    for line in ["parked task dropped", "sleeping task dropped"] {
        let at = stdout
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing: {stdout}"));
        assert!(
            main_returns < at && at < after,
            "{line:?} out of place: {stdout}"
        );
    }
}

#[test]
fn procs_on_a_global_runtime_started_with_another_size_is_an_error() {
    if std::env::var(CHILD).as_deref() == Ok("procs") {
        // Something uses gmp first: the global runtime starts with 2 Ps.
        gmp::__private::block_on_main(Some(2), async {});
        main_with_procs_3();
        return;
    }
    let out = run_child(
        "procs_on_a_global_runtime_started_with_another_size_is_an_error",
        "procs",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "procs = 3 was silently ignored");
    assert!(
        stderr.contains("procs = 3") && stderr.contains("already started with 2 Ps"),
        "{stderr}"
    );
}
