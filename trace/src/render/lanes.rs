//! The lanes' backgrounds and names, the process header rows, and the time
//! axis with its grid lines through every lane.

use std::fmt::Write as _;

use super::layout::{Layout, Scale, LEFT};
use super::svg::esc;
use crate::{axis, Trace};

/// Draws a lane's background and name for each lane of `trace`, a header
/// row for each process, and the axis with its grid.
pub(super) fn draw(out: &mut String, trace: &Trace, layout: &Layout, scale: &Scale, width: f64) {
    for (i, (lane, g)) in trace.lanes.iter().zip(&layout.geoms).enumerate() {
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
    for &(pid, gy) in &layout.groups {
        let _ = writeln!(
            out,
            r##"<text x="8" y="{:.1}" font-weight="bold" font-size="12">{}</text><line x1="0" y1="{gy:.1}" x2="{width}" y2="{gy:.1}" stroke="#adb5bd"/>"##,
            gy + 13.0,
            esc(&trace.process_name(pid)),
        );
    }
    axis_and_grid(out, scale, layout.axis_y, layout.bottom);
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
