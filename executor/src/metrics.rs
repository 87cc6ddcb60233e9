//! Metrics: a snapshot of a runtime's counters.
//!
//! The per-P counters are written only by the P's owner (a load and a store,
//! no locked instruction), so they stay on always.

use std::sync::atomic::Ordering::Relaxed;

use crate::sched::Shared;
use crate::sync::Ordering;

/// A snapshot of a runtime's scheduler state and counters.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(2).build().unwrap();
/// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
/// let m = rt.metrics();
/// assert_eq!(m.procs(), 2);
/// let polls: u64 = (0..m.procs()).map(|i| m.proc(i).polls()).sum();
/// assert!(polls >= 1);
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    procs: Vec<ProcMetrics>,
    threads: usize,
    idle_procs: usize,
    idle_threads: usize,
    spinning_threads: usize,
    global_queue_depth: usize,
    blocking_threads: usize,
    alive_tasks: u64,
}

/// Counters of one P, since the runtime started.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
/// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
/// let p0 = rt.metrics().proc(0);
/// assert!(p0.polls() >= 1);
/// assert_eq!(p0.spills(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ProcMetrics {
    polls: u64,
    steals: u64,
    stolen: u64,
    rescues: u64,
    spills: u64,
    handoffs: u64,
    parks: u64,
    reactor_polls: u64,
    local_queue_depth: usize,
}

impl Metrics {
    pub(crate) fn snapshot(shared: &Shared) -> Metrics {
        let procs = shared
            .procs
            .iter()
            .map(|p| ProcMetrics {
                polls: p.stats.polls.load(Relaxed),
                steals: p.stats.steals.load(Relaxed),
                stolen: p.stats.stolen.load(Relaxed),
                rescues: p.stats.rescues.load(Relaxed),
                spills: p.stats.spills.load(Relaxed),
                handoffs: p.stats.handoffs.load(Relaxed),
                parks: p.stats.parks.load(Relaxed),
                reactor_polls: p.stats.reactor_polls.load(Relaxed),
                local_queue_depth: p.local_len(),
            })
            .collect();
        Metrics {
            procs,
            threads: shared.nthreads.load(Ordering::Relaxed),
            idle_procs: shared.npidle.load(Ordering::Relaxed),
            idle_threads: shared.nmidle.load(Ordering::Relaxed),
            spinning_threads: shared.nmspinning.load(Ordering::Relaxed),
            global_queue_depth: shared.grq.len(),
            blocking_threads: shared.blocking.threads(),
            alive_tasks: shared.alive.alive(),
        }
    }

    /// Tasks spawned on the runtime (blocking closures included) whose
    /// future has not been dropped yet: running, runnable or parked. Counted
    /// on per-thread shards (`alive.rs`), cheap enough to stay on.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// let t = rt.spawn(futures::future::pending::<()>());
    /// assert_eq!(rt.metrics().alive_tasks(), 1);
    /// t.abort();
    /// let _ = rt.block_on(t);
    /// assert_eq!(rt.metrics().alive_tasks(), 0);
    /// ```
    pub fn alive_tasks(&self) -> u64 {
        self.alive_tasks
    }

    /// Number of Ps.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(3).build().unwrap();
    /// assert_eq!(rt.metrics().procs(), 3);
    /// ```
    pub fn procs(&self) -> usize {
        self.procs.len()
    }

    /// Ms alive, idle ones included (not sysmon, not the blocking pool).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
    /// assert!(rt.metrics().threads() >= 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Ps in the idle list: no M holds them. An M blocked in the reactor
    /// holds none, so while every task waits for I/O or timers this equals
    /// [`procs`](Metrics::procs).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = gmp_executor::Runtime::builder().max_procs(2).build().unwrap();
    /// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
    /// // Nothing left to run: both Ps go back to the idle list.
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// while rt.metrics().idle_procs() < 2 {
    ///     assert!(Instant::now() < deadline, "the Ps never went idle");
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert_eq!(rt.metrics().idle_procs(), rt.metrics().procs());
    /// ```
    pub fn idle_procs(&self) -> usize {
        self.idle_procs
    }

    /// Ms parked without a P.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// let m = rt.metrics();
    /// assert!(m.idle_threads() <= m.threads());
    /// ```
    pub fn idle_threads(&self) -> usize {
        self.idle_threads
    }

    /// Ms that hold a P and are looking for work to steal.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(2).build().unwrap();
    /// assert!(rt.metrics().spinning_threads() <= 2);
    /// ```
    pub fn spinning_threads(&self) -> usize {
        self.spinning_threads
    }

    /// Tasks in the global run queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// assert_eq!(rt.metrics().global_queue_depth(), 0);
    /// ```
    pub fn global_queue_depth(&self) -> usize {
        self.global_queue_depth
    }

    /// Threads of the blocking pool alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(gmp_executor::spawn_blocking(|| ())).unwrap();
    /// assert!(rt.metrics().blocking_threads() <= 1);
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }

    /// The counters of P `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.procs()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(2).build().unwrap();
    /// let m = rt.metrics();
    /// assert_eq!(m.proc(1).steals(), 0);
    /// ```
    pub fn proc(&self, i: usize) -> ProcMetrics {
        match self.procs.get(i) {
            Some(p) => p.clone(),
            None => panic!(
                "Metrics::proc({i}): the runtime has {} Ps",
                self.procs.len()
            ),
        }
    }
}

impl ProcMetrics {
    /// Every poll of a task, re-polls included.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
    /// assert!(rt.metrics().proc(0).polls() >= 1);
    /// ```
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Steal operations that got work.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// assert_eq!(rt.metrics().proc(0).steals(), 0); // nobody to steal from
    /// ```
    pub fn steals(&self) -> u64 {
        self.steals
    }

    /// Tasks taken by those steals and by [rescues](ProcMetrics::rescues).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(2).build().unwrap();
    /// let p = rt.metrics().proc(0);
    /// assert!(p.stolen() >= p.steals() + p.rescues());
    /// ```
    pub fn stolen(&self) -> u64 {
        self.stolen
    }

    /// Rescues: times this P's M, while busy, took the queued tasks (as
    /// many as fit in half its ring) of another P whose M had been inside
    /// one poll for over 100 µs (blocked, computing, or waiting for a CPU),
    /// so that they need not wait for it. The tasks count in `stolen`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// assert_eq!(rt.metrics().proc(0).rescues(), 0); // no other P
    /// ```
    pub fn rescues(&self) -> u64 {
        self.rescues
    }

    /// Overflows of the LRQ into the GRQ (129 tasks each).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// assert_eq!(rt.metrics().proc(0).spills(), 0);
    /// ```
    pub fn spills(&self) -> u64 {
        self.spills
    }

    /// Times this P was taken from an M blocked inside a poll.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(async {
    ///     gmp_executor::spawn(async { gmp_executor::block_in_place(|| ()) }).await.unwrap()
    /// });
    /// assert_eq!(rt.metrics().proc(0).handoffs(), 1);
    /// ```
    pub fn handoffs(&self) -> u64 {
        self.handoffs
    }

    /// Times this P went idle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(async { gmp_executor::spawn(async {}).await.unwrap() });
    /// // Its only task done, the P goes idle.
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// while rt.metrics().proc(0).parks() == 0 {
    ///     assert!(Instant::now() < deadline, "P0 never went idle");
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert!(rt.metrics().proc(0).parks() >= 1);
    /// ```
    pub fn parks(&self) -> u64 {
        self.parks
    }

    /// Non-blocking polls of the reactor by the M holding this P, made while
    /// it looked for work with timers or sockets waited on (an M blocked in
    /// the reactor holds no P, and its waits are not counted here). While
    /// tasks that yielded wait on the P, it polls once per round of them,
    /// not once per yield.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// rt.block_on(async {
    ///     gmp_executor::spawn(async { gmp_executor::yield_now().await }).await.unwrap()
    /// });
    /// // No timer nor socket is waited on: nothing to poll for.
    /// assert_eq!(rt.metrics().proc(0).reactor_polls(), 0);
    /// ```
    pub fn reactor_polls(&self) -> u64 {
        self.reactor_polls
    }

    /// Tasks in the LRQ, `runnext` and the P's ring of yielded tasks at the
    /// time of the snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).build().unwrap();
    /// assert_eq!(rt.metrics().proc(0).local_queue_depth(), 0);
    /// ```
    pub fn local_queue_depth(&self) -> usize {
        self.local_queue_depth
    }
}
