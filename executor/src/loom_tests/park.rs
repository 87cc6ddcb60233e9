//! Loom model of parking and waking Ms: no lost wake-up.
//!
//! The real `Shared` needs M threads, the reactor and sysmon, so this file
//! mirrors the protocol in a small struct, with the same atomics, the same
//! orderings and the same lock scopes. The LRQs are the real `LocalQueue`.
//! What is mirrored, function by function (left: this file; right: the code):
//!
//! | here                   | mirrors                                         |
//! |------------------------|-------------------------------------------------|
//! | `Model::push_global`   | sched.rs `Shared::push_global` (lock; push; `grq_len.store(len, SeqCst)`; `is_closing` left out) |
//! | `Model::grq_get`       | sched.rs `Shared::grq_get` (`min(len/procs+1, len, CAP/2, max)`, extras to the LRQ tail, `grq_len.store(SeqCst)`) |
//! | `Model::pidleget`      | sched.rs `Shared::pidleget` (pop; `npidle.store(len, SeqCst)`; `ProcState::acquire` and sysmon's wake left out) |
//! | `Model::pidleput`      | sched.rs `Shared::pidleput` (push; `npidle.store(len, SeqCst)`) |
//! | `Model::wakep`         | sched.rs `Shared::wakep`, line for line: `fence(SeqCst)`; `nmspinning.load(SeqCst) != 0` → return; `npidle.load(SeqCst) == 0` → set `needspinning` (Relaxed), return; CAS `nmspinning` 0→1 (SeqCst); `pidleget` under the lock (none → `needspinning`); `startm(p, true)` or undo the CAS with `fetch_sub(SeqCst)` |
//! | `Model::startm`        | sched.rs `Shared::startm`: records "P handed to an M, spinning or not"; that M will run `find_runnable` on it, which looks at the GRQ and steals from every LRQ |
//! | `Model::any_local_work`| sched.rs `Shared::any_local_work` (`LocalQueue::is_empty` of every P) |
//! | `M::run`               | machine.rs `Worker::run`: `stop_m` without a P; `find_runnable`; `reset_spinning` if spinning; run the task |
//! | `M::become_spinning`   | machine.rs `Worker::become_spinning` (`nmspinning.fetch_add(1, SeqCst)`) |
//! | `M::reset_spinning`    | machine.rs `Worker::reset_spinning` (`fetch_sub(1, SeqCst)`; `wakep`) |
//! | `M::find_runnable`     | machine.rs `Worker::find_runnable` steps 1 (GRQ part: `schedtick % 61 == 0` and `grq_len.load(Relaxed)`), 2 (`take_runnext`), 3 (`pop_front`), 4 (`grq_len.load(Acquire)` then `grq_get` under the lock), 6 (`busy = procs - npidle.load(SeqCst)`, `spinning || 2 * nmspinning.load(SeqCst) < busy`, `become_spinning`, `steal_work`), 7 (lock; `grq_get`; `needspinning` → spin and restart; `pidleput`; unlock; if spinning: `nmspinning.fetch_sub(1, SeqCst)`, then `grq_len.load(SeqCst) > 0 || any_local_work()` → `pidleget` under the lock → `become_spinning` → `find_runnable(p2)`) |
//! | `M::steal_work`        | machine.rs `Worker::steal_work`: 4 passes over the other Ps, `steal_into(.., last_pass)` (with 2 Ps the random order is moot) |
//! | `M::stop_m`            | machine.rs `Worker::stop_m`'s first block: lock; `grq_len.load(SeqCst) > 0` → `pidleget` → run with it; else join the idle Ms and park (the model's thread ends there) |
//!
//! One line differs from machine.rs as it stands: the `fence(SeqCst)` right
//! after the spinner's `nmspinning.fetch_sub` in step 7. Without it loom
//! finds a lost wake-up (`local_push_is_lost_without_the_fence_after_the_decrement`):
//! the producer publishes with a `runnext` swap or a Release `tail` store and
//! the spinner reads the queues with Acquire loads, so the one SeqCst fence
//! in `wakep` cannot order the two sides (store buffering; Go gets away
//! without it because all its atomics are sequentially consistent). The fix
//! for machine.rs is that fence; until it lands this model checks the fixed
//! protocol and the `should_panic` test documents the bug.
//!
//! Left out: the reactor (steps 1's poll, 5, 8: no I/O in these models),
//! `closing`, the preempt flag (never set here), metrics and tracing. The
//! `schedtick` of a P is a plain counter: only its owner touches it.
//!
//! Checked, once every thread has parked or finished: each task was run
//! exactly once, or it is still queued and some P was handed to an M (which
//! will find it). A task left in a queue while every M parked and nobody was
//! woken is a lost wake-up.

use std::collections::VecDeque;

use super::{assert_exactly_once, check, Item, DEFAULT_PREEMPTIONS, SMALL_PREEMPTIONS};
use crate::queue::{LocalQueue, LOCAL_QUEUE_CAPACITY};
use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::atomic::fence;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// Ps in every model.
const PROCS: usize = 2;

/// Go's fairness interval (`sched::GLOBAL_QUEUE_INTERVAL`).
const GLOBAL_QUEUE_INTERVAL: u64 = crate::sched::GLOBAL_QUEUE_INTERVAL;

/// What `Model::sched` protects (`SchedState`).
struct SchedState {
    grq: VecDeque<usize>,
    idle_procs: Vec<usize>,
}

/// The scheduler state of `Shared` that the protocol touches.
struct Model {
    queues: Vec<LocalQueue<Item>>,
    sched: Mutex<SchedState>,
    grq_len: AtomicUsize,
    npidle: AtomicUsize,
    nmspinning: AtomicUsize,
    needspinning: AtomicBool,
    /// `startm` calls: (P, spinning). An M is on its way to each such P.
    handed: Mutex<Vec<(usize, bool)>>,
    /// Per-P `schedtick` (owner only).
    schedtick: [std::sync::atomic::AtomicU64; PROCS],
    /// Whether the spinner giving up fences after its decrement of
    /// `nmspinning` (see `M::find_runnable`, step 7).
    dance_fence: bool,
}

impl Model {
    /// `idle`: the Ps in the idle list; `spinning`: Ms counted in
    /// `nmspinning` at the start.
    fn new(idle: &[usize], spinning: usize) -> Self {
        Model {
            queues: (0..PROCS).map(|_| LocalQueue::new()).collect(),
            sched: Mutex::new(SchedState {
                grq: VecDeque::new(),
                idle_procs: idle.to_vec(),
            }),
            grq_len: AtomicUsize::new(0),
            npidle: AtomicUsize::new(idle.len()),
            nmspinning: AtomicUsize::new(spinning),
            needspinning: AtomicBool::new(false),
            handed: Mutex::new(Vec::new()),
            schedtick: Default::default(),
            dance_fence: true,
        }
    }

    /// The protocol as machine.rs had it before the fence of the delicate
    /// dance: for the test that shows the fence is needed.
    fn without_dance_fence(mut self) -> Self {
        self.dance_fence = false;
        self
    }

    fn push_global(&self, id: usize) {
        let mut sched = self.sched.lock().unwrap();
        sched.grq.push_back(id);
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
    }

    fn grq_get(&self, sched: &mut SchedState, p: usize, max: usize) -> Option<usize> {
        let len = sched.grq.len();
        if len == 0 {
            return None;
        }
        let mut n = (len / PROCS + 1).min(len).min(LOCAL_QUEUE_CAPACITY / 2);
        if max > 0 {
            n = n.min(max);
        }
        let first = sched.grq.pop_front();
        for _ in 1..n {
            if let Some(id) = sched.grq.pop_front() {
                self.queues[p].push_back(Item::new(id), |_| {
                    unreachable!("GRQ batch overflowed an LRQ")
                });
            }
        }
        self.grq_len.store(sched.grq.len(), Ordering::SeqCst);
        first
    }

    fn pidleget(&self, sched: &mut SchedState) -> Option<usize> {
        let p = sched.idle_procs.pop()?;
        self.npidle.store(sched.idle_procs.len(), Ordering::SeqCst);
        Some(p)
    }

    fn pidleput(&self, sched: &mut SchedState, p: usize) {
        sched.idle_procs.push(p);
        self.npidle.store(sched.idle_procs.len(), Ordering::SeqCst);
    }

    fn wakep(&self) {
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
            let mut sched = self.sched.lock().unwrap();
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

    fn startm(&self, p: usize, spinning: bool) {
        self.handed.lock().unwrap().push((p, spinning));
    }

    fn any_local_work(&self) -> Option<usize> {
        self.queues.iter().position(|q| !q.is_empty())
    }
}

/// One M: the P it holds and whether it is spinning (`Worker`'s cells).
struct M<'a> {
    model: &'a Model,
    p: Option<usize>,
    spinning: bool,
    ran: Vec<usize>,
}

impl<'a> M<'a> {
    fn new(model: &'a Model, p: usize, spinning: bool) -> Self {
        M {
            model,
            p: Some(p),
            spinning,
            ran: Vec::new(),
        }
    }

    /// Runs until the M parks; returns the tasks it ran.
    fn run(mut self) -> Vec<usize> {
        loop {
            let p = match self.p {
                Some(p) => p,
                None => match self.stop_m() {
                    Some(p) => p,
                    None => return self.ran,
                },
            };
            if let Some(id) = self.find_runnable(p) {
                if self.spinning {
                    self.reset_spinning();
                }
                let p = self.p.expect("find_runnable returned a task without a P");
                // execute: not inheriting, so the tick moves.
                let tick = &self.model.schedtick[p];
                tick.store(tick.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                self.ran.push(id);
            }
        }
    }

    fn become_spinning(&mut self) {
        self.model.needspinning.store(false, Ordering::Relaxed);
        self.spinning = true;
        self.model.nmspinning.fetch_add(1, Ordering::SeqCst);
    }

    fn reset_spinning(&mut self) {
        self.spinning = false;
        self.model.nmspinning.fetch_sub(1, Ordering::SeqCst);
        self.model.wakep();
    }

    fn find_runnable(&mut self, p: usize) -> Option<usize> {
        let model = self.model;
        let queue = &model.queues[p];
        'top: loop {
            // 1. Fairness.
            if model.schedtick[p].load(Ordering::Relaxed) % GLOBAL_QUEUE_INTERVAL == 0
                && model.grq_len.load(Ordering::Relaxed) > 0
            {
                let task = model.grq_get(&mut model.sched.lock().unwrap(), p, 1);
                if let Some(task) = task {
                    return Some(task);
                }
            }
            // 2. runnext (the preempt flag is never set here).
            if let Some(task) = queue.take_runnext() {
                return Some(task.id);
            }
            // 3. The LRQ.
            if let Some(task) = queue.pop_front() {
                return Some(task.id);
            }
            // 4. The GRQ.
            if model.grq_len.load(Ordering::Acquire) > 0 {
                let task = model.grq_get(&mut model.sched.lock().unwrap(), p, 0);
                if let Some(task) = task {
                    return Some(task);
                }
            }
            // 6. Steal.
            let busy = PROCS - model.npidle.load(Ordering::SeqCst);
            if self.spinning || 2 * model.nmspinning.load(Ordering::SeqCst) < busy {
                if !self.spinning {
                    self.become_spinning();
                }
                if let Some(task) = self.steal_work(p) {
                    return Some(task);
                }
            }
            // 7. Give the P back.
            let mut sched = model.sched.lock().unwrap();
            if let Some(task) = model.grq_get(&mut sched, p, 0) {
                return Some(task);
            }
            if !self.spinning && model.needspinning.load(Ordering::Relaxed) {
                model.needspinning.store(false, Ordering::Relaxed);
                drop(sched);
                self.become_spinning();
                continue 'top;
            }
            model.pidleput(&mut sched, p);
            drop(sched);
            self.p = None;

            if self.spinning {
                // The delicate dance. The fence pairs with the one in
                // `wakep`: either the producer sees our decrement, or we see
                // its task.
                self.spinning = false;
                model.nmspinning.fetch_sub(1, Ordering::SeqCst);
                if model.dance_fence {
                    fence(Ordering::SeqCst);
                }
                if model.grq_len.load(Ordering::SeqCst) > 0 || model.any_local_work().is_some() {
                    let mut sched = model.sched.lock().unwrap();
                    if let Some(p2) = model.pidleget(&mut sched) {
                        drop(sched);
                        self.p = Some(p2);
                        self.become_spinning();
                        return self.find_runnable(p2);
                    }
                }
            }
            return None;
        }
    }

    fn steal_work(&mut self, p: usize) -> Option<usize> {
        let model = self.model;
        for pass in 0..4 {
            let last = pass == 3;
            for i in 0..PROCS {
                if i != p {
                    if let Some((task, _)) = model.queues[i].steal_into(&model.queues[p], last) {
                        return Some(task.id);
                    }
                }
            }
        }
        None
    }

    fn stop_m(&mut self) -> Option<usize> {
        let model = self.model;
        let mut sched = model.sched.lock().unwrap();
        if model.grq_len.load(Ordering::SeqCst) > 0 {
            if let Some(p) = model.pidleget(&mut sched) {
                drop(sched);
                self.p = Some(p);
                return Some(p);
            }
        }
        // Joins the idle Ms and parks: from here only `startm` wakes it, and
        // that is recorded in `handed`.
        None
    }
}

/// After every thread parked or finished: each task ran once, or it is
/// still queued and a P was handed to an M that will look for it.
fn assert_no_lost_wakeup(model: &Model, ran: Vec<usize>, tasks: &[usize]) {
    let mut queued: Vec<usize> = model.sched.lock().unwrap().grq.drain(..).collect();
    for q in &model.queues {
        queued.extend(q.drain().map(|t| t.id));
    }
    let handed = model.handed.lock().unwrap().clone();
    assert!(
        queued.is_empty() || !handed.is_empty(),
        "lost wake-up: tasks {queued:?} are queued, every M parked and no P was handed to an M \
         (ran: {ran:?})"
    );
    let mut all = ran;
    all.extend(queued);
    assert_exactly_once(all, tasks, "park");
}

/// A producer with no P pushes to the GRQ and calls `wakep` while the only
/// spinning M gives its P back; the other P is idle.
#[test]
fn grq_push_races_the_last_spinner_parking() {
    check(DEFAULT_PREEMPTIONS, || {
        // P0 held by a spinning M; P1 idle.
        let model = Arc::new(Model::new(&[1], 1));
        let w0 = {
            let model = model.clone();
            thread::spawn(move || M::new(&model, 0, true).run())
        };
        let producer = {
            let model = model.clone();
            thread::spawn(move || {
                model.push_global(7);
                model.wakep();
            })
        };
        producer.join().unwrap();
        let ran = w0.join().unwrap();
        assert_no_lost_wakeup(&model, ran, &[7]);
    });
}

/// An M inside a poll on P1 wakes a task into its own `runnext` and calls
/// `wakep` (`Worker::schedule`), then stays in its poll; the spinning M on
/// P0 gives up meanwhile. The task must be stolen or an M woken for it.
#[test]
fn local_push_races_the_last_spinner_parking() {
    check(DEFAULT_PREEMPTIONS, || {
        // P0 held by a spinning M; P1 held by the producing M; none idle.
        let model = Arc::new(Model::new(&[], 1));
        let w0 = {
            let model = model.clone();
            thread::spawn(move || M::new(&model, 0, true).run())
        };
        let producer = {
            let model = model.clone();
            thread::spawn(move || {
                model.queues[1].push_runnext(Item::new(7), |_| unreachable!("no spill"));
                model.wakep();
            })
        };
        producer.join().unwrap();
        let ran = w0.join().unwrap();
        assert_no_lost_wakeup(&model, ran, &[7]);
    });
}

/// No idle P: a spinning M on P0 and a non-spinning M on P1 both run dry
/// while a producer with no P pushes to the GRQ; its `wakep` finds no idle
/// P and sets `needspinning`.
#[test]
fn grq_push_with_no_idle_p_races_two_ms_running_dry() {
    check(SMALL_PREEMPTIONS, || {
        let model = Arc::new(Model::new(&[], 1));
        let w0 = {
            let model = model.clone();
            thread::spawn(move || M::new(&model, 0, true).run())
        };
        let w1 = {
            let model = model.clone();
            thread::spawn(move || M::new(&model, 1, false).run())
        };
        let producer = {
            let model = model.clone();
            thread::spawn(move || {
                model.push_global(7);
                model.wakep();
            })
        };
        producer.join().unwrap();
        let mut ran = w0.join().unwrap();
        ran.extend(w1.join().unwrap());
        assert_no_lost_wakeup(&model, ran, &[7]);
    });
}

/// The same race without the fence after the spinner's decrement: loom finds
/// the lost wake-up. The producer's `swap` of `runnext` and the spinner's
/// Acquire loads in `is_empty` are not SeqCst, so the SeqCst fence in
/// `wakep` alone does not order "push, then read `nmspinning`" against
/// "decrement `nmspinning`, then read the queue"; both sides can read the old
/// value (store buffering). This test keeps the fence from being dropped.
#[test]
#[should_panic(expected = "lost wake-up")]
fn local_push_is_lost_without_the_fence_after_the_decrement() {
    check(DEFAULT_PREEMPTIONS, || {
        let model = Arc::new(Model::new(&[], 1).without_dance_fence());
        let w0 = {
            let model = model.clone();
            thread::spawn(move || M::new(&model, 0, true).run())
        };
        let producer = {
            let model = model.clone();
            thread::spawn(move || {
                model.queues[1].push_runnext(Item::new(7), |_| unreachable!("no spill"));
                model.wakep();
            })
        };
        producer.join().unwrap();
        let ran = w0.join().unwrap();
        assert_no_lost_wakeup(&model, ran, &[7]);
    });
}
