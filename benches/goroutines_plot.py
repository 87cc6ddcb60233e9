#!/usr/bin/env python3
"""Draws docs/goroutines.svg from the runs of benches/chan_report.py.

    python3 benches/chan_report.py --rounds 7 --json docs/goroutines-data.json
    python3 benches/goroutines_plot.py docs/goroutines-data.json docs/goroutines.svg

Three panels — memory per parked unit, create + join, switch (ping-pong
round trip) — each with a bar per unit (gmp task, std thread, goroutine):
the median on a log scale, the min-max range as a whisker. Hand-written
SVG, Python standard library only.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

# (panel title, unit of the axis, section, key, labels for gmp / thread / Go)
PANELS = [
    ("Memory per parked unit", "bytes (VmHWM growth / N)", "park", "bytes_per_unit",
     ["gmp task", "std thread", "goroutine"]),
    ("Create + join", "ns per unit", "spawn", "ns_per_op",
     ["gmp task", "std thread", "goroutine"]),
    ("Switch: ping-pong round trip", "ns per round trip", "pingpong", "ns_per_op",
     ["gmp::chan cap 0 (glibc)", "std threads, sync_channel(0)", "Go unbuffered channel"]),
]
NAMES = ["gmp task", "std thread", "goroutine"]
COLORS = ["#2b6cb0", "#c05621", "#2f855a"]
W, H = 900, 396
PANEL_W, TOP, BOTTOM = 280, 60, 300


def stats(data: dict, section: str, label: str, key: str) -> tuple[float, float, float]:
    """Median, min and max of `key` over the runs of one configuration."""
    for c in data["configs"]:
        if c["section"] == section and c["label"] == label:
            values = [r[key] for r in c["runs"]]
            return statistics.median(values), min(values), max(values)
    sys.exit(f"goroutines_plot: no runs for {section!r} / {label!r} in the data")


def fmt(v: float) -> str:
    """A short label: 245, 9.9k, 17k, 1M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= scale:
            x = v / scale
            return f"{x:.0f}{suffix}" if x >= 10 or x == int(x) else f"{x:.1f}{suffix}"
    return f"{v:.0f}"


def panel(i: int, data: dict) -> list[str]:
    """The SVG elements of panel `i`."""
    title, unit, section, key, labels = PANELS[i]
    vals = [stats(data, section, label, key) for label in labels]
    lo = 10 ** math.floor(math.log10(min(v[1] for v in vals)))
    # Room above the tallest whisker for its label.
    hi = 10 ** math.ceil(math.log10(max(v[2] for v in vals) * 2))
    x0 = 20 + i * (PANEL_W + 20) + 50

    def y(v: float) -> float:
        frac = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return BOTTOM - frac * (BOTTOM - TOP)

    out = [f'<text x="{x0 + 100}" y="30" class="t">{title}</text>',
           f'<text x="{x0 + 100}" y="46" class="u">{unit}, log scale</text>',
           f'<line x1="{x0}" y1="{TOP}" x2="{x0}" y2="{BOTTOM}" class="ax"/>',
           f'<line x1="{x0}" y1="{BOTTOM}" x2="{x0 + 210}" y2="{BOTTOM}" class="ax"/>']
    decade = lo
    while decade <= hi:
        out.append(f'<text x="{x0 - 6}" y="{y(decade) + 4:.1f}" class="tick">{fmt(decade)}</text>')
        out.append(f'<line x1="{x0}" y1="{y(decade):.1f}" x2="{x0 + 210}" y2="{y(decade):.1f}" '
                   'class="grid"/>')
        decade *= 10
    for j, (med, mn, mx) in enumerate(vals):
        bx = x0 + 15 + j * 65
        out.append(f'<rect x="{bx}" y="{y(med):.1f}" width="45" height="{BOTTOM - y(med):.1f}" '
                   f'fill="{COLORS[j]}"/>')
        cx = bx + 22.5
        out.append(f'<line x1="{cx}" y1="{y(mn):.1f}" x2="{cx}" y2="{y(mx):.1f}" class="wh"/>')
        out.append(f'<text x="{cx}" y="{y(mx) - 6:.1f}" class="v">{fmt(med)}</text>')
        out.append(f'<text x="{cx}" y="{BOTTOM + 16}" class="n">{NAMES[j]}</text>')
    return out


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: goroutines_plot.py <data.json> <out.svg>")
    data = json.loads(Path(sys.argv[1]).read_text())
    body = [e for i in range(len(PANELS)) for e in panel(i, data)]
    notes = [f"median of {data['rounds']} interleaved runs (benches/chan_report.py), "
             "whisker = min-max, on a shared 2-vCPU VM under load;",
             data["machine"]]
    svg = "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif">',
        "<style>.t{font-size:14px;font-weight:bold;text-anchor:middle}"
        ".u{font-size:11px;fill:#555;text-anchor:middle}.tick{font-size:10px;text-anchor:end}"
        ".v{font-size:11px;text-anchor:middle}.n{font-size:11px;text-anchor:middle}"
        ".ax{stroke:#000}.grid{stroke:#ddd}.wh{stroke:#000;stroke-width:1.5}"
        ".f{font-size:10px;fill:#555}</style>",
        f'<rect width="{W}" height="{H}" fill="#fff"/>',
        *body,
        f'<text x="20" y="{H - 30}" class="f">{notes[0]}</text>',
        f'<text x="20" y="{H - 16}" class="f">{notes[1]}</text>',
        "</svg>",
    ])
    Path(sys.argv[2]).write_text(svg + "\n")


if __name__ == "__main__":
    main()
