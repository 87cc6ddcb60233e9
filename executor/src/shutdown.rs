//! Shutting a runtime down: stop the Ms, drop every task's future.
//!
//! Order matters: `closing` is set first (under the scheduler lock readers
//! that push to the GRQ see it), so no task is queued after the GRQ is
//! drained; the Ms drain the P they hold on their way out; Ps left idle are
//! drained here; tasks parked on wakers elsewhere are woken from the
//! registry, and their schedule function drops them since `closing` is set.
//!
//! That schedule function drops the task on whichever thread woke it. A wake
//! from a plain thread that reached it before the registry's does so there,
//! and the registry's wake then finds the task scheduled already: so the
//! last step waits for the count of tasks alive to reach zero (local tasks
//! aside, which their own `block_on` drops), and shutdown returns only once
//! every future is gone, wherever it was dropped.

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
        let mut on_own_m = false;
        let handles = std::mem::take(&mut *lock(&self.threads));
        for (_, handle) in handles {
            if handle.thread().id() == thread::current().id() {
                on_own_m = true;
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
        // it stops, and one it hands off (`block_in_place`) is drained as it
        // goes idle (`pidleput_owned`).
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
        // On one of our own Ms we are inside a task's poll, whose future
        // cannot go before we return.
        if !on_own_m {
            all_done &= self.wait_for_futures(deadline);
        }
        self.trace.finish();
        all_done
    }

    /// Waits until every task's future is gone (local tasks aside), giving up
    /// at `deadline`: those being dropped right now by a thread whose wake
    /// got to the task first, and those of polls still running.
    fn wait_for_futures(&self, deadline: Option<Instant>) -> bool {
        let mut round = 0;
        while self.alive.owned() != 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            pause(round);
            round += 1;
        }
        true
    }
}

/// Waits a little while another thread finishes: yields at first (a
/// destructor is usually short), then sleeps a millisecond at a time.
fn pause(round: u32) {
    #[cfg(gmp_loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(gmp_loom))]
    if round < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_millis(1));
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
