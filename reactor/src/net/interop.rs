//! Reads into hyper's and tokio's uninitialized buffers, for the
//! `hyper::rt::Read` and `tokio::io::AsyncRead` impls of the stream types.
//!
//! Both traits hand out a buffer whose unfilled part may be uninitialized
//! memory. Zeroing it first (as a `&mut [u8]` read would need) costs a
//! memset per read; instead `recv` writes into the `MaybeUninit` bytes
//! directly (rustix takes `&mut [MaybeUninit<u8>]`), and the cursor is
//! advanced by exactly the bytes the kernel wrote.

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use futures::ready;
use rustix::net::RecvFlags;

use crate::source::Direction;
use crate::Async;

/// `recv` into `buf`: the bytes received, now initialized, counted.
fn recv_uninit(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    let ((filled, _rest), _len) = rustix::net::recv(fd, buf, RecvFlags::empty())?;
    Ok(filled.len())
}

/// `hyper::rt::Read::poll_read` for a socket.
#[cfg(feature = "hyper")]
pub(crate) fn hyper_poll_read<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    mut buf: hyper::rt::ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let n = ready!(io.poll_io(Direction::Read, cx, |s| {
        // SAFETY: `recv` only writes bytes into the slice (it never
        // de-initializes one), which is all `as_mut` asks of its caller.
        let unfilled = unsafe { buf.as_mut() };
        recv_uninit(s.as_fd(), unfilled)
    }))?;
    // SAFETY: `recv` initialized the first `n` bytes of the unfilled part.
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}

/// `tokio::io::AsyncRead::poll_read` for a socket.
#[cfg(feature = "tokio")]
pub(crate) fn tokio_poll_read<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let n = ready!(io.poll_io(Direction::Read, cx, |s| {
        // SAFETY: `recv` only writes bytes into the slice (it never
        // de-initializes one), which is all `unfilled_mut` asks.
        let unfilled = unsafe { buf.unfilled_mut() };
        recv_uninit(s.as_fd(), unfilled)
    }))?;
    // SAFETY: `recv` initialized the first `n` bytes of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}
