//! Bounded waits for the tests: a test that waits for a state of the
//! runtime polls for it with [`wait_for`], which fails the test with a
//! message naming what it waited for instead of hanging.

use std::time::{Duration, Instant};

/// How long [`wait_for`] waits (and what tests that wait their own way give
/// up after): far more than any state takes to come about on a loaded
/// machine, so hitting it means the state never comes.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `ready` holds, checking every millisecond; fails the test
/// with `what` after [`PATIENCE`].
pub(crate) fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
