//! The global run queue (Go's `sched.runq`).
//!
//! An unbounded FIFO of tasks under the scheduler lock, as in Go: spills of
//! full LRQs, preempted `runnext` tasks, tasks woken by an M's reactor
//! poll. Its length is mirrored in an atomic so an M can skip the lock when
//! it is empty (Go's `sched.runqsize`); the tasks themselves are reachable
//! only through [`GlobalTasks`], which lives inside the lock (`SchedState`),
//! so every change goes through [`GlobalQueue`] and the mirror cannot drift.
//!
//! Tasks scheduled from outside the Ms (remote spawns and wakes) take a
//! lock-free lane first, the ring of `remote_queue.rs`, and reach the deque
//! at the next change made under the lock: every method that takes `tasks`
//! moves the ring's published tasks to the deque's tail first, so the GRQ
//! stays one FIFO, in the order tasks were published. [`GlobalQueue::len`]
//! and [`GlobalQueue::is_empty`] look at both.

use std::collections::VecDeque;

use crate::queue::QueueItem;
use crate::remote_queue::RemoteQueue;
use crate::sync::{AtomicUsize, Ordering};

/// The lock-free face of the GRQ: its length and its remote lane. Lives in
/// `Shared`.
pub(crate) struct GlobalQueue<T: QueueItem> {
    /// `GlobalTasks::tasks.len()`, stored (SeqCst) after every change made
    /// under the scheduler lock; read by anyone without it.
    len: AtomicUsize,
    /// Tasks pushed without the lock, not yet moved to the deque.
    remote: RemoteQueue<T>,
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

impl<T: QueueItem> GlobalQueue<T> {
    pub(crate) fn new() -> Self {
        GlobalQueue {
            len: AtomicUsize::new(0),
            remote: RemoteQueue::new(),
        }
    }

    /// Tasks queued, in the deque and the remote lane (counting pushes
    /// still being published). A snapshot, readable without the lock.
    pub(crate) fn len(&self) -> usize {
        // The lane first: see `absorb`.
        let remote = self.remote.len();
        remote + self.len.load(Ordering::SeqCst)
    }

    /// Whether no task is there to take. A snapshot, readable without the
    /// lock. A remote push still between claim and publish is not counted
    /// (see `RemoteQueue::has_published`).
    pub(crate) fn is_empty(&self) -> bool {
        // The lane first: see `absorb`.
        !self.remote.has_published() && self.len.load(Ordering::SeqCst) == 0
    }

    /// Appends `task` without the lock, through the remote lane; gives it
    /// back if the lane is full (then push it under the lock).
    pub(crate) fn push_remote(&self, task: T) -> Result<(), T> {
        self.remote.push(task)
    }

    /// Appends `task`. The caller holds the lock (`tasks` is inside it).
    pub(crate) fn push(&self, tasks: &mut GlobalTasks<T>, task: T) {
        self.absorb(tasks);
        tasks.tasks.push_back(task);
        self.publish(tasks);
    }

    /// Appends every task of `batch`, in order. Under the lock.
    pub(crate) fn extend(&self, tasks: &mut GlobalTasks<T>, batch: impl IntoIterator<Item = T>) {
        self.absorb(tasks);
        tasks.tasks.extend(batch);
        self.publish(tasks);
    }

    /// Takes up to `n` tasks from the head, oldest first, into `each`
    /// (no buffer in between: this runs under the lock). Under the lock.
    pub(crate) fn pop_n(&self, tasks: &mut GlobalTasks<T>, n: usize, each: impl FnMut(T)) {
        self.absorb(tasks);
        let n = n.min(tasks.tasks.len());
        tasks.tasks.drain(..n).for_each(each);
        self.publish(tasks);
    }

    /// Takes every task (shutdown). Under the lock.
    pub(crate) fn take_all(&self, tasks: &mut GlobalTasks<T>) -> VecDeque<T> {
        self.absorb(tasks);
        let all = std::mem::take(&mut tasks.tasks);
        self.publish(tasks);
        all
    }

    /// Moves the remote lane's published tasks to the deque's tail. Under
    /// the lock, which makes the caller the lane's one consumer. The mirror
    /// counts them before the lane lets go of them, and `len` reads the
    /// lane before the mirror, so a task being moved is counted once or
    /// twice, never zero times (an M deciding to go idle must not miss it).
    fn absorb(&self, tasks: &mut GlobalTasks<T>) {
        let deque = &mut tasks.tasks;
        let before = deque.len();
        let moved = std::cell::Cell::new(0);
        self.remote.take_published(
            |task| {
                deque.push_back(task);
                moved.set(moved.get() + 1);
            },
            || self.len.store(before + moved.get(), Ordering::SeqCst),
        );
    }

    /// Mirrors the length after a change.
    fn publish(&self, tasks: &GlobalTasks<T>) {
        self.len.store(tasks.tasks.len(), Ordering::SeqCst);
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use super::*;

    fn popped(
        queue: &GlobalQueue<Box<usize>>,
        tasks: &mut GlobalTasks<Box<usize>>,
        n: usize,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        queue.pop_n(tasks, n, |task| out.push(*task));
        out
    }

    #[test]
    fn pop_n_takes_the_oldest_tasks_in_order_and_the_length_follows() {
        let (queue, mut tasks) = (GlobalQueue::new(), GlobalTasks::default());
        queue.extend(&mut tasks, (0..5).map(Box::new));
        queue.push(&mut tasks, Box::new(5));
        assert_eq!(
            (popped(&queue, &mut tasks, 4), queue.len()),
            (vec![0, 1, 2, 3], 2)
        );
        assert_eq!(
            popped(&queue, &mut tasks, 10),
            [4, 5],
            "the FIFO order broke"
        );
        assert!(queue.is_empty());
        assert_eq!(queue.take_all(&mut tasks).len(), 0);
    }

    #[test]
    fn the_remote_lane_joins_the_fifo_when_the_lock_is_taken() {
        let (queue, mut tasks) = (GlobalQueue::new(), GlobalTasks::default());
        queue.push(&mut tasks, Box::new(0));
        for i in 1..4 {
            assert!(queue.push_remote(Box::new(i)).is_ok());
        }
        assert_eq!(queue.len(), 4, "the lane is not counted");
        // A push under the lock moves the lane's tasks to the deque first.
        queue.push(&mut tasks, Box::new(4));
        assert_eq!(popped(&queue, &mut tasks, 2), [0, 1]);
        assert!(queue.push_remote(Box::new(5)).is_ok());
        let rest: Vec<usize> = queue.take_all(&mut tasks).into_iter().map(|t| *t).collect();
        assert_eq!(rest, [2, 3, 4, 5], "the FIFO order broke");
        assert!(queue.is_empty());
    }
}
