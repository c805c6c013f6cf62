/* The `self` backend: the sampling thread reads its own interpreter's threads and
 * frames through process_vm_readv, so a torn read is an error, never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "filspy/log.h"
#include "filspy/pystack.h"
#include "filspy/symcache.h"
#include "sampling/gilview.h"
#include "sampling/stacks.h"
#include "sampling/threadnames.h"
#include "sampling/threadstate.h"
#include "sampling/procthreads.h"

#define MAX_THREADS 1024
/* A walk is torn when the chain changes under it: pyframes__sample checks that the
 * thread had the stack it read, walks again in fresh copies a few times itself, and
 * starts over from the thread state here. On 3.11+ nearly every sample settles in
 * the first call (bench/consistent.py); on 3.6-3.10, where each frame is a read of
 * its own, a program that changes its chain every few microseconds outruns the
 * reads, and more attempts only cost CPU. */
#define WALK_ATTEMPTS 4

struct self_state {
	py_runtime rt;
	py_thread threads[MAX_THREADS];
	py_frame_ref frames[STACKS_MAX_DEPTH];
	stack_builder stacks;
	py_walk *walk;
	uint64_t walks, retried; /* thread samples walked; walks started again after a tear */
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
	st->stacks.cache = symcache__new(&st->rt);
	st->stacks.rt = &st->rt;
	st->walk = pyframes__new_walk(&st->rt, STACKS_MAX_DEPTH);
	if (!st->stacks.cache || !st->walk) {
		symcache__free(st->stacks.cache);
		pyframes__free_walk(st->walk);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	fs_debug("CPython %s, offsets from %s", st->rt.version, st->rt.offsets_source);
	bool knows_gil = pyruntime__knows_gil(&st->rt);
	stacks__warn_limits("self", &a->settings, &st->rt, knows_gil,
			    a->settings.formats & FS_FORMAT_GIL, knows_gil);
	threadnames__forget(); /* in a forked child: the parent's threads */
	if (gilview__start(a) < 0) {
		symcache__free(st->stacks.cache);
		pyframes__free_walk(st->walk);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	a->backend_state = st;
	return 0;
}

/* Walks thread t and adds the sample to a->profile (to_main) and to the GIL view
 * (state < TS_COUNT). */
static void sample_thread(fs_agent *a, struct self_state *st, const py_thread *t, bool to_main,
			  enum fs_thread_state state, const char *name)
{
	bool truncated;
	int depth = -EAGAIN;
	/* a torn chain is read again from the thread's current top frame */
	st->walks++;
	for (int attempt = 0; attempt < WALK_ATTEMPTS && depth == -EAGAIN; attempt++) {
		st->retried += attempt == 1;
		depth = pyframes__sample(&st->rt, st->walk, t->tstate, st->frames, STACKS_MAX_DEPTH,
					 &truncated);
	}
	if (depth == -EAGAIN)
		st->torn++;
	if (depth <= 0)
		return;
	if (state < TS_COUNT)
		gilview__add(a, &st->stacks, to_main, state, t->tid, name, st->frames, NULL, depth,
			     truncated, 1);
	else
		stacks__add(a, &st->stacks, t->tid, st->frames, NULL, depth, truncated);
}

static void self_sample(fs_agent *a)
{
	struct self_state *st = a->backend_state;
	const fs_settings *s = &a->settings;
	if (pyruntime__finalizing(&st->rt))
		return;
	int n = pythreads__list(&st->rt, st->threads, MAX_THREADS);
	bool view = gilview__on();
	/* the full classification costs a second /proc read per thread: only when asked */
	bool classify = view || (s->gil && pyruntime__knows_gil(&st->rt));
	/* names only when something shows or matches them (speedscope names its
	 * per-thread profiles): reading them costs */
	bool named = view || s->threads || s->blocklist[0] || (s->formats & FS_FORMAT_SPEEDSCOPE);
	gil_info gil = { 0 };
	for (int i = 0; i < n; i++) {
		const py_thread *t = &st->threads[i];
		if (!t->top_frame)
			continue;
		const char *name = named ? threadnames__get(&st->rt, t) : "";
		if (s->blocklist[0] && settings__matches_globs(s->blocklist, name))
			continue;
		enum fs_thread_state state = TS_COUNT;
		bool running;
		if (classify) {
			threadstate__gil(&st->rt, t->interp, &gil);
			state = threadstate__classify(&st->rt, &gil, t, &running);
		} else {
			running = !t->tid || procthreads__running(t->tid);
		}
		bool keep = (s->idle || running) &&
			    (!s->gil || !gil.knows_holder || state == TS_HOLDING);
		if (keep || view)
			sample_thread(a, st, t, keep, view ? state : TS_COUNT, name);
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
	fs_debug("self backend: %llu thread samples, %llu walked again after a tear, %llu "
		 "dropped as torn, %u code objects cached", (unsigned long long)st->walks,
		 (unsigned long long)st->retried, (unsigned long long)st->torn,
		 symcache__size(st->stacks.cache));
	symcache__free(st->stacks.cache);
	pyframes__free_walk(st->walk);
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
