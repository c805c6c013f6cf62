/* What the host and the trials mean for the backends, with the fix for each
 * refusal: kernel, BTF, BPF, perf events, capabilities, seccomp, process_vm_readv
 * and py-spy (ptrace has its own file). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_internal.h"
#include "filspy/pyspy_path.h"

void doctor_checks__kernel(const struct host *h)
{
	if (h->uts_err || h->kmajor < 0) {
		doctor_results__add("kernel", "unknown", "uname: %s",
				    h->uts_err ? strerror(h->uts_err)
					       : "a release that is not N.N");
		return;
	}
	/* the docs' minimum (docs/performance/py-spy.md, backends table): the
	 * program walks frames with bpf_loop, which came in 5.17 */
	if (doctor_host__kernel_at_least(h, 5, 17)) {
		doctor_results__add("kernel", "ok",
				    "Linux %s: 5.17 or newer, as the bpf backend needs (bpf_loop)",
				    h->uts.release);
		return;
	}
	struct check *c = doctor_results__add("kernel", "no",
					      "Linux %s is older than 5.17, which the bpf backend "
					      "needs for bpf_loop (pyspy and self work on it)",
					      h->uts.release);
	doctor_results__fix(c, "a 5.17 or newer kernel for the bpf backend");
}

void doctor_checks__btf(const struct host *h)
{
	const char *path = DOCTOR_BTF_PATH;
	struct check *c;
	if (h->btf_magic) {
		doctor_results__add("kernel BTF", "ok", "%s is readable BTF", path);
		return;
	}
	if (h->btf_err == ENOENT) {
		c = doctor_results__add("kernel BTF", "no",
					"%s is missing: the kernel is built without "
					"CONFIG_DEBUG_INFO_BTF",
					path);
		doctor_results__fix(
		    c, "a kernel with CONFIG_DEBUG_INFO_BTF=y (most distributions' since 2020)");
	} else if (h->btf_err) {
		c = doctor_results__add("kernel BTF", "no", "%s cannot be read: %s", path,
					strerror(h->btf_err));
		doctor_results__fix(
		    c, "run as root, or make /sys/kernel/btf readable (in a container: mount it)");
	} else {
		doctor_results__add("kernel BTF", "unknown", "%s does not start with the BTF magic",
				    path);
	}
}

/* "; kernel.x=N; kernel.y=N" for the sysctls that exist. */
static void sysctl_note(const struct host *h, char *buf, size_t size)
{
	buf[0] = 0;
	if (h->unpriv_bpf >= 0)
		doctor_results__append(buf, size, "; kernel.unprivileged_bpf_disabled=%d",
				       h->unpriv_bpf);
	if (h->paranoid >= 0)
		doctor_results__append(buf, size, "; kernel.perf_event_paranoid=%d", h->paranoid);
}

void doctor_checks__bpf(const struct host *h, const struct trials *t)
{
	const char *what = "loading a perf-event BPF program (r0 = 0; exit)";
	char note[160];
	struct check *c;
	sysctl_note(h, note, sizeof(note));
	if (!t->bpf) {
		doctor_results__add("BPF permission", "ok", "%s works", what);
		return;
	}
	if (t->bpf == EPERM || t->bpf == EACCES) {
		c = doctor_results__add("BPF permission", "no",
					"%s: not permitted (needs CAP_BPF and CAP_PERFMON, "
					"or root%s)",
					what, note);
		if (h->container)
			doctor_results__fix(
			    c, "docker run --cap-add BPF --cap-add PERFMON (Docker 20.10+), or "
			       "--cap-add SYS_ADMIN; a seccomp profile that allows bpf");
		else
			doctor_results__fix(
			    c, "run as root, or grant CAP_BPF and CAP_PERFMON (setcap or "
			       "systemd AmbientCapabilities)");
		/* before 5.11 BPF memory counted against RLIMIT_MEMLOCK; running out was EPERM */
		if (!doctor_host__kernel_at_least(h, 5, 11) &&
		    (doctor_host__has_cap(h, CAP_BPF_BIT) ||
		     doctor_host__has_cap(h, CAP_SYS_ADMIN_BIT)))
			doctor_results__append(c->fix, sizeof(c->fix),
					       "; this kernel also counts BPF against "
					       "RLIMIT_MEMLOCK: ulimit -l unlimited");
		return;
	}
	if (t->bpf == ENOSYS) {
		c = doctor_results__add("BPF permission", "no",
					"%s: the kernel has no bpf(2) (CONFIG_BPF_SYSCALL)", what);
		doctor_results__fix(c,
				    "a kernel with CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y");
		return;
	}
	if (t->bpf == EINVAL) {
		c = doctor_results__add("BPF permission", "no",
					"%s: the kernel refuses it: %s (CONFIG_BPF_EVENTS "
					"off, or too old)",
					what, strerror(t->bpf));
		doctor_results__fix(c, "a 5.17 or newer kernel with CONFIG_BPF_EVENTS=y");
		return;
	}
	doctor_results__add("BPF permission", "unknown", "%s: %s%s", what, strerror(t->bpf), note);
}

void doctor_checks__perf(const struct host *h, const struct trials *t)
{
	const char *what = "a CPU-clock sampling event on this process (perf_event_open)";
	struct check *c;
	if (!t->perf) {
		doctor_results__add("perf events", "ok", "%s opens", what);
		return;
	}
	if (t->perf == EPERM || t->perf == EACCES) {
		char note[64] = "";
		if (h->paranoid >= 0)
			snprintf(note, sizeof(note), "; kernel.perf_event_paranoid=%d",
				 h->paranoid);
		c = doctor_results__add("perf events", "no",
					"%s: not permitted (needs CAP_PERFMON, or root%s)", what,
					note);
		doctor_results__fix(
		    c, "%s%s", h->paranoid > 2 ? "sysctl kernel.perf_event_paranoid=2, or " : "",
		    h->container ? "docker run --cap-add PERFMON"
				 : "grant CAP_PERFMON, or run as root");
		if (h->seccomp == 2)
			doctor_results__append(c->fix, sizeof(c->fix),
					       "; a seccomp profile that allows perf_event_open");
		return;
	}
	if (t->perf == ENOSYS || t->perf == ENOENT || t->perf == ENODEV) {
		c = doctor_results__add("perf events", "no",
					"%s: %s (a kernel without CONFIG_PERF_EVENTS?)", what,
					strerror(t->perf));
		doctor_results__fix(c, "a kernel with CONFIG_PERF_EVENTS=y");
		return;
	}
	doctor_results__add("perf events", "unknown", "%s: %s", what, strerror(t->perf));
}

/* Informational: the trials, not the capabilities, decide what works. */
void doctor_checks__caps(const struct host *h)
{
	if (!h->caps_known) {
		doctor_results__add("capabilities", "unknown", "no CapEff in /proc/self/status");
		return;
	}
	char has[96] = "", lacks[96] = "";
	for (const struct doctor_cap *cap = doctor_host__caps; cap->name; cap++) {
		char *list = doctor_host__has_cap(h, cap->bit) ? has : lacks;
		doctor_results__append(list, sizeof(has), "%s%s", list[0] ? " " : "", cap->name);
	}
	char where[96];
	if (h->container)
		snprintf(where, sizeof(where), "in a container (%s)", h->container);
	else
		snprintf(where, sizeof(where), "not in a container");
	if (!lacks[0])
		doctor_results__add("capabilities", "ok", "effective: %s; %s", has, where);
	else if (!has[0])
		doctor_results__add("capabilities", "ok", "effective: none of %s; %s", lacks,
				    where);
	else
		doctor_results__add("capabilities", "ok", "effective: %s (not %s); %s", has, lacks,
				    where);
}

void doctor_checks__seccomp(const struct host *h, const struct trials *t)
{
	struct check *c;
	if (h->seccomp < 0) {
		doctor_results__add("seccomp", "unknown", "no Seccomp field in /proc/self/status");
		return;
	}
	if (h->seccomp == 0) {
		doctor_results__add("seccomp", "ok", "no filter");
		return;
	}
	if (h->seccomp == 1) {
		c = doctor_results__add("seccomp", "no",
					"strict mode: only read, write, exit and sigreturn");
		doctor_results__fix(c, "run filspy outside the strict-mode sandbox");
		return;
	}
	char count[32] = "";
	if (h->seccomp_filters > 0)
		snprintf(count, sizeof(count), " (%d)", h->seccomp_filters);
	if (!t->bpf && !t->perf && !t->trace_child && !t->trace_parent && !t->vm_readv) {
		doctor_results__add("seccomp", "ok",
				    "a filter is installed%s; it let every trial above through",
				    count);
		return;
	}
	/* the filter may or may not be what refused: capabilities refuse with EPERM too */
	c = doctor_results__add("seccomp", "unknown",
				"a filter is installed%s; it may be what refuses the trials "
				"that failed",
				count);
	doctor_results__fix(c, "%s", h->container ?
			    "docker run --security-opt seccomp=unconfined, or a profile that allows "
			    "ptrace, process_vm_readv, bpf and perf_event_open" :
			    "a seccomp profile that allows ptrace, process_vm_readv, bpf and "
			    "perf_event_open");
}

void doctor_checks__vm_readv(const struct host *h, const struct trials *t)
{
	struct check *c;
	if (!t->vm_readv) {
		doctor_results__add("process_vm_readv", "ok",
				    "reading its own memory works: all the self backend needs");
		return;
	}
	if (t->vm_readv == ENOSYS) {
		c = doctor_results__add("process_vm_readv", "no",
					"the kernel lacks it (CONFIG_CROSS_MEMORY_ATTACH)");
		doctor_results__fix(c, "a kernel with CONFIG_CROSS_MEMORY_ATTACH=y");
		return;
	}
	c = doctor_results__add("process_vm_readv", "no", "reading its own memory fails: %s%s",
				strerror(t->vm_readv),
				h->seccomp == 2 ? " (a seccomp filter is installed)" : "");
	doctor_results__fix(c, "%s", h->container ?
			    "docker run --security-opt seccomp=unconfined, or a profile that allows "
			    "process_vm_readv" : "a seccomp profile that allows process_vm_readv");
}

/* The py-spy the pyspy backend would run, and whether it is new enough. */
void doctor_checks__pyspy(void)
{
	char path[PATH_MAX], out[128], why[96], looked[1024];
	struct check *c;
	int err = pyspy_path__find(getenv("FIL_PERF_SPY_PYSPY"), path, sizeof(path), looked,
				   sizeof(looked));
	if (err) {
		c = doctor_results__add("py-spy", "no", "%s (looked %s)",
					err == -ENOENT ? "not found" : strerror(-err), looked);
		doctor_results__fix(c, "pip install py-spy, or set FIL_PERF_SPY_PYSPY to its path");
		return;
	}
	char *argv[] = { path, "--version", NULL };
	int rc = doctor_run__line(argv, out, sizeof(out));
	int major = -1, minor = -1;
	if (!doctor_run__ok(rc) || sscanf(out, "py-spy %d.%d", &major, &minor) != 2) {
		c = doctor_results__add("py-spy", "no", "%s --version %s", path,
					doctor_run__ok(rc)
					    ? "does not say py-spy X.Y"
					    : doctor_run__failure(rc, why, sizeof(why)));
		doctor_results__fix(
		    c, "check that %s is py-spy, or pip install --force-reinstall py-spy", path);
		return;
	}
	if (major < PYSPY_MIN_MAJOR || (major == PYSPY_MIN_MAJOR && minor < PYSPY_MIN_MINOR)) {
		c = doctor_results__add("py-spy", "no", "%s: %s is older than %d.%d", path, out,
					PYSPY_MIN_MAJOR, PYSPY_MIN_MINOR);
		doctor_results__fix(c, "pip install -U py-spy");
		return;
	}
	doctor_results__add("py-spy", "ok", "%s: %s", path, out);
}
