//! Unix signals as async values: [`ctrl_c`] and the [`Signals`] stream.
//!
//! Protocol (the self-pipe trick): each [`Signals`] owns a connected pair of
//! Unix stream sockets. For each signal it listens to, it registers a handler
//! with `signal-hook-registry` (the process-wide table that chains handlers,
//! so several `Signals` and other libraries can listen to one signal). The
//! handler does one async-signal-safe thing: a non-blocking
//! `send(MSG_DONTWAIT)` of one byte, the signal's number, into the write end.
//! The read end is an [`Async`] in gmp's reactor, so a task waiting for a
//! signal is parked like any task waiting for I/O, and woken by the reactor.
//!
//! Why signal-hook's registry and a socket pair, not the `async-signal`
//! crate: `async-signal` waits through `async-io`'s reactor, a second
//! reactor thread next to gmp's; this way the wait is on gmp's own.
//!
//! Semantics, as with tokio and Go's `os/signal`: deliveries may coalesce
//! (two SIGINTs before the task reads may be seen once, and if the pipe is
//! full, a number is dropped); once a signal has been listened to, its
//! default action (SIGINT: terminate) is not restored when the `Signals` is
//! dropped: the process keeps catching it, and a signal nobody listens to is
//! then ignored.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::ready;
use futures::stream::{Stream, StreamExt};
use rustix::net::{RecvFlags, SendFlags};
use signal_hook_registry::SigId;

use crate::source::Direction;
use crate::Async;

/// Waits for the next SIGINT (Ctrl-C in a terminal).
///
/// From the first call on, SIGINT no longer terminates the process; it is
/// delivered to `ctrl_c` and [`Signals`] listeners instead.
///
/// # Examples
///
/// ```
/// use gmp_reactor::signal::ctrl_c;
///
/// futures::executor::block_on(async {
///     let waiting = ctrl_c();
///     futures::pin_mut!(waiting);
///     // The first poll installs the handler.
///     assert!(futures::poll!(waiting.as_mut()).is_pending());
///     // SAFETY: raising a signal that a handler is now installed for.
///     assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
///     waiting.await // returns instead of the process dying
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut signals = Signals::new(&[libc::SIGINT])?;
    match signals.next().await {
        Some(_) => Ok(()),
        None => Err(io::Error::other("the SIGINT pipe closed")),
    }
}

/// A `Stream` of the numbers of the signals received, among those given to
/// [`Signals::new`].
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use gmp_reactor::signal::Signals;
///
/// futures::executor::block_on(async {
///     let mut signals = Signals::new(&[libc::SIGUSR2])?;
///     // SAFETY: raising a signal that a handler is now installed for.
///     assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
///     assert_eq!(signals.next().await, Some(libc::SIGUSR2));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct Signals {
    /// The read end, in the reactor; the handlers write signal numbers to
    /// the other end.
    reader: Async<UnixStream>,
    /// The registered handlers, removed on drop (before the write end, which
    /// they hold, is closed by the last `Arc`).
    ids: Vec<SigId>,
}

impl Signals {
    /// Starts listening for `signals` (`libc::SIGINT`, `SIGTERM`, ...).
    ///
    /// Fails with `InvalidInput`, naming the signal, for signals that
    /// cannot be caught (`SIGKILL`, `SIGSTOP`) or that mean a fault
    /// (`SIGILL`, `SIGFPE`, `SIGSEGV`), and for numbers out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::signal::Signals;
    ///
    /// assert!(Signals::new(&[libc::SIGTERM, libc::SIGHUP]).is_ok());
    /// let err = Signals::new(&[libc::SIGKILL]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn new(signals: &[i32]) -> io::Result<Signals> {
        for &signal in signals {
            check(signal)?;
        }
        let (reader, writer) = UnixStream::pair()?;
        writer.set_nonblocking(true)?;
        let writer: Arc<OwnedFd> = Arc::new(writer.into());
        let reader = Async::new(reader)?;
        let mut this = Signals {
            reader,
            ids: Vec::with_capacity(signals.len()),
        };
        for &signal in signals {
            let writer = writer.clone();
            // Checked by `check`: fits in the one byte sent.
            let byte = [signal as u8];
            let action = move || {
                // A full pipe drops this delivery; the reader has unread
                // ones and signals coalesce anyway.
                let _ = rustix::net::send(
                    writer.as_fd(),
                    &byte,
                    SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
                );
            };
            // SAFETY: the action is async-signal-safe: it makes one `send`
            // syscall on a descriptor that stays open while the action is
            // registered (the action owns an `Arc` of it), and it neither
            // allocates nor locks.
            let id = unsafe { signal_hook_registry::register(signal, action) }?;
            this.ids.push(id);
        }
        Ok(this)
    }

    /// Polls for the next signal number.
    fn poll_signal(&self, cx: &mut Context<'_>) -> Poll<Option<i32>> {
        let mut byte = [0u8; 1];
        let got = ready!(self.reader.poll_io(Direction::Read, cx, |s| {
            rustix::net::recv(s.as_fd(), &mut byte, RecvFlags::empty())
                .map(|(n, _)| n)
                .map_err(io::Error::from)
        }));
        Poll::Ready(match got {
            Ok(1) => Some(i32::from(byte[0])),
            // End of stream or an error: the pipe is gone.
            _ => None,
        })
    }
}

/// Rejects signals the registry refuses (it panics on them).
fn check(signal: i32) -> io::Result<()> {
    if signal_hook_registry::FORBIDDEN.contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signal} cannot be listened to (SIGKILL, SIGSTOP, or a fault signal)"),
        ));
    }
    if !(1..=i32::from(u8::MAX)).contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal number {signal} is out of range"),
        ));
    }
    Ok(())
}

impl Stream for Signals {
    type Item = i32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<i32>> {
        self.poll_signal(cx)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}
