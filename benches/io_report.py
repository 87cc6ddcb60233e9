#!/usr/bin/env python3
"""Prints the gmp-vs-tokio table of the I/O benchmarks (`benches/io.rs`), in markdown.

Reads criterion's median point estimates (or ``--estimate mean``) from
``<criterion-dir>/<group>/<runtime>/new/estimates.json`` for the groups
``io_echo``, ``io_timers`` and ``io_channel_ping_pong``, and the fairness
latencies from ``<criterion-dir>/io_fairness.json``.

    cargo bench --bench io
    python3 benches/io_report.py

The last column is always a time ratio, gmp over tokio, so that a value
<= 1.0 means gmp is better: for the echo row it is the tokio/gmp ratio of
round trips per second (the same thing), for latencies gmp's over tokio's.

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Workload sizes, as in benches/io.rs.
ECHO_ROUND_TRIPS = 64 * 10_000
PING_PONGS = 100_000


def default_criterion_dir() -> Path:
    """``$CARGO_TARGET_DIR/criterion``, else ``<repo>/target/criterion``."""
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def load_json(path: Path) -> dict | None:
    """The parsed file, or None if it does not exist."""
    try:
        with path.open() as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as err:
        sys.exit(f"io_report.py: {path} is not valid JSON: {err}")


def estimate_ns(criterion_dir: Path, group: str, runtime: str, estimate: str) -> float | None:
    """One point estimate (ns per iteration), or None if the bench has not run."""
    path = criterion_dir / group / runtime / "new" / "estimates.json"
    estimates = load_json(path)
    if estimates is None:
        return None
    try:
        return float(estimates[estimate]["point_estimate"])
    except (KeyError, TypeError, ValueError) as err:
        sys.exit(f"io_report.py: {path} is not a criterion estimates file: {err}")


def fmt_time(ns: float | None) -> str:
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(per_sec: float | None) -> str:
    if per_sec is None:
        return "—"
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if per_sec >= scale:
            return f"{per_sec / scale:.3g}{unit} round trips/s"
    return f"{per_sec:.3g} round trips/s"


def fmt_ratio(gmp: float | None, tokio: float | None) -> str:
    """gmp's time over tokio's: two decimals."""
    if gmp is None or not tokio:
        return "—"
    return f"{gmp / tokio:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--criterion-dir",
        type=Path,
        default=default_criterion_dir(),
        help="criterion's output directory (default: target/criterion)",
    )
    parser.add_argument(
        "--estimate",
        choices=["median", "mean"],
        default="median",
        help="which criterion point estimate to use (default: median)",
    )
    args = parser.parse_args()
    cdir, est = args.criterion_dir, args.estimate

    def both(group: str) -> tuple[float | None, float | None]:
        return estimate_ns(cdir, group, "gmp", est), estimate_ns(cdir, group, "tokio", est)

    rows = []

    gmp, tokio = both("io_echo")
    if gmp is not None or tokio is not None:
        rate = lambda ns: None if ns is None else ECHO_ROUND_TRIPS / (ns / 1e9)  # noqa: E731
        rows.append(
            (
                "TCP echo, 64 conns × 10k × 64 B, 2 workers (throughput)",
                fmt_rate(rate(gmp)),
                fmt_rate(rate(tokio)),
                fmt_ratio(gmp, tokio),
            )
        )

    gmp, tokio = both("io_timers")
    if gmp is not None or tokio is not None:
        rows.append(
            (
                "1M sleeps of 1–10 ms, 2 workers (wall time)",
                fmt_time(gmp),
                fmt_time(tokio),
                fmt_ratio(gmp, tokio),
            )
        )

    gmp, tokio = both("io_channel_ping_pong")
    if gmp is not None or tokio is not None:
        per = lambda ns: None if ns is None else ns / PING_PONGS  # noqa: E731
        rows.append(
            (
                "async-channel ping-pong, bounded(1), 2 workers (per round trip)",
                fmt_time(per(gmp)),
                fmt_time(per(tokio)),
                fmt_ratio(gmp, tokio),
            )
        )

    fairness = load_json(cdir / "io_fairness.json")
    if fairness is not None:
        conns = fairness.get("connections", "?")
        rounds = fairness.get("round_trips_per_connection", "?")
        g, t = fairness.get("gmp", {}), fairness.get("tokio", {})
        for key, label in (("p50_us", "p50"), ("p99_us", "p99")):
            gv, tv = g.get(key), t.get(key)
            rows.append(
                (
                    f"fairness, {conns} conns × {rounds} round trips, 1 worker "
                    f"(round-trip latency {label})",
                    fmt_time(None if gv is None else gv * 1e3),
                    fmt_time(None if tv is None else tv * 1e3),
                    fmt_ratio(gv, tv),
                )
            )

    if not rows:
        sys.exit(
            f"io_report.py: no results under {cdir} (run `cargo bench --bench io` first)"
        )

    print(
        f"I/O benchmarks (criterion {est} per iteration; fairness from io_fairness.json). "
        "Last column: time ratio gmp/tokio (for throughput: tokio's round trips/s over "
        "gmp's) — ≤ 1.0 means gmp is better."
    )
    print()
    print("| workload | gmp | tokio | gmp/tokio (time ratio, ≤ 1.0: gmp better) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
