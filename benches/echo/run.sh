#!/usr/bin/env bash
# TCP echo benchmark, whole processes: an echo server on gmp, tokio
# (benches/echo.rs) and Go (benches/go/echo), loaded by the one load
# generator of benches/echo.rs (`echo client`), in the configurations
#
#   1t64    1 server thread pinned to CPU 0, 64 connections
#   2t64    2 server threads, unpinned,      64 connections
#   1t1024  1 server thread pinned to CPU 0, 1024 connections
#
# The load generator (one thread, epoll, one 64-byte message outstanding per
# connection) is pinned to CPU 1. Runtimes are interleaved within each round
# (RUNS rounds, default 3). Per run: round trips/s, p50/p99, server CPU µs per
# round trip (utime+stime of /proc/<pid>/stat), context switches per round
# trip (voluntary + involuntary over /proc/<pid>/task/*/status), all read by
# the client at the edges of its measured window. Raw lines go to
# $OUT/runs.jsonl, the summary (medians, min-max) to stdout via report.py.
#
# Environment: RUNS (3), DURATION (5 s), WARMUP (2 s), RUNTIMES
# ("gmp tokio go"; an entry `label=runtime:binary` runs another build, e.g.
# `gmp-before=gmp:/tmp/echo-before`), CONFIGS ("1t64 2t64 1t1024"),
# OUT (target/echo),
# STRACE=1: instead, count syscalls per round trip with `strace -c -f` on the
# server during a run without warm-up (slow; round trips/s then mean nothing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RUNS="${RUNS:-3}"; DURATION="${DURATION:-5}"; WARMUP="${WARMUP:-2}"
RUNTIMES="${RUNTIMES:-gmp tokio go}"; CONFIGS="${CONFIGS:-1t64 2t64 1t1024}"
OUT="${OUT:-target/echo}"; mkdir -p "$OUT"
[[ "${STRACE:-0}" == 1 ]] && { command -v strace >/dev/null || apt-get install -y strace; }

. benches/run_common.sh
bin="$(bench_binary echo)"
[[ -x "$bin" ]] || { echo "run.sh: could not build the echo bench" >&2; exit 1; }
if [[ " $RUNTIMES " == *" go "* ]]; then
  command -v go >/dev/null || apt-get install -y golang-go
  gobin="$(cd "$OUT" && pwd)/go-echo"  # OUT may be absolute
  (cd benches/go/echo && go build -o "$gobin" .)
fi
port=18100

one_run() { # runtime config round
  local rt="$1" cfg="$2" round="$3" threads conns pin=() exe="$bin" arg="$1" warm="$WARMUP"
  runtime_entry "$1"
  config_of "$cfg"
  port=$((port + 1))
  if [[ "$arg" == go ]]; then
    [[ "$exe" == "$bin" ]] && exe="$gobin"
    "${pin[@]}" "$exe" "$threads" "$port" >"$OUT/server.log" 2>&1 &
  else
    "${pin[@]}" "$exe" server "$arg" "$threads" "$port" >"$OUT/server.log" 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 600); do grep -q ready "$OUT/server.log" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q ready "$OUT/server.log"; then
    echo "run.sh: $rt server did not start within 60 s; run skipped" >&2
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    return 0
  fi
  local spid="" line file="$OUT/runs.jsonl" extra=""
  if [[ "${STRACE:-0}" == 1 ]]; then
    strace -c -f -p "$pid" -o "$OUT/strace-$rt-$cfg.txt" & spid=$!
    sleep 1; warm=0; file="$OUT/strace.jsonl"; extra=",\"strace\":\"strace-$rt-$cfg.txt\""
  fi
  if ! line="$(taskset -c 1 timeout $((WARMUP + DURATION + 60)) \
      "$bin" client "$port" "$conns" "$warm" "$DURATION" "$pid")"; then
    echo "run.sh: the client failed against the $rt server ($cfg, round $round); run skipped" >&2
    line=""
  fi
  if [[ -n "$spid" ]]; then kill -INT "$spid"; wait "$spid" || true; fi
  [[ -n "$line" ]] && echo "{\"runtime\":\"$rt\",\"config\":\"$cfg\",\"round\":$round$extra,\"client\":$line}" >>"$file"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

if [[ "${STRACE:-0}" == 1 ]]; then : >"$OUT/strace.jsonl"; else : >"$OUT/runs.jsonl"; fi
each_run one_run
python3 benches/echo/report.py "$OUT"
