"""`filspy doctor` tries what the host allows and explains what is refused."""
import json
import os
import subprocess

import pytest

from conftest import BUILD, FILSPY, ROOT, plain_env, require_tool

NO_PTRACE = BUILD / "tests" / "no_ptrace"
PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
NAMES = {"kernel", "kernel BTF", "BPF permission", "perf events", "Yama ptrace_scope",
         "ptrace by a child", "capabilities", "seccomp", "process_vm_readv", "py-spy"}


def doctor(*prefix, env=None):
    r = subprocess.run([*prefix, FILSPY, "doctor", "--json"], capture_output=True, text=True,
                       env=env or plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    return {c["name"]: c for c in report["checks"]}, report


def test_table_for_people():
    r = subprocess.run([FILSPY, "doctor"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "auto backend here:" in r.stdout and "CPython interpreters:" in r.stdout


def test_json_has_every_check_and_the_interpreters():
    checks, report = doctor()
    assert NAMES <= set(checks)
    assert report["interpreters"] and all(p["version"].startswith("3.") for p in report["interpreters"])
    assert report["auto_backend"] in ("bpf", "pyspy", "self")
    if os.path.exists("/usr/bin/python3.11"):
        debian = [p for p in report["interpreters"] if p["path"] == "/usr/bin/python3.11"]
        assert debian and debian[0]["shared"] is False
    if os.getuid() == 0:
        assert checks["BPF permission"]["status"] == "ok"
        assert checks["ptrace by a child"]["status"] == "ok"


def test_pyspy_found_through_the_setting():
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")
    env = dict(plain_env(), FIL_PERF_SPY_PYSPY=str(PYSPY))
    checks, report = doctor(env=env)
    assert checks["py-spy"]["status"] == "ok" and "py-spy 0." in checks["py-spy"]["detail"]
    assert report["auto_backend"] == "pyspy"


def test_without_bpf_capabilities_bpf_is_refused_and_explained():
    capsh = require_tool("capsh")
    if os.getuid() != 0:
        pytest.skip("dropping capabilities needs root to have them")
    r = subprocess.run([capsh, "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--",
                        "-c", f"{FILSPY} doctor --json"], capture_output=True, text=True,
                       env=plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["BPF permission"]["status"] == "no"
    assert "CAP_BPF" in checks["BPF permission"]["detail"]
    assert "CAP_BPF" in checks["BPF permission"]["fix"]
    assert "CAP_BPF" not in checks["capabilities"]["detail"]


def test_with_ptrace_refused_the_fix_is_named():
    if not NO_PTRACE.exists():
        pytest.skip("build/tests/no_ptrace not built (make system-test builds it)")
    checks, report = doctor(NO_PTRACE)
    assert checks["ptrace by a child"]["status"] == "no"
    assert "Operation not permitted" in checks["ptrace by a child"]["detail"]
    fix = checks["ptrace by a child"]["fix"]
    assert "SYS_PTRACE" in fix and "seccomp" in fix
    assert "filter" in checks["seccomp"]["detail"]
    assert report["auto_backend"] == "self"


def test_unknown_option():
    r = subprocess.run([FILSPY, "doctor", "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("filspy: doctor: unknown option --bogus")
    assert r.stderr.count("\n") == 1
