"""Workload of bench/memory.py: nearly every sample a stack of its own. 2000
generated functions, each able to call the next from 4 lines; a call chain of 6-24
random (function, line) steps ends in a leaf that spins ~0.3 ms, so at 1 kHz most
samples are stacks never seen before (about 45 000 distinct in 60 000 samples).

    distinct_stacks.py SECONDS

Prints the process's VmRSS, RssAnon and VmHWM in KiB (JSON) at the end, and every 5 s the
VmRSS so far on stderr (the growth over the run)."""
import json
import random
import sys
import time

N_FUNCS, LINES, SPIN = 2000, 4, 3000

source = "".join(
    f"def f{i}(path, d):\n"
    f"    if d == len(path):\n"
    f"        n = 0\n"
    f"        for k in range({SPIN}):\n"
    f"            n += k\n"
    f"        return n\n"
    f"    nxt, line = path[d]\n"
    + "".join(f"    {'if' if j == 0 else 'elif'} line == {j}:\n"
              f"        return F[nxt](path, d + 1)\n" for j in range(LINES - 1))
    + "    else:\n        return F[nxt](path, d + 1)\n"
    for i in range(N_FUNCS))
space = {}
exec(compile(source, "distinct_gen.py", "exec"), space)
F = [space[f"f{i}"] for i in range(N_FUNCS)]
space["F"] = F


def rss():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def main(seconds):
    rng = random.Random(45000)
    start = time.monotonic()
    shown = start
    while time.monotonic() - start < seconds:
        path = [(rng.randrange(N_FUNCS), rng.randrange(LINES)) for _ in range(rng.randint(6, 24))]
        F[rng.randrange(N_FUNCS)](path, 0)
        if time.monotonic() - shown >= 5:
            shown = time.monotonic()
            print(f"rss {shown - start:.0f} s {rss()['VmRSS']} KiB", file=sys.stderr, flush=True)
    print(json.dumps(rss()))


main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
