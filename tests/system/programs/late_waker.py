"""Many threads that wait and one of them that wakes late: N threads block on an
Event each while the main thread spins in main_spin; after argv[1] seconds the main
thread wakes thread 37, which spins in late_spin for argv[2] seconds while the main
thread waits for it. A profiler that reads only the threads that used CPU lately
must still find it."""
import sys
import threading
import time

N = 100
before, after = float(sys.argv[1]), float(sys.argv[2])
events = [threading.Event() for _ in range(N)]


def spin(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        for i in range(1000):
            x += i


def late_spin(seconds):
    spin(seconds)


def waiter(i):
    events[i].wait()
    if i == 37:
        late_spin(after)


def main_spin(seconds):
    spin(seconds)


threads = [threading.Thread(target=waiter, args=(i,), name=f"waiter-{i}") for i in range(N)]
for t in threads:
    t.start()
main_spin(before)
events[37].set()
threads[37].join()
for e in events:
    e.set()
for t in threads:
    t.join()
print("woken")
