/* The bpf backend's thread map: which PyThreadState each kernel thread runs, kept
 * equal to the interpreter's list of threads by a merge on every sync. */
#include <stdlib.h>
#include <string.h>

#include "backends/bpf_internal.h"
#include "sampling/gilview.h"
#include "sampling/procthreads.h"
#include "sampling/threadnames.h"
#include "sampling/threadstate.h"

#define MISSED_LISTINGS 3

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
	e->n_items = 0;  /* no registers of a thread read from here: Python frames only */
	e->since = since;
	e->pending = true;
	e->guessed = true;
}

/* Keeps the program's thread map equal to the interpreter's list of threads: both
 * sorted by tid and merged, so that a thousand threads cost no more than a sort. */
void bpf_threads__sync(fs_agent *a, struct bpf_state *st)
{
	const fs_settings *s = &a->settings;
	uint64_t listed_at = now_ns();
	int n = pythreads__list(&st->rt, st->listed, MAX_THREADS);
	/* Python thread names, for the roots, the blocklist, the GIL view's table and
	 * speedscope's per-thread profiles (cached by threadnames) */
	if (s->threads || s->blocklist[0] || gilview__on() || (s->formats & FS_FORMAT_SPEEDSCOPE))
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
			if (st->off_cpu) {
				/* it ended off its CPU, or after a wake-up whose record
				 * came too late for the last drain: its stop counts until
				 * the list was read, at most a sync's time too long */
				bpf_records__end_stop(a, st, (int)old[i].tid, listed_at);
				offcpu__forget(st->off_cpu, (int)old[i].tid);
			}
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

static int by_tid(const void *key, const void *entry)
{
	uint64_t tid = *(const uint64_t *)key, other = ((const struct mapped *)entry)->tid;
	return tid < other ? -1 : tid > other;
}

bool bpf_threads__mapped(const struct bpf_state *st, uint64_t tid)
{
	return bsearch(&tid, st->mapped[st->current], (size_t)st->n_mapped,
		       sizeof(struct mapped), by_tid) != NULL;
}
