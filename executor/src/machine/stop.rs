//! An M without a P (Go's `stopm`): it blocks in the reactor if nobody
//! does, else parks on its condition variable until `startm` hands it a P.
//!
//! The M joins the idle list *before* it blocks, flagged `in_reactor`, so
//! `startm` can hand it a P while it waits: `Machine::hand` stores the P
//! under the park lock and then notifies the reactor. The M checks for a
//! handed P once it holds the reactor's poll lock (`try_poll_unless`), so the
//! hand-over either is seen there or ends the very wait it would have
//! missed (the loom model `runtime::a_remote_spawn_wakes_the_m_in_the_reactor`).

use std::task::Waker;
use std::time::Duration;

use super::{Park, Worker, REACTOR_RETRY};
use crate::netpoll as reactor;
use crate::sync::{lock, Arc, Ordering};

/// What `Worker::park_m` ended with.
pub(super) enum Parked {
    /// Handed P `.0`, spinning if `.1`.
    Handed(usize, bool),
    /// Time to exit (shutdown or keep-alive expired).
    Exit,
    /// Off the idle list again, to retry the reactor.
    Retry,
}

/// What one round of `stop_m` ended with.
enum Stopped {
    /// Holding this P now.
    Run(usize),
    /// The M should exit.
    Exit,
    /// Go round again.
    Again,
}

impl Worker {
    /// With no P: block in the reactor if nobody is, else park until handed
    /// a P. Returns the P (acquired), or `None` when the M should exit.
    pub(super) fn stop_m(&self) -> Option<usize> {
        loop {
            if self.shared.is_closing() {
                return None;
            }
            if let Some(p) = self.join_idle_list() {
                return Some(p);
            }
            let round = match self.block_in_reactor() {
                Some(wakers) => self.after_reactor(wakers),
                None => self.park_instead(),
            };
            match round {
                Stopped::Run(p) => return Some(p),
                Stopped::Exit => return None,
                Stopped::Again => {}
            }
        }
    }

    /// Joins the idle Ms, flagged as on its way into the reactor; or, if work
    /// arrived in the GRQ since the P was given back, takes an idle P.
    fn join_idle_list(&self) -> Option<usize> {
        let shared = &*self.shared;
        let mut sched = shared.lock();
        if !shared.grq.is_empty() {
            if let Some(p) = shared.pidleget(&mut sched) {
                drop(sched);
                self.acquirep(p);
                return Some(p);
            }
        }
        self.m.in_reactor.store(true, Ordering::Release);
        sched.idle_ms.push(self.m.clone());
        shared.nmidle.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Blocks in the reactor until something is ready, a timer is due or it
    /// is notified. `None`: another thread is blocked in it already.
    fn block_in_reactor(&self) -> Option<Vec<Waker>> {
        let since = self.shared.trace.now();
        let mut wakers = Vec::new();
        let token = Arc::as_ptr(&self.shared) as usize;
        // Checked under the poll lock: a P handed to us (`Machine::hand`
        // notifies after storing it) or shutdown (`closing` is set before
        // the notification) cannot slip in between and leave us blocked.
        let skip_wait = || self.m.has_handed() || self.shared.is_closing();
        let polled = reactor::get().try_poll_unless(token, None, &mut wakers, &skip_wait);
        self.m.in_reactor.store(false, Ordering::Release);
        // An error from the poller is as good as a wake-up: look again.
        let _ = polled?;
        self.shared.trace.m_park(self.m.id, since, true);
        Some(wakers)
    }

    /// Somebody else watches the reactor: sleep on our variable. If it is
    /// another runtime (or the fallback thread), it may stop watching without
    /// telling us: then come back and try again now and then, so our timers
    /// and I/O still fire.
    fn park_instead(&self) -> Stopped {
        let since = self.shared.trace.now();
        let token = Arc::as_ptr(&self.shared) as usize;
        let retry = (reactor::get().poller() != token).then_some(REACTOR_RETRY);
        let parked = self.park_m(retry);
        self.shared.trace.m_park(self.m.id, since, false);
        match parked {
            Parked::Handed(p, spinning) => Stopped::Run(self.take_p(p, spinning)),
            Parked::Exit => Stopped::Exit,
            Parked::Retry => Stopped::Again,
        }
    }

    /// Back from the reactor with `wakers`: get off the idle list (or take
    /// the P that `startm` is handing us) and find a place for the tasks.
    fn after_reactor(&self, wakers: Vec<Waker>) -> Stopped {
        let shared = &*self.shared;
        let mut sched = shared.lock();
        let Some(pos) = sched.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.m)) else {
            // `startm` took us off the list: its P is on the way.
            drop(sched);
            return match self.wait_handed() {
                Parked::Handed(p, spinning) => {
                    let p = self.take_p(p, spinning);
                    self.inject_and_run_first(p, wakers);
                    Stopped::Run(p)
                }
                Parked::Exit | Parked::Retry => {
                    wakers.into_iter().for_each(Waker::wake);
                    Stopped::Exit
                }
            };
        };
        sched.idle_ms.swap_remove(pos);
        shared.nmidle.fetch_sub(1, Ordering::Relaxed);
        let p = if wakers.is_empty() {
            None
        } else {
            shared.pidleget(&mut sched)
        };
        drop(sched);
        match p {
            Some(p) => {
                self.acquirep(p);
                self.inject_and_run_first(p, wakers);
                Stopped::Run(p)
            }
            // No idle P: the tasks go to the GRQ (the schedule function does
            // that off a P), and we look again for a place.
            None => {
                wakers.into_iter().for_each(Waker::wake);
                Stopped::Again
            }
        }
    }

    /// Acquires P `p` handed over by `startm`, spinning if asked.
    fn take_p(&self, p: usize, spinning: bool) -> usize {
        self.acquirep(p);
        if spinning {
            // `wakep` counted us in `nmspinning` already.
            self.spinning.set(true);
            self.m.spinning.store(true, Ordering::Relaxed);
        }
        p
    }

    /// Parks on the condition variable until handed a P; exits after the
    /// keep-alive if nobody did. With `retry`, gives up after that long to
    /// try the reactor again (`Parked::Retry`).
    pub(super) fn park_m(&self, retry: Option<Duration>) -> Parked {
        let m = &self.m;
        let mut park = lock(&m.park);
        loop {
            if let Some((p, spinning)) = park.next.take() {
                return Parked::Handed(p, spinning);
            }
            if park.shutdown || self.shared.is_closing() {
                drop(park);
                self.leave_idle_list();
                return Parked::Exit;
            }
            let keep_alive = self.shared.config.keep_alive;
            let (guard, timed_out) = wait(m, park, retry.unwrap_or(keep_alive));
            park = guard;
            if timed_out && park.next.is_none() {
                drop(park);
                if self.leave_idle_list() {
                    return if retry.is_some() {
                        Parked::Retry
                    } else {
                        Parked::Exit
                    };
                }
                // Somebody is handing us a P right now.
                park = lock(&m.park);
            }
        }
    }

    /// Waits for the P that `startm` is handing over.
    fn wait_handed(&self) -> Parked {
        let mut park = lock(&self.m.park);
        loop {
            if let Some((p, spinning)) = park.next.take() {
                return Parked::Handed(p, spinning);
            }
            if park.shutdown {
                return Parked::Exit;
            }
            park = match self.m.cv.wait(park) {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
        }
    }

    /// Takes this M off the idle list. `false`: it was not there (a P is
    /// being handed to it).
    fn leave_idle_list(&self) -> bool {
        let mut sched = self.shared.lock();
        match sched.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.m)) {
            Some(pos) => {
                sched.idle_ms.swap_remove(pos);
                self.shared.nmidle.fetch_sub(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Leaves the loop at shutdown while holding P `p`: drops its tasks.
    pub(super) fn exit_with_p(&self, p: usize) {
        let proc = &self.shared.procs[p];
        proc.drain();
        let mut sched = self.shared.lock();
        self.shared.pidleput(&mut sched, p);
        drop(sched);
        self.p.set(None);
        if self.spinning.get() {
            self.spinning.set(false);
            self.shared.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        let _ = self.m.take_handed();
    }
}

/// Waits on M `m`'s variable for at most `timeout`; `true` if it timed out.
/// (Through `sync`, so that a loom model can make the timeout fire.)
fn wait<'a>(
    m: &'a super::Machine,
    park: crate::sync::MutexGuard<'a, Park>,
    timeout: Duration,
) -> (crate::sync::MutexGuard<'a, Park>, bool) {
    crate::sync::wait_timeout(&m.cv, &m.park, park, timeout)
}
