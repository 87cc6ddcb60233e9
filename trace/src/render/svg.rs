//! SVG output: the document around the drawing, the palette, and the text
//! helpers every part uses (XML escaping, `12,345`, `1 steal` / `2 steals`).
//!
//! Every colour of the drawing is named here, so the legend and the marks it
//! explains cannot drift apart.

use std::fmt::Write as _;

use crate::End;

/// Steal arrows and their labels.
pub(super) const STEAL: &str = "#c92a2a";
/// Spill triangles.
pub(super) const SPILL: &str = "#e8590c";
/// Handoff diamonds and their dashed lines.
pub(super) const HANDOFF: &str = "#7048e8";
/// The rim of idle circles.
pub(super) const IDLE: &str = "#495057";
/// Task-creation ticks.
pub(super) const CREATE: &str = "#2b8a3e";
/// Wake ticks.
pub(super) const WAKE: &str = "#15aabf";
/// An M's park span.
pub(super) const PARK: &str = "#adb5bd";
/// An M's reactor wait.
pub(super) const REACTOR: &str = "#74c0fc";
/// Events this reader does not know.
pub(super) const OTHER: &str = "#868e96";

/// The standalone SVG document of `width` × `height` px around `body`: the
/// arrow heads that steals and handoffs use, and a white background.
pub(super) fn document(width: f64, height: f64, body: &str) -> String {
    let mut svg = String::with_capacity(body.len() + 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11" fill="#212529">
<defs><marker id="steal-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{STEAL}"/></marker><marker id="handoff-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{HANDOFF}"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
"##
    );
    svg.push_str(body);
    svg.push_str("</svg>\n");
    svg
}

/// The colour of an end-of-poll tick.
pub(super) fn end_colour(end: End) -> &'static str {
    match end {
        End::Yield => "#1971c2",
        End::Blocked => "#e03131",
        End::Done => "#2f9e44",
        End::BlockedOrDone => "#f08c00",
        End::Unknown => "#868e96",
    }
}

/// A task's colour: a hue from a hash of its id (FNV-1a), so the same task
/// has the same colour on every P; pale enough for the markers to stand out.
pub(super) fn task_colour(task: &str) -> String {
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
pub(super) fn esc(s: &str) -> String {
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

/// `1 steal`, `12,345 steals`.
pub(super) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{} {}", n(count), if count == 1 { one } else { many })
}

/// `12,345`.
pub(super) fn n(v: usize) -> String {
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

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(plural(1, "steal", "steals"), "1 steal");
        assert_eq!(plural(1200, "steal", "steals"), "1,200 steals");
    }
}
