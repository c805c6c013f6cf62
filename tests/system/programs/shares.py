"""Self-measuring workload: three functions burn CPU in long alternating segments;
each measures its own CPU time. Prints the truth as JSON on stdout. The segment
lengths are no multiple of a common sampling period, so even a sampler without
jitter drifts across the cycle instead of aliasing with it; they are fixed, so
every part of the run has the same shares (a profiler that attaches late sees
the same truth)."""
import json
import sys
import time

SEGMENTS = {"work_a": 0.1513, "work_b": 0.0897, "work_c": 0.0609}
spent = {name: 0.0 for name in SEGMENTS}
# 3.6 has no thread_time; the program is single-threaded, so process time is the same.
# argv[3] "wall" measures wall time instead: the truth for a sampler that, like py-spy,
# samples on a wall-clock timer and counts a thread waiting for a CPU as active.
clock = getattr(time, "thread_time", time.process_time)
if len(sys.argv) > 3 and sys.argv[3] == "wall":
    clock = time.monotonic


def burn(seconds):
    start = clock()
    x = 0
    while clock() - start < seconds:
        for i in range(200):
            x += i * i
    return clock() - start


def work_a():
    spent["work_a"] += burn(SEGMENTS["work_a"])


def work_b():
    spent["work_b"] += burn(SEGMENTS["work_b"])


def work_c():
    spent["work_c"] += burn(SEGMENTS["work_c"])


def main(total, scale):
    for name in SEGMENTS:
        SEGMENTS[name] *= scale
    deadline = time.monotonic() + total
    while time.monotonic() < deadline:
        work_a()
        work_b()
        work_c()
    cpu = sum(spent.values())
    print(json.dumps({name: t / cpu for name, t in spent.items()}))


# argv: seconds to run (3), scale of the segments (1: a cycle of 0.3 s), the clock
# ("cpu", the default, or "wall"). A profiler that attaches late misses part of a
# cycle: shorter cycles make that matter less.
main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0,
     float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
