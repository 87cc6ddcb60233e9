//! The netpoller of gmp: a `polling`-based reactor, timers, and non-blocking
//! sockets that park tasks instead of threads.
//!
//! - [`Reactor`] is the process-wide poller plus timers. A gmp runtime drives
//!   it from its Ms (holding a [`DriverGuard`]); otherwise a fallback thread
//!   does, so everything here also works under `futures::executor::block_on`,
//!   tokio or any other executor.
//! - [`Async`] wraps any file descriptor; [`net`] has the TCP, UDP and Unix
//!   socket types, all implementing the `futures::io` traits.
//! - [`time`] has `sleep`, `timeout` and `interval`.
//! - [`signal`] has `ctrl_c` and the `Signals` stream.
//! - [`coop`] is the cooperative budget that makes gmp's own futures yield
//!   after 128 operations inside one task poll.
//!
//! Unix only.
//!
//! # Examples
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use gmp_reactor::net::{TcpListener, TcpStream};
//!
//! futures::executor::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let mut client = TcpStream::connect(addr).await?;
//!     let (mut server, _) = listener.accept().await?;
//!     client.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

#![cfg(unix)]
#![warn(missing_docs)]

mod async_io;
pub mod coop;
mod driver;
mod epoll;
#[cfg(all(test, gmp_loom))]
mod loom_tests;
pub mod net;
mod reactor;
pub mod signal;
mod source;
mod sync;
mod sys;
pub mod time;
mod timer;

pub use async_io::Async;
pub use reactor::{DriverGuard, Reactor};
