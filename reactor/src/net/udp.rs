//! UDP on gmp's reactor.
//!
//! A thin layer over `std::net::UdpSocket`: each datagram operation is tried
//! at once and parks the task on `WouldBlock`. Destination addresses given to
//! [`UdpSocket::send_to`] are resolved like every other address (host names
//! off-thread); the first resolved address is used, as std does.
//!
//! The `poll_` forms (`poll_recv_from`, `poll_send_to`, ...) are for code
//! that drives sockets from its own `poll` functions (QUIC stacks): one
//! attempt, and on `WouldBlock` the task's waker is registered for that
//! direction.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::source::Direction;

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

    /// Polls to receive one datagram: its length and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"q", b.local_addr()?).await?;
    ///     let mut buf = [0; 4];
    ///     let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    ///     assert_eq!((n, from), (1, a.local_addr()?));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner
            .poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// Polls to send one datagram to `target` (a literal address).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let to = b.local_addr()?;
    ///     assert_eq!(poll_fn(|cx| a.poll_send_to(cx, b"q", to)).await?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, target))
    }

    /// Polls to receive one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send_to(b"qq", b.local_addr()?).await?;
    ///     let mut buf = [0; 4];
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
    /// use gmp_reactor::net::UdpSocket;
    /// use std::future::poll_fn;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(poll_fn(|cx| a.poll_send(cx, b"qq")).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Write, cx, |s| s.send(buf))
    }

    /// Receives one datagram without removing it from the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"pk", b.local_addr()?).await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.peek_from(&mut buf).await?, (2, a.local_addr()?));
    ///     assert_eq!(b.recv_from(&mut buf).await?, (2, a.local_addr()?));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.peek_from(buf)).await
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_broadcast(true)?;
    ///     assert!(s.broadcast()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(!s.broadcast()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_ttl(7)?;
    ///     assert_eq!(s.ttl()?, 7);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(s.ttl()? > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_multicast_ttl_v4(3)?;
    ///     assert_eq!(s.multicast_ttl_v4()?, 3);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(s.multicast_ttl_v4()?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.get_ref().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_multicast_loop_v4(false)?;
    ///     assert!(!s.multicast_loop_v4()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_multicast_loop_v4(on)
    }

    /// The `IP_MULTICAST_LOOP` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(s.multicast_loop_v4()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.get_ref().multicast_loop_v4()
    }

    /// Joins the IPv4 multicast group `group` on the interface `interface`
    /// (`UNSPECIFIED`: the OS picks).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::net::Ipv4Addr;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("0.0.0.0:0").await?;
    ///     let group = Ipv4Addr::new(239, 255, 0, 1);
    ///     // Hosts without a multicast route answer an error; both are fine here.
    ///     if s.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_ok() {
    ///         s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
    ///     }
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`UdpSocket::join_multicast_v4`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::net::Ipv4Addr;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("0.0.0.0:0").await?;
    ///     // Leaving a group never joined is an error.
    ///     assert!(s.leave_multicast_v4(Ipv4Addr::new(239, 255, 0, 2), Ipv4Addr::LOCALHOST).is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on interface index `interface`
    /// (0: the OS picks).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::net::Ipv6Addr;
    ///
    /// futures::executor::block_on(async {
    ///     // Hosts without IPv6 answer an error on bind; nothing to show then.
    ///     if let Ok(s) = UdpSocket::bind("[::]:0").await {
    ///         let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x123);
    ///         if s.join_multicast_v6(&group, 0).is_ok() {
    ///             s.leave_multicast_v6(&group, 0)?;
    ///         }
    ///     }
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.get_ref().join_multicast_v6(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    /// use std::net::Ipv6Addr;
    ///
    /// futures::executor::block_on(async {
    ///     if let Ok(s) = UdpSocket::bind("[::]:0").await {
    ///         let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x124);
    ///         assert!(s.leave_multicast_v6(&group, 0).is_err()); // never joined
    ///     }
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.get_ref().leave_multicast_v6(group, interface)
    }

    /// The std socket back, still non-blocking, removed from the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let s = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let addr = s.local_addr()?;
    ///     assert_eq!(s.into_std()?.local_addr()?, addr);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.inner.into_inner()
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
