#!/usr/bin/env python3
"""Per-connection rounds of a gmp HTTP server, from its execution trace.

    GMP_HTTP_SECS=5 GMP_TRACE=/tmp/t.json GMP_TRACE_EVENTS=600000 \\
        taskset -c 0 target/release/deps/http-… gmp 1 8080 &
    taskset -c 1 wrk -t1 -c1024 -d4s http://127.0.0.1:8080/
    benches/http/rounds.py /tmp/t.json

Every connection is one task, so the time from the end of one of its polls to
the start of its next is one round: waiting for the client's next request,
then for its turn on a P. Printed: the quantiles of that gap, with the number
of other polls in between (a fair FIFO over N busy connections puts N - 1
there), and the longest gaps with what each P did meanwhile (the share of the
gap it spent inside polls, and how many polls it ran) and whether an M was
blocked in the reactor.
"""
import collections
import json
import sys


def load(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    polls = sorted((e for e in events if e.get("cat") == "task"), key=lambda e: e["ts"])
    reactor = [(e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "reactor"]
    dropped = trace.get("otherData", {}).get("dropped_events", 0)
    return polls, reactor, dropped


def rounds(polls):
    """(gap µs, other polls between, previous poll, next poll) per task round."""
    last, out = {}, []
    for i, e in enumerate(polls):
        task = e["args"]["task"]
        if task in last:
            j, prev = last[task]
            out.append((e["ts"] - (prev["ts"] + prev["dur"]), i - j - 1, prev, e))
        last[task] = (i, e)
    return out


def during(polls, p, a, b):
    """Share of [a, b] that P `p` spent inside polls, and how many it began."""
    busy, n = 0.0, 0
    for e in polls:
        if e["tid"] != p or e["ts"] + e["dur"] < a or e["ts"] > b:
            continue
        busy += min(e["ts"] + e["dur"], b) - max(e["ts"], a)
        n += e["ts"] >= a
    return busy / (b - a), n


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: rounds.py <trace.json>")
    polls, reactor, dropped = load(sys.argv[1])
    found = rounds(polls)
    if not found:
        sys.exit("rounds.py: no task polled twice in this trace")
    gaps = sorted(g for g, _, _, _ in found)
    between = sorted(n for _, n, _, _ in found)
    print(f"{len(polls)} polls, {len(found)} rounds, {dropped} events dropped by full rings")
    for q in (0.5, 0.9, 0.99, 0.999):
        k = int(len(found) * q)
        print(f"  p{q * 100:g}: gap {gaps[k] / 1000:.2f} ms, other polls between {between[k]}")
    print(f"  max: gap {gaps[-1] / 1000:.2f} ms, other polls between {between[-1]}")
    procs = sorted({e["tid"] for e in polls})
    print("longest gaps:")
    for gap, n, prev, nxt in sorted(found, key=lambda r: r[0])[-8:]:
        a, b = prev["ts"] + prev["dur"], nxt["ts"]
        per_p = ", ".join(
            "P{} {:.0%} in polls ({} polls)".format(p, *during(polls, p, a, b)) for p in procs
        )
        in_reactor = any(x < b and y > a for x, y in reactor)
        print(
            f"  {gap / 1000:.2f} ms, {n} polls between, P{prev['tid']} -> P{nxt['tid']}: "
            f"{per_p}; an M blocked in the reactor: {in_reactor}"
        )
    ends = collections.Counter(e["args"]["end"] for e in polls)
    print("poll ends:", dict(ends))


if __name__ == "__main__":
    main()
