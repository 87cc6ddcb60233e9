//! Drawing a [`Trace`] as an SVG timeline.
//!
//! Layout, top to bottom: the header (title, event counts, the window, a red
//! warning when events were dropped), the time axis, then per process (Ps,
//! then Ms) a header row and one lane per thread, then the legend.
//!
//! A P lane (36 px) has three rows: a strip of ticks for task creations and
//! wakes (with the spill ▼ and handoff ◆ markers over it), the band of task
//! polls (idle ○ markers in its middle), and a row of ticks at the end of each
//! poll coloured by how it ended. Steal arrows run between lane centres. An M
//! lane (22 px) is a band of park / reactor spans.
//!
//! Size: every instant marker is drawn at most once per pixel column (per
//! `MARK_PX` columns for symbols) and lane, with the counts summed into it,
//! so markers cost O(width × lanes). Spans
//! are drawn one by one, with a tooltip, unless the window holds more than
//! `Options::merge_threshold` polls: then the spans of a lane closer than a
//! pixel are merged into one (coloured by its longest poll), which bounds them
//! by O(width × lanes) too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use crate::axis;
use crate::{End, Event, EventKind, Trace, PID_MACHINES, PID_PROCS};

/// How to draw a trace.
///
/// ```
/// let opts = gmp_trace::Options {
///     width: 1200,
///     from: Some(100.0),
///     to: Some(250.0),
///     title: Some("trace.json".into()),
///     ..gmp_trace::Options::default()
/// };
/// assert_eq!(opts.merge_threshold, 20_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Width of the SVG in pixels (at least 400 is used); the default is 1600.
    pub width: u32,
    /// Start of the window, in µs since the runtime started; the first event
    /// when `None`.
    pub from: Option<f64>,
    /// End of the window, in µs; the end of the last event when `None`.
    pub to: Option<f64>,
    /// What the title names (the file); "gmp trace" alone when `None`.
    pub title: Option<String>,
    /// Above this many task polls in the window, the polls of a lane that
    /// lie closer than a pixel are merged into one span. Default 20,000.
    pub merge_threshold: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: 1600,
            from: None,
            to: None,
            title: None,
            merge_threshold: 20_000,
        }
    }
}

/// Draws `trace` as a standalone SVG document.
///
/// ```
/// let trace = gmp_trace::parse(r#"{"traceEvents":[
///   {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
///   {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"P1"}},
///   {"name":"task 0x10","cat":"task","ph":"X","pid":1,"tid":0,"ts":0,"dur":40,
///    "args":{"task":"0x10","end":"yield"}},
///   {"name":"steal","cat":"steal","ph":"i","s":"t","pid":1,"tid":1,"ts":20,
///    "args":{"from":0,"tasks":4}}
/// ]}"#)?;
/// let svg = gmp_trace::render_svg(&trace, &gmp_trace::Options::default());
/// assert!(svg.contains(">P1</text>"));
/// assert!(svg.contains(r#"class="steal""#));
/// assert!(svg.contains("<title>task 0x10"));
/// # Ok::<(), gmp_trace::Error>(())
/// ```
pub fn render_svg(trace: &Trace, opts: &Options) -> String {
    let width = f64::from(opts.width.max(MIN_WIDTH));
    let (t0, t1) = window(trace, opts);
    let scale = Scale {
        t0,
        t1,
        x0: LEFT,
        width: width - LEFT - RIGHT,
    };
    let mut out = String::with_capacity(1 << 16);

    // Task polls in the window, per lane: decides merging and the header.
    let lane_of = |e: &Event| trace.lane_index(e.pid, e.tid);
    let mut runs_in_window = 0usize;
    for e in &trace.events {
        if matches!(e.kind, EventKind::Run { .. }) && scale.overlaps(e) {
            runs_in_window += 1;
        }
    }
    let merge = runs_in_window > opts.merge_threshold;

    let mut y = header(&mut out, trace, opts, &scale, width, runs_in_window, merge);

    // Lane geometry.
    let axis_y = y + 16.0;
    y = axis_y + 8.0;
    let mut geoms = Vec::with_capacity(trace.lanes.len());
    let mut groups = Vec::new();
    for lane in &trace.lanes {
        if groups.last().map(|&(pid, _)| pid) != Some(lane.pid) {
            groups.push((lane.pid, y));
            y += GROUP_H;
        }
        let proc_lane = lane.pid == PID_PROCS;
        let h = if proc_lane { P_LANE_H } else { M_LANE_H };
        geoms.push(Geom { y, h, proc_lane });
        y += h;
    }
    let lanes_bottom = y;

    // Backgrounds, names, grid and axis.
    for (i, (lane, g)) in trace.lanes.iter().zip(&geoms).enumerate() {
        let _ = write!(
            out,
            r##"<g class="lane" data-lane="{name}"><rect x="0" y="{y:.1}" width="{width}" height="{h}" fill="{bg}"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{name}</text></g>"##,
            name = esc(&lane.name),
            y = g.y,
            h = g.h,
            bg = if i % 2 == 0 { "#f8f9fa" } else { "#eef0f2" },
            tx = LEFT - 8.0,
            ty = g.center() + 4.0,
        );
        out.push('\n');
    }
    for &(pid, gy) in &groups {
        let _ = writeln!(
            out,
            r##"<text x="8" y="{:.1}" font-weight="bold" font-size="12">{}</text><line x1="0" y1="{gy:.1}" x2="{width}" y2="{gy:.1}" stroke="#adb5bd"/>"##,
            gy + 13.0,
            esc(&trace.process_name(pid)),
        );
    }
    axis_and_grid(&mut out, &scale, axis_y, lanes_bottom);

    // Spans: task polls on the P lanes, parks on the M lanes, unknown spans.
    let mut spans: Vec<Vec<Piece<'_>>> = vec![Vec::new(); trace.lanes.len()];
    for e in &trace.events {
        let Some(lane) = lane_of(e) else { continue };
        let piece = match &e.kind {
            EventKind::Run { task, dur, end } => Piece {
                ts: e.ts,
                end_time: e.ts + dur,
                fill: task_colour(task),
                what: What::Run {
                    task,
                    dur: *dur,
                    end: *end,
                },
            },
            EventKind::Park {
                dur: Some(dur),
                reactor,
            } => Piece {
                ts: e.ts,
                end_time: e.ts + dur,
                fill: if *reactor { REACTOR } else { PARK }.into(),
                what: What::Park {
                    dur: *dur,
                    reactor: *reactor,
                },
            },
            EventKind::Other {
                name,
                dur: Some(dur),
                ..
            } => Piece {
                ts: e.ts,
                end_time: e.ts + dur,
                fill: OTHER.into(),
                what: What::Other { name, dur: *dur },
            },
            _ => continue,
        };
        if scale.overlaps(e) {
            spans[lane].push(piece);
        }
    }
    for (lane, pieces) in spans.iter_mut().enumerate() {
        if pieces.is_empty() {
            continue;
        }
        pieces.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        draw_spans(
            &mut out,
            &trace.lanes[lane].name,
            pieces,
            &geoms[lane],
            &scale,
            merge,
        );
    }

    let marks = Marks::collect(trace, &scale);
    marks.draw(&mut out, trace, &geoms);

    let height = legend(&mut out, lanes_bottom + 14.0, width);

    let mut svg = String::with_capacity(out.len() + 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11" fill="#212529">
<defs><marker id="steal-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{STEAL}"/></marker><marker id="handoff-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{HANDOFF}"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
"##
    );
    svg.push_str(&out);
    svg.push_str("</svg>\n");
    svg
}

/// Narrowest drawing we make, in pixels.
const MIN_WIDTH: u32 = 400;
/// The lane-name column.
const LEFT: f64 = 150.0;
/// Margin right of the plot.
const RIGHT: f64 = 24.0;
/// A process's header row.
const GROUP_H: f64 = 18.0;
/// A P lane: creation/wake strip, poll band, end-tick row.
const P_LANE_H: f64 = 36.0;
/// An M (or other) lane: one band.
const M_LANE_H: f64 = 22.0;

/// Symbol markers (idle, spill, handoff) of a lane closer than this many
/// pixels are drawn as one.
const MARK_PX: i64 = 6;

const STEAL: &str = "#c92a2a";
const SPILL: &str = "#e8590c";
const HANDOFF: &str = "#7048e8";
const IDLE: &str = "#495057";
const CREATE: &str = "#2b8a3e";
const WAKE: &str = "#15aabf";
const PARK: &str = "#adb5bd";
const REACTOR: &str = "#74c0fc";
const OTHER: &str = "#868e96";

/// The colour of an end-of-poll tick.
fn end_colour(end: End) -> &'static str {
    match end {
        End::Yield => "#1971c2",
        End::Blocked => "#e03131",
        End::Done => "#2f9e44",
        End::BlockedOrDone => "#f08c00",
        End::Unknown => "#868e96",
    }
}

/// Time → x.
struct Scale {
    t0: f64,
    t1: f64,
    x0: f64,
    width: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        self.x0 + (t - self.t0) / (self.t1 - self.t0) * self.width
    }

    /// The pixel column of `t`, for de-duplicating markers.
    fn column(&self, t: f64) -> i64 {
        self.x(t).round() as i64
    }

    fn contains(&self, t: f64) -> bool {
        t >= self.t0 && t <= self.t1
    }

    fn overlaps(&self, e: &Event) -> bool {
        e.ts <= self.t1 && e.end_time() >= self.t0
    }
}

/// Where a lane is drawn.
struct Geom {
    y: f64,
    h: f64,
    /// A P lane (strip, band, end row) rather than a plain band.
    proc_lane: bool,
}

impl Geom {
    fn center(&self) -> f64 {
        if self.proc_lane {
            self.band().0 + 8.0
        } else {
            self.y + self.h / 2.0
        }
    }

    /// Top and height of the span band.
    fn band(&self) -> (f64, f64) {
        if self.proc_lane {
            (self.y + 10.0, 16.0)
        } else {
            (self.y + 4.0, self.h - 8.0)
        }
    }

    /// Top of the creation/wake strip (6 px).
    fn strip(&self) -> f64 {
        self.y + 2.0
    }

    /// Top of the end-tick row (6 px).
    fn end_row(&self) -> f64 {
        self.y + 27.0
    }
}

/// The window `[t0, t1]` in µs: the options, else the extent of the events.
fn window(trace: &Trace, opts: &Options) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for e in &trace.events {
        lo = lo.min(e.ts);
        hi = hi.max(e.end_time());
    }
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    let t0 = opts.from.unwrap_or(lo);
    let mut t1 = opts.to.unwrap_or(hi);
    if t1 <= t0 {
        t1 = t0 + 1.0;
    }
    (t0, t1)
}

/// The title, the counts, the window and the dropped-events warning; returns
/// the y below them.
fn header(
    out: &mut String,
    trace: &Trace,
    opts: &Options,
    scale: &Scale,
    width: f64,
    runs_in_window: usize,
    merge: bool,
) -> f64 {
    let title = match &opts.title {
        Some(t) => format!("gmp trace — {}", esc(t)),
        None => "gmp trace".into(),
    };
    let _ = writeln!(
        out,
        r#"<text x="12" y="24" font-size="17" font-weight="bold">{title}</text>"#
    );

    let c = Counts::of(trace);
    let count_of = |pid| trace.lanes.iter().filter(|l| l.pid == pid).count();
    let mut items = vec![
        plural(count_of(PID_PROCS), "P lane", "P lanes"),
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
    let mut y = 44.0;
    for line in wrap(&items, " · ", width - 24.0, 6.6) {
        let _ = writeln!(
            out,
            r#"<text class="counts" x="12" y="{y}" font-size="12">{}</text>"#,
            esc(&line)
        );
        y += 16.0;
    }

    let mut window = format!(
        "window {} – {} ({}), {} polls in it",
        axis::human(scale.t0),
        axis::human(scale.t1),
        axis::human(scale.t1 - scale.t0),
        n(runs_in_window),
    );
    if merge {
        let _ = write!(
            window,
            "; more than {}, so polls closer than 1 px are merged (hover a span for what it holds)",
            n(opts.merge_threshold)
        );
    }
    let _ = writeln!(
        out,
        r##"<text class="window" x="12" y="{y}" font-size="12" fill="#495057">{}</text>"##,
        esc(&window)
    );
    y += 8.0;

    if trace.dropped_events > 0 {
        let msg = format!(
            "⚠ {} events were dropped: a recorder ring overflowed and lost its oldest events, so the start of some lanes is missing",
            n(trace.dropped_events as usize)
        );
        let _ = writeln!(
            out,
            r##"<g class="dropped"><rect x="8" y="{:.1}" width="{:.1}" height="22" rx="3" fill="#fff5f5" stroke="#e03131"/><text x="16" y="{:.1}" font-size="12" font-weight="bold" fill="#c92a2a">{}</text></g>"##,
            y,
            width - 16.0,
            y + 15.5,
            esc(&msg)
        );
        y += 28.0;
    }
    y + 10.0
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

/// Ticks and labels above the lanes, grid lines through them.
fn axis_and_grid(out: &mut String, scale: &Scale, axis_y: f64, bottom: f64) {
    let step = axis::nice_step(scale.t1 - scale.t0, scale.width, 90.0);
    let _ = writeln!(
        out,
        r##"<line x1="{:.1}" y1="{axis_y}" x2="{:.1}" y2="{axis_y}" stroke="#495057"/>"##,
        scale.x0,
        scale.x0 + scale.width,
    );
    out.push_str(r#"<g class="axis">"#);
    for t in axis::ticks(scale.t0, scale.t1, step) {
        let x = scale.x(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#ced4da" stroke-width="0.6"/><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{axis_y}" stroke="#495057"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"##,
            axis_y,
            axis_y - 4.0,
            axis_y - 6.0,
            axis::tick_label(t, step),
        );
    }
    out.push_str("</g>\n");
}

/// A span to draw: a task poll, a park, an unknown span.
#[derive(Clone)]
struct Piece<'a> {
    ts: f64,
    end_time: f64,
    fill: String,
    what: What<'a>,
}

#[derive(Clone, Copy)]
enum What<'a> {
    Run { task: &'a str, dur: f64, end: End },
    Park { dur: f64, reactor: bool },
    Other { name: &'a str, dur: f64 },
}

impl What<'_> {
    fn describe(&self, ts: f64) -> String {
        match *self {
            What::Run { task, dur, end } => format!(
                "task {task}: polled {} at {}, {}",
                axis::human(dur),
                axis::human(ts),
                end.label()
            ),
            What::Park { dur, reactor } => format!(
                "{} {} at {}",
                if reactor {
                    "waited in the reactor"
                } else {
                    "parked"
                },
                axis::human(dur),
                axis::human(ts)
            ),
            What::Other { name, dur } => {
                format!("{name}: {} at {}", axis::human(dur), axis::human(ts))
            }
        }
    }

    fn dur(&self) -> f64 {
        match *self {
            What::Run { dur, .. } | What::Park { dur, .. } | What::Other { dur, .. } => dur,
        }
    }
}

/// The spans of one lane, sorted by start; merged when `merge`.
fn draw_spans(
    out: &mut String,
    lane: &str,
    pieces: &[Piece<'_>],
    geom: &Geom,
    scale: &Scale,
    merge: bool,
) {
    let (band_y, band_h) = geom.band();
    let mut ends: BTreeMap<End, BTreeSet<i64>> = BTreeMap::new();
    let _ = write!(out, r#"<g class="spans" data-lane="{}">"#, esc(lane));
    let clip = |p: &Piece<'_>| {
        let x0 = scale.x(p.ts.max(scale.t0));
        let x1 = scale.x(p.end_time.min(scale.t1));
        (x0, x1)
    };
    // The end of the spans drawn so far: a span that starts before it
    // overlaps an earlier one (a P's poll whose M blocked and lost the P goes
    // on while the P runs other tasks on another M) and is drawn half-height
    // in the lower half of the band, so both stay visible.
    let mut drawn_end = f64::NEG_INFINITY;
    let mut i = 0;
    while i < pieces.len() {
        let first = &pieces[i];
        let (x0, mut x1) = clip(first);
        let mut j = i + 1;
        let mut longest = first;
        let mut busy = first.what.dur();
        if merge {
            while j < pieces.len() {
                let (nx0, nx1) = clip(&pieces[j]);
                if nx0 - x1.max(x0 + 1.0) >= 1.0 {
                    break;
                }
                x1 = x1.max(nx1);
                busy += pieces[j].what.dur();
                if pieces[j].what.dur() > longest.what.dur() {
                    longest = &pieces[j];
                }
                j += 1;
            }
        }
        for p in &pieces[i..j] {
            if let What::Run { end, .. } = p.what {
                if p.end_time <= scale.t1 {
                    ends.entry(end)
                        .or_default()
                        .insert(scale.column(p.end_time));
                }
            }
        }
        let group_end = pieces[i..j]
            .iter()
            .map(|p| p.end_time)
            .fold(f64::NEG_INFINITY, f64::max);
        let nested = first.ts < drawn_end;
        drawn_end = drawn_end.max(group_end);
        let (y, h) = if nested {
            (band_y + band_h / 2.0, band_h / 2.0)
        } else {
            (band_y, band_h)
        };
        let mut tip = if j == i + 1 {
            first.what.describe(first.ts)
        } else {
            format!(
                "{} spans merged, {} busy in {} – {}; longest: {}",
                j - i,
                axis::human(busy),
                axis::human(first.ts),
                axis::human(group_end),
                longest.what.describe(longest.ts)
            )
        };
        if nested {
            tip.push_str(if matches!(first.what, What::Run { .. }) {
                "; overlaps an earlier poll on this lane, whose M blocked and lost the P"
            } else {
                "; overlaps an earlier span on this lane"
            });
        }
        let class = match first.what {
            What::Run { .. } => "run",
            What::Park { reactor: true, .. } => "reactor",
            What::Park { .. } => "park",
            What::Other { .. } => "other",
        };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h}" fill="{}"><title>{}</title></rect>"#,
            (x1 - x0).max(1.0),
            longest.fill,
            esc(&tip)
        );
        i = j;
    }
    let top = geom.end_row();
    for (end, columns) in &ends {
        let mut d = String::with_capacity(columns.len() * 12);
        for x in columns {
            let _ = write!(d, "M{x} {top:.0}v5");
        }
        let _ = write!(
            out,
            r#"<path class="end-{}" d="{d}" stroke="{}" stroke-width="1.5"/>"#,
            end.label().replace(' ', "-"),
            end_colour(*end)
        );
    }
    out.push_str("</g>\n");
}

/// The steals of one thief from one victim in one pixel column.
struct Stolen {
    steals: usize,
    tasks: u64,
    /// Time of the first.
    ts: f64,
}

/// The instant events in the window, one entry per lane and pixel column.
#[derive(Default)]
struct Marks {
    /// (lane, column) → tasks created.
    creates: BTreeMap<(usize, i64), usize>,
    /// (lane, column) → tasks woken.
    wakes: BTreeMap<(usize, i64), usize>,
    /// (lane, bucket of `MARK_PX` columns) → times the P went idle.
    idles: BTreeMap<(usize, i64), usize>,
    /// (lane, bucket) → (spills, tasks spilled).
    spills: BTreeMap<(usize, i64), (usize, u64)>,
    /// (lane, bucket, from M) → (handoffs, first time).
    handoffs: BTreeMap<(usize, i64, Option<u64>), (usize, f64)>,
    /// (column, thief lane, victim P) → what was stolen there.
    steals: BTreeMap<(i64, usize, Option<u64>), Stolen>,
    /// (lane, column) → (unknown instants, first name).
    others: BTreeMap<(usize, i64), (usize, String)>,
}

impl Marks {
    fn collect(trace: &Trace, scale: &Scale) -> Marks {
        let mut m = Marks::default();
        for e in &trace.events {
            if !scale.contains(e.ts) {
                continue;
            }
            let Some(lane) = trace.lane_index(e.pid, e.tid) else {
                continue;
            };
            let col = scale.column(e.ts);
            let bucket = col.div_euclid(MARK_PX);
            match &e.kind {
                EventKind::Create { .. } => *m.creates.entry((lane, col)).or_default() += 1,
                EventKind::Wake { .. } => *m.wakes.entry((lane, col)).or_default() += 1,
                EventKind::Idle => *m.idles.entry((lane, bucket)).or_default() += 1,
                EventKind::Spill { tasks } => {
                    let s = m.spills.entry((lane, bucket)).or_default();
                    s.0 += 1;
                    s.1 += tasks.unwrap_or(0);
                }
                EventKind::Handoff { from_m } => {
                    let h = m
                        .handoffs
                        .entry((lane, bucket, *from_m))
                        .or_insert((0, e.ts));
                    h.0 += 1;
                }
                EventKind::Steal { from, tasks } => {
                    let s = m.steals.entry((col, lane, *from)).or_insert(Stolen {
                        steals: 0,
                        tasks: 0,
                        ts: e.ts,
                    });
                    s.steals += 1;
                    s.tasks += tasks.unwrap_or(0);
                }
                EventKind::Park { dur: None, .. } | EventKind::Other { dur: None, .. } => {
                    let name = match &e.kind {
                        EventKind::Other { name, .. } => name.clone(),
                        _ => "park".into(),
                    };
                    m.others.entry((lane, col)).or_insert((0, name)).0 += 1;
                }
                _ => {}
            }
        }
        m
    }

    fn draw(&self, out: &mut String, trace: &Trace, geoms: &[Geom]) {
        // Creation, wake and unknown-instant ticks: one path per lane and kind.
        let mut paths: BTreeMap<(&str, usize), String> = BTreeMap::new();
        for (class, map, dy) in [("wakes", &self.wakes, 0.0), ("creates", &self.creates, 3.0)] {
            for &(lane, col) in map.keys() {
                let d = paths.entry((class, lane)).or_default();
                let _ = write!(d, "M{col} {:.0}v{}", geoms[lane].strip() + dy, 6.0 - dy);
            }
        }
        for &(lane, col) in self.others.keys() {
            let g = &geoms[lane];
            let d = paths.entry(("others", lane)).or_default();
            let _ = write!(d, "M{col} {:.0}v{:.0}", g.y + 1.0, g.h - 2.0);
        }
        for ((class, lane), d) in paths {
            let colour = match class {
                "wakes" => WAKE,
                "creates" => CREATE,
                _ => OTHER,
            };
            let _ = write!(
                out,
                r#"<path class="{class}" data-lane="{}" d="{d}" stroke="{colour}" stroke-width="1"/>"#,
                esc(&trace.lanes[lane].name)
            );
        }
        out.push('\n');

        let centre = |bucket: i64| bucket * MARK_PX + MARK_PX / 2;
        for (&(lane, bucket), &count) in &self.idles {
            let col = centre(bucket);
            let g = &geoms[lane];
            let _ = write!(
                out,
                r##"<circle class="idle" cx="{col}" cy="{:.1}" r="3" fill="#ffffff" stroke="{IDLE}" stroke-width="1.2"><title>{} went idle{}</title></circle>"##,
                g.center(),
                esc(&trace.lanes[lane].name),
                times(count),
            );
        }
        for (&(lane, bucket), &(count, tasks)) in &self.spills {
            let col = centre(bucket);
            let y = geoms[lane].strip();
            let _ = write!(
                out,
                r##"<path class="spill" d="M{:.1} {y:.1}h9l-4.5 7z" fill="{SPILL}" stroke="#ffffff" stroke-width="0.6"><title>{} spilled {} to the GRQ{}</title></path>"##,
                col as f64 - 4.5,
                esc(&trace.lanes[lane].name),
                plural(tasks as usize, "task", "tasks"),
                times(count),
            );
        }
        for (&(lane, bucket, from_m), &(count, ts)) in &self.handoffs {
            let col = centre(bucket);
            let g = &geoms[lane];
            let cy = g.strip() + 3.0;
            let m_lane = from_m.and_then(|m| trace.lane_index(PID_MACHINES, m));
            let from = match from_m {
                Some(m) => format!("M{m}"),
                None => "an unknown M".into(),
            };
            let _ = write!(
                out,
                r#"<g class="handoff"><title>{} handed over from {from}, blocked in a poll, at {}{}</title>"#,
                esc(&trace.lanes[lane].name),
                axis::human(ts),
                times(count),
            );
            if let Some(m) = m_lane {
                let my = geoms[m].center();
                let _ = write!(
                    out,
                    r#"<line x1="{col}" y1="{my:.1}" x2="{col}" y2="{:.1}" stroke="{HANDOFF}" stroke-width="1" stroke-dasharray="3 2" opacity="0.7" marker-end="url(#handoff-head)"/>"#,
                    cy + 4.0
                );
            }
            let _ = write!(
                out,
                r##"<path d="M{col} {:.1}l4.5 4.5l-4.5 4.5l-4.5 -4.5z" fill="{HANDOFF}" stroke="#ffffff" stroke-width="0.6"/></g>"##,
                cy - 4.5
            );
        }
        out.push('\n');

        // Steals last, over everything; labels skip when they would collide.
        let mut label_end: HashMap<(usize, bool), f64> = HashMap::new();
        let mut labelled: HashSet<(usize, i64)> = HashSet::new();
        for (&(col, thief, from), stolen) in &self.steals {
            let Stolen {
                steals: count,
                tasks,
                ts,
            } = *stolen;
            let to_y = geoms[thief].center();
            let victim = from.and_then(|p| trace.lane_index(PID_PROCS, p));
            let victim_name = match (victim, from) {
                (Some(v), _) => trace.lanes[v].name.clone(),
                (None, Some(p)) => format!("P{p}"),
                (None, None) => "an unknown P".into(),
            };
            let _ = write!(
                out,
                r#"<g class="steal"><title>{} stole {} from {} at {}{}</title>"#,
                esc(&trace.lanes[thief].name),
                plural(tasks as usize, "task", "tasks"),
                esc(&victim_name),
                axis::human(ts),
                times(count),
            );
            let down = match victim {
                Some(v) if v != thief => {
                    let from_y = geoms[v].center();
                    let down = from_y < to_y;
                    let tip = if down { to_y - 3.0 } else { to_y + 3.0 };
                    let _ = write!(
                        out,
                        r#"<line x1="{col}" y1="{from_y:.1}" x2="{col}" y2="{tip:.1}" stroke="{STEAL}" stroke-width="1.3" marker-end="url(#steal-head)"/>"#,
                    );
                    let _ = write!(
                        out,
                        r##"<circle cx="{col}" cy="{from_y:.1}" r="2" fill="{STEAL}"/>"##
                    );
                    down
                }
                _ => {
                    let _ = write!(
                        out,
                        r#"<circle cx="{col}" cy="{to_y:.1}" r="3" fill="{STEAL}"/>"#
                    );
                    true
                }
            };
            let label = n(tasks as usize);
            let lx = col as f64 + 3.0;
            let free = label_end.get(&(thief, down)).is_none_or(|&e| lx > e + 6.0);
            if free && labelled.insert((thief, col)) {
                let ly = if down { to_y - 7.0 } else { to_y + 14.0 };
                let _ = write!(
                    out,
                    r##"<text x="{lx:.1}" y="{ly:.1}" font-size="10" font-weight="bold" fill="{STEAL}" stroke="#ffffff" stroke-width="2.5" paint-order="stroke">{label}</text>"##,
                );
                label_end.insert((thief, down), lx + 6.5 * label.len() as f64);
            }
            out.push_str("</g>\n");
        }
    }
}

/// " (3 events here)" for a marker that stands for several events.
fn times(count: usize) -> String {
    if count > 1 {
        format!(" ({count} events here)")
    } else {
        String::new()
    }
}

/// The legend, flowing left to right; returns the bottom of the drawing.
fn legend(out: &mut String, top: f64, width: f64) -> f64 {
    type Glyph = fn(f64, f64) -> String;
    let items: [(Glyph, &str); 16] = [
        (
            |x, y| {
                format!(
                    r#"<rect x="{x}" y="{}" width="8" height="12" fill="{}"/><rect x="{}" y="{}" width="8" height="12" fill="{}"/><rect x="{}" y="{}" width="8" height="12" fill="{}"/>"#,
                    y - 9.0,
                    task_colour("0x1"),
                    x + 8.0,
                    y - 9.0,
                    task_colour("0x2"),
                    x + 16.0,
                    y - 9.0,
                    task_colour("0x3"),
                )
            },
            "task poll (colour: task)",
        ),
        (
            |x, y| {
                format!(
                    r#"<rect x="{x}" y="{}" width="22" height="12" fill="{}"/><rect x="{}" y="{}" width="10" height="6" fill="{}"/>"#,
                    y - 9.0,
                    task_colour("0x5"),
                    x + 8.0,
                    y - 3.0,
                    task_colour("0x6"),
                )
            },
            "half height: overlaps an earlier poll (its M lost the P)",
        ),
        (|x, y| end_tick(x, y, End::Yield), "ended: yield"),
        (|x, y| end_tick(x, y, End::Blocked), "blocked"),
        (|x, y| end_tick(x, y, End::Done), "done"),
        (|x, y| end_tick(x, y, End::BlockedOrDone), "blocked or done"),
        (
            |x, y| {
                format!(
                    r#"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{STEAL}" stroke-width="1.3" marker-end="url(#steal-head)"/>"#,
                    y - 4.0,
                    x + 20.0,
                    y - 4.0
                )
            },
            "steal (label: tasks taken)",
        ),
        (
            |x, y| {
                format!(
                    r#"<path d="M{} {}h9l-4.5 7z" fill="{SPILL}"/>"#,
                    x + 6.0,
                    y - 8.0
                )
            },
            "spill to the GRQ",
        ),
        (
            |x, y| {
                format!(
                    r#"<path d="M{} {}l4.5 4.5l-4.5 4.5l-4.5 -4.5z" fill="{HANDOFF}"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{HANDOFF}" stroke-dasharray="3 2"/>"#,
                    x + 18.0,
                    y - 9.0,
                    x,
                    y - 4.5,
                    x + 13.0,
                    y - 4.5
                )
            },
            "handoff (dashed: from the blocked M)",
        ),
        (
            |x, y| {
                format!(
                    r##"<circle cx="{}" cy="{}" r="3" fill="#ffffff" stroke="{IDLE}" stroke-width="1.2"/>"##,
                    x + 10.0,
                    y - 4.0
                )
            },
            "P went idle",
        ),
        (|x, y| tick(x, y, CREATE), "task created"),
        (|x, y| tick(x, y, WAKE), "task woken"),
        (|x, y| swatch(x, y, PARK), "M parked"),
        (|x, y| swatch(x, y, REACTOR), "M in the reactor"),
        (|x, y| swatch(x, y, OTHER), "unknown event"),
        (
            |x, y| {
                format!(
                    r##"<rect x="{x}" y="{}" width="22" height="12" fill="#fff5f5" stroke="#e03131"/>"##,
                    y - 9.0
                )
            },
            "dropped-events warning",
        ),
    ];
    let _ = write!(
        out,
        r##"<g class="legend"><line x1="0" y1="{top:.1}" x2="{width}" y2="{top:.1}" stroke="#adb5bd"/><text x="12" y="{:.1}" font-weight="bold" font-size="12">Legend</text>"##,
        top + 20.0
    );
    let mut x = 70.0;
    let mut y = top + 20.0;
    for (glyph, label) in items {
        let w = 30.0 + label.chars().count() as f64 * 6.2 + 18.0;
        if x + w > width - 12.0 {
            x = 70.0;
            y += 20.0;
        }
        out.push_str(&glyph(x, y));
        let _ = write!(out, r#"<text x="{}" y="{y:.1}">{}</text>"#, x + 30.0, label);
        x += w;
    }
    out.push_str("</g>\n");
    y + 14.0
}

fn end_tick(x: f64, y: f64, end: End) -> String {
    format!(
        r#"<rect x="{x}" y="{}" width="20" height="8" fill="{}"/><path d="M{} {}v6" stroke="{}" stroke-width="2"/>"#,
        y - 11.0,
        task_colour("0x4"),
        x + 19.0,
        y - 3.0,
        end_colour(end)
    )
}

fn tick(x: f64, y: f64, colour: &str) -> String {
    format!(
        r#"<path d="M{} {}v8M{} {}v8M{} {}v8" stroke="{colour}"/>"#,
        x + 4.0,
        y - 10.0,
        x + 9.0,
        y - 10.0,
        x + 16.0,
        y - 10.0
    )
}

fn swatch(x: f64, y: f64, colour: &str) -> String {
    format!(
        r#"<rect x="{x}" y="{}" width="22" height="10" fill="{colour}"/>"#,
        y - 9.0
    )
}

/// Event counts for the header.
#[derive(Default)]
struct Counts {
    runs: usize,
    tasks: usize,
    steals: usize,
    stolen: usize,
    spills: usize,
    spilled: usize,
    handoffs: usize,
    idles: usize,
    creates: usize,
    wakes: usize,
    parks: usize,
    reactor: usize,
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

/// `1 steal`, `12,345 steals`.
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{} {}", n(count), if count == 1 { one } else { many })
}

/// `12,345`.
fn n(v: usize) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A task's colour: a hue from a hash of its id (FNV-1a), so the same task
/// has the same colour on every P; pale enough for the markers to stand out.
fn task_colour(task: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Addresses differ in few bits: mix before taking the hue.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    let hue = (h % 360) as f64;
    let sat = 0.55 + ((h >> 16) % 25) as f64 / 100.0;
    let light = 0.60 + ((h >> 24) % 12) as f64 / 100.0;
    let (r, g, b) = hsl_to_rgb(hue, sat, light);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (to(r), to(g), to(b))
}

/// Escapes text for XML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_keeps_its_colour() {
        assert_eq!(task_colour("0x55d0a0"), task_colour("0x55d0a0"));
        assert_ne!(
            task_colour("0x55d0a0"),
            task_colour("0x55d0e0"),
            "neighbouring task addresses should get different colours"
        );
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(n(0), "0");
        assert_eq!(n(999), "999");
        assert_eq!(n(1000), "1,000");
        assert_eq!(n(1_234_567), "1,234,567");
    }

    #[test]
    fn hsl_primaries() {
        assert_eq!(hsl_to_rgb(0.0, 1.0, 0.5), (255, 0, 0));
        assert_eq!(hsl_to_rgb(120.0, 1.0, 0.5), (0, 255, 0));
        assert_eq!(hsl_to_rgb(240.0, 1.0, 0.5), (0, 0, 255));
    }
}
