//! The local run queue of a P: a 256-slot ring plus the `runnext` slot.
//!
//! This is Go's `runq` (runtime/proc.go: `runqput`, `runqget`, `runqgrab`,
//! `runqsteal`, `runqputslow`), written over atomic pointers:
//!
//! * Only the M that owns the P pushes (`push_back`, `push_runnext`): it writes
//!   the slot at `tail`, then publishes it with a Release store of `tail`.
//! * Anyone may take from the head (the owner with `pop_front`, thieves with
//!   `steal_into`): they read the slots speculatively and claim them with a
//!   compare-and-swap of `head`. Slots are `AtomicPtr`s, so a stale read
//!   racing with the producer overwriting a freed slot is not a data race; the
//!   value read is only turned back into a task after the CAS proves that the
//!   slot range was still unclaimed.
//! * A push to a full ring moves the oldest half plus the new task to the
//!   global queue in one batch (`runqputslow`): 129 tasks with 256 slots.
//! * A thief takes ceil(half) of a victim's ring into its own ring, and takes
//!   the victim's `runnext` only when asked to (the last stealing pass).
//!
//! Invariant: a task is in exactly one of {runnext, this ring, a thief's ring,
//! the spill batch being moved}. The loom model in `src/loom_tests/queue.rs`
//! checks that every pushed task comes out exactly once.
//!
//! `head` and `tail` are free-running `u32`s; `tail - head` (wrapping) is the
//! length, never above the capacity.

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::sync::{spin_loop, AtomicPtr, AtomicU32, Ordering};

/// Slots in the ring (Go's 256). Shrunk under loom to keep models small.
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = if cfg!(gmp_loom) { 4 } else { 256 };

const MASK: u32 = LOCAL_QUEUE_CAPACITY as u32 - 1;

/// Something that can travel through the queue as one pointer.
///
/// # Safety
///
/// `from_raw(into_raw(x))` must give back `x`, and a pointer returned by
/// `into_raw` must be turned back with `from_raw` at most once.
pub(crate) unsafe trait QueueItem: Sized {
    fn into_raw(self) -> NonNull<()>;
    /// # Safety
    /// `ptr` came from `into_raw` and has not been turned back yet.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

/// The bounded single-producer, multi-consumer run queue of one P.
pub(crate) struct LocalQueue<T: QueueItem> {
    /// Index of the oldest task. Advanced by CAS by the owner and by thieves.
    head: AtomicU32,
    /// Index one past the newest task. Stored only by the owner (Release).
    tail: AtomicU32,
    /// The ring; a slot in `head..tail` holds a task owned by the queue.
    slots: Box<[AtomicPtr<()>]>,
    /// The task to run next, ahead of the ring (Go's `runnext`). Swapped by
    /// the owner, taken by CAS by the owner or a thief.
    runnext: AtomicPtr<()>,
    /// The queue owns `T`s.
    _items: PhantomData<T>,
}

// SAFETY: the queue hands each `T` to exactly one thread (by CAS on `head` or
// `runnext`), so it is as thread-safe as `T` is sendable.
unsafe impl<T: QueueItem + Send> Send for LocalQueue<T> {}
// SAFETY: as above; every shared field is atomic.
unsafe impl<T: QueueItem + Send> Sync for LocalQueue<T> {}

impl<T: QueueItem> LocalQueue<T> {
    pub(crate) fn new() -> Self {
        let slots = (0..LOCAL_QUEUE_CAPACITY)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        LocalQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots,
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            _items: PhantomData,
        }
    }

    fn slot(&self, index: u32) -> &AtomicPtr<()> {
        &self.slots[(index & MASK) as usize]
    }

    /// Tasks in the ring, not counting `runnext`. A snapshot.
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        (tail.wrapping_sub(head) as usize).min(LOCAL_QUEUE_CAPACITY)
    }

    /// Whether `runnext` holds a task. A snapshot.
    pub(crate) fn has_runnext(&self) -> bool {
        !self.runnext.load(Ordering::Acquire).is_null()
    }

    /// No task in the ring nor in `runnext`. A snapshot (Go's `runqempty`).
    pub(crate) fn is_empty(&self) -> bool {
        // Go re-reads until head, tail and runnext are consistent, because a
        // `push_runnext` moves the old runnext to the tail in two steps: a
        // reader could see the ring empty before the push and runnext empty
        // after it.
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let runnext = self.runnext.load(Ordering::Acquire);
            if tail == self.tail.load(Ordering::Acquire) {
                return head == tail && runnext.is_null();
            }
        }
    }

    /// Puts `task` in `runnext`; the task it displaces goes to the tail.
    /// Owner only. `spill` receives the batch if the ring overflows.
    /// Returns whether a task was displaced.
    pub(crate) fn push_runnext(&self, task: T, spill: impl FnOnce(SpillBatch<'_, T>)) -> bool {
        let old = self
            .runnext
            .swap(task.into_raw().as_ptr(), Ordering::AcqRel);
        let Some(old) = NonNull::new(old) else {
            return false;
        };
        // SAFETY: `old` was in runnext and the swap took it out, so we are
        // the only one turning it back into a task.
        let old = unsafe { T::from_raw(old) };
        self.push_back(old, spill);
        true
    }

    /// Puts `task` at the tail of the ring. Owner only.
    ///
    /// When the ring is full, the oldest half and `task` are handed to `spill`
    /// as one batch (`LOCAL_QUEUE_CAPACITY / 2 + 1` tasks), oldest first.
    /// Returns whether another M may be needed for the ring's tasks: it
    /// looked empty before the push (a snapshot: a thief may have emptied it
    /// since), or it spilled to the GRQ.
    pub(crate) fn push_back(&self, task: T, spill: impl FnOnce(SpillBatch<'_, T>)) -> bool {
        let ptr = task.into_raw();
        loop {
            let head = self.head.load(Ordering::Acquire);
            // Only we store `tail`, so a relaxed read sees our last store.
            let tail = self.tail.load(Ordering::Relaxed);
            if tail.wrapping_sub(head) < LOCAL_QUEUE_CAPACITY as u32 {
                self.slot(tail).store(ptr.as_ptr(), Ordering::Relaxed);
                self.tail.store(tail.wrapping_add(1), Ordering::Release);
                return tail == head;
            }
            // Full: claim the oldest half for the global queue.
            let half = (LOCAL_QUEUE_CAPACITY / 2) as u32;
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(half),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                spill(SpillBatch {
                    queue: self,
                    next: head,
                    end: head.wrapping_add(half),
                    last: Some(ptr),
                    _items: PhantomData,
                });
                return true;
            }
            // A thief took some; there is room now.
        }
    }

    /// Takes the task in `runnext`, if any.
    pub(crate) fn take_runnext(&self) -> Option<T> {
        let next = self.runnext.load(Ordering::Acquire);
        if next.is_null() {
            return None;
        }
        let next = self.runnext.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: the swap took the pointer out of runnext; it is ours alone.
        NonNull::new(next).map(|p| unsafe { T::from_raw(p) })
    }

    /// Takes the oldest task of the ring.
    pub(crate) fn pop_front(&self) -> Option<T> {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            if head == tail {
                return None;
            }
            let ptr = self.slot(head).load(Ordering::Relaxed);
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(1),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                // SAFETY: the CAS claimed slot `head`, which was in `head..tail`
                // and so held a published task; no one else can claim it.
                return Some(unsafe { T::from_raw(NonNull::new_unchecked(ptr)) });
            }
        }
    }

    /// Steals ceil(half) of `self`'s ring into `dst`'s ring and returns the
    /// newest stolen task to run at once (Go's `runqsteal`). If the ring is
    /// empty and `steal_runnext` is set, takes `self`'s runnext instead.
    ///
    /// Called by `dst`'s owner only. `dst`'s ring must be at most half full,
    /// so that the half it takes fits: it is empty when a P steals because it
    /// found no work of its own, and the watch (`machine/watch.rs`) rescues
    /// tasks from a stuck P only into a ring with that much room. The stolen
    /// tasks go in past `dst`'s tail, in slots outside its `head..tail`, as
    /// a `push_back` does; a thief of `dst` with a stale view may read one,
    /// but its CAS on `head` then fails.
    /// Returns the task to run and how many tasks were taken in all.
    pub(crate) fn steal_into(&self, dst: &Self, steal_runnext: bool) -> Option<(T, usize)> {
        // A debug assertion: its two loads would lengthen every loom model
        // that steals past loom's branch limit, and both callers ensure it.
        debug_assert!(
            dst.len() <= LOCAL_QUEUE_CAPACITY / 2,
            "steal_into: the destination ring is more than half full"
        );
        let dst_tail = dst.tail.load(Ordering::Relaxed);
        let n = self.grab(dst, dst_tail, steal_runnext);
        if n == 0 {
            return None;
        }
        let last = dst_tail.wrapping_add(n - 1);
        let ptr = dst.slot(last).load(Ordering::Relaxed);
        if n > 1 {
            // Publish the others; the newest stays out of the ring to be run.
            dst.tail.store(last, Ordering::Release);
        }
        // SAFETY: `grab` moved `n` tasks it claimed from `self` into our own
        // slots `dst_tail..dst_tail + n`, which no one else reads until we
        // publish them; the newest is not published, so it is ours.
        let task = unsafe { T::from_raw(NonNull::new_unchecked(ptr)) };
        Some((task, n as usize))
    }

    /// Copies ceil(half) of the ring into `dst` starting at `dst_tail` and
    /// claims them (Go's `runqgrab`). Returns how many were claimed.
    fn grab(&self, dst: &Self, dst_tail: u32, steal_runnext: bool) -> u32 {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let len = tail.wrapping_sub(head);
            let n = len - len / 2;
            if n == 0 {
                if !steal_runnext {
                    return 0;
                }
                let next = self.runnext.load(Ordering::Acquire);
                if next.is_null() {
                    return 0;
                }
                // The victim is probably about to run it: give it a moment,
                // as Go does, so that we do not snatch every runnext of a
                // ping-pong pair.
                for _ in 0..64 {
                    spin_loop();
                }
                // Keep the pointer the CAS read, not `next`: between our load
                // and the CAS the task may have left runnext, run, been freed,
                // and a new task been put there at the same address. The CAS
                // then succeeds (same address) and the task is rightly ours,
                // but only the value it read carries that task's provenance
                // (Miri reported the use of `next` as a use after free).
                let Ok(taken) = self.runnext.compare_exchange(
                    next,
                    std::ptr::null_mut(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) else {
                    continue;
                };
                dst.slot(dst_tail).store(taken, Ordering::Relaxed);
                return 1;
            }
            if n > (LOCAL_QUEUE_CAPACITY / 2) as u32 {
                // `head` and `tail` were read at different times: retry.
                continue;
            }
            for i in 0..n {
                let ptr = self.slot(head.wrapping_add(i)).load(Ordering::Relaxed);
                dst.slot(dst_tail.wrapping_add(i))
                    .store(ptr, Ordering::Relaxed);
            }
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(n),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return n;
            }
        }
    }

    /// Takes every task out (runnext first, then the ring, oldest first).
    /// Used at shutdown and in tests.
    pub(crate) fn drain(&self) -> impl Iterator<Item = T> + '_ {
        self.take_runnext()
            .into_iter()
            .chain(std::iter::from_fn(move || self.pop_front()))
    }
}

impl<T: QueueItem> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        for task in self.drain() {
            drop(task);
        }
    }
}

/// The tasks a full ring hands to the global queue: the oldest half of the
/// ring, claimed by the producer, then the task whose push overflowed.
pub(crate) struct SpillBatch<'a, T: QueueItem> {
    queue: &'a LocalQueue<T>,
    next: u32,
    end: u32,
    last: Option<NonNull<()>>,
    _items: PhantomData<T>,
}

impl<T: QueueItem> Iterator for SpillBatch<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next != self.end {
            let ptr = self.queue.slot(self.next).load(Ordering::Relaxed);
            self.next = self.next.wrapping_add(1);
            // SAFETY: the producer's CAS claimed `next..end`; only the
            // producer, which is iterating here, may reuse those slots.
            return Some(unsafe { T::from_raw(NonNull::new_unchecked(ptr)) });
        }
        // SAFETY: `last` came from `into_raw` of the task being pushed and is
        // taken out of the Option, so it is turned back once.
        self.last.take().map(|p| unsafe { T::from_raw(p) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.wrapping_sub(self.next) as usize + usize::from(self.last.is_some());
        (n, Some(n))
    }
}

impl<T: QueueItem> ExactSizeIterator for SpillBatch<'_, T> {}

impl<T: QueueItem> Drop for SpillBatch<'_, T> {
    fn drop(&mut self) {
        // A batch dropped half-way (only if the consumer panicked) must not
        // leak the rest.
        for task in self.by_ref() {
            drop(task);
        }
    }
}

/// A boxed number travels through the queues in unit tests.
#[cfg(all(test, not(gmp_loom)))]
// SAFETY: a `Box` round-trips through its raw pointer.
unsafe impl QueueItem for Box<usize> {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self)).cast()
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller guarantees `ptr` came from `into_raw`.
        unsafe { Box::from_raw(ptr.cast::<usize>().as_ptr()) }
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    /// A test item: a boxed number.
    struct Item(Box<usize>);

    // SAFETY: Box round-trips through a raw pointer.
    unsafe impl QueueItem for Item {
        fn into_raw(self) -> NonNull<()> {
            NonNull::from(Box::leak(self.0)).cast()
        }
        unsafe fn from_raw(ptr: NonNull<()>) -> Self {
            // SAFETY: the caller guarantees `ptr` came from `into_raw`.
            Item(unsafe { Box::from_raw(ptr.cast::<usize>().as_ptr()) })
        }
    }

    fn no_spill(_: SpillBatch<'_, Item>) {
        panic!("unexpected spill");
    }

    #[test]
    fn ring_is_fifo() {
        let q = LocalQueue::new();
        for i in 0..10 {
            q.push_back(Item(Box::new(i)), no_spill);
        }
        let out: Vec<usize> = q.drain().map(|i| *i.0).collect();
        assert_eq!(out, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn runnext_runs_the_newest_task_first() {
        let q = LocalQueue::new();
        q.push_runnext(Item(Box::new(1)), no_spill);
        q.push_runnext(Item(Box::new(2)), no_spill);
        assert_eq!(
            *q.take_runnext().unwrap().0,
            2,
            "runnext must hold the newest task"
        );
        assert_eq!(
            *q.pop_front().unwrap().0,
            1,
            "the displaced task goes to the tail"
        );
        assert!(q.is_empty());
    }

    #[test]
    fn full_ring_spills_half_plus_one() {
        let q = LocalQueue::new();
        for i in 0..LOCAL_QUEUE_CAPACITY {
            q.push_back(Item(Box::new(i)), no_spill);
        }
        let mut spilled = Vec::new();
        q.push_back(Item(Box::new(999)), |batch| {
            assert_eq!(batch.len(), LOCAL_QUEUE_CAPACITY / 2 + 1);
            spilled.extend(batch.map(|i| *i.0));
        });
        let mut expected: Vec<usize> = (0..LOCAL_QUEUE_CAPACITY / 2).collect();
        expected.push(999);
        assert_eq!(
            spilled, expected,
            "the oldest half and the new task spill, in order"
        );
        assert_eq!(q.len(), LOCAL_QUEUE_CAPACITY / 2);
    }

    #[test]
    fn steal_takes_ceil_half_and_returns_the_newest() {
        let victim = LocalQueue::new();
        let thief = LocalQueue::new();
        for i in 0..5 {
            victim.push_back(Item(Box::new(i)), no_spill);
        }
        let (task, n) = victim.steal_into(&thief, false).unwrap();
        assert_eq!(n, 3, "ceil(5 / 2) tasks are stolen");
        assert_eq!(*task.0, 2, "the newest stolen task runs at once");
        assert_eq!(thief.len(), 2);
        assert_eq!(victim.len(), 2);
        let rest: Vec<usize> = thief.drain().map(|i| *i.0).collect();
        assert_eq!(rest, vec![0, 1]);
    }

    #[test]
    fn runnext_is_stolen_only_when_asked() {
        let victim = LocalQueue::new();
        let thief = LocalQueue::new();
        victim.push_runnext(Item(Box::new(7)), no_spill);
        assert!(victim.steal_into(&thief, false).is_none());
        let (task, n) = victim.steal_into(&thief, true).unwrap();
        assert_eq!((*task.0, n), (7, 1));
        assert!(victim.is_empty() && thief.is_empty());
    }

    #[test]
    fn wraps_around_many_times() {
        let q = LocalQueue::new();
        let mut next_out = 0;
        for i in 0..(LOCAL_QUEUE_CAPACITY * 10) {
            q.push_back(Item(Box::new(i)), no_spill);
            if i % 3 != 0 || q.len() > LOCAL_QUEUE_CAPACITY / 2 {
                assert_eq!(*q.pop_front().unwrap().0, next_out);
                next_out += 1;
            }
        }
        let rest: Vec<usize> = q.drain().map(|i| *i.0).collect();
        assert_eq!(rest.first(), Some(&next_out));
        assert_eq!(rest.len(), LOCAL_QUEUE_CAPACITY * 10 - next_out);
    }

    #[test]
    fn concurrent_steals_lose_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let n = if cfg!(miri) { 200 } else { 100_000 };
        let victim = Arc::new(LocalQueue::<Item>::new());
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let victim = victim.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let mine = LocalQueue::new();
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(Ordering::Acquire);
                        if let Some((task, _)) = victim.steal_into(&mine, true) {
                            got.push(*task.0);
                            got.extend(mine.drain().map(|i| *i.0));
                        } else if finished {
                            return got;
                        }
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        let mut spilled = Vec::new();
        for i in 0..n {
            if i % 2 == 0 {
                victim.push_runnext(Item(Box::new(i)), |b| spilled.extend(b.map(|i| *i.0)));
            } else {
                victim.push_back(Item(Box::new(i)), |b| spilled.extend(b.map(|i| *i.0)));
            }
            if i % 5 == 0 {
                if let Some(t) = victim.pop_front() {
                    got.push(*t.0);
                }
            }
        }
        done.store(true, Ordering::Release);
        got.extend(victim.drain().map(|i| *i.0));
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        got.extend(spilled);
        got.sort_unstable();
        assert_eq!(
            got,
            (0..n).collect::<Vec<_>>(),
            "every task comes out exactly once"
        );
    }
}
