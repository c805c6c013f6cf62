"""Fixtures for the system tests: real interpreters, the built agent, and a helper
that runs a program with and without it."""
import glob
import os
import sys
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
AGENT = BUILD / "libfilspy.so"
ASAN_AGENT = BUILD / "asan" / "libfilspy.so"
FILSPY = BUILD / "filspy"
PROGRAMS = Path(__file__).resolve().parent / "programs"
DEBIAN_PYTHON = "/usr/bin/python3.11"


def pyenv_root():
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def pyenv_python(minor):
    """The pyenv interpreter 3.<minor>, or None."""
    found = sorted(glob.glob(f"{pyenv_root()}/versions/3.{minor}.*/bin/python3.{minor}"))
    return found[-1] if found else None


def interpreter_params(minors):
    """pytest params for pyenv 3.<minor> of each minor plus Debian's static 3.11;
    a missing one is a visible skip with its name."""
    params = []
    for minor in minors:
        path = pyenv_python(minor)
        marks = [] if path else [pytest.mark.skip(reason=f"pyenv CPython 3.{minor} is not installed")]
        params.append(pytest.param(path, id=f"pyenv-3.{minor}", marks=marks))
    marks = [] if os.path.exists(DEBIAN_PYTHON) else [
        pytest.mark.skip(reason=f"{DEBIAN_PYTHON} (Debian's static build) is not installed")]
    params.append(pytest.param(DEBIAN_PYTHON, id="debian-static-3.11", marks=marks))
    return params


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    outdir: Path

    def files(self):
        return sorted(p.name for p in self.outdir.iterdir()) if self.outdir.exists() else []

    def raw(self, label="x"):
        return (self.outdir / f"{label}-pyspy.txt").read_text()


def agent_env(outdir, agent=AGENT, **settings):
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("FIL_PERF_") and k not in ("LD_PRELOAD", "FILSPY_ACTIVATION")}
    env.update({
        "LD_PRELOAD": str(agent),
        "FIL_PERF_SPY_ENABLED": "1",
        "FIL_PERF_OUTPUT_DIR": str(outdir),
        "FIL_PERF_RUN_LABEL": "x",
        "FIL_PERF_SPY_OUTPUT": "svg,raw",
        # the reference backend, which runs everywhere; tests of the others and of
        # the automatic choice say so (FIL_PERF_SPY_BACKEND=None leaves it to auto)
        "FIL_PERF_SPY_BACKEND": "self",
    })
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def plain_env():
    return {k: v for k, v in os.environ.items()
            if not k.upper().startswith("FIL_PERF_") and k not in ("LD_PRELOAD", "FILSPY_ACTIVATION")}


# Host shapes a test can ask for with @pytest.mark.tracefs("mounted"/"unmounted"):
# its commands then run in a private mount namespace (unshare -m) where tracefs is
# mounted, or unmounted, whatever this machine's own state is. A fresh Debian host
# and most containers have it unmounted; a developer's machine often has it mounted
# by hand, which once hid a dependency on it from every test.
TRACEFS_SETUP = {
    "mounted": "mountpoint -q /sys/kernel/tracing || "
               "mount -t tracefs tracefs /sys/kernel/tracing || exit 125",
    "unmounted": "for m in /sys/kernel/debug/tracing /sys/kernel/tracing; do "
                 "if mountpoint -q $m; then umount $m || exit 125; fi; done",
}
HOST_PREFIX = []


def tracefs_prefix(state):
    return [shutil.which("unshare") or "unshare", "--mount", "--propagation", "private",
            "sh", "-c", TRACEFS_SETUP[state] + '; exec "$@"', "sh"]


def tracefs_skip_reason():
    """Why a private mount namespace with tracefs set either way cannot be made here."""
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    for state in TRACEFS_SETUP:
        p = subprocess.run(tracefs_prefix(state) + ["true"], capture_output=True, text=True)
        if p.returncode != 0:
            return f"cannot make a mount namespace with tracefs {state}: {p.stderr.strip()}"
    return None


def tracefs_params(value=None, id_prefix=""):
    """pytest params of value (default: the state's name) under both tracefs states."""
    return [pytest.param(state if value is None else value, id=f"{id_prefix}tracefs-{state}",
                         marks=pytest.mark.tracefs(state)) for state in TRACEFS_SETUP]


# what a run makes in /tmp besides pytest's own directories: the agent's
# control-socket directories (/tmp/filspy-UID, also for the tests run as nobody)
# and tmux's server socket (test_live). A fresh machine has none, so those the
# run made go at its end.
_MADE_IN_TMP = ("/tmp/filspy-*", "/tmp/tmux-*")


# taken when this file is loaded (at collection, before any test runs: a
# conftest.py below the root is loaded after pytest_sessionstart, which it
# then never sees)
_TMP_BEFORE = {p for pat in _MADE_IN_TMP for p in glob.glob(pat)}


def pytest_sessionfinish(session, exitstatus):
    before = _TMP_BEFORE
    for pat in _MADE_IN_TMP:
        for p in glob.glob(pat):
            if p not in before:
                shutil.rmtree(p, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "tracefs(state): run the test's commands in a mount "
                            "namespace where tracefs is 'mounted' or 'unmounted'")


_TRACEFS_SKIP = []


@pytest.fixture(autouse=True)
def host_shape(request):
    marker = request.node.get_closest_marker("tracefs")
    if not marker:
        yield None
        return
    if not _TRACEFS_SKIP:
        _TRACEFS_SKIP.append(tracefs_skip_reason())
    if _TRACEFS_SKIP[0]:
        pytest.skip(_TRACEFS_SKIP[0])
    HOST_PREFIX[:] = tracefs_prefix(marker.args[0])
    try:
        yield marker.args[0]
    finally:
        HOST_PREFIX.clear()


def shaped(cmd):
    """cmd in the test's host shape (see HOST_PREFIX), for a Popen of its own."""
    return HOST_PREFIX + [str(c) for c in cmd]


def run(cmd, env, timeout=60, cwd=None, outdir=None):
    p = subprocess.run(shaped(cmd), env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    return Run(p.returncode, p.stdout, p.stderr, Path(outdir) if outdir else Path("/nonexistent"))


@pytest.fixture
def profiled(tmp_path):
    """profiled(cmd, **settings) runs cmd under the agent with outputs in tmp_path/out."""
    outdir = tmp_path / "out"

    def go(cmd, agent=AGENT, timeout=60, cwd=None, **settings):
        return run(cmd, agent_env(outdir, agent=agent, **settings), timeout=timeout, cwd=cwd,
                   outdir=outdir)
    return go


@pytest.fixture
def unprofiled():
    def go(cmd, timeout=60, cwd=None):
        return run(cmd, plain_env(), timeout=timeout, cwd=cwd)
    return go


def parse_folded(text):
    """{stack tuple: count} from folded lines; fails on a malformed line."""
    stacks = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), f"malformed folded line: {line!r}"
        key = tuple(stack.split(";"))
        stacks[key] = stacks.get(key, 0) + int(count)
    return stacks


def frame_function(frame):
    """'name (file:line)' -> name"""
    return frame.rsplit(" (", 1)[0] if frame.endswith(")") else frame


def function_shares(stacks, functions):
    """Share of samples in which each of functions (which never call each other) is on
    the stack, among the samples holding any of them."""
    counts = {f: 0 for f in functions}
    for stack, n in stacks.items():
        names = {frame_function(frame) for frame in stack}
        for f in functions:
            if f in names:
                counts[f] += n
    total = sum(counts.values())
    return {f: (c / total if total else 0.0) for f, c in counts.items()}, total


def assert_shares_match(run, min_samples, points=2):
    """The profile of programs/shares.py gives each work function the share of CPU
    (or of wall time) the program measured itself (printed as JSON), within 2 points
    (or points)."""
    import json
    assert run.returncode == 0, run.stderr
    truth = json.loads(run.stdout)
    shares, total = function_shares(parse_folded(run.raw()), list(truth))
    assert total >= min_samples, f"only {total} samples: {run.stderr}"
    for name, share in truth.items():
        print(f"{name}: truth {share:.3f} profile {shares[name]:.3f}")
        assert abs(shares[name] - share) <= points / 100, (name, share, shares[name])


@pytest.fixture
def agent_without_bpf(tmp_path):
    """A copy of libfilspy.so alone in a directory: its bpf backend cannot load
    (no libfilspy-bpf.so beside it), so `auto` goes on to pyspy and self."""
    lonely = tmp_path / "lonely" / "libfilspy.so"
    lonely.parent.mkdir()
    shutil.copy(AGENT, lonely)
    return lonely


def minor_of(python):
    """The interpreter's minor version (6 for 3.6)."""
    out = subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


def python311():
    """CPython 3.11, the version most tests run: pyenv's, else Debian's."""
    path = pyenv_python(11) or (DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else None)
    if not path:
        pytest.skip("no CPython 3.11 installed")
    return path


def bpf_skip_reason():
    """Why the bpf backend cannot run here (None when it can): asks the agent."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        r = run([sys.executable, "-c", "import time; time.sleep(0.3)"],
                agent_env(Path(tmp) / "out", FIL_PERF_SPY_BACKEND="bpf", FIL_PERF_SPY_OUTPUT="raw"),
                outdir=Path(tmp) / "out")
        if r.returncode == 0 and "cannot start" not in r.stderr:
            return None
        return "the bpf backend cannot run here: " + r.stderr.strip()


BPF_SKIP = bpf_skip_reason()


def off_cpu_skip_reason():
    """Why the bpf backend's off-CPU (sched_switch) program cannot run here: a fact
    of the host, never the program's own failure, which is what the tests look for."""
    if BPF_SKIP:
        return BPF_SKIP
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "no kernel BTF (/sys/kernel/btf/vmlinux): the bpf off-CPU program needs it"
    release = os.uname().release
    try:
        major, minor = (int(x) for x in release.split(".")[:2])
    except ValueError:
        return None
    if (major, minor) < (5, 18):
        return f"Linux {release} is older than 5.18: its sched_switch passes BPF no prev_state"
    return None


OFF_CPU_SKIP = off_cpu_skip_reason()


def backend_params(off_cpu=False):
    """pytest params for the backends that read frames: self always, bpf where the
    kernel lets it load (else a visible skip that says why). With off_cpu (a test
    of idle threads or the GIL view: bpf's sched_switch program), bpf runs twice,
    with tracefs mounted and unmounted."""
    skip = [pytest.mark.skip(reason=BPF_SKIP)] if BPF_SKIP else []
    bpf = [pytest.param("bpf", id="bpf", marks=skip)]
    if off_cpu:
        skip = [pytest.mark.skip(reason=OFF_CPU_SKIP)] if OFF_CPU_SKIP else []
        bpf = [pytest.param("bpf", id=f"bpf-tracefs-{state}", marks=skip + [pytest.mark.tracefs(state)])
               for state in TRACEFS_SETUP]
    return [pytest.param("self", id="self")] + bpf


def require_tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed")
    return path
