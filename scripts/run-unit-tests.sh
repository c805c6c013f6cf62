#!/usr/bin/env bash
# Runs every Criterion unit-test binary given and prints one closing summary line.
set -u
passed=0 failed=0
for t in "$@"; do
	if "$t" --jobs 1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "unit: $t FAILED"
	fi
done
echo "unit test binaries: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
