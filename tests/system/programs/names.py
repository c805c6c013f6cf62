"""Non-ASCII function names (1, 2 and 4 bytes per character), a lambda, a list
comprehension and a method, each spinning for a while."""
import time


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def naïve_café():
    spin(0.4)


def 函数_二():
    spin(0.4)


def 𠀀_four():
    spin(0.4)


class Ünïcode:
    def méthode(self):
        spin(0.4)


square = lambda: spin(0.4)  # noqa: E731


def comprehension():
    return [spin(0.4) for _ in range(1)]


naïve_café()
函数_二()
𠀀_four()
Ünïcode().méthode()
square()
comprehension()
print("names done")
