//! Loom models of the scheduler's lock-free protocols.
//!
//! Built only with `RUSTFLAGS="--cfg gmp_loom"` (see `.ci/loom`), where
//! `crate::sync` hands out loom's atomics, so the real `LocalQueue` and
//! `ProcState` run under the model checker:
//!
//! * `queue` — the LRQ, `runnext`, stealing and spilling (`queue.rs`):
//!   every pushed task comes out exactly once.
//! * `remote_queue` — the GRQ's lock-free lane and the GRQ that drains it
//!   (`remote_queue.rs`, `global_queue.rs`): every task out once, through a
//!   full ring; the length never reads 0 while a task is being moved.
//! * `handoff` — sysmon's retake racing with the polling M's local pushes and
//!   its `exit_poll` (`proc.rs`, `context.rs`): one winner, one producer.
//! * `task_refs` — the batched count of task references to a runtime
//!   (`task_refs.rs`): its owner freed once, after the last reference.
//! * `runtime` — the real runtime: `Shared`, the M loop (`find_runnable`,
//!   `stop_m`, the reactor hand-over), `wakep`, `startm` (also at the thread
//!   cap), `handoffp`'s re-check, `wakep`'s `needspinning` against an M
//!   giving its P back, an idle M's keep-alive expiring while `startm` hands
//!   it a P, sysmon's deep sleep against `pidleget`, a long-poll report against sysmon's interval sleep, `abort` against the
//!   first park, and shutdown, with loom threads as Ms and the model reactor
//!   of `netpoll.rs`: no lost wake-up (a lost one is a deadlock), every task
//!   run once, every future dropped once, no P or M lost.
//!
//! Each model runs under a preemption bound (default below; the
//! `LOOM_MAX_PREEMPTIONS` environment variable overrides it), which keeps a
//! model to seconds while still covering every bug that needs at most that
//! many forced context switches.

use std::ptr::NonNull;

use crate::queue::QueueItem;

mod chan;
mod handoff;
mod queue;
mod remote_queue;
mod runtime;
mod task_refs;

/// Preemptions explored when `LOOM_MAX_PREEMPTIONS` is not set. Every
/// two-thread model and the queue models finish in about a second with 3
/// (a few seconds with 4).
const DEFAULT_PREEMPTIONS: usize = 3;

/// For the runtime models with two Ps or three threads: about 30 s each
/// with 2 on two cores.
const SMALL_PREEMPTIONS: usize = 2;

/// For the runtime models with three Ms and a poll that blocks its M: a
/// few seconds with 1, minutes with 2.
const TINY_PREEMPTIONS: usize = 1;

/// loom's default limit on the branches of one execution (1 000) is too
/// low for the models that run three Ms, a blocked poll and a shutdown in
/// one execution, or two remote spawns through the GRQ's lock-free lane and
/// a shutdown; they use this one (a spin loop would still hit it).
const LONG_EXECUTION_BRANCHES: usize = 20_000;

/// Runs `f` under loom with the preemption bound of the environment, else
/// `preemptions`.
fn check(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    check_with(preemptions, None, f);
}

/// [`check`], with at most `max_branches` branches per execution when the
/// environment (`LOOM_MAX_BRANCHES`) does not say.
fn check_with(
    preemptions: usize,
    max_branches: Option<usize>,
    f: impl Fn() + Sync + Send + 'static,
) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    if let Some(max) = max_branches {
        if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
            builder.max_branches = max;
        }
    }
    builder.check(f);
}

/// A task as the queues see it: an id, plus a loom `Arc` so that loom
/// reports a task that is never turned back from its raw pointer ("Arc
/// leaked") at the end of an execution.
struct Item {
    id: usize,
    _alive: loom::sync::Arc<()>,
}

impl Item {
    fn new(id: usize) -> Self {
        Item {
            id,
            _alive: loom::sync::Arc::new(()),
        }
    }
}

// SAFETY: a `Box<Item>` round-trips through its raw pointer; `from_raw` is
// called once per `into_raw` by the queue's contract.
unsafe impl QueueItem for Item {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(Box::new(self))).cast()
    }

    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller guarantees `ptr` came from `into_raw` above and
        // has not been turned back yet.
        *unsafe { Box::from_raw(ptr.cast::<Item>().as_ptr()) }
    }
}

/// Sorts `ids` and checks that they are exactly `expected`, each once.
#[track_caller]
fn assert_exactly_once(mut ids: Vec<usize>, expected: &[usize], what: &str) {
    ids.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(ids, expected, "{what}: a task was lost or came out twice");
}
