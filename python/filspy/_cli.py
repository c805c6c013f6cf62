"""The console scripts filspy and perf-pyspy, and `python -m filspy`: each becomes
the packaged filspy command (exec), so its exit status is the command's own."""
import os
import sys

from filspy import command_path


def _become(name):
    binary = command_path()
    try:
        # argv[0] chooses the mode: perf-pyspy is `filspy run`
        os.execv(binary, [name] + sys.argv[1:])
    except OSError as e:
        sys.stderr.write("filspy: cannot run %s: %s\n" % (binary, e.strerror))
        return 126


def main():
    return _become("filspy")


def perf_pyspy():
    return _become("perf-pyspy")
