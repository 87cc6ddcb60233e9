//! `Metrics::alive_tasks`: tasks spawned and not yet ended, counted without
//! a shared hot spot.
//!
//! Each thread counts on one of [`SHARDS`] cache-line-sized shards (picked
//! once per thread, round robin): a spawn adds one to `spawned`, the drop of
//! a task's future adds one to `ended`, both uncontended atomic adds on a
//! line that other threads seldom touch. The reader sums every shard:
//! `ended` first, then `spawned`, so a count read while tasks come and go
//! may be high for a moment but never wraps below zero.

use std::cell::Cell;

use crate::sync::{AtomicU64, Ordering};

/// Number of shards (a power of two).
const SHARDS: usize = 16;

/// One shard, alone on its cache line(s).
#[repr(align(128))]
struct Shard {
    /// Tasks spawned by the threads of this shard.
    spawned: AtomicU64,
    /// Tasks whose future was dropped on the threads of this shard.
    ended: AtomicU64,
}

/// The counters of one runtime.
pub(crate) struct AliveTasks {
    /// The shards; a thread uses `shards[thread_shard()]`.
    shards: Box<[Shard]>,
}

/// The next shard to give a thread.
static NEXT_SHARD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// This thread's shard plus one; 0 until it first counts.
    static SHARD: Cell<usize> = const { Cell::new(0) };
}

/// This thread's shard.
fn thread_shard() -> usize {
    SHARD
        .try_with(|s| {
            if s.get() == 0 {
                let next = NEXT_SHARD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                s.set(next % SHARDS + 1);
            }
            s.get() - 1
        })
        .unwrap_or(0)
}

impl AliveTasks {
    pub(crate) fn new() -> Self {
        AliveTasks {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    spawned: AtomicU64::new(0),
                    ended: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    /// A task was created.
    pub(crate) fn spawned(&self) {
        self.shards[thread_shard()]
            .spawned
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A task's future was dropped.
    pub(crate) fn ended(&self) {
        // Release: a reader that sees this end sees the spawn before it.
        self.shards[thread_shard()]
            .ended
            .fetch_add(1, Ordering::Release);
    }

    /// Tasks spawned and not yet ended.
    pub(crate) fn alive(&self) -> u64 {
        let ended: u64 = self
            .shards
            .iter()
            .map(|s| s.ended.load(Ordering::Acquire))
            .sum();
        let spawned: u64 = self
            .shards
            .iter()
            .map(|s| s.spawned.load(Ordering::Relaxed))
            .sum();
        spawned.saturating_sub(ended)
    }
}
