//! Finding the next task for a P: Go's `findRunnable`, one function per step
//! (the steps are listed in the module docs of `machine`).

use super::{Worker, RUNNEXT_STREAK, YIELD_INTERVAL};
use crate::netpoll as reactor;
use crate::proc::{Proc, ProcStats};
use crate::sched::Task;
use crate::sched::GLOBAL_QUEUE_INTERVAL;
use crate::sync::{fence, Ordering};

/// How step 8 (giving the P back) ended.
enum GiveBack {
    /// A task turned up in the GRQ under the lock.
    Found(Task),
    /// Look again, spinning, holding this P (ours or another idle one).
    Retry(usize),
    /// The P is idle and this M holds none.
    Idle,
}

impl Worker {
    /// Finds a task to run on P `p` (Go's `findRunnable`); the `bool` says
    /// whether it inherits the time slice. `None`: this M holds no P any more
    /// (or the runtime is closing).
    pub(super) fn find_runnable(&self, mut p: usize) -> Option<(Task, bool)> {
        loop {
            if self.shared.is_closing() {
                return None;
            }
            if let Some(found) = self.find_queued(p) {
                return Some(found);
            }
            if let Some(task) = self.try_steal(p) {
                return Some((task, false));
            }
            match self.give_back_p(p) {
                GiveBack::Found(task) => return Some((task, false)),
                GiveBack::Retry(p2) => p = p2,
                GiveBack::Idle => return None,
            }
        }
    }

    /// Steps 1–6: this P's own queues, the GRQ and the reactor.
    fn find_queued(&self, p: usize) -> Option<(Task, bool)> {
        let proc = &self.shared.procs[p];
        if let Some(task) = self.fairness_check(p, proc) {
            return Some((task, false));
        }
        if let Some(task) = Self::yielder_due(proc) {
            return Some((task, false));
        }
        if let Some(task) = self.take_runnext(proc) {
            return Some((task, true));
        }
        if let Some(task) = proc.queue.pop_front() {
            return Some((task, false));
        }
        if let Some(task) = self.take_global(p) {
            return Some((task, false));
        }
        let reactor = reactor::get();
        if reactor.has_waiters() && !reactor.is_blocked() && self.reactor_due(proc) {
            if let Some(task) = self.poll_reactor(p) {
                return Some((task, false));
            }
        }
        // Tasks that yielded: after everything above had its turn.
        let task = proc.yielded.pop_front()?;
        proc.since_yielder.store(0, Ordering::Relaxed);
        Some((task, false))
    }

    /// Step 6's reactor poll, once per round of yielders: while tasks that
    /// yielded wait on this P, each of them runs once between two polls,
    /// instead of every yield paying for an `epoll_wait` (tokio polls its
    /// driver once per batch of deferred tasks; Go's yielders wait in the
    /// GRQ, ahead of its poll). Step 1 still polls every 61 ticks.
    fn reactor_due(&self, proc: &Proc<Task>) -> bool {
        let left = self.yield_round.get();
        let waiting = proc.yielded.len();
        if left > 0 && waiting > 0 {
            self.yield_round.set(left - 1);
            return false;
        }
        // A new round: the yielders waiting now, then the reactor again.
        self.yield_round.set(waiting);
        true
    }

    /// Step 1: every 61st tick, a look at another P for a long poll
    /// (`watch.rs`, which may rescue a task from it), one task from the GRQ,
    /// then the reactor, its tasks to the GRQ (the look and the reactor once
    /// per tick value: a runnext chain keeps the tick still).
    fn fairness_check(&self, p: usize, proc: &Proc<Task>) -> Option<Task> {
        let shared = &*self.shared;
        let tick = proc.schedtick.load(Ordering::Relaxed);
        if tick % GLOBAL_QUEUE_INTERVAL != 0 {
            return None;
        }
        let first_look = self.last_fair_tick.replace(tick) != tick;
        if first_look {
            if let Some(task) = self.watch_other_p(p) {
                return Some(task);
            }
        }
        if !shared.grq.is_empty() {
            if let Some(task) = shared.grq_get(&mut shared.lock(), p, 1) {
                return Some(task);
            }
        }
        let reactor = reactor::get();
        if first_look && reactor.has_waiters() && !reactor.is_blocked() {
            self.poll_reactor_to_global(p);
        }
        None
    }

    /// Step 2: a yielder that has waited `YIELD_INTERVAL` polls runs now.
    fn yielder_due(proc: &Proc<Task>) -> Option<Task> {
        if proc.since_yielder.load(Ordering::Relaxed) < YIELD_INTERVAL {
            return None;
        }
        proc.since_yielder.store(0, Ordering::Relaxed);
        proc.yielded.pop_front()
    }

    /// Step 3: `runnext`, which inherits the time slice, at most
    /// `RUNNEXT_STREAK` times in a row and not once sysmon has seen the slice
    /// last 10 ms; otherwise, as Go does with a preempted goroutine, it goes
    /// to the GRQ.
    fn take_runnext(&self, proc: &Proc<Task>) -> Option<Task> {
        let task = proc.queue.take_runnext()?;
        let streak = proc.runnext_streak.load(Ordering::Relaxed);
        // The preempt flag is read first: a swap on every take would be a
        // locked instruction on the hottest path.
        let preempted =
            proc.preempt.load(Ordering::Relaxed) && proc.preempt.swap(false, Ordering::Relaxed);
        if streak < RUNNEXT_STREAK && !preempted {
            ProcStats::bump(&proc.runnext_streak, 1);
            return Some(task);
        }
        proc.runnext_streak.store(0, Ordering::Relaxed);
        if let Err(task) = self.shared.push_global(task) {
            // Shutting down: the task is dropped, not run.
            drop(task);
        }
        None
    }

    /// Step 5: a batch from the GRQ.
    fn take_global(&self, p: usize) -> Option<Task> {
        let shared = &*self.shared;
        if shared.grq.is_empty() {
            return None;
        }
        shared.grq_get(&mut shared.lock(), p, 0)
    }

    /// Step 7: steal, if few enough Ms spin already (Go's
    /// `2 * nmspinning < procs - npidle`).
    fn try_steal(&self, p: usize) -> Option<Task> {
        let shared = &*self.shared;
        let busy = shared.procs.len() - shared.npidle.load(Ordering::SeqCst);
        if !self.spinning.get() && 2 * shared.nmspinning.load(Ordering::SeqCst) >= busy {
            return None;
        }
        if !self.spinning.get() {
            self.become_spinning();
        }
        self.steal_work(p)
    }

    /// Steals from a random other P (Go's `stealWork`): four passes, the
    /// victims' `runnext` only on the last.
    fn steal_work(&self, p: usize) -> Option<Task> {
        let shared = &*self.shared;
        let n = shared.procs.len();
        if n < 2 {
            return None;
        }
        let me = &shared.procs[p];
        for pass in 0..4 {
            let last = pass == 3;
            let start = self.random() as usize % n;
            let stride = coprime_stride(n, self.random() as usize);
            let mut i = start;
            for _ in 0..n {
                if shared.is_closing() {
                    return None;
                }
                if i != p {
                    if let Some(task) = self.steal_from(p, i, last) {
                        ProcStats::count(&me.stats.steals, 1);
                        return Some(task);
                    }
                }
                i = (i + stride) % n;
            }
        }
        None
    }

    /// Takes half of P `victim`'s LRQ (or its `runnext`, if `runnext` and the
    /// LRQ is empty), else half of its yielded ring, into P `p`'s LRQ, and
    /// returns the newest task taken, to run now. Counts the tasks in
    /// `stolen` and traces the steal; the caller counts the operation (a
    /// steal, or a rescue: `watch.rs`).
    pub(super) fn steal_from(&self, p: usize, victim: usize, runnext: bool) -> Option<Task> {
        let shared = &*self.shared;
        let (me, from) = (&shared.procs[p], &shared.procs[victim]);
        let (task, taken) = from
            .queue
            .steal_into(&me.queue, runnext)
            .or_else(|| from.yielded.steal_into(&me.queue, false))?;
        ProcStats::count(&me.stats.stolen, taken as u64);
        shared.trace.steal(p, victim, taken);
        Some(task)
    }

    /// Step 8: gives P `p` back to the idle list, unless work or a request
    /// for a spinner turns up on the way.
    fn give_back_p(&self, p: usize) -> GiveBack {
        let shared = &*self.shared;
        let mut sched = shared.lock();
        if shared.is_closing() {
            return GiveBack::Idle;
        }
        if let Some(task) = shared.grq_get(&mut sched, p, 0) {
            return GiveBack::Found(task);
        }
        if !self.spinning.get() && shared.needspinning.load(Ordering::SeqCst) {
            drop(sched);
            self.become_spinning();
            return GiveBack::Retry(p);
        }
        shared.pidleput(&mut sched, p);
        drop(sched);
        self.releasep();
        shared.trace.proc_idle(p);
        if self.spinning.get() {
            self.stop_spinning();
            if !shared.grq.is_empty() || shared.any_local_work().is_some() {
                if let Some(p2) = self.take_idle_p_to_spin() {
                    return GiveBack::Retry(p2);
                }
            }
        }
        // A `wakep` that found no idle P asked for a spinner just before we
        // published ours: this load pairs with its SeqCst store and re-read
        // of `npidle` (see `Shared::wakep`), so one of us acts.
        fence(Ordering::SeqCst);
        if shared.needspinning.load(Ordering::SeqCst) {
            if let Some(p2) = self.take_idle_p_to_spin() {
                return GiveBack::Retry(p2);
            }
        }
        GiveBack::Idle
    }

    /// The delicate dance, first half: stop spinning *before* the last look
    /// at the queues, so that a producer that saw us spinning and woke nobody
    /// does not leave its task behind.
    fn stop_spinning(&self) {
        self.spinning.set(false);
        self.m.spinning.store(false, Ordering::Relaxed);
        self.shared.nmspinning.fetch_sub(1, Ordering::SeqCst);
        // The re-check that follows reads the LRQs with Acquire loads; the
        // producer published with a Release store (or a swap) and then read
        // `nmspinning` after its own SeqCst fence in `wakep`. Without a fence
        // here too, both sides may read the old values (found by the loom
        // earlier hand-written park model; the runtime models run this code).
        fence(Ordering::SeqCst);
    }

    /// Takes an idle P and starts spinning with it, if one is idle.
    fn take_idle_p_to_spin(&self) -> Option<usize> {
        let p = self.shared.pidleget(&mut self.shared.lock())?;
        self.acquirep(p);
        self.become_spinning();
        Some(p)
    }
}

/// A stride coprime with `n`, picked by `r`, so that `start + k * stride`
/// visits every P once (Go's `randomOrder`).
fn coprime_stride(n: usize, r: usize) -> usize {
    fn gcd(mut a: usize, mut b: usize) -> usize {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }
    let mut stride = r % n + 1;
    while gcd(stride, n) != 1 {
        stride = stride % n + 1;
    }
    stride
}
