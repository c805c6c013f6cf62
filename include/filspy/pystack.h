/* Python threads and frames read from raw interpreter memory, any version. */
#ifndef FILSPY_PYSTACK_H
#define FILSPY_PYSTACK_H

#include <stdbool.h>
#include <stdint.h>

#include "filspy/pyruntime.h"

typedef struct py_thread {
	uintptr_t tstate;
	uintptr_t interp;
	unsigned long pthread_id;  /* pthread_self() of the thread */
	int tid;                   /* kernel thread id, 0 when unknown */
	uintptr_t top_frame;       /* innermost frame, 0 when the thread runs no Python */
	uintptr_t must_reach;      /* a frame the chain from top_frame passes, or 0 */
} py_thread;

typedef struct py_frame_ref {
	uintptr_t code;            /* code object address (unchecked) */
	uintptr_t instr;           /* >= 3.11: instruction pointer; else f_lasti */
	uintptr_t frame;           /* the frame itself (its locals), 0 when unknown (bpf) */
} py_frame_ref;

/* One frame of a merged native stack (FIL_PERF_SPY_NATIVE, agent/sampling/nativestack.c),
 * root first: a Python frame of the sample, or a native one. */
typedef struct stack_item {
	int32_t py;          /* the Python frame's index in the sample's frames; -1: native */
	const char *name;    /* native: the function, or "0xOFFSET" without a symbol */
	const char *file;    /* native: the module's file name, "" when unknown */
} stack_item;

/* Lists up to max threads of every interpreter. Returns how many it found; a list
 * that cannot be read to its end yields the threads read so far. */
int pythreads__list(const py_runtime *rt, py_thread *out, int max);

/* A word that changes when a thread state is added to any interpreter (the list
 * grows at its head) or the first one leaves, or an interpreter comes or goes; 0
 * when it cannot be read. Other departures leave it as it was. Costs two reads per
 * interpreter where pythreads__list costs one or two per thread. */
uintptr_t pythreads__list_mark(const py_runtime *rt);

/* Walks the frames from frame (innermost) outwards into out, innermost first,
 * skipping the C-stack shim frames. Returns the count; sets *truncated when max
 * frames were read and more remained. Returns -EAGAIN when the chain changed while
 * it was read (a frame in it stopped running) or never reached must_reach (when
 * not 0): the caller may try again. */
int pyframes__walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach,
		   py_frame_ref *out, int max, bool *truncated);

/* What pyframes__sample needs for one walk of up to max frames (a few hundred KiB
 * for the deepest stacks; allocated once per backend). */
typedef struct py_walk py_walk;
py_walk *pyframes__new_walk(const py_runtime *rt, int max);
void pyframes__free_walk(py_walk *w);

/* How many of w's samples were read whole in one system call from the frames the
 * thread's C stack named (3.6-3.10; agent/cpython/cstackguess.c). */
uint64_t pyframes__guessed(const py_walk *w);

/* How many were read while the thread moved on, and kept because the frames are
 * those its C stack named at one moment (3.6-3.10; agent/cpython/cstackwitness.c). */
uint64_t pyframes__witnessed(const py_walk *w);

/* The frames of the thread whose state is at tstate, innermost first, as the thread
 * really had them at one moment although it may run while they are read: the walk
 * starts from its current top frame and is checked by re-reading, in one copy,
 * every frame it passed and the top (see pyframes.c). Returns the count (0: no
 * Python running), or -EAGAIN when the stack changed under the reading: the caller
 * may try again. */
int pyframes__sample(const py_runtime *rt, py_walk *w, uintptr_t tstate, py_frame_ref *out,
		     int max, bool *truncated);

/* Reads the first local variable (the first argument) of frame f, when it is a
 * str, as UTF-8 into out (see pystring__read). The frame may have returned since
 * it was walked: -ESTALE when its memory runs another code object now (callers
 * still check what they read). Returns the byte length, or -errno (-ENOTSUP when f
 * has no address or the version no locals offset). */
int pylocals__first_str(const py_runtime *rt, const py_frame_ref *f, char *out, size_t size);

/* Reads a str object as UTF-8 into out (always terminated, cut at size-1 bytes).
 * Returns the byte length, or -errno when it is not a readable compact string. */
int pystring__read(const py_runtime *rt, uintptr_t str, char *out, size_t size);
/* Text a name can be: not empty, no control bytes, UTF-8 (a string read while
 * its object was freed is none of these, most of the time). */
bool pystring__plausible(const char *s);

/* Reads a bytes object's content into a new malloc'ed buffer of at most max bytes.
 * Returns the length and sets *out, or -errno. */
long pybytes__read(const py_runtime *rt, uintptr_t bytes, uint8_t **out, size_t max);

#endif
