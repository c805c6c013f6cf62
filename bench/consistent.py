#!/usr/bin/env python3
"""Stacks the program really had, and what checking them costs, side by side in one
run: tests/system/programs/chains.py (8-deep call chains, half of them quick: ~5 us
each on 3.9 by default, or --period US each) profiled at 1 kHz by the self and bpf
backends on every interpreter found,
and by a build given with --baseline-lib (e.g. the previous commit's, whose self
backend did not check its walks). For each: samples delivered against those asked,
impossible chains (no prefix of any chain the program calls), the quick chains'
share of the samples against the share of time the program measured (a sampler
that drops what it cannot read whole under-samples them), walks started again
and dropped as torn (self's debug line), and the time of a sampling round (the
agent's own clock around each round, its debug line: for self, the cost of
walking and checking the thread, per sample).

    bench/consistent.py [--seconds 3] [--period US] [--baseline-lib OTHER/libfilspy.so] [PYTHON ...]
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAINS = os.path.join(ROOT, "tests", "system", "programs", "chains.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from chainjudge import judge  # noqa: E402
RATE = 1000


def pythons():
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.[0-9]*")))
    found = [p for p in found if re.search(r"python3\.\d+$", p)]
    if os.path.exists("/usr/bin/python3.11"):
        found.append("/usr/bin/python3.11")
    return found


def one(python, lib, backend, seconds, period):
    with tempfile.TemporaryDirectory() as out:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIL_PERF")}
        env.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND=backend,
                   FIL_PERF_SPY_RATE=str(RATE), FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_OUTPUT_DIR=out,
                   FIL_PERF_RUN_LABEL="x", FIL_PERF_SPY_DEBUG="1")
        extra = ["--period", str(period)] if period else []
        p = subprocess.run([python, CHAINS, str(seconds), *extra], env=env, capture_output=True,
                           text=True)
        with open(os.path.join(out, "x-pyspy.txt")) as f:
            j = judge(f.read(), p.stdout)
    m = re.search(r"(\d+) sampling rounds, ([\d.]+) us each", p.stderr)
    us = float(m.group(2)) if m else float("nan")
    m = re.search(r"(\d+) thread samples, (\d+) walked again after a tear, (\d+) dropped", p.stderr)
    torn = f"{m.group(2)} again, {m.group(3)} dropped" if m else \
        (re.search(r"(\d+) thread samples dropped as torn", p.stderr) or [None, "?"])[1] + " dropped"
    return j, us, torn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--period", type=float, help="a quick chain's life in us (default: chains.py's)")
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libfilspy.so"))
    ap.add_argument("--baseline-lib")
    ap.add_argument("pythons", nargs="*")
    args = ap.parse_args()
    libs = [("this", args.lib)] + ([("baseline", args.baseline_lib)] if args.baseline_lib else [])
    asked = RATE * args.seconds
    print(f"chains.py {args.seconds:g} s at {RATE} Hz ({asked:.0f} samples asked)")
    print(f"{'python':<44} {'build':<9} {'backend':<6} {'chain us':>8} {'delivered':>10} "
          f"{'impossible':>11} {'quick share (truth)':>20} {'us/round':>9}  torn walks")
    for python in args.pythons or pythons():
        for name, lib in libs:
            for backend in ("self", "bpf"):
                j, us, torn = one(python, lib, backend, args.seconds, args.period)
                bad, total = j["impossible"], j["samples"]
                share = f"{j['shares']['quick']:.1%} ({j['truth']['quick']:.1%})"
                print(f"{python:<44} {name:<9} {backend:<6} {j['quick_us']:>8.1f} {total / asked:>9.1%} "
                      f"{bad:>5} ({bad / max(total, 1):>5.1%}) {share:>20} {us:>8.1f}  "
                      f"{torn if backend == 'self' else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
