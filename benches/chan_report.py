#!/usr/bin/env python3
"""Runs the channel and goroutine-claim benchmarks as whole processes,
interleaved, and prints markdown tables (medians with min-max).

    python3 benches/chan_report.py [--rounds 7] [--json docs/goroutines-data.json]

Builds ``cargo bench --bench chan --bench chan_mimalloc --no-run`` and the Go
program of ``benches/go/goroutines`` (``go build``), then runs every
configuration once per round, in a fresh random order each round, so that
all of them see the same machine load. Per run it records the workload's own
figure (wall-clock ns per operation of the measured section, or bytes of
VmHWM growth per parked unit) and the process's CPU time (user + system,
from ``getrusage(RUSAGE_CHILDREN)`` deltas) per operation.

Python 3.9+, standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GO_DIR = ROOT / "benches" / "go" / "goroutines"
GO_BIN = ROOT / "target" / "go-goroutines"

# (section, label, binary key, argv, n). Binary keys: glibc, mimalloc, go.
CONFIGS = [
    ("pingpong", "gmp::chan cap 0 (glibc)", "glibc", "pingpong-chan0", 1_000_000),
    ("pingpong", "gmp::chan cap 0 (mimalloc)", "mimalloc", "pingpong-chan0", 1_000_000),
    ("pingpong", "gmp::chan cap 1 (glibc)", "glibc", "pingpong-chan1", 1_000_000),
    ("pingpong", "gmp::chan cap 1 (mimalloc)", "mimalloc", "pingpong-chan1", 1_000_000),
    ("pingpong", "async-channel cap 1 on gmp (glibc)", "glibc", "pingpong-async-channel", 1_000_000),
    ("pingpong", "async-channel cap 1 on gmp (mimalloc)", "mimalloc", "pingpong-async-channel", 1_000_000),
    ("pingpong", "Go unbuffered channel", "go", "pingpong", 1_000_000),
    ("pingpong", "std threads, sync_channel(0)", "glibc", "pingpong-thread", 20_000),
    ("mpmc", "gmp::chan (glibc)", "glibc", "mpmc-chan", 800_000),
    ("mpmc", "gmp::chan (mimalloc)", "mimalloc", "mpmc-chan", 800_000),
    ("mpmc", "async-channel on gmp (glibc)", "glibc", "mpmc-async-channel", 800_000),
    ("mpmc", "async-channel on gmp (mimalloc)", "mimalloc", "mpmc-async-channel", 800_000),
    ("park", "gmp task", "glibc", "park-task", 100_000),
    ("park", "std thread", "glibc", "park-thread", 2_000),
    ("park", "goroutine", "go", "park", 100_000),
    ("spawn", "gmp task", "glibc", "spawn-task", 200_000),
    ("spawn", "std thread", "glibc", "spawn-thread", 2_000),
    ("spawn", "goroutine", "go", "spawn", 200_000),
]

TITLES = {
    "pingpong": "Ping-pong round trip (2 Ps / GOMAXPROCS=2): ns per round trip",
    "mpmc": "MPMC 8 producers x 8 consumers, capacity 16, on gmp (2 Ps): ns per message",
    "park": "Memory per parked unit: VmHWM growth / N (bytes)",
    "spawn": "Create + join: ns per unit",
}


def build() -> dict[str, str]:
    """Builds the bench binaries and the Go program; returns their paths."""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "chan", "--bench", "chan_mimalloc", "--no-run",
         "--message-format=json"],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    paths = {}
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            name = msg["target"]["name"]
            if name == "chan":
                paths["glibc"] = msg["executable"]
            elif name == "chan_mimalloc":
                paths["mimalloc"] = msg["executable"]
    subprocess.run(["go", "build", "-o", str(GO_BIN), "."], cwd=GO_DIR, check=True)
    paths["go"] = str(GO_BIN)
    missing = {"glibc", "mimalloc", "go"} - paths.keys()
    if missing:
        sys.exit(f"chan_report: no executable for {sorted(missing)}")
    return paths


def run_one(binary: str, workload: str, n: int) -> dict[str, float]:
    """Runs one process; returns its key=value figures plus cpu_ns_per_op."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, GOMAXPROCS="2")
    out = subprocess.run([binary, workload, str(n)], check=True, stdout=subprocess.PIPE,
                         text=True, env=env).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fields: dict[str, float] = {}
    for pair in out.split():
        key, _, value = pair.partition("=")
        try:
            fields[key] = float(value)
        except ValueError:
            pass
    fields["cpu_ns_per_op"] = cpu_s * 1e9 / n
    return fields


def summary(values: list[float]) -> str:
    """`median (min-max)` with a precision that fits the magnitude."""
    med, lo, hi = statistics.median(values), min(values), max(values)
    fmt = "{:,.0f}" if med >= 100 else "{:.1f}"
    return f"{fmt.format(med)} ({fmt.format(lo)}-{fmt.format(hi)})"


def table(section: str, results: dict[tuple[str, str], list[dict[str, float]]]) -> str:
    """One markdown table for `section`."""
    main_key = "bytes_per_unit" if section == "park" else "ns_per_op"
    rows = [f"**{TITLES[section]}**", ""]
    extra = section == "pingpong"
    head = "| configuration | N | median (min-max) | CPU ns/op, median (min-max) |"
    rule = "|---|---:|---:|---:|"
    if extra:
        head += " steals per run, median |"
        rule += "---:|"
    rows += [head, rule]
    for sec, label, _, _, n in CONFIGS:
        if sec != section:
            continue
        runs = results[(sec, label)]
        row = (f"| {label} | {n:,} | {summary([r[main_key] for r in runs])} | "
               f"{summary([r['cpu_ns_per_op'] for r in runs])} |")
        if extra:
            steals = [r["steals"] for r in runs if "steals" in r]
            row += f" {statistics.median(steals):,.0f} |" if steals else " - |"
        rows.append(row)
    return "\n".join(rows)


def machine() -> str:
    """A line naming the machine, the commit and the date."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    go = subprocess.run(["go", "version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{os.cpu_count()} vCPU {cpu}, {platform.system()} {platform.release()}, "
            f"commit {commit}, {go}, {now}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="runs per configuration")
    ap.add_argument("--seed", type=int, default=1, help="seed of the run order")
    ap.add_argument("--json", type=Path, help="also write the raw runs here")
    ap.add_argument("--only", help="run only this section (pingpong, mpmc, park, spawn)")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit(f"--rounds must be at least 1, got {args.rounds}")
    paths = build()
    configs = [c for c in CONFIGS if args.only in (None, c[0])]
    if not configs:
        sys.exit(f"--only {args.only!r}: no such section; use one of {sorted(TITLES)}")
    rng = random.Random(args.seed)
    results: dict[tuple[str, str], list[dict[str, float]]] = {
        (c[0], c[1]): [] for c in configs}
    for r in range(args.rounds):
        order = configs[:]
        rng.shuffle(order)
        for section, label, binary, workload, n in order:
            results[(section, label)].append(run_one(paths[binary], workload, n))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"Machine: {machine()}; {args.rounds} interleaved rounds "
          f"(`python3 benches/chan_report.py --rounds {args.rounds}`).\n")
    for section in TITLES:
        if any(c[0] == section for c in configs):
            print(table(section, results) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {"machine": machine(), "rounds": args.rounds,
                "configs": [{"section": s, "label": l, "workload": w, "n": n,
                             "runs": results[(s, l)]} for s, l, _, w, n in configs]}
        args.json.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
