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
#include "sampling/idlehold.h"
#include "sampling/threadwatch.h"
#include "filspy/clock.h"

#define MAX_THREADS 1024
/* A walk is torn when the chain changes under it: pyframes__sample checks that the
 * thread had the stack it read, walks again in fresh copies a few times itself, and
 * starts over from the thread state here. On 3.11+ nearly every sample settles in
 * the first call (bench/consistent.py); on 3.6-3.10 a C-stack guess whose bracket
 * moved comes back at once to start again from the new top (cstackguess.c). With
 * 4 attempts, a host whose system calls are slow (1.5 us a process_vm_readv)
 * dropped 7-13 % of the samples of 20 us chains on 3.8; with 8, 1.5-2 %. */
#define WALK_ATTEMPTS 8
/* held samples of idle threads go into the profile at least this often */
#define HELD_FLUSH_NS 1000000000LL

struct self_state {
	py_runtime rt;
	py_thread threads[MAX_THREADS];
	py_frame_ref frames[STACKS_MAX_DEPTH];
	stack_builder stacks;
	py_walk *walk;
	threadwatch *watch;   /* which threads a round reads */
	idlehold *held;       /* with IDLE, the last samples of the others */
	int64_t flushed_at;
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
	if (st->stacks.cache)
		symcache__full_paths(st->stacks.cache, a->settings.full_filenames);
	st->stacks.rt = &st->rt;
	st->walk = pyframes__new_walk(&st->rt, STACKS_MAX_DEPTH);
	st->watch = threadwatch__new();
	st->held = idlehold__new();
	if (!st->stacks.cache || !st->walk || !st->watch || !st->held) {
		symcache__free(st->stacks.cache);
		pyframes__free_walk(st->walk);
		threadwatch__free(st->watch);
		idlehold__free(st->held);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	fs_debug("CPython %s, offsets from %s", st->rt.version, st->rt.offsets_source);
	bool knows_gil = pyruntime__knows_gil(&st->rt);
	stacks__warn_limits("self", &a->settings, &st->rt, false, knows_gil,
			    a->settings.formats & FS_FORMAT_GIL, knows_gil);
	threadnames__forget(); /* in a forked child: the parent's threads */
	if (gilview__start(a) < 0) {
		symcache__free(st->stacks.cache);
		pyframes__free_walk(st->walk);
		threadwatch__free(st->watch);
		idlehold__free(st->held);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	a->backend_state = st;
	a->lost_dropped = a->lost_cut = 0;
	a->lost_known = true;
	a->gil_samples = a->active_samples = 0;
	/* counted in top mode only: it costs a read a round */
	a->gil_known = pyruntime__knows_gil(&st->rt) && a->settings.mode == FS_MODE_TOP;
	a->native_frames = false;
	return 0;
}

/* Walks thread t and adds the sample to a->profile (to_main) and to the GIL view
 * (state < TS_COUNT). Returns the depth (st->frames holds the frames), or <= 0. */
static int sample_thread(fs_agent *a, struct self_state *st, const py_thread *t, bool to_main,
			 enum fs_thread_state state, const char *name, bool *truncated)
{
	int depth = -EAGAIN;
	/* a torn chain is read again from the thread's current top frame */
	st->walks++;
	for (int attempt = 0; attempt < WALK_ATTEMPTS && depth == -EAGAIN; attempt++) {
		st->retried += attempt == 1;
		depth = pyframes__sample(&st->rt, st->walk, t->tstate, st->frames, STACKS_MAX_DEPTH,
					 truncated);
	}
	if (depth == -EAGAIN) {
		st->torn++;
		a->lost_dropped++;
	}
	if (depth <= 0)
		return depth;
	a->lost_cut += *truncated;
	if (state < TS_COUNT)
		gilview__add(a, &st->stacks, to_main, state, t->tid, name, st->frames, NULL, depth,
			     *truncated, 1);
	else
		stacks__add(a, &st->stacks, t->tid, st->frames, NULL, depth, *truncated);
	return depth;
}

/* Which threads a round reads. Without the GIL view, only threads that used a CPU
 * since they were last read can have a new stack: the watched ones, unless the
 * process's CPU time says others ran too (threadwatch). With IDLE, the others'
 * last samples count again (idlehold); without, they are not on a CPU. */
static int threads_of_round(fs_agent *a, struct self_state *st, bool watching, bool *scan,
			    int *settling)
{
	const fs_settings *s = &a->settings;
	int n = watching ? threadwatch__quiet(st->watch, &st->rt, s->idle, st->threads,
					       MAX_THREADS, settling) : -1;
	*scan = n < 0;
	if (*scan) {
		idlehold__clear(st->held, a);
		n = pythreads__list(&st->rt, st->threads, MAX_THREADS);
		if (watching)
			threadwatch__scan_begin(st->watch, &st->rt);
		*settling = n;
		return n;
	}
	idlehold__tick(st->held);
	int64_t now = clock__now_ns();
	if (now - st->flushed_at >= HELD_FLUSH_NS) {
		idlehold__flush(st->held, a);
		st->flushed_at = now;
	}
	return n;
}

static void self_sample(fs_agent *a)
{
	struct self_state *st = a->backend_state;
	const fs_settings *s = &a->settings;
	if (pyruntime__finalizing(&st->rt))
		return;
	bool view = gilview__on(), watching = !view, scan;
	int settling;
	int n = threads_of_round(a, st, watching, &scan, &settling);
	/* top's header: who holds the GIL, read once a round, only for top */
	uintptr_t holder = a->gil_known && n > 0 && s->mode == FS_MODE_TOP
		? pyruntime__gil_holder(&st->rt, st->threads[0].interp) : 0;
	if (scan)
		a->python_threads = n; /* the thread states listed, as py-spy counts them */
	/* the full classification costs a second /proc read per thread: only when asked */
	bool classify = view || (s->gil && pyruntime__knows_gil(&st->rt));
	/* names only when something shows or matches them (speedscope names its
	 * per-thread profiles): reading them costs */
	bool named = view || s->threads || s->blocklist[0] || (s->formats & FS_FORMAT_SPEEDSCOPE);
	gil_info gil = { 0 };
	for (int i = 0; i < n; i++) {
		const py_thread *t = &st->threads[i];
		bool used = scan ? !watching || threadwatch__scanned(st->watch, t) : i < settling;
		if (!used && !s->idle)
			continue; /* no CPU since the last full round: not on one now */
		/* a watched thread's top_frame is from its listing: the walk reads it anew */
		if (scan && !t->top_frame)
			continue;
		const char *name = named ? threadnames__get(&st->rt, t) : "";
		if (s->blocklist[0] && settings__matches_globs(s->blocklist, name))
			continue;
		enum fs_thread_state state = TS_COUNT;
		bool running = true;
		if (classify) {
			threadstate__gil(&st->rt, t->interp, &gil);
			state = threadstate__classify(&st->rt, &gil, t, &running);
		} else if (!s->idle) {
			running = !t->tid || procthreads__running(t->tid);
		}
		bool keep = (s->idle || running) &&
			    (!s->gil || !gil.knows_holder || state == TS_HOLDING);
		if (!keep && !view)
			continue;
		bool truncated = false;
		st->stacks.keep_ids = !used; /* idlehold__keep below takes them */
		int depth = sample_thread(a, st, t, keep, view ? state : TS_COUNT, name, &truncated);
		if (depth > 0 && keep) {
			a->active_samples += running;
			a->gil_samples += holder && holder == t->tstate;
		}
		if (depth > 0 && !used && keep && !view)
			idlehold__keep(st->held, t->tid, &st->stacks);
	}
	if (scan && watching)
		threadwatch__scan_end(st->watch);
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
	idlehold__clear(st->held, a); /* the idle threads' last counts */
	uint64_t scans, quiet;
	threadwatch__counts(st->watch, &scans, &quiet);
	fs_debug("self backend: %llu thread samples, %llu walked again after a tear, %llu "
		 "dropped as torn, %u code objects cached, %llu read whole from a C-stack guess, "
		 "%llu vouched for by the C stack; %llu rounds listed every thread, %llu only "
		 "those using a CPU",
		 (unsigned long long)st->walks, (unsigned long long)st->retried,
		 (unsigned long long)st->torn, symcache__size(st->stacks.cache),
		 (unsigned long long)pyframes__guessed(st->walk),
		 (unsigned long long)pyframes__witnessed(st->walk), (unsigned long long)scans,
		 (unsigned long long)quiet);
	symcache__free(st->stacks.cache);
	stacks__release(&st->stacks);
	pyframes__free_walk(st->walk);
	threadwatch__free(st->watch);
	idlehold__free(st->held);
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
