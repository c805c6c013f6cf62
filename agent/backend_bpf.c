/* The `bpf` backend: a perf-event program samples whichever of our threads is on a
 * CPU and walks its Python frames in the kernel (bpf/pystacks.bpf.c). This side,
 * on the sampling thread, loads it through libfilspy-bpf.so (dlopen: libbpf, libelf
 * and zlib never weigh on the preload), tells it which PyThreadState each kernel
 * thread runs, and turns its records into profile stacks with the self backend's symbol
 * cache. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "filspy/bpf_session.h"
#include "filspy/log.h"
#include "filspy/pystack.h"
#include "filspy/symcache.h"
#include "stacks.h"
#include "threadnames.h"

#define MAX_THREADS 1024
#define LIBRARY "libfilspy-bpf.so"

struct bpf_state {
	py_runtime rt;
	void *library;
	const fsbpf_interface_t *api;
	fsbpf_session *session;
	struct fsbpf_plan plan;
	py_thread listed[MAX_THREADS];
	uint64_t mapped_thread[MAX_THREADS], mapped_tstate[MAX_THREADS]; /* tid -> tstate */
	int n_mapped;
	py_frame_ref frames[FSBPF_MAX_FRAMES];
	uint32_t checks[FSBPF_MAX_FRAMES];
	stack_builder stacks;
	uint64_t records, filtered;
	char why[320];
};

/* The library sits next to the preload (build/ or $PREFIX/lib). */
static void *open_library(char *why, size_t size)
{
	Dl_info self;
	char path[4096];
	if (!dladdr((void *)&backend_bpf, &self) || !self.dli_fname) {
		snprintf(why, size, "cannot tell where libfilspy.so is");
		return NULL;
	}
	const char *slash = strrchr(self.dli_fname, '/');
	int dir = slash ? (int)(slash - self.dli_fname) : 1;
	snprintf(path, sizeof(path), "%.*s/%s", dir, slash ? self.dli_fname : ".", LIBRARY);
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		snprintf(why, size, "%s cannot be loaded: %s", LIBRARY, dlerror());
	return lib;
}

/* The walk plan for this interpreter, from the version module's offsets. */
static int make_plan(fs_agent *a, struct bpf_state *st, const char **why)
{
	const py_offsets *o = st->rt.off;
	struct fsbpf_plan *p = &st->plan;
	if (o->frame_size > FSBPF_FRAME_READ) {
		*why = "this CPython's frame layout is larger than the BPF walk reads";
		return -ENOTSUP;
	}
	p->tgid = (uint32_t)a->pid;
	p->cframe_current_frame = -1;
	p->cframe_previous = -1;
	if (o->tstate_frame != PY_NO_OFFSET) {
		p->tstate_frame = o->tstate_frame;
	} else if (o->tstate_current_frame != PY_NO_OFFSET) {
		p->tstate_frame = o->tstate_current_frame;
	} else {
		p->tstate_frame = o->tstate_cframe;
		p->cframe_current_frame = o->cframe_current_frame;
		p->cframe_previous = o->cframe_previous;
	}
	p->frame_previous = o->frame_previous;
	p->frame_code = o->frame_code;
	p->frame_instr = o->frame_instr;
	p->frame_owner = o->frame_owner_cstack != PY_NO_OFFSET ? o->frame_owner : -1;
	p->frame_owner_cstack = o->frame_owner_cstack;
	p->frame_size = o->frame_size;
	p->code_check = o->code_qualname != PY_NO_OFFSET ? o->code_qualname : o->code_name;
	p->code_code_adaptive = o->code_code_adaptive;
	p->instr_is_pointer = st->rt.minor >= 11;
	p->code_tag_mask = st->rt.code_tag_mask;
	uintptr_t locked, holder, interp = pyruntime__interpreters_head(&st->rt);
	if (interp && pyruntime__gil_fields(&st->rt, interp, &locked, &holder) == 0) {
		p->gil_locked = locked;
		p->gil_holder = holder;
	}
	return 0;
}

/* The thread state the program should read for thread j of the list: a thread
 * with states in several interpreters runs Python in the one that has frames, and
 * when several do, in the newest interpreter (the list starts with it): that is
 * where a sub-interpreter's run_string() or exec() took it. */
static bool preferred(const struct bpf_state *st, int n, int j)
{
	for (int k = 0; k < n; k++) {
		if (k == j || st->listed[k].tid != st->listed[j].tid)
			continue;
		bool k_runs = st->listed[k].top_frame != 0, j_runs = st->listed[j].top_frame != 0;
		if (k_runs != j_runs ? k_runs : k < j)
			return false;
	}
	return true;
}

/* Keeps the program's thread map equal to the interpreter's list of threads. */
static void sync_threads(struct bpf_state *st, const fs_settings *s)
{
	int n = pythreads__list(&st->rt, st->listed, MAX_THREADS);
	/* Python thread names, for the roots and the blocklist (cached by threadnames) */
	if (s->threads || s->blocklist[0])
		for (int j = 0; j < n; j++)
			threadnames__get(&st->rt, &st->listed[j]);
	for (int i = 0; i < st->n_mapped; i++) {
		int j = 0;
		while (j < n && (uint64_t)st->listed[j].tid != st->mapped_thread[i])
			j++;
		if (j == n) {
			st->api->set_thread(st->session, st->mapped_thread[i], 0);
			st->mapped_thread[i] = st->mapped_thread[--st->n_mapped];
			st->mapped_tstate[i] = st->mapped_tstate[st->n_mapped];
			i--;
		}
	}
	for (int j = 0; j < n; j++) {
		const py_thread *t = &st->listed[j];
		if (!t->tid || !preferred(st, n, j))
			continue;
		int i = 0;
		while (i < st->n_mapped && st->mapped_thread[i] != (uint64_t)t->tid)
			i++;
		if (i < st->n_mapped && st->mapped_tstate[i] == t->tstate)
			continue;
		if (st->api->set_thread(st->session, (uint64_t)t->tid, t->tstate) < 0)
			continue;
		if (i == st->n_mapped)
			st->n_mapped++;
		st->mapped_thread[i] = (uint64_t)t->tid;
		st->mapped_tstate[i] = t->tstate;
	}
}

static void on_record(void *ctx, const struct fsbpf_sample *head, const struct fsbpf_frame *frames)
{
	fs_agent *a = ctx;
	struct bpf_state *st = a->backend_state;
	const fs_settings *s = &a->settings;
	int depth = head->depth < FSBPF_MAX_FRAMES ? head->depth : FSBPF_MAX_FRAMES;

	st->records++;
	if ((s->gil && st->plan.gil_locked && !(head->flags & FSBPF_GIL_HELD)) ||
	    (s->blocklist[0] && settings__matches_globs(s->blocklist, threadnames__of((int)head->tid)))) {
		st->filtered++;
		return;
	}
	for (int i = 0; i < depth; i++) {
		uintptr_t code = (uintptr_t)frames[i].code;
		int32_t instr = (int32_t)frames[i].instr;
		st->frames[i].code = code;
		/* back to what the symbol cache expects: an instruction pointer from
		 * 3.11, f_lasti before */
		st->frames[i].instr = st->plan.instr_is_pointer
			? code + (uintptr_t)st->plan.code_code_adaptive + (uintptr_t)((intptr_t)instr * 2)
			: (uintptr_t)(intptr_t)instr;
		st->checks[i] = frames[i].check;
	}
	stacks__add(a, &st->stacks, (int)head->tid, st->frames, st->checks, depth,
		    head->flags & FSBPF_TRUNCATED);
}

static void release(struct bpf_state *st)
{
	if (st->session)
		st->api->close(st->session);
	if (st->library)
		dlclose(st->library);
	symcache__free(st->stacks.cache);
	free(st);
}

static int bpf_start(fs_agent *a, const char **why)
{
	if (!a->rt_found) {
		*why = a->rt_why;
		return -ENOTSUP;
	}
	if (a->settings.backend == FS_BACKEND_AUTO && a->settings.idle) {
		*why = "FIL_PERF_SPY_IDLE asks for idle threads, and it samples threads only "
		       "while they run on a CPU";
		return -ENOTSUP;
	}
	if (a->settings.backend == FS_BACKEND_AUTO && (a->settings.formats & FS_FORMAT_GIL)) {
		*why = "the GIL view (FIL_PERF_SPY_OUTPUT=gil) needs every thread's state, "
		       "which it does not tell yet";
		return -ENOTSUP;
	}
	struct bpf_state *st = calloc(1, sizeof(*st));
	if (!st) {
		*why = "out of memory";
		return -ENOMEM;
	}
	st->rt = a->rt;
	threadnames__forget(); /* in a forked child: the parent's threads */
	int err = make_plan(a, st, why);
	if (err < 0) {
		free(st);
		return err;
	}
	st->library = open_library(st->why, sizeof(st->why));
	if (st->library) {
		st->api = dlsym(st->library, FSBPF_INTERFACE_SYMBOL);
		if (!st->api || st->api->version != FSBPF_INTERFACE_VERSION)
			snprintf(st->why, sizeof(st->why), "%s is from another filspy build", LIBRARY);
		else
			st->session = st->api->open(&st->plan, a->settings.rate_hz, st->why,
						    sizeof(st->why));
	}
	st->stacks.cache = st->session ? symcache__new(&st->rt) : NULL;
	if (!st->stacks.cache) {
		/* the reason outlives this call: the chooser prints it after we return */
		static char reason[sizeof(st->why)];
		snprintf(reason, sizeof(reason), "%s", st->session ? "out of memory" : st->why);
		*why = reason;
		release(st);
		return -ENOTSUP;
	}
	a->backend_state = st;
	sync_threads(st, &a->settings);
	if (a->settings.native)
		fs_warn("FIL_PERF_SPY_NATIVE: the bpf backend sees Python frames only; "
			"native frames are left out (the pyspy backend has them)");
	if (a->settings.idle)
		fs_warn("FIL_PERF_SPY_IDLE: the bpf backend samples threads while they run on "
			"a CPU; idle threads are not sampled (the self backend samples them)");
	if (a->settings.gil && !st->plan.gil_locked)
		fs_warn("FIL_PERF_SPY_GIL: the GIL holder of CPython %d.%d cannot be read; "
			"keeping every thread's samples", st->rt.major, st->rt.minor);
	return 0;
}

static void bpf_poll(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	sync_threads(st, &a->settings);
	st->api->drain(st->session, on_record, a);
}

static void bpf_stop(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	if (!st)
		return;
	st->api->drain(st->session, on_record, a);
	uint64_t n[FSBPF_STAT_COUNT];
	st->api->stats(st->session, n);
	fs_debug("bpf backend: %llu events in this process, %llu without Python, %llu torn, "
		 "%llu records (%llu lost to a full ring buffer, %llu cut by an unreadable frame), "
		 "%llu filtered out, %llu stale frames",
		 (unsigned long long)n[FSBPF_STAT_EVENTS], (unsigned long long)n[FSBPF_STAT_NO_TSTATE],
		 (unsigned long long)n[FSBPF_STAT_TORN], (unsigned long long)n[FSBPF_STAT_EMITTED],
		 (unsigned long long)n[FSBPF_STAT_LOST], (unsigned long long)n[FSBPF_STAT_UNREADABLE],
		 (unsigned long long)st->filtered,
		 (unsigned long long)st->stacks.stale);
	release(st);
	a->backend_state = NULL;
}

static void bpf_dump(fs_agent *a, FILE *f)
{
	struct bpf_state *st = a->backend_state;
	if (st)
		stacks__dump(a, &st->rt, &st->stacks, f);
}

/* In a forked child: the parent's events and maps must not live on here. */
void backend_bpf__after_fork(fs_agent *a)
{
	struct bpf_state *st = a->backend == &backend_bpf ? a->backend_state : NULL;
	if (st && st->session)
		st->api->drop_after_fork(st->session);
	a->backend_state = NULL; /* the parent's: never freed here */
}

const fs_backend backend_bpf = {
	.name = "bpf",
	.start = bpf_start,
	.poll = bpf_poll,
	.stop = bpf_stop,
	.dump = bpf_dump,
};
