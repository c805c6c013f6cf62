"""Every output format opens in the tools users have: pprof in `go tool pprof`,
speedscope's file format, raw for flamegraph.pl-style readers; `filspy report`
converts raw profiles (ours and py-spy's) and refuses corrupt ones cleanly."""
import gzip
import json
import re
import subprocess

import pytest

from conftest import FILSPY, PROGRAMS, ROOT, parse_folded, python311, require_tool

PYSPY = ROOT / "build" / "tools" / "py-spy" / "bin" / "py-spy"



@pytest.fixture(scope="module")
def all_formats(tmp_path_factory):
    """One profiled run of shares.py with every format and thread roots."""
    from conftest import agent_env
    out = tmp_path_factory.mktemp("formats")
    r = subprocess.run([python311(), PROGRAMS / "shares.py", "2"], capture_output=True, text=True,
                       env=agent_env(out, FIL_PERF_SPY_OUTPUT="svg,raw,speedscope,pprof",
                                     FIL_PERF_SPY_THREADS=1), timeout=60)
    assert r.returncode == 0, r.stderr
    return out


def test_all_four_files_are_written(all_formats):
    names = sorted(p.name for p in all_formats.iterdir())
    assert names == ["x-pyspy.pb.gz", "x-pyspy.speedscope.json", "x-pyspy.svg", "x-pyspy.txt"]


def test_speedscope_structure(all_formats):
    doc = json.loads((all_formats / "x-pyspy.speedscope.json").read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert all("name" in f for f in frames)
    assert any(f["name"] == "burn" and f["file"] == "shares.py" and f["line"] > 0 for f in frames)
    assert len(doc["profiles"]) == 1 and doc["profiles"][0]["name"].startswith("thread (")
    raw_total = sum(parse_folded((all_formats / "x-pyspy.txt").read_text()).values())
    for prof in doc["profiles"]:
        assert prof["type"] == "sampled" and prof["unit"] == "seconds"
        assert len(prof["samples"]) == len(prof["weights"])
        assert all(0 <= i < len(frames) for s in prof["samples"] for i in s)
        assert abs(sum(prof["weights"]) - raw_total / 100) < 1e-6
        assert abs(prof["endValue"] - sum(prof["weights"])) < 1e-3


def pprof_top(path):
    go = require_tool("go")
    r = subprocess.run([go, "tool", "pprof", "-symbolize=none", "-top", "-nodecount=1000",
                        "-sample_index=samples", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    flat = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.+)$", line)
        if m:
            flat[m.group(3)] = int(m.group(1))
    return flat, r


def test_pprof_reads_in_go_tool_pprof_with_raw_counts(all_formats):
    flat, _ = pprof_top(all_formats / "x-pyspy.pb.gz")
    stacks = parse_folded((all_formats / "x-pyspy.txt").read_text())
    leaf = {}
    for s, n in stacks.items():
        name = s[-1].rsplit(" (", 1)[0]
        leaf[name] = leaf.get(name, 0) + n
    top = sorted(leaf, key=leaf.get, reverse=True)[:3]
    for name in top:
        assert flat.get(name) == leaf[name], (name, flat.get(name), leaf[name])
    go = require_tool("go")
    raw = subprocess.run([go, "tool", "pprof", "-raw", str(all_formats / "x-pyspy.pb.gz")],
                         capture_output=True, text=True, timeout=120)
    assert raw.returncode == 0
    assert "warning" not in raw.stderr.lower() and "error" not in raw.stderr.lower(), raw.stderr
    assert "thread:[thread (" in raw.stdout
    assert gzip.decompress((all_formats / "x-pyspy.pb.gz").read_bytes())[:1] == b"\x0a"


@pytest.mark.parametrize("fmt,suffix", [("svg", ".svg"), ("raw", ".txt"),
                                        ("speedscope", ".json"), ("pprof", ".pb.gz")])
def test_report_converts_our_raw(fmt, suffix, all_formats, tmp_path):
    out = tmp_path / f"converted{suffix}"
    r = subprocess.run([FILSPY, "report", all_formats / "x-pyspy.txt", "-f", fmt, "-o", out],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert out.stat().st_size > 0
    if fmt == "raw":
        assert parse_folded(out.read_text()) == parse_folded((all_formats / "x-pyspy.txt").read_text())


def test_report_converts_pyspy_raw(tmp_path):
    if not PYSPY.exists():
        pytest.skip(f"py-spy is not installed at {PYSPY}")
    raw = tmp_path / "pyspy.txt"
    subprocess.run([PYSPY, "record", "--format", "raw", "-o", raw, "--", python311(),
                    PROGRAMS / "shares.py", "1"], capture_output=True, check=True, timeout=60)
    out = tmp_path / "p.pb.gz"
    r = subprocess.run([FILSPY, "report", raw, "-f", "pprof", "-o", out], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    flat, _ = pprof_top(out)
    assert flat.get("burn", 0) > 50


@pytest.mark.parametrize("content,line", [("a;b 3\nnot a stack\n", 2), ("a;b x\n", 1),
                                          ("a;b 1\nc;;d 2\n", 2), ("a;b -1\n", 1)])
def test_report_refuses_corrupt_input(content, line, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    out = tmp_path / "out.svg"
    r = subprocess.run([FILSPY, "report", bad, "-f", "svg", "-o", out], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"filspy: {bad}:{line}:"), r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_diff_colours_growth_red_and_prints_changes_either_way(tmp_path):
    before, after = tmp_path / "before.txt", tmp_path / "after.txt"
    before.write_text("main (app.py:1);parse (app.py:5) 50\nmain (app.py:1);render (app.py:9) 50\n")
    after.write_text("main (app.py:1);parse (app.py:5) 80\nmain (app.py:1);render (app.py:9) 20\n")
    out = tmp_path / "diff.svg"
    r = subprocess.run([FILSPY, "diff", before, after, "-o", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[-2]: line.split() for line in r.stdout.splitlines()
            if line.endswith("(app.py)")}
    # own change, before, after, total change, before, after, function (file)
    assert rows["parse"][:6] == ["+30.00", "50.00%", "80.00%", "+30.00", "50.00%", "80.00%"], r.stdout
    assert rows["render"][:6] == ["-30.00", "50.00%", "20.00%", "-30.00", "50.00%", "20.00%"], r.stdout
    svg = out.read_text()
    import xml.dom.minidom
    doc = xml.dom.minidom.parseString(svg.encode())
    fills = {}
    for g in doc.getElementsByTagName("g"):
        if g.getAttribute("class") == "frame":
            name = g.getAttribute("data-name").split(" (")[0]
            fills[name] = g.getElementsByTagName("rect")[0].getAttribute("fill")
    r_, g_, b_ = map(int, fills["parse"][4:-1].split(","))
    assert r_ == 255 and b_ < 255, fills
    r_, g_, b_ = map(int, fills["render"][4:-1].split(","))
    assert b_ == 255 and r_ < 255, fills
    assert "+30.00 points" in svg and "-30.00 points" in svg


def test_diff_refuses_corrupt_input(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("a;b 1\n")
    bad.write_text("a;b 1\ngarbage\n")
    out = tmp_path / "diff.svg"
    r = subprocess.run([FILSPY, "diff", good, bad, "-o", out], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith(f"filspy: {bad}:2:")
    assert not out.exists()
