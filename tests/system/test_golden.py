"""Golden files: the SVG, raw and speedscope written for a fixed profile stay the
same unless we mean them to change (UPDATE_GOLDEN=1 rewrites them), and report's
conversions round-trip."""
import os
import subprocess

import pytest

from conftest import FILSPY, parse_folded

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
INPUT = os.path.join(GOLDEN, "small.txt")


@pytest.mark.parametrize("fmt,name", [("svg", "small.svg"), ("raw", "small.raw.txt"),
                                      ("speedscope", "small.speedscope.json")])
def test_output_matches_golden_file(fmt, name, tmp_path):
    out = tmp_path / name
    r = subprocess.run([FILSPY, "report", INPUT, "-f", fmt, "-o", out, "--title", "golden"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    golden = os.path.join(GOLDEN, name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        with open(golden, "wb") as f:
            f.write(out.read_bytes())
    with open(golden, "rb") as f:
        expected = f.read()
    assert out.read_bytes() == expected, f"{name} changed; if on purpose: UPDATE_GOLDEN=1"


def test_golden_svg_structure():
    import xml.dom.minidom
    with open(os.path.join(GOLDEN, "small.svg"), encoding="utf-8") as f:
        text = f.read()
    doc = xml.dom.minidom.parseString(text.encode())
    frames = [g for g in doc.getElementsByTagName("g") if g.getAttribute("class") == "frame"]
    names = {g.getAttribute("data-name") for g in frames}
    assert "<lambda> (app/views.py:7)" in names and "naïve_函数 (app.py:40)" in names
    assert "a&b \"quoted\" 'x' (app.py:30)" in names
    titles = {g.getElementsByTagName("title")[0].firstChild.data for g in frames}
    assert "all (100 samples, 100.00%)" in titles
    assert "parse (app.py:20) (40 samples, 40.00%)" in titles
    assert "&lt;lambda&gt;" in text and "a&amp;b &quot;quoted&quot; &apos;x&apos;" in text
    for button in ("reset", "search", "case", "details", "matched", "title", "subtitle"):
        assert doc.getElementById(button) is not None or f'id="{button}"' in text


@pytest.mark.parametrize("fmt", ["raw", "svg", "speedscope", "pprof"])
def test_report_round_trip_keeps_every_sample(fmt, tmp_path):
    out = tmp_path / f"out.{fmt}"
    assert subprocess.run([FILSPY, "report", INPUT, "-f", fmt, "-o", out]).returncode == 0
    if fmt == "raw":
        with open(INPUT) as f:
            assert parse_folded(out.read_text()) == parse_folded(f.read())
    assert out.stat().st_size > 0
