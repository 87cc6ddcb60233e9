//! Whole-process scheduler benchmarks: one workload on one runtime per
//! process, one JSON line on stdout.
//!
//! ```text
//! whole --runtime gmp|tokio|smol --workload NAME [--procs N] [--iters N] [--before gmp|tokio]
//! whole-mimalloc ...        # the same with mimalloc as the global allocator
//! ```
//!
//! A fresh process builds the runtime (timed: `startup_ms`), runs the
//! workload `iters` times and prints, for a timed workload,
//!
//! ```text
//! {"runtime":"gmp","alloc":"glibc","workload":"ping_pong","unit":"ns/round",
//!  "value":...,"iters":50,"first":...,"mean":...,"p99":...,"min":...,"max":...,
//!  "cpu":...,"switches":...,"procs":2,"startup_ms":...}
//! ```
//!
//! `value` is the median over the process's iterations of the wall time per
//! unit, `first` the first iteration's (cold: fresh threads, an allocator that
//! has not been touched yet), `mean` the mean over the iterations (what
//! criterion's estimate follows: one descheduled iteration moves it), `p99`
//! the 99th percentile of the iterations,
//! `min`/`max` the spread, `cpu` the CPU time of
//! all threads per unit over all iterations (`/proc/self/task/*/schedstat`),
//! `switches` the context switches of all threads per iteration (each one a
//! thread that parked and was woken, or was preempted: on a loaded machine
//! each costs a wait for a CPU).
//! `parked` prints VmHWM growth per task as `value` (and VmRSS growth as
//! `rss`); the `*_wakeups` workloads print context switches per second of the
//! runtime's threads as `value`, of gmp's sysmon thread as `monitor`, and
//! sysmon's voluntary switches alone (one per sleep: its wake-ups) as
//! `monitor_voluntary`, and gmp's hand-offs during the window as `handoffs`.
//!
//! `--before R` first runs the same iterations on runtime `R` and drops it,
//! as a criterion group does (gmp, then tokio, in one process): it tells
//! what a process's history costs the runtime measured after it.
//!
//! `benches/whole.py` runs the processes, `benches/go/` is the Go twin
//! printing the same line.

mod proc_stats;
mod rt;
mod workload;

pub use workload::Workload;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rt::{Gmp, Rt, Smol, Tokio};

/// The command line of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `gmp`, `tokio` or `smol`.
    pub runtime: String,
    /// The workload.
    pub workload: Workload,
    /// Worker threads (Ps).
    pub procs: usize,
    /// Iterations; `None` for the workload's default.
    pub iters: Option<usize>,
    /// A runtime (`gmp` or `tokio`) that runs the workload first, in the same
    /// process, and is dropped before the measured one is built.
    pub before: Option<String>,
}

/// The runtimes `--runtime` accepts.
pub const RUNTIMES: [&str; 3] = ["gmp", "tokio", "smol"];

impl Args {
    /// Parses `--runtime R --workload W [--procs N] [--iters N] [--before R]`.
    ///
    /// ```
    /// let args = gmp_bench_whole::Args::parse(
    ///     ["--runtime", "gmp", "--workload", "skynet", "--procs", "4"].map(String::from),
    /// )
    /// .unwrap();
    /// assert_eq!((args.procs, args.iters), (4, None));
    /// assert!(gmp_bench_whole::Args::parse(["--procs", "0"].map(String::from)).is_err());
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let (mut runtime, mut workload, mut procs, mut iters, mut before) =
            (None, None, 2, None, None);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{flag} must be a positive integer, not {value:?}"))
            };
            match flag.as_str() {
                "--runtime" if RUNTIMES.contains(&value.as_str()) => runtime = Some(value),
                "--runtime" => return Err(format!("--runtime {value:?}: one of {RUNTIMES:?}")),
                "--workload" => {
                    workload = Some(Workload::from_name(&value).ok_or_else(|| {
                        let names: Vec<_> = workload::ALL.iter().map(|w| w.name()).collect();
                        format!("--workload {value:?}: one of {names:?}")
                    })?)
                }
                "--procs" => procs = number()?,
                "--iters" => iters = Some(number()?),
                "--before" if ["gmp", "tokio"].contains(&value.as_str()) => before = Some(value),
                "--before" => {
                    return Err(format!(
                        "--before {value:?}: gmp or tokio (smol's threads cannot be stopped)"
                    ))
                }
                _ => return Err(format!("unknown flag {flag:?}")),
            }
        }
        Ok(Args {
            runtime: runtime.ok_or("--runtime is required")?,
            workload: workload.ok_or("--workload is required")?,
            procs,
            iters,
            before,
        })
    }
}

/// The binaries' `main`: parses the command line, runs, prints the line.
pub fn main_with(alloc: &str) {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("whole: {err}");
            eprintln!(
                "usage: whole --runtime gmp|tokio|smol --workload NAME [--procs N] [--iters N] \
                 [--before gmp|tokio]"
            );
            std::process::exit(2);
        }
    };
    match args.before.as_deref() {
        Some("gmp") => before::<Gmp>(&args),
        Some(_) => before::<Tokio>(&args),
        None => {}
    }
    let line = match args.runtime.as_str() {
        "gmp" => run::<Gmp>(&args, alloc),
        "tokio" => run::<Tokio>(&args, alloc),
        _ => run::<Smol>(&args, alloc),
    };
    println!("{line}");
}

/// `--before`: runs the workload's iterations on runtime `B`, then drops it.
fn before<B: Rt>(args: &Args) {
    let rt = B::with_workers(args.procs);
    let w = args.workload;
    if w.is_timed() {
        for _ in 0..args.iters.unwrap_or(w.default_iters()) {
            workload::run_once(w, &rt);
        }
    }
}

/// Builds runtime `R`, runs the workload, returns the JSON line.
fn run<R: Rt>(args: &Args, alloc: &str) -> String {
    let w = args.workload;
    let start = Instant::now();
    let rt = R::with_workers(args.procs);
    let startup = start.elapsed();
    let mut line = format!(
        "{{\"runtime\":\"{}\",\"alloc\":\"{alloc}\",\"workload\":\"{}\",\"unit\":\"{}\"",
        R::NAME,
        w.name(),
        w.unit()
    );
    match w {
        Workload::Parked => {
            let (hwm, rss, took) = workload::parked(&rt, workload::PARKED);
            let n = workload::PARKED as f64;
            let _ = write!(
                line,
                ",\"value\":{:.1},\"rss\":{:.1},\"tasks\":{},\"park_ms\":{:.1}",
                hwm as f64 / n,
                rss as f64 / n,
                workload::PARKED,
                ms(took)
            );
        }
        Workload::IdleWakeups | Workload::BusyWakeups => {
            let counted = workload::wakeups(&rt, args.procs, w == Workload::BusyWakeups);
            let (monitor, voluntary) = match counted.monitor {
                Some((m, v)) => (format!("{m:.1}"), format!("{v:.1}")),
                None => ("null".into(), "null".into()),
            };
            let handoffs = counted.handoffs.map_or("null".into(), |h| h.to_string());
            let _ = write!(
                line,
                ",\"value\":{:.1},\"monitor\":{monitor},\"monitor_voluntary\":{voluntary},\
                 \"handoffs\":{handoffs}",
                counted.all
            );
        }
        _ => timed(&mut line, &rt, w, args.iters.unwrap_or(w.default_iters())),
    }
    let before = args
        .before
        .as_ref()
        .map_or("null".into(), |b| format!("\"{b}\""));
    let _ = write!(
        line,
        ",\"procs\":{},\"startup_ms\":{:.3},\"before\":{before}}}",
        args.procs,
        ms(startup)
    );
    line
}

/// Runs a timed workload `iters` times and appends its fields to `line`.
fn timed<R: Rt>(line: &mut String, rt: &R, w: Workload, iters: usize) {
    let switches0 = proc_stats::switches(0, None).all;
    let cpu0 = proc_stats::cpu_ns();
    let mut times: Vec<f64> = (0..iters)
        .map(|_| {
            let start = Instant::now();
            workload::run_once(w, rt);
            start.elapsed().as_nanos() as f64 / w.divisor()
        })
        .collect();
    let cpu = proc_stats::cpu_ns().saturating_sub(cpu0) as f64 / w.divisor() / iters as f64;
    let switches =
        proc_stats::switches(0, None).all.saturating_sub(switches0) as f64 / iters as f64;
    let first = times[0];
    let mean = times.iter().sum::<f64>() / iters as f64;
    times.sort_by(f64::total_cmp);
    let _ = write!(
        line,
        ",\"value\":{:.2},\"iters\":{iters},\"first\":{first:.2},\"mean\":{mean:.2},\
         \"p99\":{:.2},\"min\":{:.2},\"max\":{:.2},\"cpu\":{cpu:.2},\"switches\":{switches:.2}",
        median(&times),
        times[(times.len() - 1) * 99 / 100],
        times[0],
        times[times.len() - 1]
    );
}

/// The median of sorted, non-empty `values`.
fn median(values: &[f64]) -> f64 {
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        Args::parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parse_rejects_bad_values_naming_the_flag() {
        let err = args(&["--runtime", "go", "--workload", "skynet"]).unwrap_err();
        assert!(err.contains("--runtime"), "{err}");
        let err = args(&["--runtime", "gmp", "--workload", "nope"]).unwrap_err();
        assert!(
            err.contains("--workload") && err.contains("skynet"),
            "{err}"
        );
        let err = args(&["--runtime", "gmp", "--workload", "skynet", "--iters", "x"]).unwrap_err();
        assert!(err.contains("--iters"), "{err}");
        assert!(args(&["--runtime", "gmp"])
            .unwrap_err()
            .contains("--workload"));
    }

    #[test]
    fn every_workload_name_round_trips() {
        for w in workload::ALL {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    /// gmp runs a cheap timed workload and prints a line that names it,
    /// with a positive value.
    #[test]
    fn a_short_run_prints_a_json_line() {
        for workload in ["chained_spawn", "chained_spawn_task"] {
            short_run(workload);
        }
    }

    fn short_run(workload: &str) {
        let a = args(&["--runtime", "gmp", "--workload", workload, "--iters", "2"]);
        let line = run::<Gmp>(&a.unwrap(), "glibc");
        assert!(
            line.starts_with("{\"runtime\":\"gmp\",\"alloc\":\"glibc\""),
            "{line}"
        );
        assert!(
            line.contains(&format!("\"workload\":\"{workload}\""))
                && line.contains("\"iters\":2")
                && line.ends_with('}'),
            "{line}"
        );
        let value: f64 = line
            .split("\"value\":")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        assert!(value > 0.0, "{line}");
    }
}
