/* The real bpf trial of `filspy doctor`: the backend's own programs, loaded from
 * libfilspy-bpf.so, checked by this kernel's verifier and attached for a moment. */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"
#include "doctor_internal.h"
#include "filspy/pystacks_api.h"

/* What the sched_switch program needs beyond the perf-event one: the raw
 * tracepoint's prev_state argument (Linux 5.18) and kernel BTF for the thread's
 * saved registers (bpf_task_pt_regs). No tracefs: it attaches by name. */
static void set_off_cpu_fix(const struct host *h, struct check *c)
{
	const char *meanwhile = "; meanwhile FIL_PERF_SPY_BACKEND=self gives idle threads and the "
				"GIL view";
	if (h->btf_err)
		doctor_results__fix(c, "a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are): "
				    "the program reads a thread's saved registers through it%s",
				    meanwhile);
	else if (!doctor_host__kernel_at_least(h, 5, 18))
		doctor_results__fix(c, "Linux 5.18 or newer (Debian 12's backports kernel): its "
				    "sched_switch tracepoint passes prev_state to BPF%s", meanwhile);
	else
		doctor_results__fix(c, "FIL_PERF_SPY_DEBUG=1 FIL_PERF_SPY_BACKEND=bpf "
				    "FIL_PERF_SPY_IDLE=1 on a program shows libbpf's whole reason%s",
				    meanwhile);
}

/* libfilspy-bpf.so next to libfilspy.so loads the backend's own program and
 * attaches it to every CPU for a moment, with a plan that matches no process;
 * then again with its sched_switch program. */
static void try_bpf_programs(const struct host *h)
{
	char lib[PATH_MAX], why[512];
	const char *name = "bpf program";
	if (cli__find_library(lib, sizeof(lib)) < 0) {
		struct check *c =
		    doctor_results__add(name, "no", "libfilspy.so is not found next to filspy");
		doctor_results__fix(c, "make, or make install");
		return;
	}
	char *slash = strrchr(lib, '/');
	snprintf(slash ? slash + 1 : lib, sizeof(lib) - (size_t)(slash ? slash + 1 - lib : 0),
		 "libfilspy-bpf.so");
	void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		struct check *c =
		    doctor_results__add(name, "no", "%s cannot be loaded: %s", lib, dlerror());
		doctor_results__fix(c, "make (it needs libbpf1), or install libbpf1");
		return;
	}
	const fsbpf_interface_t *api = dlsym(dl, FSBPF_INTERFACE_SYMBOL);
	if (!api || api->version != FSBPF_INTERFACE_VERSION) {
		doctor_results__add(name, "no", "%s is from another filspy build", lib);
		dlclose(dl);
		return;
	}
	struct fsbpf_plan plan = { .tgid = UINT32_MAX, .tstate_frame = 0, .cframe_current_frame = -1,
				   .cframe_previous = -1, .frame_owner = -1,
				   .frame_owner_cstack = -1, .frame_size = 72, .code_tag_mask = ~0ULL };
	fsbpf_session *session = api->open(&plan, 100, 0, why, sizeof(why));
	if (!session) {
		doctor_results__add(name, "no", "%s", why);
		dlclose(dl);
		return;
	}
	doctor_results__add(name, "ok",
			    "the bpf backend's program loads, passes this kernel's verifier "
			    "and attaches to every CPU");
	api->close(session);
	/* idle threads and the GIL view add a sched_switch program */
	session = api->open(&plan, 100, 1, why, sizeof(why));
	if (session) {
		doctor_results__add("bpf off-CPU", "ok",
				    "its sched_switch program loads and attaches: "
				    "FIL_PERF_SPY_IDLE and the GIL view can use bpf");
		api->close(session);
	} else {
		set_off_cpu_fix(h, doctor_results__add("bpf off-CPU", "no", "%s", why));
	}
	dlclose(dl);
}

void doctor_bpf_program__check(const struct host *h)
{
	try_bpf_programs(h);
	if (!doctor_results__is_ok("bpf program"))
		doctor_results__add("bpf off-CPU", "no",
				    "it needs the bpf program, which does not load here");
}
