//! sysmon's shared state (`SysmonState`, held by `Shared`): how the
//! monitor thread sleeps, how the scheduler wakes it (`pidleget` ends its
//! deep sleep), and the long-poll reports of the Ms' watch
//! (`machine/watch.rs`).
//!
//! The data layer of sysmon: the loop that sleeps here, and why no wake-up
//! is lost between "every P idle" and the wait, are in `sysmon/mod.rs`.

use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};
use std::time::Duration;

use crate::sync::{fence, lock, AtomicBool, Condvar, Mutex, Ordering};

/// A poll must have lasted this long (by sysmon's clock, or by the watch of
/// an M) before its P is taken for the sake of the P's other work. Go takes
/// a P from a syscall after one sysmon tick (20 µs); a task poll is usually
/// computation, and taking the P of every poll that spawns a few hundred
/// tasks costs more than it gains (see docs/benchmarks.md), so gmp waits
/// 1 ms.
pub(crate) const HANDOFF_AFTER: Duration = Duration::from_millis(1);

/// sysmon's shared state: how to wake it, and its thread.
pub(crate) struct SysmonState {
    /// sysmon sleeps deeply because every P is idle; `pidleget` wakes it.
    sleeping: AtomicBool,
    /// An M reported a long poll (`report_long_poll`) since sysmon last
    /// looked: its next sleep returns at once. Set by the reporting M,
    /// cleared by sysmon when it wakes.
    nudged: AtomicBool,
    /// Per P: the sequence number of the last poll an M reported as long
    /// (0: none; polls are numbered from 1). Written by the reporting M
    /// before it sets `nudged`, read by sysmon after it clears it. A hint:
    /// sysmon still checks the P's state word, its work and the M's thread.
    reports: Box<[StdAtomicU64]>,
    /// `true` once the runtime stops.
    stop: Mutex<bool>,
    /// Wakes sysmon from its deep sleep or its interval (a nudge), or for
    /// shutdown.
    cv: Condvar,
    /// The thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tests only: `false` makes sysmon retake only the polls Ms reported,
    /// never on its own clock, so a test can tell the two paths apart.
    /// Written by the test before it starts the work.
    #[cfg(test)]
    pub(crate) own_clock: std::sync::atomic::AtomicBool,
    /// Tests only: `false` turns the watch's rescues off (`machine/watch.rs`),
    /// so that a task queued behind a stuck poll runs only once its P is
    /// handed off. Written by the test before it starts the work.
    #[cfg(test)]
    pub(crate) rescues: std::sync::atomic::AtomicBool,
}

impl SysmonState {
    pub(crate) fn new(procs: usize) -> Self {
        SysmonState {
            sleeping: AtomicBool::new(false),
            nudged: AtomicBool::new(false),
            reports: (0..procs).map(|_| StdAtomicU64::new(0)).collect(),
            stop: Mutex::new(false),
            cv: Condvar::new(),
            thread: Mutex::new(None),
            #[cfg(test)]
            own_clock: std::sync::atomic::AtomicBool::new(true),
            #[cfg(test)]
            rescues: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Called by an M that saw P `p` inside poll `seq` at two looks at least
    /// [`HANDOFF_AFTER`] apart while `p` had runnable work: wakes sysmon
    /// early (the condition variable, only if no nudge is pending), and
    /// sysmon decides with its usual checks whether to retake `p`.
    pub(crate) fn report_long_poll(&self, p: usize, seq: u64) {
        if let Some(report) = self.reports.get(p) {
            report.store(seq, StdOrdering::Relaxed);
        }
        // Release: sysmon's swap (Acquire) that clears the flag sees the
        // report. Notified under the lock that `sleep` checks the flag with,
        // so the nudge cannot fall between that check and the wait.
        if !self.nudged.swap(true, Ordering::AcqRel) {
            let _guard = lock(&self.stop);
            self.cv.notify_one();
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

    /// Takes the pending nudge, if any (sysmon, at each wake-up). Acquire:
    /// the reports stored before it are visible.
    pub(crate) fn take_nudge(&self) -> bool {
        self.nudged.swap(false, Ordering::AcqRel)
    }

    /// The poll of P `p` an M last reported as long, if any.
    pub(crate) fn reported(&self, p: usize) -> Option<u64> {
        self.reports.get(p).map(|r| r.load(StdOrdering::Relaxed))
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

    /// Sleeps `delay`, or until stopped or nudged; `true` if stopped.
    pub(crate) fn sleep(&self, delay: Duration) -> bool {
        let stop = lock(&self.stop);
        if *stop {
            return true;
        }
        if self.nudged.load(Ordering::Acquire) {
            return false;
        }
        let (stop, _) = crate::sync::wait_timeout(&self.cv, &self.stop, stop, delay);
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
                Some(timeout) => crate::sync::wait_timeout(&self.cv, &self.stop, stop, timeout).0,
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
