//! The runtimes under test, behind one trait so that every workload is
//! written once.
//!
//! Each adapter builds a multi-threaded runtime with `workers` worker
//! threads: gmp's `max_procs`, tokio's `worker_threads`, or `workers` OS
//! threads each running smol's `async_executor::Executor::run` on one
//! process-wide executor. `block_on` runs a future on the calling thread
//! (the process's main thread, which is not one of the workers);
//! `spawn_current` spawns on the runtime from inside it.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

/// What a workload needs from a runtime.
pub(crate) trait Rt: Sized + 'static {
    /// The runtime's name in the JSON line.
    const NAME: &'static str;

    /// A join handle whose output is the task's output (a join error
    /// panics: no workload expects one).
    type Handle<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// A multi-threaded runtime with `workers` worker threads.
    fn with_workers(workers: usize) -> Self;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns from outside the runtime (the main thread).
    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns on the current runtime, from a task or from `block_on`.
    fn spawn_current<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Lets the task run on without anyone awaiting it.
    fn detach<T: Send + 'static>(handle: Self::Handle<T>);

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// The runtime's timer: a future ready after `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// The name (`/proc/.../comm`) of the runtime's monitor thread, if it has
    /// one.
    fn monitor_thread() -> Option<&'static str> {
        None
    }

    /// Ps taken from Ms blocked in a poll so far, if the runtime hands off.
    fn handoffs(&self) -> Option<u64> {
        None
    }
}

/// A join handle whose `Result` output is unwrapped with a message naming
/// the runtime.
pub(crate) struct Joined<H> {
    /// The runtime's own join handle.
    inner: H,
}

impl<H, T, E> Future for Joined<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.inner).poll(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            Poll::Ready(Err(err)) => panic!("a benchmark task failed: {err:?}"),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// gmp with `max_procs(workers)`.
pub(crate) struct Gmp(gmp::Runtime);

impl Rt for Gmp {
    const NAME: &'static str = "gmp";
    type Handle<T: Send + 'static> = Joined<gmp::JoinHandle<T>>;

    fn with_workers(workers: usize) -> Self {
        match gmp::Runtime::builder().max_procs(workers).build() {
            Ok(rt) => Gmp(rt),
            Err(err) => panic!("cannot build the gmp runtime with {workers} Ps: {err}"),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined {
            inner: self.0.spawn(future),
        }
    }

    fn spawn_current<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined {
            inner: gmp::spawn(future),
        }
    }

    fn detach<T: Send + 'static>(handle: Self::Handle<T>) {
        drop(handle);
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        gmp::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        gmp::time::sleep(duration)
    }

    fn monitor_thread() -> Option<&'static str> {
        Some("gmp-sysmon")
    }

    fn handoffs(&self) -> Option<u64> {
        let m = self.0.metrics();
        Some((0..m.procs()).map(|i| m.proc(i).handoffs()).sum())
    }
}

/// tokio's multi-thread scheduler with `worker_threads(workers)`.
pub(crate) struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Handle<T: Send + 'static> = Joined<tokio::task::JoinHandle<T>>;

    fn with_workers(workers: usize) -> Self {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
        {
            Ok(rt) => Tokio(rt),
            Err(err) => panic!("cannot build tokio with {workers} worker threads: {err}"),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined {
            inner: self.0.spawn(future),
        }
    }

    fn spawn_current<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Joined {
            inner: tokio::spawn(future),
        }
    }

    fn detach<T: Send + 'static>(handle: Self::Handle<T>) {
        drop(handle);
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    // Created on its first poll, inside the runtime (tokio's timer needs its
    // context).
    async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await
    }
}

/// smol's executor: one process-wide `async_executor::Executor`, run by
/// `workers` threads (`smol-0`, `smol-1`, ...), as smol's own multi-threaded
/// examples do. The threads run until the process exits.
pub(crate) struct Smol;

/// The process-wide executor of [`Smol`]; set by the first `with_workers`.
static SMOL: OnceLock<async_executor::Executor<'static>> = OnceLock::new();

/// The executor of [`Smol`].
fn smol() -> &'static async_executor::Executor<'static> {
    SMOL.get_or_init(async_executor::Executor::new)
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Handle<T: Send + 'static> = async_executor::Task<T>;

    fn with_workers(workers: usize) -> Self {
        for i in 0..workers {
            let spawned = std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(|| {
                    futures::executor::block_on(smol().run(futures::future::pending::<()>()))
                });
            if let Err(err) = spawned {
                panic!("cannot start smol worker thread {i} of {workers}: {err}");
            }
        }
        Smol
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        smol().spawn(future)
    }

    fn spawn_current<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        smol().spawn(future)
    }

    fn detach<T: Send + 'static>(handle: Self::Handle<T>) {
        handle.detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        YieldNow { yielded: false }
    }

    // smol's timer: async-io's, driven by its own reactor thread.
    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

/// smol's `yield_now` (futures-lite's): wake at once, return `Pending` once.
struct YieldNow {
    /// Whether the one `Pending` was returned.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
