//! The runtime's shared scheduler state: the GRQ, the idle lists, the
//! spinning count, and the operations that move Ps and Ms between them
//! (Go's `sched` and `wakep`, `startm`, `pidleget`, `pidleput`, `globrunqget`).
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
//!
//! The loom model `src/loom_tests/park.rs` checks the protocol with 2–3 threads.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use crate::config::Config;
use crate::machine::{self, Machine};
use crate::proc::{Proc, ProcStats};
use crate::queue::SpillBatch;
use crate::registry::Registry;
use crate::sync::{fence, lock, Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::sysmon::SysmonState;
use crate::task::Task;
use crate::trace;

/// Go's fairness interval: every 61st tick a P looks at the GRQ first.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u64 = 61;

/// The most tasks a P takes from the GRQ at once (half its LRQ).
pub(crate) const GLOBAL_BATCH_MAX: usize = crate::queue::LOCAL_QUEUE_CAPACITY / 2;

/// State shared by every thread of one runtime.
pub(crate) struct Shared {
    /// The Ps; their number never changes.
    pub(crate) procs: Box<[Proc]>,
    /// GRQ, idle Ps and idle Ms, under one lock as in Go (`sched.lock`).
    pub(crate) sched: Mutex<SchedState>,
    /// `sched.grq.len()`, readable without the lock (Go's `runqsize`).
    pub(crate) grq_len: AtomicUsize,
    /// Number of idle Ps (`sched.idle_procs.len()`); written under the lock.
    pub(crate) npidle: AtomicUsize,
    /// Number of spinning Ms: Ms that hold a P and look for work to steal.
    pub(crate) nmspinning: AtomicUsize,
    /// A `wakep` found no idle P: the next M to run dry should spin instead of
    /// parking, in case the work it was for is still there (Go 1.21).
    pub(crate) needspinning: AtomicBool,
    /// Set once by shutdown: no more scheduling; Ms exit; wakes drop tasks.
    pub(crate) closing: AtomicBool,
    /// Ms alive (sysmon and the blocking pool not counted).
    pub(crate) nthreads: AtomicUsize,
    /// Ms parked with no P.
    pub(crate) nmidle: AtomicUsize,
    /// Next M id.
    pub(crate) next_mid: AtomicUsize,
    /// Whether "max_threads reached" has been reported already.
    pub(crate) cap_reported: AtomicBool,
    /// Tasks parked on a waker somewhere (for shutdown and abort).
    pub(crate) registry: Registry,
    /// Settings fixed at build time.
    pub(crate) config: Config,
    /// The monitor thread's state.
    pub(crate) sysmon: SysmonState,
    /// The blocking pool.
    pub(crate) blocking: crate::blocking::BlockingPool,
    /// Event recorder (GMP_TRACE); disabled unless asked for.
    pub(crate) trace: trace::Recorder,
    /// Join handles of every M thread ever started, for shutdown.
    pub(crate) threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Tasks spawned and not yet ended (`Metrics::alive_tasks`).
    pub(crate) alive: crate::alive::AliveTasks,
    /// Keeps the fallback reactor driver off while this runtime drives it.
    pub(crate) _driver: gmp_reactor::DriverGuard,
}

/// What `Shared::sched` protects.
pub(crate) struct SchedState {
    /// The global run queue.
    pub(crate) grq: VecDeque<Task>,
    /// Idle Ps, a stack as Go's `pidle`.
    pub(crate) idle_procs: Vec<usize>,
    /// Idle Ms, waiting to be handed a P. One of them may be blocked in the
    /// reactor rather than on its condition variable.
    pub(crate) idle_ms: Vec<Arc<Machine>>,
    /// Every M alive, for schedtrace's detailed view.
    pub(crate) all_ms: Vec<Arc<Machine>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        let procs: Box<[Proc]> = (0..config.procs).map(Proc::new).collect();
        let n = procs.len();
        let trace = trace::Recorder::new(config.trace_path.clone(), n);
        Arc::new(Shared {
            procs,
            sched: Mutex::new(SchedState {
                grq: VecDeque::new(),
                // Reversed so that P0 is handed out first.
                idle_procs: (0..n).rev().collect(),
                idle_ms: Vec::new(),
                all_ms: Vec::new(),
            }),
            grq_len: AtomicUsize::new(0),
            npidle: AtomicUsize::new(n),
            nmspinning: AtomicUsize::new(0),
            needspinning: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            nthreads: AtomicUsize::new(0),
            nmidle: AtomicUsize::new(0),
            next_mid: AtomicUsize::new(0),
            cap_reported: AtomicBool::new(false),
            registry: Registry::new(),
            sysmon: SysmonState::new(n),
            blocking: crate::blocking::BlockingPool::new(),
            trace,
            threads: Mutex::new(Vec::new()),
            config,
            alive: crate::alive::AliveTasks::new(),
            _driver: gmp_reactor::Reactor::get().driver_guard(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SchedState> {
        lock(&self.sched)
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Where a woken or spawned task goes when it is not woken on an M of
    /// this runtime holding a P (see `context::schedule_local` for that
    /// case): the GRQ, then `wakep`.
    pub(crate) fn schedule_remote(self: &Arc<Self>, task: Task) {
        if self.is_closing() {
            // Shutdown drops tasks instead of running them.
            drop(task);
            return;
        }
        self.trace.wake(None, &task);
        self.push_global(task);
        self.wakep();
    }

    /// Pushes `task` to P `p`'s queue, spilling to the GRQ if full.
    /// The caller owns `p` (or holds it in the `Pushing` state).
    pub(crate) fn push_local(&self, p: usize, task: Task, yielded: bool) {
        let proc = &self.procs[p];
        let spill = |batch: SpillBatch<'_, Task>| self.spill(p, batch);
        if yielded {
            proc.yielded.push_back(task, spill);
        } else {
            proc.queue.push_runnext(task, spill);
        }
    }

    /// Pushes `task` to the LRQ tail of P `p` (the caller owns `p`).
    pub(crate) fn push_tail(&self, p: usize, task: Task) {
        self.procs[p]
            .queue
            .push_back(task, |batch| self.spill(p, batch));
    }

    /// Moves a full LRQ's batch to the GRQ (Go's `runqputslow`).
    fn spill(&self, p: usize, batch: SpillBatch<'_, Task>) {
        ProcStats::count(&self.procs[p].stats.spills, 1);
        let n = batch.len();
        self.trace.spill(p, n);
        let mut sched = self.lock();
        sched.grq.extend(batch);
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
    }

    /// Pushes one task to the GRQ. The caller calls `wakep` after.
    pub(crate) fn push_global(&self, task: Task) {
        let mut sched = self.lock();
        if self.is_closing() {
            // Checked under the lock: shutdown drains the GRQ under it.
            drop(sched);
            drop(task);
            return;
        }
        sched.grq.push_back(task);
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
    }

    /// Pushes a batch of tasks to the GRQ. The caller wakes Ms after.
    pub(crate) fn push_global_batch(&self, tasks: impl IntoIterator<Item = Task>) {
        let mut sched = self.lock();
        if self.is_closing() {
            drop(sched);
            return;
        }
        sched.grq.extend(tasks);
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
    }

    /// Takes tasks from the GRQ for P `p` (Go's `globrunqget`): one to run,
    /// and up to `min(len / procs + 1, len, 128) - 1` more into its LRQ.
    /// `max` (if not 0) caps the batch. Call with the lock held.
    pub(crate) fn grq_get(&self, sched: &mut SchedState, p: usize, max: usize) -> Option<Task> {
        let len = sched.grq.len();
        if len == 0 {
            return None;
        }
        let mut n = (len / self.procs.len() + 1).min(len).min(GLOBAL_BATCH_MAX);
        if max > 0 {
            n = n.min(max);
        }
        let first = sched.grq.pop_front();
        let proc = &self.procs[p];
        for _ in 1..n {
            if let Some(task) = sched.grq.pop_front() {
                // At most 127 tasks into an LRQ that is empty here (the P
                // only asks the GRQ after its LRQ), so this never spills.
                proc.queue
                    .push_back(task, |_| unreachable!("GRQ batch overflowed an LRQ"));
            }
        }
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
        first
    }

    /// Takes an idle P (Go's `pidleget`). Call with the lock held.
    pub(crate) fn pidleget(&self, sched: &mut SchedState) -> Option<usize> {
        let p = sched.idle_procs.pop()?;
        self.npidle.store(sched.idle_procs.len(), Ordering::SeqCst);
        self.procs[p].state.acquire();
        self.sysmon.wake_if_sleeping();
        Some(p)
    }

    /// Puts an owned P in the idle list (Go's `pidleput`). Call with the lock
    /// held. The P must have no runnable tasks of its own... or, if it has,
    /// the caller has made sure someone will steal them.
    pub(crate) fn pidleput(&self, sched: &mut SchedState, p: usize) {
        let proc = &self.procs[p];
        proc.state.release();
        proc.m.store(crate::proc::NO_M, Ordering::Relaxed);
        ProcStats::count(&proc.stats.parks, 1);
        sched.idle_procs.push(p);
        self.npidle.store(sched.idle_procs.len(), Ordering::SeqCst);
    }

    /// Makes sure an M is looking for work if one can (Go's `wakep`): starts
    /// a spinning M on an idle P, unless an M is already spinning.
    pub(crate) fn wakep(self: &Arc<Self>) {
        // Order the caller's publication of work before the reads below;
        // pairs with the SeqCst decrement of `nmspinning` in the stop path.
        fence(Ordering::SeqCst);
        if self.nmspinning.load(Ordering::SeqCst) != 0 {
            return;
        }
        if self.npidle.load(Ordering::SeqCst) == 0 {
            if !self.needspinning.load(Ordering::Relaxed) {
                self.needspinning.store(true, Ordering::Relaxed);
            }
            return;
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
            let mut sched = self.lock();
            self.pidleput(&mut sched, p);
            drop(sched);
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
                    self.report_thread_cap(&err);
                    let mut sched = self.lock();
                    self.pidleput(&mut sched, p);
                    drop(sched);
                    if spinning {
                        self.nmspinning.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            }
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
        let mut builder =
            std::thread::Builder::new().name(format!("{}-{}", self.config.thread_name, id));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let m2 = m.clone();
        let hooks = self.config.hooks.clone();
        match builder.spawn(move || hooks.run(|| machine::run(shared, m2, p, spinning))) {
            Ok(handle) => {
                lock(&self.threads).push(handle);
                Ok(())
            }
            Err(err) => {
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

    /// Whether any P has tasks in its LRQ or runnext.
    pub(crate) fn any_local_work(&self) -> Option<usize> {
        self.procs.iter().position(|p| p.has_work())
    }

    /// Wakes every parked M so it sees `closing` and exits.
    pub(crate) fn wake_all_ms(&self) {
        let ms: Vec<_> = self.lock().all_ms.clone();
        for m in ms {
            m.wake_for_shutdown();
        }
        gmp_reactor::Reactor::get().notify();
    }

    /// Shuts the runtime down: stops the Ms, drops every task's future.
    /// Waits at most `timeout` for polls in progress (forever if `None`).
    /// Returns whether everything stopped in time.
    pub(crate) fn shutdown(self: &Arc<Self>, timeout: Option<Duration>) -> bool {
        if self.closing.swap(true, Ordering::SeqCst) {
            return true;
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        self.sysmon.stop();
        self.wake_all_ms();
        // Drain the GRQ under the lock, so no push can slip in after it.
        let grq = std::mem::take(&mut self.lock().grq);
        self.grq_len.store(0, Ordering::SeqCst);
        drop(grq);
        // Join the Ms. Each drains the P it holds on its way out.
        let mut all_done = true;
        let handles = std::mem::take(&mut *lock(&self.threads));
        for handle in handles {
            if handle.thread().id() == std::thread::current().id() {
                continue;
            }
            if !join_until(handle, deadline) {
                all_done = false;
            }
        }
        all_done &= self.blocking.shutdown(deadline);
        // Ps left in the idle list may still hold tasks (e.g. put there by a
        // handoff): drop them. A P still owned belongs to an M that did not
        // stop in time; it drains its own P when it does.
        let idle: Vec<usize> = self.lock().idle_procs.clone();
        for p in idle {
            self.procs[p].drain();
        }
        // Tasks parked on wakers elsewhere: wake them, and the schedule
        // function drops them since `closing` is set.
        for waker in self.registry.take_all() {
            waker.wake();
        }
        self.trace.finish(self);
        all_done
    }
}

/// Joins `handle`, giving up at `deadline`.
///
/// Keeps notifying the reactor while it waits: one notification wakes one
/// wait, and an M that was on its way into the reactor when shutdown began
/// may block there after another M consumed it.
fn join_until(handle: std::thread::JoinHandle<()>, deadline: Option<std::time::Instant>) -> bool {
    while !handle.is_finished() {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return false;
        }
        gmp_reactor::Reactor::get().notify();
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = handle.join();
    true
}
