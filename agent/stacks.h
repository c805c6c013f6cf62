/* One thread's walked frames -> a stack in the profile, and the text a `dump`
 * prints: shared by the backends that read frames themselves (self, bpf). */
#ifndef FILSPY_STACKS_H
#define FILSPY_STACKS_H

#include <stdbool.h>
#include <stdio.h>

#include "agent.h"
#include "filspy/pystack.h"
#include "filspy/symcache.h"

#define STACKS_MAX_DEPTH 4096

typedef struct stack_builder {
	symcache *cache;
	const sym_entry *entries[STACKS_MAX_DEPTH];
	fs_frame_id ids[STACKS_MAX_DEPTH + 2];
} stack_builder;

/* Adds one sample of thread tid whose frames (innermost first) are frames[0..depth)
 * to a->profile, under a `thread (TID): NAME` root with FIL_PERF_SPY_THREADS and
 * below a `[truncated]` root when the walk was cut. Frames whose code object cannot
 * be read are left out. */
void stacks__add(fs_agent *a, stack_builder *b, int tid, const py_frame_ref *frames,
		 int depth, bool truncated);

/* Prints every thread's current stack, innermost frame first, read from memory
 * now (`filspy dump`), whatever the backend. */
void stacks__dump(fs_agent *a, const py_runtime *rt, stack_builder *b, FILE *f);

#endif
