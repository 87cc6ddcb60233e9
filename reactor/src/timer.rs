//! The reactor's timers: an ordered map (a `BTreeMap`) from deadline to
//! waker, earliest first; not a timer wheel.
//!
//! Protocol:
//!
//! - A timer is the key `(deadline, id)`; `id` comes from a counter and makes
//!   keys unique. The owner (a `Sleep`) keeps the key and removes it when it
//!   is dropped or reset; a fired timer is already gone.
//! - A timer fires (its waker is handed out) only once `Instant::now() >=
//!   deadline`; `Instant` is monotonic, so the `Sleep` that is then polled
//!   sees its deadline passed too. Nothing ever completes early.
//! - `wait` records the deadline the thread blocked in the poller will wake
//!   at. It is read and written under the same lock as the map, so a timer
//!   inserted with an earlier deadline always sees it and kicks the poller
//!   (`Reactor::notify`).

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

/// What the thread inside `Reactor::try_poll` is doing, as far as timers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollerWait {
    /// Nobody is blocked in the poller.
    Idle,
    /// Blocked with no timeout: any new timer must kick it.
    Forever,
    /// Blocked until this instant: a timer due earlier must kick it.
    Until(Instant),
}

/// The armed timers and the poller's current wait. Lives in a mutex inside
/// the reactor.
#[derive(Debug)]
pub(crate) struct Timers {
    /// Armed timers, earliest first.
    map: BTreeMap<(Instant, u64), Waker>,
    /// Next timer id.
    next_id: u64,
    /// The deadline the blocked poller uses; written by the polling thread.
    pub(crate) wait: PollerWait,
}

impl Timers {
    /// No timers, nobody waiting.
    pub(crate) fn new() -> Timers {
        Timers {
            map: BTreeMap::new(),
            next_id: 0,
            wait: PollerWait::Idle,
        }
    }

    /// Arms a timer; returns its id. Also returns whether the blocked poller
    /// must be kicked to honour the new deadline.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: &Waker) -> (u64, bool) {
        let id = self.next_id;
        self.next_id += 1;
        self.map.insert((deadline, id), waker.clone());
        let kick = match self.wait {
            PollerWait::Idle => false,
            PollerWait::Forever => true,
            PollerWait::Until(at) => deadline < at,
        };
        (id, kick)
    }

    /// Replaces the waker of a still-armed timer. Returns false if the timer
    /// is gone (it fired).
    pub(crate) fn update(&mut self, deadline: Instant, id: u64, waker: &Waker) -> bool {
        match self.map.get_mut(&(deadline, id)) {
            Some(w) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Disarms a timer (no-op if it fired).
    pub(crate) fn remove(&mut self, deadline: Instant, id: u64) {
        self.map.remove(&(deadline, id));
    }

    /// Hands out the wakers of every timer due at `now`; returns how many.
    pub(crate) fn fire(&mut self, now: Instant, wakers: &mut Vec<Waker>) -> usize {
        let mut fired = 0;
        while let Some(entry) = self.map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            wakers.push(entry.remove());
            fired += 1;
        }
        fired
    }

    /// The earliest deadline, if any timer is armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
