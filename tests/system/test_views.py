"""What a profile shows, in every format: start-up imports as one `import NAME`
frame per import (FIL_PERF_SPY_RAW_IMPORTS keeps CPython's import machinery as
it is), frames by function (FIL_PERF_SPY_FUNCTION) or without line numbers
(FIL_PERF_SPY_NOLINENO), speedscope's per-thread time order, and which messages
the processes of an activation print."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (BPF_SKIP, PROGRAMS, ROOT, agent_env, frame_function, interpreter_params,
                      parse_folded, plain_env, python311, require_tool)

PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
LEVELS = 10
SPIN = """import time


def spin(seconds):
    start = time.time()
    while time.time() - start < seconds:
        pass


spin(0.6)
"""
# what the tower of imports reads as, by function: import tower -> <module> ->
# import tower.m1 -> <module> -> ... -> import tower.m10 -> <module> -> spin
TOWER = ["import tower", "<module>"] + [
    name for i in range(1, LEVELS + 1) for name in (f"import tower.m{i}", "<module>")] + ["spin"]


def import_tower(tmp_path, python):
    """A user site (PYTHONUSERBASE) whose .pth file imports a package of nested
    modules at start-up, the innermost of which works 0.6 s (0.3 s was once too
short for the bpf backend to load on a loaded machine: 7 samples in it): the ~60-frame tower a
    .pth import puts under every stack. Returns the PYTHONUSERBASE."""
    base = tmp_path / "userbase"
    site = subprocess.run([python, "-c", "import site; print(site.getusersitepackages())"],
                          env={**plain_env(), "PYTHONUSERBASE": str(base)}, capture_output=True,
                          text=True, check=True).stdout.strip()
    pkg = Path(site) / "tower"
    pkg.mkdir(parents=True)
    (Path(site) / "tower.pth").write_text("import tower\n")
    (pkg / "__init__.py").write_text("from tower import m1\n")
    for i in range(1, LEVELS):
        (pkg / f"m{i}.py").write_text(f"from tower import m{i + 1}\n")
    (pkg / f"m{LEVELS}.py").write_text(SPIN)
    return base


def is_machinery(frame):
    return "<frozen importlib._bootstrap" in frame or "importlib/_bootstrap" in frame


def contains_run(names, run):
    return any(list(names[i:i + len(run)]) == run for i in range(len(names) - len(run) + 1))


def profile_tower(tmp_path, python, **settings):
    base = import_tower(tmp_path, python)
    out = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / "after_imports.py"], capture_output=True, text=True,
                       timeout=60, env=agent_env(out, PYTHONUSERBASE=base, FIL_PERF_SPY_OUTPUT="raw",
                                                 **settings))
    assert r.returncode == 0, r.stderr
    assert (out / "x-pyspy.txt").exists(), r.stderr
    return r, parse_folded((out / "x-pyspy.txt").read_text())


def spin_stacks(stacks):
    return {s: n for s, n in stacks.items() if frame_function(s[-1]) == "spin"}


@pytest.mark.parametrize("python", interpreter_params(range(6, 14)))
def test_startup_imports_read_as_one_import_frame_per_module(python, tmp_path):
    _, stacks = profile_tower(tmp_path, python)
    spins = spin_stacks(stacks)
    assert sum(spins.values()) >= 15, stacks
    for stack in spins:
        # the whole stack in the message: pytest's own cuts a tuple at 6 frames
        assert contains_run([frame_function(f) for f in stack], TOWER), ";".join(stack)
    machinery = [f for s in stacks for f in s if is_machinery(f)]
    assert not machinery, machinery[:5]
    # the program's own frames start at the root, as without imports
    assert any(frame_function(s[0]) == "<module>" and frame_function(s[-1]) == "work"
               for s in stacks), stacks


def test_raw_imports_keeps_the_import_machinery_frames(tmp_path):
    _, stacks = profile_tower(tmp_path, python311(), FIL_PERF_SPY_RAW_IMPORTS=1)
    spins = spin_stacks(stacks)
    assert spins
    for stack in spins:
        assert len(stack) > 6 * LEVELS, stack
        assert sum(frame_function(f) == "_find_and_load" for f in stack) >= LEVELS + 1, stack
        assert not any(f.startswith("import ") for f in stack), stack


@pytest.mark.parametrize("backend", ["bpf", "pyspy"])
def test_bpf_and_pyspy_name_each_import_after_the_module_it_runs(backend, tmp_path):
    # neither sees the frames' locals: `import NAME` is named from the <module> frame
    # that follows it (tower/m3.py: tower.m3), else it reads `import <module>`
    need_backend(backend)
    r, stacks = profile_tower(tmp_path, python311(), FIL_PERF_SPY_BACKEND=backend,
                              FIL_PERF_SPY_PYSPY=PYSPY)
    if f"{backend} backend" not in r.stderr:
        pytest.skip(f"the {backend} backend did not start here: {r.stderr.strip()}")
    spins = spin_stacks(stacks)
    total = sum(spins.values())
    assert total >= 10, stacks
    # bpf leaves out a frame whose code object it cannot name (rarely): two runs
    # then meet, `import <module>;import tower.m4`; the rest read as the tower
    whole = sum(n for s, n in spins.items() if contains_run([frame_function(f) for f in s], TOWER))
    assert whole >= 0.9 * total, spins
    assert not [f for s in stacks for f in s if is_machinery(f)]


BACKENDS = ["self", "bpf", "pyspy"]


def need_backend(backend):
    if backend == "bpf" and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    if backend == "pyspy" and not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")


def files_of(tmp_path, backend="self", **settings):
    need_backend(backend)
    out = tmp_path / "out"
    r = subprocess.run([python311(), PROGRAMS / "lines.py", "1"], capture_output=True, text=True,
                       timeout=60, env=agent_env(out, FIL_PERF_SPY_OUTPUT="svg,raw,speedscope,pprof",
                                                 FIL_PERF_SPY_BACKEND=backend,
                                                 FIL_PERF_SPY_PYSPY=PYSPY, **settings))
    assert r.returncode == 0, r.stderr
    if f"{backend} backend" not in r.stderr:
        pytest.skip(f"the {backend} backend did not start here: {r.stderr.strip()}")
    go = require_tool("go")
    pprof = subprocess.run([go, "tool", "pprof", "-raw", str(out / "x-pyspy.pb.gz")],
                           capture_output=True, text=True, timeout=120)
    assert pprof.returncode == 0, pprof.stderr
    return {
        "raw": parse_folded((out / "x-pyspy.txt").read_text()),
        "svg": (out / "x-pyspy.svg").read_text(),
        "speedscope": json.loads((out / "x-pyspy.speedscope.json").read_text()),
        "pprof": pprof.stdout,
    }


def spread_lines(files):
    """The lines each format shows for spread(), None for a frame without one."""
    def line(text):
        return int(text) if text else None
    raw = {line(m.group(1)) for s in files["raw"] for f in s
           for m in [re.fullmatch(r"spread \(lines\.py(?::(\d+))?\)", f)] if m}
    svg = {line(m.group(1)) for m in re.finditer(r"<title>spread \(lines\.py(?::(\d+))?\)",
                                                  files["svg"])}
    speedscope = {f.get("line") for f in files["speedscope"]["shared"]["frames"]
                  if f["name"] == "spread"}
    pprof = {int(m.group(1)) or None for m in re.finditer(r" spread lines\.py:(\d+)", files["pprof"])}
    return {"raw": raw, "svg": svg, "speedscope": speedscope, "pprof": pprof}


def def_line(name):
    lines = (PROGRAMS / "lines.py").read_text().splitlines()
    return next(i + 1 for i, text in enumerate(lines) if text.startswith(f"def {name}("))


def spread_stacks(raw):
    return [s for s in raw if frame_function(s[-1]) == "spread"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_by_line_spread_shows_as_several_frames(backend, tmp_path):
    files = files_of(tmp_path, backend)
    for fmt, lines in spread_lines(files).items():
        assert len(lines) > 1 and None not in lines, (fmt, lines)
    assert len(spread_stacks(files["raw"])) > 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_function_aggregates_each_function_at_its_first_line_in_every_format(backend, tmp_path):
    files = files_of(tmp_path, backend, FIL_PERF_SPY_FUNCTION=1)
    for fmt, lines in spread_lines(files).items():
        assert lines == {def_line("spread")}, (fmt, lines)
    # both calls from main are one frame, main's first line, and one stack
    stacks = spread_stacks(files["raw"])
    assert len(stacks) == 1, stacks
    assert stacks[0][-2] == f"main (lines.py:{def_line('main')})", stacks


@pytest.mark.parametrize("backend", BACKENDS)
def test_nolineno_drops_line_numbers_in_every_format(backend, tmp_path):
    files = files_of(tmp_path, backend, FIL_PERF_SPY_NOLINENO=1)
    for fmt, lines in spread_lines(files).items():
        assert lines == {None}, (fmt, lines)
    stacks = spread_stacks(files["raw"])
    assert stacks == [("<module> (lines.py)", "main (lines.py)", "spread (lines.py)")], stacks


THREADS = """import threading, time
def a():
    start = time.time()
    while time.time() - start < 0.3:
        pass
def b():
    start = time.time()
    while time.time() - start < 0.3:
        pass
worker = threading.Thread(target=b, name="worker")
worker.start()
a()
worker.join()
b()
"""


def speedscope_shape(doc):
    """The structure of a speedscope file, without its numbers and names."""
    return {
        "top": sorted(k for k in doc if k not in ("exporter", "name", "activeProfileIndex")),
        "profiles": [(p["type"], p["unit"], sorted(p)) for p in doc["profiles"]],
    }


def test_speedscope_keeps_each_threads_samples_in_time_order_like_pyspy(tmp_path):
    python = python311()
    program = tmp_path / "threads.py"
    program.write_text(THREADS)
    out = tmp_path / "out"
    r = subprocess.run([python, program], capture_output=True, text=True, timeout=60,
                       env=agent_env(out, FIL_PERF_SPY_OUTPUT="speedscope,raw"))
    assert r.returncode == 0, r.stderr
    ours = json.loads((out / "x-pyspy.speedscope.json").read_text())
    frames = ours["shared"]["frames"]
    names = [p["name"] for p in ours["profiles"]]
    assert len(names) == 2 and names[1].endswith(": worker"), names
    assert re.fullmatch(r"thread \(\d+\): MainThread", names[0]), names
    main = ours["profiles"][0]
    leaves = [frames[s[-1]]["name"] for s in main["samples"]]
    # the main thread ran a() and then b(): in that order, each in one stretch
    order = [name for i, name in enumerate(leaves) if name in ("a", "b") and
             (i == 0 or leaves[i - 1] != name)]
    assert order == ["a", "b"], leaves
    for p in ours["profiles"]:
        assert len(p["samples"]) == len(p["weights"])
        assert p["startValue"] == 0 and abs(p["endValue"] - sum(p["weights"])) < 1e-3
    raw_total = sum(parse_folded((out / "x-pyspy.txt").read_text()).values())
    assert abs(sum(w for p in ours["profiles"] for w in p["weights"]) - raw_total / 100) < 1e-6
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}: no structure to compare with")
    theirs_path = tmp_path / "pyspy.json"
    p = subprocess.run([PYSPY, "record", "-f", "speedscope", "-o", theirs_path, "--", python,
                        program], capture_output=True, text=True, timeout=60, env=plain_env())
    if p.returncode != 0:
        pytest.skip(f"py-spy record does not run here: {p.stderr.strip()[-200:]}")
    theirs = json.loads(theirs_path.read_text())
    assert speedscope_shape(ours) == speedscope_shape(theirs)


CHILD_PARENT = """import subprocess, sys
child = subprocess.run([sys.executable, "-c", "import time; time.sleep(0.2)"],
                       capture_output=True, text=True)
bad = subprocess.run([sys.executable, "-c", "import time; time.sleep(0.2)"],
                     capture_output=True, text=True, env=dict(__import__("os").environ,
                                                              FIL_PERF_SPY_RATE="fast"))
print(repr(child.stderr))
print(repr(bad.stderr))
"""


def test_descendants_print_only_warnings_and_errors(tmp_path):
    program = tmp_path / "parent.py"
    program.write_text(CHILD_PARENT)
    out = tmp_path / "out"
    r = subprocess.run([python311(), program], capture_output=True, text=True, timeout=60,
                       env=agent_env(out, FIL_PERF_SPY_OUTPUT="raw"))
    assert r.returncode == 0, r.stderr
    child_stderr, bad_stderr = (eval(line) for line in r.stdout.splitlines())
    assert child_stderr == "", "a child prints no informational line"
    assert bad_stderr.startswith("filspy: FIL_PERF_SPY_RATE") and bad_stderr.count("\n") == 1, \
        "a child's warnings still print"
    # the activation's first process says what it does
    assert "filspy: profiling parent" in r.stderr and "filspy: wrote" in r.stderr, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 3 and "x-pyspy.txt" in files, files
    assert all(re.fullmatch(r"x(-\d+)?-pyspy\.txt", f) for f in files), files


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_filenames_name_each_frame_with_its_whole_path(backend, tmp_path):
    """FIL_PERF_SPY_FULL_FILENAMES (py-spy's --full-filenames): the program's frames
    and the standard library's carry their whole paths, in every backend."""
    short = files_of(tmp_path / "short", backend)["raw"]
    full = files_of(tmp_path / "full", backend, FIL_PERF_SPY_FULL_FILENAMES=1)["raw"]
    program = str(PROGRAMS / "lines.py")
    assert any(f"spread ({program}:" in f for s in full for f in s), sorted(full)[:3]
    assert not any(program in f for s in short for f in s), sorted(short)[:3]
