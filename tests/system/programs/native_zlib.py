"""A hot path in C: zlib.compress of large buffers, called from one Python line
(compress_loop's), for about 1.5 s of CPU."""
import os
import time
import zlib

DATA = os.urandom(1 << 19) + bytes(range(256)) * 2048


def compress_loop(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += len(zlib.compress(DATA, 6))
    return n


if __name__ == "__main__":
    compress_loop(1.5)
