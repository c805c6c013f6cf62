#!/usr/bin/env python3
"""Code that lives moments, as the self backend names it (docs/performance/py-spy.md,
"A sample is named after it is walked"): two programs whose code objects are
freed as soon as they return, profiled at --rate Hz with the self backend
(and, with --baseline-lib, another build in the same run):

- eval: a loop of eval("sum(range(3000))") beside the same sum called plainly;
  the share of samples in the eval's caller against the share of time it took
  (what a sampler that moves or drops such samples loses);
- decoys: a function compiled, run for 200 us and freed, then code objects made
  at its addresses that never run, 5000 times a second; the samples that name a
  code object that never ran (a freed code object's address named as the one
  there when the sample was named).

    bench/named_late.py [--seconds 4] [--rate 5000] [--baseline-lib OLD/libfilspy.so]
                        [PYTHON ...]
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchenv import clean_env, default_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "build", "libfilspy.so")
EVAL = r"""
import sys, time
def work():
    return eval("sum(range(3000))")
def other():
    return sum(range(3000))
end = time.monotonic() + float(sys.argv[1])
inside, start = 0.0, time.perf_counter()
while time.monotonic() < end:
    t0 = time.perf_counter(); work(); inside += time.perf_counter() - t0
    other()
print(inside / (time.perf_counter() - start))
"""
DECOYS = r"""
import sys, time
def run_one(i):
    ns = {}
    exec(compile(f"def short_{i % 50}(end, t=__import__('time')):\n"
                 f"    while t.perf_counter() < end:\n        pass\n", f"short_{i % 50}.py", "exec"), ns)
    fn = ns.pop(f"short_{i % 50}")
    t0 = time.perf_counter()
    fn(t0 + 200e-6)
    del fn, ns
    decoys = [compile(f"def never_run_{k}(a):\n    return a + {k}\n", "never_run.py", "exec")
              for k in range(6)]
    del decoys
    return time.perf_counter() - t0
end = time.monotonic() + float(sys.argv[1])
inside, start, i = 0.0, time.perf_counter(), 0
while time.monotonic() < end:
    inside += run_one(i)
    i += 1
print(inside / (time.perf_counter() - start))
"""


def profile(lib, python, source, seconds, rate, out):
    """The folded stacks (stack -> count) and what the program printed."""
    env = {**clean_env(), "LD_PRELOAD": lib, "FIL_PERF_SPY_ENABLED": "1",
           "FIL_PERF_SPY_BACKEND": "self", "FIL_PERF_SPY_RATE": str(rate),
           "FIL_PERF_SPY_OUTPUT": "raw", "FIL_PERF_OUTPUT_DIR": out, "FIL_PERF_RUN_LABEL": "x",
           "FIL_PERF_SPY_QUIET": "1"}
    r = subprocess.run([python, "-c", source, str(seconds)], env=env, capture_output=True,
                       text=True, timeout=seconds * 10 + 60, check=True)
    stacks = {}
    with open(os.path.join(out, "x-pyspy.txt")) as f:
        for line in f:
            stack, n = line.rstrip("\n").rsplit(" ", 1)
            stacks[stack] = stacks.get(stack, 0) + int(n)
    return stacks, float(r.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--baseline-lib")
    ap.add_argument("pythons", nargs="*")
    args = ap.parse_args()
    libs = [("filspy", LIB)] + ([("baseline", args.baseline_lib)] if args.baseline_lib else [])
    print(f"self backend, {args.rate} Hz, {args.seconds:.0f} s a run")
    print(f"{'build':9} {'python':40} {'eval: samples in work / time':>30} "
          f"{'decoys: never-run names / samples':>34}")
    for python in args.pythons or [default_python()]:
        for name, lib in libs:
            with tempfile.TemporaryDirectory(prefix="filspy-named-") as out:
                stacks, truth = profile(lib, python, EVAL, args.seconds, args.rate, out)
            total = sum(stacks.values())
            work = sum(n for s, n in stacks.items() if ";work (" in s)
            with tempfile.TemporaryDirectory(prefix="filspy-named-") as out:
                stacks, _ = profile(lib, python, DECOYS, args.seconds, args.rate, out)
            never = sum(n for s, n in stacks.items() if "never_run" in s)
            print(f"{name:9} {python:40} {f'{work / max(total, 1):.1%} / {truth:.1%}':>30} "
                  f"{f'{never} / {sum(stacks.values())}':>34}")


if __name__ == "__main__":
    main()
