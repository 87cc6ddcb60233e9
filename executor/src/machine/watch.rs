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
//! A look is one load of the other P's state word and, when that P is in a
//! poll, one `Instant::now()`: O(1) per 61 ticks whatever the number of Ps;
//! no syscall unless a poll has lasted 1 ms with work waiting.
//! The case it does not cover: no M passes through the scheduler loop (one
//! P, or every M blocked or inside a long poll). Then idle and spinning Ms
//! steal from the stuck P, and sysmon's own clock (a poll seen at two
//! wake-ups, at most 10 ms apart; `FORCE_RETAKE`) is the backstop.

use std::time::{Duration, Instant};

use super::Worker;
use crate::proc::Status;
use crate::sync::Ordering;
use crate::sysmon::state::HANDOFF_AFTER;

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
    /// One look at another P than `p` (see the module docs).
    pub(super) fn watch_other_p(&self, p: usize) {
        let shared = &*self.shared;
        let n = shared.procs.len();
        if n < 2 {
            return;
        }
        let mut w = self.watch.get();
        if w.victim == p || w.victim >= n {
            w = Watch::new(next_victim(w.victim, p, n));
        }
        let victim = &shared.procs[w.victim];
        w = match (victim.state.status(), w.poll) {
            (Status::InPoll(seq) | Status::Pushing(seq), Some((seen, since))) if seen == seq => {
                let now = Instant::now();
                if now.duration_since(since) >= w.after && victim.has_work() {
                    w.after *= 4;
                    // sysmon leaves a running thread its P; on a loaded
                    // machine the kernel keeps Ms waiting for a CPU for
                    // milliseconds many times a second, and asking here
                    // saves sysmon a wake-up for each (docs/benchmarks.md).
                    if !shared.m_is_running(victim.m.load(Ordering::Relaxed)) {
                        shared.sysmon.report_long_poll(w.victim, seq);
                    }
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
