//! The clock thread of a runtime with a test clock
//! (`Builder::start_paused(true)`).
//!
//! It fires the clock's timers as virtual time passes (while resumed) and
//! implements auto-advance (while paused): if it sees the runtime idle —
//! every P in the idle list, the GRQ empty, no blocking closure running or
//! queued, no `block_on` polling (the clock's inhibit count) — at the start
//! and at the end of a short wait, with no timer armed, disarmed or fired
//! in between, it jumps virtual time to the earliest deadline. A task woken
//! meanwhile by something outside gmp's view (a thread of the test, I/O)
//! can still be raced, as with tokio's auto-advance.
//!
//! The thread holds only a weak reference to the runtime and exits once the
//! runtime is closing or gone.

use std::io;
use std::sync::Weak;
use std::time::Duration;

use gmp_reactor::time::Clock;

use crate::sched::Shared;
use crate::sync::{Arc, Ordering};

/// How long the clock thread waits between looks at the runtime.
const PERIOD: Duration = Duration::from_micros(200);

/// Starts the clock thread if the runtime has a test clock.
pub(crate) fn start(shared: &Arc<Shared>) -> io::Result<()> {
    let Some(clock) = shared.config.clock.clone() else {
        return Ok(());
    };
    let weak = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name(format!("{}-clock", shared.config.thread_name))
        .spawn(move || run(&clock, &weak))?;
    Ok(())
}

/// The clock thread's loop.
fn run(clock: &Clock, weak: &Weak<Shared>) {
    loop {
        let Some(idle_before) = look(weak) else {
            return;
        };
        let observed = clock.tick(PERIOD);
        if let Some(generation) = observed {
            let Some(idle_after) = look(weak) else { return };
            if idle_before && idle_after {
                clock.auto_advance(generation);
            }
        }
    }
}

/// Whether the runtime is idle; `None` once it is closing or gone.
fn look(weak: &Weak<Shared>) -> Option<bool> {
    let shared = weak.upgrade()?;
    if shared.is_closing() {
        return None;
    }
    Some(is_idle(&shared))
}

/// Every P idle, nothing in the GRQ, the blocking pool idle.
fn is_idle(shared: &Shared) -> bool {
    shared.npidle.load(Ordering::SeqCst) == shared.procs.len()
        && shared.grq.is_empty()
        && !shared.blocking.is_busy()
}
