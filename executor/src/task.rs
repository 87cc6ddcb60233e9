//! Tasks: gmp's G.
//!
//! A task is an `async_task` allocation: a header, the [`TaskMeta`] below, and
//! the user's future wrapped in a [`TaskFuture`]. The scheduler moves it around
//! as an `async_task::Runnable`, one pointer wide.
//!
//! * The schedule function is a zero-sized `fn` item: the runtime is reached
//!   through the task's metadata and the thread-local M context, so a wake
//!   clones no captured state.
//! * `ScheduleInfo::woken_while_running` tells a task that woke itself while it
//!   ran (a yield) from one woken by somebody else: the first goes to the tail
//!   of the LRQ, the second to `runnext` (design §2).
//! * The wrapper catches a panic of the user's future, so a panicking task
//!   completes with `JoinError::Panic` and its worker keeps running.
//! * The first time a task returns `Pending` its waker is put in the runtime's
//!   registry of parked tasks (`registry.rs`): shutdown wakes them all so their
//!   futures are dropped, and `JoinHandle::abort` finds them there.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, AtomicUsize};
use std::task::{Context, Poll};

use async_task::{Builder, Runnable, ScheduleInfo, WithInfo};

use crate::join::{JoinErrorRepr, JoinHandle};
use crate::queue::QueueItem;
use crate::sched::Shared;
use crate::sync::{Arc, Ordering};

/// A runnable task of a gmp runtime.
pub(crate) type Task = Runnable<TaskMeta>;

/// What a task's output slot holds: the value, or why there is none.
pub(crate) type TaskOutput<T> = Result<T, JoinErrorRepr>;

/// The task has been asked to stop by `JoinHandle::abort`.
const ABORTED: u8 = 1;

/// Per-task data stored inside the task allocation, next to the future.
pub(crate) struct TaskMeta {
    /// The runtime the task belongs to: wakes are scheduled there.
    pub(crate) shared: Arc<Shared>,
    /// `ABORTED`. Set by `abort`, read by the wrapper before every poll.
    flags: AtomicU8,
    /// Key of the task's waker in `shared.registry` plus one; 0 while the task
    /// has not parked yet. Written by the wrapper, read by `abort`.
    parked_key: AtomicUsize,
}

impl TaskMeta {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        TaskMeta {
            shared,
            flags: AtomicU8::new(0),
            parked_key: AtomicUsize::new(0),
        }
    }

    fn is_aborted(&self) -> bool {
        self.flags.load(Ordering::Acquire) & ABORTED != 0
    }

    /// Asks the task to stop: its next poll drops the future instead.
    ///
    /// The flag and `parked_key` form a Dekker pair with the wrapper: the
    /// wrapper stores the key then reads the flag; we store the flag then read
    /// the key; with SeqCst on both sides at least one of us sees the other,
    /// so a task parking right now is still woken.
    pub(crate) fn abort(&self) {
        self.flags.fetch_or(ABORTED, Ordering::SeqCst);
        let key = self.parked_key.load(Ordering::SeqCst);
        if key != 0 {
            self.shared.registry.wake(key - 1);
        }
    }
}

// SAFETY: a `Runnable` is one non-null pointer that `into_raw`/`from_raw`
// round-trip exactly, as async-task documents.
unsafe impl QueueItem for Task {
    fn into_raw(self) -> NonNull<()> {
        Runnable::into_raw(self)
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes a pointer from `into_raw`, once.
        unsafe { Runnable::from_raw(ptr) }
    }
}

pin_project_lite::pin_project! {
    /// The user's future as the task runs it: catches panics, honours
    /// `abort`, and registers the task as parked on its first `Pending`.
    pub(crate) struct TaskFuture<'a, F> {
        #[pin]
        future: F,
        meta: &'a TaskMeta,
        // Whether the waker is in the registry (then `meta.parked_key` is set).
        parked: bool,
    }

    impl<F> PinnedDrop for TaskFuture<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.parked {
                let key = this.meta.parked_key.load(Ordering::Relaxed);
                this.meta.shared.registry.remove(key - 1);
            }
        }
    }
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = TaskOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.meta.is_aborted() {
            return Poll::Ready(Err(JoinErrorRepr::Cancelled));
        }
        let future = this.future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(value)) => {
                if this.meta.shared.trace.is_enabled() {
                    crate::trace::mark_done();
                }
                Poll::Ready(Ok(value))
            }
            Ok(Poll::Pending) => {
                if !*this.parked {
                    *this.parked = true;
                    let key = this
                        .meta
                        .shared
                        .registry
                        .insert(cx.waker(), *this.meta as *const TaskMeta as usize);
                    this.meta.parked_key.store(key + 1, Ordering::SeqCst);
                    if this.meta.flags.load(Ordering::SeqCst) & ABORTED != 0 {
                        // `abort` ran before it could see our key.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(panic) => Poll::Ready(Err(JoinErrorRepr::Panic(panic))),
        }
    }
}

/// Allocates a task of runtime `shared` without scheduling it.
pub(crate) fn create<F>(shared: &Arc<Shared>, future: F) -> (Task, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    create_with(shared, future, WithInfo(schedule))
}

/// Allocates a task whose wakes go to `schedule` (the blocking pool uses its
/// own).
pub(crate) fn create_with<F, S>(
    shared: &Arc<Shared>,
    future: F,
    schedule: S,
) -> (Task, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMeta> + Send + Sync + 'static,
{
    let builder = Builder::new().metadata(TaskMeta::new(shared.clone()));
    // async-task keeps the metadata alive and in place for as long as the
    // future exists, so the wrapper may borrow it.
    fn wrap<'a, F>(future: F) -> impl FnOnce(&'a TaskMeta) -> TaskFuture<'a, F> {
        move |meta| TaskFuture {
            future,
            meta,
            parked: false,
        }
    }
    let make = wrap(future);
    // SAFETY: `F: Send + 'static` and the wrapper borrows only the task's own
    // metadata (allowed by `spawn_unchecked`'s contract); `TaskMeta` is `Sync`,
    // so the wrapper is `Send` and may be polled and dropped on any thread; the
    // schedule function is `Send + Sync + 'static`.
    let (runnable, task) = unsafe { builder.spawn_unchecked(make, schedule) };
    let meta = NonNull::from(task.metadata());
    (runnable, JoinHandle::new(task.fallible(), meta))
}

/// The schedule function of every runtime task.
///
/// The common case, a wake on an M of the task's own runtime, reaches the
/// runtime through the M's context and touches no reference count.
fn schedule(task: Task, info: ScheduleInfo) {
    let runtime = Arc::as_ptr(&task.metadata().shared);
    if let Err(task) = crate::context::schedule_local(runtime, task, info.woken_while_running) {
        let shared = task.metadata().shared.clone();
        shared.schedule_remote(task);
    }
}
