//! Tasks woken by the reactor, spread over the Ps (Go's `netpoll` +
//! `injectglist`).
//!
//! An M that polls the reactor collects the wakers of whatever became ready.
//! Waking them one by one would push each task through the schedule function;
//! instead the M sets `Worker::injecting`, so the wakes of this runtime's
//! tasks land in `Worker::batch`, and then hands them out at once: one per
//! idle P to the GRQ (with an M started for each), the rest to its own LRQ,
//! the first to run now. The fairness step's poll (step 1, every 61st tick)
//! sends them all to the GRQ tail instead (`poll_reactor_to_global`).

use std::task::Waker;
use std::time::Duration;

use super::Worker;
use crate::netpoll as reactor;
use crate::proc::ProcStats;
use crate::sched::Task;
use crate::sync::Ordering;

impl Worker {
    /// Polls the reactor without blocking and spreads the woken tasks;
    /// returns one of them to run on P `p`.
    pub(super) fn poll_reactor(&self, p: usize) -> Option<Task> {
        self.inject(p, self.poll_now(p)?)
    }

    /// The fairness step's poll (step 1): the woken tasks go to the GRQ
    /// tail, behind the tasks already waiting there, not to this P's LRQ.
    /// The LRQ is not empty here; tasks added to its tail every 61 ticks
    /// would keep it from ever draining, and the tasks that spilled to the
    /// GRQ would wait for it (one per 61 ticks), served at a fraction of
    /// the others' rate. Go polls the network only with an empty run queue.
    pub(super) fn poll_reactor_to_global(&self, p: usize) {
        let Some(wakers) = self.poll_now(p) else {
            return;
        };
        let batch = self.wake_into_batch(wakers);
        if batch.is_empty() {
            return;
        }
        let n = batch.len();
        self.shared.push_global_batch(batch);
        let idle = self.shared.npidle.load(Ordering::SeqCst).min(n);
        self.shared.start_idle(idle);
    }

    /// Wakes `wakers` while holding P `p` and spreads this runtime's tasks
    /// among them (see the module docs); returns the first to run now.
    pub(super) fn inject(&self, p: usize, wakers: Vec<Waker>) -> Option<Task> {
        let mut batch = self.wake_into_batch(wakers);
        if batch.is_empty() {
            return None;
        }
        let mut tasks = batch.drain(..);
        let first = tasks.next();
        let idle = self.shared.npidle.load(Ordering::SeqCst).min(tasks.len());
        if idle > 0 {
            self.shared.push_global_batch(tasks.by_ref().take(idle));
            self.shared.start_idle(idle);
        }
        for task in tasks {
            self.shared.push_tail(p, task);
        }
        first
    }

    /// Wakes `wakers` with `injecting` set and returns the tasks of this
    /// runtime they woke, in order (other wakers ran their own schedule).
    fn wake_into_batch(&self, wakers: Vec<Waker>) -> Vec<Task> {
        self.injecting.set(true);
        for waker in wakers {
            waker.wake();
        }
        self.injecting.set(false);
        std::mem::take(&mut *self.batch.borrow_mut())
    }

    /// Spreads tasks woken by a blocking reactor poll; the first goes to
    /// `runnext` of P `p`, so this M runs it next.
    pub(super) fn inject_and_run_first(&self, p: usize, wakers: Vec<Waker>) {
        if let Some(task) = self.inject(p, wakers) {
            // This M runs it next: no other M needed for it.
            let _ = self.shared.push_local(p, task, false);
        }
    }
}

impl Worker {
    /// A non-blocking poll of the reactor by the M holding P `p`, counted
    /// in its `reactor_polls`: the wakers of what is ready, if anything is
    /// (and no other thread is polling it).
    fn poll_now(&self, p: usize) -> Option<Vec<Waker>> {
        ProcStats::count(&self.shared.procs[p].stats.reactor_polls, 1);
        let mut wakers = Vec::new();
        match reactor::get().try_poll(Some(Duration::ZERO), &mut wakers) {
            Some(Ok(n)) if n > 0 => Some(wakers),
            _ => None,
        }
    }
}
