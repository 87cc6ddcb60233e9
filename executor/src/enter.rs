//! `Handle::enter`: making a runtime this thread's current one.
//!
//! The guard pushes the runtime on this thread's stack of entered runtimes
//! (`context::enter`) and removes its entry when dropped; guards nest like
//! scopes. A guard dropped out of order (an outer one before an inner one)
//! removes only its own entry: the innermost guard still alive stays
//! current, and when the last one goes the thread has no runtime again
//! (tokio panics there instead). The guard is `!Send`: it belongs to the
//! thread that entered.

use std::marker::PhantomData;

use crate::context::{self, Entered};
use crate::runtime::{Handle, Runtime};

/// While this guard lives, this thread's [`spawn`](crate::spawn),
/// [`spawn_blocking`](crate::spawn_blocking) and [`Handle::current`] mean the
/// runtime it was made from. Made by [`Handle::enter`]; dropping it restores
/// the runtime entered before. Guards nest; one dropped out of order takes
/// only its own runtime off the thread's stack, and the innermost guard still
/// alive stays in force.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
/// assert!(gmp_executor::Handle::try_current().is_none());
/// {
///     let _guard = rt.enter();
///     assert!(gmp_executor::Handle::try_current().is_some());
/// }
/// assert!(gmp_executor::Handle::try_current().is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    /// The entered scope; restores the previous runtime when dropped.
    _entered: Entered,
    /// Ties the guard to the handle it came from, and makes it `!Send`.
    _handle: PhantomData<(&'a Handle, *const ())>,
}

impl EnterGuard<'_> {
    pub(crate) fn new(handle: &Handle) -> EnterGuard<'_> {
        EnterGuard {
            _entered: context::enter(&handle.shared),
            _handle: PhantomData,
        }
    }
}

impl std::fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Handle {
    /// Makes this runtime the current one of this thread until the guard is
    /// dropped: meanwhile [`spawn`](crate::spawn),
    /// [`spawn_blocking`](crate::spawn_blocking) and [`Handle::current`]
    /// mean this runtime. Guards nest; dropping one out of order takes only
    /// its own runtime off this thread's stack of entered runtimes (the
    /// innermost guard still alive stays in force).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let h = rt.handle();
    /// std::thread::spawn(move || {
    ///     let _guard = h.enter();
    ///     let t = gmp_executor::spawn(async { gmp_executor::Handle::current().metrics().procs() });
    ///     assert_eq!(h.block_on(t).unwrap(), 1);
    /// })
    /// .join()
    /// .unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(self)
    }
}

impl Runtime {
    /// Makes this runtime the current one of this thread until the guard is
    /// dropped: see [`Handle::enter`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let _guard = rt.enter();
    /// let t = gmp_executor::spawn(async { 3 });
    /// assert_eq!(rt.block_on(t).unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }
}
