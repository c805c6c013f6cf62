"""Spins on the main thread and prints how many times a second the process's other
threads (the agent's) went to sleep, over argv[1] seconds after a first second of
start-up. Each sleep is a wake-up to come; preemptions by a busy host are not counted
(schedstat's run count took them in: 21 a second in one CI run)."""
import os
import sys
import threading
import time


def sleeps():
    """Times each thread but this one gave up its CPU of its own accord."""
    me = threading.get_native_id()
    total = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != me:
            with open(f"/proc/self/task/{tid}/status") as f:
                total += sum(int(line.split()[1]) for line in f
                             if line.startswith("voluntary_ctxt_switches:"))
    return total


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


spin(1.0)
before, t0 = sleeps(), time.monotonic()
spin(float(sys.argv[1]))
print(f"{(sleeps() - before) / (time.monotonic() - t0):.1f}")
