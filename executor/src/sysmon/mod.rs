//! sysmon: the monitor thread, holding no P (Go's `sysmon`).
//!
//! Each wake-up it
//!
//! * **retakes** Ps from Ms stuck inside one task poll (a blocking syscall, a
//!   long computation) and hands them to other Ms (`Shared::handoffp`);
//! * sets a P's **preempt** flag when the same scheduling tick has lasted
//!   [`TIME_SLICE`] (10 ms): the P's next `runnext` task then goes to the
//!   GRQ instead of inheriting the slice (Go puts a preempted goroutine on the
//!   global queue), so a `runnext` ping-pong chain gives way;
//! * **polls the reactor** without blocking when nobody has for
//!   [`REACTOR_POLL_GAP`] (10 ms); sysmon holds no P, so the woken tasks go to
//!   the GRQ;
//! * prints the **schedtrace** line when `GMP_SCHEDTRACE` asks for it.
//!
//! # The retake rule
//!
//! sysmon reads each P's ownership word. A P in `InPoll(seq)` (or
//! `Pushing(seq)`) whose `seq` it already saw at an earlier wake-up has been
//! inside one poll since then. sysmon takes it (CAS `InPoll(seq)` → `Owned`,
//! `ProcState::try_retake`) when
//!
//! * the poll has lasted [`HANDOFF_AFTER`] (1 ms) by sysmon's clock, the P is
//!   needed — it has runnable work of its own (`runnext`, the LRQ, the
//!   yielded ring), or no P is idle and no M spins, so nobody else would pick
//!   up work arriving now — **and** the M's thread is not running: the kernel
//!   says it is blocked (`kernel::thread_is_running` reads the state letter
//!   of `/proc/self/task/<tid>/stat`; anything but `R`, or a thread id or
//!   file that cannot be read, counts as not running). A computing poll keeps
//!   its P: handing it off would only add a runnable thread to busy CPUs; or
//! * the poll has lasted [`FORCE_RETAKE`] (10 ms), running or not, needed or
//!   not, so that new work finds the P.
//!
//! A P that is `Owned` (its M is in the scheduler, between polls) is never
//! taken: that M releases it itself.
//!
//! # The interval
//!
//! [`MIN_DELAY`] (20 µs) at start and after a retake; after 50 wake-ups in
//! a row without a retake it doubles at each wake-up, up to
//! [`BUSY_MAX_DELAY`] (1 ms) while any P is held by an M (not idle), so a
//! blocked poll costs its P's other tasks 1–3 ms (sysmon first sees the poll
//! up to one interval after it began, then waits `HANDOFF_AFTER`, then up to
//! one more interval), not 10–20; and up to [`MAX_DELAY`] (10 ms) when no P
//! is held.
//!
//! # The deep sleep
//!
//! When every P is idle and sysmon has backed off (50 wake-ups without a
//! retake: a runtime that just went idle is not watched more closely than
//! one that has been idle for long) sysmon sleeps until a P is taken from
//! the idle list
//! (`pidleget` calls `SysmonState::wake_if_sleeping`), or the next
//! schedtrace line is due, or the runtime stops, so an idle program costs no
//! CPU. It wakes with its interval capped at [`BUSY_MAX_DELAY`], not reset
//! to [`MIN_DELAY`]: a server whose one P goes idle between bursts of
//! requests had sysmon waking 3,000 times a second on the server's own CPU
//! (two context switches each). `sleeping` and `npidle` are a Dekker pair (a SeqCst fence between
//! store and load on each side), and sysmon checks "every P idle" while it
//! holds the lock of its condition variable, which only the wait releases;
//! `wake_if_sleeping` notifies under that lock, so a wake-up cannot fall
//! between the check and the wait (the loom model
//! `sysmon_deep_sleep_is_woken_when_a_proc_is_taken`).

pub(crate) mod sleep;

use std::time::{Duration, Instant};

use crate::kernel::thread_is_running;
use crate::machine::{Machine, NO_P};
use crate::netpoll::{self as reactor, Reactor};
use crate::proc::{ProcStats, Status};
use crate::sched::Shared;
use crate::sync::{Arc, Ordering};

/// Shortest sysmon interval.
pub(crate) const MIN_DELAY: Duration = Duration::from_micros(20);
/// Wake-ups without a retake after which the interval starts doubling and
/// sysmon may sleep deeply (Go's 50).
const BACKOFF_AFTER: u32 = 50;
/// Longest interval while some P is held by an M.
pub(crate) const BUSY_MAX_DELAY: Duration = Duration::from_millis(1);
/// Longest interval otherwise.
pub(crate) const MAX_DELAY: Duration = Duration::from_millis(10);
/// A poll must have lasted this long (by sysmon's clock) before its P is
/// taken for the sake of the P's other work. Go takes a P from a syscall after
/// one sysmon tick (20 µs); a task poll is usually computation, and taking the
/// P of every poll that spawns a few hundred tasks costs more than it gains
/// (see docs/benchmarks.md), so gmp waits 1 ms.
pub(crate) const HANDOFF_AFTER: Duration = Duration::from_millis(1);
/// A poll this long loses its P even when the P has no other work.
pub(crate) const FORCE_RETAKE: Duration = Duration::from_millis(10);
/// A scheduling tick this long sets the preempt flag (Go's `forcePreemptNS`).
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(10);
/// sysmon polls the reactor itself when nobody has for this long.
pub(crate) const REACTOR_POLL_GAP: Duration = Duration::from_millis(10);

/// Starts sysmon for `shared`.
pub(crate) fn start(shared: &Arc<Shared>) -> std::io::Result<()> {
    let weak = Arc::downgrade(shared);
    let thread = std::thread::Builder::new()
        .name(format!("{}-sysmon", shared.config.thread_name))
        .spawn(move || {
            let mut monitor = Monitor::new();
            while let Some(shared) = weak.upgrade() {
                if !monitor.tick(&shared) {
                    break;
                }
            }
        })?;
    shared.sysmon.set_thread(thread);
    Ok(())
}

/// What sysmon remembers of one P between wake-ups.
#[derive(Clone, Copy)]
struct Seen {
    /// The poll it was inside, and when sysmon first saw that poll.
    poll: Option<(u64, Instant)>,
    /// Its schedtick, and when sysmon first saw that value.
    tick: (u64, Instant),
}

/// sysmon's private state.
struct Monitor {
    delay: Duration,
    /// Wake-ups in a row without a retake.
    idle: u32,
    seen: Vec<Seen>,
    /// When the next schedtrace line is due.
    next_trace: Option<Instant>,
    started: Instant,
}

impl Monitor {
    fn new() -> Self {
        Monitor {
            delay: MIN_DELAY,
            idle: 0,
            seen: Vec::new(),
            next_trace: None,
            started: Instant::now(),
        }
    }

    /// One wake-up. `false` when the runtime is gone.
    fn tick(&mut self, shared: &Arc<Shared>) -> bool {
        let state = &shared.sysmon;
        let all_idle = shared.npidle.load(Ordering::SeqCst) == shared.procs.len();
        let trace_every = shared.config.schedtrace;
        if all_idle && self.idle > BACKOFF_AFTER {
            // Deep sleep until a P is taken (or a schedtrace line is due).
            let all_idle = || shared.npidle.load(Ordering::SeqCst) == shared.procs.len();
            let stopped = state.sleep_while(all_idle, trace_every.map(|t| self.until_trace(t)));
            if stopped {
                return false;
            }
            // A P taken from the idle list says nothing about long polls:
            // no 20 µs storm after each wake (a server whose one P goes
            // idle between bursts of requests would pay for it in context
            // switches on its own CPU), only the busy cap.
            self.delay = self.delay.min(BUSY_MAX_DELAY);
        } else if state.sleep(self.delay) {
            return false;
        }
        if shared.is_closing() {
            return false;
        }
        let now = Instant::now();
        let (retaken, any_busy) = self.retake(shared, now);
        self.poll_reactor_if_stale();
        if retaken > 0 {
            self.idle = 0;
            self.delay = MIN_DELAY;
        } else {
            self.idle = self.idle.saturating_add(1);
            if self.idle > BACKOFF_AFTER {
                let cap = if any_busy { BUSY_MAX_DELAY } else { MAX_DELAY };
                self.delay = (self.delay * 2).min(cap);
            }
        }
        if let Some(every) = trace_every {
            if now >= self.next_trace.unwrap_or(self.started + every) {
                self.next_trace = Some(now + every);
                crate::schedtrace::print(shared, now.duration_since(self.started));
            }
        }
        true
    }

    fn until_trace(&self, every: Duration) -> Duration {
        let next = self.next_trace.unwrap_or(self.started + every);
        next.saturating_duration_since(Instant::now())
    }

    /// Takes Ps from Ms stuck in a poll; sets preempt flags. Returns how many
    /// Ps were taken and whether any P is held by an M.
    fn retake(&mut self, shared: &Arc<Shared>, now: Instant) -> (usize, bool) {
        let procs = shared.procs.len();
        self.seen.resize(
            procs,
            Seen {
                poll: None,
                tick: (0, now),
            },
        );
        let mut retaken = 0;
        let mut any_busy = false;
        for (i, proc) in shared.procs.iter().enumerate() {
            let seen = &mut self.seen[i];
            let status = proc.state.status();
            // A P that is not idle may enter a long poll at any moment: keep
            // the interval short (sampling "inside a poll right now" instead
            // let the interval grow to 8 ms between two polls of a yielder).
            any_busy |= status != Status::Idle;
            // Time slice: the same tick for 10 ms on a running P.
            let tick = proc.schedtick.load(Ordering::Relaxed);
            if status == Status::Idle || seen.tick.0 != tick {
                seen.tick = (tick, now);
            } else if now.duration_since(seen.tick.1) >= TIME_SLICE {
                proc.preempt.store(true, Ordering::Relaxed);
                seen.tick = (tick, now);
            }
            let seq = match status {
                Status::InPoll(seq) | Status::Pushing(seq) => seq,
                _ => {
                    seen.poll = None;
                    continue;
                }
            };
            let since = match seen.poll {
                Some((s, since)) if s == seq => since,
                _ => {
                    seen.poll = Some((seq, now));
                    continue;
                }
            };
            let npidle = shared.npidle.load(Ordering::SeqCst);
            // Go's rule: the P is needed if it has work of its own, or if no
            // P is idle and no M spins, so that nobody else would pick up
            // work arriving now (a timer that fired, a wake from the
            // reactor, the GRQ).
            let has_work =
                proc.has_work() || npidle + shared.nmspinning.load(Ordering::SeqCst) == 0;
            let age = now.duration_since(since);
            if age < FORCE_RETAKE {
                if age < HANDOFF_AFTER || !has_work {
                    continue;
                }
                let m = proc.m.load(Ordering::Relaxed);
                if m_is_running(shared, m) {
                    continue;
                }
            }
            let from_m = proc.m.load(Ordering::Relaxed);
            if proc.state.try_retake(seq) {
                seen.poll = None;
                ProcStats::count(&proc.stats.handoffs, 1);
                shared.trace.handoff(i, from_m);
                if let Some(m) = machine(shared, from_m) {
                    // For schedtrace: the blocked M holds no P any more.
                    m.p.store(NO_P, Ordering::Relaxed);
                }
                shared.handoffp(i);
                retaken += 1;
            }
        }
        (retaken, any_busy)
    }
}

/// M `m` of `shared`, if it is alive.
fn machine(shared: &Shared, m: usize) -> Option<Arc<Machine>> {
    shared.lock().all_ms.iter().find(|x| x.id == m).cloned()
}

/// Whether M `m`'s thread is on a CPU (or waiting for one) rather than
/// blocked in the kernel.
fn m_is_running(shared: &Shared, m: usize) -> bool {
    let tid = machine(shared, m).map_or(0, |x| x.tid.load(Ordering::Relaxed));
    thread_is_running(tid).unwrap_or(false)
}

impl Monitor {
    /// Polls the reactor when nobody has for 10 ms; the woken tasks go to
    /// the GRQ (sysmon holds no P).
    fn poll_reactor_if_stale(&self) {
        let reactor = reactor::get();
        if !reactor.has_waiters() || reactor.is_blocked() {
            return;
        }
        let age = Reactor::now_nanos().saturating_sub(reactor.last_poll_nanos());
        if age < REACTOR_POLL_GAP.as_nanos() as u64 {
            return;
        }
        let mut wakers = Vec::new();
        if let Some(Ok(_)) = reactor.try_poll(Some(Duration::ZERO), &mut wakers) {
            wakers.into_iter().for_each(std::task::Waker::wake);
        }
    }
}
