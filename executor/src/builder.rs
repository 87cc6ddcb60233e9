//! `Builder`: settings of a runtime, checked before it starts.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, invalid, Config, Hooks};
use crate::runtime::Runtime;
use crate::sched::Shared;

/// Settings for a [`Runtime`].
///
/// Every setting left unset takes its default: Ps from `GMP_MAXPROCS`, else
/// the CPUs available; `max_threads` 10 000; `max_blocking_threads` 512.
///
/// # Examples
///
/// ```
/// let rt = gmp_executor::Runtime::builder()
///     .max_procs(2)
///     .max_threads(64)
///     .max_blocking_threads(8)
///     .thread_name("worker")
///     .build()?;
/// assert_eq!(rt.metrics().procs(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    procs: Option<usize>,
    max_threads: Option<usize>,
    max_blocking_threads: Option<usize>,
    thread_name: Option<String>,
    stack_size: Option<usize>,
    trace_path: Option<PathBuf>,
    sysmon: Option<bool>,
    keep_alive: Option<Duration>,
    hooks: Hooks,
    start_paused: bool,
}

impl Builder {
    /// A builder with every setting at its default.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Builder::new().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The number of Ps (Go's GOMAXPROCS): how many tasks run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_executor::Runtime::builder().max_procs(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(err.to_string().contains("max_procs"));
    /// ```
    pub fn max_procs(&mut self, n: usize) -> &mut Self {
        self.procs = Some(n);
        self
    }

    /// The most Ms (worker threads, blocked ones included) alive at once.
    /// At the cap no new M starts: handoffs wait, and gmp says so once on
    /// stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_executor::Runtime::builder().max_procs(4).max_threads(2).build().unwrap_err();
    /// assert!(err.to_string().contains("max_threads"));
    /// ```
    pub fn max_threads(&mut self, n: usize) -> &mut Self {
        self.max_threads = Some(n);
        self
    }

    /// The most threads of the `spawn_blocking` pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_blocking_threads(2).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.max_blocking_threads = Some(n);
        self
    }

    /// The prefix of the names of the runtime's threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().thread_name("app").build()?;
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().unwrap().to_owned()
    /// })).unwrap();
    /// assert!(name.starts_with("app"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = Some(name.into());
        self
    }

    /// The stack size of the runtime's threads, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().thread_stack_size(4 << 20).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Records an execution trace and writes it to `path` (Chrome trace-event
    /// JSON) when the runtime shuts down. `GMP_TRACE=<file>` does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join("gmp-doc-trace.json");
    /// let rt = gmp_executor::Runtime::builder().trace(&path).build()?;
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// drop(rt);
    /// assert!(std::fs::read_to_string(&path)?.contains("traceEvents"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.trace_path = Some(path.into());
        self
    }

    /// Turns sysmon off (it is on by default): no handoff of Ps from Ms
    /// blocked inside a poll, no time-slice preemption of `runnext` chains,
    /// no schedtrace. For measuring what sysmon costs, and for tests that
    /// need a deterministic order of tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).sysmon(false).build()?;
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sysmon(&mut self, enabled: bool) -> &mut Self {
        self.sysmon = Some(enabled);
        self
    }

    /// How long an idle thread waits for work before it exits (10 s by
    /// default): a blocking-pool thread, and an M parked without a P (the M
    /// blocked in the reactor stays).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_executor::Runtime::builder()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// Runs `f` first thing on every thread the runtime starts: each M and
    /// each blocking-pool thread (not sysmon). A panic in `f` is reported
    /// on stderr and the thread goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = gmp_executor::Runtime::builder()
    ///     .on_thread_start(move || {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// // A task runs on an M and a closure on a pool thread, each after its
    /// // thread's hook.
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// assert!(started.load(Ordering::SeqCst) >= 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.hooks.on_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` last thing on every thread of the runtime that exits: each
    /// M and each blocking-pool thread, at shutdown or when it retires idle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let s = stopped.clone();
    /// let rt = gmp_executor::Runtime::builder()
    ///     .on_thread_stop(move || {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// drop(rt);
    /// assert!(stopped.load(Ordering::SeqCst) >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.hooks.on_stop = Some(Arc::new(f));
        self
    }

    /// Gives the runtime a test clock that starts paused (tokio's
    /// `start_paused`): inside the runtime, `gmp::time` (sleep, timeout,
    /// interval, `now`) follows virtual time, which moves only by
    /// `gmp::time::advance`, by `resume`, or, when every P is idle, no
    /// blocking closure runs, `block_on` is waiting and timers are pending,
    /// by jumping to the earliest deadline. A test of a long timeout then
    /// takes no wall time. Off by default. Only timers created inside the
    /// runtime (in its tasks, its `block_on`, under its `EnterGuard`) follow
    /// the clock; one created elsewhere keeps real time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = gmp_executor::Runtime::builder().max_procs(1).start_paused(true).build()?;
    /// let wall = Instant::now();
    /// // The sleep is created inside the runtime, so it follows its clock.
    /// rt.block_on(async { gmp_reactor::time::sleep(Duration::from_secs(3600)).await });
    /// assert!(wall.elapsed() < Duration::from_secs(3600));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Checks the settings and starts the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput`, naming the setting, for `max_procs(0)`,
    /// `max_threads(0)`, `max_threads` below `max_procs`,
    /// `max_blocking_threads(0)`, a zero stack size or a bad `GMP_*`
    /// variable; the OS error if sysmon's thread cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_executor::Runtime::builder().max_blocking_threads(0).build().unwrap_err();
    /// assert!(err.to_string().contains("max_blocking_threads"));
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let config = self.config()?;
        let shared = Shared::new(config);
        if shared.config.sysmon {
            crate::sysmon::start(&shared)?;
        }
        crate::clock_driver::start(&shared)?;
        // M0: the runtime holds the reactor's driver guard, so one of its Ms
        // must be there to block in the reactor even before any task runs
        // (a `block_on` that only sleeps, gmp I/O used from other
        // executors). It finds no work and parks in the reactor.
        shared.start_idle(1);
        Ok(Runtime::from_shared(shared))
    }

    /// The validated settings.
    fn config(&self) -> io::Result<Config> {
        let procs = match self.procs {
            Some(0) => {
                return Err(invalid(
                    "max_procs(0) is invalid: a runtime needs at least one P".into(),
                ))
            }
            Some(n) => n,
            None => config::env_maxprocs()?.unwrap_or_else(config::available_procs),
        };
        let max_threads = self.max_threads.unwrap_or(config::DEFAULT_MAX_THREADS);
        if max_threads == 0 {
            return Err(invalid(
                "max_threads(0) is invalid: a runtime needs at least one thread".into(),
            ));
        }
        if max_threads < procs {
            return Err(invalid(format!(
                "max_threads({max_threads}) is below max_procs ({procs}): every P needs an M"
            )));
        }
        let max_blocking_threads = self
            .max_blocking_threads
            .unwrap_or(config::DEFAULT_MAX_BLOCKING_THREADS);
        if max_blocking_threads == 0 {
            return Err(invalid(
                "max_blocking_threads(0) is invalid: spawn_blocking needs at least one thread"
                    .into(),
            ));
        }
        if self.stack_size == Some(0) {
            return Err(invalid("thread_stack_size(0) is invalid".into()));
        }
        Ok(Config {
            procs,
            max_threads,
            max_blocking_threads,
            thread_name: self.thread_name.clone().unwrap_or_else(|| "gmp".into()),
            stack_size: self.stack_size,
            schedtrace: config::env_schedtrace()?,
            scheddetail: config::env_scheddetail()?,
            trace_path: self.trace_path.clone().or_else(config::env_trace),
            sysmon: self.sysmon.unwrap_or(true),
            keep_alive: self.keep_alive.unwrap_or(config::DEFAULT_KEEP_ALIVE),
            hooks: self.hooks.clone(),
            clock: self.start_paused.then(gmp_reactor::time::Clock::new_paused),
        })
    }
}

impl Runtime {
    /// A runtime with `GMP_MAXPROCS` Ps, or one per available CPU.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the variable if a `GMP_*` variable is invalid;
    /// the OS error if a thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to set the number of Ps and other settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gmp_executor::Runtime::builder().max_procs(4).thread_name("app").build()?;
    /// assert_eq!(rt.metrics().procs(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }
}
