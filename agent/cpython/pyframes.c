/* Walks one thread's Python frames from the innermost outwards: as they are
 * (pyframes__walk, for threads that hold still), or as the thread really had them
 * at one moment (pyframes__sample, for threads that may run while they are read). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"
#include "cpython/framecopies.h"

/* The walk itself; with w, it reads through w's copies and keeps every traversed
 * frame's address (*traversed of them) for pyframes__sample's check. */
static int walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach, py_frame_ref *out,
		int max, bool *truncated, struct py_walk *w, int *traversed)
{
	const py_offsets *o = rt->off;
	unsigned char local[FRAME_BUF];
	size_t len = framecopies__frame_len(rt);
	int n = 0, k = 0, last = -1;

	*truncated = false;
	/* each step is one copy; a cycle in a torn chain ends at max */
	while (frame) {
		if (n == max || (w && k == w->max)) {
			*truncated = true;
			break;
		}
		unsigned char *buf = local;
		int err = w ? framecopies__fetch(w, k, frame, buf, &last) : memread__read(buf, frame, len);
		if (err == -EFAULT && w && k > 0) {
			/* a link read while the thread ran pointed at no memory: torn (a
			 * stack that holds still has none such), never kept short as whole */
			*traversed = k;
			return -EAGAIN;
		}
		/* deeper than the copies hold, or an unreadable frame: kept as cut */
		if (err < 0) {
			*truncated = true;
			break;
		}
		if (w)
			w->addr[k] = frame;
		k++;
		uintptr_t previous = framecopies__word(buf, o->frame_previous);
		uintptr_t code = framecopies__word(buf, o->frame_code) & rt->code_tag_mask;
		if (w && !w->blocks)
			framecopies__learn(w, frame, previous);
		if (frame == must_reach)
			must_reach = 0;
		/* a frame that no longer runs was freed and reused under us: the chain
		 * read so far mixes two moments */
		if (o->frame_executing != PY_NO_OFFSET && !(w && w->copies_only) &&
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
				out[n].instr = framecopies__word(buf, o->frame_instr);
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

uint64_t pyframes__guessed(const py_walk *w)
{
	return w->guessed;
}

uint64_t pyframes__witnessed(const py_walk *w)
{
	return w->witnessed;
}

int pyframes__walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach,
		   py_frame_ref *out, int max, bool *truncated)
{
	return walk(rt, frame, must_reach, out, max, truncated, NULL, NULL);
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
	bool guessing = !w->blocks && !cframes;
	struct block_start start = { 0 };
	w->cur->n = 0;
	w->cur->used = 0;
	if (w->blocks ? blockhint__start(rt, w, tstate, &start) < 0
		      : guessing ? cstackguess__read(rt, w, tstate, &head, c->tstate_frame) < 1
				 : memread__word(tstate + (uintptr_t)c->tstate_frame, &head) < 0)
		return 0;
	if (w->blocks)
		head = start.head;
	if (!head)
		return 0;
	if (!cframes) {
		top = head;
	} else {
		/* 3.11/3.12: head is the _PyCFrame (see py_frame_chain); its two words
		 * came in blockhint__start's call when head was as last time, else
		 * both are read now in one */
		top = start.top;
		caller = start.caller;
		must_reach = start.must_reach;
		memread_req two[2] = {
			{ head + (uintptr_t)c->cframe_current_frame, &top, sizeof(top) },
			{ head + (uintptr_t)c->cframe_previous, &caller, sizeof(caller) },
		};
		if (!start.have_top && memread__batch(two, 2) < 1)
			return 0;
		if (!top)
			return 0;
		if (caller && !start.have_reach)
			memread__word(caller + (uintptr_t)c->cframe_current_frame, &must_reach);
	}
	w->cur->full = w->next->full = false;
	int k = 0;
	enum guess guess = guessing ? cstackguess__prefetch(rt, w, tstate, top, c->tstate_frame)
				    : GUESS_NONE;
	/* the thread moved on: the frames copied may still be what its C stack named
	 * (cstackwitness.c); nothing more is read for them */
	if (guess == GUESS_MOVED && !w->cur->n)
		return -EAGAIN; /* start again from the new top: as quick as this was */
	int guessed = w->cur->n;
	w->copies_only = guess == GUESS_MOVED;
	int n = walk(rt, top, must_reach, out, max, truncated, w, &k);
	w->copies_only = false;
	if (guess == GUESS_HELD && n > 0 && w->cur->n == guessed) {
		w->guessed++;
		return n; /* every frame came from the bracketed read */
	}
	if (guessing && n > 0 && n == k && !*truncated && cstackwitness__confirms(rt, w, out, n)) {
		w->witnessed++;
		return n;
	}
	if (guess == GUESS_MOVED)
		return -EAGAIN;
	if (guess == GUESS_HELD && n > 0)
		cstackguess__missed_callers(w); /* the walk needed frames beyond the guess */
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
		/* 3.11+, when the top moved on before the re-read: the first copy is
		 * still a stack the thread had if that top was on top after the copy
		 * too (start.held), and its callers held until the re-read. The data
		 * stack is the thread's own, last in, first out, and copied callers
		 * first: while the callers held, the frame in the top's place was a
		 * call of theirs. Requiring the top to hold too (it may have returned
		 * or called meanwhile) moved a third of quick calls' samples to later
		 * moments on a slow host (2026-12-02). Frame objects (3.6-3.10) are
		 * reused by any call: there the top must hold */
		bool moved_on = w->blocks && round == 0 && start.held && top_again != top &&
				cur->n == start.ranges; /* the walk read nothing more */
		bool same = n > 0 && (top_again == top || moved_on);
		for (int i = moved_on ? 1 : 0; same && i < k; i++)
			same = framecopies__same_frame(rt, framecopies__bytes(cur, w->range_of[i], w->addr[i]),
					  framecopies__bytes(again, w->range_of[i], w->addr[i]), i == 0);
		if (same) {
			if (w->blocks)
				blockhint__keep(w, tstate, head, caller, k);
			return n;
		}
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
