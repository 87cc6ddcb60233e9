//! A growable array whose entries never move.

/// Entries per chunk: 3 KiB of registry slots, an allocation small enough
/// that mimalloc serves it from its small-object pages (measured on the
/// parked-task benchmark: chunks of 8 KiB and more cost 6 bytes more per
/// parked task in the process's peak memory).
pub(super) const CHUNK: usize = 256;

/// Chunks of [`CHUNK`] entries, each allocated when its first entry is
/// pushed, so growing never copies.
///
/// A `Vec` that doubles copies every entry under the shard's lock (a
/// megabyte at a million parked tasks) and frees the old buffer, which an
/// allocator that keeps freed pages, as mimalloc does, still counts in the
/// process's peak memory.
pub(super) struct Chunks<T> {
    /// The chunks, filled in order: all are full but the last, which is
    /// never empty. The first grows as a `Vec` does, so a registry with few
    /// parked tasks stays small; the others are allocated with their full
    /// capacity.
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new() }
    }
}

impl<T> Chunks<T> {
    /// Entries pushed so far.
    pub(super) fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    pub(super) fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    /// Appends `entry`; returns its index.
    pub(super) fn push(&mut self, entry: T) -> usize {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(entry),
            last => {
                let capacity = if last.is_none() { 0 } else { CHUNK };
                let mut chunk = Vec::with_capacity(capacity);
                chunk.push(entry);
                self.chunks.push(chunk);
            }
        }
        self.len() - 1
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_index_is_kept_in_order_and_no_entry_moves_after_the_first_chunk() {
        let mut chunks = Chunks::default();
        let mut at_chunk = None;
        for i in 0..5 * CHUNK + 3 {
            assert_eq!(chunks.push(i), i, "indices are not sequential");
            if i >= CHUNK {
                let entry: *const usize = chunks.get(CHUNK).expect("an entry is gone");
                assert_eq!(
                    *at_chunk.get_or_insert(entry),
                    entry,
                    "an entry moved at push {i}"
                );
            }
        }
        assert_eq!(chunks.chunks.len(), 6);
        assert!(
            chunks.chunks[..5].iter().all(|c| c.len() == CHUNK),
            "a chunk is not full"
        );
        let last = 5 * CHUNK + 2;
        assert_eq!(
            (chunks.get(last), chunks.get(last + 1)),
            (Some(&last), None)
        );
        assert!(
            chunks.iter_mut().map(|x| *x).eq(0..=last),
            "iter_mut lost the order"
        );
        *chunks.get_mut(CHUNK - 1).expect("an entry is gone") = 0;
        assert_eq!(chunks.get(CHUNK - 1), Some(&0));
    }
}
