//! Task ids: `gmp::task::Id`, unique for the life of the process.
//!
//! Ids are handed out in blocks: each thread takes [`BLOCK`] ids at a time
//! from one global counter (a single atomic add per block), then numbers its
//! spawns from its own block without any shared write. Ids are therefore
//! unique but not dense, and not in spawn order across threads. Id 0 is never
//! handed out.
//!
//! While a task is polled, its id is this thread's [`CURRENT`] (set and
//! restored by the task's wrapper around each poll), which `task::id()` reads.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// Ids a thread takes from the global counter at once.
const BLOCK: u64 = 1024;

/// The first id of the next block not yet handed to any thread.
///
/// A std atomic even under `--cfg gmp_loom`: ids are no part of any protocol
/// a model checks, and a loom atomic cannot be a `static`.
static NEXT_BLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    /// This thread's block: the next id to hand out, and the end of the block.
    static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The id of the task this thread is polling; 0 when none.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The id of a task: unique among all tasks of all runtimes for the life of
/// the process (never an address, never reused).
///
/// The same number is shown by `Display`, by the execution trace
/// (`GMP_TRACE`) and by `GMP_SCHEDDETAIL`.
///
/// # Examples
///
/// ```
/// let a = gmp_executor::spawn(async {});
/// let b = gmp_executor::spawn(async {});
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.id().to_string(), format!("{}", a.id().as_u64()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// A fresh id.
    pub(crate) fn next() -> Id {
        let raw = LOCAL
            .try_with(|local| {
                let (mut next, mut end) = local.get();
                if next == end {
                    next = take_block();
                    end = next + BLOCK;
                }
                local.set((next + 1, end));
                next
            })
            // During thread-local destruction: take a block of our own.
            .unwrap_or_else(|_| take_block());
        Id(NonZeroU64::new(raw).expect("task ids start at 1"))
    }

    /// The id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(async {});
    /// assert!(t.id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// Rebuilds an id from `as_u64` (for metadata that stores it packed).
    pub(crate) fn from_raw(raw: u64) -> Option<Id> {
        NonZeroU64::new(raw).map(Id)
    }
}

/// Reserves the next block of ids.
fn take_block() -> u64 {
    let start = NEXT_BLOCK.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
    assert!(start < u64::MAX / 2, "gmp: task ids exhausted");
    start
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// Runs `f` with `id` as this thread's current task id (around one poll).
pub(crate) fn with_current<R>(id: Id, f: impl FnOnce() -> R) -> R {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|c| c.set(self.0));
        }
    }
    let old = CURRENT.with(|c| c.replace(id.as_u64()));
    let _restore = Restore(old);
    f()
}

/// The id of the task being polled on this thread, if any.
///
/// # Examples
///
/// ```
/// assert!(gmp_executor::task::try_id().is_none());
/// let id = gmp_executor::block_on(gmp_executor::spawn(async {
///     gmp_executor::task::try_id()
/// }));
/// assert!(id.unwrap().is_some());
/// ```
pub fn try_id() -> Option<Id> {
    CURRENT.try_with(|c| Id::from_raw(c.get())).ok().flatten()
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Outside a task (in `block_on`'s own future, on a plain thread), saying
/// so; use [`try_id`] there.
///
/// # Examples
///
/// ```
/// let t = gmp_executor::spawn(async { gmp_executor::task::id() });
/// let inside = t.id();
/// assert_eq!(gmp_executor::block_on(t).unwrap(), inside);
/// ```
pub fn id() -> Id {
    match try_id() {
        Some(id) => id,
        None => panic!(
            "gmp::task::id() called outside a task: only a spawned task has an id \
             (use gmp::task::try_id() where there may be none)"
        ),
    }
}
