"""numpy's matrix product: the time is in its BLAS (OpenBLAS in PyPI's wheels),
called from one Python line (multiply's)."""
import time

import numpy

A = numpy.random.default_rng(1).random((400, 400))


def multiply(seconds):
    end = time.time() + seconds
    total = 0.0
    while time.time() < end:
        total += float((A @ A)[0, 0])
    return total


if __name__ == "__main__":
    multiply(1.5)
