//! `JoinHandle` and `JoinError`: awaiting a task's result.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use async_task::FallibleTask;

use crate::task::{TaskMeta, TaskOutput};

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
    ) -> Self {
        JoinHandle {
            task: Some(task),
            meta,
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
                // SAFETY: `task` is alive, so the allocation holding the
                // metadata is too.
                unsafe { self.meta.as_ref() }.abort();
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
            Poll::Ready(Some(output)) => output.map_err(JoinError),
        };
        self.task = None;
        Poll::Ready(output)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
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

pub(crate) enum JoinErrorRepr {
    /// The future was dropped before it finished.
    Cancelled,
    /// The future panicked; the payload.
    Panic(Box<dyn Any + Send + 'static>),
}

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
