#!/usr/bin/env bash
# Installs every Debian package the build and the tests use; does nothing when all
# are present. Called by `make deps` (and so by `make test` and `make demo`).
set -euo pipefail

packages=(
	build-essential clang llvm libclang-rt-14-dev  # compilers, sanitizers, libFuzzer
	libcriterion-dev pkg-config                     # unit tests
	python3 python3-pytest python3-pip             # system tests, PyPI tools
	python3-venv                                    # the wheel's tests: fresh venvs
	graphviz valgrind libcap2-bin util-linux procps # real programs the tests run
	tmux                                            # filspy top in a real terminal
	zlib1g-dev golang-go                           # pprof: zlib header, go tool pprof
	libbpf-dev bpftool                              # the bpf backend: libbpf, skeletons
	libdw-dev libiberty-dev                         # native stacks: libdwfl, demanglers
	chromium chromium-driver python3-selenium       # the flamegraph in a real browser
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} Debian packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
