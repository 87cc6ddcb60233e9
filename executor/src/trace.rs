//! The execution trace (`GMP_TRACE=<file>` or `Builder::trace`).
//!
//! When enabled, scheduler events go into a bounded ring per P (and one for
//! the Ms); at shutdown they are written as Chrome trace-event JSON, which
//! Perfetto and chrome://tracing load: one lane per P, one per M. A ring
//! keeps 65,536 events (`GMP_TRACE_EVENTS=<n>` sets another size); a full
//! ring drops its oldest events and the file says how many.
//!
//! When disabled, every hook is one branch on a `None`.
//!
//! The file's fields and event names are the constants of `trace_format`,
//! which the `gmp-trace` reader uses too.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::task_id::Id;
use crate::trace_format::{arg, end, event, field, meta, phase, PID_MACHINES, PID_PROCS};

/// Events kept per ring, unless `GMP_TRACE_EVENTS` says otherwise.
const RING_CAPACITY: usize = 1 << 16;

/// The variable that sets the events kept per ring.
const RING_VAR: &str = "GMP_TRACE_EVENTS";

/// The recorder of one runtime.
pub(crate) struct Recorder {
    /// The rings and the file, when tracing is on (set at build, never
    /// changed after).
    inner: Option<Box<Inner>>,
}

/// What an enabled recorder holds.
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

/// The events of one P (or of the Ms), oldest first. Written by whoever
/// records an event for that lane, under the ring's mutex.
struct Ring {
    /// The events kept, at most `capacity`.
    events: VecDeque<Event>,
    /// How many older events were pushed out.
    dropped: u64,
    /// How many events the ring keeps.
    capacity: usize,
}

/// What an event records.
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
            End::Yield => end::YIELD,
            End::Blocked => end::BLOCKED,
            End::Done => end::DONE,
        }
    }
}

/// One recorded event.
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
    fn new(capacity: usize) -> Self {
        Ring {
            events: VecDeque::new(),
            dropped: 0,
            capacity,
        }
    }

    fn push(&mut self, event: Event) {
        if self.events.len() == self.capacity {
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
                let capacity = ring_capacity(std::env::var(RING_VAR).ok().as_deref());
                let ring = || Mutex::new(Ring::new(capacity));
                Box::new(Inner {
                    path,
                    start: Instant::now(),
                    procs: (0..procs).map(|_| ring()).collect(),
                    ms: ring(),
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

    /// Task `task` was spawned on P `p` (0 when spawned off any P).
    pub(crate) fn task_create(&self, p: usize, task: Id) {
        self.record(p, task_id(task), Kind::Create);
    }

    #[inline]
    pub(crate) fn task_start(&self, _p: usize, task: impl FnOnce() -> Id) -> RunToken {
        RunToken(
            self.inner
                .as_ref()
                .map(|inner| (inner.start.elapsed().as_nanos() as u64, task_id(task()))),
        )
    }

    /// Whether events are being recorded.
    #[inline]
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

    /// A wake of the task `task()` names, on P `p` (or off any P when
    /// `None`: those go to the last P's ring and are drawn on a lane of
    /// their own). `task` runs only while recording, so a disabled trace
    /// costs one test.
    #[inline]
    pub(crate) fn wake(&self, p: Option<usize>, task: impl FnOnce() -> Id) {
        if let Some(inner) = &self.inner {
            let task = task();
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
    pub(crate) fn finish(&self) {
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

/// The events kept per ring for a `GMP_TRACE_EVENTS` of `value`: the
/// default when it is not set, and (with a warning naming it) when it is
/// not an integer >= 1.
fn ring_capacity(value: Option<&str>) -> usize {
    let Some(value) = value else {
        return RING_CAPACITY;
    };
    match value.trim().parse() {
        Ok(n) if n >= 1 => n,
        _ => {
            eprintln!(
                "gmp: {RING_VAR}={value:?} is not a number of events per trace ring \
                 (expected an integer >= 1); keeping {RING_CAPACITY}"
            );
            RING_CAPACITY
        }
    }
}

/// A task's identity in the trace: its `gmp::task::Id`.
fn task_id(task: Id) -> usize {
    task.as_u64() as usize
}

impl Inner {
    /// The Chrome trace-event JSON of everything recorded, in the format of
    /// `trace_format`: the lane names, each P's ring, then the Ms' ring.
    fn to_json(&self) -> String {
        let mut list = EventList::new();
        self.write_lane_names(&mut list);
        let grq_lane = self.procs.len();
        let mut dropped = 0;
        for ring in self.procs.iter() {
            let ring = lock(ring);
            dropped += ring.dropped;
            for e in &ring.events {
                write_proc_event(&mut list, e, grq_lane);
            }
        }
        let ring = lock(&self.ms);
        dropped += ring.dropped;
        for e in &ring.events {
            write_m_event(&mut list, e);
        }
        drop(ring);
        list.finish(dropped)
    }

    /// The names of the two processes and of the P and GRQ lanes (M lanes
    /// are named by their events).
    fn write_lane_names(&self, list: &mut EventList) {
        let mut name = |kind: &str, pid: u64, tid: Option<usize>, lane: &str| {
            let mut e = list.event();
            e.str(field::NAME, kind).str(field::PH, phase::METADATA);
            e.num(field::PID, pid);
            if let Some(tid) = tid {
                e.num(field::TID, tid);
            }
            e.object(field::ARGS).str(arg::NAME, lane);
        };
        name(meta::PROCESS_NAME, PID_PROCS, None, meta::PROCS);
        name(meta::PROCESS_NAME, PID_MACHINES, None, meta::MACHINES);
        let grq_lane = self.procs.len();
        name(meta::THREAD_NAME, PID_PROCS, Some(grq_lane), meta::GRQ_LANE);
        for p in 0..self.procs.len() {
            let lane = format!("{}{p}", meta::P_PREFIX);
            name(meta::THREAD_NAME, PID_PROCS, Some(p), &lane);
        }
    }
}

/// Writes one event of a P's ring. Wakes off any P (`lane` = `usize::MAX`)
/// go to the GRQ lane, `grq_lane`.
fn write_proc_event(list: &mut EventList, e: &Event, grq_lane: usize) {
    match e.kind {
        Kind::Run { dur, end } => {
            let task = task_name(e.task);
            let mut span = list.event();
            span.str(field::NAME, &format!("{}{task}", event::TASK_PREFIX))
                .str(field::CAT, event::TASK_CAT)
                .str(field::PH, phase::COMPLETE)
                .num(field::PID, PID_PROCS)
                .num(field::TID, e.lane)
                .micros(field::TS, e.t)
                .micros(field::DUR, dur);
            span.object(field::ARGS)
                .str(arg::TASK, &task)
                .str(arg::END, end.as_str());
        }
        Kind::Wake => {
            let lane = if e.lane == usize::MAX {
                grq_lane
            } else {
                e.lane
            };
            instant(list, event::WAKE, lane, e.t)
                .object(field::ARGS)
                .str(arg::TASK, &task_name(e.task));
        }
        Kind::Steal { victim, n } => {
            instant(list, event::STEAL, e.lane, e.t)
                .object(field::ARGS)
                .num(arg::FROM, victim)
                .num(arg::TASKS, n);
        }
        Kind::Spill { n } => {
            instant(list, event::SPILL, e.lane, e.t)
                .object(field::ARGS)
                .num(arg::TASKS, n);
        }
        Kind::Handoff { from_m } => {
            // `from_m` is `usize::MAX` when the M is not known: written -1.
            instant(list, event::HANDOFF, e.lane, e.t)
                .object(field::ARGS)
                .num(arg::FROM_M, from_m as i64);
        }
        Kind::Idle => drop(instant(list, event::IDLE, e.lane, e.t)),
        Kind::Create => {
            instant(list, event::CREATE, e.lane, e.t)
                .object(field::ARGS)
                .str(arg::TASK, &task_name(e.task));
        }
        // Recorded in the Ms' ring only.
        Kind::MPark { .. } => {}
    }
}

/// Writes one event of the Ms' ring: a park span.
fn write_m_event(list: &mut EventList, e: &Event) {
    if let Kind::MPark { dur, reactor } = e.kind {
        let name = if reactor { event::REACTOR } else { event::PARK };
        list.event()
            .str(field::NAME, name)
            .str(field::CAT, event::M_CAT)
            .str(field::PH, phase::COMPLETE)
            .num(field::PID, PID_MACHINES)
            .num(field::TID, e.lane)
            .micros(field::TS, e.t)
            .micros(field::DUR, dur);
    }
}

/// Starts an instant event `name` (its category too) on P lane `lane` at
/// `t` ns; the caller adds its `args`.
fn instant<'a>(list: &'a mut EventList, name: &str, lane: usize, t: u64) -> JsonObject<'a> {
    let mut e = list.event();
    e.str(field::NAME, name)
        .str(field::CAT, name)
        .str(field::PH, phase::INSTANT)
        .str(field::SCOPE, phase::THREAD_SCOPE)
        .num(field::PID, PID_PROCS)
        .num(field::TID, lane)
        .micros(field::TS, t);
    e
}

/// A task's id as the trace writes it.
fn task_name(task: usize) -> String {
    format!("{task:#x}")
}

/// The file being written: the top-level object up to the open
/// `traceEvents` array, then one event per [`EventList::event`].
struct EventList {
    /// The JSON so far.
    out: String,
    /// Whether no event has been written yet (no comma before the next).
    empty: bool,
}

impl EventList {
    fn new() -> Self {
        let mut out = String::new();
        let mut top = JsonObject::open(&mut out);
        top.str(field::DISPLAY_TIME_UNIT, field::DISPLAY_NS)
            .key(field::TRACE_EVENTS);
        top.close = false; // `finish` writes the rest of it.
        drop(top);
        out.push_str("[\n");
        EventList { out, empty: true }
    }

    /// A new event object, closed when the returned writer is dropped.
    fn event(&mut self) -> JsonObject<'_> {
        if !self.empty {
            self.out.push_str(",\n");
        }
        self.empty = false;
        JsonObject::open(&mut self.out)
    }

    /// Closes the array and writes `otherData`.
    fn finish(mut self, dropped: u64) -> String {
        self.out.push_str("\n]");
        let mut top = JsonObject {
            out: &mut self.out,
            empty: false,
            close: true,
        };
        top.object(field::OTHER_DATA)
            .num(field::DROPPED_EVENTS, dropped);
        drop(top);
        self.out.push('\n');
        self.out
    }
}

/// Writes one JSON object's members into a string; the closing `}` is
/// written when it is dropped. Keys and string values are the format's
/// constants, lane names and task ids: none needs escaping.
struct JsonObject<'a> {
    /// Where the object is written.
    out: &'a mut String,
    /// Whether no member has been written yet (no comma before the next).
    empty: bool,
    /// Whether dropping the writer closes the object (`EventList` clears it
    /// for the top-level object, which it goes on writing).
    close: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens an object at the end of `out`.
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        JsonObject {
            out,
            empty: true,
            close: true,
        }
    }

    /// Writes `"key":`, after a comma unless it is the first member.
    fn key(&mut self, key: &str) -> &mut Self {
        debug_assert!(!key.contains(['"', '\\']), "{key:?} needs escaping");
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        let _ = write!(self.out, "\"{key}\":");
        self
    }

    /// A string member.
    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        debug_assert!(!value.contains(['"', '\\']), "{value:?} needs escaping");
        self.key(key);
        let _ = write!(self.out, "\"{value}\"");
        self
    }

    /// An integer member.
    fn num(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    /// `ns` nanoseconds as microseconds with 3 decimals (exact).
    fn micros(&mut self, key: &str, ns: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{}.{:03}", ns / 1000, ns % 1000);
        self
    }

    /// A member holding an object, closed when the returned writer drops.
    fn object(&mut self, key: &str) -> JsonObject<'_> {
        self.key(key);
        JsonObject::open(self.out)
    }
}

impl Drop for JsonObject<'_> {
    fn drop(&mut self) {
        if self.close {
            self.out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorder's state with one event of each kind, at fixed times.
    fn inner_with_every_kind() -> Inner {
        let event = |t, lane, task, kind| Event {
            t,
            lane,
            task,
            kind,
        };
        let mut p0 = Ring::new(RING_CAPACITY);
        let run = Kind::Run {
            dur: 2_500,
            end: End::Yield,
        };
        p0.push(event(1_000, 0, 0xa0, run));
        p0.push(event(4_000, 0, 0xa0, Kind::Wake));
        p0.push(event(5_000, usize::MAX, 0xb0, Kind::Wake));
        p0.push(event(6_000, 0, 0xb0, Kind::Create));
        p0.push(event(7_000, 0, 0, Kind::Spill { n: 129 }));
        p0.push(event(8_000, 0, 0, Kind::Idle));
        let mut p1 = Ring::new(RING_CAPACITY);
        p1.push(event(9_001, 1, 0, Kind::Steal { victim: 0, n: 3 }));
        let handoff = Kind::Handoff { from_m: usize::MAX };
        p1.push(event(10_000, 1, 0, handoff));
        p1.dropped = 4;
        let mut ms = Ring::new(RING_CAPACITY);
        let park = Kind::MPark {
            dur: 1_234_567,
            reactor: true,
        };
        ms.push(event(11_000, 3, 0, park));
        Inner {
            path: PathBuf::new(),
            start: Instant::now(),
            procs: vec![Mutex::new(p0), Mutex::new(p1)].into_boxed_slice(),
            ms: Mutex::new(ms),
            written: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_full_ring_drops_its_oldest_events_and_counts_them() {
        let mut ring = Ring::new(2);
        for t in 0..5 {
            ring.push(Event {
                t,
                lane: 0,
                task: 0,
                kind: Kind::Idle,
            });
        }
        let kept: Vec<u64> = ring.events.iter().map(|e| e.t).collect();
        assert_eq!(kept, [3, 4], "a ring of 2 keeps the 2 newest events");
        assert_eq!(ring.dropped, 3);
    }

    #[test]
    fn gmp_trace_events_sets_the_ring_size_and_a_bad_value_keeps_the_default() {
        assert_eq!(ring_capacity(None), RING_CAPACITY);
        assert_eq!(ring_capacity(Some("1000000")), 1_000_000);
        assert_eq!(ring_capacity(Some(" 7 ")), 7);
        for bad in ["0", "-1", "lots", ""] {
            assert_eq!(ring_capacity(Some(bad)), RING_CAPACITY, "{bad:?}");
        }
    }

    #[test]
    fn to_json_writes_every_kind_in_the_trace_format() {
        let expected = r#"{"displayTimeUnit":"ns","traceEvents":[
{"name":"process_name","ph":"M","pid":1,"args":{"name":"Ps"}},
{"name":"process_name","ph":"M","pid":2,"args":{"name":"Ms"}},
{"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"GRQ (wakes off a P)"}},
{"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"P1"}},
{"name":"task 0xa0","cat":"task","ph":"X","pid":1,"tid":0,"ts":1.000,"dur":2.500,"args":{"task":"0xa0","end":"yield"}},
{"name":"wake","cat":"wake","ph":"i","s":"t","pid":1,"tid":0,"ts":4.000,"args":{"task":"0xa0"}},
{"name":"wake","cat":"wake","ph":"i","s":"t","pid":1,"tid":2,"ts":5.000,"args":{"task":"0xb0"}},
{"name":"create","cat":"create","ph":"i","s":"t","pid":1,"tid":0,"ts":6.000,"args":{"task":"0xb0"}},
{"name":"spill","cat":"spill","ph":"i","s":"t","pid":1,"tid":0,"ts":7.000,"args":{"tasks":129}},
{"name":"idle","cat":"idle","ph":"i","s":"t","pid":1,"tid":0,"ts":8.000},
{"name":"steal","cat":"steal","ph":"i","s":"t","pid":1,"tid":1,"ts":9.001,"args":{"from":0,"tasks":3}},
{"name":"handoff","cat":"handoff","ph":"i","s":"t","pid":1,"tid":1,"ts":10.000,"args":{"from_m":-1}},
{"name":"reactor","cat":"m","ph":"X","pid":2,"tid":3,"ts":11.000,"dur":1234.567}
],"otherData":{"dropped_events":4}}
"#;
        assert_eq!(inner_with_every_kind().to_json(), expected);
    }
}
