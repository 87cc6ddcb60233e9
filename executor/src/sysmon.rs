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
//! [`MIN_DELAY`] (20 µs) after a retake or after the deep sleep; after 50
//! wake-ups in a row without a retake it doubles at each wake-up, up to
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
//! When every P is idle sysmon sleeps until a P is taken from the idle list
//! (`pidleget` calls `SysmonState::wake_if_sleeping`), or the next
//! schedtrace line is due, or the runtime stops, so an idle program costs no
//! CPU. `sleeping` and `npidle` are a Dekker pair (a SeqCst fence between
//! store and load on each side), and sysmon checks "every P idle" while it
//! holds the lock of its condition variable, which only the wait releases;
//! `wake_if_sleeping` notifies under that lock, so a wake-up cannot fall
//! between the check and the wait (the loom model
//! `sysmon_deep_sleep_is_woken_when_a_proc_is_taken`).

use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};
use std::time::{Duration, Instant};

use crate::kernel::thread_is_running;
use crate::machine::{Machine, NO_P};
use crate::netpoll::{self as reactor, Reactor};
use crate::proc::{ProcStats, Status};
use crate::sched::Shared;
use crate::sync::{fence, lock, Arc, AtomicBool, Condvar, Mutex, Ordering};

/// Shortest sysmon interval.
pub(crate) const MIN_DELAY: Duration = Duration::from_micros(20);
/// Longest interval (Go's sysmon's too), busy or not: a busy runtime costs
/// at most 100 wake-ups a second. Ms in the scheduler loop report long polls
/// sooner (`report_long_poll`).
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

/// sysmon's shared state: how to wake it, and its thread.
pub(crate) struct SysmonState {
    /// sysmon sleeps deeply because every P is idle; `pidleget` wakes it.
    sleeping: AtomicBool,
    /// An M reported a long poll (`report_long_poll`) since sysmon last
    /// looked: its next sleep returns at once. Set by the reporting M,
    /// cleared by sysmon when it wakes.
    nudged: AtomicBool,
    /// Per P: the sequence number of the last poll an M reported as long
    /// (0: none; polls are numbered from 1). Written by the reporting M
    /// before it sets `nudged`, read by sysmon after it clears it. A hint:
    /// sysmon still checks the P's state word, its work and the M's thread.
    reports: Box<[StdAtomicU64]>,
    /// `true` once the runtime stops.
    stop: Mutex<bool>,
    /// Wakes sysmon from its deep sleep or its interval (a nudge), or for
    /// shutdown.
    cv: Condvar,
    /// The thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tests only: `false` makes sysmon retake only the polls Ms reported,
    /// never on its own clock, so a test can tell the two paths apart.
    /// Written by the test before it starts the work.
    #[cfg(test)]
    pub(crate) own_clock: std::sync::atomic::AtomicBool,
}

impl SysmonState {
    pub(crate) fn new(procs: usize) -> Self {
        SysmonState {
            sleeping: AtomicBool::new(false),
            nudged: AtomicBool::new(false),
            reports: (0..procs).map(|_| StdAtomicU64::new(0)).collect(),
            stop: Mutex::new(false),
            cv: Condvar::new(),
            thread: Mutex::new(None),
            #[cfg(test)]
            own_clock: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Called by an M that saw P `p` inside poll `seq` at two looks at least
    /// [`HANDOFF_AFTER`] apart while `p` had runnable work: wakes sysmon
    /// early (the condition variable, only if no nudge is pending), and
    /// sysmon decides with its usual checks whether to retake `p`.
    pub(crate) fn report_long_poll(&self, p: usize, seq: u64) {
        if let Some(report) = self.reports.get(p) {
            report.store(seq, StdOrdering::Relaxed);
        }
        // Release: sysmon's swap (Acquire) that clears the flag sees the
        // report. Notified under the lock that `sleep` checks the flag with,
        // so the nudge cannot fall between that check and the wait.
        if !self.nudged.swap(true, Ordering::AcqRel) {
            let _guard = lock(&self.stop);
            self.cv.notify_one();
        }
    }

    /// Called when a P leaves the idle list: ends sysmon's deep sleep.
    pub(crate) fn wake_if_sleeping(&self) {
        // Pairs with the fence in `sleep_while` (store-load on both sides).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            let _guard = lock(&self.stop);
            self.cv.notify_one();
        }
    }

    /// Stops the thread and joins it.
    pub(crate) fn stop(&self) {
        *lock(&self.stop) = true;
        self.cv.notify_one();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    /// Sleeps `delay`, or until stopped or nudged; `true` if stopped.
    fn sleep(&self, delay: Duration) -> bool {
        let stop = lock(&self.stop);
        if *stop {
            return true;
        }
        if self.nudged.load(Ordering::Acquire) {
            return false;
        }
        let (stop, _) = match self.cv.wait_timeout(stop, delay) {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        *stop
    }

    /// Sleeps while `idle()` holds (every P idle), until `wake_if_sleeping`,
    /// the `timeout` or `stop`; `true` if stopped.
    ///
    /// `sleeping` and the runtime's `npidle` form a Dekker pair: we store
    /// `sleeping` then read `npidle` (in `idle`), `pidleget` stores `npidle`
    /// then reads `sleeping`, with a SeqCst fence between store and load on
    /// each side, so at least one side sees the other. We check `idle` with the lock held and the lock is released
    /// only by the wait itself; `wake_if_sleeping` notifies with the lock
    /// held, so its notification cannot fall in between.
    pub(crate) fn sleep_while(&self, idle: impl Fn() -> bool, timeout: Option<Duration>) -> bool {
        let mut stop = lock(&self.stop);
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !*stop && idle() {
            stop = match timeout {
                Some(timeout) => match self.cv.wait_timeout(stop, timeout) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                },
                None => match self.cv.wait(stop) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
            };
        }
        self.sleeping.store(false, Ordering::SeqCst);
        *stop
    }
}

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
    *lock(&shared.sysmon.thread) = Some(thread);
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
        if all_idle {
            // Deep sleep until a P is taken (or a schedtrace line is due).
            let all_idle = || shared.npidle.load(Ordering::SeqCst) == shared.procs.len();
            let stopped = state.sleep_while(all_idle, trace_every.map(|t| self.until_trace(t)));
            if stopped {
                return false;
            }
            self.delay = MIN_DELAY;
            self.idle = 0;
        } else if state.sleep(self.delay) {
            return false;
        }
        if shared.is_closing() {
            return false;
        }
        let nudged = state.nudged.swap(false, Ordering::AcqRel);
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
            self.idle += 1;
            if self.idle > 50 {
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
            let reported = nudged
                && shared
                    .sysmon
                    .reports
                    .get(i)
                    .map(|r| r.load(StdOrdering::Relaxed))
                    == Some(seq);
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
            let running = m_is_running(shared, from_m);
            if age < FORCE_RETAKE && running {
                continue;
            }
            if proc.state.try_retake(seq) {
                blocked += usize::from(!running);
                seen.poll = None;
                ProcStats::count(&proc.stats.handoffs, 1);
                shared.trace.handoff(i, from_m);
                if let Some(m) = machine(shared, from_m) {
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
    if !state.own_clock.load(StdOrdering::Relaxed) {
        age = Duration::ZERO;
    }
    #[cfg(not(test))]
    let _ = state;
    if reported {
        age = age.max(HANDOFF_AFTER);
    }
    age
}

/// M `m` of `shared`, if it is alive.
fn machine(shared: &Shared, m: usize) -> Option<Arc<Machine>> {
    shared.lock().all_ms.iter().find(|x| x.id == m).cloned()
}

/// Whether M `m`'s thread is on a CPU (or waiting for one) rather than
/// blocked in the kernel. One read of `/proc` (and the scheduler lock to
/// find the M): for sysmon, and for an M's watch before it reports a poll.
pub(crate) fn m_is_running(shared: &Shared, m: usize) -> bool {
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

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// The P the calling task runs on.
    fn current_p() -> usize {
        crate::machine::with_worker(|w| w.and_then(|w| w.p.get()))
            .expect("not inside a task on a P")
    }

    /// Two Ps, both busy with tasks whose polls are short; a task blocks its
    /// thread inside one poll until the task it just spawned onto its own P
    /// has run. sysmon's own clock is off, so only an M's report can get
    /// that P handed off: the queued task runs while the poll still blocks.
    #[test]
    fn a_poll_reported_by_the_busy_m_loses_its_proc() {
        let rt = crate::Runtime::builder().max_procs(2).build().unwrap();
        let shared = rt.handle().shared.clone();
        shared.sysmon.own_clock.store(false, Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        // Polls of the short tasks, per P.
        let polls: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let ran = rt.block_on(async {
            let yielders: Vec<_> = (0..4)
                .map(|_| {
                    let (stop, polls) = (stop.clone(), polls.clone());
                    crate::spawn(async move {
                        while !stop.load(Relaxed) {
                            polls[current_p()].fetch_add(1, Relaxed);
                            crate::yield_now().await;
                        }
                    })
                })
                .collect();
            let polls2 = polls.clone();
            let blocker = crate::spawn(async move {
                // Wait until the other P runs short tasks: its M then stays
                // in its own queues and never steals ours.
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let mine = current_p();
                    let before = polls2[1 - mine].load(Relaxed);
                    crate::yield_now().await;
                    if current_p() == mine && polls2[1 - mine].load(Relaxed) > before {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "the other P never ran a short task"
                    );
                }
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
