"""`filspy attach PID` (and `filspy run` with FIL_PERF_SPY_PID) profiles a process
that runs already; this version records it through py-spy."""
import os
import subprocess
import time

import pytest

from conftest import FILSPY, PROGRAMS, ROOT, parse_folded, plain_env, pyenv_python

PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"


@pytest.fixture(autouse=True)
def need_pyspy():
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")


@pytest.mark.parametrize("how", ["attach", "run-pid"])
def test_attach_writes_a_profile_and_the_target_keeps_its_status(how, tmp_path):
    python = pyenv_python(11) or "/usr/bin/python3.11"
    target = subprocess.Popen([python, PROGRAMS / "long_spin.py", "4"], stdout=subprocess.PIPE,
                              text=True)
    time.sleep(0.5)
    env = dict(plain_env(), FIL_PERF_SPY_PYSPY=str(PYSPY))
    out = tmp_path / "o"
    if how == "attach":
        cmd = [FILSPY, "attach", "--duration", "2", "--output-dir", out, "--output", "svg,raw",
               "--label", "att", str(target.pid)]
    else:
        env.update(FIL_PERF_SPY_PID=str(target.pid), FIL_PERF_SPY_DURATION="2",
                   FIL_PERF_OUTPUT_DIR=str(out), FIL_PERF_SPY_OUTPUT="svg,raw",
                   FIL_PERF_RUN_LABEL="att")
        cmd = [FILSPY, "run"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == ["att-pyspy.svg", "att-pyspy.txt"]
    stacks = parse_folded((out / "att-pyspy.txt").read_text())
    assert sum(n for s, n in stacks.items() if s[-1].startswith("hot_loop")) > 100
    stdout, _ = target.communicate(timeout=30)
    assert (target.returncode, stdout) == (0, "spun\n")


def test_attach_to_no_process_is_a_usage_error():
    r = subprocess.run([FILSPY, "attach", "999999999"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("filspy: ")
