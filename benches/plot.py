#!/usr/bin/env python3
"""Plots for docs/: hand-written SVG, standard library only.

    python3 benches/plot.py
    python3 benches/plot.py --http-latency ../io/docs/data/http_latency.json

Reads, when present (a plot whose input is missing is skipped, saying so):

* docs/data/scheduler_whole.json  -> docs/scheduler_ratios.svg
  (gmp/tokio, gmp/smol and gmp/Go time ratios per workload, log axis, both
  allocators; written by benches/whole.py)
* docs/data/scheduler_scaling.json -> docs/scheduler_scaling.svg
  (time at N Ps over time at 1 P, per runtime and workload)
* docs/data/handoff_stall.json    -> docs/handoff_stall.svg
  (gap before every 1 ms tick over time while a task blocks its thread
  200 ms, gmp vs tokio; `cargo bench --bench handoff -- --dump-ticks`)
* docs/data/http_latency.json     -> docs/http_latency_cdf.svg
  (1,024-connection latency CDF: {"meta":{...},"series":{"gmp":
  [[percentile, latency_us], ...], ...}}; `--http-latency PATH` reads it
  from elsewhere)
"""

import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
DATA = os.path.join(DOCS, "data")

COLORS = {
    "gmp": "#1f77b4",
    "tokio": "#d62728",
    "smol": "#2ca02c",
    "go": "#9467bd",
    "gmp sysmon(false)": "#7f7f7f",
}
PALETTE = ["#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c", "#98df8a", "#9467bd", "#c5b0d5"]


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Axis:
    """Maps data to pixels, linear or log10."""

    def __init__(self, lo, hi, p0, p1, log=False):
        self.lo, self.hi, self.p0, self.p1, self.log = lo, hi, p0, p1, log

    def __call__(self, v):
        if self.log:
            v = max(v, self.lo)
            t = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            t = (v - self.lo) / (self.hi - self.lo)
        return self.p0 + t * (self.p1 - self.p0)

    def ticks(self):
        if self.log:
            out, e = [], math.floor(math.log10(self.lo))
            while 10 ** e <= self.hi * 1.0001:
                for m in (1, 2, 5):
                    v = m * 10 ** e
                    if self.lo <= v <= self.hi * 1.0001:
                        out.append(v)
                e += 1
            return out
        step = nice_step((self.hi - self.lo) / 6)
        v, out = math.ceil(self.lo / step) * step, []
        while v <= self.hi + 1e-9:
            out.append(v)
            v += step
        return out


def nice_step(raw):
    e = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * e:
            return m * e
    return 10 * e


def label(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


class Svg:
    def __init__(self, width, height):
        self.w, self.h, self.parts = width, height, []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", weight="normal", color="#222", rotate=None):
        rot = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{color}"{rot}>{esc(s)}</text>')

    def line(self, x1, y1, x2, y2, color="#ccc", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{color}" stroke-width="{width}"{d}/>')

    def rect(self, x, y, w, h, color, opacity=1.0):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                 f'fill="{color}" fill-opacity="{opacity}"/>')

    def polyline(self, points, color, width=1.5):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.add(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"/>')

    def legend(self, x, y, entries):
        for i, (name, color) in enumerate(entries):
            self.rect(x, y + i * 18 - 9, 12, 10, color)
            self.text(x + 18, y + i * 18, name, size=11)

    def save(self, path):
        body = "\n".join(self.parts)
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                    f'viewBox="0 0 {self.w} {self.h}" font-family="sans-serif">\n'
                    f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')
        print(f"written {os.path.relpath(path, ROOT)}")


def frame(svg, xa, ya, xlabel, ylabel, xticks=True, yticks=True):
    """Grid, ticks and axis labels of a plot area."""
    if xticks:
        for v in xa.ticks():
            x = xa(v)
            svg.line(x, ya.p0, x, ya.p1, "#eee")
            svg.text(x, ya.p0 + 15, label(v), size=10, anchor="middle")
    if yticks:
        for v in ya.ticks():
            y = ya(v)
            svg.line(xa.p0, y, xa.p1, y, "#eee")
            svg.text(xa.p0 - 5, y + 4, label(v), size=10, anchor="end")
    svg.line(xa.p0, ya.p0, xa.p1, ya.p0, "#444")
    svg.line(xa.p0, ya.p0, xa.p0, ya.p1, "#444")
    svg.text((xa.p0 + xa.p1) / 2, ya.p0 + 32, xlabel, size=12, anchor="middle")
    svg.text(xa.p0 - 42, (ya.p0 + ya.p1) / 2, ylabel, size=12, anchor="middle", rotate=-90)


def load(name, path=None):
    path = path or os.path.join(DATA, name)
    if not os.path.exists(path):
        print(f"skipped: {os.path.relpath(path, ROOT)} is missing")
        return None
    with open(path) as f:
        return json.load(f)


def caption(meta):
    keys = ("date_utc", "commit", "machine")
    parts = [str(meta[k])[:12] if k == "commit" and meta.get(k) else str(meta.get(k, "?")) for k in keys]
    return " · ".join(parts)


def ratios_plot(data):
    cols = [("gmp/tokio glibc", PALETTE[2]), ("gmp/tokio mimalloc", PALETTE[3]),
            ("gmp/smol glibc", PALETTE[4]), ("gmp/smol mimalloc", PALETTE[5]),
            ("gmp/go glibc", PALETTE[6]), ("gmp/go mimalloc", PALETTE[7])]
    rows = [r for r in data["ratios"] if any(r.get(c) for c, _ in cols)]
    if not rows:
        print("skipped: scheduler_whole.json has no ratios")
        return
    bar, gap = 9, 14
    group = bar * len(cols) + gap
    top, left, width = 60, 170, 520
    height = top + group * len(rows) + 70
    svg = Svg(left + width + 190, height)
    vals = [r[c] for r in rows for c, _ in cols if r.get(c)]
    lo = 10 ** math.floor(math.log10(min(vals + [0.5])))
    hi = 10 ** math.ceil(math.log10(max(vals + [2.0])))
    xa = Axis(lo, hi, left, left + width, log=True)
    ya = Axis(0, 1, top + group * len(rows), top)
    svg.text(10, 22, "Whole-process time (or bytes) ratio, gmp over peer, 2 Ps: < 1 means gmp is better",
             size=14, weight="bold")
    svg.text(10, 40, caption(data["meta"]) + f" · median of {data['meta'].get('runs')} processes",
             size=10, color="#666")
    frame(svg, xa, ya, "ratio (log scale)", "", yticks=False)
    svg.line(xa(1), top, xa(1), ya.p0, "#000", 1.5, dash="4,3")
    for i, row in enumerate(rows):
        y0 = top + i * group + gap / 2
        svg.text(left - 8, y0 + bar * len(cols) / 2 + 4, row["workload"], size=11, anchor="end")
        for j, (c, color) in enumerate(cols):
            v = row.get(c)
            if not v:
                continue
            x0, x1 = xa(min(1, v)), xa(max(1, v))
            svg.rect(x0, y0 + j * bar, x1 - x0, bar - 1, color)
    svg.legend(left + width + 15, top + 10, cols)
    svg.save(os.path.join(DOCS, "scheduler_ratios.svg"))


def scaling_plot(data):
    summary = data["summary"]
    procs = sorted({s["procs"] for s in summary})
    workloads = []
    for s in summary:
        if s["workload"] not in workloads:
            workloads.append(s["workload"])
    runtimes = ["gmp", "tokio", "smol", "go"]
    ncol = 4
    nrow = math.ceil(len(workloads) / ncol)
    cw, ch = 230, 190
    svg = Svg(ncol * cw + 40, nrow * ch + 80)
    svg.text(10, 22, "Scaling: median time at N Ps over time at 1 P (glibc; Go: GOMAXPROCS), "
             "2 vCPUs, so N > 2 is oversubscribed", size=14, weight="bold")
    svg.text(10, 40, caption(data["meta"]), size=10, color="#666")
    for k, w in enumerate(workloads):
        ox, oy = 20 + (k % ncol) * cw, 60 + (k // ncol) * ch
        series = {}
        for r in runtimes:
            pts = {s["procs"]: s["median"] for s in summary if s["workload"] == w and s["runtime"] == r}
            if 1 in pts:
                series[r] = [(p, pts[p] / pts[1]) for p in procs if p in pts]
        vals = [v for pts in series.values() for _, v in pts] or [1]
        xa = Axis(1, max(procs), ox + 45, ox + cw - 15, log=True)
        ya = Axis(min(0.1, min(vals)), max(10, max(vals)), oy + ch - 50, oy + 20, log=True)
        svg.text(ox + 45, oy + 12, w, size=11, weight="bold")
        for p in procs:
            svg.line(xa(p), ya.p0, xa(p), ya.p1, "#eee")
            svg.text(xa(p), ya.p0 + 13, str(p), size=9, anchor="middle")
        for v in ya.ticks():
            if str(v)[0] == "1":
                svg.line(xa.p0, ya(v), xa.p1, ya(v), "#ddd")
                svg.text(xa.p0 - 4, ya(v) + 3, label(v), size=9, anchor="end")
        svg.line(xa.p0, ya(1), xa.p1, ya(1), "#888", dash="3,3")
        for r, pts in series.items():
            svg.polyline([(xa(p), ya(v)) for p, v in pts], COLORS[r])
    for i, r in enumerate(runtimes):
        x = 20 + i * 90
        svg.rect(x, nrow * ch + 55, 12, 10, COLORS[r])
        svg.text(x + 18, nrow * ch + 64, r, size=11)
    svg.text(20 + len(runtimes) * 90, nrow * ch + 64,
             "x: Ps (log) · y: time ratio to 1 P (log); lower is better", size=10)
    svg.save(os.path.join(DOCS, "scheduler_scaling.svg"))


def handoff_plot(data):
    series = data["series"]
    left, top, width, height = 70, 60, 600, 300
    svg = Svg(left + width + 300, top + height + 70)
    svg.text(10, 22, "Hand-off: gap before each 1 ms tick while another task blocks its thread "
             "for 200 ms (1 P)", size=14, weight="bold")
    meta = data.get("meta", {})
    svg.text(10, 40, f"{meta.get('command', '')} · {meta.get('machine', '')}", size=10, color="#666")
    end = max(t for s in series.values() for t in s["ticks_ms"])
    gaps = [b - a for s in series.values() for a, b in zip(s["ticks_ms"], s["ticks_ms"][1:])]
    xa = Axis(0, math.ceil(end / 50) * 50, left, left + width)
    ya = Axis(0.1, 10 ** math.ceil(math.log10(max(gaps + [10]))), top + height, top, log=True)
    frame(svg, xa, ya, "time since start (ms)", "gap before the tick (ms, log)")
    for s in series.values():
        b0, b1 = s["block_ms"]
        svg.rect(xa(b0), top, xa(b1) - xa(b0), height, "#f4e3c1", 0.35)
    svg.text(xa(series[next(iter(series))]["block_ms"][0]) + 4, top + 14, "blocked poll", size=10, color="#a0722a")
    entries = []
    for i, (name, s) in enumerate(series.items()):
        color = COLORS.get(name, COLORS.get(name.split()[0], PALETTE[i % len(PALETTE)]))
        t = s["ticks_ms"]
        # A step per gap: flat across the interval it covers, at its length.
        steps = []
        for a, b in zip(t, t[1:]):
            steps += [(xa(a), ya(b - a)), (xa(b), ya(b - a))]
        svg.polyline(steps, color)
        largest = max((b - a for a, b in zip(t, t[1:])), default=0)
        entries.append((f"{name} (max {largest:.1f} ms)", color))
    svg.legend(left + width + 15, top + 10, entries)
    svg.save(os.path.join(DOCS, "handoff_stall.svg"))


def latency_plot(data):
    series = data["series"]
    left, top, width, height = 70, 60, 600, 320
    svg = Svg(left + width + 170, top + height + 70)
    svg.text(10, 22, "1,024 connections: round-trip latency CDF", size=14, weight="bold")
    meta = data.get("meta", {})
    svg.text(10, 40, " · ".join(f"{k}: {v}" for k, v in list(meta.items())[:5])[:150], size=10, color="#666")
    lats = [lat for pts in series.values() for _, lat in pts if lat > 0]
    if not lats:
        print("skipped: http_latency.json has no points")
        return
    xa = Axis(10 ** math.floor(math.log10(min(lats))), 10 ** math.ceil(math.log10(max(lats))),
              left, left + width, log=True)
    ya = Axis(0, 100, top + height, top)
    frame(svg, xa, ya, "latency (µs, log)", "percentile")
    entries = []
    for i, (name, pts) in enumerate(series.items()):
        color = COLORS.get(name, PALETTE[i % len(PALETTE)])
        pts = sorted((lat, pct) for pct, lat in pts if lat > 0)
        svg.polyline([(xa(lat), ya(pct)) for lat, pct in pts], color, 2)
        entries.append((name, color))
    svg.legend(left + width + 15, top + 10, entries)
    svg.save(os.path.join(DOCS, "http_latency_cdf.svg"))


def main():
    # `--http-latency PATH` reads the latency CDF from elsewhere (the I/O
    # benchmarks' worktree) when docs/data has none yet.
    http = None
    if "--http-latency" in sys.argv[1:]:
        i = sys.argv.index("--http-latency")
        if i + 1 >= len(sys.argv):
            sys.exit("plot.py: --http-latency needs a path")
        http = sys.argv[i + 1]
    plots = [
        ("scheduler_whole.json", ratios_plot, None),
        ("scheduler_scaling.json", scaling_plot, None),
        ("handoff_stall.json", handoff_plot, None),
        ("http_latency.json", latency_plot, http),
    ]
    failed = False
    for name, plot, path in plots:
        data = load(name, path)
        if data is None:
            continue
        try:
            plot(data)
        except (KeyError, ValueError, TypeError, IndexError) as err:
            print(f"skipped: {name} does not have the expected shape ({err!r})")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
