"""One function whose time spreads over several lines, called from two places:
profiled by line it is several frames, by function (FIL_PERF_SPY_FUNCTION) or
without line numbers (FIL_PERF_SPY_NOLINENO) one."""
import sys
import time


def spread(seconds):
    start = time.time()
    x = 0
    while time.time() - start < seconds:
        x += 1
        x = x * 3 % 7
        x = (x << 2) | 1
    return x


def main(seconds):
    spread(seconds / 2)
    spread(seconds / 2)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
