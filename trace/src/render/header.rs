//! The header above the axis: the title, the event counts, the window, and
//! a red warning when the recorder dropped events.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::layout::Scale;
use super::svg::{esc, n, plural};
use crate::{axis, EventKind, Lane, Options, Trace, PID_MACHINES, PID_PROCS};

/// What the header says about the window.
pub(super) struct Window<'a> {
    /// The window's scale.
    pub(super) scale: &'a Scale,
    /// Task polls that overlap the window.
    pub(super) runs: usize,
    /// Whether they are so many that spans closer than a pixel are merged.
    pub(super) merge: bool,
}

/// Draws the header of `trace` in a drawing `width` px wide; returns the y
/// below it.
pub(super) fn draw(
    out: &mut String,
    trace: &Trace,
    opts: &Options,
    window: &Window<'_>,
    width: f64,
) -> f64 {
    let title = match &opts.title {
        Some(t) => format!("gmp trace — {}", esc(t)),
        None => "gmp trace".into(),
    };
    let _ = writeln!(
        out,
        r#"<text x="12" y="24" font-size="17" font-weight="bold">{title}</text>"#
    );
    let mut y = 44.0;
    for line in wrap(&count_items(trace), " · ", width - 24.0, 6.6) {
        let _ = writeln!(
            out,
            r#"<text class="counts" x="12" y="{y}" font-size="12">{}</text>"#,
            esc(&line)
        );
        y += 16.0;
    }
    let _ = writeln!(
        out,
        r##"<text class="window" x="12" y="{y}" font-size="12" fill="#495057">{}</text>"##,
        esc(&window_line(window, opts.merge_threshold))
    );
    y += 8.0;
    if trace.dropped_events > 0 {
        dropped_warning(out, trace.dropped_events, y, width);
        y += 28.0;
    }
    y + 10.0
}

/// The counts of lanes and events, one item each.
fn count_items(trace: &Trace) -> Vec<String> {
    let c = Counts::of(trace);
    // The GRQ lane is among the Ps' lanes but is no P.
    let count_of = |pid| {
        let lanes = trace.lanes.iter().filter(|l| l.pid == pid && !l.is_grq());
        lanes.count()
    };
    let mut p_lanes = plural(count_of(PID_PROCS), "P lane", "P lanes");
    if trace.lanes.iter().any(Lane::is_grq) {
        p_lanes.push_str(" + GRQ lane");
    }
    let mut items = vec![
        p_lanes,
        plural(count_of(PID_MACHINES), "M lane", "M lanes"),
        format!(
            "{} of {}",
            plural(c.runs, "poll", "polls"),
            plural(c.tasks, "task", "tasks")
        ),
        format!(
            "{} ({})",
            plural(c.steals, "steal", "steals"),
            plural(c.stolen, "task", "tasks")
        ),
        format!(
            "{} ({})",
            plural(c.spills, "spill", "spills"),
            plural(c.spilled, "task", "tasks")
        ),
        plural(c.handoffs, "handoff", "handoffs"),
        plural(c.idles, "idle", "idles"),
        plural(c.creates, "create", "creates"),
        plural(c.wakes, "wake", "wakes"),
        plural(c.parks, "M park", "M parks"),
        plural(c.reactor, "reactor wait", "reactor waits"),
    ];
    if c.other > 0 {
        items.push(plural(c.other, "unknown event", "unknown events"));
    }
    items.push(format!("{} dropped", n(trace.dropped_events as usize)));
    items
}

/// `window 1 ms – 2 ms (1 ms), 40 polls in it`, and a note when merging.
fn window_line(window: &Window<'_>, merge_threshold: usize) -> String {
    let scale = window.scale;
    let mut line = format!(
        "window {} – {} ({}), {} polls in it",
        axis::human(scale.t0),
        axis::human(scale.t1),
        axis::human(scale.t1 - scale.t0),
        n(window.runs),
    );
    if window.merge {
        let _ = write!(
            line,
            "; more than {}, so polls closer than 1 px are merged (hover a span for what it holds)",
            n(merge_threshold)
        );
    }
    line
}

/// The red banner saying that `dropped` events were lost, at `y`.
fn dropped_warning(out: &mut String, dropped: u64, y: f64, width: f64) {
    let msg = format!(
        "⚠ {} events were dropped: a recorder ring overflowed and lost its oldest events, so the start of some lanes is missing",
        n(dropped as usize)
    );
    let _ = writeln!(
        out,
        r##"<g class="dropped"><rect x="8" y="{:.1}" width="{:.1}" height="22" rx="3" fill="#fff5f5" stroke="#e03131"/><text x="16" y="{:.1}" font-size="12" font-weight="bold" fill="#c92a2a">{}</text></g>"##,
        y,
        width - 16.0,
        y + 15.5,
        esc(&msg)
    );
}

/// Splits `items` into lines joined by `sep` of at most `max` px, guessing
/// `char_px` per character.
fn wrap(items: &[String], sep: &str, max: f64, char_px: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in items {
        let len = (line.chars().count() + sep.len() + item.chars().count()) as f64;
        if !line.is_empty() && len * char_px > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str(sep);
        }
        line.push_str(item);
    }
    lines.push(line);
    lines
}

/// Event counts for the header.
#[derive(Default)]
struct Counts {
    /// Task polls.
    runs: usize,
    /// Distinct tasks polled.
    tasks: usize,
    /// Steal events.
    steals: usize,
    /// Tasks they took.
    stolen: usize,
    /// Spill events.
    spills: usize,
    /// Tasks they moved.
    spilled: usize,
    /// Handoffs.
    handoffs: usize,
    /// Times a P went idle.
    idles: usize,
    /// Task creations.
    creates: usize,
    /// Wakes.
    wakes: usize,
    /// M parks.
    parks: usize,
    /// M reactor waits.
    reactor: usize,
    /// Events this reader does not know.
    other: usize,
}

impl Counts {
    fn of(trace: &Trace) -> Counts {
        let mut c = Counts::default();
        let mut tasks = HashSet::new();
        for e in &trace.events {
            match &e.kind {
                EventKind::Run { task, .. } => {
                    c.runs += 1;
                    tasks.insert(task.as_str());
                }
                EventKind::Steal { tasks, .. } => {
                    c.steals += 1;
                    c.stolen += tasks.unwrap_or(0) as usize;
                }
                EventKind::Spill { tasks } => {
                    c.spills += 1;
                    c.spilled += tasks.unwrap_or(0) as usize;
                }
                EventKind::Handoff { .. } => c.handoffs += 1,
                EventKind::Idle => c.idles += 1,
                EventKind::Create { .. } => c.creates += 1,
                EventKind::Wake { .. } => c.wakes += 1,
                EventKind::Park { reactor: true, .. } => c.reactor += 1,
                EventKind::Park { .. } => c.parks += 1,
                EventKind::Other { .. } => c.other += 1,
            }
        }
        c.tasks = tasks.len();
        c
    }
}
