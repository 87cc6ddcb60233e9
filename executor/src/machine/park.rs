//! An M as the rest of the runtime sees it: its parking place, where
//! `startm` hands it a P (`Machine::hand`) and shutdown tells it to exit,
//! and the few words sysmon and schedtrace read of it.
//!
//! The data layer of the M: the scheduler's idle list holds these
//! (`SchedState::idle_ms`), the loop that parks on them is in `stop.rs`.

use crate::netpoll as reactor;
use crate::proc::NO_P;
use crate::sync::{lock, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};

/// An M: its parking place and what schedtrace shows of it.
pub(crate) struct Machine {
    /// Runtime-unique id.
    pub(crate) id: usize,
    /// The hand-over slot: a P given to this M while it was idle. Written by
    /// `startm` (through `hand`) and by the M itself.
    pub(super) park: Mutex<Park>,
    /// Signalled when `park` changes.
    pub(super) cv: Condvar,
    /// The M is (about to be) blocked in the reactor rather than on `cv`;
    /// handing it a P must also notify the reactor. Written by the M.
    pub(crate) in_reactor: AtomicBool,
    /// The P it holds, or `NO_P`. Written by the M and by sysmon's retake.
    /// For schedtrace.
    pub(crate) p: AtomicUsize,
    /// Spinning. Written by the M. For schedtrace.
    pub(crate) spinning: AtomicBool,
    /// Inside a task poll. Written by the M. For schedtrace.
    pub(crate) polling: AtomicBool,
    /// The thread's kernel id (0 if unknown), so sysmon can ask the kernel
    /// whether the thread is running or blocked. Written once by the M.
    pub(crate) tid: AtomicUsize,
}

/// What an idle M waits for.
#[derive(Default)]
pub(super) struct Park {
    /// A P handed over by `startm`, and whether to spin with it.
    pub(super) next: Option<(usize, bool)>,
    /// The runtime is shutting down.
    pub(super) shutdown: bool,
}

impl Machine {
    pub(crate) fn new(id: usize) -> Self {
        Machine {
            id,
            park: Mutex::new(Park::default()),
            cv: Condvar::new(),
            in_reactor: AtomicBool::new(false),
            p: AtomicUsize::new(NO_P),
            spinning: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            tid: AtomicUsize::new(0),
        }
    }

    /// Gives P `p` to this idle M (which `startm` took off the idle list).
    pub(crate) fn hand(&self, p: usize, spinning: bool) {
        let mut park = lock(&self.park);
        assert!(park.next.is_none(), "M{} handed two Ps", self.id);
        park.next = Some((p, spinning));
        drop(park);
        self.cv.notify_one();
        if self.in_reactor.load(Ordering::Acquire) {
            reactor::get().notify();
        }
    }

    /// Tells this M to exit.
    pub(crate) fn wake_for_shutdown(&self) {
        lock(&self.park).shutdown = true;
        self.cv.notify_one();
    }

    /// Whether a P has been handed over and not taken yet.
    pub(super) fn has_handed(&self) -> bool {
        lock(&self.park).next.is_some()
    }

    /// Takes a P handed over, if there is one.
    pub(super) fn take_handed(&self) -> Option<(usize, bool)> {
        lock(&self.park).next.take()
    }
}
