"""The agent built with AddressSanitizer + UndefinedBehaviorSanitizer, and the normal
agent under valgrind, run real profiled programs without a report."""
import os
import re
import subprocess

import pytest

from conftest import (ASAN_AGENT, BPF_SKIP, PROGRAMS, agent_env, parse_folded, pyenv_python,
                      require_tool)

SANITIZER_ERRORS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def asan_runtime():
    clang = require_tool("clang")
    path = subprocess.run([clang, "-print-file-name=libclang_rt.asan-x86_64.so"],
                          capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        pytest.skip("clang's shared ASan runtime (libclang-rt-14-dev) is not installed")
    return path


def asan_env(outdir, **settings):
    env = agent_env(outdir, agent=ASAN_AGENT, **settings)
    # the runtime must come first; Python itself leaks by design, so leaks are off
    env["LD_PRELOAD"] = f"{asan_runtime()}:{ASAN_AGENT}"
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=99"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=99"
    return env


CASES = [["shares.py", "2"], ["exits.py", "SIGTERM"], ["exits.py", "_exit"], ["fork_pool.py"]]


@pytest.mark.parametrize("args", CASES, ids=lambda a: "-".join(a))
@pytest.mark.parametrize("subprocesses", ["0", "1"])
@pytest.mark.parametrize("backend", ["self", "bpf"])
def test_asan_ubsan_clean(args, subprocesses, backend, tmp_path):
    python = pyenv_python(11) or "/usr/bin/python3.11"
    if not ASAN_AGENT.exists():
        pytest.skip("build/asan/libfilspy.so not built (make asan)")
    if backend == "bpf" and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    outdir = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / args[0], *args[1:]], capture_output=True, text=True,
                       timeout=120, env=asan_env(outdir, FIL_PERF_SPY_RATE=1000,
                                                FIL_PERF_SPY_BACKEND=backend,
                                                FIL_PERF_SPY_SUBPROCESSES=subprocesses,
                                                FIL_PERF_SPY_THREADS=1))
    for marker in SANITIZER_ERRORS:
        assert marker not in r.stderr, r.stderr[-4000:]
    assert r.returncode != 99
    assert f"with the {backend} backend" in r.stderr, r.stderr[-2000:]
    assert (outdir / "x-pyspy.txt").exists()
    assert sum(parse_folded((outdir / "x-pyspy.txt").read_text()).values()) > 0


@pytest.mark.parametrize("settings", [{}, {"FIL_PERF_SPY_FUNCTION": "1"},
                                      {"FIL_PERF_SPY_NOLINENO": "1", "FIL_PERF_SPY_THREADS": "1"}],
                         ids=["by-line", "function", "nolineno-threads"])
@pytest.mark.parametrize("backend", ["self", "bpf"])
def test_asan_ubsan_clean_naming_imports_and_keeping_time_order(settings, backend, tmp_path):
    from test_views import import_tower
    python = pyenv_python(11) or "/usr/bin/python3.11"
    if not ASAN_AGENT.exists():
        pytest.skip("build/asan/libfilspy.so not built (make asan)")
    if backend == "bpf" and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    outdir = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / "after_imports.py"], capture_output=True, text=True,
                       timeout=120, env=asan_env(outdir, FIL_PERF_SPY_RATE=1000,
                                                FIL_PERF_SPY_BACKEND=backend,
                                                FIL_PERF_SPY_OUTPUT="svg,raw,speedscope,pprof",
                                                PYTHONUSERBASE=import_tower(tmp_path, python),
                                                **settings))
    for marker in SANITIZER_ERRORS:
        assert marker not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0, r.stderr[-2000:]
    raw = (outdir / "x-pyspy.txt").read_text()
    assert "import tower.m10" in raw
    assert (outdir / "x-pyspy.speedscope.json").stat().st_size > 0


@pytest.mark.parametrize("program", ["native_qsort.py", "gil_threads.py"])
def test_asan_ubsan_clean_with_native_frames(program, tmp_path):
    """bpf with FIL_PERF_SPY_NATIVE and IDLE: the merge of every on- and off-CPU
    sample's native stack (libfilspy-native.so itself is the normal build; valgrind
    below runs it under memcheck)."""
    python = pyenv_python(11) or "/usr/bin/python3.11"
    if not ASAN_AGENT.exists():
        pytest.skip("build/asan/libfilspy.so not built (make asan)")
    if BPF_SKIP:
        pytest.skip(BPF_SKIP)
    outdir = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / program], capture_output=True, text=True, timeout=120,
                       env=asan_env(outdir, FIL_PERF_SPY_RATE=1000, FIL_PERF_SPY_BACKEND="bpf",
                                    FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_IDLE=1,
                                    FIL_PERF_SPY_THREADS=1))
    for marker in SANITIZER_ERRORS:
        assert marker not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0, r.stderr[-2000:]
    raw = (outdir / "x-pyspy.txt").read_text()
    assert "(libc.so" in raw, raw[:2000]


@pytest.mark.parametrize("thread", ["", "--thread"], ids=["main", "thread"])
def test_asan_ubsan_clean_guessing_frames_from_the_c_stack(thread, tmp_path):
    """3.6-3.10: the self backend reads a thread's C stack and the frames it names
    (agent/cpython/cstackguess.c), on fast-changing chains in the main thread and in
    another."""
    python = pyenv_python(9)
    if not python:
        pytest.skip("pyenv CPython 3.9 is not installed")
    if not ASAN_AGENT.exists():
        pytest.skip("build/asan/libfilspy.so not built (make asan)")
    outdir = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / "chains.py", "2", "--period", "20", *filter(None, [thread])],
                       capture_output=True, text=True, timeout=120,
                       env=asan_env(outdir, FIL_PERF_SPY_RATE=1000, FIL_PERF_SPY_BACKEND="self",
                                    FIL_PERF_SPY_DEBUG=1))
    for marker in SANITIZER_ERRORS:
        assert marker not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r"(\d+) thread samples, .* (\d+) read whole from a C-stack guess", r.stderr)
    # the guess's code ran under the sanitizers for a good part of the samples (how
    # many hold depends on the host: under ASan, on slow system calls, 47 % did)
    assert m and int(m.group(2)) >= int(m.group(1)) // 4, r.stderr[-2000:]


@pytest.mark.parametrize("settings,minor", [({}, 11), ({}, 9),
                                            ({"FIL_PERF_SPY_BACKEND": "bpf", "FIL_PERF_SPY_NATIVE": "1"}, 11)],
                         ids=["self", "self-3.9", "bpf-native"])
def test_valgrind_finds_nothing_in_the_agent(settings, minor, tmp_path):
    valgrind = require_tool("valgrind")
    python = pyenv_python(minor)
    if not python:
        pytest.skip(f"pyenv CPython 3.{minor} is not installed")
    if settings and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    outdir = tmp_path / "out"
    log = tmp_path / "valgrind.log"
    env = agent_env(outdir, FIL_PERF_SPY_RATE=200, **settings)
    env["PYTHONMALLOC"] = "malloc"  # let memcheck see every allocation
    r = subprocess.run([valgrind, "--error-exitcode=0", f"--log-file={log}", "--num-callers=30",
                        python, PROGRAMS / "long_spin.py", "2"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "spun\n"
    assert (outdir / "x-pyspy.svg").exists()
    text = log.read_text()
    # Python's own reports are not ours to judge: count only errors with our frames
    errors = [block for block in re.split(r"\n==\d+== \n", text) if "libfilspy" in block and
              ("Invalid" in block or "uninitialised" in block or "Mismatched" in block)]
    assert not errors, "\n".join(errors[:3])
    assert "ERROR SUMMARY" in text
