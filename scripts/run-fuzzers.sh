#!/usr/bin/env bash
# Runs each libFuzzer binary for a bounded time; any crash, hang or leak fails.
set -u
seconds=$1
shift
passed=0 failed=0
for f in "$@"; do
	name=$(basename "$f")
	dir=build/fuzz/corpus-$name
	mkdir -p "$dir"
	if "$f" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=0 \
		"$dir" >"build/fuzz/$name.log" 2>&1; then
		echo "fuzz: $name ran ${seconds}s: $(grep -o 'Done [0-9]* runs' "build/fuzz/$name.log" | tail -n 1), no finding"
		passed=$((passed + 1))
	else
		echo "fuzz: $name FOUND A PROBLEM, see build/fuzz/$name.log:"
		tail -n 30 "build/fuzz/$name.log"
		failed=$((failed + 1))
	fi
done
echo "fuzzers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
