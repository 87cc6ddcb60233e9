//! The instant events of the lanes: creation and wake ticks, idle circles,
//! spill triangles, handoff diamonds (with a dashed line from the M that
//! lost the P) and steal arrows (from the victim P to the thief, labelled
//! with the tasks taken); unknown instants as grey ticks.
//!
//! Every marker is drawn at most once per pixel column (per `MARK_PX`
//! columns for symbols) and lane, with the counts summed into it, so markers
//! cost O(width × lanes) however long the trace.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::layout::{Geom, Scale};
use super::svg::{esc, n, plural, CREATE, HANDOFF, IDLE, OTHER, SPILL, STEAL, WAKE};
use crate::{axis, EventKind, Trace, PID_MACHINES, PID_PROCS};

/// Symbol markers (idle, spill, handoff) of a lane closer than this many
/// pixels are drawn as one.
const MARK_PX: i64 = 6;

/// The steals of one thief from one victim in one pixel column.
struct Stolen {
    /// How many steals.
    steals: usize,
    /// The tasks they took.
    tasks: u64,
    /// Time of the first.
    ts: f64,
}

/// The instant events in the window, one entry per lane and pixel column.
#[derive(Default)]
pub(super) struct Marks {
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
    /// The instant events of `trace` in the window of `scale`.
    pub(super) fn collect(trace: &Trace, scale: &Scale) -> Marks {
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

    /// Draws every marker, steals last so their arrows lie over the rest.
    pub(super) fn draw(&self, out: &mut String, trace: &Trace, geoms: &[Geom]) {
        self.draw_ticks(out, trace, geoms);
        self.draw_symbols(out, trace, geoms);
        self.draw_steals(out, trace, geoms);
    }

    /// Creation, wake and unknown-instant ticks: one path per lane and kind.
    fn draw_ticks(&self, out: &mut String, trace: &Trace, geoms: &[Geom]) {
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
    }

    /// Idle circles, spill triangles and handoff diamonds.
    fn draw_symbols(&self, out: &mut String, trace: &Trace, geoms: &[Geom]) {
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
    }

    /// Steal arrows; a label skips when it would collide with the last one.
    fn draw_steals(&self, out: &mut String, trace: &Trace, geoms: &[Geom]) {
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
