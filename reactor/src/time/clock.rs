//! The test clock: a runtime's own virtual time, which can be paused,
//! advanced by hand, and made to jump to the next timer when the runtime is
//! idle (tokio's `start_paused` / auto-advance).
//!
//! Protocol:
//!
//! - A runtime built with `start_paused(true)` owns one [`Clock`]. Its
//!   threads make it this thread's current clock ([`with_current`] around
//!   each task poll, [`enter`] inside `block_on`, `Handle::enter` and the
//!   blocking pool); a [`Sleep`](super::Sleep) created there takes the clock
//!   with it and arms its timer in the clock's map, not in the reactor's.
//! - Virtual time is `anchor_virtual` while paused, and `anchor_virtual +
//!   (real now - anchor_real)` while running; [`Clock::advance_now`] moves the
//!   anchor forward (only while paused). Virtual time never goes backwards.
//! - Timers fire (their wakers are woken) once virtual now has reached their
//!   deadline: at once on `advance`, and by the runtime's clock thread, which
//!   also fires them as real time runs while resumed, and, while paused,
//!   jumps virtual time to the earliest deadline when the runtime has been
//!   seen idle twice in a row with no timer activity in between
//!   ([`Clock::auto_advance`]). Threads that are busy outside a P (a
//!   `block_on` polling its future) hold the clock "inhibited" meanwhile.
//! - Everything is under one mutex; the clock thread waits on `cv`, which
//!   every change notifies.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::deadline_after;

/// A runtime's virtual clock; see the module docs.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::Clock;
/// use std::time::Duration;
///
/// let clock = Clock::new_paused();
/// let t0 = clock.now();
/// clock.advance_now(Duration::from_secs(30));
/// assert_eq!(clock.now() - t0, Duration::from_secs(30));
/// ```
#[derive(Debug)]
pub struct Clock {
    /// Time, timers and counters.
    state: Mutex<State>,
    /// Notified on every change, for the clock thread.
    cv: Condvar,
}

/// What `Clock::state` protects.
#[derive(Debug)]
struct State {
    /// Whether time stands still.
    paused: bool,
    /// The real instant at which `anchor_virtual` was current (running).
    anchor_real: Instant,
    /// Virtual now while paused; virtual time at `anchor_real` while running.
    anchor_virtual: Instant,
    /// Armed timers by (virtual deadline, id).
    timers: BTreeMap<(Instant, u64), Waker>,
    /// Next timer id.
    next_id: u64,
    /// Bumped on every insert, removal and firing: the clock thread advances
    /// only if it saw no change between two idle checks.
    generation: u64,
    /// Threads busy outside a P (`block_on` polling): no auto-advance.
    inhibited: usize,
    /// The runtime is gone: the clock thread exits.
    closed: bool,
}

impl State {
    /// Virtual now.
    fn now(&self) -> Instant {
        if self.paused {
            self.anchor_virtual
        } else {
            self.anchor_virtual + self.anchor_real.elapsed()
        }
    }

    /// Takes the wakers of the timers due at virtual `now`.
    fn take_due(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        if !due.is_empty() {
            self.generation += 1;
        }
        due
    }
}

impl Clock {
    /// A clock that starts paused at the current real instant.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// assert!(clock.is_paused());
    /// ```
    pub fn new_paused() -> Arc<Clock> {
        let now = Instant::now();
        Arc::new(Clock {
            state: Mutex::new(State {
                paused: true,
                anchor_real: now,
                anchor_virtual: now,
                timers: BTreeMap::new(),
                next_id: 0,
                generation: 0,
                inhibited: 0,
                closed: false,
            }),
            cv: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Virtual now.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// assert_eq!(clock.now(), clock.now()); // paused: time stands still
    /// ```
    pub fn now(&self) -> Instant {
        self.lock().now()
    }

    /// Whether the clock is paused.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// clock.resume();
    /// assert!(!clock.is_paused());
    /// ```
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// Stops time (no-op if paused).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// clock.resume();
    /// clock.pause();
    /// assert!(clock.is_paused());
    /// ```
    pub fn pause(&self) {
        let mut state = self.lock();
        if !state.paused {
            state.anchor_virtual = state.now();
            state.paused = true;
        }
        drop(state);
        self.cv.notify_all();
    }

    /// Lets time run again at the real pace, from where it stood.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// let t0 = clock.now();
    /// clock.resume();
    /// assert!(clock.now() >= t0);
    /// ```
    pub fn resume(&self) {
        let mut state = self.lock();
        if state.paused {
            state.anchor_real = Instant::now();
            state.paused = false;
        }
        drop(state);
        self.cv.notify_all();
    }

    /// Moves paused time forward by `d` and wakes the timers now due.
    ///
    /// # Panics
    ///
    /// If the clock is not paused.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// let t0 = clock.now();
    /// clock.advance_now(std::time::Duration::from_millis(5));
    /// assert!(clock.now() > t0);
    /// ```
    pub fn advance_now(&self, d: Duration) {
        let mut state = self.lock();
        assert!(
            state.paused,
            "gmp::time::advance called while the clock is running: call gmp::time::pause() first"
        );
        state.anchor_virtual = deadline_after(state.anchor_virtual, d);
        let now = state.anchor_virtual;
        let due = state.take_due(now);
        drop(state);
        self.cv.notify_all();
        due.into_iter().for_each(Waker::wake);
    }

    /// Arms a timer at virtual `deadline`; its id.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> u64 {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.generation += 1;
        state.timers.insert((deadline, id), waker.clone());
        drop(state);
        self.cv.notify_all();
        id
    }

    /// Refreshes an armed timer's waker; false if it fired.
    pub(crate) fn update(&self, deadline: Instant, id: u64, waker: &Waker) -> bool {
        match self.lock().timers.get_mut(&(deadline, id)) {
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
    pub(crate) fn remove(&self, deadline: Instant, id: u64) {
        let mut state = self.lock();
        if state.timers.remove(&(deadline, id)).is_some() {
            state.generation += 1;
        }
    }

    /// A thread starts being busy outside a P: no auto-advance until the
    /// matching [`Clock::allow`].
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// clock.inhibit();
    /// clock.allow();
    /// ```
    pub fn inhibit(&self) {
        self.lock().inhibited += 1;
    }

    /// Ends an [`inhibit`](Clock::inhibit).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// clock.inhibit();
    /// clock.allow();
    /// ```
    pub fn allow(&self) {
        let mut state = self.lock();
        state.inhibited = state.inhibited.saturating_sub(1);
        drop(state);
        self.cv.notify_all();
    }

    /// Stops the clock thread (the runtime is shutting down).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// clock.close();
    /// assert!(clock.is_closed());
    /// ```
    pub fn close(&self) {
        self.lock().closed = true;
        self.cv.notify_all();
    }

    /// Whether [`close`](Clock::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gmp_reactor::time::Clock::new_paused().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// One step of the runtime's clock thread: fires the timers due at
    /// virtual now, then waits for a change or `period` (real time, less if
    /// a running clock's next timer is due sooner). Returns an idle
    /// observation for [`auto_advance`](Clock::auto_advance): the timer
    /// generation if the clock is paused, uninhibited and has timers.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// assert_eq!(clock.tick(std::time::Duration::from_millis(1)), None); // no timers
    /// ```
    pub fn tick(&self, period: Duration) -> Option<u64> {
        let mut state = self.lock();
        let now = state.now();
        let due = state.take_due(now);
        if !due.is_empty() {
            drop(state);
            due.into_iter().for_each(Waker::wake);
            return None;
        }
        let mut wait = period;
        if !state.paused {
            if let Some(((next, _), _)) = state.timers.first_key_value() {
                wait = wait.min(next.saturating_duration_since(now));
            }
        }
        let observed = (state.paused && state.inhibited == 0 && !state.timers.is_empty())
            .then_some(state.generation);
        let state = match self.cv.wait_timeout(state, wait) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
        observed.filter(|&g| g == state.generation && state.paused && state.inhibited == 0)
    }

    /// Jumps paused time to the earliest deadline and wakes what is due,
    /// if nothing changed since `observed` (from [`tick`](Clock::tick)).
    /// Called by the runtime when it has also seen every P idle across that
    /// interval. Whether time moved.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gmp_reactor::time::Clock::new_paused();
    /// assert!(!clock.auto_advance(0)); // no timers: nothing to jump to
    /// ```
    pub fn auto_advance(&self, observed: u64) -> bool {
        let mut state = self.lock();
        if !state.paused || state.inhibited > 0 || state.generation != observed {
            return false;
        }
        let Some(((next, _), _)) = state.timers.first_key_value() else {
            return false;
        };
        let next = *next;
        if next > state.anchor_virtual {
            state.anchor_virtual = next;
        }
        let now = state.anchor_virtual;
        let due = state.take_due(now);
        drop(state);
        due.into_iter().for_each(Waker::wake);
        true
    }
}

thread_local! {
    /// This thread's current clock, if its runtime has one.
    static CURRENT: RefCell<Option<Arc<Clock>>> = const { RefCell::new(None) };
}

/// Restores the previous current clock when dropped.
#[derive(Debug)]
pub struct ClockGuard {
    /// The clock that was current before.
    old: Option<Arc<Clock>>,
}

impl Drop for ClockGuard {
    fn drop(&mut self) {
        let old = self.old.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = old);
    }
}

/// Makes `clock` this thread's current clock until the guard is dropped.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{clock_enter, Clock};
/// let clock = Clock::new_paused();
/// let _guard = clock_enter(Some(&clock));
/// assert_eq!(gmp_reactor::time::now(), clock.now());
/// ```
pub fn enter(clock: Option<&Arc<Clock>>) -> ClockGuard {
    let old = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), clock.cloned()));
    ClockGuard { old }
}

/// Runs `f` with `clock` as this thread's current clock.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{clock_with_current, Clock};
/// let clock = Clock::new_paused();
/// assert!(clock_with_current(&clock, || gmp_reactor::time::now() == clock.now()));
/// ```
pub fn with_current<R>(clock: &Arc<Clock>, f: impl FnOnce() -> R) -> R {
    let _guard = enter(Some(clock));
    f()
}

/// Makes `clock` this thread's current clock; returns the one it replaces
/// (for contexts that keep their own stack, like the executor's entered
/// runtimes).
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{clock_replace, Clock};
/// let clock = Clock::new_paused();
/// let old = clock_replace(Some(clock.clone()));
/// assert_eq!(gmp_reactor::time::now(), clock.now());
/// clock_replace(old);
/// ```
pub fn replace(clock: Option<Arc<Clock>>) -> Option<Arc<Clock>> {
    CURRENT
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), clock))
        .ok()
        .flatten()
}

/// This thread's current clock, if any.
pub(crate) fn current() -> Option<Arc<Clock>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// The current clock, or a panic naming `what` needs one.
fn expect_current(what: &str) -> Arc<Clock> {
    match current() {
        Some(clock) => clock,
        None => panic!(
            "gmp::time::{what} needs the test clock: call it inside a runtime built with \
             Builder::start_paused(true) (or #[gmp::test(start_paused = true)])"
        ),
    }
}

/// Now, on the current runtime's clock: virtual time on a runtime with the
/// test clock, else `Instant::now()`.
///
/// # Examples
///
/// ```
/// let a = gmp_reactor::time::now();
/// assert!(gmp_reactor::time::now() >= a);
/// ```
pub fn now() -> Instant {
    match current() {
        Some(clock) => clock.now(),
        None => Instant::now(),
    }
}

/// Pauses the current runtime's test clock.
///
/// # Panics
///
/// Outside a runtime built with `Builder::start_paused(true)`.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{clock_enter, pause, resume, Clock};
/// let clock = Clock::new_paused();
/// let _guard = clock_enter(Some(&clock));
/// resume();
/// pause();
/// assert!(clock.is_paused());
/// ```
pub fn pause() {
    expect_current("pause()").pause();
}

/// Resumes the current runtime's test clock: time runs again at the real
/// pace from where it stood.
///
/// # Panics
///
/// Outside a runtime built with `Builder::start_paused(true)`.
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{clock_enter, resume, Clock};
/// let clock = Clock::new_paused();
/// let _guard = clock_enter(Some(&clock));
/// resume();
/// assert!(!clock.is_paused());
/// ```
pub fn resume() {
    expect_current("resume()").resume();
}

/// Moves the current runtime's paused clock forward by `d`, wakes the timers
/// now due, and yields once so that the tasks they woke can run.
///
/// # Panics
///
/// Outside a runtime built with `Builder::start_paused(true)`, or if the
/// clock is running (not paused).
///
/// # Examples
///
/// ```
/// use gmp_reactor::time::{advance, clock_enter, Clock};
/// use std::time::Duration;
/// let clock = Clock::new_paused();
/// let _guard = clock_enter(Some(&clock));
/// let t0 = clock.now();
/// futures::executor::block_on(advance(Duration::from_secs(60)));
/// assert_eq!(clock.now() - t0, Duration::from_secs(60));
/// ```
pub fn advance(d: Duration) -> impl Future<Output = ()> {
    let clock = expect_current("advance()");
    let mut advanced = false;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if advanced {
            return Poll::Ready(());
        }
        advanced = true;
        clock.advance_now(d);
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}
