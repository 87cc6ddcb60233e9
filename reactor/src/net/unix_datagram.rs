//! Unix domain datagram sockets on gmp's reactor.
//!
//! A thin layer over `std::os::unix::net::UnixDatagram`, like `UdpSocket`:
//! each operation is tried at once and parks the task on `WouldBlock`.
//! Binding and connecting a path never wait, so those are synchronous.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use crate::source::Direction;
use crate::Async;

/// A Unix domain datagram socket.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::UnixDatagram;
///
/// futures::executor::block_on(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"ping").await?;
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    /// The socket, registered with the reactor.
    inner: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to `path` (not async).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let socket = UnixDatagram::bind(&path)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies only
    /// once connected or when the peer answers an autobound address).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let socket = UnixDatagram::unbound()?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let (a, b) = UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let socket = UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Async::new(socket)?,
        })
    }

    /// The std socket back, still non-blocking, removed from the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let (a, _b) = UnixDatagram::pair()?;
    /// assert!(a.into_std()?.local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.inner.into_inner()
    }

    /// Sets the default destination (and the only accepted source) for
    /// [`UnixDatagram::send`] and [`UnixDatagram::recv`] (not async).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dconn-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// client.connect(&path)?;
    /// assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// futures::executor::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("gmp-doc-dsend-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = UnixDatagram::bind(&path)?;
    ///     let client = UnixDatagram::unbound()?;
    ///     assert_eq!(client.send_to(b"hey", &path).await?, 3);
    ///     let mut buf = [0; 8];
    ///     let (n, _from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hey");
    ///     std::fs::remove_file(&path)
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives one datagram: its length and its sender's address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, b) = UnixDatagram::pair()?;
    ///     a.send(b"x").await?;
    ///     let mut buf = [0; 4];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(n, 1);
    ///     assert!(from.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, _b) = UnixDatagram::pair()?;
    ///     assert_eq!(a.send(b"abc").await?, 3);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, b) = UnixDatagram::pair()?;
    ///     a.send(b"abc").await?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(b.recv(&mut buf).await?, 3);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Polls to receive one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, b) = UnixDatagram::pair()?;
    ///     a.send(b"ab").await?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Read, cx, |s| s.recv(buf))
    }

    /// Polls to send one datagram to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, _b) = UnixDatagram::pair()?;
    ///     assert_eq!(poll_fn(|cx| a.poll_send(cx, b"ab")).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Write, cx, |s| s.send(buf))
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// let (a, _b) = UnixDatagram::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UnixDatagram;
    ///
    /// assert!(UnixDatagram::unbound()?.peer_addr().is_err()); // not connected
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
    /// use gmp_reactor::net::UnixDatagram;
    /// use std::net::Shutdown;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, _b) = UnixDatagram::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     assert!(a.send(b"x").await.is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}
