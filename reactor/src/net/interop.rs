//! Reads into hyper's and tokio's uninitialized buffers, for the
//! `hyper::rt::Read` and `tokio::io::AsyncRead` impls of the stream types.
//!
//! Both traits hand out a buffer whose unfilled part may be uninitialized
//! memory. Zeroing it first (as a `&mut [u8]` read would need) costs a
//! memset per read; instead `recv` writes into the `MaybeUninit` bytes
//! directly (rustix takes `&mut [MaybeUninit<u8>]`), and the cursor is
//! advanced by exactly the bytes the kernel wrote.
//!
//! Both are stream reads (`Async::poll_read_stream`): a read shorter than
//! the unfilled part drained the socket, so it clears the read readiness and
//! the next read waits for an edge instead of trying `recv` for an `EAGAIN`
//! first, as the futures-io impls do. (Through `poll_io`, which knows no
//! buffer length, a hyper server paid one failed `recvfrom` per request:
//! two per request at 1,024 connections, half of them `EAGAIN`.)

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use futures::ready;
use rustix::net::RecvFlags;

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
    let len = buf.remaining();
    let n = ready!(io.poll_read_stream(cx, len, |s| {
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
    let len = buf.remaining();
    let n = ready!(io.poll_read_stream(cx, len, |s| {
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

#[cfg(all(test, any(feature = "hyper", feature = "tokio")))]
mod tests {
    use std::io::Write;
    use std::mem::MaybeUninit;
    use std::net::{TcpListener, TcpStream};

    use crate::source::Direction;
    use crate::Async;

    /// A connected pair: the accepted end in the reactor, the other plain,
    /// with `bytes` already written to the first.
    fn pair_with(bytes: &[u8]) -> (Async<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut peer = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        peer.write_all(bytes).expect("write");
        (Async::new(accepted).expect("register"), peer)
    }

    fn drained(io: &Async<TcpStream>) -> bool {
        !io.readiness(Direction::Read).worth_trying()
    }

    #[cfg(feature = "hyper")]
    #[test]
    fn a_short_hyper_read_clears_the_read_readiness() {
        let (io, _peer) = pair_with(b"abc");
        let mut storage = [MaybeUninit::<u8>::uninit(); 64];
        let mut buf = hyper::rt::ReadBuf::uninit(&mut storage);
        futures::executor::block_on(futures::future::poll_fn(|cx| {
            super::hyper_poll_read(&io, cx, buf.unfilled())
        }))
        .expect("read");
        assert_eq!(buf.filled(), b"abc");
        assert!(
            drained(&io),
            "3 of 64 bytes: the next read must wait for an edge"
        );
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn a_short_tokio_read_clears_the_read_readiness() {
        let (io, _peer) = pair_with(b"abc");
        let mut storage = [0u8; 64];
        let mut buf = tokio::io::ReadBuf::new(&mut storage);
        futures::executor::block_on(futures::future::poll_fn(|cx| {
            super::tokio_poll_read(&io, cx, &mut buf)
        }))
        .expect("read");
        assert_eq!(buf.filled(), b"abc");
        assert!(
            drained(&io),
            "3 of 64 bytes: the next read must wait for an edge"
        );
    }
}
