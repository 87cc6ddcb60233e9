//! `Metrics::alive_tasks`: tasks spawned and not yet ended, counted without
//! a locked instruction.
//!
//! Every thread that spawns or ends a task takes a slot number for its life
//! (a process-wide free list; `thread_slot`). While the thread lives, no
//! other thread has its number, so in every runtime the counters of that
//! slot have one writer: a spawn or an end is a load and a store on a line
//! that other threads seldom touch, not an atomic add. A thread that exits
//! gives its number back; the next thread to take it does so under the free
//! list's lock, so after the last store of the one before, and goes on from
//! the counts it left.
//!
//! The first [`SLOTS`] numbers have slots. A thread beyond them, and a thread
//! whose number is already given back (its thread-local destructors run
//! late), counts on the shared `overflow` slot with atomic adds.
//!
//! The reader sums every slot: `ended` first, then `spawned`, so a count read
//! while tasks come and go may be high for a moment but never wraps below
//! zero. For the metric these are statistics; they stay std atomics under
//! loom, as `ProcStats` do.
//!
//! Shutdown also waits on them ([`AliveTasks::owned`]): a wake that reached
//! a task's schedule function first drops its future on the waking thread,
//! and `drop(rt)` returns only once those are gone. Local tasks
//! (`spawn_local`) are counted apart, in `local`, since the thread inside
//! their `block_on` drops them, whenever that ends. The orders that make the
//! wait sound are at `owned`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Slots with one writer each; threads beyond them share `overflow`.
const SLOTS: usize = 64;

/// The counters of one slot, alone on its cache line(s).
#[repr(align(128))]
#[derive(Default)]
struct Slot {
    /// Tasks spawned by the threads of this slot.
    spawned: AtomicU64,
    /// Tasks whose future was dropped on the threads of this slot.
    ended: AtomicU64,
}

/// The counters of one runtime.
pub(crate) struct AliveTasks {
    /// The one-writer slots; a thread uses `slots[thread_slot()]`.
    slots: Box<[Slot]>,
    /// The slot of the threads without one of their own.
    overflow: Slot,
    /// Local tasks (`spawn_local`) spawned and not yet ending: an atomic add,
    /// as those are few.
    local: AtomicU64,
}

/// Slot numbers given back by exited threads.
static FREE_SLOTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// The next slot number never given out.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A thread's slot number, given back when the thread exits.
struct SlotNumber(usize);

impl SlotNumber {
    fn take() -> Self {
        let free = FREE_SLOTS.lock().map(|mut free| free.pop());
        match free {
            Ok(Some(n)) => SlotNumber(n),
            _ => SlotNumber(NEXT_SLOT.fetch_add(1, Ordering::Relaxed)),
        }
    }
}

impl Drop for SlotNumber {
    fn drop(&mut self) {
        // Numbers beyond `SLOTS` are not worth keeping: they have no slot.
        if self.0 < SLOTS {
            if let Ok(mut free) = FREE_SLOTS.lock() {
                free.push(self.0);
            }
        }
    }
}

thread_local! {
    /// This thread's slot number, taken the first time it counts.
    static SLOT: SlotNumber = SlotNumber::take();
}

/// This thread's slot, if it has one of its own.
fn thread_slot() -> Option<usize> {
    SLOT.try_with(|n| n.0).ok().filter(|&n| n < SLOTS)
}

/// Adds one to a counter that only this thread writes.
fn bump(counter: &AtomicU64, order: Ordering) {
    counter.store(counter.load(Ordering::Relaxed) + 1, order);
}

impl AliveTasks {
    pub(crate) fn new() -> Self {
        AliveTasks {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            overflow: Slot::default(),
            local: AtomicU64::new(0),
        }
    }

    /// A task was created.
    pub(crate) fn spawned(&self) {
        match thread_slot() {
            Some(n) => bump(&self.slots[n].spawned, Ordering::Relaxed),
            None => {
                self.overflow.spawned.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A task's future was dropped.
    pub(crate) fn ended(&self) {
        // Release: a reader that sees this end sees the spawn before it.
        match thread_slot() {
            Some(n) => bump(&self.slots[n].ended, Ordering::Release),
            None => {
                self.overflow.ended.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// A local task was created (after its `spawned`).
    pub(crate) fn local_spawned(&self) {
        // Release: a reader that sees this sees the `spawned` before it.
        self.local.fetch_add(1, Ordering::Release);
    }

    /// A local task's future is being dropped (before its `ended`, whose
    /// Release store publishes this).
    pub(crate) fn local_ending(&self) {
        self.local.fetch_sub(1, Ordering::Relaxed);
    }

    /// Tasks spawned and not yet ended.
    pub(crate) fn alive(&self) -> u64 {
        self.count(false)
    }

    /// Tasks spawned and not yet ended, local ones aside: the futures a
    /// shutdown drops, or waits for.
    ///
    /// Never low, only high for a moment: `ended` is read first, then
    /// `local`, then `spawned`. A local task ends with `local_ending` before
    /// its `ended` store (Release), so a read that sees the end sees the
    /// decrement; it is spawned with `spawned` before `local_spawned`
    /// (Release), so a read that sees the increment sees the spawn.
    pub(crate) fn owned(&self) -> u64 {
        self.count(true)
    }

    /// `spawned - ended`, less the local tasks if `owned_only`.
    fn count(&self, owned_only: bool) -> u64 {
        let all = || self.slots.iter().chain(std::iter::once(&self.overflow));
        let ended: u64 = all().map(|s| s.ended.load(Ordering::Acquire)).sum();
        let local = if owned_only {
            self.local.load(Ordering::Acquire)
        } else {
            0
        };
        let spawned: u64 = all().map(|s| s.spawned.load(Ordering::Relaxed)).sum();
        spawned.saturating_sub(ended).saturating_sub(local)
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_and_reused_slots_add_up() {
        let alive = std::sync::Arc::new(AliveTasks::new());
        // More threads than slots, in waves, so that numbers are given back
        // and taken again: a reused slot must go on from its counts.
        for _ in 0..3 {
            let threads: Vec<_> = (0..SLOTS + 8)
                .map(|i| {
                    let alive = alive.clone();
                    std::thread::spawn(move || {
                        for _ in 0..100 {
                            alive.spawned();
                        }
                        for _ in 0..(100 - i % 2) {
                            alive.ended();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().expect("a counting thread panicked");
            }
        }
        // Each odd thread left one task alive.
        assert_eq!(alive.alive(), 3 * (SLOTS as u64 + 8) / 2);
    }
}
