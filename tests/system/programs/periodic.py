"""Work that repeats exactly every 10 ms, the period of sampling at 100 Hz: 4 ms in
first() then 6 ms in second(), for argv[1] seconds (6). A sampler whose clock
ticks in step with it puts every sample at the same point of the cycle."""
import sys
import time


def first(until):
    while time.perf_counter() < until:
        pass


def second(until):
    while time.perf_counter() < until:
        pass


t = time.perf_counter()
end = t + (float(sys.argv[1]) if len(sys.argv) > 1 else 6.0)
while t < end:
    first(t + 0.004)
    second(t + 0.010)
    t += 0.010
print("done")
