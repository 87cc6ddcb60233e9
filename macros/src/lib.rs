//! The `#[gmp::main]` and `#[gmp::test]` attributes.
//!
//! Both turn an `async fn` into the sync function Rust expects and run the
//! original body on a gmp runtime:
//!
//! - `#[gmp::main]` becomes `fn main()` and blocks on the body with the global
//!   runtime (`gmp::__private::block_on_main`).
//! - `#[gmp::test]` becomes a `#[test] fn` that blocks on the body with a
//!   runtime of its own (`gmp::__private::block_on_test`), so tests do not
//!   share Ps, timers or the reactor.
//!
//! Arguments, each optional and at most once:
//!
//! - `procs = N`: how many Ps (Go's `GOMAXPROCS`) the runtime has; an integer
//!   literal `>= 1`. It wins over the `GMP_MAXPROCS` environment variable;
//!   without either the runtime uses one P per CPU.
//! - `start_paused = true` (`#[gmp::test]` only): the test's runtime gets a
//!   test clock that starts paused (`Builder::start_paused`): timers follow
//!   virtual time, moved by `gmp::time::advance` or, when the runtime is
//!   idle, by jumping to the next deadline. The test then calls
//!   `gmp::__private::block_on_test_paused`.
//! - `crate = "path"`: where the `gmp` crate is, for crates that re-export it
//!   under another name. Defaults to `::gmp`.
//!
//! Use these attributes through the `gmp` crate (`gmp::main`, `gmp::test`),
//! which re-exports them and provides the runtime they call into; this crate
//! on its own expands to code that names `::gmp`. The examples below are doc
//! tests of this crate, which has `gmp` as a dev-dependency to run them.

mod args;
mod entry;

use proc_macro::TokenStream;

use entry::{expand, Entry};

/// Runs `async fn main` on the gmp runtime.
///
/// ```
/// #[gmp::main]
/// async fn main() {
///     let answer = gmp::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// `procs = N` fixes the number of Ps (over `GMP_MAXPROCS`), and `main` may
/// return anything a sync `main` may, so `?` works in the body:
///
/// ```
/// use std::error::Error;
///
/// #[gmp::main(procs = 4)]
/// async fn main() -> Result<(), Box<dyn Error>> {
///     assert_eq!(gmp::Handle::current().metrics().procs(), 4);
///     let answer = gmp::spawn(async { 6 * 7 }).await?; // a JoinError is an Error
///     assert_eq!(answer, 42);
///     Ok(())
/// }
/// ```
///
/// The function must be `async` and take no arguments and no generics. The
/// second example expands to
///
/// ```
/// # use std::error::Error;
/// fn main() -> Result<(), Box<dyn Error>> {
///     gmp::__private::block_on_main(Some(4), async move {
///         // the body
///         assert_eq!(gmp::Handle::current().metrics().procs(), 4);
///         Ok(())
///     })
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Main, attr.into(), item.into()).into()
}

/// Runs an `async fn` test on a gmp runtime of its own.
///
/// ```
/// #[gmp::test]
/// async fn spawned_task_returns_its_value() {
///     assert_eq!(gmp::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
///
/// #[gmp::test(procs = 1)]
/// #[should_panic(expected = "boom")]
/// async fn panic_in_the_body_fails_the_test() {
///     panic!("boom");
/// }
/// # // A doc test is no test binary, so `#[test]` functions are compiled out
/// # // of it: run the two bodies here the way their expansions do.
/// # fn main() {
/// #     gmp::__private::block_on_test(None, async {
/// #         assert_eq!(gmp::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// #     });
/// #     let panicked = std::panic::catch_unwind(|| {
/// #         gmp::__private::block_on_test(Some(1), async { panic!("boom") })
/// #     });
/// #     assert!(panicked.is_err(), "the body's panic fails the test");
/// # }
/// ```
///
/// Other attributes (`#[should_panic]`, an `ignore` attribute, doc comments)
/// stay on the generated `#[test] fn`, which must not be written by hand as
/// well. The function must be `async` and take no arguments and no generics;
/// it may return a `Result` as a plain test can. The first test expands to
/// (here without its `#[test]`, so that this doc test calls it)
///
/// ```
/// fn spawned_task_returns_its_value() {
///     gmp::__private::block_on_test(None, async move {
///         assert_eq!(gmp::spawn(async { 1 + 1 }).await.unwrap(), 2);
///     })
/// }
/// # spawned_task_returns_its_value();
/// ```
///
/// With `start_paused = true` the test runs on a paused test clock: time
/// moves only by `gmp::time::advance`, or jumps to the next timer when every
/// P is idle, so a 60 s timeout takes no wall time:
///
/// ```
/// use std::time::Duration;
///
/// #[gmp::test(start_paused = true)]
/// async fn a_long_timeout_takes_no_time() {
///     let r = gmp::time::timeout(Duration::from_secs(60), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// }
/// # fn main() {
/// #     let rt = gmp::Runtime::builder().start_paused(true).build().unwrap();
/// #     rt.block_on(async {
/// #         let r = gmp::time::timeout(Duration::from_secs(60), std::future::pending::<()>()).await;
/// #         assert!(r.is_err(), "the paused clock jumped to the timeout");
/// #     });
/// # }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Test, attr.into(), item.into()).into()
}
