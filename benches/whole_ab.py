#!/usr/bin/env python3
"""Two (or more) builds of gmp, one workload at a time, whole processes,
interleaved: the A/B of an experiment on the scheduler.

    python3 benches/whole_ab.py --runs 7 --workloads yield_many,skynet \\
        base=DIR_A exp=DIR_B [--procs 2] [--mimalloc]

Each DIR holds the `whole` and `whole-mimalloc` binaries of one build
(`cargo build --release -p gmp-bench-whole --bins`, then copy
`target/release/whole*` there). For every workload, round r runs one process
of every build, in the given order on even rounds and reversed on odd ones,
so that the builds share the machine's noise; then it prints, per build, the
median of the processes' values with min-max, and the median CPU time per
unit (all threads).
"""

import argparse
import json
import statistics
import subprocess


def one(binary, workload, procs):
    """The JSON line of one process."""
    out = subprocess.run(
        [binary, "--runtime", "gmp", "--workload", workload, "--procs", str(procs)],
        check=True, text=True, capture_output=True, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="+", help="LABEL=DIR, two or more")
    ap.add_argument("--workloads", required=True, help="comma-separated")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--mimalloc", action="store_true", help="run whole-mimalloc")
    args = ap.parse_args()
    builds = []
    for b in args.builds:
        label, sep, path = b.partition("=")
        if not sep or not label or not path:
            ap.error(f"build {b!r}: expected LABEL=DIR")
        builds.append((label, f"{path}/whole-mimalloc" if args.mimalloc else f"{path}/whole"))
    if len(builds) < 2:
        ap.error("give two builds or more")
    alloc = "mimalloc" if args.mimalloc else "glibc"
    print(f"| workload | build | median (min-max) | CPU | {args.runs} processes, "
          f"{args.procs} Ps, {alloc} |")
    print("|---|---|---:|---:|---|")
    for w in args.workloads.split(","):
        got = {label: [] for label, _ in builds}
        for r in range(args.runs):
            for label, binary in builds if r % 2 == 0 else builds[::-1]:
                got[label].append(one(binary, w, args.procs))
        for label, _ in builds:
            values = [j["value"] for j in got[label]]
            cpu = [j.get("cpu") or 0.0 for j in got[label]]
            print(f"| {w} | {label} | {statistics.median(values):.2f} "
                  f"({min(values):.2f}-{max(values):.2f}) | {statistics.median(cpu):.2f} | |")


if __name__ == "__main__":
    main()
