//! Unix domain stream sockets on gmp's reactor.
//!
//! `UnixListener::bind` is synchronous (binding a path never waits).
//! `UnixStream::connect` is a non-blocking `connect`; if the listener's
//! backlog is full, Linux answers `EAGAIN` at once and that error is
//! returned (`WouldBlock`), as tokio and mio do, rather than blocking the
//! thread as std's `connect` would.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use std::os::fd::OwnedFd;

use futures::ready;
use socket2::{Domain, SockAddr, Type};

use super::backoff::AcceptBackoff;
use crate::source::Direction;
use crate::sys;
use crate::time::sleep_until;
use crate::Async;

/// A Unix domain socket server.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::{UnixListener, UnixStream};
///
/// futures::executor::block_on(async {
///     let path = std::env::temp_dir().join(format!("gmp-doc-listener-{}", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let _client = UnixStream::connect(&path).await?;
///     let (_server, _addr) = listener.accept().await?;
///     std::fs::remove_file(&path)
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    /// The listening socket, registered with the reactor.
    inner: Async<std::os::unix::net::UnixListener>,
    /// When the next accept may try again after `EMFILE`; written by every
    /// accept attempt.
    backoff: AcceptBackoff,
}

impl UnixListener {
    /// Binds to `path` and listens (not async).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("gmp-doc-bind-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Async::new_nonblocking(listener)?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Waits for a connection (one `accept4(NONBLOCK|CLOEXEC)`; after
    /// `EMFILE` and the like, the next call waits first, as
    /// `TcpListener::accept` does).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{UnixListener, UnixStream};
    ///
    /// futures::executor::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("gmp-doc-accept-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (_stream, _addr) = listener.accept().await?;
    ///     std::fs::remove_file(&path)
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        if let Some(until) = self.backoff.pending() {
            sleep_until(until).await;
        }
        let fd = std::future::poll_fn(|cx| {
            let result = ready!(self
                .inner
                .poll_io(Direction::Read, cx, |l| sys::accept(l.as_fd())));
            self.backoff.record(&result);
            std::task::Poll::Ready(result.map(|(fd, _)| fd))
        })
        .await?;
        let stream = std::os::unix::net::UnixStream::from(fd);
        let addr = stream.peer_addr()?;
        Ok((
            UnixStream {
                inner: Async::new_nonblocking(stream)?,
            },
            addr,
        ))
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("gmp-doc-laddr-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

/// A Unix domain stream socket.
///
/// Implements [`AsyncRead`](futures::io::AsyncRead) and [`AsyncWrite`](futures::io::AsyncWrite), also for `&UnixStream`.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_reactor::net::UnixStream;
///
/// futures::executor::block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixStream {
    /// The connected socket, registered with the reactor.
    inner: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{UnixListener, UnixStream};
    ///
    /// futures::executor::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("gmp-doc-connect-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let _listener = UnixListener::bind(&path)?;
    ///     let stream = UnixStream::connect(&path).await?;
    ///     assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path)
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path.as_ref())?;
        let socket = sys::socket(Domain::UNIX, Type::STREAM)?;
        let connected = sys::start_connect(&socket, &addr, |s, a| s.connect(a))?;
        let stream = std::os::unix::net::UnixStream::from(OwnedFd::from(socket));
        let inner = Async::new_nonblocking(stream)?;
        if !connected {
            inner.writable().await?;
            if let Some(e) = inner.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(UnixStream { inner })
    }

    /// A pair of connected sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixStream;
    ///
    /// let (a, b) = UnixStream::pair()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = UnixStream::from_std(a)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            inner: Async::new_nonblocking(stream)?,
        })
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half or both (not async).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use gmp_reactor::net::UnixStream;
    /// use std::net::Shutdown;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     let mut buf = [0; 1];
    ///     assert_eq!(b.read(&mut buf).await?, 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The std stream back, still non-blocking, removed from the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// let std_stream = a.into_std()?;
    /// assert!(std_stream.peer_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.inner.into_inner()
    }
}

stream_impls!(UnixStream);
