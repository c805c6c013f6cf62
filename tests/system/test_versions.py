"""Every installed CPython from 3.6 up (pyenv) and Debian's static 3.11: shares,
deep stacks, names, coroutines, sub-interpreters."""
import re
import xml.dom.minidom

import pytest

from conftest import (PROGRAMS, ROOT, assert_shares_match, backend_params, frame_function,
                      interpreter_params, minor_of, parse_folded)


def minors_in_the_offsets_table():
    """The 3.x minors filspy is tested on: the rows of its generated offsets table,
    the same list pyversions__list() (agent/cpython/versions.c) gives the agent and
    `filspy doctor`."""
    table = (ROOT / "agent" / "cpython" / "pyoffsets_table.c").read_text()
    rows = re.findall(r"^\t\t\.major = (\d+),\n\t\t\.minor = (\d+),$", table, re.M)
    minors = sorted(int(minor) for major, minor in rows if major == "3")
    assert minors, "no CPython rows found in pyoffsets_table.c"
    return minors


ALL = interpreter_params(minors_in_the_offsets_table())
BACKENDS = backend_params()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ALL)
def test_shares_within_two_points(python, backend, profiled):
    # 5 s, ~500 samples at 100 Hz: at 3 s (~300) an unbiased backend strayed past
    # 2 points now and then on this host (CI of 2026-12-06: 3.6 self 2.2, 3.12 bpf
    # 2.1, one of the 27 rows in a run); the bound stays 2 points
    assert_shares_match(profiled([python, PROGRAMS / "shares.py", "5"],
                                    FIL_PERF_SPY_BACKEND=backend), min_samples=400)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ALL)
def test_1500_deep_recursion_is_kept_whole(python, backend, profiled):
    r = profiled([python, PROGRAMS / "deep.py"], FIL_PERF_SPY_OUTPUT="raw",
                 FIL_PERF_SPY_BACKEND=backend)
    assert r.returncode == 0 and r.stdout == "deep done\n", r.stderr
    stacks = parse_folded(r.raw())
    deep = {s: n for s, n in stacks.items()
            if sum(frame_function(f) == "recurse" for f in s) == 1500}
    assert sum(deep.values()) >= 50, sorted((len(s), n) for s, n in stacks.items())[-5:]
    assert not any("[truncated]" in s for s in deep)
    # The bpf walk sometimes ends one frame short of <module> though this stack
    # holds still (no unreadable frame, no stale check): 0-2 of ~150 deep samples
    # per run on Debian's static 3.11, before this session's changes as after;
    # cause unknown (docs/performance/py-spy.md, known limits). Up to 2 % tolerated.
    cut = sum(n for s, n in deep.items() if frame_function(s[0]) != "<module>")
    assert cut <= max(1, sum(deep.values()) // 50), [(s[0], n) for s, n in deep.items()]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ALL)
def test_non_ascii_lambda_comprehension_names(python, backend, profiled):
    r = profiled([python, PROGRAMS / "names.py"], FIL_PERF_SPY_BACKEND=backend)
    assert r.returncode == 0 and r.stdout == "names done\n", r.stderr
    raw = r.raw()
    minor = minor_of(python)
    qual = minor >= 11  # qualified names from 3.11
    expected = ["naïve_café (names.py:", "函数_二 (names.py:", "𠀀_four (names.py:",
                ("Ünïcode.méthode" if qual else "méthode") + " (names.py:", "<lambda> (names.py:"]
    if minor < 12:  # 3.12 inlines comprehensions (PEP 709)
        expected.append(("comprehension.<locals>.<listcomp>" if qual else "<listcomp>") + " (names.py:")
    for name in expected:
        assert name in raw, f"{name!r} missing from:\n{raw}"
    svg = (r.outdir / "x-pyspy.svg").read_text(encoding="utf-8")
    xml.dom.minidom.parseString(svg.encode())
    assert "&lt;lambda&gt;" in svg and "<lambda>" not in svg
    assert "函数_二" in svg and "𠀀_four" in svg


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ALL)
def test_coroutine_frames_are_present(python, backend, profiled):
    if minor_of(python) < 7:
        pytest.skip("asyncio.run needs 3.7")
    r = profiled([python, PROGRAMS / "coroutines.py"], FIL_PERF_SPY_OUTPUT="raw",
                 FIL_PERF_SPY_BACKEND=backend)
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(r.raw())
    crunch = sum(n for s, n in stacks.items() if frame_function(s[-1]) == "crunch")
    assert crunch >= 30, r.raw()  # a loaded machine gives the event loop more
    assert any("orchestrate" in " ".join(s) or "run" in " ".join(s) for s in stacks)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ALL)
def test_sub_interpreter_frames_are_sampled(python, backend, profiled):
    if minor_of(python) < 8:
        pytest.skip("sub-interpreters are exposed to Python from 3.8 (_xxsubinterpreters)")
    r = profiled([python, PROGRAMS / "subinterp.py"], FIL_PERF_SPY_OUTPUT="raw",
                 FIL_PERF_SPY_BACKEND=backend)
    assert r.returncode == 0 and r.stdout == "subinterpreter done\n", r.stderr
    stacks = parse_folded(r.raw())
    sub = sum(n for s, n in stacks.items() if frame_function(s[-1]) == "sub_spin")
    assert sub >= 50, r.raw()


def test_313_reads_its_own_debug_offsets(profiled):
    from conftest import pyenv_python
    python = pyenv_python(13)
    if not python:
        pytest.skip("pyenv CPython 3.13 is not installed")
    r = profiled([python, PROGRAMS / "exits.py", "return"], FIL_PERF_SPY_DEBUG=1)
    assert r.returncode == 0
    assert "offsets from _Py_DebugOffsets" in r.stderr, r.stderr
