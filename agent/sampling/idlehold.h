/* With FIL_PERF_SPY_IDLE, the samples of threads that used no CPU since they were
 * walked: such a thread's stack cannot have changed, so each round counts its last
 * sample once more without reading or resolving it, and the counts go into the
 * profile in one piece now and then (idlehold__flush). */
#ifndef FILSPY_IDLEHOLD_H
#define FILSPY_IDLEHOLD_H

#include <stdbool.h>

#include "sampling/stacks.h"

typedef struct idlehold idlehold;

idlehold *idlehold__new(void);
void idlehold__free(idlehold *h);

/* Holds thread tid's sample, the stack b added last (this round): it counts once in
 * every later round (idlehold__tick) until idlehold__clear. Returns false when it
 * cannot (no stack, out of memory). */
bool idlehold__keep(idlehold *h, int tid, const stack_builder *b);

/* One more round: every held sample counts once more. */
void idlehold__tick(idlehold *h);

/* Adds the held samples' counts so far to a->profile. */
void idlehold__flush(idlehold *h, fs_agent *a);

/* Flushes, then lets go of every held sample (a round that walks every thread). */
void idlehold__clear(idlehold *h, fs_agent *a);

#endif
