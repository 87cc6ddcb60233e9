//! TCP echo benchmark, whole processes: an echo server on gmp or tokio (Go's
//! twin is `benches/go/echo`), and the one load generator used for all three.
//!
//! ```text
//! benches/echo/run.sh                                   # builds, runs, reports
//! target/release/deps/echo-… server gmp 1 18100         # runtime, threads, port
//! target/release/deps/echo-… client 18100 64 2 5 <pid>  # port, conns, warm-up s, run s, server pid
//! ```
//!
//! **Servers** — one task per accepted connection (`TCP_NODELAY`), reading
//! into a 4 KiB buffer and writing what it read back with `write_all`, until
//! the peer closes. gmp: `Runtime::builder().max_procs(threads)`,
//! `gmp::net`; tokio: multi-thread runtime with `worker_threads(threads)`,
//! `tokio::net`. The server prints `ready <runtime> <threads> <addr>` once it
//! listens.
//!
//! **Load generator** — one thread (the script pins it to CPU 1) owning all
//! connections, non-blocking, on a level-triggered epoll of its own: each
//! connection has one 64-byte message outstanding; when its echo is complete
//! (and equal to what was sent) the next one is written. After the warm-up
//! it counts round trips for the run's duration and records each round
//! trip's latency (timestamps taken once per `epoll_wait` batch). Given the
//! server's pid, it reads the server's utime+stime (`/proc/<pid>/stat`) and
//! context switches (`/proc/<pid>/task/*/status`) at the start and at the end
//! of the measured window, and its own CPU time (`getrusage`), so the
//! figures cover exactly the round trips counted. It prints one JSON line.
//!
//! Without arguments (as under `cargo test --benches`) it is a self-check:
//! the gmp and tokio servers each echo 4 connections for 200 ms and every
//! echo is compared with what was sent.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes per message.
const MSG: usize = 64;

/// The server's read buffer.
const BUF: usize = 4096;

/// Serves on gmp until the process ends; `bound` gets the address.
fn gmp_server(threads: usize, addr: SocketAddr, bound: mpsc::Sender<SocketAddr>) -> io::Result<()> {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let rt = gmp::Runtime::builder()
        .max_procs(threads)
        .build()
        .map_err(|e| io::Error::other(format!("gmp runtime with max_procs({threads}): {e}")))?;
    rt.block_on(async move {
        let listener = gmp::net::TcpListener::bind(addr).await?;
        let _ = bound.send(listener.local_addr()?);
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            gmp::spawn(async move {
                let mut buf = [0u8; BUF];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    })
}

/// Serves on tokio until the process ends; `bound` gets the address.
fn tokio_server(
    threads: usize,
    addr: SocketAddr,
    bound: mpsc::Sender<SocketAddr>,
) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let _ = bound.send(listener.local_addr()?);
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = [0u8; BUF];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    })
}

/// A server: threads, address to bind, where to send the bound address.
type Server = fn(usize, SocketAddr, mpsc::Sender<SocketAddr>) -> io::Result<()>;

/// Starts `runtime`'s server on a thread of its own; returns its address.
fn start(runtime: &'static str, threads: usize, addr: SocketAddr) -> io::Result<SocketAddr> {
    let server: Server = match runtime {
        "gmp" => gmp_server,
        "tokio" => tokio_server,
        other => {
            return Err(io::Error::other(format!(
                "runtime must be gmp or tokio, got {other:?}"
            )))
        }
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Err(e) = server(threads, addr, tx) {
            eprintln!("echo: the {runtime} server failed: {e}");
            std::process::exit(1);
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .map_err(|e| io::Error::other(format!("{runtime}: server did not bind: {e}")))
}

/// A process's CPU time and context switches, read from `/proc`.
#[derive(Clone, Copy, Default)]
struct ProcStats {
    /// utime + stime of `/proc/<pid>/stat`, in clock ticks.
    ticks: u64,
    /// Voluntary + involuntary context switches of the live threads.
    ctx: u64,
}

impl ProcStats {
    /// Reads `pid`'s figures.
    fn read(pid: u32) -> io::Result<ProcStats> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command name, which is in parentheses.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: no ')' in {stat:?}")))?;
        let field = |i: usize| -> io::Result<u64> {
            rest.split_whitespace()
                .nth(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: field {i} unreadable")))
        };
        // utime and stime are fields 14 and 15; `rest` starts at field 3.
        let ticks = field(11)? + field(12)?;
        let mut ctx = 0;
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
            let Ok(status) = std::fs::read_to_string(task?.path().join("status")) else {
                continue; // the thread ended meanwhile
            };
            for line in status.lines() {
                if let Some(v) = line
                    .strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
                {
                    ctx += v.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
        Ok(ProcStats { ticks, ctx })
    }
}

/// This process's user + system CPU time, in microseconds.
fn own_cpu_us() -> u64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// One client connection with one message outstanding.
struct Conn {
    /// The non-blocking socket.
    stream: TcpStream,
    /// The message in flight; its first 8 bytes are a sequence number.
    sent: [u8; MSG],
    /// The echo received so far.
    got: [u8; MSG],
    /// How many bytes of `got` are filled.
    filled: usize,
    /// When `sent` was written (the batch timestamp).
    sent_at: Instant,
}

impl Conn {
    /// Writes the next message, numbered `seq`.
    fn send(&mut self, seq: u64, now: Instant) -> io::Result<()> {
        self.sent[..8].copy_from_slice(&seq.to_le_bytes());
        // One message is outstanding and the echo of the previous one was
        // read, so the send buffer is empty: 64 bytes go in one write.
        let n = self.stream.write(&self.sent)?;
        if n != MSG {
            return Err(io::Error::other(format!("short write of {n} bytes")));
        }
        self.filled = 0;
        self.sent_at = now;
        Ok(())
    }

    /// Reads what is there; `Some(latency)` once the echo is complete.
    fn receive(&mut self, now: Instant) -> io::Result<Option<Duration>> {
        match self.stream.read(&mut self.got[self.filled..]) {
            Ok(0) => Err(io::Error::other("the server closed a connection")),
            Ok(n) => {
                self.filled += n;
                if self.filled < MSG {
                    return Ok(None);
                }
                if self.got != self.sent {
                    return Err(io::Error::other("an echo differs from the message sent"));
                }
                Ok(Some(now - self.sent_at))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A level-triggered epoll instance.
struct Epoll {
    /// The epoll fd, closed on drop.
    fd: i32,
}

impl Epoll {
    /// Creates one.
    fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointer.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll { fd })
    }

    /// Watches `fd` for input, tagged `key`.
    fn add(&self, fd: i32, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: key,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.fd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to 100 ms; returns the number of events written to `events`.
    fn wait(&self, events: &mut [libc::epoll_event]) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: `events` has room for `max` entries.
        let n = unsafe { libc::epoll_wait(self.fd, events.as_mut_ptr(), max, 100) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// The load generator's settings.
struct Load {
    /// The server's address.
    addr: SocketAddr,
    /// Connections, each with one message outstanding.
    conns: usize,
    /// Round trips before the measured window.
    warmup: Duration,
    /// The measured window.
    duration: Duration,
    /// The server's pid, for its CPU time and context switches.
    pid: Option<u32>,
}

/// What one measured window gave.
struct Measured {
    /// Round trips completed in the window.
    round_trips: u64,
    /// The window's actual length.
    elapsed: Duration,
    /// Round-trip latencies, sorted, in nanoseconds.
    latencies: Vec<u64>,
    /// Server figures over the window (zero without a pid).
    server: ProcStats,
    /// This process's CPU time over the window, µs.
    client_cpu_us: u64,
}

/// Connects `load.conns` connections and drives them through the warm-up
/// and the measured window.
fn drive(load: &Load) -> io::Result<Measured> {
    let poll = Epoll::new()?;
    let mut conns = Vec::with_capacity(load.conns);
    let start = Instant::now();
    for i in 0..load.conns {
        let stream = TcpStream::connect(load.addr)
            .map_err(|e| io::Error::other(format!("connection {i} to {}: {e}", load.addr)))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        poll.add(stream.as_raw_fd(), i as u64)?;
        let mut c = Conn {
            stream,
            sent: [i as u8; MSG],
            got: [0; MSG],
            filled: 0,
            sent_at: start,
        };
        c.send(0, start)?;
        conns.push(c);
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; load.conns.max(1)];
    let mut seq = 1u64;
    let mut measuring = false;
    let mut end = Instant::now() + load.warmup;
    let (mut t0, mut s0, mut cpu0) = (Instant::now(), ProcStats::default(), 0);
    let mut latencies = Vec::new();
    let mut round_trips = 0u64;
    loop {
        let n = poll.wait(&mut events)?;
        let now = Instant::now();
        if now >= end {
            if measuring {
                break;
            }
            measuring = true;
            end = now + load.duration;
            s0 = load
                .pid
                .map(ProcStats::read)
                .transpose()?
                .unwrap_or_default();
            cpu0 = own_cpu_us();
            t0 = Instant::now();
        }
        for ev in &events[..n] {
            let c = &mut conns[ev.u64 as usize];
            if let Some(lat) = c.receive(now)? {
                if measuring {
                    round_trips += 1;
                    latencies.push(lat.as_nanos() as u64);
                }
                c.send(seq, now)?;
                seq += 1;
            }
        }
    }
    let elapsed = t0.elapsed();
    let s1 = load
        .pid
        .map(ProcStats::read)
        .transpose()?
        .unwrap_or_default();
    let client_cpu_us = own_cpu_us() - cpu0;
    latencies.sort_unstable();
    Ok(Measured {
        round_trips,
        elapsed,
        latencies,
        server: ProcStats {
            ticks: s1.ticks - s0.ticks,
            ctx: s1.ctx.saturating_sub(s0.ctx),
        },
        client_cpu_us,
    })
}

/// The `q`-quantile of sorted `v`, in µs (0 when empty).
fn quantile_us(v: &[u64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i] as f64 / 1000.0
}

/// Runs the load and prints its JSON line.
fn client(load: &Load) -> io::Result<()> {
    let m = drive(load)?;
    // SAFETY: sysconf takes no pointer.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    println!(
        "{{\"conns\":{},\"round_trips\":{},\"duration_us\":{},\"p50_us\":{:.1},\"p99_us\":{:.1},\
         \"p999_us\":{:.1},\"max_us\":{:.1},\"server_cpu_ticks\":{},\"hz\":{},\"server_ctx\":{},\
         \"client_cpu_us\":{}}}",
        load.conns,
        m.round_trips,
        m.elapsed.as_micros(),
        quantile_us(&m.latencies, 0.50),
        quantile_us(&m.latencies, 0.99),
        quantile_us(&m.latencies, 0.999),
        quantile_us(&m.latencies, 1.0),
        m.server.ticks,
        hz,
        m.server.ctx,
        m.client_cpu_us,
    );
    Ok(())
}

/// Parses `value` as the setting `name`.
fn parse<T: std::str::FromStr>(name: &str, value: &str) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| io::Error::other(format!("{name} must be a number, got {value:?}: {e}")))
}

/// The self-check: each server echoes 4 connections for 200 ms.
fn self_check() -> io::Result<()> {
    for runtime in ["gmp", "tokio"] {
        let addr = start(runtime, 2, SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let m = drive(&Load {
            addr,
            conns: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_millis(200),
            pid: None,
        })?;
        if m.round_trips == 0 {
            return Err(io::Error::other(format!(
                "{runtime}: no round trip in 200 ms"
            )));
        }
        println!(
            "echo self-check: {runtime} echoed {} messages",
            m.round_trips
        );
    }
    Ok(())
}

/// The usage line.
const USAGE: &str = "usage: echo [server <gmp|tokio> <threads> <port> | \
                     client <port> <conns> <warmup-s> <duration-s> [<server-pid>]] \
                     (no arguments: self-check)";

fn main() -> io::Result<()> {
    // `cargo bench` appends `--bench`; flags are not ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => self_check(),
        ["server", runtime, threads, port] => {
            let runtime: &'static str = match *runtime {
                "gmp" => "gmp",
                "tokio" => "tokio",
                other => {
                    return Err(io::Error::other(format!(
                        "runtime must be gmp or tokio, got {other:?}"
                    )))
                }
            };
            let threads = parse("threads", threads)?;
            let port: u16 = parse("port", port)?;
            let addr = start(runtime, threads, SocketAddr::from(([127, 0, 0, 1], port)))?;
            println!("ready {runtime} {threads} {addr}");
            loop {
                std::thread::park();
            }
        }
        ["client", port, conns, warmup, duration, pid @ ..] if pid.len() <= 1 => {
            let port: u16 = parse("port", port)?;
            let secs = |name: &str, v| -> io::Result<Duration> {
                let s: f64 = parse(name, v)?;
                Duration::try_from_secs_f64(s)
                    .map_err(|e| io::Error::other(format!("{name} must be >= 0, got {v:?}: {e}")))
            };
            client(&Load {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                conns: parse("conns", conns)?,
                warmup: secs("warmup-s", warmup)?,
                duration: secs("duration-s", duration)?,
                pid: pid.first().map(|p| parse("server-pid", p)).transpose()?,
            })
        }
        _ => Err(io::Error::other(USAGE)),
    }
}
