//! `Runtime`, `Handle` and the global runtime.

use std::future::Future;
use std::time::Duration;

use crate::block_on;
use crate::context;
use crate::join::JoinHandle;
use crate::metrics::Metrics;
use crate::sched::Shared;
use crate::spawn;
use crate::sync::Arc;

/// A gmp runtime: `max_procs` Ps, the Ms that run them, sysmon and a
/// blocking pool.
///
/// Dropping it (or [`shutdown_timeout`](Runtime::shutdown_timeout)) stops
/// the Ms and drops the future of every task: those inside a poll once the
/// poll returns (`Drop` waits for them), and those a wake from another
/// thread is dropping right then (`Drop` returns once they are gone).
/// Tasks of [`spawn_local`](crate::spawn_local) are dropped by their
/// `block_on`.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(2).build()?;
/// let sum = rt.block_on(async {
///     let tasks: Vec<_> = (0..10u64).map(|i| gmp_executor::spawn(async move { i * i })).collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    /// This runtime's handle; the runtime owns its shutdown.
    pub(crate) handle: Handle,
}

/// A cheap, cloneable reference to a runtime, to spawn on it from anywhere.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
/// let handle = rt.handle();
/// let t = std::thread::spawn(move || handle.block_on(handle.spawn(async { 7 })).unwrap());
/// assert_eq!(t.join().unwrap(), 7);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Runtime {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Runtime {
        Runtime {
            handle: Handle { shared },
        }
    }

    /// Runs `future` on this thread until it completes; tasks it spawns run
    /// on this runtime.
    ///
    /// # Panics
    ///
    /// Inside a task of any gmp runtime (`block_on` cannot be nested).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { "done" }), "done");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// let t = rt.spawn(async { 40 + 2 });
    /// assert_eq!(rt.block_on(t).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs the blocking closure `f` on this runtime's pool of blocking
    /// threads (which hold no P); inside it, this runtime is the current one.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let t = rt.spawn_blocking(|| 6 * 7);
    /// assert_eq!(rt.block_on(t).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// let h = rt.handle();
    /// assert_eq!(rt.block_on(h.spawn(async { 3 })).unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the scheduler's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(2).build()?;
    /// assert_eq!(rt.metrics().procs(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }

    /// Shuts the runtime down, waiting at most `timeout` for polls and
    /// blocking closures still running, then returns anyway.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_executor::Runtime::new()?;
    /// let t = rt.spawn(futures::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(1));
    /// assert!(futures::executor::block_on(t).unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.handle.shared.shutdown(Some(timeout));
    }
}

impl Runtime {
    /// Shuts the runtime down without waiting: returns at once, even if a
    /// task is stuck inside a poll; a background thread stops the Ms, drops
    /// the tasks' futures and waits for the blocking pool, as dropping the
    /// runtime does.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let t = rt.spawn(futures::future::pending::<()>());
    /// rt.shutdown_background();
    /// assert!(futures::executor::block_on(t).unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_background(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped or used again, so the handle is
        // moved out of it exactly once.
        let handle = unsafe { std::ptr::read(&this.handle) };
        let shared = handle.shared;
        let background = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{}-shutdown", shared.config.thread_name))
            .spawn(move || {
                background.shutdown(None);
            });
        if spawned.is_err() {
            // No thread: stop everything without waiting for anyone; the Ms
            // drain their own Ps when they stop.
            shared.shutdown(Some(Duration::ZERO));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.handle.shared.shutdown(None);
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.handle.shared.procs.len())
            .finish()
    }
}

impl Handle {
    /// The runtime of the current task or `block_on`.
    ///
    /// # Panics
    ///
    /// Outside a gmp runtime, with a message saying so.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// rt.block_on(async {
    ///     let h = gmp_executor::Handle::current();
    ///     assert_eq!(h.spawn(async { 5 }).await.unwrap(), 5);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(handle) => handle,
            None => panic!(
                "Handle::current() called outside a gmp runtime: call it from a task or from \
                 inside Runtime::block_on"
            ),
        }
    }

    /// The runtime of the current task, `block_on`, blocking closure or
    /// [`EnterGuard`](crate::EnterGuard), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gmp_executor::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::current().map(|shared| Handle { shared })
    }

    /// Spawns a task on this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// let h = rt.handle();
    /// assert_eq!(rt.block_on(h.spawn(async { 1 })).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future)
    }

    /// Runs `future` on this thread until it completes; tasks it spawns run
    /// on this runtime.
    ///
    /// # Panics
    ///
    /// Inside a task of any gmp runtime (`block_on` cannot be nested).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on::assert_not_nested();
        context::enter_runtime(&self.shared, || block_on::run(&self.shared, future))
    }

    /// A snapshot of the scheduler's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// assert_eq!(rt.handle().metrics().procs(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics::snapshot(&self.shared)
    }

    /// Runs the blocking closure `f` on this runtime's pool of blocking
    /// threads (which hold no P); inside it, this runtime is the current one.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build()?;
    /// let h = rt.handle();
    /// let t = h.spawn_blocking(|| gmp_executor::Handle::try_current().is_some());
    /// assert!(rt.block_on(t).unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::blocking::spawn_blocking(&self.shared, f)
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("procs", &self.shared.procs.len())
            .finish()
    }
}

impl futures::task::Spawn for Handle {
    fn spawn_obj(
        &self,
        future: futures::task::FutureObj<'static, ()>,
    ) -> Result<(), futures::task::SpawnError> {
        if self.shared.is_closing() {
            return Err(futures::task::SpawnError::shutdown());
        }
        drop(Handle::spawn(self, future));
        Ok(())
    }
}

/// Spawns `future` on runtime `shared`.
pub(crate) fn spawn_on<F>(shared: &Arc<Shared>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (runnable, handle) = spawn::create(shared, future);
    if shared.trace.is_enabled() {
        let p = context::with_worker(|w| w.and_then(|w| w.p.get())).unwrap_or(0);
        shared.trace.task_create(p, runnable.metadata().id());
    }
    runnable.schedule();
    handle
}
