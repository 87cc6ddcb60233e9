//! Networking: TCP, UDP and Unix sockets on gmp's reactor.
//!
//! Every type wraps a std socket in [`Async`]: operations are
//! tried at once and park the task (not the thread) on `WouldBlock`. Stream
//! types implement [`futures::io::AsyncRead`] and
//! [`futures::io::AsyncWrite`], for `&T` too, so one task may read while
//! another writes. Writes use `send(MSG_NOSIGNAL)`: writing to a closed peer
//! is an `EPIPE` error, never a `SIGPIPE`. `poll_close` shuts down the write
//! half.
//!
//! Addresses are anything implementing [`ToSocketAddrs`]. Literal addresses
//! are parsed inline; host names are resolved on a short-lived thread, so a
//! DNS lookup never blocks the calling thread (or a gmp P).

mod addr;
mod tcp;
mod udp;
mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use crate::source::Direction;
use crate::{sys, Async};

/// `AsyncWrite::poll_write` for sockets: `send(MSG_NOSIGNAL)`.
fn poll_send<T: AsFd>(io: &Async<T>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    io.poll_io(Direction::Write, cx, |s| sys::send(s.as_fd(), buf))
}

/// `AsyncWrite::poll_close` for stream sockets: shut down the write half. A
/// peer that is already gone is not an error here (the stream is closed
/// either way).
fn close_write(result: io::Result<()>) -> Poll<io::Result<()>> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
        other => Poll::Ready(other),
    }
}
