#!/usr/bin/env python3
"""Summarises benches/http/run.sh: medians and min-max per runtime and config.

Usage: report.py OUT_DIR [--latency-json PATH]
Reads OUT_DIR/runs.jsonl (and strace.jsonl if present). With --latency-json,
writes the latency percentiles of the 1t1024 run with the median throughput
of each runtime as {"meta": {...}, "series": {rt: [[p, us], ...]}}.
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


def pct(run, p):
    for q, us in run["wrk"]["percentiles"]:
        if q == p:
            return us
    raise KeyError(p)


def strace_calls(path):
    """Per-syscall call counts from an `strace -c` table."""
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = calls.get(parts[-1], 0) + int(parts[3])
    return calls


def fmt(values, unit=""):
    med = statistics.median(values)
    return f"{med:.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def main():
    out = sys.argv[1]
    runs = load(os.path.join(out, "runs.jsonl"))
    groups = {}
    for r in runs:
        groups.setdefault((r["config"], r["runtime"]), []).append(r)
    print("config  runtime  req/s (min-max)  p50 ms  p99 ms  CPU us/req  ctx-sw/req  runs")
    for (cfg, rt), rs in groups.items():
        stalled = [r for r in rs if r["wrk"]["requests"] == 0]
        rs = [r for r in rs if r["wrk"]["requests"] > 0]
        if stalled:
            print(f"{cfg:7} {rt:7}  {len(stalled)} run(s) served no request (stalled)")
        if not rs:
            continue
        reqs = [r["wrk"]["requests"] / (r["wrk"]["duration_us"] / 1e6) for r in rs]
        cpu = [r["cpu_ticks"] / r["hz"] * 1e6 / r["wrk"]["requests"] for r in rs]
        ctx = [r["ctx"] / r["wrk"]["requests"] for r in rs]
        p50 = [pct(r, 50) / 1000 for r in rs]
        p99 = [pct(r, 99) / 1000 for r in rs]
        errs = sum(r["wrk"]["errors"] for r in rs)
        print(f"{cfg:7} {rt:7}  {fmt([x / 1000 for x in reqs], 'k')}  {fmt(p50)}  "
              f"{fmt(p99)}  {fmt(cpu)}  {fmt(ctx)}  {len(rs)}"
              + (f"  errors={errs}" if errs else ""))
    for r in load(os.path.join(out, "strace.jsonl")):
        n = r["wrk"]["requests"]
        calls = strace_calls(os.path.join(out, r["strace"]))
        total = sum(calls.values())
        top = ", ".join(f"{name} {c / n:.2f}" for name, c in
                        sorted(calls.items(), key=lambda kv: -kv[1])[:8])
        print(f"strace {r['config']} {r['runtime']}: {total / n:.2f} syscalls/request "
              f"({n} requests): {top}")
    if "--latency-json" in sys.argv:
        path = sys.argv[sys.argv.index("--latency-json") + 1]
        series = {}
        for (cfg, rt), rs in groups.items():
            if cfg != "1t1024" or rt not in ("gmp", "tokio", "smol"):
                continue
            rs = sorted((r for r in rs if r["wrk"]["requests"] > 0),
                        key=lambda r: r["wrk"]["requests"])
            if not rs:
                continue
            series[rt] = rs[len(rs) // 2]["wrk"]["percentiles"]
        meta = json.loads(os.environ.get("HTTP_META", "{}"))
        meta.setdefault("config", "1 server thread pinned to CPU 0, 1024 connections, wrk -t1 on CPU 1")
        meta.setdefault("unit", "microseconds")
        meta.setdefault("run", "the run with the median throughput of each runtime")
        with open(path, "w") as f:
            json.dump({"meta": meta, "series": series}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
