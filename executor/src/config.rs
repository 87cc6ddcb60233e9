//! Runtime settings: defaults, the `GMP_*` environment variables, validation.

use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default cap on Ms (Go's default `SetMaxThreads`).
pub(crate) const DEFAULT_MAX_THREADS: usize = 10_000;
/// Default cap on blocking-pool threads.
pub(crate) const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;
/// Default time an idle blocking-pool thread waits for work before exiting.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A hook run on a runtime's threads.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync + 'static>;

/// `Builder::on_thread_start` / `on_thread_stop`: run on every M and
/// blocking-pool thread as it starts and before it exits.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    /// Run first thing on each new thread.
    pub(crate) on_start: Option<Hook>,
    /// Run last thing on each thread that exits.
    pub(crate) on_stop: Option<Hook>,
}

impl Hooks {
    /// Runs the start hook, if any.
    pub(crate) fn thread_start(&self) {
        run_hook(self.on_start.as_ref(), "on_thread_start");
    }

    /// Runs the stop hook, if any.
    pub(crate) fn thread_stop(&self) {
        run_hook(self.on_stop.as_ref(), "on_thread_stop");
    }

    /// Runs `f` (an M's body) between the two hooks.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.thread_start();
        let out = f();
        self.thread_stop();
        out
    }
}

/// Runs `hook`; a panic in it is reported on stderr and goes no further (it
/// would kill a thread the scheduler counts on).
fn run_hook(hook: Option<&Hook>, name: &str) {
    if let Some(hook) = hook {
        if catch_unwind(AssertUnwindSafe(|| hook())).is_err() {
            eprintln!("gmp: the {name} hook panicked; the thread goes on");
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_thread_start", &self.on_start.is_some())
            .field("on_thread_stop", &self.on_stop.is_some())
            .finish()
    }
}

/// The settings a runtime is built with, validated.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Number of Ps.
    pub(crate) procs: usize,
    /// Cap on Ms.
    pub(crate) max_threads: usize,
    /// Cap on blocking-pool threads.
    pub(crate) max_blocking_threads: usize,
    /// Prefix of thread names.
    pub(crate) thread_name: String,
    /// Stack size of M and pool threads (`None`: std's default).
    pub(crate) stack_size: Option<usize>,
    /// `GMP_SCHEDTRACE`: print the SCHED line this often.
    pub(crate) schedtrace: Option<Duration>,
    /// `GMP_SCHEDDETAIL=1`: the detailed form.
    pub(crate) scheddetail: bool,
    /// `GMP_TRACE` or the builder: write an execution trace there at shutdown.
    pub(crate) trace_path: Option<PathBuf>,
    /// Whether sysmon runs.
    pub(crate) sysmon: bool,
    /// How long an idle blocking-pool thread waits for work before exiting.
    pub(crate) keep_alive: Duration,
    /// Run on every M and blocking-pool thread as it starts and stops.
    pub(crate) hooks: Hooks,
    /// The test clock (`Builder::start_paused(true)`): the runtime's virtual
    /// time, made current on its threads; `None` for real time.
    pub(crate) clock: Option<Arc<gmp_reactor::time::Clock>>,
}

/// An `InvalidInput` error.
pub(crate) fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Reads environment variable `name`; empty counts as unset.
fn var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => None,
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(v)) => Some(v.to_string_lossy().into_owned()),
    }
}

/// Parses `GMP_MAXPROCS`.
pub(crate) fn env_maxprocs() -> io::Result<Option<usize>> {
    let Some(v) = var("GMP_MAXPROCS") else {
        return Ok(None);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => Err(invalid(format!(
            "GMP_MAXPROCS={v:?} is not a number of processors (expected an integer >= 1)"
        ))),
    }
}

/// Parses `GMP_SCHEDTRACE`.
pub(crate) fn env_schedtrace() -> io::Result<Option<Duration>> {
    let Some(v) = var("GMP_SCHEDTRACE") else {
        return Ok(None);
    };
    match v.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(ms) => Ok(Some(Duration::from_millis(ms))),
        Err(_) => Err(invalid(format!(
            "GMP_SCHEDTRACE={v:?} is not a period in milliseconds (expected an integer >= 0)"
        ))),
    }
}

/// Parses `GMP_SCHEDDETAIL`.
pub(crate) fn env_scheddetail() -> io::Result<bool> {
    match var("GMP_SCHEDDETAIL").as_deref().map(str::trim) {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(v) => Err(invalid(format!(
            "GMP_SCHEDDETAIL={v:?} is not valid (expected 0 or 1)"
        ))),
    }
}

/// Reads `GMP_TRACE`.
pub(crate) fn env_trace() -> Option<PathBuf> {
    var("GMP_TRACE").map(PathBuf::from)
}

/// The number of CPUs available to this process.
pub(crate) fn available_procs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The settings of a runtime built by the unit tests and loom models: `procs`
/// Ps, at most `max_threads` Ms, no sysmon, no trace, real time.
#[cfg(test)]
pub(crate) fn test_config(procs: usize, max_threads: usize) -> Config {
    Config {
        procs,
        max_threads,
        max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
        thread_name: "test".into(),
        stack_size: None,
        schedtrace: None,
        scheddetail: false,
        trace_path: None,
        sysmon: false,
        keep_alive: DEFAULT_KEEP_ALIVE,
        hooks: Hooks::default(),
        clock: None,
    }
}
