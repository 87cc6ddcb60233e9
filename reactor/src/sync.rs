//! The switch between real and model-checked primitives for the readiness
//! cache of [`crate::source`].
//!
//! Built with `RUSTFLAGS="--cfg gmp_loom"` these are `loom`'s types, so the
//! real `Source` (readiness word, waiter slots and their lock) runs under the
//! model checker in `loom_tests`; otherwise they are std's. Only the state a
//! model exercises goes through here: the poller, the timers and the driver
//! keep std's types (a model never creates the process-wide reactor).

#[cfg(gmp_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(gmp_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(gmp_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(not(gmp_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

pub(crate) use std::sync::atomic::Ordering;

/// Locks `mutex`, going on with the data if a panic poisoned it: the
/// critical sections of `Source` run no user code and leave their data
/// consistent between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
