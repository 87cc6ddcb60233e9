//! `Async<T>`: any file descriptor, made non-blocking and registered with the
//! reactor.
//!
//! Protocol (see [`crate::source`] for the readiness word): an operation is
//! tried while the direction's cached readiness says it may succeed. When it
//! fails with `WouldBlock`, the task clears the readiness (unless an event
//! came in meanwhile, then it tries again), stores its waker and returns
//! `Pending`; the next event of that direction wakes it. No syscall is made
//! to wait: the fd stays registered, edge-triggered. Every poll first spends
//! one unit of the cooperative budget ([`crate::coop`]).
//!
//! Ownership: `Async` owns `T` and with it the fd. It removes the fd from the
//! poller before `T` is dropped (and so closed), in `Drop` and in
//! [`Async::into_inner`]. The fd is never closed twice: only `T` closes it.

use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use futures::ready;

use crate::coop;
use crate::reactor::Reactor;
use crate::source::{Direction, Slot, Source};
use crate::sys;

/// An I/O handle (`T: AsFd`) registered with gmp's reactor.
///
/// The handle is switched to non-blocking mode; operations that would block
/// park the *task*, not the thread. Use [`Async::read_with`] /
/// [`Async::write_with`] to run any non-blocking operation of `T` until it
/// stops returning `WouldBlock`; when `&T` implements [`Read`] / [`Write`],
/// `Async<T>` implements [`AsyncRead`] / [`AsyncWrite`].
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_reactor::Async;
/// use std::os::unix::net::UnixStream;
///
/// futures::executor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct Async<T: AsFd> {
    /// The registration in the reactor.
    source: Arc<Source>,
    /// The handle; `None` only after `into_inner` took it, just before `Drop`.
    io: Option<T>,
}

/// Waits until one direction of a handle is reported ready.
#[derive(Debug)]
struct Ready<'a, T: AsFd> {
    /// The handle waited on.
    handle: &'a Async<T>,
    /// Read or write.
    dir: Direction,
    /// This future's waiter slot in the source, once it waited.
    slot: Option<usize>,
}

impl<T: AsFd> Future for Ready<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A poll that only waits gives its budget unit back (the guard,
        // dropped on `Pending`), so waiting on many sources is no busy loop.
        let coop = ready!(coop::poll_budget(cx));
        let slot = Slot::Owned(&mut this.slot);
        let waiters = Reactor::get().waiters();
        let ready = ready!(this
            .handle
            .source
            .poll_ready(waiters, this.dir, slot, cx.waker()));
        coop.made_progress();
        Poll::Ready(ready)
    }
}

impl<T: AsFd> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        if let Some(index) = self.slot {
            self.handle
                .source
                .release(&Reactor::get().io_waiters, self.dir, index);
        }
    }
}

/// Runs a non-blocking operation until it stops returning `WouldBlock`
/// (`read_with`, `write_with`).
struct IoOp<'a, T: AsFd, F> {
    /// The handle operated on.
    handle: &'a Async<T>,
    /// Read or write.
    dir: Direction,
    /// The operation.
    op: F,
    /// This future's waiter slot in the source, once it waited.
    slot: Option<usize>,
}

impl<T: AsFd, F> std::fmt::Debug for IoOp<'_, T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoOp")
            .field("dir", &self.dir)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

// `IoOp` never pins its fields: `op` is only called through `&mut`.
impl<T: AsFd, F> Unpin for IoOp<'_, T, F> {}

impl<T: AsFd, R, F: FnMut(&T) -> io::Result<R>> Future for IoOp<'_, T, F> {
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = self.get_mut();
        let (handle, dir) = (this.handle, this.dir);
        handle.poll_op(dir, Slot::Owned(&mut this.slot), cx, &mut this.op, |_| {
            false
        })
    }
}

impl<T: AsFd, F> Drop for IoOp<'_, T, F> {
    fn drop(&mut self) {
        if let Some(index) = self.slot {
            self.handle
                .source
                .release(&Reactor::get().io_waiters, self.dir, index);
        }
    }
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::net::TcpListener;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        sys::set_nonblocking(io.as_fd())?;
        Async::new_nonblocking(io)
    }

    /// Registers `io`, which the caller already made non-blocking.
    pub(crate) fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        let source = Reactor::get().insert_source(io.as_fd().as_raw_fd())?;
        Ok(Async {
            source,
            io: Some(io),
        })
    }

    /// The inner handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::net::TcpListener;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let addr = listener.get_ref().local_addr()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("Async::io is taken only by into_inner, which consumes self"),
        }
    }

    /// The inner handle, mutably.
    ///
    /// # Safety
    ///
    /// The caller must not replace the handle (`mem::swap`, assignment) or
    /// close its file descriptor: the reactor keeps the registration of the
    /// original fd and removes it when the `Async` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// let mut a = Async::new(a)?;
    /// // SAFETY: only a socket option changes; the handle stays the same.
    /// let inner: &mut UnixStream = unsafe { a.get_mut() };
    /// inner.set_nonblocking(true)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub unsafe fn get_mut(&mut self) -> &mut T {
        match &mut self.io {
            Some(io) => io,
            None => unreachable!("Async::io is taken only by into_inner, which consumes self"),
        }
    }

    /// Deregisters the handle and gives it back (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::net::TcpListener;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let listener: TcpListener = listener.into_inner()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_inner(mut self) -> io::Result<T> {
        let removed = Reactor::get().remove_source(&self.source);
        let io = match self.io.take() {
            Some(io) => io,
            None => unreachable!("Async::io is taken only here"),
        };
        removed.map(|()| io)
    }

    /// Waits until the handle is readable (or hung up, or in error).
    ///
    /// Completes at once if the reactor reported the handle readable and no
    /// operation through this `Async` has hit `WouldBlock` since; otherwise
    /// at the next readiness event. A following read may still return
    /// `WouldBlock` (another task may have consumed the data): use
    /// [`Async::read_with`], which clears the readiness when that happens
    /// (a raw read on [`Async::get_ref`] cannot).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     let a = Async::new(a)?;
    ///     b.write_all(b"x")?;
    ///     a.readable().await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        Ready {
            handle: self,
            dir: Direction::Read,
            slot: None,
        }
        .await
    }

    /// Waits until the handle is writable (or hung up, or in error).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::os::unix::net::UnixStream;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     Async::new(a)?.writable().await
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        Ready {
            handle: self,
            dir: Direction::Write,
            slot: None,
        }
        .await
    }

    /// Polls for readability, with the meaning of [`Async::readable`]. The
    /// waker is kept in a slot shared by all `poll_*` callers of this
    /// direction: only the last task to poll is woken.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::future::poll_fn;
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     let a = Async::new(a)?;
    ///     b.write_all(b"x")?;
    ///     poll_fn(|cx| a.poll_readable(cx)).await
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let coop = ready!(coop::poll_budget(cx));
        let ready = ready!(self.poll_ready_shared(Direction::Read, cx));
        coop.made_progress();
        Poll::Ready(ready)
    }

    /// Polls for writability, like [`Async::poll_readable`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::future::poll_fn;
    /// use std::os::unix::net::UnixStream;
    ///
    /// futures::executor::block_on(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     let a = Async::new(a)?;
    ///     poll_fn(|cx| a.poll_writable(cx)).await
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let coop = ready!(coop::poll_budget(cx));
        let ready = ready!(self.poll_ready_shared(Direction::Write, cx));
        coop.made_progress();
        Poll::Ready(ready)
    }

    /// Runs the non-blocking read-side operation `op` until it returns
    /// something other than `WouldBlock`, parking the task in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = Async::new(UdpSocket::bind("127.0.0.1:0")?)?;
    ///     let b = UdpSocket::bind("127.0.0.1:0")?;
    ///     b.send_to(b"hi", a.get_ref().local_addr()?)?;
    ///     let mut buf = [0; 8];
    ///     let (n, _from) = a.read_with(|s| s.recv_from(&mut buf)).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn read_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        IoOp {
            handle: self,
            dir: Direction::Read,
            op,
            slot: None,
        }
        .await
    }

    /// Runs the non-blocking write-side operation `op` until it returns
    /// something other than `WouldBlock`, parking the task in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_reactor::Async;
    /// use std::net::UdpSocket;
    ///
    /// futures::executor::block_on(async {
    ///     let a = Async::new(UdpSocket::bind("127.0.0.1:0")?)?;
    ///     let b = UdpSocket::bind("127.0.0.1:0")?;
    ///     let to = b.local_addr()?;
    ///     let n = a.write_with(|s| s.send_to(b"hi", to)).await?;
    ///     assert_eq!(n, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn write_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        IoOp {
            handle: self,
            dir: Direction::Write,
            op,
            slot: None,
        }
        .await
    }

    /// Tries `op` while `dir` may be ready; on `WouldBlock`, waits in the
    /// shared `poll_*` slot of `dir` and returns `Pending`. The core of the
    /// `AsyncRead`/`AsyncWrite` impls of this crate.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_op(dir, Slot::Shared, cx, op, |_| false)
    }

    /// [`Async::poll_io`] for a stream read into a buffer of `len` bytes: a
    /// short read (`0 < n < len`) drained the socket's receive buffer, so it
    /// clears the read readiness too (unless the last event may have carried
    /// the end of the stream, see [`crate::source`]), and the next read
    /// waits for an event instead of trying and failing first.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let drained = move |r: &io::Result<usize>| matches!(r, Ok(n) if *n > 0 && *n < len);
        self.poll_op(Direction::Read, Slot::Shared, cx, op, drained)
    }

    /// One poll of `op` under the budget: [`Source::poll_op`], the
    /// protocol of [`crate::source`] from the task's side.
    fn poll_op<R>(
        &self,
        dir: Direction,
        slot: Slot<'_>,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&io::Result<R>) -> bool,
    ) -> Poll<io::Result<R>> {
        // Only an operation that completed spends the unit: one that found
        // the fd not ready and registered gives it back.
        let coop = ready!(coop::poll_budget(cx));
        let io = self.get_ref();
        let waiters = Reactor::get().waiters();
        let result =
            ready!(self
                .source
                .poll_op(waiters, dir, slot, cx.waker(), || op(io), drained));
        coop.made_progress();
        Poll::Ready(result)
    }

    /// `poll_readable`/`poll_writable` after the budget: ready, or wait in
    /// the shared slot.
    fn poll_ready_shared(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source
            .poll_ready(Reactor::get().waiters(), dir, Slot::Shared, cx.waker())
    }

    /// The readiness cache of `dir`, as the next operation will find it
    /// (the tests of the hyper and tokio reads, `net/interop.rs`).
    #[cfg(all(test, any(feature = "hyper", feature = "tokio")))]
    pub(crate) fn readiness(&self, dir: Direction) -> crate::source::Snapshot {
        self.source.readiness(dir)
    }

    /// The fd, borrowed.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd().as_raw_fd()
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            // Deregister before `io` (and with it the fd) is dropped. An error
            // here means the fd is no longer in the poller: nothing to undo.
            let _ = Reactor::get().remove_source(&self.source);
        }
    }
}

impl<T: AsFd> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, |mut io| io.read(buf))
    }
}

impl<T: AsFd> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_io(Direction::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_io(Direction::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
