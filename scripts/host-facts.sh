#!/usr/bin/env bash
# One line per fact of this host that the tests meet and a fresh machine may have
# otherwise (see docs/testing.md, "What the tests assume of the host"), so that a
# CI log tells what it ran on. Prints only; changes nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

fact() { printf 'host: %-22s %s\n' "$1" "$2"; }
mounted() { if mountpoint -q "$1" 2>/dev/null; then echo "mounted"; else echo "not mounted"; fi; }
sysctl_of() { if [ -r "/proc/sys/$1" ]; then cat "/proc/sys/$1"; else echo "absent"; fi; }

fact "kernel" "$(uname -r) ($(uname -m))"
fact "tracefs" "/sys/kernel/tracing $(mounted /sys/kernel/tracing) (the off-CPU tests run with it both ways)"
fact "debugfs" "/sys/kernel/debug $(mounted /sys/kernel/debug)"
if [ -r /sys/kernel/btf/vmlinux ]; then
	fact "kernel BTF" "/sys/kernel/btf/vmlinux, $(stat -c %s /sys/kernel/btf/vmlinux) bytes"
else
	fact "kernel BTF" "absent (the bpf backend's off-CPU program needs it)"
fi
caps=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
last=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)
missing=$(printf '%x' $(( ((1 << (last + 1)) - 1) & ~0x$caps )))
if [ "$missing" = 0 ]; then
	what="every capability"
elif [ "$caps" = 0000000000000000 ]; then
	what="no capability"
else
	what="all but $(capsh --decode="$missing" 2>/dev/null | sed 's/^.*=//')"
fi
fact "user" "uid $(id -u), CapEff $caps: $what"
fact "seccomp" "$(awk '/^Seccomp:/ {print ($2 == 0 ? "none" : "mode " $2)}' /proc/self/status)"
fact "perf_event_paranoid" "$(sysctl_of kernel/perf_event_paranoid)"
fact "unprivileged_bpf" "kernel.unprivileged_bpf_disabled=$(sysctl_of kernel/unprivileged_bpf_disabled)"
fact "bpf_stats_enabled" "$(sysctl_of kernel/bpf_stats_enabled) (bench/bpf.py turns it on for its run only)"
fact "Yama ptrace_scope" "$(sysctl_of kernel/yama/ptrace_scope)"
fact "ulimits" "memlock $(ulimit -l) KiB, open files $(ulimit -n), core $(ulimit -c)"
pyspy_on_path=$(command -v py-spy || echo "none")
pyspy_built="build/tools/py-spy/bin/py-spy"
[ -x "$pyspy_built" ] && pyspy_built="$PWD/$pyspy_built ($("$pyspy_built" --version 2>/dev/null))" ||
	pyspy_built="$pyspy_built not installed (make deps)"
fact "py-spy" "on PATH: $pyspy_on_path; filspy's own: $pyspy_built"
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
versions=$(ls "$root/versions" 2>/dev/null | tr '\n' ' ')
fact "pyenv" "${versions:-none} ($root)"
fact "Debian python3.11" "$( [ -x /usr/bin/python3.11 ] && /usr/bin/python3.11 -VV | head -c 60 || echo absent)"
leftovers=$(ls -d /tmp/filspy-* 2>/dev/null | wc -l)
fact "/tmp" "$leftovers filspy-* entries left by earlier runs"
fact "container" "$( [ -e /.dockerenv ] && echo docker || (systemd-detect-virt 2>/dev/null || echo "none seen"))"
