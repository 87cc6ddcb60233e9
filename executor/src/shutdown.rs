//! Shutting a runtime down: stop the Ms, drop every task's future.
//!
//! Order matters: `closing` is set first (under the scheduler lock readers
//! that push to the GRQ see it), so no task is queued after the GRQ is
//! drained; the Ms drain the P they hold on their way out; Ps left idle are
//! drained here; tasks parked on wakers elsewhere are woken from the
//! registry, and their schedule function drops them since `closing` is set.

use std::time::{Duration, Instant};

use crate::netpoll as reactor;
use crate::sched::Shared;
use crate::sync::{fence, lock, thread, Arc, Ordering};

impl Shared {
    /// Wakes every parked M so it sees `closing` and exits.
    pub(crate) fn wake_all_ms(&self) {
        let ms: Vec<_> = self.lock().all_ms.clone();
        for m in ms {
            m.wake_for_shutdown();
        }
        reactor::get().notify();
    }

    /// Shuts the runtime down: stops the Ms, drops every task's future.
    /// Waits at most `timeout` for polls in progress (forever if `None`).
    /// Returns whether everything stopped in time.
    pub(crate) fn shutdown(self: &Arc<Self>, timeout: Option<Duration>) -> bool {
        if self.closing.swap(true, Ordering::SeqCst) {
            return true;
        }
        // Pairs with the fence after a lock-free push to the GRQ
        // (`schedule_remote`): the drain below sees that task, or its
        // producer sees `closing` and drains it.
        fence(Ordering::SeqCst);
        let deadline = timeout.map(|t| Instant::now() + t);
        self.sysmon.stop();
        self.wake_all_ms();
        // Drain the GRQ under the lock, so no push can slip in after it.
        let grq = {
            let mut sched = self.lock();
            self.grq.take_all(&mut sched.grq)
        };
        drop(grq);
        // Join the Ms. Each drains the P it holds on its way out.
        let mut all_done = true;
        let handles = std::mem::take(&mut *lock(&self.threads));
        for (_, handle) in handles {
            if handle.thread().id() == thread::current().id() {
                continue;
            }
            if !join_until(handle, deadline) {
                all_done = false;
            }
        }
        all_done &= self.blocking.shutdown(deadline);
        // Ps left in the idle list may still hold tasks (e.g. put there by a
        // handoff): drop them. When every M has stopped, so may a P still
        // marked owned: one that `startm` handed to an M which saw the
        // shutdown flag first and exited without taking it. Nobody runs a P
        // then, so draining it here is the owner's drain. If an M did not
        // stop in time, the Ps still owned are its own; it drains its P when
        // it stops.
        let ps: Vec<usize> = if all_done {
            (0..self.procs.len()).collect()
        } else {
            self.lock().idle_procs.clone()
        };
        for p in ps {
            self.procs[p].drain();
        }
        // Tasks parked on wakers elsewhere: wake them, and the schedule
        // function drops them since `closing` is set.
        for waker in self.registry.take_all() {
            waker.wake();
        }
        self.trace.finish();
        all_done
    }
}

/// Joins `handle`, giving up at `deadline`.
///
/// Keeps notifying the reactor while it waits: one notification wakes one
/// wait, and an M that was on its way into the reactor when shutdown began
/// may block there after another M consumed it.
fn join_until(handle: thread::JoinHandle<()>, deadline: Option<Instant>) -> bool {
    while !thread::is_finished(&handle) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        reactor::get().notify();
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = handle.join();
    true
}
