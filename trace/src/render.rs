//! Drawing a [`Trace`] as an SVG timeline.
//!
//! Top to bottom: the header (title, event counts, the window, a red
//! warning when events were dropped), the time axis, then per process (Ps,
//! then Ms) a header row and one lane per thread, then the legend. Each part
//! has its file:
//!
//! * `layout`: the window and its time scale, where each lane goes;
//! * `header`: the title, the counts, the dropped-events warning;
//! * `lanes`: the lanes' backgrounds and names, the axis and its grid;
//! * `spans`: task polls, M parks and reactor waits as spans;
//! * `marks`: instant events (creations, wakes, idles, spills, handoffs,
//!   steals) as markers;
//! * `legend`: what every mark means;
//! * `svg`: the document around it all, the palette, escaping, numbers.
//!
//! Size: markers are drawn at most once per pixel column and lane, and
//! above `Options::merge_threshold` polls in the window the spans of a lane
//! closer than a pixel are merged, so both are O(width × lanes).

mod header;
mod lanes;
mod layout;
mod legend;
mod marks;
mod spans;
mod svg;

use crate::{EventKind, Trace};

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
    let width = f64::from(opts.width.max(layout::MIN_WIDTH));
    let scale = layout::Scale::new(trace, opts, width);
    // Task polls in the window: decides merging, and the header says it.
    let runs = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Run { .. }) && scale.overlaps(e))
        .count();
    let window = header::Window {
        scale: &scale,
        runs,
        merge: runs > opts.merge_threshold,
    };
    let mut out = String::with_capacity(1 << 16);
    let top = header::draw(&mut out, trace, opts, &window, width);
    let layout = layout::Layout::new(trace, top);
    lanes::draw(&mut out, trace, &layout, &scale, width);
    spans::draw(&mut out, trace, &layout.geoms, &scale, window.merge);
    marks::Marks::collect(trace, &scale).draw(&mut out, trace, &layout.geoms);
    let height = legend::draw(&mut out, layout.bottom + 14.0, width);
    svg::document(width, height, &out)
}
