//! TCP: a listener and a stream on gmp's reactor.
//!
//! `TcpListener::bind` creates the socket itself (non-blocking,
//! `SO_REUSEADDR`, backlog 1024). `TcpStream::connect` is a non-blocking
//! `connect` followed by a wait for writability and an `SO_ERROR` check, for
//! each resolved address in turn until one succeeds (an `EINTR` from
//! `connect` counts as "in progress", see [`crate::sys`]).
//!
//! `accept` is one `accept4(NONBLOCK|CLOEXEC)`; after an `EMFILE`-like error
//! the listener's next accept waits first (see [`super::backoff`]).
//! [`Incoming`] is the same accept as a `Stream`.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::ready;
use futures::stream::Stream;
use socket2::{SockAddr, SockRef, Socket, Type};

use super::addr::{no_addresses, resolve};
use super::backoff::AcceptBackoff;
use super::split::{split, OwnedReadHalf, OwnedWriteHalf};
use super::ToSocketAddrs;
use crate::source::Direction;
use crate::sys;
use crate::time::{sleep_until, Sleep};
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
    /// When the next accept may try again after `EMFILE`; written by every
    /// accept attempt.
    backoff: AcceptBackoff,
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
                Ok(socket) => return TcpListener::from_socket(socket),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Errors of `accept(2)` (`EMFILE` when the process is out of file
    /// descriptors, `ECONNABORTED`...) are returned as they are; the listener
    /// stays usable, so an accept loop may log them and go on. After
    /// `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM`, the next accept first waits
    /// (5 ms, doubling to 1 s while the errors go on, as Go's `http.Server`
    /// does), so such a loop does not spin while no descriptor is free.
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
        if let Some(until) = self.backoff.pending() {
            sleep_until(until).await;
        }
        std::future::poll_fn(|cx| self.poll_accept_once(cx)).await
    }

    /// One accept attempt (registering for readability on `WouldBlock`),
    /// with its outcome recorded for the back-off.
    fn poll_accept_once(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let result = ready!(self
            .inner
            .poll_io(Direction::Read, cx, |l| sys::accept(l.as_fd())));
        self.backoff.record(&result);
        Poll::Ready(result.and_then(|(fd, peer)| {
            let stream = std::net::TcpStream::from(fd);
            let peer = match peer {
                Some(peer) => peer,
                None => stream.peer_addr()?,
            };
            let inner = Async::new_nonblocking(stream)?;
            Ok((TcpStream { inner }, peer))
        }))
    }

    /// The connections as a `Stream` (never ending; errors are items, and
    /// the same back-off as [`TcpListener::accept`] applies).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut incoming = listener.incoming();
    ///     let stream = incoming.next().await.expect("never ends")?;
    ///     assert_eq!(stream.peer_addr()?, client.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            wait: None,
        }
    }

    /// Wraps a listening socket made here.
    pub(crate) fn from_socket(socket: Socket) -> io::Result<TcpListener> {
        let inner = Async::new_nonblocking(std::net::TcpListener::from(OwnedFd::from(socket)))?;
        Ok(TcpListener {
            inner,
            backoff: AcceptBackoff::default(),
        })
    }

    /// The std listener back, still in non-blocking mode (call
    /// `set_nonblocking(false)` for blocking accepts), removed from the
    /// reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::TcpListener;
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let std_listener = listener.into_std()?;
    ///     assert_eq!(std_listener.local_addr()?, addr);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
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
            backoff: AcceptBackoff::default(),
        })
    }
}

/// The stream of [`TcpListener::incoming`].
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use gmp_reactor::net::{Incoming, TcpListener, TcpStream};
///
/// futures::executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let _client = TcpStream::connect(listener.local_addr()?).await?;
///     let incoming: Incoming<'_> = listener.incoming();
///     let first: Vec<_> = incoming.take(1).collect().await;
///     assert!(first[0].is_ok());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    /// The listener accepted from.
    listener: &'a TcpListener,
    /// The back-off timer, while one runs.
    wait: Option<Sleep>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(until) = this.listener.backoff.pending() {
            let wait = this.wait.get_or_insert_with(|| sleep_until(until));
            if wait.deadline() != until {
                wait.reset(until);
            }
            ready!(Pin::new(wait).poll(cx));
        }
        this.wait = None;
        let result = ready!(this.listener.poll_accept_once(cx));
        Poll::Ready(Some(result.map(|(stream, _)| stream)))
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
/// Implements [`AsyncRead`](futures::io::AsyncRead) and [`AsyncWrite`](futures::io::AsyncWrite), also for `&TcpStream` so that
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
        let socket = sys::socket(sys::inet_domain(&addr), Type::STREAM)?;
        TcpStream::connect_socket(socket, addr).await
    }

    /// Connects a fresh non-blocking socket (from [`TcpStream::connect`] or
    /// a [`super::TcpSocket`]) to `addr`.
    pub(crate) async fn connect_socket(socket: Socket, addr: SocketAddr) -> io::Result<TcpStream> {
        let connected = sys::start_connect(&socket, &SockAddr::from(addr), |s, a| s.connect(a))?;
        let inner = Async::new_nonblocking(std::net::TcpStream::from(OwnedFd::from(socket)))?;
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

    /// Receives data without removing it from the socket's queue.
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
    ///     client.write_all(b"abc").await?;
    ///     let mut buf = [0; 3];
    ///     let n = server.peek(&mut buf).await?;
    ///     assert_eq!(&buf[..n], &b"abc"[..n]);
    ///     server.read_exact(&mut buf).await?; // still there
    ///     assert_eq!(&buf, b"abc");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// Waits until the stream is readable (data, end of stream or error);
    /// a following read may still find nothing (see [`Async::readable`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncWriteExt;
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"x").await?;
    ///     server.readable().await?;
    ///     let mut buf = [0; 1];
    ///     assert_eq!(server.peek(&mut buf).await?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable().await
    }

    /// Waits until the stream is writable.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.writable().await
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }

    /// Splits the stream into a read half and a write half that two tasks
    /// can own.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (rd, wr) = client.into_split();
    ///     assert_eq!(rd.as_ref().local_addr()?, wr.as_ref().local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split(self)
    }

    /// The std stream back, still non-blocking, removed from the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let std_stream = client.into_std()?;
    ///     assert_eq!(std_stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }

    /// Sets `SO_LINGER`: `Some(d)` makes close wait up to `d` for unsent
    /// data (`Some(ZERO)`: reset the connection); `None` is the default.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.set_linger(Some(Duration::from_secs(1)))?;
    ///     assert_eq!(client.linger()?, Some(Duration::from_secs(1)));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(client.linger()?, None);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self).linger()
    }

    /// Sets `SO_KEEPALIVE` (the OS's default probe timing).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.set_keepalive(true)?;
    ///     assert!(client.keepalive()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        SockRef::from(self).set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert!(!client.keepalive()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self).keepalive()
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     client.set_ttl(42)?;
    ///     assert_eq!(client.ttl()?, 42);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::net::{TcpListener, TcpStream};
    ///
    /// futures::executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     assert!(client.ttl()? > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }
}

stream_impls!(TcpStream);
