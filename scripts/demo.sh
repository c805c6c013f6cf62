#!/usr/bin/env bash
# `make demo`: profiles examples/demo.py through the preload and says where the
# flamegraph is.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(command -v python3.11 || command -v python3)
out=outputs/perf
LD_PRELOAD="$PWD/build/libfilspy.so" FIL_PERF_SPY_ENABLED=1 FIL_PERF_OUTPUT_DIR="$out" \
	FIL_PERF_RUN_LABEL=demo FIL_PERF_SPY_OUTPUT=svg,raw "$python" examples/demo.py
echo
echo "demo: flamegraph at $PWD/$out/demo-pyspy.svg (open it in a browser)"
echo "demo: folded stacks at $PWD/$out/demo-pyspy.txt"
