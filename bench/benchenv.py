"""What the benchmarks share: the interpreter they measure by default and an
environment without any filspy setting of the caller's."""
import glob
import os


def default_python():
    """The newest pyenv CPython 3.11, else Debian's static /usr/bin/python3.11."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", "3.11*", "bin", "python3.11")))
    return found[-1] if found else "/usr/bin/python3.11"


def clean_env():
    """os.environ without FIL_PERF_* settings, LD_PRELOAD and the activation mark."""
    return {k: v for k, v in os.environ.items()
            if not k.upper().startswith("FIL_PERF_") and k not in ("LD_PRELOAD", "FILSPY_ACTIVATION")}


def agent_cpu_ns(pid, program_tids):
    """CPU ns of every task of pid but the program's own threads (program_tids): the
    agent's threads, from /proc/PID/task/TID/schedstat."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) in program_tids:
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total
