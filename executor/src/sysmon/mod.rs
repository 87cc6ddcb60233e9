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
//! inside one poll since then; so has one whose poll an M reported
//! (`report_long_poll`, below). sysmon takes it (CAS `InPoll(seq)` →
//! `Owned`, `ProcState::try_retake`) when
//!
//! * the poll has lasted [`HANDOFF_AFTER`] (1 ms) by sysmon's clock or by
//!   the reporting M's, the P is needed — it has runnable work of its own
//!   (`runnext`, the LRQ, the yielded ring), or no P is idle and no M spins,
//!   so nobody else would pick up work arriving now — **and** the M's thread
//!   is not running: the kernel says it is blocked
//!   (`kernel::thread_is_running` reads the state letter of
//!   `/proc/self/task/<tid>/stat`; anything but `R`, or a thread id or file
//!   that cannot be read, counts as not running). A computing poll keeps its
//!   P: handing it off would only add a runnable thread to busy CPUs; or
//! * the poll has lasted [`FORCE_RETAKE`] (10 ms) by sysmon's clock, running
//!   or not, needed or not, so that new work finds the P.
//!
//! A P that is `Owned` (its M is in the scheduler, between polls) is never
//! taken: that M releases it itself.
//!
//! # The interval, and who notices a long poll
//!
//! [`MIN_DELAY`] (20 µs) at start and after a retake; after 50 wake-ups in
//! a row without a retake it doubles at each wake-up, up to
//! [`MAX_DELAY`] (10 ms, Go's cap too), busy or not: a busy runtime whose
//! polls are short costs at most 100 wake-ups a second. A retake from an M
//! whose thread is blocked resets it to `MIN_DELAY` (Go's rule: a poll
//! really was long), so a program that blocks often keeps hand-offs of 1–3
//! ms. A `FORCE_RETAKE` from a running thread does not: on a loaded machine
//! the kernel leaves an M waiting for a CPU for 10 ms and more several times
//! a second, and resetting on each cost ~60 wake-ups (measured:
//! `docs/benchmarks.md`).
//!
//! At 10 ms sysmon alone would leave a blocked P's tasks waiting 10–20 ms
//! (it sees the poll at one wake-up and takes the P at the next). The 1–3 ms
//! hand-off comes from the **Ms that run the scheduler loop** instead
//! (`machine/watch.rs`): at every 61st tick an M looks at one other P, and
//! when that P is inside the same poll as at the M's previous look, at least
//! `HANDOFF_AFTER` earlier, with runnable work, the M reports it:
//! `report_long_poll` stores the poll's `seq` for the P and sets `nudged`;
//! only the first report since sysmon's last wake-up signals the condition
//! variable. sysmon's next `sleep` returns at once while `nudged` is set
//! (checked under the lock that the report notifies under, so a report
//! cannot fall between the check and the wait); the wake-up that clears it
//! treats the reported poll as `HANDOFF_AFTER` old and applies the rule
//! above. Where no M passes through the scheduler loop (one P; every M
//! blocked or inside a long poll) idle and spinning Ms steal from the stuck
//! P's queues, and sysmon's own clock is the backstop: the poll seen at two
//! wake-ups up to 10 ms apart, 10–20 ms in all, then `FORCE_RETAKE`.
//!
//! # The deep sleep
//!
//! When every P is idle and sysmon has backed off (50 wake-ups without a
//! retake: a runtime that just went idle is watched no more closely than
//! one idle for long) sysmon sleeps until a P is taken from the idle list
//! (`pidleget` calls `SysmonState::wake_if_sleeping`), or the next
//! schedtrace line is due, or the runtime stops, so an idle program costs no
//! CPU. It wakes with its interval where it was, not reset to
//! [`MIN_DELAY`]: a server whose one P goes idle between bursts of requests
//! had sysmon waking 3,000 times a second on the server's own CPU (two
//! context switches each). `sleeping` and `npidle` are a Dekker pair (a SeqCst fence between
//! store and load on each side), and sysmon checks "every P idle" while it
//! holds the lock of its condition variable, which only the wait releases;
//! `wake_if_sleeping` notifies under that lock, so a wake-up cannot fall
//! between the check and the wait (the loom model
//! `sysmon_deep_sleep_is_woken_when_a_proc_is_taken`).

pub(crate) mod state;

use std::time::{Duration, Instant};

use crate::netpoll::{self as reactor, Reactor};
use crate::proc::{ProcStats, Status, NO_P};
use crate::sched::Shared;
use crate::sync::{Arc, Ordering};
use state::SysmonState;
pub(crate) use state::HANDOFF_AFTER;

/// Shortest sysmon interval.
pub(crate) const MIN_DELAY: Duration = Duration::from_micros(20);
/// Wake-ups without a blocked retake after which the interval starts
/// doubling and sysmon may sleep deeply (Go's 50).
const BACKOFF_AFTER: u32 = 50;
/// Longest interval (Go's sysmon's too), busy or not: a busy runtime costs
/// at most 100 wake-ups a second. Ms in the scheduler loop report long polls
/// sooner (`report_long_poll`).
pub(crate) const MAX_DELAY: Duration = Duration::from_millis(10);
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
            // The interval stays where it was: a P taken from the idle list
            // says nothing about long polls, and a server whose one P goes
            // idle between bursts of requests paid a 20 µs storm after each
            // wake in context switches on its own CPU.
        } else if state.sleep(self.delay) {
            return false;
        }
        if shared.is_closing() {
            return false;
        }
        let nudged = state.take_nudge();
        let now = Instant::now();
        let blocked = self.retake(shared, now, nudged);
        self.poll_reactor_if_stale();
        if blocked > 0 {
            // A poll really blocked: look often again for a while (Go's
            // rule), so a program that blocks often keeps fast hand-offs. A
            // P forced from a running thread (a computing poll, or an M the
            // kernel left waiting for a CPU 10 ms on a loaded machine) does
            // not count: resetting then cost ~60 wake-ups each time.
            self.idle = 0;
            self.delay = MIN_DELAY;
        } else {
            self.idle = self.idle.saturating_add(1);
            if self.idle > BACKOFF_AFTER {
                self.delay = (self.delay * 2).min(MAX_DELAY);
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

    /// Takes Ps from Ms stuck in a poll; sets preempt flags. `nudged`: an M
    /// reported a long poll since the last wake-up. Returns how many Ps were
    /// taken from Ms whose thread was blocked (not those forced from a
    /// running thread).
    fn retake(&mut self, shared: &Arc<Shared>, now: Instant, nudged: bool) -> usize {
        let procs = shared.procs.len();
        self.seen.resize(
            procs,
            Seen {
                poll: None,
                tick: (0, now),
            },
        );
        let mut blocked = 0;
        for (i, proc) in shared.procs.iter().enumerate() {
            let seen = &mut self.seen[i];
            let status = proc.state.status();
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
            let reported = nudged && shared.sysmon.reported(i) == Some(seq);
            let age = poll_age(seen, seq, now, reported, &shared.sysmon);
            if age < HANDOFF_AFTER {
                continue;
            }
            let npidle = shared.npidle.load(Ordering::SeqCst);
            // Go's rule: the P is needed if it has work of its own, or if no
            // P is idle and no M spins, so that nobody else would pick up
            // work arriving now (a timer that fired, a wake from the
            // reactor, the GRQ).
            let has_work =
                proc.has_work() || npidle + shared.nmspinning.load(Ordering::SeqCst) == 0;
            let from_m = proc.m.load(Ordering::Relaxed);
            if age < FORCE_RETAKE && !has_work {
                continue;
            }
            let running = shared.m_is_running(from_m);
            if age < FORCE_RETAKE && running {
                continue;
            }
            if proc.state.try_retake(seq) {
                blocked += usize::from(!running);
                seen.poll = None;
                ProcStats::count(&proc.stats.handoffs, 1);
                shared.trace.handoff(i, from_m);
                if let Some(m) = shared.machine(from_m) {
                    // For schedtrace: the blocked M holds no P any more.
                    m.p.store(NO_P, Ordering::Relaxed);
                }
                shared.handoffp(i);
            }
        }
        blocked
    }
}

/// How long P's poll `seq` has lasted as far as sysmon knows: since the
/// wake-up that first saw it (recorded in `seen`; zero on that first one),
/// and at least [`HANDOFF_AFTER`] when an M `reported` it (the M saw it at
/// two looks that far apart).
fn poll_age(
    seen: &mut Seen,
    seq: u64,
    now: Instant,
    reported: bool,
    state: &SysmonState,
) -> Duration {
    let mut age = match seen.poll {
        Some((s, since)) if s == seq => now.duration_since(since),
        _ => {
            seen.poll = Some((seq, now));
            Duration::ZERO
        }
    };
    #[cfg(test)]
    if !state.own_clock.load(std::sync::atomic::Ordering::Relaxed) {
        age = Duration::ZERO;
    }
    #[cfg(not(test))]
    let _ = state;
    if reported {
        age = age.max(HANDOFF_AFTER);
    }
    age
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

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::machine::test_util::{spawn_busy_yielders, until_the_other_p_is_busy};

    /// Two Ps, both busy with tasks whose polls are short; a task blocks its
    /// thread inside one poll until the task it just spawned onto its own P
    /// has run. sysmon's own clock and the watch's rescues are off, so only
    /// an M's report can get that P handed off: the queued task runs while
    /// the poll still blocks.
    #[test]
    fn a_poll_reported_by_the_busy_m_loses_its_proc() {
        let rt = crate::Runtime::builder().max_procs(2).build().unwrap();
        let shared = rt.handle().shared.clone();
        shared.sysmon.own_clock.store(false, Relaxed);
        shared.sysmon.rescues.store(false, Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        // Polls of the short tasks, per P.
        let polls: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let ran = rt.block_on(async {
            let yielders = spawn_busy_yielders(4, &stop, &polls);
            let polls2 = polls.clone();
            let blocker = crate::spawn(async move {
                until_the_other_p_is_busy(&polls2).await;
                let (tx, rx) = std::sync::mpsc::channel();
                // Spawned onto this P (its runnext): only this P has it.
                let queued = crate::spawn(async move {
                    let _ = tx.send(());
                });
                let ran = rx.recv_timeout(Duration::from_secs(30)).is_ok();
                (ran, queued)
            });
            let (ran, queued) = blocker.await.unwrap();
            stop.store(true, Relaxed);
            for y in yielders {
                y.await.unwrap();
            }
            queued.await.unwrap();
            ran
        });
        assert!(
            ran,
            "the task queued on the blocked P did not run within 30 s: the busy M did not \
             report the poll, or sysmon did not retake the P on the report"
        );
        let handoffs: u64 = (0..2).map(|p| rt.metrics().proc(p).handoffs()).sum();
        assert!(handoffs >= 1, "no hand-off counted");
    }
}
