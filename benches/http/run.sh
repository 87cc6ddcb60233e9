#!/usr/bin/env bash
# HTTP benchmark: hyper hello world on gmp, tokio and smol (benches/http.rs),
# loaded by wrk, in the three configurations of issue 9:
#
#   1t64    1 server thread pinned to CPU 0, 64 connections
#   2t64    2 server threads, unpinned,      64 connections
#   1t1024  1 server thread pinned to CPU 0, 1024 connections
#
# wrk (1 thread) is pinned to CPU 1. Runtimes are interleaved within each
# round (RUNS rounds, default 3). Per run: req/s, p50/p99 (wrk), server CPU
# µs/request (utime+stime of /proc/<pid>/stat over the measured run divided
# by the requests), context switches/request (voluntary + involuntary, summed
# over /proc/<pid>/task/*/status). Raw lines go to $OUT/runs.jsonl, the
# summary (medians, min-max) to stdout via report.py.
#
# Environment: RUNS (3), DURATION (10 s), WARMUP (2 s), RUNTIMES
# ("gmp tokio smol"; an entry `label=runtime:binary` runs another build of
# this bench, e.g. `gmp-before=gmp:/tmp/http-before`), CONFIGS
# ("1t64 2t64 1t1024"), OUT (target/http),
# STRACE=1: instead, count syscalls per request with `strace -c -f` on the
# server during a run (slow; req/s then mean nothing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

command -v wrk >/dev/null || apt-get install -y wrk
RUNS="${RUNS:-3}"; DURATION="${DURATION:-10}"; WARMUP="${WARMUP:-2}"
RUNTIMES="${RUNTIMES:-gmp tokio smol}"; CONFIGS="${CONFIGS:-1t64 2t64 1t1024}"
OUT="${OUT:-target/http}"; mkdir -p "$OUT"
LUA="benches/http/report.lua"

. benches/run_common.sh
bin="$(bench_binary http)"
[[ -x "$bin" ]] || { echo "run.sh: could not build the http bench" >&2; exit 1; }
hz="$(getconf CLK_TCK)"
port=18080

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ctx_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null \
    | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print s}'
}

one_run() { # runtime config round
  local rt="$1" cfg="$2" round="$3" threads conns pin=() exe="$bin" arg="$1"
  runtime_entry "$1"
  config_of "$cfg"
  port=$((port + 1))
  "${pin[@]}" "$exe" "$arg" "$threads" "$port" >"$OUT/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do grep -q ready "$OUT/server.log" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q ready "$OUT/server.log"; then
    echo "run.sh: $rt server did not start within 60 s; run skipped" >&2
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    return 0
  fi
  local url="http://127.0.0.1:$port/"
  if ! taskset -c 1 wrk -t1 -c"$conns" -d"${WARMUP}s" "$url" >/dev/null; then
    echo "run.sh: wrk could not load the $rt server; run skipped" >&2
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    return 0
  fi
  local t0 c0 t1 c1 line
  if [[ "${STRACE:-0}" == 1 ]]; then
    strace -c -f -p "$pid" -o "$OUT/strace-$rt-$cfg.txt" & local spid=$!
    sleep 1
    line="$(taskset -c 1 wrk -t1 -c"$conns" -d"${DURATION}s" -s "$LUA" "$url" | grep WRKJSON)"
    kill -INT "$spid"; wait "$spid" || true
    echo "{\"runtime\":\"$rt\",\"config\":\"$cfg\",\"round\":$round,\"strace\":\"strace-$rt-$cfg.txt\",\"wrk\":${line#WRKJSON }}" >>"$OUT/strace.jsonl"
  else
    t0="$(cpu_ticks "$pid")"; c0="$(ctx_switches "$pid")"
    line="$(taskset -c 1 wrk -t1 -c"$conns" -d"${DURATION}s" -s "$LUA" "$url" | grep WRKJSON)"
    t1="$(cpu_ticks "$pid")"; c1="$(ctx_switches "$pid")"
    echo "{\"runtime\":\"$rt\",\"config\":\"$cfg\",\"round\":$round,\"cpu_ticks\":$((t1 - t0)),\"hz\":$hz,\"ctx\":$((c1 - c0)),\"wrk\":${line#WRKJSON }}" >>"$OUT/runs.jsonl"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

: >"$OUT/runs.jsonl"; [[ "${STRACE:-0}" == 1 ]] && : >"$OUT/strace.jsonl"
each_run one_run
python3 benches/http/report.py "$OUT"
