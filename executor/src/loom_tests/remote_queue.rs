//! Loom model of the GRQ's lock-free lane (`crate::remote_queue`) and of
//! the GRQ that drains it (`crate::global_queue`).
//!
//! The real ring, 2 slots under loom, and the real `GlobalQueue`, its
//! `GlobalTasks` under a loom `Mutex` as they are under the scheduler lock.
//!
//! Checked: every task pushed comes out exactly once, through a full ring
//! (a refused push goes to the deque under the lock, as `schedule_remote`
//! does) and a consumer that runs while a producer is between claim and
//! publish; and neither `GlobalQueue::len` nor `is_empty` says "empty"
//! while a task is being moved from the ring to the deque (an M that read 0 there could go idle
//! with the task left behind).

use super::{assert_exactly_once, check, Item, DEFAULT_PREEMPTIONS};
use crate::global_queue::{GlobalQueue, GlobalTasks};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The GRQ of the model: the lock-free face and the tasks under the lock.
struct Grq {
    queue: GlobalQueue<Item>,
    tasks: Mutex<GlobalTasks<Item>>,
}

impl Grq {
    fn new() -> Arc<Self> {
        Arc::new(Grq {
            queue: GlobalQueue::new(),
            tasks: Mutex::new(GlobalTasks::default()),
        })
    }

    /// `schedule_remote`'s push: the lane, else the deque under the lock.
    fn push(&self, id: usize) {
        if let Err(task) = self.queue.push_remote(Item::new(id)) {
            let mut tasks = self.tasks.lock().unwrap();
            self.queue.push(&mut tasks, task);
        }
    }

    /// An M's `grq_get`: up to `n` tasks, under the lock.
    fn take(&self, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut tasks = self.tasks.lock().unwrap();
        self.queue.pop_n(&mut tasks, n, |task| out.push(task.id));
        out
    }

    /// Shutdown's drain.
    fn take_all(&self) -> Vec<usize> {
        let mut tasks = self.tasks.lock().unwrap();
        let all = self.queue.take_all(&mut tasks);
        all.into_iter().map(|task| task.id).collect()
    }
}

/// Two producers push three tasks into two slots while a consumer takes:
/// one push may find the ring full and take the lock instead.
#[test]
fn remote_pushes_through_a_full_ring_come_out_once() {
    check(DEFAULT_PREEMPTIONS, || {
        let grq = Grq::new();
        let producers: Vec<_> = [vec![0, 1], vec![2]]
            .into_iter()
            .map(|ids| {
                let grq = grq.clone();
                thread::spawn(move || ids.into_iter().for_each(|id| grq.push(id)))
            })
            .collect();
        let mut got = grq.take(1);
        for p in producers {
            p.join().unwrap();
        }
        got.extend(grq.take_all());
        assert_exactly_once(got, &[0, 1, 2], "remote lane");
        assert_eq!(grq.queue.len(), 0, "the length counts a task that left");
    });
}

/// While one M moves the ring's task to the deque (a push under the lock
/// absorbs the ring first), another reads the GRQ's length: it must see
/// the task in one place or the other.
#[test]
fn the_length_never_misses_a_task_being_moved() {
    check(DEFAULT_PREEMPTIONS, || {
        let grq = Grq::new();
        grq.push(0);
        let reader = {
            let grq = grq.clone();
            thread::spawn(move || (grq.queue.len(), grq.queue.is_empty()))
        };
        {
            let mut tasks = grq.tasks.lock().unwrap();
            grq.queue.push(&mut tasks, Item::new(1));
        }
        let (len, empty) = reader.join().unwrap();
        assert!(len >= 1, "the GRQ's length read 0 while it held a task");
        assert!(!empty, "the GRQ read empty while it held a published task");
        assert_exactly_once(grq.take_all(), &[0, 1], "moved");
    });
}
