//! A registered I/O source: one file descriptor in the poller, a readiness
//! cache per direction, and the wakers of the tasks waiting for it.
//!
//! # Registration: once, edge-triggered
//!
//! A source is added to the poller once, for both directions and
//! `EPOLLRDHUP`, edge-triggered ([`crate::epoll`]), and deleted once, before
//! its fd is closed. No poller
//! call is made in between: waiting costs no `epoll_ctl`. The kernel reports
//! a direction when its state *changes* to ready (and, on `ADD`, if it is
//! ready already); an error or hang-up reports both directions.
//!
//! # The readiness word (tokio's `ScheduledIo`, Go's `pollDesc`)
//!
//! Each direction has one atomic word: a `tick` (the number of events
//! delivered for it) and two bits.
//!
//! - `READY`: an event reported the direction ready, and no operation has
//!   hit `WouldBlock` since. **Set** only by the reactor (`deliver`), which
//!   bumps the tick in the same atomic step. **Cleared** only by a task whose
//!   operation hit `WouldBlock`, or whose stream read came back short (the
//!   kernel buffer is drained), with a compare-and-swap against the word it
//!   read *before* the operation: if the tick moved meanwhile, a new event
//!   came in and the clear fails, so the task retries instead of waiting.
//! - `CLOSED` (read side): the last event may have carried the peer's end of
//!   stream (`EPOLLRDHUP`, hang-up, error, or flags the reactor could not
//!   see, see [`crate::epoll`]). Set or reset with `READY` by each read
//!   event. A short read does not clear a word with `CLOSED`: the end of file
//!   is still to be read and its edge was delivered already. Once the peer
//!   has shut down, every later report has `RDHUP`, so `CLOSED` stays set.
//! - `FRESH`: no event and no `WouldBlock` yet. Operations are tried while
//!   it is set (a socket is often ready before its first event is read),
//!   but `readable()`/`writable()` do not count it as readiness (a
//!   connecting socket is not writable yet). Cleared with `READY`.
//!
//! # Waiting
//!
//! A task that finds the direction not ready stores its waker *under the
//! state lock*, then reads the word again, still under the lock: if it is
//! ready now, the task takes its waker back and tries again. The reactor
//! sets the word first and takes the lock second. So either the task's
//! second read sees the new event, or the reactor, taking the lock after the
//! task released it, finds the waker: **no event is lost**. (`loom_tests`
//! checks this on the real code.)
//!
//! # Waiter slots
//!
//! - A future (`readable()`, `read_with`, `accept`, `recv_from`...) owns a
//!   slot of the direction's slab for its whole life: polling again replaces
//!   the waker in place, an event takes the waker out (the slot stays the
//!   future's), and dropping the future frees the slot. A cancelled future
//!   leaves nothing behind.
//! - `poll_read`/`poll_write`/`poll_readable` callers have no future to hold
//!   a slot, so each direction has one shared slot for them, as in tokio:
//!   the last task to poll is the one woken. Streams are read by one task
//!   and written by one task at a time.
//! - The reactor-wide `waiters` counter is the number of stored wakers
//!   (`Reactor::has_waiters`): every store into an empty slot adds one,
//!   every take (event, drop, deregistration) subtracts one.

use std::io;
use std::os::fd::RawFd;
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::task::{Poll, Waker};

use crate::sync::{self, AtomicU64, AtomicUsize, Mutex, Ordering};

/// Which half of a source a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (or hung up / in error).
    Read = 0,
    /// Writable (or hung up / in error).
    Write = 1,
}

/// Readiness bit: an event reported the direction ready since the last
/// `WouldBlock`.
const READY: u64 = 1;
/// "Never reported, never blocked": worth trying an operation.
const FRESH: u64 = 2;
/// Read side only: the last event may have come with the peer's end of
/// stream (`EPOLLRDHUP`, a hang-up, an error, or a report whose flags were
/// not seen), so a short read does not prove the socket drained.
const CLOSED: u64 = 4;
/// The tick is the word shifted right by this much.
const TICK_SHIFT: u32 = 3;

/// One read of a direction's readiness word, kept to clear it later only if
/// nothing happened in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

impl Snapshot {
    /// An event reported readiness and nothing consumed it.
    pub(crate) fn is_ready(self) -> bool {
        self.0 & READY != 0
    }

    /// Ready, or never reported nor blocked: an operation should be tried.
    pub(crate) fn worth_trying(self) -> bool {
        self.0 & (READY | FRESH) != 0
    }

    /// The last read event may have carried the end of the stream.
    pub(crate) fn maybe_closed(self) -> bool {
        self.0 & CLOSED != 0
    }
}

/// What one poller event reported for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reported {
    /// Readable (or hung up / in error).
    pub(crate) readable: bool,
    /// Writable (or hung up / in error).
    pub(crate) writable: bool,
    /// The read side may have reached the end of the stream: `EPOLLRDHUP`,
    /// `EPOLLHUP` or `EPOLLERR`, or flags that were not decoded.
    pub(crate) maybe_closed: bool,
}

/// The waiters of one direction of a source.
#[derive(Debug, Default)]
struct Waiters {
    /// The shared slot of `poll_*` callers. Written by them, taken by events.
    poll: Option<Waker>,
    /// Slots owned by futures, by index; `None` while the owner is woken
    /// (or not waiting). Allocated and freed by the owning future.
    slots: Vec<Option<Waker>>,
    /// Indices of `slots` that no future owns.
    free: Vec<usize>,
}

impl Waiters {
    /// Moves every stored waker into `out`; returns how many.
    fn drain_into(&mut self, out: &mut Vec<Waker>) -> usize {
        let before = out.len();
        out.extend(self.poll.take());
        out.extend(self.slots.iter_mut().filter_map(Option::take));
        out.len() - before
    }
}

/// The mutable part of a [`Source`].
#[derive(Debug)]
struct SourceState {
    /// `[read, write]`.
    dirs: [Waiters; 2],
    /// False once the source was removed from the poller: waiting on it is
    /// an error from then on.
    registered: bool,
}

/// Where a waiting task keeps its waker.
#[derive(Debug)]
pub(crate) enum Slot<'a> {
    /// The direction's shared slot (`poll_*` callers).
    Shared,
    /// A slot of the caller's own; `None` until the first wait allocates it.
    Owned(&'a mut Option<usize>),
}

/// One file descriptor registered in the reactor's poller.
#[derive(Debug)]
pub(crate) struct Source {
    /// Key of this source in the poller and in `Reactor::sources`. Never reused.
    pub(crate) key: usize,
    /// The fd. Owned by the `Async` that created this source, which removes
    /// the source before it closes the fd.
    pub(crate) raw: RawFd,
    /// `[read, write]` readiness words: set by the reactor, cleared by tasks.
    readiness: [AtomicU64; 2],
    /// Waiters; taken by tasks to store a waker and by the reactor to take
    /// them.
    state: Mutex<SourceState>,
}

/// Locks a std mutex, going on with the data if a panic poisoned it: every
/// critical section in this crate leaves its data consistent between
/// statements.
pub(crate) fn lock<T>(m: &StdMutex<T>) -> StdMutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error of waiting on a source after its removal.
fn removed() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the I/O source was removed from the reactor",
    )
}

impl Source {
    /// A source for `raw`, both directions `FRESH`, not yet in the poller.
    pub(crate) fn new(key: usize, raw: RawFd) -> Source {
        Source {
            key,
            raw,
            readiness: [AtomicU64::new(FRESH), AtomicU64::new(FRESH)],
            state: Mutex::new(SourceState {
                dirs: [Waiters::default(), Waiters::default()],
                registered: true,
            }),
        }
    }

    /// The readiness word of `dir`, now.
    pub(crate) fn readiness(&self, dir: Direction) -> Snapshot {
        Snapshot(self.readiness[dir as usize].load(Ordering::SeqCst))
    }

    /// Clears the readiness of `dir` after a short stream read, which drained
    /// the kernel buffer — unless the last event may have carried the end of
    /// the stream: that end-of-file is still to be read, and its edge was
    /// delivered already.
    pub(crate) fn clear_if_drained(&self, dir: Direction, seen: Snapshot) {
        if !seen.maybe_closed() {
            self.clear_readiness(dir, seen);
        }
    }

    /// Clears the readiness of `dir` if it is still `seen` (no event came in
    /// since). False: it moved, so whoever read `seen` must try again.
    pub(crate) fn clear_readiness(&self, dir: Direction, seen: Snapshot) -> bool {
        let cleared = seen.0 & !(READY | FRESH);
        seen.0 == cleared
            || self.readiness[dir as usize]
                .compare_exchange(seen.0, cleared, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// Stores `waker` in `slot` of `dir`, then looks at the readiness again
    /// under the lock. `Ok(true)`: the direction is ready after all (per
    /// `ready`), the waker was taken back, try again. `Ok(false)`: wait.
    fn wait(
        &self,
        waiters: &AtomicUsize,
        dir: Direction,
        slot: Slot<'_>,
        waker: &Waker,
        ready: fn(Snapshot) -> bool,
    ) -> io::Result<bool> {
        let mut state = sync::lock(&self.state);
        if !state.registered {
            return Err(removed());
        }
        let w = &mut state.dirs[dir as usize];
        let cell = match slot {
            Slot::Shared => &mut w.poll,
            Slot::Owned(index) => {
                let i = match *index {
                    Some(i) => i,
                    None => {
                        let i = match w.free.pop() {
                            Some(i) => i,
                            None => {
                                w.slots.push(None);
                                w.slots.len() - 1
                            }
                        };
                        *index = Some(i);
                        i
                    }
                };
                &mut w.slots[i]
            }
        };
        match cell {
            Some(old) if old.will_wake(waker) => {}
            Some(old) => old.clone_from(waker),
            None => {
                *cell = Some(waker.clone());
                waiters.fetch_add(1, Ordering::SeqCst);
            }
        }
        if ready(self.readiness(dir)) {
            *cell = None;
            waiters.fetch_sub(1, Ordering::SeqCst);
            return Ok(true);
        }
        Ok(false)
    }

    /// The task's side of the protocol: tries `op` while the readiness word
    /// of `dir` says it may succeed, clears the readiness it saw when `op`
    /// hits `WouldBlock` (trying again if an event came in meanwhile) or
    /// when `drained` says its result emptied the kernel buffer, and waits in
    /// `slot` once the direction is not ready.
    pub(crate) fn poll_op<R>(
        &self,
        waiters: &AtomicUsize,
        dir: Direction,
        mut slot: Slot<'_>,
        waker: &Waker,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&io::Result<R>) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let seen = self.readiness(dir);
            if seen.worth_trying() {
                match op() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Either way, look at the word again: cleared, we
                        // wait; moved, we try again.
                        self.clear_readiness(dir, seen);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    result => {
                        if drained(&result) {
                            self.clear_if_drained(dir, seen);
                        }
                        return Poll::Ready(result);
                    }
                }
            }
            let reslot = match &mut slot {
                Slot::Shared => Slot::Shared,
                Slot::Owned(index) => Slot::Owned(index),
            };
            match self.wait(waiters, dir, reslot, waker, Snapshot::worth_trying) {
                Ok(true) => continue,
                Ok(false) => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `readable()`/`writable()`: `Ready` once an event reported `dir`
    /// ready and no operation hit `WouldBlock` since; else waits in `slot`.
    pub(crate) fn poll_ready(
        &self,
        waiters: &AtomicUsize,
        dir: Direction,
        slot: Slot<'_>,
        waker: &Waker,
    ) -> Poll<io::Result<()>> {
        if self.readiness(dir).is_ready() {
            return Poll::Ready(Ok(()));
        }
        match self.wait(waiters, dir, slot, waker, Snapshot::is_ready) {
            Ok(true) => Poll::Ready(Ok(())),
            Ok(false) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Frees the slot `index` of `dir` (its owning future is dropped),
    /// dropping the waker it may still hold.
    pub(crate) fn release(&self, waiters: &AtomicUsize, dir: Direction, index: usize) {
        let mut state = sync::lock(&self.state);
        let w = &mut state.dirs[dir as usize];
        if let Some(cell) = w.slots.get_mut(index) {
            if cell.take().is_some() {
                waiters.fetch_sub(1, Ordering::SeqCst);
            }
            w.free.push(index);
        }
    }

    /// Delivers one event: marks the reported directions ready (bumping
    /// their ticks), then moves their wakers into `wakers`. Returns how many
    /// wakers were pushed.
    pub(crate) fn deliver(
        &self,
        waiters: &AtomicUsize,
        event: Reported,
        wakers: &mut Vec<Waker>,
    ) -> usize {
        let dirs = [
            (Direction::Read, event.readable),
            (Direction::Write, event.writable),
        ];
        let closed = if event.maybe_closed { CLOSED } else { 0 };
        for (dir, _) in dirs.iter().filter(|(_, ready)| *ready) {
            let flags = READY | if *dir == Direction::Read { closed } else { 0 };
            // The only writer of READY and CLOSED: a CAS loop, so a task's
            // clear that raced with us fails on the moved tick.
            let _ = self.readiness[*dir as usize].fetch_update(
                Ordering::SeqCst,
                Ordering::SeqCst,
                |word| Some(((word >> TICK_SHIFT).wrapping_add(1) << TICK_SHIFT) | flags),
            );
        }
        let mut state = sync::lock(&self.state);
        let mut n = 0;
        for (dir, _) in dirs.iter().filter(|(_, ready)| *ready) {
            n += state.dirs[*dir as usize].drain_into(wakers);
        }
        if n > 0 {
            waiters.fetch_sub(n, Ordering::SeqCst);
        }
        n
    }

    /// Marks the source removed and drops its wakers: whoever could wait on
    /// it borrows its owner, which is being dropped or consumed. True if it
    /// was registered (the caller then deletes the fd from the poller).
    pub(crate) fn deregister(&self, waiters: &AtomicUsize) -> bool {
        let mut state = sync::lock(&self.state);
        if !state.registered {
            return false;
        }
        state.registered = false;
        let mut dropped = Vec::new();
        for w in &mut state.dirs {
            w.drain_into(&mut dropped);
        }
        if !dropped.is_empty() {
            waiters.fetch_sub(dropped.len(), Ordering::SeqCst);
        }
        drop(state);
        // Wakers are dropped outside the lock: a foreign waker's drop may run
        // arbitrary code.
        drop(dropped);
        true
    }
}

#[cfg(all(test, not(gmp_loom)))]
mod tests {
    use std::sync::atomic::AtomicUsize as StdCounter;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wake-ups.
    struct Count(StdCounter);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(StdCounter::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    const READ: Reported = Reported {
        readable: true,
        writable: false,
        maybe_closed: false,
    };
    const BOTH: Reported = Reported {
        readable: true,
        writable: true,
        maybe_closed: false,
    };

    fn would_block() -> io::Result<()> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    #[test]
    fn a_clear_raced_by_a_new_event_fails_and_keeps_the_readiness() {
        let (waiters, source) = (AtomicUsize::new(0), Source::new(0, -1));
        source.deliver(&waiters, READ, &mut Vec::new());
        let seen = source.readiness(Direction::Read);
        assert!(seen.is_ready(), "an event sets READY");
        source.deliver(&waiters, READ, &mut Vec::new());
        assert!(
            !source.clear_readiness(Direction::Read, seen),
            "the tick moved: the clear must fail"
        );
        assert!(source.readiness(Direction::Read).is_ready());
        let now = source.readiness(Direction::Read);
        assert!(source.clear_readiness(Direction::Read, now));
        assert!(!source.readiness(Direction::Read).worth_trying());
        assert!(
            source.readiness(Direction::Write).worth_trying(),
            "the other direction is untouched (still FRESH)"
        );
    }

    #[test]
    fn would_block_parks_the_waker_and_the_next_event_wakes_it_once() {
        let (waiters, source) = (AtomicUsize::new(0), Source::new(0, -1));
        let (count, waker) = counting();
        let mut tries = 0;
        let polled = source.poll_op(
            &waiters,
            Direction::Read,
            Slot::Shared,
            &waker,
            || {
                tries += 1;
                would_block()
            },
            |_| false,
        );
        assert!(polled.is_pending());
        assert_eq!(tries, 1, "a FRESH direction is tried once");
        assert_eq!(waiters.load(Ordering::SeqCst), 1);
        let mut wakers = Vec::new();
        assert_eq!(source.deliver(&waiters, READ, &mut wakers), 1);
        assert_eq!(waiters.load(Ordering::SeqCst), 0);
        wakers.drain(..).for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        let polled = source.poll_op(
            &waiters,
            Direction::Read,
            Slot::Shared,
            &waker,
            || Ok(7),
            |_| false,
        );
        assert!(matches!(polled, Poll::Ready(Ok(7))));
    }

    #[test]
    fn a_short_read_clears_the_readiness_unless_the_event_may_carry_the_end_of_stream() {
        let (waiters, source) = (AtomicUsize::new(0), Source::new(0, -1));
        let (_count, waker) = counting();
        let short = |r: &io::Result<usize>| matches!(r, Ok(n) if *n < 8);
        source.deliver(&waiters, READ, &mut Vec::new());
        let polled = source.poll_op(
            &waiters,
            Direction::Read,
            Slot::Shared,
            &waker,
            || Ok(3),
            short,
        );
        assert!(matches!(polled, Poll::Ready(Ok(3))));
        assert!(
            !source.readiness(Direction::Read).worth_trying(),
            "a short read drained the socket: the next read waits"
        );
        let closing = Reported {
            maybe_closed: true,
            ..READ
        };
        source.deliver(&waiters, closing, &mut Vec::new());
        let polled = source.poll_op(
            &waiters,
            Direction::Read,
            Slot::Shared,
            &waker,
            || Ok(3),
            short,
        );
        assert!(matches!(polled, Poll::Ready(Ok(3))));
        assert!(
            source.readiness(Direction::Read).is_ready(),
            "the end of stream may still be pending: stay ready"
        );
    }

    #[test]
    fn a_dropped_future_frees_its_slot_and_leaves_no_waiter() {
        let (waiters, source) = (AtomicUsize::new(0), Source::new(0, -1));
        let (_count, waker) = counting();
        let (mut a, mut b) = (None, None);
        for slot in [&mut a, &mut b] {
            let polled = source.poll_ready(&waiters, Direction::Read, Slot::Owned(slot), &waker);
            assert!(polled.is_pending(), "FRESH is not readiness");
        }
        assert_eq!((a, b), (Some(0), Some(1)), "one slot per future");
        assert_eq!(waiters.load(Ordering::SeqCst), 2);
        source.release(&waiters, Direction::Read, 0);
        assert_eq!(
            waiters.load(Ordering::SeqCst),
            1,
            "a cancelled wait is gone"
        );
        let mut c = None;
        let polled = source.poll_ready(&waiters, Direction::Read, Slot::Owned(&mut c), &waker);
        assert!(polled.is_pending());
        assert_eq!(c, Some(0), "the freed slot is reused");
        let mut wakers = Vec::new();
        assert_eq!(source.deliver(&waiters, BOTH, &mut wakers), 2);
        assert_eq!(waiters.load(Ordering::SeqCst), 0);
        source.release(&waiters, Direction::Read, 1);
        source.release(&waiters, Direction::Read, 0);
        assert_eq!(
            waiters.load(Ordering::SeqCst),
            0,
            "woken slots hold no waker"
        );
    }

    #[test]
    fn a_deregistered_source_refuses_to_wait_and_drops_its_wakers() {
        let (waiters, source) = (AtomicUsize::new(0), Source::new(0, -1));
        let (_count, waker) = counting();
        let polled = source.poll_ready(&waiters, Direction::Write, Slot::Shared, &waker);
        assert!(polled.is_pending());
        assert!(source.deregister(&waiters), "registered until now");
        assert_eq!(waiters.load(Ordering::SeqCst), 0);
        assert!(!source.deregister(&waiters), "only once");
        let polled = source.poll_op(
            &waiters,
            Direction::Write,
            Slot::Shared,
            &waker,
            would_block,
            |_| false,
        );
        match polled {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::NotConnected),
            other => panic!("waiting on a removed source: {other:?}"),
        }
    }
}
