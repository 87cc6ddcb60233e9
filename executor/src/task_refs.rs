//! Task references to their runtime, counted in batches.
//!
//! Every task keeps its runtime's `Shared` alive: a waker can outlive the
//! runtime's handles, and its wake reaches the runtime through the task's
//! metadata. One `Arc` clone per task would cost two read-modify-writes on a
//! line that every spawn and every task's end share, on every M: 4 to 10 %
//! of a spawn's time on one M (`docs/benchmarks.md`), more when several
//! spawn at once.
//!
//! So the runtime counts task references itself (`TaskRefs`), and owns one
//! `Arc` reference on their behalf while the count is above zero:
//!
//! * whoever takes the count from 0 adds that reference (it holds an `Arc`
//!   of its own at the time, so the runtime is alive);
//! * whoever brings it back to 0 drops it.
//!
//! Each transition to zero pairs with the one from zero before it, so the
//! `Arc` reference exists exactly while the count is above zero.
//!
//! An M, and a thread inside `block_on`, keeps spare references in a
//! thread-local pool (`enter_pool`): a spawn takes one from the pool, a task
//! that ends there gives its own back to the pool, and the shared count moves
//! by `BATCH` at a time. The pool is emptied into the count when the M's loop
//! or the `block_on` returns, so spares never outlive the thread's work for
//! the runtime. Anywhere else a reference is taken and given back one at a
//! time.

use std::cell::Cell;
use std::mem;

use crate::sync::{Arc, AtomicUsize, Ordering};

/// How many references a pool takes from, or gives back to, the count at a
/// time. A pool holds at most `2 * BATCH` spares.
const BATCH: usize = 64;

/// The count of task references to a runtime, a field of its `Shared`.
#[derive(Debug, Default)]
pub(crate) struct TaskRefs {
    /// References held by tasks and by pools; while above zero, one strong
    /// `Arc` reference to the owner is held for all of them.
    count: AtomicUsize,
}

/// What owns a `TaskRefs` (a runtime's `Shared`).
pub(crate) trait CountsTaskRefs: Sized + Send + Sync + 'static {
    /// The owner's count.
    fn task_refs(&self) -> &TaskRefs;
}

/// A thread's spare references to one runtime.
#[derive(Clone, Copy)]
struct Pool {
    /// The runtime (`Arc::as_ptr`, type-erased).
    owner: *const (),
    /// References held and not yet given to a task.
    spare: usize,
    /// `release::<T>` for the owner's type.
    release: unsafe fn(*const (), usize),
}

#[cfg(not(gmp_loom))]
std::thread_local! {
    /// This thread's pool, while it runs an M's loop or a `block_on`.
    static POOL: Cell<Option<Pool>> = const { Cell::new(None) };
}

#[cfg(gmp_loom)]
loom::thread_local! {
    /// This (model) thread's pool.
    static POOL: Cell<Option<Pool>> = Cell::new(None);
}

/// Takes one task reference to `owner`, for a new task; give it back with
/// [`give`]. Returns the pointer the task keeps.
pub(crate) fn take<T: CountsTaskRefs>(owner: &Arc<T>) -> *const T {
    let ptr = Arc::as_ptr(owner);
    let pooled = POOL
        .try_with(|pool| match pool.get() {
            Some(mut p) if p.owner == ptr.cast() => {
                if p.spare == 0 {
                    acquire(owner, BATCH);
                    p.spare = BATCH;
                }
                p.spare -= 1;
                pool.set(Some(p));
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !pooled {
        acquire(owner, 1);
    }
    ptr
}

/// Gives back a task reference taken by [`take`]; the last one drops the
/// runtime's `Arc` reference, which may free it.
///
/// # Safety
///
/// `owner` came from `take`, and this reference is given back once.
pub(crate) unsafe fn give<T: CountsTaskRefs>(owner: *const T) {
    let pooled = POOL
        .try_with(|pool| match pool.get() {
            Some(mut p) if p.owner == owner.cast() => {
                p.spare += 1;
                let excess = p.spare > 2 * BATCH;
                if excess {
                    p.spare -= BATCH;
                }
                pool.set(Some(p));
                if excess {
                    // SAFETY: the pool held these; it keeps more than one,
                    // so the count stays above zero.
                    unsafe { release(owner, BATCH) };
                }
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !pooled {
        // SAFETY: our caller's reference, given back once.
        unsafe { release(owner, 1) };
    }
}

/// Gives this thread a pool of spare references to `owner` (an M's loop, a
/// `block_on`) until the guard is dropped, which gives the spares back.
pub(crate) fn enter_pool<T: CountsTaskRefs>(owner: &Arc<T>) -> PoolGuard {
    let pool = Pool {
        owner: Arc::as_ptr(owner).cast(),
        spare: 0,
        release: release_erased::<T>,
    };
    PoolGuard {
        previous: POOL.with(|slot| slot.replace(Some(pool))),
    }
}

/// Ends the pool [`enter_pool`] started.
pub(crate) struct PoolGuard {
    /// The pool this thread had before, put back on drop.
    previous: Option<Pool>,
}

impl Drop for PoolGuard {
    fn drop(&mut self) {
        let ours = POOL.try_with(|pool| pool.replace(self.previous.take()));
        if let Ok(Some(p)) = ours {
            if p.spare > 0 {
                // SAFETY: the pool held `spare` references to `owner`.
                unsafe { (p.release)(p.owner, p.spare) };
            }
        }
    }
}

/// Adds `n` references; the first one adds the `Arc` reference held for all.
fn acquire<T: CountsTaskRefs>(owner: &Arc<T>, n: usize) {
    // Relaxed, as `Arc::clone`: our caller's `Arc` keeps the owner alive.
    if owner.task_refs().count.fetch_add(n, Ordering::Relaxed) == 0 {
        mem::forget(Arc::clone(owner));
    }
}

/// Gives back `n` references; the last ones drop the `Arc` reference held
/// for all.
///
/// # Safety
///
/// `owner` came from `Arc::as_ptr` of the runtime and the caller holds `n`
/// of its references.
unsafe fn release<T: CountsTaskRefs>(owner: *const T, n: usize) {
    // SAFETY: the count is at least `n`, so the `Arc` reference held for the
    // references keeps the owner alive here.
    let count = unsafe { &(*owner).task_refs().count };
    // AcqRel: what every holder did with the runtime happens before the one
    // that drops the `Arc` reference (whose own drop orders the free).
    if count.fetch_sub(n, Ordering::AcqRel) == n {
        // SAFETY: the count went from above zero to zero, so the reference
        // the transition from zero added (with `mem::forget`) is ours to drop.
        drop(unsafe { Arc::from_raw(owner) });
    }
}

/// `release::<T>` with the owner's type erased, for a `Pool`.
///
/// # Safety
///
/// As `release`, with `owner` a `*const T`.
unsafe fn release_erased<T: CountsTaskRefs>(owner: *const (), n: usize) {
    // SAFETY: our caller's contract.
    unsafe { release(owner.cast::<T>(), n) }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    /// An owner that counts its drops.
    struct Owner {
        refs: TaskRefs,
        dropped: Arc<AtomicUsize>,
    }

    impl CountsTaskRefs for Owner {
        fn task_refs(&self) -> &TaskRefs {
            &self.refs
        }
    }

    impl Drop for Owner {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn owner() -> (Arc<Owner>, Arc<AtomicUsize>) {
        let dropped = Arc::new(AtomicUsize::new(0));
        let owner = Arc::new(Owner {
            refs: TaskRefs::default(),
            dropped: dropped.clone(),
        });
        (owner, dropped)
    }

    #[test]
    fn references_keep_the_owner_alive_until_the_last_is_given_back() {
        let (owner, dropped) = owner();
        let refs: Vec<_> = (0..3).map(|_| take(&owner)).collect();
        assert_eq!(Arc::strong_count(&owner), 2, "one Arc reference for all");
        drop(owner);
        for (i, r) in refs.into_iter().enumerate() {
            assert_eq!(dropped.load(Ordering::Relaxed), 0, "freed after {i}");
            // SAFETY: taken above, given back once.
            unsafe { give(r) };
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_count_back_from_zero_holds_the_owner_again() {
        let (owner, dropped) = owner();
        for _ in 0..3 {
            let r = take(&owner);
            assert_eq!(Arc::strong_count(&owner), 2);
            // SAFETY: taken above, given back once.
            unsafe { give(r) };
            assert_eq!(Arc::strong_count(&owner), 1);
        }
        drop(owner);
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_pool_moves_the_count_in_batches_and_empties_when_it_ends() {
        let (owner, dropped) = owner();
        let leftover = {
            let _pool = enter_pool(&owner);
            let refs: Vec<_> = (0..3 * BATCH).map(|_| take(&owner)).collect();
            assert_eq!(owner.refs.count.load(Ordering::Relaxed), 3 * BATCH);
            let mut refs = refs.into_iter();
            for r in refs.by_ref().take(3 * BATCH - 1) {
                // SAFETY: taken above, given back once.
                unsafe { give(r) };
            }
            let count = owner.refs.count.load(Ordering::Relaxed);
            assert!(count <= 2 * BATCH + 1, "the pool kept {count}");
            refs.next().expect("one reference left")
        };
        assert_eq!(owner.refs.count.load(Ordering::Relaxed), 1, "spares kept");
        // Given back outside the pool, on a thread without one.
        std::thread::scope(|s| {
            let r = leftover as usize;
            // SAFETY: taken above, given back once.
            s.spawn(move || unsafe { give(r as *const Owner) });
        });
        assert_eq!(Arc::strong_count(&owner), 1);
        drop(owner);
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_pool_ignores_other_owners() {
        let (a, _) = owner();
        let (b, b_dropped) = owner();
        {
            let _pool = enter_pool(&a);
            let r = take(&b);
            assert_eq!(b.refs.count.load(Ordering::Relaxed), 1);
            // SAFETY: taken above, given back once.
            unsafe { give(r) };
        }
        assert_eq!(b.refs.count.load(Ordering::Relaxed), 0);
        drop(b);
        assert_eq!(b_dropped.load(Ordering::Relaxed), 1);
    }
}
