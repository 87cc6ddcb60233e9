//! The runtime's shared scheduler state: the Ps, the GRQ, the idle lists and
//! the spinning count (Go's `sched`), and the operations that move tasks and
//! Ps between them under the scheduler lock (`globrunqput`, `globrunqget`,
//! `pidleget`, `pidleput`, `runqput`).
//!
//! Starting and waking Ms is in `machine/start.rs`, shutting down in
//! `shutdown.rs`. Why no wake-up is lost is written at the top of
//! `machine/start.rs`.

use crate::blocking::pool::BlockingPool;
use crate::config::Config;
use crate::global_queue::{GlobalQueue, GlobalTasks};
use crate::machine::park::Machine;
use crate::netpoll;
use crate::proc::{Proc, ProcStats};
use crate::queue::SpillBatch;
use crate::registry::Registry;
use crate::sync::{fence, lock, thread, Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::sysmon::state::SysmonState;
use crate::task::{Owner, TaskMeta};
use crate::trace;

/// A runnable task of a gmp runtime.
pub(crate) type Task = async_task::Runnable<TaskMeta<Shared>>;

/// Go's fairness interval: every 61st tick a P looks at the GRQ first.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u64 = 61;

/// The most tasks a P takes from the GRQ at once (half its LRQ).
pub(crate) const GLOBAL_BATCH_MAX: usize = crate::queue::LOCAL_QUEUE_CAPACITY / 2;

/// State shared by every thread of one runtime.
pub(crate) struct Shared {
    /// The Ps; their number never changes.
    pub(crate) procs: Box<[Proc<Task>]>,
    /// GRQ, idle Ps and idle Ms, under one lock as in Go (`sched.lock`).
    pub(crate) sched: Mutex<SchedState>,
    /// The GRQ's length, readable without the lock; its tasks are in
    /// `SchedState::grq`.
    pub(crate) grq: GlobalQueue<Task>,
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
    pub(crate) blocking: BlockingPool<TaskMeta<Shared>>,
    /// Event recorder (GMP_TRACE); disabled unless asked for.
    pub(crate) trace: trace::Recorder,
    /// Join handles of the M threads alive, by M id, for shutdown. An M
    /// that exits on its own (keep-alive) drops its handle (`m_exited`).
    pub(crate) threads: Mutex<Vec<(usize, thread::JoinHandle<()>)>>,
    /// Tasks spawned and not yet ended (`Metrics::alive_tasks`).
    pub(crate) alive: crate::alive::AliveTasks,
    /// The tasks' references to this runtime (`task_refs.rs`).
    pub(crate) task_refs: crate::task_refs::TaskRefs,
    /// Keeps the fallback reactor driver off while this runtime drives it.
    pub(crate) _driver: netpoll::DriverGuard,
}

/// What `Shared::sched` protects.
pub(crate) struct SchedState {
    /// The tasks of the global run queue (`Shared::grq` mirrors its length).
    pub(crate) grq: GlobalTasks<Task>,
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
        let procs: Box<[Proc<Task>]> = (0..config.procs).map(Proc::new).collect();
        let n = procs.len();
        let trace = trace::Recorder::new(config.trace_path.clone(), n);
        Arc::new(Shared {
            procs,
            sched: Mutex::new(SchedState {
                grq: GlobalTasks::default(),
                // Reversed so that P0 is handed out first.
                idle_procs: (0..n).rev().collect(),
                idle_ms: Vec::new(),
                all_ms: Vec::new(),
            }),
            grq: GlobalQueue::new(),
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
            blocking: BlockingPool::new(),
            trace,
            threads: Mutex::new(Vec::new()),
            config,
            alive: crate::alive::AliveTasks::new(),
            task_refs: crate::task_refs::TaskRefs::default(),
            _driver: netpoll::get().driver_guard(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SchedState> {
        lock(&self.sched)
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Where a woken or spawned task goes when it is not woken on an M of
    /// this runtime holding a P (see `machine::schedule_local` for that
    /// case): the GRQ, then `wakep`.
    ///
    /// During shutdown the task is dropped instead, and that drop is the last
    /// thing this function does: the future's destructor is user code, and
    /// the caller may hold `self` only through a reference that code could
    /// give up (`context::held_runtime`).
    ///
    /// The push takes the GRQ's lock-free lane (`remote_queue.rs`), or the
    /// lock when that is full. Shutdown drains the GRQ once, after setting
    /// `closing`; a lock-free push can land after that drain, so it reads
    /// `closing` again (a SeqCst fence after the push, as shutdown has one
    /// after its store: one of the two sees the other) and, if it is set,
    /// drains the GRQ itself.
    pub(crate) fn schedule_remote(self: &Arc<Self>, task: Task) {
        if self.is_closing() {
            drop(task);
            return;
        }
        self.trace.wake(None, || task.metadata().id());
        let task = match self.grq.push_remote(task) {
            Ok(()) => {
                // One fence for both: `closing` here, `nmspinning` in wakep.
                fence(Ordering::SeqCst);
                if self.closing.load(Ordering::SeqCst) {
                    let late = self.grq.take_all(&mut self.lock().grq);
                    drop(late);
                    return;
                }
                self.wakep_after_fence();
                return;
            }
            Err(task) => task,
        };
        match self.push_global(task) {
            Ok(()) => self.wakep(),
            Err(task) => drop(task),
        }
    }

    /// Pushes `task` to P `p`'s queue, spilling to the GRQ if full.
    /// The caller owns `p` (or holds it in the `Pushing` state). Returns
    /// whether the push left more than one task for this P to run next (so
    /// another M may be needed): a yielder in a ring that was empty, or a
    /// `runnext` that displaced one to the LRQ.
    #[inline]
    pub(crate) fn push_local(&self, p: usize, task: Task, yielded: bool) -> bool {
        let proc = &self.procs[p];
        let spill = |batch: SpillBatch<'_, Task>| self.spill(p, batch);
        if yielded {
            proc.yielded.push_back(task, spill)
        } else {
            proc.queue.push_runnext(task, spill)
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
        if self.is_closing() {
            // Checked under the lock: shutdown drains the GRQ under it, and
            // a task left there after the drain would keep the runtime
            // alive through its own `TaskMeta`.
            drop(sched);
            batch.for_each(drop);
            return;
        }
        self.grq.extend(&mut sched.grq, batch);
    }

    /// Pushes one task to the GRQ. The caller calls `wakep` after. Gives the
    /// task back if the runtime is shutting down (checked under the lock:
    /// shutdown drains the GRQ under it), for the caller to drop.
    pub(crate) fn push_global(&self, task: Task) -> Result<(), Task> {
        let mut sched = self.lock();
        if self.is_closing() {
            return Err(task);
        }
        self.grq.push(&mut sched.grq, task);
        Ok(())
    }

    /// Pushes a batch of tasks to the GRQ. The caller wakes Ms after.
    pub(crate) fn push_global_batch(&self, tasks: impl IntoIterator<Item = Task>) {
        let mut sched = self.lock();
        if self.is_closing() {
            drop(sched);
            return;
        }
        self.grq.extend(&mut sched.grq, tasks);
    }

    /// Takes tasks from the GRQ for P `p` (Go's `globrunqget`): one to run,
    /// and up to `min(len / procs + 1, len, 128) - 1` more into its LRQ.
    /// `max` (if not 0) caps the batch. Call with the lock held.
    pub(crate) fn grq_get(&self, sched: &mut SchedState, p: usize, max: usize) -> Option<Task> {
        let len = self.grq.len();
        if len == 0 {
            return None;
        }
        let mut n = (len / self.procs.len() + 1).min(len).min(GLOBAL_BATCH_MAX);
        if max > 0 {
            n = n.min(max);
        }
        let proc = &self.procs[p];
        let mut first = None;
        self.grq.pop_n(&mut sched.grq, n, |task| {
            if first.is_none() {
                first = Some(task);
            } else {
                // At most 127 tasks into an LRQ that is empty here (the P
                // only asks the GRQ after its LRQ), so this never spills.
                proc.queue
                    .push_back(task, |_| unreachable!("GRQ batch overflowed an LRQ"));
            }
        });
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

    /// Puts P `p`, owned by the caller and perhaps holding tasks, in the idle
    /// list; `sched` is the lock, held. Once shutdown has begun nobody will
    /// run the P again, and a `shutdown_timeout` that gave up on an M caught
    /// in a poll has drained the idle Ps already (that M can still hand its
    /// P off, by `block_in_place`): so then the P's tasks are dropped first,
    /// outside the lock. `closing` is read under the lock under which
    /// shutdown reads the idle list, after setting it: either the shutdown
    /// finds this P there, or we see `closing` here.
    pub(crate) fn pidleput_owned<'a>(&'a self, mut sched: MutexGuard<'a, SchedState>, p: usize) {
        if self.is_closing() {
            drop(sched);
            self.procs[p].drain();
            sched = self.lock();
        }
        self.pidleput(&mut sched, p);
    }

    /// M `m`, if it is alive.
    pub(crate) fn machine(&self, m: usize) -> Option<Arc<Machine>> {
        self.lock().all_ms.iter().find(|x| x.id == m).cloned()
    }

    /// Whether M `m`'s thread is on a CPU (or waiting for one) rather than
    /// blocked in the kernel. One read of `/proc` (and the scheduler lock to
    /// find the M): for sysmon, and for an M's watch before it reports a
    /// poll.
    pub(crate) fn m_is_running(&self, m: usize) -> bool {
        let tid = self.machine(m).map_or(0, |x| x.tid.load(Ordering::Relaxed));
        crate::kernel::thread_is_running(tid).unwrap_or(false)
    }

    /// Whether any P has tasks in its LRQ or runnext.
    pub(crate) fn any_local_work(&self) -> Option<usize> {
        self.procs.iter().position(|p| p.has_work())
    }

    /// An M thread is ending (after its stop hook): forget it, and drop
    /// (detach) its join handle, unless shutdown has taken it to join or
    /// will take it: an M that exits because of the shutdown is joined, so
    /// that what its thread still runs (thread-local destructors) is over
    /// when `drop(rt)` returns. `closing` is read under the handles' lock,
    /// which shutdown takes after setting it.
    pub(crate) fn m_exited(&self, m: &Arc<Machine>) {
        self.nthreads.fetch_sub(1, Ordering::SeqCst);
        self.lock().all_ms.retain(|x| !Arc::ptr_eq(x, m));
        let mut threads = lock(&self.threads);
        if self.is_closing() {
            return;
        }
        if let Some(pos) = threads.iter().position(|(id, _)| *id == m.id) {
            drop(threads.swap_remove(pos));
        }
    }
}

impl crate::task_refs::CountsTaskRefs for Shared {
    fn task_refs(&self) -> &crate::task_refs::TaskRefs {
        &self.task_refs
    }
}

impl Owner for Shared {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn alive(&self) -> &crate::alive::AliveTasks {
        &self.alive
    }

    fn clock(&self) -> Option<&Arc<gmp_reactor::time::Clock>> {
        self.config.clock.as_ref()
    }

    fn trace(&self) -> &trace::Recorder {
        &self.trace
    }

    fn is_closing(&self) -> bool {
        Shared::is_closing(self)
    }
}
