/* The `self` backend: the sampling thread reads its own interpreter's threads and
 * frames through process_vm_readv, so a torn read is an error, never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "filspy/log.h"
#include "filspy/pystack.h"
#include "filspy/symcache.h"
#include "stacks.h"

#define MAX_THREADS 1024
#define WALK_ATTEMPTS 16 /* a coroutine switching every few us tears many walks */

struct self_state {
	py_runtime rt;
	py_thread threads[MAX_THREADS];
	py_frame_ref frames[STACKS_MAX_DEPTH];
	stack_builder stacks;
	uint64_t torn;        /* thread samples dropped because their chain kept changing */
};

static int self_start(fs_agent *a, const char **why)
{
	struct self_state *st = calloc(1, sizeof(*st));
	if (!st) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (!a->rt_found) {
		free(st);
		*why = a->rt_why;
		return -ENOTSUP;
	}
	st->rt = a->rt;
	if (a->settings.native)
		fs_warn("FIL_PERF_SPY_NATIVE: the self backend sees Python frames only; "
			"native frames are left out (the pyspy backend has them)");
	st->stacks.cache = symcache__new(&st->rt);
	if (!st->stacks.cache) {
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	fs_debug("CPython %d.%d.%d, offsets from %s", st->rt.major, st->rt.minor, st->rt.micro,
		 st->rt.offsets_source);
	if (a->settings.gil && !pyruntime__knows_gil(&st->rt))
		fs_warn("FIL_PERF_SPY_GIL: the GIL holder of CPython %d.%d cannot be read; "
			"keeping every thread's samples", st->rt.major, st->rt.minor);
	a->backend_state = st;
	return 0;
}

static void sample_thread(fs_agent *a, struct self_state *st, const py_thread *t)
{
	bool truncated;
	int depth = -EAGAIN;
	/* a torn chain is read again from the thread's current top frame */
	for (int attempt = 0; attempt < WALK_ATTEMPTS && depth == -EAGAIN; attempt++) {
		uintptr_t must_reach = t->must_reach;
		uintptr_t top = attempt ? pythreads__top_frame(&st->rt, t->tstate, &must_reach)
					: t->top_frame;
		depth = top ? pyframes__walk(&st->rt, top, must_reach, st->frames, STACKS_MAX_DEPTH,
					     &truncated) : 0;
	}
	if (depth == -EAGAIN)
		st->torn++;
	if (depth > 0)
		stacks__add(a, &st->stacks, t->tid, st->frames, NULL, depth, truncated);
}

static void self_sample(fs_agent *a)
{
	struct self_state *st = a->backend_state;
	const fs_settings *s = &a->settings;
	if (pyruntime__finalizing(&st->rt))
		return;
	int n = pythreads__list(&st->rt, st->threads, MAX_THREADS);
	uintptr_t holder = 0, holder_interp = 0;
	for (int i = 0; i < n; i++) {
		const py_thread *t = &st->threads[i];
		if (!t->top_frame)
			continue;
		if (s->blocklist[0] && settings__matches_globs(s->blocklist, procthreads__name(t->tid)))
			continue;
		if (!s->idle && t->tid && !procthreads__running(t->tid))
			continue;
		if (s->gil && pyruntime__knows_gil(&st->rt)) {
			if (!holder_interp || holder_interp != t->interp) {
				holder_interp = t->interp;
				holder = pyruntime__gil_holder(&st->rt, t->interp);
			}
			if (holder != t->tstate)
				continue;
		}
		sample_thread(a, st, t);
	}
}

static void self_dump(fs_agent *a, FILE *f)
{
	struct self_state *st = a->backend_state;
	if (st)
		stacks__dump(a, &st->rt, &st->stacks, f);
}

static void self_stop(fs_agent *a)
{
	struct self_state *st = a->backend_state;
	if (!st)
		return;
	fs_debug("self backend: %llu thread samples dropped as torn, %u code objects cached",
		 (unsigned long long)st->torn, symcache__size(st->stacks.cache));
	symcache__free(st->stacks.cache);
	free(st);
	a->backend_state = NULL;
}

const fs_backend backend_self = {
	.name = "self",
	.start = self_start,
	.sample = self_sample,
	.stop = self_stop,
	.dump = self_dump,
};
