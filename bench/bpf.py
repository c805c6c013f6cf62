#!/usr/bin/env python3
"""The bpf backend side by side with the self backend and no agent, in one run on
this (noisy, shared) machine:

- overhead at 100 Hz and 1 kHz: the CPU-bound workload's own work time, median of
  interleaved rounds (none, self, bpf in rotating order), as a ratio to no agent;
- samples delivered against the rate asked, at 100, 1000 and 5000 Hz (a
  single-threaded CPU-bound program: it is on a CPU the whole time);
- the program's start delay: time from exec to the first line of Python, without
  the agent, with bpf, with bpf and IDLE (and with another build's agent, with
  --baseline-lib);
- the kernel's own cost per program run (kernel.bpf_stats_enabled, run_time_ns /
  run_cnt of the loaded program);
- off-CPU time (FIL_PERF_SPY_IDLE, the sched_switch program): the work time of a
  multi-threaded program whose threads leave their CPU thousands of times a
  second (bench/threads_bound.py), with bpf on-CPU only, bpf with IDLE and self
  with IDLE against no agent, and the sched_switch program's cost per run.

    bench/bpf.py [--quick] [--lib build/libfilspy.so] [--baseline-lib OTHER/libfilspy.so] [--python PY]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchenv import clean_env, default_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU_BOUND = os.path.join(ROOT, "bench", "cpu_bound.py")
THREADS_BOUND = os.path.join(ROOT, "bench", "threads_bound.py")
FIRST_LINE = "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))"
BACKENDS = ("none", "self", "bpf")


def env_for(lib, outdir, backend, rate, output="raw", **settings):
    env = clean_env()
    if backend != "none":
        env.update({"LD_PRELOAD": lib, "FIL_PERF_SPY_ENABLED": "1", "FIL_PERF_SPY_RATE": str(rate),
                    "FIL_PERF_OUTPUT_DIR": outdir, "FIL_PERF_RUN_LABEL": "bench",
                    "FIL_PERF_SPY_OUTPUT": output, "FIL_PERF_SPY_BACKEND": backend, **settings})
    return env


def work_seconds(python, rounds, env, program=CPU_BOUND):
    out = subprocess.run([python, program, str(rounds)], env=env, capture_output=True,
                         text=True, check=True)
    if "cannot start" in out.stderr:
        raise RuntimeError(out.stderr.strip())
    return float(out.stdout.strip().splitlines()[-1])


def overhead(python, lib, rate, rounds, runs, tmp):
    times = {b: [] for b in BACKENDS}
    for i in range(runs):
        order = BACKENDS[i % 3:] + BACKENDS[:i % 3]
        for b in order:
            times[b].append(work_seconds(python, rounds, env_for(lib, tmp, b, rate)))
    base = statistics.median(times["none"])
    return {b: statistics.median(times[b]) / base for b in ("self", "bpf")}


def delivered(python, lib, rate, rounds, tmp):
    out = os.path.join(tmp, f"delivered-{rate}")
    seconds = work_seconds(python, rounds, env_for(lib, out, "bpf", rate))
    samples = 0
    with open(os.path.join(out, "bench-pyspy.txt")) as f:
        for line in f:
            samples += int(line.rsplit(" ", 1)[1])
    return samples, seconds, samples / (rate * seconds)


def first_line_delay(python, configs, runs, tmp):
    """Median ms from exec to the first line of Python, per configuration
    {name: (lib, backend, settings)}, in rotating order."""
    def once(lib, backend, settings):
        env = env_for(lib, tmp, backend, 100, output="raw", **settings)
        start = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        out = subprocess.run([python, "-c", FIRST_LINE], env=env, capture_output=True, check=True)
        if b"cannot start" in out.stderr:
            raise RuntimeError(out.stderr.decode().strip())
        return (int(out.stdout.decode().split()[0]) - start) / 1e6
    names = list(configs)
    delays = {n: [] for n in names}
    for i in range(runs):
        for n in names[i % len(names):] + names[:i % len(names)]:
            delays[n].append(once(*configs[n]))
    return {n: statistics.median(d) for n, d in delays.items()}


def off_cpu_overhead(python, lib, rounds, runs, tmp):
    """Work time of the threaded program, as a ratio to no agent, at 100 Hz."""
    configs = {"none": ("none", {}), "bpf": ("bpf", {}),
               "bpf+IDLE": ("bpf", {"FIL_PERF_SPY_IDLE": "1"}),
               "self+IDLE": ("self", {"FIL_PERF_SPY_IDLE": "1"})}
    names = list(configs)
    times = {n: [] for n in names}
    for i in range(runs):
        for n in names[i % len(names):] + names[:i % len(names)]:
            backend, settings = configs[n]
            env = env_for(lib, tmp, backend, 100, **settings)
            times[n].append(work_seconds(python, rounds, env, THREADS_BOUND))
    base = statistics.median(times["none"])
    return {n: statistics.median(times[n]) / base for n in names[1:]}


def kernel_cost(python, lib, rate, tmp, prog="sample_python", program=CPU_BOUND,
                rounds=20000, **settings):
    """run_time_ns / run_cnt of our program prog while it samples a busy process."""
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    stats_file = "/proc/sys/kernel/bpf_stats_enabled"
    try:
        with open(stats_file) as f:
            before = f.read().strip()
        with open(stats_file, "w") as f:
            f.write("1")
    except OSError as e:
        return None, f"cannot enable {stats_file}: {e}"
    try:
        p = subprocess.Popen([python, program, str(rounds)],
                             env=env_for(lib, tmp, "bpf", rate, **settings),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.5)
        show = subprocess.run([bpftool, "prog", "show", "name", prog, "--json"],
                              capture_output=True, text=True)
        p.kill()
        p.wait()
        progs, text, at = [], show.stdout.strip(), 0
        decoder = json.JSONDecoder()
        while at < len(text):  # one JSON value per program
            value, at = decoder.raw_decode(text, at)
            progs.extend(value if isinstance(value, list) else [value])
            while at < len(text) and text[at].isspace():
                at += 1
        runs = [(q.get("run_time_ns", 0), q.get("run_cnt", 0)) for q in progs if q.get("run_cnt")]
        if not runs:
            return None, "no run counts (is the program loaded?)"
        ns, cnt = runs[-1]
        return ns / cnt, f"{cnt} runs, {ns} ns in all"
    finally:
        with open(stats_file, "w") as f:
            f.write(before)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libfilspy.so"))
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--baseline-lib", help="another build's libfilspy.so, whose start with "
                    "bpf+IDLE is measured beside this one's (e.g. the previous commit's)")
    args = ap.parse_args()
    runs, rounds = (3, 300) if args.quick else (9, 1500)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"bpf backend benchmark: {args.python}, {runs} interleaved rounds of "
              f"bench/cpu_bound.py {rounds}")
        print(f"\n{'figure':<40} {'self':>10} {'bpf':>10}")
        for rate in (100, 1000):
            r = overhead(args.python, args.lib, rate, rounds, runs, tmp)
            print(f"{f'work time vs no agent at {rate} Hz':<40} {r['self']:>9.3f}x {r['bpf']:>9.3f}x")
        print(f"\n{'samples delivered (bpf)':<40} {'samples':>10} {'asked':>10} {'ratio':>8}")
        for rate in (100, 1000, 5000):
            samples, seconds, ratio = delivered(args.python, args.lib, rate, rounds, tmp)
            print(f"{f'{rate} Hz for {seconds:.2f} s of work':<40} {samples:>10} "
                  f"{rate * seconds:>10.0f} {ratio:>7.1%}  (target >= 95%)")
        configs = {"none": (args.lib, "none", {}), "bpf": (args.lib, "bpf", {}),
                   "bpf+IDLE": (args.lib, "bpf", {"FIL_PERF_SPY_IDLE": "1"})}
        if args.baseline_lib:
            configs["bpf+IDLE, --baseline-lib"] = (args.baseline_lib, "bpf",
                                                   {"FIL_PERF_SPY_IDLE": "1"})
        delays = first_line_delay(args.python, configs, 3 * runs, tmp)
        print(f"\nstart: exec to the first line of Python, median of {3 * runs}, rotating order:")
        for name, ms in delays.items():
            extra = "" if name == "none" else f" ({ms - delays['none']:+.1f} ms)"
            print(f"  {name:<38} {ms:>6.1f} ms{extra}")
        cost, detail = kernel_cost(args.python, args.lib, 1000, tmp)
        if cost is None:
            print(f"kernel cost per program run: not measured ({detail})")
        else:
            print(f"kernel cost per program run (bpf_stats): {cost:.0f} ns ({detail})")
        threads_rounds = 200 if args.quick else 800
        r = off_cpu_overhead(args.python, args.lib, threads_rounds, runs, tmp)
        print(f"\noff-CPU time: bench/threads_bound.py {threads_rounds}, 3 busy threads and one "
              f"that wakes every ms, 100 Hz, work time vs no agent:")
        for name, ratio in r.items():
            print(f"  {name:<38} {ratio:>9.3f}x")
        cost, detail = kernel_cost(args.python, args.lib, 100, tmp, prog="switch_python",
                                   program=THREADS_BOUND, rounds=100000, FIL_PERF_SPY_IDLE="1")
        if cost is None:
            print(f"sched_switch program cost per run: not measured ({detail})")
        else:
            print(f"sched_switch program cost per run (bpf_stats, every switch of the "
                  f"machine): {cost:.0f} ns ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
