//! Hand-off benchmarks: what sysmon's retake of a blocked M's P buys, and
//! what it costs.
//!
//! ```text
//! cargo bench --bench handoff
//! ```
//!
//! Three sections, gmp and tokio in one run:
//!
//! * **stall** — one P (gmp `max_procs(1)`; tokio `worker_threads(1)` and
//!   `current_thread`): a 1 ms ticker runs for 300 ms while another task
//!   blocks its thread for 200 ms inside one poll (`std::thread::sleep`, no
//!   `block_in_place`). Reported: the largest gap between two ticks, median
//!   and max over [`STALL_RUNS`] runs, for gmp, gmp with `sysmon(false)`
//!   (no hand-off: the baseline gmp would be without it) and tokio. A
//!   diagnostic row replaces the timer-driven ticker by a `yield_now` loop,
//!   whose wake-up does not depend on anyone polling the reactor.
//! * **overhead** — the scheduler workloads of `benches/common` (same
//!   parameters) on 2 Ps with sysmon on and off, alternating iterations so
//!   that both see the same noise; reported as the sysmon-off/sysmon-on time
//!   ratio (below 1: sysmon costs time).
//! * **compute** — 2 000 tasks on 2 Ps, each polled 4 times for a random
//!   50–500 µs of spinning, separated by `yield_now`: wall time with sysmon
//!   on and off (the loss from hand-off), the handoffs it caused and the Ms
//!   the runtime ends with.
//!
//! The overhead workloads are those of `benches/common`, one iteration at a
//! time, on its `Gmp` runtime built with `sysmon(true)` and `sysmon(false)`.
//!
//! The run ends with markdown tables on stdout and writes the same numbers
//! to `target/handoff.json`. `cargo bench --bench handoff -- --dump-ticks`
//! runs only one stall run per runtime (gmp, gmp `sysmon(false)`, tokio with
//! 1 worker) and writes every tick's time and the blocked interval to
//! `docs/data/handoff_stall.json`, for `benches/plot.py`. Without `--bench` (as under `cargo test
//! --benches`) it runs each case once, small, as a smoke test, and writes
//! nothing. `-- --stall-cases N` runs N rounds of the gmp stall cases and
//! prints one JSON line per case and round (for `benches/sysmon_ab.py`):
//! `1p_ticker` and `2p_ticker` (the ticker's largest gap over the run, on 1
//! P, and on 2 Ps with the ticker and the blocker spawned onto one P and the
//! other P idle), `1p_yield` and `2p_busy` (1 yielder on 1 P, 4 yielders on
//! 2 Ps: the largest gap of a yielder between its two polls around the
//! start of the block, so that the load of the machine elsewhere in the run
//! does not count).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

// Only four of its workloads and its gmp runtime are used here.
#[allow(dead_code)]
mod common;

use common::Gmp;

/// How long the ticker of the stall section runs.
const TICK_RUN: Duration = Duration::from_millis(300);
/// The ticker's period.
const TICK: Duration = Duration::from_millis(1);
/// How long the blocker waits (asynchronously) before blocking, so the
/// ticker is under way.
const BLOCK_AFTER: Duration = Duration::from_millis(20);
/// How long the blocker blocks its thread inside one poll.
const BLOCK_FOR: Duration = Duration::from_millis(200);
/// Runs per stall configuration.
const STALL_RUNS: usize = 5;
/// Ps (worker threads) of the overhead and compute sections.
const WORKERS: usize = 2;

/// How much of each section to run.
struct Plan {
    /// Whether this is the full run (`--bench`) rather than a smoke test.
    full: bool,
    stall_runs: usize,
    /// Timed iterations per sysmon setting and workload:
    /// spawn_many_local, yield_many, chained_spawn, skynet.
    overhead_iters: [usize; 4],
    compute_tasks: usize,
    compute_rounds: usize,
}

impl Plan {
    fn from_args() -> Plan {
        if std::env::args().any(|a| a == "--bench") {
            Plan {
                full: true,
                stall_runs: STALL_RUNS,
                overhead_iters: [150, 60, 300, 10],
                compute_tasks: 2_000,
                compute_rounds: 5,
            }
        } else {
            Plan {
                full: false,
                stall_runs: 1,
                overhead_iters: [1, 1, 1, 1],
                compute_tasks: 100,
                compute_rounds: 1,
            }
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--dump-ticks") {
        dump_ticks();
        return;
    }
    if let Some(rounds) = stall_cases_arg() {
        stall_cases(rounds);
        return;
    }
    let plan = Plan::from_args();
    if !plan.full {
        eprintln!("handoff: smoke test (run with `cargo bench --bench handoff` for numbers)");
    }
    let started = Instant::now();
    let stall = stall_section(&plan);
    let overhead = overhead_section(&plan);
    let compute = compute_section(&plan);

    let mut report = String::new();
    stall_table(&mut report, &stall);
    overhead_table(&mut report, &overhead);
    compute_table(&mut report, &compute, plan.compute_tasks);
    println!("{report}");
    println!("(whole run: {:.1} s)", started.elapsed().as_secs_f64());

    if plan.full {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/handoff.json");
        let json = to_json(&stall, &overhead, &compute, plan.compute_tasks);
        match std::fs::write(&path, json) {
            Ok(()) => println!("results written to {}", path.display()),
            Err(err) => panic!("cannot write {}: {err}", path.display()),
        }
    }
}

// ---------------------------------------------------------------------------
// Stall
// ---------------------------------------------------------------------------

/// The largest tick gaps of one configuration, one per run.
struct StallRow {
    name: &'static str,
    gaps: Vec<Duration>,
    /// gmp only: handoffs per run.
    handoffs: Option<Vec<u64>>,
    /// gmp only: Ms alive at the end of each run.
    threads: Option<Vec<usize>>,
}

/// Ticks every [`TICK`] for [`TICK_RUN`] with `$interval` (a gmp or tokio
/// interval); evaluates to the largest gap between two ticks.
macro_rules! ticker {
    ($interval:expr) => {
        async move {
            let mut interval = $interval;
            interval.tick().await;
            let start = Instant::now();
            let mut last = start;
            let mut max_gap = Duration::ZERO;
            while last - start < TICK_RUN {
                interval.tick().await;
                let now = Instant::now();
                max_gap = max_gap.max(now - last);
                last = now;
            }
            max_gap
        }
    };
}

/// Waits [`BLOCK_AFTER`] with `$sleep`, then blocks the thread for
/// [`BLOCK_FOR`] inside one poll, with no annotation.
macro_rules! blocker {
    ($sleep:expr) => {
        async move {
            $sleep(BLOCK_AFTER).await;
            std::thread::sleep(BLOCK_FOR);
        }
    };
}

/// A task that yields for [`TICK_RUN`]; evaluates to the largest gap between
/// two of its polls. Its wake-up is a push to the LRQ, not a timer.
async fn yielder() -> Duration {
    let start = Instant::now();
    let mut last = start;
    let mut max_gap = Duration::ZERO;
    while last - start < TICK_RUN {
        gmp::yield_now().await;
        let now = Instant::now();
        max_gap = max_gap.max(now - last);
        last = now;
    }
    max_gap
}

/// The waker of the stall section's gmp runs: a timer ticker or a yielder.
#[derive(Clone, Copy)]
enum Waker {
    Timer,
    Yield,
}

/// One stall run on a fresh one-P gmp runtime: (largest gap, handoffs, Ms).
fn stall_gmp(sysmon: bool, waker: Waker) -> (Duration, u64, usize) {
    let rt = gmp_runtime(1, sysmon);
    let gap = rt.block_on(async {
        let ticker = match waker {
            Waker::Timer => gmp::spawn(ticker!(gmp::time::interval(TICK))),
            Waker::Yield => gmp::spawn(yielder()),
        };
        let blocker = gmp::spawn(blocker!(gmp::time::sleep));
        blocker.await.expect("gmp: the blocker panicked");
        ticker.await.expect("gmp: the ticker panicked")
    });
    let m = rt.metrics();
    (gap, total_handoffs(&m), m.threads())
}

/// One stall run on a fresh tokio runtime: the largest gap.
fn stall_tokio(rt: tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let ticker = tokio::spawn(ticker!({
            let mut interval = tokio::time::interval(TICK);
            // gmp's interval skips missed ticks; make tokio's do the same.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            interval
        }));
        let blocker = tokio::spawn(blocker!(tokio::time::sleep));
        blocker.await.expect("tokio: the blocker panicked");
        ticker.await.expect("tokio: the ticker panicked")
    })
}

fn stall_section(plan: &Plan) -> Vec<StallRow> {
    let gmp_row = |name, sysmon, waker| {
        let (mut gaps, mut handoffs, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..plan.stall_runs {
            let (gap, h, t) = stall_gmp(sysmon, waker);
            gaps.push(gap);
            handoffs.push(h);
            threads.push(t);
        }
        StallRow {
            name,
            gaps,
            handoffs: Some(handoffs),
            threads: Some(threads),
        }
    };
    let tokio_row = |name, build: &dyn Fn() -> tokio::runtime::Runtime| StallRow {
        name,
        gaps: (0..plan.stall_runs).map(|_| stall_tokio(build())).collect(),
        handoffs: None,
        threads: None,
    };
    vec![
        gmp_row("gmp (sysmon on)", true, Waker::Timer),
        gmp_row("gmp sysmon(false)", false, Waker::Timer),
        tokio_row("tokio multi_thread, 1 worker", &|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("cannot build the tokio runtime")
        }),
        tokio_row("tokio current_thread", &|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot build the tokio runtime")
        }),
        gmp_row(
            "gmp (sysmon on), yield_now loop instead of ticker",
            true,
            Waker::Yield,
        ),
    ]
}

// ---------------------------------------------------------------------------
// Stall cases: one JSON line per case and round, for interleaved processes
// ---------------------------------------------------------------------------

/// `--stall-cases N`: the number of rounds.
fn stall_cases_arg() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--stall-cases")?;
    let n = args.get(i + 1).map_or("", String::as_str);
    match n.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("--stall-cases wants a number of rounds, got {n:?}"),
    }
}

/// One stall run on 2 Ps: a task spawns the ticker and the blocker (both
/// onto its own P); the other P is idle. (largest gap, handoffs)
fn stall_two_procs() -> (Duration, u64) {
    let rt = gmp_runtime(2, true);
    let gap = rt.block_on(async {
        let pair = gmp::spawn(async {
            let ticker = gmp::spawn(ticker!(gmp::time::interval(TICK)));
            let blocker = gmp::spawn(blocker!(gmp::time::sleep));
            (ticker, blocker)
        });
        let (ticker, blocker) = pair.await.expect("gmp: the spawner panicked");
        blocker.await.expect("gmp: the blocker panicked");
        ticker.await.expect("gmp: the ticker panicked")
    });
    (gap, total_handoffs(&rt.metrics()))
}

/// A yielder that runs for [`TICK_RUN`] and returns the gap between its two
/// polls around `blocked` (nanoseconds since `origin` at which a blocker
/// began to block; 0 until then): the wait of a yielder queued on the
/// blocked P is the hand-off's stall; one on another P sees a short gap.
/// Machine noise elsewhere in the run does not count.
async fn yielder_across(origin: Instant, blocked: Arc<AtomicU64>) -> Duration {
    let start = Instant::now();
    let mut last = start;
    let mut across = Duration::ZERO;
    while last - start < TICK_RUN {
        gmp::yield_now().await;
        let now = Instant::now();
        let at = blocked.load(Relaxed);
        if across.is_zero() && at != 0 && origin + Duration::from_nanos(at) >= last {
            across = now - last;
        }
        last = now;
    }
    across
}

/// A blocker that records when it began to block in `blocked`.
async fn timed_block(origin: Instant, blocked: Arc<AtomicU64>) {
    gmp::time::sleep(BLOCK_AFTER).await;
    let at = u64::try_from((Instant::now() - origin).as_nanos()).unwrap_or(u64::MAX);
    blocked.store(at.max(1), Relaxed);
    std::thread::sleep(BLOCK_FOR);
}

/// One stall run with `yielders` yielders and a blocker on `procs` Ps: the
/// largest gap of a yielder across the start of the block (see
/// [`yielder_across`]), and the hand-offs.
fn stall_across(procs: usize, yielders: usize) -> (Duration, u64) {
    let rt = gmp_runtime(procs, true);
    let gap = rt.block_on(async {
        let origin = Instant::now();
        let blocked = Arc::new(AtomicU64::new(0));
        let ys: Vec<_> = (0..yielders)
            .map(|_| gmp::spawn(yielder_across(origin, blocked.clone())))
            .collect();
        let blocker = gmp::spawn(timed_block(origin, blocked.clone()));
        blocker.await.expect("gmp: the blocker panicked");
        let mut gap = Duration::ZERO;
        for y in ys {
            gap = gap.max(y.await.expect("gmp: a yielder panicked"));
        }
        gap
    });
    (gap, total_handoffs(&rt.metrics()))
}

/// `--stall-cases N`: N rounds of every stall case on gmp, one JSON line
/// per case and round: the largest gap (ms) and the hand-offs.
fn stall_cases(rounds: usize) {
    type Case = (&'static str, fn() -> (Duration, u64));
    let cases: [Case; 4] = [
        ("1p_ticker", || {
            let (g, h, _) = stall_gmp(true, Waker::Timer);
            (g, h)
        }),
        ("1p_yield", || stall_across(1, 1)),
        ("2p_ticker", stall_two_procs),
        ("2p_busy", || stall_across(2, 4)),
    ];
    for round in 0..rounds {
        for (name, case) in cases {
            let (gap, handoffs) = case();
            println!(
                "{{\"case\":\"{name}\",\"round\":{round},\"gap_ms\":{:.3},\"handoffs\":{handoffs}}}",
                ms(gap)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Tick dump: every tick of one stall run per runtime, for the plot
// ---------------------------------------------------------------------------

/// One stall run's ticks and blocked interval, in ms since the run began.
struct TickRun {
    /// Time of every tick.
    ticks: Vec<f64>,
    /// When the blocker's `thread::sleep` began and ended.
    block: (f64, f64),
}

/// Like `ticker!`, recording every tick's time since `$origin`.
macro_rules! tick_times {
    ($interval:expr, $origin:expr) => {
        async move {
            let mut interval = $interval;
            interval.tick().await;
            let start = Instant::now();
            let mut ticks = vec![ms(start - $origin)];
            while Instant::now() - start < TICK_RUN {
                interval.tick().await;
                ticks.push(ms(Instant::now() - $origin));
            }
            ticks
        }
    };
}

/// Like `blocker!`, returning when the block began and ended since `$origin`.
macro_rules! timed_blocker {
    ($sleep:expr, $origin:expr) => {
        async move {
            $sleep(BLOCK_AFTER).await;
            let began = ms(Instant::now() - $origin);
            std::thread::sleep(BLOCK_FOR);
            (began, ms(Instant::now() - $origin))
        }
    };
}

fn ticks_gmp(sysmon: bool) -> TickRun {
    let rt = gmp_runtime(1, sysmon);
    rt.block_on(async {
        let origin = Instant::now();
        let ticker = gmp::spawn(tick_times!(gmp::time::interval(TICK), origin));
        let blocker = gmp::spawn(timed_blocker!(gmp::time::sleep, origin));
        let block = blocker.await.expect("gmp: the blocker panicked");
        let ticks = ticker.await.expect("gmp: the ticker panicked");
        TickRun { ticks, block }
    })
}

fn ticks_tokio() -> TickRun {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    rt.block_on(async {
        let origin = Instant::now();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ticker = tokio::spawn(tick_times!(interval, origin));
        let blocker = tokio::spawn(timed_blocker!(tokio::time::sleep, origin));
        let block = blocker.await.expect("tokio: the blocker panicked");
        let ticks = ticker.await.expect("tokio: the ticker panicked");
        TickRun { ticks, block }
    })
}

/// `--dump-ticks`: one stall run per runtime, every tick to
/// `docs/data/handoff_stall.json`.
fn dump_ticks() {
    let runs = [
        ("gmp", ticks_gmp(true)),
        ("gmp sysmon(false)", ticks_gmp(false)),
        ("tokio multi_thread, 1 worker", ticks_tokio()),
    ];
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut s = format!(
        "{{\"meta\": {{\"command\": \"cargo bench --bench handoff -- --dump-ticks\", \
         \"unix_time\": {unix}, \"procs\": 1, \"tick_ms\": {}, \"block_ms\": {}, \
         \"machine\": \"shared 2-vCPU VM under load\"}},\n \"series\": {{\n",
        ms(TICK),
        ms(BLOCK_FOR)
    );
    for (i, (name, run)) in runs.iter().enumerate() {
        let gap = run
            .ticks
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max);
        println!("{name}: {} ticks, largest gap {gap:.1} ms", run.ticks.len());
        let ticks = list(run.ticks.iter().map(|t| format!("{t:.3}")));
        let comma = if i + 1 < runs.len() { "," } else { "" };
        let _ = writeln!(
            s,
            "  \"{name}\": {{\"block_ms\": [{:.3}, {:.3}], \"ticks_ms\": [{ticks}]}}{comma}",
            run.block.0, run.block.1
        );
    }
    s.push_str(" }\n}\n");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/data/handoff_stall.json");
    if let Some(dir) = path.parent() {
        if let Err(err) = std::fs::create_dir_all(dir) {
            panic!("cannot create {}: {err}", dir.display());
        }
    }
    match std::fs::write(&path, s) {
        Ok(()) => println!("ticks written to {}", path.display()),
        Err(err) => panic!("cannot write {}: {err}", path.display()),
    }
}

// ---------------------------------------------------------------------------
// Overhead: scheduler workloads, sysmon on against off
// ---------------------------------------------------------------------------

/// One workload's timings, each setting's iterations.
struct OverheadRow {
    name: &'static str,
    on: Vec<Duration>,
    off: Vec<Duration>,
}

/// A scheduler workload: one iteration on the given runtime.
type Workload<'a> = &'a dyn Fn(&Gmp);

fn overhead_section(plan: &Plan) -> Vec<OverheadRow> {
    let on = Gmp::with_builder(WORKERS, |b| {
        b.sysmon(true);
    });
    let off = Gmp::with_builder(WORKERS, |b| {
        b.sysmon(false);
    });
    let (spawn_many, yields, chain) = (
        common::SpawnManyLocal::default(),
        common::YieldMany::default(),
        common::ChainedSpawn::default(),
    );
    let workloads: [(&'static str, Workload<'_>); 4] = [
        ("spawn_many_local", &|rt| spawn_many.run(rt)),
        ("yield_many", &|rt| yields.run(rt)),
        ("chained_spawn", &|rt| chain.run(rt)),
        ("skynet", &|rt| common::skynet_run(rt)),
    ];
    workloads
        .iter()
        .zip(plan.overhead_iters)
        .map(|(&(name, workload), iters)| {
            // One untimed warm-up each, then alternate so that both settings
            // share the machine's noise.
            workload(&on);
            workload(&off);
            let mut row = OverheadRow {
                name,
                on: Vec::new(),
                off: Vec::new(),
            };
            for i in 0..iters {
                let time = |rt: &Gmp| {
                    let start = Instant::now();
                    workload(rt);
                    start.elapsed()
                };
                if i % 2 == 0 {
                    row.on.push(time(&on));
                    row.off.push(time(&off));
                } else {
                    row.off.push(time(&off));
                    row.on.push(time(&on));
                }
            }
            row
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Compute: long polls, sysmon on against off
// ---------------------------------------------------------------------------

/// Polls per task in the compute section.
const COMPUTE_POLLS: usize = 4;

/// One run of the compute workload.
struct ComputeRun {
    time: Duration,
    handoffs: u64,
    threads: usize,
}

/// The compute section's runs, per sysmon setting, and the spin they share.
struct Compute {
    on: Vec<ComputeRun>,
    off: Vec<ComputeRun>,
    /// Sum of all spins of one run: CPU time the tasks ask for.
    total_spin: Duration,
}

/// The spins of task `task`: [`COMPUTE_POLLS`] durations in 50..=500 µs,
/// the same in every run (xorshift seeded by the task number).
fn spins(task: usize) -> [Duration; COMPUTE_POLLS] {
    let mut x = (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = [Duration::ZERO; COMPUTE_POLLS];
    for d in &mut out {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *d = Duration::from_micros(50 + x % 451);
    }
    out
}

/// Spins the CPU for `d`, without a syscall.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// One run on a fresh 2-P runtime.
fn compute_run(sysmon: bool, tasks: usize) -> ComputeRun {
    let rt = gmp_runtime(WORKERS, sysmon);
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            rt.spawn(async move {
                for (i, d) in spins(t).into_iter().enumerate() {
                    if i > 0 {
                        gmp::yield_now().await;
                    }
                    spin(d);
                }
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.expect("compute task panicked");
        }
    });
    let time = start.elapsed();
    let m = rt.metrics();
    ComputeRun {
        time,
        handoffs: total_handoffs(&m),
        threads: m.threads(),
    }
}

fn compute_section(plan: &Plan) -> Compute {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for round in 0..plan.compute_rounds {
        if round % 2 == 0 {
            on.push(compute_run(true, plan.compute_tasks));
            off.push(compute_run(false, plan.compute_tasks));
        } else {
            off.push(compute_run(false, plan.compute_tasks));
            on.push(compute_run(true, plan.compute_tasks));
        }
    }
    Compute {
        on,
        off,
        total_spin: (0..plan.compute_tasks).flat_map(spins).sum(),
    }
}

// ---------------------------------------------------------------------------
// Helpers and the report
// ---------------------------------------------------------------------------

fn gmp_runtime(procs: usize, sysmon: bool) -> gmp::Runtime {
    match gmp::Runtime::builder()
        .max_procs(procs)
        .sysmon(sysmon)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => panic!("cannot build the gmp runtime: {err}"),
    }
}

fn total_handoffs(m: &gmp::Metrics) -> u64 {
    (0..m.procs()).map(|i| m.proc(i).handoffs()).sum()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

fn max(values: &[Duration]) -> Duration {
    values.iter().copied().max().unwrap_or_default()
}

fn list<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms_list(values: &[Duration]) -> String {
    list(values.iter().map(|d| format!("{:.1}", ms(*d))))
}

fn stall_table(out: &mut String, rows: &[StallRow]) {
    let _ = writeln!(
        out,
        "\n## stall: largest gap between 1 ms ticks while a task blocks 200 ms (1 P)\n"
    );
    let _ = writeln!(
        out,
        "| runtime | median (ms) | max (ms) | per run (ms) | handoffs per run | Ms at end |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {} | {} | {} |",
            row.name,
            ms(median(&row.gaps)),
            ms(max(&row.gaps)),
            ms_list(&row.gaps),
            row.handoffs.as_ref().map_or("-".into(), |h| list(h.iter())),
            row.threads.as_ref().map_or("-".into(), |t| list(t.iter())),
        );
    }
}

fn overhead_table(out: &mut String, rows: &[OverheadRow]) {
    let _ = writeln!(
        out,
        "\n## overhead: scheduler workloads on {WORKERS} Ps, sysmon on vs off (median)\n"
    );
    let _ = writeln!(
        out,
        "| workload | iterations | sysmon on (ms) | sysmon off (ms) | off/on |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for row in rows {
        let (on, off) = (median(&row.on), median(&row.off));
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3} | {:.3} |",
            row.name,
            row.on.len(),
            ms(on),
            ms(off),
            off.as_secs_f64() / on.as_secs_f64()
        );
    }
}

fn compute_table(out: &mut String, c: &Compute, tasks: usize) {
    let _ = writeln!(
        out,
        "\n## compute: {tasks} tasks x {COMPUTE_POLLS} polls of 50-500 µs spin on {WORKERS} Ps \
         (ideal {:.1} ms)\n",
        ms(c.total_spin) / WORKERS as f64
    );
    let _ = writeln!(
        out,
        "| sysmon | median (ms) | per run (ms) | tasks/s | handoffs per run | Ms at end |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---|---|");
    for (name, runs) in [("on", &c.on), ("off", &c.off)] {
        let times: Vec<_> = runs.iter().map(|r| r.time).collect();
        let med = median(&times);
        let _ = writeln!(
            out,
            "| {name} | {:.1} | {} | {:.0} | {} | {} |",
            ms(med),
            ms_list(&times),
            tasks as f64 / med.as_secs_f64(),
            list(runs.iter().map(|r| r.handoffs)),
            list(runs.iter().map(|r| r.threads)),
        );
    }
    let _ = writeln!(
        out,
        "\nloss from hand-off (median on / median off - 1): {:+.2} %",
        compute_loss(c) * 100.0
    );
}

fn compute_loss(c: &Compute) -> f64 {
    let on: Vec<_> = c.on.iter().map(|r| r.time).collect();
    let off: Vec<_> = c.off.iter().map(|r| r.time).collect();
    median(&on).as_secs_f64() / median(&off).as_secs_f64() - 1.0
}

/// The results as JSON (written by hand: the bench has no serde).
fn to_json(stall: &[StallRow], overhead: &[OverheadRow], c: &Compute, tasks: usize) -> String {
    let ms_array =
        |v: &[Duration]| format!("[{}]", list(v.iter().map(|d| format!("{:.4}", ms(*d)))));
    let mut s = String::from("{\n  \"stall\": [\n");
    for (i, row) in stall.iter().enumerate() {
        let _ = write!(
            s,
            "    {{\"runtime\": \"{}\", \"median_ms\": {:.4}, \"max_ms\": {:.4}, \"gaps_ms\": {}",
            row.name,
            ms(median(&row.gaps)),
            ms(max(&row.gaps)),
            ms_array(&row.gaps)
        );
        if let Some(h) = &row.handoffs {
            let _ = write!(s, ", \"handoffs\": [{}]", list(h.iter()));
        }
        if let Some(t) = &row.threads {
            let _ = write!(s, ", \"threads\": [{}]", list(t.iter()));
        }
        let comma = if i + 1 < stall.len() { "," } else { "" };
        let _ = writeln!(s, "}}{comma}");
    }
    s.push_str("  ],\n  \"overhead\": [\n");
    for (i, row) in overhead.iter().enumerate() {
        let (on, off) = (median(&row.on), median(&row.off));
        let comma = if i + 1 < overhead.len() { "," } else { "" };
        let _ = writeln!(
            s,
            "    {{\"workload\": \"{}\", \"on_median_ms\": {:.4}, \"off_median_ms\": {:.4}, \
             \"off_over_on\": {:.4}, \"on_ms\": {}, \"off_ms\": {}}}{comma}",
            row.name,
            ms(on),
            ms(off),
            off.as_secs_f64() / on.as_secs_f64(),
            ms_array(&row.on),
            ms_array(&row.off)
        );
    }
    let runs = |runs: &[ComputeRun]| {
        let times: Vec<_> = runs.iter().map(|r| r.time).collect();
        format!(
            "{{\"median_ms\": {:.4}, \"times_ms\": {}, \"handoffs\": [{}], \"threads\": [{}]}}",
            ms(median(&times)),
            ms_array(&times),
            list(runs.iter().map(|r| r.handoffs)),
            list(runs.iter().map(|r| r.threads))
        )
    };
    let _ = write!(
        s,
        "  ],\n  \"compute\": {{\"tasks\": {tasks}, \"polls_per_task\": {COMPUTE_POLLS}, \
         \"procs\": {WORKERS}, \"ideal_ms\": {:.4}, \"loss\": {:.5},\n    \"sysmon_on\": {},\n    \
         \"sysmon_off\": {}}}\n}}\n",
        ms(c.total_spin) / WORKERS as f64,
        compute_loss(c),
        runs(&c.on),
        runs(&c.off)
    );
    s
}
