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
#include "filspy/clock.h"

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

/* The part of the stack to read, [*lo, *hi), for a thread whose stack ends at end:
 * around where its top frame was last time, or from the end. */
static bool window_of(const struct cstack_hint *h, uintptr_t end, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t top = end, bottom;
	if (!end)
		return false;
	if (h->at) {
		size_t above = h->above ? h->above : CSTACK_ABOVE;
		if (h->at + above < end)
			top = (h->at + above + 7) & ~(uintptr_t)7;
		bottom = h->at > CSTACK_BELOW ? h->at - CSTACK_BELOW : 0;
	} else {
		bottom = end > CSTACK_FIRST_WINDOW ? end - CSTACK_FIRST_WINDOW : 0;
	}
	if (!bottom || top <= bottom || top - bottom > CSTACK_FIRST_WINDOW)
		return false;
	*lo = bottom;
	*hi = top;
	return true;
}

size_t cstackguess__read(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
			 uintptr_t *head, int32_t head_off)
{
	struct cstack_hint *h = hint_of(w, tstate);
	w->window_hint = NULL;
	/* the bracket that saw the thread move read where it went: start from there */
	if (w->pending_tstate == tstate && w->next_len &&
	    clock__now_ns() - w->pending_at < CSTACK_FRESH_NS) {
		w->pending_tstate = 0;
		*head = w->pending_head;
		unsigned char *swap = w->window;
		w->window = w->window_next;
		w->window_next = swap;
		w->window_lo = w->next_lo;
		w->window_len = w->next_len;
		w->next_len = 0;
		w->window_head = *head;
		w->window_hint = h;
		w->window_moved = false;
		return 2;
	}
	w->pending_tstate = 0;
	w->window_len = 0;
	if (h->tstate == tstate && h->skip) {
		h->skip--;
		return memread__word(tstate + (uintptr_t)head_off, head) < 0 ? 0 : 1;
	}
	uintptr_t lo = 0, hi = 0;
	bool windowed = window_of(h, stack_end(rt, h, tstate), &lo, &hi);
	/* the top pointer again after the stack: a top frame not found in a stack
	 * read while the thread moved on says nothing of where its frames are */
	uintptr_t head_after = 0;
	memread_req three[3] = {
		{ tstate + (uintptr_t)head_off, head, sizeof(*head) },
		{ lo, w->window, windowed ? hi - lo : 0 },
		{ tstate + (uintptr_t)head_off, &head_after, sizeof(head_after) },
	};
	size_t got = memread__batch(three, windowed ? 3 : 1);
	if (got == 3) {
		w->window_lo = lo;
		w->window_len = hi - lo;
		w->window_moved = head_after != *head;
		/* the later top: the kernel copies upwards, so the callers of a frame
		 * still on top after the copy were copied after its own words */
		*head = head_after;
		w->window_head = head_after;
	}
	w->window_hint = h;
	return got < 2 ? got : 2;
}

void cstackguess__missed_callers(struct py_walk *w)
{
	if (w->window_hint)
		w->window_hint->above = CSTACK_ABOVE;
}

/* The frames known to the walk (framecopies__learn) whose addresses the C stack
 * holds above top's highest place in it, innermost first, into guess (at most
 * max). Returns how many, or -1 when top is not in the window. */
static int guesses(struct py_walk *w, uintptr_t top, uintptr_t *guess, int max)
{
	const uintptr_t *word = (const uintptr_t *)w->window;
	size_t n = w->window_len / sizeof(*word);
	uintptr_t above[CSTACK_GUESSES];
	size_t outermost = 0; /* the word of the first guess met */
	int k = 0;
	/* from the stack's end downwards: outermost callers first, top last */
	for (size_t i = n; i-- > 0;) {
		uintptr_t v = word[i];
		if (v == top) {
			struct cstack_hint *h = w->window_hint;
			h->at = w->window_lo + i * sizeof(*word);
			/* next time read up to a little above the outermost frame named here */
			h->above = k ? (outermost - i) * sizeof(*word) + CSTACK_MARGIN : CSTACK_ABOVE;
			if (h->above > CSTACK_ABOVE)
				h->above = CSTACK_ABOVE;
			int m = 0;
			while (k > 0 && m < max)
				guess[m++] = above[--k];
			return m;
		}
		if (k < CSTACK_GUESSES && framecopies__known(w, v)) {
			bool again = false;
			for (int j = k - 1; j >= 0 && j >= k - 4 && !again; j--)
				again = above[j] == v;
			if (!again) {
				outermost = k ? outermost : i;
				above[k++] = v;
			}
		}
	}
	return -1;
}

/* A process_vm_readv costs about as much per iovec as per 6 KiB it copies (0.4 us
 * against 0.07 us a KiB here), and frame objects of one size class share
 * pymalloc's pools: so the guessed frames are read as spans, sorted and merged
 * where the gap between them is under CSTACK_SPAN_GAP. Fewer iovecs make the
 * bracket shorter, and a shorter bracket tears less often on quick calls. top is
 * read on its own (it must come first). Returns the count of spans. */
static int spans_of(uintptr_t *guess, int m, uintptr_t top, size_t len, struct span *spans)
{
	/* insertion sort: m <= CSTACK_GUESSES */
	for (int i = 1; i < m; i++)
		for (int j = i; j > 0 && guess[j - 1] > guess[j]; j--) {
			uintptr_t t = guess[j];
			guess[j] = guess[j - 1];
			guess[j - 1] = t;
		}
	int n = 0;
	for (int i = 0; i < m; i++) {
		uintptr_t g = guess[i];
		if (g == top || g > UINTPTR_MAX - len)
			continue;
		if (n && g <= spans[n - 1].hi + CSTACK_SPAN_GAP &&
		    g + len - spans[n - 1].lo <= CSTACK_SPAN_MAX) {
			if (g + len > spans[n - 1].hi)
				spans[n - 1].hi = g + len;
			continue;
		}
		spans[n++] = (struct span){ g, g + len };
	}
	return n;
}

enum guess cstackguess__prefetch(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
				 uintptr_t top, int32_t head_off)
{
	uintptr_t guess[CSTACK_GUESSES];
	int m = w->window_len ? guesses(w, top, guess, CSTACK_GUESSES) : -1;
	struct cstack_hint *h = w->window_hint;
	if (m < 0 && w->window_len && w->window_moved)
		return GUESS_MOVED; /* start again at once */
	if (m < 0 && h && h->at) {
		h->at = 0;
		return GUESS_MOVED; /* not where it was: look from the stack's end at once */
	}
	if (m < 0 && h && ++h->misses >= 2)
		/* not there either (a deep stack, a stack of the program's own, a thread
		 * state reused by a new thread): walk frame by frame for a while */
		*h = (struct cstack_hint){ .tstate = tstate, .skip = CSTACK_BACK_OFF };
	if (m <= 0)
		return GUESS_NONE;
	if (h)
		h->misses = 0;
	struct snap *sn = w->cur;
	size_t len = w->len;
	if (top > UINTPTR_MAX - len)
		return GUESS_NONE;
	struct span spans[CSTACK_GUESSES];
	int nspans = spans_of(guess, m, top, len, spans);
	size_t bytes = len;
	for (int i = 0; i < nspans; i++)
		bytes += spans[i].hi - spans[i].lo;
	if (bytes > POOL)
		return GUESS_NONE;
	unsigned char again[FRAME_BUF];
	uintptr_t head_again = 0, lo = 0, hi = 0;
	memread_req *reqs = w->reqs;
	int k = 0;
	/* top alone and first: the bracket's start, read before any of its callers */
	reqs[k++] = (memread_req){ top, sn->pool, len };
	size_t used = len;
	for (int i = 0; i < nspans; i++) {
		reqs[k++] = (memread_req){ spans[i].lo, sn->pool + used, spans[i].hi - spans[i].lo };
		used += spans[i].hi - spans[i].lo;
	}
	int frames = k;
	reqs[k++] = (memread_req){ top, again, len };
	reqs[k++] = (memread_req){ tstate + (uintptr_t)head_off, &head_again, sizeof(head_again) };
	/* and, after the top pointer, the stack and the pointer again: where to start
	 * if it moved (cstackguess__read's three reads) */
	uintptr_t head_after = 0;
	if (window_of(h, h->stack_end, &lo, &hi)) {
		reqs[k++] = (memread_req){ lo, w->window_next, hi - lo };
		reqs[k++] = (memread_req){ tstate + (uintptr_t)head_off, &head_after,
					   sizeof(head_after) };
	}
	size_t got = memread__batch(reqs, (size_t)k);
	w->next_len = 0;
	/* the leading reads that came whole are ranges of the copy either way */
	sn->used = 0;
	for (size_t i = 0; i < got && i < (size_t)frames; i++) {
		sn->r[sn->n++] = (struct range){ reqs[i].addr, reqs[i].addr + reqs[i].len, reqs[i].dst };
		sn->used += reqs[i].len;
	}
	if (got < (size_t)frames) {
		/* a guess was no memory (a frame freed since it was met): forget those
		 * the span named; the walk reads what it needs */
		for (int i = 0; i < m; i++)
			if (guess[i] >= reqs[got].addr &&
			    guess[i] < reqs[got].addr + reqs[got].len) {
				struct link *l = framecopies__link_of(w, guess[i]);
				if (l)
					l->frame = 0;
			}
	}
	if (got < (size_t)frames + 2)
		return GUESS_NONE;
	if (head_again == top && framecopies__same_frame(rt, sn->pool, again, true))
		return GUESS_HELD;
	if (got == (size_t)k && k > frames + 2 && head_again && head_after == head_again) {
		w->next_lo = lo;
		w->next_len = hi - lo;
		w->pending_tstate = tstate;
		w->pending_head = head_again;
		w->pending_at = clock__now_ns();
	}
	return GUESS_MOVED;
}
