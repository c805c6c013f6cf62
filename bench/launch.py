"""Runs a Python program after writing CLOCK_MONOTONIC (ns) of its first line to
the file named by BENCH_FIRST_LINE: launch.py SCRIPT ARGS... | launch.py -m MOD ARGS..."""
import os
import time

_first = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
_path = os.environ.get("BENCH_FIRST_LINE")
if _path:
    with open(_path, "w") as f:
        f.write(str(_first))

import runpy  # noqa: E402
import sys  # noqa: E402

if sys.argv[1] == "-m":
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
