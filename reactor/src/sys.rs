//! The few socket calls that std does not expose, on top of `libc`.
//!
//! std creates blocking sockets and its `connect` waits for the handshake; a
//! netpoller needs a socket that is non-blocking from birth and a `connect`
//! that returns `EINPROGRESS`. Writes go through `send(MSG_NOSIGNAL)` so that
//! writing to a closed peer is an `EPIPE` error and never a `SIGPIPE` that
//! kills a process which did not ignore it.
//!
//! Everything here returns `io::Error`s built from `errno`; each function owns
//! what it creates (`OwnedFd`), so an error path never leaks a descriptor.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `send` flags that turn `SIGPIPE` into `EPIPE` where the OS has one.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
/// Elsewhere (Apple) sockets get `SO_NOSIGPIPE` at creation instead.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
const SEND_FLAGS: libc::c_int = 0;

/// Turns a `-1` return into the `errno` error.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Sets `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` is open for the duration of the borrow; F_GETFL/F_SETFL
    // only read and write its status flags.
    let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    {
        // SAFETY: plain syscall; a non-negative result is a fresh descriptor
        // that nobody else owns, so `OwnedFd` may take it.
        let fd =
            cvt(unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
        // SAFETY: see above.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    {
        // SAFETY: plain syscall; a non-negative result is a fresh descriptor.
        let fd = cvt(unsafe { libc::socket(domain, ty, 0) })?;
        // SAFETY: see above.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `fd` is open; these only set descriptor flags / an option.
        unsafe {
            cvt(libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC))?;
            let one: libc::c_int = 1;
            cvt(libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                (&one as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            ))?;
        }
        set_nonblocking(std::os::fd::AsFd::as_fd(&fd))?;
        Ok(fd)
    }
}

/// A socket address in the C layout, with its length.
pub(crate) struct RawAddr {
    /// Big enough and aligned for every address family.
    storage: libc::sockaddr_storage,
    /// How many bytes of `storage` are meaningful.
    len: libc::socklen_t,
}

impl RawAddr {
    /// The C form of an IP socket address.
    pub(crate) fn from_inet(addr: &SocketAddr) -> RawAddr {
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                // SAFETY: all-zero bytes are a valid `sockaddr_in`.
                let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                // SAFETY: `sockaddr_storage` is larger than and aligned for
                // every `sockaddr_*`, so this write stays in bounds.
                unsafe {
                    (&mut storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in>()
                        .write(sin)
                };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: all-zero bytes are a valid `sockaddr_in6`.
                let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_scope_id = a.scope_id();
                // SAFETY: as for V4.
                unsafe {
                    (&mut storage as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in6>()
                        .write(sin6)
                };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// The C form of a Unix socket path.
    pub(crate) fn from_path(path: &Path) -> io::Result<RawAddr> {
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        // SAFETY: all-zero bytes are a valid `sockaddr_un`.
        let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        if bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must not contain NUL bytes",
            ));
        }
        // Keep one byte for the terminating NUL.
        if bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Unix socket path {path:?} is too long ({} bytes, at most {})",
                    bytes.len(),
                    sun.sun_path.len() - 1
                ),
            ));
        }
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let base = mem::size_of::<libc::sockaddr_un>() - sun.sun_path.len();
        // SAFETY: `sockaddr_storage` is larger than and aligned for
        // `sockaddr_un`.
        unsafe {
            (&mut storage as *mut libc::sockaddr_storage)
                .cast::<libc::sockaddr_un>()
                .write(sun)
        };
        Ok(RawAddr {
            storage,
            len: (base + bytes.len() + 1) as libc::socklen_t,
        })
    }

    /// Pointer for the C calls.
    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }
}

/// Starts connecting `fd` to `addr`. `Ok(true)`: connected already;
/// `Ok(false)`: in progress, wait for writability and check `SO_ERROR`.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &RawAddr) -> io::Result<bool> {
    loop {
        // SAFETY: `fd` is open; `addr` points to `addr.len` valid bytes.
        let ret = unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len) };
        if ret == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINPROGRESS) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// A listening TCP socket on `addr`: non-blocking, `SO_REUSEADDR`, with a
/// backlog of 1024 (std's default of 128 drops SYNs under bursts of connects).
pub(crate) fn tcp_listen(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let fd = socket(domain, libc::SOCK_STREAM)?;
    let one: libc::c_int = 1;
    let raw = RawAddr::from_inet(addr);
    // SAFETY: `fd` is open; `one` outlives the call and its size is passed;
    // `raw` points to `raw.len` valid bytes.
    unsafe {
        cvt(libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        ))?;
        cvt(libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len))?;
        cvt(libc::listen(fd.as_raw_fd(), 1024))?;
    }
    Ok(fd)
}

/// `send(fd, buf, MSG_NOSIGNAL)`: a write that reports `EPIPE` instead of
/// raising `SIGPIPE`.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `fd` is open; `buf` is valid for `buf.len()` bytes.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
