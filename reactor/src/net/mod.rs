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
//! Vectored writes (`poll_write_vectored`) are one `sendmsg` with
//! `MSG_NOSIGNAL`, a `writev` that cannot raise `SIGPIPE`.
//!
//! With the `hyper` feature the stream types implement `hyper::rt::Read` and
//! `hyper::rt::Write` (reading straight into hyper's uninitialized buffer);
//! with the `tokio` feature, `tokio::io::AsyncRead` and `AsyncWrite` (tokio's
//! I/O traits need no tokio runtime: the gmp reactor drives these streams).
//!
//! Addresses are anything implementing [`ToSocketAddrs`]. Literal addresses
//! are parsed inline; host names are resolved on a small bounded pool of
//! threads, so a DNS lookup never blocks the calling thread (or a gmp P).
//!
//! `accept` on a process or system out of descriptors or memory (`EMFILE`,
//! `ENFILE`, `ENOBUFS`, `ENOMEM`) returns the error, and the listener's next
//! accept first waits 5 ms, doubling to 1 s while the errors go on (Go's
//! `http.Server` back-off), so an accept loop that logs the error and goes on
//! waits instead of spinning.

/// The fd and futures-io impls shared by the stream types: `$ty` wraps an
/// `Async<_>` in a field named `inner` whose `get_ref()` has
/// `shutdown(Shutdown)`. Reads and writes go through `&$ty`, so a stream can
/// be read and written from two tasks at once.
macro_rules! stream_impls {
    ($ty:ident) => {
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.inner.as_fd())
            }
        }

        impl futures::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_read(cx, buf)
            }
        }

        impl futures::io::AsyncRead for &$ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let len = buf.len();
                self.inner
                    .poll_read_stream(cx, len, |mut s| std::io::Read::read(&mut s, buf))
            }
        }

        impl futures::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut &*self).poll_flush(cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut &*self).poll_close(cx)
            }
        }

        impl futures::io::AsyncWrite for &$ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send(&self.inner, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send_vectored(&self.inner, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::close_write(self.inner.get_ref().shutdown(std::net::Shutdown::Write))
            }
        }

        #[cfg(feature = "hyper")]
        impl hyper::rt::Read for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::interop::hyper_poll_read(&self.inner, cx, buf)
            }
        }

        #[cfg(feature = "hyper")]
        impl hyper::rt::Write for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send(&self.inner, cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::close_write(self.inner.get_ref().shutdown(std::net::Shutdown::Write))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send_vectored(&self.inner, cx, bufs)
            }
        }

        #[cfg(feature = "tokio")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::interop::tokio_poll_read(&self.inner, cx, buf)
            }
        }

        #[cfg(feature = "tokio")]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send(&self.inner, cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::close_write(self.inner.get_ref().shutdown(std::net::Shutdown::Write))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::poll_send_vectored(&self.inner, cx, bufs)
            }
        }
    };
}

mod addr;
mod backoff;
#[cfg(any(feature = "hyper", feature = "tokio"))]
mod interop;
mod resolver;
mod split;
mod tcp;
mod tcp_socket;
mod udp;
mod unix;
mod unix_datagram;

pub use addr::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use tcp_socket::TcpSocket;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
pub use unix_datagram::UnixDatagram;

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use crate::source::Direction;
use crate::{sys, Async};

/// `AsyncWrite::poll_write` for sockets: `send(MSG_NOSIGNAL)`.
fn poll_send<T: AsFd>(io: &Async<T>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    io.poll_io(Direction::Write, cx, |s| sys::send(s.as_fd(), buf))
}

/// `AsyncWrite::poll_write_vectored` for sockets: one `sendmsg(MSG_NOSIGNAL)`.
fn poll_send_vectored<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    io.poll_io(Direction::Write, cx, |s| {
        sys::send_vectored(s.as_fd(), bufs)
    })
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
