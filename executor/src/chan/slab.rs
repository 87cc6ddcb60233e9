//! `Slab`: the waiter records of a channel's wait queues, reused by key.
//!
//! Go keeps a cache of `sudog`s so that parking does not allocate; this is
//! the same idea for one channel: a future that parks takes a key here and
//! keeps it until it completes or is dropped, so a channel at steady state
//! parks and wakes without touching the allocator. A key is owned by exactly
//! one future at a time, so it never names a record it did not take.

use std::task::Waker;

/// One parked sender or receiver (Go's `sudog`).
pub(crate) struct Waiter<T> {
    /// The waker of the parked future; written by its poll, taken by whoever
    /// wakes it (a peer's hand-off, a close, a passed-on notification).
    pub(crate) waker: Option<Waker>,
    /// A receiver's hand-off slot: the value a sender gave this parked
    /// receiver, written by the sender's poll, taken by the receiver's poll
    /// (or given back to the channel by its drop). Always `None` for senders.
    pub(crate) value: Option<T>,
    /// Whether the key is in the channel's `recvq`/`sendq` right now; set by
    /// the parking poll, cleared by whoever takes it off the queue.
    pub(crate) queued: bool,
}

/// A free-listed vector of [`Waiter`]s.
pub(crate) struct Slab<T> {
    /// The records; `None` where the key is free.
    entries: Vec<Option<Waiter<T>>>,
    /// Free keys, reused last-in first-out.
    free: Vec<usize>,
}

impl<T> Slab<T> {
    /// An empty slab.
    pub(crate) fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Takes a key for a fresh, unqueued record with `waker`.
    pub(crate) fn insert(&mut self, waker: Waker) -> usize {
        let waiter = Waiter {
            waker: Some(waker),
            value: None,
            queued: false,
        };
        match self.free.pop() {
            Some(key) => {
                self.entries[key] = Some(waiter);
                key
            }
            None => {
                self.entries.push(Some(waiter));
                self.entries.len() - 1
            }
        }
    }

    /// The record of `key`.
    ///
    /// # Panics
    ///
    /// If `key` is not taken: a bug in the channel, never user input.
    pub(crate) fn get(&mut self, key: usize) -> &mut Waiter<T> {
        match self.entries.get_mut(key) {
            Some(Some(waiter)) => waiter,
            _ => panic!("gmp::chan: waiter key {key} is not in use"),
        }
    }

    /// Frees `key`, returning its record.
    pub(crate) fn remove(&mut self, key: usize) -> Waiter<T> {
        match self.entries.get_mut(key).and_then(Option::take) {
            Some(waiter) => {
                self.free.push(key);
                waiter
            }
            None => panic!("gmp::chan: waiter key {key} freed twice"),
        }
    }

    /// How many keys are taken.
    #[cfg(all(test, not(gmp_loom)))]
    pub(crate) fn in_use(&self) -> usize {
        self.entries.len() - self.free.len()
    }
}

/// Stores `waker` in `slot` unless the one there already wakes the same
/// task (the usual case: a task re-polled by its own wake). Returns the
/// waker it replaced, for the caller to drop once the channel's lock is
/// released (dropping a waker may free a task, and whatever that runs must
/// not find the lock held).
#[must_use = "drop the replaced waker after the lock is released"]
pub(crate) fn set_waker(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(old) if old.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}
