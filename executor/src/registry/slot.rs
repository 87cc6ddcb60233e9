//! A parked task's waker in 12 bytes.
//!
//! A `Waker` is a data pointer and a vtable pointer: 16 bytes, which the
//! registry pays once per parked task. A program has few vtables (one per
//! kind of waker; gmp's tasks have one per future type), so a slot keeps
//! the data pointer and the index of the vtable in a table of its shard:
//! a million parked tasks hold 4 MB less.
//!
//! A full slot owns one clone of the waker, taken apart by [`Slot::new`]
//! and put back together by [`Slot::take`], which empties the slot so that
//! the clone has one owner at all times.

use std::mem::ManuallyDrop;
use std::ptr;
use std::task::{RawWaker, RawWakerVTable, Waker};

/// The vtable index of an empty slot.
const NO_VTABLE: u32 = u32::MAX;

/// A waker taken apart, or nothing. Packed to 4 bytes so that it is 12
/// bytes, not 16.
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub(super) struct Slot {
    /// The waker's data pointer (read by value: the field is packed).
    data: *const (),
    /// The waker's vtable, as its index in the shard's [`Vtables`];
    /// `NO_VTABLE` when the slot is empty.
    vtable: u32,
}

// SAFETY: a full slot owns a `Waker`, which is `Send`; an empty one owns
// nothing. Slots are only read and written under their shard's lock.
unsafe impl Send for Slot {}

/// The vtables that one shard's slots name, by index. Only grows: a vtable
/// is a `'static` item of the program, and there are few (the compiler may
/// give one vtable two addresses, in two codegen units: it is then stored
/// twice, which costs a few bytes and nothing else).
#[derive(Default)]
pub(super) struct Vtables(Vec<&'static RawWakerVTable>);

impl Vtables {
    /// The index of `vtable`, added if it is new. The latest first: one
    /// future type tends to park many tasks in a row.
    fn index_of(&mut self, vtable: &'static RawWakerVTable) -> u32 {
        if let Some(index) = self.0.iter().rposition(|v| ptr::eq(*v, vtable)) {
            // Fewer than `NO_VTABLE` entries (checked below).
            return index as u32;
        }
        assert!(
            self.0.len() < NO_VTABLE as usize,
            "gmp: more than 2^32 - 1 kinds of waker in one registry shard"
        );
        self.0.push(vtable);
        (self.0.len() - 1) as u32
    }

    /// The vtable of a full slot.
    fn of(&self, slot: &Slot) -> Option<&'static RawWakerVTable> {
        let index = slot.vtable;
        self.0.get(index as usize).copied()
    }
}

impl Slot {
    /// A slot that holds no waker.
    pub(super) const EMPTY: Slot = Slot {
        data: ptr::null(),
        vtable: NO_VTABLE,
    };

    /// A slot owning a clone of `waker`.
    pub(super) fn new(waker: &Waker, vtables: &mut Vtables) -> Slot {
        let waker = ManuallyDrop::new(waker.clone());
        Slot {
            data: waker.data(),
            vtable: vtables.index_of(waker.vtable()),
        }
    }

    pub(super) fn is_full(&self) -> bool {
        let index = self.vtable;
        index != NO_VTABLE
    }

    /// Takes the waker out, leaving the slot empty.
    pub(super) fn take(&mut self, vtables: &Vtables) -> Option<Waker> {
        let slot = std::mem::replace(self, Slot::EMPTY);
        let vtable = vtables.of(&slot)?;
        // SAFETY: a full slot holds the parts of the clone that `Slot::new`
        // kept from being dropped; the slot is empty now, so this takes that
        // clone back exactly once.
        Some(unsafe { Waker::from_raw(RawWaker::new(slot.data, vtable)) })
    }

    /// A new clone of the slot's waker, if it is full.
    pub(super) fn clone_waker(&self, vtables: &Vtables) -> Option<Waker> {
        let vtable = vtables.of(self)?;
        // SAFETY: as in `take`, the parts are a live waker that the slot
        // owns; `ManuallyDrop` borrows it without giving up that ownership.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(self.data, vtable)) });
        Some((*waker).clone())
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;
    use crate::counting_waker::counter;
    use std::sync::Arc;

    #[test]
    fn a_slot_is_12_bytes_and_owns_exactly_one_clone() {
        assert_eq!(std::mem::size_of::<Slot>(), 12);
        let (counter, waker) = counter();
        let mut vtables = Vtables::default();
        let mut slot = Slot::new(&waker, &mut vtables);
        assert!(slot.is_full());
        assert_eq!(Arc::strong_count(&counter), 3, "the slot holds no clone");
        let clone = slot
            .clone_waker(&vtables)
            .expect("a full slot gave no waker");
        clone.wake();
        assert_eq!(counter.wakes(), 1);
        assert_eq!(
            Arc::strong_count(&counter),
            3,
            "clone_waker took the slot's clone"
        );
        let taken = slot.take(&vtables).expect("a full slot gave no waker");
        // Not `will_wake`: Miri gives a vtable a new address at each use.
        assert_eq!(
            taken.data(),
            waker.data(),
            "the slot gave back another waker"
        );
        assert!(!slot.is_full() && slot.take(&vtables).is_none());
        drop(taken);
        assert_eq!(Arc::strong_count(&counter), 2, "a clone leaked");
    }

    #[test]
    fn wakers_of_two_kinds_keep_their_own_vtables() {
        let (counter, counting) = counter();
        let noop = Waker::noop().clone();
        let mut vtables = Vtables::default();
        let slots = [
            Slot::new(&counting, &mut vtables),
            Slot::new(&noop, &mut vtables),
            Slot::new(&counting, &mut vtables),
        ];
        assert_eq!(vtables.0.len(), 2, "a vtable was stored twice");
        let mut slots = slots.map(|mut slot| slot.take(&vtables).expect("an empty slot"));
        assert!(slots[1].data() == noop.data() && slots[2].data() == counting.data());
        slots.iter_mut().for_each(|w| w.wake_by_ref());
        assert_eq!(counter.wakes(), 2);
    }
}
