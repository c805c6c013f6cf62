#!/usr/bin/env python3
"""What the wheel costs a Python program that does not ask for profiling: the
start-up of `python -c pass` in a fresh venv holding the wheel (its
filspy-activate.pth runs at every start) against a fresh venv without it, same
interpreter, FIL_PERF_* unset; interleaved rounds whose order alternates, so the
machine's drift falls on both. A third venv holds only an empty .pth file: what
CPython's site costs for reading any .pth at all (3.13 imports a codec for it),
which every package with a .pth (setuptools, coverage, ...) adds alike. Prints each side's median, the difference of the
medians and the median of the per-round differences, then site.main()'s own time
in each (in-process, free of the process start's noise). Target: at most +0.2 ms.

    bench/wheel_startup.py [--rounds N] [--python PY] [--wheel build/wheel/X.whl]
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchenv import clean_env, default_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MS = 0.2


def find_wheel():
    wheels = sorted(glob.glob(os.path.join(ROOT, "build", "wheel", "filspy-*.whl")))
    if not wheels:
        subprocess.run(["make", "--no-print-directory", "-C", ROOT, "wheel"], check=True)
        wheels = sorted(glob.glob(os.path.join(ROOT, "build", "wheel", "filspy-*.whl")))
    return wheels[-1]


def make_venv(python, path, wheel=None, empty_pth=False):
    subprocess.run([python, "-m", "venv", "--without-pip", path], check=True)
    venv_python = os.path.join(path, "bin", "python")
    if empty_pth:
        site = subprocess.run([venv_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        with open(os.path.join(site, "empty.pth"), "w") as f:
            f.write("# nothing\n")
    if wheel:
        # the interpreter's own pip when it has --python (pyenv 3.8+), else Debian's
        for pip in ([python, "-m", "pip"], ["/usr/bin/python3", "-m", "pip"]):
            p = subprocess.run(pip + ["--disable-pip-version-check", "--python", venv_python,
                                      "install", "--quiet", wheel], capture_output=True, text=True)
            if p.returncode == 0:
                break
        else:
            sys.exit(f"wheel_startup: cannot install {wheel}: {p.stderr.strip()}")
    return venv_python


def start_ms(python, env):
    """Wall time of one `python -c pass`, spawned without a shell."""
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(python, [python, "-c", "pass"], env)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if status != 0:
        sys.exit(f"wheel_startup: {python} -c pass failed ({status})")
    return (t1 - t0) / 1e6


SITE_MAIN = ("import time; t = time.perf_counter_ns(); import site; site.main(); "
             "print(time.perf_counter_ns() - t)")


def site_us(python, env):
    """site.main()'s own time (it reads the venv's .pth files), measured inside a
    `python -S` that runs it by hand: no process start in the figure."""
    p = subprocess.run([python, "-S", "-c", SITE_MAIN], env=env, capture_output=True, text=True,
                       check=True)
    return int(p.stdout) / 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--wheel")
    args = ap.parse_args()
    wheel = args.wheel or find_wheel()
    env = clean_env()
    tmp = tempfile.mkdtemp(prefix="filspy-wheel-startup-")
    try:
        bare = make_venv(args.python, os.path.join(tmp, "bare"))
        with_wheel = make_venv(args.python, os.path.join(tmp, "wheel"), wheel)
        any_pth = make_venv(args.python, os.path.join(tmp, "pth"), empty_pth=True)
        for python in (bare, with_wheel, any_pth):  # warm the page cache and the .pyc files
            for _ in range(5):
                start_ms(python, env)
        times = {bare: [], with_wheel: []}
        diffs = []
        for i in range(args.rounds):
            order = (bare, with_wheel) if i % 2 == 0 else (with_wheel, bare)
            got = {python: start_ms(python, env) for python in order}
            for python, ms in got.items():
                times[python].append(ms)
            diffs.append(got[with_wheel] - got[bare])
        site = {bare: [], with_wheel: [], any_pth: []}
        for i in range(max(args.rounds // 3, 20)):
            for python in ((bare, with_wheel, any_pth) if i % 2 == 0 else (any_pth, with_wheel, bare)):
                site[python].append(site_us(python, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    without, withw = statistics.median(times[bare]), statistics.median(times[with_wheel])
    q = statistics.quantiles(diffs, n=4)
    diff = statistics.median(diffs)
    print(f"wheel_startup: `python -c pass`, CPython {version} ({args.python}), "
          f"{args.rounds} interleaved rounds, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} CPUs")
    print(f"  venv without the wheel   median {without:.3f} ms")
    print(f"  venv with {os.path.basename(wheel)}   median {withw:.3f} ms")
    print(f"  difference of medians    {withw - without:+.3f} ms")
    print(f"  per-round difference     median {diff:+.3f} ms (quartiles {q[0]:+.3f} .. {q[2]:+.3f})")
    s_without, s_with = statistics.median(site[bare]), statistics.median(site[with_wheel])
    print(f"  site.main() alone        {s_without:.0f} us without, {s_with:.0f} us with: "
          f"{s_with - s_without:+.0f} us ({len(site[bare])} interleaved runs)")
    s_pth = statistics.median(site[any_pth])
    print(f"    of which any .pth      {s_pth - s_without:+.0f} us (an empty .pth file: CPython's own "
          f"cost), filspy's line {s_with - s_pth:+.0f} us")
    print(f"  target <= +{TARGET_MS} ms: {'met' if diff <= TARGET_MS else 'MISSED'} "
          f"(per-round median)")


if __name__ == "__main__":
    main()
