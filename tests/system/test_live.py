"""A running profiled process answers `filspy dump` and `filspy top` through its
control socket (0600, in a 0700 directory, peer uid checked), without ptrace."""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import FILSPY, PROGRAMS, agent_env, plain_env, pyenv_python, require_tool


@pytest.fixture
def running(tmp_path):
    python = pyenv_python(11) or "/usr/bin/python3.11"
    procs = []

    def start(**settings):
        p = subprocess.Popen([python, PROGRAMS / "long_spin.py", "6"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=agent_env(tmp_path / "out", FIL_PERF_SPY_QUIET=1, **settings))
        procs.append(p)
        sock = f"/tmp/filspy-{os.geteuid()}/{p.pid}.sock"
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let it sample a while
        return p, sock
    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_dump_shows_the_current_stack(running):
    p, sock = running()
    r = subprocess.run([FILSPY, "dump", str(p.pid)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # py-spy's words: active (+gil for the holder) or idle, and the Python name
    assert re.search(rf'Thread {p.pid} \(active(\+gil)?\): "MainThread"', r.stdout), r.stdout
    assert "hot_loop (long_spin.py:" in r.stdout and "<module> (long_spin.py:" in r.stdout
    mode = os.stat(sock).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700


def test_top_prints_a_plain_table_when_not_a_terminal(running):
    p, _ = running()
    r = subprocess.run([FILSPY, "top", str(p.pid), "--iterations", "2"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "hot_loop (long_spin.py)" in line]
    assert len(rows) == 2
    own = float(rows[-1].split()[0])
    assert own > 80, r.stdout


def test_top_mode_writes_no_files_and_serves_top(running, tmp_path):
    p, sock = running(FIL_PERF_SPY_MODE="top")
    r = subprocess.run([FILSPY, "top", str(p.pid), "--iterations", "1"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "hot_loop" in r.stdout, r.stderr
    p.terminate()
    p.wait()
    assert not (tmp_path / "out").exists()
    assert not os.path.exists(sock), "the socket is removed at the end"


@pytest.mark.parametrize("backend", ["self", "bpf"])
def test_a_command_that_comes_in_pieces_is_answered_whole(running, backend):
    """The agent reads up to the newline: a client whose command arrives in two
    pieces gets its answer (the agent once answered the first piece and closed
    the socket under the second: `filspy top` saw EPIPE and fell back to py-spy,
    5 runs in 8 once the bpf backend served requests the moment they came)."""
    import socket
    from conftest import BPF_SKIP
    if backend == "bpf" and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    p, sock = running(FIL_PERF_SPY_BACKEND=backend)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sock)
        s.sendall(b"in")
        time.sleep(0.05)  # the agent has accepted and read the first piece by now
        s.sendall(b"fo\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert re.search(rb"^samples \d+$", data, re.M), data
    assert f"backend {backend}".encode() in data, data


def test_another_user_cannot_ask(running):
    setpriv = require_tool("setpriv")
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    p, _ = running()
    r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", FILSPY, "top",
                        str(p.pid), "--iterations", "1"], capture_output=True, text=True,
                       timeout=30, env=plain_env())
    assert r.returncode != 0 and "filspy:" in r.stderr and "hot_loop" not in r.stdout


def test_dump_of_a_process_without_agent_names_the_way_out():
    # a Python process without the agent (one that is not Python at all gets its own
    # line: tests/system/test_cli.py)
    python = pyenv_python(11) or "/usr/bin/python3.11"
    p = subprocess.Popen([python, "-c", "import time; time.sleep(5)"])
    try:
        env = dict(plain_env(), FIL_PERF_SPY_PYSPY="/nonexistent/py-spy")
        r = subprocess.run([FILSPY, "dump", str(p.pid)], capture_output=True, text=True, env=env)
        assert r.returncode == 1 and "runs no filspy agent" in r.stderr and "py-spy" in r.stderr
    finally:
        p.kill()
        p.wait()


def test_top_in_tmux_shows_function_rows_and_quits_on_q(running):
    tmux = require_tool("tmux")
    p, _ = running()
    session = f"filspy-top-{p.pid}"
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    f"{FILSPY} top {p.pid}"], check=True)
    try:
        screen = ""
        for _ in range(40):
            time.sleep(0.1)
            screen = subprocess.run([tmux, "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if "hot_loop (long_spin.py)" in screen:
                break
        assert "%Own" in screen and "hot_loop (long_spin.py)" in screen, screen
        subprocess.run([tmux, "send-keys", "-t", session, "q"], check=True)
        for _ in range(30):
            time.sleep(0.1)
            alive = subprocess.run([tmux, "has-session", "-t", session],
                                   capture_output=True).returncode == 0
            if not alive:
                break
        assert not alive, "q quits filspy top"
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)


@pytest.mark.parametrize("backend", ["self", "bpf"])
def test_top_header_gives_gil_active_and_threads_like_py_spy(backend, tmp_path):
    """py-spy top's header line: GIL: x%, Active: y%, Threads: N (filspy: the
    interval's share of samples whose thread held the GIL and ran on a CPU)."""
    from conftest import BPF_SKIP
    if backend == "bpf" and BPF_SKIP:
        pytest.skip(BPF_SKIP)
    python = pyenv_python(11) or "/usr/bin/python3.11"
    p = subprocess.Popen([python, PROGRAMS / "gil_threads.py", "6"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=agent_env(tmp_path / "out", FIL_PERF_SPY_QUIET=1,
                                       FIL_PERF_SPY_MODE="top", FIL_PERF_SPY_BACKEND=backend))
    try:
        time.sleep(1.0)
        r = subprocess.run([FILSPY, "top", str(p.pid), "--iterations", "2", "--delay", "0.5"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        heads = re.findall(r"^GIL: ([\d.]+)%, Active: ([\d.]+)%, Threads: (\d+)$", r.stdout, re.M)
        assert len(heads) == 2, r.stdout
        gil, active, threads = heads[-1]
        assert 0 < float(gil) <= 100 and 0 < float(active) <= 100, r.stdout
        assert int(threads) >= 2, r.stdout
    finally:
        p.kill()
        p.wait()
