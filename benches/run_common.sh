# Shared by benches/http/run.sh and benches/echo/run.sh (sourced, not run):
# the bench binary, the runtime entries, the configurations and the
# interleaved loop over them.

# bench_binary NAME: builds `cargo bench --bench NAME --no-run` and prints
# the path of its executable.
bench_binary() {
  cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]==sys.argv[1] and m.get("executable"): print(m["executable"])' "$1" \
    | tail -1
}

# runtime_entry ENTRY: sets the caller's `rt` (its label), `arg` (the runtime
# argument) and `exe` (the binary, unchanged unless the entry names one). An
# entry is `runtime`, or `label=runtime:binary` for another build.
runtime_entry() {
  rt="$1"; arg="$1"
  if [[ "$rt" == *=*:* ]]; then
    arg="${rt#*=}"; exe="${arg#*:}"; arg="${arg%%:*}"; rt="${rt%%=*}"
  fi
}

# config_of CFG: sets the caller's `threads`, `conns` and `pin` (the server's
# taskset prefix: one-thread servers on CPU 0, the load on CPU 1).
config_of() {
  case "$1" in
    1t64) threads=1; conns=64; pin=(taskset -c 0) ;;
    2t64) threads=2; conns=64; pin=() ;;
    1t1024) threads=1; conns=1024; pin=(taskset -c 0) ;;
    *) echo "run.sh: unknown config $1" >&2; exit 1 ;;
  esac
}

# each_run FN: FN runtime config round, for every config, RUNS rounds, the
# runtimes interleaved within each round.
each_run() {
  local cfg round rt
  for cfg in $CONFIGS; do
    for round in $(seq "$RUNS"); do
      for rt in $RUNTIMES; do
        "$1" "$rt" "$cfg" "$round"
      done
    done
  done
}
