"""Container-wide activation: with LD_PRELOAD and FIL_PERF_SPY_ENABLED in the
environment of a whole process tree, every Python process profiles itself once
under its own name and nothing else writes or prints anything."""
import re
import subprocess

from conftest import PROGRAMS, agent_env, plain_env, pyenv_python, require_tool


def test_every_python_process_profiles_itself_once(tmp_path):
    require_tool("dot")
    python = pyenv_python(11) or "/usr/bin/python3.11"
    out = tmp_path / "out"
    script = f"{python} {PROGRAMS / 'process_tree.py'}; ls / > /dev/null; echo shell done"
    env = agent_env(out, FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_SPY_QUIET=1, FIL_PERF_RUN_LABEL=None)
    base = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=plain_env(),
                          timeout=120)
    r = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert (r.returncode, r.stdout) == (base.returncode, base.stdout)
    assert r.stderr == base.stderr
    files = sorted(p.name for p in out.iterdir())
    pids = [re.fullmatch(r"(.+)-(\d+)-pyspy\.txt", f) for f in files]
    assert all(pids), files
    assert len({m.group(2) for m in pids}) == len(files), "one file per process"
    assert any(m.group(1) == "process_tree" for m in pids), files
    # the main script, the python -c child and the two spawn-pool workers at least
    assert len(files) >= 4, files


def test_process_filter_limits_who_profiles(tmp_path):
    python = pyenv_python(11) or "/usr/bin/python3.11"
    out = tmp_path / "out"
    env = agent_env(out, FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_SPY_QUIET=1, FIL_PERF_RUN_LABEL=None,
                    FIL_PERF_SPY_PROCESS="process_tree")
    r = subprocess.run([python, PROGRAMS / "process_tree.py"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 1 and files[0].startswith("process_tree-"), files
