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
//!   registry of parked tasks (`registry/`): shutdown wakes them all so their
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
use crate::sync::{fence, Arc, AtomicU32, Ordering};
use crate::task_id;
pub use crate::task_id::{id, try_id, Id};
use crate::task_refs::{self, CountsTaskRefs};
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
pub(crate) trait Owner: CountsTaskRefs {
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

/// Bit of `TaskMeta::id_high`: the task has been asked to stop by `abort`.
const ABORTED: u32 = 1 << 31;
/// The bits of `TaskMeta::id_high` that hold the id's high half.
const ID_HIGH_MASK: u32 = ABORTED - 1;
/// `TaskMeta::parked_key` once the task's future has been dropped (it
/// completed, panicked or was cancelled): a plain store, no locked
/// instruction, at the end of every task.
const DONE_KEY: u32 = u32::MAX;

/// Per-task data stored inside the task allocation, next to the future.
///
/// 20 bytes aligned to 4, not 24 aligned to 8: async-task's header is its
/// own 32 bytes, this, and a `bool`, so at 20 the header is 56 bytes rather
/// than 64, and with the wrapper a parked task of a small future fits the
/// 112-byte size class of glibc and mimalloc instead of the 128-byte one.
pub(crate) struct TaskMeta<S: Owner> {
    /// The runtime the task belongs to (`Arc::as_ptr`), kept alive by the
    /// task reference this metadata owns (`task_refs.rs`): wakes are
    /// scheduled there.
    shared: Unaligned<S>,
    /// The low half of the task's [`Id`]; written at creation.
    id_low: u32,
    /// The high 31 bits of the id, and the `ABORTED` bit. The id is written
    /// at creation; `abort` sets `ABORTED`; the wrapper reads it before every
    /// poll. Ids cost a parked task no more memory than the flag.
    id_high: AtomicU32,
    /// Key of the task's waker in the runtime's registry plus one; 0 while
    /// the task has not parked yet; `DONE_KEY` once its future is gone.
    /// Written by the wrapper, read by `abort` and `AbortHandle::is_finished`.
    parked_key: AtomicU32,
}

/// A raw `Arc<S>` pointer stored with 4-byte alignment, so that the
/// metadata holding it is aligned to 4 (see `TaskMeta`). Read by value: a
/// packed field that is `Copy` may be, and the read keeps the pointer's
/// provenance.
#[repr(C, packed(4))]
struct Unaligned<S>(*const S);

impl<S> Clone for Unaligned<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Unaligned<S> {}

// SAFETY: the metadata only gives out `&S` (and clones of the `Arc`), as an
// `Arc<S>` would; `S: Owner` is `Send + Sync`.
unsafe impl<S: Owner> Send for TaskMeta<S> {}
// SAFETY: as above; the other fields are atomics or written only at creation.
unsafe impl<S: Owner> Sync for TaskMeta<S> {}

impl<S: Owner> Drop for TaskMeta<S> {
    fn drop(&mut self) {
        // SAFETY: `shared` came from `task_refs::take` in `new`, and this is
        // the one place that gives that reference back.
        unsafe { task_refs::give(self.shared.0) };
    }
}

impl<S: Owner> TaskMeta<S> {
    pub(crate) fn new(shared: &Arc<S>) -> Self {
        let id = Id::next().as_u64();
        assert!(
            id >> 32 <= u64::from(ID_HIGH_MASK),
            "gmp: task ids exhausted"
        );
        TaskMeta {
            shared: Unaligned(task_refs::take(shared)),
            id_low: id as u32,
            id_high: AtomicU32::new((id >> 32) as u32),
            parked_key: AtomicU32::new(0),
        }
    }

    /// The runtime the task belongs to.
    pub(crate) fn shared(&self) -> &S {
        // SAFETY: the metadata owns a task reference (see `Drop`), so the
        // runtime outlives this borrow of the metadata.
        unsafe { &*self.shared.0 }
    }

    /// The runtime's address (`Arc::as_ptr`), to compare runtimes.
    pub(crate) fn shared_ptr(&self) -> *const S {
        self.shared.0
    }

    /// A new reference to the runtime.
    pub(crate) fn shared_arc(&self) -> Arc<S> {
        let ptr = self.shared.0;
        // SAFETY: `ptr` is `Arc::as_ptr` of the runtime, and the task
        // reference the metadata owns keeps a strong reference alive (see
        // `task_refs.rs`), so the count is at least one; the increment is
        // the reference `from_raw` takes over.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        let high = self.id_high.load(Ordering::Relaxed) & ID_HIGH_MASK;
        let raw = u64::from(high) << 32 | u64::from(self.id_low);
        Id::from_raw(raw).expect("a task's id is never 0")
    }

    fn is_aborted(&self) -> bool {
        self.id_high.load(Ordering::Acquire) & ABORTED != 0
    }

    /// The key of the task's waker in the registry, once it has parked and
    /// until its future is dropped. Only the task's wrapper asks: it is the
    /// one that writes the key.
    fn registry_key(&self) -> Option<usize> {
        match self.parked_key.load(Ordering::Relaxed) {
            0 | DONE_KEY => None,
            key => Some(key as usize - 1),
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
        self.id_high.fetch_or(ABORTED, Ordering::SeqCst);
        // Store-load on both sides of the pair: the fences make the order
        // hold (loom checks it with fences; SeqCst accesses alone it models
        // more weakly than the hardware does).
        fence(Ordering::SeqCst);
        let key = self.parked_key.load(Ordering::SeqCst);
        if key != 0 && key != DONE_KEY {
            self.shared().registry().wake(key as usize - 1);
        }
    }
}

// SAFETY: a `Runnable` is one non-null pointer that `into_raw`/`from_raw`
// round-trip exactly, as async-task documents.
unsafe impl<S: Owner> QueueItem for Runnable<TaskMeta<S>> {
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

pin_project_lite::pin_project! {
    /// The user's future as the task runs it: catches panics (of its poll and
    /// of its destructor), honours `abort`, sets the current task id, and
    /// registers the task as parked on its first `Pending`.
    pub(crate) struct TaskFuture<'a, F, S: Owner> {
        // The user's future, until `finish` drops it in place (right after
        // it completed, when the task was aborted, or in the wrapper's own
        // destructor), always inside a `catch_unwind`. Whether it is still
        // there is `meta.is_done()`: no `Option` tag, so a parked task's
        // allocation is one word smaller (and one allocator size class
        // lower with mimalloc).
        #[pin]
        future: ManuallyDrop<F>,
        // The task's metadata, inside the same allocation. Its `parked_key`
        // says whether the waker is in the registry and whether `future` has
        // been dropped (no flag here: a parked task pays for every byte).
        meta: &'a TaskMeta<S>,
    }

    impl<F, S: Owner> PinnedDrop for TaskFuture<'_, F, S> {
        fn drop(this: Pin<&mut Self>) {
            // A future dropped without finishing (shutdown, a dropped
            // runnable): its destructor may panic too.
            forget_payload(this.finish());
        }
    }
}

impl<F: Future, S: Owner> Future for TaskFuture<'_, F, S> {
    type Output = TaskOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.meta.id();
        let poll = match self.meta.shared().clock() {
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

impl<F, S: Owner> TaskFuture<'_, F, S> {
    /// Drops the user's future, once: takes the task's waker out of the
    /// registry, drops the future in place, catching a panic of its
    /// destructor (which async-task would turn into an abort), marks the
    /// task done and counts it ended. Does nothing if it already ran.
    fn finish(self: Pin<&mut Self>) -> std::thread::Result<()> {
        let this = self.project();
        let meta = *this.meta;
        if meta.is_done() {
            return Ok(());
        }
        if let Some(key) = meta.registry_key() {
            meta.shared().registry().remove(key);
        }
        // The future is dropped in place (pinned data may be dropped, not
        // moved), and only here: `DONE_KEY` is stored right after, even if
        // the destructor unwinds, and no poll or `finish` touches the future
        // once it is stored. Only the wrapper writes it.
        // SAFETY: the future is not moved out of its pinned place (above).
        let future = unsafe { this.future.get_unchecked_mut() };
        // SAFETY: the future is still there and is never used again (above).
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) }));
        meta.parked_key.store(DONE_KEY, Ordering::Release);
        meta.shared().alive().ended();
        result
    }
}

impl<F: Future, S: Owner> TaskFuture<'_, F, S> {
    /// One poll of the user's future, with the current task id set.
    #[inline]
    fn poll_inner(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, JoinErrorRepr>> {
        let meta = self.meta;
        if meta.is_done() {
            return Poll::Ready(Err(JoinErrorRepr::Cancelled));
        }
        if meta.is_aborted() {
            return Poll::Ready(match self.finish() {
                Ok(()) => Err(JoinErrorRepr::Cancelled),
                Err(panic) => Err(JoinErrorRepr::Panic(panic)),
            });
        }
        // SAFETY: the future is still there (not done), and it stays pinned:
        // this is a projection of the pinned wrapper.
        let future = unsafe {
            self.as_mut()
                .project()
                .future
                .map_unchecked_mut(|f| &mut **f)
        };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(value)) => {
                if meta.shared().trace().is_enabled() {
                    crate::trace::mark_done();
                }
                // Drop the future here, where its destructor's panic is
                // caught: the task has not finished until it is gone.
                match self.finish() {
                    Ok(()) => Poll::Ready(Ok(value)),
                    Err(panic) => {
                        forget_payload(drop_caught(value));
                        Poll::Ready(Err(JoinErrorRepr::Panic(panic)))
                    }
                }
            }
            Ok(Poll::Pending) => {
                if meta.registry_key().is_none() {
                    meta.park(cx);
                }
                Poll::Pending
            }
            Err(panic) => {
                // The future's destructor runs now; a second panic there is
                // dropped, the first one is reported.
                forget_payload(self.finish());
                Poll::Ready(Err(JoinErrorRepr::Panic(panic)))
            }
        }
    }
}

impl<S: Owner> TaskMeta<S> {
    /// Puts the task's waker in the registry, the first time its future
    /// returns `Pending`.
    fn park(&self, cx: &Context<'_>) {
        let key = self
            .shared()
            .registry()
            .insert(cx.waker(), self as *const TaskMeta<S> as usize);
        // The registry keeps its keys below `DONE_KEY - 1`.
        self.parked_key.store(key as u32 + 1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.id_high.load(Ordering::SeqCst) & ABORTED != 0 {
            // `abort` ran before it could see our key.
            cx.waker().wake_by_ref();
        } else if self.shared().is_closing() {
            // Shutdown gave up waiting for this poll and may have emptied
            // the registry before we registered: nobody else would wake us,
            // so wake ourselves, and the schedule function drops the task.
            // If `closing` reads false, shutdown's `take_all` takes the shard
            // lock after our insert and finds us. A later park needs no
            // check: `take_all` woke the task then (a wake while it runs
            // reschedules it after the poll).
            cx.waker().wake_by_ref();
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
    let builder = Builder::new().metadata(TaskMeta::new(shared));
    // async-task keeps the metadata alive and in place for as long as the
    // future exists, so the wrapper may borrow it.
    fn wrap<'a, F, S: Owner>(future: F) -> impl FnOnce(&'a TaskMeta<S>) -> TaskFuture<'a, F, S> {
        move |meta| TaskFuture {
            future: ManuallyDrop::new(future),
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
