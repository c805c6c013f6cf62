/* The copies of process memory that pyframes.c's walks read through (private to
 * agent/cpython/): which ranges a walk read, where their copies are, and, before
 * 3.11, where each frame object's link pointed last time. */
#ifndef FILSPY_FRAMECOPIES_H
#define FILSPY_FRAMECOPIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "filspy/hash.h"
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
/* 3.6-3.10: where each frame object's link pointed the last time it was read, and
 * whether it pointed there the time before too. A stack that holds still (the
 * outer frames of most programs, a deep recursion) keeps its frames' addresses
 * from sample to sample, so a frame is read together with its callers of last
 * time in one system call; links that change every call (a caller that varies)
 * are not followed, so that guesses never cost more than they save. */
#define LINKS 4096u
/* in sets of LINK_WAYS, the latest learned first: a program's frames are a few
 * hundred to a few thousand addresses, and a table of one link a slot forgot a
 * fifth of chains.py's 800 in turn (two frames of one slot, each learned over the
 * other), so that walks on 3.6 stopped at a frame the guess had not named */
#define LINK_WAYS 4u
/* and a bitmap of the frames learned, small enough to stay in the L1 cache: the
 * C-stack scan asks it about every word it reads (~1500 a sample), and most are
 * no frame; remade from the links after each LINKS learned, so that it does not
 * fill up with frames long gone */
#define SEEN_BITS (1u << 15)
#define PREFETCH 64

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

/* Before 3.11: where a thread's C stack is read (cstackguess.c) */
#define CSTACK_HINTS 64u
#define CSTACK_FIRST_WINDOW (64u << 10) /* from the stack's end, where no hint is */
#define CSTACK_BELOW 4096u              /* read below where the top frame was */
#define CSTACK_ABOVE (12u << 10)        /* above it (its callers), at most */
#define CSTACK_MARGIN 512u              /* above the outermost frame found there */
#define CSTACK_GUESSES 48
#define CSTACK_BACK_OFF 64u /* samples walked frame by frame after two misses */
#define CSTACK_SPAN_GAP 4096u  /* guessed frames closer than this are read as one */
#define CSTACK_SPAN_MAX (16u << 10)
#define CSTACK_FRESH_NS 50000 /* a read of the bracket still serves as the next start */
#define CODE_UNITS 1024u

struct span {
	uintptr_t lo, hi;
};

struct cstack_hint {
	uintptr_t tstate, stack_end; /* stack_end 0: read it again */
	uintptr_t at;         /* where the top frame's address was found last, or 0 */
	size_t above;         /* how much above it to read next time */
	unsigned misses;      /* looked from the stack's end and did not find it */
	unsigned skip;        /* samples left without looking */
};

/* 3.11+: where a thread's last walk started and the ranges it read (blockhint.c) */
#define BLOCK_HINTS 64u
#define BLOCK_HINT_RANGES 8
#define BLOCK_HINT_BYTES (64u << 10)

struct block_hint {
	uintptr_t tstate;     /* 0: unused */
	uintptr_t head, caller; /* 3.11/3.12: the _PyCFrame and its previous */
	int n;
	uintptr_t lo[BLOCK_HINT_RANGES], hi[BLOCK_HINT_RANGES];
};

struct py_walk {
	int max;              /* frames addr holds */
	size_t len;           /* bytes read of each frame */
	bool blocks;          /* frames sit in data-stack chunks (3.11+) */
	uintptr_t *addr;      /* the frames the last walk passed, innermost first */
	int *range_of;        /* the range of the snapshot each of them was read from */
	struct snap *cur, *next;
	memread_req *reqs;
	struct link {
		uintptr_t frame, previous;
		bool stable;          /* previous was the same the time before */
	} *links;             /* LINKS of them, by frame address (3.6-3.10) */
	uint64_t *seen;       /* SEEN_BITS: a bit set for each frame of links */
	unsigned learned;     /* since seen was last remade */
	struct cstack_hint *hints; /* CSTACK_HINTS of them, by thread state (3.6-3.10) */
	struct block_hint *block_hints; /* BLOCK_HINTS of them, by thread state (3.11+) */
	struct cstack_hint *window_hint; /* the thread's, of the last read */
	unsigned char *window;     /* that read of a C stack: CSTACK_FIRST_WINDOW bytes */
	uintptr_t window_lo;
	size_t window_len;         /* 0: none this time */
	bool window_moved;         /* the top pointer changed while it was read */
	uintptr_t window_head;     /* the top pointer read after it: where the walk starts */
	/* the top pointer and window the last bracket read after it moved (into
	 * window_next): the next start of the same thread's walk, when it comes at once */
	unsigned char *window_next;
	uintptr_t next_lo;
	size_t next_len;
	uintptr_t pending_tstate, pending_head;
	int64_t pending_at;
	bool copies_only;          /* the walk reads nothing (a frame not copied cuts it) and
				    * takes frames that returned since: the C stack judges */
	struct code_units {
		uintptr_t code, first, end; /* a code object and its code units' bytes */
	} *units;                  /* CODE_UNITS of them, by code address (3.6-3.10) */
	uint64_t guessed;          /* samples whose frames all came from a guess */
	uint64_t witnessed;        /* samples the C stack's read vouched for (cstackwitness.c) */
};

static inline uintptr_t framecopies__word(const unsigned char *buf, int32_t off)
{
	uintptr_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* The LINK_WAYS links where frame's would be. */
static inline struct link *framecopies__link_set(const struct py_walk *w, uintptr_t frame)
{
	return &w->links[(hash__mix64(frame) >> 52 & (LINKS / LINK_WAYS - 1)) * LINK_WAYS];
}

/* frame's link, or NULL when none was learned (or it was forgotten since) */
static inline struct link *framecopies__link_of(const struct py_walk *w, uintptr_t frame)
{
	struct link *set = framecopies__link_set(w, frame);
	for (unsigned i = 0; i < LINK_WAYS; i++)
		if (set[i].frame == frame)
			return frame ? &set[i] : NULL;
	return NULL;
}

static inline unsigned framecopies__seen_bit(uintptr_t frame)
{
	return (unsigned)hash__mix64(frame) & (SEEN_BITS - 1); /* bits link_of leaves */
}

/* Before 3.11: a walk met frame lately (its link was learned) */
static inline bool framecopies__known(const struct py_walk *w, uintptr_t frame)
{
	unsigned b = framecopies__seen_bit(frame);
	return frame && (w->seen[b / 64] >> (b % 64) & 1) && framecopies__link_of(w, frame);
}

/* Bytes of a frame read into range i of sn. */
static inline const unsigned char *framecopies__bytes(const struct snap *sn, int i,
							uintptr_t frame)
{
	return sn->r[i].copy + (frame - sn->r[i].lo);
}

/* The copy of frame in w->cur, or NULL (nothing is read). */
const unsigned char *framecopies__copy_of(const struct py_walk *w, uintptr_t frame);

/* Frame k of this walk into dst (w->len bytes): from w->cur when it holds it, else
 * read now (with what lies below it on 3.11+, with its stable callers before).
 * *last: the range the walk's previous frame came from. Returns 0, -ENOSPC when
 * the copies are full, -EFAULT when the frame cannot be read. */
int framecopies__fetch(struct py_walk *w, int k, uintptr_t frame, unsigned char *dst, int *last);

/* How many bytes of each frame a walk reads. */
size_t framecopies__frame_len(const py_runtime *rt);

/* Before 3.11: frame's link was previous in this walk. */
void framecopies__learn(struct py_walk *w, uintptr_t frame, uintptr_t previous);

/* Two copies of one frame have the same link, code, running state and owner: the
 * frame did not return in between (nor, as the innermost, was it replaced). A
 * caller's call site holds still too: with !innermost, that is compared as well. */
bool framecopies__same_frame(const py_runtime *rt, const unsigned char *a, const unsigned char *b,
			     bool innermost);

/* cstackguess.c, before 3.11. Reads the thread's top frame pointer (at tstate +
 * head_off) into *head and, in the same system call, the part of its C stack where
 * its frames' addresses were last time. Returns the count of those two reads that
 * were made (the top pointer first). */
size_t cstackguess__read(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
			 uintptr_t *head, int32_t head_off);

/* Into the emptied w->cur: top and the frames that C stack read names as its
 * callers, in one system call that ends by reading top and the top pointer again.
 * GUESS_HELD when both held still: every frame read in between is as it was while
 * top ran, so a walk that needs nothing else is a stack the thread had;
 * GUESS_MOVED when the thread went on to other frames meanwhile, or its top frame
 * was not where it was last time (look again at once); GUESS_NONE when there was
 * nothing to guess from (or a guess could not be read). */
enum guess { GUESS_NONE, GUESS_HELD, GUESS_MOVED };
enum guess cstackguess__prefetch(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
				 uintptr_t top, int32_t head_off);

/* The walk after GUESS_HELD needed frames the guess did not name: read more of
 * the C stack above the top frame next time. */
void cstackguess__missed_callers(struct py_walk *w);

/* cstackwitness.c, before 3.11: the walk's n frames out (innermost first, every
 * one it traversed) are the frames and functions the thread had when
 * cstackguess__read copied its C stack; the callers' instructions are then made
 * those the C stack holds (they may have run on since). */
bool cstackwitness__confirms(const py_runtime *rt, struct py_walk *w, py_frame_ref *out, int n);

/* blockhint.c, 3.11+: where a walk starts, read in one system call with the ranges
 * the thread's last walk used, which go into the emptied w->cur. */
struct block_start {
	uintptr_t head, top, caller, must_reach;
	bool have_top;        /* top and caller were read (head was as last time) */
	bool have_reach;      /* and must_reach too */
	bool held;            /* the top, read again after the ranges, was the same */
	int ranges;           /* how many ranges of w->cur that call read */
};
int blockhint__start(const py_runtime *rt, struct py_walk *w, uintptr_t tstate,
		     struct block_start *s);

/* After a walk that held: remembers where it started and the ranges of w->cur
 * that its first k frames came from. */
void blockhint__keep(struct py_walk *w, uintptr_t tstate, uintptr_t head, uintptr_t caller, int k);

#endif
