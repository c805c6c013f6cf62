#!/usr/bin/env python3
"""Memory the agent adds, side by side in one run (#18): bench/distinct_stacks.py
(nearly every sample a new stack: ~45 000 distinct in 60 s at 1 kHz) run without
the agent and with each backend the host allows (and, with --baseline-lib,
another build). For each: the process's VmRSS at the end, what the agent added
to it (and to RssAnon, its heap: the rest is file-backed, such as the bpf
backend's ring buffer and the code of libbpf), its growth over the last half of the run (MiB/min: a bounded profile
stops growing), the distinct stacks and samples in the raw profile, and whether
the profile's node budget was reached (its stderr line).

    bench/memory.py [--seconds 60] [--rate 1000] [--baseline-lib OLD/libfilspy.so] [--python PY]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

from benchenv import clean_env, default_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(ROOT, "bench", "distinct_stacks.py")


def one(python, seconds, rate, lib=None, backend=None):
    with tempfile.TemporaryDirectory() as out:
        env = clean_env()
        if lib:
            env.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND=backend,
                       FIL_PERF_SPY_RATE=str(rate), FIL_PERF_SPY_OUTPUT="raw",
                       FIL_PERF_OUTPUT_DIR=out, FIL_PERF_RUN_LABEL="x")
        p = subprocess.run([python, WORKLOAD, str(seconds)], env=env, capture_output=True,
                           text=True, timeout=seconds * 4 + 120)
        end = json.loads(p.stdout)
        rss, anon = end["VmRSS"], end["RssAnon"]
        points = [(float(t), int(k)) for t, k in re.findall(r"rss (\d+) s (\d+) KiB", p.stderr)]
        late = [pt for pt in points if pt[0] >= seconds / 2]
        growth = ((late[-1][1] - late[0][1]) / 1024 / ((late[-1][0] - late[0][0]) / 60)
                  if len(late) >= 2 and late[-1][0] > late[0][0] else float("nan"))
        distinct = samples = 0
        raw = os.path.join(out, "x-pyspy.txt")
        if lib and os.path.exists(raw):
            with open(raw) as f:
                for line in f:
                    distinct += 1
                    samples += int(line.rpartition(" ")[2])
        full = "its most" in p.stderr
        return rss, anon, growth, distinct, samples, full


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libfilspy.so"))
    ap.add_argument("--baseline-lib")
    args = ap.parse_args()
    rows = [("no agent", None, None)]
    for name, lib in [("filspy", args.lib)] + ([("baseline", args.baseline_lib)] if args.baseline_lib else []):
        for backend in ("self", "bpf"):
            rows.append((f"{name} {backend}", lib, backend))
    print(f"memory: {args.python}, distinct_stacks.py {args.seconds:g} s at {args.rate} Hz")
    print(f"{'run':<16} {'VmRSS end':>10} {'added':>10} {'anon added':>11} {'growth, 2nd half':>17} "
          f"{'distinct stacks':>16} {'samples':>8}  budget")
    base = None
    for name, lib, backend in rows:
        rss, anon, growth, distinct, samples, full = one(args.python, args.seconds, args.rate, lib,
                                                         backend)
        base = (rss, anon) if base is None else base
        added = f"{(rss - base[0]) / 1024:+.1f} MiB" if lib else ""
        anon_added = f"{(anon - base[1]) / 1024:+.1f} MiB" if lib else ""
        print(f"{name:<16} {rss / 1024:>7.1f} MiB {added:>10} {anon_added:>11} {growth:>11.1f} MiB/min "
              f"{distinct if lib else '':>16} {samples if lib else '':>8}  "
              f"{('reached' if full else 'not reached') if lib else ''}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
