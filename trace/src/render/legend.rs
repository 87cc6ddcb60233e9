//! The legend under the lanes: a glyph and a label for every kind of mark,
//! flowing left to right and wrapping at the drawing's width.

use std::fmt::Write as _;

use super::svg::{
    end_colour, task_colour, CREATE, HANDOFF, IDLE, OTHER, PARK, REACTOR, SPILL, STEAL, WAKE,
};
use crate::End;

/// Draws a glyph whose label's baseline is at `(x + 30, y)`.
type Glyph = fn(f64, f64) -> String;

/// The legend's items, in order.
const ITEMS: [(Glyph, &str); 16] = [
    (polls, "task poll (colour: task)"),
    (
        overlap,
        "half height: overlaps an earlier poll (its M lost the P)",
    ),
    (|x, y| end_tick(x, y, End::Yield), "ended: yield"),
    (|x, y| end_tick(x, y, End::Blocked), "blocked"),
    (|x, y| end_tick(x, y, End::Done), "done"),
    (|x, y| end_tick(x, y, End::BlockedOrDone), "blocked or done"),
    (steal, "steal (label: tasks taken)"),
    (spill, "spill to the GRQ"),
    (handoff, "handoff (dashed: from the blocked M)"),
    (idle, "P went idle"),
    (|x, y| tick(x, y, CREATE), "task created"),
    (|x, y| tick(x, y, WAKE), "task woken"),
    (|x, y| swatch(x, y, PARK), "M parked"),
    (|x, y| swatch(x, y, REACTOR), "M in the reactor"),
    (|x, y| swatch(x, y, OTHER), "unknown event"),
    (dropped, "dropped-events warning"),
];

/// Draws the legend from `top` in a drawing `width` px wide; returns the
/// bottom of the drawing.
pub(super) fn draw(out: &mut String, top: f64, width: f64) -> f64 {
    let _ = write!(
        out,
        r##"<g class="legend"><line x1="0" y1="{top:.1}" x2="{width}" y2="{top:.1}" stroke="#adb5bd"/><text x="12" y="{:.1}" font-weight="bold" font-size="12">Legend</text>"##,
        top + 20.0
    );
    let mut x = 70.0;
    let mut y = top + 20.0;
    for (glyph, label) in ITEMS {
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

/// Three polls of three tasks.
fn polls(x: f64, y: f64) -> String {
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
}

/// A poll with a half-height one over it.
fn overlap(x: f64, y: f64) -> String {
    format!(
        r#"<rect x="{x}" y="{}" width="22" height="12" fill="{}"/><rect x="{}" y="{}" width="10" height="6" fill="{}"/>"#,
        y - 9.0,
        task_colour("0x5"),
        x + 8.0,
        y - 3.0,
        task_colour("0x6"),
    )
}

fn steal(x: f64, y: f64) -> String {
    format!(
        r#"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{STEAL}" stroke-width="1.3" marker-end="url(#steal-head)"/>"#,
        y - 4.0,
        x + 20.0,
        y - 4.0
    )
}

fn spill(x: f64, y: f64) -> String {
    format!(
        r#"<path d="M{} {}h9l-4.5 7z" fill="{SPILL}"/>"#,
        x + 6.0,
        y - 8.0
    )
}

fn handoff(x: f64, y: f64) -> String {
    format!(
        r#"<path d="M{} {}l4.5 4.5l-4.5 4.5l-4.5 -4.5z" fill="{HANDOFF}"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{HANDOFF}" stroke-dasharray="3 2"/>"#,
        x + 18.0,
        y - 9.0,
        x,
        y - 4.5,
        x + 13.0,
        y - 4.5
    )
}

fn idle(x: f64, y: f64) -> String {
    format!(
        r##"<circle cx="{}" cy="{}" r="3" fill="#ffffff" stroke="{IDLE}" stroke-width="1.2"/>"##,
        x + 10.0,
        y - 4.0
    )
}

fn dropped(x: f64, y: f64) -> String {
    format!(
        r##"<rect x="{x}" y="{}" width="22" height="12" fill="#fff5f5" stroke="#e03131"/>"##,
        y - 9.0
    )
}

/// A poll with the tick of how it ended.
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
