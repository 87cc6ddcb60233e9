//! gmp: Go's G-M-P scheduler for Rust futures.
//!
//! * **G** — tasks are stackless: a parked task is its future plus about 90
//!   bytes of gmp (91 on x86-64, measured by `executor/tests/task_size.rs`),
//!   not a 2 KB stack.
//! * **M** — OS worker threads run tasks only while they hold a P.
//! * **P** — `max_procs` scheduling contexts (GOMAXPROCS), each with a
//!   256-slot local run queue and a `runnext` slot; overflow spills half to
//!   the global run queue; idle Ps steal half of a peer's queue.
//! * The **reactor** parks tasks waiting on I/O and timers, not threads; the
//!   M blocked in it holds no P.
//! * **Hand-off**: an M stuck inside a poll (a blocking syscall, a long
//!   computation) loses its P to another M, so the P's other tasks go on.
//!
//! # Examples
//!
//! ```
//! #[gmp::main]
//! async fn main() {
//!     let tasks: Vec<_> = (0..10u64).map(|i| gmp::spawn(async move { i * 2 })).collect();
//!     let mut sum = 0;
//!     for t in tasks {
//!         sum += t.await.unwrap();
//!     }
//!     gmp::time::sleep(std::time::Duration::from_millis(1)).await;
//!     assert_eq!(sum, 90);
//! }
//! ```

#![warn(missing_docs)]

pub use gmp_executor::chan;
pub use gmp_executor::{
    block_in_place, block_on, spawn, spawn_blocking, spawn_local, task, yield_now, AbortHandle,
    Builder, EnterGuard, Handle, JoinError, JoinHandle, JoinSet, Metrics, ProcMetrics, Runtime,
    YieldNow,
};
pub use gmp_macros::{main, test};
pub use gmp_reactor::{net, signal, time, Async};

#[cfg(any(feature = "hyper", feature = "tokio"))]
pub mod compat;

pub mod sync {
    //! Go's `sync` package, the part a task needs: [`WaitGroup`].
    //!
    //! ```
    //! let wg = gmp::sync::WaitGroup::new();
    //! wg.add(1);
    //! let wg2 = wg.clone();
    //! gmp::block_on(async move {
    //!     gmp::spawn(async move { wg2.done() });
    //!     wg.wait().await;
    //! });
    //! ```
    pub use gmp_executor::{Wait, WaitGroup};
}

#[doc(hidden)]
pub use gmp_executor::__private;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
