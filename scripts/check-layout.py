#!/usr/bin/env python3
"""Checks the rules of docs/architecture.md on the built objects and the sources:

- no call cycle between .c files: from `nm` of every object under build/obj, file A
  calls B when A uses a symbol B defines; any cycle in that graph fails;
- no include cycle between headers;
- no hand-written .c file over 400 lines (generated ones say so in their first lines);
- no file outside agent/cpython/ tests a CPython version (`minor`).

    scripts/check-layout.py [BUILD_DIR]
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 400


def objects(build):
    for top, _, files in os.walk(os.path.join(build, "obj")):
        for f in files:
            if f.endswith(".o"):
                yield os.path.join(top, f)


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def find_cycle(graph):
    """One cycle of graph {node: set(nodes)} as a list, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if not state.get(n):
            found = visit(n)
            if found:
                return found
    return None


def sources(exts):
    for folder in ("agent", "core", "loader", "bpf", "unwind"):
        for top, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if f.endswith(exts):
                    yield os.path.relpath(os.path.join(top, f), ROOT)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    problems = []

    owner, uses = {}, {}
    for obj in objects(build):
        name = os.path.relpath(obj, os.path.join(build, "obj"))[:-2] + ".c"
        if not os.path.exists(os.path.join(ROOT, name)):
            continue  # left from an older layout of the tree
        defined, used = symbols(obj)
        uses[name] = used
        for s in defined:
            owner[s] = name
    calls = {a: {owner[s] for s in used if s in owner and owner[s] != a} for a, used in uses.items()}
    cycle = find_cycle(calls)
    if cycle:
        problems.append("call cycle: " + " -> ".join(cycle))

    includes = {}
    headers = list(sources((".h",)))
    for h in headers:
        text = open(os.path.join(ROOT, h)).read()
        deps = set()
        for inc in re.findall(r'#include "([^"]+)"', text):
            for cand in (os.path.join(os.path.dirname(h), inc), os.path.join("include", inc),
                         os.path.join("agent", inc)):
                if os.path.exists(os.path.join(ROOT, cand)):
                    deps.add(os.path.normpath(cand))
                    break
        includes[h] = deps
    for h in [os.path.relpath(os.path.join(t, f), ROOT)
              for t, _, fs in os.walk(os.path.join(ROOT, "include")) for f in fs]:
        includes.setdefault(h, set())
    cycle = find_cycle(includes)
    if cycle:
        problems.append("include cycle: " + " -> ".join(cycle))

    for c in sources((".c",)):
        text = open(os.path.join(ROOT, c)).read()
        if "GENERATED" in text[:400].upper():
            continue
        n = text.count("\n")
        if n > MAX_LINES:
            problems.append(f"{c}: {n} lines (at most {MAX_LINES} for a hand-written file)")
        if not c.startswith("agent/cpython/") and c.startswith("agent/") and re.search(r"minor", text):
            problems.append(f"{c}: mentions 'minor' (CPython versions belong to agent/cpython/)")

    n_files = len(uses)
    if problems:
        for p in problems:
            print(f"layout: {p}")
        print(f"layout: {len(problems)} problems in {n_files} objects")
        return 1
    print(f"layout: {n_files} objects, no call or include cycle, no hand-written .c over "
          f"{MAX_LINES} lines, CPython versions only in agent/cpython/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
