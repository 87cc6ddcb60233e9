//! End-to-end: a small hand-written trace in, the SVG's lanes, spans, arrows
//! and markers out; malformed files give errors that name the problem.

use gmp_trace::{parse, render_svg, EventKind, Options};

/// Two Ps, the GRQ lane and two Ms: task 0xa runs on P0, is stolen by P1 and
/// runs there; P0 spills, P1 is handed over from blocked M1, P0 goes idle.
const SMALL: &str = r#"{"displayTimeUnit":"ns","traceEvents":[
{"name":"process_name","ph":"M","pid":1,"args":{"name":"Ps"}},
{"name":"process_name","ph":"M","pid":2,"args":{"name":"Ms"}},
{"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"GRQ (wakes off a P)"}},
{"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"P0"}},
{"name":"create","cat":"create","ph":"i","s":"t","pid":1,"tid":0,"ts":1.0,"args":{"task":"0xa"}},
{"name":"task 0xa","cat":"task","ph":"X","pid":1,"tid":0,"ts":10.0,"dur":20.0,"args":{"task":"0xa","end":"yield"}},
{"name":"task 0xb","cat":"task","ph":"X","pid":1,"tid":0,"ts":35.0,"dur":15.0,"args":{"task":"0xb","end":"done"}},
{"name":"spill","cat":"spill","ph":"i","s":"t","pid":1,"tid":0,"ts":40.0,"args":{"tasks":129}},
{"name":"idle","cat":"idle","ph":"i","s":"t","pid":1,"tid":0,"ts":90.0},
{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"P1"}},
{"name":"steal","cat":"steal","ph":"i","s":"t","pid":1,"tid":1,"ts":55.0,"args":{"from":0,"tasks":3}},
{"name":"task 0xa","cat":"task","ph":"X","pid":1,"tid":1,"ts":60.0,"dur":25.0,"args":{"task":"0xa","end":"blocked","extra":"ignored"}},
{"name":"handoff","cat":"handoff","ph":"i","s":"t","pid":1,"tid":1,"ts":70.0,"args":{"from_m":1}},
{"name":"wake","cat":"wake","ph":"i","s":"t","pid":1,"tid":2,"ts":88.0,"args":{"task":"0xa"}},
{"name":"future_event","cat":"new","ph":"i","s":"t","pid":1,"tid":1,"ts":95.0},
{"name":"park","cat":"m","ph":"X","pid":2,"tid":0,"ts":0.0,"dur":8.0},
{"name":"reactor","cat":"m","ph":"X","pid":2,"tid":1,"ts":86.0,"dur":14.0}
],"otherData":{"dropped_events":0}}"#;

fn svg_of(json: &str) -> String {
    let trace = parse(json).expect("the test trace should parse");
    render_svg(&trace, &Options::default())
}

/// The fill of the first span whose tooltip starts with `tip`.
fn fill_of<'a>(svg: &'a str, tip: &str) -> &'a str {
    let at = svg
        .find(&format!("<title>{tip}"))
        .unwrap_or_else(|| panic!("no span with tooltip {tip:?}"));
    let fill = svg[..at].rfind("fill=\"").expect("span without a fill") + 6;
    &svg[fill..fill + 7]
}

#[test]
fn every_p_m_and_the_grq_gets_a_lane() {
    let svg = svg_of(SMALL);
    for lane in ["P0", "P1", "GRQ (wakes off a P)", "M0", "M1"] {
        assert!(
            svg.contains(&format!(r#"<g class="lane" data-lane="{lane}">"#)),
            "no lane for {lane}"
        );
    }
    assert!(
        svg.contains(">Ps</text>") && svg.contains(">Ms</text>"),
        "process headers missing"
    );
}

#[test]
fn task_polls_are_spans_with_their_end() {
    let svg = svg_of(SMALL);
    assert_eq!(
        svg.matches(r#"<rect class="run""#).count(),
        3,
        "three polls, three spans"
    );
    assert!(svg.contains("<title>task 0xa: polled 20 µs at 10 µs, yield</title>"));
    assert!(svg.contains("<title>task 0xb: polled 15 µs at 35 µs, done</title>"));
    for end in ["end-yield", "end-blocked", "end-done"] {
        assert!(
            svg.contains(&format!(r#"class="{end}""#)),
            "no end tick {end}"
        );
    }
}

#[test]
fn a_task_keeps_its_colour_across_ps() {
    let svg = svg_of(SMALL);
    assert_eq!(
        fill_of(&svg, "task 0xa: polled 20"),
        fill_of(&svg, "task 0xa: polled 25"),
        "task 0xa should have one colour on P0 and P1"
    );
    assert_ne!(fill_of(&svg, "task 0xa"), fill_of(&svg, "task 0xb"));
}

#[test]
fn a_poll_that_overlaps_an_earlier_one_is_drawn_half_height() {
    // P0's M blocks in a 100 µs poll of 0xa and loses P0; P0 runs 0xb meanwhile.
    let svg = svg_of(
        r#"[{"name":"task 0xa","cat":"task","ph":"X","pid":1,"tid":0,"ts":0,"dur":100,"args":{"task":"0xa","end":"done"}},
            {"name":"task 0xb","cat":"task","ph":"X","pid":1,"tid":0,"ts":40,"dur":10,"args":{"task":"0xb","end":"done"}}]"#,
    );
    assert!(svg.contains(
        "task 0xb: polled 10 µs at 40 µs, done; overlaps an earlier poll on this lane, whose M blocked and lost the P"
    ));
    assert!(
        svg.contains(r#"height="8""#),
        "the overlapping poll should be half-height"
    );
}

#[test]
fn a_steal_is_an_arrow_labelled_with_its_count() {
    let svg = svg_of(SMALL);
    assert_eq!(svg.matches(r#"<g class="steal">"#).count(), 1);
    assert!(svg.contains("<title>P1 stole 3 tasks from P0 at 55 µs</title>"));
    assert!(svg.contains(r#"marker-end="url(#steal-head)""#));
    assert!(
        svg.contains(">3</text>"),
        "the arrow should be labelled with the count"
    );
}

#[test]
fn handoff_spill_idle_and_wakes_are_marked() {
    let svg = svg_of(SMALL);
    assert!(svg.contains("P1 handed over from M1, blocked in a poll, at 70 µs"));
    assert!(
        svg.contains(r#"marker-end="url(#handoff-head)""#),
        "no line from M1"
    );
    assert!(svg.contains("P0 spilled 129 tasks to the GRQ"));
    assert!(svg.contains("P0 went idle"));
    assert!(svg.contains(r#"<path class="wakes" data-lane="GRQ (wakes off a P)""#));
    assert!(svg.contains(r#"<path class="creates" data-lane="P0""#));
    assert!(
        svg.contains(r#"<path class="others" data-lane="P1""#),
        "unknown event not drawn"
    );
}

#[test]
fn m_lanes_show_park_and_reactor_spans() {
    let svg = svg_of(SMALL);
    assert!(svg.contains(r#"<rect class="park""#));
    assert!(svg.contains(r#"<rect class="reactor""#));
    assert!(svg.contains("<title>waited in the reactor 14 µs at 86 µs</title>"));
}

#[test]
fn title_counts_events_and_a_legend_explains_them() {
    let trace = parse(SMALL).unwrap();
    let opts = Options {
        title: Some("small.json".into()),
        ..Options::default()
    };
    let svg = render_svg(&trace, &opts);
    assert!(svg.contains("gmp trace — small.json"));
    assert!(svg.contains("3 polls of 2 tasks · 1 steal (3 tasks) · 1 spill (129 tasks)"));
    assert!(svg.contains("0 dropped"));
    assert!(
        !svg.contains(r#"class="dropped""#),
        "no warning without dropped events"
    );
    assert!(svg.contains(r#"<g class="legend">"#));
}

#[test]
fn the_title_counts_a_lane_per_p_and_the_grq_lane_apart() {
    // SMALL has P0, P1, the GRQ lane (tid 2 of the Ps) and M0, M1.
    let svg = svg_of(SMALL);
    assert!(
        svg.contains("2 P lanes + GRQ lane · 2 M lanes ·"),
        "2 Ps and the GRQ lane must not be counted as 3 P lanes"
    );
    let without_grq = SMALL
        .lines()
        .filter(|l| !l.contains("GRQ") && !l.contains(r#""tid":2"#))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(svg_of(&without_grq).contains(">2 P lanes · 2 M lanes ·"));
}

#[test]
fn dropped_events_are_a_visible_warning() {
    let svg = svg_of(&SMALL.replace(r#""dropped_events":0"#, r#""dropped_events":4096"#));
    assert!(svg.contains(r#"<g class="dropped">"#));
    assert!(svg.contains("4,096 events were dropped"));
}

#[test]
fn the_window_keeps_only_what_it_overlaps() {
    let trace = parse(SMALL).unwrap();
    let opts = Options {
        from: Some(32.0),
        to: Some(58.0),
        ..Options::default()
    };
    let svg = render_svg(&trace, &opts);
    assert_eq!(
        svg.matches(r#"<rect class="run""#).count(),
        1,
        "only task 0xb is in 32..58 µs"
    );
    assert!(
        svg.contains("P0 spilled"),
        "the spill at 40 µs is in the window"
    );
    assert!(
        !svg.contains("P0 went idle"),
        "the idle at 90 µs is outside the window"
    );
}

#[test]
fn large_traces_merge_spans_closer_than_a_pixel() {
    // 4 Ps × 10,000 polls of 1 µs, 1 µs apart, over 80 ms.
    let mut json = String::from(r#"{"traceEvents":["#);
    for p in 0..4 {
        for i in 0..10_000 {
            let ts = i as f64 * 8.0 + p as f64;
            json.push_str(&format!(
                r#"{{"name":"task 0x{i:x}","cat":"task","ph":"X","pid":1,"tid":{p},"ts":{ts},"dur":1.0,"args":{{"task":"0x{i:x}","end":"yield"}}}},"#
            ));
        }
    }
    json.pop();
    json.push_str("]}");
    let svg = svg_of(&json);
    let spans = svg.matches(r#"<rect class="run""#).count();
    assert!(
        spans < 4 * 1600,
        "{spans} spans drawn for 40,000 polls: not merged"
    );
    assert!(svg.len() < 3 << 20, "SVG of {} bytes", svg.len());
    assert!(svg.contains("polls closer than 1 px are merged"));
}

#[test]
fn unknown_fields_and_events_are_tolerated() {
    let trace = parse(SMALL).unwrap();
    assert!(trace
        .events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Other { name, .. } if name == "future_event")));
}

#[test]
fn malformed_json_names_the_problem() {
    let err = parse(&SMALL[..SMALL.len() / 2]).unwrap_err().to_string();
    assert!(err.starts_with("not valid JSON"), "{err}");
    assert!(err.contains("line"), "the error should say where: {err}");

    let err = parse(r#"{"events":[]}"#).unwrap_err().to_string();
    assert!(err.contains(r#"no "traceEvents" array"#), "{err}");

    let err = parse(r#"{"traceEvents":{}}"#).unwrap_err().to_string();
    assert_eq!(err, r#""traceEvents" is an object, not an array of events"#);

    let err = parse(r#"{"traceEvents":[{"name":"steal","ph":"i","pid":1,"tid":0,"ts":"soon"}]}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(err, r#"event #0 ("steal") has "ts": "soon", not a number"#);

    let err = parse(r#"{"traceEvents":[{"name":"task 0x1","ph":"X","pid":1,"tid":0,"ts":1}]}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"event #0 ("task 0x1") has no "dur" (a number of microseconds)"#
    );

    let err = parse(r#"{"traceEvents":[3]}"#).unwrap_err().to_string();
    assert_eq!(err, "event #0 is a number, not an object");
}
