//! The spans of the lanes: task polls on the P lanes, parks and reactor
//! waits on the M lanes, unknown spans in grey.
//!
//! A span that starts before the spans drawn so far on its lane have ended
//! overlaps an earlier one (a P's poll whose M blocked and lost the P goes on
//! while the P runs other tasks on another M): it is drawn half-height in the
//! lower half of the band, so both stay visible. When `merge` is set, the
//! spans of a lane closer than a pixel are drawn as one (coloured by its
//! longest span, the tooltip saying how many it holds). Each task poll gets
//! a tick under its end, coloured by how the poll ended.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::layout::{Geom, Scale};
use super::svg::{end_colour, esc, task_colour, OTHER, PARK, REACTOR};
use crate::{axis, End, EventKind, Trace};

/// A span to draw: a task poll, a park, an unknown span.
#[derive(Clone)]
struct Piece<'a> {
    /// Start, µs.
    ts: f64,
    /// End, µs.
    end_time: f64,
    /// Its colour.
    fill: String,
    /// What it stands for.
    what: What<'a>,
}

/// What a span stands for, with what its tooltip says (durations in µs).
#[derive(Clone, Copy)]
enum What<'a> {
    /// A poll of `task` that ended as `end`.
    Run { task: &'a str, dur: f64, end: End },
    /// An M parked, on its condvar or in the reactor.
    Park { dur: f64, reactor: bool },
    /// A span this reader does not know, by its name.
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

    /// The SVG class of its rectangle.
    fn class(&self) -> &'static str {
        match self {
            What::Run { .. } => "run",
            What::Park { reactor: true, .. } => "reactor",
            What::Park { .. } => "park",
            What::Other { .. } => "other",
        }
    }
}

/// Draws the spans of every lane of `trace` that overlap the window.
pub(super) fn draw(out: &mut String, trace: &Trace, geoms: &[Geom], scale: &Scale, merge: bool) {
    let mut spans: Vec<Vec<Piece<'_>>> = vec![Vec::new(); trace.lanes.len()];
    for e in &trace.events {
        let Some(lane) = trace.lane_index(e.pid, e.tid) else {
            continue;
        };
        if let Some(piece) = piece(&e.kind, e.ts) {
            if scale.overlaps(e) {
                spans[lane].push(piece);
            }
        }
    }
    for (lane, pieces) in spans.iter_mut().enumerate() {
        if pieces.is_empty() {
            continue;
        }
        pieces.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        let name = &trace.lanes[lane].name;
        draw_lane(out, name, pieces, &geoms[lane], scale, merge);
    }
}

/// The span of an event starting at `ts`, if it is one.
fn piece(kind: &EventKind, ts: f64) -> Option<Piece<'_>> {
    let (dur, fill, what) = match kind {
        EventKind::Run { task, dur, end } => {
            let what = What::Run {
                task,
                dur: *dur,
                end: *end,
            };
            (*dur, task_colour(task), what)
        }
        EventKind::Park {
            dur: Some(dur),
            reactor,
        } => {
            let fill = if *reactor { REACTOR } else { PARK };
            let what = What::Park {
                dur: *dur,
                reactor: *reactor,
            };
            (*dur, fill.into(), what)
        }
        EventKind::Other {
            name,
            dur: Some(dur),
            ..
        } => (*dur, OTHER.into(), What::Other { name, dur: *dur }),
        _ => return None,
    };
    Some(Piece {
        ts,
        end_time: ts + dur,
        fill,
        what,
    })
}

/// Spans drawn as one rectangle: one span, or several merged.
struct Group<'p, 'a> {
    /// The spans, sorted by start.
    pieces: &'p [Piece<'a>],
    /// Left edge, clipped to the window.
    x0: f64,
    /// Right edge, clipped to the window.
    x1: f64,
    /// The longest span: its colour and tooltip stand for the group.
    longest: &'p Piece<'a>,
    /// The sum of the spans' durations.
    busy: f64,
}

impl<'p, 'a> Group<'p, 'a> {
    /// The group that starts `pieces`: its first span and, when `merge`,
    /// the spans after it that start less than a pixel from its right edge.
    fn first_of(pieces: &'p [Piece<'a>], scale: &Scale, merge: bool) -> Self {
        let clip = |p: &Piece<'_>| {
            let x0 = scale.x(p.ts.max(scale.t0));
            let x1 = scale.x(p.end_time.min(scale.t1));
            (x0, x1)
        };
        let first = &pieces[0];
        let (x0, mut x1) = clip(first);
        let mut group = Group {
            pieces: &pieces[..1],
            x0,
            x1,
            longest: first,
            busy: first.what.dur(),
        };
        if !merge {
            return group;
        }
        let mut j = 1;
        while j < pieces.len() {
            let (nx0, nx1) = clip(&pieces[j]);
            if nx0 - x1.max(x0 + 1.0) >= 1.0 {
                break;
            }
            x1 = x1.max(nx1);
            group.busy += pieces[j].what.dur();
            if pieces[j].what.dur() > group.longest.what.dur() {
                group.longest = &pieces[j];
            }
            j += 1;
        }
        group.pieces = &pieces[..j];
        group.x1 = x1;
        group
    }

    /// When its last span ends.
    fn end(&self) -> f64 {
        self.pieces
            .iter()
            .map(|p| p.end_time)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Its tooltip; `nested` when it overlaps an earlier span.
    fn tooltip(&self, nested: bool) -> String {
        let first = &self.pieces[0];
        let longest = self.longest;
        let mut tip = if self.pieces.len() == 1 {
            first.what.describe(first.ts)
        } else {
            format!(
                "{} spans merged, {} busy in {} – {}; longest: {}",
                self.pieces.len(),
                axis::human(self.busy),
                axis::human(first.ts),
                axis::human(self.end()),
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
        tip
    }
}

/// The spans of one lane, sorted by start; merged when `merge`.
fn draw_lane(
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
    // The end of the spans drawn so far (see the module docs).
    let mut drawn_end = f64::NEG_INFINITY;
    let mut i = 0;
    while i < pieces.len() {
        let group = Group::first_of(&pieces[i..], scale, merge);
        for p in group.pieces {
            if let What::Run { end, .. } = p.what {
                if p.end_time <= scale.t1 {
                    ends.entry(end)
                        .or_default()
                        .insert(scale.column(p.end_time));
                }
            }
        }
        let nested = group.pieces[0].ts < drawn_end;
        drawn_end = drawn_end.max(group.end());
        let (y, h) = if nested {
            (band_y + band_h / 2.0, band_h / 2.0)
        } else {
            (band_y, band_h)
        };
        let _ = write!(
            out,
            r#"<rect class="{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{h}" fill="{}"><title>{}</title></rect>"#,
            group.pieces[0].what.class(),
            group.x0,
            (group.x1 - group.x0).max(1.0),
            group.longest.fill,
            esc(&group.tooltip(nested))
        );
        i += group.pieces.len();
    }
    end_ticks(out, &ends, geom.end_row());
    out.push_str("</g>\n");
}

/// The end-of-poll ticks of a lane, one path per way a poll ends, in the
/// row at `top`.
fn end_ticks(out: &mut String, ends: &BTreeMap<End, BTreeSet<i64>>, top: f64) {
    for (end, columns) in ends {
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
}
