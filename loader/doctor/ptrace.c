/* What the ptrace trials and kernel.yama.ptrace_scope mean for the pyspy
 * backend, with the fix for each refusal. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "doctor_internal.h"
#include "filspy/spawn.h"

/* Why ptrace may be refused here, as "; a; b" for a detail line. */
static void ptrace_reasons(const struct host *h, bool to_parent, char *buf, size_t size)
{
	buf[0] = 0;
	if (h->tracer_pid > 0)
		doctor_results__append(
		    buf, size, "; filspy is itself traced by pid %d (a debugger or strace), %s",
		    h->tracer_pid,
		    to_parent ? "and a process has one tracer at most"
			      : "which may have taken the child first (strace -f)");
	if (h->seccomp == 2)
		doctor_results__append(buf, size, "; a seccomp filter is installed");
	if (h->yama == 3)
		doctor_results__append(buf, size,
				       "; kernel.yama.ptrace_scope=3 forbids every attach");
	else if (h->yama == 2 && !doctor_host__has_cap(h, CAP_SYS_PTRACE_BIT))
		doctor_results__append(buf, size,
				       "; kernel.yama.ptrace_scope=2 wants CAP_SYS_PTRACE");
	if (h->caps_known && !doctor_host__has_cap(h, CAP_SYS_PTRACE_BIT) && h->container)
		doctor_results__append(buf, size, "; no CAP_SYS_PTRACE in this container");
}

static void ptrace_fix(const struct host *h, struct check *c)
{
	doctor_results__fix(c, "%s%s",
			    h->tracer_pid > 0 ? "run filspy doctor outside the debugger; " : "",
			    h->container ? "docker run --cap-add SYS_PTRACE"
					 : "run as root or with CAP_SYS_PTRACE");
	if (h->yama == 2)
		doctor_results__append(c->fix, sizeof(c->fix),
				       "; sysctl kernel.yama.ptrace_scope=1");
	else if (h->yama == 3)
		doctor_results__append(c->fix, sizeof(c->fix),
				       "; kernel.yama.ptrace_scope=3 holds until a reboot: "
				       "set 1 in /etc/sysctl.d");
	if (h->container || h->seccomp == 2)
		doctor_results__append(c->fix, sizeof(c->fix),
				       "; seccomp: --security-opt seccomp=unconfined, or a "
				       "profile that allows ptrace and process_vm_readv");
}

/* A refused trial: what was tried, the kernel's answer, why it may refuse, the fix. */
static void refused(const struct host *h, const char *name, bool to_parent, const char *what,
		    int err)
{
	char why[DOCTOR_TEXT / 2];
	ptrace_reasons(h, to_parent, why, sizeof(why));
	ptrace_fix(h, doctor_results__add(name, "no", "%s: %s%s", what, strerror(err), why));
}

void doctor_ptrace__check(const struct host *h, const struct trials *t)
{
	if (!t->trace_child)
		doctor_results__add("ptrace of a child", "ok",
				    "filspy attaches (PTRACE_SEIZE) to a child of its own");
	else
		refused(h, "ptrace of a child", false,
			"attaching (PTRACE_SEIZE) to a child of its own", t->trace_child);
	if (!t->trace_parent)
		doctor_results__add("ptrace by a child", "ok", "a child granted PR_SET_PTRACER "
				    "attaches (PTRACE_SEIZE) to filspy, as the pyspy backend needs");
	else if (t->trace_parent == ETIMEDOUT)
		doctor_results__add("ptrace by a child", "unknown", "the child trying to attach to "
				    "filspy did not answer within %d s", SPAWN_TRACE_TIMEOUT_MS / 1000);
	else
		refused(h, "ptrace by a child", true,
			"a child granted PR_SET_PTRACER cannot attach to filspy", t->trace_parent);
}

void doctor_ptrace__check_yama(const struct host *h)
{
	static const char *const meaning[] = {
		"classic: any process of the same user",
		"restricted: descendants, or a process granted with PR_SET_PTRACER",
		"admin only: CAP_SYS_PTRACE",
		"no attach at all, until a reboot",
	};
	struct check *c;
	if (h->yama < 0) {
		doctor_results__add("Yama ptrace_scope", "ok",
				    "not present: the classic ptrace rules apply");
		return;
	}
	const char *m = h->yama <= 3 ? meaning[h->yama] : "unknown value";
	if (h->yama <= 1 || (h->yama == 2 && doctor_host__has_cap(h, CAP_SYS_PTRACE_BIT))) {
		doctor_results__add("Yama ptrace_scope", "ok", "kernel.yama.ptrace_scope=%d (%s)",
				    h->yama, m);
		return;
	}
	c = doctor_results__add("Yama ptrace_scope", "no", "kernel.yama.ptrace_scope=%d (%s)",
				h->yama, m);
	if (h->yama == 2)
		doctor_results__fix(c, "sysctl kernel.yama.ptrace_scope=1, or CAP_SYS_PTRACE");
	else
		doctor_results__fix(c,
				    "set kernel.yama.ptrace_scope=1 in /etc/sysctl.d and reboot");
}
