//! The workloads, written once and generic over [`Rt`].
//!
//! The timed ones are tokio's `benches/rt_multi_threaded.rs` set with its
//! parameters (the same as `benches/common/mod.rs`), skynet, and the
//! async-channel ping-pong of `benches/io.rs`. [`Workload::Parked`] measures
//! memory and the `*_wakeups` ones count context switches; `benches/go/`
//! has the Go version of each, with the same parameters.
//!
//! Every wait for a signal from the runtime is bounded ([`DEADLINE`]) and
//! panics with the workload's name, so a hung runtime ends the process
//! instead of the benchmark script.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

use crate::rt::Rt;

/// How long any wait for the runtime may take before the process panics.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// Tasks spawned per iteration by the `spawn_many_*` workloads.
const NUM_SPAWN: usize = 10_000;
/// Pairs per iteration of `ping_pong`.
const NUM_PINGS: usize = 1_000;
/// Tasks of `yield_many`.
const YIELD_TASKS: usize = 200;
/// Yields per task of `yield_many`.
const NUM_YIELD: usize = 1_000;
/// Links of `chained_spawn`.
const CHAIN: usize = 1_000;
/// Links of `chained_spawn_long`.
const LONG_CHAIN: usize = 10_000;
/// Chains of [`CHAIN`] links per iteration of `chained_spawn_task`.
const TASK_CHAINS: usize = 100;
/// Leaves of `skynet`.
const LEAVES: u64 = 1_000_000;
/// Round trips per iteration of `chan_ping_pong`.
const ROUND_TRIPS: usize = 100_000;
/// Tasks of `parked`.
pub(crate) const PARKED: usize = 1_000_000;
/// How long the `*_wakeups` workloads count.
pub(crate) const WAKEUP_WINDOW: Duration = Duration::from_secs(1);

/// One workload of the harness.
///
/// ```
/// use gmp_bench_whole::Workload;
/// let w = Workload::from_name("skynet").unwrap();
/// assert_eq!((w.name(), w.unit()), ("skynet", "ms"));
/// assert!(Workload::from_name("nope").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `block_on` spawns 10 000 tasks; the last to run signals the main thread.
    SpawnManyLocal,
    /// The main thread spawns 10 000 empty tasks, then awaits every handle.
    SpawnManyRemoteIdle,
    /// The main thread spawns 200 tasks that each yield 1 000 times.
    YieldMany,
    /// `yield_many` while a timer is armed (a task sleeps for an hour), as
    /// in a server, where some timer or socket is always waited on: a
    /// runtime that polls its reactor before every yielder pays a syscall
    /// per yield here.
    YieldManyTimer,
    /// 1 000 pairs of tasks exchange a ping and a pong through oneshots.
    PingPong,
    /// A chain of 1 000 tasks, each spawning the next.
    ChainedSpawn,
    /// `chained_spawn` with 10 000 links: the same two cross-thread wakes
    /// per iteration (the chain's start from `block_on`, its end signalled
    /// to the main thread) spread over ten times the spawns.
    ChainedSpawnLong,
    /// `chained_spawn`'s 1 000-link chain, started and awaited (through a
    /// oneshot) by a task, as Go's main goroutine does, 100 (`TASK_CHAINS`)
    /// times per iteration: the chain without the two wakes of a thread
    /// outside the runtime, which `chained_spawn` pays on every chain.
    ChainedSpawnTask,
    /// Skynet: a 10-ary tree of 1 111 111 tasks, 1 000 000 leaves.
    Skynet,
    /// Two tasks spawned from `block_on`, 100 000 round trips through two
    /// `async_channel::bounded(1)` channels.
    ChanPingPong,
    /// 1 000 000 tasks parked on one `event_listener::Event`.
    Parked,
    /// Context switches per second of an idle runtime.
    IdleWakeups,
    /// Context switches per second while 2 tasks per worker loop on yield.
    BusyWakeups,
}

/// Every workload, in the order of the report.
pub(crate) const ALL: [Workload; 13] = [
    Workload::SpawnManyLocal,
    Workload::SpawnManyRemoteIdle,
    Workload::YieldMany,
    Workload::YieldManyTimer,
    Workload::PingPong,
    Workload::ChainedSpawn,
    Workload::ChainedSpawnLong,
    Workload::ChainedSpawnTask,
    Workload::Skynet,
    Workload::ChanPingPong,
    Workload::Parked,
    Workload::IdleWakeups,
    Workload::BusyWakeups,
];

impl Workload {
    /// The name on the command line and in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SpawnManyLocal => "spawn_many_local",
            Workload::SpawnManyRemoteIdle => "spawn_many_remote_idle",
            Workload::YieldMany => "yield_many",
            Workload::YieldManyTimer => "yield_many_timer",
            Workload::PingPong => "ping_pong",
            Workload::ChainedSpawn => "chained_spawn",
            Workload::ChainedSpawnLong => "chained_spawn_long",
            Workload::ChainedSpawnTask => "chained_spawn_task",
            Workload::Skynet => "skynet",
            Workload::ChanPingPong => "chan_ping_pong",
            Workload::Parked => "parked",
            Workload::IdleWakeups => "idle_wakeups",
            Workload::BusyWakeups => "busy_wakeups",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        ALL.into_iter().find(|w| w.name() == name)
    }

    /// The unit of the JSON line's `value`.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::SpawnManyLocal | Workload::SpawnManyRemoteIdle => "ns/task",
            Workload::YieldMany | Workload::YieldManyTimer => "ns/yield",
            Workload::PingPong | Workload::ChanPingPong => "ns/round",
            Workload::ChainedSpawn | Workload::ChainedSpawnLong | Workload::ChainedSpawnTask => {
                "ns/spawn"
            }
            Workload::Skynet => "ms",
            Workload::Parked => "bytes/task",
            Workload::IdleWakeups | Workload::BusyWakeups => "wakeups/s",
        }
    }

    /// Nanoseconds of one iteration per unit of `value` (timed workloads).
    pub(crate) fn divisor(self) -> f64 {
        match self {
            Workload::SpawnManyLocal | Workload::SpawnManyRemoteIdle => NUM_SPAWN as f64,
            Workload::YieldMany | Workload::YieldManyTimer => (YIELD_TASKS * NUM_YIELD) as f64,
            Workload::PingPong => NUM_PINGS as f64,
            Workload::ChainedSpawn => CHAIN as f64,
            Workload::ChainedSpawnLong => LONG_CHAIN as f64,
            Workload::ChainedSpawnTask => (TASK_CHAINS * CHAIN) as f64,
            Workload::Skynet => 1e6,
            Workload::ChanPingPong => ROUND_TRIPS as f64,
            _ => 1.0,
        }
    }

    /// Whether `value` is a time per iteration (the others measure memory
    /// or wake-ups).
    pub(crate) fn is_timed(self) -> bool {
        !matches!(
            self,
            Workload::Parked | Workload::IdleWakeups | Workload::BusyWakeups
        )
    }

    /// Iterations per process by default: about 50–300 ms of work on the
    /// 2-vCPU VM, one for the workloads that are long already.
    pub(crate) fn default_iters(self) -> usize {
        match self {
            Workload::SpawnManyLocal | Workload::SpawnManyRemoteIdle => 20,
            Workload::YieldMany | Workload::YieldManyTimer => 10,
            Workload::PingPong => 50,
            Workload::ChainedSpawn => 100,
            Workload::ChainedSpawnLong | Workload::ChainedSpawnTask => 10,
            Workload::ChanPingPong => 3,
            _ => 1,
        }
    }
}

/// Runs one iteration of a timed workload on `rt`.
pub(crate) fn run_once<R: Rt>(workload: Workload, rt: &R) {
    match workload {
        Workload::SpawnManyLocal => spawn_many_local(rt),
        Workload::SpawnManyRemoteIdle => spawn_many_remote_idle(rt),
        Workload::YieldMany => yield_many(rt),
        Workload::YieldManyTimer => {
            // One more sleeper per iteration: harmless, they never fire.
            R::detach(rt.spawn(R::sleep(Duration::from_secs(3600))));
            yield_many(rt)
        }
        Workload::PingPong => ping_pong(rt),
        Workload::ChainedSpawn => chained_spawn(rt, CHAIN),
        Workload::ChainedSpawnLong => chained_spawn(rt, LONG_CHAIN),
        Workload::ChainedSpawnTask => chained_spawn_task(rt),
        Workload::Skynet => skynet(rt),
        Workload::ChanPingPong => chan_ping_pong(rt),
        Workload::Parked | Workload::IdleWakeups | Workload::BusyWakeups => {
            panic!("{} is not a timed workload", workload.name())
        }
    }
}

/// Waits for `n` signals on `rx`, each within [`DEADLINE`].
fn wait(rx: &mpsc::Receiver<()>, n: usize, what: &str) {
    for i in 0..n {
        if rx.recv_timeout(DEADLINE).is_err() {
            panic!("{what}: signal {i} of {n} did not come within {DEADLINE:?}");
        }
    }
}

/// Waits until `counter` reaches `n`, polling every millisecond.
pub(crate) fn wait_count(counter: &AtomicUsize, n: usize, what: &str) {
    let start = Instant::now();
    while counter.load(Relaxed) < n {
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: {} of {n} after {DEADLINE:?}",
            counter.load(Relaxed)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn spawn_many_local<R: Rt>(rt: &R) {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    rt.block_on(async {
        for _ in 0..NUM_SPAWN {
            let tx = tx.clone();
            let rem = rem.clone();
            R::detach(R::spawn_current(async move {
                if 1 == rem.fetch_sub(1, Relaxed) {
                    let _ = tx.send(());
                }
            }));
        }
        wait(&rx, 1, "spawn_many_local");
    });
}

fn spawn_many_remote_idle<R: Rt>(rt: &R) {
    let handles: Vec<_> = (0..NUM_SPAWN).map(|_| rt.spawn(async {})).collect();
    rt.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
}

fn yield_many<R: Rt>(rt: &R) {
    let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);
    for _ in 0..YIELD_TASKS {
        let tx = tx.clone();
        R::detach(rt.spawn(async move {
            for _ in 0..NUM_YIELD {
                R::yield_now().await;
            }
            let _ = tx.send(());
        }));
    }
    wait(&rx, YIELD_TASKS, "yield_many");
}

fn ping_pong<R: Rt>(rt: &R) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_PINGS));
    rt.block_on(async {
        R::detach(R::spawn_current(async move {
            for _ in 0..NUM_PINGS {
                let rem = rem.clone();
                let done_tx = done_tx.clone();
                R::detach(R::spawn_current(async move {
                    let (tx1, rx1) = oneshot::channel::<()>();
                    let (tx2, rx2) = oneshot::channel::<()>();
                    R::detach(R::spawn_current(async move {
                        rx1.await.expect("ping_pong: the pinger hung up");
                        let _ = tx2.send(());
                    }));
                    let _ = tx1.send(());
                    rx2.await.expect("ping_pong: the ponger hung up");
                    if 1 == rem.fetch_sub(1, Relaxed) {
                        let _ = done_tx.send(());
                    }
                }));
            }
        }));
        wait(&done_rx, 1, "ping_pong");
    });
}

/// One link of a chain: spawns the next, or calls `done` at the end.
fn link<R: Rt>(done: impl FnOnce() + Send + 'static, n: usize) {
    if n == 0 {
        done();
    } else {
        R::detach(R::spawn_current(async move { link::<R>(done, n - 1) }));
    }
}

fn chained_spawn<R: Rt>(rt: &R, links: usize) {
    let (tx, rx) = mpsc::sync_channel(1);
    rt.block_on(async {
        let done = move || {
            let _ = tx.send(());
        };
        R::detach(R::spawn_current(async move { link::<R>(done, links) }));
        wait(&rx, 1, "chained_spawn");
    });
}

fn chained_spawn_task<R: Rt>(rt: &R) {
    let driver = rt.spawn(async {
        for _ in 0..TASK_CHAINS {
            let (tx, rx) = oneshot::channel();
            let done = move || {
                let _ = tx.send(());
            };
            R::detach(R::spawn_current(async move { link::<R>(done, CHAIN) }));
            rx.await.expect("chained_spawn_task: the chain hung up");
        }
    });
    rt.block_on(driver);
}

/// One skynet node: a leaf returns its number, an inner node sums its 10
/// children. Not an `async fn`: the declared `+ Send` breaks the cycle of a
/// future that spawns itself.
#[allow(clippy::manual_async_fn)]
fn node<R: Rt>(num: u64, size: u64) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if size == 1 {
            return num;
        }
        let child = size / 10;
        let children: Vec<_> = (0..10)
            .map(|i| R::spawn_current(node::<R>(num + i * child, child)))
            .collect();
        let mut sum = 0;
        for child in children {
            sum += child.await;
        }
        sum
    }
}

fn skynet<R: Rt>(rt: &R) {
    let sum = rt.block_on(async { R::spawn_current(node::<R>(0, LEAVES)).await });
    assert_eq!(
        sum,
        LEAVES * (LEAVES - 1) / 2,
        "{}: wrong skynet sum",
        R::NAME
    );
}

fn chan_ping_pong<R: Rt>(rt: &R) {
    rt.block_on(async {
        let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
        let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
        let pong = R::spawn_current(async move {
            while let Ok(n) = ping_rx.recv().await {
                pong_tx.send(n).await.expect("the pinger hung up early");
            }
        });
        let ping = R::spawn_current(async move {
            for n in 0..ROUND_TRIPS {
                ping_tx.send(n).await.expect("the ponger hung up early");
                let back = pong_rx.recv().await.expect("the ponger hung up early");
                assert_eq!(back, n, "{}: pong out of order", R::NAME);
            }
        });
        ping.await;
        pong.await;
    });
}

/// Memory of [`PARKED`] parked tasks: (VmHWM growth, VmRSS growth) in bytes,
/// and how long spawning and parking them took.
pub(crate) fn parked<R: Rt>(rt: &R, tasks: usize) -> (u64, u64, Duration) {
    let event = Arc::new(event_listener::Event::new());
    let parked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (hwm0, rss0) = (crate::proc_stats::vm_hwm(), crate::proc_stats::vm_rss());
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..tasks {
            let (event, parked, done) = (event.clone(), parked.clone(), done.clone());
            R::detach(R::spawn_current(async move {
                let listener = event.listen();
                parked.fetch_add(1, Relaxed);
                listener.await;
                done.fetch_add(1, Relaxed);
            }));
        }
    });
    wait_count(&parked, tasks, "parked: tasks parked");
    let took = start.elapsed();
    let (hwm, rss) = (crate::proc_stats::vm_hwm(), crate::proc_stats::vm_rss());
    event.notify(usize::MAX);
    wait_count(&done, tasks, "parked: tasks woken");
    (hwm.saturating_sub(hwm0), rss.saturating_sub(rss0), took)
}

/// What [`wakeups`] counted, per second of [`WAKEUP_WINDOW`].
pub(crate) struct Wakeups {
    /// Context switches of every thread but the main one.
    pub(crate) all: f64,
    /// The monitor thread's switches and voluntary switches (its wake-ups),
    /// if the runtime has one.
    pub(crate) monitor: Option<(f64, f64)>,
    /// Hand-offs during the window, if the runtime hands off.
    pub(crate) handoffs: Option<u64>,
}

/// Counts context switches over [`WAKEUP_WINDOW`]; `busy` keeps 2 tasks per
/// worker looping on `yield_now` meanwhile.
pub(crate) fn wakeups<R: Rt>(rt: &R, workers: usize, busy: bool) -> Wakeups {
    // Let the runtime start its threads, then settle.
    rt.block_on(async {});
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicUsize::new(0));
    let spinners: Vec<_> = (0..if busy { 2 * workers } else { 0 })
        .map(|_| {
            let (stop, running) = (stop.clone(), running.clone());
            rt.spawn(async move {
                running.fetch_add(1, Relaxed);
                while !stop.load(Relaxed) {
                    R::yield_now().await;
                }
            })
        })
        .collect();
    wait_count(&running, spinners.len(), "busy_wakeups: spinners started");
    std::thread::sleep(Duration::from_millis(200));

    let main = crate::proc_stats::main_tid();
    let monitor = R::monitor_thread();
    let handoffs0 = rt.handoffs();
    let before = crate::proc_stats::switches(main, monitor);
    let start = Instant::now();
    std::thread::sleep(WAKEUP_WINDOW);
    let after = crate::proc_stats::switches(main, monitor);
    let handoffs = rt
        .handoffs()
        .zip(handoffs0)
        .map(|(b, a)| b.saturating_sub(a));
    let secs = start.elapsed().as_secs_f64();

    stop.store(true, Relaxed);
    rt.block_on(async {
        for spinner in spinners {
            spinner.await;
        }
    });
    let rate = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
    let mon = monitor.map(|_| {
        (
            rate(before.monitor, after.monitor),
            rate(before.monitor_voluntary, after.monitor_voluntary),
        )
    });
    Wakeups {
        all: rate(before.all, after.all),
        monitor: mon,
        handoffs,
    }
}
