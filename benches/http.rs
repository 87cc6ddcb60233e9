//! HTTP server benchmark: hyper 1.x "hello world" on gmp, tokio and smol,
//! the same service and the same hyper configuration, loaded by `wrk`.
//!
//! ```text
//! benches/http/run.sh            # builds this, runs wrk, writes the report
//! target/release/deps/http-… gmp 1 8080   # one server (runtime, threads, port)
//! ```
//!
//! The binary only serves; `benches/http/run.sh` starts it, loads it with
//! `wrk` and reads the server's CPU time from `/proc/<pid>/stat`. With
//! `GMP_HTTP_SECS=<n>` the gmp server stops after n seconds, prints its Ps'
//! counters and shuts its runtime down, so that `GMP_TRACE=<file>` gets
//! written (`benches/http/rounds.py` reads it).
//!
//! - **gmp**: `Runtime::builder().max_procs(threads)`, `gmp::net` sockets
//!   served as they are: with the `hyper` feature they implement
//!   `hyper::rt::Read` (straight into hyper's uninitialized buffer) and
//!   `hyper::rt::Write` (vectored). `gmp-adapter` serves the same sockets
//!   through [`FuturesIo`] instead, the futures-io adapter the bench used
//!   before that support existed, to measure what the adapter cost.
//! - **tokio**: multi-thread runtime with `worker_threads(threads)`,
//!   `hyper_util::rt::TokioIo`.
//! - **smol**: `async-executor` run by `threads` threads, `async-io`
//!   sockets (its reactor thread comes with it), through [`FuturesIo`].
//!
//! Every accepted connection is one task serving HTTP/1.1 keep-alive with
//! `TCP_NODELAY`; the response is a 13-byte body.
//!
//! Without arguments (as under `cargo test --benches`) it is a self-check:
//! each runtime serves three keep-alive requests on 127.0.0.1 and the
//! responses are checked.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::rt::ReadBufCursor;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

/// The response body.
const BODY: &[u8] = b"Hello, World!";

/// The service of every runtime.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// The hyper configuration of every runtime: HTTP/1.1, keep-alive, the
/// defaults otherwise.
fn http() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    builder
}

/// A futures-io stream as a `hyper::rt` stream.
///
/// Reads go through an initialized scratch buffer of the connection (hyper
/// hands out uninitialized memory, futures-io wants `&mut [u8]`): one copy
/// of the request bytes, no zeroing per read.
struct FuturesIo<T> {
    /// The stream.
    io: T,
    /// Zeroed once per connection; requests are read into it, then copied.
    scratch: Box<[u8]>,
}

impl<T> FuturesIo<T> {
    /// Wraps `io`, with a scratch buffer as large as hyper's first read.
    fn new(io: T) -> FuturesIo<T> {
        FuturesIo {
            io,
            scratch: vec![0; 8192].into_boxed_slice(),
        }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(this.scratch.len());
        let n = ready!(Pin::new(&mut this.io).poll_read(cx, &mut this.scratch[..want]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// Serves one connection; errors (a client that goes away) end it quietly.
async fn serve<I>(io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
{
    let _ = http().serve_connection(io, service_fn(hello)).await;
}

/// Serves on gmp until the process ends; `bound` gets the address.
fn gmp_server(threads: usize, addr: SocketAddr, bound: mpsc::Sender<SocketAddr>) -> io::Result<()> {
    gmp_serve(threads, addr, bound, |stream| gmp::spawn(serve(stream)))
}

/// [`gmp_server`] with the sockets behind [`FuturesIo`].
fn gmp_adapter_server(
    threads: usize,
    addr: SocketAddr,
    bound: mpsc::Sender<SocketAddr>,
) -> io::Result<()> {
    gmp_serve(threads, addr, bound, |stream| {
        gmp::spawn(serve(FuturesIo::new(stream)))
    })
}

/// Accepts on gmp until the process ends, handing each connection to
/// `spawn`; `bound` gets the address.
fn gmp_serve<T>(
    threads: usize,
    addr: SocketAddr,
    bound: mpsc::Sender<SocketAddr>,
    spawn: impl Fn(gmp::net::TcpStream) -> gmp::JoinHandle<T>,
) -> io::Result<()> {
    let rt = gmp::Runtime::builder()
        .max_procs(threads)
        .build()
        .map_err(|e| io::Error::other(format!("gmp runtime with max_procs({threads}): {e}")))?;
    let serve = async move {
        let listener = gmp::net::TcpListener::bind(addr).await?;
        let _ = bound.send(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            drop(spawn(stream));
        }
    };
    let Some(secs) = serve_for()? else {
        return rt.block_on(serve);
    };
    // Timed: stop after `secs`, then shut the runtime down, which writes the
    // execution trace when `GMP_TRACE` is set, and end the process.
    let served = rt.block_on(gmp::time::timeout(secs, serve));
    let metrics = rt.metrics();
    for p in 0..threads {
        let m = metrics.proc(p);
        eprintln!(
            "P{p}: {} polls, {} steals, {} rescues, {} stolen, {} hand-offs",
            m.polls(),
            m.steals(),
            m.rescues(),
            m.stolen(),
            m.handoffs()
        );
    }
    drop(rt);
    match served {
        Ok(Err(e)) => Err(e),
        _ => std::process::exit(0),
    }
}

/// `GMP_HTTP_SECS=<n>`: how long the gmp server serves before it shuts its
/// runtime down and ends the process (to get an execution trace written);
/// `None` (serve until killed) without it.
fn serve_for() -> io::Result<Option<std::time::Duration>> {
    let Ok(secs) = std::env::var("GMP_HTTP_SECS") else {
        return Ok(None);
    };
    let secs: u64 = secs.parse().map_err(|e| {
        io::Error::other(format!(
            "GMP_HTTP_SECS must be whole seconds, got {secs:?}: {e}"
        ))
    })?;
    Ok(Some(std::time::Duration::from_secs(secs)))
}

/// Serves on tokio until the process ends; `bound` gets the address.
fn tokio_server(
    threads: usize,
    addr: SocketAddr,
    bound: mpsc::Sender<SocketAddr>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let _ = bound.send(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(serve(hyper_util::rt::TokioIo::new(stream)));
        }
    })
}

/// Serves on smol's parts until the process ends; `bound` gets the address.
fn smol_server(
    threads: usize,
    addr: SocketAddr,
    bound: mpsc::Sender<SocketAddr>,
) -> io::Result<()> {
    let ex: &'static async_executor::Executor<'static> =
        Box::leak(Box::new(async_executor::Executor::new()));
    for _ in 1..threads {
        std::thread::spawn(move || async_io::block_on(ex.run(std::future::pending::<()>())));
    }
    async_io::block_on(ex.run(async move {
        let listener = async_io::Async::<std::net::TcpListener>::bind(addr)?;
        let _ = bound.send(listener.get_ref().local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.get_ref().set_nodelay(true)?;
            ex.spawn(serve(FuturesIo::new(stream))).detach();
        }
    }))
}

/// A server: threads, address to bind, where to send the bound address.
type Server = fn(usize, SocketAddr, mpsc::Sender<SocketAddr>) -> io::Result<()>;

/// The server of `runtime`, as a function.
fn server_of(runtime: &str) -> Option<Server> {
    match runtime {
        "gmp" => Some(gmp_server),
        "gmp-adapter" => Some(gmp_adapter_server),
        "tokio" => Some(tokio_server),
        "smol" => Some(smol_server),
        _ => None,
    }
}

/// Sends `n` keep-alive requests to `addr` and checks each response.
fn check(runtime: &str, addr: SocketAddr, n: usize) -> io::Result<()> {
    let mut stream = StdStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut got = Vec::new();
    for i in 0..n {
        stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
        got.clear();
        let mut buf = [0u8; 1024];
        while !got.ends_with(BODY) {
            let k = stream.read(&mut buf)?;
            if k == 0 {
                return Err(io::Error::other(format!(
                    "{runtime}: connection closed during response {i}"
                )));
            }
            got.extend_from_slice(&buf[..k]);
        }
        let text = String::from_utf8_lossy(&got);
        if !text.starts_with("HTTP/1.1 200 OK") || !text.contains("content-length: 13") {
            return Err(io::Error::other(format!(
                "{runtime}: unexpected response {i}: {text:?}"
            )));
        }
    }
    Ok(())
}

/// Starts `runtime`'s server on a thread of its own; returns its address.
fn start(runtime: &'static str, threads: usize, addr: SocketAddr) -> io::Result<SocketAddr> {
    let server = server_of(runtime)
        .ok_or_else(|| io::Error::other(format!("unknown runtime {runtime:?}")))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Err(e) = server(threads, addr, tx) {
            eprintln!("http: the {runtime} server failed: {e}");
            std::process::exit(1);
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| io::Error::other(format!("{runtime}: server did not bind: {e}")))
}

fn main() -> io::Result<()> {
    // `cargo bench` appends `--bench`; flags are not ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    match args.as_slice() {
        [] => {
            for runtime in ["gmp", "gmp-adapter", "tokio", "smol"] {
                let addr = start(runtime, 2, local)?;
                check(runtime, addr, 3)?;
                println!("http self-check: {runtime} served 3 keep-alive requests");
            }
            Ok(())
        }
        [runtime, threads, port] => {
            let threads: usize = threads.parse().map_err(|e| {
                io::Error::other(format!("threads must be a number, got {threads:?}: {e}"))
            })?;
            let port: u16 = port.parse().map_err(|e| {
                io::Error::other(format!("port must be 0-65535, got {port:?}: {e}"))
            })?;
            let runtime: &'static str = match runtime.as_str() {
                "gmp" => "gmp",
                "gmp-adapter" => "gmp-adapter",
                "tokio" => "tokio",
                "smol" => "smol",
                other => {
                    return Err(io::Error::other(format!(
                        "runtime must be gmp, gmp-adapter, tokio or smol, got {other:?}"
                    )))
                }
            };
            let addr = start(runtime, threads, SocketAddr::from(([127, 0, 0, 1], port)))?;
            println!("ready {runtime} {threads} {addr}");
            block_forever()
        }
        _ => Err(io::Error::other(
            "usage: http [<gmp|gmp-adapter|tokio|smol> <threads> <port>] (no arguments: self-check)",
        )),
    }
}

/// Parks the main thread while the server thread serves.
fn block_forever() -> io::Result<()> {
    loop {
        std::thread::park();
    }
}
