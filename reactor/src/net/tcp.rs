//! TCP: a listener and a stream on gmp's reactor.
//!
//! `TcpListener::bind` creates the socket itself (non-blocking,
//! `SO_REUSEADDR`, backlog 1024). `TcpStream::connect` is a non-blocking
//! `connect` followed by a wait for writability and an `SO_ERROR` check, for
//! each resolved address in turn until one succeeds.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::addr::{no_addresses, resolve};
use super::ToSocketAddrs;
use crate::sys::{self, RawAddr};
use crate::Async;

/// A TCP socket server, listening for connections.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::{TcpListener, TcpStream};
///
/// futures::executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let _client = TcpStream::connect(listener.local_addr()?).await?;
///     let (_stream, peer) = listener.accept().await?;
///     assert!(peer.ip().is_loopback());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The listening socket, registered with the reactor.
    inner: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and starts listening (backlog 1024).
    ///
    /// With several resolved addresses, the first that binds wins.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpListener;
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            match sys::tcp_listen(&addr) {
                Ok(fd) => {
                    let inner = Async::new_nonblocking(std::net::TcpListener::from(fd))?;
                    return Ok(TcpListener { inner });
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Errors of `accept(2)` (`EMFILE` when the process is out of file
    /// descriptors, `ECONNABORTED`...) are returned as they are; the listener
    /// stays usable, so an accept loop may log them and go on.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (stream, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(|l| l.accept()).await?;
        stream.set_nonblocking(true)?;
        let inner = Async::new_nonblocking(stream)?;
        Ok((TcpStream { inner }, peer))
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpListener;
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert!(listener.local_addr()?.ip().is_loopback());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Wraps a std listener (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpListener;
    ///
    /// let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0")?)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Async::new(listener)?,
        })
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

/// A TCP connection.
///
/// Implements [`AsyncRead`] and [`AsyncWrite`], also for `&TcpStream` so that
/// reading and writing can happen in two tasks at once.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_reactor::net::{TcpListener, TcpStream};
///
/// futures::executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     client.close().await?; // shuts down the write half
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).await?;
///     assert_eq!(got, b"hi");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The connected socket, registered with the reactor.
    inner: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// Returns the error of the last address tried (`ConnectionRefused`,
    /// ...) when none accepts.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            match TcpStream::connect_one(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    /// Connects to one address: non-blocking `connect`, wait for
    /// writability, then `SO_ERROR`.
    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let domain = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        let fd = sys::socket(domain, libc::SOCK_STREAM)?;
        let connected = sys::connect(fd.as_fd(), &RawAddr::from_inet(&addr))?;
        let inner = Async::new_nonblocking(std::net::TcpStream::from(fd))?;
        if !connected {
            inner.writable().await?;
            if let Some(e) = inner.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(TcpStream { inner })
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpStream;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let stream = TcpStream::from_std(std_stream)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new(stream)?,
        })
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert!(stream.local_addr()?.ip().is_loopback());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     stream.set_nodelay(true)?;
    ///     assert!(stream.nodelay()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     let _on = stream.nodelay()?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half or both (not async).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    /// use std::net::Shutdown;
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.shutdown(Shutdown::Write)?;
    ///     let mut buf = [0; 1];
    ///     assert_eq!(server.read(&mut buf).await?, 0); // end of stream
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }
}

stream_impls!(TcpStream);
