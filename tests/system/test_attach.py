"""`filspy attach PID` (and `filspy run` with FIL_PERF_SPY_PID) profiles a process
that runs already: it loads the agent into it with ptrace, and falls back to
py-spy when it cannot."""
import os
import subprocess
import time

import pytest

from conftest import (DEBIAN_PYTHON, FILSPY, OFF_CPU_SKIP, PROGRAMS, ROOT, interpreter_params, parse_folded, plain_env,
                      pyenv_python, python311, shaped, tracefs_params)

PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.parametrize("python", interpreter_params([8, 11, 12, 13]))
def test_injected_agent_profiles_then_leaves_the_process_as_it_was(python, tmp_path):
    target = subprocess.Popen([python, PROGRAMS / "long_spin.py", "5"], stdout=subprocess.PIPE,
                              text=True)
    time.sleep(0.5)
    threads, rss = threads_of(target.pid), rss_kib(target.pid)
    out = tmp_path / "o"
    r = subprocess.run([FILSPY, "attach", str(target.pid), "--duration", "2", "--output-dir", out,
                        "--output", "svg,raw", "--label", "inj"], capture_output=True,
                       text=True, env=plain_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "the agent samples pid" in r.stderr and "py-spy" not in r.stderr
    assert sorted(os.listdir(out)) == ["inj-pyspy.svg", "inj-pyspy.txt"]
    stacks = parse_folded((out / "inj-pyspy.txt").read_text())
    # 2 s at 100 Hz; as root the agent samples with bpf, which counts only the time
    # the target is on a CPU, and a loaded machine gives it less
    assert sum(n for s, n in stacks.items() if s[-1].startswith("hot_loop")) > 60
    time.sleep(0.3)
    assert threads_of(target.pid) == threads
    assert rss_kib(target.pid) - rss < 4096, "memory back near the pre-attach level"
    stdout, _ = target.communicate(timeout=30)
    assert (target.returncode, stdout) == (0, "spun\n")


def test_repeated_attaches_never_crash_the_target(tmp_path):
    """The injection stops the target anywhere, even in the middle of pymalloc with
    live values in vector registers; every register must come back as it was
    (before the extended state was restored, about one attach in 15 crashed)."""
    python = python311()
    for i in range(10):
        target = subprocess.Popen([python, PROGRAMS / "long_spin.py", "1.5"],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        subprocess.run([FILSPY, "attach", str(target.pid), "--quiet", "--duration", "0.3",
                        "--output-dir", tmp_path / str(i), "--output", "raw"],
                       capture_output=True, env=plain_env(), timeout=60)
        stdout, _ = target.communicate(timeout=60)
        assert (target.returncode, stdout) == (0, "spun\n"), f"attach {i} of 10"


def test_a_sleeping_target_sleeps_on_after_the_injection(tmp_path):
    python = pyenv_python(11) or "/usr/bin/python3.11"
    code = "import time; t = time.monotonic(); time.sleep(3); print(round(time.monotonic() - t))"
    target = subprocess.Popen([python, "-c", code], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r = subprocess.run([FILSPY, "attach", "--quiet", "--idle", "--duration", "1", "--output-dir",
                        tmp_path, "--output", "raw", "--label", "s", str(target.pid)],
                       capture_output=True, text=True, env=plain_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    stdout, _ = target.communicate(timeout=30)
    assert (target.returncode, stdout) == (0, "3\n"), "the interrupted sleep was restarted"
    assert sum(parse_folded((tmp_path / "s-pyspy.txt").read_text()).values()) > 50


@pytest.mark.parametrize("how", ["attach", "run-pid"])
def test_pyspy_fallback_writes_a_profile_and_the_target_keeps_its_status(how, tmp_path):
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")
    python = pyenv_python(11) or "/usr/bin/python3.11"
    target = subprocess.Popen([python, PROGRAMS / "long_spin.py", "4"], stdout=subprocess.PIPE,
                              text=True)
    time.sleep(0.5)
    # no agent library to load: attach falls back to py-spy
    env = dict(plain_env(), FIL_PERF_SPY_PYSPY=str(PYSPY), FILSPY_LIBRARY="/nonexistent.so")
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
    assert "recording with py-spy instead" in r.stderr
    assert sorted(os.listdir(out)) == ["att-pyspy.svg", "att-pyspy.txt"]
    stacks = parse_folded((out / "att-pyspy.txt").read_text())
    assert sum(n for s, n in stacks.items() if s[-1].startswith("hot_loop")) > 100
    stdout, _ = target.communicate(timeout=30)
    assert (target.returncode, stdout) == (0, "spun\n")


def test_attach_to_no_process_is_a_usage_error():
    r = subprocess.run([FILSPY, "attach", "999999999"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("filspy: ")


@pytest.mark.skipif(bool(OFF_CPU_SKIP), reason=OFF_CPU_SKIP or "")
@pytest.mark.parametrize("tracefs", tracefs_params())
def test_attach_with_bpf_counts_a_thread_asleep_since_before_the_attach(tracefs, tmp_path):
    """The sched_switch program sees a thread leave its CPU; one that fell asleep
    before the attach never does while it is profiled. Its stack is read once from
    user space, and its samples still add up to the time profiled."""
    code = ("import threading, time\n"
            "def doze(): time.sleep(6)\n"
            "t = threading.Thread(target=doze, name='dozer'); t.start()\n"
            "end = time.monotonic() + 5\n"
            "while time.monotonic() < end: pass\n"
            "t.join(); print('ok')\n")
    target = subprocess.Popen(shaped([python311(), "-c", code]), stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    r = subprocess.run(shaped([FILSPY, "attach", "--quiet", "--idle", "--threads", "--backend", "bpf",
                               "--duration", "1.5", "--output-dir", tmp_path, "--output", "raw",
                               "--label", "z", str(target.pid)]),
                       capture_output=True, text=True, env=plain_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    stdout, _ = target.communicate(timeout=30)
    assert (target.returncode, stdout) == (0, "ok\n")
    stacks = parse_folded((tmp_path / "z-pyspy.txt").read_text())
    dozed = sum(n for s, n in stacks.items() if s[0].endswith(": dozer"))
    assert 120 <= dozed <= 170, stacks  # 1.5 s at 100 Hz


def as_nobody(cmd):
    """cmd run as uid/gid 65534 (what a service account is), or a skip saying why not."""
    from conftest import require_tool
    setpriv = require_tool("setpriv")
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process of another user")
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.skip(f"{DEBIAN_PYTHON} is not installed")
    wrapped = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + [str(c) for c in cmd]
    probe = subprocess.run(wrapped[:4] + [DEBIAN_PYTHON, "-c", f"open({str(PROGRAMS / 'long_spin.py')!r})"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"uid 65534 cannot read the test programs here: {probe.stderr.strip()}")
    return wrapped


def world_writable_dir():
    import tempfile
    d = tempfile.mkdtemp(prefix="filspy-other-uid-", dir="/tmp")
    os.chmod(d, 0o777)
    return d


def test_root_attaches_to_a_process_of_another_user_and_waits_for_its_files():
    """The agent in the target names its control socket by the target's uid; attach
    (root) must look there, or it stops waiting before the files are written."""
    import shutil
    out = world_writable_dir()
    target = subprocess.Popen(as_nobody([DEBIAN_PYTHON, PROGRAMS / "long_spin.py", "5"]),
                              stdout=subprocess.PIPE, text=True, env=plain_env())
    try:
        time.sleep(1)
        r = subprocess.run([FILSPY, "attach", "--duration", "1.5", "--output-dir", out, "--output",
                            "svg,raw", "--label", "other", str(target.pid)],
                           capture_output=True, text=True, env=plain_env(), timeout=60)
        assert r.returncode == 0, r.stderr
        # attach returns once the agent has written: the files are there, whole
        assert sorted(os.listdir(out)) == ["other-pyspy.svg", "other-pyspy.txt"], r.stderr
        assert os.stat(os.path.join(out, "other-pyspy.txt")).st_uid == 65534
        stacks = parse_folded(open(os.path.join(out, "other-pyspy.txt")).read())
        assert sum(stacks.values()) >= 50, stacks
        # each file the agent wrote is named
        for name in ("other-pyspy.svg", "other-pyspy.txt"):
            assert f"wrote {os.path.join(out, name)}" in r.stderr, r.stderr
        stdout, _ = target.communicate(timeout=30)
        assert (target.returncode, stdout) == (0, "spun\n")
    finally:
        target.kill()
        target.wait()
        shutil.rmtree(out, ignore_errors=True)


def test_root_dumps_and_tops_a_profiled_process_of_another_user():
    import shutil
    from conftest import agent_env
    out = world_writable_dir()
    target = subprocess.Popen(as_nobody([DEBIAN_PYTHON, PROGRAMS / "long_spin.py", "6"]),
                              stdout=subprocess.PIPE, text=True,
                              env=agent_env(out, FIL_PERF_SPY_QUIET=1))
    try:
        sock = f"/tmp/filspy-65534/{target.pid}.sock"
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        assert os.path.exists(sock), f"no control socket at {sock}"
        time.sleep(1)
        dump = subprocess.run([FILSPY, "dump", str(target.pid)], capture_output=True, text=True,
                              timeout=30, env=plain_env())
        assert dump.returncode == 0 and "hot_loop" in dump.stdout, dump.stderr
        top = subprocess.run([FILSPY, "top", str(target.pid), "--iterations", "1"],
                             capture_output=True, text=True, timeout=30, env=plain_env())
        assert top.returncode == 0 and "hot_loop" in top.stdout, top.stderr
    finally:
        target.kill()
        target.wait()
        shutil.rmtree(out, ignore_errors=True)
