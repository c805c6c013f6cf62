#!/usr/bin/env python3
"""Instructions per sample of the agent's user-side path, counted by callgrind (#18):
a figure the machine's noise does not move. A busy thread --depth (30) Python
frames deep runs under `valgrind --tool=callgrind` with the agent preloaded, and
only the function that takes one sample in is counted (`--toggle-collect`):

- bpf: `bpf_records__on_record`, one ring-buffer record (one sample) each call;
- self: `self_sample`, one sampling round: with one busy thread, its walk, check
  and addition to the profile, and the round's look at which threads ran.

The instructions (Ir) counted in them, over the calls, are the cost per sample;
the count of calls comes from callgrind's own call counts. Both are zeroed
(`callgrind_control --zero`) once the program is at its busy stack, so that
start-up (imports, the first sight of each frame) is left out. The program then
runs --seconds of wall time (under callgrind ~50 times slower, the sampler still
at --rate).

    bench/callgrind.py [--depth 30] [--rate 1000] [--seconds 6] [--backends self,bpf]
                       [--baseline-lib OLD/libfilspy.so] [--python PY]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchenv import clean_env, default_python
from cost import PROGRAM  # the busy thread: argv depth, ready file; stops at ready.stop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTION = {"bpf": "bpf_records__on_record", "self": "self_sample"}


def one(python, lib, backend, depth, rate, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        program = os.path.join(tmp, "deep.py")
        with open(program, "w") as f:
            f.write(PROGRAM)
        out = os.path.join(tmp, "callgrind.out")
        env = clean_env()
        env.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND=backend,
                   FIL_PERF_SPY_RATE=str(rate), FIL_PERF_SPY_OUTPUT="raw",
                   FIL_PERF_OUTPUT_DIR=tmp, FIL_PERF_RUN_LABEL="x")
        fn = FUNCTION[backend]
        ready = os.path.join(tmp, "ready")
        # fair scheduling: else the busy thread keeps valgrind's one lock and the
        # sampler thread barely runs
        p = subprocess.Popen(["valgrind", "--tool=callgrind", "--fair-sched=yes", f"--toggle-collect={fn}",
                              f"--callgrind-out-file={out}", python, program, str(depth),
                              ready], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 600
        while not os.path.exists(ready) and p.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        if os.path.exists(ready):
            subprocess.run(["callgrind_control", "--zero", str(p.pid)], capture_output=True)
            time.sleep(seconds)
        open(ready + ".stop", "w").close()
        stderr = p.communicate(timeout=seconds * 20 + 600)[1]
        if f"with the {backend} backend" not in stderr:
            return None, None, stderr.strip().splitlines()[-1:] or ["no output"]
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                             capture_output=True, text=True).stdout
        total = re.search(r"^\s*([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", ann, re.M)
        # the calls of the function itself: "calls=N" lines that name it, in the file
        calls = 0
        with open(out) as f:
            text = f.read()
        ids = {m.group(1) for m in re.finditer(r"^c?fn=\((\d+)\) " + re.escape(fn) + r"$", text, re.M)}
        for m in re.finditer(r"^cfn=\((\d+)\)(?: \S+)?\ncalls=(\d+)", text, re.M):
            if m.group(1) in ids:
                calls += int(m.group(2))
        ir = int(total.group(1).replace(",", "")) if total else None
        return ir, calls, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--backends", default="self,bpf")
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libfilspy.so"))
    ap.add_argument("--baseline-lib")
    args = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        print("callgrind: valgrind is not installed (apt install valgrind)")
        return 1
    libs = [("filspy", args.lib)] + ([("baseline", args.baseline_lib)] if args.baseline_lib else [])
    print(f"callgrind: {args.python}, {args.depth} frames, {args.rate} Hz, {args.seconds:g} s")
    print(f"{'run':<16} {'function':<24} {'calls':>7} {'Ir per call':>12}")
    for backend in args.backends.split(","):
        for name, lib in libs:
            ir, calls, why = one(args.python, lib, backend, args.depth, args.rate, args.seconds)
            if ir is None or not calls:
                print(f"{name + ' ' + backend:<16} skipped: {why}")
                continue
            print(f"{name + ' ' + backend:<16} {FUNCTION[backend]:<24} {calls:>7} {ir / calls:>12,.0f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
