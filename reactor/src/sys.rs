//! The few socket calls that std does not expose, on `socket2` and `rustix`.
//!
//! std creates blocking sockets and its `connect` waits for the handshake; a
//! netpoller needs a socket that is non-blocking from birth and a `connect`
//! that returns `EINPROGRESS`. `socket2` creates sockets with
//! `SOCK_NONBLOCK | SOCK_CLOEXEC` in one call and does bind, listen, connect
//! and the socket options; `rustix` does the calls socket2 has no safe form
//! for: `accept4(NONBLOCK|CLOEXEC)` returning the peer address, and
//! `send`/`sendmsg` with `MSG_NOSIGNAL`, so that writing to a closed peer is
//! an `EPIPE` error and never a `SIGPIPE` that kills a process which did not
//! ignore it. No `unsafe` here.
//!
//! `connect` and `EINTR`: a non-blocking `connect` interrupted by a signal
//! goes on in the kernel, and calling `connect` again answers `EALREADY`
//! (Linux) for a connection that is in fact under way. So `EINTR` is treated
//! as `EINPROGRESS`: wait for writability and read `SO_ERROR`, as Go does.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{SendFlags, SocketFlags};
use socket2::{Domain, SockAddr, Socket, Type};

/// `send` flags that turn `SIGPIPE` into `EPIPE` where the OS has one.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SEND_FLAGS: SendFlags = SendFlags::NOSIGNAL;
/// Elsewhere (Apple) sockets get `SO_NOSIGPIPE` at creation instead.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SEND_FLAGS: SendFlags = SendFlags::empty();

/// Sets `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    if !flags.contains(rustix::fs::OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    }
    Ok(())
}

/// A new non-blocking, close-on-exec socket of `domain` and `ty`.
pub(crate) fn socket(domain: Domain, ty: Type) -> io::Result<Socket> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    let socket = Socket::new(domain, ty.nonblocking(), None)?;
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    let socket = {
        // socket2 sets close-on-exec (and on Apple `SO_NOSIGPIPE`) itself.
        let socket = Socket::new(domain, ty, None)?;
        socket.set_nonblocking(true)?;
        socket
    };
    Ok(socket)
}

/// The domain of an IP address.
pub(crate) fn inet_domain(addr: &SocketAddr) -> Domain {
    Domain::for_address(*addr)
}

/// Starts connecting `socket` to `addr` with `connect_fn` (socket2's
/// `connect`, or a stand-in in tests). `Ok(true)`: connected already;
/// `Ok(false)`: in progress, wait for writability and check `SO_ERROR`.
///
/// `EINTR` is "in progress", never a reason to call `connect` again (see the
/// module docs).
pub(crate) fn start_connect(
    socket: &Socket,
    addr: &SockAddr,
    connect_fn: impl FnOnce(&Socket, &SockAddr) -> io::Result<()>,
) -> io::Result<bool> {
    match connect_fn(socket, addr) {
        Ok(()) => Ok(true),
        Err(e) if is_in_progress(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `connect` answers that the handshake goes on without the caller.
fn is_in_progress(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(rustix::io::Errno::from_raw_os_error),
        Some(rustix::io::Errno::INPROGRESS | rustix::io::Errno::INTR)
    )
}

/// A listening TCP socket on `addr`: non-blocking, `SO_REUSEADDR`, with a
/// backlog of 1024 (std's default of 128 drops SYNs under bursts of connects).
pub(crate) fn tcp_listen(addr: &SocketAddr) -> io::Result<Socket> {
    let socket = socket(inet_domain(addr), Type::STREAM)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(*addr))?;
    socket.listen(1024)?;
    Ok(socket)
}

/// `accept4(fd, NONBLOCK | CLOEXEC)`: the new connection is non-blocking and
/// close-on-exec from birth, in one call. Returns the peer's address when the
/// OS gives one (IP sockets always do).
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    let (fd, addr) =
        rustix::net::acceptfrom_with(fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    let (fd, addr) = {
        let (fd, addr) = rustix::net::acceptfrom(fd)?;
        rustix::io::ioctl_fionbio(&fd, true)?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        (fd, addr)
    };
    Ok((fd, addr.and_then(|a| SocketAddr::try_from(a).ok())))
}

/// `send(fd, buf, MSG_NOSIGNAL)`: a write that reports `EPIPE` instead of
/// raising `SIGPIPE`.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(fd, buf, SEND_FLAGS)?)
}

/// The vectored `send`: one `sendmsg(fd, bufs, MSG_NOSIGNAL)` (a `writev`
/// that cannot raise `SIGPIPE`).
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut control = rustix::net::SendAncillaryBuffer::default();
    Ok(rustix::net::sendmsg(fd, bufs, &mut control, SEND_FLAGS)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsFd;

    /// A signal landing in `connect` after the kernel started the
    /// handshake: the old code called `connect` again and got `EALREADY`.
    #[test]
    fn connect_interrupted_after_the_kernel_started_is_in_progress_not_ealready() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let socket = socket(inet_domain(&addr), Type::STREAM).expect("socket");
        let target = SockAddr::from(addr);
        let connected = start_connect(&socket, &target, |s, a| {
            // The real connect starts the handshake (EINPROGRESS or done)...
            match s.connect(a) {
                Ok(()) => {}
                Err(e) if is_in_progress(&e) => {}
                Err(e) => panic!("the real connect failed: {e}"),
            }
            // ...and then the call reports EINTR, as when a signal arrives.
            Err(io::Error::from_raw_os_error(
                rustix::io::Errno::INTR.raw_os_error(),
            ))
        })
        .expect("an interrupted connect must be reported as in progress");
        assert!(!connected, "EINTR must mean 'in progress'");
        // The connection completes without a second connect call.
        socket.set_nonblocking(false).expect("blocking");
        let (_peer, _) = listener.accept().expect("accept");
        assert!(socket.take_error().expect("SO_ERROR").is_none());
        assert_eq!(socket.peer_addr().expect("peer").as_socket(), Some(addr));
    }

    #[test]
    fn send_vectored_sends_all_slices_in_one_call() {
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let n = send_vectored(a.as_fd(), &[IoSlice::new(b"ab"), IoSlice::new(b"cde")])
            .expect("sendmsg");
        assert_eq!(n, 5);
        let mut buf = [0; 5];
        std::io::Read::read_exact(&mut &b, &mut buf).expect("read");
        assert_eq!(&buf, b"abcde");
    }

    #[test]
    fn accept_gives_a_nonblocking_cloexec_socket_and_the_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (fd, peer) = accept(listener.as_fd()).expect("accept4");
        assert_eq!(peer, Some(client.local_addr().expect("local")));
        let fl = rustix::fs::fcntl_getfl(&fd).expect("getfl");
        assert!(fl.contains(rustix::fs::OFlags::NONBLOCK));
        let fdfl = rustix::io::fcntl_getfd(&fd).expect("getfd");
        assert!(fdfl.contains(rustix::io::FdFlags::CLOEXEC));
    }
}
