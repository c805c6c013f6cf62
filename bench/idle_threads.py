#!/usr/bin/env python3
"""What idle threads cost the profiler, side by side in one run: a busy main thread
with 0 or N threads blocked in Event.wait(), profiled at 100 Hz by each backend the
host allows, with and without FIL_PERF_SPY_IDLE. The figure is the CPU time of the
agent's own threads (every task of the process that is not one of the program's
Python threads, from /proc/PID/task/TID/schedstat, in ns) over a window after
start-up, per second of wall time, as the median of interleaved rounds.
Target (#18): N=200 adds at most 1 ms of CPU per second, with or without IDLE.

    bench/idle_threads.py [--threads 200] [--rounds 3] [--window 3] [--python PY]
                          [--backends self,bpf] [--idle off,on] [--baseline-lib OLD.so]

--baseline-lib puts another build (e.g. the previous commit's libfilspy.so) in the
same rounds, as more rows.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchenv import agent_cpu_ns, clean_env, default_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "build", "libfilspy.so")
PROGRAM = r"""
import os, sys, threading, time
n, ids = int(sys.argv[1]), sys.argv[2]
ev = threading.Event()
ts = [threading.Thread(target=ev.wait, name=f"idle-{i}", daemon=True) for i in range(n)]
for t in ts:
    t.start()
with open(ids + ".tmp", "w") as f:
    f.write(" ".join(str(t.native_id) for t in [threading.main_thread()] + ts))
os.rename(ids + ".tmp", ids)
x = 0
while not os.path.exists(ids + ".stop"):
    for _ in range(10000):
        x += 1
"""


def one(lib, python, backend, idle, threads, window, warmup):
    with tempfile.TemporaryDirectory() as out:
        ids = os.path.join(out, "ids")
        env = clean_env()
        env.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND=backend,
                   FIL_PERF_SPY_RATE="100", FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_OUTPUT_DIR=out,
                   FIL_PERF_SPY_QUIET="1", FIL_PERF_SPY_IDLE="1" if idle else "0")
        p = subprocess.Popen([python, "-c", PROGRAM, str(threads), ids], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(ids) and time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.01)
            with open(ids) as f:
                tids = {int(t) for t in f.read().split()}
            time.sleep(warmup)
            c0, t0 = agent_cpu_ns(p.pid, tids), time.monotonic()
            time.sleep(window)
            c1, t1 = agent_cpu_ns(p.pid, tids), time.monotonic()
        finally:
            open(ids + ".stop", "w").close()
            err = p.communicate(timeout=60)[1].decode(errors="replace")
        if p.returncode != 0:
            raise SystemExit(f"idle_threads: the program failed ({p.returncode}): {err}")
        if "filspy:" in err and "backend" in err and backend not in err:
            return None
        return (c1 - c0) / (t1 - t0) / 1e6  # ms of CPU per second


def bpf_allowed(python):
    env = clean_env()
    env.update(LD_PRELOAD=LIB, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND="bpf",
               FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_SPY_DEBUG="1")
    with tempfile.TemporaryDirectory() as out:
        env["FIL_PERF_OUTPUT_DIR"] = out
        r = subprocess.run([python, "-c", "pass"], env=env, capture_output=True, text=True)
    return "with the bpf backend" in r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--backends", default="self,bpf", help="comma-separated (self,bpf)")
    ap.add_argument("--idle", default="off,on", help="off, on or both (off,on)")
    ap.add_argument("--baseline-lib")
    args = ap.parse_args()
    libs = [("this", LIB)] + ([("baseline", os.path.abspath(args.baseline_lib))]
                              if args.baseline_lib else [])
    backends = [b for b in args.backends.split(",")
                if b == "self" or (b == "bpf" and bpf_allowed(args.python))]
    configs = [(lib, b, idle == "on") for lib in libs for b in backends
               for idle in args.idle.split(",")]
    results = {(lib[0], b, idle, n): [] for lib, b, idle in configs for n in (0, args.threads)}
    for r in range(args.rounds):
        order = [(lib, b, idle, n) for lib, b, idle in configs for n in (0, args.threads)]
        if r % 2:
            order.reverse()
        for lib, b, idle, n in order:
            v = one(lib[1], args.python, b, idle, n, args.window, args.warmup)
            if v is not None:
                results[(lib[0], b, idle, n)].append(v)
    print(f"idle threads: {args.python}, 100 Hz, {args.rounds} rounds of {args.window:g} s "
          f"after {args.warmup:g} s; agent CPU in ms per second (median)")
    print(f"{'build':9} {'backend':8} {'IDLE':5} {'0 idle':>9} {f'{args.threads} idle':>10} "
          f"{'added':>9}  target")
    for lib, b, idle in configs:
        a, z = results[(lib[0], b, idle, 0)], results[(lib[0], b, idle, args.threads)]
        head = f"{lib[0]:9} {b:8} {'on' if idle else 'off':5}"
        if not a or not z:
            print(f"{head} (not run)")
            continue
        ma, mz = statistics.median(a), statistics.median(z)
        verdict = "met" if mz - ma <= 1.0 else "MISSED"
        print(f"{head} {ma:9.2f} {mz:10.2f} {mz - ma:+9.2f}  <= +1 ms/s {verdict}")


if __name__ == "__main__":
    main()
