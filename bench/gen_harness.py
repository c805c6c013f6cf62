#!/usr/bin/env python3
"""Writes a Filare harness with N connector pairs and cables (a larger demo01),
so that `filare run` works for a few seconds: gen_harness.py N OUT.yml"""
import sys

HEADER = """metadata:
  title: bench
  pn: bench-01
  company: filspy bench
  address: 1 loopback road
  authors:
    created:
      name: filspy
      date: 2026-11-24
    reviewed:
      name: n/a
      date: n/a
  revisions:
    a:
      name: filspy
      date: 2026-11-24
      changelog: generated
  template:
    name: din-6771
    sheetsize: A3
"""


def main(n, path):
    out = [HEADER, "connectors:"]
    for i in range(n):
        out += [f"  A{i}:", "    type: D-Sub", "    subtype: female",
                "    pinlabels: [DCD, RX, TX, DTR, GND, DSR, RTS, CTS, RI]",
                f"  B{i}:", "    type: Molex KK 254", "    subtype: female",
                "    pinlabels: [GND, RX, TX]"]
    out.append("cables:")
    for i in range(n):
        out += [f"  W{i}:", "    gauge: 0.25 mm2", "    length: 0.2", "    color_code: DIN",
                "    wirecount: 3", "    shield: true"]
    out.append("connections:")
    for i in range(n):
        out += ["  -", f"    - A{i}: [5,2,3]", f"    - W{i}: [1,2,3]", f"    - B{i}: [1,3,2]",
                "  -", f"    - A{i}: 5", f"    - W{i}: s"]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
