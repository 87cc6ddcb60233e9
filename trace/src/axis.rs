//! The time axis: where the ticks go and how times are written.
//!
//! Times are microseconds since the runtime started. Ticks fall on multiples
//! of a "nice" step (1, 2 or 5 × 10^k µs) chosen so that labels are at least
//! `min_gap` pixels apart; labels use the unit of ten steps (ns, µs, ms, s)
//! with just enough decimals to tell neighbouring ticks apart.

/// The tick step (µs) for a window of `span` µs drawn over `pixels` pixels.
pub(crate) fn nice_step(span: f64, pixels: f64, min_gap: f64) -> f64 {
    let max_ticks = (pixels / min_gap).max(1.0);
    let raw = (span / max_ticks).max(1e-6);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

/// The tick times in `[from, to]` for `step`.
pub(crate) fn ticks(from: f64, to: f64, step: f64) -> Vec<f64> {
    let first = (from / step).ceil() as i64;
    let last = (to / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label: `t` µs in the unit of `step`.
pub(crate) fn tick_label(t: f64, step: f64) -> String {
    // A step of 100 µs or more is labelled in ms (0.1 ms, 0.2 ms, …), so
    // labels stay short.
    let (scale, unit) = unit_for(step * 10.0);
    let step = step / scale;
    // Enough decimals that step (hence every tick, a multiple of it) is exact.
    let decimals = (0..6)
        .find(|d| {
            let v = step * 10f64.powi(*d);
            (v - v.round()).abs() < 1e-6 * v.max(1.0)
        })
        .unwrap_or(6) as usize;
    format!("{:.*} {unit}", decimals, t / scale)
}

/// A duration or time for a tooltip or the title: 4 significant digits in
/// the largest unit that keeps it >= 1.
pub(crate) fn human(us: f64) -> String {
    let (scale, unit) = unit_for(us.abs());
    let v = us / scale;
    let decimals = match v.abs() {
        a if a >= 100.0 => 1,
        a if a >= 10.0 => 2,
        _ => 3,
    };
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

fn unit_for(us: f64) -> (f64, &'static str) {
    if us >= 1e6 {
        (1e6, "s")
    } else if us >= 1e3 {
        (1e3, "ms")
    } else if us >= 1.0 || us == 0.0 {
        (1.0, "µs")
    } else {
        (1e-3, "ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_is_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(1000.0, 1000.0, 100.0), 100.0);
        assert_eq!(nice_step(1500.0, 1000.0, 100.0), 200.0);
        assert_eq!(nice_step(3.0, 1000.0, 100.0), 0.5);
    }

    #[test]
    fn labels_use_the_unit_of_the_step() {
        assert_eq!(tick_label(2500.0, 500.0), "2.5 ms");
        assert_eq!(tick_label(150.0, 50.0), "150 µs");
        assert_eq!(tick_label(2000.0, 1000.0), "2 ms");
        assert_eq!(tick_label(2500.0, 2500.0), "2.5 ms");
        assert_eq!(tick_label(1_500_000.0, 500_000.0), "1.5 s");
        assert_eq!(tick_label(0.25, 0.05), "250 ns");
    }

    #[test]
    fn human_times_keep_four_digits() {
        assert_eq!(human(12.3456), "12.35 µs");
        assert_eq!(human(1234.5), "1.234 ms");
        assert_eq!(human(0.5), "500 ns");
        assert_eq!(human(0.0), "0 µs");
        assert_eq!(human(3_000_000.0), "3 s");
    }

    #[test]
    fn ticks_cover_the_window() {
        assert_eq!(ticks(15.0, 62.0, 10.0), vec![20.0, 30.0, 40.0, 50.0, 60.0]);
    }
}
