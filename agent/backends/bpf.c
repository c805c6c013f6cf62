/* The `bpf` backend: a perf-event program samples whichever of our threads is on a
 * CPU and walks its Python frames in the kernel (bpf/pystacks.bpf.c). This side,
 * on the sampling thread, loads it through libfilspy-bpf.so (dlopen: libbpf, libelf
 * and zlib never weigh on the preload), tells it which PyThreadState each kernel
 * thread runs, and turns its records into profile stacks with the self backend's symbol
 * cache. For idle threads and the GIL view it also loads the sched_switch program:
 * a thread's stack when it leaves its CPU, weighed by the time until it runs
 * again, stands for the samples a wall clock would have taken meanwhile. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "filspy/pystacks_api.h"
#include "filspy/log.h"
#include "filspy/pystack.h"
#include "filspy/symcache.h"
#include "sampling/gilview.h"
#include "sampling/offcpu.h"
#include "sampling/stacks.h"
#include "sampling/threadnames.h"
#include "sampling/threadstate.h"

#define MAX_THREADS 1024
/* A thread woken to take the GIL runs a few microseconds before it has it; on a
 * busy machine it may be preempted in between. Seen without the GIL this soon after
 * such a wake-up, it still counts as waiting (the self backend reasons the same
 * way, see threadstate.c). */
#define WOKEN_WAITER_NS 1000000
#define LIBRARY "libfilspy-bpf.so"
#define SYNC_SHARE 20
#define MISSED_LISTINGS 3
#define SYNC_MAX_NS 200000000ULL
/* A clock that fires every P ns samples work that repeats every P ns (a 100 Hz
 * loop, a 10 ms timer) at the same point of its cycle each time, and one function
 * gets every sample. Restarted at random moments (the sampler's polls are
 * jittered) at a rate drawn within +-RATE_SPREAD of the one asked (the mean rate
 * stays the one asked), the clocks drift across any cycle. A restart drops the
 * part of a period already run on each CPU: once every RESTART_PERIODS periods,
 * about 1/(2 RESTART_PERIODS) of the samples. */
#define RESTART_PERIODS 25
#define RATE_SPREAD 0.25

struct bpf_state {
	py_runtime rt;
	void *library;
	const fsbpf_interface_t *api;
	fsbpf_session *session;
	struct fsbpf_plan plan;
	py_thread listed[MAX_THREADS];
	/* what the program's threads map holds, sorted by tid (two sets: the next
	 * is built from the current one and the list) */
	struct mapped { uint64_t tid, tstate; int missed; } mapped[2][MAX_THREADS];
	int n_mapped, current;
	int by_tid[MAX_THREADS];   /* indices into listed, sorted by tid */
	uint64_t next_sync;        /* CLOCK_MONOTONIC ns */
	uint64_t next_restart;     /* of the clocks, CLOCK_MONOTONIC ns */
	uint64_t random;           /* xorshift64 state */
	py_frame_ref frames[FSBPF_MAX_FRAMES];
	uint32_t checks[FSBPF_MAX_FRAMES];
	stack_builder stacks;
	offcpu_table *off_cpu;     /* NULL unless off-CPU time is asked for */
	uint64_t period_ns;        /* one sample's worth of time */
	uint64_t records, filtered, off_cpu_samples, unmatched;
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
	uintptr_t gil;
	size_t gil_size;
	if (interp && pyruntime__gil_range(&st->rt, interp, &gil, &gil_size) == 0) {
		p->gil_start = gil;
		p->gil_size = gil_size;
	}
	return 0;
}

/* Orders listed threads by tid, and a thread's states the way the program should
 * prefer them: a thread with states in several interpreters runs Python in the
 * one that has frames, and when several do, in the newest interpreter (the list
 * starts with it): that is where a sub-interpreter's run_string() or exec() took
 * it. */
static int tid_then_preference(const void *x, const void *y, void *listed)
{
	int i = *(const int *)x, j = *(const int *)y;
	const py_thread *a = (const py_thread *)listed + i, *b = (const py_thread *)listed + j;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if ((a->top_frame != 0) != (b->top_frame != 0))
		return a->top_frame ? -1 : 1;
	return i - j;
}

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

/* A thread that the program did not know when it last left its CPU (it blocked
 * before it was listed, or before `filspy attach`) has no stop record: when it is
 * asleep now, its stack is read here (a sleeping thread's frames hold still) and
 * counts as a stop since `since`. */
static void stop_of_sleeper(struct bpf_state *st, const py_thread *t, uint64_t since)
{
	bool running, truncated = false;
	if (!t->top_frame || !t->tid || procthreads__running(t->tid))
		return;
	int depth = pyframes__walk(&st->rt, t->top_frame, t->must_reach, st->frames,
				   FSBPF_MAX_FRAMES, &truncated);
	offcpu_stop *e = depth > 0 ? offcpu__prepare(st->off_cpu, t->tid, depth) : NULL;
	if (!e || e->pending)
		return;
	gil_info gil = { 0 };
	threadstate__gil(&st->rt, t->interp, &gil);
	e->state = threadstate__classify(&st->rt, &gil, t, &running);
	memcpy(e->frames, st->frames, (size_t)depth * sizeof(*e->frames));
	memset(e->checks, 0, (size_t)depth * sizeof(*e->checks)); /* read just now */
	e->depth = depth;
	e->truncated = truncated;
	e->since = since;
	e->pending = true;
	e->guessed = true;
}

/* Keeps the program's thread map equal to the interpreter's list of threads: both
 * sorted by tid and merged, so that a thousand threads cost no more than a sort. */
static void sync_threads(struct bpf_state *st, const fs_settings *s)
{
	uint64_t listed_at = now_ns();
	int n = pythreads__list(&st->rt, st->listed, MAX_THREADS);
	/* Python thread names, for the roots, the blocklist and the GIL view's table
	 * (cached by threadnames) */
	if (s->threads || s->blocklist[0] || gilview__on())
		for (int j = 0; j < n; j++)
			threadnames__get(&st->rt, &st->listed[j]);
	for (int j = 0; j < n; j++)
		st->by_tid[j] = j;
	qsort_r(st->by_tid, (size_t)n, sizeof(st->by_tid[0]), tid_then_preference, st->listed);

	const struct mapped *old = st->mapped[st->current];
	struct mapped *next = st->mapped[!st->current];
	int i = 0, k = 0, m = 0;
	while (i < st->n_mapped || k < n) {
		const py_thread *t = k < n ? &st->listed[st->by_tid[k]] : NULL;
		if (t && (!t->tid || (k > 0 && st->listed[st->by_tid[k - 1]].tid == t->tid))) {
			k++; /* unknown tid, or a less preferred state of the thread before */
			continue;
		}
		uint64_t tid = t ? (uint64_t)t->tid : UINT64_MAX;
		if (i < st->n_mapped && old[i].tid < tid) {
			/* not listed: ended, unless its task lives on (a list read while
			 * threads come and go can miss one; forgetting it would drop the
			 * stop it is in) */
			if (old[i].missed < MISSED_LISTINGS && procthreads__exists((int)old[i].tid)) {
				next[m] = old[i++];
				next[m++].missed++;
				continue;
			}
			st->api->set_thread(st->session, old[i].tid, 0);
			if (st->off_cpu)
				offcpu__forget(st->off_cpu, (int)old[i].tid);
			i++;
			continue;
		}
		bool known = i < st->n_mapped && old[i].tid == tid;
		next[m] = known ? old[i++] : (struct mapped){ 0 };
		next[m].missed = 0;
		k++;
		if (known && next[m].tstate == t->tstate) {
			m++;
			continue;
		}
		if (st->api->set_thread(st->session, tid, t->tstate) == 0) {
			if (!known && st->off_cpu)
				stop_of_sleeper(st, t, listed_at);
			next[m] = (struct mapped){ tid, t->tstate, 0 };
		}
		if (next[m].tid)
			m++;
	}
	st->n_mapped = m;
	st->current = !st->current;
}

/* A record's frames, back to what the symbol cache expects, into frames/checks. */
static int copy_frames(const struct bpf_state *st, const struct fsbpf_sample *head,
		       const struct fsbpf_frame *in, py_frame_ref *frames, uint32_t *checks)
{
	int depth = head->depth < FSBPF_MAX_FRAMES ? head->depth : FSBPF_MAX_FRAMES;
	for (int i = 0; i < depth; i++) {
		uintptr_t code = (uintptr_t)in[i].code;
		int32_t instr = (int32_t)in[i].instr;
		frames[i].code = code;
		/* an instruction pointer from 3.11, f_lasti before */
		frames[i].instr = st->plan.instr_is_pointer
			? code + (uintptr_t)st->plan.code_code_adaptive + (uintptr_t)((intptr_t)instr * 2)
			: (uintptr_t)(intptr_t)instr;
		checks[i] = in[i].check;
	}
	return depth;
}

/* Adds weight samples of thread tid in state to the profile and the GIL view. On
 * a CPU a thread is in the CPU view; off it, only with FIL_PERF_SPY_IDLE. */
static void add_samples(fs_agent *a, struct bpf_state *st, int tid, enum fs_thread_state state,
			bool on_cpu, const py_frame_ref *frames, const uint32_t *checks, int depth,
			bool truncated, uint64_t weight)
{
	const fs_settings *s = &a->settings;
	bool view = gilview__on();
	/* names only when something matches or shows them: a miss reads /proc */
	const char *name = s->blocklist[0] || view ? threadnames__of(tid) : "";
	if (s->blocklist[0] && settings__matches_globs(s->blocklist, name)) {
		st->filtered += weight;
		return;
	}
	bool to_main = (on_cpu || s->idle) &&
		       (!s->gil || !st->plan.gil_locked || state == TS_HOLDING);
	if (!to_main)
		st->filtered += weight;
	if (view)
		gilview__add(a, &st->stacks, to_main, state, tid, name, frames, checks, depth,
			     truncated, weight);
	else if (to_main)
		stacks__add_both(a, &st->stacks, true, NULL, 0, NULL, tid, frames, checks, depth,
				 truncated, weight);
}

/* A record's state: on a CPU (or preempted) with or without the GIL, or why it
 * left its CPU. e: the thread's off-CPU entry, if any. */
static enum fs_thread_state state_of(const struct fsbpf_sample *head, const offcpu_stop *e)
{
	unsigned flags = head->flags;
	if (flags & FSBPF_GIL_HELD)
		return TS_HOLDING;  /* running, or blocked in a call that kept the GIL */
	if (flags & FSBPF_GIL_WAIT)
		return TS_WAITING;
	if (flags & FSBPF_BLOCKED)
		return TS_IDLE;
	if (e && e->woke_from_gil && head->time - e->woke_from_gil < WOKEN_WAITER_NS)
		return TS_WAITING;
	return TS_RUNNING;      /* C code that released the GIL */
}

/* The thread of stop e runs again at time now: its stack gets the samples that
 * the time off the CPU stands for. */
static void account_stop(fs_agent *a, struct bpf_state *st, offcpu_stop *e, uint64_t now)
{
	e->pending = false;
	e->woke_from_gil = e->state == TS_WAITING ? now : 0;
	if (now <= e->since)
		return;
	uint64_t n = offcpu__samples(st->off_cpu, now - e->since, st->period_ns);
	if (!n)
		return;
	st->off_cpu_samples += n;
	add_samples(a, st, e->tid, e->state, false, e->frames, e->checks, e->depth, e->truncated, n);
}

static void on_record(void *ctx, const struct fsbpf_sample *head, const struct fsbpf_frame *frames)
{
	fs_agent *a = ctx;
	struct bpf_state *st = a->backend_state;
	int tid = (int)head->tid;
	offcpu_stop *e = st->off_cpu ? offcpu__find(st->off_cpu, tid) : NULL;

	st->records++;
	if (head->flags & FSBPF_ON_CPU) {
		if (e && e->pending)
			account_stop(a, st, e, head->time);
		return;
	}
	/* a stop still pending here had no ON_CPU record: the thread ran again
	 * before this record, so the stop ends by its time at the latest (a period
	 * too long at most: it ran less than one when no sample landed). That is
	 * always so for a stop read from user space: the program tells a thread
	 * coming back to a CPU by what it learnt when the thread last left one
	 * (bpf/pystacks.bpf.c), and that thread has not left one since it was
	 * mapped. */
	if (e && e->pending) {
		account_stop(a, st, e, head->time);
		if (!e->guessed)
			st->unmatched++;
	}
	if (head->flags & FSBPF_OFF_CPU) {
		e = st->off_cpu ? offcpu__prepare(st->off_cpu, tid, head->depth) : NULL;
		if (!e)
			return;
		e->depth = copy_frames(st, head, frames, e->frames, e->checks);
		e->truncated = head->flags & FSBPF_TRUNCATED;
		e->state = state_of(head, e);
		e->since = head->time;
		e->pending = true;
		e->guessed = false;
		return;
	}
	int depth = copy_frames(st, head, frames, st->frames, st->checks);
	enum fs_thread_state state = state_of(head, e);
	add_samples(a, st, tid, state, true, st->frames, st->checks, depth,
		    head->flags & FSBPF_TRUNCATED, 1);
}

static void release(struct bpf_state *st)
{
	if (st->session)
		st->api->close(st->session);
	if (st->library)
		dlclose(st->library);
	offcpu__free(st->off_cpu);
	symcache__free(st->stacks.cache);
	free(st);
}

static int bpf_start(fs_agent *a, const char **why)
{
	if (!a->rt_found) {
		*why = a->rt_why;
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
	/* off-CPU time: idle threads, and every thread's state for the GIL view */
	bool off_cpu = a->settings.idle ||
		       ((a->settings.formats & FS_FORMAT_GIL) && a->settings.mode != FS_MODE_TOP);
	st->period_ns = 1000000000ULL / (unsigned)a->settings.rate_hz;
	st->random = now_ns() ^ ((uint64_t)a->pid << 32) ^ 0x9e3779b97f4a7c15ULL;
	st->next_restart = now_ns() + RESTART_PERIODS * st->period_ns;
	if (off_cpu && (!(st->off_cpu = offcpu__new(MAX_THREADS)) || gilview__start(a) < 0)) {
		offcpu__free(st->off_cpu);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	st->library = open_library(st->why, sizeof(st->why));
	if (st->library) {
		st->api = dlsym(st->library, FSBPF_INTERFACE_SYMBOL);
		if (!st->api || st->api->version != FSBPF_INTERFACE_VERSION)
			snprintf(st->why, sizeof(st->why), "%s is from another filspy build", LIBRARY);
		else
			st->session = st->api->open(&st->plan, a->settings.rate_hz, off_cpu,
						    st->why, sizeof(st->why));
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
	if (a->settings.gil && !st->plan.gil_locked)
		fs_warn("FIL_PERF_SPY_GIL: the GIL holder of CPython %d.%d cannot be read; "
			"keeping every thread's samples", st->rt.major, st->rt.minor);
	if (gilview__on() && !st->plan.gil_size)
		fs_warn("FIL_PERF_SPY_OUTPUT=gil: the GIL of CPython %d.%d cannot be read; the GIL "
			"view tells running from idle threads only", st->rt.major, st->rt.minor);
	return 0;
}

static void restart_clocks(struct bpf_state *st, uint64_t now)
{
	st->random ^= st->random << 13;
	st->random ^= st->random >> 7;
	st->random ^= st->random << 17;
	double spread = ((double)(st->random >> 11) / (double)(1ULL << 53) * 2.0 - 1.0) * RATE_SPREAD;
	uint64_t period = (uint64_t)((double)st->period_ns / (1.0 + spread));
	if (st->api->set_period(st->session, period) < 0)
		fs_debug("bpf backend: the clocks' period cannot be changed");
	st->next_restart = now + RESTART_PERIODS * st->period_ns;
}

static void bpf_poll(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	uint64_t start = now_ns();
	if (start >= st->next_restart)
		restart_clocks(st, start);
	if (start >= st->next_sync) {
		sync_threads(st, &a->settings);
		/* reading the list costs a few reads per thread: with hundreds of threads
		 * it is read less often, for about 1/SYNC_SHARE of the sampler's time,
		 * but new threads are still seen within SYNC_MAX_NS */
		uint64_t wait = (now_ns() - start) * SYNC_SHARE;
		st->next_sync = start + (wait < SYNC_MAX_NS ? wait : SYNC_MAX_NS);
	}
	st->api->drain(st->session, on_record, a);
}

static void bpf_stop(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	if (!st)
		return;
	st->api->drain(st->session, on_record, a);
	if (st->off_cpu) {
		/* threads still off their CPU count until now */
		uint64_t now = now_ns();
		int cursor = 0;
		for (offcpu_stop *e; (e = offcpu__each(st->off_cpu, &cursor));)
			if (e->pending)
				account_stop(a, st, e, now);
	}
	uint64_t n[FSBPF_STAT_COUNT];
	st->api->stats(st->session, n);
	fs_debug("bpf backend: %llu events in this process, %llu without Python, %llu torn, "
		 "%llu records (%llu lost to a full ring buffer, %llu cut by an unreadable frame), "
		 "%llu filtered out, %llu stale frames; off-CPU: %llu switches, %llu samples, "
		 "%llu stops without their return",
		 (unsigned long long)n[FSBPF_STAT_EVENTS], (unsigned long long)n[FSBPF_STAT_NO_TSTATE],
		 (unsigned long long)n[FSBPF_STAT_TORN], (unsigned long long)n[FSBPF_STAT_EMITTED],
		 (unsigned long long)n[FSBPF_STAT_LOST], (unsigned long long)n[FSBPF_STAT_UNREADABLE],
		 (unsigned long long)st->filtered,
		 (unsigned long long)st->stacks.stale, (unsigned long long)n[FSBPF_STAT_SWITCHES],
		 (unsigned long long)st->off_cpu_samples, (unsigned long long)st->unmatched);
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
