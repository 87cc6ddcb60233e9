//! hyper 1.x on gmp: [`Executor`], [`Timer`] and [`Io`].
//!
//! hyper asks its runtime for three things: somewhere to spawn background
//! futures (HTTP/2 connection tasks), a timer (header-read timeouts, HTTP/2
//! keep-alive pings), and streams implementing `hyper::rt::Read`/`Write`.
//! [`Executor`] spawns on the current gmp runtime (`gmp::spawn`), [`Timer`]
//! sleeps on gmp's reactor (`gmp::time`), and `gmp::net::TcpStream` and
//! `UnixStream` are hyper streams as they are; [`Io`] adapts any other
//! futures-io stream (a TLS stream, say).
//!
//! # Examples
//!
//! ```
//! use gmp::compat::hyper::{Executor, Timer};
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::Bytes;
//!
//! #[gmp::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let listener = gmp::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gmp::spawn(async move {
//!         let (stream, _) = listener.accept().await.expect("accept");
//!         let service = hyper::service::service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("hi"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(Timer)
//!             .serve_connection(stream, service)
//!             .await
//!             .expect("serve");
//!     });
//!     let stream = gmp::net::TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     gmp::spawn(conn);
//!     let req = hyper::Request::get("/").body(Full::new(Bytes::new()))?;
//!     let body = sender.send_request(req).await?.into_body().collect().await?.to_bytes();
//!     assert_eq!(body, "hi");
//!     let _ = Executor; // for HTTP/2: http2::Builder::new(Executor)
//!     Ok(())
//! }
//! ```

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use futures::ready;

/// Spawns hyper's background futures on the current gmp runtime.
///
/// # Examples
///
/// ```
/// use gmp::compat::hyper::Executor;
/// use hyper::rt::Executor as _;
///
/// #[gmp::main]
/// async fn main() {
///     let (tx, rx) = futures::channel::oneshot::channel();
///     Executor.execute(async move { tx.send(7).expect("receiver waits") });
///     assert_eq!(rx.await, Ok(7));
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper keeps its own handles to what the future does.
        drop(gmp_executor::spawn(future));
    }
}

/// hyper's timer on gmp's reactor.
///
/// # Examples
///
/// ```
/// use gmp::compat::hyper::Timer;
/// use hyper::rt::Timer as _;
/// use std::time::{Duration, Instant};
///
/// #[gmp::main]
/// async fn main() {
///     let start = Instant::now();
///     Timer.sleep(Duration::from_millis(2)).await;
///     assert!(start.elapsed() >= Duration::from_millis(2));
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

/// A gmp sleep as a `hyper::rt::Sleep` (the orphan rule needs a newtype).
#[derive(Debug)]
struct HyperSleep {
    /// The gmp timer.
    inner: gmp_reactor::time::Sleep,
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: gmp_reactor::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: gmp_reactor::time::sleep_until(deadline),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.inner.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// Any futures-io stream as a hyper stream.
///
/// Reads zero at most 16 KiB of hyper's uninitialized buffer before handing
/// it to the inner `poll_read` (a `&mut [u8]` must be initialized); the gmp
/// stream types need no `Io`, they read into hyper's buffer directly.
///
/// # Examples
///
/// ```
/// use gmp::compat::hyper::Io;
/// use hyper::rt::{Read, Write};
///
/// #[gmp::main]
/// async fn main() -> std::io::Result<()> {
///     let (a, b) = gmp::net::UnixStream::pair()?;
///     let (mut a, b) = (Io::new(a), Io::new(b));
///     std::future::poll_fn(|cx| std::pin::Pin::new(&mut a).poll_write(cx, b"x")).await?;
///     let inner: gmp::net::UnixStream = b.into_inner();
///     let mut buf = [0; 1];
///     futures::io::AsyncReadExt::read_exact(&mut &inner, &mut buf).await?;
///     assert_eq!(&buf, b"x");
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Io<T> {
    /// The adapted stream.
    inner: T,
}

/// The most of hyper's buffer one read zeroes and offers.
const IO_READ_CHUNK: usize = 16 * 1024;

impl<T> Io<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gmp::net::UnixStream::pair()?;
    /// let io = gmp::compat::hyper::Io::new(a);
    /// assert!(io.get_ref().peer_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new(inner: T) -> Io<T> {
        Io { inner }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gmp::net::UnixStream::pair()?;
    /// let io = gmp::compat::hyper::Io::new(a);
    /// assert!(io.get_ref().local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gmp::net::UnixStream::pair()?;
    /// let a: gmp::net::UnixStream = gmp::compat::hyper::Io::new(a).into_inner();
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: only initialized bytes (zeros, then what the reader wrote)
        // are stored into the slice; nothing is de-initialized.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len().min(IO_READ_CHUNK);
        let chunk = &mut unfilled[..len];
        chunk.fill(MaybeUninit::new(0));
        // SAFETY: every byte of `chunk` was initialized just above, and
        // `MaybeUninit<u8>` has the layout of `u8`.
        let bytes: &mut [u8] = unsafe { &mut *(chunk as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let n = ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, bytes))?;
        // SAFETY: the first `n <= len` bytes are initialized (all `len` are).
        unsafe { buf.advance(n.min(len)) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}
