//! M: an OS thread that runs tasks while it holds a P.
//!
//! The loop is Go's `schedule` / `findRunnable`. Holding P `p`, an M looks for
//! a task in this order:
//!
//! 1. every 61st tick, one task from the GRQ (so it cannot starve), and the
//!    reactor without blocking if it has waiters;
//! 2. `runnext` (the task inherits the time slice: the tick is not bumped),
//!    at most 61 times in a row and unless sysmon set the P's preempt flag;
//!    otherwise it goes to the GRQ, as a preempted goroutine does;
//! 3. the LRQ head;
//! 4. a batch from the GRQ: `min(len / procs + 1, len, 128)`;
//! 5. the reactor, without blocking, if nobody is blocked in it; then the
//!    tasks that yielded, so a yielder runs again only after all the above;
//! 6. stealing, only while `2 * spinning < procs - idle`: four passes over the
//!    other Ps in a random coprime order, half of a victim's LRQ, its
//!    `runnext` only on the last pass;
//! 7. giving the P back: the GRQ is checked under the lock before the P goes
//!    idle, and a spinning M re-checks every queue after it stops spinning;
//! 8. without a P: blocking in the reactor if nobody is (the timeout is the
//!    next timer), else parking on its condition variable until handed a P.
//!
//! An M that found work while spinning stops spinning and calls `wakep`, so
//! one spinner remains while there is work to find.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use gmp_reactor::{coop, Reactor};

use crate::context::{self, Worker};
use crate::proc::ProcStats;
use crate::sched::{Shared, GLOBAL_QUEUE_INTERVAL};
use crate::sync::{fence, lock, Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use crate::task::Task;
use crate::trace::End;

/// How long an idle M waits to be handed a P before its thread exits.
pub(crate) const M_KEEPALIVE: Duration = Duration::from_secs(10);

/// How often an idle M retries the reactor while another runtime (or the
/// fallback thread) holds it.
pub(crate) const REACTOR_RETRY: Duration = Duration::from_millis(10);

/// The cooperative budget of one task poll (tokio's 128).
pub(crate) const COOP_BUDGET: u32 = 128;

/// How many tasks in a row may run from `runnext` on one time slice
/// (Go's GRQ interval): a pair of tasks waking each other, or a task that
/// spawns its successor, then gives way to the queues. Go bounds this with
/// the 10 ms time slice alone; that lets such a chain hold off the GRQ for
/// 10 ms each time, which the remote-spawn benchmarks showed.
pub(crate) const RUNNEXT_STREAK: u64 = 61;

/// `Machine::p` when the M holds no P.
pub(crate) const NO_P: usize = usize::MAX;

/// An M: its parking place and what schedtrace shows of it.
pub(crate) struct Machine {
    /// Runtime-unique id.
    pub(crate) id: usize,
    /// The hand-over slot: a P given to this M while it was idle.
    park: Mutex<Park>,
    /// Signalled when `park` changes.
    cv: Condvar,
    /// The M is (about to be) blocked in the reactor rather than on `cv`;
    /// handing it a P must also notify the reactor.
    pub(crate) in_reactor: AtomicBool,
    /// The P it holds, or `NO_P`. For schedtrace.
    pub(crate) p: AtomicUsize,
    /// Spinning. For schedtrace.
    pub(crate) spinning: AtomicBool,
    /// Inside a task poll. For schedtrace.
    pub(crate) polling: AtomicBool,
    /// The thread's kernel id (0 if unknown), so sysmon can ask the kernel
    /// whether the thread is running or blocked.
    pub(crate) tid: AtomicUsize,
}

/// What an idle M waits for.
#[derive(Default)]
struct Park {
    /// A P handed over by `startm`, and whether to spin with it.
    next: Option<(usize, bool)>,
    /// The runtime is shutting down.
    shutdown: bool,
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
        debug_assert!(park.next.is_none(), "M handed two Ps");
        park.next = Some((p, spinning));
        drop(park);
        self.cv.notify_one();
        if self.in_reactor.load(Ordering::Acquire) {
            Reactor::get().notify();
        }
    }

    /// Tells this M to exit.
    pub(crate) fn wake_for_shutdown(&self) {
        lock(&self.park).shutdown = true;
        self.cv.notify_one();
    }

    /// Whether a P has been handed over and not taken yet.
    fn has_handed(&self) -> bool {
        lock(&self.park).next.is_some()
    }

    /// Takes a P handed over, if there is one.
    fn take_handed(&self) -> Option<(usize, bool)> {
        lock(&self.park).next.take()
    }
}

/// What `Worker::park_m` ended with.
enum Parked {
    /// Handed P `.0`, spinning if `.1`.
    Handed(usize, bool),
    /// Time to exit (shutdown or keep-alive expired).
    Exit,
    /// Off the idle list again, to retry the reactor.
    Retry,
}

/// The body of an M thread, started with P `p`.
pub(crate) fn run(shared: Arc<Shared>, m: Arc<Machine>, p: usize, spinning: bool) {
    let seed = (m.id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let worker = Worker {
        shared: shared.clone(),
        m: m.clone(),
        p: Cell::new(None),
        in_poll: Cell::new(None),
        spinning: Cell::new(spinning),
        injecting: Cell::new(false),
        batch: RefCell::new(Vec::new()),
        rng: Cell::new(seed),
        last_fair_tick: Cell::new(u64::MAX),
    };
    worker.acquirep(p);
    m.spinning.store(spinning, Ordering::Relaxed);
    m.tid.store(crate::sysmon::current_tid(), Ordering::Relaxed);
    context::enter_worker(&worker, || worker.run());
    shared.nthreads.fetch_sub(1, Ordering::SeqCst);
    shared.lock().all_ms.retain(|x| !Arc::ptr_eq(x, &m));
}

impl Worker {
    fn run(&self) {
        loop {
            let p = match self.p.get() {
                Some(p) => p,
                None => match self.stop_m() {
                    Some(p) => p,
                    None => return,
                },
            };
            if self.shared.is_closing() {
                self.exit_with_p(p);
                return;
            }
            if let Some((task, inherit)) = self.find_runnable(p) {
                if self.spinning.get() {
                    self.reset_spinning();
                }
                // `find_runnable` may have moved us to another P.
                let p = self
                    .p
                    .get()
                    .expect("find_runnable returned a task without a P");
                self.execute(p, task, inherit);
            }
        }
    }

    /// Takes ownership of P `p` (already marked owned in its state word).
    pub(crate) fn acquirep(&self, p: usize) {
        self.p.set(Some(p));
        self.m.p.store(p, Ordering::Relaxed);
        self.shared.procs[p].m.store(self.m.id, Ordering::Relaxed);
    }

    fn become_spinning(&self) {
        // Whoever asked for a spinner has one now (Go's `becomeSpinning`).
        self.shared.needspinning.store(false, Ordering::Relaxed);
        self.spinning.set(true);
        self.m.spinning.store(true, Ordering::Relaxed);
        self.shared.nmspinning.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops spinning after finding work, and wakes another spinner if work
    /// may remain (Go's `resetspinning`).
    fn reset_spinning(&self) {
        self.spinning.set(false);
        self.m.spinning.store(false, Ordering::Relaxed);
        self.shared.nmspinning.fetch_sub(1, Ordering::SeqCst);
        self.shared.wakep();
    }

    /// Runs one poll of `task` on P `p`.
    fn execute(&self, p: usize, task: Task, inherit: bool) {
        let shared = &self.shared;
        let proc = &shared.procs[p];
        if !inherit {
            ProcStats::bump(&proc.schedtick, 1);
            proc.runnext_streak.store(0, Ordering::Relaxed);
        }
        ProcStats::count(&proc.stats.polls, 1);
        let seq = proc.state.enter_poll();
        self.in_poll.set(Some(seq));
        self.m.polling.store(true, Ordering::Relaxed);
        let trace = shared.trace.task_start(p, &task);
        let yielded = coop::with_budget(COOP_BUDGET, || task.run());
        if shared.trace.is_enabled() {
            let end = if yielded {
                End::Yield
            } else if crate::trace::take_done() {
                End::Done
            } else {
                End::Blocked
            };
            shared.trace.task_stop(p, trace, end);
        }
        self.m.polling.store(false, Ordering::Relaxed);
        self.in_poll.set(None);
        if self.p.get() == Some(p) && proc.state.exit_poll(seq) {
            return;
        }
        // The P was taken while we were inside the poll (sysmon's handoff,
        // or block_in_place): take an idle P if there is one, else go idle.
        self.p.set(None);
        self.m.p.store(NO_P, Ordering::Relaxed);
        let idle = shared.pidleget(&mut shared.lock());
        if let Some(p) = idle {
            self.acquirep(p);
        }
    }

    /// Finds a task to run on P `p` (Go's `findRunnable`). `None`: the P has
    /// been put back in the idle list (or the runtime is closing).
    fn find_runnable(&self, p: usize) -> Option<(Task, bool)> {
        let shared = &*self.shared;
        let proc = &shared.procs[p];
        let reactor = Reactor::get();
        'top: loop {
            if shared.is_closing() {
                return None;
            }
            // 1. Fairness: the GRQ and the reactor now and then.
            if proc.schedtick.load(Ordering::Relaxed) % GLOBAL_QUEUE_INTERVAL == 0 {
                if shared.grq_len.load(Ordering::Relaxed) > 0 {
                    let task = shared.grq_get(&mut shared.lock(), p, 1);
                    if let Some(task) = task {
                        return Some((task, false));
                    }
                }
                // Once per tick value: a runnext chain keeps the tick still.
                let tick = proc.schedtick.load(Ordering::Relaxed);
                if self.last_fair_tick.replace(tick) != tick
                    && reactor.has_waiters()
                    && !reactor.is_blocked()
                {
                    if let Some(task) = self.poll_reactor(p) {
                        shared.push_tail(p, task);
                    }
                }
            }
            // 2. runnext, which inherits the time slice: at most
            //    RUNNEXT_STREAK times in a row, and not once sysmon has seen
            //    the slice last 10 ms; then, as Go does with a preempted
            //    goroutine, it goes to the GRQ.
            if let Some(task) = proc.queue.take_runnext() {
                let streak = proc.runnext_streak.load(Ordering::Relaxed);
                if streak < RUNNEXT_STREAK && !proc.preempt.swap(false, Ordering::Relaxed) {
                    ProcStats::bump(&proc.runnext_streak, 1);
                    return Some((task, true));
                }
                proc.runnext_streak.store(0, Ordering::Relaxed);
                shared.push_global(task);
            }
            // 3. The LRQ.
            if let Some(task) = proc.queue.pop_front() {
                return Some((task, false));
            }
            // 4. The GRQ.
            if shared.grq_len.load(Ordering::Acquire) > 0 {
                let task = shared.grq_get(&mut shared.lock(), p, 0);
                if let Some(task) = task {
                    return Some((task, false));
                }
            }
            // 5. The reactor, without blocking.
            if reactor.has_waiters() && !reactor.is_blocked() {
                if let Some(task) = self.poll_reactor(p) {
                    return Some((task, false));
                }
            }
            // 5b. Tasks that yielded: after everything above had its turn.
            if let Some(task) = proc.yielded.pop_front() {
                return Some((task, false));
            }
            // 6. Steal.
            let procs = shared.procs.len();
            let busy = procs - shared.npidle.load(Ordering::SeqCst);
            if self.spinning.get() || 2 * shared.nmspinning.load(Ordering::SeqCst) < busy {
                if !self.spinning.get() {
                    self.become_spinning();
                }
                if let Some(task) = self.steal_work(p) {
                    return Some((task, false));
                }
            }
            // 7. Give the P back.
            let mut sched = shared.lock();
            if shared.is_closing() {
                return None;
            }
            if let Some(task) = shared.grq_get(&mut sched, p, 0) {
                return Some((task, false));
            }
            if !self.spinning.get() && shared.needspinning.load(Ordering::Relaxed) {
                shared.needspinning.store(false, Ordering::Relaxed);
                drop(sched);
                self.become_spinning();
                continue 'top;
            }
            shared.pidleput(&mut sched, p);
            drop(sched);
            self.p.set(None);
            self.m.p.store(NO_P, Ordering::Relaxed);
            shared.trace.proc_idle(p);

            if self.spinning.get() {
                // The delicate dance: stop spinning first, then look again
                // at every queue, so that a producer that saw us spinning and
                // woke nobody does not leave its task behind.
                self.spinning.set(false);
                self.m.spinning.store(false, Ordering::Relaxed);
                shared.nmspinning.fetch_sub(1, Ordering::SeqCst);
                // The re-check below reads the LRQs with Acquire loads; the
                // producer published with a Release store (or a swap) and
                // then read `nmspinning` after its own SeqCst fence in
                // `wakep`. Without a fence here too, both sides may read the
                // old values (found by the loom model in loom_tests/park.rs).
                fence(Ordering::SeqCst);
                if shared.grq_len.load(Ordering::SeqCst) > 0 || shared.any_local_work().is_some() {
                    let mut sched = shared.lock();
                    if let Some(p2) = shared.pidleget(&mut sched) {
                        drop(sched);
                        self.acquirep(p2);
                        self.become_spinning();
                        return self.find_runnable(p2);
                    }
                }
            }
            return None;
        }
    }

    /// Polls the reactor without blocking and spreads the woken tasks
    /// (Go's `injectglist`); returns one of them to run on P `p`.
    fn poll_reactor(&self, p: usize) -> Option<Task> {
        let mut wakers = Vec::new();
        match Reactor::get().try_poll(Some(Duration::ZERO), &mut wakers) {
            Some(Ok(n)) if n > 0 => self.inject(p, wakers),
            _ => None,
        }
    }

    /// Wakes `wakers` while holding P `p`: this runtime's tasks are spread as
    /// Go's `injectglist` does: one per idle P to the GRQ (with an M started
    /// for each), the rest to our LRQ; the first is returned to run now.
    fn inject(&self, p: usize, wakers: Vec<std::task::Waker>) -> Option<Task> {
        self.injecting.set(true);
        for waker in wakers {
            waker.wake();
        }
        self.injecting.set(false);
        let mut batch = std::mem::take(&mut *self.batch.borrow_mut());
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
                    let victim = &shared.procs[i];
                    let got = victim
                        .queue
                        .steal_into(&me.queue, last)
                        .or_else(|| victim.yielded.steal_into(&me.queue, false));
                    if let Some((task, stolen)) = got {
                        ProcStats::count(&me.stats.steals, 1);
                        ProcStats::count(&me.stats.stolen, stolen as u64);
                        shared.trace.steal(p, i, stolen);
                        return Some(task);
                    }
                }
                i = (i + stride) % n;
            }
        }
        None
    }

    /// With no P: block in the reactor if nobody is, else park until handed
    /// a P. Returns the P (acquired), or `None` when the M should exit.
    fn stop_m(&self) -> Option<usize> {
        let shared = &self.shared;
        loop {
            if shared.is_closing() {
                return None;
            }
            {
                let mut sched = shared.lock();
                // Work may have arrived since we gave our P back.
                if shared.grq_len.load(Ordering::SeqCst) > 0 {
                    if let Some(p) = shared.pidleget(&mut sched) {
                        drop(sched);
                        self.acquirep(p);
                        return Some(p);
                    }
                }
                self.m.in_reactor.store(true, Ordering::Release);
                sched.idle_ms.push(self.m.clone());
                shared.nmidle.fetch_add(1, Ordering::Relaxed);
            }
            let since = shared.trace.now();
            let mut wakers = Vec::new();
            let reactor = Reactor::get();
            let token = Arc::as_ptr(shared) as usize;
            // A P handed to us between here and the wait must not be
            // missed: `startm` sets `next` and then notifies the reactor, so
            // check `next` once the poll lock is held (see try_poll_unless).
            let handed = || self.m.has_handed();
            let polled = reactor.try_poll_unless(token, None, &mut wakers, &handed);
            self.m.in_reactor.store(false, Ordering::Release);
            if polled.is_none() {
                // Somebody else watches the reactor: sleep on our variable.
                // If it is another runtime (or the fallback thread), it may
                // stop watching without telling us: then come back and try
                // again now and then, so our timers and I/O still fire.
                let retry = (reactor.poller() != token).then_some(REACTOR_RETRY);
                let parked = self.park_m(retry);
                shared.trace.m_park(self.m.id, since, false);
                match parked {
                    Parked::Handed(p, spinning) => return Some(self.take_p(p, spinning)),
                    Parked::Exit => return None,
                    Parked::Retry => continue,
                }
            }
            shared.trace.m_park(self.m.id, since, true);
            // Back from the reactor: get off the idle list, or take the P
            // that `startm` is handing us.
            let mut sched = shared.lock();
            match sched.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.m)) {
                None => {
                    drop(sched);
                    return match self.wait_handed() {
                        Parked::Handed(p, spinning) => {
                            let p = self.take_p(p, spinning);
                            self.inject_and_run_first(p, wakers);
                            Some(p)
                        }
                        Parked::Exit | Parked::Retry => {
                            wakers.into_iter().for_each(std::task::Waker::wake);
                            None
                        }
                    };
                }
                Some(pos) => {
                    sched.idle_ms.swap_remove(pos);
                    shared.nmidle.fetch_sub(1, Ordering::Relaxed);
                }
            }
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
                    return Some(p);
                }
                // Nothing woken (a notification, an edge nobody waits for):
                // back into the reactor.
                None if wakers.is_empty() => {}
                // No idle P: the tasks go to the GRQ (the schedule function
                // does that off a P). Then stop this M, as Go's findRunnable
                // does, instead of going straight back into the reactor:
                // every P is held by a running M, which polls the reactor
                // between tasks and blocks in it when it runs dry (an M
                // that found the reactor taken gave its P back first, so
                // `pidleget` would have found it). A third thread taking
                // every readiness edge costs a context switch each.
                None => {
                    wakers.into_iter().for_each(std::task::Waker::wake);
                    {
                        let mut sched = shared.lock();
                        sched.idle_ms.push(self.m.clone());
                        shared.nmidle.fetch_add(1, Ordering::Relaxed);
                    }
                    match self.park_m(None) {
                        Parked::Handed(p, spinning) => return Some(self.take_p(p, spinning)),
                        Parked::Exit => return None,
                        Parked::Retry => continue,
                    }
                }
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

    /// Spreads tasks woken by a blocking reactor poll; the first goes to
    /// `runnext` of P `p`, so this M runs it next.
    fn inject_and_run_first(&self, p: usize, wakers: Vec<std::task::Waker>) {
        if let Some(task) = self.inject(p, wakers) {
            self.shared.push_local(p, task, false);
        }
    }

    /// Parks on the condition variable until handed a P; exits after the
    /// keep-alive if nobody did. With `retry`, gives up after that long to
    /// try the reactor again (`Parked::Retry`).
    fn park_m(&self, retry: Option<Duration>) -> Parked {
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
            let wait = retry.unwrap_or(M_KEEPALIVE);
            let (guard, timeout) = match m.cv.wait_timeout(park, wait) {
                Ok(r) => r,
                Err(poisoned) => poisoned.into_inner(),
            };
            park = guard;
            if timeout.timed_out() && park.next.is_none() {
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
    fn exit_with_p(&self, p: usize) {
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
