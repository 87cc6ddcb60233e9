//! Spawning: allocating a task of a runtime, with its `JoinHandle`, and the
//! schedule function its wakes go through.
//!
//! The schedule function is a zero-sized `fn` item: the common case, a wake
//! on an M of the task's own runtime, reaches the runtime through the M's
//! thread-local context (`machine::schedule_local`) and touches no reference
//! count; any other wake goes to the GRQ (`Shared::schedule_remote`), through
//! the runtime's `Arc` that the waking thread holds if it holds one
//! (`context::held_runtime`: a `block_on` thread, an M without a P), else a
//! clone of the task's.

use std::future::Future;
use std::ptr::NonNull;

use async_task::{ScheduleInfo, WithInfo};

use crate::context;
use crate::join::JoinHandle;
use crate::sched::{Shared, Task};
use crate::sync::Arc;
use crate::task;

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
    S: async_task::Schedule<task::TaskMeta<Shared>> + Send + Sync + 'static,
{
    // SAFETY: `F` and its output are `Send`, so the task may be polled and
    // dropped on any thread.
    unsafe { create_unchecked(shared, future, schedule) }
}

/// Allocates a task of runtime `shared` whose future need not be `Send`
/// (`spawn_local`).
///
/// # Safety
///
/// If `F` is not `Send`, the returned `Task` and every `Task` handed to
/// `schedule` must be run and dropped on the calling thread only.
pub(crate) unsafe fn create_unchecked<F, S>(
    shared: &Arc<Shared>,
    future: F,
    schedule: S,
) -> (Task, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: async_task::Schedule<task::TaskMeta<Shared>> + Send + Sync + 'static,
{
    // SAFETY: our caller keeps a non-`Send` future's tasks on this thread
    // (the same contract).
    let (runnable, task) = unsafe { task::allocate(shared, future, schedule) };
    let meta = NonNull::from(task.metadata());
    let waker = runnable.waker();
    (runnable, JoinHandle::new(task.fallible(), meta, waker))
}

/// The schedule function of every runtime task.
fn schedule(task: Task, info: ScheduleInfo) {
    let runtime = task.metadata().shared_ptr();
    if let Err(task) = context::schedule_local(runtime, task, info.woken_while_running) {
        match context::held_runtime(runtime) {
            Some(shared) => shared.schedule_remote(task),
            None => task.metadata().shared_arc().schedule_remote(task),
        }
    }
}
