"""FIL_PERF_SPY_NATIVE: native frames merged with Python frames, as py-spy --native
shows them, from the bpf backend (its program copies each sample's registers and
top of stack; libfilspy-native.so unwinds them with the binaries' CFI). Real
interpreters, real C libraries: zlib, libc's qsort through ctypes."""

import pytest

from conftest import (AGENT, BPF_SKIP, BUILD, DEBIAN_PYTHON as DEBIAN_STATIC, PROGRAMS, assert_shares_match, interpreter_params,
                      parse_folded, python311)

NATIVE_LIB = BUILD / "libfilspy-native.so"
pytestmark = [pytest.mark.skipif(bool(BPF_SKIP), reason=str(BPF_SKIP))]
INTERPRETERS = interpreter_params(range(8, 14))


def native_run(profiled, python, program, **settings):
    r = profiled([python, PROGRAMS / program], timeout=120, FIL_PERF_SPY_BACKEND="bpf",
                 FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_RATE=200, FIL_PERF_SPY_OUTPUT="raw",
                 **settings)
    assert r.returncode == 0, r.stderr
    assert "native frames are left out" not in r.stderr, r.stderr
    return parse_folded(r.raw())


def file_of(frame):
    """'name (file:line)' or 'name (file)' -> file"""
    if not frame.endswith(")") or " (" not in frame:
        return ""
    return frame.rsplit(" (", 1)[1][:-1].rsplit(":", 1)[0]


def is_python(frame):
    f = file_of(frame)
    return f.endswith(".py") or f.startswith("<")


def is_native(frame):
    """a native frame names its module: 'deflate (libz.so.1.2.13)'"""
    return bool(file_of(frame)) and not is_python(frame)


def under(stacks, function):
    """The stacks (and their counts) that hold the Python frame of function."""
    return {s: n for s, n in stacks.items()
            if any(fr.startswith(function + " (") and is_python(fr) for fr in s)}


@pytest.mark.parametrize("python", INTERPRETERS)
def test_zlib_compress_shows_libz_beneath_the_c_function_for_compress(profiled, python):
    """>= 90 % of the samples under the line that calls zlib.compress have a libz
    frame directly beneath
    the C function for zlib.compress (zlib_compress in zlibmodule.c; Debian's
    static 3.11 has zlib built in and its executable stripped of all but its
    exported symbols: that function, and the calling machinery above it, show as
    `0xOFFSET (python3.11)` frames there)."""
    line = "compress_loop (native_zlib.py:14)"  # n += len(zlib.compress(DATA, 6))
    stacks = {s: n for s, n in native_run(profiled, python, "native_zlib.py").items() if line in s}
    total = sum(stacks.values())
    assert total >= 100, stacks
    good = 0
    for stack, n in stacks.items():
        at = stack.index(line)
        below = stack[at + 1:]
        libz = next((i for i, fr in enumerate(below) if file_of(fr).startswith("libz.so")), None)
        if libz is None or libz == 0:
            continue
        if DEBIAN_STATIC == python:
            # zlib is built into the stripped executable: the C function for
            # compress and the calling machinery before it are unnamed frames
            ok = all(file_of(fr).startswith("python3.11") for fr in below[:libz])
        else:
            caller = below[libz - 1]
            ok = libz == 1 and "compress" in caller and file_of(caller).startswith("zlib.")
        good += n if ok else 0
    print(f"{good} of {total} samples under {line}: compress -> libz")
    assert good >= 0.9 * total, sorted(stacks.items(), key=lambda kv: -kv[1])[:5]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_ctypes_qsort_nests_python_c_python_in_order(profiled, python):
    """<module> ... sort_all ... qsort (libc) ... cmp (Python): each eval-loop C
    frame is replaced by the Python frames it runs, in the native stack's order."""
    stacks = under(native_run(profiled, python, "native_qsort.py"), "cmp")
    total = sum(stacks.values())
    assert total >= 50, stacks
    ordered = 0
    for stack, n in stacks.items():
        names = [fr.rsplit(" (", 1)[0] for fr in stack]
        try:
            module, sort_all = names.index("<module>"), names.index("sort_all")
            qsort = next(i for i, name in enumerate(names)
                         if "qsort" in name and file_of(stack[i]).startswith("libc"))
            cmp = names.index("cmp")
        except (ValueError, StopIteration):
            continue
        ordered += n if module < sort_all < qsort < cmp else 0
    print(f"{ordered} of {total} samples under cmp: <module> < sort_all < qsort < cmp")
    assert ordered >= 0.8 * total, sorted(stacks.items(), key=lambda kv: -kv[1])[:5]


def test_no_interpreter_plumbing_between_python_frames(profiled):
    """The eval loop itself and the calling machinery (vectorcall, PyObject_Call)
    never show, nor the interpreter's start below the first Python frame."""
    stacks = native_run(profiled, python311(), "native_qsort.py")
    for stack in stacks:
        assert not any(fr.startswith(("_PyEval_EvalFrameDefault", "PyObject_Call",
                                      "_PyFunction_Vectorcall")) for fr in stack), stack
        assert not is_native(stack[0]), stack


def test_without_native_every_frame_is_python(profiled):
    """NATIVE off: the same Python frames as ever, no native one."""
    r = profiled([python311(), PROGRAMS / "native_zlib.py"], FIL_PERF_SPY_BACKEND="bpf",
                 FIL_PERF_SPY_OUTPUT="raw")
    assert r.returncode == 0, r.stderr
    for stack in parse_folded(r.raw()):
        assert not any(is_native(fr) for fr in stack), stack


def test_native_shares_match_within_two_points(profiled):
    """programs/shares.py's CPU shares, with native frames on."""
    r = profiled([python311(), PROGRAMS / "shares.py", "4", "0.2"], timeout=120,
                 FIL_PERF_SPY_BACKEND="bpf", FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_RATE=1000)
    # 1 kHz: at 250 Hz the ~750 samples' own noise (1.8 points) failed 2 points
    # in about one run of eight. Cycles of 60 ms, not 300: with 10 cycles in 3 s
    # work_a's error had a deviation of about 1 point at 3000 samples and still
    # 0.7 at 12 000 (the error is per cycle, not per sample; CI saw 2.2 once),
    # with 60 ms cycles 0.1-0.2 points at 3000 or 6000 samples (bpf, this host)
    assert_shares_match(r, min_samples=3200)


def test_native_without_its_library_says_one_line_and_profiles(profiled, tmp_path):
    """A bpf agent whose libfilspy-native.so is missing: one line, Python frames."""
    import shutil
    lonely = tmp_path / "lib"
    lonely.mkdir()
    shutil.copy(AGENT, lonely / "libfilspy.so")
    shutil.copy(BUILD / "libfilspy-bpf.so", lonely / "libfilspy-bpf.so")
    r = profiled([python311(), PROGRAMS / "native_zlib.py"], agent=lonely / "libfilspy.so",
                 FIL_PERF_SPY_BACKEND="bpf", FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_OUTPUT="raw")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "FIL_PERF_SPY_NATIVE" in line]
    assert len(lines) == 1 and "libfilspy-native.so" in lines[0], r.stderr
    assert any("compress_loop" in fr for stack in parse_folded(r.raw()) for fr in stack)


def test_native_stack_size_is_checked(profiled):
    r = profiled([python311(), "-c", "print('same')"], FIL_PERF_SPY_NATIVE_STACK="1000")
    assert r.returncode == 0 and r.stdout == "same\n"
    assert "FIL_PERF_SPY_NATIVE_STACK='1000' is not a size from 4 to 64 KiB" in r.stderr


@pytest.fixture(scope="module")
def numpy_python(tmp_path_factory):
    """A venv of CPython 3.11 with numpy from PyPI's wheel (its OpenBLAS inside)."""
    import subprocess
    base = python311()
    venv = tmp_path_factory.mktemp("numpy") / "venv"
    p = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"{base} cannot make a venv: {p.stderr.strip()[-200:]}")
    p = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "numpy"], capture_output=True, text=True)
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        pytest.skip(f"numpy does not install from PyPI here: {lines[-1] if lines else p.returncode}")
    return venv / "bin" / "python"


def test_numpy_matmul_shows_its_blas_frames(profiled, numpy_python):
    """A @ A: >= 90 % of the samples of that line hold OpenBLAS frames beneath it.
    OpenBLAS's kernels are hand-written assembly without CFI, so the walk mostly
    ends in the kernel: the frames between (numpy's ufunc machinery) show only when
    the sample lands outside the kernel."""
    line = "multiply (native_matmul.py:14)"  # total += float((A @ A)[0, 0])
    stacks = {s: n for s, n in native_run(profiled, numpy_python, "native_matmul.py",
                                          OPENBLAS_NUM_THREADS=1).items() if line in s}
    total = sum(stacks.values())
    assert total >= 100, stacks
    blas = sum(n for s, n in stacks.items()
               if any(file_of(fr).startswith("libscipy_openblas") for fr in s[s.index(line) + 1:]))
    print(f"{blas} of {total} samples of {line} hold OpenBLAS frames")
    assert blas >= 0.9 * total, sorted(stacks.items(), key=lambda kv: -kv[1])[:5]


def test_auto_with_native_picks_bpf_and_says_so(profiled):
    r = profiled([python311(), PROGRAMS / "native_zlib.py"], FIL_PERF_SPY_BACKEND=None,
                 FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_OUTPUT="raw")
    assert r.returncode == 0, r.stderr
    assert "with the bpf backend and native frames" in r.stderr, r.stderr
    assert any(is_native(fr) for stack in parse_folded(r.raw()) for fr in stack)


def test_auto_with_native_without_bpf_goes_to_pyspy_with_native_frames(profiled,
                                                                        agent_without_bpf):
    pyspy = BUILD / "tools" / "py-spy" / "bin" / "py-spy"
    if not pyspy.exists():
        pytest.skip(f"{pyspy} is not built (make deps)")
    r = profiled([python311(), PROGRAMS / "native_zlib.py"], agent=agent_without_bpf,
                 FIL_PERF_SPY_BACKEND=None, FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_OUTPUT="raw",
                 FIL_PERF_SPY_PYSPY=pyspy)
    assert r.returncode == 0, r.stderr
    assert "with the pyspy backend and native frames" in r.stderr, r.stderr
    assert any(is_native(fr) for stack in parse_folded(r.raw()) for fr in stack)


def test_native_frames_in_every_view_and_format(profiled):
    """IDLE, THREADS and the GIL view with native frames: a thread waiting for the
    GIL shows the wait's native frames (take_gil), in svg, raw, speedscope, pprof
    and the GIL view alike."""
    import gzip
    r = profiled([python311(), PROGRAMS / "gil_threads.py", "2"], timeout=120,
                 FIL_PERF_SPY_BACKEND="bpf", FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_IDLE=1,
                 FIL_PERF_SPY_THREADS=1, FIL_PERF_SPY_OUTPUT="svg,raw,speedscope,pprof,gil")
    assert r.returncode == 0, r.stderr
    waits = [s for s in parse_folded(r.raw()) if any(fr.startswith("take_gil (") for fr in s)]
    assert waits, r.raw()[:2000]
    for stack in waits:
        assert stack[0].startswith("thread ("), stack
        at = next(i for i, fr in enumerate(stack) if fr.startswith("take_gil ("))
        assert is_python(stack[at - 1]) or is_native(stack[at - 1]), stack
    out = r.outdir
    assert "take_gil" in (out / "x-pyspy.svg").read_text()
    assert "take_gil" in (out / "x-pyspy-gil.svg").read_text()
    assert "take_gil" in (out / "x-pyspy.speedscope.json").read_text()
    assert b"take_gil" in gzip.decompress((out / "x-pyspy.pb.gz").read_bytes())


def test_self_backend_with_native_says_one_line_and_records_python(profiled):
    """The self backend would have to stop a thread to copy its registers and stack:
    one line naming the backends that can, and the Python frames as ever."""
    r = profiled([python311(), PROGRAMS / "native_zlib.py"], FIL_PERF_SPY_BACKEND="self",
                 FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_OUTPUT="raw")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    lines = [line for line in r.stderr.splitlines() if "FIL_PERF_SPY_NATIVE" in line]
    assert len(lines) == 1 and "the bpf and pyspy backends have them" in lines[0], r.stderr
    assert not any(is_native(fr) for stack in parse_folded(r.raw()) for fr in stack)
