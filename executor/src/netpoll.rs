//! The executor's view of the reactor (Go's `netpoll` hooks).
//!
//! The M loop and sysmon reach the reactor only through [`get`], which is
//! `gmp_reactor::Reactor::get()` in a normal build. Under `--cfg gmp_loom` it
//! is a model instead: no I/O source is ever ready, at most one M blocks in
//! it at a time (others get `None`, as from the real `try_poll_unless`), and
//! a blocked M wakes only on [`Reactor::notify`]. The loom models then run
//! the real `Worker::run`, `stop_m` and `startm` against it, and an M left
//! blocked in the model with work queued is a deadlock that loom reports.
//! Under Miri (which cannot create the poller's timerfd) the same model
//! stands in, so the task and join unit tests run there.

#[cfg(not(any(gmp_loom, miri)))]
pub(crate) use gmp_reactor::{DriverGuard, Reactor};

/// The process's reactor.
#[cfg(not(any(gmp_loom, miri)))]
pub(crate) fn get() -> &'static Reactor {
    Reactor::get()
}

#[cfg(any(gmp_loom, miri))]
pub(crate) use model::{get, DriverGuard, Reactor};

#[cfg(any(gmp_loom, miri))]
mod model {
    use std::io;
    use std::task::Waker;
    use std::time::Duration;

    use crate::sync::{lock, Condvar, Mutex};

    /// The model reactor of one loom execution.
    pub(crate) struct Reactor {
        /// Who is blocked in it, and whether a notification is pending.
        state: Mutex<State>,
        /// Signalled by `notify`.
        cv: Condvar,
    }

    /// What `Reactor::state` protects.
    struct State {
        /// The token of the M blocked in the reactor, if one is.
        blocked: Option<usize>,
        /// A `notify` not consumed by a wait yet (an eventfd is sticky).
        notified: bool,
    }

    /// Keeps the fallback driver off; nothing to keep off in the model.
    pub(crate) struct DriverGuard;

    fn new() -> Reactor {
        Reactor {
            state: Mutex::new(State {
                blocked: None,
                notified: false,
            }),
            cv: Condvar::new(),
        }
    }

    #[cfg(gmp_loom)]
    loom::lazy_static! {
        static ref REACTOR: Reactor = new();
    }

    /// The model reactor of this execution.
    #[cfg(gmp_loom)]
    pub(crate) fn get() -> &'static Reactor {
        &REACTOR
    }

    /// The model reactor of this process (Miri).
    #[cfg(not(gmp_loom))]
    pub(crate) fn get() -> &'static Reactor {
        static REACTOR: std::sync::OnceLock<Reactor> = std::sync::OnceLock::new();
        REACTOR.get_or_init(new)
    }

    impl Reactor {
        pub(crate) fn has_waiters(&self) -> bool {
            false
        }

        pub(crate) fn is_blocked(&self) -> bool {
            lock(&self.state).blocked.is_some()
        }

        pub(crate) fn try_poll(
            &self,
            _timeout: Option<Duration>,
            _wakers: &mut Vec<Waker>,
        ) -> Option<io::Result<usize>> {
            Some(Ok(0))
        }

        /// Blocks until notified, unless someone else is blocked here
        /// (`None`) or `skip_wait()` holds once the lock is taken.
        pub(crate) fn try_poll_unless(
            &self,
            owner: usize,
            _timeout: Option<Duration>,
            _wakers: &mut Vec<Waker>,
            skip_wait: &dyn Fn() -> bool,
        ) -> Option<io::Result<usize>> {
            let mut state = lock(&self.state);
            if state.blocked.is_some() {
                return None;
            }
            if !skip_wait() {
                state.blocked = Some(owner);
                while !state.notified {
                    state = match self.cv.wait(state) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                }
                state.blocked = None;
            }
            state.notified = false;
            Some(Ok(0))
        }

        pub(crate) fn poller(&self) -> usize {
            lock(&self.state).blocked.unwrap_or(0)
        }

        pub(crate) fn notify(&self) {
            lock(&self.state).notified = true;
            self.cv.notify_all();
        }

        pub(crate) fn last_poll_nanos(&self) -> u64 {
            0
        }

        pub(crate) fn now_nanos() -> u64 {
            0
        }

        pub(crate) fn driver_guard(&self) -> DriverGuard {
            DriverGuard
        }
    }
}
