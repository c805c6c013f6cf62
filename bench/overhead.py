#!/usr/bin/env python3
"""Overhead of the preloaded agent, measured side by side in one run on this
(noisy, shared) machine: every figure is the median over interleaved pairs (one
run without the agent, one with, order alternating), with the interquartile range
of the per-pair figures, so drift and neighbours cancel out.

    bench/overhead.py [--quick] [--runs N] [--lib build/libfilspy.so] [--python PY]
                      [--markdown FILE]
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchenv import clean_env, default_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU_BOUND = os.path.join(ROOT, "bench", "cpu_bound.py")
FIRST_LINE = "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))"


def env_for(lib, outdir, rate, enabled=True):
    env = clean_env()
    if enabled:
        env.update({"LD_PRELOAD": lib, "FIL_PERF_SPY_ENABLED": "1", "FIL_PERF_SPY_RATE": str(rate),
                    "FIL_PERF_OUTPUT_DIR": outdir, "FIL_PERF_RUN_LABEL": "bench",
                    "FIL_PERF_SPY_QUIET": "1", "FIL_PERF_SPY_BACKEND": "self"})
    return env


def timed(cmd, env):
    """(wall seconds, program-reported seconds or None) of one run."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = p.communicate()
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} exited with {p.returncode}")
    try:
        inner = float(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        inner = None
    return wall, inner


def spawn_rss(cmd, env):
    """Peak RSS in KiB of one run (wait4's rusage)."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(p.pid, 0)
    p.returncode = 0
    return usage.ru_maxrss


def pairs(n, base, agent):
    """Runs n interleaved pairs, alternating which goes first; returns both lists."""
    a, b = [], []
    for i in range(n):
        if i % 2:
            b.append(agent()); a.append(base())
        else:
            a.append(base()); b.append(agent())
    return a, b


def iqr(values):
    if len(values) < 4:
        return (min(values), max(values))
    q = statistics.quantiles(values, n=4)
    return (q[0], q[2])


def row(figure, base, with_agent, value, spread, target, ok):
    return [figure, base, with_agent, value, spread, target, "ok" if ok else "OVER"]


def cpu_rows(python, lib, rate, runs, work, tmp):
    cmd = [python, CPU_BOUND, str(work)]
    base, agent = pairs(runs, lambda: timed(cmd, env_for(lib, tmp, rate, False)),
                        lambda: timed(cmd, env_for(lib, tmp, rate, True)))
    ratios = [b[0] / a[0] for a, b in zip(base, agent)]
    inner = [b[1] / a[1] for a, b in zip(base, agent) if a[1] and b[1]]
    target = 1.005 if rate == 100 else 1.03
    med = statistics.median(ratios)
    lo, hi = iqr(ratios)
    rows = [row(f"wall time, CPU-bound, {rate} Hz (whole process)",
                f"{statistics.median(x[0] for x in base):.3f} s",
                f"{statistics.median(x[0] for x in agent):.3f} s",
                f"x{med:.4f}", f"IQR {lo:.4f}-{hi:.4f}", f"<= {target}", med <= target)]
    if inner:
        mi = statistics.median(inner)
        lo, hi = iqr(inner)
        rows.append(row(f"work time, CPU-bound, {rate} Hz (program's own timer)",
                        f"{statistics.median(x[1] for x in base):.3f} s",
                        f"{statistics.median(x[1] for x in agent):.3f} s",
                        f"x{mi:.4f}", f"IQR {lo:.4f}-{hi:.4f}", f"<= {target}", mi <= target))
    return rows


def exec_row(lib, runs, tmp):
    true = shutil.which("true") or "/bin/true"
    def once(enabled):
        env = env_for(lib, tmp, 100, enabled)
        start = time.perf_counter_ns()
        subprocess.run([true], env=env, check=True)
        return (time.perf_counter_ns() - start) / 1000
    base, agent = pairs(runs, lambda: once(False), lambda: once(True))
    diffs = [b - a for a, b in zip(base, agent)]
    med = statistics.median(diffs)
    lo, hi = iqr(diffs)
    return row("exec of a non-Python program (/bin/true)", f"{statistics.median(base):.0f} us",
               f"{statistics.median(agent):.0f} us", f"{med:+.0f} us", f"IQR {lo:+.0f}..{hi:+.0f} us",
               "<= 100 us", med <= 100)


def first_line_row(python, lib, runs, tmp):
    def once(enabled):
        env = env_for(lib, tmp, 100, enabled)
        start = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        out = subprocess.run([python, "-c", FIRST_LINE], env=env, capture_output=True, check=True).stdout
        return (int(out.split()[0]) - start) / 1e6
    base, agent = pairs(runs, lambda: once(False), lambda: once(True))
    diffs = [b - a for a, b in zip(base, agent)]
    med = statistics.median(diffs)
    lo, hi = iqr(diffs)
    return row("time before a Python program's first line", f"{statistics.median(base):.2f} ms",
               f"{statistics.median(agent):.2f} ms", f"{med:+.2f} ms", f"IQR {lo:+.2f}..{hi:+.2f} ms",
               "<= 5 ms", med <= 5)


def rss_row(python, lib, runs, work, tmp):
    cmd = [python, CPU_BOUND, str(work)]
    base, agent = pairs(runs, lambda: spawn_rss(cmd, env_for(lib, tmp, 100, False)),
                        lambda: spawn_rss(cmd, env_for(lib, tmp, 100, True)))
    diffs = [(b - a) / 1024 for a, b in zip(base, agent)]
    med = statistics.median(diffs)
    return row("peak RSS added (CPU-bound, 100 Hz)", f"{statistics.median(base) / 1024:.1f} MiB",
               f"{statistics.median(agent) / 1024:.1f} MiB", f"{med:+.1f} MiB",
               f"min {min(diffs):+.1f}, max {max(diffs):+.1f}", "<= 16 MiB", med <= 16)


def render(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few runs: a smoke test (< 1 min)")
    ap.add_argument("--runs", type=int, help="pairs for the CPU-bound figures")
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libfilspy.so"))
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = ap.parse_args()
    if not os.path.exists(args.lib):
        sys.exit(f"overhead: {args.lib} is missing (make)")
    cpu_runs = args.runs or (4 if args.quick else 15)
    small_runs = 40 if args.quick else 300
    first_runs = 10 if args.quick else 60
    work = 200 if args.quick else 600
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="filspy-bench-")
    try:
        rows = []
        rows += cpu_rows(args.python, args.lib, 100, cpu_runs, work, tmp)
        rows += cpu_rows(args.python, args.lib, 1000, cpu_runs, work, tmp)
        rows.append(exec_row(args.lib, small_runs, tmp))
        rows.append(first_line_row(args.python, args.lib, first_runs, tmp))
        rows.append(rss_row(args.python, args.lib, max(3, cpu_runs // 3), work, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    header = ["figure", "without agent", "with agent", "ratio/difference", "spread", "target", "verdict"]
    about = (f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}, {os.cpu_count()} cores, "
             f"kernel {platform.release()}, CPython {version}, self backend; medians of "
             f"{cpu_runs} interleaved pairs (CPU-bound), {small_runs} (exec), {first_runs} "
             f"(first line)")
    print(about)
    print(render(rows, header))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"{about}\n\n| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for r in rows:
                f.write("| " + " | ".join(str(c) for c in r) + " |\n")


if __name__ == "__main__":
    main()
