"""`filspy doctor` tries what the host allows and explains what is refused."""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, FILSPY, OFF_CPU_SKIP, ROOT, plain_env, require_tool, shaped, tracefs_params

NO_PTRACE = BUILD / "tests" / "no_ptrace"
PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
NAMES = {"kernel", "kernel BTF", "BPF permission", "perf events", "ptrace of a child",
         "ptrace by a child", "Yama ptrace_scope", "capabilities", "seccomp", "process_vm_readv",
         "py-spy", "bpf program", "bpf off-CPU"}
CAP_BPF, CAP_SYS_ADMIN, CAP_SYS_PTRACE = 39, 21, 19


def own_caps():
    """This test process's effective capabilities, as a bit mask."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def doctor(*prefix, env=None):
    """Runs `filspy doctor --json` (after prefix); its checks by name, and the report."""
    r = subprocess.run(shaped([*prefix, FILSPY, "doctor", "--json"]), capture_output=True, text=True,
                       env=env or plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    return {c["name"]: c for c in report["checks"]}, report


def test_table_for_people():
    r = subprocess.run([FILSPY, "doctor"], capture_output=True, text=True, env=plain_env(),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = next(line for line in lines if line.split()[:3] == ["CHECK", "STATUS", "DETAIL"])
    status_at = header.index("STATUS")
    rows = [line for line in lines if line.split() and line.split()[0] in ("kernel", "seccomp")]
    assert rows and all(line[status_at:].split()[0] in ("ok", "no", "unknown") for line in rows)
    assert "CPython interpreters:" in r.stdout and "auto backend here:" in r.stdout


def test_json_has_every_check_and_the_interpreters():
    checks, report = doctor()
    assert NAMES <= set(checks)
    for c in checks.values():
        assert c["status"] in ("ok", "no", "unknown") and c["detail"]
        assert bool(c["fix"]) or c["status"] != "no", c
    assert any(p["version"].startswith("3.") for p in report["interpreters"])
    assert all(p["supported"] for p in report["interpreters"])
    assert report["auto_backend"] in ("bpf", "pyspy", "self", "none") and report["auto_why"]
    if os.path.exists("/usr/bin/python3.11"):
        debian = [p for p in report["interpreters"] if p["path"] == "/usr/bin/python3.11"]
        assert debian and debian[0]["shared"] is False and debian[0]["supported"] == "yes"


@pytest.mark.parametrize("tracefs", tracefs_params())
def test_as_root_bpf_and_ptrace_are_allowed(tracefs):
    if os.getuid() != 0:
        pytest.skip("not root")
    caps = own_caps()
    checks, report = doctor()
    assert checks["ptrace of a child"]["status"] == "ok"
    assert checks["ptrace by a child"]["status"] == "ok"
    assert checks["process_vm_readv"]["status"] == "ok"
    if not caps >> CAP_BPF & 1 and not caps >> CAP_SYS_ADMIN & 1:
        pytest.skip("root here lacks CAP_BPF and CAP_SYS_ADMIN")
    assert checks["BPF permission"]["status"] == "ok"
    assert "CAP_BPF" in report["capabilities"]
    assert checks["bpf program"]["status"] == "ok", checks["bpf program"]
    if OFF_CPU_SKIP:
        print(f"bpf off-CPU not checked: {OFF_CPU_SKIP}")
    else:
        assert checks["bpf off-CPU"]["status"] == "ok", checks["bpf off-CPU"]
    assert report["auto_backend"] == "bpf"


def test_pyspy_found_through_the_setting():
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")
    env = dict(plain_env(), FIL_PERF_SPY_PYSPY=str(PYSPY))
    checks, report = doctor(env=env)
    assert checks["py-spy"]["status"] == "ok" and "py-spy 0." in checks["py-spy"]["detail"]
    if checks["bpf program"]["status"] == "ok":
        assert report["auto_backend"] == "bpf"
    elif checks["ptrace by a child"]["status"] == "ok":
        assert report["auto_backend"] == "pyspy"


def test_pyspy_missing_names_the_fix():
    env = dict(plain_env(), FIL_PERF_SPY_PYSPY="/nonexistent/py-spy")
    checks, report = doctor(env=env)
    assert checks["py-spy"]["status"] == "no"
    assert "pip install py-spy" in checks["py-spy"]["fix"]
    assert report["auto_backend"] != "pyspy"


def leftovers(marker):
    """Pids whose command line holds marker."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_hanging_pyspy_is_killed_with_what_it_started(tmp_path):
    marker = b"3171%d" % os.getpid()
    hang = tmp_path / "py-spy"
    hang.write_text(f"#!/bin/sh\nsleep {marker.decode()} &\nsleep {marker.decode()}\n")
    hang.chmod(0o755)
    start = time.monotonic()
    checks, _ = doctor(env=dict(plain_env(), FIL_PERF_SPY_PYSPY=str(hang)))
    took = time.monotonic() - start
    left = leftovers(b"sleep\0" + marker)
    for pid in left:
        os.kill(pid, 9)
    assert not left, "doctor left the hanging py-spy's processes behind"
    assert checks["py-spy"]["status"] == "no" and "did not answer" in checks["py-spy"]["detail"]
    assert took < 60


def test_without_capabilities_bpf_is_refused_and_explained():
    capsh = require_tool("capsh")
    if os.getuid() != 0:
        pytest.skip("dropping capabilities needs root to have them")
    r = subprocess.run([capsh, "--drop=cap_bpf,cap_perfmon,cap_sys_admin,cap_sys_ptrace", "--",
                        "-c", f"{FILSPY} doctor --json"], capture_output=True, text=True,
                       env=plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["BPF permission"]["status"] == "no"
    assert "CAP_BPF" in checks["BPF permission"]["detail"]
    assert "BPF" in checks["BPF permission"]["fix"]
    assert checks["bpf program"]["status"] == "no"
    assert "not permitted" in checks["bpf program"]["detail"]
    assert report["capabilities"] == []
    assert report["auto_backend"] != "bpf"


def test_as_an_unprivileged_user_it_runs():
    setpriv = require_tool("setpriv")
    if os.getuid() != 0:
        pytest.skip("changing user needs root")
    r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                        FILSPY, "doctor", "--json"], capture_output=True, text=True,
                       env=plain_env(), timeout=120)
    if r.returncode == 126 or "Permission denied" in r.stderr:
        pytest.skip(f"uid 65534 cannot run {FILSPY}")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert NAMES <= set(checks)
    assert report["capabilities"] == []
    assert checks["BPF permission"]["status"] != "ok"


def test_with_ptrace_refused_the_fix_is_named():
    if not NO_PTRACE.exists():
        pytest.skip("build/tests/no_ptrace not built (make system-test builds it)")
    checks, report = doctor(NO_PTRACE)
    for name in ("ptrace of a child", "ptrace by a child"):
        assert checks[name]["status"] == "no"
        assert "Operation not permitted" in checks[name]["detail"]
        assert "SYS_PTRACE" in checks[name]["fix"] and "seccomp" in checks[name]["fix"]
    assert "filter" in checks["seccomp"]["detail"] and checks["seccomp"]["status"] != "ok"
    assert checks["process_vm_readv"]["status"] == "ok"
    assert report["auto_backend"] in ("self", "bpf")


def test_unknown_option():
    r = subprocess.run([FILSPY, "doctor", "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("filspy: doctor: unknown option --bogus")
    assert r.stderr.count("\n") == 1
