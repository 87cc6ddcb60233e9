//! Reading the Chrome trace-event JSON that `executor/src/trace.rs` writes.
//!
//! The format (fields, event names, values) is defined once, in
//! `gmp_executor::trace_format`, and both sides use its constants. The file
//! is `{"traceEvents":[…],"otherData":{"dropped_events":n}}` (a bare array of
//! events is accepted too). Events are recognised by `name`: `task …` spans
//! (`cat` "task"), `steal`, `spill`, `handoff`, `idle`, `create`, `wake` on
//! the Ps (pid 1), `park` / `reactor` on the Ms (pid 2). `process_name` /
//! `thread_name` metadata names the lanes.
//!
//! Tolerance: unknown fields are ignored; unknown events with a phase that
//! has a time (`X`, `i`, `I`, `n`, `R`) become `EventKind::Other`; other
//! phases (`B`/`E`, counters, flows, …) are skipped; missing `args` become
//! `None`. Errors are kept for what cannot be drawn: invalid JSON, no event
//! list, an event that is not an object or lacks `ph`, `pid`, `tid`, `ts` or
//! (for a span) `dur`. Each error names the event by index and name.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::format::{arg, event, field, meta, phase};
use crate::{End, Event, EventKind, Lane, Trace, PID_MACHINES, PID_PROCS};

/// Why a trace could not be read. Its `Display` says what is wrong and where,
/// in words meant for the person who passed the file.
///
/// ```
/// let err = gmp_trace::parse(r#"{"traceEvents":[{"ph":"X","pid":1,"tid":0}]}"#).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"event #0 ("?") has no "ts" (a number of microseconds)"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Parses a gmp trace (Chrome trace-event JSON).
///
/// ```
/// use gmp_trace::{EventKind, End};
/// let trace = gmp_trace::parse(r#"{"displayTimeUnit":"ns","traceEvents":[
///   {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
///   {"name":"task 0xa0","cat":"task","ph":"X","pid":1,"tid":0,"ts":0.5,"dur":1.25,
///    "args":{"task":"0xa0","end":"blocked"}},
///   {"name":"spill","cat":"spill","ph":"i","s":"t","pid":1,"tid":0,"ts":2,"args":{"tasks":129}}
/// ],"otherData":{"dropped_events":0}}"#)?;
/// assert_eq!(trace.events.len(), 2);
/// assert_eq!(trace.events[1].kind, EventKind::Spill { tasks: Some(129) });
///
/// let err = gmp_trace::parse("{\"traceEvents\": [").unwrap_err();
/// assert!(err.to_string().starts_with("not valid JSON"), "{err}");
/// # Ok::<(), gmp_trace::Error>(())
/// ```
pub fn parse(json: &str) -> Result<Trace, Error> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| Error::new(format!("not valid JSON: {e}")))?;
    let (events, other) = match &root {
        Value::Array(events) => (events, None),
        Value::Object(obj) => match obj.get(field::TRACE_EVENTS) {
            Some(Value::Array(events)) => (events, obj.get(field::OTHER_DATA)),
            Some(v) => {
                return Err(Error::new(format!(
                    "\"{}\" is {}, not an array of events",
                    field::TRACE_EVENTS,
                    describe(v)
                )))
            }
            None => {
                return Err(Error::new(format!(
                    "no \"{}\" array at the top level (is this a GMP_TRACE file?)",
                    field::TRACE_EVENTS
                )))
            }
        },
        v => {
            return Err(Error::new(format!(
                "the top level is {}, not an object with a \"{}\" array",
                describe(v),
                field::TRACE_EVENTS
            )))
        }
    };

    let mut trace = Trace {
        dropped_events: other
            .and_then(|o| o.get(field::DROPPED_EVENTS))
            .and_then(as_count)
            .unwrap_or(0),
        ..Trace::default()
    };
    let mut names: BTreeMap<(u64, u64), Option<String>> = BTreeMap::new();
    for (index, value) in events.iter().enumerate() {
        let Value::Object(obj) = value else {
            return Err(Error::new(format!(
                "event #{index} is {}, not an object",
                describe(value)
            )));
        };
        let ev = Raw { index, obj };
        let ph = ev
            .str(field::PH)
            .ok_or_else(|| ev.error(&format!("has no \"{}\" (phase)", field::PH)))?;
        match ph {
            phase::METADATA => ev.metadata(&mut trace, &mut names)?,
            // Phases with a time: gmp writes the first two.
            phase::COMPLETE | phase::INSTANT | "I" | "n" | "R" => {
                let event = ev.event(ph == phase::COMPLETE)?;
                names.entry((event.pid, event.tid)).or_insert(None);
                trace.events.push(event);
            }
            // Begin/end pairs, counters, flows, …: not written by gmp.
            _ => {}
        }
    }
    trace.lanes = names
        .into_iter()
        .map(|((pid, tid), name)| Lane {
            pid,
            tid,
            name: name.unwrap_or_else(|| match pid {
                PID_PROCS => format!("{}{tid}", meta::P_PREFIX),
                PID_MACHINES => format!("{}{tid}", meta::M_PREFIX),
                _ => format!("{pid}/{tid}"),
            }),
        })
        .collect();
    Ok(trace)
}

/// One event object of the file, with its index for error messages.
struct Raw<'a> {
    index: usize,
    obj: &'a Map<String, Value>,
}

impl Raw<'_> {
    fn error(&self, what: &str) -> Error {
        let name = self.str(field::NAME).unwrap_or("?");
        Error::new(format!("event #{} ({name:?}) {what}", self.index))
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.obj.get(key).and_then(Value::as_str)
    }

    fn arg(&self, key: &str) -> Option<&Value> {
        self.obj.get(field::ARGS).and_then(|a| a.get(key))
    }

    fn id(&self, key: &str) -> Result<u64, Error> {
        match self.obj.get(key) {
            Some(v) => as_count(v).ok_or_else(|| {
                self.error(&format!("has \"{key}\": {v}, not a non-negative integer"))
            }),
            None => Err(self.error(&format!("has no \"{key}\""))),
        }
    }

    fn time(&self, key: &str) -> Result<f64, Error> {
        match self.obj.get(key) {
            Some(v) => v
                .as_f64()
                .filter(|t| t.is_finite())
                .ok_or_else(|| self.error(&format!("has \"{key}\": {v}, not a number"))),
            None => Err(self.error(&format!("has no \"{key}\" (a number of microseconds)"))),
        }
    }

    /// A `process_name` / `thread_name` record; other metadata is ignored.
    fn metadata(
        &self,
        trace: &mut Trace,
        names: &mut BTreeMap<(u64, u64), Option<String>>,
    ) -> Result<(), Error> {
        let Some(name) = self.arg(arg::NAME).and_then(Value::as_str) else {
            return Ok(());
        };
        match self.str(field::NAME) {
            Some(meta::PROCESS_NAME) => {
                let pid = self.id(field::PID)?;
                trace.processes.retain(|(p, _)| *p != pid);
                trace.processes.push((pid, name.to_owned()));
            }
            Some(meta::THREAD_NAME) => {
                let key = (self.id(field::PID)?, self.id(field::TID)?);
                names.insert(key, Some(name.to_owned()));
            }
            _ => {}
        }
        Ok(())
    }

    /// A span (`complete`) or an instant.
    fn event(&self, complete: bool) -> Result<Event, Error> {
        let ts = self.time(field::TS)?;
        let pid = self.id(field::PID)?;
        let tid = self.id(field::TID)?;
        let dur = if complete {
            Some(self.time(field::DUR)?.max(0.0))
        } else {
            None
        };
        let name = self.str(field::NAME).unwrap_or("");
        let task = || {
            self.arg(arg::TASK)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let count = |key| self.arg(key).and_then(as_count);
        let kind = match (name, self.str(field::CAT)) {
            (_, Some(event::TASK_CAT)) if complete => run(name, task(), dur, self),
            (n, None) if complete && n.starts_with(event::TASK_PREFIX) => {
                run(name, task(), dur, self)
            }
            (event::STEAL, _) => EventKind::Steal {
                from: count(arg::FROM),
                tasks: count(arg::TASKS),
            },
            (event::SPILL, _) => EventKind::Spill {
                tasks: count(arg::TASKS),
            },
            // `from_m` is written as -1 when the recorder did not know the M.
            (event::HANDOFF, _) => EventKind::Handoff {
                from_m: count(arg::FROM_M),
            },
            (event::IDLE, _) => EventKind::Idle,
            (event::CREATE, _) => EventKind::Create { task: task() },
            (event::WAKE, _) => EventKind::Wake { task: task() },
            (event::PARK | event::REACTOR, _) => EventKind::Park {
                dur,
                reactor: name == event::REACTOR,
            },
            _ => EventKind::Other {
                name: name.to_owned(),
                cat: self.str(field::CAT).map(str::to_owned),
                dur,
            },
        };
        Ok(Event { pid, tid, ts, kind })
    }
}

/// A task span: its task from `args.task`, else from the name `task 0x…`.
fn run(name: &str, task: Option<String>, dur: Option<f64>, raw: &Raw<'_>) -> EventKind {
    let end = raw
        .arg(arg::END)
        .and_then(Value::as_str)
        .map_or(End::Unknown, End::from_name);
    let from_name = || name.strip_prefix(event::TASK_PREFIX).unwrap_or(name);
    EventKind::Run {
        task: task.unwrap_or_else(|| from_name().to_owned()),
        dur: dur.unwrap_or(0.0),
        end,
    }
}

/// A non-negative integer (also accepted as an integral float: `3.0`).
fn as_count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// "a string", "an array", … for error messages.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handoff_from_unknown_m_has_no_m() {
        let t = parse(
            r#"{"traceEvents":[{"name":"handoff","ph":"i","pid":1,"tid":0,"ts":1,"args":{"from_m":-1}}]}"#,
        )
        .unwrap();
        assert_eq!(
            t.events[0].kind,
            EventKind::Handoff { from_m: None },
            "from_m -1 means the recorder did not know the M"
        );
    }

    #[test]
    fn task_id_falls_back_to_the_span_name() {
        let t =
            parse(r#"[{"name":"task 0xbeef","ph":"X","pid":1,"tid":0,"ts":1,"dur":2}]"#).unwrap();
        assert_eq!(
            t.events[0].kind,
            EventKind::Run {
                task: "0xbeef".into(),
                dur: 2.0,
                end: End::Unknown
            }
        );
    }

    #[test]
    fn unknown_phases_are_skipped() {
        let t = parse(r#"[{"name":"x","ph":"C","pid":1,"tid":0,"ts":1,"args":{"n":3}}]"#).unwrap();
        assert!(t.events.is_empty(), "a counter event should be skipped");
    }

    #[test]
    fn bad_pid_is_named() {
        let err = parse(r#"[{"name":"idle","ph":"i","pid":"one","tid":0,"ts":1}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"event #0 ("idle") has "pid": "one", not a non-negative integer"#
        );
    }
}
