//! The reactor: gmp's netpoller.
//!
//! One process-wide [`polling::Poller`] watches every registered socket, and
//! an ordered map holds every armed timer. Tasks that wait for I/O or time
//! leave a waker here and return `Pending`; the thread that polls the reactor
//! collects the wakers of whatever became ready.
//!
//! Who polls:
//!
//! - At most one thread at a time is inside [`Reactor::try_poll`]; the
//!   `poll` mutex is the gate (`try_lock`), so a second caller returns `None`
//!   at once instead of queueing behind a blocking wait.
//! - A gmp runtime's Ms poll it (non-blocking between tasks, blocking when
//!   they have nothing else to do, with the earliest timer as the timeout),
//!   and they distribute the wakers to run queues themselves. They hold a
//!   [`DriverGuard`] meanwhile.
//! - Without any guard, the fallback thread of [`crate::driver`] polls and
//!   wakes the wakers itself.
//!
//! Waking the poller: [`Reactor::notify`] posts to the poller once per
//! pending notification (the `notified` flag). Inserting a timer that is due
//! before the deadline of the wait in progress notifies too, so a blocked
//! poll never oversleeps a timer.
//!
//! I/O sources are registered once, edge-triggered, and keep a readiness
//! cache per direction; see [`crate::source`] for who sets and who clears it.

use std::collections::HashMap;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::task::Waker;
use std::time::{Duration, Instant};

use polling::{Events, Poller};

use crate::driver::Driver;
pub use crate::driver::DriverGuard;
use crate::epoll;
use crate::source::{lock, Reported, Source};
use crate::sync;
use crate::timer::{PollerWait, Timers};

/// How many events one `Poller::wait` may return.
const EVENTS_CAPACITY: usize = 1024;

/// The process-wide reactor, created on first use.
static REACTOR: OnceLock<Reactor> = OnceLock::new();

/// The origin of [`Reactor::now_nanos`].
static BASE: OnceLock<Instant> = OnceLock::new();

/// gmp's netpoller: the I/O poller, the timers and the fallback driver.
///
/// There is one per process, reached with [`Reactor::get`]. Its methods are
/// the interface between gmp's I/O and timer futures (which register wakers)
/// and whoever drives it (a gmp runtime, or the fallback thread).
///
/// # Examples
///
/// ```
/// use gmp_reactor::Reactor;
/// use std::time::Duration;
///
/// let reactor = Reactor::get();
/// let mut wakers = Vec::new();
/// // A non-blocking poll: fires due timers and ready sockets, if any.
/// if let Some(result) = reactor.try_poll(Some(Duration::ZERO), &mut wakers) {
///     let woken = result?;
///     assert_eq!(woken, wakers.len());
/// }
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct Reactor {
    /// The OS poller (epoll, kqueue, event ports). Thread-safe itself.
    poller: Poller,
    /// State used only by the thread inside `try_poll`; its lock is the
    /// "one poller at a time" gate.
    poll: Mutex<PollState>,
    /// Registered sources by key, for delivering events. Written on
    /// register/deregister (any thread), read by the polling thread.
    sources: Mutex<HashMap<usize, Arc<Source>>>,
    /// Next source key. Keys are never reused, so a stale event cannot reach
    /// a new source.
    next_key: AtomicUsize,
    /// Armed timers and the deadline of the wait in progress.
    timers: Mutex<Timers>,
    /// Copy of `timers.len()`, for [`Reactor::has_waiters`] without the lock.
    timer_count: AtomicUsize,
    /// Wakers stored in sources (tasks waiting for I/O). Maintained by
    /// [`Source`] under its own lock.
    pub(crate) io_waiters: sync::AtomicUsize,
    /// A notification is posted and not yet consumed by a wait. Set by
    /// `notify`, cleared by the polling thread after its wait returns.
    notified: AtomicBool,
    /// A thread is blocked (timeout other than zero) inside `try_poll`.
    blocked: AtomicBool,
    /// [`Reactor::now_nanos`] at the end of the last poll.
    last_poll: AtomicU64,
    /// Token of the thread inside `try_poll_as` (0: none or anonymous).
    owner: AtomicUsize,
    /// The fallback driver thread and the guards that hold it off.
    pub(crate) driver: Driver,
}

/// Buffers reused by every poll.
#[derive(Debug)]
struct PollState {
    /// Events returned by `Poller::wait`.
    events: Events,
    /// What each event reported, by key.
    reported: Vec<(usize, Reported)>,
    /// Sources of those events with what was reported, looked up in one go.
    ready: Vec<(Arc<Source>, Reported)>,
    /// The raw wait's buffer (see `crate::epoll`).
    raw: epoll::Buffer,
}

impl Reactor {
    /// The process-wide reactor, created (with its OS poller) on first use.
    ///
    /// # Panics
    ///
    /// If the OS poller cannot be created (for example, the process is out
    /// of file descriptors on its very first use of gmp I/O or timers).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// assert!(std::ptr::eq(Reactor::get(), Reactor::get()));
    /// ```
    #[inline]
    pub fn get() -> &'static Reactor {
        REACTOR.get_or_init(Reactor::new)
    }

    /// The reactor `get` makes, once.
    #[cold]
    fn new() -> Reactor {
        let poller = match Poller::new() {
            Ok(p) => p,
            Err(e) => panic!("gmp-reactor: cannot create the OS poller (epoll/kqueue): {e}"),
        };
        let capacity = NonZeroUsize::new(EVENTS_CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Reactor {
            poller,
            poll: Mutex::new(PollState {
                events: Events::with_capacity(capacity),
                reported: Vec::new(),
                ready: Vec::new(),
                raw: epoll::Buffer::new(EVENTS_CAPACITY),
            }),
            sources: Mutex::new(HashMap::new()),
            next_key: AtomicUsize::new(0),
            timers: Mutex::new(Timers::new()),
            timer_count: AtomicUsize::new(0),
            io_waiters: sync::AtomicUsize::new(0),
            notified: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            last_poll: AtomicU64::new(Reactor::now_nanos()),
            owner: AtomicUsize::new(0),
            driver: Driver::new(),
        }
    }

    /// Polls for I/O events and fires due timers.
    ///
    /// The wakers of ready sources and due timers are *pushed* into `wakers`,
    /// not woken: the caller decides where the tasks go. `timeout`: `None`
    /// blocks until an event, the earliest timer or [`Reactor::notify`];
    /// `Some(Duration::ZERO)` does not block; any other value blocks at most
    /// that long (and never past the earliest timer). The wait is skipped
    /// when a timer fired on entry.
    ///
    /// Returns `None` at once when another thread is already inside
    /// `try_poll` (at most one poller at a time), else `Some` of the number of
    /// wakers pushed, or of the poller's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    /// use std::time::Duration;
    ///
    /// let reactor = Reactor::get();
    /// let _guard = reactor.driver_guard(); // keep the fallback thread out
    /// let mut wakers = Vec::new();
    /// reactor.notify();
    /// // Returns promptly: the notification ends the wait.
    /// let n = reactor.try_poll(None, &mut wakers).expect("nobody else polls")?;
    /// assert_eq!(n, wakers.len());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_poll(
        &self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> Option<io::Result<usize>> {
        self.poll_inner(0, timeout, wakers, false, &|| false)
    }

    /// [`Reactor::try_poll`] on behalf of `owner` (a non-zero token, e.g. a
    /// runtime's address), which [`Reactor::poller`] reports while the poll
    /// lasts. A thread that finds the reactor taken can then tell whether
    /// its own runtime watches it, or another one that may stop doing so
    /// without telling it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    /// use std::time::Duration;
    ///
    /// let reactor = Reactor::get();
    /// let mut wakers = Vec::new();
    /// if let Some(n) = reactor.try_poll_as(7, Some(Duration::ZERO), &mut wakers) {
    ///     assert_eq!(n?, wakers.len());
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_poll_as(
        &self,
        owner: usize,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> Option<io::Result<usize>> {
        self.poll_inner(owner, timeout, wakers, false, &|| false)
    }

    /// [`Reactor::try_poll_as`] that does not block when `skip_wait()` is
    /// true once the poll lock is held.
    ///
    /// This closes the window between a caller's last look at its own state
    /// and its wait: whoever changes that state and then calls
    /// [`Reactor::notify`] either is seen by `skip_wait` or wakes this very
    /// wait, because no other thread can consume the notification while the
    /// lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// let mut wakers = Vec::new();
    /// // Something to do already: poll without blocking.
    /// if let Some(n) = Reactor::get().try_poll_unless(7, None, &mut wakers, &|| true) {
    ///     assert_eq!(n?, wakers.len());
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_poll_unless(
        &self,
        owner: usize,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
        skip_wait: &dyn Fn() -> bool,
    ) -> Option<io::Result<usize>> {
        self.poll_inner(owner, timeout, wakers, false, skip_wait)
    }

    /// The token of whoever is inside `try_poll_as` now: 0 if nobody, or an
    /// anonymous poller (`try_poll`, the fallback driver).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    /// // Nobody polls on behalf of token 12345 here.
    /// assert_ne!(Reactor::get().poller(), 12345);
    /// ```
    pub fn poller(&self) -> usize {
        self.owner.load(Ordering::SeqCst)
    }

    /// [`Reactor::try_poll`] for the fallback driver thread: it does not
    /// block once a [`DriverGuard`] exists. The check is made with the poll
    /// lock held, so a guard's kick cannot be consumed by someone else while
    /// the fallback thread goes on to block with the lock (which would keep
    /// the runtime's threads out of the reactor until the next event).
    pub(crate) fn poll_as_fallback(&self, wakers: &mut Vec<Waker>) -> Option<io::Result<usize>> {
        self.poll_inner(0, None, wakers, true, &|| false)
    }

    /// Body of [`Reactor::try_poll`] and [`Reactor::poll_as_fallback`].
    fn poll_inner(
        &self,
        owner: usize,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
        as_fallback: bool,
        skip_wait: &dyn Fn() -> bool,
    ) -> Option<io::Result<usize>> {
        let mut state = match self.poll.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return None,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
        };
        self.owner.store(owner, Ordering::SeqCst);
        let PollState {
            events,
            reported,
            ready,
            raw,
        } = &mut *state;
        let before = wakers.len();

        let wait = self.arm_wait(timeout, wakers, as_fallback, skip_wait);

        events.clear();
        reported.clear();
        // One syscall instead of `Poller::wait`'s five, with `EPOLLRDHUP`.
        let result = epoll::wait(&self.poller, raw, events, reported, wait);

        if wait != Some(Duration::ZERO) {
            self.blocked.store(false, Ordering::SeqCst);
            lock(&self.timers).wait = PollerWait::Idle;
        }
        // The wait is over: whatever was notified so far has had its effect.
        self.notified.store(false, Ordering::SeqCst);

        let result = match result {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        };

        self.deliver(reported, ready, wakers);

        self.last_poll.store(Reactor::now_nanos(), Ordering::SeqCst);
        self.owner.store(0, Ordering::SeqCst);
        Some(result.map(|()| wakers.len() - before))
    }

    /// Fires the timers that are due and decides how long the wait may
    /// block: not at all if a timer fired, `skip_wait()` holds or a fallback
    /// poll has guards to yield to; else until the next timer (or
    /// `timeout`). A blocking wait is published under the timers lock, so
    /// an earlier timer inserted from now on kicks it.
    fn arm_wait(
        &self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
        as_fallback: bool,
        skip_wait: &dyn Fn() -> bool,
    ) -> Option<Duration> {
        let now = Instant::now();
        let mut timers = lock(&self.timers);
        let mut wait = timeout;
        if timers.fire(now, wakers) > 0 || (as_fallback && self.driver.has_guards()) || skip_wait()
        {
            wait = Some(Duration::ZERO);
        }
        if let Some(next) = timers.next_deadline() {
            let until_next = next.saturating_duration_since(now);
            wait = Some(wait.map_or(until_next, |w| w.min(until_next)));
        }
        self.timer_count.store(timers.len(), Ordering::SeqCst);
        if wait != Some(Duration::ZERO) {
            timers.wait = match wait.and_then(|w| now.checked_add(w)) {
                Some(at) => PollerWait::Until(at),
                None => PollerWait::Forever,
            };
            self.blocked.store(true, Ordering::SeqCst);
        }
        wait
    }

    /// Delivers the I/O events of a wait, then fires the timers that came
    /// due meanwhile. Sources are looked up in one go, then delivered
    /// without the map lock.
    fn deliver(
        &self,
        reported: &[(usize, Reported)],
        ready: &mut Vec<(Arc<Source>, Reported)>,
        wakers: &mut Vec<Waker>,
    ) {
        {
            let sources = lock(&self.sources);
            ready.extend(
                reported
                    .iter()
                    .filter_map(|&(key, what)| sources.get(&key).map(|s| (Arc::clone(s), what))),
            );
        }
        for (source, what) in ready.drain(..) {
            source.deliver(&self.io_waiters, what, wakers);
        }
        let mut timers = lock(&self.timers);
        timers.fire(Instant::now(), wakers);
        self.timer_count.store(timers.len(), Ordering::SeqCst);
    }

    /// Wakes the thread blocked in [`Reactor::try_poll`]; if none is, the
    /// next blocking poll returns at once.
    ///
    /// Deduplicated: while one notification is pending, further calls cost an
    /// atomic swap and no syscall.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// let reactor = Reactor::get();
    /// reactor.notify();
    /// reactor.notify(); // free: one notification is already pending
    /// ```
    pub fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            // An eventfd/pipe write; it fails only if the poller is broken,
            // and then the next wait reports the error.
            let _ = self.poller.notify();
        }
    }

    /// True while a thread is blocked (timeout other than zero) inside
    /// [`Reactor::try_poll`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// // Usually false: the fallback driver only blocks when something waits.
    /// let _maybe = Reactor::get().is_blocked();
    /// ```
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }

    /// True if any source has a registered waker or any timer is armed.
    ///
    /// Atomic loads only. A scheduler skips non-blocking polls when this is
    /// false: each `Poller::wait` costs syscalls.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::{time, Reactor};
    /// use std::time::Duration;
    ///
    /// futures::executor::block_on(async {
    ///     let mut sleep = time::sleep(Duration::from_secs(60));
    ///     // Poll once so that the timer is armed.
    ///     let _ = futures::poll!(&mut sleep);
    ///     assert!(Reactor::get().has_waiters());
    /// });
    /// ```
    #[inline]
    pub fn has_waiters(&self) -> bool {
        self.io_waiters.load(sync::Ordering::SeqCst) > 0
            || self.timer_count.load(Ordering::SeqCst) > 0
    }

    /// [`Reactor::now_nanos`] at the end of the last poll. sysmon polls the
    /// reactor itself when this is 10 ms old.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// let reactor = Reactor::get();
    /// assert!(reactor.last_poll_nanos() <= Reactor::now_nanos());
    /// ```
    pub fn last_poll_nanos(&self) -> u64 {
        self.last_poll.load(Ordering::SeqCst)
    }

    /// Monotonic nanoseconds since a process-wide base instant (taken on the
    /// first call). Same clock as [`Reactor::last_poll_nanos`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// let a = Reactor::now_nanos();
    /// let b = Reactor::now_nanos();
    /// assert!(a <= b);
    /// ```
    pub fn now_nanos() -> u64 {
        let base = BASE.get_or_init(Instant::now);
        u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes over driving the reactor from the fallback thread.
    ///
    /// While at least one [`DriverGuard`] is alive, the fallback `gmp-reactor`
    /// thread does not poll; the first guard kicks it out of its wait. Once
    /// the last guard is dropped, the fallback thread polls again, so gmp I/O
    /// and timers keep working under any executor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Reactor;
    ///
    /// let guard = Reactor::get().driver_guard();
    /// // ... a runtime calls Reactor::get().try_poll(..) from its threads ...
    /// drop(guard);
    /// ```
    pub fn driver_guard(&self) -> DriverGuard {
        // There is only one reactor, so `self` is the `'static` one.
        self.driver.acquire(Reactor::get())
    }

    // ----- internal interface of the I/O and timer futures -----

    /// Adds `raw` to the poller, for both directions and `EPOLLRDHUP`,
    /// edge-triggered ([`crate::epoll::add`]): the only poller call for it
    /// until [`Reactor::remove_source`].
    ///
    /// The caller must keep `raw` open until it calls
    /// [`Reactor::remove_source`]; `Async` does.
    pub(crate) fn insert_source(&self, raw: RawFd) -> io::Result<Arc<Source>> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let source = Arc::new(Source::new(key, raw));
        lock(&self.sources).insert(key, Arc::clone(&source));
        // SAFETY: `raw` is open (the caller owns it) and is deleted from the
        // poller by `remove_source` before its owner closes it.
        let added = unsafe { epoll::add(&self.poller, raw, key) };
        if let Err(e) = added {
            lock(&self.sources).remove(&key);
            return Err(e);
        }
        Ok(source)
    }

    /// Deletes a source from the poller and forgets it. Must be called
    /// before the fd is closed.
    pub(crate) fn remove_source(&self, source: &Source) -> io::Result<()> {
        lock(&self.sources).remove(&source.key);
        if !source.deregister(&self.io_waiters) {
            return Ok(());
        }
        // SAFETY: the source was registered until just now, so its owner has
        // not closed the fd yet (it removes the source before closing).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(source.raw) };
        self.poller.delete(fd)
    }

    /// The counter of stored I/O wakers, for a task about to wait on a
    /// source; starts the fallback driver if nobody polls yet.
    pub(crate) fn waiters(&'static self) -> &'static sync::AtomicUsize {
        self.driver.ensure_started(self);
        &self.io_waiters
    }

    /// Arms a timer; returns its id. Kicks the blocked poller if this timer
    /// is due before the wait in progress ends.
    pub(crate) fn insert_timer(&'static self, deadline: Instant, waker: &Waker) -> u64 {
        let (id, kick) = {
            let mut timers = lock(&self.timers);
            let inserted = timers.insert(deadline, waker);
            self.timer_count.store(timers.len(), Ordering::SeqCst);
            inserted
        };
        if kick {
            self.notify();
        }
        self.driver.ensure_started(self);
        id
    }

    /// Refreshes the waker of an armed timer; false if it already fired.
    pub(crate) fn update_timer(&self, deadline: Instant, id: u64, waker: &Waker) -> bool {
        lock(&self.timers).update(deadline, id, waker)
    }

    /// Disarms a timer (no-op if it fired).
    pub(crate) fn remove_timer(&self, deadline: Instant, id: u64) {
        let mut timers = lock(&self.timers);
        timers.remove(deadline, id);
        self.timer_count.store(timers.len(), Ordering::SeqCst);
    }
}
