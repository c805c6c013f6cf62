/* Before 3.11: a walk vouched for by the thread's C stack, however long after that
 * stack was read the walk read its frames.
 *
 * cstackguess__read copies the part of the C stack above the thread's top frame in
 * one piece, between two reads of the top pointer; the walk starts from the second.
 * The kernel copies upwards, so a frame still on top after the copy had its
 * callers copied after its own words: the copy holds that frame's calls as they
 * were at one moment. Each running call of the eval loop keeps there, within the
 * ~350 bytes the call takes, its frame's address, its code object's address and
 * its next instruction's (registers its callees saved: among its own words on
 * 3.6-3.9, its callee's on 3.10), callers above callees. (Seen with gdb on every
 * pyenv build of 3.6-3.10 here; the innermost frame's code may sit below its
 * address.)
 *
 * So a walk whose frames, innermost first, are met in that order going up the
 * copy, each frame's code among the words between it and its caller, and no call
 * the walk skipped between them (skipped_between), has the frames and functions
 * the thread had at that moment; each caller's instruction is then the one the
 * copy names (caller_instr), whatever the frame says now: it may have run on, or
 * returned (such a walk takes frames that stopped running, see pyframes.c). Only
 * the innermost frame's instruction is of a later moment, of the same call.
 *
 * This keeps walks that the top-frame bracket (cstackguess.c) calls torn: on
 * 3.6-3.10 its two system calls last about as long as a quick call chain lives,
 * and dropping or retrying such walks under-samples quick code
 * (docs/performance/py-spy.md, "The C stack as a witness"). */
#include "cpython/framecopies.h"

/* where v is first met in words [from, n), or n */
static size_t first_of(const uintptr_t *word, size_t from, size_t n, uintptr_t v)
{
	while (from < n && word[from] != v)
		from++;
	return from;
}

static bool in_walk(const py_frame_ref *out, int n, uintptr_t frame)
{
	for (int i = 0; i < n; i++)
		if (out[i].frame == frame)
			return true;
	return false;
}

/* Whether words [lo, hi) hold a running call the walk skipped: a frame the walks
 * know that is not in this walk, with its code above it there as a running call's
 * is (chains.py gave 0.4 % impossible chains on 3.6-3.9 without this check, none
 * with it). A frame address alone is no call: every call of 3.6's eval loop, and
 * some of the others', keeps a stale one of a frame long returned. A frame not
 * copied cannot be told apart: it counts. */
static bool skipped_between(const py_runtime *rt, const struct py_walk *w, const py_frame_ref *out,
			    int n, const uintptr_t *word, size_t lo, size_t hi)
{
	for (size_t j = lo; j < hi; j++) {
		uintptr_t v = word[j];
		if (!framecopies__known(w, v) || in_walk(out, n, v))
			continue;
		const unsigned char *copy = framecopies__copy_of(w, v);
		if (!copy)
			return true;
		uintptr_t code = framecopies__word(copy, rt->off->frame_code) & rt->code_tag_mask;
		if (first_of(word, j + 1, hi, code) < hi)
			return true;
	}
	return false;
}

/* code's code units, [first, end), read once per code object address */
static struct code_units *units_of(const py_runtime *rt, struct py_walk *w, uintptr_t code)
{
	const py_offsets *o = rt->off;
	struct code_units *u = &w->units[((code >> 4) * 0x9e3779b97f4a7c15ull >> 54) & (CODE_UNITS - 1)];
	if (u->code == code)
		return u;
	uintptr_t bytes = 0, size = 0;
	if (o->code_code == PY_NO_OFFSET || memread__word(code + (uintptr_t)o->code_code, &bytes) < 0 ||
	    !bytes || memread__word(bytes + (uintptr_t)o->bytes_size, &size) < 0 || size > (1u << 24))
		return NULL;
	*u = (struct code_units){ code, bytes + (uintptr_t)o->bytes_sval,
				  bytes + (uintptr_t)o->bytes_sval + size };
	return u;
}

/* The caller's instruction, as f_lasti counts it (bytes before 3.10, code units
 * since), from the pointers into its code units past their start among words
 * [lo, hi) (the start is a word of its own there). Its next instruction's address
 * is one of them and, some of the time, the call's own one unit below; other
 * pointers (a loop's) can sit beside them. So: the frame's own instruction, instr,
 * when one of them points at it or just past it; else the one place they all
 * point at or just past. Returns 1, or 0 when none points into the code, -1 when
 * they point at different places. */
static int caller_instr(const py_runtime *rt, const struct code_units *u, const uintptr_t *word,
			size_t lo, size_t hi, uintptr_t *instr)
{
	bool units = rt->lasti_in_units;
	uintptr_t at = u->first + (units ? 2 * *instr : *instr);
	uintptr_t next = 0, least = UINTPTR_MAX;
	for (size_t i = lo; i < hi; i++) {
		uintptr_t v = word[i];
		if (v <= u->first || v > u->end || (v - u->first) % 2)
			continue;
		if (v == at || v == at + 2)
			return 1;
		next = v > next ? v : next;
		least = v < least ? v : least;
	}
	if (!next)
		return 0;
	if (next - least > 2)
		return -1;
	uintptr_t call = (next - u->first) / 2 - 1; /* in code units */
	*instr = units ? call : 2 * call;
	return 1;
}

bool cstackwitness__confirms(const py_runtime *rt, struct py_walk *w, py_frame_ref *out, int n)
{
	if (!w->window_len || n < 1 || n > CSTACK_GUESSES ||
	    out[0].frame != w->window_head)
		return false;
	const uintptr_t *word = (const uintptr_t *)w->window;
	size_t words = w->window_len / sizeof(*word);
	size_t at = first_of(word, 0, words, out[0].frame);
	size_t region = 0; /* the innermost frame's code may sit below its address */
	size_t callee = 0;
	uintptr_t instr[CSTACK_GUESSES];
	if (at == words)
		return false;
	for (int i = 0; i < n; i++) {
		size_t next = words;
		if (i + 1 < n) {
			next = first_of(word, at + 1, words, out[i + 1].frame);
			if (next == words)
				return false;
			/* a call skipped would sit above the frame's last mention (the
			 * C functions that made the frame and ran it mention it too) */
			size_t last = next;
			while (word[--last] != out[i].frame)
				;
			if (skipped_between(rt, w, out, n, word, last + 1, next))
				return false;
		}
		if (first_of(word, region, next, out[i].code) == next)
			return false;
		instr[i] = out[i].instr;
		if (i) {
			/* among its own words on 3.6-3.9, its callee's on 3.10 (the
			 * registers the callee saved); the pyenv builds here differ */
			struct code_units *u = units_of(rt, w, out[i].code);
			int got = u ? caller_instr(rt, u, word, at, next, &instr[i]) : -1;
			if (!got)
				got = caller_instr(rt, u, word, callee, at, &instr[i]);
			if (!got)
				u->code = 0; /* read it again next time: a new code object there? */
			if (got < 1)
				return false;
		}
		callee = at;
		region = at = next;
	}
	for (int i = 1; i < n; i++)
		out[i].instr = instr[i];
	return true;
}
