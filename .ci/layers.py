#!/usr/bin/env python3
"""Fails if the files of executor/src import each other in a cycle.

The executor is layered (see the top of executor/src/lib.rs): every `use
crate::...` / `super::...` path of a file must point at a file of a lower
layer, so the graph of "file A names an item of file B" has no cycle. Test
modules (`#[cfg(test)] mod tests { ... }` at the end of a file, and the
test-only files loom_tests/, task_tests.rs, chan/tests.rs) and comments are
not counted. A call such as `crate::spawn(...)` names the crate-root
function, not the module.

Usage: .ci/layers.py [--graph]   (--graph prints every file's imports)
"""
import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "executor", "src")
TEST_ONLY = ("loom_tests", "task_tests", "chan::tests")


def modules():
    """Module path ("machine::find") -> source of every file of the crate."""
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), ROOT)[:-3]
            path = rel.replace(os.sep + "mod", "").replace(os.sep, "::")
            if path == "lib" or path.startswith(TEST_ONLY):
                continue
            with open(os.path.join(dirpath, name)) as f:
                mods[path] = (f.read(), name == "mod.rs")
    return mods


def code_of(src):
    """The source without comments and without a trailing test module."""
    lines = [l for l in src.split("\n") if not l.strip().startswith("//")]
    src = "\n".join(lines)
    return re.sub(r"#\[cfg\([^\]]*test[^\]]*\)\]\s*mod tests\s*\{.*", "", src, flags=re.S)


def imports(path, src, is_dir, mods):
    """The files that file `path` names."""
    parent = path.rsplit("::", 1)[0] if "::" in path else ""
    here = path if is_dir else parent
    named = []
    named += re.findall(r"crate::((?:[a-z_]+::)*[A-Za-z_]+)(?!\w*\()", src)
    for group in re.findall(r"crate::\{([^}]*)\}", src):
        named += re.findall(r"([a-z_]+)(?:::)?", group)
    up = (here.rsplit("::", 1)[0] if "::" in here else "") if is_dir else parent
    for p in re.findall(r"\bsuper::((?:[a-z_]+::)*[A-Za-z_]+)", src):
        named.append((up + "::" if up else "") + p)
    if is_dir:
        named += [path + "::" + p for p in re.findall(r"\bself::((?:[a-z_]+::)*[A-Za-z_]+)", src)]
    out = set()
    for p in named:
        segs = p.split("::")
        for i in range(len(segs), 0, -1):
            cand = "::".join(segs[:i])
            if cand in mods:
                if cand != path:
                    out.add(cand)
                break
    return out


def main():
    mods = modules()
    edges = {m: imports(m, code_of(src), is_dir, mods) for m, (src, is_dir) in mods.items()}
    if "--graph" in sys.argv:
        for m in sorted(edges):
            print(f"{m} -> {', '.join(sorted(edges[m]))}")
    cycles, state, stack = [], {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    sys.setrecursionlimit(10000)
    for m in sorted(mods):
        if m not in state:
            visit(m)
    for c in cycles:
        print("import cycle: " + " -> ".join(c))
    if cycles:
        sys.exit(1)
    print(f"layers: {len(mods)} files of executor/src, no import cycle")


main()
