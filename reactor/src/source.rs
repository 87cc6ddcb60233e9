//! A registered I/O source: one file descriptor in the poller, with the
//! wakers of the tasks waiting for it.
//!
//! Protocol (oneshot mode):
//!
//! - A source is added to the poller once, with no interest. Each direction
//!   (read, write) keeps a list of wakers. The poller's interest for the fd is
//!   always "the directions whose list is non-empty", and it is changed only
//!   while the source's `state` lock is held, so the two never disagree.
//! - A task that got `WouldBlock` registers its waker. When that makes the
//!   list non-empty, the interest is re-armed with `Poller::modify`, which
//!   reports readiness that came in since the failed attempt: there is no
//!   window in which an event can be lost.
//! - Oneshot means the kernel disarms the fd after reporting it. The reactor
//!   then drains the lists of the directions that were reported (bumping their
//!   `tick`) and re-arms the directions that still have waiters.
//! - A waker is stored once (`Waker::will_wake` deduplicates). Wakers of
//!   futures that were dropped stay until the next event and cause at most one
//!   spurious wake-up.
//! - `tick` counts events per direction. `readable()`/`writable()` futures
//!   remember the tick they saw when they first registered and complete once
//!   it has moved: "an event has arrived since I started waiting".
//!
//! Oneshot (rather than edge) mode is chosen because it gives `readable()` a
//! level meaning without readiness bits that a user's own `read` would have to
//! clear: every wait re-asks the kernel. The price is one `epoll_ctl` per wait
//! that actually blocks, never one per successful operation.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use polling::{Event, Poller};

/// Which half of a source a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (or hung up / in error).
    Read = 0,
    /// Writable (or hung up / in error).
    Write = 1,
}

/// One file descriptor registered in the reactor's poller.
#[derive(Debug)]
pub(crate) struct Source {
    /// Key of this source in the poller and in `Reactor::sources`. Never reused.
    pub(crate) key: usize,
    /// The fd. Owned by the `Async` that created this source, which removes
    /// the source before it closes the fd.
    pub(crate) raw: RawFd,
    /// Waiters and registration state; every poller call for this fd is made
    /// while holding it.
    state: Mutex<SourceState>,
}

/// The mutable part of a [`Source`].
#[derive(Debug)]
struct SourceState {
    /// `[read, write]`.
    dirs: [DirState; 2],
    /// False once the source was removed from the poller; no poller call may
    /// be made for `raw` after that (the fd may be closed and reused).
    registered: bool,
}

/// The waiters of one direction of a source.
#[derive(Debug, Default)]
struct DirState {
    /// Tasks to wake on the next event of this direction. Non-empty exactly
    /// when this direction is armed in the poller.
    wakers: Vec<Waker>,
    /// Number of events delivered for this direction so far.
    tick: u64,
    /// The tick seen by the last `poll_readable`/`poll_writable` call that
    /// returned `Pending` (those calls have no future to keep it in).
    poll_tick: Option<u64>,
}

/// Locks a mutex, going on with the data if a panic poisoned it: every
/// critical section in this crate leaves its data consistent between
/// statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Source {
    /// A source for `raw`, not yet added to the poller.
    pub(crate) fn new(key: usize, raw: RawFd) -> Source {
        Source {
            key,
            raw,
            state: Mutex::new(SourceState {
                dirs: [DirState::default(), DirState::default()],
                registered: true,
            }),
        }
    }

    /// Registers `waker` to be woken on the next event in `dir`, arming the
    /// poller's interest if this direction had no waiter.
    ///
    /// `waiters` counts the armed directions of all sources
    /// (`Reactor::has_waiters`).
    pub(crate) fn register(
        &self,
        poller: &Poller,
        waiters: &AtomicUsize,
        dir: Direction,
        waker: &Waker,
    ) -> io::Result<()> {
        let mut state = lock(&self.state);
        self.register_locked(&mut state, poller, waiters, dir, waker)
    }

    /// [`Source::register`] with the lock already held.
    fn register_locked(
        &self,
        state: &mut SourceState,
        poller: &Poller,
        waiters: &AtomicUsize,
        dir: Direction,
        waker: &Waker,
    ) -> io::Result<()> {
        if !state.registered {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the I/O source was removed from the reactor",
            ));
        }
        let d = &mut state.dirs[dir as usize];
        if d.wakers.iter().any(|w| w.will_wake(waker)) {
            return Ok(()); // already armed for this task
        }
        d.wakers.push(waker.clone());
        if d.wakers.len() > 1 {
            return Ok(()); // the direction was armed already
        }
        waiters.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.rearm(state, poller) {
            state.dirs[dir as usize].wakers.clear();
            waiters.fetch_sub(1, Ordering::SeqCst);
            return Err(e);
        }
        Ok(())
    }

    /// Polls "has an event arrived in `dir` since `seen`?".
    ///
    /// The first call (`*seen == None`) registers and returns `Pending`; it
    /// records the current tick in `seen`. Later calls return `Ready` once the
    /// tick has moved (and reset `seen`), else refresh the waker.
    pub(crate) fn poll_ready(
        &self,
        poller: &Poller,
        waiters: &AtomicUsize,
        dir: Direction,
        cx: &mut Context<'_>,
        seen: &mut Option<u64>,
    ) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        self.poll_ready_locked(&mut state, poller, waiters, dir, cx, seen)
    }

    /// [`Source::poll_ready`] with the "seen" tick kept in the source itself,
    /// for `poll_readable`/`poll_writable`.
    pub(crate) fn poll_ready_shared(
        &self,
        poller: &Poller,
        waiters: &AtomicUsize,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        let mut seen = state.dirs[dir as usize].poll_tick.take();
        let res = self.poll_ready_locked(&mut state, poller, waiters, dir, cx, &mut seen);
        state.dirs[dir as usize].poll_tick = seen;
        res
    }

    /// Body of the two `poll_ready` forms.
    fn poll_ready_locked(
        &self,
        state: &mut SourceState,
        poller: &Poller,
        waiters: &AtomicUsize,
        dir: Direction,
        cx: &mut Context<'_>,
        seen: &mut Option<u64>,
    ) -> Poll<io::Result<()>> {
        let tick = state.dirs[dir as usize].tick;
        if let Some(t) = *seen {
            if t != tick {
                *seen = None;
                return Poll::Ready(Ok(()));
            }
        }
        if let Err(e) = self.register_locked(state, poller, waiters, dir, cx.waker()) {
            return Poll::Ready(Err(e));
        }
        seen.get_or_insert(tick);
        Poll::Pending
    }

    /// Delivers one poller event: drains the wakers of the reported directions
    /// into `wakers` and re-arms the directions that still wait. Returns how
    /// many wakers were pushed.
    pub(crate) fn deliver(
        &self,
        poller: &Poller,
        waiters: &AtomicUsize,
        event: &Event,
        wakers: &mut Vec<Waker>,
    ) -> usize {
        let mut state = lock(&self.state);
        if !state.registered {
            return 0;
        }
        let before = wakers.len();
        for (dir, ready) in [
            (Direction::Read, event.readable),
            (Direction::Write, event.writable),
        ] {
            if !ready {
                continue;
            }
            let d = &mut state.dirs[dir as usize];
            d.tick = d.tick.wrapping_add(1);
            if !d.wakers.is_empty() {
                waiters.fetch_sub(1, Ordering::SeqCst);
                wakers.append(&mut d.wakers);
            }
        }
        // Oneshot disarmed the whole fd; directions that still have waiters
        // must be armed again. If that fails, wake them so they retry and see
        // the error themselves.
        if state.dirs.iter().any(|d| !d.wakers.is_empty()) && self.rearm(&state, poller).is_err() {
            for d in &mut state.dirs {
                if !d.wakers.is_empty() {
                    waiters.fetch_sub(1, Ordering::SeqCst);
                    wakers.append(&mut d.wakers);
                }
            }
        }
        wakers.len() - before
    }

    /// Marks the source removed and deletes it from the poller. Waiters are
    /// dropped: whoever could wait on this source borrows its owner, which is
    /// being dropped or consumed.
    pub(crate) fn deregister(&self, poller: &Poller, waiters: &AtomicUsize) -> io::Result<()> {
        let mut state = lock(&self.state);
        if !state.registered {
            return Ok(());
        }
        state.registered = false;
        for d in &mut state.dirs {
            if !d.wakers.is_empty() {
                waiters.fetch_sub(1, Ordering::SeqCst);
                d.wakers.clear();
            }
        }
        // SAFETY: `registered` was true under the lock, so the owner of the fd
        // has not closed it yet (it deregisters before closing).
        let fd = unsafe { BorrowedFd::borrow_raw(self.raw) };
        poller.delete(fd)
    }

    /// Sets the poller's interest to the directions that have waiters.
    /// Called with the state lock held and `registered` true.
    fn rearm(&self, state: &SourceState, poller: &Poller) -> io::Result<()> {
        debug_assert!(state.registered);
        let mut interest = Event::none(self.key);
        interest.readable = !state.dirs[Direction::Read as usize].wakers.is_empty();
        interest.writable = !state.dirs[Direction::Write as usize].wakers.is_empty();
        // SAFETY: `registered` is true and the state lock is held, so the fd
        // is open: its owner deregisters (under this lock) before closing it.
        let fd = unsafe { BorrowedFd::borrow_raw(self.raw) };
        poller.modify(fd, interest)
    }
}
