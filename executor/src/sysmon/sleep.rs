//! sysmon's sleep: how the monitor thread waits, and how the scheduler wakes
//! it (`SysmonState`, held by `Shared`).
//!
//! The data layer of sysmon (the loop that sleeps here is `sysmon/mod.rs`).
//! Why no wake-up is lost between "every P idle" and the wait is at the top
//! of `sysmon/mod.rs`, "The deep sleep".

use std::time::Duration;

use crate::sync::{fence, lock, AtomicBool, Condvar, Mutex, Ordering};

/// sysmon's shared state: how to wake it, and its thread.
pub(crate) struct SysmonState {
    /// sysmon sleeps deeply because every P is idle; `pidleget` wakes it.
    sleeping: AtomicBool,
    /// `true` once the runtime stops.
    stop: Mutex<bool>,
    /// Wakes sysmon from its deep sleep, or for shutdown.
    cv: Condvar,
    /// The thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SysmonState {
    pub(crate) fn new(_procs: usize) -> Self {
        SysmonState {
            sleeping: AtomicBool::new(false),
            stop: Mutex::new(false),
            cv: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    /// Called when a P leaves the idle list: ends sysmon's deep sleep.
    pub(crate) fn wake_if_sleeping(&self) {
        // Pairs with the fence in `sleep_while` (store-load on both sides).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            let _guard = lock(&self.stop);
            self.cv.notify_one();
        }
    }

    /// Keeps sysmon's thread handle, for `stop` to join.
    pub(crate) fn set_thread(&self, thread: std::thread::JoinHandle<()>) {
        *lock(&self.thread) = Some(thread);
    }

    /// Stops the thread and joins it.
    pub(crate) fn stop(&self) {
        *lock(&self.stop) = true;
        self.cv.notify_one();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    /// Sleeps `delay` or until stopped; `true` if stopped.
    pub(crate) fn sleep(&self, delay: Duration) -> bool {
        let stop = lock(&self.stop);
        if *stop {
            return true;
        }
        let (stop, _) = match self.cv.wait_timeout(stop, delay) {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        *stop
    }

    /// Sleeps while `idle()` holds (every P idle), until `wake_if_sleeping`,
    /// the `timeout` or `stop`; `true` if stopped.
    ///
    /// `sleeping` and the runtime's `npidle` form a Dekker pair: we store
    /// `sleeping` then read `npidle` (in `idle`), `pidleget` stores `npidle`
    /// then reads `sleeping`, with a SeqCst fence between store and load on
    /// each side, so at least one side sees the other. We check `idle` with the lock held and the lock is released
    /// only by the wait itself; `wake_if_sleeping` notifies with the lock
    /// held, so its notification cannot fall in between.
    pub(crate) fn sleep_while(&self, idle: impl Fn() -> bool, timeout: Option<Duration>) -> bool {
        let mut stop = lock(&self.stop);
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !*stop && idle() {
            stop = match timeout {
                Some(timeout) => match self.cv.wait_timeout(stop, timeout) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                },
                None => match self.cv.wait(stop) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
            };
        }
        self.sleeping.store(false, Ordering::SeqCst);
        *stop
    }
}
