"""`make demo`'s last step profiles the bundled program and prints the flamegraph's path."""
import re
import subprocess
import xml.dom.minidom

from conftest import ROOT


def test_demo_prints_the_path_of_a_flamegraph():
    r = subprocess.run([ROOT / "scripts" / "demo.sh"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    m = re.search(r"flamegraph at (\S+\.svg)", r.stdout)
    assert m, r.stdout
    xml.dom.minidom.parse(m.group(1))
    assert "main (demo.py:" in open(m.group(1), encoding="utf-8").read()
