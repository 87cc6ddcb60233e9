//! Futures written for tokio, polled on gmp: [`compat`], [`Compat`],
//! [`handle`].
//!
//! Crates like reqwest, tower's timeouts or tokio-util call
//! `tokio::spawn`, `tokio::time::sleep` or `tokio::net::TcpStream::connect`,
//! which panic outside a tokio runtime context. A future wrapped in
//! [`compat`] runs as an ordinary gmp task (polled on gmp's Ps), and around
//! each of its polls the context of a small tokio runtime is entered, so
//! those calls work.
//!
//! What runs where:
//! - The wrapped future itself: on gmp's Ps, like any gmp task.
//! - tokio's I/O driver (epoll for `tokio::net`) and timer wheel
//!   (`tokio::time`): one thread, `gmp-tokio`, which drives a
//!   current-thread tokio runtime started on first use. When a tokio socket
//!   or timer is ready, that thread calls the gmp task's waker: a remote
//!   wake, as from any other thread.
//! - Tasks spawned with `tokio::spawn` inside `compat`: on that same
//!   `gmp-tokio` thread (they are tokio tasks). Wrap heavy work in
//!   `gmp::spawn` instead.
//! - gmp's own I/O and timers (`gmp::net`, `gmp::time`) inside `compat`:
//!   on gmp's reactor, as everywhere.
//!
//! # Examples
//!
//! ```
//! use gmp::compat::tokio::compat;
//! use std::time::Duration;
//!
//! #[gmp::main]
//! async fn main() {
//!     let v = compat(async {
//!         tokio::time::sleep(Duration::from_millis(1)).await;
//!         tokio::spawn(async { 40 + 2 }).await.expect("tokio task")
//!     })
//!     .await;
//!     assert_eq!(v, 42);
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// Wraps `future` so that a tokio runtime context is entered around each
/// of its polls.
///
/// # Examples
///
/// ```
/// #[gmp::main]
/// async fn main() {
///     let listener = gmp::compat::tokio::compat(tokio::net::TcpListener::bind("127.0.0.1:0"))
///         .await
///         .expect("tokio bind inside compat");
///     assert!(listener.local_addr().expect("addr").ip().is_loopback());
/// }
/// ```
pub fn compat<F: Future>(future: F) -> Compat<F> {
    Compat { inner: future }
}

pin_project_lite::pin_project! {
    /// The future returned by [`compat`]: `F`'s output, `Send` when `F` is.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp::compat::tokio::{compat, Compat};
    ///
    /// #[gmp::main]
    /// async fn main() {
    ///     let f: Compat<_> = compat(async { tokio::runtime::Handle::current().id() });
    ///     assert_eq!(f.await, gmp::compat::tokio::handle().id());
    /// }
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Compat<F> {
        #[pin]
        // The wrapped future, polled inside the tokio context (pin-project-lite
        // takes no doc comments on fields).
        inner: F,
    }
}

impl<F: Future> Future for Compat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let handle = runtime_handle();
        let _entered = handle.enter();
        self.project().inner.poll(cx)
    }
}

/// The tokio runtime behind [`compat`], started on first use.
///
/// # Examples
///
/// ```
/// let handle = gmp::compat::tokio::handle();
/// let v = handle.block_on(async { tokio::task::yield_now().await; 5 });
/// assert_eq!(v, 5);
/// ```
pub fn handle() -> tokio::runtime::Handle {
    runtime_handle().clone()
}

/// The shared handle; the first call starts the `gmp-tokio` thread.
fn runtime_handle() -> &'static tokio::runtime::Handle {
    static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    HANDLE.get_or_init(start)
}

/// Builds the current-thread runtime and hands it to its own thread, which
/// drives it (I/O, timers, tokio tasks) for the life of the process.
fn start() -> tokio::runtime::Handle {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("gmp-tokio")
        .build()
        .unwrap_or_else(|e| panic!("gmp::compat::tokio: cannot build the tokio runtime: {e}"));
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("gmp-tokio".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .unwrap_or_else(|e| panic!("gmp::compat::tokio: cannot start the gmp-tokio thread: {e}"));
    handle
}
