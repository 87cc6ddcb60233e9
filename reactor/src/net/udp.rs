//! UDP on gmp's reactor.
//!
//! A thin layer over `std::net::UdpSocket`: each datagram operation is tried
//! at once and parks the task on `WouldBlock`. Destination addresses given to
//! [`UdpSocket::send_to`] are resolved like every other address (host names
//! off-thread); the first resolved address is used, as std does.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::addr::{no_addresses, resolve};
use super::ToSocketAddrs;
use crate::Async;

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::UdpSocket;
///
/// futures::executor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The socket, registered with the reactor.
    inner: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (the first resolved address that binds).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_ne!(socket.local_addr()?.port(), 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = resolve(&addr).await?;
        if addrs.is_empty() {
            return Err(no_addresses());
        }
        let socket = std::net::UdpSocket::bind(&addrs[..])?;
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: Async::new_nonblocking(socket)?,
        })
    }

    /// Sets the default destination (and the only accepted source) of this
    /// socket, for [`UdpSocket::send`] and [`UdpSocket::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = resolve(&addr).await?;
        if addrs.is_empty() {
            return Err(no_addresses());
        }
        self.inner.get_ref().connect(&addrs[..])
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.local_addr()?.ip().is_loopback());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address given to [`UdpSocket::connect`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.peer_addr().is_err()); // not connected
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.send_to(b"hey", b.local_addr()?).await?, 3);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addrs = resolve(&target).await?;
        let target = *addrs.first().ok_or_else(no_addresses)?;
        self.inner.write_with(|s| s.send_to(buf, target)).await
    }

    /// Receives one datagram; returns its length and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"x", b.local_addr()?).await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.recv_from(&mut buf).await?, (1, a.local_addr()?));
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
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.send(b"yo").await?, 2);
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
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send_to(b"yo", b.local_addr()?).await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.recv(&mut buf).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Wraps a std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// let socket = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: Async::new(socket)?,
        })
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}
