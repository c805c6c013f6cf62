/* Before 3.11 a thread's frames are objects of their own, each found from the one
 * before, so a walk of D frames took D system calls, longer than a fast-changing
 * call chain lives (chains.py: 20 us, ten frames, ~1 us a call). But each Python
 * call also leaves its frame's address in the thread's C stack (the eval loop's
 * argument, kept across the call), two or three times within the ~350 bytes a
 * call takes there, callers above callees. So one read of the C stack near the
 * thread's innermost frame, together with the thread's top frame pointer, names
 * the frames the walk will meet; they are then read in one more system call,
 * bracketed by the top frame and the top pointer again (cstackguess__prefetch).
 * The guesses are only addresses to read: the walk follows the links it reads and
 * the bracket decides whether they held, so a wrong guess costs its read only.
 *
 * Where the stack is: the main thread's ends at __libc_stack_end; another
 * thread's just below its struct pthread (pthread_self(), which the thread state
 * keeps), where glibc puts it at the top of the stack it allocated. A thread on a
 * stack of its own making is never found there and is walked frame by frame. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "cpython/framecopies.h"

static unsigned long main_pthread;
static uintptr_t main_stack_end;

/* runs in the main thread when the preload is loaded (not when it is injected
 * later: the main thread is then found as any other, or not at all) */
__attribute__((constructor)) static void remember_main_thread(void)
{
	void **end = dlsym(RTLD_DEFAULT, "__libc_stack_end");
	main_pthread = (unsigned long)pthread_self();
	main_stack_end = end ? (uintptr_t)*end : 0;
}

static struct cstack_hint *hint_of(struct py_walk *w, uintptr_t tstate)
{
	return &w->hints[((tstate >> 4) * 0x9e3779b97f4a7c15ull >> 58) & (CSTACK_HINTS - 1)];
}

/* Where thread tstate's C stack ends (its highest address), 0 when unknown. */
static uintptr_t stack_end(const py_runtime *rt, struct cstack_hint *h, uintptr_t tstate)
{
	if (h->tstate == tstate && h->stack_end)
		return h->stack_end;
	uintptr_t pthread = 0;
	if (rt->off->tstate_thread_id == PY_NO_OFFSET ||
	    memread__word(tstate + (uintptr_t)rt->off->tstate_thread_id, &pthread) < 0)
		pthread = 0;
	if (h->tstate != tstate)
		*h = (struct cstack_hint){ .tstate = tstate };
	h->at = 0;
	h->stack_end = pthread == main_pthread ? main_stack_end : pthread;
	h->stack_end &= ~(uintptr_t)7;
	return h->stack_end;
}

size_t cstackguess__read(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
			 uintptr_t *head, int32_t head_off)
{
	struct cstack_hint *h = hint_of(w, tstate);
	w->window_len = 0;
	w->window_hint = NULL;
	if (h->tstate == tstate && h->skip) {
		h->skip--;
		return memread__word(tstate + (uintptr_t)head_off, head) < 0 ? 0 : 1;
	}
	uintptr_t end = stack_end(rt, h, tstate);
	uintptr_t hi = end, lo;
	if (h->at && h->at + CSTACK_ABOVE < end)
		hi = (h->at + CSTACK_ABOVE) & ~(uintptr_t)7;
	size_t want = h->at ? CSTACK_WINDOW : CSTACK_FIRST_WINDOW;
	lo = hi > want ? hi - want : 0;
	memread_req two[2] = {
		{ tstate + (uintptr_t)head_off, head, sizeof(*head) },
		{ lo, w->window, hi - lo },
	};
	size_t got = memread__batch(two, end && lo ? 2 : 1);
	if (got == 2) {
		w->window_lo = lo;
		w->window_len = hi - lo;
	}
	w->window_hint = h;
	return got;
}

/* The frames known to the walk (framecopies__learn) whose addresses the C stack
 * holds above top's highest place in it, innermost first, into guess (at most
 * max). Returns how many, or -1 when top is not in the window. */
static int guesses(struct py_walk *w, uintptr_t top, uintptr_t *guess, int max)
{
	const uintptr_t *word = (const uintptr_t *)w->window;
	size_t n = w->window_len / sizeof(*word);
	uintptr_t above[CSTACK_GUESSES];
	int k = 0;
	/* from the stack's end downwards: outermost callers first, top last */
	for (size_t i = n; i-- > 0;) {
		uintptr_t v = word[i];
		if (v == top) {
			w->window_hint->at = w->window_lo + i * sizeof(*word);
			int m = 0;
			while (k > 0 && m < max)
				guess[m++] = above[--k];
			return m;
		}
		if (k < CSTACK_GUESSES && framecopies__known(w, v)) {
			bool again = false;
			for (int j = k - 1; j >= 0 && j >= k - 4 && !again; j--)
				again = above[j] == v;
			if (!again)
				above[k++] = v;
		}
	}
	return -1;
}

enum guess cstackguess__prefetch(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
				 uintptr_t top, int32_t head_off)
{
	uintptr_t guess[CSTACK_GUESSES];
	int m = w->window_len ? guesses(w, top, guess, CSTACK_GUESSES) : -1;
	struct cstack_hint *h = w->window_hint;
	if (m < 0 && h) {
		/* not where it was: look from the stack's end again next time; not there
		 * either (a deep stack, a stack of the program's own, a thread state
		 * reused by a new thread): walk frame by frame for a while */
		if (!h->at && ++h->misses >= 2)
			*h = (struct cstack_hint){ .tstate = tstate, .skip = CSTACK_BACK_OFF };
		h->at = 0;
	}
	if (m <= 0)
		return GUESS_NONE;
	if (h)
		h->misses = 0;
	struct snap *sn = w->cur;
	size_t len = w->len;
	if (top > UINTPTR_MAX - len || (size_t)(m + 1) * len > POOL)
		return GUESS_NONE;
	unsigned char again[FRAME_BUF];
	uintptr_t head_again = 0;
	memread_req *reqs = w->reqs;
	int k = 0;
	reqs[k++] = (memread_req){ top, sn->pool, len };
	for (int i = 0; i < m; i++)
		if (guess[i] <= UINTPTR_MAX - len && guess[i] != top)
			reqs[k] = (memread_req){ guess[i], sn->pool + (size_t)k * len, len }, k++;
	reqs[k++] = (memread_req){ top, again, len };
	reqs[k++] = (memread_req){ tstate + (uintptr_t)head_off, &head_again, sizeof(head_again) };
	size_t got = memread__batch(reqs, (size_t)k);
	/* the leading reads that came whole are ranges of the copy either way */
	size_t frames = got < (size_t)k - 2 ? got : (size_t)k - 2;
	for (size_t i = 0; i < frames; i++)
		sn->r[sn->n++] = (struct range){ reqs[i].addr, reqs[i].addr + len, reqs[i].dst };
	sn->used = frames * len;
	if (got < (size_t)k)
		return GUESS_NONE; /* a guess was no memory: the walk reads what it needs */
	return head_again == top && framecopies__same_frame(rt, sn->pool, again, true)
		? GUESS_HELD : GUESS_MOVED;
}
