"""Python -> C -> Python: libc's qsort, called through ctypes, calls back a
Python comparison function (cmp) that does some work of its own."""
import ctypes
import ctypes.util
import time

libc = ctypes.CDLL(ctypes.util.find_library("c"))
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def cmp(a, b):
    x = 0
    for i in range(40):
        x += i
    return a[0] - b[0]


def sort_all(seconds):
    end = time.time() + seconds
    callback = CMP(cmp)
    while time.time() < end:
        values = (ctypes.c_int * 300)(*range(300, 0, -1))
        libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), callback)


if __name__ == "__main__":
    sort_all(1.5)
