"""Profiling switched on by the environment alone. filspy-activate.pth runs one line
at every start of this environment's interpreter: it reads FIL_PERF_SPY_ENABLED
(else FIL_PERF_ENABLE_PYSPY, Filare's name) as spelt, upper case, from the
startup environment (posix.environ: a plain dict, no Python-level lookup) and
imports this module only when the value is not one of the agent's "false"
spellings (core/settings.c parse_bool). That line is all a program that never
asks for profiling pays (bench/wheel_startup.py). main() then loads the agent
into this interpreter and calls its filspy_start with the FIL_PERF_* variables as
"NAME=VALUE" lines: the agent decides by the same rules as under LD_PRELOAD (the
bool's spelling, which it reports when wrong, FIL_PERF_SPY_PROCESS, children's
labels)."""
import os
import sys

# core/settings.c's parse_bool: "no" spellings need nothing loaded; anything else
# goes to the agent, which starts or says in one line why the value is wrong
_NO = ("0", "false", "no", "off", "f", "n")
_SWITCHES = ("FIL_PERF_SPY_ENABLED", "FIL_PERF_ENABLE_PYSPY")


def _wanted(environ):
    # the agent reads the environment front to back and the last switch wins
    value = None
    for name, v in environ.items():
        if name.upper() in _SWITCHES:
            value = v
    return value is not None and value.strip().lower() not in _NO


def _is_filspy_command():
    """The console scripts and `python -m filspy` become the filspy command (exec),
    which preloads the agent into the command it runs: an agent here would only
    start, say so, and vanish at the exec."""
    with open("/proc/self/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    for i, arg in enumerate(argv[1:], 1):
        if arg == b"-m":
            return argv[i + 1:i + 2] == [b"filspy"]
        if not arg.startswith(b"-"):
            return os.path.basename(arg) in (b"filspy", b"perf-pyspy")
    return False


def _settings_text(environ):
    return "".join("%s=%s\n" % (k, v) for k, v in environ.items()
                   if k.upper().startswith("FIL_PERF_") and "\n" not in k + v)


def _keep_profile_at_os_exit(lib):
    """os._exit skips atexit; under LD_PRELOAD the agent's _exit interposer writes the
    profile (multiprocessing's forked workers leave that way). A dlopened agent
    interposes nothing, so os._exit goes through that same exported _exit."""
    import ctypes
    agent_exit = lib._exit
    agent_exit.argtypes = [ctypes.c_int]
    real_exit = os._exit

    def _exit(status):
        if isinstance(status, int) and -2 ** 31 <= status < 2 ** 31:
            agent_exit(status)
        real_exit(status)
    _exit.__doc__ = real_exit.__doc__
    os._exit = _exit


def _keep_profile_at_keyboard_interrupt(lib):
    """An uncaught KeyboardInterrupt makes CPython kill itself with SIGINT after
    finalizing, past every C atexit: the agent writes the profile from Python's
    atexit then (ours runs last, being the first registered)."""
    import atexit
    finish = lib.filspy_finish

    def _write_if_interrupted():
        last = getattr(sys, "last_type", None)
        if isinstance(last, type) and issubclass(last, KeyboardInterrupt):
            finish()
    atexit.register(_write_if_interrupted)


def _start():
    import ctypes
    from filspy import preload_path
    # an agent already in the process (LD_PRELOAD, `filspy run`, /etc/ld.so.preload)
    # has decided for it: never a second one
    if hasattr(ctypes.CDLL(None), "filspy_start") or hasattr(ctypes.CDLL(None), "filspy_attach"):
        return
    lib = ctypes.CDLL(preload_path())
    lib.filspy_start.argtypes = [ctypes.c_char_p]
    lib.filspy_start.restype = ctypes.c_int
    text = _settings_text(os.environ).encode(sys.getfilesystemencoding(), "surrogateescape")
    if lib.filspy_start(text) != 0:
        return
    # the agent marked this process's activation with setenv; os.environ, read before
    # us, must carry it too for the children the program starts with env=os.environ
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    root = libc.getenv(b"FILSPY_ACTIVATION")
    if root:
        os.environ["FILSPY_ACTIVATION"] = root.decode()
    _keep_profile_at_os_exit(lib)
    _keep_profile_at_keyboard_interrupt(lib)


_ran = []


def main():
    """Never raises: the program must start whatever happens here. Runs once: a
    venv's site-packages has its .pth files read twice (CPython 3.11+: once for the
    venv, once more for sys.prefix among the PREFIXES)."""
    if _ran:
        return
    _ran.append(True)
    try:
        if _wanted(os.environ) and not _is_filspy_command():
            _start()
    except Exception as e:  # noqa: BLE001 - one line, then the program runs unprofiled
        sys.stderr.write("filspy: not profiling: cannot load the agent from "
                         "filspy-activate.pth: %s\n" % e)
