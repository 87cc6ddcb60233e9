//! What the I/O workloads need from a runtime, on top of the scheduler's
//! [`Rt`]: a TCP listener and stream on 127.0.0.1, the four stream
//! operations the workloads use, and `sleep`.
//!
//! gmp's stream implements `futures::io::{AsyncRead, AsyncWrite}`, tokio's
//! its own `tokio::io` traits; each impl below calls its runtime's native
//! extension methods (`futures::AsyncWriteExt::write_all`,
//! `tokio::io::AsyncWriteExt::write_all`, ...), so no compatibility layer
//! sits between the workload and either runtime. Every stream gets
//! `TCP_NODELAY`, on both ends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{Gmp, Rt, Tokio};

/// The address every listener binds: an ephemeral port on loopback.
const LOOPBACK: &str = "127.0.0.1:0";

/// A runtime's TCP types, stream operations and timer.
pub(crate) trait IoRt: Rt {
    /// A TCP listener.
    type Listener: Send + Sync + 'static;
    /// A connected TCP stream.
    type Stream: Send + 'static;

    /// A listener on an ephemeral loopback port.
    fn listen() -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// The address clients connect to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// The next connection, with `TCP_NODELAY` set.
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// A connection to `addr`, with `TCP_NODELAY` set.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Reads whatever is there, at most `buf.len()` bytes; 0 at end of stream.
    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Fills `buf` or fails.
    fn read_exact<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Writes all of `buf` or fails.
    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// The runtime's `sleep`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;
}

impl IoRt for Gmp {
    type Listener = gmp::net::TcpListener;
    type Stream = gmp::net::TcpStream;

    fn listen() -> impl Future<Output = io::Result<Self::Listener>> + Send {
        gmp::net::TcpListener::bind(LOOPBACK)
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = gmp::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures::AsyncReadExt::read(stream, buf)
    }

    fn read_exact<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        futures::AsyncReadExt::read_exact(stream, buf)
    }

    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        futures::AsyncWriteExt::write_all(stream, buf)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        gmp::time::sleep(duration)
    }
}

impl IoRt for Tokio {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    fn listen() -> impl Future<Output = io::Result<Self::Listener>> + Send {
        tokio::net::TcpListener::bind(LOOPBACK)
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncReadExt::read(stream, buf)
    }

    async fn read_exact(stream: &mut Self::Stream, buf: &mut [u8]) -> io::Result<()> {
        tokio::io::AsyncReadExt::read_exact(stream, buf).await?;
        Ok(())
    }

    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(stream, buf)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(duration)
    }
}
