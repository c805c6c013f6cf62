"""Spins for argv[1] seconds (default 6) printing nothing until the end."""
import sys
import time


def hot_loop(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


hot_loop(float(sys.argv[1]) if len(sys.argv) > 1 else 6.0)
print("spun")
