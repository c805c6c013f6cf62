#!/usr/bin/env python3
"""What native frames cost, side by side with py-spy --native in one run on this
(noisy, shared) machine. The workload is fixed work that spends most of its time
in C called from Python (zlib.compress of a 512 KiB buffer) with a pure-Python
part too. Each round runs, in rotating order: no agent; filspy bpf; filspy bpf +
FIL_PERF_SPY_NATIVE (the bpf program copies the sample's registers and top of
stack, the agent unwinds it with libdwfl); py-spy record --native (blocking, its
default: it stops the program for every sample); each profiler at 100 Hz and 1 kHz.

For each run: wall time, CPU time of the whole process tree (wait4 rusage of the
direct child, user + sys; py-spy waits for the program, so its rusage holds both)
and the samples written (the counts of the raw folded file). Figures: wall time
as a ratio to no agent (median of the per-round ratios, with quartiles); added CPU
per sample, (CPU - no agent's CPU in the same round) / samples, in us (median of
the rounds); for NATIVE also its own cost, the added CPU per sample over plain
bpf; the share of samples holding a native frame (a frame whose "(file)" is not a
.py file; py-spy puts a libc frame at every stack's root, so its share is 100 %)
and the share holding a frame of zlib's C (libz or the zlib module; about 85 % of
the work), to see that both really unwound. Since a run also has fixed costs
(start-up, loading symbols, writing the file), the added CPU of the two rates is
also split, per round, into a per-sample slope and a per-run remainder, and the
CPU that the agent's start and exit alone add (`python -c "import zlib"`) is
measured too.
Targets: filspy NATIVE adds at most 30 us of CPU per sample at 100 Hz and 1 kHz,
and under 1 % of wall time at 100 Hz. Exits 0 when a target is missed: it is a
measurement, not a test.

    bench/native.py [--quick] [--rounds 5] [--iterations 400] [--python PY]
                    [--lib build/libfilspy.so] [--pyspy build/tools/py-spy/bin/py-spy]
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchenv import clean_env, default_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "build", "libfilspy.so")
PYSPY = os.path.join(ROOT, "build", "tools", "py-spy", "bin", "py-spy")
RATES = (100, 1000)
TARGET_US = 30.0
TARGET_WALL = 1.01
# zlib.compress (C, about 85 % of the time) called from a Python loop, plus a
# pure-Python function; prints its own work time
WORKLOAD = r"""
import os, sys, time, zlib

DATA = os.urandom(1 << 18) + bytes(range(256)) * 1024  # 512 KiB, half compressible


def py_work(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def compress(data):
    return len(zlib.compress(data, 6))


def main(iterations):
    total = 0
    for _ in range(iterations):
        total += compress(DATA)
        total += py_work(25000)
    return total


t0 = time.perf_counter()
main(int(sys.argv[1]))
print(f"{time.perf_counter() - t0:.6f}")
"""
PROFILERS = ("filspy bpf", "filspy bpf+NATIVE", "py-spy --native")
FRAME_FILE = re.compile(r"\(([^()]*)\)\s*$")


def agent_env(lib, out, rate, native):
    env = clean_env()
    env.update(LD_PRELOAD=lib, FIL_PERF_SPY_ENABLED="1", FIL_PERF_SPY_BACKEND="bpf",
               FIL_PERF_SPY_RATE=str(rate), FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_OUTPUT_DIR=out,
               FIL_PERF_RUN_LABEL="x")
    if native:
        env["FIL_PERF_SPY_NATIVE"] = "1"
    return env


def is_python_frame(frame):
    m = FRAME_FILE.search(frame)
    if not m:
        return False
    where = re.sub(r":\d+$", "", m.group(1))
    return where.endswith(".py") or where.startswith("<")  # <frozen ...>, <string>


def is_native_frame(frame):
    m = FRAME_FILE.search(frame)
    return bool(m) and not is_python_frame(frame)


def in_zlib(frame):
    m = FRAME_FILE.search(frame)
    return bool(m) and not is_python_frame(frame) and ("libz" in m.group(1) or "zlib" in m.group(1))


def read_raw(path):
    """(samples, samples with a native frame, samples with a frame of zlib's C)
    of a raw folded file."""
    samples = native = zlib = 0
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            samples += n
            frames = stack.split(";")
            if any(is_native_frame(fr) for fr in frames):
                native += n
            if any(in_zlib(fr) for fr in frames):
                zlib += n
    return samples, native, zlib


def run(config, rate, args, workload, tmp):
    """One run: {wall, cpu, samples, native, zlib}."""
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    cmd = [args.python, workload, str(args.iterations)]
    raw = os.path.join(out, "x-pyspy.txt")
    env = clean_env()
    if config == "filspy bpf":
        env = agent_env(args.lib, out, rate, native=False)
    elif config == "filspy bpf+NATIVE":
        env = agent_env(args.lib, out, rate, native=True)
    elif config == "py-spy --native":
        raw = os.path.join(out, "x.txt")
        cmd = [args.pyspy, "record", "--native", "-r", str(rate), "-o", raw, "-f", "raw", "--"] + cmd
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=out)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = status
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if status != 0:
        raise RuntimeError(f"{config} at {rate} Hz: {' '.join(cmd)} failed ({status}): "
                           f"{stderr.strip()[-2000:]}")
    for bad in ("cannot start", "leaves native frames out", "going on with the self backend"):
        if config.startswith("filspy") and bad in stderr:
            raise RuntimeError(f"{config} at {rate} Hz: {stderr.strip()}")
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime}
    if config != "none":
        counts = read_raw(raw)
        if counts is None:
            raise RuntimeError(f"{config} at {rate} Hz wrote no {raw}: {stderr.strip()}")
        result["samples"], result["native"], result["zlib"] = counts
    return result


def start_exit_cpu(args, tmp, profilers, runs):
    """Median CPU (ms) that each filspy setting adds to `python -c "import zlib"`:
    the agent's start and exit, without sampling work; rotating order."""
    names = ["none"] + [p for p in profilers if p.startswith("filspy")]
    cpu = {n: [] for n in names}
    out = os.path.join(tmp, "start")
    for i in range(runs):
        k = i % len(names)
        for n in names[k:] + names[:k]:
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            env = clean_env() if n == "none" else agent_env(args.lib, out, 100, "NATIVE" in n)
            p = subprocess.Popen([args.python, "-c", "import zlib"], env=env, cwd=out,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(p.pid, 0)
            cpu[n].append(usage.ru_utime + usage.ru_stime)
    base = statistics.median(cpu["none"])
    return {n: (statistics.median(cpu[n]) - base) * 1e3 for n in names[1:]}


def probe_bpf(args, tmp):
    """None when the bpf backend (and NATIVE) can run here, else why not."""
    out = os.path.join(tmp, "probe")
    os.makedirs(out, exist_ok=True)
    if not os.path.exists(args.lib):
        return f"{args.lib} is missing (make)"
    r = subprocess.run([args.python, "-c", "pass"], env=agent_env(args.lib, out, 100, native=True),
                       capture_output=True, text=True, cwd=out)
    for line in r.stderr.splitlines():
        if "cannot start" in line or "leaves native frames out" in line:
            return line.strip()
    if r.returncode != 0:
        return f"python -c pass under the agent failed ({r.returncode}): {r.stderr.strip()}"
    return None


def probe_pyspy(args):
    if not os.path.exists(args.pyspy):
        return f"{args.pyspy} is missing (make deps installs it)"
    r = subprocess.run([args.pyspy, "--version"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"{args.pyspy} --version failed: {r.stderr.strip()}"
    return None


def quartiles(values):
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds (a smoke run)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=400,
                    help="workload iterations (400: about 2.5 s unprofiled)")
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--lib", default=LIB)
    ap.add_argument("--pyspy", default=PYSPY)
    args = ap.parse_args()
    if args.quick:
        args.rounds = 2
    with tempfile.TemporaryDirectory() as tmp:
        workload = os.path.join(tmp, "native_workload.py")
        with open(workload, "w") as f:
            f.write(WORKLOAD)
        version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True).stdout.strip()
        print(f"native frames: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
              f"kernel {platform.release()}, {args.python} ({version}), {args.rounds} rounds "
              f"in rotating order, {args.iterations} iterations of zlib.compress(512 KiB) + "
              f"py_work")
        profilers = list(PROFILERS)
        why = probe_bpf(args, tmp)
        if why:
            print(f"filspy bpf skipped: {why}")
            profilers = [p for p in profilers if not p.startswith("filspy")]
        why = probe_pyspy(args)
        if why:
            print(f"py-spy skipped: {why}")
            profilers = [p for p in profilers if not p.startswith("py-spy")]
        else:
            v = subprocess.run([args.pyspy, "--version"], capture_output=True, text=True)
            print(f"{v.stdout.strip()}: record --native, blocking (stops the program per sample)")
        if not profilers:
            print("nothing to measure")
            return 0
        configs = [("none", 0)] + [(p, r) for r in RATES for p in profilers]
        runs = {c: [] for c in configs}
        for i in range(args.rounds):
            k = i % len(configs)
            for c in configs[k:] + configs[:k]:
                runs[c].append(run(c[0], c[1], args, workload, tmp))
            print(f"  round {i + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        none = runs[("none", 0)]
        print(f"no agent: wall {statistics.median(r['wall'] for r in none):.3f} s, "
              f"CPU {statistics.median(r['cpu'] for r in none):.3f} s (medians)")
        print(f"\n{'profiler':<18} {'rate':>5} {'wall ratio [quartiles]':>24} "
              f"{'+CPU/sample':>12} {'over bpf':>9} {'samples':>8} {'native':>7} {'in zlib':>7}")
        figures = {}
        for p in profilers:
            for rate in RATES:
                rs = runs[(p, rate)]
                ratios = [r["wall"] / n["wall"] for r, n in zip(rs, none)]
                added = [(r["cpu"] - n["cpu"]) / r["samples"] * 1e6 if r["samples"] else float("nan")
                         for r, n in zip(rs, none)]
                over = None
                if p == "filspy bpf+NATIVE" and "filspy bpf" in profilers:
                    over = statistics.median(
                        (r["cpu"] - b["cpu"]) / r["samples"] * 1e6 if r["samples"] else float("nan")
                        for r, b in zip(rs, runs[("filspy bpf", rate)]))
                samples = sum(r["samples"] for r in rs)
                q1, q3 = quartiles(ratios)
                fig = {"wall": statistics.median(ratios), "added": statistics.median(added),
                       "over": over}
                figures[(p, rate)] = fig
                share = f"{sum(r['native'] for r in rs) / samples:7.1%}" if samples else "      -"
                zlib = f"{sum(r['zlib'] for r in rs) / samples:7.1%}" if samples else "      -"
                over_s = f"{over:7.1f}us" if over is not None else f"{'':>9}"
                print(f"{p:<18} {rate:>5} {fig['wall']:>8.4f} [{q1:.4f}, {q3:.4f}] "
                      f"{fig['added']:>10.1f}us {over_s} {samples // len(rs):>8} {share} {zlib}")
        print("\n(+CPU/sample: CPU of the whole process tree minus no agent's in the same round, "
              "per sample written, median of the rounds; over bpf: the same against plain bpf; "
              "samples: per run; native: samples with a non-.py frame; in zlib: with a frame of "
              "zlib's C, about 85 % of the work)")
        if len(RATES) == 2:
            lo, hi = RATES
            print(f"\nsplit of the added CPU by the two rates (per round: the difference between "
                  f"{hi} and {lo} Hz per extra sample, and what is left at 0 samples; medians):")
            for p in profilers:
                marginal, fixed = [], []
                for a, b, n in zip(runs[(p, lo)], runs[(p, hi)], none):
                    if b["samples"] == a["samples"]:
                        continue
                    slope = (b["cpu"] - a["cpu"]) / (b["samples"] - a["samples"])
                    marginal.append(slope * 1e6)
                    fixed.append((a["cpu"] - n["cpu"] - slope * a["samples"]) * 1e3)
                if marginal:
                    print(f"  {p:<18} {statistics.median(marginal):7.1f} us per sample "
                          f"+ {statistics.median(fixed):6.1f} ms per run")
        starts = start_exit_cpu(args, tmp, profilers, 10 * args.rounds)
        if starts:
            print(f"start + exit alone (python -c 'import zlib', median of {10 * args.rounds}, "
                  f"CPU added): " + ", ".join(f"{n} {ms:+.1f} ms" for n, ms in starts.items()))
        print()
        n = "filspy bpf+NATIVE"
        if n in profilers:
            for rate in RATES:
                f = figures[(n, rate)]
                verdict = "met" if f["added"] <= TARGET_US else "MISSED"
                extra = f" ({f['over']:.1f} us of it over plain bpf)" if f["over"] is not None else ""
                print(f"{n} at {rate} Hz: {f['added']:.1f} us of added CPU per sample{extra}, "
                      f"target <= {TARGET_US:g} us: {verdict}")
            f = figures[(n, 100)]
            verdict = "met" if f["wall"] < TARGET_WALL else "MISSED"
            print(f"{n} at 100 Hz: wall ratio {f['wall']:.4f}, target < {TARGET_WALL}: {verdict}")
        if "py-spy --native" in profilers:
            for rate in RATES:
                f = figures[("py-spy --native", rate)]
                print(f"py-spy --native at {rate} Hz (for comparison): wall ratio {f['wall']:.4f}, "
                      f"{f['added']:.1f} us of added CPU per sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
