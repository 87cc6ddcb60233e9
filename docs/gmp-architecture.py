#!/usr/bin/env python3
"""Draws docs/gmp-architecture.svg (and, with rsvg-convert, the .png).

    python3 docs/gmp-architecture.py            # writes docs/gmp-architecture.svg
    rsvg-convert -w 1400 docs/gmp-architecture.svg -o docs/gmp-architecture.png

The picture follows the code: the find_runnable steps (numbers 1-9) are the
list at the top of executor/src/machine/mod.rs, the arrivals (letters a-h)
are machine/wake.rs, sched.rs, machine/inject.rs, sysmon/ and blocking/.
Rings are drawn with their tail (where the owner pushes) on the left and their
head (where tasks are taken) on the right.
"""

import os
from xml.sax.saxutils import escape

W, H = 1400, 1252
INK = "#1f2937"
GREY = "#475569"
STEP = "#1e3a8a"  # find_runnable steps
ARRIVE = "#c2410c"  # how a task arrives
HAND = "#15803d"  # a P changes hands

out = []


def emit(s):
    out.append(s)


def text(x, y, s, size=11, weight=None, fill=None, anchor=None, mono=False, italic=False):
    attrs = [f'x="{x}"', f'y="{y}"']
    if size != 11:
        attrs.append(f'font-size="{size}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if fill:
        attrs.append(f'fill="{fill}"')
    if anchor:
        attrs.append(f'text-anchor="{anchor}"')
    if mono:
        attrs.append('font-family="monospace"')
    if italic:
        attrs.append('font-style="italic"')
    emit(f'<text {" ".join(attrs)}>{escape(s)}</text>')


def box(x, y, w, h, fill, stroke, dash=None, rx=10, width=1.2):
    d = f' stroke-dasharray="{dash}"' if dash else ""
    emit(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{width}"{d}/>'
    )


def ring(x, y, cells, cell, filled, label=None, h=20, ends=True, tail_dx=0):
    """A ring of `cells` drawn slots, `filled` of them holding a task, at the
    head (right) end."""
    emit(f'<rect x="{x}" y="{y}" width="{cells * cell}" height="{h}" fill="#ffffff" stroke="#94a3b8"/>')
    for i in range(1, cells):
        emit(f'<path d="M{x + i * cell},{y} V{y + h}" stroke="#cbd5e1"/>')
    for i in range(cells - filled, cells):
        emit(
            f'<rect x="{x + i * cell + 2}" y="{y + 3}" width="{cell - 4}" height="{h - 6}" rx="2" '
            f'fill="#fbbf24" stroke="#b45309"/>'
        )
    if ends:
        text(x + tail_dx, y + h + 13, "tail ▲" if not tail_dx else "▲ tail", size=10, fill=GREY)
        if tail_dx:
            text(x + cells * cell + 4, y + h // 2 + 4, "head", size=10, fill=GREY)
        else:
            text(x + cells * cell, y + h + 13, "▲ head", size=10, fill=GREY, anchor="end")
    if label:
        text(x, y - 6, label, size=11, weight="bold")


def gdot(x, y):
    emit(f'<circle cx="{x}" cy="{y}" r="8" fill="#fbbf24" stroke="#b45309"/>')


def path(d, color, marker, dash=None, width=1.6):
    """An arrow with a white halo, so that crossings stay readable."""
    emit(f'<path d="{d}" fill="none" stroke="#ffffff" stroke-width="{width + 4}" stroke-linejoin="round"/>')
    ds = f' stroke-dasharray="{dash}"' if dash else ""
    emit(
        f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{ds} '
        f'stroke-linejoin="round" marker-end="url(#{marker})"/>'
    )


def badge(x, y, label, kind):
    """A numbered step (filled) or a lettered arrival (outlined)."""
    if kind == "step":
        emit(f'<circle cx="{x}" cy="{y}" r="9" fill="{STEP}"/>')
        text(x, y + 4, label, size=11, weight="bold", fill="#ffffff", anchor="middle")
    else:
        emit(f'<circle cx="{x}" cy="{y}" r="9" fill="#ffffff" stroke="{ARRIVE}" stroke-width="1.6"/>')
        text(x, y + 4, label, size=11, weight="bold", fill=ARRIVE, anchor="middle")


def header():
    emit('<?xml version="1.0" encoding="UTF-8"?>')
    emit("<!-- gmp: drawn by docs/gmp-architecture.py from the code; see docs/architecture.md. -->")
    emit(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11" fill="{INK}">'
    )
    emit(
        "<title>gmp architecture: G (tasks), M (threads), P (runnext, LRQ, yielded ring), the GRQ and the "
        "idle lists under the sched lock, sysmon, the reactor, the blocking pool, the hand-off, and the "
        "steps of find_runnable</title>"
    )
    emit("<defs>")
    for mid, color in (("a-step", STEP), ("a-arrive", ARRIVE), ("a-hand", HAND), ("a-ink", INK)):
        emit(
            f'<marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
        )
    emit("</defs>")
    emit(f'<rect width="{W}" height="{H}" fill="#ffffff"/>')
    text(20, 30, "gmp — Go's G-M-P scheduler for Rust futures", size=18, weight="bold")
    text(
        20,
        48,
        "one runtime, max_procs = 4: P0–P2 held by Ms, P3 idle · filled numbers: the steps of find_runnable · "
        "outlined letters: how a task gets there (both explained at the bottom)",
        size=12,
        fill=GREY,
    )


def top_row():
    emit('<g transform="translate(0,10)">')
    # Threads outside any P.
    box(20, 75, 270, 170, "#f8fafc", "#64748b", dash="6 4")
    text(34, 97, "Threads outside any P", size=13, weight="bold")
    for i, s in enumerate(
        [
            "• a block_on caller",
            "• other threads, other executors",
            "• sysmon (its reactor poll)",
            "• an M back from the reactor, no P idle",
            "• an M whose P was taken in a poll",
        ]
    ):
        text(34, 119 + 17 * i, s)
    text(34, 231, "their spawns and wakes: Shared::schedule_remote", fill=GREY)

    # Shared::sched.
    box(340, 75, 590, 205, "#fffbeb", "#b45309")
    text(354, 97, "Shared · sched lock (Go's sched.lock)", size=13, weight="bold")
    ring(360, 108, 18, 20, 13, h=26, tail_dx=20)
    text(382, 166, "GRQ · GlobalQueue: FIFO, unbounded,", weight="bold")
    text(382, 181, "a VecDeque under the lock, fed without it", fill=GREY)
    text(382, 196, "by the lane (RemoteQueue, 1,024 slots)", fill=GREY)
    text(400, 214, "read without the lock (atomics):", fill=GREY)
    text(400, 229, "grq.len() · npidle · nmspinning", mono=True)
    text(400, 244, "needspinning · closing", mono=True)
    text(400, 260, "wakep(): no spinner + an idle P → startm", fill=GREY)
    text(400, 274, "no idle P → needspinning, npidle re-read", fill=GREY)
    # Idle Ms and idle Ps.
    box(780, 90, 138, 108, "#ffffff", "#b45309", rx=6)
    text(790, 107, "idle Ms", weight="bold")
    box(790, 115, 118, 30, "#f8fafc", "#2563eb", dash="4 3", rx=5)
    text(798, 134, "M5 · on its condvar")
    box(790, 153, 118, 30, "#f8fafc", "#2563eb", dash="4 3", rx=5)
    text(798, 172, "M4 · in the reactor")
    box(780, 206, 138, 62, "#ffffff", "#b45309", rx=6)
    text(790, 223, "idle Ps (stack)", weight="bold")
    box(792, 233, 40, 24, "#f0fdf4", "#15803d", rx=5)
    text(812, 249, "P3", weight="bold", anchor="middle")
    text(840, 249, "idle", fill=GREY)

    # Reactor.
    box(980, 75, 400, 205, "#faf5ff", "#7e22ce")
    text(994, 97, "Reactor · netpoller (one per process)", size=13, weight="bold")
    box(994, 107, 170, 46, "#ffffff", "#7e22ce", rx=6)
    text(1004, 125, "polling::Poller", weight="bold", mono=True)
    text(1004, 143, "epoll, edge-triggered fds")
    box(1176, 107, 190, 46, "#ffffff", "#7e22ce", rx=6)
    text(1186, 125, "timers", weight="bold")
    text(1186, 143, "BTreeMap (deadline, id) → waker", size=10)
    box(994, 162, 372, 44, "#f8fafc", "#2563eb", dash="4 3", rx=6)
    text(1004, 180, "M4 · blocked in Poller::wait (timeout: the next timer)", weight="bold")
    text(1004, 197, "holds NO P; at most one M waits here")
    text(994, 224, "notify(): wakes the wait (new P handed over, earlier timer, shutdown)", fill=GREY)
    text(994, 241, "the wait skips if, under the poll lock, a P was handed", fill=GREY)
    text(994, 256, "to M4 or the runtime is closing", fill=GREY)
    text(994, 272, "no runtime alive: the fallback thread gmp-reactor", fill=GREY)
    emit("</g>")


def proc_box(x, name, owner, note, lrq, runnext, yielded, stats):
    y = 400
    box(x, y, 420, 250, "#f0fdf4", "#15803d")
    text(x + 14, y + 22, name, size=13, weight="bold")
    text(x + 44, y + 22, owner)
    text(x + 14, y + 39, note, fill=GREY)
    ring(x + 30, y + 65, 16, 15, lrq, label="LRQ · ring of 256")
    box(x + 310, y + 58, 80, 32, "#ffffff", "#15803d", rx=6)
    text(x + 350, y + 104, "runnext", weight="bold", anchor="middle")
    if runnext:
        gdot(x + 350, y + 74)
    else:
        text(x + 350, y + 78, "empty", fill=GREY, anchor="middle")
    ring(x + 130, y + 140, 16, 9, yielded, label="yielded ring · 256")
    for i, s in enumerate(stats):
        text(x + 14, y + 220 + 16 * i, s, mono=True, size=10)


def middle_row():
    # Ms.
    box(30, 320, 175, 52, "#fef2f2", "#dc2626", dash="5 3")
    text(40, 340, "M0 · stuck in one poll", weight="bold")
    text(40, 357, "(a blocking call)")
    box(250, 320, 170, 52, "#dbeafe", "#2563eb")
    text(260, 340, "M3 · idle or new M", weight="bold")
    text(260, 357, "now runs P0's tasks")
    box(670, 320, 230, 52, "#dbeafe", "#2563eb")
    text(680, 340, "M1 · find_runnable on P1", weight="bold")
    text(680, 357, "polls a task (coop budget 128)")
    box(1030, 320, 340, 52, "#dbeafe", "#2563eb")
    text(1040, 340, "M2 · spinning (counted in nmspinning)", weight="bold")
    text(1040, 357, "started by wakep; found P2's queues empty")
    # The Ms' links to their Ps.
    emit('<path d="M117,372 V400" stroke="#dc2626" stroke-dasharray="3 3"/>')
    text(124, 392, "×", fill="#dc2626", size=13)
    emit(f'<path d="M335,372 V400" stroke="{INK}"/>')
    emit(f'<path d="M720,372 V400" stroke="{INK}"/>')
    emit(f'<path d="M1200,372 V400" stroke="{INK}"/>')

    proc_box(
        20,
        "P0",
        "InPoll(17) → Owned, by sysmon's CAS",
        "its tasks waited behind M0's long poll",
        10,
        True,
        0,
        ["schedtick 311 · m: M0 → M3", "stats: handoffs +1"],
    )
    proc_box(
        490,
        "P1",
        "Owned ⇄ InPoll(seq)",
        "only M1 pushes here",
        9,
        True,
        3,
        ["schedtick · runnext_streak · preempt", "since_yielder (61 → step 2)"],
    )
    proc_box(
        960,
        "P2",
        "Owned by M2",
        "",
        6,
        False,
        0,
        ["schedtick · stats: steals +1, stolen +6"],
    )


def bottom_row():
    # sysmon.
    box(20, 690, 420, 222, "#fff7ed", "#c2410c", dash="6 4")
    text(34, 712, "sysmon · a thread with NO P (sysmon/)", size=13, weight="bold")
    lines = [
        "sleeps 20 µs; after 50 quiet wake-ups doubles, up to 10 ms;",
        "Ms report a P stuck 1 ms in one poll (machine/watch.rs); deep",
        "sleep while every P is idle (pidleget wakes it)",
        "retake a P still inside the same poll (CAS InPoll → Owned):",
        "  after 1 ms if the P is needed and the kernel says the M's",
        "  thread is not running (kernel.rs); after 10 ms anyway",
        "  → handoffp",
        "preempt flag: same schedtick for 10 ms → runnext → GRQ",
        "reactor unpolled for 10 ms: try_poll(0), woken → GRQ",
        "GMP_SCHEDTRACE: prints Go's SCHED line",
    ]
    for i, s in enumerate(lines):
        text(34, 734 + 17 * i, s)

    # Blocking pool.
    box(490, 690, 420, 222, "#f1f5f9", "#475569")
    text(504, 712, "Blocking pool · threads with NO P (blocking/)", size=13, weight="bold")
    box(504, 724, 110, 40, "#f8fafc", "#2563eb", dash="4 3", rx=6)
    text(514, 741, "thread", weight="bold")
    text(514, 757, "runs f()")
    box(624, 724, 110, 40, "#f8fafc", "#2563eb", dash="4 3", rx=6)
    text(634, 741, "thread", weight="bold")
    text(634, 757, "idle ≤ 10 s")
    text(746, 750, "… ≤ 512 threads", fill=GREY)
    for i, s in enumerate(
        [
            "spawn_blocking(f): a task whose schedule function",
            "queues it here, never on a P",
            "block_in_place(f): the M gives its own P away",
            "(try_retake + handoffp), then runs f on this thread",
        ]
    ):
        text(504, 790 + 17 * i, s)

    # Key.
    box(960, 690, 420, 222, "#ffffff", "#94a3b8")
    text(974, 712, "Key", size=13, weight="bold")
    box(974, 722, 34, 18, "#dbeafe", "#2563eb", rx=4)
    text(1016, 735, "M: OS thread holding a P")
    box(1174, 722, 34, 18, "#f8fafc", "#2563eb", dash="4 3", rx=4)
    text(1216, 735, "thread, no P")
    box(974, 748, 34, 18, "#f0fdf4", "#15803d", rx=4)
    text(1016, 761, "P: scheduling context")
    emit('<rect x="1176" y="749" width="10" height="16" rx="2" fill="#fbbf24" stroke="#b45309"/>')
    gdot(1200, 757)
    text(1216, 761, "G: a task")
    badge(990, 786, "1", "step")
    path("M1002,786 H1036", STEP, "a-step")
    text(1046, 790, "step of find_runnable: where M takes a task")
    badge(990, 812, "a", "arrive")
    path("M1002,812 H1036", ARRIVE, "a-arrive")
    text(1046, 816, "how a task arrives there")
    path("M976,838 H1036", HAND, "a-hand", dash="6 3")
    text(1046, 842, "a P changes hands")
    path("M976,864 H1036", ARRIVE, "a-arrive", dash="2 3")
    text(1046, 868, "a flag is set")
    emit(f'<path d="M976,890 H1036" stroke="{INK}"/>')
    text(1046, 894, "M holds P (×: P taken from this M)")


def arrows():
    # Steps 1 and 5: the GRQ's head.
    path("M700,146 V318", STEP, "a-step")
    badge(700, 300, "1", "step")
    text(712, 303, "every 61st tick: 1 task,", size=10)
    text(712, 315, "then the reactor", size=10)
    path("M655,146 V463", STEP, "a-step")
    badge(655, 300, "5", "step")
    text(642, 303, "a GRQ batch", size=10, anchor="end")
    text(642, 315, "→ this LRQ", size=10, anchor="end")
    # Steps 2, 3, 4: P1's own queues, up into M1.
    path("M766,550 H784 V374", STEP, "a-step")
    badge(784, 520, "2", "step")
    path("M830,456 V374", STEP, "a-step")
    badge(830, 420, "3", "step")
    path("M752,463 V374", STEP, "a-step")
    badge(752, 420, "4", "step")
    # Step 6: the reactor without blocking.
    path("M980,282 H960 V346 H902", STEP, "a-step")
    badge(960, 322, "6", "step")
    text(974, 326, "try_poll(0)", size=10)
    # Step 7: M2 steals half of P1's LRQ into P2's.
    path("M590,487 V600 H1050 V489", STEP, "a-step")
    badge(820, 600, "7", "step")
    text(834, 596, "steal half", size=10)
    # Step 8: M2 found nothing: its P goes to the idle list.
    path("M1050,318 V300 H945 V247 H920", STEP, "a-step")
    badge(945, 272, "8", "step")
    # Step 9: an M with no P blocks in the reactor.
    path("M908,185 H992", STEP, "a-step", dash="5 3")
    badge(955, 185, "9", "step")

    # a: spawn / wake on an M holding a P → runnext.
    path("M880,374 V456", ARRIVE, "a-arrive")
    badge(880, 420, "a", "arrive")
    # b: woke itself while running → the yielded ring's tail.
    path("M896,374 V580 H625 V562", ARRIVE, "a-arrive")
    badge(896, 470, "b", "arrive")
    # c: off a P → the GRQ's tail.
    path("M290,138 H357", ARRIVE, "a-arrive")
    badge(322, 138, "c", "arrive")
    # d, e: spill of a full ring, preempted runnext → GRQ.
    path("M518,475 H470 V300 H368 V147", ARRIVE, "a-arrive")
    badge(470, 350, "d", "arrive")
    badge(470, 374, "e", "arrive")
    # f: reactor wake-ups spread: one per idle P → GRQ (+ startm).
    path("M1180,85 V70 H315 V124 H357", ARRIVE, "a-arrive")
    badge(800, 70, "f", "arrive")
    text(814, 64, "woken tasks: one per other idle P → GRQ (+ startm), the rest → this LRQ", size=10)
    # g: the hand-off. sysmon takes P0; P0 goes from M0 to M3.
    path("M205,346 H248", HAND, "a-hand", dash="6 3")
    badge(226, 330, "g", "arrive")
    text(218, 366, "P0", size=10, fill=HAND, weight="bold")
    path("M230,690 V652", HAND, "a-hand", dash="6 3")
    badge(230, 672, "g", "arrive")
    text(244, 676, "CAS InPoll(seq) → Owned, handoffp", size=10, fill=HAND)
    # sysmon sets P1's preempt flag.
    path("M440,700 L560,652", ARRIVE, "a-arrive", dash="2 3")
    text(446, 680, "preempt", size=10, fill=ARRIVE)
    # h: spawn_blocking.
    path("M700,650 V688", ARRIVE, "a-arrive")
    badge(700, 669, "h", "arrive")
    text(714, 673, "spawn_blocking", size=10)


def legend():
    box(20, 930, 1360, 307, "#f8fafc", "#94a3b8")
    text(34, 954, "Where an M looks for its next task, in order (find_runnable, machine/mod.rs)", size=13, weight="bold")
    steps = [
        ("1", "every 61st tick: 1 task from the GRQ; then the reactor without blocking (once per tick value)"),
        ("2", "a yielder that has waited YIELD_INTERVAL (61) polls on this P: it runs ahead of everything"),
        ("3", "runnext, inheriting the time slice: at most 61 in a row, not once sysmon set preempt (else e)"),
        ("4", "the LRQ head"),
        ("5", "a GRQ batch of min(len/procs + 1, len, 128): one runs, the rest go to this LRQ"),
        ("6", "the reactor without blocking, if nobody is blocked in it; then the yielded ring"),
        ("7", "steal while 2·spinning < busy Ps: 4 passes in random order, half a victim's LRQ"),
        ("", "(else its yielded ring), its runnext only on the last pass"),
        ("8", "give the P back: the GRQ re-checked under the sched lock, pidleput; needspinning re-read;"),
        ("", "a spinner stops spinning, then re-checks every queue (the delicate dance)"),
        ("9", "no P (stop_m): block in the reactor if nobody is (timeout: next timer), else park on the"),
        ("", "condvar until startm hands a P; an idle M exits after 10 s"),
    ]
    y = 978
    for label, s in steps:
        if label:
            badge(44, y - 4, label, "step")
        text(62, y, s)
        y += 20
    x = 700
    text(x, 954, "How a task gets there", size=13, weight="bold")
    arrivals = [
        ("a", "spawn / wake on an M holding a P (schedule_local) → runnext; the task"),
        ("", "it displaces → LRQ tail; wakep if more than one task is now waiting"),
        ("b", "woke itself while running (yield_now, coop budget of 128 spent) → yielded ring"),
        ("c", "spawn / wake anywhere else (schedule_remote) → the GRQ's lock-free lane, a ring"),
        ("", "of 1,024 (full: the GRQ tail, locked); the next lock holder moves it to the tail; wakep"),
        ("d", "push onto a full ring: its oldest 128 + the new task (129) → GRQ, one lock"),
        ("e", "runnext preempted (61 in a row, or sysmon's flag) → GRQ"),
        ("f", "reactor wake-ups (inject): the first runs on this M, one per other idle P → GRQ"),
        ("", "with an M started for each, the rest → this P's LRQ"),
        ("g", "hand-off: sysmon's CAS InPoll(seq) → Owned, then handoffp gives the P to an idle"),
        ("", "or new M; the stuck M's exit_poll fails, it takes an idle P or goes idle"),
        ("h", "spawn_blocking(f) → a pool thread; block_in_place(f) hands its own P off first"),
        ("", "Ps never change in number; Ms grow with blocked polls (≤ max_threads, 10,000)"),
    ]
    y = 978
    for label, s in arrivals:
        if label:
            badge(x + 10, y - 4, label, "arrive")
        text(x + 28, y, s)
        y += 20


def main():
    header()
    top_row()
    middle_row()
    bottom_row()
    arrows()
    legend()
    emit("</svg>")
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "gmp-architecture.svg"), "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
