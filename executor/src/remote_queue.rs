//! The lock-free lane of the global run queue: tasks scheduled from outside
//! the runtime's Ms.
//!
//! A spawn from `block_on` or from a thread of its own, and a wake from the
//! reactor thread or another runtime, used to take the scheduler lock to
//! append to the GRQ. The Ms take that lock too (to fetch from the GRQ, to
//! idle and wake Ps), so a thread spawning in a loop met them there: the
//! lock, its contention and the length mirror's store were 18 % of the
//! spawning thread's samples in `spawn_many_local` (docs/benchmarks.md).
//!
//! This is a bounded multi-producer, single-consumer ring:
//!
//! * A producer claims position `pos` by CAS of `tail`, if the ring has
//!   room (`pos - head < CAPACITY`), writes the task in slot `pos %
//!   CAPACITY`, then stores `pos + 1` in the slot's sequence number
//!   (Release): published. The number names the lap, so the consumer never
//!   mistakes the previous lap's task for this one's, and it never writes a
//!   slot back: producers reuse slots without waiting for the consumer's
//!   writes to reach them.
//! * The consumer, holding the scheduler lock (its token is the
//!   `GlobalTasks` inside the lock), takes the published positions from
//!   `head` on (sequence number `pos + 1`), counts them where they go, then
//!   moves `head` past them (Release): their slots are free. A claimed
//!   slot whose producer has not published yet stops it there; that task
//!   counts as not pushed yet (`has_published`): its producer's `wakep`
//!   comes after the publication.
//! * Producers keep the last `head` one of them read next to `tail`
//!   (`Tail::head_seen`), on the line they write anyway, and read `head`
//!   itself only when that one says the ring is full. `head` only grows, so
//!   an old value only under-states the room.
//! * A full ring refuses the push; the caller takes the lock and appends to
//!   the GRQ's deque as before.
//!
//! The producer issues a SeqCst fence after it publishes
//! (`Shared::schedule_remote`) and then reads `nmspinning`, as after a
//! locked push: an M that stops spinning reads the ring after its own
//! fence and sees the task, or the producer sees the M gone and wakes
//! one. The loom model `loom_tests/remote_queue.rs` checks that every task
//! pushed comes out once, through a full ring and a producer caught
//! between claim and publish.

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::queue::QueueItem;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// Slots in the ring. Shrunk under loom to reach "full" in a few steps.
pub(crate) const REMOTE_CAPACITY: usize = if cfg!(gmp_loom) { 2 } else { 1024 };

/// One slot: a task and the lap it belongs to.
struct Slot {
    /// `pos + 1` once the push at position `pos` published its task here.
    seq: AtomicUsize,
    /// The task of a published slot.
    task: AtomicPtr<()>,
}

/// What producers write, alone on its cache lines (two: the unit
/// adjacent-line prefetchers move).
#[repr(align(128))]
struct Tail {
    /// The next position to claim. Advanced by CAS.
    pos: AtomicUsize,
    /// A value of `head` that a producer read: at most `head`.
    head_seen: AtomicUsize,
}

/// What the consumer writes, alone on its cache lines.
#[repr(align(128))]
struct Head(AtomicUsize);

/// The ring. See the module docs.
pub(crate) struct RemoteQueue<T: QueueItem> {
    /// `REMOTE_CAPACITY` slots, a power of two.
    slots: Box<[Slot]>,
    /// Producers' side.
    tail: Tail,
    /// The next position to take. Stored only by the consumer (under the
    /// scheduler lock); read by anyone for the length.
    head: Head,
    /// The ring owns `T`s.
    _items: PhantomData<T>,
}

// SAFETY: each task is handed to exactly one consumer (the slot's sequence
// number says when it is there to take, and `head` when it has been taken),
// so the ring is as thread-safe as `T` is sendable; every shared field is
// atomic.
unsafe impl<T: QueueItem + Send> Send for RemoteQueue<T> {}
// SAFETY: as above.
unsafe impl<T: QueueItem + Send> Sync for RemoteQueue<T> {}

impl<T: QueueItem> RemoteQueue<T> {
    pub(crate) fn new() -> Self {
        let slots = (0..REMOTE_CAPACITY)
            .map(|_| Slot {
                seq: AtomicUsize::new(0),
                task: AtomicPtr::new(std::ptr::null_mut()),
            })
            .collect();
        RemoteQueue {
            slots,
            tail: Tail {
                pos: AtomicUsize::new(0),
                head_seen: AtomicUsize::new(0),
            },
            head: Head(AtomicUsize::new(0)),
            _items: PhantomData,
        }
    }

    fn slot(&self, pos: usize) -> &Slot {
        &self.slots[pos & (REMOTE_CAPACITY - 1)]
    }

    /// Tasks claimed and not taken yet (some maybe still being published).
    /// A snapshot; read it before the count of wherever the consumer moves
    /// tasks to (see [`take_published`](Self::take_published)).
    pub(crate) fn len(&self) -> usize {
        // `head` first: it never passes `tail`, so a later `tail` is at
        // least the `head` read here.
        let head = self.head.0.load(Ordering::SeqCst);
        let tail = self.tail.pos.load(Ordering::SeqCst);
        tail.wrapping_sub(head)
    }

    /// Whether the oldest task is published, ready to take. A snapshot;
    /// read it before the count of wherever the consumer moves tasks to.
    ///
    /// A claimed slot whose producer has not published yet does not count:
    /// an M that found the GRQ empty for that reason goes on as if the push
    /// had not begun, and the producer's fence and `wakep` after it
    /// publishes cover it (instead of the M spinning until that producer
    /// gets a CPU again).
    pub(crate) fn has_published(&self) -> bool {
        let head = self.head.0.load(Ordering::SeqCst);
        // SeqCst: an M going idle stores `npidle` (SeqCst) and then looks
        // here, against the producer's publish, fence, `npidle` load; the
        // load must be in the SeqCst order for one of the two to see the
        // other. It is also an Acquire: a slot reused for a later lap was
        // published after the consumer counted this one where it went, so
        // seeing the reuse means seeing that count too.
        self.slot(head).seq.load(Ordering::SeqCst) == head.wrapping_add(1)
    }

    /// Appends `task`, or gives it back if the ring is full.
    pub(crate) fn push(&self, task: T) -> Result<(), T> {
        let ptr = task.into_raw();
        loop {
            let pos = self.tail.pos.load(Ordering::Relaxed);
            if !self.has_room(pos) {
                // SAFETY: `ptr` came from `into_raw` just above and was not
                // published.
                return Err(unsafe { T::from_raw(ptr) });
            }
            if self
                .tail
                .pos
                .compare_exchange(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                let slot = self.slot(pos);
                slot.task.store(ptr.as_ptr(), Ordering::Relaxed);
                slot.seq.store(pos.wrapping_add(1), Ordering::Release);
                return Ok(());
            }
        }
    }

    /// Whether the slot of position `pos` is free: the consumer took the
    /// previous lap's task from it. The Acquire loads pair with the
    /// consumer's Release store of `head` (directly, or through the
    /// producer that copied it to `head_seen`), so its reads of the slot
    /// happen before this producer's writes.
    fn has_room(&self, pos: usize) -> bool {
        let seen = self.tail.head_seen.load(Ordering::Acquire);
        if pos.wrapping_sub(seen) < REMOTE_CAPACITY {
            return true;
        }
        let head = self.head.0.load(Ordering::Acquire);
        self.tail.head_seen.fetch_max(head, Ordering::AcqRel);
        pos.wrapping_sub(head) < REMOTE_CAPACITY
    }

    /// Takes the published tasks at the head, oldest first, into `each`
    /// (at most one lap's worth), then calls `before_release`, and only then
    /// moves `head` past them, which frees their slots. Returns how many.
    ///
    /// Only the consumer calls it: the caller holds the scheduler lock
    /// (`GlobalQueue::absorb`, whose `GlobalTasks` is the proof). The caller
    /// counts the tasks where they went in `before_release`, so that a
    /// reader of [`len`](Self::len) and of that count (in that order) never
    /// misses them.
    pub(crate) fn take_published(
        &self,
        mut each: impl FnMut(T),
        before_release: impl FnOnce(),
    ) -> usize {
        let head = self.head.0.load(Ordering::Relaxed);
        let mut n = 0;
        while n < REMOTE_CAPACITY {
            let pos = head.wrapping_add(n);
            let slot = self.slot(pos);
            if slot.seq.load(Ordering::Acquire) != pos.wrapping_add(1) {
                // Empty, or its producer is between claim and publish.
                break;
            }
            let ptr = slot.task.load(Ordering::Relaxed);
            // SAFETY: the sequence number says slot `pos` holds the task
            // published for this lap; `head` is not past it, so nobody took
            // it, and only the consumer takes tasks.
            each(unsafe { T::from_raw(NonNull::new_unchecked(ptr)) });
            n += 1;
        }
        if n == 0 {
            return 0;
        }
        before_release();
        self.head.0.store(head.wrapping_add(n), Ordering::SeqCst);
        n
    }
}

impl<T: QueueItem> Drop for RemoteQueue<T> {
    fn drop(&mut self) {
        while self.take_published(drop, || {}) > 0 {}
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdCounter;
    use std::sync::{Arc, Mutex};

    /// A boxed number that counts its drops.
    struct Item(usize, Arc<StdCounter>);

    // SAFETY: a `Box<Item>` round-trips through its raw pointer.
    unsafe impl QueueItem for Item {
        fn into_raw(self) -> NonNull<()> {
            NonNull::from(Box::leak(Box::new(self))).cast()
        }
        unsafe fn from_raw(ptr: NonNull<()>) -> Self {
            // SAFETY: `ptr` came from `into_raw` and is turned back once.
            *unsafe { Box::from_raw(ptr.cast::<Item>().as_ptr()) }
        }
    }

    impl Drop for Item {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn fifo_through_many_laps_and_a_full_ring_refuses() {
        let drops = Arc::new(StdCounter::new(0));
        let q = RemoteQueue::new();
        let mut next = 0;
        for _ in 0..3 {
            for i in 0..REMOTE_CAPACITY {
                assert!(q.push(Item(i, drops.clone())).is_ok(), "room for {i}");
            }
            let refused = q.push(Item(usize::MAX, drops.clone()));
            assert_eq!(refused.map_err(|item| item.0).err(), Some(usize::MAX));
            assert_eq!(q.len(), REMOTE_CAPACITY);
            let mut counted = false;
            let n = q.take_published(
                |item| {
                    assert_eq!(item.0, next % REMOTE_CAPACITY, "out of order");
                    next += 1;
                },
                || counted = true,
            );
            assert!(counted && n == REMOTE_CAPACITY, "took {n} of a full ring");
            assert_eq!(q.len(), 0);
        }
        assert_eq!(next, 3 * REMOTE_CAPACITY);
        assert!(q.push(Item(7, drops.clone())).is_ok());
        let before = drops.load(Ordering::Relaxed);
        drop(q);
        assert_eq!(drops.load(Ordering::Relaxed), before + 1, "drop leaked");
    }

    #[test]
    fn concurrent_producers_lose_nothing() {
        // Fewer under Miri, which runs these tests (`.ci/miri`).
        const PER: usize = if cfg!(miri) { 300 } else { 20_000 };
        let drops = Arc::new(StdCounter::new(0));
        let q = Arc::new(RemoteQueue::new());
        // The consumer's lock, as the scheduler lock is in the runtime.
        let consumer = Arc::new(Mutex::new(Vec::new()));
        let producers: Vec<_> = (0..3)
            .map(|t| {
                let (q, drops, consumer) = (q.clone(), drops.clone(), consumer.clone());
                std::thread::spawn(move || {
                    for i in 0..PER {
                        let mut item = Item(t * PER + i, drops.clone());
                        while let Err(back) = q.push(item) {
                            // Full: drain as an M would, then retry.
                            let mut got = consumer.lock().unwrap();
                            q.take_published(|x| got.push(x.0), || {});
                            item = back;
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut got = std::mem::take(&mut *consumer.lock().unwrap());
        while q.take_published(|x| got.push(x.0), || {}) > 0 {}
        got.sort_unstable();
        assert_eq!(
            got,
            (0..3 * PER).collect::<Vec<_>>(),
            "a task lost or doubled"
        );
    }
}
