//! Draws a gmp execution trace as an SVG timeline.
//!
//! `GMP_TRACE=<file>` (or `Builder::trace`) makes the runtime write Chrome
//! trace-event JSON at shutdown (see `executor/src/trace.rs`). This crate
//! reads that file back ([`parse`]) and draws it ([`render_svg`]):
//!
//! * a lane per P (process 1, plus the "GRQ" lane for wakes off any P) and a
//!   lane per M (process 2);
//! * each poll of a task as a span, coloured by a hash of the task's address
//!   so a task keeps its colour when it moves between Ps, with a tick under
//!   its end saying how the poll ended (yield, blocked, done);
//! * steals as arrows from the victim P to the thief P, labelled with the
//!   number of tasks taken; handoffs (sysmon took the P from a blocked M) as
//!   diamonds with a dashed line from the M; spills of the LRQ to the GRQ,
//!   idle Ps, task creations and wakes as markers;
//! * M park and reactor waits as spans in the M lanes;
//! * a time axis, a legend and a title with the event counts and a warning
//!   when the recorder's rings overflowed and dropped events (a ring keeps
//!   65,536 events; `GMP_TRACE_EVENTS=<n>` keeps `n`, enough for a whole
//!   run: the tour records ~380,000).
//!
//! The reader is tolerant: fields it does not know are ignored and events it
//! does not know are kept as [`EventKind::Other`] and drawn in grey, so a
//! newer runtime's traces still draw. Only what it cannot make sense of (bad
//! JSON, no `traceEvents`, a known event without its time) is an error.
//!
//! Traces with more than [`Options::merge_threshold`] task spans in the
//! window are drawn with the spans of a lane that lie closer than a pixel
//! merged into one, so the SVG stays small (a few hundred kB per lane at most).
//!
//! ```
//! let json = r#"{"traceEvents":[
//!   {"name":"task 0x10","cat":"task","ph":"X","pid":1,"tid":0,"ts":1.0,"dur":5.0,
//!    "args":{"task":"0x10","end":"done"}}
//! ]}"#;
//! let trace = gmp_trace::parse(json)?;
//! let svg = gmp_trace::render_svg(&trace, &gmp_trace::Options::default());
//! assert!(svg.starts_with("<svg"));
//! # Ok::<(), gmp_trace::Error>(())
//! ```

mod axis;
mod parse;

/// The format's names, shared with the writer (`executor/src/trace.rs`).
use gmp_executor::trace_format as format;
mod render;

pub use parse::{parse, Error};
pub use render::{render_svg, Options};

/// The process id of the Ps' lanes in the trace.
///
/// ```
/// assert_eq!(gmp_trace::PID_PROCS, 1);
/// ```
pub const PID_PROCS: u64 = format::PID_PROCS;

/// The process id of the Ms' lanes in the trace.
///
/// ```
/// assert_eq!(gmp_trace::PID_MACHINES, 2);
/// ```
pub const PID_MACHINES: u64 = format::PID_MACHINES;

/// A parsed trace: its lanes, its events in file order, and how many events
/// the recorder dropped.
///
/// ```
/// let trace = gmp_trace::parse(r#"{"traceEvents":[
///   {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
///   {"name":"idle","cat":"idle","ph":"i","s":"t","pid":1,"tid":0,"ts":3.5}
/// ],"otherData":{"dropped_events":7}}"#)?;
/// assert_eq!(trace.lanes.len(), 1);
/// assert_eq!(trace.lanes[0].name, "P0");
/// assert_eq!(trace.events.len(), 1);
/// assert_eq!(trace.dropped_events, 7);
/// # Ok::<(), gmp_trace::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    /// Every lane that is named or has an event, sorted by process then
    /// thread id (so P0, P1, …, the GRQ lane, then M0, M1, …).
    pub lanes: Vec<Lane>,
    /// The events, in the order of the file (which is not time order: the
    /// recorder writes one ring after the other).
    pub events: Vec<Event>,
    /// Process names from the `process_name` metadata, by process id.
    pub processes: Vec<(u64, String)>,
    /// `otherData.dropped_events`: events lost because a ring was full (the
    /// oldest of that ring go first). 0 when the file does not say.
    pub dropped_events: u64,
}

impl Trace {
    /// The index in [`Trace::lanes`] of the lane `(pid, tid)`, if there is one.
    ///
    /// ```
    /// let trace = gmp_trace::parse(r#"{"traceEvents":[
    ///   {"name":"thread_name","ph":"M","pid":2,"tid":3,"args":{"name":"M3"}}
    /// ]}"#)?;
    /// assert_eq!(trace.lane_index(2, 3), Some(0));
    /// assert_eq!(trace.lane_index(1, 0), None);
    /// # Ok::<(), gmp_trace::Error>(())
    /// ```
    pub fn lane_index(&self, pid: u64, tid: u64) -> Option<usize> {
        self.lanes
            .binary_search_by_key(&(pid, tid), |l| (l.pid, l.tid))
            .ok()
    }

    /// The name of process `pid`: its `process_name` metadata, or "Ps" / "Ms"
    /// for gmp's two, or `pid N`.
    ///
    /// ```
    /// let trace = gmp_trace::Trace::default();
    /// assert_eq!(trace.process_name(1), "Ps");
    /// assert_eq!(trace.process_name(9), "pid 9");
    /// ```
    pub fn process_name(&self, pid: u64) -> String {
        if let Some((_, name)) = self.processes.iter().find(|(p, _)| *p == pid) {
            return name.clone();
        }
        match pid {
            PID_PROCS => format::meta::PROCS.into(),
            PID_MACHINES => format::meta::MACHINES.into(),
            _ => format!("pid {pid}"),
        }
    }
}

/// One lane of the timeline: a P, the GRQ lane or an M.
///
/// ```
/// let trace = gmp_trace::parse(r#"{"traceEvents":[
///   {"name":"park","cat":"m","ph":"X","pid":2,"tid":1,"ts":0,"dur":9}
/// ]}"#)?;
/// // No thread_name for it: the name is made up from the process.
/// assert_eq!(trace.lanes[0], gmp_trace::Lane { pid: 2, tid: 1, name: "M1".into() });
/// # Ok::<(), gmp_trace::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The process: [`PID_PROCS`] or [`PID_MACHINES`] (others are drawn too).
    pub pid: u64,
    /// The P's or M's index.
    pub tid: u64,
    /// From the `thread_name` metadata, else `P<tid>` / `M<tid>`.
    pub name: String,
}

impl Lane {
    /// Whether this is the GRQ lane (wakes off any P), which is among the
    /// Ps' lanes but is no P.
    ///
    /// ```
    /// let trace = gmp_trace::parse(r#"{"traceEvents":[
    ///   {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
    ///   {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"GRQ (wakes off a P)"}}
    /// ]}"#)?;
    /// assert!(!trace.lanes[0].is_grq());
    /// assert!(trace.lanes[1].is_grq());
    /// # Ok::<(), gmp_trace::Error>(())
    /// ```
    pub fn is_grq(&self) -> bool {
        self.pid == PID_PROCS && self.name == format::meta::GRQ_LANE
    }
}

/// One event of the trace, on the lane `(pid, tid)` at `ts`.
///
/// ```
/// use gmp_trace::{EventKind, End};
/// let trace = gmp_trace::parse(r#"{"traceEvents":[
///   {"name":"task 0x20","cat":"task","ph":"X","pid":1,"tid":2,"ts":10.5,"dur":2.0,
///    "args":{"task":"0x20","end":"yield"}}
/// ]}"#)?;
/// let e = &trace.events[0];
/// assert_eq!((e.pid, e.tid, e.ts), (1, 2, 10.5));
/// assert_eq!(e.kind, EventKind::Run { task: "0x20".into(), dur: 2.0, end: End::Yield });
/// assert_eq!(e.end_time(), 12.5);
/// # Ok::<(), gmp_trace::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The process: [`PID_PROCS`] for P lanes, [`PID_MACHINES`] for M lanes.
    pub pid: u64,
    /// The lane within the process (the P's or the M's index).
    pub tid: u64,
    /// Start time, in microseconds since the runtime started.
    pub ts: f64,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// How long the event lasted in microseconds (0 for an instant).
    ///
    /// ```
    /// let trace = gmp_trace::parse(r#"{"traceEvents":[
    ///   {"name":"reactor","cat":"m","ph":"X","pid":2,"tid":0,"ts":1,"dur":4},
    ///   {"name":"idle","cat":"idle","ph":"i","pid":1,"tid":0,"ts":2}
    /// ]}"#)?;
    /// assert_eq!(trace.events[0].dur(), 4.0);
    /// assert_eq!(trace.events[1].dur(), 0.0);
    /// # Ok::<(), gmp_trace::Error>(())
    /// ```
    pub fn dur(&self) -> f64 {
        match &self.kind {
            EventKind::Run { dur, .. } => *dur,
            EventKind::Park { dur, .. } | EventKind::Other { dur, .. } => dur.unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// When the event ended, in microseconds (`ts` for an instant).
    ///
    /// ```
    /// let trace = gmp_trace::parse(r#"{"traceEvents":[
    ///   {"name":"park","cat":"m","ph":"X","pid":2,"tid":0,"ts":1.5,"dur":4}
    /// ]}"#)?;
    /// assert_eq!(trace.events[0].end_time(), 5.5);
    /// # Ok::<(), gmp_trace::Error>(())
    /// ```
    pub fn end_time(&self) -> f64 {
        self.ts + self.dur()
    }
}

/// What an [`Event`] records. Times are in microseconds.
///
/// ```
/// use gmp_trace::EventKind;
/// let trace = gmp_trace::parse(r#"{"traceEvents":[
///   {"name":"steal","cat":"steal","ph":"i","s":"t","pid":1,"tid":1,"ts":4,
///    "args":{"from":0,"tasks":3}},
///   {"name":"handoff","cat":"handoff","ph":"i","s":"t","pid":1,"tid":0,"ts":5},
///   {"name":"gc","cat":"future","ph":"i","pid":1,"tid":0,"ts":6}
/// ]}"#)?;
/// assert_eq!(trace.events[0].kind, EventKind::Steal { from: Some(0), tasks: Some(3) });
/// assert_eq!(trace.events[1].kind, EventKind::Handoff { from_m: None });
/// assert!(matches!(trace.events[2].kind, EventKind::Other { .. }));
/// # Ok::<(), gmp_trace::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A poll of `task` (its address, as written: `"0x55d0…"`) that lasted
    /// `dur` and ended as `end`.
    Run {
        /// The task's address, as a string.
        task: String,
        /// How long the poll took.
        dur: f64,
        /// How the poll ended.
        end: End,
    },
    /// The P of this lane stole `tasks` tasks from P `from`.
    Steal {
        /// The victim P.
        from: Option<u64>,
        /// How many tasks moved.
        tasks: Option<u64>,
    },
    /// The P's LRQ was full and moved `tasks` tasks to the GRQ.
    Spill {
        /// How many tasks moved (half the ring plus the new one: 129).
        tasks: Option<u64>,
    },
    /// sysmon (or `block_in_place`) handed this P over from M `from_m`,
    /// blocked in a poll. `None` when the trace does not say which M.
    Handoff {
        /// The M that lost the P.
        from_m: Option<u64>,
    },
    /// The P found nothing to run and went idle.
    Idle,
    /// A task was spawned while this P ran.
    Create {
        /// The new task's address.
        task: Option<String>,
    },
    /// A task was woken (the GRQ lane holds wakes from off any P).
    Wake {
        /// The woken task's address.
        task: Option<String>,
    },
    /// The M of this lane was parked (`reactor`: blocked in the reactor's
    /// poll, waiting for I/O or a timer), for `dur` when known.
    Park {
        /// How long it stayed parked; `None` for an instant event.
        dur: Option<f64>,
        /// Parked in the reactor rather than on its own condvar.
        reactor: bool,
    },
    /// An event this reader does not know (kept so newer traces still draw).
    Other {
        /// The event's `name`.
        name: String,
        /// The event's `cat`, if any.
        cat: Option<String>,
        /// Its duration, for a complete (`"ph":"X"`) event.
        dur: Option<f64>,
    },
}

/// How a poll ended (a task span's `args.end`).
///
/// ```
/// use gmp_trace::End;
/// assert_eq!(End::from_name("yield"), End::Yield);
/// assert_eq!(End::from_name("blocked_or_done"), End::BlockedOrDone);
/// assert_eq!(End::from_name("exploded"), End::Unknown);
/// assert_eq!(End::Done.label(), "done");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum End {
    /// The task woke itself before returning `Pending` (a yield): it is
    /// runnable again at once.
    Yield,
    /// It returned `Pending` and waits for a wake-up.
    Blocked,
    /// It completed.
    Done,
    /// The recorder could not tell blocked from done.
    BlockedOrDone,
    /// Missing, or a reason this reader does not know.
    Unknown,
}

impl End {
    /// The reason named by a span's `args.end`.
    ///
    /// ```
    /// assert_eq!(gmp_trace::End::from_name("blocked"), gmp_trace::End::Blocked);
    /// ```
    pub fn from_name(name: &str) -> End {
        use format::end;
        match name {
            end::YIELD => End::Yield,
            end::BLOCKED => End::Blocked,
            end::DONE => End::Done,
            end::BLOCKED_OR_DONE => End::BlockedOrDone,
            _ => End::Unknown,
        }
    }

    /// How the legend and tooltips say it.
    ///
    /// ```
    /// assert_eq!(gmp_trace::End::BlockedOrDone.label(), "blocked or done");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            End::Yield => "yield",
            End::Blocked => "blocked",
            End::Done => "done",
            End::BlockedOrDone => "blocked or done",
            End::Unknown => "unknown end",
        }
    }
}
