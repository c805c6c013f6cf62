#!/usr/bin/env bash
# Installs the PyPI tools the tests run for real (pinned), into build/tools so the
# system Python stays untouched. Does nothing when they are present.
set -euo pipefail
cd "$(dirname "$0")/.."
PYSPY_VERSION=0.4.3
dest=build/tools/py-spy
if [ -x "$dest/bin/py-spy" ] && "$dest/bin/py-spy" --version | grep -q "$PYSPY_VERSION"; then
	echo "deps: py-spy $PYSPY_VERSION present in $dest"
	exit 0
fi
echo "deps: installing py-spy $PYSPY_VERSION from PyPI into $dest"
rm -rf "$dest"
/usr/bin/python3 -m pip install --quiet --disable-pip-version-check --no-deps \
	--target "$dest" "py-spy==$PYSPY_VERSION"
"$dest/bin/py-spy" --version
