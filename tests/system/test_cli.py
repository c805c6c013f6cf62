"""The filspy command as a py-spy user types it (issue #17): `record -o FILE`, the
short options and flags py-spy has, --help on every command, did-you-mean for
misspellings, option values checked before anything runs, generated shell
completions; and the small things a new user tripped on."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (FILSPY, PROGRAMS, ROOT, agent_env, interpreter_params, parse_folded, plain_env,
                      python311)

PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"
SPIN = PROGRAMS / "long_spin.py"
# spins until its stdin closes, then prints "spun": a target that ends when told
UNTIL_STDIN_CLOSES = (
    "import sys, threading\n"
    "done = threading.Event()\n"
    "threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()\n"
    "def hot_loop():\n"
    "    x = 0\n"
    "    while not done.is_set():\n"
    "        x += 1\n"
    "hot_loop()\n"
    "print('spun')\n")


def filspy(*args, env=None, cwd=None, timeout=60):
    return subprocess.run([str(FILSPY), *map(str, args)], capture_output=True, text=True,
                          env=env if env is not None else plain_env(), cwd=cwd, timeout=timeout)


def commands():
    return filspy("completions", "names").stdout.split()


def one_error_line(r):
    assert r.stderr.startswith("filspy: ") and r.stderr.count("\n") == 1, r.stderr


def kind_of(path, pyspy=False):
    """The file's format; pyspy: py-spy's own, whose raw output may hold " N", a
    sample of a thread caught without a frame (at exit), which filspy never writes."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    text = data.decode()
    if text.lstrip().startswith("<?xml") or "<svg" in text[:400]:
        return "svg"
    if text.startswith("{"):
        return "speedscope" if "speedscope" in json.loads(text)["$schema"] else "json"
    if pyspy:
        text = "".join(line for line in text.splitlines(True) if not re.match(r" \d+$", line))
    assert parse_folded(text), text[:200]
    return "folded"


def pyspy_options(sub):
    """py-spy's long options of `py-spy SUB --help` and their short letters."""
    out = subprocess.run([PYSPY, sub, "--help"], capture_output=True, text=True).stdout
    found = {}
    for m in re.finditer(r"^\s+(?:-(\w), )?--([\w-]+)", out, re.M):
        found[m.group(2)] = m.group(1)
    return found


needs_pyspy = pytest.mark.skipif(not PYSPY.exists(), reason=f"{PYSPY} is not built (make deps)")


# -- py-spy's command line -------------------------------------------------------

@pytest.mark.parametrize("name,kind", [("prof.svg", "svg"), ("prof.txt", "folded"),
                                       ("prof.folded", "folded"), ("prof.json", "speedscope"),
                                       ("prof.pb.gz", "gzip"), ("prof", "svg")])
def test_record_o_writes_that_file_in_the_format_its_extension_names(name, kind, tmp_path):
    r = filspy("record", "-o", name, "-r", "200", "--", python311(), SPIN, "1", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "spun\n"), r.stderr
    assert kind_of(tmp_path / name) == kind
    assert f"wrote {tmp_path / name} (" in r.stderr
    # the file named, and nothing else written beside it (no outputs/perf either)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_record_takes_the_command_without_a_double_dash_as_py_spy_does(tmp_path):
    r = filspy("record", "-o", "x.txt", python311(), SPIN, "1", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "spun\n"), r.stderr
    assert any(s[-1].startswith("hot_loop") for s in parse_folded((tmp_path / "x.txt").read_text()))


def test_run_o_and_output_name_the_file_too(tmp_path):
    for args in (["run", "-o", "a.svg"], ["run", "--output", "b.svg"], ["run", "--output=c.txt"]):
        r = filspy(*args, "--", python311(), SPIN, "0.5", cwd=tmp_path)
        assert (r.returncode, r.stdout) == (0, "spun\n"), r.stderr
    assert kind_of(tmp_path / "a.svg") == kind_of(tmp_path / "b.svg") == "svg"
    assert kind_of(tmp_path / "c.txt") == "folded"


def test_f_picks_the_format_whatever_the_extension(tmp_path):
    r = filspy("record", "-f", "raw", "-o", "prof.svg", "--", python311(), SPIN, "0.5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert kind_of(tmp_path / "prof.svg") == "folded"


def test_record_pid_with_speedscope_o_and_duration_as_in_py_spy(tmp_path):
    target = subprocess.Popen([python311(), SPIN, "8"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        r = filspy("record", "-f", "speedscope", "-o", "x.json", "--pid", target.pid, "-d", "2",
                   cwd=tmp_path, timeout=60)
        assert r.returncode == 0, r.stderr
        doc = json.loads((tmp_path / "x.json").read_text())
        assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
        names = {f["name"] for f in doc["shared"]["frames"]}
        assert "hot_loop" in names, names
        assert f"wrote {tmp_path / 'x.json'}" in r.stderr
    finally:
        target.kill()
        target.wait()


@needs_pyspy
def test_every_py_spy_record_option_is_taken_with_its_short_letter():
    ours = filspy("record", "--help").stdout
    for long, short in pyspy_options("record").items():
        assert re.search(rf"^\s+(-{short}, )?--{long}\b", ours, re.M) if not short else \
            re.search(rf"^\s+-{short}, --{long}\b", ours, re.M), (long, short)


@needs_pyspy
@pytest.mark.parametrize("sub", ["dump", "top"])
def test_py_spy_pid_spelling_is_taken_by_dump_and_top(sub):
    assert "pid" in pyspy_options(sub)
    ours = filspy(sub, "--help").stdout
    assert re.search(r"^\s+-p, --pid PID", ours, re.M), ours


@pytest.mark.parametrize("flags", [["--idle", "--gil", "--threads", "--native"],
                                   ["-i", "-g", "-t"], ["-gi"], ["--subprocesses", "-s"],
                                   ["--nonblocking", "--full-filenames"]])
def test_py_spy_flags_are_accepted_and_keep_the_program_untouched(flags, tmp_path):
    base = subprocess.run([python311(), SPIN, "0.3"], capture_output=True, text=True)
    r = filspy("record", *flags, "-o", "x.txt", "--", python311(), SPIN, "0.3", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (base.returncode, base.stdout) == (0, "spun\n"), r.stderr
    assert "unknown" not in r.stderr


def test_flags_that_change_nothing_say_so_in_help():
    out = filspy("record", "--help").stdout
    for flag in ("--nonblocking",):
        line = next(line for line in out.splitlines() if flag in line)
        assert "changes nothing" in line, line


@pytest.mark.parametrize("flag,env", [("--function", "FIL_PERF_SPY_FUNCTION"),
                                      ("-F", "FIL_PERF_SPY_FUNCTION"),
                                      ("--nolineno", "FIL_PERF_SPY_NOLINENO")])
def test_function_and_nolineno_reach_the_agent_as_their_settings(flag, env, tmp_path):
    code = f"import os; print(os.environ.get('{env}'))"
    r = filspy("run", flag, "--output-dir", tmp_path / "o", "--", python311(), "-c", code)
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr
    if f"unknown setting {env}" in r.stderr:
        pytest.skip(f"the agent of this branch does not know {env} yet (issue17b adds it)")
    assert "filspy: " not in r.stderr.replace("filspy: profiling", "").replace("filspy: wrote", ""), r.stderr


def test_help_shows_the_variable_each_option_sets():
    out = filspy("run", "--help").stdout
    assert re.search(r"-r, --rate HZ\s+FIL_PERF_SPY_RATE", out)
    assert re.search(r"-o, --output FILE\s+FIL_PERF_SPY_FILE", out)
    assert re.search(r"--output-dir DIR\s+FIL_PERF_OUTPUT_DIR", out)


# -- help, misspellings, values ---------------------------------------------------

def test_every_command_has_help_that_exits_0():
    names = commands()
    assert {"run", "record", "attach", "dump", "top", "report", "convert", "diff", "doctor",
            "completions"} <= set(names)
    for name in names:
        for flag in ("--help", "-h"):
            r = filspy(name, flag)
            assert r.returncode == 0 and r.stderr == "", (name, flag, r.stderr)
            assert r.stdout.startswith(f"usage: filspy {name}"), (name, r.stdout[:80])
        assert filspy("help", name).stdout == filspy(name, "--help").stdout


def test_no_command_is_one_line_naming_them_all():
    r = filspy()
    assert r.returncode == 2
    one_error_line(r)
    assert all(name in r.stderr for name in commands())


def test_help_comes_before_the_command_runs(tmp_path):
    marker = tmp_path / "ran"
    r = filspy("run", "--help", "--", python311(), "-c", f"open('{marker}', 'w')")
    assert r.returncode == 0 and not marker.exists()


@pytest.mark.parametrize("typed,meant", [("recrod", "record"), ("atach", "attach"),
                                         ("dumo", "dump"), ("doctr", "doctor")])
def test_a_misspelled_command_suggests_the_nearest(typed, meant):
    r = filspy(typed)
    assert r.returncode == 2 and r.stdout == ""
    one_error_line(r)
    assert f"did you mean '{meant}'" in r.stderr


@pytest.mark.parametrize("args,meant", [(["run", "--durtion", "2", "--", "true"], "--duration"),
                                        (["record", "--rat", "10", "--", "true"], "--rate"),
                                        (["record", "--subprocess", "--", "true"], "--subprocesses"),
                                        (["diff", "a", "b", "--tpo", "3"], "--top"),
                                        (["top", "--iteration", "1", "1"], "--iterations"),
                                        (["doctor", "--jsn"], "--json")])
def test_a_misspelled_option_suggests_the_nearest(args, meant):
    r = filspy(*args)
    assert r.returncode == 2 and r.stdout == ""
    one_error_line(r)
    assert f"did you mean {meant}?" in r.stderr


@pytest.mark.parametrize("args", [["run", "--rate", "abc"], ["run", "--rate"],
                                  ["record", "-r", "0"], ["record", "-d", "soon"],
                                  ["run", "-f", "bogus"], ["run", "--backend", "nope"],
                                  ["run", "--gil=maybe"], ["record", "--pid", "x"],
                                  ["record", "-o"]])
def test_bad_option_values_are_errors_before_anything_runs(args, tmp_path):
    marker = tmp_path / "ran"
    r = filspy(*args, "--", python311(), "-c", f"open('{marker}', 'w')")
    assert r.returncode == 2 and r.stdout == "", r.stderr
    one_error_line(r)
    assert not marker.exists()


def test_rate_followed_by_double_dash_is_a_missing_value():
    r = filspy("run", "--rate", "--", "python3", "-c", "pass")
    assert r.returncode == 2
    one_error_line(r)
    assert "--rate needs a value" in r.stderr


@pytest.mark.parametrize("args", [["top", "--sort", "cost", "1"], ["top", "--delay", "-1", "1"],
                                  ["diff", "--top", "many", "a", "b"], ["diff", "--by", "file", "a", "b"],
                                  ["report", "-f", "png", "in", "-o", "x"], ["dump", "--pid", "me"]])
def test_bad_values_of_the_other_commands_are_one_line_errors(args):
    r = filspy(*args)
    assert r.returncode == 2 and r.stdout == ""
    one_error_line(r)


# -- completions ----------------------------------------------------------------

def test_bash_completion_is_valid_and_completes_commands_and_options(tmp_path):
    script = tmp_path / "filspy.bash"
    script.write_text(filspy("completions", "bash").stdout)
    assert subprocess.run(["bash", "-n", script]).returncode == 0

    def complete(*words):
        cmd = (f"source {script}; COMP_WORDS=({' '.join(words)}); "
               f"COMP_CWORD={len(words) - 1}; _filspy; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True).stdout.split()
    assert complete("filspy", "rec") == ["record"]
    assert "--rate" in complete("filspy", "record", "--ra")
    assert "--output-dir" in complete("filspy", "run", "--output-")
    assert set(complete("filspy", "record", "-f", "")) >= {"svg", "raw", "speedscope", "pprof"}
    assert complete("filspy", "top", "--sort", "") == ["own", "total"]


def test_completions_hold_every_command_and_option_of_the_help():
    scripts = {shell: filspy("completions", shell).stdout for shell in ("bash", "zsh", "fish")}
    for name in commands():
        options = re.findall(r"^\s+(?:-\w, )?--([\w-]+)", filspy(name, "--help").stdout, re.M)
        assert options, name
        for shell, text in scripts.items():
            assert name in text, (shell, name)
            for option in options:
                assert f"--{option}" in text or f"-l {option}" in text, (shell, name, option)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completions_parse(shell, tmp_path):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"filspy.{shell}"
    script.write_text(filspy("completions", shell).stdout)
    assert subprocess.run([shell, "-n", script]).returncode == 0


def test_completions_of_an_unknown_shell_is_an_error():
    r = filspy("completions", "tcsh")
    assert r.returncode == 2
    one_error_line(r)


# -- the small ones of item 8 ------------------------------------------------------

def test_run_of_a_program_without_python_says_nothing_was_profiled(tmp_path):
    base = subprocess.run(["ls", "/"], capture_output=True, text=True)
    r = filspy("run", "--output-dir", tmp_path / "o", "--", "ls", "/")
    assert (r.returncode, r.stdout) == (base.returncode, base.stdout)
    one_error_line(r)
    assert "no profile written: ls ran no Python process" in r.stderr


def test_run_keeps_the_exit_status_and_the_signal_of_the_command(tmp_path):
    r = filspy("run", "-q", "--output-dir", tmp_path, "--", "sh", "-c", "exit 7")
    assert r.returncode == 7
    r = filspy("run", "-q", "--output-dir", tmp_path, "--", python311(), "-c",
               "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert r.returncode == -signal.SIGTERM


def test_a_command_that_cannot_run_is_127_with_one_line(tmp_path):
    r = filspy("run", "--", tmp_path / "missing")
    assert r.returncode == 127
    one_error_line(r)
    assert "No such file or directory" in r.stderr


def test_an_output_dir_that_is_a_file_says_not_a_directory(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    env = agent_env(afile)
    r = subprocess.run([python311(), SPIN, "0.2"], env=env, capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "spun\n")
    one_error_line(r)
    assert "Not a directory" in r.stderr and "Permission denied" not in r.stderr


@pytest.mark.parametrize("cmd", [["report", "-f", "svg"], ["convert"]])
def test_an_empty_raw_file_is_an_error(cmd, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = filspy(cmd[0], empty, *cmd[1:], "-o", tmp_path / "x.svg")
    assert r.returncode != 0
    one_error_line(r)
    assert "no samples" in r.stderr and not (tmp_path / "x.svg").exists()


def test_convert_and_report_take_the_format_from_the_extension(tmp_path):
    raw = tmp_path / "in.txt"
    raw.write_text("main (a.py:1);f (a.py:2) 5\n")
    for out, kind in (("x.json", "speedscope"), ("x.svg", "svg"), ("x.pb.gz", "gzip")):
        r = filspy("convert", raw, "-o", tmp_path / out)
        assert r.returncode == 0, r.stderr
        assert kind_of(tmp_path / out) == kind
    r = filspy("report", raw, "-o", tmp_path / "y.folded")
    assert r.returncode == 0 and kind_of(tmp_path / "y.folded") == "folded"


def test_one_sample_is_one_sample_not_samples(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_RATE="1")
    r = subprocess.run([python311(), SPIN, "1.4"], env=env, capture_output=True, text=True)
    counts = re.findall(r"\((\d+) (samples?) in", r.stderr)
    assert counts, r.stderr
    for n, word in counts:
        assert word == ("sample" if n == "1" else "samples"), r.stderr


def test_top_mode_announces_no_files(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_MODE="top")
    r = subprocess.run([python311(), SPIN, "0.5"], env=env, capture_output=True, text=True)
    assert r.returncode == 0
    assert "no files written" in r.stderr and "-pyspy." not in r.stderr, r.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_stale_control_socket_of_a_killed_process_goes_on_next_use(tmp_path):
    env = agent_env(tmp_path / "o")
    p = subprocess.Popen([python311(), SPIN, "20"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/filspy-{os.geteuid()}/{p.pid}.sock")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    assert sock.exists()
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert sock.exists()  # nothing ran to remove it
    # the next profiled process sweeps it, and so does the next dump/top/attach
    r = subprocess.run([python311(), SPIN, "0.3"], env=env, capture_output=True, text=True)
    assert r.returncode == 0
    assert not sock.exists()


def test_docs_name_the_versions_of_the_offsets_table():
    table = (ROOT / "agent" / "cpython" / "pyoffsets_table.c").read_text()
    versions = re.search(r"Versions: ([\d. ]+)", table).group(1).split()
    lo, hi = ".".join(versions[0].split(".")[:2]), ".".join(versions[-1].split(".")[:2])
    doc = (ROOT / "docs" / "performance" / "py-spy.md").read_text()
    assert f"Supported interpreters: CPython {lo} to {hi}" in doc
    assert "CPython 3.8 to 3.13 with" not in doc


def test_doctor_kernel_minimum_is_the_one_in_the_docs():
    doc = (ROOT / "docs" / "performance" / "py-spy.md").read_text()
    minimum = re.search(r"Linux (\d+\.\d+)\+ \(bpf_loop\)", doc).group(1)
    r = filspy("doctor", "--json", timeout=120)
    kernel = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "kernel")
    assert minimum in kernel["detail"] + (kernel["fix"] or ""), kernel


# -- attach ---------------------------------------------------------------------

def test_ten_attaches_in_a_row_each_write_a_profile(tmp_path):
    target = subprocess.Popen([python311(), "-c", UNTIL_STDIN_CLOSES], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        for i in range(10):
            out = tmp_path / f"att{i}.txt"
            r = filspy("attach", "-d", "0.5", "-o", out, target.pid, timeout=60)
            assert r.returncode == 0, (i, r.stderr)
            assert f"wrote {out}" in r.stderr, (i, r.stderr)
            stacks = parse_folded(out.read_text())
            assert any(s[-1].startswith("hot_loop") for s in stacks), (i, stacks)
        stdout, _ = target.communicate("", timeout=30)
        assert (target.returncode, stdout) == (0, "spun\n")
    finally:
        target.kill()
        target.wait()


def test_attach_reuses_an_agent_already_sampling_through_its_socket(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_QUIET="1")
    target = subprocess.Popen([python311(), SPIN, "6"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        sock = Path(f"/tmp/filspy-{os.geteuid()}/{target.pid}.sock")
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        r = filspy("attach", "-d", "1", "-o", tmp_path / "w.txt", target.pid)
        assert r.returncode == 0, r.stderr
        assert "already runs the filspy agent" in r.stderr
        stacks = parse_folded((tmp_path / "w.txt").read_text())
        total = sum(stacks.values())
        # about one second of the 100 Hz profile, not everything since the start
        assert 10 < total < 160, total
        stdout, _ = target.communicate(timeout=30)
        assert (target.returncode, stdout) == (0, "spun\n")
    finally:
        target.kill()
        target.wait()


@pytest.mark.parametrize("sub", ["attach", "dump"])
def test_a_process_that_is_not_python_gets_one_clear_line(sub):
    target = subprocess.Popen(["sleep", "30"])
    try:
        r = filspy(sub, "--pid", target.pid) if sub == "dump" else filspy(sub, "-d", "1", target.pid)
        assert r.returncode != 0 and r.stdout == ""
        one_error_line(r)
        assert "is not a Python process" in r.stderr and "panicked" not in r.stderr
    finally:
        target.kill()
        target.wait()


def test_dump_and_top_take_pid_as_an_option(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_QUIET="1")
    target = subprocess.Popen([python311(), SPIN, "6"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        sock = Path(f"/tmp/filspy-{os.geteuid()}/{target.pid}.sock")
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        time.sleep(0.5)
        d = filspy("dump", "--pid", target.pid)
        assert d.returncode == 0 and "hot_loop (long_spin.py:" in d.stdout, d.stderr
        t = filspy("top", "-p", target.pid, "--iterations", "2", "--delay", "0.2")
        assert t.returncode == 0 and t.stdout.count("filspy top: pid") == 2, t.stderr
    finally:
        target.kill()
        target.wait()


# -- diff ----------------------------------------------------------------------

def diff_rows(stdout):
    """{function: (own change, total change)} from diff's table."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 7 and re.fullmatch(r"[+-]\d+\.\d\d", parts[0]):
            rows[" ".join(parts[6:])] = (float(parts[0]), float(parts[3]))
    return rows


def test_diff_of_a_program_against_itself_with_5_lines_inserted_shows_only_noise(tmp_path):
    shifted = tmp_path / "shares.py"
    shifted.write_text("# one\n# two\n# three\n# four\n# five\n" + (PROGRAMS / "shares.py").read_text())
    profiles = []
    for i, program in enumerate((PROGRAMS / "shares.py", shifted)):
        out = tmp_path / f"p{i}.txt"
        r = filspy("record", "-r", "200", "-o", out, "--", python311(), program, "3", "0.3",
                   timeout=120)
        assert r.returncode == 0, r.stderr
        profiles.append(out)
    r = filspy("diff", *profiles, "-o", tmp_path / "d.svg")
    assert r.returncode == 0, r.stderr
    rows = diff_rows(r.stdout)
    # three functions at ~50/30/20 %: 600 samples each run put the noise at a few points
    assert all(abs(own) < 8 and abs(total) < 8 for own, total in rows.values()), r.stdout
    assert not [name for name in rows if re.search(r":\d+\)$", name)], r.stdout
    # the same profiles matched by line: every frame below the moved lines is new
    by_line = diff_rows(filspy("diff", "--by", "line", *profiles, "-o", tmp_path / "l.svg").stdout)
    assert max(abs(total) for own, total in by_line.values()) > 40, by_line


def test_diff_colours_by_change_in_self_time(tmp_path):
    before, after = tmp_path / "b.txt", tmp_path / "a.txt"
    # main's own time is the same; only what it calls moved from g to f
    before.write_text("main (m.py:1) 20\nmain (m.py:1);g (m.py:9) 80\n")
    after.write_text("main (m.py:1) 20\nmain (m.py:1);f (m.py:5) 80\n")
    r = filspy("diff", before, after, "-o", tmp_path / "d.svg")
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "d.svg").read_text()
    main = re.search(r'data-name="main \(m.py\)"[^>]*>.*?fill="([^"]+)"', svg, re.S)
    assert main and main.group(1) in ("rgb(240,240,240)", "#f0f0f0"), main and main.group(1)
    rows = diff_rows(r.stdout)
    assert rows["f (m.py)"] == (80.0, 80.0) and rows["g (m.py)"] == (-80.0, -80.0)
    assert "main (m.py)" not in rows  # no change in own or total share


# -- dump ----------------------------------------------------------------------

THREADS = (
    "import threading, time\n"
    "def spin(seconds):\n"
    "    end = time.time() + seconds\n"
    "    while time.time() < end: pass\n"
    "def nap(): time.sleep(8)\n"
    "s = threading.Thread(target=spin, args=(8,), name='spinner')\n"
    "n = threading.Thread(target=nap, name='napper')\n"
    "s.start(); n.start(); spin(8); s.join(); n.join(); print('ok')\n")

# the fields of py-spy 0.4's `dump --json` (its StackTrace and Frame structs)
PYSPY_THREAD_FIELDS = {"pid", "thread_id", "thread_name", "os_thread_id", "active", "owns_gil",
                       "frames", "process_info"}
PYSPY_FRAME_FIELDS = {"name", "filename", "module", "short_filename", "line", "locals", "is_entry"}


@pytest.fixture
def threaded(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_QUIET="1")
    target = subprocess.Popen([python311(), "-c", THREADS], env=env, stdout=subprocess.PIPE,
                              text=True)
    sock = Path(f"/tmp/filspy-{os.geteuid()}/{target.pid}.sock")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    time.sleep(0.5)  # the threading names are read once the threads run
    yield target
    target.kill()
    target.wait()


def test_dump_names_each_thread_as_python_does_with_its_state(threaded):
    r = filspy("dump", "--pid", threaded.pid)
    assert r.returncode == 0, r.stderr
    names = {name: state for state, name in re.findall(r'^Thread \d+ \(([^)]+)\): "([^"]+)"$',
                                                        r.stdout, re.M)}
    assert set(names) == {"MainThread", "spinner", "napper"}, r.stdout
    assert names["napper"] == "idle"
    assert names["spinner"].startswith("active") or names["spinner"] == "waiting for the gil"
    assert "nap (<string>:5)" in r.stdout and "spin (<string>:4)" in r.stdout


def test_dump_json_has_py_spy_s_fields(threaded):
    r = filspy("dump", "--pid", threaded.pid, "--json")
    assert r.returncode == 0, r.stderr
    threads = json.loads(r.stdout)
    assert {t["thread_name"] for t in threads} == {"MainThread", "spinner", "napper"}
    for t in threads:
        assert PYSPY_THREAD_FIELDS <= set(t), t.keys()
        assert t["pid"] == threaded.pid and t["frames"]
        assert all(PYSPY_FRAME_FIELDS <= set(f) for f in t["frames"])
        assert [f["is_entry"] for f in t["frames"]].count(True) == 1 and t["frames"][-1]["is_entry"]
    napper = next(t for t in threads if t["thread_name"] == "napper")
    assert napper["active"] is False and napper["owns_gil"] is False
    assert napper["frames"][0]["name"] == "nap" and napper["frames"][0]["line"] == 5


@needs_pyspy
def test_dump_native_shows_native_frames_from_py_spy(threaded):
    """--native: py-spy dump --native (it stops the process for the dump, which the
    agent never does), with its line on stderr; libc's frames show."""
    r = filspy("dump", "--pid", threaded.pid, "--native",
               env=dict(plain_env(), FIL_PERF_SPY_PYSPY=str(PYSPY)))
    assert r.returncode == 0, r.stderr
    assert "dump --native: asking py-spy" in r.stderr
    assert "(libc.so" in r.stdout and "nap (<string>:5)" in r.stdout, r.stdout


# -- run waits for the command: signals reach it as without filspy ---------------

@pytest.mark.parametrize("how", ["ctrl-c to the group", "sigterm to filspy"])
def test_run_passes_signals_on_and_ends_as_the_command_did(how, tmp_path):
    def start(cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=plain_env(), start_new_session=True)
        time.sleep(1.5)
        if how == "ctrl-c to the group":
            os.killpg(p.pid, signal.SIGINT)  # what a terminal's ^C does
        else:
            p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        return p.returncode, out, err
    code = "import time\nprint('up', flush=True)\ntime.sleep(20)\n"
    base = start([python311(), "-c", code])
    rc, out, err = start([FILSPY, "run", "--output-dir", tmp_path / "o", "-f", "raw", "--",
                          python311(), "-c", code])
    assert (rc, out) == base[:2], err
    # the agent wrote its profile on the way out
    assert list((tmp_path / "o").glob("*-pyspy.txt")), err


LOCALS = (
    "import time\n"
    "def work(n, label='x', *rest):\n"
    "    f = 2.5; neg = -12345678901; s = \"it's\\nok\"; b = b'\\x00ab'; none = None\n"
    "    flag = True; items = [1, 2]\n"
    "    end = time.time() + 8\n"
    "    while time.time() < end: pass\n"
    "work(3, 'lbl')\n")
# py-spy 0.4's LocalVariable
PYSPY_LOCAL_FIELDS = {"name", "addr", "arg", "repr"}


@pytest.mark.parametrize("python", interpreter_params([6, 8, 10, 11, 12, 13]))
def test_dump_locals_shows_arguments_and_locals_as_python_reprs(python, tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_QUIET="1")
    target = subprocess.Popen([python, "-c", LOCALS], env=env, stdout=subprocess.PIPE, text=True)
    try:
        sock = Path(f"/tmp/filspy-{os.geteuid()}/{target.pid}.sock")
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        time.sleep(0.5)
        r = filspy("dump", "--locals", "--pid", target.pid)
        assert r.returncode == 0, r.stderr
        work = r.stdout[r.stdout.index("    work (<string>:"):]
        work = work[:work.index("    <module>")]
        assert "        Arguments:\n            n: 3\n            label: 'lbl'\n" in work, work
        for line in ("f: 2.5", "neg: -12345678901", "s: \"it's\\nok\"", "b: b'\\x00ab'",
                     "none: None", "flag: True"):
            assert f"            {line}\n" in work, (line, work)
        assert re.search(r"items: <list at 0x[0-9a-f]+>", work) and "rest: <tuple at 0x" in work
        threads = json.loads(filspy("dump", "--locals", "--json", "--pid", target.pid).stdout)
        frame = next(f for t in threads for f in t["frames"] if f["name"] == "work")
        assert all(PYSPY_LOCAL_FIELDS <= set(v) for v in frame["locals"]), frame
        by_name = {v["name"]: v for v in frame["locals"]}
        assert by_name["n"]["arg"] is True and by_name["n"]["repr"] == "3"
        assert by_name["f"]["arg"] is False and by_name["f"]["repr"] == "2.5"
        plain = json.loads(filspy("dump", "--json", "--pid", target.pid).stdout)
        assert all(f["locals"] is None for t in plain for f in t["frames"])
    finally:
        target.kill()
        target.wait()


TREE = (
    "import subprocess, sys, time\n"
    "code = 'import time\\ndef child_spin():\\n    end = time.time() + 8\\n    while time.time() < end: pass\\nchild_spin()'\n"
    "kids = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(2)]\n"
    "sh = subprocess.Popen(['sh', '-c', 'sleep 8'])\n"
    "def parent_wait():\n"
    "    for k in kids: k.wait()\n"
    "parent_wait(); sh.wait(); print('ok')\n")


def test_dump_subprocesses_dumps_every_python_process_of_the_tree_once(tmp_path):
    env = agent_env(tmp_path / "o", FIL_PERF_SPY_QUIET="1")
    target = subprocess.Popen([python311(), "-c", TREE], env=env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        r = filspy("dump", "--subprocesses", "--pid", target.pid)
        assert r.returncode == 0, r.stderr
        headers = re.findall(r"^Process (\d+):", r.stdout, re.M)
        assert len(headers) == len(set(headers)) == 3, r.stdout  # the sh is no Python
        assert headers[0] == str(target.pid)
        assert r.stdout.count("child_spin (<string>:4)") == 2 and "parent_wait" in r.stdout
        threads = json.loads(filspy("dump", "-s", "--json", target.pid).stdout)
        assert sorted({t["pid"] for t in threads}) == sorted(map(int, headers))
    finally:
        target.kill()
        target.wait()


def test_top_works_on_a_python_process_without_the_agent_and_leaves_no_session(tmp_path):
    target = subprocess.Popen([python311(), SPIN, "8"], stdout=subprocess.PIPE, text=True,
                              cwd=tmp_path)
    try:
        time.sleep(0.5)
        for _ in range(2):  # the second one loads a new session into the same agent
            r = filspy("top", "--pid", target.pid, "--iterations", "2", "--delay", "0.3",
                       cwd=tmp_path)
            assert r.returncode == 0, r.stderr
            tables = r.stdout.split("filspy top: pid")[1:]
            assert len(tables) == 2 and all("hot_loop (long_spin.py)" in t for t in tables), r.stdout
            # each table is one interval's, not everything since the start
            interval, total = map(int, re.search(r"(\d+) samples in the last interval, (\d+) in all",
                                                 tables[1]).groups())
            assert interval < total, tables[1]
        sock = Path(f"/tmp/filspy-{os.geteuid()}/{target.pid}.sock")
        time.sleep(0.5)
        assert not sock.exists()  # top ended the session it started
        stdout, _ = target.communicate(timeout=30)
        assert (target.returncode, stdout) == (0, "spun\n")
        assert list(tmp_path.iterdir()) == []  # top mode writes no file
    finally:
        target.kill()
        target.wait()


def test_top_of_a_process_that_is_not_python_is_one_line():
    target = subprocess.Popen(["sleep", "30"])
    try:
        r = filspy("top", target.pid, "--iterations", "1")
        assert r.returncode == 1 and r.stdout == ""
        one_error_line(r)
        assert "is not a Python process" in r.stderr
    finally:
        target.kill()
        target.wait()


def test_attach_subprocesses_reaches_the_children_already_running(tmp_path):
    target = subprocess.Popen([python311(), "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        out = tmp_path / "o"
        r = filspy("attach", "--subprocesses", "-d", "1", "-f", "raw", "--output-dir", out,
                   target.pid, timeout=60)
        assert r.returncode == 0, r.stderr
        files = sorted(p.name for p in out.iterdir())
        assert len(files) == 3, (files, r.stderr)  # the parent and its two Python children
        for name in files:
            assert f"wrote {out / name}" in r.stderr
        children = [f for f in files if not f.startswith(f"<string>-{target.pid}")
                    and str(target.pid) not in f]
        assert len(children) == 2, files
        for name in children:
            stacks = parse_folded((out / name).read_text())
            assert any(s[-1].startswith("child_spin") for s in stacks), stacks
        stdout, _ = target.communicate(timeout=30)
        assert (target.returncode, stdout) == (0, "ok\n")
    finally:
        target.kill()
        target.wait()


LATE_TREE = (
    "import subprocess, sys, time\n"
    "code = 'import time\\ndef late_child_spin():\\n    end = time.time() + 3\\n    while time.time() < end: pass\\nlate_child_spin()'\n"
    "def parent_spin(seconds):\n"
    "    end = time.time() + seconds\n"
    "    while time.time() < end: pass\n"
    "parent_spin(1.5)\n"
    "kid = subprocess.Popen([sys.executable, '-c', code])\n"
    "kid.wait(); print('ok')\n")


def test_attach_subprocesses_reaches_children_started_later(tmp_path):
    target = subprocess.Popen([python311(), "-c", LATE_TREE], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        out = tmp_path / "o"
        r = filspy("attach", "--subprocesses", "-d", "2.5", "-f", "raw", "--output-dir", out,
                   target.pid, timeout=60)
        assert r.returncode == 0, r.stderr
        files = sorted(p.name for p in out.iterdir())
        assert len(files) == 2, (files, r.stderr)  # the parent and the child it started later
        child = [f for f in files if str(target.pid) not in f]
        assert len(child) == 1, files
        stacks = parse_folded((out / child[0]).read_text())
        assert any(s[-1].startswith("late_child_spin") for s in stacks), stacks
        stdout, _ = target.communicate(timeout=30)
        assert (target.returncode, stdout) == (0, "ok\n")
    finally:
        target.kill()
        target.wait()


@needs_pyspy
@pytest.mark.parametrize("fmt,name", [("flamegraph", "prof.svg"), ("raw", "prof.txt"),
                                      ("speedscope", "prof.json"), (None, "prof.svg")])
def test_record_writes_the_file_py_spy_writes_for_the_same_command_line(fmt, name, tmp_path):
    args = (["-f", fmt] if fmt else []) + ["-o", name, "-r", "100", "--",
                                           "/usr/bin/python3.11", SPIN, "1"]
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("/usr/bin/python3.11 is not installed")
    results = {}
    for who, cmd in (("py-spy", [str(PYSPY), "record"]), ("filspy", [str(FILSPY), "record"])):
        where = tmp_path / who
        where.mkdir()
        r = subprocess.run(cmd + [str(a) for a in args], cwd=where, capture_output=True,
                           text=True, env=plain_env(), timeout=120)
        if who == "py-spy" and r.returncode != 0:
            pytest.skip(f"py-spy record cannot run here: {r.stderr.strip()[-200:]}")
        # py-spy's own lines go to stdout ("py-spy> Wrote ..."), filspy's to stderr
        assert r.returncode == 0 and "spun" in r.stdout.splitlines(), (who, r.stderr)
        if who == "filspy":
            assert r.stdout == "spun\n"
        results[who] = sorted(p.name for p in where.iterdir())
        assert results[who] == [name], (who, results[who])
        results[who] = kind_of(where / name, pyspy=who == "py-spy")
    assert results["filspy"] == results["py-spy"]
