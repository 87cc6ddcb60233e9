//! Starting and waking Ms (Go's `wakep`, `startm`, `newm`, `handoffp`).
//!
//! # Not losing wake-ups
//!
//! Go's rule, kept here: whenever a task becomes runnable, either some M that
//! will look at it is running, or an idle P is handed to an M.
//!
//! * A producer makes a task visible (LRQ tail store, or GRQ push under the
//!   lock) and then calls [`Shared::wakep`], which starts a spinning M if none
//!   is spinning and a P is idle.
//! * An M that runs out of work puts its P in the idle list *under the lock*,
//!   after checking the GRQ under the same lock; a GRQ producer that pushed
//!   after that check sees the idle P when it calls `wakep`.
//! * A spinning M that gives up first decrements `nmspinning`, then checks
//!   every LRQ and the GRQ again (the "delicate dance"). A producer that saw
//!   `nmspinning != 0` and did not wake anybody relied on that spinner: the
//!   SeqCst fence in `wakep` and the SeqCst decrement make sure that either the
//!   producer sees the decrement (and wakes an M), or the spinner sees the task.
//! * A producer that found no idle P sets `needspinning` and reads `npidle`
//!   again; an M putting its P down publishes it and then reads
//!   `needspinning`: one of the two acts (`find.rs`, `give_back_p`).
//!
//! The loom models in `src/loom_tests/runtime.rs` run these functions, with the real
//! M loop, under the model checker.

use std::io;

use super::Machine;
use crate::sched::Shared;
use crate::sync::{fence, lock, thread, Arc, Ordering};

impl Shared {
    /// Makes sure an M is looking for work if one can (Go's `wakep`): starts
    /// a spinning M on an idle P, unless an M is already spinning.
    pub(crate) fn wakep(self: &Arc<Self>) {
        // Order the caller's publication of work before the reads below;
        // pairs with the SeqCst decrement of `nmspinning` in the stop path.
        fence(Ordering::SeqCst);
        self.wakep_after_fence();
    }

    /// [`wakep`](Self::wakep) for a caller that has issued that SeqCst
    /// fence itself, after publishing its work.
    pub(crate) fn wakep_after_fence(self: &Arc<Self>) {
        if self.nmspinning.load(Ordering::SeqCst) != 0 {
            return;
        }
        if self.npidle.load(Ordering::SeqCst) == 0 {
            // No P to start an M on: ask the next M that runs dry to spin
            // instead of parking. That M publishes its idle P and then reads
            // `needspinning` (`Worker::give_back_p`); we store `needspinning`
            // and then read `npidle` again, each side with a SeqCst fence
            // between its store and its load, so one of us sees the other: either it spins, or we go on and wake an M for the
            // P it just put down.
            if !self.needspinning.load(Ordering::SeqCst) {
                self.needspinning.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
            }
            if self.npidle.load(Ordering::SeqCst) == 0 {
                return;
            }
        }
        if self
            .nmspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        let p = {
            let mut sched = self.lock();
            let p = self.pidleget(&mut sched);
            if p.is_none() {
                self.needspinning.store(true, Ordering::Relaxed);
            }
            p
        };
        match p {
            Some(p) => self.startm(p, true),
            None => {
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Starts `n` Ms on idle Ps, not spinning (Go's `injectglist`'s
    /// `startIdle`), for tasks just put in the GRQ.
    pub(crate) fn start_idle(self: &Arc<Self>, n: usize) {
        for _ in 0..n {
            let p = self.pidleget(&mut self.lock());
            match p {
                Some(p) => self.startm(p, false),
                None => break,
            }
        }
    }

    /// Gives P `p` (owned by the caller) to an idle M, or to a new M.
    /// `spinning`: the M starts spinning (the caller counted it in
    /// `nmspinning`).
    pub(crate) fn startm(self: &Arc<Self>, p: usize, spinning: bool) {
        if self.is_closing() {
            self.pidleput_owned(self.lock(), p);
            if spinning {
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        let idle = {
            let mut sched = self.lock();
            // Prefer an M parked on its condition variable: the one blocked in
            // the reactor keeps watching I/O and timers.
            let pos = sched
                .idle_ms
                .iter()
                .rposition(|m| !m.in_reactor.load(Ordering::Acquire))
                .or_else(|| sched.idle_ms.len().checked_sub(1));
            pos.map(|i| sched.idle_ms.swap_remove(i))
        };
        match idle {
            Some(m) => {
                self.nmidle.fetch_sub(1, Ordering::Relaxed);
                m.hand(p, spinning);
            }
            None => {
                if let Err(err) = self.newm(p, spinning) {
                    if !self.is_closing() {
                        self.report_thread_cap(&err);
                    }
                    self.keep_p_after_failed_newm(p, spinning);
                }
            }
        }
    }

    /// `newm` failed (the thread cap): hand P `p` to an M that went idle
    /// meanwhile, else put it in the idle list. An M joining the idle list
    /// looks for an idle P with work in the GRQ under the same lock, and
    /// found none since we held `p`: putting `p` idle behind its back would
    /// leave the work that `p` was taken for with no M (found by the loom
    /// model `handoffp_recheck_catches_a_concurrent_global_push` at 4
    /// preemptions).
    fn keep_p_after_failed_newm(self: &Arc<Self>, p: usize, spinning: bool) {
        let mut sched = self.lock();
        if let Some(m) = sched.idle_ms.pop() {
            drop(sched);
            self.nmidle.fetch_sub(1, Ordering::Relaxed);
            m.hand(p, spinning);
            return;
        }
        // `newm` fails this way at shutdown too.
        self.pidleput_owned(sched, p);
        if spinning {
            self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Starts a new M thread holding P `p`.
    fn newm(self: &Arc<Self>, p: usize, spinning: bool) -> io::Result<()> {
        let n = self.nthreads.fetch_add(1, Ordering::SeqCst);
        if n >= self.config.max_threads {
            self.nthreads.fetch_sub(1, Ordering::SeqCst);
            return Err(io::Error::other(format!(
                "max_threads ({}) reached: no new M started; tasks wait for a running M",
                self.config.max_threads
            )));
        }
        let id = self.next_mid.fetch_add(1, Ordering::Relaxed);
        let m = Arc::new(Machine::new(id));
        self.lock().all_ms.push(m.clone());
        let shared = self.clone();
        let name = format!("{}-{}", self.config.thread_name, id);
        let m2 = m.clone();
        let hooks = self.config.hooks.clone();
        // Spawn and record the handle under the handles' lock: shutdown sets
        // `closing` before it takes the handles to join them, so it either
        // joins this M or we see `closing` here and start none; and an M that
        // exits at once finds its handle in `m_exited` (found by the loom
        // model `shutdown_drops_every_future_once` at 3 preemptions).
        let mut threads = lock(&self.threads);
        let spawned = if self.is_closing() {
            Err(io::Error::other(
                "the runtime is shutting down: no new M started",
            ))
        } else {
            thread::spawn(name, self.config.stack_size, move || {
                hooks.run(|| super::run(shared.clone(), m2.clone(), p, spinning));
                // After the stop hook: an M counted out has run its last
                // user code.
                shared.m_exited(&m2);
            })
        };
        match spawned {
            Ok(handle) => {
                threads.push((id, handle));
                Ok(())
            }
            Err(err) => {
                drop(threads);
                self.nthreads.fetch_sub(1, Ordering::SeqCst);
                self.lock().all_ms.retain(|x| !Arc::ptr_eq(x, &m));
                Err(err)
            }
        }
    }

    /// Says once on stderr that no M could be started.
    fn report_thread_cap(&self, err: &io::Error) {
        if !self.cap_reported.swap(true, Ordering::Relaxed) {
            eprintln!("gmp: {err}");
        }
    }

    /// Gives away P `p`, which the caller holds but will not run (Go's
    /// `handoffp`): to a new or idle M if there is work for it, else to the
    /// idle list.
    pub(crate) fn handoffp(self: &Arc<Self>, p: usize) {
        let proc = &self.procs[p];
        proc.m.store(crate::proc::NO_M, Ordering::Relaxed);
        if proc.has_work() || !self.grq.is_empty() {
            self.startm(p, false);
            return;
        }
        // No work: but if no M is spinning or idle-with-P, keep one spinning
        // so that work arriving now is picked up.
        if self.nmspinning.load(Ordering::SeqCst) + self.npidle.load(Ordering::SeqCst) == 0
            && self
                .nmspinning
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.startm(p, true);
            return;
        }
        let mut sched = self.lock();
        if !self.grq.is_empty() {
            drop(sched);
            self.startm(p, false);
            return;
        }
        self.pidleput(&mut sched, p);
        drop(sched);
        // Re-check after publishing the idle P: a local push cannot happen
        // (we held the P), but the GRQ may have been pushed to meanwhile by
        // a producer that saw no idle P.
        if !self.grq.is_empty() || proc.has_work() {
            self.wakep();
        }
    }
}
