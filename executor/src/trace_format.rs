//! The trace file's format, defined once: `trace.rs` writes it, the
//! `gmp-trace` crate reads it back, and both name every field, event and
//! value through the constants here. Not a stable API (hidden from the docs).
//!
//! The file is Chrome trace-event JSON, which Perfetto and chrome://tracing
//! load:
//!
//! ```text
//! {"displayTimeUnit":"ns","traceEvents":[<event>,…],"otherData":{"dropped_events":<n>}}
//! ```
//!
//! Every event has `name`, `ph` (phase) and `pid`/`tid` (its lane); those
//! with a time have `ts` (µs since the runtime started, 3 decimals), spans
//! `dur` (µs), instants `"s":"t"` (thread scope). The lanes are
//! [`PID_PROCS`] (tid = the P's index; tid = the number of Ps is the GRQ
//! lane, for wakes off any P) and [`PID_MACHINES`] (tid = the M's id).
//!
//! | event                | `name`             | `cat`     | `ph` | `pid` | `args`          |
//! |----------------------|--------------------|-----------|------|-------|-----------------|
//! | lane names           | `process_name`, `thread_name` | | `M` | both | `name`       |
//! | a poll of a task     | `task <id>`        | `task`    | `X`  | 1     | `task`, `end`   |
//! | a wake               | `wake`             | `wake`    | `i`  | 1     | `task`          |
//! | a steal              | `steal`            | `steal`   | `i`  | 1     | `from`, `tasks` |
//! | an LRQ spill         | `spill`            | `spill`   | `i`  | 1     | `tasks`         |
//! | a P handed off       | `handoff`          | `handoff` | `i`  | 1     | `from_m`        |
//! | a P went idle        | `idle`             | `idle`    | `i`  | 1     |                 |
//! | a task created       | `create`           | `create`  | `i`  | 1     | `task`          |
//! | an M parked          | `park`, `reactor`  | `m`       | `X`  | 2     |                 |
//!
//! Task ids are strings (`"0x…"`); `end` is one of the [`end`] names;
//! `from_m` is -1 when the recorder did not know the M.

/// The process id of the Ps' lanes (and the GRQ lane).
pub const PID_PROCS: u64 = 1;

/// The process id of the Ms' lanes.
pub const PID_MACHINES: u64 = 2;

/// Keys of the top-level object and of every event.
pub mod field {
    /// The top-level array of events.
    pub const TRACE_EVENTS: &str = "traceEvents";
    /// The top-level object of gmp's own data.
    pub const OTHER_DATA: &str = "otherData";
    /// In `otherData`: events lost because a ring was full.
    pub const DROPPED_EVENTS: &str = "dropped_events";
    /// The top-level display unit (always [`DISPLAY_NS`]).
    pub const DISPLAY_TIME_UNIT: &str = "displayTimeUnit";
    /// The value of [`DISPLAY_TIME_UNIT`].
    pub const DISPLAY_NS: &str = "ns";
    /// The event's name (see [`event`](super::event)).
    pub const NAME: &str = "name";
    /// The event's category.
    pub const CAT: &str = "cat";
    /// The event's phase (see [`phase`](super::phase)).
    pub const PH: &str = "ph";
    /// An instant's scope.
    pub const SCOPE: &str = "s";
    /// The event's process: [`PID_PROCS`](super::PID_PROCS) or
    /// [`PID_MACHINES`](super::PID_MACHINES).
    pub const PID: &str = "pid";
    /// The event's lane within its process.
    pub const TID: &str = "tid";
    /// Start time, µs.
    pub const TS: &str = "ts";
    /// A span's length, µs.
    pub const DUR: &str = "dur";
    /// The event's arguments (see [`arg`](super::arg)).
    pub const ARGS: &str = "args";
}

/// Values of [`field::PH`] (and [`field::SCOPE`]).
pub mod phase {
    /// A span with a `dur`.
    pub const COMPLETE: &str = "X";
    /// An instant.
    pub const INSTANT: &str = "i";
    /// Metadata (lane names).
    pub const METADATA: &str = "M";
    /// The scope of every instant: its thread (lane).
    pub const THREAD_SCOPE: &str = "t";
}

/// Metadata names and the lane names the recorder writes.
pub mod meta {
    /// Names a process (`args.name`).
    pub const PROCESS_NAME: &str = "process_name";
    /// Names a lane (`args.name`).
    pub const THREAD_NAME: &str = "thread_name";
    /// The name of process [`PID_PROCS`](super::PID_PROCS).
    pub const PROCS: &str = "Ps";
    /// The name of process [`PID_MACHINES`](super::PID_MACHINES).
    pub const MACHINES: &str = "Ms";
    /// A P's lane is named this followed by its index.
    pub const P_PREFIX: &str = "P";
    /// An M's lane is named this followed by its id.
    pub const M_PREFIX: &str = "M";
    /// The name of the GRQ lane (tid = the number of Ps).
    pub const GRQ_LANE: &str = "GRQ (wakes off a P)";
}

/// Event names and categories.
pub mod event {
    /// A poll's name is this followed by the task's id.
    pub const TASK_PREFIX: &str = "task ";
    /// The category of a poll.
    pub const TASK_CAT: &str = "task";
    /// A task was woken.
    pub const WAKE: &str = "wake";
    /// A P stole from another.
    pub const STEAL: &str = "steal";
    /// An LRQ spilled to the GRQ.
    pub const SPILL: &str = "spill";
    /// A P was taken from its blocked M.
    pub const HANDOFF: &str = "handoff";
    /// A P went idle.
    pub const IDLE: &str = "idle";
    /// A task was created.
    pub const CREATE: &str = "create";
    /// An M parked on its own condvar.
    pub const PARK: &str = "park";
    /// An M blocked in the reactor.
    pub const REACTOR: &str = "reactor";
    /// The category of [`PARK`] and [`REACTOR`].
    pub const M_CAT: &str = "m";
}

/// Keys of an event's `args`.
pub mod arg {
    /// A lane's or process's name, in metadata.
    pub const NAME: &str = "name";
    /// The task's id.
    pub const TASK: &str = "task";
    /// How a poll ended (see [`end`](super::end)).
    pub const END: &str = "end";
    /// The victim P of a steal.
    pub const FROM: &str = "from";
    /// How many tasks a steal or spill moved.
    pub const TASKS: &str = "tasks";
    /// The M that lost the P in a handoff (-1: not known).
    pub const FROM_M: &str = "from_m";
}

/// Values of [`arg::END`].
pub mod end {
    /// The task woke itself (a yield).
    pub const YIELD: &str = "yield";
    /// It returned `Pending`, waiting for a wake-up.
    pub const BLOCKED: &str = "blocked";
    /// It completed.
    pub const DONE: &str = "done";
    /// Written by older runtimes that could not tell blocked from done.
    pub const BLOCKED_OR_DONE: &str = "blocked_or_done";
}
