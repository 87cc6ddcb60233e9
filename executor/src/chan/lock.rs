//! `ChanLock`: the channel's lock — a test-and-test-and-set spin lock that
//! yields its thread when the holder does not let go.
//!
//! Every critical section of the channel is a few loads and stores (no
//! allocation in the steady state, no user code, no wake: wakers are called
//! after the unlock), so a waiter almost never waits long. What the spin
//! lock buys over `std::sync::Mutex` is the unlock: a release store instead
//! of a locked `xchg` (the futex mutex must learn whether to wake someone),
//! saving one atomic read-modify-write per lock — six per unbuffered
//! ping-pong round trip. A holder descheduled by the OS is waited out with
//! `thread::yield_now` after a short spin, not with a busy loop.
//!
//! Under `--cfg gmp_loom` it is loom's `Mutex`, so the models explore the
//! same critical sections.

#[cfg(not(gmp_loom))]
pub(crate) use spin::ChanLock;

#[cfg(gmp_loom)]
pub(crate) use model::ChanLock;

#[cfg(not(gmp_loom))]
mod spin {
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};

    use crate::sync::{AtomicBool, Ordering};

    /// Spins before each `yield_now` while the lock is held.
    const SPINS: u32 = 64;

    /// A spin lock over `T`.
    pub(crate) struct ChanLock<T> {
        /// Set while a guard exists; written by `lock` (acquire CAS) and
        /// the guard's drop (release store).
        locked: AtomicBool,
        /// The protected data; only reached through a guard.
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out `&mut T` to one thread at a time, so the
    // data only needs to be sendable between threads.
    unsafe impl<T: Send> Send for ChanLock<T> {}
    // SAFETY: as above: shared `&ChanLock` only gives exclusive access to `T`
    // under the lock, which is `Mutex<T>`'s contract (`T: Send` suffices).
    unsafe impl<T: Send> Sync for ChanLock<T> {}

    impl<T> ChanLock<T> {
        /// An unlocked lock over `value`.
        pub(crate) fn new(value: T) -> Self {
            ChanLock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        /// Takes the lock, spinning and then yielding while it is held.
        pub(crate) fn lock(&self) -> ChanLockGuard<'_, T> {
            loop {
                if self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return ChanLockGuard { lock: self };
                }
                let mut spins = 0;
                while self.locked.load(Ordering::Relaxed) {
                    if spins < SPINS {
                        spins += 1;
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// Exclusive access to the data of a [`ChanLock`] until dropped.
    pub(crate) struct ChanLockGuard<'a, T> {
        /// The lock this guard holds.
        lock: &'a ChanLock<T>,
    }

    impl<T> Deref for ChanLockGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            // SAFETY: the guard holds the lock, so no other reference to the
            // data exists until it is dropped.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for ChanLockGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`, and `&mut self` makes this the only
            // reference through the guard.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for ChanLockGuard<'_, T> {
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(gmp_loom)]
mod model {
    use crate::sync::{lock, Mutex, MutexGuard};

    /// Under loom: loom's `Mutex`.
    pub(crate) struct ChanLock<T>(Mutex<T>);

    /// Under loom: loom's guard.
    pub(crate) type ChanLockGuard<'a, T> = MutexGuard<'a, T>;

    impl<T> ChanLock<T> {
        /// An unlocked lock over `value`.
        pub(crate) fn new(value: T) -> Self {
            ChanLock(Mutex::new(value))
        }

        /// Takes the lock.
        pub(crate) fn lock(&self) -> ChanLockGuard<'_, T> {
            lock(&self.0)
        }
    }
}
