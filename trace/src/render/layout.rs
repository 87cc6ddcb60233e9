//! Where things go: the time window and its scale, and the lanes' rows.
//!
//! Top to bottom: the header (its height is the header's business), the time
//! axis, then per process (Ps, then Ms) a header row and one lane per
//! thread. A P lane (36 px) has three rows: a 6 px strip of ticks for task
//! creations and wakes, the 16 px band of task polls, and a 6 px row of ticks
//! at the end of each poll. An M lane (22 px) is a band of park / reactor
//! spans.

use crate::{Event, Options, Trace, PID_PROCS};

/// Narrowest drawing we make, in pixels.
pub(super) const MIN_WIDTH: u32 = 400;
/// The lane-name column.
pub(super) const LEFT: f64 = 150.0;
/// Margin right of the plot.
const RIGHT: f64 = 24.0;
/// A process's header row.
const GROUP_H: f64 = 18.0;
/// A P lane: creation/wake strip, poll band, end-tick row.
const P_LANE_H: f64 = 36.0;
/// An M (or other) lane: one band.
const M_LANE_H: f64 = 22.0;

/// Time → x.
pub(super) struct Scale {
    /// The window's start, µs.
    pub(super) t0: f64,
    /// The window's end, µs.
    pub(super) t1: f64,
    /// The x of `t0`.
    pub(super) x0: f64,
    /// Pixels from `t0` to `t1`.
    pub(super) width: f64,
}

impl Scale {
    /// The window of `trace` that `opts` asks for, over a drawing `width`
    /// px wide.
    pub(super) fn new(trace: &Trace, opts: &Options, width: f64) -> Scale {
        let (t0, t1) = window(trace, opts);
        Scale {
            t0,
            t1,
            x0: LEFT,
            width: width - LEFT - RIGHT,
        }
    }

    pub(super) fn x(&self, t: f64) -> f64 {
        self.x0 + (t - self.t0) / (self.t1 - self.t0) * self.width
    }

    /// The pixel column of `t`, for de-duplicating markers.
    pub(super) fn column(&self, t: f64) -> i64 {
        self.x(t).round() as i64
    }

    pub(super) fn contains(&self, t: f64) -> bool {
        t >= self.t0 && t <= self.t1
    }

    pub(super) fn overlaps(&self, e: &Event) -> bool {
        e.ts <= self.t1 && e.end_time() >= self.t0
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

/// Where a lane is drawn.
pub(super) struct Geom {
    /// Top of the lane.
    pub(super) y: f64,
    /// Its height.
    pub(super) h: f64,
    /// A P lane (strip, band, end row) rather than a plain band.
    proc_lane: bool,
}

impl Geom {
    pub(super) fn center(&self) -> f64 {
        if self.proc_lane {
            self.band().0 + 8.0
        } else {
            self.y + self.h / 2.0
        }
    }

    /// Top and height of the span band.
    pub(super) fn band(&self) -> (f64, f64) {
        if self.proc_lane {
            (self.y + 10.0, 16.0)
        } else {
            (self.y + 4.0, self.h - 8.0)
        }
    }

    /// Top of the creation/wake strip (6 px).
    pub(super) fn strip(&self) -> f64 {
        self.y + 2.0
    }

    /// Top of the end-tick row (6 px).
    pub(super) fn end_row(&self) -> f64 {
        self.y + 27.0
    }
}

/// The rows below the header.
pub(super) struct Layout {
    /// The y of the time axis.
    pub(super) axis_y: f64,
    /// One per lane of the trace, in its order.
    pub(super) geoms: Vec<Geom>,
    /// A header row per process: its pid and the row's top.
    pub(super) groups: Vec<(u64, f64)>,
    /// The bottom of the last lane.
    pub(super) bottom: f64,
}

impl Layout {
    /// The rows of `trace`'s lanes, below a header that ends at `top`.
    pub(super) fn new(trace: &Trace, top: f64) -> Layout {
        let axis_y = top + 16.0;
        let mut y = axis_y + 8.0;
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
        Layout {
            axis_y,
            geoms,
            groups,
            bottom: y,
        }
    }
}
