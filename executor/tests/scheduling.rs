//! The scheduling rules of design §2, each observed through the order in
//! which tasks run or through the metrics counters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use gmp_executor::{spawn, yield_now, Handle, Runtime};

#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

/// A runtime without sysmon, so that no handoff or preemption changes the
/// order that the rules under test produce.
fn runtime(procs: usize) -> Runtime {
    Runtime::builder()
        .max_procs(procs)
        .sysmon(false)
        .build()
        .expect("runtime builds")
}

/// Records the order in which tasks ran.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<usize>>>);

impl Log {
    fn push(&self, id: usize) {
        self.0.lock().unwrap().push(id);
    }
    fn get(&self) -> Vec<usize> {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn runnext_runs_the_newest_task_first() {
    let rt = runtime(1);
    let log = Log::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let l = l.clone();
                spawn(async move { l.push(i) })
            })
            .collect();
        // Not awaited yet: this task finishes first, then its P picks.
        handles
    }))
    .map(|handles| rt.block_on(futures::future::join_all(handles)))
    .unwrap();
    assert_eq!(
        log.get(),
        vec![2, 0, 1],
        "the newest spawn must run from runnext, the displaced ones from the LRQ in order"
    );
}

#[test]
fn yield_goes_behind_every_other_task_of_its_p() {
    let rt = runtime(1);
    let log = Log::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let l = l.clone();
                spawn(async move { l.push(i) })
            })
            .collect();
        yield_now().await;
        l.push(100);
        for h in handles {
            h.await.unwrap();
        }
    }))
    .unwrap();
    assert_eq!(
        log.get(),
        vec![2, 0, 1, 100],
        "a yielding task must go to its P's yielded ring, run after runnext and the LRQ"
    );
}

#[test]
fn full_lrq_spills_129_tasks_to_grq() {
    let rt = runtime(1);
    let (spills, grq, local) = rt
        .block_on(rt.spawn(async {
            // 258 spawns: runnext holds the newest, the LRQ the other 257,
            // one more than its 256 slots.
            let handles: Vec<_> = (0..258).map(|_| spawn(async {})).collect();
            let m = Handle::current().metrics();
            let out = (
                m.proc(0).spills(),
                m.global_queue_depth(),
                m.proc(0).local_queue_depth(),
            );
            std::mem::forget(handles);
            out
        }))
        .unwrap();
    assert_eq!(spills, 1, "one overflow of the LRQ");
    assert_eq!(
        grq, 129,
        "the oldest half (128) and the new task go to the GRQ"
    );
    assert_eq!(local, 129, "128 tasks stay in the LRQ, plus runnext");
}

#[test]
fn grq_is_looked_at_every_61st_tick() {
    let rt = runtime(1);
    let log = Log::default();
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        // 258 spawns spill tasks 0..128 and 256 to the GRQ; 128..256 stay in
        // the LRQ and 257 in runnext.
        let handles: Vec<_> = (0..258)
            .map(|i| {
                let l = l.clone();
                spawn(async move { l.push(i) })
            })
            .collect();
        std::mem::forget(handles);
    }))
    .unwrap();
    wait_for("all 258 tasks to run", || log.get().len() == 258);
    let order = log.get();
    let from_grq = |id: usize| id < 128 || id == 256;
    // While the LRQ still had tasks, GRQ tasks ran only on every 61st tick.
    let last_local = order
        .iter()
        .rposition(|&id| (128..256).contains(&id))
        .unwrap();
    let positions: Vec<usize> = order[..last_local]
        .iter()
        .enumerate()
        .filter(|(_, &id)| from_grq(id))
        .map(|(i, _)| i)
        .collect();
    assert!(
        positions.len() >= 2,
        "GRQ tasks must run while the LRQ is busy (fairness), got {order:?}"
    );
    for pair in positions.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            61,
            "GRQ tasks must run exactly every 61 ticks while the LRQ has work: {order:?}"
        );
    }
}

#[test]
fn grq_batch_is_capped_at_128() {
    let rt = runtime(1);
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    rt.block_on(rt.spawn(async move {
        // Two spills: 258 tasks in the GRQ, 128 + runnext local.
        let mut handles = Vec::new();
        for i in 0..387usize {
            let s = s.clone();
            handles.push(spawn(async move {
                if i == 0 {
                    // Task 0 is the oldest in the GRQ. It runs either alone on
                    // a 61st tick, or first of a GRQ batch once the LRQ is
                    // empty: record what the P holds.
                    let m = Handle::current().metrics();
                    *s.lock().unwrap() =
                        Some((m.proc(0).local_queue_depth(), m.global_queue_depth()));
                }
            }));
        }
        assert_eq!(Handle::current().metrics().proc(0).spills(), 2);
        std::mem::forget(handles);
    }))
    .unwrap();
    wait_for("task 0 to run", || seen.lock().unwrap().is_some());
    let (local, global) = seen.lock().unwrap().unwrap();
    // Task 0 ran on the first fairness tick (taking 1 task from the GRQ),
    // while the LRQ still held most of its 128 tasks; or first of a batch
    // once the LRQ was empty. Either way it came with the first tasks that
    // left the GRQ, and no batch exceeds 128 of its 258.
    assert!(
        global >= 258 - 128,
        "at most 128 of the GRQ's 258 tasks leave it in one batch, yet {global} are left"
    );
    assert!(
        local <= 128,
        "an LRQ never receives more than a 128-task batch: {local}"
    );
}

/// 64 computing tasks spawned onto one P, the other P idle. Each task
/// computes until tasks have run on two threads: with sysmon off, only a
/// steal by the idle P can get one onto a second thread, so the tasks wait
/// for it however late a loaded machine runs the second M (and give up
/// after 60 s, failing the test, if it never steals).
#[test]
fn idle_proc_steals_from_a_busy_one() {
    let rt = runtime(2);
    let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let t = threads.clone();
    let give_up = Instant::now() + Duration::from_secs(60);
    rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let t = t.clone();
                spawn(async move {
                    t.lock().unwrap().insert(std::thread::current().id());
                    // Until the other P has taken tasks from this one.
                    while t.lock().unwrap().len() < 2 && Instant::now() < give_up {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    }))
    .unwrap();
    let m = rt.metrics();
    let steals: u64 = (0..2).map(|i| m.proc(i).steals()).sum();
    let stolen: u64 = (0..2).map(|i| m.proc(i).stolen()).sum();
    assert!(steals >= 1, "the idle P must steal from the busy one");
    assert!(stolen >= steals, "each steal takes at least one task");
    assert!(
        threads.lock().unwrap().len() >= 2,
        "the tasks must run on two Ms"
    );
}

#[test]
fn task_in_runnext_of_a_blocked_p_still_runs() {
    // The parent puts a child in its P's runnext, then blocks its thread
    // until the child has run: some other M must take the child (by
    // stealing runnext, or after sysmon hands the P off).
    // With 2 Ps the idle one steals it; with 1 P sysmon hands the P off.
    for procs in [1, 2] {
        let rt = Runtime::builder().max_procs(procs).build().unwrap();
        let ran = rt
            .block_on(rt.spawn(async {
                let (tx, rx) = mpsc::channel();
                let child = spawn(async move { tx.send(()).unwrap() });
                let ok = rx.recv_timeout(Duration::from_secs(30)).is_ok();
                child.await.unwrap();
                ok
            }))
            .unwrap();
        assert!(
            ran,
            "a task in the runnext of a blocked P never ran (procs = {procs})"
        );
    }
}

#[test]
fn runnext_ping_pong_cannot_starve_a_third_task() {
    // sysmon on: its time slice is what breaks the chain.
    let rt = Runtime::builder().max_procs(1).build().unwrap();
    let handle = rt.handle();
    let rounds = Arc::new(AtomicUsize::new(0));
    let (r, seen) = (rounds.clone(), rounds.clone());
    let (done_tx, done_rx) = mpsc::channel();
    rt.spawn(async move {
        use futures::StreamExt;
        let (a_tx, mut a_rx) = futures::channel::mpsc::unbounded::<()>();
        let (b_tx, mut b_rx) = futures::channel::mpsc::unbounded::<()>();
        let a_tx2 = a_tx.clone();
        // Each wakes the other: the woken task goes to runnext, forever.
        spawn(async move {
            while a_rx.next().await.is_some() {
                r.fetch_add(1, Ordering::Relaxed);
                let _ = b_tx.unbounded_send(());
            }
        });
        spawn(async move {
            while b_rx.next().await.is_some() {
                let _ = a_tx2.unbounded_send(());
            }
        });
        a_tx.unbounded_send(()).unwrap();
        // A third task, queued from another thread once the pair runs.
        std::thread::spawn(move || {
            wait_for("the pair's first round", || {
                seen.load(Ordering::Relaxed) > 0
            });
            handle.spawn(async move { done_tx.send(()).unwrap() });
        });
    });
    let ran = done_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    assert!(ran, "a runnext ping-pong pair starved the third task");
    assert!(rounds.load(Ordering::Relaxed) > 0, "the pair did ping-pong");
    rt.shutdown_timeout(Duration::from_secs(5));
}
