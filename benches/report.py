#!/usr/bin/env python3
"""Prints the gmp-vs-tokio table of the scheduler benchmarks, in markdown.

Reads criterion's median point estimates (or ``--estimate mean|slope``) (nanoseconds) from
``<criterion-dir>/<workload>/<runtime>/new/estimates.json``, where the runtime
directory is ``gmp`` / ``tokio`` for the system allocator (bench target
``scheduler``) and ``gmp-<label>`` / ``tokio-<label>`` for another allocator
(bench target ``scheduler_<label>``, e.g. ``scheduler_mimalloc``).

    cargo bench --bench scheduler
    cargo bench --bench scheduler_mimalloc
    python3 benches/report.py --allocator glibc
    python3 benches/report.py --allocator mimalloc

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# The order of the groups in benches/common/mod.rs; others found are appended.
WORKLOADS = [
    "spawn_many_local",
    "spawn_many_remote_idle",
    "spawn_many_remote_busy1",
    "spawn_many_remote_busy2",
    "ping_pong",
    "yield_many",
    "chained_spawn",
    "skynet",
]

# The allocator whose bench IDs carry no suffix (the `scheduler` target).
SYSTEM_ALLOCATOR = "glibc"


def default_criterion_dir() -> Path:
    """``$CARGO_TARGET_DIR/criterion``, else ``<repo>/target/criterion``."""
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def estimate_ns(
    criterion_dir: Path, workload: str, runtime: str, estimate: str
) -> float | None:
    """One point estimate of one bench, or None if the bench has not run."""
    path = criterion_dir / workload / runtime / "new" / "estimates.json"
    try:
        with path.open() as f:
            estimates = json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as err:
        sys.exit(f"report.py: {path} is not valid JSON: {err}")
    try:
        # `slope` is null under flat sampling (skynet): fall back to the mean.
        point = estimates.get(estimate) or estimates["mean"]
        return float(point["point_estimate"])
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        sys.exit(f"report.py: {path} is not a criterion estimates file: {err}")


def fmt_time(ns: float | None) -> str:
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns < 100 * scale else f"{ns / scale:.0f} {unit}"
    return f"{ns:.3g} ns"


def fmt_ratio(ratio: float) -> str:
    """Two significant digits below 1, two decimals above."""
    return f"{ratio:.2f}" if ratio >= 1 else f"{ratio:.2g}"


def workloads_in(criterion_dir: Path, suffix: str) -> list[str]:
    """Known workloads first, in bench order, then any other group found."""
    found = []
    if criterion_dir.is_dir():
        for group in sorted(p.name for p in criterion_dir.iterdir() if p.is_dir()):
            if group in WORKLOADS or group == "report":
                continue
            if (criterion_dir / group / f"gmp{suffix}").is_dir():
                found.append(group)
    return WORKLOADS + found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--allocator",
        default=SYSTEM_ALLOCATOR,
        help=f"allocator label: {SYSTEM_ALLOCATOR} (the `scheduler` bench, the default) "
        "or the suffix of another bench target, e.g. mimalloc",
    )
    parser.add_argument(
        "--criterion-dir",
        type=Path,
        default=default_criterion_dir(),
        help="criterion's output directory (default: target/criterion)",
    )
    parser.add_argument(
        "--estimate",
        choices=["median", "mean", "slope"],
        default="median",
        help="which criterion point estimate to show (default: median; criterion's "
        "console line shows the slope, or the mean under flat sampling)",
    )
    args = parser.parse_args()

    suffix = "" if args.allocator == SYSTEM_ALLOCATOR else f"-{args.allocator}"
    rows = []
    for workload in workloads_in(args.criterion_dir, suffix):
        gmp = estimate_ns(args.criterion_dir, workload, f"gmp{suffix}", args.estimate)
        tokio = estimate_ns(args.criterion_dir, workload, f"tokio{suffix}", args.estimate)
        if gmp is None and tokio is None:
            continue
        ratio = fmt_ratio(gmp / tokio) if gmp is not None and tokio else "—"
        rows.append((workload, fmt_time(gmp), fmt_time(tokio), ratio))

    if not rows:
        sys.exit(
            f"report.py: no results for allocator {args.allocator!r} under "
            f"{args.criterion_dir} (run `cargo bench --bench "
            f"scheduler{suffix.replace('-', '_')}` first)"
        )

    print(
        f"Allocator: {args.allocator} (criterion {args.estimate} per iteration; "
        "ratio < 1 means gmp is faster)"
    )
    print()
    print(f"| workload | gmp {args.estimate} | tokio {args.estimate} | gmp/tokio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
