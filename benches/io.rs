//! I/O benchmarks: the reactor under gmp and tokio, same workloads, same
//! number of worker threads.
//!
//! ```text
//! cargo bench --bench io
//! python3 benches/io_report.py
//! ```
//!
//! Every workload is generic over [`IoRt`] (`benches/io_common`), which adds
//! TCP and `sleep` to the scheduler benches' [`Rt`] (`benches/common`), so
//! both runtimes run the very same code. A runtime is built once per group
//! and runtime, outside the timed loop, and dropped before the other one is
//! measured.
//!
//! Criterion groups (2 worker threads: gmp `max_procs(2)`, tokio
//! `worker_threads(2)`):
//!
//! * `io_echo` — 64 connections on 127.0.0.1, connected once per runtime
//!   outside the timed loop; each iteration spawns one client task per
//!   connection that writes 64 bytes and `read_exact`s the 64-byte echo
//!   10 000 times (640 000 round trips), while one server task per
//!   connection echoes what it reads. Throughput: round trips.
//!   An iteration takes seconds, so the group takes 10 samples, flat.
//! * `io_timers` — one task spawns 1 000 000 tasks that each sleep 1–10 ms
//!   (`1 + i % 10` ms) and awaits them all: timers armed, fired, and the
//!   tasks woken. 10 samples, flat.
//! * `io_channel_ping_pong` — two tasks exchange 100 000 round trips
//!   through two `async_channel::bounded(1)` channels. Throughput: round
//!   trips (the report divides the time by 100 000).
//!
//! Then, outside criterion, **fairness**: one worker thread (gmp
//! `max_procs(1)`, tokio multi-thread with `worker_threads(1)`), 1 024
//! connections whose client tasks all do 200 round trips of 64 bytes at
//! once, against 1 024 server tasks on the same thread. Each client times
//! each round trip with `Instant`; the 204 800 latencies give p50, p99,
//! p99.9 and the maximum, printed as `io_fairness/<runtime> p50=… p99=…` and
//! written to `target/criterion/io_fairness.json` (`$CARGO_TARGET_DIR` is
//! honoured). The section runs when the filter (if any) matches
//! `io_fairness/gmp` or `io_fairness/tokio` as a substring.
//!
//! Without `--bench` (as under `cargo test --benches`) criterion runs each
//! bench once, and fairness runs small (64 connections × 20 round trips) and
//! writes nothing.
//!
//! A watchdog ends the process with a message naming the bench if no
//! iteration starts for [`WATCHDOG`]: a runtime that loses a wake-up would
//! otherwise hang `cargo bench` without a word.

#[allow(dead_code)] // only the runtimes are used here, not the scheduler workloads
mod common;
mod io_common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{Gmp, Rt, Tokio, WORKERS};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode, Throughput};
use io_common::IoRt;

/// Bytes per message, each way.
const MSG: usize = 64;

/// Connections (client tasks) of `io_echo`.
const ECHO_CLIENTS: usize = 64;
/// Round trips per client and iteration of `io_echo`.
const ECHO_ROUNDS: usize = 10_000;

/// Tasks of `io_timers`, one sleep each.
const TIMERS: usize = 1_000_000;

/// Round trips per iteration of `io_channel_ping_pong`.
const PING_PONGS: usize = 100_000;

/// Connections of the fairness section.
const FAIR_CONNS: usize = 1_024;
/// Round trips per connection in the fairness section.
const FAIR_ROUNDS: usize = 200;

/// How long no iteration may start before the watchdog ends the run.
const WATCHDOG: Duration = Duration::from_secs(120);

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn main() {
    let mut c = common::config().configure_from_args();
    let args = Args::parse();
    watchdog::start();

    let mut group = c.benchmark_group("io_echo");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements((ECHO_CLIENTS * ECHO_ROUNDS) as u64));
    echo::<Gmp>(&mut group);
    echo::<Tokio>(&mut group);
    group.finish();

    let mut group = c.benchmark_group("io_timers");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    timers::<Gmp>(&mut group);
    timers::<Tokio>(&mut group);
    group.finish();

    let mut group = c.benchmark_group("io_channel_ping_pong");
    group.throughput(Throughput::Elements(PING_PONGS as u64));
    channel_ping_pong::<Gmp>(&mut group);
    channel_ping_pong::<Tokio>(&mut group);
    group.finish();

    c.final_summary();

    if args.fairness {
        fairness_section(args.full);
    }
}

/// What criterion's command line means for the fairness section, which
/// criterion does not see.
struct Args {
    /// Whether to run it: not under `--list`, and the filter (if any)
    /// matches one of its IDs.
    fairness: bool,
    /// `--bench` without `--test`: the full size, and the JSON file.
    full: bool,
}

impl Args {
    fn parse() -> Args {
        /// Criterion's options that take a value (as a separate argument).
        const WITH_VALUE: &[&str] = &[
            "-c",
            "--color",
            "-s",
            "--save-baseline",
            "-b",
            "--baseline",
            "--baseline-lenient",
            "--load-baseline",
            "--format",
            "--profile-time",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--plotting-backend",
            "--output-format",
        ];
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let mut filter = None;
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if WITH_VALUE.contains(&arg.as_str()) {
                i += 1;
            } else if !arg.starts_with('-') && filter.is_none() {
                filter = Some(arg.clone());
            }
            i += 1;
        }
        let matches = match &filter {
            None => true,
            Some(f) => ["io_fairness/gmp", "io_fairness/tokio"]
                .iter()
                .any(|id| id.contains(f.as_str())),
        };
        Args {
            fairness: matches && !has("--list") && !has("--profile-time"),
            full: has("--bench") && !has("--test"),
        }
    }
}

/// Prints the scheduler's counters after a runtime's bench, to stderr.
fn print_summary<R: Rt>(rt: &R, what: &str) {
    if let Some(summary) = rt.summary() {
        eprintln!("[{} counters after {what}] {summary}", R::NAME);
    }
}

// ---------------------------------------------------------------------------
// TCP helpers
// ---------------------------------------------------------------------------

/// `n` connected pairs on a fresh loopback listener: (client ends, server
/// ends). Each connect is awaited together with its accept, so the listen
/// backlog never holds more than one connection.
async fn connect_pairs<R: IoRt>(n: usize) -> (Vec<R::Stream>, Vec<R::Stream>) {
    let listener = R::listen()
        .await
        .unwrap_or_else(|err| panic!("{}: cannot listen on 127.0.0.1: {err}", R::NAME));
    let addr = R::local_addr(&listener)
        .unwrap_or_else(|err| panic!("{}: the listener has no address: {err}", R::NAME));
    let mut clients = Vec::with_capacity(n);
    let mut servers = Vec::with_capacity(n);
    for i in 0..n {
        let (client, server) = futures::join!(R::connect(addr), R::accept(&listener));
        clients.push(
            client.unwrap_or_else(|err| {
                panic!("{}: connection {i} to {addr} failed: {err}", R::NAME)
            }),
        );
        servers.push(
            server.unwrap_or_else(|err| {
                panic!("{}: accepting connection {i} failed: {err}", R::NAME)
            }),
        );
    }
    (clients, servers)
}

/// Echoes what it reads until the client closes its end.
async fn echo_server<R: IoRt>(mut stream: R::Stream) {
    let mut buf = [0u8; 4 * MSG];
    loop {
        match R::read(&mut stream, &mut buf).await {
            Ok(0) => return,
            Ok(n) => {
                if let Err(err) = R::write_all(&mut stream, &buf[..n]).await {
                    panic!("{}: the echo server cannot write: {err}", R::NAME);
                }
            }
            Err(err) => panic!("{}: the echo server cannot read: {err}", R::NAME),
        }
    }
}

/// One round trip: 64 bytes out, the same 64 back (checked).
async fn round_trip<R: IoRt>(stream: &mut R::Stream, msg: &[u8; MSG], back: &mut [u8; MSG]) {
    if let Err(err) = R::write_all(stream, msg).await {
        panic!("{}: a client cannot write: {err}", R::NAME);
    }
    if let Err(err) = R::read_exact(stream, back).await {
        panic!("{}: a client cannot read its echo: {err}", R::NAME);
    }
    assert_eq!(msg, back, "{}: the echo differs from the message", R::NAME);
}

// ---------------------------------------------------------------------------
// Criterion groups
// ---------------------------------------------------------------------------

/// 64 clients × 10 000 round trips of 64 bytes against 64 echo tasks.
fn echo<R: IoRt>(group: &mut Group<'_>) {
    let rt = R::with_workers(WORKERS);
    let (mut clients, servers) = rt.block_on(connect_pairs::<R>(ECHO_CLIENTS));
    let servers: Vec<_> = servers
        .into_iter()
        .map(|stream| rt.spawn(echo_server::<R>(stream)))
        .collect();
    watchdog::enter(format!("io_echo/{}", R::NAME));

    group.bench_function(R::NAME, |b| {
        b.iter(|| {
            watchdog::beat();
            let streams = std::mem::take(&mut clients);
            clients = rt.block_on(async move {
                let tasks: Vec<_> = streams
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut stream)| {
                        R::spawn_current(async move {
                            let msg = [i as u8; MSG];
                            let mut back = [0u8; MSG];
                            for _ in 0..ECHO_ROUNDS {
                                round_trip::<R>(&mut stream, &msg, &mut back).await;
                            }
                            stream
                        })
                    })
                    .collect();
                let mut streams = Vec::with_capacity(tasks.len());
                for task in tasks {
                    streams.push(task.await.expect("an echo client panicked"));
                }
                streams
            });
        })
    });

    // Closing the clients ends the servers.
    drop(clients);
    rt.block_on(async {
        for server in servers {
            server.await.expect("an echo server panicked");
        }
    });
    print_summary(&rt, "io_echo");
}

/// 1 000 000 tasks, each sleeping 1–10 ms.
fn timers<R: IoRt>(group: &mut Group<'_>) {
    let rt = R::with_workers(WORKERS);
    watchdog::enter(format!("io_timers/{}", R::NAME));

    group.bench_function(R::NAME, |b| {
        b.iter(|| {
            watchdog::beat();
            let all = rt.spawn(async {
                let sleepers: Vec<_> = (0..TIMERS)
                    .map(|i| {
                        let ms = 1 + (i % 10) as u64;
                        R::spawn_current(R::sleep(Duration::from_millis(ms)))
                    })
                    .collect();
                for sleeper in sleepers {
                    sleeper.await.expect("a sleeping task panicked");
                }
            });
            rt.block_on(all)
                .expect("the task awaiting the sleepers panicked");
        })
    });
    print_summary(&rt, "io_timers");
}

/// Two tasks, 100 000 round trips through two `bounded(1)` channels.
fn channel_ping_pong<R: IoRt>(group: &mut Group<'_>) {
    let rt = R::with_workers(WORKERS);
    watchdog::enter(format!("io_channel_ping_pong/{}", R::NAME));

    group.bench_function(R::NAME, |b| {
        b.iter(|| {
            watchdog::beat();
            rt.block_on(async {
                let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
                let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
                let pong = R::spawn_current(async move {
                    while let Ok(n) = ping_rx.recv().await {
                        pong_tx.send(n).await.expect("the pinger hung up early");
                    }
                });
                let ping = R::spawn_current(async move {
                    for n in 0..PING_PONGS {
                        ping_tx.send(n).await.expect("the ponger hung up early");
                        let back = pong_rx.recv().await.expect("the ponger hung up early");
                        assert_eq!(back, n, "{}: pong out of order", R::NAME);
                    }
                });
                ping.await.expect("the pinger panicked");
                pong.await.expect("the ponger panicked");
            });
        })
    });
    print_summary(&rt, "io_channel_ping_pong");
}

// ---------------------------------------------------------------------------
// Fairness
// ---------------------------------------------------------------------------

/// Round-trip latencies of one runtime in the fairness section.
struct Fairness {
    name: &'static str,
    /// Every round trip's latency, sorted.
    latencies: Vec<Duration>,
    /// From the first client's spawn to the last client's end.
    wall: Duration,
}

impl Fairness {
    /// The nearest-rank percentile `p` (0 < p <= 100).
    fn percentile(&self, p: f64) -> Duration {
        let n = self.latencies.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.latencies[rank.clamp(1, n) - 1]
    }

    fn round_trips_per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// 1 024 connections (or `conns`), all clients doing `rounds` round trips at
/// once, on one worker thread.
fn fairness<R: IoRt>(conns: usize, rounds: usize) -> Fairness {
    let rt = R::with_workers(1);
    watchdog::enter(format!("io_fairness/{}", R::NAME));
    watchdog::beat();
    let run = rt.spawn(async move {
        let (clients, servers) = connect_pairs::<R>(conns).await;
        for stream in servers {
            drop(R::spawn_current(echo_server::<R>(stream)));
        }
        let start = Instant::now();
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, mut stream)| {
                R::spawn_current(async move {
                    let msg = [i as u8; MSG];
                    let mut back = [0u8; MSG];
                    let mut latencies = Vec::with_capacity(rounds);
                    for _ in 0..rounds {
                        let sent = Instant::now();
                        round_trip::<R>(&mut stream, &msg, &mut back).await;
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::with_capacity(conns * rounds);
        for task in tasks {
            all.extend(task.await.expect("a fairness client panicked"));
        }
        (all, start.elapsed())
    });
    let (mut latencies, wall) = rt
        .block_on(run)
        .expect("the task driving the fairness clients panicked");
    latencies.sort_unstable();
    print_summary(&rt, "io_fairness");
    Fairness {
        name: R::NAME,
        latencies,
        wall,
    }
}

/// Runs fairness on gmp then tokio, prints the lines and, in a full run,
/// writes the JSON file.
fn fairness_section(full: bool) {
    let (conns, rounds) = if full {
        (FAIR_CONNS, FAIR_ROUNDS)
    } else {
        (64, 20)
    };
    println!("io_fairness: 1 worker thread, {conns} connections × {rounds} round trips of {MSG} B");
    let results = [
        fairness::<Gmp>(conns, rounds),
        fairness::<Tokio>(conns, rounds),
    ];
    watchdog::stop();

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for r in &results {
        println!(
            "io_fairness/{:<5} p50={:.1}µs p99={:.1}µs p99.9={:.1}µs max={:.1}µs \
             ({:.0} round trips/s, {:.2} s)",
            r.name,
            us(r.percentile(50.0)),
            us(r.percentile(99.0)),
            us(r.percentile(99.9)),
            us(*r.latencies.last().expect("no round trip was timed")),
            r.round_trips_per_sec(),
            r.wall.as_secs_f64(),
        );
    }
    if !full {
        return;
    }

    let mut json = String::new();
    let _ = write!(
        json,
        "{{\n  \"connections\": {conns},\n  \"round_trips_per_connection\": {rounds},\n  \
         \"message_bytes\": {MSG},\n  \"workers\": 1"
    );
    for r in &results {
        let _ = write!(
            json,
            ",\n  \"{}\": {{\"p50_us\": {:.3}, \"p99_us\": {:.3}, \"p999_us\": {:.3}, \
             \"max_us\": {:.3}, \"round_trips\": {}, \"wall_s\": {:.6}}}",
            r.name,
            us(r.percentile(50.0)),
            us(r.percentile(99.0)),
            us(r.percentile(99.9)),
            us(*r.latencies.last().expect("no round trip was timed")),
            r.latencies.len(),
            r.wall.as_secs_f64(),
        );
    }
    json.push_str("\n}\n");

    let dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => std::path::PathBuf::from(target).join("criterion"),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"),
    };
    let path = dir.join("io_fairness.json");
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        panic!("cannot write {}: {err}", path.display());
    }
    println!("io_fairness: written to {}", path.display());
}

// ---------------------------------------------------------------------------
// Watchdog
// ---------------------------------------------------------------------------

/// Ends the process if no iteration starts for [`WATCHDOG`].
mod watchdog {
    use super::*;

    /// The bench now running, and when its last iteration started.
    struct State {
        bench: Mutex<String>,
        /// Milliseconds since `epoch`; 0 while disarmed.
        last_beat_ms: AtomicU64,
        epoch: Instant,
    }

    static STATE: OnceLock<State> = OnceLock::new();

    fn state() -> &'static State {
        STATE.get_or_init(|| State {
            bench: Mutex::new(String::new()),
            last_beat_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Starts the watchdog thread.
    pub(crate) fn start() {
        let state = state();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let last = state.last_beat_ms.load(Relaxed);
            let now = state.epoch.elapsed().as_millis() as u64;
            if last != 0 && now.saturating_sub(last) > WATCHDOG.as_millis() as u64 {
                let bench = state.bench.lock().map(|b| b.clone()).unwrap_or_default();
                eprintln!(
                    "io bench: {bench} made no progress for {} s (an iteration never ended: \
                     a lost wake-up or a hang in the runtime); giving up",
                    WATCHDOG.as_secs()
                );
                std::process::exit(2);
            }
        });
    }

    /// Names the bench that the next beats belong to.
    pub(crate) fn enter(bench: String) {
        if let Ok(mut b) = state().bench.lock() {
            *b = bench;
        }
    }

    /// An iteration starts.
    pub(crate) fn beat() {
        let state = state();
        let now = state.epoch.elapsed().as_millis() as u64;
        state.last_beat_ms.store(now.max(1), Relaxed);
    }

    /// Disarms the watchdog.
    pub(crate) fn stop() {
        state().last_beat_ms.store(0, Relaxed);
    }
}
