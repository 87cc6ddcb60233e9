//! `spawn_local`: tasks whose futures are not `Send`, run by the thread
//! inside `block_on`.
//!
//! Each `block_on` owns a [`LocalQueue`]. A local task's schedule function
//! pushes its runnable there and unparks the `block_on` thread, which runs
//! queued local tasks between polls of its own future. A local task is
//! never put on a P, never stolen, never handed off: only the thread that
//! spawned it polls it or drops its future.
//!
//! When `block_on` ends, every local task still alive is cancelled on that
//! thread: each is woken (its runnable comes to the queue) and the queue is
//! drained, dropping the runnables (and so the futures), until every local
//! future is gone. A wake from another thread after that finds the task
//! closed and schedules nothing, so no runnable of a `!Send` future can
//! reach another thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::thread::{self, Thread};

use crate::join::JoinHandle;
use crate::sched::{Shared, Task};
use crate::spawn;
use crate::sync::{lock, Arc, Mutex};

/// The metadata of a task of a gmp runtime.
type TaskMeta = crate::task::TaskMeta<Shared>;

/// The run queue of one `block_on`'s local tasks.
pub(crate) struct LocalQueue {
    /// Runnable local tasks; pushed by any thread, popped by `owner`.
    queue: Mutex<VecDeque<Task>>,
    /// The thread inside `block_on`, unparked on each push.
    thread: Thread,
}

/// The owner thread's side of a `block_on`'s local tasks.
pub(crate) struct LocalSet {
    /// The queue shared with the tasks' schedule functions.
    queue: Arc<LocalQueue>,
    /// The runtime whose `block_on` this is (the tasks' metadata needs one).
    shared: Arc<Shared>,
    /// A waker and the metadata of each local task spawned and maybe alive,
    /// to cancel them when `block_on` ends. Ended ones are pruned as the
    /// list grows.
    tasks: RefCell<Vec<(Waker, NonNull<TaskMeta>)>>,
    /// Length of `tasks` after its last pruning.
    pruned_len: std::cell::Cell<usize>,
}

thread_local! {
    /// The local set of the `block_on` this thread is inside, if any.
    static CURRENT: RefCell<Option<std::rc::Rc<LocalSet>>> = const { RefCell::new(None) };
}

impl LocalQueue {
    /// The schedule function's body.
    fn push(&self, task: Task) {
        lock(&self.queue).push_back(task);
        self.thread.unpark();
    }
}

impl LocalSet {
    /// The local set of a `block_on` of runtime `shared` on this thread.
    pub(crate) fn new(shared: &Arc<Shared>) -> LocalSet {
        LocalSet {
            queue: Arc::new(LocalQueue {
                queue: Mutex::new(VecDeque::new()),
                thread: thread::current(),
            }),
            shared: shared.clone(),
            tasks: RefCell::new(Vec::new()),
            pruned_len: std::cell::Cell::new(0),
        }
    }

    /// Runs `f` with this set as the thread's current local set.
    pub(crate) fn enter<R>(self: &std::rc::Rc<Self>, f: impl FnOnce() -> R) -> R {
        struct Reset(Option<std::rc::Rc<LocalSet>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                let old = self.0.take();
                let _ = CURRENT.try_with(|c| *c.borrow_mut() = old);
            }
        }
        let old = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _reset = Reset(old);
        f()
    }

    /// Runs the local tasks queued now (not those they wake meanwhile).
    /// Whether there were any.
    pub(crate) fn run_queued(&self) -> bool {
        let batch = std::mem::take(&mut *lock(&self.queue.queue));
        let ran = !batch.is_empty();
        for task in batch {
            task.run();
        }
        ran
    }

    /// Spawns a local task.
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let queue = self.queue.clone();
        // Any thread may push (a wake from anywhere); only the owner pops.
        let schedule = move |task: Task| queue.push(task);
        let future = Counted {
            future,
            shared: self.shared.clone(),
        };
        // SAFETY: the runnable is scheduled (or run) only into `self.queue`,
        // whose tasks only `run_queued` and `cancel_all` run or drop, on the
        // owner thread (the `LocalSet` is not `Send`).
        let (runnable, handle) = unsafe { spawn::create_unchecked(&self.shared, future, schedule) };
        // After the task's `spawned`, before anything can drop its future
        // (`AliveTasks::owned`).
        self.shared.alive.local_spawned();
        let mut tasks = self.tasks.borrow_mut();
        tasks.push((runnable.waker(), NonNull::from(runnable.metadata())));
        if tasks.len() > 2 * self.pruned_len.get().max(32) {
            // SAFETY: each waker keeps its task's metadata alive.
            tasks.retain(|(_, meta)| !unsafe { meta.as_ref() }.is_done());
            self.pruned_len.set(tasks.len());
        }
        drop(tasks);
        runnable.schedule();
        handle
    }

    /// Drops the future of every local task still alive (at the end of
    /// `block_on`), on this thread.
    pub(crate) fn cancel_all(&self) {
        for round in 0.. {
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            // SAFETY: each waker keeps its task's metadata alive.
            let alive: Vec<_> = tasks
                .into_iter()
                .filter(|(_, meta)| !unsafe { meta.as_ref() }.is_done())
                .collect();
            if alive.is_empty() {
                return;
            }
            assert!(
                round < 1000,
                "gmp: local tasks keep being rescheduled at the end of block_on"
            );
            for (waker, _) in &alive {
                // Brings an idle task's runnable to the queue.
                waker.wake_by_ref();
            }
            let queued = std::mem::take(&mut *lock(&self.queue.queue));
            // Dropping a runnable closes its task and drops its future.
            drop(queued);
            *self.tasks.borrow_mut() = alive;
        }
    }
}

pin_project_lite::pin_project! {
    /// A local task's future, counted among the runtime's local tasks while
    /// it exists (`AliveTasks::local_spawned`): shutdown does not wait for
    /// those, the thread inside their `block_on` drops them.
    struct Counted<F> {
        // The task's own future.
        #[pin]
        future: F,
        // The runtime whose local tasks count this one.
        shared: Arc<Shared>,
    }

    impl<F> PinnedDrop for Counted<F> {
        fn drop(this: Pin<&mut Self>) {
            this.shared.alive.local_ending();
        }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

/// Spawns a `!Send` future on the thread that runs the current `block_on`
/// (also inside `#[gmp::main]` and `#[gmp::test]`): that thread polls it
/// between polls of its own future, and only that thread. Local tasks never
/// move to a P, are never stolen and never handed off; when `block_on`
/// returns, those still pending are cancelled (their futures dropped there).
///
/// # Panics
///
/// Outside a `block_on` (on an M, inside a regular task), saying so.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// let n = gmp_executor::block_on(async {
///     let shared = Rc::new(5); // not Send
///     let s = shared.clone();
///     let t = gmp_executor::spawn_local(async move { *s + 1 });
///     t.await.unwrap() + *shared
/// });
/// assert_eq!(n, 11);
/// ```
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let set = CURRENT.with(|c| c.borrow().clone());
    match set {
        Some(set) => set.spawn(future),
        None => panic!(
            "gmp::spawn_local called outside block_on: a !Send task runs on the thread inside \
             block_on (or #[gmp::main] / #[gmp::test]); from a regular task, use gmp::spawn"
        ),
    }
}
