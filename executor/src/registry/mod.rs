//! The registry of parked tasks.
//!
//! A task that returned `Pending` is in no run queue: its waker sits in some
//! I/O source, timer or channel. Shutdown must still drop its future, and
//! `abort` must wake it, so the first time a task parks its waker is put here
//! (one lock, once per task, off the path of tasks that finish in one poll).
//! The entry leaves when the future is dropped.
//!
//! The registry is split into shards, each a slab under its own lock, so that
//! Ms parking tasks at the same time rarely meet.

mod chunks;
mod slot;

use std::task::Waker;

use crate::sync::{lock, Mutex};
use chunks::Chunks;
use slot::{Slot, Vtables};

/// Bits of a key that name the shard.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;
/// Entries per shard: keys stay below `u32::MAX - 1`, so that a task's
/// metadata can hold its key plus one in 32 bits next to a "done" value.
const MAX_ENTRIES: usize = (1 << (32 - SHARD_BITS)) - 2;

pub(crate) struct Registry {
    /// The shards; a key's low `SHARD_BITS` bits pick one.
    shards: Box<[Mutex<Slab>]>,
}

/// A slab of wakers with a free list.
///
/// An entry is a [`Slot`], 12 bytes (a parked task pays for each one). An
/// empty slot is free, on `free`, or one emptied by `take_all` whose key
/// still belongs to a task that will `remove` it, not on `free` until then,
/// so no new task gets the same key while the old one may still remove it.
#[derive(Default)]
struct Slab {
    /// The parked tasks' wakers, by index.
    entries: Chunks<Slot>,
    /// The vtables the entries name.
    vtables: Vtables,
    /// Indices of the free entries.
    free: Vec<u32>,
}

impl Drop for Slab {
    fn drop(&mut self) {
        // A full slot owns a waker (none is left once every task is gone:
        // each task holds the runtime, and with it this registry, alive).
        let vtables = &self.vtables;
        self.entries
            .iter_mut()
            .for_each(|slot| drop(slot.take(vtables)));
    }
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::new(Slab::default())).collect(),
        }
    }

    /// Stores a clone of `waker`; returns its key. `hint` (the task's address)
    /// spreads tasks over the shards without a shared counter.
    pub(crate) fn insert(&self, waker: &Waker, hint: usize) -> usize {
        let shard = (hint >> 6) % SHARDS;
        let mut guard = lock(&self.shards[shard]);
        let slab = &mut *guard;
        let index = match slab.free.pop() {
            Some(index) => index as usize,
            None => {
                assert!(
                    slab.entries.len() < MAX_ENTRIES,
                    "gmp: more than 2^28 - 2 parked tasks in one registry shard"
                );
                slab.entries.push(Slot::EMPTY)
            }
        };
        // The waker is cloned into its slot only now, past every check, so
        // a panic above leaks no clone.
        match slab.entries.get_mut(index) {
            Some(entry) => {
                debug_assert!(!entry.is_full(), "a free registry entry is occupied");
                *entry = Slot::new(waker, &mut slab.vtables);
            }
            None => unreachable!("a free registry index is out of bounds"),
        }
        (index << SHARD_BITS) | shard
    }

    /// Removes the entry of `key` and frees the key (shutdown may have taken
    /// its waker already). Each key is removed once, by its task.
    pub(crate) fn remove(&self, key: usize) {
        let (shard, index) = (key & (SHARDS - 1), key >> SHARD_BITS);
        let waker = {
            let mut guard = lock(&self.shards[shard]);
            let slab = &mut *guard;
            let Some(entry) = slab.entries.get_mut(index) else {
                return;
            };
            let waker = entry.take(&slab.vtables);
            // `index < entries.len() <= u32::MAX` (checked at insert).
            slab.free.push(index as u32);
            waker
        };
        // Dropped outside the lock: dropping a waker may drop a task.
        drop(waker);
    }

    /// Wakes the task registered under `key`, if it still is.
    pub(crate) fn wake(&self, key: usize) {
        let (shard, index) = (key & (SHARDS - 1), key >> SHARD_BITS);
        let slab = lock(&self.shards[shard]);
        let waker = slab
            .entries
            .get(index)
            .and_then(|slot| slot.clone_waker(&slab.vtables));
        drop(slab);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Number of parked tasks. A snapshot.
    #[cfg_attr(any(not(test), gmp_loom), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        let full = |slab: &Slab| slab.entries.iter().filter(|slot| slot.is_full()).count();
        self.shards.iter().map(|s| full(&lock(s))).sum()
    }

    /// Takes every waker out, leaving the registry empty. The keys stay
    /// reserved (not on the free list) until their tasks remove them.
    pub(crate) fn take_all(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut guard = lock(shard);
            let slab = &mut *guard;
            let vtables = &slab.vtables;
            all.extend(
                slab.entries
                    .iter_mut()
                    .filter_map(|slot| slot.take(vtables)),
            );
        }
        all
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;
    use crate::counting_waker::counter;
    use std::sync::Arc;

    #[test]
    fn a_registry_dropped_with_parked_wakers_releases_them() {
        let registry = Registry::new();
        let (counter, waker) = counter();
        for i in 0..600 {
            registry.insert(&waker, i << 6);
        }
        assert_eq!(Arc::strong_count(&counter), 602);
        drop(registry);
        assert_eq!(Arc::strong_count(&counter), 2, "the registry leaked wakers");
    }

    #[test]
    fn a_key_taken_at_shutdown_cannot_remove_a_later_entry() {
        let registry = Registry::new();
        let (_, old) = counter();
        let old_key = registry.insert(&old, 0);
        assert_eq!(registry.take_all().len(), 1, "take_all missed the entry");
        let (later, waker) = counter();
        let later_key = registry.insert(&waker, 0);
        assert_ne!(later_key, old_key, "a taken key was handed out again");
        // The old task's future is dropped now and removes its stale key.
        registry.remove(old_key);
        assert_eq!(registry.len(), 1, "the stale key removed a later entry");
        registry.wake(later_key);
        assert_eq!(later.wakes(), 1, "the later task was not woken");
    }

    #[test]
    fn removed_keys_are_reused_and_wake_nothing() {
        let registry = Registry::new();
        let (first, waker) = counter();
        let key = registry.insert(&waker, 0);
        registry.remove(key);
        registry.wake(key);
        assert_eq!(first.wakes(), 0, "a removed entry was woken");
        let (_, other) = counter();
        assert_eq!(
            registry.insert(&other, 0),
            key,
            "the free list was not reused"
        );
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn take_all_returns_every_parked_waker_once() {
        let registry = Registry::new();
        let (c, waker) = counter();
        let keys: Vec<usize> = (0..100).map(|i| registry.insert(&waker, i << 6)).collect();
        registry.remove(keys[3]);
        let taken = registry.take_all();
        assert_eq!(taken.len(), 99, "take_all lost or duplicated a waker");
        taken.into_iter().for_each(Waker::wake);
        assert_eq!(c.wakes(), 99);
        assert!(
            registry.take_all().is_empty(),
            "take_all left wakers behind"
        );
        keys.into_iter().for_each(|k| registry.remove(k));
        assert_eq!(registry.len(), 0);
    }
}
