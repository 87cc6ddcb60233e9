//! The execution trace (`GMP_TRACE=<file>` or `Builder::trace`).
//!
//! When enabled, scheduler events go into a bounded ring per P (and one for
//! the Ms); at shutdown they are written as Chrome trace-event JSON, which
//! Perfetto and chrome://tracing load: one lane per P, one per M. A full ring
//! drops its oldest events and the file says how many.
//!
//! When disabled, every hook is one branch on a `None`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::sched::Shared;
use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::task::Task;

/// Events kept per ring.
const RING_CAPACITY: usize = 1 << 16;

/// The recorder of one runtime.
pub(crate) struct Recorder {
    inner: Option<Box<Inner>>,
}

struct Inner {
    /// Where to write the trace.
    path: PathBuf,
    /// Time zero of the trace.
    start: Instant,
    /// One ring per P.
    procs: Box<[Mutex<Ring>]>,
    /// The Ms' ring.
    ms: Mutex<Ring>,
    /// Set once the file has been written.
    written: AtomicBool,
}

#[derive(Default)]
struct Ring {
    events: VecDeque<Event>,
    dropped: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    /// A task ran from `t` for `dur` ns, and how the poll ended.
    Run { dur: u64, end: End },
    /// A task was woken (on a P's lane, or the GRQ lane if off a P).
    Wake,
    /// P stole `n` tasks from P `victim`.
    Steal { victim: usize, n: usize },
    /// The LRQ spilled `n` tasks to the GRQ.
    Spill { n: usize },
    /// sysmon (or block_in_place) took the P from its blocked M `from_m`.
    Handoff { from_m: usize },
    /// The P went idle.
    Idle,
    /// A task was created.
    Create,
    /// An M was parked for `dur` ns, blocked in the reactor or not.
    MPark { dur: u64, reactor: bool },
}

/// How a poll ended.
#[derive(Clone, Copy)]
pub(crate) enum End {
    /// The task woke itself (a yield).
    Yield,
    /// It returned `Pending`, waiting for a wake-up.
    Blocked,
    /// It completed.
    Done,
}

impl End {
    fn as_str(self) -> &'static str {
        match self {
            End::Yield => "yield",
            End::Blocked => "blocked",
            End::Done => "done",
        }
    }
}

#[derive(Clone, Copy)]
struct Event {
    /// Nanoseconds since `start`.
    t: u64,
    /// The P (or M, in the Ms' ring).
    lane: usize,
    /// The task's address, when the event is about one.
    task: usize,
    kind: Kind,
}

thread_local! {
    /// Set by a task's wrapper when its poll completed the task, while
    /// tracing: tells `End::Done` from `End::Blocked`.
    static POLL_DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes that the task being polled on this thread has completed.
pub(crate) fn mark_done() {
    POLL_DONE.with(|d| d.set(true));
}

/// Whether the poll that just returned completed its task; resets the note.
pub(crate) fn take_done() -> bool {
    POLL_DONE.with(|d| d.replace(false))
}

/// What `task_start` hands to `task_stop`.
pub(crate) struct RunToken(Option<(u64, usize)>);

impl Ring {
    fn push(&mut self, event: Event) {
        if self.events.len() == RING_CAPACITY {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }
}

impl Recorder {
    pub(crate) fn new(path: Option<PathBuf>, procs: usize) -> Self {
        Recorder {
            inner: path.map(|path| {
                Box::new(Inner {
                    path,
                    start: Instant::now(),
                    procs: (0..procs).map(|_| Mutex::new(Ring::default())).collect(),
                    ms: Mutex::new(Ring::default()),
                    written: AtomicBool::new(false),
                })
            }),
        }
    }

    fn record(&self, lane: usize, task: usize, kind: Kind) {
        if let Some(inner) = &self.inner {
            let t = inner.start.elapsed().as_nanos() as u64;
            let ring = match kind {
                Kind::MPark { .. } => &inner.ms,
                _ => &inner.procs[lane.min(inner.procs.len() - 1)],
            };
            lock(ring).push(Event {
                t,
                lane,
                task,
                kind,
            });
        }
    }

    pub(crate) fn task_create(&self, task: &Task) {
        if self.inner.is_some() {
            let p = crate::context::with_worker(|w| w.and_then(|w| w.p.get())).unwrap_or(0);
            self.record(p, task_id(task), Kind::Create);
        }
    }

    pub(crate) fn task_start(&self, _p: usize, task: &Task) -> RunToken {
        RunToken(
            self.inner
                .as_ref()
                .map(|inner| (inner.start.elapsed().as_nanos() as u64, task_id(task))),
        )
    }

    /// Whether events are being recorded.
    pub(crate) fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    pub(crate) fn task_stop(&self, p: usize, token: RunToken, end: End) {
        if let (Some(inner), Some((t, task))) = (&self.inner, token.0) {
            let dur = (inner.start.elapsed().as_nanos() as u64).saturating_sub(t);
            lock(&inner.procs[p]).push(Event {
                t,
                lane: p,
                task,
                kind: Kind::Run { dur, end },
            });
        }
    }

    /// A wake of `task` on P `p` (or off any P when `None`: those go to the
    /// last P's ring and are drawn on a lane of their own).
    pub(crate) fn wake(&self, p: Option<usize>, task: &Task) {
        if let Some(inner) = &self.inner {
            let lane = p.unwrap_or(usize::MAX);
            let t = inner.start.elapsed().as_nanos() as u64;
            let ring = &inner.procs[p.unwrap_or(inner.procs.len() - 1)];
            lock(ring).push(Event {
                t,
                lane,
                task: task_id(task),
                kind: Kind::Wake,
            });
        }
    }

    /// Now, for `m_park`.
    pub(crate) fn now(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.start.elapsed().as_nanos() as u64)
    }

    pub(crate) fn steal(&self, p: usize, victim: usize, n: usize) {
        self.record(p, 0, Kind::Steal { victim, n });
    }

    pub(crate) fn spill(&self, p: usize, n: usize) {
        self.record(p, 0, Kind::Spill { n });
    }

    pub(crate) fn handoff(&self, p: usize, from_m: usize) {
        self.record(p, 0, Kind::Handoff { from_m });
    }

    pub(crate) fn proc_idle(&self, p: usize) {
        self.record(p, 0, Kind::Idle);
    }

    /// M `m` was parked since `since` (from `now`).
    pub(crate) fn m_park(&self, m: usize, since: u64, reactor: bool) {
        if let Some(inner) = &self.inner {
            let dur = (inner.start.elapsed().as_nanos() as u64).saturating_sub(since);
            lock(&inner.ms).push(Event {
                t: since,
                lane: m,
                task: 0,
                kind: Kind::MPark { dur, reactor },
            });
        }
    }

    /// Writes the trace file (once).
    pub(crate) fn finish(&self, _shared: &Shared) {
        let Some(inner) = &self.inner else { return };
        if inner.written.swap(true, Ordering::AcqRel) {
            return;
        }
        let json = inner.to_json();
        if let Err(err) = std::fs::write(&inner.path, json) {
            eprintln!(
                "gmp: cannot write the trace to {}: {err}",
                inner.path.display()
            );
        }
    }
}

/// A task's identity in the trace: its `gmp::task::Id`.
fn task_id(task: &Task) -> usize {
    task.metadata().id().as_u64() as usize
}

impl Inner {
    /// The Chrome trace-event JSON of everything recorded.
    fn to_json(&self) -> String {
        let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        let us = |ns: u64| ns as f64 / 1000.0;
        let mut dropped = 0;
        let mut first = true;
        let mut emit = |out: &mut String, line: String| {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push_str(&line);
        };
        emit(
            &mut out,
            r#"{"name":"process_name","ph":"M","pid":1,"args":{"name":"Ps"}}"#.into(),
        );
        emit(
            &mut out,
            r#"{"name":"process_name","ph":"M","pid":2,"args":{"name":"Ms"}}"#.into(),
        );
        emit(
            &mut out,
            format!(
                r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":"GRQ (wakes off a P)"}}}}"#,
                self.procs.len()
            ),
        );
        for (p, ring) in self.procs.iter().enumerate() {
            emit(
                &mut out,
                format!(
                    r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{p},"args":{{"name":"P{p}"}}}}"#
                ),
            );
            let ring = lock(ring);
            dropped += ring.dropped;
            for e in &ring.events {
                let line = match e.kind {
                    Kind::Run { dur, end } => format!(
                        r#"{{"name":"task {:#x}","cat":"task","ph":"X","pid":1,"tid":{},"ts":{:.3},"dur":{:.3},"args":{{"task":"{:#x}","end":"{}"}}}}"#,
                        e.task,
                        e.lane,
                        us(e.t),
                        us(dur),
                        e.task,
                        end.as_str()
                    ),
                    Kind::Wake => format!(
                        r#"{{"name":"wake","cat":"wake","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3},"args":{{"task":"{:#x}"}}}}"#,
                        if e.lane == usize::MAX {
                            self.procs.len()
                        } else {
                            e.lane
                        },
                        us(e.t),
                        e.task
                    ),
                    Kind::Steal { victim, n } => format!(
                        r#"{{"name":"steal","cat":"steal","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3},"args":{{"from":{victim},"tasks":{n}}}}}"#,
                        e.lane,
                        us(e.t)
                    ),
                    Kind::Spill { n } => format!(
                        r#"{{"name":"spill","cat":"spill","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3},"args":{{"tasks":{n}}}}}"#,
                        e.lane,
                        us(e.t)
                    ),
                    Kind::Handoff { from_m } => format!(
                        r#"{{"name":"handoff","cat":"handoff","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3},"args":{{"from_m":{}}}}}"#,
                        e.lane,
                        us(e.t),
                        from_m as i64
                    ),
                    Kind::Idle => format!(
                        r#"{{"name":"idle","cat":"idle","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3}}}"#,
                        e.lane,
                        us(e.t)
                    ),
                    Kind::Create => format!(
                        r#"{{"name":"create","cat":"create","ph":"i","s":"t","pid":1,"tid":{},"ts":{:.3},"args":{{"task":"{:#x}"}}}}"#,
                        e.lane,
                        us(e.t),
                        e.task
                    ),
                    Kind::MPark { .. } => continue,
                };
                emit(&mut out, line);
            }
        }
        {
            let ring = lock(&self.ms);
            dropped += ring.dropped;
            for e in &ring.events {
                if let Kind::MPark { dur, reactor } = e.kind {
                    emit(
                        &mut out,
                        format!(
                            r#"{{"name":"{}","cat":"m","ph":"X","pid":2,"tid":{},"ts":{:.3},"dur":{:.3}}}"#,
                            if reactor { "reactor" } else { "park" },
                            e.lane,
                            us(e.t),
                            us(dur)
                        ),
                    );
                }
            }
        }
        let _ = write!(
            out,
            "\n],\"otherData\":{{\"dropped_events\":{dropped}}}}}\n"
        );
        out
    }
}
