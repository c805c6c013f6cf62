/* What a sampled thread is doing with respect to the GIL: holding it, waiting for
 * it, idle (blocked elsewhere), or running without it. */
#ifndef FILSPY_THREADSTATE_H
#define FILSPY_THREADSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filspy/pyruntime.h"
#include "filspy/pystack.h"

enum fs_thread_state {
	TS_HOLDING = 0,    /* holds the GIL */
	TS_WAITING,        /* blocked on the GIL's condition variable or mutex */
	TS_IDLE,           /* blocked anywhere else: I/O, sleep, a lock, a join */
	TS_RUNNING,        /* runs (or may run) without the GIL: C code that released it */
	TS_COUNT
};

/* Where one interpreter's GIL is, as found at the start of a sampling round. */
typedef struct gil_info {
	uintptr_t interp;  /* 0: nothing read yet */
	uintptr_t start;   /* the GIL struct, 0 when unknown */
	size_t size;
	bool knows_holder;
} gil_info;

/* Finds the GIL of the interpreter at interp into *g unless *g already is that
 * interpreter's (threads come grouped by interpreter, so this reads once a round).
 * Call with g->interp = 0 at the start of each round. */
void threadstate__gil(const py_runtime *rt, uintptr_t interp, gil_info *g);

/* Classifies thread t against the GIL g of its interpreter. The holder is read
 * right after the kernel state, not once a round: the GIL changes hands every 5 ms
 * and a round that walks many stacks would see a stale holder. *running says
 * whether the kernel has the thread runnable (the CPU view keeps only those); a
 * thread whose tid is unknown counts as running. */
enum fs_thread_state threadstate__classify(const py_runtime *rt, const gil_info *g,
					   const py_thread *t, bool *running);

/* "holding the GIL", "waiting for the GIL", "idle", "running without the GIL" */
const char *threadstate__label(enum fs_thread_state s);

#endif
