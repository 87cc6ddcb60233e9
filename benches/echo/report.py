#!/usr/bin/env python3
"""Summarises benches/echo/run.sh: medians and min-max per runtime and config.

Usage: report.py OUT_DIR [--json PATH]
Reads OUT_DIR/runs.jsonl (and strace.jsonl if present). With --json, writes
the summary and the raw lines as {"meta": {...from $ECHO_META}, "rows": [...],
"runs": [...], "strace": [...]} (strace: the per-syscall counts of each
STRACE=1 run found in OUT_DIR).
"""
import json
import os
import statistics
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def strace_calls(path):
    """Per-syscall call counts from an `strace -c` table."""
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = calls.get(parts[-1], 0) + int(parts[3])
    return calls


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(s, scale=1.0, digits=2, unit=""):
    return (f"{s['median'] * scale:.{digits}f}{unit} "
            f"({s['min'] * scale:.{digits}f}-{s['max'] * scale:.{digits}f})")


def summarise(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["config"], r["runtime"]), []).append(r["client"])
    rows = []
    for (cfg, rt), cs in groups.items():
        cs = [c for c in cs if c["round_trips"] > 0]
        if not cs:
            rows.append({"config": cfg, "runtime": rt, "runs": 0})
            continue
        rows.append({
            "config": cfg, "runtime": rt, "runs": len(cs),
            "round_trips_per_s": stats([c["round_trips"] / (c["duration_us"] / 1e6) for c in cs]),
            "p50_us": stats([c["p50_us"] for c in cs]),
            "p99_us": stats([c["p99_us"] for c in cs]),
            "server_cpu_us_per_rt": stats([c["server_cpu_ticks"] / c["hz"] * 1e6 / c["round_trips"]
                                           for c in cs]),
            "ctx_per_rt": stats([c["server_ctx"] / c["round_trips"] for c in cs]),
            "client_cpu_share": stats([c["client_cpu_us"] / c["duration_us"] for c in cs]),
        })
    return rows


def main():
    out = sys.argv[1]
    runs = load(os.path.join(out, "runs.jsonl"))
    rows = summarise(runs)
    traced = []
    print("config  runtime  round trips/s (min-max)  p50 us  p99 us  server CPU us/rt  "
          "ctx-sw/rt  client CPU  runs")
    for r in rows:
        if not r["runs"]:
            print(f"{r['config']:7} {r['runtime']:7}  no run completed a round trip")
            continue
        print(f"{r['config']:7} {r['runtime']:7}  {fmt(r['round_trips_per_s'], 1e-3, 1, 'k')}  "
              f"{fmt(r['p50_us'], digits=0)}  {fmt(r['p99_us'], digits=0)}  "
              f"{fmt(r['server_cpu_us_per_rt'])}  {fmt(r['ctx_per_rt'], digits=3)}  "
              f"{fmt(r['client_cpu_share'], 100, 0, '%')}  {r['runs']}")
    for r in load(os.path.join(out, "strace.jsonl")):
        n = r["client"]["round_trips"]
        if not n:
            continue
        calls = strace_calls(os.path.join(out, r["strace"]))
        traced.append({**r, "calls": calls})
        total = sum(calls.values())
        top = ", ".join(f"{name} {c / n:.2f}" for name, c in
                        sorted(calls.items(), key=lambda kv: -kv[1])[:8])
        print(f"strace {r['config']} {r['runtime']}: {total / n:.2f} syscalls/round trip "
              f"({n} round trips): {top}")
    if "--json" in sys.argv:
        path = sys.argv[sys.argv.index("--json") + 1]
        meta = json.loads(os.environ.get("ECHO_META", "{}"))
        with open(path, "w") as f:
            json.dump({"meta": meta, "rows": rows, "runs": runs, "strace": traced}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
