#!/usr/bin/env python3
"""CPU per sample, side by side in one run (#18): a single busy thread 30 (or
--depth) Python frames deep, profiled at --rate Hz by filspy's self and bpf
backends (and, with --baseline-lib, another build of the agent in the same
rounds), py-spy and Austin. The figure is the profiler's own CPU over a window
after start-up divided by the samples it took in that window:

- filspy: the CPU of the agent's threads (every task of the process but the
  program's thread, /proc/PID/task/TID/schedstat), samples from the agent's
  control socket (`info`) at the window's ends; the bpf program's own time runs
  on the sampled thread and is not in it (bench/bpf.py measures it);
- py-spy / Austin: the profiler process's CPU (/proc/PID/stat), samples = the
  rate times the window (both take one sample per tick of a busy thread);
- with native frames (filspy's FIL_PERF_SPY_NATIVE with bpf, py-spy --native)
  as well, the same way;
- the wake floor: a process that only sleeps and wakes at the rate as the
  agent's sampler does (bench/wake_floor.c, `make bench`), beside the same busy
  program: what a sampler that wakes for every sample pays on this host before
  it reads anything (a virtual machine's timers make it tens of us).

Medians of --rounds interleaved rounds in rotating order.

    bench/cost.py [--depth 30] [--rate 1000] [--window 3] [--rounds 3]
                  [--baseline-lib OLD/libfilspy.so] [--python PY] [--only bpf,floor]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchenv import agent_cpu_ns, clean_env, default_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "build", "libfilspy.so")
TOOLS = os.path.join(ROOT, "build", "tools")
FLOOR = os.path.join(ROOT, "build", "bench", "wake_floor")
PROGRAM = r"""
import os, sys, threading
depth, ready = int(sys.argv[1]), sys.argv[2]
sys.setrecursionlimit(depth + 100)
def spin():
    with open(ready + ".tmp", "w") as f:
        f.write(str(threading.get_native_id()))
    os.rename(ready + ".tmp", ready)
    x = 0
    while not os.path.exists(ready + ".stop"):
        for i in range(2000):
            x += i
def down(n):
    if n <= 0:
        spin()
    else:
        down(n - 1)
down(depth - 2)
"""


def process_cpu_ns(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")


def agent_samples(pid):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(f"/tmp/filspy-{os.geteuid()}/{pid}.sock")
        s.sendall(b"info\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode().splitlines():
        if line.startswith("samples "):
            return int(line.split()[1])
    raise RuntimeError(f"no samples in the agent's info: {data!r}")


def wait_for(path, proc, timeout=20):
    end = time.time() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > end:
            raise RuntimeError(f"the workload did not start ({proc.returncode})")
        time.sleep(0.02)
    with open(path) as f:
        return int(f.read())


def measure(kind, lib, args, tmp, env):
    ready = os.path.join(tmp, f"ready-{time.monotonic_ns()}")
    prog = os.path.join(tmp, "workload.py")
    cmd = [args.python, prog, str(args.depth), ready]
    e = dict(env)
    outdir = os.path.join(tmp, "out")
    agent = kind in ("self", "bpf", "bpf-native")
    if agent:
        e.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND=kind.split("-")[0],
                 FIL_PERF_SPY_RATE=str(args.rate), FIL_PERF_SPY_OUTPUT="raw",
                 FIL_PERF_OUTPUT_DIR=outdir, FIL_PERF_SPY_QUIET="1",
                 FIL_PERF_SPY_NATIVE="1" if kind == "bpf-native" else "0")
    elif kind.startswith("py-spy"):
        cmd = [args.pyspy, "record", "-r", str(args.rate), "-f", "raw", "-o",
               os.path.join(tmp, "pyspy.txt")] + (["--native"] if kind == "py-spy-native" else []) \
            + ["--"] + cmd
    elif kind == "austin":
        cmd = [args.austin, "-s", "-i", str(max(1, 1000000 // args.rate)), "-o",
               os.path.join(tmp, "austin.txt")] + cmd
    proc = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    floor = None
    try:
        program_tid = wait_for(ready, proc)
        pid = program_tid if agent else proc.pid
        if kind == "floor":
            floor = subprocess.Popen([FLOOR, str(args.rate)])
            pid = floor.pid
        time.sleep(1.0)  # past the start: the agent's and the profilers' set-up
        if agent:
            c0, s0 = agent_cpu_ns(pid, {program_tid}), agent_samples(pid)
        else:
            c0 = process_cpu_ns(pid)
        t0 = time.monotonic()
        time.sleep(args.window)
        if agent:
            c1, s1 = agent_cpu_ns(pid, {program_tid}), agent_samples(pid)
        else:
            c1 = process_cpu_ns(pid)
            s0, s1 = 0, args.rate * (time.monotonic() - t0)
    finally:
        if floor:
            floor.kill()
            floor.wait()
        open(ready + ".stop", "w").close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if s1 <= s0:
        raise RuntimeError(f"{kind}: no samples in the window: {proc.stderr.read()[-300:]!r}")
    return (c1 - c0) / (s1 - s0) / 1e3, s1 - s0


def austin():
    """Austin 3.7.0 from PyPI (austin-dist) in build/tools/austin, as bench/compare
    installs it (4.0.0's binary needs glibc 2.38, Debian 12 has 2.36)."""
    target = os.path.join(TOOLS, "austin")
    binary = os.path.join(target, "bin", "austin")
    if not os.path.exists(binary):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "--target", target, "austin-dist==3.7.0"],
                       capture_output=True)
    return binary if os.path.exists(binary) else shutil.which("austin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--window", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--baseline-lib")
    ap.add_argument("--only", help="comma-separated rows to run, by kind: self, bpf, bpf-native, "
                    "floor, py-spy, py-spy-native, austin (default: all)")
    args = ap.parse_args()
    args.pyspy = os.path.join(TOOLS, "py-spy", "bin", "py-spy")
    args.austin = austin()
    env = clean_env()
    tmp = tempfile.mkdtemp(prefix="filspy-cost-")
    with open(os.path.join(tmp, "workload.py"), "w") as f:
        f.write(PROGRAM)
    rows = [("filspy self", "self", LIB), ("filspy bpf", "bpf", LIB),
            ("filspy bpf+native", "bpf-native", LIB)]
    if args.baseline_lib:
        rows += [("baseline self", "self", args.baseline_lib), ("baseline bpf", "bpf", args.baseline_lib),
                 ("baseline bpf+native", "bpf-native", args.baseline_lib)]
    skipped = []
    if os.path.exists(FLOOR):
        rows.append(("wake floor", "floor", None))
    else:
        skipped.append(f"wake floor: {FLOOR} missing (make bench)")
    if os.path.exists(args.pyspy):
        rows += [("py-spy", "py-spy", None), ("py-spy --native", "py-spy-native", None)]
    else:
        skipped.append(f"py-spy: {args.pyspy} missing (make deps)")
    if args.austin:
        rows.append(("Austin", "austin", None))
    else:
        skipped.append("Austin: not installed (bench/compare installs it into build/tools)")
    if args.only:
        kinds = set(args.only.split(","))
        rows = [row for row in rows if row[1] in kinds]
    got = {name: [] for name, _, _ in rows}
    samples = {name: [] for name, _, _ in rows}
    try:
        for r in range(args.rounds):
            order = rows[r % len(rows):] + rows[:r % len(rows)]
            for name, kind, lib in order:
                try:
                    us, n = measure(kind, lib, args, tmp, env)
                except RuntimeError as e:
                    skipped.append(f"{name}: {e}")
                    continue
                got[name].append(us)
                samples[name].append(n)
            print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"cost per sample: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"kernel {os.uname().release}, {args.python}, {args.depth} frames, {args.rate} Hz, "
          f"{args.window} s windows, {args.rounds} rounds")
    print(f"{'profiler':<16} {'CPU per sample':>16} {'samples/window':>15}")
    for name, _, _ in rows:
        if got[name]:
            print(f"{name:<16} {statistics.median(got[name]):>13.1f} us "
                  f"{statistics.median(samples[name]):>15.0f}")
    for line in dict.fromkeys(skipped):
        print(f"  skipped {line}")


if __name__ == "__main__":
    main()
