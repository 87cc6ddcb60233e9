//! Loom model of the local run queue (`crate::queue::LocalQueue`).
//!
//! The real queue, 4 slots under loom (so 2 tasks spill with the overflowing
//! one). The owner pushes with `push_back` and `push_runnext` until the ring
//! overflows into a "GRQ" (a `Mutex<Vec>`), and pops; thieves `steal_into`
//! rings of their own, with and without the victim's `runnext`.
//!
//! Checked: every pushed task comes out exactly once (from the owner's pops,
//! a thief's steal, the spilled batch, or the final drain); a steal reports
//! how many tasks it moved; the ring never claims more than its capacity;
//! no task is leaked (each `Item` carries a loom `Arc`).

use super::{assert_exactly_once, check, Item, DEFAULT_PREEMPTIONS};
use crate::queue::{LocalQueue, SpillBatch, LOCAL_QUEUE_CAPACITY};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The global queue of the model: where spilled batches go.
type Grq = Arc<Mutex<Vec<usize>>>;

fn spill_into(grq: &Grq) -> impl FnOnce(SpillBatch<'_, Item>) + '_ {
    move |batch| {
        assert_eq!(
            batch.len(),
            LOCAL_QUEUE_CAPACITY / 2 + 1,
            "a spill moves the oldest half of the ring plus the new task"
        );
        grq.lock().unwrap().extend(batch.map(|t| t.id));
    }
}

/// A thief: steals once from `victim` into a ring of its own, then runs
/// everything it got. Returns the ids it ran.
fn thief(victim: Arc<LocalQueue<Item>>, steal_runnext: bool) -> Vec<usize> {
    let mine = LocalQueue::new();
    let mut ran = Vec::new();
    if let Some((task, n)) = victim.steal_into(&mine, steal_runnext) {
        assert!(
            (1..=LOCAL_QUEUE_CAPACITY / 2).contains(&n),
            "a steal takes at most half a ring"
        );
        assert_eq!(
            mine.len(),
            n - 1,
            "the thief's ring holds the stolen tasks but the one it runs"
        );
        ran.push(task.id);
        ran.extend(mine.drain().map(|t| t.id));
    }
    ran
}

/// Starts a [`thief`] of `victim` on a model thread.
fn spawn_thief(
    victim: &Arc<LocalQueue<Item>>,
    steal_runnext: bool,
) -> thread::JoinHandle<Vec<usize>> {
    let victim = victim.clone();
    thread::spawn(move || thief(victim, steal_runnext))
}

/// Pushes `ids` to the tail of `q`, in order.
fn push_ids(q: &LocalQueue<Item>, ids: impl IntoIterator<Item = usize>, grq: &Grq) {
    for id in ids {
        q.push_back(Item::new(id), spill_into(grq));
    }
}

fn check_len(q: &LocalQueue<Item>) {
    assert!(
        q.len() <= LOCAL_QUEUE_CAPACITY,
        "the ring claims more tasks than it has slots"
    );
}

/// Owner fills the ring, overflows it through `push_runnext`, pops; one
/// thief steals with `runnext` allowed (the last stealing pass).
#[test]
fn owner_spills_while_a_thief_steals_runnext() {
    check(DEFAULT_PREEMPTIONS, || {
        let victim = Arc::new(LocalQueue::<Item>::new());
        let grq: Grq = Arc::new(Mutex::new(Vec::new()));
        let t = spawn_thief(&victim, true);
        let mut ran = Vec::new();
        push_ids(&victim, 0..LOCAL_QUEUE_CAPACITY, &grq);
        // Two runnext pushes: the second displaces the first to the tail of
        // a ring that is full unless the thief took some.
        victim.push_runnext(Item::new(4), spill_into(&grq));
        victim.push_runnext(Item::new(5), spill_into(&grq));
        check_len(&victim);
        ran.extend(victim.take_runnext().map(|t| t.id));
        ran.extend(victim.pop_front().map(|t| t.id));
        ran.extend(t.join().unwrap());
        ran.extend(victim.drain().map(|t| t.id));
        ran.extend(grq.lock().unwrap().drain(..));
        assert_exactly_once(ran, &[0, 1, 2, 3, 4, 5], "owner + thief (runnext)");
    });
}

/// Two thieves, one of which may take `runnext`, race each other and the
/// owner, which pushes to the tail and to `runnext` and pops.
#[test]
fn two_thieves_and_the_owner_take_each_task_once() {
    check(DEFAULT_PREEMPTIONS, || {
        let victim = Arc::new(LocalQueue::<Item>::new());
        let grq: Grq = Arc::new(Mutex::new(Vec::new()));
        push_ids(&victim, 0..2, &grq);
        let thieves: Vec<_> = [false, true]
            .into_iter()
            .map(|steal_runnext| spawn_thief(&victim, steal_runnext))
            .collect();
        let mut ran = Vec::new();
        victim.push_back(Item::new(2), spill_into(&grq));
        victim.push_runnext(Item::new(3), spill_into(&grq));
        ran.extend(victim.pop_front().map(|t| t.id));
        check_len(&victim);
        for t in thieves {
            ran.extend(t.join().unwrap());
        }
        ran.extend(victim.drain().map(|t| t.id));
        ran.extend(grq.lock().unwrap().drain(..));
        assert_exactly_once(ran, &[0, 1, 2, 3], "owner + two thieves");
    });
}

/// The owner wraps the ring around (pushes and pops past the capacity) while
/// a thief steals without `runnext`: stale slot reads must never be handed
/// out.
#[test]
fn wrap_around_under_a_thief() {
    check(DEFAULT_PREEMPTIONS, || {
        let victim = Arc::new(LocalQueue::<Item>::new());
        let grq: Grq = Arc::new(Mutex::new(Vec::new()));
        push_ids(&victim, 0..3, &grq);
        let t = spawn_thief(&victim, false);
        let mut ran = Vec::new();
        ran.extend(victim.pop_front().map(|t| t.id));
        ran.extend(victim.pop_front().map(|t| t.id));
        push_ids(&victim, 3..6, &grq);
        check_len(&victim);
        ran.extend(t.join().unwrap());
        ran.extend(victim.drain().map(|t| t.id));
        ran.extend(grq.lock().unwrap().drain(..));
        assert_exactly_once(ran, &[0, 1, 2, 3, 4, 5], "owner wrapping + thief");
    });
}

/// A rescue (`machine/watch.rs`): the owner of a ring that still holds tasks,
/// and has wrapped around, steals into it from another P, while a thief of
/// its own ring, whose view may be stale, steals from it. The stolen tasks
/// land in slots that ring used before.
#[test]
fn a_steal_into_a_ring_that_holds_tasks_under_its_own_thief() {
    check(DEFAULT_PREEMPTIONS, || {
        let mine = Arc::new(LocalQueue::<Item>::new());
        let victim = LocalQueue::<Item>::new();
        let grq: Grq = Arc::new(Mutex::new(Vec::new()));
        push_ids(&mine, 10..10 + LOCAL_QUEUE_CAPACITY, &grq);
        push_ids(&victim, 0..3, &grq);
        let t = spawn_thief(&mine, false);
        let mut ran = Vec::new();
        ran.extend(mine.pop_front().map(|t| t.id));
        ran.extend(mine.pop_front().map(|t| t.id));
        // At most half full now: the rescue's precondition.
        if let Some((task, n)) = victim.steal_into(&mine, false) {
            assert_eq!(n, 2, "half of three tasks, rounded up");
            ran.push(task.id);
        }
        check_len(&mine);
        ran.extend(t.join().unwrap());
        ran.extend(mine.drain().map(|t| t.id));
        ran.extend(victim.drain().map(|t| t.id));
        ran.extend(grq.lock().unwrap().drain(..));
        assert_exactly_once(
            ran,
            &[0, 1, 2, 10, 11, 12, 13],
            "rescue into a ring with a thief",
        );
    });
}
