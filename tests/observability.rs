//! Observability: the `SCHED` line of `GMP_SCHEDTRACE`, its detailed form
//! (`GMP_SCHEDDETAIL=1`), the errors for bad values, the per-P metrics and
//! the execution trace (`Builder::trace` / `GMP_TRACE`).
//!
//! The environment variables apply to every runtime of a process, so the
//! tests that set them run their workload in a child process (the harness
//! in `executor/tests/support/child.rs`) and read its output. So do the
//! tests whose runtimes wait on timers: the reactor is one per process, and
//! a runtime whose Ms all parked while another runtime's M polled it can be
//! left with nobody polling when that runtime goes away. The in-process
//! tests below run workloads without timers or I/O.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp::{Metrics, Runtime};
use gmp_trace::{End, EventKind, Trace};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[path = "../executor/tests/support/child.rs"]
mod child;

fn runtime(procs: usize) -> Runtime {
    Runtime::builder().max_procs(procs).build().unwrap()
}

/// Spins the CPU for `d` (a task that computes, not one that waits).
fn spin(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// A path in the temp dir unique to this process and `name`.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gmp-observability-{}-{name}", std::process::id()))
}

fn sum(m: &Metrics, f: impl Fn(&gmp::ProcMetrics) -> u64) -> u64 {
    (0..m.procs()).map(|i| f(&m.proc(i))).sum()
}

/// Parses `key=<integer>` and returns the integer.
fn field(token: Option<&str>, key: &str, line: &str) -> i64 {
    let token = token.unwrap_or_else(|| panic!("{key}= is missing in {line:?}"));
    let value = token
        .strip_prefix(key)
        .and_then(|t| t.strip_prefix('='))
        .unwrap_or_else(|| panic!("expected {key}=<n>, found {token:?} in {line:?}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value:?} is not an integer in {line:?}"))
}

/// Parses `key=0` or `key=1`.
fn flag(token: Option<&str>, key: &str, line: &str) -> bool {
    match field(token, key, line) {
        0 => false,
        1 => true,
        n => panic!("{key}={n} must be 0 or 1 in {line:?}"),
    }
}

/// The header fields shared by both forms of the `SCHED` line.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    uptime_ms: u64,
    gomaxprocs: usize,
    idleprocs: usize,
    threads: usize,
    spinningthreads: usize,
    needspinning: bool,
    idlethreads: usize,
    runqueue: usize,
}

impl Header {
    /// Reads the header from `tokens` (whitespace-separated), field by field
    /// in Go's order.
    fn parse<'a>(tokens: &mut impl Iterator<Item = &'a str>, line: &str) -> Header {
        assert_eq!(tokens.next(), Some("SCHED"), "{line:?}");
        let uptime = tokens.next().unwrap_or_default();
        let uptime_ms = uptime
            .strip_suffix("ms:")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("expected <n>ms:, found {uptime:?} in {line:?}"));
        let mut next = |key| field(tokens.next(), key, line);
        let header = Header {
            uptime_ms,
            gomaxprocs: next("gomaxprocs") as usize,
            idleprocs: next("idleprocs") as usize,
            threads: next("threads") as usize,
            spinningthreads: next("spinningthreads") as usize,
            needspinning: match next("needspinning") {
                0 => false,
                1 => true,
                n => panic!("needspinning={n} must be 0 or 1 in {line:?}"),
            },
            idlethreads: next("idlethreads") as usize,
            runqueue: next("runqueue") as usize,
        };
        assert!(
            header.idleprocs <= header.gomaxprocs,
            "more idle Ps than Ps: {line:?}"
        );
        assert!(
            header.idlethreads <= header.threads,
            "more idle Ms than Ms: {line:?}"
        );
        assert!(
            header.spinningthreads <= header.threads,
            "more spinning Ms than Ms: {line:?}"
        );
        header
    }

    /// The header as Go prints it.
    fn render(&self) -> String {
        format!(
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={}",
            self.uptime_ms,
            self.gomaxprocs,
            self.idleprocs,
            self.threads,
            self.spinningthreads,
            u8::from(self.needspinning),
            self.idlethreads,
            self.runqueue
        )
    }
}

/// One short `SCHED` line: the header, `[ <LRQ lengths> ]` and
/// `schedticks=[ <ticks> ]`, one number per P.
#[derive(Debug)]
struct SchedLine {
    header: Header,
    runqueues: Vec<usize>,
    schedticks: Vec<u64>,
}

impl SchedLine {
    fn parse(line: &str) -> SchedLine {
        let mut tokens = line.split(' ');
        let header = Header::parse(&mut tokens, line);
        let procs = header.gomaxprocs;
        assert_eq!(tokens.next(), Some("["), "the LRQ list opens: {line:?}");
        let runqueues: Vec<usize> = (0..procs)
            .map(|i| {
                let t = tokens.next().unwrap_or_default();
                t.parse()
                    .unwrap_or_else(|_| panic!("LRQ length of P{i} is {t:?} in {line:?}"))
            })
            .collect();
        assert_eq!(tokens.next(), Some("]"), "one LRQ length per P: {line:?}");
        assert_eq!(
            tokens.next(),
            Some("schedticks=["),
            "schedticks follow: {line:?}"
        );
        let schedticks: Vec<u64> = (0..procs)
            .map(|i| {
                let t = tokens.next().unwrap_or_default();
                t.parse()
                    .unwrap_or_else(|_| panic!("schedtick of P{i} is {t:?} in {line:?}"))
            })
            .collect();
        assert_eq!(tokens.next(), Some("]"), "one schedtick per P: {line:?}");
        assert_eq!(tokens.next(), None, "nothing after schedticks: {line:?}");
        let parsed = SchedLine {
            header,
            runqueues,
            schedticks,
        };
        // Splitting on single spaces and printing back catches any spacing
        // that differs from Go's.
        assert_eq!(parsed.render(), line, "the line is not in Go's format");
        parsed
    }

    fn render(&self) -> String {
        let list = |v: Vec<String>| v.join(" ");
        format!(
            "{} [ {} ] schedticks=[ {} ]",
            self.header.render(),
            list(self.runqueues.iter().map(ToString::to_string).collect()),
            list(self.schedticks.iter().map(ToString::to_string).collect())
        )
    }
}

/// A `  P<i>: ...` line of the detailed form.
#[derive(Debug)]
struct ProcLine {
    id: usize,
}

impl ProcLine {
    fn parse(line: &str) -> ProcLine {
        let rest = line
            .strip_prefix("  P")
            .unwrap_or_else(|| panic!("not a P line: {line:?}"));
        let mut tokens = rest.split(' ');
        let id = tokens
            .next()
            .and_then(|t| t.strip_suffix(':'))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("expected P<i>: in {line:?}"));
        let status = tokens.next().unwrap_or_default();
        assert!(
            matches!(status, "status=idle" | "status=running" | "status=polling"),
            "unknown P status {status:?} in {line:?}"
        );
        let schedtick = field(tokens.next(), "schedtick", line);
        let m = field(tokens.next(), "m", line);
        let runqsize = field(tokens.next(), "runqsize", line);
        flag(tokens.next(), "runnext", line);
        let handoffs = field(tokens.next(), "handoffs", line);
        assert_eq!(tokens.next(), None, "nothing after handoffs: {line:?}");
        assert!(schedtick >= 0 && runqsize >= 0 && handoffs >= 0, "{line:?}");
        assert!(runqsize <= 256, "an LRQ holds 256 tasks at most: {line:?}");
        assert!(m >= -1, "m is an M's id or -1: {line:?}");
        if status == "status=idle" {
            assert_eq!(m, -1, "an idle P has no M: {line:?}");
        }
        ProcLine { id }
    }
}

/// A `  M<id>: ...` line of the detailed form.
#[derive(Debug)]
struct MachineLine {
    id: usize,
}

impl MachineLine {
    fn parse(line: &str, procs: usize) -> MachineLine {
        let rest = line
            .strip_prefix("  M")
            .unwrap_or_else(|| panic!("not an M line: {line:?}"));
        let mut tokens = rest.split(' ');
        let id = tokens
            .next()
            .and_then(|t| t.strip_suffix(':'))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("expected M<id>: in {line:?}"));
        let p = field(tokens.next(), "p", line);
        assert!(
            p == -1 || (0..procs as i64).contains(&p),
            "p must be a P's index or -1: {line:?}"
        );
        let spinning = flag(tokens.next(), "spinning", line);
        let blocked = flag(tokens.next(), "blocked", line);
        flag(tokens.next(), "inpoll", line);
        assert_eq!(tokens.next(), None, "nothing after inpoll: {line:?}");
        assert!(
            !(spinning && blocked),
            "an M blocked in the reactor is not spinning: {line:?}"
        );
        MachineLine { id }
    }
}

/// A small mixed workload for ~`d`: computation, yields, spawns and sleeps
/// on `procs` Ps.
fn workload(procs: usize, d: Duration) {
    let rt = runtime(procs);
    let done = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let start = Instant::now();
        while start.elapsed() < d {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let done = done.clone();
                    gmp::spawn(async move {
                        spin(Duration::from_micros(200));
                        gmp::yield_now().await;
                        if i % 2 == 0 {
                            gmp::time::sleep(Duration::from_millis(1)).await;
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    });
    assert!(done.load(Ordering::Relaxed) > 0);
}

// ---------------------------------------------------------------------------
// GMP_SCHEDTRACE / GMP_SCHEDDETAIL
// ---------------------------------------------------------------------------

/// The child's side of the two tests below: the workload, 300 ms on 2 Ps.
/// That long: a `GMP_SCHEDTRACE=10` child prints a line about every
/// 10 ms, so "at least two" holds with a wide margin even when a loaded
/// machine keeps sysmon's thread off the CPU for a while.
fn small_workload() {
    workload(2, Duration::from_millis(300));
}

#[test]
fn schedtrace_prints_gos_sched_line_field_by_field() {
    let out = child::run(
        "schedtrace_prints_gos_sched_line_field_by_field",
        &[("GMP_SCHEDTRACE", "10")],
        small_workload,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed: {stderr}");
    let lines: Vec<SchedLine> = stderr
        .lines()
        .filter(|l| l.starts_with("SCHED "))
        .map(SchedLine::parse)
        .collect();
    assert!(
        lines.len() >= 2,
        "300 ms with GMP_SCHEDTRACE=10 must print several SCHED lines, got:\n{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("  P")),
        "the short form has no per-P lines:\n{stderr}"
    );
    for line in &lines {
        assert_eq!(line.header.gomaxprocs, 2, "gomaxprocs is max_procs");
        assert!(
            line.header.uptime_ms >= 10,
            "the first line comes after 10 ms"
        );
    }
    for pair in lines.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            b.header.uptime_ms > a.header.uptime_ms,
            "uptime goes forward: {} then {}",
            a.header.uptime_ms,
            b.header.uptime_ms
        );
        for p in 0..2 {
            assert!(
                b.schedticks[p] >= a.schedticks[p],
                "P{p}'s schedtick went back from {} to {}",
                a.schedticks[p],
                b.schedticks[p]
            );
        }
    }
    let last = lines.last().unwrap();
    assert!(
        last.schedticks.iter().sum::<u64>() > 0,
        "the Ps ran tasks, so schedticks count them: {}",
        last.render()
    );
    assert!(last.header.threads >= 1, "an M ran the tasks");
}

#[test]
fn scheddetail_prints_a_line_per_p_and_per_m() {
    let out = child::run(
        "scheddetail_prints_a_line_per_p_and_per_m",
        &[("GMP_SCHEDTRACE", "10"), ("GMP_SCHEDDETAIL", "1")],
        small_workload,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed: {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("SCHED "))
        .filter(|l| l.starts_with("SCHED ") || l.starts_with("  "))
        .collect();
    let mut blocks = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let mut tokens = line.split(' ');
        let header = Header::parse(&mut tokens, line);
        assert_eq!(
            tokens.next(),
            None,
            "the detailed header ends at runqueue, without the [ ] lists: {line:?}"
        );
        assert_eq!(header.render(), line, "the header is not in Go's format");
        assert_eq!(header.gomaxprocs, 2);
        i += 1;
        for p in 0..header.gomaxprocs {
            let line = lines.get(i).copied().unwrap_or_default();
            let proc = ProcLine::parse(line);
            assert_eq!(proc.id, p, "P lines come in order: {line:?}");
            i += 1;
        }
        let mut ms = Vec::new();
        while let Some(line) = lines.get(i).filter(|l| l.starts_with("  M")) {
            ms.push(MachineLine::parse(line, header.gomaxprocs).id);
            i += 1;
        }
        assert!(!ms.is_empty(), "at least one M line after the P lines");
        let mut sorted = ms.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ms.len(), "each M has one line: {ms:?}");
        blocks += 1;
    }
    assert!(
        blocks >= 2,
        "300 ms with GMP_SCHEDTRACE=10 must print several blocks, got:\n{stderr}"
    );
}

/// What `Runtime::new()` returns in a child process with `var=value`: `ok`,
/// or the error's kind and message.
fn runtime_new_in_a_child(var: &str, value: &str) -> String {
    let out = child::run(
        "bad_schedtrace_and_scheddetail_values_are_errors_naming_the_variable",
        &[(var, value)],
        || match Runtime::new() {
            Ok(_) => println!("RESULT: ok"),
            Err(e) => println!("RESULT: {:?}: {e}", e.kind()),
        },
    );
    // libtest's "test <name> ... " may precede it on the line.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split_once("RESULT: ").map(|(_, r)| r.to_string()))
        .unwrap_or_default()
}

#[test]
fn bad_schedtrace_and_scheddetail_values_are_errors_naming_the_variable() {
    for (var, value) in [
        ("GMP_SCHEDTRACE", "soon"),
        ("GMP_SCHEDTRACE", "-5"),
        ("GMP_SCHEDTRACE", "1.5"),
        ("GMP_SCHEDDETAIL", "yes"),
        ("GMP_SCHEDDETAIL", "2"),
    ] {
        let result = runtime_new_in_a_child(var, value);
        assert!(
            result.contains("InvalidInput") && result.contains(var) && result.contains(value),
            "{var}={value} must make Runtime::new() an InvalidInput error naming it, got {result:?}"
        );
    }
    for (var, value) in [("GMP_SCHEDTRACE", "0"), ("GMP_SCHEDDETAIL", "0")] {
        let result = runtime_new_in_a_child(var, value);
        assert_eq!(result, "ok", "{var}={value} is valid (off)");
    }
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

#[test]
fn polls_count_every_poll_of_every_task() {
    let rt = runtime(2);
    let tasks = 500;
    rt.block_on(async {
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                gmp::spawn(async {
                    gmp::yield_now().await;
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let m = rt.metrics();
    let polls = sum(&m, |p| p.polls());
    // Each task is polled at least twice: before and after its yield.
    assert!(
        polls >= 2 * tasks,
        "{tasks} tasks that yield once each need >= {} polls, the Ps counted {polls}",
        2 * tasks
    );
    assert!(m.idle_threads() <= m.threads());
    assert!(m.spinning_threads() <= m.threads());
}

/// One task fills its own P's LRQ (128 tasks: no spill) with computations;
/// the other P has nothing but what it steals. Each computation goes on
/// until the runtime has counted a steal, so the steal comes however late a
/// loaded machine runs the second M; a runtime that never steals ends them
/// at the 60 s give-up, and the caller's assertions fail.
fn computations_until_a_steal(rt: &Runtime) {
    let give_up = Instant::now() + Duration::from_secs(60);
    rt.block_on(rt.spawn(async move {
        let hs: Vec<_> = (0..128)
            .map(|_| {
                gmp::spawn(async move {
                    spin(Duration::from_micros(300));
                    while sum(&gmp::Handle::current().metrics(), |p| p.steals()) == 0
                        && Instant::now() < give_up
                    {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
}

#[test]
fn an_idle_proc_steals_from_a_busy_one() {
    let rt = runtime(2);
    computations_until_a_steal(&rt);
    let m = rt.metrics();
    let (steals, stolen) = (sum(&m, |p| p.steals()), sum(&m, |p| p.stolen()));
    assert!(
        steals > 0,
        "one P with 128 half-millisecond tasks and one idle P: the idle P must steal"
    );
    for i in 0..m.procs() {
        let p = m.proc(i);
        assert!(
            p.stolen() >= p.steals(),
            "P{i}: a steal that got work takes at least one task ({} steals, {} stolen)",
            p.steals(),
            p.stolen()
        );
    }
    assert!(stolen >= steals);
}

/// One P and no sysmon: nothing but the spawning poll touches the LRQ (a
/// P taken from that poll, when a loaded machine stalls it for 10 ms,
/// would drain the LRQ on another M and send the spawns to the GRQ).
#[test]
fn a_full_lrq_spills_to_the_grq() {
    let rt = Runtime::builder()
        .max_procs(1)
        .sysmon(false)
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async {
        // 1,000 spawns without yielding: the 256-slot LRQ overflows.
        let hs: Vec<_> = (0..1000).map(|i| gmp::spawn(async move { i })).collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    let spills = rt.metrics().proc(0).spills();
    assert!(
        spills >= 1,
        "1,000 tasks spawned from one poll overflow a 256-slot LRQ, yet spills = 0"
    );
}

#[test]
fn block_in_place_counts_a_handoff() {
    let rt = runtime(1);
    rt.block_on(
        rt.spawn(async { gmp::block_in_place(|| std::thread::sleep(Duration::from_millis(1))) }),
    )
    .unwrap();
    assert!(
        rt.metrics().proc(0).handoffs() >= 1,
        "block_in_place hands its P to another M"
    );
}

// ---------------------------------------------------------------------------
// The execution trace
// ---------------------------------------------------------------------------

/// Runs `f` on a runtime of `procs` Ps (with sysmon or without) that
/// records a trace, drops the runtime (which writes the file) and parses
/// it.
fn traced(name: &str, procs: usize, sysmon: bool, f: impl FnOnce(&Runtime)) -> Trace {
    let path = temp_path(name);
    let _ = std::fs::remove_file(&path);
    let rt = Runtime::builder()
        .max_procs(procs)
        .sysmon(sysmon)
        .trace(&path)
        .build()
        .unwrap();
    f(&rt);
    drop(rt);
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the runtime did not write its trace at shutdown: {e}"));
    let _ = std::fs::remove_file(&path);
    gmp_trace::parse(&json).unwrap_or_else(|e| panic!("the trace does not parse: {e}"))
}

/// Counts the events that match `f`.
fn count(trace: &Trace, f: impl Fn(&EventKind) -> bool) -> usize {
    trace.events.iter().filter(|e| f(&e.kind)).count()
}

/// The workload of the traces read by the two tests below: tasks that
/// yield, sleep and finish on 2 Ps, then 20 ms with nothing to run.
///
/// In a child process of its own: the reactor is one per process, and a
/// runtime whose timers wait in it while another runtime's M polls it can be
/// left with nobody polling (see docs/observability.md).
fn traced_small_workload() {
    let rt = Runtime::new().unwrap(); // GMP_MAXPROCS=2, GMP_TRACE=<file>
    rt.block_on(rt.spawn(async {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                gmp::spawn(async {
                    gmp::yield_now().await; // ends a poll as "yield"
                    gmp::time::sleep(Duration::from_millis(2)).await; // "blocked"
                }) // and the last poll: "done"
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    // Nothing to run: one M waits in the reactor, the other parks.
    rt.block_on(gmp::time::sleep(Duration::from_millis(20)));
    // Dropping the runtime writes the trace.
}

/// Runs `traced_small_workload` in a child process of `test` with
/// `GMP_TRACE` and parses the file.
fn child_trace(test: &str) -> Trace {
    let path = temp_path(&format!("{test}.json"));
    let _ = std::fs::remove_file(&path);
    let out = child::run(
        test,
        &[("GMP_MAXPROCS", "2"), ("GMP_TRACE", path.to_str().unwrap())],
        traced_small_workload,
    );
    assert!(
        out.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("GMP_TRACE=<file>: no file once the runtime was dropped: {e}"));
    let _ = std::fs::remove_file(&path);
    gmp_trace::parse(&json).unwrap_or_else(|e| panic!("the trace does not parse: {e}"))
}

#[test]
fn the_trace_has_a_lane_per_p_and_per_m_and_task_spans_of_each_end() {
    let trace = child_trace("the_trace_has_a_lane_per_p_and_per_m_and_task_spans_of_each_end");
    assert_eq!(trace.dropped_events, 0, "a small workload fills no ring");
    for lane in ["P0", "P1"] {
        assert!(
            trace
                .lanes
                .iter()
                .any(|l| l.pid == gmp_trace::PID_PROCS && l.name == lane),
            "a lane per P: {lane} is missing from {:?}",
            trace.lanes
        );
    }
    assert!(
        trace.lanes.iter().any(|l| l.pid == gmp_trace::PID_MACHINES),
        "a lane per M: none in {:?}",
        trace.lanes
    );
    for end in [End::Yield, End::Blocked, End::Done] {
        assert!(
            count(
                &trace,
                |k| matches!(k, EventKind::Run { end: e, .. } if *e == end)
            ) > 0,
            "no task span ended as {end:?}"
        );
    }
    assert!(
        count(&trace, |k| matches!(k, EventKind::Create { task: Some(_) })) >= 5,
        "the spawner and its 4 tasks were created"
    );
    assert!(
        count(&trace, |k| matches!(k, EventKind::Wake { task: Some(_) })) >= 4,
        "each sleeper was woken by its timer"
    );
    assert_eq!(
        count(&trace, |k| matches!(k, EventKind::Other { .. })),
        0,
        "every event the runtime writes is one the reader knows"
    );
}

/// A task woken by a non-blocking reactor poll of a busy M (the M runs a
/// yielder, so it never blocks in the reactor; its own look at the reactor
/// before the yielded ring finds the read readiness) has its wake in the
/// trace: the schedule function's branch for such wakes (the M is
/// injecting) recorded none. In a child process: the reactor is one per
/// process.
#[test]
fn a_task_woken_by_a_busy_ms_reactor_poll_has_its_wake_in_the_trace() {
    let test = "a_task_woken_by_a_busy_ms_reactor_poll_has_its_wake_in_the_trace";
    let path = temp_path(&format!("{test}.json"));
    let _ = std::fs::remove_file(&path);
    let id_path = temp_path(&format!("{test}.id"));
    let out = child::run(
        test,
        &[
            ("GMP_MAXPROCS", "1"),
            ("GMP_TRACE", path.to_str().unwrap()),
            ("OBSERVABILITY_ID_FILE", id_path.to_str().unwrap()),
        ],
        || {
            let rt = Runtime::new().unwrap();
            // The main thread only sleeps: a `block_on` would wait in the
            // reactor and take the readiness itself.
            let found = Arc::new(AtomicU64::new(0));
            let found2 = found.clone();
            drop(rt.spawn(async move {
                let (mut ours, mut theirs) = gmp::net::UnixStream::pair().unwrap();
                let parked = Arc::new(AtomicBool::new(false));
                let parked2 = parked.clone();
                let reader = gmp::spawn(async move {
                    let mut byte = [0u8; 1];
                    let mut read = futures::AsyncReadExt::read_exact(&mut theirs, &mut byte);
                    // Says when a poll of the read returned `Pending`.
                    std::future::poll_fn(|cx| {
                        let polled = Pin::new(&mut read).poll(cx);
                        if polled.is_pending() {
                            parked2.store(true, Ordering::SeqCst);
                        }
                        polled
                    })
                    .await
                    .unwrap();
                    gmp::task::id()
                });
                // Let the reader park (however late it runs), then keep the
                // only P busy while the byte arrives.
                let give_up = Instant::now() + Duration::from_secs(30);
                while !parked.load(Ordering::SeqCst) {
                    assert!(Instant::now() < give_up, "the reader never parked");
                    gmp::yield_now().await;
                }
                futures::AsyncWriteExt::write_all(&mut ours, b"x")
                    .await
                    .unwrap();
                while !reader.is_finished() {
                    gmp::yield_now().await;
                }
                found2.store(reader.await.unwrap().as_u64(), Ordering::SeqCst);
            }));
            let deadline = Instant::now() + Duration::from_secs(30);
            while found.load(Ordering::SeqCst) == 0 {
                assert!(Instant::now() < deadline, "the reader never read its byte");
                std::thread::sleep(Duration::from_millis(1));
            }
            let id = found.load(Ordering::SeqCst);
            // The parent's path: this process has another id.
            let id_file = std::env::var("OBSERVABILITY_ID_FILE").unwrap();
            std::fs::write(id_file, format!("{id:#x}")).unwrap();
        },
    );
    assert!(
        out.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let (json, reader) = (read(&path), read(&id_path));
    let _ = (std::fs::remove_file(&path), std::fs::remove_file(&id_path));
    let trace = gmp_trace::parse(&json).unwrap_or_else(|e| panic!("the trace does not parse: {e}"));
    // The reader's poll that parked on the read, and its next one.
    let polls: Vec<_> = trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Run { task, .. } if *task == reader))
        .collect();
    let parked = polls
        .iter()
        .position(|e| {
            matches!(
                e.kind,
                EventKind::Run {
                    end: End::Blocked,
                    ..
                }
            )
        })
        .unwrap_or_else(|| panic!("the reader {reader} never parked: {polls:?}"));
    let next = polls
        .get(parked + 1)
        .unwrap_or_else(|| panic!("the reader {reader} never ran again"));
    let (from, to) = (polls[parked].end_time(), next.ts);
    let woken = trace.events.iter().any(|e| {
        matches!(&e.kind, EventKind::Wake { task: Some(t) } if *t == reader)
            && (from..=to).contains(&e.ts)
    });
    assert!(
        woken,
        "the reader {reader} parked at {from} us and ran at {to} us with no wake in between"
    );
}

#[test]
fn a_steal_in_the_trace_names_the_victim_p() {
    // As in `an_idle_proc_steals_from_a_busy_one`.
    let trace = traced("steal.json", 2, true, computations_until_a_steal);
    let steals: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Steal { from, tasks } => Some((e.tid, from, tasks)),
            _ => None,
        })
        .collect();
    assert!(!steals.is_empty(), "no steal recorded");
    for (thief, from, tasks) in steals {
        let from = from.expect("a steal says which P it stole from");
        assert!(from < 2 && from != thief, "P{thief} stole from P{from}");
        assert!(tasks.unwrap_or(0) >= 1, "a recorded steal took tasks");
    }
}

#[test]
fn a_spill_is_in_the_trace() {
    // One P, so no thief keeps the LRQ from filling up, and no sysmon, so
    // no other M drains it (as in `a_full_lrq_spills_to_the_grq`).
    let trace = traced("spill.json", 1, false, |rt| {
        rt.block_on(rt.spawn(async {
            let hs: Vec<_> = (0..300).map(|i| gmp::spawn(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
        }))
        .unwrap();
    });
    assert!(
        count(
            &trace,
            |k| matches!(k, EventKind::Spill { tasks: Some(n) } if *n >= 1)
        ) > 0,
        "300 spawns from one poll overflow the 256-slot LRQ, yet no spill is recorded"
    );
}

#[test]
fn a_handoff_is_in_the_trace_with_the_m_that_lost_the_p() {
    let trace =
        traced("handoff.json", 1, true, |rt| {
            rt.block_on(rt.spawn(async {
                gmp::block_in_place(|| std::thread::sleep(Duration::from_millis(1)))
            }))
            .unwrap();
        });
    let handoffs: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Handoff { from_m } => Some((e.tid, from_m)),
            _ => None,
        })
        .collect();
    assert!(!handoffs.is_empty(), "block_in_place hands its P over");
    for (p, from_m) in handoffs {
        assert_eq!(p, 0, "the only P is the one handed over");
        assert!(from_m.is_some(), "a handoff says which M lost the P");
    }
}

#[test]
fn idle_ms_are_in_the_trace_parked_or_in_the_reactor() {
    let trace = child_trace("idle_ms_are_in_the_trace_parked_or_in_the_reactor");
    assert!(
        count(&trace, |k| matches!(
            k,
            EventKind::Park { reactor: true, .. }
        )) > 0,
        "no span of an M blocked in the reactor"
    );
    assert!(
        count(&trace, |k| matches!(
            k,
            EventKind::Park { reactor: false, .. }
        )) > 0,
        "no span of a parked M"
    );
    assert!(
        count(&trace, |k| matches!(k, EventKind::Idle)) > 0,
        "no P went idle"
    );
    for e in &trace.events {
        if let EventKind::Park { .. } = e.kind {
            assert_eq!(e.pid, gmp_trace::PID_MACHINES, "M spans go in M lanes");
        }
    }
}

#[test]
fn a_full_ring_drops_events_and_the_trace_says_so() {
    // One P: every create and every poll goes to P0's ring of 65,536 events.
    let trace = traced("overflow.json", 1, true, |rt| {
        rt.block_on(rt.spawn(async {
            for _ in 0..10 {
                let hs: Vec<_> = (0..5000).map(|i| gmp::spawn(async move { i })).collect();
                for h in hs {
                    h.await.unwrap();
                }
            }
        }))
        .unwrap();
    });
    assert!(
        trace.dropped_events > 0,
        "50,000 tasks (a create and a poll each) overflow a 65,536-event ring, yet dropped_events = 0"
    );
    let on_p0 = trace
        .events
        .iter()
        .filter(|e| e.pid == gmp_trace::PID_PROCS && e.tid == 0)
        .count();
    assert!(on_p0 <= 1 << 16, "P0's ring keeps 65,536 events at most");
}

#[test]
fn gmp_trace_events_sets_how_many_events_a_ring_keeps() {
    let test = "gmp_trace_events_sets_how_many_events_a_ring_keeps";
    let path = temp_path("ring.json");
    let _ = std::fs::remove_file(&path);
    let vars = [
        ("GMP_TRACE_EVENTS", "100"),
        ("GMP_MAXPROCS", "1"),
        ("GMP_TRACE", path.to_str().unwrap()),
    ];
    let out = child::run(test, &vars, || {
        // One P: 300 tasks, a create and a poll each, all in P0's ring.
        let rt = Runtime::new().unwrap();
        rt.block_on(rt.spawn(async {
            let hs: Vec<_> = (0..300).map(|i| gmp::spawn(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
        }))
        .unwrap();
    });
    assert!(
        out.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no trace once the runtime was dropped: {e}"));
    let _ = std::fs::remove_file(&path);
    let trace = gmp_trace::parse(&json).unwrap_or_else(|e| panic!("the trace does not parse: {e}"));
    // With one P, P0's ring holds its lane and the GRQ lane's wakes.
    let in_p0_ring = trace
        .events
        .iter()
        .filter(|e| e.pid == gmp_trace::PID_PROCS)
        .count();
    assert_eq!(
        in_p0_ring, 100,
        "GMP_TRACE_EVENTS=100: P0's ring keeps its last 100 events"
    );
    assert!(
        trace.dropped_events >= 500,
        "600 events into a ring of 100, yet dropped_events = {}",
        trace.dropped_events
    );
}
