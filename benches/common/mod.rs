//! Scheduler workloads, written once and measured on gmp and on tokio.
//!
//! The workloads are tokio's own `benches/rt_multi_threaded.rs` set, with its
//! parameters (10 000 spawns, 1 000 ping-pong pairs, 200 tasks × 1 000 yields,
//! a chain of 1 000 spawns, 10 µs stalls in the busy tasks), plus skynet
//! (1 000 000 leaf tasks). Each body is generic over [`Rt`], so both runtimes
//! run the very same code; only `spawn`, `block_on` and `yield_now` differ.
//! Channels that cross runtimes are runtime-neutral: `std::sync::mpsc` for
//! "done" signals to the bench thread and `futures::channel::oneshot` in
//! ping-pong.
//!
//! Both runtimes get the same number of worker threads ([`WORKERS`]: gmp's
//! `max_procs`, tokio's `worker_threads`). A runtime is built once per group
//! and runtime, outside the timed loop, and dropped before the other runtime
//! of the group is measured, so the two never compete for the cores.
//!
//! Bench IDs are `<workload>/<runtime><suffix>`, e.g. `spawn_many_local/gmp`;
//! the suffix tells allocator variants apart (`spawn_many_local/gmp-mimalloc`)
//! so that `benches/report.py` can read both from `target/criterion`.
//!
//! Four workloads are also public one iteration at a time ([`SpawnManyLocal`],
//! [`YieldMany`], [`ChainedSpawn`], [`skynet_run`]) for `benches/handoff.rs`,
//! which runs them on gmp built through [`Gmp::with_builder`] with sysmon on
//! and off.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use futures::channel::oneshot;

/// Worker threads of each runtime: the two cores of the bench machine.
pub(crate) const WORKERS: usize = 2;

/// Tasks spawned per iteration by the `spawn_many_*` workloads.
const NUM_SPAWN: usize = 10_000;

/// How long a busy task computes between two yields or spawns.
const STALL_DUR: Duration = Duration::from_micros(10);

/// What a workload needs from a runtime.
pub(crate) trait Rt: Sized + 'static {
    /// The runtime's name in bench IDs.
    const NAME: &'static str;

    /// The error of a failed join.
    type JoinError: std::fmt::Debug;

    /// The runtime's own join handle.
    type JoinHandle<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>>
        + Send
        + Unpin
        + 'static;

    /// A multi-threaded runtime with `workers` worker threads.
    fn with_workers(workers: usize) -> Self;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns from outside the runtime (the bench thread).
    fn spawn<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns on the current runtime, from a task or from `block_on`.
    fn spawn_current<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// A one-line summary of the scheduler's counters, if the runtime has one.
    fn summary(&self) -> Option<String> {
        None
    }
}

/// gmp with `max_procs(WORKERS)`.
pub(crate) struct Gmp(gmp::Runtime);

impl Gmp {
    /// gmp with `max_procs(workers)` and whatever `hook` sets on the
    /// builder: `Gmp::with_builder(2, |b| { b.sysmon(false); })` is the
    /// runtime of `benches/handoff.rs` without sysmon.
    pub(crate) fn with_builder(workers: usize, hook: impl FnOnce(&mut gmp::Builder)) -> Self {
        let mut builder = gmp::Runtime::builder();
        builder.max_procs(workers);
        hook(&mut builder);
        match builder.build() {
            Ok(rt) => Gmp(rt),
            Err(err) => panic!("cannot build the gmp runtime: {err}"),
        }
    }
}

impl Rt for Gmp {
    const NAME: &'static str = "gmp";
    type JoinError = gmp::JoinError;
    type JoinHandle<T: Send + 'static> = gmp::JoinHandle<T>;

    fn with_workers(workers: usize) -> Self {
        Gmp::with_builder(workers, |_| {})
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> gmp::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn_current<F>(future: F) -> gmp::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        gmp::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        gmp::yield_now()
    }

    fn summary(&self) -> Option<String> {
        let m = self.0.metrics();
        let procs = (0..m.procs()).map(|i| m.proc(i));
        let (mut polls, mut steals, mut stolen, mut spills, mut handoffs, mut parks) =
            (0, 0, 0, 0, 0, 0);
        for p in procs {
            polls += p.polls();
            steals += p.steals();
            stolen += p.stolen();
            spills += p.spills();
            handoffs += p.handoffs();
            parks += p.parks();
        }
        Some(format!(
            "threads={} polls={polls} steals={steals} stolen={stolen} spills={spills} \
             handoffs={handoffs} parks={parks}",
            m.threads()
        ))
    }
}

/// tokio's multi-thread scheduler with `worker_threads(WORKERS)`.
pub(crate) struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn with_workers(workers: usize) -> Self {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
        {
            Ok(rt) => Tokio(rt),
            Err(err) => panic!("cannot build the tokio runtime: {err}"),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn_current<F>(future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// Defaults for every group; command-line flags (`--warm-up-time`,
/// `--measurement-time`, `--sample-size`) override them.
pub(crate) fn config() -> Criterion {
    Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
}

/// Registers every workload, gmp then tokio in each group; `suffix` is
/// appended to the runtime's name in the bench ID (`""` or `"-mimalloc"`).
pub(crate) fn all(c: &mut Criterion, suffix: &str) {
    macro_rules! side_by_side {
        ($workload:ident) => {{
            let mut group = c.benchmark_group(stringify!($workload));
            $workload::<Gmp>(&mut group, suffix);
            $workload::<Tokio>(&mut group, suffix);
            group.finish();
        }};
    }
    side_by_side!(spawn_many_local);
    side_by_side!(spawn_many_remote_idle);
    side_by_side!(spawn_many_remote_busy1);
    side_by_side!(spawn_many_remote_busy2);
    side_by_side!(ping_pong);
    side_by_side!(yield_many);
    side_by_side!(chained_spawn);
    side_by_side!(skynet);
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// The bench ID of runtime `R` in its group.
fn id<R: Rt>(suffix: &str) -> String {
    format!("{}{suffix}", R::NAME)
}

/// Measures `run`, one iteration a sample, on a runtime `R` of its own in
/// `group`, then prints the runtime's counters under `name`.
fn measure<R: Rt>(group: &mut Group<'_>, suffix: &str, name: &str, run: impl Fn(&R)) {
    let rt = R::with_workers(WORKERS);
    group.bench_function(id::<R>(suffix), |b| b.iter(|| run(&rt)));
    print_summary(&rt, name);
}

/// Prints the scheduler's counters after a runtime's bench, to stderr.
fn print_summary<R: Rt>(rt: &R, group: &str) {
    if let Some(summary) = rt.summary() {
        eprintln!("[{} counters after {group}] {summary}", R::NAME);
    }
}

/// Spins for [`STALL_DUR`]: a busy task's CPU work between two scheduler calls.
fn stall() {
    let now = Instant::now();
    while now.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

/// `block_on` spawns 10 000 tasks; each decrements a counter, the last one
/// tells the `block_on` thread through a channel.
fn spawn_many_local<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    let workload = SpawnManyLocal::default();
    measure::<R>(group, suffix, "spawn_many_local", |rt| workload.run(rt));
}

/// The `spawn_many_local` workload: its channel and counter, made once and
/// used by every iteration.
pub(crate) struct SpawnManyLocal {
    /// The last task's "done" to the `block_on` thread.
    tx: mpsc::SyncSender<()>,
    /// Where `block_on` waits for it.
    rx: mpsc::Receiver<()>,
    /// Tasks left to finish in this iteration.
    rem: Arc<AtomicUsize>,
}

impl Default for SpawnManyLocal {
    fn default() -> Self {
        let (tx, rx) = mpsc::sync_channel(1000);
        SpawnManyLocal {
            tx,
            rx,
            rem: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl SpawnManyLocal {
    /// One iteration on `rt`.
    pub(crate) fn run<R: Rt>(&self, rt: &R) {
        self.rem.store(NUM_SPAWN, Relaxed);
        rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let tx = self.tx.clone();
                let rem = self.rem.clone();
                drop(R::spawn_current(async move {
                    if 1 == rem.fetch_sub(1, Relaxed) {
                        tx.send(()).unwrap();
                    }
                }));
            }
            self.rx.recv().unwrap();
        });
    }
}

/// The bench thread spawns 10 000 empty tasks into an idle runtime, then
/// awaits every handle.
fn spawn_many_remote_idle<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    let rt = R::with_workers(WORKERS);
    let mut handles = Vec::with_capacity(NUM_SPAWN);

    group.bench_function(id::<R>(suffix), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for handle in handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        })
    });
    print_summary(&rt, "spawn_many_remote_idle");
}

/// As `spawn_many_remote_idle`, while 2 tasks per worker loop on
/// `yield_now` + a 10 µs stall (yielding is a lower-priority wake than a
/// spawn).
fn spawn_many_remote_busy1<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    let rt = R::with_workers(WORKERS);
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    let flag = Arc::new(AtomicBool::new(true));

    let busy: Vec<_> = (0..2 * WORKERS)
        .map(|_| {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    R::yield_now().await;
                    stall();
                }
            })
        })
        .collect();

    group.bench_function(id::<R>(suffix), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for handle in handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        })
    });

    flag.store(false, Relaxed);
    rt.block_on(async {
        for task in busy {
            task.await.unwrap();
        }
    });
    print_summary(&rt, "spawn_many_remote_busy1");
}

/// As `spawn_many_remote_idle` with 1 000 spawns, while one chain per worker
/// keeps spawning its successor after a 10 µs stall (spawning is a
/// higher-priority wake than yielding).
fn spawn_many_remote_busy2<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    const NUM_SPAWN: usize = 1_000;

    /// One link of a busy chain: stall, then spawn the next link.
    fn link<R: Rt>(flag: Arc<AtomicBool>, live: Arc<AtomicUsize>) {
        drop(R::spawn_current(async move {
            if flag.load(Relaxed) {
                stall();
                link::<R>(flag, live);
            } else {
                live.fetch_sub(1, Relaxed);
            }
        }));
    }

    let rt = R::with_workers(WORKERS);
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    let flag = Arc::new(AtomicBool::new(true));
    let live = Arc::new(AtomicUsize::new(WORKERS));

    for _ in 0..WORKERS {
        let flag = flag.clone();
        let live = live.clone();
        drop(rt.spawn(async move { link::<R>(flag, live) }));
    }

    group.bench_function(id::<R>(suffix), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for handle in handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        })
    });

    flag.store(false, Relaxed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while live.load(Relaxed) != 0 {
        assert!(
            Instant::now() < deadline,
            "{}: the busy chains did not stop within 5 s of their flag",
            R::NAME
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    print_summary(&rt, "spawn_many_remote_busy2");
}

/// 1 000 pairs of tasks, each pair exchanging a ping and a pong through two
/// oneshot channels; the last pair tells the `block_on` thread.
fn ping_pong<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    const NUM_PINGS: usize = 1_000;

    let rt = R::with_workers(WORKERS);
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    group.bench_function(id::<R>(suffix), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            rt.block_on(async {
                drop(R::spawn_current(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        drop(R::spawn_current(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            drop(R::spawn_current(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            }));

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        }));
                    }
                }));
                done_rx.recv().unwrap();
            });
        })
    });
    print_summary(&rt, "ping_pong");
}

/// The bench thread spawns 200 tasks that each yield 1 000 times.
fn yield_many<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    let workload = YieldMany::default();
    measure::<R>(group, suffix, "yield_many", |rt| workload.run(rt));
}

/// The `yield_many` workload: its channel, made once and used by every
/// iteration.
pub(crate) struct YieldMany {
    /// Each task's "done" to the bench thread.
    tx: mpsc::SyncSender<()>,
    /// Where the bench thread waits for them.
    rx: mpsc::Receiver<()>,
}

impl YieldMany {
    const NUM_YIELD: usize = 1_000;
    const TASKS: usize = 200;

    /// One iteration on `rt`.
    pub(crate) fn run<R: Rt>(&self, rt: &R) {
        for _ in 0..Self::TASKS {
            let tx = self.tx.clone();
            drop(rt.spawn(async move {
                for _ in 0..Self::NUM_YIELD {
                    R::yield_now().await;
                }
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..Self::TASKS {
            self.rx.recv().unwrap();
        }
    }
}

impl Default for YieldMany {
    fn default() -> Self {
        let (tx, rx) = mpsc::sync_channel(Self::TASKS);
        YieldMany { tx, rx }
    }
}

/// A chain of 1 000 tasks, each spawning the next one.
fn chained_spawn<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    let workload = ChainedSpawn::default();
    measure::<R>(group, suffix, "chained_spawn", |rt| workload.run(rt));
}

/// The `chained_spawn` workload: its channel, made once and used by every
/// iteration.
pub(crate) struct ChainedSpawn {
    /// The last link's "done" to the `block_on` thread.
    done_tx: mpsc::SyncSender<()>,
    /// Where `block_on` waits for it.
    done_rx: mpsc::Receiver<()>,
}

impl Default for ChainedSpawn {
    fn default() -> Self {
        let (done_tx, done_rx) = mpsc::sync_channel(1000);
        ChainedSpawn { done_tx, done_rx }
    }
}

impl ChainedSpawn {
    const ITER: usize = 1_000;

    /// One iteration on `rt`.
    pub(crate) fn run<R: Rt>(&self, rt: &R) {
        fn iter<R: Rt>(done_tx: mpsc::SyncSender<()>, n: usize) {
            if n == 0 {
                done_tx.send(()).unwrap();
            } else {
                drop(R::spawn_current(async move {
                    iter::<R>(done_tx, n - 1);
                }));
            }
        }

        let done_tx = self.done_tx.clone();
        rt.block_on(async {
            drop(R::spawn_current(async move {
                iter::<R>(done_tx, Self::ITER);
            }));
            self.done_rx.recv().unwrap();
        });
    }
}

/// Skynet: a 10-ary tree of spawned tasks, 6 levels deep, whose 1 000 000
/// leaves return their numbers; every inner task awaits and sums its 10
/// children (1 111 111 tasks in all).
fn skynet<R: Rt>(group: &mut Group<'_>, suffix: &str) {
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    measure::<R>(group, suffix, "skynet", skynet_run::<R>);
}

/// One iteration of skynet on `rt`; panics if the sum is wrong.
pub(crate) fn skynet_run<R: Rt>(rt: &R) {
    const LEAVES: u64 = 1_000_000;

    // Not an `async fn`: the compiler cannot prove an async fn's future
    // `Send` when the fn spawns itself; the declared `+ Send` breaks the cycle.
    #[allow(clippy::manual_async_fn)]
    fn node<R: Rt>(num: u64, size: u64) -> impl Future<Output = u64> + Send + 'static {
        async move {
            if size == 1 {
                return num;
            }
            let child = size / 10;
            let mut children = Vec::with_capacity(10);
            for i in 0..10 {
                children.push(R::spawn_current(node::<R>(num + i * child, child)));
            }
            let mut sum = 0;
            for child in children {
                sum += child.await.unwrap();
            }
            sum
        }
    }

    let sum = rt.block_on(async { R::spawn_current(node::<R>(0, LEAVES)).await.unwrap() });
    assert_eq!(
        sum,
        LEAVES * (LEAVES - 1) / 2,
        "{}: wrong skynet sum",
        R::NAME
    );
}
