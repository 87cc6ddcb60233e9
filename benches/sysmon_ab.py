#!/usr/bin/env python3
"""sysmon before/after: two builds of gmp, whole processes, interleaved.

    python3 benches/sysmon_ab.py --before DIR --after DIR [--runs 5]

DIR holds `whole` (benches/whole, `cargo build --release -p gmp-bench-whole`)
and `handoff` (the binary of `cargo bench --bench handoff --no-run`) of one
build. Each round runs, for before then after (the order alternating per
round), one process each of

* `whole --runtime gmp --workload busy_wakeups` and `idle_wakeups`: sysmon's
  wake-ups/s (`monitor_voluntary`), all threads' switches/s, hand-offs in
  the 1 s window;
* `whole --runtime gmp --workload yield_many` and `ping_pong`: wall ns per
  unit (median of the process's iterations) and CPU ns per unit (all
  threads);
* `handoff --stall-cases 1`: the largest gap (ms) of each stall case: 1 P
  with a 1 ms ticker, 1 P with a yielder, 2 Ps with the ticker and an idle
  P, 2 Ps kept busy by 4 yielders;

(`--stall-only`: the stall cases alone, `whole` not needed) and prints each round's figures as a JSON line as it goes, then medians
(min-max) over the rounds as markdown.
"""

import argparse
import json
import statistics
import subprocess


def run(cmd):
    out = subprocess.run(cmd, check=True, text=True, capture_output=True, timeout=300).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def measure(bindir, stall_only):
    """One round of every measurement with the binaries in `bindir`."""
    got = {}
    for w in () if stall_only else ("busy_wakeups", "idle_wakeups"):
        [r] = run([f"{bindir}/whole", "--runtime", "gmp", "--workload", w])
        got[f"{w}: sysmon wake-ups/s"] = r["monitor_voluntary"]
        got[f"{w}: all switches/s"] = r["value"]
        got[f"{w}: hand-offs"] = r["handoffs"]
    for w in () if stall_only else ("yield_many", "ping_pong"):
        [r] = run([f"{bindir}/whole", "--runtime", "gmp", "--workload", w])
        got[f"{w}: wall {r['unit']}"] = r["value"]
        got[f"{w}: CPU {r['unit']}"] = r["cpu"]
    for r in run([f"{bindir}/handoff", "--stall-cases", "1"]):
        got[f"stall {r['case']}: largest gap ms"] = r["gap_ms"]
        got[f"stall {r['case']}: hand-offs"] = r["handoffs"]
    return got


def fmt(values):
    med = statistics.median(values)
    return f"{med:.1f} ({min(values):.1f}–{max(values):.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stall-only", action="store_true", help="only the handoff stall cases")
    args = ap.parse_args()
    results = {"before": [], "after": []}
    for r in range(args.runs):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for side in order:
            got = measure(getattr(args, side), args.stall_only)
            results[side].append(got)
            print(json.dumps({"round": r, "side": side, **got}), flush=True)
    keys = list(results["before"][0])
    print(f"\n| measure | before | after |\n|---|---:|---:|")
    for k in keys:
        cols = [fmt([run[k] for run in results[s] if k in run]) for s in ("before", "after")]
        print(f"| {k} | {cols[0]} | {cols[1]} |")


if __name__ == "__main__":
    main()
