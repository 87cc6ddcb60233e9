//! M: an OS thread that runs tasks while it holds a P.
//!
//! The loop is Go's `schedule` / `findRunnable`. Holding P `p`, an M looks for
//! a task in this order (`find.rs`, one function per step):
//!
//! 1. every 61st tick, a look at one other P for a poll stuck with work
//!    waiting (`watch.rs`: half of that work rescued into this P after
//!    100 µs, the poll reported to sysmon after 1 ms), one task from the GRQ
//!    (so it cannot starve), and the reactor without blocking if it has
//!    waiters, its tasks to the GRQ tail (`inject.rs`: the LRQ still has
//!    work, and must drain);
//! 2. a yielder that has waited [`YIELD_INTERVAL`] polls on this P, so that no
//!    chain of wakes, however long, keeps it waiting for ever;
//! 3. `runnext` (the task inherits the time slice: the tick is not bumped),
//!    at most [`RUNNEXT_STREAK`] times in a row and unless sysmon set the
//!    P's preempt flag; otherwise it goes to the GRQ, as a preempted
//!    goroutine does;
//! 4. the LRQ head;
//! 5. a batch from the GRQ: `min(len / procs + 1, len, 128)`;
//! 6. the reactor, without blocking, if nobody is blocked in it (while
//!    yielders wait on the P, once per round of them, not before each one);
//!    then the tasks that yielded, so a yielder runs again only after all
//!    the above;
//! 7. stealing, only while `2 * spinning < procs - idle`: four passes over the
//!    other Ps in a random coprime order, half of a victim's LRQ, its
//!    `runnext` only on the last pass;
//! 8. giving the P back: the GRQ is checked under the lock before the P goes
//!    idle; then `needspinning` is read again (a `wakep` that found no idle
//!    P asked for a spinner), and a spinning M re-checks every queue after it
//!    stops spinning (the "delicate dance");
//! 9. without a P (`stop.rs`): blocking in the reactor if nobody is (the
//!    timeout is the next timer), else parking on its condition variable
//!    until handed a P.
//!
//! An M that found work while spinning stops spinning and calls `wakep`, so
//! one spinner remains while there is work to find. How a woken task reaches
//! a P is in `wake.rs`; how tasks woken by the reactor are spread over the Ps
//! is in `inject.rs`.

mod find;
mod inject;
pub(crate) mod park;
mod start;
mod stop;
mod wake;
mod watch;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use crate::proc::ProcStats;
use crate::sched::{Shared, Task};
use crate::sync::{Arc, Ordering};
use crate::trace::End;

pub(crate) use park::Machine;
use park::Park;
pub(crate) use wake::{enter_worker, schedule_local, with_worker};

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

/// How many polls a yielder may wait on its P before it runs ahead of
/// `runnext`, the LRQ and the GRQ (Go's fairness interval). A yielder waits
/// behind every other runnable task, but a chain that never lets those run
/// dry (a ping-pong pair through `runnext`, a task spawning its successor,
/// tasks waking each other through the LRQ) would otherwise keep it waiting
/// for ever.
pub(crate) const YIELD_INTERVAL: u64 = 61;

pub(crate) use crate::proc::NO_P;

/// What an M thread knows about itself. Lives on the M's stack for the whole
/// run of its loop; the thread-local `WORKER` (`wake.rs`) points at it. Only
/// its own thread touches it.
pub(crate) struct Worker {
    /// The runtime.
    pub(crate) shared: Arc<Shared>,
    /// This M.
    pub(crate) m: Arc<Machine>,
    /// The P this M holds, if any.
    pub(crate) p: Cell<Option<usize>>,
    /// While inside a task poll: the poll's sequence number (the P is
    /// `InPoll(seq)`, and sysmon may take it).
    pub(crate) in_poll: Cell<Option<u64>>,
    /// Whether this M is spinning (counted in `Shared::nmspinning`).
    pub(crate) spinning: Cell<bool>,
    /// While distributing tasks woken by the reactor: wakes of this runtime's
    /// tasks are collected in `batch` instead of scheduled.
    pub(crate) injecting: Cell<bool>,
    /// See `injecting`.
    pub(crate) batch: RefCell<Vec<Task>>,
    /// The task being polled, if it woke itself (a yield): pushed to the P's
    /// yielded ring once the poll is over (`wake.rs`).
    pub(crate) yielder: Cell<Option<Task>>,
    /// State of the per-M random generator (victim order for stealing).
    pub(crate) rng: Cell<u64>,
    /// The tick at which this M last polled the reactor for fairness.
    pub(crate) last_fair_tick: Cell<u64>,
    /// How many more yielders step 6 runs before it polls the reactor again
    /// (`find.rs`, `reactor_due`).
    pub(crate) yield_round: Cell<usize>,
    /// The other P this M watches for a long poll (`watch.rs`).
    pub(crate) watch: Cell<watch::Watch>,
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
        yielder: Cell::new(None),
        rng: Cell::new(seed),
        last_fair_tick: Cell::new(u64::MAX),
        yield_round: Cell::new(0),
        watch: Cell::new(watch::Watch::new(0)),
    };
    worker.acquirep(p);
    m.spinning.store(spinning, Ordering::Relaxed);
    m.tid.store(crate::kernel::current_tid(), Ordering::Relaxed);
    // Spawns and task ends on this M move the runtime's task-reference
    // count a batch at a time.
    let pool = crate::task_refs::enter_pool(&shared);
    enter_worker(&worker, || worker.run());
    drop(pool);
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

    /// Forgets the P this M held (it was put idle or taken away).
    fn releasep(&self) {
        self.p.set(None);
        self.m.p.store(NO_P, Ordering::Relaxed);
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
        ProcStats::bump(&proc.since_yielder, 1);
        let seq = proc.state.enter_poll();
        self.in_poll.set(Some(seq));
        self.m.polling.store(true, Ordering::Relaxed);
        let trace = shared.trace.task_start(p, || task.metadata().id());
        let yielded = gmp_reactor::coop::with_budget(COOP_BUDGET, || task.run());
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
        let yielder = self.yielder.take();
        if self.p.get() == Some(p) && proc.state.exit_poll(seq) {
            if let Some(task) = yielder {
                self.push_yielder(p, task);
            }
            return;
        }
        // The P was taken while we were inside the poll (sysmon's handoff,
        // or block_in_place): take an idle P if there is one, else go idle.
        self.releasep();
        let idle = shared.pidleget(&mut shared.lock());
        if let Some(p) = idle {
            self.acquirep(p);
        }
        if let Some(task) = yielder {
            shared.schedule_remote(task);
        }
    }
}

/// Helpers of the tests that keep one P busy while another is stuck in a
/// poll (`watch.rs`, `sysmon`).
#[cfg(all(test, not(gmp_loom)))]
pub(crate) mod test_util {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::JoinHandle;

    /// The P the calling task runs on.
    pub(crate) fn current_p() -> usize {
        super::with_worker(|w| w.and_then(|w| w.p.get())).expect("not inside a task on a P")
    }

    /// Spawns `n` tasks that yield until `stop`, each poll counted in
    /// `polls[p]` for the P `p` it ran on: they keep the Ms busy with short
    /// polls.
    pub(crate) fn spawn_busy_yielders(
        n: usize,
        stop: &Arc<AtomicBool>,
        polls: &Arc<[AtomicUsize; 2]>,
    ) -> Vec<JoinHandle<()>> {
        (0..n)
            .map(|_| {
                let (stop, polls) = (stop.clone(), polls.clone());
                crate::spawn(async move {
                    while !stop.load(Relaxed) {
                        polls[current_p()].fetch_add(1, Relaxed);
                        crate::yield_now().await;
                    }
                })
            })
            .collect()
    }

    /// Yields until the other of two Ps is seen running short tasks (each
    /// counts its polls in `polls[p]`) while the caller stays on its P: the
    /// other P's M then stays in its own queues and never steals the
    /// caller's. Panics after 30 s.
    pub(crate) async fn until_the_other_p_is_busy(polls: &[AtomicUsize; 2]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mine = current_p();
            let before = polls[1 - mine].load(Relaxed);
            crate::yield_now().await;
            if current_p() == mine && polls[1 - mine].load(Relaxed) > before {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the other P never ran a short task"
            );
        }
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::time::Duration;

    use crate::sync::{lock, Ordering};
    use crate::wait::wait_for;

    #[test]
    fn an_m_that_exits_after_its_keep_alive_leaves_no_handle_behind() {
        let rt = crate::Runtime::builder()
            .max_procs(1)
            .thread_keep_alive(Duration::from_millis(1))
            .build()
            .unwrap();
        let shared = rt.handle().shared.clone();
        rt.block_on(async {
            // A poll that blocks its thread until the ticker next to it has
            // finished, which the ticker can do only once sysmon has handed
            // the P to a new M; that M goes idle again once the blocker is
            // done. (Without the hand-off, the blocker gives up after 60 s
            // and the test fails on the count.)
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let blocker = crate::spawn(async move {
                let _ = done_rx.recv_timeout(Duration::from_secs(60));
            });
            let ticker = crate::spawn(async move {
                for _ in 0..20 {
                    gmp_reactor::time::sleep(Duration::from_millis(1)).await;
                }
                let _ = done_tx.send(());
            });
            blocker.await.unwrap();
            ticker.await.unwrap();
        });
        let handoffs: u64 = (0..1).map(|p| rt.metrics().proc(p).handoffs()).sum();
        assert!(handoffs >= 1, "the blocking poll kept its P: no extra M");
        // Idle Ms exit after 1 ms; the one blocked in the reactor stays.
        // `m_exited` counts the M out before it forgets its handle: wait
        // for both, so a handle left behind for good still fails below.
        wait_for("the idle Ms to exit", || {
            let alive = shared.nthreads.load(Ordering::SeqCst);
            alive <= 1 && lock(&shared.threads).len() <= alive
        });
        let alive = shared.nthreads.load(Ordering::SeqCst);
        assert_eq!(
            lock(&shared.threads).len(),
            alive,
            "Ms that exited on their keep-alive left their join handles behind"
        );
    }
}
