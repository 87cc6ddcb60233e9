//! The non-blocking poll in one syscall.
//!
//! `polling::Poller::wait` costs five syscalls on Linux whatever the timeout
//! (`timerfd_settime`, `epoll_ctl` on the timerfd, `epoll_wait`, a `read` of
//! the notifier eventfd, `epoll_ctl` on the eventfd), and a scheduler polls
//! without blocking often (between tasks, when a run queue runs dry). With a
//! zero timeout neither the timer nor the notifier needs to be touched, so on
//! Linux this module calls `epoll_wait(fd, .., 0)` on the poller's own epoll
//! fd and decodes the events the way `polling` does:
//!
//! - `polling`'s epoll backend stores the key of a source as the event's
//!   `u64` data and keeps `usize::MAX` for its own notifier and timer (which
//!   is why it refuses that key). Our sources are registered with their key,
//!   so an event with any other key is ours and is decoded here, with
//!   `polling`'s read flags (`IN | HUP | ERR | PRI`) and write flags
//!   (`OUT | HUP | ERR`).
//! - If the raw wait returns `polling`'s own event (a pending notification,
//!   or the timer of an earlier blocking wait), that event was consumed from
//!   an fd `polling` registered oneshot, so only `polling` may re-arm it: the
//!   poll then falls back to `Poller::wait` with a zero timeout, which reads
//!   and re-arms both (and may report more events, delivered as well).
//!
//! Only the thread inside `Reactor::try_poll` calls this, so no `polling`
//! wait runs at the same time. Elsewhere than Linux this is `Poller::wait`.

use std::io;
use std::time::Duration;

use polling::{Events, Poller};

/// `polling`'s key for its notifier and timer.
#[cfg(any(target_os = "linux", target_os = "android"))]
const POLLING_KEY: u64 = usize::MAX as u64;

/// The raw events of one non-blocking wait.
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

/// Polls without blocking; pushes `(key, readable, writable)` of every event
/// into `reported`. `events` is `polling`'s buffer, for the fallback.
pub(crate) fn poll(
    poller: &Poller,
    buffer: &mut Buffer,
    events: &mut Events,
    reported: &mut Vec<(usize, bool, bool)>,
) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if !raw_poll(poller, buffer, reported)? {
            return Ok(());
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = buffer;
    events.clear();
    let waited = poller.wait(events, Some(Duration::ZERO));
    reported.extend(events.iter().map(|e| (e.key, e.readable, e.writable)));
    waited.map(drop)
}

/// The raw `epoll_wait(.., 0)`. True if `polling`'s own event came up and
/// `Poller::wait` must run to re-arm it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn raw_poll(
    poller: &Poller,
    buffer: &mut Buffer,
    reported: &mut Vec<(usize, bool, bool)>,
) -> io::Result<bool> {
    use std::os::fd::AsRawFd;

    let raw = &mut buffer.raw;
    raw.clear();
    let capacity = i32::try_from(raw.capacity()).unwrap_or(i32::MAX);
    // SAFETY: the fd is the poller's epoll fd, open while `poller` is
    // borrowed; `epoll_wait` writes at most `capacity` events into the
    // vector's spare capacity and returns how many.
    let n = unsafe { libc::epoll_wait(poller.as_raw_fd(), raw.as_mut_ptr(), capacity, 0) };
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
    let read = (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;
    let write = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
    let mut internal = false;
    for ev in raw.iter() {
        // Copies out of the (packed) struct.
        let (flags, data) = (ev.events, ev.u64);
        if data == POLLING_KEY {
            internal = true;
            continue;
        }
        if let Ok(key) = usize::try_from(data) {
            reported.push((key, flags & read != 0, flags & write != 0));
        }
    }
    Ok(internal)
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::io::Write;
    use std::num::NonZeroUsize;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use polling::{Event, PollMode};

    use super::*;

    fn events() -> Events {
        Events::with_capacity(NonZeroUsize::new(16).unwrap_or(NonZeroUsize::MIN))
    }

    #[test]
    fn the_raw_wait_decodes_our_keys_and_leaves_pollings_notifier_armed() {
        let poller = Poller::new().expect("poller");
        let (a, mut b) = UnixStream::pair().expect("pair");
        // SAFETY: `a` outlives its registration (deleted below).
        unsafe { poller.add_with_mode(a.as_raw_fd(), Event::all(7), PollMode::Edge) }.expect("add");
        let (mut buffer, mut evs, mut reported) = (Buffer::new(16), events(), Vec::new());
        b.write_all(b"x").expect("write");
        poll(&poller, &mut buffer, &mut evs, &mut reported).expect("poll");
        assert_eq!(
            reported,
            vec![(7, true, true)],
            "readable and writable, key 7"
        );

        // A notification: the raw wait sees polling's key, so the poll
        // falls back to polling's wait, which consumes and re-arms the
        // notifier.
        reported.clear();
        poller.notify().expect("notify");
        poll(&poller, &mut buffer, &mut evs, &mut reported).expect("poll");
        assert!(reported.is_empty(), "edge mode: no new edge on `a`");
        poller.notify().expect("notify again");
        assert!(
            raw_poll(&poller, &mut buffer, &mut reported).expect("raw"),
            "after the fallback the notifier is armed again"
        );
        poller.delete(&a).expect("delete");
    }
}
