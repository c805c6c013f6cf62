"""The wheel of `make wheel` installed into fresh venvs of every interpreter: the
console scripts, activation by the environment alone (filspy-activate.pth), each
backend, a program that never asks for profiling, the not-twice rule with
LD_PRELOAD, children, and Filare 1.6.0 from PyPI profiled by FIL_PERF_SPY_ENABLED=1."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import (AGENT, BPF_SKIP, DEBIAN_PYTHON, ROOT, interpreter_params, parse_folded,
                      plain_env, pyenv_python)

WHEEL_DIR = ROOT / "build" / "wheel"
PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
AUDITWHEEL = ROOT / "build" / "tools" / "auditwheel"
PIP = ["/usr/bin/python3", "-m", "pip", "--disable-pip-version-check"]
VERSION = (ROOT / "VERSION").read_text().strip()
FILARE_DEMO = ROOT.parent / "shared" / "filare" / "demo01.yml"

# 1 s: the pyspy backend's py-spy attaches in 0.1-0.5 s; in 0.3 s of work a
# loaded machine once left its profile empty (CI)
APP = """import sys, time
def work():
    t = time.time()
    while time.time() - t < 1.0:
        pass
work()
print("app done", sys.version_info[:2])
sys.exit(3)
"""

# what a program that never sets the variable must still see: nothing of ours loaded
QUIET_APP = """import os, sys
maps = open("/proc/self/maps").read()
print(sorted(m for m in ("filspy", "filspy._activate", "ctypes") if m in sys.modules),
      "libfilspy" in maps, "FILSPY_ACTIVATION" in os.environ)
sys.exit(5)
"""


def pip_install(python, *specs, base=None):
    """Installs into python's venv with the first pip that can: base's own (pyenv's
    3.8+ have pip >= 23 with --python), Debian's (3.7; its pip 23.0.1 cannot run on
    3.12+), then the venv's own (3.6: pip 18.1). Skips with pip's last line."""
    specs = [str(s) for s in specs]
    tries = [[base, "-m", "pip", "--disable-pip-version-check"]] if base else []
    tries.append(PIP)
    p = None
    for pip in tries:
        p = subprocess.run(pip + ["--python", str(python), "install", "--quiet", *specs],
                           capture_output=True, text=True)
        if p.returncode == 0:
            return
    own = Path(python).parent / "pip"
    if own.exists():
        p = subprocess.run([str(own), "install", "--quiet", "--disable-pip-version-check",
                            *specs], capture_output=True, text=True)
        if p.returncode == 0:
            return
    lines = (p.stderr or p.stdout).strip().splitlines()
    pytest.skip(f"pip cannot install {' '.join(specs)} for {python}: "
                f"{lines[-1] if lines else p.returncode}")


@pytest.fixture(scope="session")
def wheel():
    """`make wheel` once per session: the one wheel it leaves in build/wheel."""
    p = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "wheel"],
                       capture_output=True, text=True)
    print(p.stdout[-2000:])
    if p.returncode != 0 and not (AUDITWHEEL / "auditwheel").exists():
        pytest.skip(f"make wheel failed without auditwheel in {AUDITWHEEL} (make deps): "
                    f"{p.stderr.strip()[-300:]}")
    assert p.returncode == 0, p.stdout + p.stderr
    wheels = sorted(WHEEL_DIR.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


class Venvs:
    """Fresh venvs with the wheel (and extras), one per interpreter and extras."""

    def __init__(self, wheel, root):
        self.wheel, self.root, self.made = wheel, root, {}

    def get(self, base, extra="", with_pip=False, purpose=""):
        """purpose: a venv of its own, for a test that installs more into it."""
        key = (base, extra, purpose)
        if key not in self.made:
            try:
                self.made[key] = self._make(base, extra, with_pip)
            except pytest.skip.Exception as e:
                self.made[key] = e
        if isinstance(self.made[key], pytest.skip.Exception):
            pytest.skip(str(self.made[key]))
        return self.made[key]

    def _make(self, base, extra, with_pip):
        if not base or not os.path.exists(base):
            pytest.skip(f"{base} is not installed")
        path = self.root / f"{Path(base).name}-{len(self.made)}"
        cmd = [base, "-m", "venv"] + ([] if with_pip else ["--without-pip"]) + [str(path)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"{base} cannot make a venv: {p.stderr.strip()[-200:]}")
        pip_install(path / "bin" / "python", f"{self.wheel}{extra}", base=base)
        return path


@pytest.fixture(scope="session")
def venvs(wheel):
    """Removed at the session's end: with Filare's dependencies they weigh ~100 MB."""
    import tempfile
    root = tempfile.mkdtemp(prefix="filspy-wheel-venvs-")
    yield Venvs(wheel, Path(root))
    shutil.rmtree(root, ignore_errors=True)


def wheel_python(venvs, base):
    # 3.6's venv gets its own pip (18.1), since Debian's pip 23 cannot run on 3.6
    return venvs.get(base, with_pip=base and "3.6" in Path(base).name) / "bin" / "python"


def env_of(**settings):
    env = plain_env()
    env.pop("PYTHONHASHSEED", None)
    # the venv's scripts are not on PATH, as for `venv/bin/python app.py`
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env.update({k: str(v) for k, v in settings.items()})
    return env


def run(cmd, cwd, timeout=60, **settings):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env_of(**settings),
                          capture_output=True, text=True, timeout=timeout)


def profiling_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("filspy: profiling")]


INTERPRETERS = interpreter_params(range(6, 14))


def test_wheel_is_one_manylinux_wheel_auditwheel_accepts(wheel):
    assert wheel.name == f"filspy-{VERSION}-py3-none-manylinux_2_34_x86_64.whl"
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("filspy/_lib/libfilspy.so", "filspy/_lib/libfilspy-bpf.so",
              "filspy/_lib/libfilspy-native.so", "filspy/_lib/filspy",
              "filspy-activate.pth", "filspy/__init__.py", "filspy/__main__.py"):
        assert f in names
    vendored = [n for n in names if n.startswith("filspy.libs/")]
    assert any("libbpf" in n for n in vendored) and any("libelf" in n for n in vendored), vendored
    assert any("libdw" in n for n in vendored), vendored
    entry = zipfile.ZipFile(wheel).read(f"filspy-{VERSION}.dist-info/entry_points.txt").decode()
    assert "filspy = filspy._cli:main" in entry and "perf-pyspy = filspy._cli:perf_pyspy" in entry
    show = subprocess.run(["/usr/bin/python3", "-m", "auditwheel", "show", str(wheel)],
                          env=dict(os.environ, PYTHONPATH=str(AUDITWHEEL)),
                          capture_output=True, text=True)
    verdict = " ".join(show.stdout.split())
    print(verdict[:200])
    assert show.returncode == 0 and 'consistent with the following platform tag: ' \
        '"manylinux_2_34_x86_64"' in verdict, show.stdout + show.stderr


@pytest.mark.parametrize("base", INTERPRETERS)
def test_pth_activation_writes_the_flamegraph(base, venvs, tmp_path):
    python = wheel_python(venvs, base)
    (tmp_path / "app.py").write_text(APP)
    plain = run([python, "app.py"], tmp_path)
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_RUN_LABEL="app",
            FIL_PERF_SPY_OUTPUT="svg,raw")
    assert (r.returncode, r.stdout) == (plain.returncode, plain.stdout) == (3, plain.stdout)
    assert len(profiling_lines(r.stderr)) == 1, r.stderr
    out = tmp_path / "outputs" / "perf"
    assert (out / "app-pyspy.svg").read_text().startswith("<?xml"), r.stderr
    assert "work (app.py:" in (out / "app-pyspy.txt").read_text(), r.stderr


@pytest.mark.parametrize("base", INTERPRETERS)
def test_no_variable_no_change(base, venvs, tmp_path):
    """Nothing loaded, printed or written: the same stdout, stderr and status as the
    same interpreter without the wheel; so for a false switch and Filare's other
    FIL_PERF_ settings."""
    python = wheel_python(venvs, base)
    (tmp_path / "app.py").write_text(QUIET_APP)
    bare = run([base, "app.py"], tmp_path)
    assert bare.returncode == 5, bare.stderr
    for settings in ({}, {"FIL_PERF_SPY_ENABLED": "0"}, {"fil_perf_enable_pyspy": "off"},
                     {"FIL_PERF_RUN_LABEL": "x", "FIL_PERF_OUTPUT_DIR": "perf"}):
        r = run([python, "app.py"], tmp_path, **settings)
        assert (r.returncode, r.stdout, r.stderr) == (5, bare.stdout, bare.stderr), settings
        assert r.stdout.startswith("[] False False"), r.stdout
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "perf").exists()


@pytest.mark.parametrize("base", INTERPRETERS)
def test_console_script_run(base, venvs, tmp_path):
    venv = wheel_python(venvs, base).parent
    (tmp_path / "app.py").write_text(APP)
    r = run([venv / "filspy", "run", "--output", "raw", "--", venv / "python", "app.py"],
            tmp_path, FIL_PERF_RUN_LABEL="cli")
    assert r.returncode == 3 and "app done" in r.stdout, r.stderr
    assert len(profiling_lines(r.stderr)) == 1, r.stderr
    assert "work (app.py:" in (tmp_path / "outputs" / "perf" / "cli-pyspy.txt").read_text()


def backend_params():
    skip = [pytest.mark.skip(reason=BPF_SKIP)] if BPF_SKIP else []
    return [pytest.param("self", id="self"), pytest.param("bpf", id="bpf", marks=skip)]


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("base", INTERPRETERS)
def test_pth_activation_each_backend(base, backend, venvs, tmp_path):
    """bpf loads the wheel's libfilspy-bpf.so with its vendored libbpf and libelf."""
    python = wheel_python(venvs, base)
    (tmp_path / "app.py").write_text(APP)
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_RUN_LABEL="b",
            FIL_PERF_SPY_BACKEND=backend, FIL_PERF_SPY_OUTPUT="raw")
    assert r.returncode == 3, r.stderr
    assert f"with the {backend} backend" in r.stderr, r.stderr
    assert "work (app.py:" in (tmp_path / "outputs" / "perf" / "b-pyspy.txt").read_text()


def need_pyspy_runs():
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY} (make deps installs it)")
    p = subprocess.run([str(PYSPY), "dump", "--pid", str(os.getpid())], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        pytest.skip(f"py-spy cannot read a process here: {p.stderr.strip()[-200:]}")


@pytest.mark.parametrize("how", ["extra", "setting"])
def test_pyspy_backend_from_the_wheel(how, venvs, tmp_path):
    """filspy[pyspy] puts py-spy in the venv's bin/, which is not on PATH: the agent
    finds it there from its own folder; or FIL_PERF_SPY_PYSPY names one."""
    need_pyspy_runs()
    base = pyenv_python(12) or pyenv_python(11) or DEBIAN_PYTHON
    venv = venvs.get(base, extra="[pyspy]" if how == "extra" else "")
    settings = {} if how == "extra" else {"FIL_PERF_SPY_PYSPY": PYSPY}
    if how == "extra":
        assert (venv / "bin" / "py-spy").exists()
    (tmp_path / "app.py").write_text(APP)
    r = run([venv / "bin" / "python", "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1,
            FIL_PERF_RUN_LABEL="p", FIL_PERF_SPY_BACKEND="pyspy", FIL_PERF_SPY_OUTPUT="raw",
            **settings)
    assert r.returncode == 3, r.stderr
    assert "with the pyspy backend" in r.stderr, r.stderr
    assert "work (app.py" in (tmp_path / "outputs" / "perf" / "p-pyspy.txt").read_text()


@pytest.mark.parametrize("preload", ["wheel", "build"])
def test_preloaded_agent_is_not_doubled_by_the_pth(preload, venvs, tmp_path):
    """LD_PRELOAD of the wheel's own agent or of another copy, and `filspy run` with
    the variable already set: one session, one line, one set of files."""
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    lib = run([python, "-c", "import filspy; print(filspy.preload_path())"], tmp_path).stdout
    agent = lib.strip() if preload == "wheel" else AGENT
    (tmp_path / "app.py").write_text(APP)
    r = run([python, "app.py"], tmp_path, LD_PRELOAD=agent, FIL_PERF_SPY_ENABLED=1,
            FIL_PERF_RUN_LABEL="t", FIL_PERF_SPY_OUTPUT="svg,raw")
    assert r.returncode == 3 and len(profiling_lines(r.stderr)) == 1, r.stderr
    assert len([l for l in r.stderr.splitlines() if "filspy: wrote" in l]) == 2, r.stderr
    assert sorted(p.name for p in (tmp_path / "outputs" / "perf").iterdir()) == [
        "t-pyspy.svg", "t-pyspy.txt"]
    r = run([python.parent / "filspy", "run", "--", python, "app.py"], tmp_path,
            FIL_PERF_SPY_ENABLED=1, FIL_PERF_RUN_LABEL="u")
    assert r.returncode == 3 and len(profiling_lines(r.stderr)) == 1, r.stderr


CHILDREN = """import os, subprocess, sys, time
t = time.time()
while time.time() - t < 0.2:
    pass
subprocess.run([sys.executable, "-c", "pass"], check=True)
subprocess.run([sys.executable, "-c", "pass"], env=dict(os.environ), check=True)
subprocess.run(["sh", "-c", "exec " + sys.executable + " -c pass"], check=True)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print("parent done")
"""


@pytest.mark.parametrize("subprocesses", ["0", "1"])
def test_children_as_with_ld_preload(subprocesses, venvs, tmp_path):
    """Each Python child runs its own .pth: the same files as under LD_PRELOAD,
    LABEL for the first process, LABEL-PID for the others; a forked child that
    leaves by os._exit writes its profile when FIL_PERF_SPY_SUBPROCESSES is on."""
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    (tmp_path / "kids.py").write_text(CHILDREN)
    shapes = {}
    for how in ("pth", "preload"):
        cwd = tmp_path / how
        cwd.mkdir()
        extra = {"LD_PRELOAD": AGENT} if how == "preload" else {}
        r = run([python, tmp_path / "kids.py"], cwd, FIL_PERF_SPY_ENABLED=1,
                FIL_PERF_RUN_LABEL="k", FIL_PERF_SPY_SUBPROCESSES=subprocesses, **extra)
        assert r.returncode == 0 and r.stdout == "parent done\n", r.stderr
        files = sorted(p.name for p in (cwd / "outputs" / "perf").iterdir())
        shapes[how] = sorted("k-pyspy.svg" if f == "k-pyspy.svg" else "k-PID-pyspy.svg"
                             for f in files)
        print(how, files)
    assert shapes["pth"] == shapes["preload"]
    assert shapes["pth"].count("k-pyspy.svg") == 1
    assert len(shapes["pth"]) == 4 + (subprocesses == "1")


def test_python_surface(venvs, tmp_path):
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    r = run([python, "-X", "importtime", "-c",
             "import filspy, sys; print(filspy.__version__, filspy.preload_path(), "
             "sorted(m for m in ('ctypes', 'subprocess', 'sysconfig') if m in sys.modules))"],
            tmp_path)
    version, path, heavy = r.stdout.split(" ", 2)
    assert version == VERSION and heavy.strip() == "[]", r.stdout
    assert Path(path).name == "libfilspy.so" and Path(path).exists()
    printed = run([python.parent / "filspy", "--print-preload"], tmp_path)
    assert printed.returncode == 0 and printed.stdout.strip() == path
    for cmd in ([python.parent / "filspy", "--version"], [python, "-m", "filspy", "--version"]):
        r = run(cmd, tmp_path)
        assert (r.returncode, r.stdout) == (0, f"filspy {VERSION}\n"), r.stderr
    (tmp_path / "app.py").write_text(APP)
    r = run([python.parent / "perf-pyspy", "--output", "raw", "--", python, "app.py"],
            tmp_path, FIL_PERF_RUN_LABEL="pp")
    assert r.returncode == 3 and (tmp_path / "outputs" / "perf" / "pp-pyspy.txt").exists()


def test_console_script_doctor_and_report(venvs, tmp_path):
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    filspy = python.parent / "filspy"
    r = run([filspy, "doctor", "--json"], tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    print({name: c["status"] for name, c in checks.items()})
    # the wheel's command finds the wheel's agent and bpf library (vendored libbpf)
    if not BPF_SKIP:
        assert checks["bpf program"]["status"] == "ok", checks["bpf program"]
    # and looks for the filspy[pyspy] extra's py-spy in the venv's bin/
    if checks["py-spy"]["status"] != "ok":
        assert str(python.parent / "py-spy") in checks["py-spy"]["detail"], checks["py-spy"]
    (tmp_path / "app.py").write_text(APP)
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_RUN_LABEL="r",
            FIL_PERF_SPY_OUTPUT="raw")
    raw = tmp_path / "outputs" / "perf" / "r-pyspy.txt"
    assert raw.exists(), r.stderr
    r = run([filspy, "report", raw, "-f", "svg", "-o", tmp_path / "r.svg"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "work" in (tmp_path / "r.svg").read_text()


def filare_python():
    for base in (pyenv_python(11), DEBIAN_PYTHON, pyenv_python(12)):
        if base and os.path.exists(base):
            return base
    pytest.skip("no CPython 3.11/3.12 for Filare 1.6.0")


def test_filare_profiled_by_the_variable_alone(venvs, tmp_path):
    """pip install filare==1.6.0 (and faker, which it imports undeclared) beside the
    wheel: FIL_PERF_SPY_ENABLED=1 filare run demo01.yml -f hs -o out writes the
    flamegraph, and Filare's own outputs and stdout are the bytes they are without."""
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed (Filare runs it)")
    venv = venvs.get(filare_python(), purpose="filare")
    if not (venv / "bin" / "filare").exists():
        pip_install(venv / "bin" / "python", "filare==1.6.0", "faker", base=filare_python())
    demo = FILARE_DEMO
    if not demo.exists():
        demo = tmp_path / "demo01.yml"
        subprocess.run([sys.executable, ROOT / "bench" / "gen_harness.py", "3", demo], check=True)
    results = {}
    for how, settings in (("plain", {}), ("profiled", {"FIL_PERF_SPY_ENABLED": "1"})):
        cwd = tmp_path / how
        (cwd / "out").mkdir(parents=True)
        shutil.copy(demo, cwd / "demo01.yml")
        # Filare iterates sets: one hash seed for both runs
        r = run([venv / "bin" / "filare", "run", "demo01.yml", "-f", "hs", "-o", "out"], cwd,
                timeout=120, PYTHONHASHSEED=0, **settings)
        assert r.returncode == 0, r.stderr
        files = {p.name: p.read_bytes() for p in sorted((cwd / "out").iterdir())}
        assert "demo01.html" in files and "demo01.svg" in files, sorted(files)
        results[how] = (r.stdout, files)
        if how == "profiled":
            svgs = list((cwd / "outputs" / "perf").glob("filare-*-pyspy.svg"))
            assert len(svgs) == 1 and len(profiling_lines(r.stderr)) == 1, r.stderr
            assert "filare" in svgs[0].read_text()
        else:
            assert r.stderr == "" and not (cwd / "outputs").exists(), r.stderr
    assert results["plain"] == results["profiled"]


def test_filare_native_shows_pydantic_core_under_filare_s_models(venvs, tmp_path):
    """FIL_PERF_SPY_NATIVE=1 filare run: pydantic-core's frames (Rust) under the
    Python frames of Filare's models, which validate through it. PyPI's
    pydantic-core exports no symbol but PyInit__pydantic_core and has no .symtab, so
    its Rust functions show as `0xOFFSET (_pydantic_core...so)` (demangled Rust
    names need a build that keeps its symbols); the frames it calls back into
    (the interpreter's, libc's) are named."""
    if BPF_SKIP:
        pytest.skip(BPF_SKIP)
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed (Filare runs it)")
    venv = venvs.get(filare_python(), purpose="filare")
    if not (venv / "bin" / "filare").exists():
        pip_install(venv / "bin" / "python", "filare==1.6.0", "faker", base=filare_python())
    # a 40-connector harness: enough model validation for a few dozen samples
    subprocess.run([sys.executable, ROOT / "bench" / "gen_harness.py", "40",
                    tmp_path / "demo01.yml"], check=True, capture_output=True)
    (tmp_path / "out").mkdir()
    r = run([venv / "bin" / "filare", "run", "demo01.yml", "-f", "hs", "-o", "out"], tmp_path,
            timeout=120, FIL_PERF_SPY_ENABLED=1, FIL_PERF_SPY_NATIVE=1, FIL_PERF_SPY_BACKEND="bpf",
            FIL_PERF_SPY_RATE=1000, FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_RUN_LABEL="f")
    assert r.returncode == 0, r.stderr
    assert "native frames are left out" not in r.stderr, r.stderr
    stacks = parse_folded((tmp_path / "outputs" / "perf" / "f-pyspy.txt").read_text())
    under_models = 0
    for stack, n in stacks.items():
        at = next((i for i, fr in enumerate(stack) if "(_pydantic_core." in fr), None)
        if at is not None and any("filare/" in fr and ".py:" in fr for fr in stack[:at]):
            under_models += n
    print(f"{under_models} samples in pydantic-core under Filare's code")
    assert under_models >= 5, r.stderr


ROUTES = [("return", 0), ("exit", 3), ("raise", 1), ("_exit", 4),
          ("SIGTERM", -15), ("SIGINT", -2), ("SIGHUP", -1), ("SIGQUIT", -3)]


@pytest.mark.parametrize("route,status", ROUTES, ids=[r for r, _ in ROUTES])
def test_pth_every_exit_route_writes(route, status, venvs, tmp_path):
    """As under LD_PRELOAD (test_foundation.py): the status is the program's own and
    the profile is written, os._exit and death by signal included, though a
    dlopened agent interposes nothing (the .pth routes os._exit to the agent's)."""
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    cmd = [python, Path(__file__).parent / "programs" / "exits.py", route]
    base = run(cmd, tmp_path)
    r = run(cmd, tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_RUN_LABEL="e",
            FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_SPY_BACKEND="self")
    assert (base.returncode, r.returncode, r.stdout) == (status, status, base.stdout), r.stderr
    raw = (tmp_path / "outputs" / "perf" / "e-pyspy.txt").read_text()
    assert "spin (exits.py:" in raw


def test_pth_bad_value_is_one_line_as_with_ld_preload(venvs, tmp_path):
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    (tmp_path / "app.py").write_text(APP)
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED="maybe")
    pre = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED="maybe", LD_PRELOAD=AGENT)
    assert r.returncode == pre.returncode == 3 and r.stdout == pre.stdout
    assert r.stderr == pre.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("filspy: FIL_PERF_SPY_ENABLED='maybe' is not a boolean"), r.stderr
    assert not (tmp_path / "outputs").exists()


def test_pth_without_its_agent_says_one_line_and_runs(wheel, tmp_path):
    """A broken install (the agent deleted) never stops the program."""
    base = pyenv_python(11) or DEBIAN_PYTHON
    venv = tmp_path / "broken"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip_install(venv / "bin" / "python", wheel, base=base)
    for lib in venv.glob("lib/python*/site-packages/filspy/_lib/libfilspy.so"):
        lib.unlink()
    (tmp_path / "app.py").write_text(APP)
    r = run([venv / "bin" / "python", "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1)
    assert r.returncode == 3 and "app done" in r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("filspy: not profiling: "), r.stderr


def test_pth_honours_process_globs(venvs, tmp_path):
    """FIL_PERF_SPY_PROCESS applies as under LD_PRELOAD: another program's name,
    nothing at all; this one's, profiled."""
    python = wheel_python(venvs, pyenv_python(11) or DEBIAN_PYTHON)
    (tmp_path / "app.py").write_text(APP)
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_SPY_PROCESS="filare")
    assert (r.returncode, r.stderr) == (3, "") and not (tmp_path / "outputs").exists()
    r = run([python, "app.py"], tmp_path, FIL_PERF_SPY_ENABLED=1, FIL_PERF_SPY_PROCESS="ap*")
    assert r.returncode == 3 and len(profiling_lines(r.stderr)) == 1, r.stderr
