//! `TcpSocket`: a TCP socket configured before it listens or connects.
//!
//! Options that std lacks and that must be set before `bind`/`listen`/
//! `connect` (`SO_REUSEPORT`, the listen backlog, buffer sizes) go here, as
//! with tokio's `TcpSocket`. The socket is non-blocking and close-on-exec
//! from birth; `listen` turns it into a [`TcpListener`], `connect` into a
//! [`TcpStream`]. Options on an existing stream or listener are also reachable
//! through `socket2::SockRef::from(&stream)`, since both are `AsFd`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use super::{TcpListener, TcpStream};
use crate::sys;

/// A TCP socket not yet listening or connected.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::{TcpSocket, TcpStream};
///
/// futures::executor::block_on(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.bind("127.0.0.1:0".parse().expect("literal"))?;
///     let listener = socket.listen(64)?;
///     let _client = TcpStream::connect(listener.local_addr()?).await?;
///     let (_server, _) = listener.accept().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    /// The socket (non-blocking, close-on-exec).
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpSocket;
    ///
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().expect("literal"))?;
    /// assert!(socket.local_addr()?.is_ipv4());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v6()?;
    /// socket.set_reuseaddr(true)?;
    /// assert!(socket.reuseaddr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A socket of `domain`.
    fn new(domain: Domain) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: sys::socket(domain, Type::STREAM)?,
        })
    }

    /// Sets `SO_REUSEADDR` (rebinding a port in `TIME_WAIT`).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_reuseaddr(true)?;
    /// assert!(socket.reuseaddr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(!socket.reuseaddr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several listeners on one port, the kernel
    /// spreading connections between them.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_reuseport(true)?;
    /// assert!(socket.reuseport()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(!socket.reuseport()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_keepalive(true)?;
    /// assert!(socket.keepalive()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(!socket.keepalive()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_LINGER` (see [`TcpStream::set_linger`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(socket.linger()?, Some(Duration::ZERO));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert_eq!(socket.linger()?, None);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_nodelay(true)?;
    /// assert!(socket.nodelay()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(!socket.nodelay()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_SNDBUF` (the kernel may round or double it).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_send_buffer_size(64 * 1024)?;
    /// assert!(socket.send_buffer_size()? >= 64 * 1024);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_send_buffer_size(size)
    }

    /// The `SO_SNDBUF` size.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(socket.send_buffer_size()? > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.inner.send_buffer_size()
    }

    /// Sets `SO_RCVBUF` (the kernel may round or double it).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.set_recv_buffer_size(64 * 1024)?;
    /// assert!(socket.recv_buffer_size()? >= 64 * 1024);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size)
    }

    /// The `SO_RCVBUF` size.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// assert!(socket.recv_buffer_size()? > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.recv_buffer_size()
    }

    /// Binds to `addr` (a literal address: this call does not resolve).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().expect("literal"))?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&SockAddr::from(addr))
    }

    /// The bound address.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().expect("literal"))?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()?.as_socket().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the socket has no IP address")
        })
    }

    /// Starts listening with a queue of `backlog` pending connections.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = gmp_reactor::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().expect("literal"))?;
    /// let listener = socket.listen(4096)?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_socket(self.inner)
    }

    /// Connects to `addr`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpSocket};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let socket = TcpSocket::new_v4()?;
    ///     socket.set_nodelay(true)?;
    ///     let stream = socket.connect(listener.local_addr()?).await?;
    ///     assert!(stream.nodelay()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_socket(self.inner, addr).await
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}
