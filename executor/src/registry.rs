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

use std::task::Waker;

use crate::sync::{lock, Mutex};

/// Bits of a key that name the shard.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;

pub(crate) struct Registry {
    /// The shards; a key's low `SHARD_BITS` bits pick one.
    shards: Box<[Mutex<Slab>]>,
}

/// A slab of wakers with a free list.
#[derive(Default)]
struct Slab {
    entries: Vec<Entry>,
    /// Head of the free list (index into `entries`), or `usize::MAX`.
    free: Option<usize>,
    len: usize,
}

enum Entry {
    Occupied(Waker),
    Vacant(Option<usize>),
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
        let mut slab = lock(&self.shards[shard]);
        slab.len += 1;
        let index = match slab.free {
            Some(index) => {
                let Entry::Vacant(next) = slab.entries[index] else {
                    unreachable!("free list points at an occupied entry");
                };
                slab.free = next;
                slab.entries[index] = Entry::Occupied(waker.clone());
                index
            }
            None => {
                slab.entries.push(Entry::Occupied(waker.clone()));
                slab.entries.len() - 1
            }
        };
        (index << SHARD_BITS) | shard
    }

    /// Removes the entry of `key`, if it is still there (shutdown may have
    /// taken it already).
    pub(crate) fn remove(&self, key: usize) {
        let (shard, index) = (key & (SHARDS - 1), key >> SHARD_BITS);
        let waker = {
            let mut slab = lock(&self.shards[shard]);
            let free = slab.free;
            match slab.entries.get_mut(index) {
                Some(entry @ Entry::Occupied(_)) => {
                    let old = std::mem::replace(entry, Entry::Vacant(free));
                    slab.free = Some(index);
                    slab.len -= 1;
                    Some(old)
                }
                _ => None,
            }
        };
        // Dropped outside the lock: dropping a waker may drop a task.
        drop(waker);
    }

    /// Wakes the task registered under `key`, if it still is.
    pub(crate) fn wake(&self, key: usize) {
        let (shard, index) = (key & (SHARDS - 1), key >> SHARD_BITS);
        let waker = match lock(&self.shards[shard]).entries.get(index) {
            Some(Entry::Occupied(waker)) => waker.clone(),
            _ => return,
        };
        waker.wake();
    }

    /// Number of parked tasks. A snapshot.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len).sum()
    }

    /// Takes every waker out, leaving the registry empty.
    pub(crate) fn take_all(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let slab = std::mem::take(&mut *lock(shard));
            all.extend(slab.entries.into_iter().filter_map(|e| match e {
                Entry::Occupied(w) => Some(w),
                Entry::Vacant(_) => None,
            }));
        }
        all
    }
}
