//! The one switch between real and model-checked concurrency primitives.
//!
//! Every atomic, lock and thread the scheduler's protocols rely on comes from
//! here. Built with `RUSTFLAGS="--cfg gmp_loom"`, these are `loom`'s types, so
//! the same queue and park/unpark code runs under the model checker; a plain
//! `--cfg loom` would also switch tokio's and other crates' internals, which is
//! why gmp has a cfg of its own.

#[cfg(gmp_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
};
#[cfg(gmp_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(gmp_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
};
#[cfg(not(gmp_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

// `Arc` only manages ownership; no model needs loom to track it, and std's
// supports `self: &Arc<Self>` receivers and weak references.
pub(crate) use std::sync::atomic::Ordering;
pub(crate) use std::sync::Arc;

/// Threads: the Ms are loom threads in a model, so the real `newm` and
/// shutdown's joins run under the model checker.
pub(crate) mod thread {
    use std::io;

    #[cfg(gmp_loom)]
    pub(crate) use loom::thread::{current, Builder, JoinHandle};
    #[cfg(not(gmp_loom))]
    pub(crate) use std::thread::{current, Builder, JoinHandle};

    /// Starts a thread named `name` running `f`.
    pub(crate) fn spawn(
        name: String,
        stack_size: Option<usize>,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        let mut builder = Builder::new().name(name);
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        builder.spawn(f)
    }

    /// Whether `handle`'s thread has ended. A model cannot ask without
    /// blocking, so there it says `true` and the caller joins.
    pub(crate) fn is_finished(handle: &JoinHandle<()>) -> bool {
        #[cfg(gmp_loom)]
        let _ = handle;
        #[cfg(gmp_loom)]
        return true;
        #[cfg(not(gmp_loom))]
        handle.is_finished()
    }
}

/// Locks `mutex`, ignoring poisoning.
///
/// The scheduler's critical sections never run user code, so a poisoned lock
/// can only come from a bug that already panicked elsewhere; the data is
/// still consistent and shutting down must go on.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Waits on `cv` with `guard` (a lock of `mutex`) for at most `timeout`;
/// the `bool` says whether it timed out.
///
/// loom's `wait_timeout` never times out, so a model asks for a timeout with
/// [`expire_next_timed_wait`]: the next call here then releases `mutex`,
/// takes it again and says "timed out", as a timeout firing at that moment
/// would (`mutex` is only used for that).
pub(crate) fn wait_timeout<'a, T>(
    cv: &Condvar,
    mutex: &'a Mutex<T>,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> (MutexGuard<'a, T>, bool) {
    #[cfg(gmp_loom)]
    if model_timeout::take() {
        drop(guard);
        return (lock(mutex), true);
    }
    #[cfg(not(gmp_loom))]
    let _ = mutex;
    match cv.wait_timeout(guard, timeout) {
        Ok((guard, result)) => (guard, result.timed_out()),
        Err(poisoned) => {
            let (guard, result) = poisoned.into_inner();
            (guard, result.timed_out())
        }
    }
}

/// Makes the next [`wait_timeout`] of this loom execution time out at once
/// (a model's stand-in for a keep-alive or retry timer firing).
#[cfg(all(gmp_loom, test))]
pub(crate) fn expire_next_timed_wait() {
    model_timeout::arm();
}

/// The pending "time out" of [`expire_next_timed_wait`], one per loom
/// execution.
#[cfg(gmp_loom)]
mod model_timeout {
    // A std atomic inside loom's per-execution static: arming and taking it
    // are not schedule points (the release and re-lock of the wait are),
    // so the models that never arm it explore no extra interleavings.
    use std::sync::atomic::{AtomicBool, Ordering};

    loom::lazy_static! {
        /// Set by `arm`, cleared by the `wait_timeout` that takes it.
        static ref ARMED: AtomicBool = AtomicBool::new(false);
    }

    #[cfg(test)]
    pub(super) fn arm() {
        ARMED.store(true, Ordering::SeqCst);
    }

    pub(super) fn take() -> bool {
        ARMED.swap(false, Ordering::SeqCst)
    }
}

/// A hint that we are spinning on another thread's progress.
pub(crate) fn spin_loop() {
    #[cfg(gmp_loom)]
    loom::thread::yield_now();
    #[cfg(not(gmp_loom))]
    std::hint::spin_loop();
}
