#!/usr/bin/env python3
"""Writes tests/unit/fixtures/linetable/3.N.txt: for a sample of code objects
compiled by each installed CPython (3.6 and up), the line table bytes and that
interpreter's own answer for every instruction offset, which is what
tests/unit/test_linetable.c holds agent/cpython/linetable.c to.

The answer is PyCode_Addr2Line, called through ctypes: the function behind
frame.f_lineno, so exactly what a profiler must reproduce from the bytes. The
probe also cross-checks it against co_lines() (3.10+) or dis.findlinestarts()
(<= 3.9) and says when they disagree.

Usage: scripts/gen-linetable-fixtures.py [PYTHON...]
(no argument: every ~/.pyenv/versions/3.*/bin/python3, or $PYENV_ROOT's).

File format: '#' lines are comments; every other line is one code object:
    FORMAT FIRSTLINENO END HEX RUNS NAME
FORMAT is 1 (co_lnotab, <= 3.9), 2 (3.10 co_linetable) or 3 (3.11+ locations);
HEX is the table, "-" when empty; RUNS is OFFSET:LINE,... where each line holds
for every even byte offset from its OFFSET up to the next run's, the last run up
to END (exclusive; END goes two instructions past the code, where the
interpreter still answers); NAME says where the code object came from."""
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "unit", "fixtures", "linetable")

# Runs inside each interpreter, so only what 3.6 understands.
PROBE = r'''
import ast, ctypes, dis, importlib.util, os, random, sys, types

minor = sys.version_info[1]
FMT = 1 if minor <= 9 else 2 if minor == 10 else 3
BUDGET = int(sys.argv[1])             # bytes of output for this version
PAST_END = 0 if hasattr(sys, "gettotalrefcount") else 4  # debug builds assert in range

addr2line = ctypes.pythonapi.PyCode_Addr2Line
addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
addr2line.restype = ctypes.c_int

def table(code):
    return code.co_lnotab if FMT == 1 else code.co_linetable

WIDE = ", ".join("f(%d)" % i for i in range(200))
SNIPPETS = [
    "def f():\n    return 1\n",
    "def g(x):\n    if x:\n        return 1\n\n\n    else:\n        return 2\n",
    "def long_body():\n" + "    a = 1\n" * 300 + "    return a\n",
    "def far():\n    x = 1\n" + "\n" * 1000 + "    return x\n",
    "def far_back(x):\n    while x:\n" + "        x -= 1\n" * 150 + "\n" * 400 + "        x -= 1\n    return x\n",
    "def loops(x):\n    for i in range(3):\n        x += i\n    while x:\n        x -= 1\n    return x\n",
    "def gen():\n    yield 1\n    x = yield 2\n    yield from range(x)\n",
    "async def coro(a):\n    await a\n    async for i in a:\n        pass\n    async with a as b:\n        return b\n",
    "def comps(n):\n    a = [i * i for i in range(n) if i % 2]\n    b = {i: j for i in range(n)\n         for j in range(i)}\n    c = {i for i in a}\n    return sum(x for x in\n               b)\n",
    "def tr():\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n        pass\n    finally:\n        x = 2\n    with open('x') as f, open('y') as g:\n        return f\n",
    "def multi(a):\n    return (1 +\n            a(2,\n              3) +\n            3)\n",
    "def call_back(f):\n    f(1,\n      2,\n      3)[\n        4] = f(\n        5)\n",
    "lam = lambda: (yield)\n",
    "class K:\n    x = 1\n    @staticmethod\n    def m(self):\n        return self\n    @property\n    def p(self):\n        return [self\n                for _ in ()]\n",
    "def wide(f):\n    x = [" + WIDE + "]\n    return x\n",
    "def wide_columns(y):\n    x = " + "1 + " * 300 + "y\n    return x\n",
    "def closure():\n    v = 1\n    def inner():\n        nonlocal v\n        v += 1\n        return v\n    return inner\n",
    "def asserts(x):\n    assert x, 'no'\n    del x\n    global G\n    G = 1\n    raise ValueError(\n        'bad')\n",
    "def fstr(x):\n    return f'{x!r:>{10}} and {x + 1}'\n",
    "def walrus(x):\n    if (n := len(x)) > 10:\n        return n\n    return [y for z in x if (y := z)]\n",
    "def posonly(a, /, b, *, c):\n    return a, b, c\n",
    "def m(x):\n    match x:\n        case 1:\n            return 1\n        case [a, b, *rest]:\n            return a\n        case {'k': v}:\n            return v\n        case K(q=w) if w:\n            return w\n        case _:\n            return 0\n",
    "def eg():\n    try:\n        raise ExceptionGroup('x', [ValueError()])\n    except* ValueError:\n        pass\n    except* TypeError as e:\n        return e\n",
    "def tp[T](x: T) -> T:\n    return x\ntype Alias = list[int]\nclass C[T]:\n    def m(self) -> T:\n        return self\n",
    "def deep(x):\n    if x:\n        if x > 1:\n            if x > 2:\n                return 3\n            return 2\n        return 1\n    return 0\n",
    "\n" * 70000 + "def far_down():\n    return 1\n",
]

def shifted(src, by):
    """The source's code compiled as if it started `by` lines further down."""
    tree = ast.parse(src)
    for node in ast.walk(tree):
        for attr in ("lineno", "end_lineno"):
            if getattr(node, attr, None) is not None:
                setattr(node, attr, getattr(node, attr) + by)
    return compile(tree, "shifted", "exec")

MODULES = ["argparse", "tokenize", "textwrap", "dis", "json.decoder", "json.encoder",
           "inspect", "typing", "difflib", "pydoc", "enum", "dataclasses", "zipfile",
           "tarfile", "logging", "_pydecimal", "statistics", "string", "http.client",
           "email._header_value_parser", "asyncio.base_events", "unittest.case",
           "collections", "pathlib", "ast", "pickle", "configparser", "shutil"]

def walk(code, label, out, module=True):
    if module:
        out.append((label + ":" + getattr(code, "co_qualname", code.co_name), code))
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, label, out)

def features(code):
    """What in the table is worth having among the fixtures."""
    t, seen = table(code), set()
    if not t:
        seen.add("empty")
    if FMT in (1, 2):
        for i in range(0, len(t) - 1, 2):
            b, d = t[i], t[i + 1] - 256 if t[i + 1] > 127 else t[i + 1]
            if FMT == 2 and d == -128:
                seen.add("no line")
            elif d < 0:
                seen.add("line delta < 0")
            if d in (127, -127 if FMT == 2 else -128):
                seen.add("line jump continued")
            if b == 0:
                seen.add("empty range")
            if b >= 254:
                seen.add("long range")
        return seen
    i = 0
    while i < len(t):
        code_ = (t[i] >> 3) & 15
        seen.add("code %d" % (code_ if code_ >= 10 else 0))
        j = i + 1
        while j < len(t) and not t[j] & 128:
            j += 1
        if code_ in (13, 14):
            if t[i + 1] & 1:
                seen.add("line delta < 0")
            if t[i + 1] & 64:
                seen.add("multi-chunk line delta")
        if j - i > 6:
            seen.add("multi-chunk varints")
        if t[i] & 7 == 7:
            seen.add("8 code units")
        i = j
    return seen

def answers(code):
    """The interpreter's line for each even offset, as (offset, line) runs."""
    end = len(code.co_code) + PAST_END
    runs, last = [], None
    for off in range(0, end, 2):
        line = addr2line(code, off)
        if line != last:
            runs.append((off, line))
            last = line
    return end, runs

def disagreements(code, end, runs):
    """Offsets where co_lines() / dis.findlinestarts() say otherwise."""
    want = {}
    for i, (off, line) in enumerate(runs):
        stop = runs[i + 1][0] if i + 1 < len(runs) else end
        for o in range(off, min(stop, len(code.co_code)), 2):
            want[o] = line
    other = {}
    if FMT == 1:
        starts = list(dis.findlinestarts(code)) + [(len(code.co_code), None)]
        line = code.co_firstlineno
        for o in range(0, starts[0][0]):
            other[o] = line
        for (off, line), (nxt, _) in zip(starts, starts[1:]):
            for o in range(off, nxt):
                other[o] = line
    else:
        for start, stop, line in code.co_lines():
            for o in range(start, stop):
                other[o] = -1 if line is None else line
    return sum(1 for o in want if other.get(o, -1) != want[o])

codes = []
for i, src in enumerate(SNIPPETS):
    try:
        walk(compile(src, "snippet%d.py" % i, "exec"), "snippet%d" % i, codes)
    except SyntaxError:
        pass  # a construct this version lacks
# Not the module of a shifted source: it starts at line 1 whatever its code, and
# a table climbing 10**9 lines 127 at a time is 15 MB.
walk(shifted(SNIPPETS[1] + SNIPPETS[5], 1000000000), "shifted", codes, module=False)
walk(shifted(SNIPPETS[4], 1 << 20), "shifted", codes, module=False)

def varint(v):
    out = []
    while v >= 64:
        out.append(64 | (v & 63))
        v >>= 6
    return out + [v]

def svarint(v):
    return varint((-v) << 1 | 1 if v < 0 else v << 1)

def random_table(rng, nbytes, line):
    """A random table of this version's format, well formed (the interpreter reads
    past the end of a torn one) and never taking the line below 0."""
    t, covered = [], 0
    while covered < nbytes and rng.random() > 0.03:
        if FMT == 1:
            b = rng.choice([0, 2, 2, 4, 6, 10, 255, rng.randrange(256)])
            d = rng.choice([0, 1, 1, 2, -1, -2, 127, -128, rng.randrange(-128, 128)])
            d = d if line + d >= 0 else 0
            t += [b, d & 255]
        elif FMT == 2:
            b = rng.choice([0, 2, 2, 4, 8, 254, rng.randrange(255)])
            d = rng.choice([0, 1, 2, -1, -128, -128, 127, -127, rng.randrange(-127, 128)])
            d = d if d == -128 or line + d >= 0 else 0
            t += [b, d & 255]
        else:
            code, units = rng.choice([0, 3, 9, 10, 11, 12, 13, 13, 14, 14, 15, 15]), rng.randrange(1, 9)
            b, d = units * 2, 0
            t.append(0x80 | code << 3 | (units - 1))
            if code in (13, 14):
                d = rng.choice([0, 1, -1, 5, -5, 63, -64, 1000, -1000, rng.randrange(-1 << 20, 1 << 20)])
                d = d if line + d >= 0 else -d
                t += svarint(d)
            if code == 14:
                t += varint(rng.choice([0, 1, 70])) + varint(rng.randrange(300)) + varint(rng.randrange(300))
            elif 10 <= code <= 12:
                d = code - 10
                t += [rng.randrange(128), rng.randrange(128)]
            elif code < 10:
                t.append(rng.randrange(128))
        if FMT != 2 or d != -128:
            line += d
        covered += b
    if FMT == 2 and t and t[-2] == 0:
        t += [2, 0]  # 3.10 steps over empty ranges without looking for the end
    return bytes(t)

def with_table(code, t, first):
    if minor >= 8:
        return code.replace(co_firstlineno=first, **{"co_lnotab" if FMT == 1 else "co_linetable": t})
    return types.CodeType(code.co_argcount, code.co_kwonlyargcount, code.co_nlocals,
                          code.co_stacksize, code.co_flags, code.co_code, code.co_consts,
                          code.co_names, code.co_varnames, code.co_filename, code.co_name,
                          first, t, code.co_freevars, code.co_cellvars)

# Random tables on a long code object: shapes no compiler writes yet, answered by
# the interpreter's own decoder all the same.
rng = random.Random(minor)
base = [c for label, c in codes if label == "snippet2:long_body"][0]
randoms = []
for i in range(150):
    first = rng.choice([1, 7, 500, 100000, 1 << 30])
    t = random_table(rng, len(base.co_code) * rng.choice([1, 1, 1, 2]) // 2 * 2, first)
    randoms.append(("random%d" % i, with_table(base, t, first)))
stdlib = []
for name in MODULES:
    try:
        path = importlib.util.find_spec(name).origin
        with open(path, encoding="utf-8") as f:
            walk(compile(f.read(), path, "exec"), name, stdlib)
    except Exception:
        pass  # not in this version

# Every handpicked code object, a few stdlib ones for each table shape they lack,
# the random tables, then a seeded sample of the stdlib until the budget.
random.Random(minor).shuffle(stdlib)
chosen, have = list(codes), {}
def count(code):
    for f in features(code):
        have[f] = have.get(f, 0) + 1
for _, code in codes:
    count(code)
for label, code in sorted(stdlib, key=lambda lc: len(table(lc[1]))):
    if any(have.get(f, 0) < 3 for f in features(code)):
        chosen.append((label, code))
        count(code)
taken = set(id(c) for _, c in chosen)
rest = [lc for lc in stdlib if id(lc[1]) not in taken]

out, size, pairs, odd = [], 0, 0, [0, 0]
def emit(label, code):
    global size, pairs
    end, runs = answers(code)
    odd[label.startswith("random")] += disagreements(code, end, runs)
    line = "%d %d %d %s %s %s" % (FMT, code.co_firstlineno, end, table(code).hex() or "-",
                                  ",".join("%d:%d" % r for r in runs), label.replace(" ", "_"))
    out.append(line)
    size += len(line) + 1
    pairs += end // 2
for label, code in chosen + randoms:
    emit(label, code)
for label, code in rest:
    if size > BUDGET:
        break
    emit(label, code)
    count(code)

print("# CPython %s: %d code objects: %d handpicked, %d of the %d in %d stdlib modules, %d random"
      " tables; %d offsets" % (sys.version.split()[0], len(out), len(codes),
                              len(out) - len(codes) - len(randoms), len(stdlib), len(MODULES),
                              len(randoms), pairs))
print("# compiled code objects with: " + ", ".join("%s %d" % kv for kv in sorted(have.items())))
print("# co_lines() (3.10+) or dis.findlinestarts() (<= 3.9) disagree with PyCode_Addr2Line"
      " at %d offsets of compiled code, %d of random tables" % tuple(odd))
print("\n".join(out))
'''


def pythons():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    return sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")))


def main():
    os.makedirs(OUT, exist_ok=True)
    budget = int(os.environ.get("LINETABLE_FIXTURE_BYTES", "150000"))
    total = 0
    for python in sys.argv[1:] or pythons():
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
        result = subprocess.run([python, "-c", PROBE, str(budget)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True)
        if result.returncode != 0 or tuple(map(int, version.split("."))) < (3, 6):
            print("fixtures: %s: skipped: %s" % (version, result.stderr.strip()[-300:]), file=sys.stderr)
            continue
        path = os.path.join(OUT, version + ".txt")
        with open(path, "w") as f:
            f.write(result.stdout)
        total += len(result.stdout)
        sys.stderr.write(result.stderr)
        head = [line[2:] for line in result.stdout.splitlines()[:3]]
        print("fixtures: %s -> %s (%d bytes)\n  %s" % (version, os.path.relpath(path, ROOT),
                                                      len(result.stdout), "\n  ".join(head)))
    print("fixtures: %d bytes in all" % total)


if __name__ == "__main__":
    main()
