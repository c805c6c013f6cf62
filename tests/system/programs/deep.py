"""Recurses 1500 frames deep, then spins at the bottom."""
import sys
import time

DEPTH = 1500
sys.setrecursionlimit(10000)


def recurse(n):
    if n == 0:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            pass
        return
    recurse(n - 1)


recurse(DEPTH - 1)
print("deep done")
