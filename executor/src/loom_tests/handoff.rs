//! Loom model of taking a P from an M inside a poll (`proc.rs`'s
//! `ProcState`, `machine/wake.rs`'s `schedule_local`, `sysmon/mod.rs`'s `retake`).
//!
//! The real `ProcState` and `LocalQueue`. Thread M holds the P, enters a
//! poll, wakes tasks into its own P the way `Worker::schedule` does
//! (`begin_push` → push → `end_push`, or the GRQ when `begin_push` fails),
//! then leaves the poll with `exit_poll`. Thread S is sysmon: it reads the
//! status and, seeing `InPoll(seq)` or `Pushing(seq)`, calls
//! `try_retake(seq)`; if it wins it acts as the new M (`handoffp` →
//! `startm`): it wakes a task of its own into the P and runs the P's queue.
//!
//! Checked:
//! * exactly one of {M's `exit_poll`, S's `try_retake`} succeeds;
//! * the LRQ never has two producers at once (a `producers` counter around
//!   every push, which must read 0 when a push begins);
//! * no task is lost or run twice: every task is run by the P's owner or is
//!   in the GRQ, and the owner that drained the P last left nothing in it.

use super::{assert_exactly_once, check, Item, DEFAULT_PREEMPTIONS};
use crate::proc::{ProcState, Status};
use crate::queue::LocalQueue;
use crate::sync::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// One P and the GRQ.
struct Model {
    state: ProcState,
    queue: LocalQueue<Item>,
    grq: Mutex<Vec<usize>>,
    /// Threads inside a push to `queue` right now.
    producers: AtomicUsize,
}

impl Model {
    fn new() -> Self {
        Model {
            state: ProcState::new(),
            queue: LocalQueue::new(),
            grq: Mutex::new(Vec::new()),
            producers: AtomicUsize::new(0),
        }
    }

    /// `Shared::push_local`: runnext, or the tail for a yield; overflow to
    /// the GRQ. Counts the producer.
    fn push_local(&self, id: usize, yielded: bool) {
        let before = self.producers.fetch_add(1, Ordering::SeqCst);
        assert_eq!(before, 0, "two Ms push into one LRQ at once");
        let spill = |batch: crate::queue::SpillBatch<'_, Item>| {
            self.grq.lock().unwrap().extend(batch.map(|t| t.id));
        };
        if yielded {
            self.queue.push_back(Item::new(id), spill);
        } else {
            self.queue.push_runnext(Item::new(id), spill);
        }
        self.producers.fetch_sub(1, Ordering::SeqCst);
    }

    /// `Worker::schedule` inside poll `seq`.
    fn schedule_in_poll(&self, seq: u64, id: usize, yielded: bool) {
        if self.state.begin_push(seq) {
            self.push_local(id, yielded);
            self.state.end_push(seq);
        } else {
            // `Err(task)` → `Shared::push_global`.
            self.grq.lock().unwrap().push(id);
        }
    }

    /// The owner runs everything in its P (runnext first, as `find_runnable`).
    fn run_queue(&self) -> Vec<usize> {
        self.queue.drain().map(|t| t.id).collect()
    }
}

/// Sysmon: up to `tries` looks at the P; takes it if it is inside a poll.
fn sysmon(model: &Model, tries: usize) -> bool {
    for _ in 0..tries {
        match model.state.status() {
            Status::InPoll(seq) | Status::Pushing(seq) => {
                if model.state.try_retake(seq) {
                    return true;
                }
            }
            Status::Idle | Status::Owned => {}
        }
        thread::yield_now();
    }
    false
}

/// Runs one model: `before` tasks already in the LRQ, M wakes `wakes`
/// (id, yielded) during its poll.
fn run_model(before: usize, wakes: &'static [(usize, bool)]) {
    let model = Arc::new(Model::new());
    // The M took the P from the idle list and queued some work earlier.
    model.state.acquire();
    for id in 0..before {
        model.push_local(id, true);
    }
    let seq = model.state.enter_poll();

    let m = {
        let model = model.clone();
        thread::spawn(move || {
            for &(id, yielded) in wakes {
                model.schedule_in_poll(seq, id, yielded);
            }
            let kept = model.state.exit_poll(seq);
            let ran = if kept { model.run_queue() } else { Vec::new() };
            (kept, ran)
        })
    };
    let s = {
        let model = model.clone();
        thread::spawn(move || {
            let took = sysmon(&model, 2);
            let mut ran = Vec::new();
            if took {
                assert_eq!(
                    model.state.status(),
                    Status::Owned,
                    "a retaken P is owned by sysmon"
                );
                // The new M wakes a task of its own, then runs the P.
                model.push_local(100, false);
                ran = model.run_queue();
            }
            (took, ran)
        })
    };
    let (kept, ran_m) = m.join().unwrap();
    let (took, ran_s) = s.join().unwrap();

    assert!(
        kept != took,
        "exit_poll kept the P: {kept}, sysmon took it: {took}; exactly one must win"
    );
    assert!(
        model.queue.is_empty(),
        "a task sits in the LRQ of a P whose owner already ran its queue"
    );
    let mut all = ran_m;
    all.extend(ran_s);
    all.extend(model.grq.lock().unwrap().drain(..));
    let mut expected: Vec<usize> = (0..before).collect();
    expected.extend(wakes.iter().map(|&(id, _)| id));
    if took {
        expected.push(100);
    }
    assert_exactly_once(all, &expected, "handoff");
}

/// One wake during the poll, into runnext, on an empty P.
#[test]
fn retake_races_one_local_push() {
    check(DEFAULT_PREEMPTIONS, || run_model(0, &[(10, false)]));
}

/// Two wakes (runnext, then a yield to the tail) on a P with queued work:
/// the retake can land between them, and the new owner's push overflows the
/// 4-slot ring into the GRQ.
#[test]
fn retake_between_two_local_pushes_with_spill() {
    check(DEFAULT_PREEMPTIONS, || {
        run_model(3, &[(10, false), (11, true)])
    });
}
