/* Walks interpreters -> thread states, reading each PyThreadState in one copy. */
#include <string.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <unistd.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

#define MAX_INTERPRETERS 256
#define TSTATE_BUF 1024

/* Before 3.11 a thread state has no kernel tid, only pthread_self(). On glibc the
 * pthread_t is the thread's struct pthread, which holds the tid at a fixed offset:
 * find it once by looking for our own tid in our own struct pthread. */
static int tid_offset = -1;

static void find_tid_offset(void)
{
	int tid = (int)syscall(SYS_gettid);
	const unsigned char *self = (const unsigned char *)pthread_self();
	unsigned char copy[2048];
	if (memread__read(copy, (uintptr_t)self, sizeof(copy)) < 0)
		return;
	for (int off = 0; off + 4 <= (int)sizeof(copy); off += 4) {
		int v;
		memcpy(&v, copy + off, sizeof(v));
		if (v == tid) {
			tid_offset = off;
			return;
		}
	}
}

static int tid_of_pthread(unsigned long pthread_id)
{
	if (tid_offset < 0)
		find_tid_offset();
	int tid = 0;
	if (tid_offset < 0 || memread__read(&tid, pthread_id + (unsigned)tid_offset, sizeof(tid)) < 0)
		return 0;
	return tid > 0 ? tid : 0;
}

static uintptr_t word_at(const unsigned char *buf, int off)
{
	uintptr_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* 3.11/3.12 publish a new _PyCFrame in the thread state a few instructions before
 * its current_frame is set: read in between, current_frame is stale C-stack memory
 * and leads into freed frames. The real chain always passes through the frame the
 * C caller's _PyCFrame holds, which cannot change while the inner one is active, so
 * *must_reach is that frame (0 when there is nothing to check). */
static uintptr_t top_frame_of(const py_runtime *rt, const unsigned char *ts, uintptr_t *must_reach)
{
	const py_frame_chain *c = &rt->chain;
	*must_reach = 0;
	if (c->cframe_current_frame == PY_NO_OFFSET)
		return word_at(ts, c->tstate_frame);
	uintptr_t cframe = word_at(ts, c->tstate_frame), frame = 0, caller = 0;
	if (!cframe || memread__word(cframe + c->cframe_current_frame, &frame) < 0)
		return 0;
	if (memread__word(cframe + c->cframe_previous, &caller) == 0 && caller)
		memread__word(caller + c->cframe_current_frame, must_reach);
	return frame;
}

/* Whether the word at addr lies inside _PyRuntime's own storage */
static bool in_runtime(const py_runtime *rt, uintptr_t addr)
{
	return rt->runtime_end && addr % sizeof(uintptr_t) == 0 && addr >= rt->runtime &&
	       addr + sizeof(uintptr_t) <= rt->runtime_end;
}

uintptr_t pythreads__list_mark(const py_runtime *rt)
{
	const py_offsets *o = rt->off;
	uintptr_t interp = pyruntime__interpreters_head(rt), mark = 0;
	for (int i = 0; interp && i < MAX_INTERPRETERS; i++) {
		uintptr_t head = 0, next = 0;
		uintptr_t at_head = interp + (uintptr_t)o->interp_threads_head;
		uintptr_t at_next = interp + (uintptr_t)o->interp_next;
		if (in_runtime(rt, at_head) && in_runtime(rt, at_next)) {
			/* the main interpreter of 3.11+, inside _PyRuntime: static data */
			head = __atomic_load_n((const uintptr_t *)at_head, __ATOMIC_RELAXED);
			next = __atomic_load_n((const uintptr_t *)at_next, __ATOMIC_RELAXED);
		} else {
			/* a system call a round fewer: both words in one */
			memread_req two[2] = {
				{ at_head, &head, sizeof(head) },
				{ at_next, &next, sizeof(next) },
			};
			if (memread__batch(two, 2) < 2)
				return 0;
		}
		mark = (mark ^ interp ^ (head << 1)) * 0x9e3779b97f4a7c15ull;
		interp = next;
	}
	return mark | 1;
}

int pythreads__list(const py_runtime *rt, py_thread *out, int max)
{
	const py_offsets *o = rt->off;
	unsigned char ts[TSTATE_BUF];
	size_t ts_len = (size_t)o->tstate_size < sizeof(ts) ? (size_t)o->tstate_size : sizeof(ts);
	uintptr_t interp = pyruntime__interpreters_head(rt);
	int n = 0;

	for (int i = 0; interp && i < MAX_INTERPRETERS && n < max; i++) {
		uintptr_t tstate = 0;
		if (memread__word(interp + o->interp_threads_head, &tstate) < 0)
			break;
		while (tstate && n < max) {
			if (memread__read(ts, tstate, ts_len) < 0)
				break;
			py_thread *t = &out[n++];
			t->tstate = tstate;
			t->interp = interp;
			t->pthread_id = word_at(ts, o->tstate_thread_id);
			if (o->tstate_native_thread_id != PY_NO_OFFSET) {
				int tid;
				memcpy(&tid, ts + o->tstate_native_thread_id, sizeof(tid));
				t->tid = tid;
			} else {
				t->tid = tid_of_pthread(t->pthread_id);
			}
			t->top_frame = top_frame_of(rt, ts, &t->must_reach);
			uintptr_t next = word_at(ts, o->tstate_next);
			if (next == tstate)
				break; /* a torn list must not loop us forever */
			tstate = next;
		}
		if (memread__word(interp + o->interp_next, &interp) < 0)
			break;
	}
	return n;
}
