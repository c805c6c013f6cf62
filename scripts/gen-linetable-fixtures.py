#!/usr/bin/env python3
"""Writes tests/unit/fixtures/linetable/3.N.txt: for code objects of each installed
CPython, the line table bytes and the interpreter's own answer for every
instruction offset (PyCode_Addr2Line through ctypes). Run with no arguments to
regenerate all versions found under pyenv; tests/unit/test_linetable.c checks our
decoder against every pair.

Format, one code object per line:
    FORMAT FIRSTLINENO HEX_TABLE OFFSET:LINE,OFFSET:LINE,...   (HEX_TABLE "-" when empty)
FORMAT is 1 (co_lnotab), 2 (3.10 co_linetable) or 3 (3.11+ locations)."""
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "unit", "fixtures", "linetable")

# Runs inside each interpreter: only what 3.6 understands.
PROBE = r'''
import ctypes, sys, types
addr2line = ctypes.pythonapi.PyCode_Addr2Line
addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
addr2line.restype = ctypes.c_int
minor = sys.version_info[1]
fmt = 1 if minor <= 9 else 2 if minor == 10 else 3

SNIPPETS = [
    "def f():\n    return 1\n",
    "def g(x):\n    if x:\n        return 1\n\n\n    else:\n        return 2\n",
    "def h():\n" + "    a = 1\n" * 300 + "    return a\n",
    "def far():\n    x = 1\n" + "\n" * 1000 + "    return x\n",
    "def back(x):\n    for i in range(3):\n        x += i\n    while x:\n        x -= 1\n    return x\n",
    "def gen():\n    yield 1\n    yield 2\n",
    "def comp(n):\n    return [i * i for i in range(n) if i % 2]\n",
    "def tr():\n    try:\n        1 / 0\n    except ZeroDivisionError:\n        pass\n    finally:\n        x = 2\n",
    "\n" * 70000 + "def huge_line():\n    return 1\n",
    "def multi():\n    return (1 +\n            2 +\n            3)\n",
    "lam = lambda: (yield)\n",
    "class K:\n    def m(self):\n        return self\n",
]

def walk(code, out):
    out.append(code)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, out)

codes = []
for i, src in enumerate(SNIPPETS):
    walk(compile(src, "snippet%d.py" % i, "exec"), codes)
import dis, json.decoder, ast, textwrap, argparse, tokenize
for mod in (dis, json.decoder, textwrap, argparse, tokenize):
    src = open(mod.__file__).read()
    walk(compile(src, mod.__file__, "exec"), codes)
codes = codes[:400]
for code in codes:
    table = code.co_lnotab if minor <= 9 else code.co_linetable
    pairs = []
    for off in range(0, len(code.co_code), 2):
        pairs.append("%d:%d" % (off, addr2line(code, off)))
    print(fmt, code.co_firstlineno, table.hex() or "-", ",".join(pairs))
'''


def pythons():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for path in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))):
        yield path


def main():
    os.makedirs(OUT, exist_ok=True)
    for python in pythons():
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        result = subprocess.run([python, "-c", PROBE], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"fixtures: {version}: probe failed: {result.stderr[-300:]}", file=sys.stderr)
            continue
        path = os.path.join(OUT, f"{version}.txt")
        with open(path, "w") as f:
            f.write(result.stdout)
        print(f"fixtures: {version}: {result.stdout.count(chr(10))} code objects -> {path}")


if __name__ == "__main__":
    main()
