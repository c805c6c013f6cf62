"""Spins on the main thread and prints how many times a second the process's other
threads (the agent's) were put on a CPU, over argv[1] seconds after a first
second of start-up."""
import os
import sys
import threading
import time


def run_counts():
    """Times each thread but this one ran on a CPU (schedstat's 3rd field)."""
    me = threading.get_native_id()
    total = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != me:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[2])
    return total


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


spin(1.0)
before, t0 = run_counts(), time.monotonic()
spin(float(sys.argv[1]))
print(f"{(run_counts() - before) / (time.monotonic() - t0):.1f}")
