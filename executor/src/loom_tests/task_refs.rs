//! The task-reference count (`task_refs.rs`): the runtime's `Arc`
//! reference held for all task references is added once per rise from zero
//! and dropped once per fall to it, so the owner is freed exactly once, after
//! the last reference, whether references go back through a pool or one at a
//! time, on any thread.

use loom::sync::atomic::AtomicUsize;
use loom::thread;

use super::{check, DEFAULT_PREEMPTIONS};
use crate::sync::{Arc, Ordering};
use crate::task_refs::{enter_pool, give, take, CountsTaskRefs, TaskRefs};

/// An owner that counts its drops; its loom `Arc` makes loom report an
/// owner that is never freed.
struct Owner {
    refs: TaskRefs,
    drops: loom::sync::Arc<AtomicUsize>,
    _alive: loom::sync::Arc<()>,
}

impl CountsTaskRefs for Owner {
    fn task_refs(&self) -> &TaskRefs {
        &self.refs
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn owner() -> (Arc<Owner>, loom::sync::Arc<AtomicUsize>) {
    let drops = loom::sync::Arc::new(AtomicUsize::new(0));
    let owner = Arc::new(Owner {
        refs: TaskRefs::default(),
        drops: drops.clone(),
        _alive: loom::sync::Arc::new(()),
    });
    (owner, drops)
}

/// A raw task reference, sent to another thread as a number.
fn send(ptr: *const Owner) -> usize {
    ptr as usize
}

/// A pooled thread (an M) takes references and gives one back through its
/// pool; another thread gives back the reference it was handed, outside any
/// pool; the handle is dropped meanwhile. The owner is freed once, after
/// the last reference.
#[test]
fn references_given_back_through_a_pool_and_outside_one() {
    check(DEFAULT_PREEMPTIONS, || {
        let (owner, drops) = owner();
        let m_owner = owner.clone();
        let handed = loom::sync::Arc::new(AtomicUsize::new(0));
        let m_handed = handed.clone();
        let m = thread::spawn(move || {
            let _pool = enter_pool(&m_owner);
            let kept = take(&m_owner);
            m_handed.store(send(take(&m_owner)), Ordering::Release);
            drop(m_owner);
            // SAFETY: taken above, given back once.
            unsafe { give(kept) };
        });
        let other = thread::spawn(move || loop {
            let raw = handed.load(Ordering::Acquire);
            if raw != 0 {
                // SAFETY: taken by the M, handed to us, given back once.
                unsafe { give(raw as *const Owner) };
                break;
            }
            thread::yield_now();
        });
        drop(owner);
        m.join().unwrap();
        other.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "freed once");
    });
}

/// Two threads without pools race the count's fall to zero and its rise
/// from zero: one gives back the last reference while the other, holding a
/// handle, takes a new one. The `Arc` reference is dropped and added again
/// in step, and the owner outlives both.
#[test]
fn a_rise_from_zero_racing_the_fall_to_it() {
    check(DEFAULT_PREEMPTIONS, || {
        let (owner, drops) = owner();
        let first = send(take(&owner));
        let giver = thread::spawn(move || {
            // SAFETY: taken above, given back once.
            unsafe { give(first as *const Owner) };
        });
        let taker_owner = owner.clone();
        let taker = thread::spawn(move || {
            let r = take(&taker_owner);
            // SAFETY: taken above, given back once.
            unsafe { give(r) };
            assert_eq!(taker_owner.drops.load(Ordering::Relaxed), 0);
        });
        giver.join().unwrap();
        taker.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 0, "a handle is left");
        assert_eq!(Arc::strong_count(&owner), 1, "no reference left held");
        drop(owner);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}
