/* Copies of the memory a walk reads (framecopies.h): ranges read in as few system
 * calls as the version's frame layout allows, found again by a hint. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/framecopies.h"

size_t framecopies__frame_len(const py_runtime *rt)
{
	size_t size = (size_t)rt->off->frame_size;
	return size < FRAME_BUF ? size : FRAME_BUF;
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
	/* a caller read ahead with its callee (read_guessed) */
	if (hint >= 0 && hint + 1 < sn->n && in_range(&sn->r[hint + 1], frame, len))
		return hint + 1;
	/* all of a small copy (a C-stack guess: its frames in no fixed order) */
	int most = sn->n <= 64 ? 64 : 8;
	for (int i = sn->n - 1, tries = 0; i >= 0 && tries < most; i--, tries++)
		if (in_range(&sn->r[i], frame, len))
			return i;
	return -1;
}

const unsigned char *framecopies__copy_of(const struct py_walk *w, uintptr_t frame)
{
	int i = find_range(w->cur, frame, w->len, -1);
	return i < 0 ? NULL : framecopies__bytes(w->cur, i, frame);
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

/* frame's caller of last time, when it was the same the time before; else 0 */
static uintptr_t stable_previous(const struct py_walk *w, uintptr_t frame)
{
	const struct link *l = framecopies__link_of(w, frame);
	return l && l->stable ? l->previous : 0;
}

static void mark_seen(struct py_walk *w, uintptr_t frame)
{
	unsigned b = framecopies__seen_bit(frame);
	w->seen[b / 64] |= 1ull << (b % 64);
}

void framecopies__learn(struct py_walk *w, uintptr_t frame, uintptr_t previous)
{
	struct link *set = framecopies__link_set(w, frame);
	unsigned at = 0; /* where frame's link is, else the last (the longest not learned) */
	while (at < LINK_WAYS - 1 && set[at].frame != frame)
		at++;
	bool stable = set[at].frame == frame && set[at].previous == previous;
	memmove(set + 1, set, at * sizeof(*set));
	set[0] = (struct link){ frame, previous, stable };
	if (++w->learned >= LINKS) {
		w->learned = 0;
		memset(w->seen, 0, SEEN_BITS / 8);
		for (unsigned i = 0; i < LINKS; i++)
			if (w->links[i].frame)
				mark_seen(w, w->links[i].frame);
	}
	mark_seen(w, frame);
}

/* Reads frame, and in the same system call its stable callers of last time, each
 * as a range of its own (3.6-3.10). A wrong guess costs its bytes only: the walk
 * follows what the links it reads say. Returns the range of frame, or -1. */
static int read_guessed(struct py_walk *w, struct snap *sn, uintptr_t frame)
{
	uintptr_t at[PREFETCH];
	memread_req reqs[PREFETCH];
	int k = 0;
	if (frame > UINTPTR_MAX - w->len)
		return -1; /* no such memory: a torn link */
	for (uintptr_t f = frame; f && f <= UINTPTR_MAX - w->len && k < PREFETCH;
	     f = stable_previous(w, f)) {
		bool again = false;
		for (int j = k - 1; j >= 0 && j >= k - 4 && !again; j--)
			again = at[j] == f;
		if (again || (k && find_range(sn, f, w->len, -1) >= 0))
			break;
		if (sn->n + k == MAX_RANGES || sn->used + (size_t)(k + 1) * w->len > POOL)
			break;
		at[k] = f;
		reqs[k] = (memread_req){ f, sn->pool + sn->used + (size_t)k * w->len, w->len };
		k++;
	}
	if (!k) {
		sn->full = true;
		return -1;
	}
	size_t got = memread__batch(reqs, (size_t)k);
	int first = sn->n;
	for (size_t i = 0; i < got; i++) {
		sn->r[sn->n++] = (struct range){ at[i], at[i] + w->len, reqs[i].dst };
		sn->used += w->len;
	}
	return got ? first : -1;
}


int framecopies__fetch(struct py_walk *w, int k, uintptr_t frame, unsigned char *dst, int *last)
{
	struct snap *sn = w->cur;
	/* where the frame was in the last walk, when it was this one, else (or when
	 * this copy is laid out otherwise) next to its callee: a frame missed in a
	 * large copy is read again, and a deep walk would run out of ranges */
	int i = k < w->max && w->range_of[k] >= 0 && w->addr[k] == frame
			? find_range(sn, frame, w->len, w->range_of[k]) : -1;
	if (i < 0)
		i = find_range(sn, frame, w->len, *last);
	if (i < 0 && w->copies_only)
		return -ENOSPC;
	if (i < 0 && !w->blocks) {
		if ((i = read_guessed(w, sn, frame)) < 0)
			return sn->full ? -ENOSPC : -EFAULT;
	} else if (i < 0) {
		if (!read_into(w, sn, frame))
			return sn->full ? -ENOSPC : -EFAULT;
		i = sn->n - 1;
	}
	memcpy(dst, framecopies__bytes(sn, i, frame), w->len);
	w->range_of[k] = *last = i;
	return 0;
}

/* What must not have changed in a frame between the walk and the re-read: its link,
 * its code, whether it runs, who owns it, and for a caller (not the innermost frame,
 * which runs on) the instruction it called from, which holds still during the call. */
bool framecopies__same_frame(const py_runtime *rt, const unsigned char *a, const unsigned char *b,
			     bool innermost)
{
	const py_offsets *o = rt->off;
	if (framecopies__word(a, o->frame_previous) != framecopies__word(b, o->frame_previous) ||
	    framecopies__word(a, o->frame_code) != framecopies__word(b, o->frame_code))
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
	w->len = framecopies__frame_len(rt);
	w->blocks = rt->instr_is_pointer;
	w->addr = calloc((size_t)max, sizeof(*w->addr));
	w->range_of = calloc((size_t)max, sizeof(*w->range_of));
	w->cur = new_snap();
	w->next = new_snap();
	w->reqs = calloc(MAX_RANGES + 2, sizeof(*w->reqs));
	if (!w->blocks) {
		w->links = calloc(LINKS, sizeof(*w->links));
		w->seen = calloc(SEEN_BITS / 64, sizeof(*w->seen));
		w->hints = calloc(CSTACK_HINTS, sizeof(*w->hints));
		w->window = malloc(CSTACK_FIRST_WINDOW);
		w->window_next = malloc(CSTACK_FIRST_WINDOW);
		w->units = calloc(CODE_UNITS, sizeof(*w->units));
	} else {
		w->block_hints = calloc(BLOCK_HINTS, sizeof(*w->block_hints));
	}
	if (!w->addr || !w->range_of || !w->cur || !w->next || !w->reqs ||
	    (!w->blocks && (!w->links || !w->seen || !w->hints || !w->window ||
				!w->window_next || !w->units)) ||
	    (w->blocks && !w->block_hints)) {
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
	free(w->links);
	free(w->seen);
	free(w->hints);
	free(w->window);
	free(w->window_next);
	free(w->units);
	free(w->block_hints);
	free(w);
}
