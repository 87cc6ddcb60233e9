//! The global runtime: started on first use by `gmp::spawn` and friends on
//! a thread that is in no runtime, sized by `#[gmp::main(procs = N)]` or
//! `GMP_MAXPROCS`, and shut down when `#[gmp::main]` returns.

use std::future::Future;
use std::sync::OnceLock;

use crate::builder::Builder;
use crate::context;
use crate::join::JoinHandle;
use crate::runtime::{spawn_on, Handle, Runtime};

/// The global runtime, started on first use.
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// Ps asked for by `#[gmp::main(procs = N)]` before the global runtime starts.
static GLOBAL_PROCS: std::sync::Mutex<Option<usize>> = std::sync::Mutex::new(None);

/// Sets the number of Ps of the global runtime, if it has not started yet.
/// Returns `false` if it has (with another size).
///
/// # Examples
///
/// ```
/// // Before anything has used the global runtime, as `#[gmp::main(procs = 2)]` does:
/// assert!(gmp_executor::configure_global(2));
/// assert_eq!(gmp_executor::block_on(gmp_executor::spawn(async {
///     gmp_executor::Handle::current().metrics().procs()
/// })).unwrap(), 2);
/// assert!(!gmp_executor::configure_global(3));
/// ```
pub fn configure_global(procs: usize) -> bool {
    if let Ok(mut p) = GLOBAL_PROCS.lock() {
        *p = Some(procs);
    }
    match GLOBAL.get() {
        None => true,
        Some(rt) => rt.handle.shared.procs.len() == procs,
    }
}

/// The global runtime's handle.
///
/// # Panics
///
/// If it cannot start: a bad `GMP_*` variable (the message names it) or no
/// thread could be created.
pub(crate) fn global() -> &'static Handle {
    let rt = GLOBAL.get_or_init(|| {
        let mut builder = Builder::new();
        builder.thread_name("gmp-global");
        if let Some(procs) = GLOBAL_PROCS.lock().ok().and_then(|p| *p) {
            builder.max_procs(procs);
        }
        match builder.build() {
            Ok(rt) => rt,
            Err(err) => panic!("gmp: cannot start the global runtime: {err}"),
        }
    });
    &rt.handle
}

/// The number of Ps of the global runtime, if it has started.
pub(crate) fn global_procs() -> Option<usize> {
    GLOBAL.get().map(|rt| rt.handle.shared.procs.len())
}

/// Shuts the global runtime down, if it started (`#[gmp::main]` when `main`
/// returns): pending tasks' futures are dropped; polls in progress and
/// blocking closures still running are waited for.
pub(crate) fn shutdown_global() {
    if let Some(rt) = GLOBAL.get() {
        rt.handle.shared.shutdown(None);
    }
}

/// `gmp::spawn`: on the current runtime, else the global one.
pub(crate) fn spawn_current<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let spawned = context::with_current(|shared| match shared {
        Some(shared) => Ok(spawn_on(shared, future)),
        None => Err(future),
    });
    match spawned {
        Ok(handle) => handle,
        Err(future) => global().spawn(future),
    }
}

/// The runtime `spawn` and friends mean here: the current one, else the
/// global one.
pub(crate) fn current_or_global() -> Handle {
    match Handle::try_current() {
        Some(handle) => handle,
        None => global().clone(),
    }
}

/// Writes the global runtime's execution trace now, if one is being
/// recorded (the global runtime is never dropped; `#[gmp::main]` shuts it
/// down, which writes the trace, when `main` returns).
///
/// # Examples
///
/// ```
/// gmp_executor::block_on(async {});
/// gmp_executor::flush_global_trace(); // no GMP_TRACE set: nothing to write
/// ```
pub fn flush_global_trace() {
    if let Some(rt) = GLOBAL.get() {
        rt.handle.shared.trace.finish();
    }
}
