"""py-spy is found where make put it: FIL_PERF_SPY_PYSPY first, then PATH, then the
copy beside filspy's own files (build/tools/py-spy in the build tree,
$PREFIX/lib/filspy/py-spy after `make install`), by the agent and by the command."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import AGENT, FILSPY, PROGRAMS, ROOT, agent_env, plain_env, python311, run

BUILT_PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
needs_pyspy = pytest.mark.skipif(not BUILT_PYSPY.exists(),
                                 reason=f"{BUILT_PYSPY} is not installed (make deps)")


def path_without_pyspy():
    """PATH with every folder that holds a py-spy left out."""
    folders = [d for d in os.environ.get("PATH", "/usr/bin:/bin").split(":")
               if d and not os.path.exists(os.path.join(d, "py-spy"))]
    return ":".join(folders)


def doctor_pyspy(filspy, **env):
    r = subprocess.run([filspy, "doctor", "--json"], capture_output=True, text=True, timeout=120,
                       env=dict(plain_env(), PATH=path_without_pyspy(), **env))
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    return checks["py-spy"], checks["ptrace by a child"]["status"] == "ok"


@needs_pyspy
def test_doctor_finds_the_pyspy_of_the_build_tree():
    check, _ = doctor_pyspy(FILSPY)
    assert check["status"] == "ok" and str(BUILT_PYSPY) in check["detail"], check


@needs_pyspy
def test_the_setting_comes_first_and_a_miss_says_where_it_looked():
    check, _ = doctor_pyspy(FILSPY, FIL_PERF_SPY_PYSPY="/nonexistent/py-spy")
    assert check["status"] == "no", check
    assert "for FIL_PERF_SPY_PYSPY=/nonexistent/py-spy" in check["detail"], check


@needs_pyspy
def test_make_install_puts_pyspy_where_the_installed_filspy_finds_it(tmp_path):
    dest = tmp_path / "root"
    make = subprocess.run(["make", "-s", "--no-print-directory", "install", f"DESTDIR={dest}",
                           "PREFIX=/opt/filspy"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert make.returncode == 0, make.stdout + make.stderr
    prefix = dest / "opt" / "filspy"
    installed = prefix / "lib" / "filspy" / "py-spy"
    assert installed.exists()
    check, ptrace_ok = doctor_pyspy(prefix / "bin" / "filspy")
    assert check["status"] == "ok" and str(installed) in check["detail"], check
    if not ptrace_ok:
        pytest.skip("a child may not ptrace its parent here: the pyspy backend cannot run")
    outdir = tmp_path / "out"
    env = agent_env(outdir, agent=prefix / "lib" / "libfilspy.so", FIL_PERF_SPY_BACKEND="pyspy",
                    PATH=path_without_pyspy())
    r = run([python311(), PROGRAMS / "long_spin.py", "1.5"], env, outdir=outdir)
    assert r.returncode == 0 and r.stdout == "spun\n", r.stderr
    assert "with the pyspy backend" in r.stderr, r.stderr
    assert r.files() == ["x-pyspy.svg", "x-pyspy.txt"], r.stderr


def test_the_agent_says_where_it_looked_and_leaves_the_program_alone(tmp_path):
    lonely = tmp_path / "lonely" / "libfilspy.so"
    lonely.parent.mkdir()
    shutil.copy(AGENT, lonely)
    cmd = [python311(), PROGRAMS / "exits.py", "exit"]
    base = run(cmd, plain_env())
    r = run(cmd, agent_env(tmp_path / "out", agent=lonely, FIL_PERF_SPY_BACKEND="pyspy",
                           PATH=path_without_pyspy()))
    assert (r.returncode, r.stdout) == (base.returncode, base.stdout)
    lines = [line for line in r.stderr.splitlines() if line.startswith("filspy:")]
    assert len(lines) == 1, r.stderr
    assert "py-spy not found (looked on PATH, " in lines[0], lines
    assert f"{lonely.parent}/filspy/py-spy" in lines[0], lines
