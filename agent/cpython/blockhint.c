/* 3.11+: where a thread's walk starts, read together with the memory its last walk
 * read. Frames of 3.11+ sit in data-stack chunks, and a thread that runs on keeps
 * its outer frames where they were; so the top pointer, the _PyCFrame's words
 * (3.11/3.12) and the ranges of the last walk come in one system call, where they
 * took one call each (bench/cost.py: 7 calls a sample became 4). Nothing read here
 * is trusted more than a walk's own first copies: pyframes__sample reads every
 * range and the top again at its end and keeps the walk only if they held. */
#include "cpython/framecopies.h"

static struct block_hint *hint_of(struct py_walk *w, uintptr_t tstate)
{
	return &w->block_hints[(((tstate >> 4) * 0x9e3779b97f4a7c15ull) >> 58) & (BLOCK_HINTS - 1)];
}

int blockhint__start(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
		     struct block_start *s)
{
	const py_frame_chain *c = &rt->chain;
	bool cframes = c->cframe_current_frame != PY_NO_OFFSET;
	const struct block_hint *h = hint_of(w, tstate);
	bool known = h->tstate == tstate;
	memread_req reqs[6 + BLOCK_HINT_RANGES];
	uintptr_t head = 0, top = 0, caller = 0, reach = 0;
	size_t r = 0;

	*s = (struct block_start){ 0 };
	reqs[r++] = (memread_req){ tstate + (uintptr_t)c->tstate_frame, &head, sizeof(head) };
	if (known && cframes && h->head) {
		reqs[r++] = (memread_req){ h->head + (uintptr_t)c->cframe_current_frame, &top, sizeof(top) };
		reqs[r++] = (memread_req){ h->head + (uintptr_t)c->cframe_previous, &caller, sizeof(caller) };
		if (h->caller)
			reqs[r++] = (memread_req){ h->caller + (uintptr_t)c->cframe_current_frame, &reach,
						   sizeof(reach) };
	}
	size_t words = r;
	struct snap *sn = w->cur;
	size_t planned = 0;
	/* outermost first (h's ranges are innermost first): callers are copied
	 * before their callees, and the top read again after them (s->held) */
	for (int i = known ? h->n - 1 : -1; i >= 0 && sn->n + (int)(r - words) < MAX_RANGES; i--) {
		size_t len = h->hi[i] - h->lo[i];
		if (planned + len > POOL)
			break;
		reqs[r++] = (memread_req){ h->lo[i], sn->pool + planned, len };
		planned += len;
	}
	size_t ranges_end = r;
	uintptr_t head_after = 0, top_after = 0;
	reqs[r++] = (memread_req){ tstate + (uintptr_t)c->tstate_frame, &head_after, sizeof(head_after) };
	if (words > 1)
		reqs[r++] = (memread_req){ h->head + (uintptr_t)c->cframe_current_frame, &top_after,
					   sizeof(top_after) };
	size_t got = memread__batch(reqs, r);
	if (got < 1)
		return -1;
	bool whole = got == r;
	got = got < ranges_end ? got : ranges_end;
	s->head = head;
	if (!cframes) {
		s->top = head;
		s->have_top = s->have_reach = true;
		s->held = whole && head_after == head;
	} else if (words > 1 && got >= words && head == h->head) {
		s->top = top;
		s->caller = caller;
		s->have_top = true;
		s->have_reach = caller == h->caller; /* reach was read from h->caller */
		s->must_reach = s->have_reach ? reach : 0;
		s->held = whole && head_after == head && top_after == top;
	}
	sn->n = 0;
	sn->used = 0;
	for (size_t i = words; i < got; i++) {
		sn->r[sn->n++] = (struct range){ reqs[i].addr, reqs[i].addr + reqs[i].len, reqs[i].dst };
		sn->used += reqs[i].len;
	}
	s->ranges = sn->n;
	return 0;
}

void blockhint__keep(struct py_walk *w, uintptr_t tstate, uintptr_t head, uintptr_t caller, int k)
{
	struct block_hint *h = hint_of(w, tstate);
	const struct snap *sn = w->cur;
	int used[BLOCK_HINT_RANGES];
	size_t bytes = 0;
	*h = (struct block_hint){ tstate, head, caller, 0, { 0 }, { 0 } };
	/* the ranges the walk's frames came from, innermost first, each once */
	for (int i = 0; i < k && h->n < BLOCK_HINT_RANGES; i++) {
		int at = w->range_of[i];
		bool again = at < 0 || at >= sn->n;
		for (int j = h->n - 1; j >= 0 && !again; j--)
			again = used[j] == at;
		if (again)
			continue;
		size_t len = sn->r[at].hi - sn->r[at].lo;
		if (bytes + len > BLOCK_HINT_BYTES)
			break;
		bytes += len;
		used[h->n] = at;
		h->lo[h->n] = sn->r[at].lo;
		h->hi[h->n++] = sn->r[at].hi;
	}
}
