"""A multi-threaded workload with a fixed amount of work: three threads share the
GIL on CPU-bound loops while a fourth wakes every millisecond, so threads leave
their CPU thousands of times a second (what the bpf backend's sched_switch program
sees). Prints its own work time in seconds."""
import sys
import threading
import time


def inner(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def busy(rounds):
    for r in range(rounds):
        inner(20000 + r % 100)


def ticker(stop):
    while not stop.is_set():
        time.sleep(0.001)


rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
stop = threading.Event()
tick = threading.Thread(target=ticker, args=(stop,), name="ticker")
workers = [threading.Thread(target=busy, args=(rounds,), name=f"busy-{i}") for i in range(3)]
start = time.perf_counter()
tick.start()
for w in workers:
    w.start()
for w in workers:
    w.join()
elapsed = time.perf_counter() - start
stop.set()
tick.join()
print(f"{elapsed:.6f}")
