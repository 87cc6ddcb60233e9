#!/usr/bin/env python3
"""Whole-process scheduler benchmarks: gmp, tokio, smol and Go, one workload
per fresh process, runs interleaved, medians with min-max and ratios.

    python3 benches/whole.py            # full: 5 runs each, scaling 1..16 Ps (~12 min)
    python3 benches/whole.py --quick    # 1 run each, scaling at 1, 4, 16 Ps (~3 min)
    python3 benches/whole.py --no-scaling
    python3 benches/whole.py --no-scaling --workloads chained_spawn,chained_spawn_task \
        --out chained_spawn_task.json   # a subset, into its own file
    python3 benches/whole.py --scaling-only
    python3 benches/whole.py --history  # why criterion and whole processes disagree (~4 min)

Builds `gmp-bench-whole` (binaries `whole` and `whole-mimalloc`) with
`cargo build --release` and the Go twin `benches/go/sched` with `go build`
(installing Go with `apt-get install -y golang-go` when it is missing), then

1. runs every (runtime, allocator) on every workload at 2 Ps, `--runs`
   times, round-robin: run r of every configuration before run r+1 of any,
   the configuration order rotated per round, so that all of them share the
   machine's noise;
2. prints a table of medians (min-max) and one of ratios (gmp/tokio,
   gmp/smol, gmp/Go, with each allocator), and writes everything to
   `docs/data/scheduler_whole.json`;
3. runs the timed workloads at 1, 2, 4, 8 and 16 Ps (glibc; Go with
   GOMAXPROCS) and writes `docs/data/scheduler_scaling.json`.

`--history` compares, for ping_pong, yield_many and chained_spawn, criterion
(`cargo bench --bench scheduler`, gmp then tokio in one process) with whole
processes of one runtime alone and of one runtime run after the other in the
same process (`--before`), all interleaved; it writes
`docs/data/scheduler_history.json`.

Each JSON line of a process is kept as it came (see benches/whole/src/lib.rs
for the fields); a process that fails or times out is reported and left out.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
GO_BIN = os.path.join(TARGET, "go-sched")
DATA = os.path.join(ROOT, "docs", "data")

TIMED = [
    "spawn_many_local",
    "spawn_many_remote_idle",
    "yield_many",
    "yield_many_timer",
    "ping_pong",
    "chained_spawn",
    "chained_spawn_long",
    "chained_spawn_task",
    "skynet",
    "chan_ping_pong",
]
WORKLOADS = TIMED + ["parked", "idle_wakeups", "busy_wakeups"]
# (runtime, allocator); Go's allocator is its own.
CONFIGS = [
    ("gmp", "glibc"),
    ("tokio", "glibc"),
    ("smol", "glibc"),
    ("gmp", "mimalloc"),
    ("tokio", "mimalloc"),
    ("smol", "mimalloc"),
    ("go", "go"),
]
SCALING_CONFIGS = [("gmp", "glibc"), ("tokio", "glibc"), ("smol", "glibc"), ("go", "go")]
PROC_TIMEOUT = 300
LOAD_AT_START = open("/proc/loadavg").read().split()[:3]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout.strip()


def try_sh(cmd):
    try:
        return sh(cmd, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError):
        return None


def ensure_go():
    if shutil.which("go"):
        return
    print("go not found: apt-get install -y golang-go", flush=True)
    subprocess.run(["apt-get", "install", "-y", "golang-go"], check=True)


def build():
    print("building gmp-bench-whole (release) ...", flush=True)
    subprocess.run(
        ["cargo", "build", "--release", "-p", "gmp-bench-whole", "--bins"], cwd=ROOT, check=True
    )
    ensure_go()
    print("building benches/go/sched ...", flush=True)
    subprocess.run(
        ["go", "build", "-o", GO_BIN, "."], cwd=os.path.join(ROOT, "benches", "go", "sched"), check=True
    )


def command(runtime, alloc, workload, procs):
    if runtime == "go":
        return [GO_BIN, "-workload", workload, "-procs", str(procs)]
    binary = "whole-mimalloc" if alloc == "mimalloc" else "whole"
    return [
        os.path.join(TARGET, "release", binary),
        "--runtime", runtime,
        "--workload", workload,
        "--procs", str(procs),
    ]


def run_one(runtime, alloc, workload, procs):
    cmd = command(runtime, alloc, workload, procs)
    try:
        out = subprocess.run(cmd, text=True, capture_output=True, timeout=PROC_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {PROC_TIMEOUT} s: {' '.join(cmd)}"
    if out.returncode != 0:
        tail = (out.stderr or "").strip().splitlines()[-3:]
        return None, f"exit {out.returncode}: {' '.join(cmd)}: {' | '.join(tail)}"
    try:
        return json.loads(out.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, f"no JSON line from {' '.join(cmd)}: {out.stdout[-200:]!r}"


def sweep(configs, workloads, procs_list, runs, label):
    """Runs every (config, workload, procs) `runs` times, round-robin."""
    jobs = [(c, w, p) for p in procs_list for w in workloads for c in configs]
    results, errors = [], []
    total = len(jobs) * runs
    started = time.time()
    for r in range(runs):
        shift = (r * 3) % len(jobs)
        for i, ((runtime, alloc), workload, procs) in enumerate(jobs[shift:] + jobs[:shift]):
            line, err = run_one(runtime, alloc, workload, procs)
            done = r * len(jobs) + i + 1
            if err:
                errors.append(err)
                print(f"  [{label} {done}/{total}] FAILED {err}", flush=True)
                continue
            line["run"] = r
            results.append(line)
            if done % 20 == 0 or done == total:
                print(f"  [{label} {done}/{total}] {time.time() - started:.0f} s", flush=True)
    return results, errors


def summarize(results):
    groups = {}
    for r in results:
        key = (r["workload"], r["runtime"], r["alloc"], r["procs"])
        groups.setdefault(key, []).append(r)
    summary = []
    for (workload, runtime, alloc, procs), rows in sorted(groups.items()):
        values = [r["value"] for r in rows]
        entry = {
            "workload": workload,
            "unit": rows[0]["unit"],
            "runtime": runtime,
            "alloc": alloc,
            "procs": procs,
            "n": len(values),
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
        for field in ("cpu", "switches", "first", "mean", "p99", "monitor", "monitor_voluntary", "handoffs",
                      "rss"):
            vals = [r[field] for r in rows if r.get(field) is not None]
            if vals:
                entry[field + "_median"] = statistics.median(vals)
        summary.append(entry)
    return summary


def lookup(summary, workload, runtime, alloc, procs=2, field="median"):
    for s in summary:
        if (s["workload"], s["runtime"], s["alloc"], s["procs"]) == (workload, runtime, alloc, procs):
            return s.get(field)
    return None


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(summary, workload, runtime, alloc, procs=2):
    s = [x for x in summary if (x["workload"], x["runtime"], x["alloc"], x["procs"]) == (workload, runtime, alloc, procs)]
    if not s:
        return "-"
    s = s[0]
    if s["n"] == 1:
        return fmt(s["median"])
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratios(summary, workloads):
    out = []
    for w in workloads:
        row = {"workload": w}
        go = lookup(summary, w, "go", "go")
        for alloc in ("glibc", "mimalloc"):
            gmp = lookup(summary, w, "gmp", alloc)
            row[f"gmp/tokio {alloc}"] = ratio(gmp, lookup(summary, w, "tokio", alloc))
            row[f"gmp/smol {alloc}"] = ratio(gmp, lookup(summary, w, "smol", alloc))
            row[f"gmp/go {alloc}"] = ratio(gmp, go)
            gmp_cpu = lookup(summary, w, "gmp", alloc, field="cpu_median")
            row[f"cpu gmp/tokio {alloc}"] = ratio(
                gmp_cpu, lookup(summary, w, "tokio", alloc, field="cpu_median"))
            row[f"cpu gmp/go {alloc}"] = ratio(gmp_cpu, lookup(summary, w, "go", "go", field="cpu_median"))
        out.append(row)
    return out


def print_tables(summary, workloads, runs):
    unit = {s["workload"]: s["unit"] for s in summary}
    print(f"\n### Whole process, 2 Ps: median of {runs} processes (min–max)\n")
    heads = [f"{r} {a}" if r != "go" else "Go" for r, a in CONFIGS]
    print("| workload | unit | " + " | ".join(heads) + " |")
    print("|---|---|" + "---:|" * len(CONFIGS))
    for w in workloads:
        cells = [cell(summary, w, r, a) for r, a in CONFIGS]
        print(f"| {w} | {unit.get(w, '-')} | " + " | ".join(cells) + " |")
    print(f"\n### CPU time per unit (all threads, schedstat), 2 Ps: median of {runs} processes\n")
    print("| workload | unit | " + " | ".join(heads) + " |")
    print("|---|---|" + "---:|" * len(CONFIGS))
    for w in workloads:
        if w not in TIMED:
            continue
        cells = [fmt(lookup(summary, w, r, a, field="cpu_median")) for r, a in CONFIGS]
        print(f"| {w} | {unit.get(w, '-')} | " + " | ".join(cells) + " |")
    print(f"\n### Context switches per iteration (all threads), 2 Ps: median of {runs} processes\n")
    print("| workload | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(CONFIGS))
    for w in workloads:
        if w not in TIMED:
            continue
        cells = [fmt(lookup(summary, w, r, a, field="switches_median")) for r, a in CONFIGS]
        print(f"| {w} | " + " | ".join(cells) + " |")
    counted = [w for w in ("idle_wakeups", "busy_wakeups") if w in workloads]
    if counted:
        print("\nwake-ups: context switches/s of the runtime's threads (main thread excluded; "
              "Go: all threads); gmp's sysmon alone:")
    for w in counted:
        for alloc in ("glibc", "mimalloc"):
            mon = lookup(summary, w, "gmp", alloc, field="monitor_median")
            vol = lookup(summary, w, "gmp", alloc, field="monitor_voluntary_median")
            hand = lookup(summary, w, "gmp", alloc, field="handoffs_median")
            print(f"  {w} gmp {alloc}: sysmon {fmt(mon)}/s switches, {fmt(vol)}/s voluntary "
                  f"(wake-ups), {fmt(hand)} hand-offs in the 1 s window")
    rows = ratios(summary, [w for w in workloads if w not in ("idle_wakeups", "busy_wakeups")])
    cols = ["gmp/tokio glibc", "gmp/tokio mimalloc", "gmp/smol glibc", "gmp/smol mimalloc",
            "gmp/go glibc", "gmp/go mimalloc", "cpu gmp/tokio glibc", "cpu gmp/tokio mimalloc",
            "cpu gmp/go glibc", "cpu gmp/go mimalloc"]
    print("\n### Ratios of medians (< 1: gmp is faster / smaller)\n")
    print("| workload | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for row in rows:
        print(f"| {row['workload']} | " + " | ".join(fmt(row[c]) for c in cols) + " |")


def print_scaling(summary, workloads, procs_list):
    runs = max((s["n"] for s in summary), default=0)
    print(f"\n### Scaling (glibc; Go: GOMAXPROCS): median of {runs} processes per point, by Ps\n")
    last = procs_list[-1]
    print("| workload | unit | runtime | " + " | ".join(f"{p} P" if p == 1 else f"{p} Ps" for p in procs_list)
          + f" | {last} Ps / 1 P |")
    print("|---|---|---|" + "---:|" * (len(procs_list) + 1))
    for w in workloads:
        unit = next((s["unit"] for s in summary if s["workload"] == w), "-")
        for r, a in SCALING_CONFIGS:
            vals = [lookup(summary, w, r, a, procs=p) for p in procs_list]
            growth = ratio(vals[-1], vals[0])
            print(f"| {w} | {unit} | {r} | " + " | ".join(fmt(v) for v in vals)
                  + f" | {fmt(growth)} |")


def meta(args, started):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    dirty = try_sh(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started),
        "commit": try_sh(["git", "rev-parse", "HEAD"]),
        "dirty": bool(dirty),
        "command": "python3 benches/whole.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.node()} {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} vCPUs",
        "note": "shared 2-vCPU VM, other jobs running: wall times are noisy; compare within a run",
        "loadavg_start": LOAD_AT_START,
        "loadavg_end": open("/proc/loadavg").read().split()[:3],
        "rustc": try_sh(["rustc", "-V"]),
        "go": try_sh(["go", "version"]),
        "runs": args.runs,
        "quick": args.quick,
    }


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print(f"\nwritten {os.path.relpath(path, ROOT)}")


# Units per criterion iteration, as in benches/common/mod.rs (and workload.rs).
DIVISOR = {"ping_pong": 1000, "yield_many": 200 * 1000, "chained_spawn": 1000,
           "spawn_many_local": 10000, "spawn_many_remote_idle": 10000, "skynet": 1e6}
UNIT_NS = {"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def criterion_run(workload):
    """criterion's estimates (ns per unit) of gmp and tokio for `workload`."""
    cmd = ["cargo", "bench", "-q", "--bench", "scheduler", "--", "--warm-up-time", "1",
           "--measurement-time", "3", f"^{workload}/"]
    try:
        out = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, timeout=PROC_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {}
    found = {}
    name = None
    for line in out.stdout.splitlines():
        words = line.split()
        if words and words[0].startswith(workload + "/"):
            name = words[0].split("/", 1)[1]
        if name and "time:" in line:
            inner = line.split("[", 1)[1].split("]", 1)[0].split()
            found[name] = float(inner[2]) * UNIT_NS[inner[3]] / DIVISOR[workload]
            name = None
    return found


def history(runs):
    workloads = ["ping_pong", "yield_many", "chained_spawn"]
    variants = [("gmp", None), ("gmp", "tokio"), ("tokio", None), ("tokio", "gmp")]
    rows = []
    for r in range(runs):
        for w in workloads:
            # About criterion's 3 s window each, so that the means compare.
            iters = {"ping_pong": 3000, "yield_many": 200, "chained_spawn": 12000}[w]
            for runtime, before in variants:
                cmd = command(runtime, "glibc", w, 2) + ["--iters", str(iters)]
                if before:
                    cmd += ["--before", before]
                out = subprocess.run(cmd, text=True, capture_output=True, timeout=PROC_TIMEOUT)
                if out.returncode != 0:
                    print(f"  FAILED {' '.join(cmd)}", flush=True)
                    continue
                line = json.loads(out.stdout.strip().splitlines()[-1])
                line["run"] = r
                rows.append(line)
            for runtime, value in criterion_run(w).items():
                rows.append({"runtime": runtime, "workload": w, "before": "criterion",
                             "value": value, "mean": value, "run": r})
        print(f"  [history {r + 1}/{runs}]", flush=True)
    print(f"\n### criterion against whole processes, 2 Ps, glibc: medians of {runs} runs "
          "(ns per unit)\n")
    print("| workload | runtime | how | median of iterations | mean of iterations | p99 of iterations "
          "| CPU per unit |")
    print("|---|---|---|---:|---:|---:|---:|")
    table = []
    for w in workloads:
        for runtime in ("gmp", "tokio"):
            for how in (None, "gmp" if runtime == "tokio" else "tokio", "criterion"):
                sel = [x for x in rows if x["workload"] == w and x["runtime"] == runtime
                       and x.get("before") == how]
                if not sel:
                    continue
                med = statistics.median(x["value"] for x in sel)
                mean = statistics.median(x["mean"] for x in sel)
                cpu = [x["cpu"] for x in sel if "cpu" in x]
                cpu = statistics.median(cpu) if cpu else None
                p99 = [x["p99"] for x in sel if "p99" in x]
                p99 = statistics.median(p99) if p99 else None
                label = {None: "alone", "criterion": "criterion (estimate)"}.get(how, f"after {how}")
                table.append({"workload": w, "runtime": runtime, "how": label, "median": med,
                              "mean": mean, "p99": p99, "cpu": cpu, "n": len(sel)})
                print(f"| {w} | {runtime} | {label} | {fmt(med)} | {fmt(mean)} | {fmt(p99)} "
                      f"| {fmt(cpu)} |")
    return rows, table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 run each, scaling at 1, 4, 16 Ps")
    ap.add_argument("--runs", type=int, help="processes per configuration (default 5; quick 1)")
    ap.add_argument("--scaling-runs", type=int, help="processes per scaling point (default 3; quick 1)")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--scaling-only", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--workloads", help="comma-separated subset")
    ap.add_argument("--out", default="scheduler_whole.json",
                    help="file under docs/data for the 2-P results (a subset run's own)")
    ap.add_argument("--history", action="store_true",
                    help="only the criterion-against-whole-process comparison")
    args = ap.parse_args()
    args.runs = args.runs or (1 if args.quick else 5)
    args.scaling_runs = args.scaling_runs or (1 if args.quick else 3)
    workloads = args.workloads.split(",") if args.workloads else WORKLOADS
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"--workloads: unknown {unknown}; known: {WORKLOADS}")
    if not args.no_build:
        build()
    started = time.time()
    errors = []
    if args.history:
        args.runs = args.runs if "--runs" in sys.argv else 3
        rows, table = history(args.runs)
        m = meta(args, started)
        write(os.path.join(DATA, "scheduler_history.json"),
              {"meta": m, "table": table, "results": rows})
        return
    if not args.scaling_only:
        results, errs = sweep(CONFIGS, workloads, [2], args.runs, "2 Ps")
        errors += errs
        summary = summarize(results)
        print_tables(summary, workloads, args.runs)
        m = meta(args, started)
        write(os.path.join(DATA, os.path.basename(args.out)),
              {"meta": m, "summary": summary,
               "ratios": ratios(summary, [w for w in workloads if not w.endswith("_wakeups")]),
               "errors": errs, "results": results})
    if not args.no_scaling:
        procs_list = [1, 4, 16] if args.quick else [1, 2, 4, 8, 16]
        timed = [w for w in workloads if w in TIMED]
        s_started = time.time()
        results, errs = sweep(SCALING_CONFIGS, timed, procs_list, args.scaling_runs, "scaling")
        errors += errs
        summary = summarize(results)
        print_scaling(summary, timed, procs_list)
        m = meta(args, s_started)
        m["runs"] = args.scaling_runs
        m["procs"] = procs_list
        write(os.path.join(DATA, "scheduler_scaling.json"),
              {"meta": m, "summary": summary, "errors": errs, "results": results})
    print(f"\nwhole run: {time.time() - started:.0f} s, {len(errors)} failed processes")
    for e in errors:
        print("  " + e)


if __name__ == "__main__":
    main()
