/* The bpf backend's records -> samples: on-CPU records become samples at once; an
 * off-CPU record is a stop, weighed when its thread runs again; and the jittered
 * restarts of the program's clocks. */
#include <stdbool.h>

#include "backends/bpf_internal.h"
#include "filspy/log.h"
#include "filspy/rng.h"
#include "sampling/gilview.h"
#include "sampling/threadnames.h"
#include "sampling/stackcache.h"
#include "sampling/threadstate.h"

/* A thread woken to take the GIL runs a few microseconds before it has it; on a
 * busy machine it may be preempted in between. Seen without the GIL this soon after
 * such a wake-up, it still counts as waiting (the self backend reasons the same
 * way, see threadstate.c). */
#define WOKEN_WAITER_NS 1000000
/* A clock that fires every P ns samples work that repeats every P ns (a 100 Hz
 * loop, a 10 ms timer) at the same point of its cycle each time, and one function
 * gets every sample. Restarted at random moments (the sampler's polls are
 * jittered) at a rate drawn within +-RATE_SPREAD of the one asked (the mean rate
 * stays the one asked), the clocks drift across any cycle. A restart drops the
 * part of a period already run on each CPU: once every RESTART_PERIODS periods,
 * about 1/(2 RESTART_PERIODS) of the samples. */
#define RESTART_PERIODS 25
/* and at most every RESTART_MIN_NS: a restart is an ioctl and an IPI per CPU
 * (20-60 us each on this VM, waited for), which at 1 kHz every 25 ms was a
 * visible part of the sampler's time, and every 100 ms still a third of it */
#define RESTART_MIN_NS 250000000ULL

static uint64_t restart_gap(const struct bpf_state *st)
{
	uint64_t gap = RESTART_PERIODS * st->period_ns;
	return gap > RESTART_MIN_NS ? gap : RESTART_MIN_NS;
}
#define RATE_SPREAD 0.25

/* A record's frames, back to what the symbol cache expects, into frames/checks. */
static int copy_frames(const struct bpf_state *st, const struct fsbpf_sample *head,
		       const struct fsbpf_frame *in, py_frame_ref *frames, uint32_t *checks,
		       bool *entries)
{
	int depth = head->depth < FSBPF_MAX_FRAMES ? head->depth : FSBPF_MAX_FRAMES;
	for (int i = 0; i < depth; i++) {
		uintptr_t code = (uintptr_t)(in[i].code & ~FSBPF_CODE_ENTRY);
		if (entries)
			entries[i] = in[i].code & FSBPF_CODE_ENTRY;
		int32_t instr = (int32_t)in[i].instr;
		frames[i].code = code;
		frames[i].frame = 0; /* the kernel sends no frame address */
		/* an instruction pointer from 3.11, f_lasti before */
		frames[i].instr = st->plan.instr_is_pointer
			? code + (uintptr_t)st->plan.code_code_adaptive + (uintptr_t)((intptr_t)instr * 2)
			: (uintptr_t)(intptr_t)instr;
		checks[i] = in[i].check;
	}
	return depth;
}

/* An on-CPU record whose frames wait to be copied (fill_frames) */
struct pending_record {
	struct bpf_state *st;
	const struct fsbpf_sample *head;
	const struct fsbpf_frame *frames;
};

/* stack_builder's fill_frames: the record's frames into st->frames and checks,
 * when the stack cache did not know its key */
static void fill_frames(stack_builder *b, void *arg)
{
	const struct pending_record *r = arg;
	copy_frames(r->st, r->head, r->frames, r->st->frames, r->st->checks, NULL);
}

/* The frames are hashed as they came, two words a frame */
_Static_assert(sizeof(struct fsbpf_frame) == 2 * sizeof(uint64_t), "fsbpf_frame: two words");

/* FIL_PERF_SPY_NATIVE: the native stack of the record unwound (nativestack__unwind);
 * its key with the Python frames' entry marks, 0 when it has none or may not be
 * cached, and *native whether it was unwound at all */
static uint64_t unwound(struct bpf_state *st, int tid, const struct fsbpf_sample *head,
			const struct fsbpf_frame *frames, int depth, bool *native)
{
	*native = st->native && (head->flags & FSBPF_NATIVE);
	if (!*native)
		return 0;
	st->merge_depth = depth;
	uint64_t key = nativestack__unwind(st->native, tid,
					   (const struct fsbpf_native *)(frames + head->depth));
	for (int i = 0; key && i < depth; i++)
		key = stackcache__mix(key, st->entries[i]);
	return key ? key | 1 : 0;
}

/* The stack unwound last merged with its st->merge_depth Python frames, or NULL */
static const stack_item *merged(struct bpf_state *st, size_t *n)
{
	/* 3.6-3.10 run each frame in a C call of its own */
	bool every_frame = st->plan.frame_is_entry < 0 && st->plan.frame_owner < 0;
	return nativestack__merge(st->native, st->entries, every_frame, st->merge_depth, n);
}

/* stack_builder's make_items: merged, when the stack cache did not know it */
static void make_items(stack_builder *b, void *arg)
{
	b->items = merged(arg, &b->n_items);
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
	if (to_main) {
		a->active_samples += on_cpu ? weight : 0;
		a->gil_samples += state == TS_HOLDING ? weight : 0;
	}
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
	st->stacks.items = e->n_items ? e->items : NULL;
	st->stacks.n_items = e->n_items;
	add_samples(a, st, e->tid, e->state, false, e->frames, e->checks, e->depth, e->truncated, n);
	st->stacks.items = NULL;
	st->stacks.n_items = 0;
}

void bpf_records__on_record(void *ctx, const struct fsbpf_sample *head,
			    const struct fsbpf_frame *frames)
{
	fs_agent *a = ctx;
	struct bpf_state *st = a->backend_state;
	int tid = (int)head->tid;
	if (head->flags & FSBPF_UNMAPPED) {
		st->nudged_tid = head->tid;
		st->nudged_at = head->time;
		return;
	}
	offcpu_stop *e = st->off_cpu ? offcpu__find(st->off_cpu, tid) : NULL;

	st->records++;
	if (head->flags & (FSBPF_ON_CPU | FSBPF_NO_PYTHON)) {
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
		e->depth = copy_frames(st, head, frames, e->frames, e->checks, st->native ? st->entries : NULL);
		bool native;
		unwound(st, tid, head, frames, e->depth, &native);
		size_t n = 0;
		const stack_item *items = native ? merged(st, &n) : NULL;
		offcpu__keep_items(e, items, items ? n : 0);
		e->truncated = head->flags & FSBPF_TRUNCATED;
		e->state = state_of(head, e);
		e->since = head->time;
		e->pending = true;
		e->guessed = false;
		return;
	}
	/* a stack seen before is a hash of the record's frames and a lookup; they
	 * are copied only for a new one (native frames and the GIL view go the long
	 * way: they need the frames whatever the cache knows) */
	int depth;
	struct pending_record pending = { st, head, frames };
	if (!st->native && !gilview__on()) {
		depth = head->depth < FSBPF_MAX_FRAMES ? head->depth : FSBPF_MAX_FRAMES;
		st->stacks.given_key = stackcache__key_words((const uint64_t *)frames, 2 * (size_t)depth,
							     head->flags & FSBPF_TRUNCATED, 0);
		st->stacks.fill_frames = fill_frames;
		st->stacks.fill_frames_arg = &pending;
	} else {
		depth = copy_frames(st, head, frames, st->frames, st->checks,
				    st->native ? st->entries : NULL);
	}
	enum fs_thread_state state = state_of(head, e);
	a->lost_cut += (head->flags & (FSBPF_TRUNCATED | FSBPF_READ_ERROR)) != 0;
	bool native;
	st->stacks.items_key = unwound(st, tid, head, frames, depth, &native);
	/* merged only when the stack cache does not know the sample */
	st->stacks.make_items = native ? make_items : NULL;
	st->stacks.make_items_arg = st;
	add_samples(a, st, tid, state, true, st->frames, st->checks, depth,
		    head->flags & FSBPF_TRUNCATED, 1);
	st->stacks.items = NULL;
	st->stacks.n_items = 0;
	st->stacks.make_items = NULL;
	st->stacks.items_key = 0;
	st->stacks.given_key = 0;
	st->stacks.fill_frames = NULL;
}

void bpf_records__end_stops(fs_agent *a, struct bpf_state *st, uint64_t now)
{
	if (!st->off_cpu)
		return;
	int cursor = 0;
	/* a thread that ended while off its CPU often has no record of its end (its
	 * last switch-out finds no thread state): its stop counts until now, at most
	 * the time from its exit to ours too long */
	for (offcpu_stop *e; (e = offcpu__each(st->off_cpu, &cursor));)
		if (e->pending)
			account_stop(a, st, e, now);
}

void bpf_records__end_stop(fs_agent *a, struct bpf_state *st, int tid, uint64_t now)
{
	offcpu_stop *e = st->off_cpu ? offcpu__find(st->off_cpu, tid) : NULL;
	if (e && e->pending)
		account_stop(a, st, e, now);
}

void bpf_records__start_clocks(struct bpf_state *st, int pid)
{
	st->random = rng__seed((uint64_t)clock__now_ns() ^ ((uint64_t)pid << 32));
	st->next_restart = now_ns() + restart_gap(st);
}

/* Polls are not timed to the restart (that made a second wake-up in many 100 ms):
 * a restart due before the earliest next quiet poll (POLL_QUIET_NS jittered 0.5-1.5
 * times: half of it at the soonest) comes at this one, so restarts keep their
 * gap on average rather than come up to a poll late each time (the shares test at
 * 100 Hz: work_a 1.0 points off in RMS over 12 runs that way, 0.6 on time). */
#define RESTART_EARLY_NS ((uint64_t)POLL_QUIET_NS / 2)

void bpf_records__tick_clocks(struct bpf_state *st, uint64_t now)
{
	if (now + RESTART_EARLY_NS < st->next_restart)
		return;
	double spread = (rng__unit(&st->random) * 2.0 - 1.0) * RATE_SPREAD;
	uint64_t period = (uint64_t)((double)st->period_ns / (1.0 + spread));
	if (st->api->set_period(st->session, period) < 0)
		fs_debug("bpf backend: the clocks' period cannot be changed");
	st->next_restart = now + restart_gap(st);
}
