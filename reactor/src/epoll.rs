//! The reactor's own calls on `polling`'s epoll fd: registration with
//! `EPOLLRDHUP`, and waits in one syscall.
//!
//! `polling` 3 is the reactor's poller, but on Linux two of its choices cost
//! gmp syscalls on every request:
//!
//! - `Poller::wait` costs five syscalls whatever the timeout
//!   (`timerfd_settime`, `epoll_ctl` on the timerfd, `epoll_wait`, a `read` of
//!   the notifier eventfd, `epoll_ctl` on the eventfd).
//! - It neither registers nor reports `EPOLLRDHUP`, so a short read cannot be
//!   told from a short read followed by a pending end-of-file, and every
//!   stream read must end in an `EAGAIN` read (see [`crate::source`]).
//!
//! So on Linux the reactor adds its sources itself (`epoll_ctl(ADD)`, edge-
//! triggered, `IN | OUT | RDHUP | PRI`, the key as the `u64` data — what
//! `polling` would do, plus `RDHUP`) and waits with `epoll_wait` on the
//! poller's fd, with the timeout in milliseconds rounded up (never early).
//! `polling` still owns the fd, deletes sources, and notifies:
//!
//! - `polling` keeps the key `usize::MAX` for its notifier eventfd and its
//!   timerfd, both registered oneshot. An event with that key was consumed by
//!   our wait, so only `polling` may re-arm its fd: the poll then calls
//!   `Poller::wait` with a zero timeout, which reads and re-arms both. The
//!   events that call reports are delivered too, marked `maybe_closed`
//!   (their `RDHUP` bit is not visible through `polling`'s API).
//! - Only the thread inside `Reactor::try_poll` waits, so no `polling` wait
//!   runs at the same time as ours.
//!
//! Elsewhere than Linux this is `polling`'s `add_with_mode(.., Edge)` and
//! `Poller::wait`, with every event `maybe_closed`.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

#[cfg(not(any(target_os = "linux", target_os = "android")))]
use polling::PollMode;
use polling::{Event, Events, Poller};

use crate::source::Reported;

/// `polling`'s key for its notifier and timer.
#[cfg(any(target_os = "linux", target_os = "android"))]
const POLLING_KEY: u64 = usize::MAX as u64;

/// The raw events of one wait.
#[derive(Debug)]
pub(crate) struct Buffer {
    /// `epoll_wait`'s output; its capacity is the most events one wait takes.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    raw: Vec<libc::epoll_event>,
}

impl Buffer {
    /// Room for `capacity` events.
    pub(crate) fn new(capacity: usize) -> Buffer {
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = capacity;
        Buffer {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            raw: Vec::with_capacity(capacity),
        }
    }
}

/// Adds `raw` to the poller under `key`, both directions, edge-triggered.
///
/// # Safety
///
/// `raw` must stay open until it is deleted from the poller.
pub(crate) unsafe fn add(poller: &Poller, raw: RawFd, key: usize) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;

        let flags =
            libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET;
        let mut event = libc::epoll_event {
            events: flags as u32,
            u64: key as u64,
        };
        // SAFETY: the epoll fd is open while `poller` is borrowed; `raw` is
        // open (the caller's contract); `event` is a valid epoll_event.
        let r =
            unsafe { libc::epoll_ctl(poller.as_raw_fd(), libc::EPOLL_CTL_ADD, raw, &mut event) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: forwarded from the caller.
    unsafe {
        poller.add_with_mode(raw, Event::all(key), PollMode::Edge)
    }
}

/// Waits at most `timeout` (`None`: until an event or a notification);
/// pushes `(key, what was reported)` of every event into `reported`.
/// `events` is `polling`'s buffer, for the fallback.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn wait(
    poller: &Poller,
    buffer: &mut Buffer,
    events: &mut Events,
    reported: &mut Vec<(usize, Reported)>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    if raw_wait(poller, buffer, reported, timeout)? {
        // polling's own fd fired: let it consume and re-arm it, at once.
        polling_wait(poller, events, reported, Some(Duration::ZERO))
    } else {
        Ok(())
    }
}

/// Waits at most `timeout` (`None`: until an event or a notification);
/// pushes `(key, what was reported)` of every event into `reported`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn wait(
    poller: &Poller,
    _buffer: &mut Buffer,
    events: &mut Events,
    reported: &mut Vec<(usize, Reported)>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    polling_wait(poller, events, reported, timeout)
}

/// `Poller::wait`, every event marked `maybe_closed`.
fn polling_wait(
    poller: &Poller,
    events: &mut Events,
    reported: &mut Vec<(usize, Reported)>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    events.clear();
    let waited = poller.wait(events, timeout);
    reported.extend(events.iter().map(|e: Event| {
        let what = Reported {
            readable: e.readable,
            writable: e.writable,
            maybe_closed: true,
        };
        (e.key, what)
    }));
    waited.map(drop)
}

/// `epoll_wait` in milliseconds, rounded up so that a timer never fires
/// early.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        }
    }
}

/// The raw `epoll_wait`. True if `polling`'s own event came up and
/// `Poller::wait` must run to re-arm it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn raw_wait(
    poller: &Poller,
    buffer: &mut Buffer,
    reported: &mut Vec<(usize, Reported)>,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    use std::os::fd::AsRawFd;

    let raw = &mut buffer.raw;
    raw.clear();
    let capacity = i32::try_from(raw.capacity()).unwrap_or(i32::MAX);
    // SAFETY: the fd is the poller's epoll fd, open while `poller` is
    // borrowed; `epoll_wait` writes at most `capacity` events into the
    // vector's spare capacity and returns how many.
    let n = unsafe {
        libc::epoll_wait(
            poller.as_raw_fd(),
            raw.as_mut_ptr(),
            capacity,
            timeout_ms(timeout),
        )
    };
    let Ok(n) = usize::try_from(n) else {
        let e = io::Error::last_os_error();
        // Interrupted: nothing was consumed, and the caller polls again.
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    };
    // SAFETY: the kernel initialized the first `n <= capacity` entries.
    unsafe { raw.set_len(n) };
    let read = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI)
        as u32;
    let write = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
    let closed = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
    let mut internal = false;
    for ev in raw.iter() {
        // Copies out of the (packed) struct.
        let (flags, data) = (ev.events, ev.u64);
        if data == POLLING_KEY {
            internal = true;
            continue;
        }
        if let Ok(key) = usize::try_from(data) {
            let what = Reported {
                readable: flags & read != 0,
                writable: flags & write != 0,
                maybe_closed: flags & closed != 0,
            };
            reported.push((key, what));
        }
    }
    Ok(internal)
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::io::Write;
    use std::net::Shutdown;
    use std::num::NonZeroUsize;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    fn events() -> Events {
        Events::with_capacity(NonZeroUsize::new(16).unwrap_or(NonZeroUsize::MIN))
    }

    const fn what(readable: bool, writable: bool, maybe_closed: bool) -> Reported {
        Reported {
            readable,
            writable,
            maybe_closed,
        }
    }

    #[test]
    fn raw_waits_decode_our_keys_and_the_end_of_stream() {
        let poller = Poller::new().expect("poller");
        let (a, mut b) = UnixStream::pair().expect("pair");
        // SAFETY: `a` outlives its registration (deleted below).
        unsafe { add(&poller, a.as_raw_fd(), 7) }.expect("add");
        let (mut buffer, mut evs, mut reported) = (Buffer::new(16), events(), Vec::new());
        let zero = Some(Duration::ZERO);
        b.write_all(b"x").expect("write");
        wait(&poller, &mut buffer, &mut evs, &mut reported, zero).expect("wait");
        assert_eq!(reported, vec![(7, what(true, true, false))]);
        reported.clear();
        b.shutdown(Shutdown::Write).expect("shutdown");
        wait(&poller, &mut buffer, &mut evs, &mut reported, None).expect("wait");
        assert_eq!(
            reported,
            vec![(7, what(true, true, true))],
            "the peer's end of stream comes with RDHUP"
        );
        poller.delete(&a).expect("delete");
    }

    #[test]
    fn a_notification_ends_a_raw_wait_and_leaves_the_notifier_armed() {
        let poller = Poller::new().expect("poller");
        let (mut buffer, mut evs, mut reported) = (Buffer::new(16), events(), Vec::new());
        poller.notify().expect("notify");
        // Blocking: only the notification can end it.
        wait(&poller, &mut buffer, &mut evs, &mut reported, None).expect("wait");
        assert!(reported.is_empty(), "no source is registered");
        poller.notify().expect("notify again");
        assert!(
            raw_wait(&poller, &mut buffer, &mut reported, None).expect("raw"),
            "after the fallback the notifier is armed again"
        );
    }

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_secs(u64::MAX))), i32::MAX);
    }
}
