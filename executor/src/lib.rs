//! The G-M-P scheduler of gmp.
//!
//! * **G** — a task ([`spawn`]): an `async_task` allocation holding the
//!   future; no stack of its own.
//! * **M** — an OS thread that runs tasks only while it holds a P.
//! * **P** — one of `max_procs` scheduling contexts, each with a 256-slot
//!   local run queue and a `runnext` slot; a global run queue takes the
//!   overflow; idle Ps steal half of a peer's queue.
//!
//! An M blocked inside a poll loses its P to another M (sysmon's handoff),
//! so a blocking call stalls one task, not its P's queue. See
//! `docs/architecture.md` in the repository for the whole picture.
//!
//! Most users depend on the `gmp` facade crate, which re-exports this one.
//!
//! # Layers
//!
//! The files of this crate form layers, and a file names only files of its
//! own layer or of a lower one (`.ci/layers.py` fails CI on an import
//! cycle):
//!
//! 1. **base**, which knows nothing of a runtime: `sync` (the loom switch),
//!    `config`, `kernel`, `netpoll` (the reactor as the Ms see it), `queue`
//!    (the LRQ ring), `global_queue`, `registry`, `alive`, `task_id`,
//!    `trace`, `trace_format`, `yield_now`, `wait_group`, `chan`;
//! 2. **data**, the G, P and M as values: `task` (a task and what it knows
//!    of its runtime, the `Owner` trait), `proc` (a P), `machine::park` (an
//!    M's parking place), `blocking::pool`, `sysmon::state`;
//! 3. **shared state**: `sched` (`Shared`: the Ps, the GRQ, the idle lists;
//!    it is the tasks' `Owner`);
//! 4. **the M loop and sysmon**: `machine` (the loop, `find_runnable`'s
//!    steps, `stop_m`, the wake path, `wakep`/`startm`/`handoffp`),
//!    `sysmon`, `schedtrace`, `shutdown`, `metrics`, `clock_driver`,
//!    `context` (which runtime a thread is in), `join`;
//! 5. **spawning and the public API**: `spawn`, `blocking`, `local`,
//!    `block_on`, `runtime`, `builder`, `enter`, `join_set`, `global`.
//!
//! Constants live with the lowest layer that needs them (`NO_P` in `proc`,
//! `current_tid` in `kernel`).
//!
//! # Examples
//!
//! ```
//! let v = gmp_executor::block_on(async {
//!     let a = gmp_executor::spawn(async { 1 });
//!     let b = gmp_executor::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(v, 3);
//! ```

#![warn(missing_docs)]

mod alive;
mod block_on;
mod blocking;
mod builder;
pub mod chan;
mod clock_driver;
mod config;
mod context;
#[cfg(all(test, not(gmp_loom)))]
mod counting_waker;
mod enter;
mod global;
mod global_queue;
mod join;
mod join_set;
mod kernel;
mod local;
mod machine;
mod metrics;
mod netpoll;
mod proc;
mod queue;
mod registry;
mod remote_queue;
mod runtime;
mod sched;
mod schedtrace;
mod shutdown;
mod spawn;
mod sync;
mod sysmon;
pub mod task;
mod task_id;
mod task_refs;
#[cfg(all(test, not(gmp_loom)))]
mod task_tests;
mod trace;
#[doc(hidden)]
pub mod trace_format;
#[cfg(test)]
#[path = "../tests/support/wait.rs"]
mod wait;
mod wait_group;
mod yield_now;

#[cfg(all(test, gmp_loom))]
mod loom_tests;

use std::future::Future;

pub use builder::Builder;
pub use enter::EnterGuard;
pub use global::{configure_global, flush_global_trace};
pub use join::{AbortHandle, JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use local::spawn_local;
pub use metrics::{Metrics, ProcMetrics};
pub use runtime::{Handle, Runtime};
pub use wait_group::{Wait, WaitGroup};
pub use yield_now::{yield_now, YieldNow};

/// Spawns a task on the current runtime: the one whose task or `block_on`
/// this is, else the global runtime (started on first use).
///
/// Inside a task the new task goes to the P's `runnext`, so it runs next on
/// this P unless another P steals it first.
///
/// # Examples
///
/// ```
/// let handle = gmp_executor::spawn(async { "hello" });
/// assert_eq!(gmp_executor::block_on(handle).unwrap(), "hello");
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    global::spawn_current(future)
}

/// Runs a blocking closure on the current runtime's pool of blocking threads
/// (which hold no P); the handle gives its value or its panic.
///
/// # Examples
///
/// ```
/// let handle = gmp_executor::spawn_blocking(|| std::fs::metadata(".").is_ok());
/// assert!(gmp_executor::block_on(handle).unwrap());
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    global::current_or_global().spawn_blocking(f)
}

/// Runs `f`, which may block, on this thread after handing this M's P to
/// another M, so the P's other tasks keep running (Go's
/// `entersyscallblock`). Works on every runtime, 1-proc ones included;
/// outside a task it just calls `f`.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
/// let n = rt.block_on(rt.spawn(async {
///     gmp_executor::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(5));
///         5
///     })
/// }));
/// assert_eq!(n.unwrap(), 5);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    blocking::block_in_place(f)
}

/// Runs a future to completion on this thread; tasks it spawns run on the
/// global runtime.
///
/// # Panics
///
/// Inside a task of any gmp runtime: `block_on` cannot be nested.
///
/// # Examples
///
/// ```
/// assert_eq!(gmp_executor::block_on(async { 21 * 2 }), 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    match Handle::try_current() {
        Some(handle) => handle.block_on(future),
        None => global::global().block_on(future),
    }
}

#[doc(hidden)]
pub mod __private {
    //! Support for `#[gmp::main]` and `#[gmp::test]`.
    use std::future::Future;

    /// `#[gmp::main]`: the global runtime, sized by `procs` if given; shut
    /// down when `future` returns (or unwinds), as `tokio::main` does: the
    /// futures of tasks still pending are dropped (their destructors run),
    /// polls in progress and blocking closures still running are waited for,
    /// and the trace is written.
    ///
    /// # Panics
    ///
    /// If `procs` is given and the global runtime already started with
    /// another number of Ps.
    pub fn block_on_main<F: Future>(procs: Option<usize>, future: F) -> F::Output {
        if let Some(procs) = procs {
            if !crate::global::configure_global(procs) {
                let started = crate::global::global_procs().unwrap_or(0);
                panic!(
                    "#[gmp::main(procs = {procs})]: the global runtime already started with \
                     {started} Ps (something used gmp before main's body ran); remove `procs` \
                     or set GMP_MAXPROCS instead"
                );
            }
        }
        struct ShutdownGlobal;
        impl Drop for ShutdownGlobal {
            fn drop(&mut self) {
                crate::global::shutdown_global();
            }
        }
        let _shutdown = ShutdownGlobal;
        crate::block_on(future)
    }

    /// `#[gmp::test]`: a runtime of its own, dropped when the test ends.
    pub fn block_on_test<F: Future>(procs: Option<usize>, future: F) -> F::Output {
        test_runtime(procs, false, future)
    }

    /// `#[gmp::test(start_paused = true)]`: as `block_on_test`, on a runtime
    /// whose test clock starts paused.
    pub fn block_on_test_paused<F: Future>(procs: Option<usize>, future: F) -> F::Output {
        test_runtime(procs, true, future)
    }

    fn test_runtime<F: Future>(procs: Option<usize>, paused: bool, future: F) -> F::Output {
        let mut builder = crate::Runtime::builder();
        builder.start_paused(paused);
        if let Some(procs) = procs {
            builder.max_procs(procs);
        }
        let rt = match builder.build() {
            Ok(rt) => rt,
            Err(err) => panic!("#[gmp::test]: cannot start the runtime: {err}"),
        };
        rt.block_on(future)
    }
}
