//! `JoinHandle`, `AbortHandle` and `JoinError`: awaiting or cancelling a
//! task.
//!
//! Both handles hold a waker of the task (async-task's reference count keeps
//! the allocation, and so the metadata, alive while they exist); aborting sets
//! the task's flag and wakes it if it is parked, and its next poll drops the
//! future instead of polling it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use async_task::FallibleTask;

use crate::sched::Shared;
use crate::task::{JoinErrorRepr, TaskOutput};
use crate::task_id::Id;

/// The metadata of a task of a gmp runtime.
type TaskMeta = crate::task::TaskMeta<Shared>;

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(value)` when the task finished, or a [`JoinError`]
/// when it panicked or was cancelled (by [`abort`](JoinHandle::abort) or by
/// its runtime shutting down). Dropping the handle detaches the task: it keeps
/// running and its output is dropped.
///
/// # Examples
///
/// ```
/// let handle = gmp_executor::spawn(async { 6 * 7 });
/// assert_eq!(gmp_executor::block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// The async-task handle; `None` once the output has been taken.
    task: Option<FallibleTask<TaskOutput<T>, TaskMeta>>,
    /// The task's metadata, inside the allocation that `task` keeps alive.
    meta: NonNull<TaskMeta>,
    /// A waker of the task: what an [`AbortHandle`] clones to keep the
    /// allocation alive after this handle is gone.
    waker: Waker,
}

// SAFETY: `meta` points into the task, which is shared between threads
// anyway (`TaskMeta` is `Sync`); the handle is as sendable as async-task's.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads atomics through `meta` and the task state.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(
        task: FallibleTask<TaskOutput<T>, TaskMeta>,
        meta: NonNull<TaskMeta>,
        waker: Waker,
    ) -> Self {
        JoinHandle {
            task: Some(task),
            meta,
            waker,
        }
    }

    /// The task's metadata.
    fn meta(&self) -> &TaskMeta {
        // SAFETY: `self.waker` holds a reference to the task, so the
        // allocation holding the metadata is alive.
        unsafe { self.meta.as_ref() }
    }

    /// The task's id, the same [`task::id()`](crate::task::id) gives inside
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(async { gmp_executor::task::id() });
    /// let id = t.id();
    /// assert_eq!(gmp_executor::block_on(t).unwrap(), id);
    /// ```
    pub fn id(&self) -> Id {
        self.meta().id()
    }

    /// A handle that can abort the task, and outlives this one.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(futures::future::pending::<()>());
    /// let abort = t.abort_handle();
    /// assert_eq!(abort.id(), t.id());
    /// abort.abort();
    /// assert!(gmp_executor::block_on(t).unwrap_err().is_cancelled());
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            meta: self.meta,
            _task: self.waker.clone(),
        }
    }

    /// Cancels the task: its future is dropped instead of being polled again
    /// (at once if it is parked; after the poll in progress, if it is running).
    /// Awaiting the handle then gives a [`JoinError`] with
    /// [`is_cancelled`](JoinError::is_cancelled). Aborting a finished task
    /// changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = gmp_executor::spawn(futures::future::pending::<()>());
    /// handle.abort();
    /// let err = gmp_executor::block_on(handle).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    pub fn abort(&self) {
        if let Some(task) = &self.task {
            if !task.is_finished() {
                self.meta().abort();
            }
        }
    }

    /// Whether the task has finished: completed, panicked or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = gmp_executor::spawn(async {});
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(task) = self.task.as_mut() else {
            panic!("JoinHandle polled after it returned its result");
        };
        let output = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            // async-task gives `None` only once the future has been dropped.
            Poll::Ready(None) => Err(JoinError(JoinErrorRepr::Cancelled)),
            Poll::Ready(Some(output)) => output.into_inner().map_err(JoinError),
        };
        self.task = None;
        Poll::Ready(output)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Our waker's reference goes first: async-task detaches a task that
        // has not run yet with one compare-exchange, but only while the
        // `Runnable`'s reference is the one left; with ours still there it
        // takes a failed exchange and a second one.
        drop(std::mem::replace(&mut self.waker, Waker::noop().clone()));
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A handle that aborts a task: `Clone + Send + Sync`, and it does not
/// detach or join the task (that is the [`JoinHandle`]'s business).
///
/// # Examples
///
/// ```
/// let t = gmp_executor::spawn(futures::future::pending::<()>());
/// let abort = t.abort_handle();
/// let clone = abort.clone();
/// std::thread::spawn(move || clone.abort()).join().unwrap();
/// assert!(gmp_executor::block_on(t).unwrap_err().is_cancelled());
/// assert!(abort.is_finished());
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    /// The task's metadata, inside the allocation `waker` keeps alive.
    meta: NonNull<TaskMeta>,
    /// A waker of the task, never woken: it holds a reference to the task's
    /// allocation, so `meta` stays valid.
    _task: Waker,
}

// SAFETY: only `TaskMeta`'s atomics are used through `meta` (it is `Sync`),
// and a `Waker` is `Send + Sync`.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// The task's metadata.
    fn meta(&self) -> &TaskMeta {
        // SAFETY: `self.waker` holds a reference to the task, so the
        // allocation holding the metadata is alive.
        unsafe { self.meta.as_ref() }
    }

    /// Cancels the task, as [`JoinHandle::abort`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(futures::future::pending::<u8>());
    /// t.abort_handle().abort();
    /// assert!(gmp_executor::block_on(t).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        if !self.meta().is_done() {
            self.meta().abort();
        }
    }

    /// Whether the task has ended: its future has been dropped because it
    /// completed, panicked or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(async { 1 });
    /// let abort = t.abort_handle();
    /// assert_eq!(gmp_executor::block_on(t).unwrap(), 1);
    /// assert!(abort.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.meta().is_done()
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = gmp_executor::spawn(async {});
    /// assert_eq!(t.abort_handle().id(), t.id());
    /// ```
    pub fn id(&self) -> Id {
        self.meta().id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task gave no value: it panicked, or it was cancelled.
///
/// # Examples
///
/// ```
/// let err = gmp_executor::block_on(gmp_executor::spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"boom"));
/// ```
pub struct JoinError(JoinErrorRepr);

impl JoinError {
    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_executor::block_on(gmp_executor::spawn(async { panic!() })).unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.0, JoinErrorRepr::Panic(_))
    }

    /// Whether the task was cancelled (aborted, or dropped at shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = gmp_executor::spawn(futures::future::pending::<()>());
    /// handle.abort();
    /// assert!(gmp_executor::block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0, JoinErrorRepr::Cancelled)
    }

    /// The panic payload of a task that panicked, to resume it with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_executor::block_on(gmp_executor::spawn(async { panic!("boom") })).unwrap_err();
    /// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.0 {
            JoinErrorRepr::Panic(payload) => payload,
            JoinErrorRepr::Cancelled => {
                panic!("JoinError::into_panic called on a cancelled task, which did not panic")
            }
        }
    }

    /// The panic message, if the payload is a string.
    fn panic_message(&self) -> Option<&str> {
        match &self.0 {
            JoinErrorRepr::Panic(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinErrorRepr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0, self.panic_message()) {
            (JoinErrorRepr::Cancelled, _) => f.write_str("task was cancelled"),
            (JoinErrorRepr::Panic(_), Some(msg)) => write!(f, "task panicked: {msg}"),
            (JoinErrorRepr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0, self.panic_message()) {
            (JoinErrorRepr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (JoinErrorRepr::Panic(_), msg) => write!(f, "JoinError::Panic({msg:?})"),
        }
    }
}

impl std::error::Error for JoinError {}
