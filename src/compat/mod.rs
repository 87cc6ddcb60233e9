//! Adapters for crates written for other runtimes' traits (cargo features,
//! off by default).
//!
//! - [`hyper`] (feature `hyper`): hyper 1.x served and driven on gmp, no
//!   tokio involved. `gmp::net::TcpStream` and `UnixStream` implement
//!   `hyper::rt::Read`/`Write` themselves; this module has the executor and
//!   timer hyper asks for, and [`hyper::Io`] for any other futures-io stream.
//! - [`tokio`] (feature `tokio`): futures written for tokio (reqwest, tower
//!   timeouts, tokio-util...) polled on gmp's Ps inside a tokio runtime
//!   context. The gmp stream types implement `tokio::io::AsyncRead`/`Write`.
//!
//! See `docs/ecosystem.md` for what runs where.

#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio")]
pub mod tokio;
