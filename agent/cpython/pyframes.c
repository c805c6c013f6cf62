/* Walks one thread's Python frames from the innermost outwards: as they are
 * (pyframes__walk, for threads that hold still), or as the thread really had them
 * at one moment (pyframes__sample, for threads that may run while they are read). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

#define FRAME_BUF 256

/* Copies of the memory a walk read: ranges of the process's memory, each copied in
 * one piece. On 3.11+ a frame is read with the data-stack memory below it (its
 * callers, most of the time), so a walk of many frames takes a system call or two;
 * on older versions frames are objects of their own and each range is one frame. */
#define MAX_RANGES 4096
#define POOL (2u << 20)
#define BLOCK 1024u
#define PAGE 4096u

struct range {
	uintptr_t lo, hi;
	unsigned char *copy;
};

struct snap {
	struct range r[MAX_RANGES];
	int n;
	size_t used;
	bool full;            /* a walk needed more room than MAX_RANGES/POOL */
	unsigned char *pool;
};

struct py_walk {
	int max;              /* frames addr holds */
	size_t len;           /* bytes read of each frame */
	bool blocks;          /* frames sit in data-stack chunks (3.11+) */
	uintptr_t *addr;      /* the frames the last walk passed, innermost first */
	int *range_of;        /* the range of the snapshot each of them was read from */
	struct snap *cur, *next;
	memread_req *reqs;
};

static size_t frame_len(const py_runtime *rt)
{
	size_t size = (size_t)rt->off->frame_size;
	return size < FRAME_BUF ? size : FRAME_BUF;
}

static uintptr_t word_at(const unsigned char *buf, int32_t off)
{
	uintptr_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* A torn chain can link to any word, ~0 too: frame + len must not wrap around (it
 * did, and a "frame" near 2^64 was then copied from far outside the copy) */
static bool in_range(const struct range *r, uintptr_t frame, size_t len)
{
	return frame >= r->lo && frame <= r->hi && len <= r->hi - frame;
}

/* The range of sn that holds [frame, frame + len), or -1. hint first (where the
 * frame was in the last walk, or the caller's range), then the newest ranges: a
 * walk meets its frames in the order it read them, so a deep stack costs no
 * search per frame. */
static int find_range(const struct snap *sn, uintptr_t frame, size_t len, int hint)
{
	if (hint >= 0 && hint < sn->n && in_range(&sn->r[hint], frame, len))
		return hint;
	for (int i = sn->n - 1, tries = 0; i >= 0 && tries < 8; i--, tries++)
		if (in_range(&sn->r[i], frame, len))
			return i;
	return -1;
}

/* Adds [lo, hi) to sn, read now, as one range; on 3.11+ from a block below it too,
 * page by page downwards so that the copy ends where the memory does. Returns the
 * copy of [frame, frame + len), or NULL when it cannot be read. */
static const unsigned char *read_into(struct py_walk *w, struct snap *sn, uintptr_t frame)
{
	size_t len = w->len;
	if (frame > UINTPTR_MAX - len)
		return NULL; /* no such memory: a torn link */
	uintptr_t hi = frame + len;
	uintptr_t lo = w->blocks && hi > BLOCK ? (hi - BLOCK) & ~(uintptr_t)(PAGE - 1) : frame;
	if (lo > frame)
		lo = frame;
	if (sn->n == MAX_RANGES || sn->used + (hi - lo) > POOL) {
		sn->full = true;
		return NULL;
	}
	unsigned char *copy = sn->pool + sn->used;
	/* the pages from the top down: the kernel stops at the first it cannot read */
	memread_req reqs[BLOCK / PAGE + 2];
	size_t k = 0;
	for (uintptr_t end = hi; end > lo && k < sizeof(reqs) / sizeof(*reqs);) {
		uintptr_t start = (end - 1) & ~(uintptr_t)(PAGE - 1);
		if (start < lo)
			start = lo;
		reqs[k++] = (memread_req){ start, copy + (start - lo), end - start };
		end = start;
	}
	size_t got = memread__batch(reqs, k);
	if (!got || reqs[got - 1].addr > frame)
		return NULL;
	uintptr_t planned = lo;
	lo = reqs[got - 1].addr;
	sn->r[sn->n++] = (struct range){ lo, hi, copy + (lo - planned) };
	sn->used += hi - planned;
	return sn->r[sn->n - 1].copy + (frame - lo);
}

static const unsigned char *range_bytes(const struct snap *sn, int i, uintptr_t frame)
{
	return sn->r[i].copy + (frame - sn->r[i].lo);
}

/* Frame k of this walk: from the snapshot when it holds it, else read now. */
static int fetch(struct py_walk *w, int k, uintptr_t frame, unsigned char *dst, int *last)
{
	struct snap *sn = w->cur;
	int i = find_range(sn, frame, w->len, k < w->max && w->range_of[k] >= 0 &&
			   w->addr[k] == frame ? w->range_of[k] : *last);
	if (i < 0) {
		if (!read_into(w, sn, frame))
			return sn->full ? -ENOSPC : -EFAULT;
		i = sn->n - 1;
	}
	memcpy(dst, range_bytes(sn, i, frame), w->len);
	w->range_of[k] = *last = i;
	return 0;
}

/* The walk itself; with w, it reads through w's copies and keeps every traversed
 * frame's address (*traversed of them) for pyframes__sample's check. */
static int walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach, py_frame_ref *out,
		int max, bool *truncated, struct py_walk *w, int *traversed)
{
	const py_offsets *o = rt->off;
	unsigned char local[FRAME_BUF];
	size_t len = frame_len(rt);
	int n = 0, k = 0, last = -1;

	*truncated = false;
	/* each step is one copy; a cycle in a torn chain ends at max */
	while (frame) {
		if (n == max || (w && k == w->max)) {
			*truncated = true;
			break;
		}
		unsigned char *buf = local;
		int err = w ? fetch(w, k, frame, buf, &last) : memread__read(buf, frame, len);
		if (err == -ENOSPC)
			*truncated = true; /* deeper than the copies hold: kept as cut */
		if (err < 0)
			break;
		if (w)
			w->addr[k] = frame;
		k++;
		uintptr_t previous = word_at(buf, o->frame_previous);
		uintptr_t code = word_at(buf, o->frame_code) & rt->code_tag_mask;
		if (frame == must_reach)
			must_reach = 0;
		/* a frame that no longer runs was freed and reused under us: the chain
		 * read so far mixes two moments */
		if (o->frame_executing != PY_NO_OFFSET &&
		    (signed char)buf[o->frame_executing] != o->frame_executing_value) {
			if (traversed)
				*traversed = k;
			return -EAGAIN;
		}
		bool shim = o->frame_owner_cstack != PY_NO_OFFSET &&
			    buf[o->frame_owner] == (unsigned char)o->frame_owner_cstack;
		if (!shim && code) {
			out[n].code = code;
			out[n].frame = frame;
			if (rt->instr_is_pointer) {
				out[n].instr = word_at(buf, o->frame_instr);
			} else {
				int lasti;
				memcpy(&lasti, buf + o->frame_instr, sizeof(lasti));
				out[n].instr = (uintptr_t)(intptr_t)lasti;
			}
			n++;
		}
		if (previous == frame)
			break;
		frame = previous;
	}
	if (traversed)
		*traversed = k;
	if (must_reach && !*truncated)
		return -EAGAIN;
	return n;
}

int pyframes__walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach,
		   py_frame_ref *out, int max, bool *truncated)
{
	return walk(rt, frame, must_reach, out, max, truncated, NULL, NULL);
}

static struct snap *new_snap(void)
{
	struct snap *sn = calloc(1, sizeof(*sn));
	if (sn && !(sn->pool = malloc(POOL))) {
		free(sn);
		return NULL;
	}
	return sn;
}

static void free_snap(struct snap *sn)
{
	if (sn)
		free(sn->pool);
	free(sn);
}

py_walk *pyframes__new_walk(const py_runtime *rt, int max)
{
	py_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->max = max;
	w->len = frame_len(rt);
	w->blocks = rt->instr_is_pointer;
	w->addr = calloc((size_t)max, sizeof(*w->addr));
	w->range_of = calloc((size_t)max, sizeof(*w->range_of));
	w->cur = new_snap();
	w->next = new_snap();
	w->reqs = calloc(MAX_RANGES + 2, sizeof(*w->reqs));
	if (!w->addr || !w->range_of || !w->cur || !w->next || !w->reqs) {
		pyframes__free_walk(w);
		return NULL;
	}
	return w;
}

void pyframes__free_walk(py_walk *w)
{
	if (!w)
		return;
	free(w->addr);
	free(w->range_of);
	free_snap(w->cur);
	free_snap(w->next);
	free(w->reqs);
	free(w);
}

/* What must not have changed in a frame between the walk and the re-read: its link,
 * its code, whether it runs, who owns it, and for a caller (not the innermost frame,
 * which runs on) the instruction it called from, which holds still during the call. */
static bool same_frame(const py_runtime *rt, const unsigned char *a, const unsigned char *b,
		       bool innermost)
{
	const py_offsets *o = rt->off;
	if (word_at(a, o->frame_previous) != word_at(b, o->frame_previous) ||
	    word_at(a, o->frame_code) != word_at(b, o->frame_code))
		return false;
	if (o->frame_executing != PY_NO_OFFSET && a[o->frame_executing] != b[o->frame_executing])
		return false;
	if (o->frame_owner != PY_NO_OFFSET && a[o->frame_owner] != b[o->frame_owner])
		return false;
	if (innermost)
		return true;
	size_t instr = rt->instr_is_pointer ? sizeof(uintptr_t) : sizeof(int);
	return memcmp(a + o->frame_instr, b + o->frame_instr, instr) == 0;
}

/* A thread that runs while it is read reuses the memory of frames that returned
 * (on 3.11+ frames sit in data-stack chunks and are overwritten in place): a walk
 * of one read per frame then follows a link into a chain that has replaced the one
 * it started in, and splices the two. So the walk's frames are read again, all in
 * one copy, from the outermost in, and then the thread's top frame: a frame can
 * change only after every frame above it has returned, so if each frame still holds
 * what the walk saw and the top is still where the walk began, the thread had that
 * stack at the moment of the re-read. Frames above the top hold stale bytes of
 * returned calls; the top check is what rules them out.
 *
 * A walk of one system call per frame takes longer than some programs keep a
 * chain (20 us of ~10 frames on 3.9). So when the check fails, the next walk starts
 * from the new top and takes every frame whose address it already knows from the
 * copy just made, reading only new addresses; and that walk is checked the same
 * way. Programs that reuse frame addresses (3.11+ data stacks, 3.6-3.10 frames
 * cached per code object) then settle within a few copies. */
#define CHECK_ROUNDS 6
/* 3.6-3.10: a frame object's address repeats only when the same function runs
 * again, so walks made again mostly read anew; two are all that pays */
#define CHECK_ROUNDS_OBJECTS 2

int pyframes__sample(const py_runtime *rt, py_walk *w, uintptr_t tstate, py_frame_ref *out,
		     int max, bool *truncated)
{
	const py_frame_chain *c = &rt->chain;
	bool cframes = c->cframe_current_frame != PY_NO_OFFSET;
	uintptr_t head = 0, top = 0, caller = 0, must_reach = 0;
	*truncated = false;
	if (memread__word(tstate + (uintptr_t)c->tstate_frame, &head) < 0 || !head)
		return 0;
	if (!cframes) {
		top = head;
	} else {
		/* 3.11/3.12: head is the _PyCFrame (see py_frame_chain) */
		if (memread__word(head + (uintptr_t)c->cframe_current_frame, &top) < 0 || !top)
			return 0;
		if (memread__word(head + (uintptr_t)c->cframe_previous, &caller) == 0 && caller)
			memread__word(caller + (uintptr_t)c->cframe_current_frame, &must_reach);
	}
	w->cur->n = 0;
	w->cur->used = 0;
	w->cur->full = w->next->full = false;
	int k = 0;
	int n = walk(rt, top, must_reach, out, max, truncated, w, &k);
	/* a walk torn on its own (a frame that stopped running) is walked again in
	 * fresh copies too */
	int rounds = w->blocks ? CHECK_ROUNDS : CHECK_ROUNDS_OBJECTS;
	for (int round = 0; (n > 0 || n == -EAGAIN) && round < rounds; round++) {
		/* the same ranges again, from the outermost in (data stacks grow upwards;
		 * older frames objects were made earlier, lower, most of the time) */
		struct snap *cur = w->cur, *again = w->next;
		again->n = cur->n;
		again->used = cur->used;
		again->full = false;
		size_t r = 0;
		for (int i = cur->n - 1; i >= 0; i--, r++) {
			again->r[i] = (struct range){ cur->r[i].lo, cur->r[i].hi,
						      again->pool + (cur->r[i].copy - cur->pool) };
			w->reqs[r] = (memread_req){ cur->r[i].lo, again->r[i].copy,
						    cur->r[i].hi - cur->r[i].lo };
		}
		uintptr_t head_again = 0, top_again = 0;
		w->reqs[r++] = (memread_req){ tstate + (uintptr_t)c->tstate_frame, &head_again,
					      sizeof(head_again) };
		if (cframes)
			w->reqs[r++] = (memread_req){ head + (uintptr_t)c->cframe_current_frame,
						      &top_again, sizeof(top_again) };
		if (memread__batch(w->reqs, r) != r)
			return -EAGAIN;
		if (!cframes)
			top_again = head_again;
		else if (head_again != head)
			return -EAGAIN; /* a new _PyCFrame: start over from it */
		bool same = n > 0 && top_again == top;
		for (int i = 0; same && i < k; i++)
			same = same_frame(rt, range_bytes(cur, w->range_of[i], w->addr[i]),
					  range_bytes(again, w->range_of[i], w->addr[i]), i == 0);
		if (same)
			return n;
		if (!top_again)
			return 0;
		/* walk again in the fresh copies, reading only what they lack */
		w->next = cur;
		w->cur = again;
		top = top_again;
		n = walk(rt, top, must_reach, out, max, truncated, w, &k);
	}
	return n > 0 ? -EAGAIN : n;
}
