//! The global run queue (Go's `sched.runq`).
//!
//! An unbounded FIFO of tasks under the scheduler lock, as in Go: remote
//! spawns and wakes, spills of full LRQs, preempted `runnext` tasks. Its
//! length is mirrored in an atomic so an M can skip the lock when it is
//! empty (Go's `sched.runqsize`); the tasks themselves are reachable only
//! through [`GlobalTasks`], which lives inside the lock (`SchedState`), so
//! every change goes through [`GlobalQueue`] and the mirror cannot drift.

use std::collections::VecDeque;

use crate::sync::{AtomicUsize, Ordering};

/// The lock-free face of the GRQ: its length. Lives in `Shared`.
pub(crate) struct GlobalQueue {
    /// `GlobalTasks::tasks.len()`, stored (SeqCst) after every change made
    /// under the scheduler lock; read by anyone without it.
    len: AtomicUsize,
}

/// The tasks of the GRQ. Lives in `SchedState`, under the scheduler lock.
pub(crate) struct GlobalTasks<T> {
    /// Oldest first.
    tasks: VecDeque<T>,
}

impl<T> Default for GlobalTasks<T> {
    fn default() -> Self {
        GlobalTasks {
            tasks: VecDeque::new(),
        }
    }
}

impl GlobalQueue {
    pub(crate) fn new() -> Self {
        GlobalQueue {
            len: AtomicUsize::new(0),
        }
    }

    /// Tasks queued. A snapshot, readable without the lock.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    /// Whether no task is queued. A snapshot, readable without the lock.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `task`. The caller holds the lock (`tasks` is inside it).
    pub(crate) fn push<T>(&self, tasks: &mut GlobalTasks<T>, task: T) {
        tasks.tasks.push_back(task);
        self.publish(tasks);
    }

    /// Appends every task of `batch`, in order. Under the lock.
    pub(crate) fn extend<T>(&self, tasks: &mut GlobalTasks<T>, batch: impl IntoIterator<Item = T>) {
        tasks.tasks.extend(batch);
        self.publish(tasks);
    }

    /// Takes up to `n` tasks from the head, oldest first, into `each`
    /// (no buffer in between: this runs under the lock). Under the lock.
    pub(crate) fn pop_n<T>(&self, tasks: &mut GlobalTasks<T>, n: usize, each: impl FnMut(T)) {
        let n = n.min(tasks.tasks.len());
        tasks.tasks.drain(..n).for_each(each);
        self.publish(tasks);
    }

    /// Takes every task (shutdown). Under the lock.
    pub(crate) fn take_all<T>(&self, tasks: &mut GlobalTasks<T>) -> VecDeque<T> {
        let all = std::mem::take(&mut tasks.tasks);
        self.publish(tasks);
        all
    }

    /// Mirrors the length after a change.
    fn publish<T>(&self, tasks: &GlobalTasks<T>) {
        self.len.store(tasks.tasks.len(), Ordering::SeqCst);
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    #[test]
    fn pop_n_takes_the_oldest_tasks_in_order_and_the_length_follows() {
        let (queue, mut tasks) = (GlobalQueue::new(), GlobalTasks::default());
        queue.extend(&mut tasks, 0..5);
        queue.push(&mut tasks, 5);
        let mut popped = Vec::new();
        queue.pop_n(&mut tasks, 4, |task| popped.push(task));
        assert_eq!(
            (popped.as_slice(), queue.len()),
            ([0, 1, 2, 3].as_slice(), 2)
        );
        queue.pop_n(&mut tasks, 10, |task| popped.push(task));
        assert_eq!(popped, [0, 1, 2, 3, 4, 5], "the FIFO order broke");
        assert!(queue.is_empty());
        assert_eq!(queue.take_all(&mut tasks).len(), 0);
    }
}
