//! Turning user addresses into `SocketAddr`s without blocking.
//!
//! [`ToSocketAddrs`] is sealed. Each implementation says whether it is
//! already a list of addresses (literal IPs, `SocketAddr`s: resolved inline)
//! or a host name that needs a lookup. Lookups run `std`'s resolver on the
//! small bounded pool of [`super::resolver`] (threads named `gmp-resolve`),
//! and the caller awaits its answer through a oneshot channel, so a slow DNS
//! server never blocks the caller's thread, and a burst of lookups never
//! starts more than a few threads.

use futures::channel::oneshot;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::resolver::Pool;

/// Addresses accepted by gmp's socket constructors.
///
/// Implemented for `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr | Ipv4Addr | Ipv6Addr, u16)`, `str` and `String`
/// (`"host:port"`), `(&str | String, u16)`, `[SocketAddr]`, and references to
/// any of these. Host names are resolved off the calling thread.
///
/// # Examples
///
/// ```
/// use gmp_reactor::net::TcpListener;
/// use std::net::{Ipv4Addr, SocketAddr};
///
/// futures::executor::block_on(async {
///     let a = TcpListener::bind("127.0.0.1:0").await?;
///     let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     let c = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// What an address needs before it can be used.
    #[derive(Debug)]
    pub enum Resolve {
        /// Already a list of addresses (or an error).
        Done(io::Result<Vec<SocketAddr>>),
        /// `"host:port"` to look up.
        Lookup(String),
        /// `(host, port)` to look up.
        LookupPair(String, u16),
    }

    /// The hidden half of [`ToSocketAddrs`].
    pub trait Sealed {
        /// Parses what can be parsed without a lookup.
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, Sealed};

/// Resolves `addr`, looking host names up on the resolver pool.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let lookup: Box<dyn FnOnce() -> io::Result<Vec<SocketAddr>> + Send> = match addr.to_resolve() {
        Resolve::Done(result) => return result,
        Resolve::Lookup(s) => Box::new(move || {
            std::net::ToSocketAddrs::to_socket_addrs(s.as_str()).map(Vec::from_iter)
        }),
        Resolve::LookupPair(host, port) => Box::new(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Vec::from_iter)
        }),
    };
    let (tx, rx) = oneshot::channel();
    Pool::global().submit(Box::new(move || {
        // The receiver may be gone (the caller gave up): nothing to do.
        let _ = tx.send(lookup());
    }))?;
    match rx.await {
        Ok(result) => result,
        Err(oneshot::Canceled) => Err(io::Error::other(
            "the name lookup panicked or its resolver thread could not start",
        )),
    }
}

/// The error for an address that resolved to nothing.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Implements the traits for types that are addresses already.
macro_rules! literal {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl Sealed for $ty {
            fn to_resolve(&self) -> Resolve {
                Resolve::Done(Ok(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolve::Done(Ok(vec![addr])),
            Err(_) => Resolve::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Resolve::Done(Ok(vec![SocketAddr::new(ip, port)])),
            Err(_) => Resolve::LookupPair(host.to_owned(), port),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.to_vec()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}
