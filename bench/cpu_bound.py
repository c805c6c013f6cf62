"""A CPU-bound program with a fixed amount of work (no sleeping, no I/O): the
workload of the overhead benchmark. Prints its own work time in seconds."""
import sys
import time


def inner(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def outer(rounds):
    acc = 0
    for r in range(rounds):
        acc += inner(20000 + r % 100)
    return acc


start = time.perf_counter()
outer(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
print(f"{time.perf_counter() - start:.6f}")
