//! Tasks: their ids ([`Id`], [`id()`] inside a task, [`try_id()`] anywhere).
//!
//! # How a task is built (gmp's G)
//!
//! A task is an `async_task` allocation: a header, the `TaskMeta` below, and
//! the user's future wrapped in a `TaskFuture`. The scheduler moves it around
//! as an `async_task::Runnable`, one pointer wide.
//!
//! * The metadata names the runtime the task belongs to, through the
//!   `Owner` trait: this module sits below the scheduler (`sched.rs`
//!   implements `Owner`), so a task knows its runtime's registry, clock and
//!   trace but none of its queues.
//! * The schedule function is a zero-sized `fn` item (`spawn.rs`): the
//!   runtime is reached through the task's metadata and the thread-local M
//!   context, so a wake clones no captured state.
//! * `ScheduleInfo::woken_while_running` tells a task that woke itself while it
//!   ran (a yield) from one woken by somebody else: the first goes to the
//!   P's yielded ring, the second to `runnext` (design §2).
//! * The wrapper catches a panic of the user's future, so a panicking task
//!   completes with `JoinError::Panic` and its worker keeps running. It also
//!   drops the future itself, inside `catch_unwind` (right after `Ready`, on
//!   abort, and in its own destructor), and the output slot is a
//!   `CatchDrop`: async-task runs those destructors under an
//!   abort-on-panic guard, so a panicking destructor would otherwise abort
//!   the process. A task whose future panics while being dropped after
//!   completing reports `JoinError::Panic`.
//! * Each task has an [`Id`], packed with the abort flag in
//!   one word of the metadata; the wrapper makes it this thread's current id
//!   around each poll (`task_id.rs`).
//! * The first time a task returns `Pending` its waker is put in the runtime's
//!   registry of parked tasks (`registry.rs`): shutdown wakes them all so their
//!   futures are dropped, and `JoinHandle::abort` finds them there.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use async_task::{Builder, Runnable};

use std::any::Any;

use crate::alive::AliveTasks;
use crate::queue::QueueItem;
use crate::registry::Registry;
use crate::sync::{fence, Arc, AtomicU64, AtomicUsize, Ordering};
use crate::task_id;
pub use crate::task_id::{id, try_id, Id};
use crate::trace::Recorder;

/// What a task's output slot holds: the value, or why there is none, in a
/// wrapper whose destructor cannot unwind into async-task (which would abort).
pub(crate) type TaskOutput<T> = CatchDrop<Result<T, JoinErrorRepr>>;

/// Why a task has no output (`JoinError` wraps it).
pub(crate) enum JoinErrorRepr {
    /// The future was dropped before it finished.
    Cancelled,
    /// The future panicked; the payload.
    Panic(Box<dyn Any + Send + 'static>),
}

/// The runtime a task belongs to, as the task sees it (`sched::Shared`).
///
/// Only what the task wrapper and `abort` need: where parked tasks are
/// registered, the count of live tasks, the test clock, the trace and
/// whether the runtime is shutting down. Scheduling a woken task is the
/// schedule function's business (`spawn.rs`), not the task's.
pub(crate) trait Owner: Send + Sync + 'static {
    /// The registry of parked tasks (for shutdown and abort).
    fn registry(&self) -> &Registry;
    /// The count of tasks spawned and not yet ended.
    fn alive(&self) -> &AliveTasks;
    /// The runtime's test clock, made current around each poll, if it has
    /// one.
    fn clock(&self) -> Option<&Arc<gmp_reactor::time::Clock>>;
    /// The execution trace.
    fn trace(&self) -> &Recorder;
    /// Whether shutdown has begun.
    fn is_closing(&self) -> bool;
}

/// Bit of `TaskMeta::id_flags`: the task has been asked to stop by `abort`.
const ABORTED: u64 = 1 << 63;
/// The bits of `TaskMeta::id_flags` that hold the id.
const ID_MASK: u64 = ABORTED - 1;
/// `TaskMeta::parked_key` once the task's future has been dropped (it
/// completed, panicked or was cancelled): a plain store, no locked
/// instruction, at the end of every task.
const DONE_KEY: usize = usize::MAX;

/// Per-task data stored inside the task allocation, next to the future.
pub(crate) struct TaskMeta<S> {
    /// The runtime the task belongs to: wakes are scheduled there.
    pub(crate) shared: Arc<S>,
    /// The task's [`Id`] in the low 63 bits, and the `ABORTED` bit. The id is
    /// written at creation; `abort` sets `ABORTED`; the wrapper reads it
    /// before every poll. One word, so ids cost a parked task no memory.
    id_flags: AtomicU64,
    /// Key of the task's waker in `shared.registry` plus one; 0 while the task
    /// has not parked yet; `DONE_KEY` once its future is gone. Written by the
    /// wrapper, read by `abort` and `AbortHandle::is_finished`.
    parked_key: AtomicUsize,
}

impl<S: Owner> TaskMeta<S> {
    pub(crate) fn new(shared: Arc<S>) -> Self {
        let id = Id::next().as_u64();
        assert!(id <= ID_MASK, "gmp: task ids exhausted");
        TaskMeta {
            shared,
            id_flags: AtomicU64::new(id),
            parked_key: AtomicUsize::new(0),
        }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        let raw = self.id_flags.load(Ordering::Relaxed) & ID_MASK;
        Id::from_raw(raw).expect("a task's id is never 0")
    }

    fn is_aborted(&self) -> bool {
        self.id_flags.load(Ordering::Acquire) & ABORTED != 0
    }

    /// The key of the task's waker in the registry, once it has parked and
    /// until its future is dropped. Only the task's wrapper asks: it is the
    /// one that writes the key.
    fn registry_key(&self) -> Option<usize> {
        match self.parked_key.load(Ordering::Relaxed) {
            0 | DONE_KEY => None,
            key => Some(key - 1),
        }
    }

    /// Whether the task's future has been dropped (it ended one way or
    /// another).
    pub(crate) fn is_done(&self) -> bool {
        self.parked_key.load(Ordering::Acquire) == DONE_KEY
    }

    /// Asks the task to stop: its next poll drops the future instead.
    ///
    /// The flag and `parked_key` form a Dekker pair with the wrapper: the
    /// wrapper stores the key then reads the flag; we store the flag then read
    /// the key; with SeqCst on both sides at least one of us sees the other,
    /// so a task parking right now is still woken.
    pub(crate) fn abort(&self) {
        self.id_flags.fetch_or(ABORTED, Ordering::SeqCst);
        // Store-load on both sides of the pair: the fences make the order
        // hold (loom checks it with fences; SeqCst accesses alone it models
        // more weakly than the hardware does).
        fence(Ordering::SeqCst);
        let key = self.parked_key.load(Ordering::SeqCst);
        if key != 0 && key != DONE_KEY {
            self.shared.registry().wake(key - 1);
        }
    }
}

// SAFETY: a `Runnable` is one non-null pointer that `into_raw`/`from_raw`
// round-trip exactly, as async-task documents.
unsafe impl<S> QueueItem for Runnable<TaskMeta<S>> {
    fn into_raw(self) -> NonNull<()> {
        Runnable::into_raw(self)
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes a pointer from `into_raw`, once.
        unsafe { Runnable::from_raw(ptr) }
    }
}

/// A value whose destructor's panic is caught and discarded.
///
/// async-task drops a task's output (when nobody awaits it) under an
/// abort-on-panic guard; wrapping the output in this keeps a panicking
/// destructor from aborting the process.
pub(crate) struct CatchDrop<T>(ManuallyDrop<T>);

impl<T> CatchDrop<T> {
    fn new(value: T) -> Self {
        CatchDrop(ManuallyDrop::new(value))
    }

    /// The value, to be dropped (or not) by the caller.
    pub(crate) fn into_inner(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the value is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl<T> Drop for CatchDrop<T> {
    fn drop(&mut self) {
        let value = &mut self.0;
        // SAFETY: the value is dropped here, once, and never used again.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(value) }));
        forget_payload(result);
    }
}

/// Drops a caught panic's payload; one whose own destructor panics is leaked
/// instead of unwinding further.
fn forget_payload(result: std::thread::Result<()>) {
    if let Err(payload) = result {
        if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            std::mem::forget(again);
        }
    }
}

/// Drops `value`, catching a panic of its destructor.
fn drop_caught<T>(value: T) -> std::thread::Result<()> {
    catch_unwind(AssertUnwindSafe(|| drop(value)))
}

/// Drops the future in `slot`, catching a panic of its destructor (which
/// async-task would turn into an abort).
fn drop_future<F>(slot: Pin<&mut Option<F>>) -> std::thread::Result<()> {
    // If the destructor unwinds, the assignment still stores `None`.
    catch_unwind(AssertUnwindSafe(move || {
        let mut slot = slot;
        slot.set(None);
    }))
}

pin_project_lite::pin_project! {
    /// The user's future as the task runs it: catches panics (of its poll and
    /// of its destructor), honours `abort`, sets the current task id, and
    /// registers the task as parked on its first `Pending`.
    pub(crate) struct TaskFuture<'a, F, S: Owner> {
        // The user's future; `None` once it has been dropped (right after it
        // completed, or when the task was aborted), always by the wrapper
        // inside a `catch_unwind`.
        #[pin]
        future: Option<F>,
        // The task's metadata, inside the same allocation. Its `parked_key`
        // says whether the waker is in the registry (no flag here: a parked
        // task pays for every byte).
        meta: &'a TaskMeta<S>,
    }

    impl<F, S: Owner> PinnedDrop for TaskFuture<'_, F, S> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(key) = this.meta.registry_key() {
                this.meta.shared.registry().remove(key);
            }
            // A future dropped without finishing (shutdown, a dropped
            // runnable): its destructor may panic too.
            forget_payload(drop_future(this.future));
            this.meta.parked_key.store(DONE_KEY, Ordering::Release);
            this.meta.shared.alive().ended();
        }
    }
}

impl<F: Future, S: Owner> Future for TaskFuture<'_, F, S> {
    type Output = TaskOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.meta.id();
        let poll = match self.meta.shared.clock() {
            // The runtime's test clock is current while its tasks run.
            Some(clock) => {
                let clock = clock.clone();
                gmp_reactor::time::clock_with_current(&clock, || {
                    task_id::with_current(id, || self.poll_inner(cx))
                })
            }
            None => task_id::with_current(id, || self.poll_inner(cx)),
        };
        poll.map(CatchDrop::new)
    }
}

impl<F: Future, S: Owner> TaskFuture<'_, F, S> {
    /// One poll of the user's future, with the current task id set.
    fn poll_inner(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, JoinErrorRepr>> {
        let mut this = self.project();
        let meta = *this.meta;
        if meta.is_aborted() {
            return Poll::Ready(match drop_future(this.future.as_mut()) {
                Ok(()) => Err(JoinErrorRepr::Cancelled),
                Err(panic) => Err(JoinErrorRepr::Panic(panic)),
            });
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(Err(JoinErrorRepr::Cancelled));
        };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(value)) => {
                if meta.shared.trace().is_enabled() {
                    crate::trace::mark_done();
                }
                // Drop the future here, where its destructor's panic is
                // caught: the task has not finished until it is gone.
                match drop_future(this.future) {
                    Ok(()) => Poll::Ready(Ok(value)),
                    Err(panic) => {
                        forget_payload(drop_caught(value));
                        Poll::Ready(Err(JoinErrorRepr::Panic(panic)))
                    }
                }
            }
            Ok(Poll::Pending) => {
                if meta.registry_key().is_none() {
                    let key = meta
                        .shared
                        .registry()
                        .insert(cx.waker(), meta as *const TaskMeta<S> as usize);
                    meta.parked_key.store(key + 1, Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    if meta.id_flags.load(Ordering::SeqCst) & ABORTED != 0 {
                        // `abort` ran before it could see our key.
                        cx.waker().wake_by_ref();
                    } else if meta.shared.is_closing() {
                        // Shutdown gave up waiting for this poll and may have
                        // emptied the registry before we registered: nobody
                        // else would wake us, so wake ourselves, and the
                        // schedule function drops the task. If `closing`
                        // reads false, shutdown's `take_all` takes the shard
                        // lock after our insert and finds us. A later park
                        // needs no check: `take_all` woke the task then (a
                        // wake while it runs reschedules it after the poll).
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(panic) => {
                // The future's destructor runs now; a second panic there is
                // dropped, the first one is reported.
                forget_payload(drop_future(this.future));
                Poll::Ready(Err(JoinErrorRepr::Panic(panic)))
            }
        }
    }
}

/// The handle side of a task allocation (`JoinHandle` wraps it).
pub(crate) type RawJoin<T, S> = async_task::Task<TaskOutput<T>, TaskMeta<S>>;

/// Allocates a task of runtime `shared` whose wakes go to `schedule`,
/// without scheduling it; its future need not be `Send` (`spawn.rs` wraps
/// this for `Send` futures and for `spawn_local`).
///
/// # Safety
///
/// If `F` is not `Send`, the returned `Runnable` and every one handed to
/// `schedule` must be run and dropped on the calling thread only.
pub(crate) unsafe fn allocate<S, F, Sch>(
    shared: &Arc<S>,
    future: F,
    schedule: Sch,
) -> (Runnable<TaskMeta<S>>, RawJoin<F::Output, S>)
where
    S: Owner,
    F: Future + 'static,
    F::Output: 'static,
    Sch: async_task::Schedule<TaskMeta<S>> + Send + Sync + 'static,
{
    shared.alive().spawned();
    let builder = Builder::new().metadata(TaskMeta::new(shared.clone()));
    // async-task keeps the metadata alive and in place for as long as the
    // future exists, so the wrapper may borrow it.
    fn wrap<'a, F, S: Owner>(future: F) -> impl FnOnce(&'a TaskMeta<S>) -> TaskFuture<'a, F, S> {
        move |meta| TaskFuture {
            future: Some(future),
            meta,
        }
    }
    let make = wrap(future);
    // SAFETY: `F: 'static` and the wrapper borrows only the task's own
    // metadata (allowed by `spawn_unchecked`'s contract); `TaskMeta` is
    // `Sync`; the schedule function is `Send + Sync + 'static`; if `F` is not
    // `Send`, our caller keeps its `Runnable`s on this thread (our contract).
    unsafe { builder.spawn_unchecked(make, schedule) }
}
