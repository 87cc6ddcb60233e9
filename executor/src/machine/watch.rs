//! The hand-off watch: Ms in the scheduler loop notice a P stuck in one poll.
//!
//! sysmon wakes at most every 10 ms on a busy runtime (`sysmon::MAX_DELAY`),
//! which alone would leave a P whose M blocked inside a poll stuck for 10–20
//! ms with runnable tasks in its queues. When all other Ps are busy, their
//! Ms pass through `find_runnable` often; at every 61st tick (the fairness
//! step, once per tick value) an M looks at ONE other P:
//!
//! * the P is in `InPoll(seq)` (or `Pushing(seq)`) with the `seq` this M
//!   saw at its previous look, that look was at least
//!   [`HANDOFF_AFTER`](crate::sysmon::state::HANDOFF_AFTER) (1 ms) ago, and the P
//!   has runnable work of its own, and the kernel says that P's M is not
//!   running (`Shared::m_is_running`, one read of `/proc`, on this rare
//!   path only): the M reports the poll to sysmon
//!   (`SysmonState::report_long_poll`: a flag, and the condition variable
//!   only when no report is pending), which retakes the P with its usual
//!   checks (the M's thread is not running, the P is needed). It reports the
//!   same poll again only after four times as long (1 ms, then 4 ms after the
//!   first look; by 10–20 ms sysmon's own clock forces the retake), so a poll
//!   that computes, or whose M waits for a CPU, costs sysmon two wake-ups,
//!   not one per look;
//! * the P is in its first poll seen by this M: the M notes `seq` and the
//!   time, and looks at the same P next time;
//! * otherwise (another poll than the one noted, or not in a poll) the P
//!   makes progress: the next look goes to the next P, round-robin.
//!
//! Whatever the kernel says, a poll seen by two looks at least
//! [`RESCUE_AFTER`] (100 µs, some twenty ordinary polls) apart has its P's
//! queued tasks waiting behind it, and this M is running: it takes that P's
//! LRQ, then its `runnext`, then its yielded ring into its own, half at a
//! time as a thief would, and runs the newest task of the first half now (a
//! *rescue*, counted in `ProcStats::rescues`). This is what the M is for
//! when the stuck M is merely waiting for a CPU, which a hand-off cannot
//! help (a new M would wait for the same CPUs): on a 2-core machine serving
//! HTTP, the kernel preempts one M for a time slice (about 3 ms) with dozens
//! of woken connections in its LRQ while the other M serves its own, and
//! those connections made the 99th percentile. It takes all of them, not
//! one half per look: a half left behind would wait a look (about 61 polls)
//! for the next rescue. Each half needs room in this M's ring
//! (`LocalQueue::steal_into`), so a rescue goes on only while that ring is
//! at most half full.
//!
//! A look is one load of the other P's state word and, when that P is in a
//! poll, one `Instant::now()`: O(1) per 61 ticks whatever the number of Ps;
//! no syscall unless a poll has lasted 1 ms with work waiting.
//! The case it does not cover: no M passes through the scheduler loop (one
//! P, or every M blocked or inside a long poll). Then idle and spinning Ms
//! steal from the stuck P, and sysmon's own clock (a poll seen at two
//! wake-ups, at most 10 ms apart; `FORCE_RETAKE`) is the backstop.

use std::time::{Duration, Instant};

use super::Worker;
use crate::proc::{ProcStats, Status};
use crate::queue::LOCAL_QUEUE_CAPACITY;
use crate::sched::Task;
use crate::sync::Ordering;
use crate::sysmon::state::HANDOFF_AFTER;

/// How long a poll of another P must have lasted, between two looks of this
/// M, before this M rescues that P's queued tasks (see the module docs).
const RESCUE_AFTER: Duration = Duration::from_micros(100);

/// What one M remembers of the P it watches. Only its own thread touches it.
#[derive(Clone, Copy)]
pub(crate) struct Watch {
    /// The P it looks at next.
    victim: usize,
    /// The poll of `victim` seen at the previous look and when, if that look
    /// found it inside a poll.
    poll: Option<(u64, Instant)>,
    /// How long the poll must last past the last report (or the first look)
    /// before it is reported again.
    after: Duration,
}

impl Watch {
    /// Watching P `victim`, nothing seen yet.
    pub(crate) fn new(victim: usize) -> Watch {
        Watch {
            victim,
            poll: None,
            after: HANDOFF_AFTER,
        }
    }
}

impl Worker {
    /// One look at another P than `p` (see the module docs); returns a task
    /// rescued from it, to run now.
    pub(super) fn watch_other_p(&self, p: usize) -> Option<Task> {
        let shared = &*self.shared;
        let n = shared.procs.len();
        if n < 2 {
            return None;
        }
        let mut w = self.watch.get();
        if w.victim == p || w.victim >= n {
            w = Watch::new(next_victim(w.victim, p, n));
        }
        let victim = &shared.procs[w.victim];
        let mut rescued = None;
        w = match (victim.state.status(), w.poll) {
            (Status::InPoll(seq) | Status::Pushing(seq), Some((seen, since))) if seen == seq => {
                let age = Instant::now().duration_since(since);
                if age >= w.after && victim.has_work() {
                    w.after *= 4;
                    // sysmon leaves a running thread its P; on a loaded
                    // machine the kernel keeps Ms waiting for a CPU for
                    // milliseconds many times a second, and asking here
                    // saves sysmon a wake-up for each (docs/benchmarks.md).
                    if !shared.m_is_running(victim.m.load(Ordering::Relaxed)) {
                        shared.sysmon.report_long_poll(w.victim, seq);
                    }
                }
                if age >= RESCUE_AFTER {
                    rescued = self.rescue(p, w.victim);
                }
                w
            }
            (Status::InPoll(seq) | Status::Pushing(seq), None) => Watch {
                poll: Some((seq, Instant::now())),
                ..w
            },
            _ => Watch::new(next_victim(w.victim, p, n)),
        };
        self.watch.set(w);
        rescued
    }

    /// Takes P `victim`'s queued tasks (its LRQ, then `runnext`, then its
    /// yielded ring) into P `p`'s LRQ, half at a time while `p`'s ring has
    /// room for another half, and returns the newest of the first half, to
    /// run now. A thief takes half so that both Ps keep work; the stuck M
    /// runs none of it.
    fn rescue(&self, p: usize, victim: usize) -> Option<Task> {
        #[cfg(test)]
        if !self.shared.sysmon.rescues.load(Ordering::Relaxed) {
            return None;
        }
        let me = &self.shared.procs[p];
        let room = || me.queue.len() <= LOCAL_QUEUE_CAPACITY / 2;
        if !room() {
            return None;
        }
        let task = self.steal_from(p, victim, true)?;
        while room() {
            match self.steal_from(p, victim, true) {
                Some(more) => self.shared.push_tail(p, more),
                None => break,
            }
        }
        ProcStats::count(&me.stats.rescues, 1);
        Some(task)
    }
}

/// The P after `victim` in round-robin order, skipping `p`.
fn next_victim(victim: usize, p: usize, n: usize) -> usize {
    let next = (victim + 1) % n;
    if next == p {
        (next + 1) % n
    } else {
        next
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::machine::test_util::{spawn_busy_yielders, until_the_other_p_is_busy};

    /// Two Ps, one M busy with short tasks; a task computes inside one poll
    /// until the tasks it spawned onto its own P have run. sysmon is off and
    /// the busy M never runs dry, so only a rescue can run them meanwhile.
    #[test]
    fn tasks_queued_behind_a_computing_poll_are_rescued_by_the_busy_m() {
        const QUEUED: usize = 8;
        let rt = crate::Runtime::builder()
            .max_procs(2)
            .sysmon(false)
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let polls: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let ran = Arc::new(AtomicUsize::new(0));
        let all_ran = rt.block_on(async {
            let yielders = spawn_busy_yielders(4, &stop, &polls);
            let (polls2, ran2) = (polls.clone(), ran.clone());
            let computer = crate::spawn(async move {
                until_the_other_p_is_busy(&polls2).await;
                // Onto this P: the last in its runnext, the others in its LRQ.
                let queued: Vec<_> = (0..QUEUED)
                    .map(|_| {
                        let ran = ran2.clone();
                        crate::spawn(async move {
                            ran.fetch_add(1, Relaxed);
                        })
                    })
                    .collect();
                let deadline = Instant::now() + Duration::from_secs(30);
                // All of them, the one in runnext too.
                while ran2.load(Relaxed) < QUEUED && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                (ran2.load(Relaxed) == QUEUED, queued)
            });
            let (all_ran, queued) = computer.await.unwrap();
            stop.store(true, Relaxed);
            for task in yielders.into_iter().chain(queued) {
                task.await.unwrap();
            }
            all_ran
        });
        assert!(
            all_ran,
            "the tasks in the LRQ and runnext of a P inside a computing poll did not all run \
             within 30 s: the busy M did not rescue them"
        );
        let rescues: u64 = (0..2).map(|p| rt.metrics().proc(p).rescues()).sum();
        assert!(rescues >= 1, "no rescue counted");
        assert_eq!(ran.load(Relaxed), QUEUED);
    }
}
