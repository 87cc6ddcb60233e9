//! P: a scheduling context.
//!
//! There are exactly `max_procs` Ps. A P is a local run queue (`queue.rs`),
//! scheduling counters and an ownership word. An M runs tasks only while it
//! owns a P.
//!
//! # Ownership
//!
//! Every poll of a task is treated like Go treats a syscall: while an M is
//! inside a poll, sysmon may take its P away and give it to another M
//! (`handoff`). Who may touch the P is one atomic word, changed by
//! compare-and-swap (`ProcState`):
//!
//! ```text
//!            pidleget                  enter_poll
//!   Idle ─────────────▶ Owned(seq) ───────────────▶ InPoll(seq+1)
//!    ▲   ◀─────────────      ▲  ◀─────────────────────┘  │   ▲
//!    │      pidleput         │      exit_poll (CAS)       │   │ end_push
//!    │                       │                  begin_push│   │ (store)
//!    │                       │ try_retake (CAS, sysmon)   ▼   │
//!    │                       └──────────────────────── Pushing(seq)
//!    └── sysmon's handoff puts it idle or gives it to another M
//! ```
//!
//! * Only the owner moves `Owned` to `InPoll` and back, and `Idle`/`Owned`
//!   into each other.
//! * While the M is inside the poll it may wake or spawn tasks into its own
//!   P. It first moves `InPoll(seq)` to `Pushing(seq)` by CAS; sysmon's retake
//!   is a CAS from `InPoll(seq)` too, so exactly one of them wins: either the
//!   push completes before the P can change hands (then sysmon retries later),
//!   or the P has been taken and the M sends the task to the global queue
//!   instead. The LRQ never has two producers.
//! * When the poll returns, the M's CAS `InPoll(seq)` → `Owned(seq)` tells it
//!   whether it still owns the P.
//!
//! `seq` counts polls, so sysmon can tell one long poll from many short ones.
//! The loom model `src/loom_tests/handoff.rs` checks this protocol.

use std::sync::atomic::AtomicU64 as StatCounter;

use crate::queue::{LocalQueue, QueueItem};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// A scheduling context.
///
/// Aligned to 128 bytes (two cache lines, the unit adjacent-line
/// prefetchers move) so that one P's counters and ring indices never share
/// a line with its neighbour's in `Shared::procs`.
#[repr(align(128))]
pub(crate) struct Proc<T: QueueItem> {
    /// Index in `Shared::procs`; stable for the runtime's life.
    pub(crate) id: usize,
    /// The LRQ and `runnext`. Pushed to only by the owner.
    pub(crate) queue: LocalQueue<T>,
    /// Tasks that yielded (woke themselves while running), oldest first.
    /// A second ring, drained only after the LRQ, the GRQ and the reactor
    /// have been looked at, so a yielder runs again only after every other
    /// runnable task of its P and after the global queue had its turn. Same
    /// ownership rules as `queue`; thieves may take from it too.
    pub(crate) yielded: LocalQueue<T>,
    /// Who may touch the P; see the module docs.
    pub(crate) state: ProcState,
    /// Go's `schedtick`: bumped by the owner each time it runs a task that
    /// does not inherit the time slice. Read by sysmon and schedtrace.
    pub(crate) schedtick: StatCounter,
    /// Set by sysmon when the same tick has lasted 10 ms; the owner clears it
    /// and sends `runnext` to the GRQ instead of running it (Go puts a
    /// preempted goroutine on the global queue).
    pub(crate) preempt: AtomicBool,
    /// Tasks run from `runnext` since the tick last moved. Owner only.
    pub(crate) runnext_streak: StatCounter,
    /// Polls run on this P since a yielder last ran from `yielded`. Owner
    /// only. Once it reaches `YIELD_INTERVAL` a waiting yielder runs before
    /// anything else, so no chain of wakes, however long, starves it.
    pub(crate) since_yielder: StatCounter,
    /// Id of the M that holds this P, or `NO_M`. For schedtrace.
    pub(crate) m: AtomicUsize,
    /// Counters for metrics.
    pub(crate) stats: ProcStats,
}

/// `Machine::p` (and `Worker::p` in schedtrace) when the M holds no P.
pub(crate) const NO_P: usize = usize::MAX;

/// `Proc::m` when no M holds the P.
pub(crate) const NO_M: usize = usize::MAX;

impl<T: QueueItem> Proc<T> {
    pub(crate) fn new(id: usize) -> Self {
        Proc {
            id,
            queue: LocalQueue::new(),
            yielded: LocalQueue::new(),
            runnext_streak: StatCounter::new(0),
            since_yielder: StatCounter::new(0),
            state: ProcState::new(),
            schedtick: StatCounter::new(0),
            preempt: AtomicBool::new(false),
            m: AtomicUsize::new(NO_M),
            stats: ProcStats::default(),
        }
    }

    /// Whether the P has runnable tasks of its own. A snapshot.
    pub(crate) fn has_work(&self) -> bool {
        !self.queue.is_empty() || !self.yielded.is_empty()
    }

    /// Runnable tasks of its own: LRQ, runnext and yielders. A snapshot.
    pub(crate) fn local_len(&self) -> usize {
        self.queue.len() + usize::from(self.queue.has_runnext()) + self.yielded.len()
    }

    /// Takes every runnable task out (shutdown).
    pub(crate) fn drain(&self) {
        for task in self.queue.drain().chain(self.yielded.drain()) {
            drop(task);
        }
    }
}

/// Counters of one P, since the runtime started.
///
/// Each is written by one party at a time (the P's owner, or sysmon while it
/// holds the P for a handoff), so a bump is a load and a store, not a locked
/// read-modify-write; anyone may read them. They stay plain std atomics even
/// under loom: they are statistics, not synchronisation.
#[derive(Default)]
pub(crate) struct ProcStats {
    /// Task polls.
    pub(crate) polls: StatCounter,
    /// Steal operations that got work.
    pub(crate) steals: StatCounter,
    /// Tasks taken by those steals and by rescues.
    pub(crate) stolen: StatCounter,
    /// Rescues: steals by this P's busy M from a P stuck in one poll
    /// (`machine/watch.rs`).
    pub(crate) rescues: StatCounter,
    /// Overflows of the LRQ into the GRQ.
    pub(crate) spills: StatCounter,
    /// Times the P was taken from an M blocked inside a poll.
    pub(crate) handoffs: StatCounter,
    /// Times the P went idle.
    pub(crate) parks: StatCounter,
    /// Non-blocking polls of the reactor by the P's M (steps 1 and 6).
    pub(crate) reactor_polls: StatCounter,
}

impl ProcStats {
    /// Adds `n` to a counter that only the caller writes.
    pub(crate) fn bump(counter: &StatCounter, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Adds `n` to a metrics counter. Built with `--cfg gmp_no_stats` it does
    /// nothing: that build exists only to measure what the counters cost
    /// (docs/benchmarks.md).
    #[inline(always)]
    pub(crate) fn count(counter: &StatCounter, n: u64) {
        #[cfg(not(gmp_no_stats))]
        Self::bump(counter, n);
        #[cfg(gmp_no_stats)]
        let _ = (counter, n);
    }
}

const TAG_MASK: u64 = 0b11;
const IDLE: u64 = 0;
const OWNED: u64 = 1;
const IN_POLL: u64 = 2;
const PUSHING: u64 = 3;

/// The ownership word of a P: a tag in the low two bits, the poll sequence
/// number above them.
pub(crate) struct ProcState {
    word: AtomicU64,
}

/// What the ownership word says, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// In the idle list.
    Idle,
    /// Held by an M (or sysmon) outside a task poll.
    Owned,
    /// Held by an M that is inside poll number `seq`.
    InPoll(u64),
    /// That M is pushing a task into the P during poll `seq`.
    Pushing(u64),
}

impl ProcState {
    pub(crate) fn new() -> Self {
        ProcState {
            word: AtomicU64::new(IDLE),
        }
    }

    fn seq(word: u64) -> u64 {
        word >> 2
    }

    /// The current status. A snapshot.
    pub(crate) fn status(&self) -> Status {
        let word = self.word.load(Ordering::Acquire);
        match word & TAG_MASK {
            IDLE => Status::Idle,
            OWNED => Status::Owned,
            IN_POLL => Status::InPoll(Self::seq(word)),
            _ => Status::Pushing(Self::seq(word)),
        }
    }

    /// Idle → Owned, by the M that took the P from the idle list.
    pub(crate) fn acquire(&self) {
        let word = self.word.load(Ordering::Relaxed);
        assert_eq!(word & TAG_MASK, IDLE, "acquiring a P that is not idle");
        self.word.store(word & !TAG_MASK | OWNED, Ordering::Release);
    }

    /// Owned → Idle, by the owner putting the P in the idle list.
    pub(crate) fn release(&self) {
        let word = self.word.load(Ordering::Relaxed);
        assert_eq!(word & TAG_MASK, OWNED, "releasing a P that is not owned");
        self.word.store(word & !TAG_MASK | IDLE, Ordering::Release);
    }

    /// Owned → InPoll(seq + 1), by the owner before it polls a task.
    /// Returns the new sequence number.
    pub(crate) fn enter_poll(&self) -> u64 {
        let word = self.word.load(Ordering::Relaxed);
        assert_eq!(word & TAG_MASK, OWNED, "polling on a P that is not owned");
        let seq = Self::seq(word) + 1;
        // Release is enough: sysmon reads the word with Acquire and changes
        // it only by CAS; nothing orders this store against other locations.
        self.word.store(seq << 2 | IN_POLL, Ordering::Release);
        seq
    }

    /// InPoll(seq) → Owned(seq) after the poll. `false`: sysmon took the P.
    pub(crate) fn exit_poll(&self, seq: u64) -> bool {
        self.word
            .compare_exchange(
                seq << 2 | IN_POLL,
                seq << 2 | OWNED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// InPoll(seq) → Pushing(seq), before a push during poll `seq`.
    /// `false`: the P has been taken, push elsewhere.
    pub(crate) fn begin_push(&self, seq: u64) -> bool {
        self.word
            .compare_exchange(
                seq << 2 | IN_POLL,
                seq << 2 | PUSHING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Pushing(seq) → InPoll(seq), after the push.
    pub(crate) fn end_push(&self, seq: u64) {
        self.word.store(seq << 2 | IN_POLL, Ordering::Release);
    }

    /// InPoll(seq) → Owned(seq), by sysmon (or the M itself in
    /// `block_in_place`) taking the P from the M inside poll `seq`.
    /// `false`: the poll ended or a push is in progress; nothing changed.
    pub(crate) fn try_retake(&self, seq: u64) -> bool {
        self.exit_poll(seq)
    }
}
