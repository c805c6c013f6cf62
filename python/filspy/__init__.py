"""filspy, a sampling profiler for CPython: the wheel's small Python surface.

The agent (libfilspy.so), its bpf helper and the filspy command live in _lib/.
Importing this module imports nothing but os.
"""
import os as _os

from filspy._version import __version__

_LIB = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "_lib")


def preload_path():
    """The path of the agent, for LD_PRELOAD (what `filspy --print-preload` prints)."""
    return _os.path.join(_LIB, "libfilspy.so")


def command_path():
    """The path of the filspy command the console scripts run."""
    return _os.path.join(_LIB, "filspy")


__all__ = ["__version__", "preload_path", "command_path"]
