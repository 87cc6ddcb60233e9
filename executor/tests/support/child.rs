//! Running one test's body in a child process: the harness shared by
//! `executor/tests/failure.rs` and `tests/observability.rs`.
//!
//! Some behaviour is per process: the `GMP_*` environment variables are read
//! by every runtime of a process, the global runtime is built once, and the
//! reactor is one per process. A test of such behaviour calls [`run`] with
//! its own name, the variables to set and the body to run there.
//!
//! The protocol:
//!
//! 1. In the parent (the test binary as `cargo test` ran it), [`run`] starts
//!    this binary again with only that test selected (`<name> --exact`),
//!    `GMP_TEST_CHILD=<name>`, every other `GMP_*` variable removed and
//!    `vars` set. It waits for the child and returns its [`Output`], on
//!    which the test then asserts.
//! 2. In the child (`GMP_TEST_CHILD` names the running test), the same test
//!    calls [`run`] again, which runs `body` and ends the process with
//!    status 0 once `body` returns. A panic in `body` fails the child's test
//!    (status 101, the message on stderr) for the parent to see.
//!
//! So every `#[test]` is one behaviour checked in the parent: no test runs
//! only as a child, none returns early, and the child's own "test passed"
//! is never counted.

use std::process::{Command, Output};

/// The variable that tells a child which test's body to run.
const CHILD_VAR: &str = "GMP_TEST_CHILD";

/// Runs `body` in a child process of this test binary with `vars` set, and
/// returns the child's output. `test` is the name of the calling test (its
/// path inside the test binary, e.g. `bad_values_are_errors`).
///
/// # Panics
///
/// In the parent, if the child cannot be started.
pub(crate) fn run(test: &str, vars: &[(&str, &str)], body: impl FnOnce()) -> Output {
    if std::env::var_os(CHILD_VAR).is_some_and(|v| v == test) {
        body();
        // Not a return into the test harness: the child's verdict is its
        // exit status and output, read by the parent.
        std::process::exit(0);
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("the test binary's path for the child of {test}: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    // The parent's own settings must not leak into the child.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GMP_") {
            cmd.env_remove(key);
        }
    }
    cmd.env(CHILD_VAR, test);
    cmd.envs(vars.iter().copied());
    cmd.output()
        .unwrap_or_else(|e| panic!("starting the child of {test}: {e}"))
}
