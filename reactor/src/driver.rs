//! The fallback driver: who polls the reactor when no gmp runtime does.
//!
//! A gmp runtime polls the reactor from its Ms (the netpoller of Go's
//! scheduler) and holds a [`DriverGuard`] while it lives. Without any guard —
//! `gmp::net` under `futures::executor::block_on`, under tokio, in a plain
//! thread — nobody would poll, so a thread named `gmp-reactor` does it:
//!
//! - It is started lazily, the first time a waker is registered with the
//!   reactor (a socket that would block, an armed timer).
//! - While `guards == 0` it blocks in `Reactor::try_poll(None, ..)` and wakes
//!   the wakers it gets itself.
//! - The first guard calls `Reactor::notify`, which kicks the driver out of
//!   its wait; it then sees `guards > 0` and sleeps on `cvar`. The driver
//!   also re-reads `guards` inside the poll, with the poll lock held, and
//!   does not block if one exists: a kick consumed by another thread's poll
//!   cannot leave it blocked in the reactor while a runtime needs it. The last guard
//!   to drop notifies `cvar` under `lock`, so the driver cannot miss it (it
//!   checks `guards` under the same lock before sleeping).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Duration;

use crate::reactor::Reactor;
use crate::source::lock;

/// State of the fallback driver thread, inside the reactor.
#[derive(Debug)]
pub(crate) struct Driver {
    /// Live [`DriverGuard`]s. The driver thread polls only while this is 0.
    guards: AtomicUsize,
    /// Whether the driver thread was started (set once, by whoever starts it).
    started: AtomicBool,
    /// Guards `cvar`; held while checking `guards` before sleeping and while
    /// notifying after the last guard dropped.
    lock: Mutex<()>,
    /// Where the driver thread sleeps while a runtime drives the reactor.
    cvar: Condvar,
}

impl Driver {
    /// No guards, thread not started.
    pub(crate) fn new() -> Driver {
        Driver {
            guards: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Starts the driver thread unless it runs already. Cheap after the first
    /// call (one atomic load).
    pub(crate) fn ensure_started(&self, reactor: &'static Reactor) {
        if self.started.load(Ordering::SeqCst) || self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let spawned = thread::Builder::new()
            .name("gmp-reactor".into())
            .spawn(move || reactor.driver.run(reactor));
        if spawned.is_err() {
            // Out of threads: let the next registration try again.
            self.started.store(false, Ordering::SeqCst);
        }
    }

    /// Body of the driver thread; never returns.
    fn run(&self, reactor: &'static Reactor) {
        let mut wakers = Vec::new();
        loop {
            {
                let mut guard = lock(&self.lock);
                while self.guards.load(Ordering::SeqCst) > 0 {
                    guard = self.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
            }
            match reactor.poll_as_fallback(&mut wakers) {
                Some(Ok(_)) => {}
                // The poller itself failed (it should not): do not spin.
                Some(Err(_)) => thread::sleep(Duration::from_millis(1)),
                // Another thread is polling (a runtime on its way out): let it
                // finish, then take over.
                None => thread::sleep(Duration::from_micros(200)),
            }
            for waker in wakers.drain(..) {
                // A foreign waker that panics must not take the driver down.
                let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
        }
    }

    /// True while a runtime holds a guard.
    pub(crate) fn has_guards(&self) -> bool {
        self.guards.load(Ordering::SeqCst) > 0
    }

    /// Takes a guard; the first one kicks the driver thread out of its wait.
    ///
    /// No thread, no kick (a pending notification would only cost the
    /// runtime a spurious wake-up). `guards` and `started` are both SeqCst:
    /// either we see `started`, or the new thread sees `guards > 0` before
    /// its first poll.
    pub(crate) fn acquire(&self, reactor: &'static Reactor) -> DriverGuard {
        if self.guards.fetch_add(1, Ordering::SeqCst) == 0 && self.started.load(Ordering::SeqCst) {
            reactor.notify();
        }
        DriverGuard { reactor }
    }

    /// Returns a guard; the last one lets the driver thread poll again.
    fn release(&self) {
        if self.guards.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _guard = lock(&self.lock);
            self.cvar.notify_all();
        }
    }
}

/// Proof that someone else (a gmp runtime) drives the reactor.
///
/// While at least one guard is alive the fallback `gmp-reactor` thread does
/// not poll; the holder must call [`Reactor::try_poll`] itself (and wake or
/// schedule the wakers it returns). Dropping the last guard hands polling back
/// to the fallback thread. Obtained from [`Reactor::driver_guard`].
///
/// # Examples
///
/// ```
/// use gmp_reactor::Reactor;
/// use std::time::Duration;
///
/// let reactor = Reactor::get();
/// let guard = reactor.driver_guard(); // we drive now
/// let mut wakers = Vec::new();
/// reactor.try_poll(Some(Duration::ZERO), &mut wakers);
/// drop(guard); // the fallback thread drives again
/// ```
#[derive(Debug)]
#[must_use = "the fallback driver resumes as soon as the guard is dropped"]
pub struct DriverGuard {
    /// The reactor this guard holds off the fallback driver of.
    reactor: &'static Reactor,
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.reactor.driver.release();
    }
}
